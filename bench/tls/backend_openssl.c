/* backend_openssl.c — tls_measure's OpenSSL 3 backend: a BIO pair joins the client and the
 * server, so every record stays in memory. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

#include "tls_measure.h"

static SSL_CTX *cctx, *sctx;
static SSL_SESSION *saved;
static const char *host;

static int fail(const char *what)
{
	fprintf(stderr, "openssl: %s\n", what);
	ERR_print_errors_fp(stderr);
	return -1;
}

static int setup(const struct tm_files *f)
{
	host = f->name;
	cctx = SSL_CTX_new(TLS_client_method());
	sctx = SSL_CTX_new(TLS_server_method());
	if (!cctx || !sctx)
		return fail("SSL_CTX_new");
	/* The same protocol and key exchange for both libraries: TLS 1.3, X25519. */
	if (!SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set1_groups_list(cctx, "X25519") || !SSL_CTX_set1_groups_list(sctx, "X25519"))
		return fail("protocol setup");
	if (SSL_CTX_load_verify_locations(cctx, f->ca, NULL) != 1)
		return fail("loading the CA");
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_use_certificate_chain_file(sctx, f->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, f->key, SSL_FILETYPE_PEM) != 1)
		return fail("loading the server certificate");
	/* One ticket per connection (OpenSSL sends two by default, wolfSSL one). */
	SSL_CTX_set_num_tickets(sctx, 1);
	return 0;
}

static int want(SSL *s, int rc)
{
	int e = SSL_get_error(s, rc);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

static int handshake(bool resume, uint64_t *ret_client_ns)
{
	uint64_t client = 0, t = tm_thread_cpu_ns();
	SSL *c = SSL_new(cctx);
	client += tm_thread_cpu_ns() - t;
	SSL *s = SSL_new(sctx);
	BIO *bc = NULL, *bs = NULL;
	int ret = -1;
	if (!c || !s || !BIO_new_bio_pair(&bc, 0, &bs, 0))
		goto out;
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	t = tm_thread_cpu_ns();
	SSL_set_connect_state(c);
	SSL_set_tlsext_host_name(c, host);
	SSL_set1_host(c, host);
	if (resume && saved)
		SSL_set_session(c, saved);
	client += tm_thread_cpu_ns() - t;
	SSL_set_accept_state(s);
	int cdone = 0, sdone = 0;
	for (int i = 0; i < 32 && !(cdone && sdone); i++) {
		if (!cdone) {
			t = tm_thread_cpu_ns();
			int rc = SSL_do_handshake(c);
			client += tm_thread_cpu_ns() - t;
			if (rc == 1)
				cdone = 1;
			else if (!want(c, rc))
				goto out;
		}
		if (!sdone) {
			int rs = SSL_do_handshake(s);
			if (rs == 1)
				sdone = 1;
			else if (!want(s, rs))
				goto out;
		}
	}
	if (!cdone || !sdone)
		goto out;
	/* TLS 1.3 tickets come after the handshake: the client reads them, and keeps the
	 * newest session, as redial does for the next reconnect. */
	t = tm_thread_cpu_ns();
	char b;
	int rc = SSL_read(c, &b, 1);
	if (rc > 0 || !want(c, rc)) {
		client += tm_thread_cpu_ns() - t;
		goto out;
	}
	ret = SSL_session_reused(c) ? 1 : 0;
	SSL_SESSION *sess = SSL_get1_session(c);
	if (sess) {
		SSL_SESSION_free(saved);
		saved = sess;
	}
	client += tm_thread_cpu_ns() - t;
out:
	/* Freeing a connection that did not send close_notify marks its session not
	 * resumable (SSL_free -> ssl_clear_bad_session), and the saved session is that very
	 * object: say the shutdown was done, as a client that closes cleanly would. */
	if (c)
		SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c);
	SSL_free(s);
	*ret_client_ns = client;
	return ret;
}

static void teardown(void)
{
	SSL_SESSION_free(saved);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

const struct tm_backend tm_backend = {
	.name = "openssl",
	.version = OPENSSL_VERSION_STR,
	.setup = setup,
	.handshake = handshake,
	.teardown = teardown,
};
