/* test_embed_budget.c — no fd budget, endpoint count or backoff stops the manager retrying.
 *
 * The matrix: 2,000 endpoints against a refusing port, a blackholed port (an iptables DROP
 * rule in the test's own network namespace), and a peer that accepts and drops each
 * connection 5 ms later; max_fds below, equal to and above the endpoint count; a short
 * backoff (1-4 ms, where a refused attempt keeps its socket for the next one) and a long
 * one (120-240 ms, where it does not). Each row is driven from the application's own epoll
 * loop on redial_fd, and again by redial_run. A row passes when every endpoint made at
 * least ROUNDS more attempts after the first round (so the count keeps growing and no
 * queued endpoint starves), the budget was never exceeded, and the manager gives back
 * every fd, slot and endpoint at the end.
 *
 * A manager whose max_fds was not above the number of failing endpoints used to stop
 * after its first round for good: the sockets refused attempts keep for their next attempt
 * filled the budget, and the endpoints that owned them waited for budget to start. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "farm.h"

#define N_EP 2000
#define ROUNDS 3
/* What a row may take on a loaded two-core machine (the slowest row needs about 1 s). */
#define ROW_BOUND_NS REDIAL_SEC(30)

enum peer { PEER_REFUSE, PEER_DROP, PEER_ACCEPT_DROP };
enum budget { BUDGET_BELOW, BUDGET_EQUAL, BUDGET_ABOVE };
enum backoff { BACKOFF_SHORT, BACKOFF_LONG };
enum driver { DRIVE_EPOLL, DRIVE_RUN };

struct row {
	enum peer peer;
	enum budget budget;
	enum backoff backoff;
	enum driver driver;
};

static const char *const peer_names[] = { "refusing", "blackholed", "accept-then-drop" };
static const char *const budget_names[] = { "below", "equal to", "above" };

TestSuite(budget, .timeout = 300);

/* The test (and the farm it starts) in a network namespace of its own, loopback up, so
 * that an iptables rule can blackhole a port without touching the host. False when the
 * kernel or the user may not make one. */
static bool enter_netns(void)
{
	char why[256];
	return tu_unshare(CLONE_NEWNET, why, sizeof(why)) == 0;
}

/* Where the endpoints connect: a port of the farm, or a port the namespace drops SYNs to. */
static uint16_t start_peer(enum peer peer, struct farm **ret_farm)
{
	*ret_farm = NULL;
	if (peer == PEER_DROP) {
		const uint16_t port = 9;
		char cmd[160];
		snprintf(cmd, sizeof(cmd), "iptables -A OUTPUT -p tcp -d 127.0.0.1 --dport %u -j DROP",
			 port);
		int st = system(cmd);
		if (st != 0)
			cr_skip_test("no iptables in the test's namespace (`%s` exited %d)", cmd,
				     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return port;
	}
	struct farm_target_spec spec;
	memset(&spec, 0, sizeof(spec));
	if (peer == PEER_REFUSE) {
		spec.kind = FARM_REFUSE;
	} else {
		spec.kind = FARM_DROP_AFTER;
		spec.hold_ms = 5;
	}
	*ret_farm = tu_farm_start(&spec, 1);
	return farm_port(*ret_farm, 0);
}

struct matrix {
	redial_t *r;
	redial_id_t ids[N_EP];
	uint64_t base[N_EP];  /* each endpoint's attempts after the first round */
	uint32_t max_fds;
	uint32_t most_held;   /* the most fds_open + attempts_inflight seen */
	uint64_t connected;
	int bad_fd;           /* a CONNECTED event without a usable fd */
};

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)r;
	struct matrix *m = user;
	if (ev->type == REDIAL_EV_CONNECTED) {
		m->connected++;
		if (ev->fd < 0)
			m->bad_fd++;
	}
}

/* Samples the budget and reads every endpoint's attempts; true when each has made at least
 * `more` since base (base NULL: since it was added). */
static bool every_endpoint_went(struct matrix *m, const uint64_t *base, uint64_t more)
{
	struct redial_stats s = tu_stats(m->r);
	uint32_t held = s.fds_open + s.attempts_inflight;
	if (held > m->most_held)
		m->most_held = held;
	for (size_t i = 0; i < N_EP; i++) {
		struct redial_endpoint_stats es = tu_ep_stats(m->r, m->ids[i]);
		if (es.attempts + es.local_errors < (base ? base[i] : 0) + more)
			return false;
	}
	return true;
}

