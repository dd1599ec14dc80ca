/* test_dns.c — NAME:PORT endpoints against a real DNS server (dnsmasq on loopback). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "farm.h"
#include "testutil.h"

static struct tu_dnsmasq dns;
static struct tu_recorder rec;
static int fds0;

static void dns_up(void)
{
	tu_dnsmasq_start(&dns, "127.3.0.1 ok.test\n");
	tu_recorder_init(&rec);
	fds0 = tu_count_fds();
}

static void dns_down(void)
{
	tu_recorder_free(&rec);
	tu_dnsmasq_stop(&dns);
}

TestSuite(dns, .init = dns_up, .fini = dns_down, .timeout = 120);

static void reload(const char *hosts)
{
	tu_dnsmasq_reload(&dns, hosts);
}

static int queries(const char *type, const char *name)
{
	return tu_dnsmasq_queries(&dns, type, name);
}

/* A manager that asks the suite's dnsmasq, unless the test named other servers. */
static redial_t *make(struct redial_config *cfg)
{
	if (!cfg->dns_servers)
		cfg->dns_servers = dns.servers;
	return tu_make(cfg);
}

/* The family of the connection an endpoint holds. */
static int connected_family(redial_t *r, redial_id_t id)
{
	struct redial_endpoint_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_endpoint_stats_get(r, id, &s), 0);
	cr_assert_geq(s.fd, 0);
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	cr_assert_eq(getpeername(s.fd, (struct sockaddr *)&peer, &len), 0);
	return peer.ss_family;
}

static void peer_ip(redial_t *r, redial_id_t id, char *buf, size_t len)
{
	struct redial_endpoint_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_endpoint_stats_get(r, id, &s), 0);
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	cr_assert_eq(getpeername(s.fd, (struct sockaddr *)&peer, &plen), 0);
	inet_ntop(AF_INET, &peer.sin_addr, buf, (socklen_t)len);
}

Test(dns, a_name_resolves_and_connects)
{
	uint16_t port = 0;
	int l = tu_listen_at(AF_INET, "127.3.0.1", &port);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "ok.test:%u", port);
	redial_id_t id = tu_add(r, ep, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	char ip[64];
	peer_ip(r, id, ip, sizeof(ip));
	cr_assert_str_eq(ip, "127.3.0.1");
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_CONNECTED, id, 0)->attempt, 1);
	char name[64];
	cr_assert_gt(redial_endpoint_name(r, id, name, sizeof(name)), 0);
	cr_assert_str_eq(name, ep);
	close(l);
	tu_finish(r, fds0);
}

Test(dns, nxdomain_gives_up_after_exactly_one_resolution_and_no_connect)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = make(&cfg);
	redial_id_t id = tu_add(r, "missing.test:80", NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(10));
	const struct tu_event *f = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->err, REDIAL_E_DNS_NXDOMAIN, "got %s", redial_errno_name(f->err));
	cr_assert_str_eq(redial_errno_name(f->err), "DNS_NXDOMAIN");
	cr_assert_eq(f->cls, REDIAL_CLASS_PERMANENT);
	const struct tu_event *g = tu_nth(&rec, REDIAL_EV_GAVE_UP, id, 0);
	cr_assert_eq(g->reason, REDIAL_GAVE_UP_PERMANENT);
	struct redial_endpoint_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_endpoint_stats_get(r, id, &s), 0);
	cr_assert_eq(s.attempts, 0, "no connect attempt");
	cr_assert_eq(s.failures, 1);
	cr_assert_eq(s.state, REDIAL_STATE_FAILED);
	tu_finish(r, fds0);
	cr_assert_eq(queries("A", "missing.test"), 1);
	cr_assert_eq(queries("AAAA", "missing.test"), 1);
}

