/* backend_wolfssl.c — tls_measure's wolfSSL backend: I/O callbacks move records through two
 * in-memory queues, so every record stays in memory. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/version.h>
#include <stdio.h>
#include <string.h>

#include "tls_measure.h"

struct queue {
	unsigned char buf[1 << 16];
	size_t head, tail;
};
/* What the client sent (the server reads it), and the reverse. */
static struct queue c2s, s2c;
static WOLFSSL_CTX *cctx, *sctx;
static WOLFSSL_SESSION *saved;
static const char *host;

static int q_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	(void)ssl;
	struct queue *q = arg;
	size_t n = q->tail - q->head;
	if (n == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	if (n > (size_t)sz)
		n = (size_t)sz;
	memcpy(buf, q->buf + q->head, n);
	q->head += n;
	if (q->head == q->tail)
		q->head = q->tail = 0;
	return (int)n;
}

static int q_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	(void)ssl;
	struct queue *q = arg;
	if (sizeof(q->buf) - q->tail < (size_t)sz)
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	memcpy(q->buf + q->tail, buf, (size_t)sz);
	q->tail += (size_t)sz;
	return sz;
}

static int fail(const char *what, int err)
{
	char msg[WOLFSSL_MAX_ERROR_SZ];
	fprintf(stderr, "wolfssl: %s: %s\n", what, wolfSSL_ERR_error_string((unsigned long)err, msg));
	return -1;
}

static int setup(const struct tm_files *f)
{
	host = f->name;
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		return fail("init", 0);
	cctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	sctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	if (!cctx || !sctx)
		return fail("CTX_new", 0);
	int groups[] = { WOLFSSL_ECC_X25519 };
	int r;
	if ((r = wolfSSL_CTX_set_groups(cctx, groups, 1)) != WOLFSSL_SUCCESS ||
	    (r = wolfSSL_CTX_set_groups(sctx, groups, 1)) != WOLFSSL_SUCCESS)
		return fail("groups", r);
	if ((r = wolfSSL_CTX_load_verify_locations(cctx, f->ca, NULL)) != WOLFSSL_SUCCESS)
		return fail("loading the CA", r);
	wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_PEER, NULL);
	if ((r = wolfSSL_CTX_use_certificate_chain_file(sctx, f->cert)) != WOLFSSL_SUCCESS ||
	    (r = wolfSSL_CTX_use_PrivateKey_file(sctx, f->key, WOLFSSL_FILETYPE_PEM)) !=
		    WOLFSSL_SUCCESS)
		return fail("loading the server certificate", r);
	wolfSSL_CTX_SetIORecv(cctx, q_recv);
	wolfSSL_CTX_SetIOSend(cctx, q_send);
	wolfSSL_CTX_SetIORecv(sctx, q_recv);
	wolfSSL_CTX_SetIOSend(sctx, q_send);
	return 0;
}

static int want(WOLFSSL *s, int rc)
{
	int e = wolfSSL_get_error(s, rc);
	return e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE;
}

static int handshake(bool resume, uint64_t *ret_client_ns)
{
	uint64_t client = 0, t = tm_thread_cpu_ns();
	WOLFSSL *c = wolfSSL_new(cctx);
	client += tm_thread_cpu_ns() - t;
	WOLFSSL *s = wolfSSL_new(sctx);
	int ret = -1;
	c2s.head = c2s.tail = s2c.head = s2c.tail = 0;
	if (!c || !s)
		goto out;
	t = tm_thread_cpu_ns();
	wolfSSL_SetIOReadCtx(c, &s2c);
	wolfSSL_SetIOWriteCtx(c, &c2s);
	wolfSSL_UseSNI(c, WOLFSSL_SNI_HOST_NAME, host, (unsigned short)strlen(host));
	wolfSSL_check_domain_name(c, host);
	if (resume && saved)
		wolfSSL_set_session(c, saved);
	client += tm_thread_cpu_ns() - t;
	wolfSSL_SetIOReadCtx(s, &c2s);
	wolfSSL_SetIOWriteCtx(s, &s2c);
	int cdone = 0, sdone = 0;
	for (int i = 0; i < 32 && !(cdone && sdone); i++) {
		if (!cdone) {
			t = tm_thread_cpu_ns();
			int rc = wolfSSL_connect(c);
			client += tm_thread_cpu_ns() - t;
			if (rc == WOLFSSL_SUCCESS)
				cdone = 1;
			else if (!want(c, rc)) {
				fail("connect", wolfSSL_get_error(c, rc));
				goto out;
			}
		}
		if (!sdone) {
			int rs = wolfSSL_accept(s);
			if (rs == WOLFSSL_SUCCESS)
				sdone = 1;
			else if (!want(s, rs)) {
				fail("accept", wolfSSL_get_error(s, rs));
				goto out;
			}
		}
	}
	if (!cdone || !sdone)
		goto out;
	/* The ticket (sent after the server's handshake) is read, and the newest session
	 * kept, as redial does. */
	t = tm_thread_cpu_ns();
	char b;
	int rc = wolfSSL_read(c, &b, 1);
	if (rc > 0 || !want(c, rc)) {
		client += tm_thread_cpu_ns() - t;
		goto out;
	}
	ret = wolfSSL_session_reused(c) ? 1 : 0;
	WOLFSSL_SESSION *sess = wolfSSL_get1_session(c);
	if (sess) {
		wolfSSL_SESSION_free(saved);
		saved = sess;
	}
	client += tm_thread_cpu_ns() - t;
out:
	wolfSSL_free(c);
	wolfSSL_free(s);
	*ret_client_ns = client;
	return ret;
}

static void teardown(void)
{
	wolfSSL_SESSION_free(saved);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(sctx);
	wolfSSL_Cleanup();
}

const struct tm_backend tm_backend = {
	.name = "wolfssl",
	.version = LIBWOLFSSL_VERSION_STRING,
	.setup = setup,
	.handshake = handshake,
	.teardown = teardown,
};
