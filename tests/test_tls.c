/* test_tls.c — TLS to upstreams, against the farm's TLS targets with certificates made at
 * run time (farm_pki): CONNECTED only after a verified handshake, the session handed to the
 * application, resumption after a drop, the classification of every failure, the bounded
 * retry of a verification failure without a reason, recheck_permanent_ns, and no leak of
 * fds, ops or TLS objects after cancel, remove and shutdown mid-handshake (the ASan build
 * checks the objects).
 *
 * Timing: only lower bounds come from policy (a recheck never comes early); upper bounds are
 * generous timeouts of tu_run_until. */
#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "farm.h"
#include "farm_pki.h"
#include "testutil.h"

void rd__tls_force_verify_error(long err); /* tls_cfg.c's test hook */

static struct farm_pki *pki;
static int fds_before;

static void setup(void)
{
	cr_assert_eq(farm_pki_create(FARM_KEY_EC_P256, &pki), 0);
	fds_before = tu_count_fds();
}

static void teardown(void)
{
	rd__tls_force_verify_error(0);
	farm_pki_destroy(pki);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 120);

/* What the hook keeps of each event: the TLS reason and, at CONNECTED, what was negotiated. */
struct seen {
	char reason[8][160];
	int nreason;
	struct redial_tls_info info[8];
	int ninfo;
	int echo_ok; /* CONNECTED: the application talked over the session */
	bool echo;   /* do that */
	int fd_ok;   /* CONNECTED: SSL_get_fd (and _rfd, _wfd) of the session was the event's fd */
};

static struct seen seen;

/* Writes "ping" over the borrowed session and reads the farm's echo (a few ms at most). */
static bool echo_over(redial_tls_t *t, int fd)
{
	SSL *ssl = redial_tls_ssl(t);
	if (SSL_write(ssl, "ping", 4) != 4)
		return false;
	char buf[8];
	for (int i = 0; i < 500; i++) {
		int n = SSL_read(ssl, buf, sizeof(buf));
		if (n == 4)
			return memcmp(buf, "ping", 4) == 0;
		if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
			return false;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 10);
	}
	return false;
}

static void hook(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)r;
	(void)arg;
	if (ev->tls_reason && seen.nreason < 8)
		snprintf(seen.reason[seen.nreason++], sizeof(seen.reason[0]), "%s", ev->tls_reason);
	if (ev->type == REDIAL_EV_CONNECTED) {
		cr_assert_not_null(ev->tls, "a TLS endpoint's CONNECTED carries its session");
		if (seen.ninfo < 8) {
			struct redial_tls_info *in = &seen.info[seen.ninfo++];
			in->size = sizeof(*in);
			cr_assert_eq(redial_tls_info(ev->tls, in), 0);
		}
		if (seen.echo && echo_over(ev->tls, ev->fd))
			seen.echo_ok++;
		SSL *ssl = redial_tls_ssl(ev->tls);
		if (SSL_get_fd(ssl) == ev->fd && SSL_get_rfd(ssl) == ev->fd &&
		    SSL_get_wfd(ssl) == ev->fd)
			seen.fd_ok++;
	}
}

struct env {
	struct tu_recorder rec;
	struct redial_config cfg;
	struct redial_tls_opts tls;
	redial_t *r;
	struct farm *farm;
	int fds_farm; /* the process's fds with the farm up, before the manager */
};

/* redial_config.dns_servers for the next env_start, when a test resolves names. */
static const char *env_dns_servers;

static void env_start(struct env *e, const struct farm_target_spec *specs, size_t n)
{
	memset(&seen, 0, sizeof(seen));
	memset(e, 0, sizeof(*e));
	tu_recorder_init(&e->rec);
	e->farm = tu_farm_start(specs, n);
	e->fds_farm = tu_count_fds();
	tu_config(&e->cfg, &e->rec);
	e->rec.hook = hook;
	e->rec.defs.backoff_initial_ns = REDIAL_MSEC(20);
	e->rec.defs.backoff_max_ns = REDIAL_MSEC(100);
	e->rec.defs.connect_timeout_ns = REDIAL_SEC(5);
	redial_tls_opts_init(&e->tls);
	e->tls.ca = pki->ca;
	e->rec.defs.tls = &e->tls;
	e->cfg.dns_servers = env_dns_servers;
	e->r = tu_make(&e->cfg);
}