Test(dns, nxdomain_hold_retries_until_a_late_name_appears)
{
	uint16_t port = 0;
	int l = tu_listen_at(AF_INET, "127.3.0.9", &port);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_nxdomain_hold_ns = REDIAL_SEC(30);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(100);
	rec.defs.backoff_max_ns = REDIAL_MSEC(200);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "late.test:%u", port);
	redial_id_t id = tu_add(r, ep, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, id, 2, REDIAL_SEC(10));
	const struct tu_event *f = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 0);
	cr_assert_eq(f->err, REDIAL_E_DNS_NXDOMAIN);
	cr_assert_eq(f->cls, REDIAL_CLASS_TRANSIENT, "held: not yet permanent");
	cr_assert_gt(f->backoff_ns, 0);
	reload("127.3.0.1 ok.test\n127.3.0.9 late.test\n");
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_GAVE_UP, id), 0);
	close(l);
	tu_finish(r, fds0);
}

Test(dns, a_timing_out_server_is_retried_while_other_endpoints_keep_their_schedule)
{
	char servers[64];
	int mute = tu_silent_udp(servers, sizeof(servers));

	struct farm_target_spec spec = { .kind = FARM_REFUSE };
	struct farm *farm = tu_farm_start(&spec, 1);
	int fds = tu_count_fds();
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_servers = servers;
	cfg.dns_timeout_ns = REDIAL_MSEC(300);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(50);
	redial_t *r = make(&cfg);
	redial_id_t slow = tu_add(r, "slow.test:80", NULL);
	struct redial_endpoint_opts o = rec.defs;
	o.backoff_max_attempts = 4;
	enum { N = 50 };
	redial_id_t ids[N];
	for (unsigned i = 0; i < N; i++) {
		char ep[64];
		snprintf(ep, sizeof(ep), "127.4.0.%u:%u", i + 1, farm_port(farm, 0));
		ids[i] = tu_add(r, ep, &o);
	}
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, slow, 2, REDIAL_SEC(10));
	const struct tu_event *f = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, slow, 0);
	cr_assert_eq(f->err, REDIAL_E_DNS_TIMEOUT, "got %s", redial_errno_name(f->err));
	cr_assert_eq(f->cls, REDIAL_CLASS_TRANSIENT);
	cr_assert_geq(f->duration_ns, REDIAL_MSEC(290), "the query's own timeout");
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, slow, 1)->attempt, 2);
	/* Meanwhile the address endpoints ran their whole schedule (50+100+200 ms of waits)
	 * without waiting on the resolver: each gap is its backoff, never a DNS timeout more. */
	for (unsigned i = 0; i < N; i++) {
		cr_assert_eq(tu_count(&rec, REDIAL_EV_GAVE_UP, ids[i]), 1);
		for (size_t k = 1; k < 4; k++) {
			const struct tu_event *a = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, ids[i], k - 1);
			const struct tu_event *b = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, ids[i], k);
			uint64_t gap = b->mono_ns - a->mono_ns;
			cr_assert_geq(gap, a->backoff_ns);
			/* Late only by what a loaded machine needs; a DNS timeout more would
			 * show as 300 ms at least. */
			cr_assert_lt(gap, a->backoff_ns + REDIAL_SEC(5), "gap %lu ms for backoff %lu ms",
				     (unsigned long)(gap / 1000000), (unsigned long)(a->backoff_ns / 1000000));
		}
	}
	tu_finish(r, fds);
	farm_stop(farm);
	close(mute);
}