static struct matrix *pred_m;
static bool first_round(redial_t *r, void *arg)
{
	(void)r;
	(void)arg;
	return every_endpoint_went(pred_m, NULL, 1);
}
static bool more_rounds(redial_t *r, void *arg)
{
	(void)r;
	(void)arg;
	return every_endpoint_went(pred_m, pred_m->base, ROUNDS);
}

static bool drive(struct tu_loop *l, const struct row *row, tu_pred pred)
{
	if (row->driver == DRIVE_EPOLL)
		return tu_loop_until(l, pred, NULL, ROW_BOUND_NS);
	return tu_run_until(l->r, pred, NULL, ROW_BOUND_NS);
}

static void run_row(const struct row *row)
{
	bool netns = enter_netns();
	if (!netns && row->peer == PEER_DROP)
		cr_skip_test("no network namespace for the iptables rule (not root?)");
	struct farm *farm;
	uint16_t port = start_peer(row->peer, &farm);
	int fds_before = tu_count_fds();

	static struct matrix m;
	memset(&m, 0, sizeof(m));
	pred_m = &m;
	m.max_fds = row->budget == BUDGET_BELOW ? N_EP / 2
		    : row->budget == BUDGET_EQUAL ? N_EP
						  : N_EP * 2;
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.on_event = on_event;
	cfg.event_user = &m;
	cfg.seed = 7;
	cfg.max_endpoints = N_EP;
	cfg.max_fds = m.max_fds;
	struct redial_endpoint_opts defs;
	redial_endpoint_opts_init(&defs);
	defs.backoff_jitter = REDIAL_JITTER_FULL;
	defs.backoff_initial_ns = row->backoff == BACKOFF_SHORT ? REDIAL_MSEC(1) : REDIAL_MSEC(120);
	defs.backoff_max_ns = row->backoff == BACKOFF_SHORT ? REDIAL_MSEC(4) : REDIAL_MSEC(240);
	defs.connect_timeout_ns = REDIAL_MSEC(50);
	defs.alert_after = 0;
	cfg.endpoint_defaults = &defs;
	m.r = tu_make(&cfg);

	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	for (size_t i = 0; i < N_EP; i++)
		m.ids[i] = tu_add(m.r, addr, NULL);

	struct tu_loop l;
	tu_loop_open(&l, m.r);
	if (!drive(&l, row, first_round)) {
		struct redial_stats s = tu_stats(m.r);
		cr_assert_fail("%s peer, max_fds %u (%s %u endpoints): not every endpoint made its "
			       "first attempt: %llu attempts, %llu failures, %llu local errors, %u "
			       "queued, %u connecting, %u backoff",
			       peer_names[row->peer], m.max_fds, budget_names[row->budget], N_EP,
			       (unsigned long long)s.attempts, (unsigned long long)s.failures,
			       (unsigned long long)s.local_errors, s.by_state[REDIAL_STATE_QUEUED],
			       s.by_state[REDIAL_STATE_CONNECTING], s.by_state[REDIAL_STATE_BACKOFF]);
	}
	for (size_t i = 0; i < N_EP; i++) {
		struct redial_endpoint_stats es = tu_ep_stats(m.r, m.ids[i]);
		m.base[i] = es.attempts + es.local_errors;
	}
	bool went = drive(&l, row, more_rounds);
	size_t starved = 0;
	uint64_t least = UINT64_MAX;
	for (size_t i = 0; i < N_EP; i++) {
		struct redial_endpoint_stats es = tu_ep_stats(m.r, m.ids[i]);
		uint64_t more = es.attempts + es.local_errors - m.base[i];
		starved += more < ROUNDS;
		if (more < least)
			least = more;
	}
	struct redial_stats s = tu_stats(m.r);
	cr_assert(went,
		  "%s peer, %s backoff, max_fds %u (%s %u endpoints), %s: after the first round, "
		  "%zu endpoints made fewer than %d attempts (the least: %llu); the manager made "
		  "%llu attempts in all, %u fds held, %u kept sockets, by state: %u backoff, "
		  "%u connecting, %u queued",
		  peer_names[row->peer], row->backoff == BACKOFF_SHORT ? "short" : "long",
		  m.max_fds, budget_names[row->budget], N_EP,
		  row->driver == DRIVE_EPOLL ? "epoll on redial_fd" : "redial_run", starved, ROUNDS,
		  (unsigned long long)least, (unsigned long long)s.attempts,
		  s.fds_open + s.attempts_inflight, s.sockets_parked,
		  s.by_state[REDIAL_STATE_BACKOFF], s.by_state[REDIAL_STATE_CONNECTING],
		  s.by_state[REDIAL_STATE_QUEUED]);
	cr_expect_leq(m.most_held, m.max_fds, "the manager held %u fds and slots, over max_fds %u",
		      m.most_held, m.max_fds);
	cr_expect_eq(m.bad_fd, 0, "%d CONNECTED events without an fd", m.bad_fd);
	if (row->peer == PEER_ACCEPT_DROP)
		cr_expect_gt(m.connected, 0, "the accepting peer was never reached");
	else
		cr_expect_eq(m.connected, 0, "%llu connections to a %s peer",
			     (unsigned long long)m.connected, peer_names[row->peer]);
	cr_expect_eq(s.local_errors, 0, "%llu local errors (the budget should keep them away)",
		     (unsigned long long)s.local_errors);
	tu_loop_close(&l);
	tu_finish_within(m.r, fds_before, REDIAL_SEC(20));
	farm_stop(farm);
}

