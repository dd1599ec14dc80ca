/* test_embed_fdbudget.c — the fd budget (redial_config.max_fds): under a low RLIMIT_NOFILE
 * (200, set in the test's own process, which Criterion forks for each test) and with an
 * explicit max_fds of 50, 1,000 endpoints to an accepting target. The manager never meets
 * EMFILE, the endpoints beyond the budget wait as QUEUED (not CONNECTING), fds_open never
 * exceeds the budget, and the farm accepted exactly as many connections as the manager
 * reports (no handshake completed and thrown away). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil.h"
#include "farm.h"

#define N_EP 1000

static struct farm *farm;

static void setup(void)
{
	struct farm_target_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.kind = FARM_ACCEPT;
	/* Started before the limit drops: the farm's child keeps the full limit. */
	farm = tu_farm_start(&spec, 1);
}

static void teardown(void)
{
	farm_stop(farm);
	farm = NULL;
}

TestSuite(embed, .init = setup, .fini = teardown, .timeout = 180);

struct budget {
	redial_t *r;
	uint32_t max_fds_open; /* the most fds_open seen, in callbacks and between runs */
	int max_proc_fds;      /* the most descriptors the process had, between runs */
	size_t emfile;         /* ATTEMPT_FAILED with EMFILE or ENFILE */
	size_t proc_emfile;    /* times the test itself could not open a descriptor */
	size_t failed, connected;
	int first_err;
};

static struct budget b;

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)user;
	if (ev->type == REDIAL_EV_ATTEMPT_FAILED) {
		b.failed++;
		if (!b.first_err)
			b.first_err = ev->err;
		if (ev->err == EMFILE || ev->err == ENFILE)
			b.emfile++;
	} else if (ev->type == REDIAL_EV_CONNECTED) {
		b.connected++;
	}
	struct redial_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	if (redial_stats_get(r, &s) == 0 && s.fds_open > b.max_fds_open)
		b.max_fds_open = s.fds_open;
}

struct settled_arg {
	redial_t *r;
	uint32_t min_connected;
};

static bool settled(redial_t *r, void *arg)
{
	(void)r;
	struct settled_arg *a = arg;
	struct redial_stats s = tu_stats(a->r);
	if (s.fds_open > b.max_fds_open)
		b.max_fds_open = s.fds_open;
	int fds = tu_try_count_fds();
	if (fds == -EMFILE)
		b.proc_emfile++;
	if (fds > b.max_proc_fds)
		b.max_proc_fds = fds;
	uint32_t c = s.by_state[REDIAL_STATE_CONNECTED], q = s.by_state[REDIAL_STATE_QUEUED];
	return c >= a->min_connected && c + q == N_EP && s.by_state[REDIAL_STATE_CONNECTING] == 0;
}