Test(dns, a_changed_record_takes_effect_at_the_next_cycle)
{
	struct farm_target_spec spec = { .kind = FARM_DROP_AFTER, .hold_ms = 150 };
	struct farm *farm = tu_farm_start(&spec, 1);
	int fds = tu_count_fds();
	reload("127.3.0.5 move.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(20);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "move.test:%u", farm_port(farm, 0));
	redial_id_t id = tu_add(r, ep, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	char ip[64];
	peer_ip(r, id, ip, sizeof(ip));
	cr_assert_str_eq(ip, "127.3.0.5");
	reload("127.3.0.6 move.test\n");
	/* The farm drops the first connection; the reconnect resolves again. */
	tu_run_until_event(r, &rec, REDIAL_EV_DISCONNECTED, id, 1, REDIAL_SEC(10));
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 2, REDIAL_SEC(10));
	peer_ip(r, id, ip, sizeof(ip));
	cr_assert_str_eq(ip, "127.3.0.6");
	cr_assert_geq(queries("A", "move.test"), 2);
	tu_finish(r, fds);
	farm_stop(farm);
}

Test(dns, the_first_address_refuses_and_the_second_connects_in_the_same_cycle)
{
	uint16_t port = 0;
	int l = tu_listen_at(AF_INET, "127.3.0.3", &port); /* 127.3.0.2 on that port refuses */
	reload("127.3.0.2 multi.test\n127.3.0.3 multi.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_SEC(60); /* far above any lateness of the loop */
	rec.defs.backoff_max_ns = REDIAL_SEC(60);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "multi.test:%u", port);
	redial_id_t id = tu_add(r, ep, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));
	const struct tu_event *f = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 0);
	cr_assert_not_null(f, "the first address must have been tried and refused");
	cr_assert_eq(f->err, ECONNREFUSED);
	cr_assert_eq(f->backoff_ns, 0, "no backoff between the addresses of one cycle");
	const struct tu_event *c = tu_nth(&rec, REDIAL_EV_CONNECTED, id, 0);
	cr_assert_eq(c->attempt, 2, "reconnected after 2 attempts");
	cr_assert_lt(c->mono_ns - f->mono_ns, REDIAL_SEC(10), "waited a backoff");
	char ip[64];
	peer_ip(r, id, ip, sizeof(ip));
	cr_assert_str_eq(ip, "127.3.0.3");
	close(l);
	tu_finish(r, fds0);
}

Test(dns, the_connect_deadline_is_split_among_the_addresses)
{
	struct farm_target_spec spec = { .kind = FARM_BLACKHOLE };
	struct farm *farm = tu_farm_start(&spec, 1);
	int fds = tu_count_fds();
	reload("127.3.0.7 hole.test\n127.3.0.8 hole.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.connect_timeout_ns = REDIAL_MSEC(600);
	rec.defs.backoff_max_attempts = 2;
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "hole.test:%u", farm_port(farm, 0));
	redial_id_t id = tu_add(r, ep, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(20));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 2);
	for (size_t i = 0; i < 2; i++) {
		const struct tu_event *f = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, i);
		cr_assert_eq(f->err, ETIMEDOUT);
	}
	/* The first address gets half of the 600 ms; the second what is left of the deadline
	 * when it starts, which is less by however late the loop ran: so it must end no sooner
	 * than the cycle's deadline, and late only by what a loaded machine needs. */
	const struct tu_event *f0 = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 0);
	const struct tu_event *f1 = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 1);
	uint64_t t0 = f0->mono_ns - f0->duration_ns;
	cr_assert_geq(f0->duration_ns, REDIAL_MSEC(299), "a fair half of 600 ms: %lu ms",
		      (unsigned long)(f0->duration_ns / 1000000));
	cr_assert_geq(f1->mono_ns - t0, REDIAL_MSEC(599), "the cycle ended before its deadline");
	cr_assert_lt(f1->mono_ns - t0, REDIAL_MSEC(600) + REDIAL_SEC(5));
	/* Not the whole deadline for the first: the second address was tried before it. */
	cr_assert_lt(f1->mono_ns - f1->duration_ns, t0 + REDIAL_MSEC(600),
		     "the second address started only after the deadline");
	tu_finish(r, fds);
	farm_stop(farm);
}

Test(dns, happy_eyeballs_prefers_ipv6_and_cancels_the_ipv4_racer)
{
	uint16_t port = 0;
	int l6 = tu_listen_at(AF_INET6, "::1", &port);
	int l4 = tu_listen_at(AF_INET, "127.0.0.1", &port);
	reload("::1 he.test\n127.0.0.1 he.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "he.test:%u", port);
	redial_id_t id = tu_add(r, ep, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));
	cr_assert_eq(connected_family(r, id), AF_INET6);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 0, "the loser is cancelled, not failed");
	/* The IPv4 racer never got past its head start: nothing reached the IPv4 listener. */
	struct pollfd p = { .fd = l4, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "an IPv4 connection was made");
	close(l6);
	close(l4);
	tu_finish(r, fds0);
}