static void env_finish(struct env *e)
{
	tu_finish(e->r, e->fds_farm);
	farm_stop(e->farm);
	tu_recorder_free(&e->rec);
	cr_expect_eq(tu_count_fds(), fds_before, "fd leak: %d, %d before", tu_count_fds(),
		     fds_before);
}

static struct farm_target_spec tls_target(enum farm_kind kind, enum farm_cert cert)
{
	struct farm_target_spec s = { .kind = kind, .tls_cert = pki->cert[cert],
				      .tls_key = pki->key[cert] };
	return s;
}

static redial_id_t add_port(struct env *e, uint16_t port, const struct redial_endpoint_opts *o)
{
	return tu_add(e->r, tu_loopback(port), o);
}

/* ---- connecting ---------------------------------------------------------------------- */

Test(tls, connected_only_after_a_verified_handshake_with_the_session_in_the_event)
{
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	env_start(&e, &spec, 1);
	seen.echo = true;
	redial_id_t id = add_port(&e, farm_port(e.farm, 0), NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_eq(seen.ninfo, 1);
	cr_assert_str_eq(seen.info[0].version, "TLSv1.3");
	cr_assert_neq(seen.info[0].cipher[0], '\0');
	cr_assert_not(seen.info[0].resumed);
	cr_assert_str_eq(seen.info[0].peer_subject, "CN=localhost");
	cr_assert_eq(seen.echo_ok, 1, "the application could not use the session");
	struct redial_endpoint_stats st = tu_ep_stats(e.r, id);
	cr_assert(st.tls);
	cr_assert_eq(st.tls_handshakes, 1);
	cr_assert_str_eq(st.tls_version, "TLSv1.3");
	redial_tls_t *t = NULL;
	cr_assert_eq(redial_endpoint_tls(e.r, id, &t), 0);
	cr_assert_not_null(t);
	struct redial_stats s = tu_stats(e.r);
	cr_assert_eq(s.tls_handshakes, 1);
	cr_assert_eq(s.tls_inflight, 0);
	env_finish(&e);
}

Test(tls, a_reconnect_resumes_the_session_of_the_last_connection)
{
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	spec.hold_ms = 100; /* close_notify 100 ms after each handshake */
	env_start(&e, &spec, 1);
	redial_id_t id = add_port(&e, farm_port(e.farm, 0), NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id, 3, REDIAL_SEC(20));
	cr_assert_eq(tu_nth(&e.rec, REDIAL_EV_DISCONNECTED, id, 0)->err, 0,
		     "close_notify is an orderly close");
	cr_assert_not(seen.info[0].resumed);
	cr_assert(seen.info[1].resumed, "the first reconnect did not resume");
	cr_assert(seen.info[2].resumed);
	struct redial_endpoint_stats st = tu_ep_stats(e.r, id);
	cr_assert_geq(st.tls_resumed, 2);
	/* REDIAL_TLS_NO_RESUME: every connection a full handshake. */
	struct redial_tls_opts full = e.tls;
	full.flags = REDIAL_TLS_NO_RESUME;
	struct redial_endpoint_opts o = e.rec.defs;
	o.tls = &full;
	redial_id_t id2 = add_port(&e, farm_port(e.farm, 0), &o);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id2, 2, REDIAL_SEC(20));
	cr_assert_eq(tu_ep_stats(e.r, id2).tls_resumed, 0);
	struct farm_counters fc;
	cr_assert_eq(farm_counters(e.farm, 0, &fc), 0);
	cr_assert_geq(fc.tls_resumed, 2, "the server saw %llu resumptions",
		      (unsigned long long)fc.tls_resumed);
	env_finish(&e);
}

