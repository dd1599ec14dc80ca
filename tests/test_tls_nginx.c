/* test_tls_nginx.c — redial against a real TLS server: nginx (Debian's nginx-light), started
 * and stopped by each test on loopback with certificates made at run time (farm_pki), its
 * files in a temporary directory. A good connection that the application continues (an HTTP
 * request over the session redial hands it), a resumed reconnect after nginx drops an idle
 * connection, and a certificate for the wrong name. REDIAL_NGINX names the binary (meson finds it;
 * the suite is skipped where it is missing). */
#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "farm_pki.h"
#include "testutil.h"

struct nginx {
	pid_t pid;
	uint16_t port_good, port_wrong;
	char conf[FARM_PKI_PATH + 16];
};

static struct farm_pki *pki;
static struct nginx ngx;

/* nginx in the foreground (no daemon, no master), one worker, everything under pki->dir:
 * a server with the valid certificate that drops a connection idle for 1 s, and one with
 * the wrong-host certificate. */
static void nginx_start(void)
{
	const char *bin = getenv("REDIAL_NGINX");
	cr_assert_not_null(bin, "REDIAL_NGINX is not set");
	ngx.port_good = tu_free_port(); /* nginx binds them a moment later */
	ngx.port_wrong = tu_free_port();
	snprintf(ngx.conf, sizeof(ngx.conf), "%s/nginx.conf", pki->dir);
	FILE *f = fopen(ngx.conf, "we");
	cr_assert_not_null(f);
	const char *d = pki->dir;
	fprintf(f,
		"daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\n"
		"error_log %s/error.log notice;\nevents { worker_connections 64; }\n"
		"http {\n access_log off;\n client_body_temp_path %s/t1;\n"
		" proxy_temp_path %s/t2;\n fastcgi_temp_path %s/t3;\n uwsgi_temp_path %s/t4;\n"
		" scgi_temp_path %s/t5;\n"
		" ssl_protocols TLSv1.2 TLSv1.3;\n ssl_session_tickets on;\n"
		" client_header_timeout 1s;\n keepalive_timeout 1s;\n"
		" server {\n  listen 127.0.0.1:%u ssl;\n  server_name localhost;\n"
		"  ssl_certificate %s;\n  ssl_certificate_key %s;\n"
		"  location / { return 200 \"redial\\n\"; }\n }\n"
		" server {\n  listen 127.0.0.1:%u ssl;\n  server_name localhost;\n"
		"  ssl_certificate %s;\n  ssl_certificate_key %s;\n"
		"  location / { return 200 \"wrong\\n\"; }\n }\n"
		"}\n",
		d, d, d, d, d, d, d, ngx.port_good, pki->cert[FARM_CERT_VALID],
		pki->key[FARM_CERT_VALID], ngx.port_wrong, pki->cert[FARM_CERT_WRONG_HOST],
		pki->key[FARM_CERT_WRONG_HOST]);
	cr_assert_eq(fclose(f), 0);
	char errlog[FARM_PKI_PATH + 16];
	snprintf(errlog, sizeof(errlog), "%s/error.log", d);
	ngx.pid = fork();
	cr_assert_geq(ngx.pid, 0);
	if (ngx.pid == 0) {
		execl(bin, bin, "-p", d, "-e", errlog, "-c", ngx.conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		if (tu_port_open(ngx.port_good) && tu_port_open(ngx.port_wrong))
			return;
		int st;
		if (waitpid(ngx.pid, &st, WNOHANG) == ngx.pid) {
			ngx.pid = 0;
			cr_assert_fail("nginx exited at start (see %s)", errlog);
		}
		usleep(10000);
	}
	cr_assert_fail("nginx did not listen within 10 s");
}

static void nginx_stop(void)
{
	if (ngx.pid > 0) {
		kill(ngx.pid, SIGTERM);
		int st;
		waitpid(ngx.pid, &st, 0);
		ngx.pid = 0;
	}
}

static void setup(void)
{
	cr_assert_eq(farm_pki_create(FARM_KEY_EC_P256, &pki), 0);
	nginx_start();
}

static void teardown(void)
{
	nginx_stop();
	/* nginx's own files go with the directory: remove what farm_pki does not know. */
	static const char *const extra[] = { "nginx.conf", "nginx.pid", "error.log", "t1", "t2",
					     "t3", "t4", "t5" };
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		char p[FARM_PKI_PATH + 32];
		snprintf(p, sizeof(p), "%s/%s", pki->dir, extra[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	farm_pki_destroy(pki);
}

TestSuite(nginx, .init = setup, .fini = teardown, .timeout = 120);

struct seen {
	struct redial_tls_info info[8];
	int n;
	char reply[256];
};
static struct seen seen;

/* CONNECTED: the application continues the connection: an HTTP request over the session. */
static void hook(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)r;
	bool request = arg != NULL;
	if (ev->type != REDIAL_EV_CONNECTED || seen.n >= 8)
		return;
	struct redial_tls_info *in = &seen.info[seen.n++];
	in->size = sizeof(*in);
	cr_assert_eq(redial_tls_info(ev->tls, in), 0);
	if (!request)
		return;
	SSL *ssl = redial_tls_ssl(ev->tls);
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	cr_assert_eq(SSL_write(ssl, req, sizeof(req) - 1), (int)sizeof(req) - 1);
	size_t got = 0;
	for (int i = 0; i < 500 && got < sizeof(seen.reply) - 1; i++) {
		int n = SSL_read(ssl, seen.reply + got, (int)(sizeof(seen.reply) - 1 - got));
		if (n > 0) {
			got += (size_t)n;
			if (strstr(seen.reply, "redial\n"))
				break;
			continue;
		}
		if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
			break;
		struct pollfd p = { .fd = ev->fd, .events = POLLIN };
		poll(&p, 1, 10);
	}
	seen.reply[got] = '\0';
}

static redial_t *make(struct tu_recorder *rec, struct redial_tls_opts *tls, bool request)
{
	memset(&seen, 0, sizeof(seen));
	struct redial_config cfg;
	tu_config(&cfg, rec);
	rec->hook = hook;
	rec->hook_arg = request ? &seen : NULL;
	redial_tls_opts_init(tls);
	tls->ca = pki->ca;
	tls->sni = "localhost";
	rec->defs.tls = tls;
	rec->defs.backoff_initial_ns = REDIAL_MSEC(20);
	return tu_make(&cfg);
}

Test(nginx, a_verified_connection_the_application_continues)
{
	struct tu_recorder rec;
	tu_recorder_init(&rec);
	struct redial_tls_opts tls;
	int fds = tu_count_fds();
	redial_t *r = make(&rec, &tls, true);
	redial_id_t id = tu_add(r, tu_loopback(ngx.port_good), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_str_eq(seen.info[0].version, "TLSv1.3");
	cr_assert_str_eq(seen.info[0].peer_subject, "CN=localhost");
	cr_assert(strstr(seen.reply, "HTTP/1.1 200") && strstr(seen.reply, "redial\n"),
		  "reply: %s", seen.reply);
	tu_finish(r, fds);
	tu_recorder_free(&rec);
}

Test(nginx, a_reconnect_after_nginx_drops_the_connection_resumes)
{
	struct tu_recorder rec;
	tu_recorder_init(&rec);
	struct redial_tls_opts tls;
	int fds = tu_count_fds();
	redial_t *r = make(&rec, &tls, false);
	redial_id_t id = tu_add(r, tu_loopback(ngx.port_good), NULL);
	/* nginx closes a connection that sends no request within client_header_timeout (1 s). */
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 2, REDIAL_SEC(20));
	cr_assert_geq(tu_count(&rec, REDIAL_EV_DISCONNECTED, id), 1);
	cr_assert_not(seen.info[0].resumed);
	cr_assert(seen.info[1].resumed, "the reconnect after nginx's close did not resume");
	struct redial_endpoint_stats st = tu_ep_stats(r, id);
	cr_assert_eq(st.tls_resumed, 1);
	tu_finish(r, fds);
	tu_recorder_free(&rec);
}

Test(nginx, a_certificate_for_another_name_is_a_permanent_hostname_mismatch)
{
	struct tu_recorder rec;
	tu_recorder_init(&rec);
	struct redial_tls_opts tls;
	int fds = tu_count_fds();
	redial_t *r = make(&rec, &tls, false);
	redial_id_t id = tu_add(r, tu_loopback(ngx.port_wrong), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(10));
	const struct tu_event *ev = tu_nth(&rec, REDIAL_EV_GAVE_UP, id, 0);
	cr_assert_eq(ev->err, REDIAL_E_TLS_HOSTNAME_MISMATCH, "%s", redial_errno_name(ev->err));
	cr_assert_eq(ev->cls, REDIAL_CLASS_PERMANENT);
	cr_assert_eq(ev->reason, REDIAL_GAVE_UP_PERMANENT);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 1);
	tu_finish(r, fds);
	tu_recorder_free(&rec);
}
