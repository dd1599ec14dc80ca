/* test_embed_scale.c — 5,000 endpoints driven the way a load balancer drives the manager:
 * only epoll_wait on redial_fd() (redial_timeout_ms() as the timeout) and redial_poll() when
 * that fd is readable; then the same without DEFER_TASKRUN, and with redial_run for
 * comparison. A third of the endpoints reach accepting targets, a third refusing ones, a
 * third blackholed ones, each on its own 127.x.y.z address. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil.h"
#include "farm.h"

#define N_EP 5000
#define N_ACCEPT_T 4
#define N_REFUSE_T 4
#define N_BLACK_T 2
#define WINDOW_NS REDIAL_SEC(4)
#define DEADLINE_NS REDIAL_SEC(30)
#define BACKOFF_INITIAL REDIAL_MSEC(50)
#define BACKOFF_MAX REDIAL_MSEC(200)
#define BLACK_TIMEOUT REDIAL_MSEC(300)
#define SLACK_NS REDIAL_MSEC(2) /* timer granularity allowed per wait */

enum kind { K_ACCEPT = 0, K_REFUSE = 1, K_BLACK = 2 };

struct tally {
	uint32_t connects, refusals, timeouts, other, cancels;
	int other_err;
	uint64_t min_timeout_ns;
	uint32_t policy_mismatch; /* ATTEMPT_FAILED whose backoff_ns is not the policy's */
};

static struct farm *farm;
static struct tally tally[N_EP];
static redial_id_t ids[N_EP];
static struct redial_backoff policy;
static uint64_t total_events, bad_user;

static enum kind kind_of(size_t i)
{
	return (enum kind)(i % 3);
}

static void setup(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct farm_target_spec specs[N_ACCEPT_T + N_REFUSE_T + N_BLACK_T];
	memset(specs, 0, sizeof(specs));
	size_t k = 0;
	for (int i = 0; i < N_ACCEPT_T; i++)
		specs[k++].kind = FARM_ACCEPT;
	for (int i = 0; i < N_REFUSE_T; i++)
		specs[k++].kind = FARM_REFUSE;
	for (int i = 0; i < N_BLACK_T; i++)
		specs[k++].kind = FARM_BLACKHOLE;
	farm = tu_farm_start(specs, k);
	memset(tally, 0, sizeof(tally));
	memset(ids, 0, sizeof(ids));
	total_events = bad_user = 0;
	redial_backoff_init(&policy);
	policy.initial_ns = BACKOFF_INITIAL;
	policy.max_ns = BACKOFF_MAX;
	policy.multiplier = 2.0;
	policy.jitter = REDIAL_JITTER_NONE;
	policy.max_attempts = 0;
	policy.max_elapsed_ns = 0;
}

static void teardown(void)
{
	farm_stop(farm);
	farm = NULL;
}

static uint16_t port_of(size_t i)
{
	size_t j = i / 3;
	switch (kind_of(i)) {
	case K_ACCEPT:
		return farm_port(farm, j % N_ACCEPT_T);
	case K_REFUSE:
		return farm_port(farm, N_ACCEPT_T + j % N_REFUSE_T);
	default:
		return farm_port(farm, N_ACCEPT_T + N_REFUSE_T + j % N_BLACK_T);
	}
}

static uint64_t policy_delay(uint32_t failures)
{
	struct redial_rng rng;
	redial_rng_seed(&rng, 1);
	uint64_t prev = 0;
	for (uint32_t k = 1; k <= failures; k++)
		prev = redial_backoff_delay(&policy, k, prev, &rng);
	return prev;
}

/* The most attempts one endpoint can have started within elapsed_ns when each failed
 * attempt lasts at least min_attempt_ns and is followed by the policy's wait. */