Test(tls, names_verify_by_ip_san_by_sni_and_from_a_ca_directory)
{
	struct env e;
	struct farm_target_spec specs[] = { tls_target(FARM_TLS, FARM_CERT_VALID),
					    tls_target(FARM_TLS, FARM_CERT_WRONG_HOST),
					    tls_target(FARM_TLS, FARM_CERT_EXPIRED) };
	env_start(&e, specs, 3);
	struct redial_endpoint_opts o = e.rec.defs;
	struct redial_tls_opts dir = e.tls, sni = e.tls, wrong = e.tls, insecure = e.tls;
	dir.ca = pki->ca_dir;
	sni.sni = "redial.test";
	wrong.sni = "localhost"; /* the wrong-host certificate names only wrong.example */
	insecure.flags = REDIAL_TLS_INSECURE;
	o.tls = &dir;
	redial_id_t a = add_port(&e, farm_port(e.farm, 0), &o);
	o.tls = &sni;
	redial_id_t b = add_port(&e, farm_port(e.farm, 0), &o);
	o.tls = &wrong;
	redial_id_t c = add_port(&e, farm_port(e.farm, 1), &o);
	o.tls = &e.tls; /* an address endpoint against a certificate without IP SANs */
	redial_id_t d = add_port(&e, farm_port(e.farm, 1), &o);
	o.tls = &insecure;
	redial_id_t f = add_port(&e, farm_port(e.farm, 2), &o);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, a, 1, REDIAL_SEC(10));
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, b, 1, REDIAL_SEC(10));
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, f, 1, REDIAL_SEC(10));
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, c, 1, REDIAL_SEC(10));
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, d, 1, REDIAL_SEC(10));
	cr_assert_eq(tu_nth(&e.rec, REDIAL_EV_GAVE_UP, c, 0)->err, REDIAL_E_TLS_HOSTNAME_MISMATCH);
	cr_assert_eq(tu_nth(&e.rec, REDIAL_EV_GAVE_UP, d, 0)->err, REDIAL_E_TLS_HOSTNAME_MISMATCH);
	env_finish(&e);
}

Test(tls, mutual_tls_with_a_client_certificate)
{
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	spec.tls_client_ca = pki->ca;
	env_start(&e, &spec, 1);
	seen.echo = true; /* TLS 1.3 checks the client's certificate after the handshake */
	struct redial_endpoint_opts o = e.rec.defs;
	struct redial_tls_opts m = e.tls;
	m.cert = pki->cert[FARM_CERT_CLIENT];
	m.key = pki->key[FARM_CERT_CLIENT];
	o.tls = &m;
	redial_id_t id = add_port(&e, farm_port(e.farm, 0), &o);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_eq(seen.echo_ok, 1);
	env_finish(&e);
}

Test(tls, release_hands_over_the_fd_and_the_session)
{
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	env_start(&e, &spec, 1);
	/* The echo in the CONNECTED callback also reads the session ticket (TLS 1.3 sends it
	 * after the handshake), which the release then keeps. */
	seen.echo = true;
	redial_id_t id = add_port(&e, farm_port(e.farm, 0), NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_eq(seen.echo_ok, 1);
	redial_tls_t *t = NULL;
	cr_assert_eq(redial_endpoint_tls(e.r, id, &t), 0);
	int fd = -1;
	cr_assert_eq(redial_endpoint_release(e.r, id, 0, &fd), 0);
	cr_assert_eq(redial_endpoint_tls(e.r, id, &t), -ENOTCONN);
	cr_assert(echo_over(t, fd), "the released session does not work");
	SSL_free(redial_tls_ssl(t));
	close(fd);
	/* The session was kept: the next connection resumes it. */
	cr_assert_eq(redial_endpoint_start(e.r, id), 0);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id, 2, REDIAL_SEC(10));
	cr_assert(seen.info[1].resumed);
	env_finish(&e);
}