Test(dns, happy_eyeballs_falls_back_to_ipv4_when_ipv6_is_blackholed)
{
	uint16_t port = 0;
	int l4 = tu_listen_at(AF_INET, "127.0.0.1", &port);
	struct farm_target_spec spec = { .kind = FARM_BLACKHOLE, .family = AF_INET6, .port = port };
	struct farm *farm = tu_farm_start(&spec, 1);
	int fds = tu_count_fds();
	reload("::1 he6.test\n127.0.0.1 he6.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.connect_timeout_ns = REDIAL_SEC(40); /* IPv6's share: 20 s */
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "he6.test:%u", port);
	redial_id_t id = tu_add(r, ep, NULL);
	uint64_t t0 = redial_now_ns();
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(30));
	uint64_t took = redial_now_ns() - t0;
	cr_assert_eq(connected_family(r, id), AF_INET);
	cr_assert_geq(took, REDIAL_MSEC(250), "IPv4 waits out IPv6's head start");
	cr_assert_lt(took, REDIAL_SEC(10), "far less than IPv6's share of the deadline");
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 0, "the IPv6 loser is cancelled");
	tu_finish(r, fds);
	farm_stop(farm);
	close(l4);
}

Test(dns, a_bad_server_list_fails_creation_by_name)
{
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.dns_servers = "127.0.0.1:notaport";
	redial_t *r = NULL;
	cr_assert_eq(redial_create(&cfg, &r), -EINVAL);
	cr_assert(strstr(redial_strerror_create(), "notaport"), "%s", redial_strerror_create());
	cr_assert_eq(tu_count_fds(), fds0);
}

static void stop_on_connect(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == REDIAL_EV_CONNECTED)
		redial_stop(r);
}

Test(dns, an_answer_is_read_at_once_even_inside_one_long_run)
{
	uint16_t port = 0;
	int l = tu_listen_at(AF_INET, "127.3.0.1", &port);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_timeout_ns = REDIAL_SEC(30);
	rec.hook = stop_on_connect;
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "ok.test:%u", port);
	redial_id_t id = tu_add(r, ep, NULL);
	/* One call, not short slices: the query's socket must be watched in the same turn
	 * that opened it, or the answer waits for the 30 s query timeout. */
	uint64_t t0 = redial_now_ns();
	cr_assert_geq(redial_run(r, REDIAL_SEC(60)), 1);
	cr_assert_lt(redial_now_ns() - t0, REDIAL_SEC(15), "took %lu ms",
		     (unsigned long)((redial_now_ns() - t0) / 1000000));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, id), 1);
	close(l);
	tu_finish(r, fds0);
}

/* UDP datagrams the kernel dropped for a full receive buffer, in this network namespace
 * (/proc/net/snmp's Udp RcvbufErrors; anything else running here counts too): -1 when it
 * cannot be read. */
static long long udp_rcvbuf_errors(void)
{
	FILE *f = fopen("/proc/net/snmp", "re");
	if (!f)
		return -1;
	char head[1024], vals[1024];
	long long v = -1;
	while (fgets(head, sizeof(head), f)) {
		if (strncmp(head, "Udp:", 4) != 0 || !fgets(vals, sizeof(vals), f))
			continue;
		/* Two lines: the field names, then their values in the same order. */
		char *hs = NULL, *vs = NULL;
		char *h = strtok_r(head, " \n", &hs), *x = strtok_r(vals, " \n", &vs);
		for (; h && x; h = strtok_r(NULL, " \n", &hs), x = strtok_r(NULL, " \n", &vs))
			if (strcmp(h, "RcvbufErrors") == 0)
				v = atoll(x);
		break;
	}
	fclose(f);
	return v;
}

/* Gives dnsmasq the names h0000.test ... h<n-1>.test, each its own 127.5.x.y address. */
static void many_names(unsigned n)
{
	size_t cap = (size_t)n * 32 + 64;
	char *hosts = malloc(cap);
	cr_assert_not_null(hosts);
	size_t off = 0;
	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(hosts + off, cap - off, "127.5.%u.%u h%04u.test\n",
					i / 250, i % 250 + 1, i);
	reload(hosts);
	free(hosts);
}

