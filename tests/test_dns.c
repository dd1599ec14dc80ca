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
	memset(&rec, 0, sizeof(rec));
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

static redial_t *make(struct redial_config *cfg)
{
	if (!cfg->dns_servers)
		cfg->dns_servers = dns.servers;
	redial_t *r = NULL;
	int ret = redial_create(cfg, &r);
	cr_assert_eq(ret, 0, "create: %s: %s", strerror(-ret), redial_strerror_create());
	return r;
}

static redial_id_t add(redial_t *r, const char *s, const struct redial_endpoint_opts *o)
{
	redial_id_t id = 0;
	char err[256] = "";
	int ret = redial_endpoint_add(r, s, o, &id, err, sizeof(err));
	cr_assert_eq(ret, 0, "add %s: %s (%s)", s, strerror(-ret), err);
	return id;
}

struct want {
	enum redial_event_type type;
	redial_id_t id;
	size_t n;
};

static bool have(redial_t *r, void *arg)
{
	(void)r;
	struct want *w = arg;
	return tu_count(&rec, w->type, w->id) >= w->n;
}

static void wait_for(redial_t *r, enum redial_event_type type, redial_id_t id, size_t n,
		     uint64_t timeout)
{
	struct want w = { type, id, n };
	cr_assert(tu_run_until(r, have, &w, timeout), "only %zu of %zu %s events",
		  tu_count(&rec, type, id), n, redial_event_name(type));
}

/* A listener of our own on one exact address, so that other addresses on its port refuse. */
static int listener(int family, const char *ip, uint16_t *port)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} a;
	memset(&a, 0, sizeof(a));
	socklen_t len;
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a.v6.sin6_family = AF_INET6;
		a.v6.sin6_port = htons(*port);
		inet_pton(AF_INET6, ip, &a.v6.sin6_addr);
		len = sizeof(a.v6);
	} else {
		a.v4.sin_family = AF_INET;
		a.v4.sin_port = htons(*port);
		inet_pton(AF_INET, ip, &a.v4.sin_addr);
		len = sizeof(a.v4);
	}
	cr_assert_eq(bind(fd, &a.sa, len), 0, "bind %s:%u: %s", ip, *port, strerror(errno));
	cr_assert_eq(listen(fd, 128), 0);
	cr_assert_eq(getsockname(fd, &a.sa, &len), 0);
	*port = ntohs(family == AF_INET6 ? a.v6.sin6_port : a.v4.sin_port);
	return fd;
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
	int l = listener(AF_INET, "127.3.0.1", &port);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "ok.test:%u", port);
	redial_id_t id = add(r, ep, NULL);
	wait_for(r, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
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
	redial_id_t id = add(r, "missing.test:80", NULL);
	wait_for(r, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(10));
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
	int l = listener(AF_INET, "127.3.0.9", &port);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_nxdomain_hold_ns = REDIAL_SEC(30);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(100);
	rec.defs.backoff_max_ns = REDIAL_MSEC(200);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "late.test:%u", port);
	redial_id_t id = add(r, ep, NULL);
	wait_for(r, REDIAL_EV_ATTEMPT_FAILED, id, 2, REDIAL_SEC(10));
	const struct tu_event *f = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 0);
	cr_assert_eq(f->err, REDIAL_E_DNS_NXDOMAIN);
	cr_assert_eq(f->cls, REDIAL_CLASS_TRANSIENT, "held: not yet permanent");
	cr_assert_gt(f->backoff_ns, 0);
	reload("127.3.0.1 ok.test\n127.3.0.9 late.test\n");
	wait_for(r, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_GAVE_UP, id), 0);
	close(l);
	tu_finish(r, fds0);
}