Test(tls, ssl_get_fd_answers_the_connection_fd_while_borrowed_and_after_release)
{
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	env_start(&e, &spec, 1);
	seen.echo = true; /* the SSL still works with its BIO answering the fd */
	redial_id_t id = add_port(&e, farm_port(e.farm, 0), NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_eq(seen.echo_ok, 1);
	cr_assert_eq(seen.fd_ok, 1, "SSL_get_fd in the CONNECTED event is not the event's fd");
	redial_tls_t *t = NULL;
	cr_assert_eq(redial_endpoint_tls(e.r, id, &t), 0);
	int fd = tu_ep_stats(e.r, id).fd;
	cr_assert_geq(fd, 0);
	cr_assert_eq(SSL_get_fd(redial_tls_ssl(t)), fd);
	int rfd = -1;
	cr_assert_eq(redial_endpoint_release(e.r, id, 0, &rfd), 0);
	cr_assert_eq(rfd, fd);
	SSL *ssl = redial_tls_ssl(t);
	cr_assert_eq(SSL_get_fd(ssl), rfd, "the released SSL does not name its fd");
	cr_assert(echo_over(t, SSL_get_fd(ssl)), "the released session does not work");
	SSL_free(ssl);
	close(rfd);
	env_finish(&e);
}

/* ---- "tls://" endpoints ------------------------------------------------------------------ */

Test(tls, a_tls_prefix_runs_tls_on_ipv4_and_ipv6_with_the_options_in_use)
{
	struct env e;
	struct farm_target_spec specs[] = { tls_target(FARM_TLS, FARM_CERT_VALID),
					    tls_target(FARM_TLS, FARM_CERT_VALID) };
	specs[1].family = AF_INET6;
	env_start(&e, specs, 2);
	seen.echo = true;
	char s4[64], s6[64];
	snprintf(s4, sizeof(s4), "tls://127.0.0.1:%u", farm_port(e.farm, 0));
	snprintf(s6, sizeof(s6), "tls://[::1]:%u", farm_port(e.farm, 1));
	/* opts NULL: endpoint_defaults, whose TLS options know the farm's CA. */
	redial_id_t a = tu_add(e.r, s4, NULL);
	redial_id_t b = tu_add(e.r, s6, NULL);
	/* opts given: the TLS options they carry. */
	struct redial_endpoint_opts o = e.rec.defs;
	redial_id_t c = tu_add(e.r, s6, &o);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, a, 1, REDIAL_SEC(10));
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, b, 1, REDIAL_SEC(10));
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, c, 1, REDIAL_SEC(10));
	cr_assert_eq(seen.echo_ok, 3);
	cr_assert(tu_ep_stats(e.r, a).tls);
	cr_assert(tu_ep_stats(e.r, b).tls);
	/* The name an endpoint reports is its address, as without the prefix. */
	char name[REDIAL_ENDPOINT_MAX + 1];
	cr_assert_gt(redial_endpoint_name(e.r, b, name, sizeof(name)), 0);
	cr_assert_str_eq(name, s6 + 6);
	env_finish(&e);
}

Test(tls, a_tls_prefix_with_opts_without_tls_verifies_against_the_system_store_not_the_defaults)
{
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	env_start(&e, &spec, 1);
	char s4[64];
	snprintf(s4, sizeof(s4), "tls://127.0.0.1:%u", farm_port(e.farm, 0));
	/* endpoint_defaults' TLS options trust the farm's CA; these opts have none, so the
	 * library's defaults apply: the system store, which does not know that CA. */
	struct redial_endpoint_opts o = e.rec.defs;
	o.tls = NULL;
	redial_id_t id = tu_add(e.r, s4, &o);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(10));
	cr_assert_eq(tu_nth(&e.rec, REDIAL_EV_GAVE_UP, id, 0)->err, REDIAL_E_TLS_CERT_UNTRUSTED);
	cr_assert_eq(tu_ep_stats(e.r, id).connects, 0);
	env_finish(&e);
}

