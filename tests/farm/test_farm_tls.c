/* test_farm_tls.c - the farm's TLS targets and the run-time PKI, checked with a plain
 * blocking OpenSSL client: every certificate of farm_pki verifies (or fails) as its name
 * says, a TLS target handshakes, echoes and resumes, and each misbehaving kind misbehaves
 * the way the engine's tests count on. Every socket read has a 10 s timeout, so a broken
 * farm fails a test instead of hanging it. */
#include "farm.h"
#include "farm_pki.h"
#include "fds.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static struct farm_pki *pki;
static int fd_baseline;

static void setup(void)
{
	fd_baseline = tu_count_fds();
	cr_assert_eq(farm_pki_create(FARM_KEY_EC_P256, &pki), 0);
}

static void teardown(void)
{
	char dir[FARM_PKI_PATH];
	snprintf(dir, sizeof(dir), "%s", pki->dir);
	farm_pki_destroy(pki);
	cr_assert_eq(access(dir, F_OK), -1, "the PKI directory is left behind");
	cr_assert_eq(tu_count_fds(), fd_baseline, "fd leak");
}

TestSuite(farm_tls, .init = setup, .fini = teardown, .timeout = 60);

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
};

/* A verifying client of 127.0.0.1:port ("localhost" as SNI and name to verify). */
static int client_connect(struct client *c, uint16_t port, const char *alpn,
			  SSL_SESSION *resume)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(c->ctx);
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
	cr_assert_eq(SSL_CTX_load_verify_locations(c->ctx, pki->ca, NULL), 1);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	c->fd = tcp_connect(port);
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	SSL_set1_host(c->ssl, "localhost");
	if (alpn) {
		unsigned char wire[64];
		size_t n = strlen(alpn);
		wire[0] = (unsigned char)n;
		memcpy(wire + 1, alpn, n);
		SSL_set_alpn_protos(c->ssl, wire, (unsigned)n + 1);
	}
	if (resume)
		SSL_set_session(c->ssl, resume);
	return SSL_connect(c->ssl);
}

static void client_close(struct client *c)
{
	SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
	ERR_clear_error();
}

static struct farm *start_one(struct farm_target_spec spec)
{
	struct farm *f = NULL;
	int ret = farm_start(&spec, 1, &f);
	cr_assert_eq(ret, 0, "farm_start: %s", strerror(-ret));
	return f;
}

static struct farm_target_spec tls_spec(enum farm_kind kind, enum farm_cert cert)
{
	struct farm_target_spec s = { .kind = kind, .tls_cert = pki->cert[cert],
				      .tls_key = pki->key[cert] };
	return s;
}

static void wait_counter(struct farm *f, uint64_t want_handshakes, uint64_t want_resumed)
{
	struct farm_counters fc = { 0 };
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(farm_counters(f, 0, &fc), 0);
		if (fc.tls_handshakes >= want_handshakes && fc.tls_resumed >= want_resumed)
			return;
		usleep(10000);
	}
	cr_assert_fail("handshakes %llu of %llu, resumed %llu of %llu",
		       (unsigned long long)fc.tls_handshakes, (unsigned long long)want_handshakes,
		       (unsigned long long)fc.tls_resumed, (unsigned long long)want_resumed);
}

/* ---- the PKI ---- */

static long verify_file(const char *cert)
{
	X509_STORE *st = X509_STORE_new();
	cr_assert_eq(X509_STORE_load_file(st, pki->ca), 1);
	FILE *fp = fopen(cert, "re");
	cr_assert_not_null(fp);
	X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	cr_assert_not_null(x);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, st, x, NULL);
	X509_verify_cert(ctx);
	long err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	X509_STORE_free(st);
	return err;
}