static void budget_run(uint32_t max_fds, uint32_t expect_budget, int fds_at_create,
		       int fds_before)
{
	memset(&b, 0, sizeof(b));
	struct redial_endpoint_opts defs;
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.on_event = on_event;
	cfg.seed = 5;
	cfg.max_endpoints = 2048;
	cfg.max_fds = max_fds;
	redial_endpoint_opts_init(&defs);
	defs.backoff_jitter = REDIAL_JITTER_NONE;
	defs.backoff_initial_ns = REDIAL_MSEC(20);
	defs.backoff_max_ns = REDIAL_MSEC(200);
	cfg.endpoint_defaults = &defs;
	redial_t *r = tu_make(&cfg);
	b.r = r;
	int fds_created = tu_count_fds();
	static redial_id_t ids[N_EP];
	for (unsigned i = 0; i < N_EP; i++) {
		char a[64];
		tu_addr(a, sizeof(a), 60, i, farm_port(farm, 0));
		ids[i] = tu_add(r, a, NULL);
	}
	/* Settled: every endpoint CONNECTED or QUEUED, none CONNECTING, the budget used. */
	uint32_t want = expect_budget > 8 ? expect_budget - 8 : 1;
	struct settled_arg sa = { r, want };
	bool ok = tu_run_until(r, settled, &sa, REDIAL_SEC(30));
	struct redial_stats s = tu_stats(r);
	uint32_t conn = s.by_state[REDIAL_STATE_CONNECTED], q = s.by_state[REDIAL_STATE_QUEUED];
	fprintf(stderr,
		"embed: fd budget max_fds=%u rlimit_budget=%u: connected=%u queued=%u connecting=%u "
		"backoff=%u max_fds_open=%u process_fds=%d (at create %d, after %d) emfile=%zu "
		"app_emfile=%zu\n",
		max_fds, expect_budget, conn, q, s.by_state[REDIAL_STATE_CONNECTING],
		s.by_state[REDIAL_STATE_BACKOFF], b.max_fds_open, b.max_proc_fds, fds_at_create,
		fds_created, b.emfile, b.proc_emfile);
	cr_expect(ok, "not settled in 30 s: %u CONNECTED, %u QUEUED, %u CONNECTING, %u BACKOFF of "
		  "%d (budget %u)", conn, q, s.by_state[REDIAL_STATE_CONNECTING],
		  s.by_state[REDIAL_STATE_BACKOFF], N_EP, expect_budget);
	cr_expect_eq(b.emfile, 0, "%zu attempts failed with EMFILE/ENFILE", b.emfile);
	cr_expect_eq(b.proc_emfile, 0, "the manager left the process without a free descriptor "
		     "(EMFILE in the application %zu times)", b.proc_emfile);
	cr_expect_eq(b.failed, 0, "%zu attempts failed (first: %s)", b.failed,
		     b.first_err ? strerror(b.first_err) : "");
	cr_expect_eq(s.local_errors, 0, "%llu local errors", (unsigned long long)s.local_errors);
	cr_expect_leq(b.max_fds_open, expect_budget, "fds_open reached %u, the budget is %u",
		      b.max_fds_open, expect_budget);
	cr_expect_leq(conn, expect_budget);
	cr_expect_geq(conn, want, "only %u connections under a budget of %u", conn, expect_budget);
	cr_expect_eq(conn + q, N_EP, "%u CONNECTED + %u QUEUED of %d endpoints", conn, q, N_EP);
	cr_expect_eq(s.by_state[REDIAL_STATE_CONNECTING], 0,
		     "%u endpoints CONNECTING beyond the budget (they should be QUEUED)",
		     s.by_state[REDIAL_STATE_CONNECTING]);
	if (max_fds)
		cr_expect_leq(b.max_proc_fds - fds_created, (int)max_fds,
			      "the process held %d fds more than right after create, max_fds is %u",
			      b.max_proc_fds - fds_created, max_fds);
	/* A QUEUED endpoint has not attempted: nothing was completed and thrown away. */
	size_t queued_attempted = 0;
	for (unsigned i = 0; i < N_EP; i++) {
		struct redial_endpoint_stats es = tu_ep_stats(r, ids[i]);
		if (es.state == REDIAL_STATE_QUEUED && es.attempts)
			queued_attempted++;
	}
	cr_expect_eq(queued_attempted, 0, "%zu QUEUED endpoints have made attempts",
		     queued_attempted);
	cr_expect_eq(s.attempts, s.connects, "%llu attempts, %llu connects",
		     (unsigned long long)s.attempts, (unsigned long long)s.connects);

	/* The farm accepted exactly the manager's connections, and none was closed. */
	struct farm_counters c = { 0 };
	uint64_t end = redial_now_ns() + REDIAL_SEC(10);
	while (redial_now_ns() < end) {
		cr_assert_geq(redial_run(r, REDIAL_MSEC(10)), 0);
		if (farm_counters(farm, 0, &c) == 0 && c.accepted >= s.connects)
			break;
	}
	for (int i = 0; i < 10; i++) /* pacing: let late accepts show up if there are any */
		cr_assert_geq(redial_run(r, REDIAL_MSEC(10)), 0);
	s = tu_stats(r);
	cr_assert_eq(farm_counters(farm, 0, &c), 0);
	cr_expect_eq(c.accepted, s.connects, "the farm accepted %llu connections, the manager "
		     "reports %llu connects", (unsigned long long)c.accepted,
		     (unsigned long long)s.connects);
	cr_expect_eq(c.peer_closed, 0, "%llu accepted connections were closed by the client",
		     (unsigned long long)c.peer_closed);
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

Test(embed, under_a_200_fd_limit_1000_endpoints_queue_instead_of_meeting_emfile)
{
	struct rlimit rl = { 200, 200 };
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
	int fds_before = tu_count_fds();
	/* "half of the descriptors RLIMIT_NOFILE still leaves free when the manager is
	 * created" */
	uint32_t budget = (uint32_t)(200 - fds_before) / 2;
	budget_run(0, budget, fds_before, fds_before);
}

Test(embed, an_explicit_max_fds_of_50_holds_at_most_50_fds)
{
	int fds_before = tu_count_fds();
	budget_run(50, 50, fds_before, fds_before);
}