Test(tls, a_tls_prefix_on_a_name_verifies_the_name)
{
	struct tu_dnsmasq dns;
	char why[256];
	if (tu_dnsmasq_start_err(&dns, "127.0.0.1 redial.test\n", why, sizeof(why)) < 0)
		cr_skip_test("%s", why);
	env_dns_servers = dns.servers;
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	env_start(&e, &spec, 1);
	env_dns_servers = NULL;
	seen.echo = true;
	char s[64];
	snprintf(s, sizeof(s), "tls://redial.test:%u", farm_port(e.farm, 0));
	redial_id_t id = tu_add(e.r, s, NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_eq(seen.echo_ok, 1);
	cr_assert(tu_ep_stats(e.r, id).tls);
	env_finish(&e);
	tu_dnsmasq_stop(&dns);
}

/* ---- what failures are called ----------------------------------------------------------- */

struct cls_case {
	const char *what;
	int err, err2;         /* err2: an equally right answer (0: none) */
	enum redial_class cls;
	const char *reason;    /* a substring of the TLS reason, or NULL */
};

Test(tls, every_failure_is_named_and_classified)
{
	struct farm_target_spec specs[] = {
		tls_target(FARM_TLS, FARM_CERT_EXPIRED),
		tls_target(FARM_TLS, FARM_CERT_NOT_YET_VALID),
		tls_target(FARM_TLS, FARM_CERT_WRONG_HOST),
		tls_target(FARM_TLS, FARM_CERT_UNKNOWN_CA),
		tls_target(FARM_TLS, FARM_CERT_VALID),  /* TLS 1.2 only, below */
		tls_target(FARM_TLS, FARM_CERT_VALID),  /* ALPN other/1, below */
		{ .kind = FARM_ACCEPT },                 /* never answers */
		{ .kind = FARM_TLS_RESET },
		{ .kind = FARM_TLS_EOF },
		{ .kind = FARM_PLAINTEXT },
	};
	specs[4].tls_max_version = 0x0303;
	specs[5].tls_alpn = "other/1";
	static const struct cls_case cases[] = {
		{ "expired", REDIAL_E_TLS_CERT_EXPIRED, 0, REDIAL_CLASS_PERMANENT, "expired" },
		{ "not yet valid", REDIAL_E_TLS_CERT_NOT_YET_VALID, 0, REDIAL_CLASS_PERMANENT,
		  "not yet valid" },
		{ "wrong host", REDIAL_E_TLS_HOSTNAME_MISMATCH, 0, REDIAL_CLASS_PERMANENT, "mismatch" },
		{ "unknown CA", REDIAL_E_TLS_CERT_UNTRUSTED, 0, REDIAL_CLASS_PERMANENT, "issuer" },
		{ "TLS 1.2 only", REDIAL_E_TLS_PROTOCOL_VERSION, 0, REDIAL_CLASS_PERMANENT,
		  "protocol version" },
		{ "ALPN", REDIAL_E_TLS_NO_APPLICATION_PROTOCOL, 0, REDIAL_CLASS_PERMANENT,
		  "no application protocol" },
		{ "silent", REDIAL_E_TLS_HANDSHAKE_TIMEOUT, 0, REDIAL_CLASS_TRANSIENT, NULL },
		{ "reset", ECONNRESET, 0, REDIAL_CLASS_TRANSIENT, NULL },
		/* A FIN after our ClientHello: EOF, or a reset if the kernel answered a late
		 * write of ours with one first. */
		{ "eof", REDIAL_E_TLS_UNEXPECTED_EOF, ECONNRESET, REDIAL_CLASS_TRANSIENT, NULL },
		{ "plaintext", REDIAL_E_TLS_NOT_TLS, 0, REDIAL_CLASS_PERMANENT, "wrong version" },
	};
	struct env e;
	env_start(&e, specs, 10);
	struct redial_endpoint_opts o = e.rec.defs;
	struct redial_tls_opts v13 = e.tls, alpn = e.tls;
	v13.min_version = REDIAL_TLS_1_3;
	alpn.alpn = "h2";
	o.tls_handshake_timeout_ns = REDIAL_MSEC(300);
	for (size_t i = 0; i < 10; i++) {
		memset(&seen, 0, sizeof(seen));
		o.tls = i == 4 ? &v13 : i == 5 ? &alpn : &e.tls;
		const struct cls_case *c = &cases[i];
		uint64_t t0 = redial_now_ns();
		redial_id_t id = add_port(&e, farm_port(e.farm, i), &o);
		tu_run_until_event(e.r, &e.rec, REDIAL_EV_ATTEMPT_FAILED, id, 1, REDIAL_SEC(10));
		const struct tu_event *ev = tu_nth(&e.rec, REDIAL_EV_ATTEMPT_FAILED, id, 0);
		cr_assert(ev->err == c->err || (c->err2 && ev->err == c->err2),
			  "%s: err %d (%s), expected %s", c->what, ev->err,
			  redial_errno_name(ev->err), redial_errno_name(c->err));
		cr_assert_eq(ev->cls, c->cls, "%s: class %s", c->what, redial_class_name(ev->cls));
		if (c->reason)
			cr_assert(seen.nreason >= 1 && strstr(seen.reason[0], c->reason),
				  "%s: reason '%s'", c->what, seen.nreason ? seen.reason[0] : "");
		if (c->cls == REDIAL_CLASS_PERMANENT) {
			/* Given up at once: one attempt, nothing more. */
			tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(10));
			const struct tu_event *g = tu_nth(&e.rec, REDIAL_EV_GAVE_UP, id, 0);
			cr_assert_eq(g->reason, REDIAL_GAVE_UP_PERMANENT);
			struct redial_endpoint_stats st = tu_ep_stats(e.r, id);
			cr_assert_eq(st.attempts, 1, "%s: %lu attempts", c->what,
				     (unsigned long)st.attempts);
			cr_assert_eq(st.state, REDIAL_STATE_FAILED);
			cr_assert_eq(st.last_class, REDIAL_CLASS_PERMANENT);
		} else {
			/* Retried. */
			tu_run_until_event(e.r, &e.rec, REDIAL_EV_ATTEMPT_FAILED, id, 2,
					   REDIAL_SEC(10));
		}
		if (c->err == REDIAL_E_TLS_HANDSHAKE_TIMEOUT)
			cr_assert_geq(ev->mono_ns - t0, REDIAL_MSEC(300), "the deadline came early");
		cr_assert_eq(redial_endpoint_remove(e.r, id), 0);
	}
	env_finish(&e);
}

