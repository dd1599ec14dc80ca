/* farm_tls.c - the farm's TLS server side (OpenSSL). farm_start builds one SSL_CTX per TLS
 * target before it forks, so that the certificates are read and checked in the parent
 * (a bad file fails farm_start, by errno) and OpenSSL's global state is initialised before
 * the fork; the child only makes per-connection objects from it.
 *
 * The child is forked, not exec'd, and OpenSSL allocates: that is safe because glibc's
 * fork takes malloc's locks around the fork (the child's allocator is consistent), and no
 * OpenSSL lock can be held across it by another thread of a farm's parent, which makes no
 * TLS calls of its own while farm_start runs. The rest of the child keeps to raw system
 * calls as before. */
#include "farm_int.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

bool farm__is_tls(enum farm_kind k)
{
	return k == FARM_TLS || k == FARM_TLS_CLOSE;
}

/* The server's ALPN protocols in wire form (length-prefixed), kept with the context. */
struct alpn {
	unsigned char *wire;
	unsigned len;
};
static int alpn_index = -1;

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned inlen, void *arg)
{
	(void)ssl;
	const struct alpn *a = arg;
	unsigned char *sel = NULL;
	unsigned char sellen = 0;
	if (SSL_select_next_proto(&sel, &sellen, a->wire, a->len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
	*out = sel;
	*outlen = sellen;
	return SSL_TLSEXT_ERR_OK;
}

static struct alpn *alpn_parse(const char *list)
{
	size_t n = strlen(list);
	struct alpn *a = calloc(1, sizeof(*a));
	if (!a || !(a->wire = malloc(n + 1))) {
		free(a);
		return NULL;
	}
	/* "a,bc" -> "\1a\2bc" */
	size_t o = 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0 || l > 255) {
			free(a->wire);
			free(a);
			return NULL;
		}
		a->wire[o++] = (unsigned char)l;
		memcpy(a->wire + o, p, l);
		o += l;
		p += l + (e ? 1 : 0);
	}
	a->len = (unsigned)o;
	return a;
}

static void alpn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		      void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	struct alpn *a = ptr;
	if (a) {
		free(a->wire);
		free(a);
	}
}

int farm__tls_ctx(struct farm_target *t)
{
	const struct farm_target_spec *s = &t->spec;
	if (!s->tls_cert || !s->tls_key)
		return -EINVAL;
	if (alpn_index < 0)
		alpn_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, alpn_free);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || alpn_index < 0) {
		SSL_CTX_free(ctx);
		return -ENOMEM;
	}
	int err = -EINVAL;
	if (SSL_CTX_use_certificate_chain_file(ctx, s->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, s->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	if (s->tls_max_version &&
	    SSL_CTX_set_max_proto_version(ctx, s->tls_max_version) != 1)
		goto fail;
	if (s->tls_alpn) {
		struct alpn *a = alpn_parse(s->tls_alpn);
		if (!a)
			goto fail;
		SSL_CTX_set_ex_data(ctx, alpn_index, a);
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, a);
	}
	if (s->tls_client_ca) {
		if (SSL_CTX_load_verify_locations(ctx, s->tls_client_ca, NULL) != 1)
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	/* Needed for resumption once client certificates are verified; harmless otherwise. */
	static const unsigned char sid_ctx[] = "redial-farm";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	/* One ticket per connection is all a reconnecting client uses. */
	SSL_CTX_set_num_tickets(ctx, 1);
	t->tls = ctx;
	return 0;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return err;
}

void farm__tls_ctx_free(struct farm_target *t)
{
	SSL_CTX_free(t->tls);
	t->tls = NULL;
}

void *farm__tls_new(void *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

static bool want_io(SSL *ssl, int rc)
{
	int e = SSL_get_error(ssl, rc);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

int farm__tls_handshake(void *p)
{
	SSL *ssl = p;
	int rc = SSL_do_handshake(ssl);
	if (rc == 1)
		return 1;
	if (want_io(ssl, rc))
		return 0;
	ERR_clear_error();
	return -1;
}

bool farm__tls_resumed(void *p)
{
	return SSL_session_reused(p) == 1;
}

int farm__tls_echo(void *p)
{
	SSL *ssl = p;
	char buf[4096];
	/* A budget, like the plain targets' reads: level triggering brings us back. */
	for (int i = 0; i < 16; i++) {
		int n = SSL_read(ssl, buf, sizeof(buf));
		if (n <= 0) {
			if (want_io(ssl, n))
				return 0;
			ERR_clear_error();
			return -1; /* close_notify, reset, or a protocol error */
		}
		/* Best effort: a client that does not read its echo loses it. */
		if (SSL_write(ssl, buf, n) <= 0)
			ERR_clear_error();
	}
	return 0;
}

void farm__tls_free(void *p, bool notify)
{
	SSL *ssl = p;
	if (notify && SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
}