Test(dns, a_timing_out_server_is_retried_while_other_endpoints_keep_their_schedule)
{
	/* A UDP socket that never answers. */
	int mute = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	cr_assert_eq(bind(mute, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(mute, (struct sockaddr *)&sa, &len), 0);
	char servers[64];
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", ntohs(sa.sin_port));

	struct farm *farm;
	struct farm_target_spec spec = { .kind = FARM_REFUSE };
	cr_assert_eq(farm_start(&spec, 1, &farm), 0);
	int fds = tu_count_fds();
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_servers = servers;
	cfg.dns_timeout_ns = REDIAL_MSEC(300);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(50);
	redial_t *r = make(&cfg);
	redial_id_t slow = add(r, "slow.test:80", NULL);
	struct redial_endpoint_opts o = rec.defs;
	o.backoff_max_attempts = 4;
	enum { N = 50 };
	redial_id_t ids[N];
	for (unsigned i = 0; i < N; i++) {
		char ep[64];
		snprintf(ep, sizeof(ep), "127.4.0.%u:%u", i + 1, farm_port(farm, 0));
		ids[i] = add(r, ep, &o);
	}
	wait_for(r, REDIAL_EV_ATTEMPT_FAILED, slow, 2, REDIAL_SEC(10));
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
	struct farm *farm;
	struct farm_target_spec spec = { .kind = FARM_DROP_AFTER, .hold_ms = 150 };
	cr_assert_eq(farm_start(&spec, 1, &farm), 0);
	int fds = tu_count_fds();
	reload("127.3.0.5 move.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(20);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "move.test:%u", farm_port(farm, 0));
	redial_id_t id = add(r, ep, NULL);
	wait_for(r, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	char ip[64];
	peer_ip(r, id, ip, sizeof(ip));
	cr_assert_str_eq(ip, "127.3.0.5");
	reload("127.3.0.6 move.test\n");
	/* The farm drops the first connection; the reconnect resolves again. */
	wait_for(r, REDIAL_EV_DISCONNECTED, id, 1, REDIAL_SEC(10));
	wait_for(r, REDIAL_EV_CONNECTED, id, 2, REDIAL_SEC(10));
	peer_ip(r, id, ip, sizeof(ip));
	cr_assert_str_eq(ip, "127.3.0.6");
	cr_assert_geq(queries("A", "move.test"), 2);
	tu_finish(r, fds);
	farm_stop(farm);
}

Test(dns, the_first_address_refuses_and_the_second_connects_in_the_same_cycle)
{
	uint16_t port = 0;
	int l = listener(AF_INET, "127.3.0.3", &port); /* 127.3.0.2 on that port refuses */
	reload("127.3.0.2 multi.test\n127.3.0.3 multi.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_SEC(60); /* far above any lateness of the loop */
	rec.defs.backoff_max_ns = REDIAL_SEC(60);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "multi.test:%u", port);
	redial_id_t id = add(r, ep, NULL);
	wait_for(r, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));
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
	struct farm *farm;
	struct farm_target_spec spec = { .kind = FARM_BLACKHOLE };
	cr_assert_eq(farm_start(&spec, 1, &farm), 0);
	int fds = tu_count_fds();
	reload("127.3.0.7 hole.test\n127.3.0.8 hole.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.connect_timeout_ns = REDIAL_MSEC(600);
	rec.defs.backoff_max_attempts = 2;
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "hole.test:%u", farm_port(farm, 0));
	redial_id_t id = add(r, ep, NULL);
	wait_for(r, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(20));
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
	int l6 = listener(AF_INET6, "::1", &port);
	int l4 = listener(AF_INET, "127.0.0.1", &port);
	reload("::1 he.test\n127.0.0.1 he.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "he.test:%u", port);
	redial_id_t id = add(r, ep, NULL);
	wait_for(r, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(20));
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
	int l4 = listener(AF_INET, "127.0.0.1", &port);
	struct farm *farm;
	struct farm_target_spec spec = { .kind = FARM_BLACKHOLE, .family = AF_INET6, .port = port };
	int ret = farm_start(&spec, 1, &farm);
	cr_assert_eq(ret, 0, "farm: %s", strerror(-ret));
	int fds = tu_count_fds();
	reload("::1 he6.test\n127.0.0.1 he6.test\n");
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.connect_timeout_ns = REDIAL_SEC(40); /* IPv6's share: 20 s */
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "he6.test:%u", port);
	redial_id_t id = add(r, ep, NULL);
	uint64_t t0 = redial_now_ns();
	wait_for(r, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(30));
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
	int l = listener(AF_INET, "127.3.0.1", &port);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.dns_timeout_ns = REDIAL_SEC(30);
	rec.hook = stop_on_connect;
	redial_t *r = make(&cfg);
	char ep[64];
	snprintf(ep, sizeof(ep), "ok.test:%u", port);
	redial_id_t id = add(r, ep, NULL);
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