Test(tls, a_verification_failure_without_a_reason_is_retried_then_permanent)
{
	struct env e;
	struct farm_target_spec spec = tls_target(FARM_TLS, FARM_CERT_VALID);
	env_start(&e, &spec, 1);
	rd__tls_force_verify_error(X509_V_ERR_UNSPECIFIED);
	redial_id_t id = add_port(&e, farm_port(e.farm, 0), NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(20));
	cr_assert_eq(tu_count(&e.rec, REDIAL_EV_ATTEMPT_FAILED, id),
		     REDIAL_TLS_UNNAMED_RETRIES + 1);
	for (size_t k = 0; k <= REDIAL_TLS_UNNAMED_RETRIES; k++) {
		const struct tu_event *ev = tu_nth(&e.rec, REDIAL_EV_ATTEMPT_FAILED, id, k);
		cr_assert_eq(ev->err, REDIAL_E_TLS_CERT_INVALID);
		cr_assert_eq(ev->cls, k < REDIAL_TLS_UNNAMED_RETRIES ? REDIAL_CLASS_TRANSIENT
								     : REDIAL_CLASS_PERMANENT);
	}
	/* A named failure is permanent at once. */
	rd__tls_force_verify_error(X509_V_ERR_CERT_REVOKED);
	redial_id_t id2 = add_port(&e, farm_port(e.farm, 0), NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, id2, 1, REDIAL_SEC(10));
	cr_assert_eq(tu_count(&e.rec, REDIAL_EV_ATTEMPT_FAILED, id2), 1);
	cr_assert_eq(tu_nth(&e.rec, REDIAL_EV_GAVE_UP, id2, 0)->err, REDIAL_E_TLS_CERT_INVALID);
	rd__tls_force_verify_error(0);
	env_finish(&e);
}

static enum redial_class refused_is_permanent(int err, enum redial_class builtin, void *user)
{
	(void)user;
	return err == ECONNREFUSED ? REDIAL_CLASS_PERMANENT : builtin;
}

Test(tls, recheck_permanent_tries_again_after_that_long_tls_or_not)
{
	struct env e;
	struct farm_target_spec specs[] = { tls_target(FARM_TLS, FARM_CERT_EXPIRED),
					    { .kind = FARM_REFUSE } };
	memset(&seen, 0, sizeof(seen));
	memset(&e, 0, sizeof(e));
	e.farm = tu_farm_start(specs, 2);
	e.fds_farm = tu_count_fds();
	tu_config(&e.cfg, &e.rec);
	e.cfg.classify = refused_is_permanent;
	e.rec.defs.recheck_permanent_ns = REDIAL_MSEC(300);
	redial_tls_opts_init(&e.tls);
	e.tls.ca = pki->ca;
	e.r = tu_make(&e.cfg);
	struct redial_endpoint_opts o = e.rec.defs;
	o.tls = &e.tls;
	redial_id_t a = add_port(&e, farm_port(e.farm, 0), &o);
	redial_id_t b = add_port(&e, farm_port(e.farm, 1), NULL);
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, a, 3, REDIAL_SEC(20));
	tu_run_until_event(e.r, &e.rec, REDIAL_EV_GAVE_UP, b, 3, REDIAL_SEC(20));
	for (redial_id_t id = a;; id = b) {
		for (size_t k = 1; k < 3; k++) {
			uint64_t gap = tu_nth(&e.rec, REDIAL_EV_GAVE_UP, id, k)->mono_ns -
				       tu_nth(&e.rec, REDIAL_EV_GAVE_UP, id, k - 1)->mono_ns;
			cr_assert_geq(gap, REDIAL_MSEC(300), "rechecked after %lu ns",
				      (unsigned long)gap);
		}
		cr_assert_eq(tu_count(&e.rec, REDIAL_EV_ATTEMPT_FAILED, id),
			     tu_count(&e.rec, REDIAL_EV_GAVE_UP, id), "one attempt per recheck");
		cr_assert_eq(tu_state(e.r, id), REDIAL_STATE_FAILED);
		if (id == b)
			break;
	}
	/* Cancel stops the recheck; start starts at once. */
	cr_assert_eq(redial_endpoint_cancel(e.r, a), 0);
	cr_assert_eq(tu_state(e.r, a), REDIAL_STATE_CANCELLED);
	cr_assert_eq(redial_endpoint_start(e.r, b), 0);
	size_t before = tu_count(&e.rec, REDIAL_EV_GAVE_UP, a);
	redial_run(e.r, REDIAL_MSEC(700));
	cr_assert_eq(tu_count(&e.rec, REDIAL_EV_GAVE_UP, a), before);
	env_finish(&e);
}