static uint64_t max_attempts(uint64_t elapsed_ns, uint64_t min_attempt_ns)
{
	uint64_t n = 1, acc = 0;
	for (uint32_t k = 1; k < 100000; k++) {
		uint64_t d = policy_delay(k);
		acc += min_attempt_ns + (d > SLACK_NS ? d - SLACK_NS : 0);
		if (acc > elapsed_ns)
			break;
		n++;
	}
	return n;
}

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)r;
	(void)user;
	total_events++;
	uintptr_t u = (uintptr_t)ev->user;
	if (u < 1 || u > N_EP) {
		bad_user++;
		return;
	}
	struct tally *t = &tally[u - 1];
	switch (ev->type) {
	case REDIAL_EV_CONNECTED:
		t->connects++;
		break;
	case REDIAL_EV_ATTEMPT_FAILED:
		if (ev->err == ECONNREFUSED) {
			t->refusals++;
		} else if (ev->err == ETIMEDOUT) {
			if (!t->timeouts || ev->duration_ns < t->min_timeout_ns)
				t->min_timeout_ns = ev->duration_ns;
			t->timeouts++;
		} else {
			t->other++;
			t->other_err = ev->err;
		}
		if (ev->attempt >= 1 && ev->backoff_ns != policy_delay(ev->attempt))
			t->policy_mismatch++;
		break;
	case REDIAL_EV_CANCELLED:
		t->cancels++;
		break;
	default:
		break;
	}
}

static bool all_done(void)
{
	for (size_t i = 0; i < N_EP; i++) {
		const struct tally *t = &tally[i];
		switch (kind_of(i)) {
		case K_ACCEPT:
			if (!t->connects)
				return false;
			break;
		case K_REFUSE:
			if (t->refusals < 2)
				return false;
			break;
		case K_BLACK:
			if (!t->timeouts)
				return false;
			break;
		}
	}
	return true;
}

enum mode { M_EPOLL, M_EPOLL_NODEFER, M_RUN };
static const char *mode_name[] = { "epoll", "epoll-nodefer", "run" };