static redial_id_t add_name(redial_t *r, unsigned i, uint16_t port)
{
	char ep[64];
	snprintf(ep, sizeof(ep), "h%04u.test:%u", i, port);
	return tu_add(r, ep, NULL);
}

static bool failed_at_least(redial_t *r, void *arg)
{
	(void)r;
	return tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0) >= *(size_t *)arg;
}

static bool none_live(redial_t *r, void *arg)
{
	(void)arg;
	struct redial_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_stats_get(r, &s), 0);
	return s.endpoints == 0;
}

static int cmp_id(const void *a, const void *b)
{
	redial_id_t x = *(const redial_id_t *)a, y = *(const redial_id_t *)b;
	return x < y ? -1 : x > y;
}

/* Issue 19: 300 names at once through one resolver socket overflowed its receive buffer
 * (RcvbufErrors) and the lost answers came back as DNS_TIMEOUT. 5000 names at once must
 * all resolve on the first lookup. Each name's address refuses on the port, so that every
 * endpoint ends its first cycle with exactly one ECONNREFUSED failure (a 10-minute backoff
 * keeps it from a second): anything else, a DNS error above all, shows in the events. */
Test(dns, five_thousand_names_added_at_once_all_resolve_without_a_timeout, .timeout = 280)
{
	enum { N = 5000 };
	uint16_t port;
	int hold = tu_refusing_port(&port);
	many_names(N);
	int fds = tu_count_fds();

	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_SEC(600);
	rec.defs.backoff_max_ns = REDIAL_SEC(600);
	redial_t *r = make(&cfg);
	static redial_id_t ids[N];
	long long drops0 = udp_rcvbuf_errors();
	uint64_t t0 = redial_now_ns();
	for (unsigned i = 0; i < N; i++)
		ids[i] = add_name(r, i, port);
	/* 120 s: on an idle machine this takes a quarter of a second. */
	size_t want = N;
	bool done = tu_run_until(r, failed_at_least, &want, REDIAL_SEC(120));
	uint64_t took = redial_now_ns() - t0;
	long long drops1 = udp_rcvbuf_errors();
	size_t timeouts = 0, refused = 0, other = 0;
	for (size_t k = 0; k < rec.n; k++) {
		const struct tu_event *e = &rec.ev[k];
		if (e->type != REDIAL_EV_ATTEMPT_FAILED)
			continue;
		if (e->err == REDIAL_E_DNS_TIMEOUT)
			timeouts++;
		else if (e->err == ECONNREFUSED)
			refused++;
		else
			other++;
	}
	cr_log_info("%d names: %zu resolved (and refused), %zu DNS timeouts, %zu other, in %lu ms; "
		    "RcvbufErrors %lld -> %lld", N, refused, timeouts, other,
		    (unsigned long)(took / 1000000), drops0, drops1);
	cr_assert(done, "only %zu of %d endpoints finished a cycle in 120 s (%zu DNS timeouts)",
		  tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0), N, timeouts);
	cr_assert_eq(timeouts, 0, "%zu of %d names timed out", timeouts, N);
	cr_assert_eq(other, 0, "%zu failures were neither a DNS timeout nor ECONNREFUSED", other);
	cr_assert_eq(refused, N);

	/* One failure each, and nothing else counted against any endpoint. */
	static redial_id_t seen[N];
	size_t ns = 0;
	for (size_t k = 0; k < rec.n; k++)
		if (rec.ev[k].type == REDIAL_EV_ATTEMPT_FAILED)
			seen[ns++] = rec.ev[k].id;
	qsort(seen, ns, sizeof(seen[0]), cmp_id);
	for (size_t k = 1; k < ns; k++)
		cr_assert_neq(seen[k], seen[k - 1], "an endpoint failed twice");
	for (unsigned i = 0; i < N; i++) {
		struct redial_errno_count ec[8];
		int n = redial_endpoint_errors(r, ids[i], ec, 8);
		cr_assert_eq(n, 1, "h%04u.test: %d distinct errors", i, n);
		cr_assert_eq(ec[0].err, ECONNREFUSED, "h%04u.test: %s", i,
			     redial_errno_name(ec[0].err));
	}

	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(redial_endpoint_remove(r, ids[i]), 0);
	cr_assert(tu_run_until(r, none_live, NULL, REDIAL_SEC(30)));
	tu_finish(r, fds);
	close(hold);
}