/* ---- nothing leaks ---------------------------------------------------------------------- */

static bool inflight_at_least(redial_t *r, void *arg)
{
	struct redial_stats s = { .size = sizeof(s) };
	redial_stats_get(r, &s);
	return s.tls_inflight >= *(uint32_t *)arg;
}

/* n endpoints to a target that never answers the handshake, all mid-handshake. */
static void start_silent(struct env *e, uint32_t n, redial_id_t *ids)
{
	struct farm_target_spec spec = { .kind = FARM_ACCEPT };
	env_start(e, &spec, 1);
	struct redial_endpoint_opts o = e->rec.defs;
	o.tls_handshake_timeout_ns = REDIAL_SEC(60);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = add_port(e, farm_port(e->farm, 0), &o);
	cr_assert(tu_run_until(e->r, inflight_at_least, &n, REDIAL_SEC(60)),
		  "not all %u handshakes started", n);
}

static bool no_handshake_left(redial_t *r, void *arg)
{
	(void)arg;
	return tu_stats(r).tls_inflight == 0;
}

Test(tls, cancel_and_remove_mid_handshake_leave_nothing)
{
	struct env e;
	redial_id_t ids[100];
	start_silent(&e, 100, ids);
	for (int i = 0; i < 100; i++) {
		if (i % 2)
			cr_assert_eq(redial_endpoint_cancel(e.r, ids[i]), 0);
		else
			cr_assert_eq(redial_endpoint_remove(e.r, ids[i]), 0);
	}
	struct redial_stats s = tu_stats(e.r);
	cr_assert_eq(s.fds_open, 0, "the sockets are closed before the calls return");
	/* Their cancelled ops drain in the loop: wait for it, generously. */
	cr_assert(tu_run_until(e.r, no_handshake_left, NULL, REDIAL_SEC(20)), "%u handshakes left",
		  tu_stats(e.r).tls_inflight);
	env_finish(&e);
}

Test(tls, shutdown_with_two_thousand_handshakes_in_flight)
{
	struct env e;
	static redial_id_t ids[2000];
	start_silent(&e, 2000, ids);
	struct redial_stats s = tu_stats(e.r);
	cr_assert_eq(s.tls_inflight, 2000);
	cr_assert_eq(redial_shutdown(e.r, REDIAL_SEC(10)), 0);
	s = tu_stats(e.r);
	cr_assert_eq(s.tls_inflight, 0);
	cr_assert_eq(s.inflight_ops, 0);
	cr_assert_eq(s.fds_open, 0);
	env_finish(&e);
}

#define N_SILENT 300
#define HS_DEADLINE_MS 100

struct failures_wanted {
	struct tu_recorder *rec;
	size_t n;
};

static bool failures_at_least(redial_t *r, void *arg)
{
	(void)r;
	struct failures_wanted *w = arg;
	return tu_count(w->rec, REDIAL_EV_ATTEMPT_FAILED, 0) >= w->n;
}

/* Handshake deadlines sit on the handshakes' timer wheel, not in the kernel: a storm of
 * handshakes to a peer that never answers, driven from the application's epoll loop, all
 * time out as TLS_HANDSHAKE_TIMEOUT, none before its deadline, each ended by one cancel of
 * its socket's ops. */