Test(farm_tls, every_certificate_verifies_or_fails_as_named)
{
	cr_assert_eq(verify_file(pki->cert[FARM_CERT_VALID]), X509_V_OK);
	cr_assert_eq(verify_file(pki->cert[FARM_CERT_CLIENT]), X509_V_OK);
	cr_assert_eq(verify_file(pki->cert[FARM_CERT_WRONG_HOST]), X509_V_OK);
	cr_assert_eq(verify_file(pki->cert[FARM_CERT_EXPIRED]), X509_V_ERR_CERT_HAS_EXPIRED);
	cr_assert_eq(verify_file(pki->cert[FARM_CERT_NOT_YET_VALID]),
		     X509_V_ERR_CERT_NOT_YET_VALID);
	cr_assert_eq(verify_file(pki->cert[FARM_CERT_UNKNOWN_CA]),
		     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	/* The hashed directory serves as a CA store too. */
	X509_STORE *st = X509_STORE_new();
	cr_assert_eq(X509_STORE_load_path(st, pki->ca_dir), 1);
	X509_STORE_free(st);
	struct stat sb;
	cr_assert_eq(stat(pki->key[FARM_CERT_VALID], &sb), 0);
	cr_assert_eq(sb.st_mode & 077, 0, "a private key readable by others");
}

Test(farm_tls, rsa_keys_too)
{
	struct farm_pki *rsa = NULL;
	cr_assert_eq(farm_pki_create(FARM_KEY_RSA_2048, &rsa), 0);
	struct farm_target_spec s = { .kind = FARM_TLS, .tls_cert = rsa->cert[FARM_CERT_VALID],
				      .tls_key = rsa->key[FARM_CERT_VALID] };
	struct farm *f = start_one(s);
	struct client c;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, rsa->ca, NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	c.ctx = ctx;
	c.fd = tcp_connect(farm_port(f, 0));
	c.ssl = SSL_new(ctx);
	SSL_set_fd(c.ssl, c.fd);
	SSL_set1_host(c.ssl, "127.0.0.1");
	cr_assert_eq(SSL_connect(c.ssl), 1, "an IP SAN verifies");
	client_close(&c);
	farm_stop(f);
	farm_pki_destroy(rsa);
}

/* ---- targets ---- */

Test(farm_tls, tls_target_handshakes_echoes_and_resumes)
{
	struct farm *f = start_one(tls_spec(FARM_TLS, FARM_CERT_VALID));
	struct client c;
	cr_assert_eq(client_connect(&c, farm_port(f, 0), NULL, NULL), 1);
	cr_assert_eq(SSL_write(c.ssl, "ping", 4), 4);
	char buf[8];
	cr_assert_eq(SSL_read(c.ssl, buf, sizeof(buf)), 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	SSL_SESSION *sess = SSL_get1_session(c.ssl); /* the ticket came before the echo */
	cr_assert(SSL_SESSION_is_resumable(sess));
	client_close(&c);
	wait_counter(f, 1, 0);

	cr_assert_eq(client_connect(&c, farm_port(f, 0), NULL, sess), 1);
	cr_assert(SSL_session_reused(c.ssl));
	client_close(&c);
	SSL_SESSION_free(sess);
	wait_counter(f, 2, 1);
	farm_stop(f);
}

Test(farm_tls, tls_hold_closes_with_close_notify_after_the_handshake)
{
	struct farm_target_spec s = tls_spec(FARM_TLS, FARM_CERT_VALID);
	s.hold_ms = 200;
	struct farm *f = start_one(s);
	struct client c;
	cr_assert_eq(client_connect(&c, farm_port(f, 0), NULL, NULL), 1);
	char b;
	int n;
	while ((n = SSL_read(c.ssl, &b, 1)) > 0)
		;
	cr_assert_eq(SSL_get_error(c.ssl, n), SSL_ERROR_ZERO_RETURN, "close_notify expected");
	client_close(&c);
	farm_stop(f);
}

Test(farm_tls, tlsclose_closes_right_after_the_handshake)
{
	struct farm *f = start_one(tls_spec(FARM_TLS_CLOSE, FARM_CERT_VALID));
	struct client c;
	cr_assert_eq(client_connect(&c, farm_port(f, 0), NULL, NULL), 1);
	char b;
	int n;
	while ((n = SSL_read(c.ssl, &b, 1)) > 0)
		;
	cr_assert_eq(SSL_get_error(c.ssl, n), SSL_ERROR_ZERO_RETURN);
	client_close(&c);
	wait_counter(f, 1, 0);
	farm_stop(f);
}

Test(farm_tls, tls12_target_refuses_a_tls13_client)
{
	struct farm_target_spec s = tls_spec(FARM_TLS, FARM_CERT_VALID);
	s.tls_max_version = 0x0303;
	struct farm *f = start_one(s);
	struct client c;
	cr_assert_neq(client_connect(&c, farm_port(f, 0), NULL, NULL), 1);
	unsigned long e = ERR_peek_error();
	cr_assert_eq(ERR_GET_REASON(e), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, "reason %s",
		     ERR_reason_error_string(e));
	client_close(&c);
	farm_stop(f);
}

Test(farm_tls, alpn_mismatch_gets_no_application_protocol)
{
	struct farm_target_spec s = tls_spec(FARM_TLS, FARM_CERT_VALID);
	s.tls_alpn = "other/1,other/2";
	struct farm *f = start_one(s);
	struct client c;
	cr_assert_neq(client_connect(&c, farm_port(f, 0), "h2", NULL), 1);
	unsigned long e = ERR_peek_error();
	cr_assert_eq(ERR_GET_REASON(e), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL, "reason %s",
		     ERR_reason_error_string(e));
	client_close(&c);
	/* A protocol both know is chosen. */
	cr_assert_eq(client_connect(&c, farm_port(f, 0), "other/2", NULL), 1);
	const unsigned char *p;
	unsigned plen;
	SSL_get0_alpn_selected(c.ssl, &p, &plen);
	cr_assert_eq(plen, 7);
	cr_assert_eq(memcmp(p, "other/2", 7), 0);
	client_close(&c);
	farm_stop(f);
}

Test(farm_tls, tlsreset_resets_on_the_client_hello)
{
	struct farm *f = start_one((struct farm_target_spec){ .kind = FARM_TLS_RESET });
	struct client c;
	ERR_clear_error();
	errno = 0;
	int rc = client_connect(&c, farm_port(f, 0), NULL, NULL);
	cr_assert_neq(rc, 1);
	cr_assert_eq(SSL_get_error(c.ssl, rc), SSL_ERROR_SYSCALL);
	cr_assert_eq(errno, ECONNRESET, "errno %s", strerror(errno));
	client_close(&c);
	farm_stop(f);
}

Test(farm_tls, plaintext_target_is_not_tls)
{
	struct farm *f = start_one((struct farm_target_spec){ .kind = FARM_PLAINTEXT });
	struct client c;
	cr_assert_neq(client_connect(&c, farm_port(f, 0), NULL, NULL), 1);
	unsigned long e = ERR_peek_error();
	cr_assert_eq(ERR_GET_REASON(e), SSL_R_WRONG_VERSION_NUMBER, "reason %s",
		     ERR_reason_error_string(e));
	client_close(&c);
	farm_stop(f);
}

Test(farm_tls, bad_specs_are_refused)
{
	struct farm *f = NULL;
	struct farm_target_spec s = { .kind = FARM_TLS };
	cr_assert_eq(farm_start(&s, 1, &f), -EINVAL, "no certificate");
	s = (struct farm_target_spec){ .kind = FARM_ACCEPT, .tls_alpn = "h2" };
	cr_assert_eq(farm_start(&s, 1, &f), -EINVAL, "TLS fields on a plain target");
	s = tls_spec(FARM_TLS, FARM_CERT_VALID);
	s.tls_key = pki->key[FARM_CERT_EXPIRED];
	cr_assert_eq(farm_start(&s, 1, &f), -EINVAL, "a key that does not match");
	s = tls_spec(FARM_TLS_CLOSE, FARM_CERT_VALID);
	s.hold_ms = 5;
	cr_assert_eq(farm_start(&s, 1, &f), -EINVAL);
	cr_assert_eq(farm_spec_parse("tls:250:tls12", &s), 0);
	cr_assert_eq(s.kind, FARM_TLS);
	cr_assert_eq(s.hold_ms, 250);
	cr_assert_eq(s.tls_max_version, 0x0303);
	cr_assert_eq(farm_spec_parse("plain", &s), 0);
	cr_assert_eq(s.kind, FARM_PLAINTEXT);
	cr_assert_str_eq(farm_kind_name(FARM_TLS_RESET), "tlsreset");
}

Test(farm_tls, tlsclose_sends_a_ticket_that_resumes)
{
	struct farm *f = start_one(tls_spec(FARM_TLS_CLOSE, FARM_CERT_VALID));
	struct client c;
	cr_assert_eq(client_connect(&c, farm_port(f, 0), NULL, NULL), 1);
	char b;
	int n;
	while ((n = SSL_read(c.ssl, &b, 1)) > 0)
		;
	SSL_SESSION *sess = SSL_get1_session(c.ssl);
	cr_assert(SSL_SESSION_is_resumable(sess), "no ticket before the close");
	client_close(&c);
	cr_assert_eq(client_connect(&c, farm_port(f, 0), NULL, sess), 1);
	cr_assert(SSL_session_reused(c.ssl));
	client_close(&c);
	SSL_SESSION_free(sess);
	wait_counter(f, 2, 1);
	farm_stop(f);
}