static void scale(enum mode mode)
{
	int fds_before = tu_count_fds();
	struct redial_endpoint_opts defs, black;
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.on_event = on_event;
	cfg.seed = 7;
	cfg.max_endpoints = 8192;
	if (mode == M_EPOLL_NODEFER)
		cfg.flags |= REDIAL_CFG_NO_DEFER_TASKRUN;
	redial_endpoint_opts_init(&defs);
	defs.backoff_initial_ns = BACKOFF_INITIAL;
	defs.backoff_max_ns = BACKOFF_MAX;
	defs.backoff_multiplier = 2.0;
	defs.backoff_jitter = REDIAL_JITTER_NONE;
	defs.backoff_max_attempts = 0;
	defs.backoff_max_elapsed_ns = 0;
	black = defs;
	black.connect_timeout_ns = BLACK_TIMEOUT;
	cfg.endpoint_defaults = &defs;
	redial_t *r = tu_make(&cfg);

	/* The application's loop is set up first, as a load balancer does at start. */
	int ep = -1, rfd = -1;
	if (mode != M_RUN) {
		rfd = redial_fd(r);
		cr_assert_geq(rfd, 0, "redial_fd: %s", strerror(-rfd));
		ep = epoll_create1(EPOLL_CLOEXEC);
		cr_assert_geq(ep, 0);
		struct epoll_event e = { .events = EPOLLIN, .data.fd = rfd };
		cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &e), 0);
	}

	uint64_t t0 = redial_now_ns();
	for (size_t i = 0; i < N_EP; i++) {
		char a[64];
		tu_addr(a, sizeof(a), 10 + kind_of(i), (unsigned)(i / 3), port_of(i));
		struct redial_endpoint_opts o = kind_of(i) == K_BLACK ? black : defs;
		o.user = (void *)(uintptr_t)(i + 1);
		ids[i] = tu_add(r, a, &o);
	}

	uint64_t wakeups = 0, zero_not_ready = 0, lib_timeouts = 0, polls_total = 0;
	uint64_t last_check = 0;
	bool done = false;
	for (;;) {
		uint64_t t = redial_now_ns();
		if (t - t0 >= WINDOW_NS) {
			if (t - last_check >= REDIAL_MSEC(50)) {
				last_check = t;
				done = all_done();
			}
			if (done || t - t0 >= DEADLINE_NS)
				break;
		}
		/* Wake at least every 100 ms to look at the clock; the library may ask for less. */
		uint64_t left = t - t0 < WINDOW_NS ? WINDOW_NS - (t - t0) : REDIAL_MSEC(100);
		int cap_ms = (int)(left / 1000000) + 1;
		if (cap_ms > 100)
			cap_ms = 100;
		if (mode == M_RUN) {
			int ret = redial_run(r, (uint64_t)cap_ms * 1000000ull);
			cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
			wakeups++;
			continue;
		}
		int to = redial_timeout_ms(r);
		cr_assert_geq(to, -1, "redial_timeout_ms returned %d", to);
		int wait = to < 0 || to > cap_ms ? cap_ms : to;
		struct epoll_event evs[4];
		int n;
		do
			n = epoll_wait(ep, evs, 4, wait);
		while (n < 0 && errno == EINTR);
		cr_assert_geq(n, 0, "epoll_wait: %s", strerror(errno));
		bool readable = false;
		for (int i = 0; i < n; i++)
			readable |= evs[i].data.fd == rfd;
		if (readable) {
			wakeups++;
		} else if (to == 0) {
			/* "0 when redial_poll should run at once": then it has something to do,
			 * and redial_fd should have said so. Poll anyway, as the header asks. */
			zero_not_ready++;
		} else {
			if (to > 0 && to <= cap_ms)
				lib_timeouts++;
			continue;
		}
		int ret = redial_poll(r);
		polls_total++;
		cr_assert_geq(ret, 0, "redial_poll: %s", strerror(-ret));
	}
	uint64_t t_end = redial_now_ns();
	uint64_t elapsed = t_end - t0;
	struct redial_stats s = tu_stats(r);

	uint64_t refusals = 0, timeouts = 0;
	for (size_t i = 0; i < N_EP; i++) {
		refusals += tally[i].refusals;
		timeouts += tally[i].timeouts;
	}
	fprintf(stderr,
		"embed: mode=%s endpoints=%d connects=%" PRIu64 " refusals=%" PRIu64
		" timeouts=%" PRIu64 " wakeups=%" PRIu64 " elapsed_ms=%" PRIu64 " attempts=%" PRIu64
		" submits=%" PRIu64 " cqes=%" PRIu64 " polls=%" PRIu64 " zero_timeout_not_readable=%" PRIu64
		" lib_timeouts=%" PRIu64 "\n",
		mode_name[mode], N_EP, s.connects, refusals, timeouts, wakeups, elapsed / 1000000,
		s.attempts, s.submits, s.cqes, polls_total, zero_not_ready, lib_timeouts);

	/* The stall this test guards against: no attempt at all, one wake-up. */
	cr_expect_gt(s.attempts, 0, "mode %s: no connect attempt in %" PRIu64 " ms (%" PRIu64
		     " wake-ups)", mode_name[mode], elapsed / 1000000, wakeups);
	cr_expect_eq(bad_user, 0, "%" PRIu64 " events with an unknown user pointer", bad_user);
	cr_expect_eq(zero_not_ready, 0,
		     "redial_timeout_ms() said 0 (poll at once) %" PRIu64
		     " times while redial_fd was not readable",
		     zero_not_ready);

	/* Per endpoint. */
	uint64_t max_refuse = max_attempts(elapsed, 0);
	uint64_t max_black = max_attempts(elapsed, BLACK_TIMEOUT);
	size_t not_conn = 0, few_ref = 0, many_ref = 0, no_to = 0, short_to = 0, other = 0,
	       mism = 0, many_black = 0;
	size_t first_not_conn = 0, first_few = 0, first_many = 0, first_no_to = 0, first_short = 0,
	       first_other = 0, first_mism = 0, first_many_black = 0;
	uint64_t worst_attempts = 0, worst_black = 0;
	enum redial_state not_conn_state = REDIAL_STATE_IDLE;
	for (size_t i = 0; i < N_EP; i++) {
		const struct tally *t = &tally[i];
		struct redial_endpoint_stats es = tu_ep_stats(r, ids[i]);
		if (t->policy_mismatch && !mism++)
			first_mism = i;
		switch (kind_of(i)) {
		case K_ACCEPT:
			if (es.state != REDIAL_STATE_CONNECTED && !not_conn++) {
				first_not_conn = i;
				not_conn_state = es.state;
			}
			break;
		case K_REFUSE:
			if (t->refusals < 2 && !few_ref++)
				first_few = i;
			if (es.attempts > max_refuse && !many_ref++)
				first_many = i;
			if (es.attempts > worst_attempts)
				worst_attempts = es.attempts;
			if (t->other && !other++)
				first_other = i;
			break;
		case K_BLACK:
			if (!t->timeouts && !no_to++)
				first_no_to = i;
			if (t->timeouts && t->min_timeout_ns < BLACK_TIMEOUT && !short_to++)
				first_short = i;
			if (t->other && !other++)
				first_other = i;
			if (es.attempts > max_black && !many_black++)
				first_many_black = i;
			if (es.attempts > worst_black)
				worst_black = es.attempts;
			break;
		}
	}
	cr_expect_eq(not_conn, 0, "mode %s: %zu accepting endpoints are not CONNECTED (first: #%zu, %s)",
		     mode_name[mode], not_conn, first_not_conn, redial_state_name(not_conn_state));
	cr_expect_eq(few_ref, 0,
		     "mode %s: %zu refusing endpoints failed fewer than 2 times in %" PRIu64
		     " ms (first: #%zu, %u refusals)",
		     mode_name[mode], few_ref, elapsed / 1000000, first_few, tally[first_few].refusals);
	cr_expect_eq(many_ref, 0,
		     "mode %s: %zu refusing endpoints made more attempts than the policy allows in %" PRIu64
		     " ms (at most %" PRIu64 "; worst %" PRIu64 ", first: #%zu)",
		     mode_name[mode], many_ref, elapsed / 1000000, max_refuse, worst_attempts, first_many);
	cr_expect_eq(no_to, 0, "mode %s: %zu blackholed endpoints never reported ETIMEDOUT (first: #%zu)",
		     mode_name[mode], no_to, first_no_to);
	cr_expect_eq(short_to, 0,
		     "mode %s: %zu blackholed endpoints timed out before the %d ms deadline (first: #%zu "
		     "after %" PRIu64 " us)",
		     mode_name[mode], short_to, (int)(BLACK_TIMEOUT / 1000000), first_short,
		     tally[first_short].min_timeout_ns / 1000);
	cr_expect_eq(many_black, 0,
		     "mode %s: %zu blackholed endpoints made more attempts than timeout + backoff allow "
		     "(at most %" PRIu64 "; worst %" PRIu64 ", first: #%zu)",
		     mode_name[mode], many_black, max_black, worst_black, first_many_black);
	cr_expect_eq(other, 0, "mode %s: %zu endpoints failed with an unexpected error (first: #%zu: %s)",
		     mode_name[mode], other, first_other, strerror(tally[first_other].other_err));
	cr_expect_eq(mism, 0,
		     "mode %s: %zu endpoints reported a backoff_ns that is not the policy's (first: #%zu)",
		     mode_name[mode], mism, first_mism);
	cr_expect_eq(s.by_state[REDIAL_STATE_CONNECTED], (N_EP + 2) / 3,
		     "mode %s: by_state[CONNECTED] = %u", mode_name[mode],
		     s.by_state[REDIAL_STATE_CONNECTED]);
	cr_expect_eq(s.local_errors, 0, "mode %s: %" PRIu64 " local errors", mode_name[mode],
		     s.local_errors);

	if (ep >= 0)
		close(ep);
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

TestSuite(embed, .init = setup, .fini = teardown, .timeout = 180);

Test(embed, epoll_driven_5000_endpoints)
{
	scale(M_EPOLL);
}

Test(embed, epoll_driven_5000_endpoints_without_defer_taskrun)
{
	scale(M_EPOLL_NODEFER);
}

Test(embed, run_driven_5000_endpoints_for_comparison)
{
	scale(M_RUN);
}