Test(tls, a_storm_of_silent_handshakes_times_out_at_the_deadline_never_before)
{
	struct env e;
	struct farm_target_spec spec = { .kind = FARM_ACCEPT };
	env_start(&e, &spec, 1);
	struct redial_endpoint_opts o = e.rec.defs;
	o.tls_handshake_timeout_ns = REDIAL_MSEC(HS_DEADLINE_MS);
	o.backoff_initial_ns = REDIAL_MSEC(1);
	o.backoff_max_ns = REDIAL_MSEC(1);
	o.alert_after = 0;
	struct tu_loop l;
	tu_loop_open(&l, e.r);
	for (uint32_t i = 0; i < N_SILENT; i++)
		add_port(&e, farm_port(e.farm, 0), &o);
	struct failures_wanted w = { &e.rec, 3 * N_SILENT };
	cr_assert(tu_loop_until(&l, failures_at_least, &w, REDIAL_SEC(120)),
		  "%zu failures in 120 s", tu_count(&e.rec, REDIAL_EV_ATTEMPT_FAILED, 0));
	size_t n = tu_count(&e.rec, REDIAL_EV_ATTEMPT_FAILED, 0), wrong = 0, early = 0;
	for (size_t k = 0; k < n; k++) {
		struct tu_event ev;
		cr_assert(tu_nth_copy(&e.rec, REDIAL_EV_ATTEMPT_FAILED, 0, k, &ev));
		wrong += ev.err != REDIAL_E_TLS_HANDSHAKE_TIMEOUT;
		/* The duration counts from the connect; the deadline from the handshake's start,
		 * after it: a lower bound either way. */
		early += ev.duration_ns < REDIAL_MSEC(HS_DEADLINE_MS);
	}
	cr_expect_eq(wrong, 0, "%zu of %zu failures were not TLS_HANDSHAKE_TIMEOUT", wrong, n);
	cr_expect_eq(early, 0, "%zu of %zu handshakes ended before their deadline", early, n);
	/* One cancel per deadline that passed: each failure had one, and the handshakes in
	 * flight now may have theirs out already. (A linked timeout ends a round without any.) */
	struct redial_stats s = tu_stats(e.r);
	cr_expect_geq(s.kernel_cancels, s.failures, "%llu cancels for %llu timed-out handshakes",
		      (unsigned long long)s.kernel_cancels, (unsigned long long)s.failures);
	cr_expect_leq(s.kernel_cancels, s.failures + s.tls_inflight,
		      "%llu cancels for %llu timed-out handshakes and %u in flight",
		      (unsigned long long)s.kernel_cancels, (unsigned long long)s.failures,
		      s.tls_inflight);
	tu_loop_close(&l);
	env_finish(&e);
}

Test(tls, names_and_classes_of_the_tls_codes)
{
	static const struct {
		int err;
		const char *name;
		enum redial_class cls;
	} t[] = {
		{ REDIAL_E_TLS_CERT_UNTRUSTED, "TLS_CERT_UNTRUSTED", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_CERT_EXPIRED, "TLS_CERT_EXPIRED", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_CERT_NOT_YET_VALID, "TLS_CERT_NOT_YET_VALID", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_HOSTNAME_MISMATCH, "TLS_HOSTNAME_MISMATCH", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_CERT_INVALID, "TLS_CERT_INVALID", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_PROTOCOL_VERSION, "TLS_PROTOCOL_VERSION", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_NO_APPLICATION_PROTOCOL, "TLS_NO_APPLICATION_PROTOCOL",
		  REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_HANDSHAKE_FAILURE, "TLS_HANDSHAKE_FAILURE", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_NOT_TLS, "TLS_NOT_TLS", REDIAL_CLASS_PERMANENT },
		{ REDIAL_E_TLS_HANDSHAKE_TIMEOUT, "TLS_HANDSHAKE_TIMEOUT", REDIAL_CLASS_TRANSIENT },
		{ REDIAL_E_TLS_UNEXPECTED_EOF, "TLS_UNEXPECTED_EOF", REDIAL_CLASS_TRANSIENT },
		{ REDIAL_E_TLS_INTERNAL_ERROR, "TLS_INTERNAL_ERROR", REDIAL_CLASS_TRANSIENT },
		{ REDIAL_E_TLS_ERROR, "TLS_ERROR", REDIAL_CLASS_TRANSIENT },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_str_eq(redial_errno_name(t[i].err), t[i].name);
		cr_assert_eq(redial_errno_from_name(t[i].name), t[i].err);
		cr_assert_eq(redial_classify(t[i].err), t[i].cls, "%s", t[i].name);
	}
	cr_assert_null(redial_errno_name(REDIAL_E_TLS_ERROR + 1));
	cr_assert_null(redial_errno_name(REDIAL_E_TLS_CERT_UNTRUSTED - 1));
}
