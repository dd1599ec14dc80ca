/* tls_conn.c — a TLS connection's end: the session it leaves for the next connect to resume
 * (tickets that came after the handshake are read without taking the application's data),
 * close_notify when redial closes it, the quiet free of a finished one, and the hand-over to
 * the application. */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "alloc.h"
#include "endpoint.h"
#include "tls.h"
#include "tls_conn.h"

/* Keeps the connection's session for the next connect, when it can be resumed (a TLS 1.3
 * session only once its ticket has been read). copy: the SSL goes to the application, which
 * may free it without close_notify, and OpenSSL then marks its session (this very object)
 * unresumable; redial frees its own SSLs marked shut down, so a reference does there. */
static void keep_session(struct rd_tls_ep *t, SSL *ssl, bool copy)
{
	SSL_SESSION *s = SSL_get0_session(ssl);
	/* The one we offered, when no new ticket came: a resumed connection shares it. */
	if (!s || !SSL_SESSION_is_resumable(s) || (s == t->session && !copy))
		return;
	SSL_SESSION *keep = copy ? SSL_SESSION_dup(s) : s;
	if (!keep)
		return;
	if (!copy)
		SSL_SESSION_up_ref(keep);
	SSL_SESSION_free(t->session);
	t->session = keep;
}

/* Frees a finished connection's SSL. Marked shut down first: OpenSSL otherwise takes a
 * connection freed without close_notify for a bad one and makes its session (which may be
 * the one we keep) unresumable. */
void rd_tls_ssl_free(struct ssl_st *ssl)
{
	SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(ssl);
	ERR_clear_error();
}

struct ssl_st *rd_tls_conn_end(struct redial *r, struct rd_endpoint *ep, bool by_peer)
{
	struct rd_tls_ep *t = rd_ep_tls(r, ep);
	SSL *ssl = t ? t->ssl : NULL;
	if (!ssl)
		return NULL;
	t->ssl = NULL;
	ERR_clear_error();
	if (by_peer) {
		/* A peek processes records up to the first application data without taking it:
		 * the session ticket that follows a TLS 1.3 handshake is read, and the application
		 * can still read its data during the DISCONNECTED event. */
		char b;
		(void)SSL_peek(ssl, &b, 1);
		ERR_clear_error();
		keep_session(t, ssl, false);
		return ssl;
	}
	/* redial closes it: read what is there (a ticket), then close_notify. */
	char buf[512];
	for (int i = 0; i < 8 && SSL_read(ssl, buf, sizeof(buf)) > 0; i++)
		;
	ERR_clear_error();
	keep_session(t, ssl, false);
	(void)SSL_shutdown(ssl);
	rd_tls_ssl_free(ssl);
	return NULL;
}

struct ssl_st *rd_tls_conn_release(struct redial *r, struct rd_endpoint *ep)
{
	(void)r;
	struct rd_tls_ep *t = rd_ep_tls(r, ep);
	SSL *ssl = t ? t->ssl : NULL;
	if (!ssl)
		return NULL;
	t->ssl = NULL;
	/* A ticket that came after the handshake is read (peeked: the application's data
	 * stays for it), so that the next connection can resume. */
	char b;
	ERR_clear_error();
	(void)SSL_peek(ssl, &b, 1);
	ERR_clear_error();
	keep_session(t, ssl, true);
	return ssl;
}