static struct row rows[3 * 3 * 2 * 2];

ParameterizedTestParameters(budget, every_endpoint_keeps_retrying_whatever_the_budget)
{
	size_t n = 0;
	for (int p = 0; p < 3; p++)
		for (int b = 0; b < 3; b++)
			for (int k = 0; k < 2; k++)
				for (int d = 0; d < 2; d++)
					rows[n++] = (struct row){ p, b, k, d };
	return cr_make_param_array(struct row, rows, n);
}

ParameterizedTest(struct row *row, budget, every_endpoint_keeps_retrying_whatever_the_budget)
{
	run_row(row);
}

/* The smallest shapes the stall was reported with: 10 endpoints on 5 fds and 100 on 100,
 * refused, 1-4 ms backoff. Attempts keep coming, round after round. */
static void small_budget(size_t n_ep, uint32_t max_fds)
{
	struct farm *farm;
	uint16_t port = start_peer(PEER_REFUSE, &farm);
	int fds_before = tu_count_fds();
	struct tu_recorder rec;
	tu_recorder_init(&rec);
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	tu_fast_retry(&rec.defs);
	cfg.max_fds = max_fds;
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.backoff_max_ns = REDIAL_MSEC(4);
	rec.defs.alert_after = 0;
	redial_t *r = tu_make(&cfg);
	redial_id_t ids[100];
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	for (size_t i = 0; i < n_ep; i++)
		ids[i] = tu_add(r, addr, NULL);
	uint64_t last = 0;
	for (int round = 0; round < 20; round++) {
		/* Each round: the count grows by at least one attempt per endpoint. */
		uint64_t want = last + n_ep;
		for (uint64_t t0 = redial_now_ns(); tu_stats(r).attempts < want;) {
			cr_assert_lt(redial_now_ns() - t0, REDIAL_SEC(30),
				     "%zu endpoints on %u fds: stuck at %llu attempts in round %d",
				     n_ep, max_fds, (unsigned long long)tu_stats(r).attempts,
				     round);
			cr_assert_geq(redial_run(r, REDIAL_MSEC(10)), 0);
		}
		last = tu_stats(r).attempts;
	}
	for (size_t i = 0; i < n_ep; i++)
		cr_expect_geq(tu_ep_stats(r, ids[i]).attempts, 2, "endpoint %zu starved", i);
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
	tu_recorder_free(&rec);
	farm_stop(farm);
}

Test(budget, ten_endpoints_on_five_fds_keep_retrying)
{
	small_budget(10, 5);
}

Test(budget, a_hundred_endpoints_on_a_hundred_fds_keep_retrying)
{
	small_budget(100, 100);
}