/* Names wait in a FIFO for room to be resolved. Endpoints removed while their names wait
 * take them out of it, the names still wanted behind them are all answered, and a shutdown
 * with names still waiting cancels them and leaves nothing behind. */
Test(dns, names_waiting_for_room_leave_with_their_endpoints_and_at_shutdown, .timeout = 280)
{
	enum { N = 2000, LATE = 1000 };
	uint16_t port;
	int hold = tu_refusing_port(&port);
	many_names(N + LATE);
	int fds = tu_count_fds();

	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_SEC(600);
	rec.defs.backoff_max_ns = REDIAL_SEC(600);
	redial_t *r = make(&cfg);
	static redial_id_t ids[N];
	for (unsigned i = 0; i < N; i++)
		ids[i] = add_name(r, i, port);
	/* One pass: every lookup is asked for, and nearly all of them must wait. */
	cr_assert_geq(redial_run(r, 0), 0);
	cr_assert_lt(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0), N / 2);
	for (unsigned i = 1; i < N; i += 2)
		cr_assert_eq(redial_endpoint_remove(r, ids[i]), 0);
	size_t want = N / 2;
	cr_assert(tu_run_until(r, failed_at_least, &want, REDIAL_SEC(120)),
		  "only %zu of %d kept endpoints finished a cycle",
		  tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0), N / 2);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0), N / 2);
	for (unsigned i = 0; i < N; i += 2) {
		const struct tu_event *f = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, ids[i], 0);
		cr_assert_not_null(f, "h%04u.test", i);
		cr_assert_eq(f->err, ECONNREFUSED, "h%04u.test: %s", i, redial_errno_name(f->err));
	}
	/* More names, and a shutdown before they can all be answered. */
	for (unsigned i = 0; i < LATE; i++)
		add_name(r, N + i, port);
	cr_assert_geq(redial_run(r, 0), 0);
	tu_finish(r, fds);
	close(hold);
}

/* A server that never answers: the names beyond the first few dozen wait for room, and must
 * not wait a query timeout per few dozen names (5000 names at 300 ms would take 23 s that
 * way): once a query timed out, the names that already waited as long fail with it. */
Test(dns, names_waiting_for_a_silent_server_fail_at_its_first_timeout, .timeout = 280)
{
	enum { N = 5000 };
	char servers[64];
	int mute = tu_silent_udp(servers, sizeof(servers));
	int fds = tu_count_fds();

	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_servers = servers;
	cfg.dns_timeout_ns = REDIAL_MSEC(300);
	rec.defs.backoff_initial_ns = REDIAL_SEC(600);
	rec.defs.backoff_max_ns = REDIAL_SEC(600);
	redial_t *r = make(&cfg);
	uint64_t t0 = redial_now_ns();
	for (unsigned i = 0; i < N; i++)
		add_name(r, i, 80);
	size_t want = N;
	cr_assert(tu_run_until(r, failed_at_least, &want, REDIAL_SEC(120)),
		  "only %zu of %d endpoints failed", tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0),
		  N);
	uint64_t took = redial_now_ns() - t0;
	cr_log_info("%d names on a silent server: all failed in %lu ms", N,
		    (unsigned long)(took / 1000000));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0), N);
	for (size_t k = 0; k < rec.n; k++) {
		const struct tu_event *e = &rec.ev[k];
		if (e->type != REDIAL_EV_ATTEMPT_FAILED)
			continue;
		cr_assert_eq(e->err, REDIAL_E_DNS_TIMEOUT, "got %s", redial_errno_name(e->err));
		cr_assert_geq(e->duration_ns, REDIAL_MSEC(290), "failed before a timeout's wait");
	}
	/* A loaded machine may run late by seconds, not by the 20 s more of a timeout per
	 * few dozen names. */
	cr_assert_lt(took, REDIAL_SEC(12), "took %lu ms", (unsigned long)(took / 1000000));
	tu_finish(r, fds);
	close(mute);
}
