/* test_embed_deadline.c — an attempt arms no kernel timer of its own: its backoff wait ends
 * on the loop's tick, and its connect deadline sits on the attempts' timer wheel, so only an
 * attempt whose deadline passes costs a kernel operation (an ASYNC_CANCEL of its connect).
 *
 * Seen from the application: refused attempts cause no kernel cancel and fewer SQEs than a
 * chain with a TIMEOUT head and a LINK_TIMEOUT would need, and, where the kernel has
 * CQE_SKIP_SUCCESS, a kept socket's disconnect posts no CQE; blackholed attempts all fail
 * with ETIMEDOUT, never before their deadline, each after one cancel at least. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "farm.h"
#include "testutil.h"

#define N_REFUSED 500
#define N_BLACKHOLED 200
#define DEADLINE_MS 50

static struct tu_recorder rec;

static void setup(void)
{
	tu_recorder_init(&rec);
}

static void teardown(void)
{
	tu_recorder_free(&rec);
}

TestSuite(deadline, .init = setup, .fini = teardown, .timeout = 240);

struct want_attempts {
	uint64_t n;
};

static bool made_attempts(redial_t *r, void *arg)
{
	return tu_stats(r).attempts >= ((struct want_attempts *)arg)->n;
}

/* A storm: n endpoints to one farm target of the given kind, retried after a fixed 1 ms,
 * with the given connect deadline; ids (may be NULL) gets their ids. */
static redial_t *start_storm(enum farm_kind kind, unsigned n, uint64_t deadline_ns,
			     redial_id_t *ids, struct farm **ret_farm, int *ret_fds0)
{
	struct farm_target_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.kind = kind;
	*ret_farm = tu_farm_start(&spec, 1);
	*ret_fds0 = tu_count_fds();
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.backoff_max_ns = REDIAL_MSEC(1);
	rec.defs.connect_timeout_ns = deadline_ns;
	rec.defs.alert_after = 0;
	redial_t *r = tu_make(&cfg);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", farm_port(*ret_farm, 0));
	for (unsigned i = 0; i < n; i++) {
		redial_id_t id = tu_add(r, addr, NULL);
		if (ids)
			ids[i] = id;
	}
	return r;
}

Test(deadline, refused_attempts_need_no_kernel_timer_and_no_cancel)
{
	struct farm *farm;
	int fds0;
	redial_t *r = start_storm(FARM_REFUSE, N_REFUSED, REDIAL_SEC(2), NULL, &farm, &fds0);
	/* Past the first round, so that every endpoint is in its steady cycle. */
	struct want_attempts w = { 2 * N_REFUSED };
	cr_assert(tu_run_until(r, made_attempts, &w, REDIAL_SEC(60)), "no second round");
	struct redial_stats s0 = tu_stats(r);
	w.n = s0.attempts + 20 * N_REFUSED;
	cr_assert(tu_run_until(r, made_attempts, &w, REDIAL_SEC(120)),
		  "%llu attempts in 120 s", (unsigned long long)tu_stats(r).attempts);
	struct redial_stats s1 = tu_stats(r);
	uint64_t attempts = s1.attempts - s0.attempts;
	double sqes = (double)(s1.sqes - s0.sqes) / (double)attempts;
	cr_expect_eq(s1.failures - s0.failures, attempts, "every attempt was refused");
	cr_expect_eq(s1.kernel_cancels, 0,
		     "%llu kernel cancels: a refused attempt's deadline never needs one",
		     (unsigned long long)s1.kernel_cancels);
	/* A chain with a kept socket is 5 SQEs (disconnect, connect, the SO_ERROR read, the
	 * install, the close); one with a new socket 5 too, and the close of the slot it
	 * leaves makes 6. A TIMEOUT head and a LINK_TIMEOUT would make 7 or more. */
	cr_expect_leq(sqes, 6.0, "%.2f SQEs per refused attempt", sqes);
	/* A kept socket's disconnect and a failed chain's close post no CQE when they
	 * succeed, where the kernel allows it. An SQE that posts nothing is one submitted,
	 * not in flight and never reaped: */
	uint64_t silent = (s1.sqes - s0.sqes) - (s1.cqes - s0.cqes) -
			  (s1.inflight_ops - s0.inflight_ops);
	uint64_t reused = s1.sockets_reused - s0.sockets_reused;
	cr_expect_gt(reused, 0, "no kept socket was used again");
	if (tu_kernel_cqe_skip())
		cr_expect_geq(silent, reused, "%llu SQEs posted nothing, for %llu reused sockets",
			      (unsigned long long)silent, (unsigned long long)reused);
	else
		cr_expect_eq(silent, 0, "%llu SQEs posted nothing without CQE_SKIP_SUCCESS",
			     (unsigned long long)silent);
	tu_finish(r, fds0);
	farm_stop(farm);
}

struct deadline_state {
	size_t want;
};

static bool every_endpoint_timed_out_twice(redial_t *r, void *arg)
{
	(void)r;
	return tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0) >= ((struct deadline_state *)arg)->want;
}

Test(deadline, blackholed_attempts_time_out_at_their_deadline_never_before)
{
	struct farm *farm;
	int fds0;
	redial_id_t ids[N_BLACKHOLED];
	redial_t *r = start_storm(FARM_BLACKHOLE, N_BLACKHOLED, REDIAL_MSEC(DEADLINE_MS), ids,
				 &farm, &fds0);
	struct tu_loop l;
	tu_loop_open(&l, r);
	struct deadline_state st = { 3 * N_BLACKHOLED };
	cr_assert(tu_loop_until(&l, every_endpoint_timed_out_twice, &st, REDIAL_SEC(120)),
		  "%zu failures in 120 s", tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0));
	size_t n = tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0);
	size_t wrong = 0, early = 0;
	uint64_t shortest = UINT64_MAX;
	for (size_t k = 0; k < n; k++) {
		struct tu_event ev;
		cr_assert(tu_nth_copy(&rec, REDIAL_EV_ATTEMPT_FAILED, 0, k, &ev));
		wrong += ev.err != ETIMEDOUT;
		early += ev.duration_ns < REDIAL_MSEC(DEADLINE_MS);
		if (ev.duration_ns < shortest)
			shortest = ev.duration_ns;
	}
	cr_expect_eq(wrong, 0, "%zu of %zu failures were not ETIMEDOUT", wrong, n);
	cr_expect_eq(early, 0, "%zu of %zu attempts ended before their %d ms deadline (shortest "
		     "%llu us)", early, n, DEADLINE_MS, (unsigned long long)(shortest / 1000));
	struct redial_stats s = tu_stats(r);
	cr_expect_geq(s.kernel_cancels, s.failures,
		      "%llu kernel cancels for %llu timed-out attempts",
		      (unsigned long long)s.kernel_cancels, (unsigned long long)s.failures);
	for (unsigned i = 0; i < N_BLACKHOLED; i++)
		cr_expect_geq(tu_ep_stats(r, ids[i]).failures, 1, "endpoint %u never timed out", i);
	tu_loop_close(&l);
	tu_finish(r, fds0);
	farm_stop(farm);
}
