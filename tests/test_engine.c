/* test_engine.c — the engine against real loopback targets from the farm. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "farm.h"
#include "testutil.h"

enum { T_ACCEPT, T_REFUSE, T_BLACKHOLE, T_DROP_FIN, T_DROP_RST, T_ACCEPT6, T_COUNT };

static struct farm *farm;
static struct tu_recorder rec;
static int fds0;

static void farm_up(void)
{
	struct farm_target_spec specs[T_COUNT] = {
		[T_ACCEPT] = { .kind = FARM_ACCEPT },
		[T_REFUSE] = { .kind = FARM_REFUSE },
		[T_BLACKHOLE] = { .kind = FARM_BLACKHOLE },
		[T_DROP_FIN] = { .kind = FARM_DROP_AFTER, .hold_ms = 100 },
		[T_DROP_RST] = { .kind = FARM_DROP_AFTER, .hold_ms = 100, .rst = true },
		[T_ACCEPT6] = { .kind = FARM_ACCEPT, .family = AF_INET6 },
	};
	farm = tu_farm_start(specs, T_COUNT);
	tu_recorder_init(&rec);
	fds0 = tu_count_fds();
}

static void farm_down(void)
{
	tu_recorder_free(&rec);
	farm_stop(farm);
	farm = NULL;
}

TestSuite(engine, .init = farm_up, .fini = farm_down, .timeout = 120);

/* "127.A.B.C:port" of target t; n picks the address, so endpoints spread over many. */
static const char *addr_of(size_t t, unsigned n)
{
	static char buf[8][64];
	static unsigned k;
	char *b = buf[k++ % 8];
	snprintf(b, 64, "127.%u.%u.%u:%u", 1 + n / 62500, (n / 250) % 250, 1 + n % 250,
		 farm_port(farm, t));
	return b;
}

/* ---- connecting ------------------------------------------------------------------------- */

Test(engine, accepting_endpoints_on_many_loopback_addresses_connect_on_the_first_attempt)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	enum { N = 600 };
	for (unsigned i = 0; i < N; i++)
		tu_add(r, addr_of(T_ACCEPT, i), NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, N, REDIAL_SEC(20));

	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, 0), N);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0), 0);
	for (size_t i = 0; i < N; i++) {
		const struct tu_event *e = tu_nth(&rec, REDIAL_EV_CONNECTED, 0, i);
		cr_assert_eq(e->attempt, 1);
		cr_assert_geq(e->fd, 0);
		/* The fd handed over is a real, non-blocking, close-on-exec socket. */
		cr_assert(fcntl(e->fd, F_GETFD) & FD_CLOEXEC);
		cr_assert(fcntl(e->fd, F_GETFL) & O_NONBLOCK);
	}
	struct redial_stats s = tu_stats(r);
	cr_assert_eq(s.attempts, N);
	cr_assert_eq(s.connects, N);
	cr_assert_eq(s.failures, 0);
	cr_assert_eq(s.fds_open, N);
	cr_assert_eq(tu_count_fds(), fds0 + 2 + N, "ring fd + wake eventfd + N sockets");
	/* Batched: far fewer io_uring_enter calls than SQEs. */
	cr_assert_lt(s.submits * 10, s.sqes, "submits %lu for %lu sqes", (unsigned long)s.submits,
		     (unsigned long)s.sqes);
	tu_finish(r, fds0);
}

Test(engine, ipv6_loopback_endpoint_connects)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	char s[64];
	snprintf(s, sizeof(s), "[::1]:%u", farm_port(farm, T_ACCEPT6));
	redial_id_t id = tu_add(r, s, NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 1, REDIAL_SEC(10));
	const struct tu_event *e = tu_nth(&rec, REDIAL_EV_CONNECTED, id, 0);
	cr_assert_not_null(e);
	struct sockaddr_in6 peer;
	socklen_t len = sizeof(peer);
	cr_assert_eq(getpeername(e->fd, (struct sockaddr *)&peer, &len), 0);
	cr_assert_eq(peer.sin6_family, AF_INET6);
	cr_assert_eq(ntohs(peer.sin6_port), farm_port(farm, T_ACCEPT6));
	tu_finish(r, fds0);
}

/* ---- failing ----------------------------------------------------------------------------- */

Test(engine, refused_endpoint_retries_on_schedule_and_stops_at_max_attempts)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(40);
	rec.defs.backoff_max_attempts = 5;
	rec.defs.alert_after = 3;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_REFUSE, 7), NULL);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 1, REDIAL_SEC(20));

	const uint64_t want_backoff[5] = { REDIAL_MSEC(40), REDIAL_MSEC(80), REDIAL_MSEC(160),
					   REDIAL_MSEC(320), 0 };
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct tu_event *e = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, i);
		cr_assert_eq(e->attempt, i + 1);
		cr_assert_eq(e->err, ECONNREFUSED, "attempt %zu: %s", i + 1,
			     redial_errno_name(e->err));
		cr_assert_eq(e->cls, REDIAL_CLASS_TRANSIENT);
		cr_assert_eq(e->backoff_ns, want_backoff[i]);
		if (i) {
			/* A timer never fires early; late is bounded generously for a loaded box. */
			const struct tu_event *p = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, i - 1);
			uint64_t gap = e->mono_ns - p->mono_ns;
			cr_assert_geq(gap, p->backoff_ns, "gap %lu < backoff %lu", (unsigned long)gap,
				      (unsigned long)p->backoff_ns);
			cr_assert_lt(gap, p->backoff_ns + REDIAL_SEC(5));
		}
	}
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ALERT, id), 1);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_ALERT, id, 0)->attempt, 3);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_GAVE_UP, id), 1);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_GAVE_UP, id, 0)->reason, REDIAL_GAVE_UP_MAX_ATTEMPTS);

	struct redial_endpoint_stats s = tu_ep_stats(r, id);
	cr_assert_eq(s.state, REDIAL_STATE_FAILED);
	cr_assert_eq(s.attempts, 5);
	cr_assert_eq(s.failures, 5);
	cr_assert_eq(s.last_error, ECONNREFUSED);
	cr_assert_eq(s.gave_up, REDIAL_GAVE_UP_MAX_ATTEMPTS);
	struct redial_errno_count ec[4];
	cr_assert_eq(redial_endpoint_errors(r, id, ec, 4), 1);
	cr_assert_eq(ec[0].err, ECONNREFUSED);
	cr_assert_eq(ec[0].count, 5);
	/* Nothing happens once it has given up. */
	size_t before = rec.n;
	tu_run_for(r, REDIAL_MSEC(200));
	cr_assert_eq(rec.n, before);
	tu_finish(r, fds0);
}

Test(engine, blackholed_endpoint_times_out_at_its_deadline_as_ETIMEDOUT)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.connect_timeout_ns = REDIAL_MSEC(300);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(20);
	rec.defs.backoff_max_attempts = 2;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_BLACKHOLE, 3), NULL);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 1, REDIAL_SEC(20));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 2);
	for (size_t i = 0; i < 2; i++) {
		const struct tu_event *e = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, i);
		cr_assert_eq(e->err, ETIMEDOUT, "got %s, not ETIMEDOUT", redial_errno_name(e->err));
		cr_assert_eq(e->cls, REDIAL_CLASS_TRANSIENT);
		cr_assert_geq(e->duration_ns, REDIAL_MSEC(299));
		cr_assert_lt(e->duration_ns, REDIAL_MSEC(300) + REDIAL_SEC(5));
	}
	cr_assert_eq(tu_ep_stats(r, id).gave_up, REDIAL_GAVE_UP_MAX_ATTEMPTS);
	tu_finish(r, fds0);
}

static enum redial_class all_permanent(int err, enum redial_class builtin, void *user)
{
	(void)builtin;
	(*(int *)user)++;
	return err == ECONNREFUSED ? REDIAL_CLASS_PERMANENT : builtin;
}

Test(engine, classification_override_turns_refused_into_a_permanent_stop)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	int calls = 0;
	cfg.classify = all_permanent;
	cfg.classify_user = &calls;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_REFUSE, 1), NULL);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 1, REDIAL_SEC(10));
	cr_assert_eq(calls, 1);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 1);
	const struct tu_event *g = tu_nth(&rec, REDIAL_EV_GAVE_UP, id, 0);
	cr_assert_not_null(g);
	cr_assert_eq(g->reason, REDIAL_GAVE_UP_PERMANENT);
	cr_assert_eq(g->cls, REDIAL_CLASS_PERMANENT);
	tu_finish(r, fds0);
}

Test(engine, max_elapsed_stops_a_streak_that_would_outlast_it)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(100);
	rec.defs.backoff_max_elapsed_ns = REDIAL_MSEC(250);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_REFUSE, 2), NULL);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 1, REDIAL_SEC(10));
	/* 0 ms: fail, wait 100; ~100 ms: fail, the next wait (200) would end past 250 ms. */
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 2);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_GAVE_UP, id, 0)->reason, REDIAL_GAVE_UP_MAX_ELAPSED);
	tu_finish(r, fds0);
}

/* ---- connections that drop ------------------------------------------------------------- */

Test(engine, peer_close_triggers_disconnected_then_a_reconnect)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(20);
	redial_t *r = tu_make(&cfg);
	redial_id_t fin = tu_add(r, addr_of(T_DROP_FIN, 1), NULL);
	redial_id_t rst = tu_add(r, addr_of(T_DROP_RST, 2), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, 0, 4, REDIAL_SEC(20));

	const struct tu_event *d = tu_nth(&rec, REDIAL_EV_DISCONNECTED, fin, 0);
	cr_assert_not_null(d);
	cr_assert_eq(d->err, 0, "an orderly close has no errno, got %s", redial_errno_name(d->err));
	/* The farm closes 100 ms after its accept, but up_ns starts when the loop saw the
	 * connect, which a loaded machine delays by any amount: no lower bound but > 0. */
	cr_assert_gt(d->up_ns, 0);
	d = tu_nth(&rec, REDIAL_EV_DISCONNECTED, rst, 0);
	cr_assert_not_null(d);
	cr_assert_eq(d->err, ECONNRESET, "got %s", redial_errno_name(d->err));
	for (int k = 0; k < 2; k++) {
		redial_id_t id = k ? rst : fin;
		cr_assert_geq(tu_count(&rec, REDIAL_EV_CONNECTED, id), 2);
		/* The reconnect came after the disconnect, and took one attempt. */
		const struct tu_event *c2 = tu_nth(&rec, REDIAL_EV_CONNECTED, id, 1);
		cr_assert_gt(c2->mono_ns, tu_nth(&rec, REDIAL_EV_DISCONNECTED, id, 0)->mono_ns);
		cr_assert_eq(c2->attempt, 1);
		cr_assert_geq(tu_ep_stats(r, id).disconnects, 1);
	}
	tu_finish(r, fds0);
}

Test(engine, connections_that_drop_at_once_back_off_harder_until_one_proves_stable)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(20);
	struct redial_endpoint_opts unstable = rec.defs, stable = rec.defs;
	unstable.stable_after_ns = REDIAL_SEC(30); /* a 100 ms connection is never stable */
	stable.stable_after_ns = REDIAL_MSEC(50);  /* a 100 ms connection is */
	redial_t *r = tu_make(&cfg);
	redial_id_t u = tu_add(r, addr_of(T_DROP_FIN, 1), &unstable);
	redial_id_t s = tu_add(r, addr_of(T_DROP_FIN, 2), &stable);
	tu_run_until_event(r, &rec, REDIAL_EV_DISCONNECTED, 0, 7, REDIAL_SEC(20));
	cr_assert_geq(tu_count(&rec, REDIAL_EV_DISCONNECTED, u), 3);
	cr_assert_geq(tu_count(&rec, REDIAL_EV_DISCONNECTED, s), 3);
	for (size_t i = 0; i < 3; i++) {
		/* Unstable: the wait doubles with each drop (no jitter). Stable: it stays at the
		 * initial delay, because each drop follows a healthy connection. */
		cr_assert_eq(tu_nth(&rec, REDIAL_EV_DISCONNECTED, u, i)->backoff_ns,
			     REDIAL_MSEC(20) << i);
		cr_assert_eq(tu_nth(&rec, REDIAL_EV_DISCONNECTED, s, i)->backoff_ns, REDIAL_MSEC(20));
	}
	tu_finish(r, fds0);
}

Test(engine, application_reported_failure_closes_and_reconnects)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(10);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_ACCEPT, 5), NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 1, REDIAL_SEC(10));
	cr_assert_eq(redial_endpoint_fail(r, id, EPROTO), 0);
	cr_assert_eq(redial_endpoint_fail(r, id, EPROTO), -ENOTCONN);
	const struct tu_event *d = tu_nth(&rec, REDIAL_EV_DISCONNECTED, id, 0);
	cr_assert_null(d, "events are delivered from the loop, not from inside the call");
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, 0, 2, REDIAL_SEC(10));
	d = tu_nth(&rec, REDIAL_EV_DISCONNECTED, id, 0);
	cr_assert_not_null(d);
	cr_assert_eq(d->err, EPROTO);
	cr_assert_eq(tu_count_fds(), fds0 + 3, "ring fd + wake eventfd + the new connection");
	tu_finish(r, fds0);
}

Test(engine, release_hands_the_fd_over_and_reconnect_opens_a_new_one)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t a = tu_add(r, addr_of(T_ACCEPT, 1), NULL);
	redial_id_t b = tu_add(r, addr_of(T_ACCEPT, 2), NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 2, REDIAL_SEC(10));
	int fa = -1, fb = -1;
	cr_assert_eq(redial_endpoint_release(r, a, 0, &fa), 0);
	cr_assert_eq(redial_endpoint_release(r, b, REDIAL_RELEASE_RECONNECT, &fb), 0);
	cr_assert_eq(redial_endpoint_release(r, a, 0, &fa), -ENOTCONN);
	cr_assert_eq(tu_state(r, a), REDIAL_STATE_IDLE);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, 0, 3, REDIAL_SEC(10));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, a), 1, "released without reconnect");
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, b), 2);
	cr_assert_neq(tu_nth(&rec, REDIAL_EV_CONNECTED, b, 1)->fd, -1);
	/* The released fds are ours and still connected. */
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	cr_assert_eq(getpeername(fa, (struct sockaddr *)&peer, &len), 0);
	cr_assert_eq(ntohs(peer.sin_port), farm_port(farm, T_ACCEPT));
	tu_run_for(r, REDIAL_MSEC(100));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_DISCONNECTED, 0), 0);
	close(fa);
	close(fb);
	tu_finish(r, fds0);
}

/* ---- cancellation ------------------------------------------------------------------------ */

/* Cancels id and checks the contract: one CANCELLED event, delivered before cancel returns,
 * and nothing for that endpoint afterwards. `alone`: it is the manager's only active
 * endpoint, so the manager's own counters must drop to zero too. */
static void cancel_and_check(redial_t *r, redial_id_t id, bool alone)
{
	size_t before = rec.n;
	cr_assert_eq(redial_endpoint_cancel(r, id), 0);
	cr_assert_eq(rec.n, before + 1, "exactly one event from inside cancel");
	cr_assert_eq(rec.ev[before].type, REDIAL_EV_CANCELLED);
	cr_assert_eq(rec.ev[before].id, id);
	cr_assert_eq(tu_state(r, id), REDIAL_STATE_CANCELLED);
	cr_assert_eq(redial_endpoint_cancel(r, id), -EALREADY);
	tu_run_for(r, REDIAL_MSEC(300));
	for (size_t i = before + 1; i < rec.n; i++)
		cr_assert_neq(rec.ev[i].id, id, "event %s after cancel",
			      redial_event_name(rec.ev[i].type));
	if (alone) {
		struct redial_stats s = tu_stats(r);
		cr_assert_eq(s.attempts_inflight, 0);
		cr_assert_eq(s.fds_open, 0);
		/* Nothing of the endpoint's; at most the loop's own wake timer and the watch of
		 * its wake-up eventfd. */
		cr_assert_leq(s.inflight_ops, 2, "%lu ops in flight", (unsigned long)s.inflight_ops);
	}
}

Test(engine, cancel_an_idle_endpoint)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	struct redial_endpoint_opts o = rec.defs;
	o.flags = REDIAL_EP_START_IDLE;
	redial_id_t id = tu_add(r, addr_of(T_ACCEPT, 1), &o);
	cr_assert_eq(tu_state(r, id), REDIAL_STATE_IDLE);
	cancel_and_check(r, id, true);
	cr_assert_eq(tu_stats(r).attempts, 0);
	tu_finish(r, fds0);
}

Test(engine, cancel_while_connecting_stops_the_chain_in_the_kernel)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_BLACKHOLE, 1), NULL);
	tu_run_for(r, REDIAL_MSEC(100));
	cr_assert_eq(tu_state(r, id), REDIAL_STATE_CONNECTING);
	cr_assert_eq(tu_stats(r).attempts_inflight, 1);
	cancel_and_check(r, id, true);
	cr_assert_geq(tu_stats(r).kernel_cancels, 1);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 0,
		     "a cancelled connect is not a failure");
	tu_finish(r, fds0);
}

Test(engine, cancel_during_a_short_backoff_held_in_the_kernel_chain)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	/* 400 ms waits, pre-armed a whole second ahead: the wait sits in the chain's TIMEOUT. */
	cfg.prearm_ns = REDIAL_SEC(1);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(400);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_REFUSE, 1), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, 0, 1, REDIAL_SEC(5));
	tu_run_for(r, REDIAL_MSEC(30));
	cr_assert_eq(tu_state(r, id), REDIAL_STATE_BACKOFF);
	cr_assert_eq(tu_stats(r).attempts_inflight, 1, "the next chain waits in the kernel");
	uint64_t kc = tu_stats(r).kernel_cancels;
	cancel_and_check(r, id, true);
	cr_assert_eq(tu_stats(r).kernel_cancels, kc + 1);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id), 1);
	tu_finish(r, fds0);
}

Test(engine, cancel_during_a_long_backoff_is_a_user_space_unlink)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_SEC(5);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_REFUSE, 1), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, 0, 1, REDIAL_SEC(5));
	tu_run_for(r, REDIAL_MSEC(30));
	cr_assert_eq(tu_state(r, id), REDIAL_STATE_BACKOFF);
	cr_assert_eq(tu_stats(r).attempts_inflight, 0, "a 5 s wait stays on the wheel");
	uint64_t kc = tu_stats(r).kernel_cancels;
	cancel_and_check(r, id, true);
	cr_assert_eq(tu_stats(r).kernel_cancels, kc, "no kernel cancel needed");
	tu_finish(r, fds0);
}

Test(engine, cancel_a_connected_endpoint_closes_its_fd)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_ACCEPT, 1), NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 1, REDIAL_SEC(10));
	cr_assert_eq(tu_count_fds(), fds0 + 3, "ring fd + wake eventfd + the connection");
	cancel_and_check(r, id, true);
	cr_assert_eq(tu_count_fds(), fds0 + 2, "ring fd and wake eventfd only");
	tu_finish(r, fds0);
}

Test(engine, cancel_is_refused_for_failed_endpoints_and_start_revives_them)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_max_attempts = 1;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_REFUSE, 1), NULL);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 1, REDIAL_SEC(5));
	cr_assert_eq(redial_endpoint_cancel(r, id), -EALREADY);
	cr_assert_eq(redial_endpoint_start(r, id), 0);
	cr_assert_eq(redial_endpoint_start(r, id), -EALREADY);
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, 0, 2, REDIAL_SEC(5));
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 1)->attempt, 1,
		     "a restart begins a new streak");
	tu_finish(r, fds0);
}

static void cancel_on_connect(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == REDIAL_EV_CONNECTED)
		cr_assert_eq(redial_endpoint_cancel(r, ev->id), 0);
}

Test(engine, cancel_from_inside_a_callback_suppresses_every_later_event)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.hook = cancel_on_connect;
	redial_t *r = tu_make(&cfg);
	enum { N = 50 };
	for (unsigned i = 0; i < N; i++)
		tu_add(r, addr_of(T_DROP_FIN, i), NULL);
	tu_run_until_state(r, REDIAL_STATE_CANCELLED, N, REDIAL_SEC(10));
	tu_run_for(r, REDIAL_MSEC(300)); /* past the farm's 100 ms drop */
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, 0), N);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CANCELLED, 0), N);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_DISCONNECTED, 0), 0);
	cr_assert_eq(rec.n, 2 * N);
	tu_finish(r, fds0);
}

/* ---- scale, shutdown, overflow ---------------------------------------------------------- */

Test(engine, shutdown_with_thousands_in_flight_leaves_nothing_behind)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(5);
	redial_t *r = tu_make(&cfg);
	unsigned n = 0;
	for (unsigned i = 0; i < 2000; i++)
		tu_add(r, addr_of(T_BLACKHOLE, n++), NULL);
	for (unsigned i = 0; i < 1500; i++)
		tu_add(r, addr_of(T_ACCEPT, n++), NULL);
	for (unsigned i = 0; i < 1500; i++)
		tu_add(r, addr_of(T_REFUSE, n++), NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 1500, REDIAL_SEC(20));
	struct redial_stats s = tu_stats(r);
	cr_assert_geq(s.inflight_ops, 2000, "blackholed connects are in flight");
	uint64_t t = redial_now_ns();
	size_t before = rec.n;
	cr_assert_eq(redial_shutdown(r, REDIAL_SEC(5)), 0);
	cr_assert_lt(redial_now_ns() - t, REDIAL_SEC(3), "shutdown took too long");
	cr_assert_eq(rec.n - before, 5000, "one CANCELLED per endpoint");
	cr_assert_eq(tu_state_count(r, REDIAL_STATE_CANCELLED), 5000);
	tu_finish(r, fds0);
}

Test(engine, tiny_cq_overflows_and_still_loses_no_completion)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.sq_entries = 8;
	cfg.cq_entries = 16;
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.backoff_max_attempts = 3;
	redial_t *r = tu_make(&cfg);
	enum { N = 400 };
	redial_id_t ids[N];
	for (unsigned i = 0; i < N; i++)
		ids[i] = tu_add(r, addr_of(T_REFUSE, i), NULL);
	tu_run_until_state(r, REDIAL_STATE_FAILED, N, REDIAL_SEC(30));
	struct redial_stats s = tu_stats(r);
	cr_assert_gt(s.cq_overflows, 0, "the test must actually overflow the CQ");
	cr_assert_eq(s.lost_cqes, 0);
	cr_assert_eq(s.failures, 3 * N);
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(tu_ep_stats(r, ids[i]).failures, 3);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_GAVE_UP, 0), N);
	tu_finish(r, fds0);
}

Test(engine, removing_a_tenth_of_a_large_table_at_random)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.max_endpoints = 20000;
	rec.defs.backoff_initial_ns = REDIAL_SEC(60);
	rec.defs.backoff_max_ns = REDIAL_SEC(60);
	redial_t *r = tu_make(&cfg);
	enum { N = 12000, BH = 500 };
	static redial_id_t ids[N];
	for (unsigned i = 0; i < N - BH; i++)
		ids[i] = tu_add(r, addr_of(T_REFUSE, i), NULL);
	for (unsigned i = N - BH; i < N; i++)
		ids[i] = tu_add(r, addr_of(T_BLACKHOLE, i), NULL);
	tu_run_until_state(r, REDIAL_STATE_BACKOFF, N - BH, REDIAL_SEC(30));
	cr_assert_eq(tu_state_count(r, REDIAL_STATE_CONNECTING), BH);

	srand(7);
	unsigned removed = 0, connecting_removed = 0;
	for (unsigned k = 0; k < N / 10; k++) {
		unsigned i = (unsigned)rand() % N;
		if (!ids[i])
			continue;
		if (i >= N - BH)
			connecting_removed++;
		cr_assert_eq(redial_endpoint_remove(r, ids[i]), 0);
		cr_assert_eq(redial_endpoint_remove(r, ids[i]), -ENOENT);
		struct redial_endpoint_stats es = { .size = sizeof(es) };
		cr_assert_eq(redial_endpoint_stats_get(r, ids[i], &es), -ENOENT);
		ids[i] = 0;
		removed++;
	}
	cr_assert_gt(connecting_removed, 0);
	struct redial_stats s = tu_stats(r);
	cr_assert_eq(s.endpoints, N - removed);
	tu_run_for(r, REDIAL_MSEC(200));
	s = tu_stats(r);
	cr_assert_eq(s.kernel_cancels, connecting_removed,
		     "only connecting endpoints need the kernel; backoff ones are unlinked");
	cr_assert_eq(s.attempts_inflight, BH - connecting_removed);
	/* Freed slots are reused with fresh ids. */
	redial_id_t fresh = tu_add(r, addr_of(T_ACCEPT, 1), NULL);
	for (unsigned i = 0; i < N; i++)
		cr_assert_neq(ids[i], fresh);
	tu_finish(r, fds0);
}

Test(engine, destroy_with_5000_endpoints_in_mixed_states_returns_every_fd)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(30);
	redial_t *r = tu_make(&cfg);
	struct redial_endpoint_opts idle = rec.defs, longwait = rec.defs;
	idle.flags = REDIAL_EP_START_IDLE;
	longwait.backoff_initial_ns = REDIAL_SEC(30);
	unsigned n = 0;
	for (unsigned i = 0; i < 1000; i++) {
		tu_add(r, addr_of(T_ACCEPT, n++), NULL);
		tu_add(r, addr_of(T_REFUSE, n++), NULL);
		tu_add(r, addr_of(T_REFUSE, n++), &longwait);
		tu_add(r, addr_of(T_BLACKHOLE, n++), NULL);
		tu_add(r, addr_of(T_ACCEPT, n++), &idle);
	}
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 1000, REDIAL_SEC(20));
	cr_assert_eq(tu_state_count(r, REDIAL_STATE_IDLE), 1000);
	cr_assert_geq(tu_state_count(r, REDIAL_STATE_BACKOFF), 1000);
	cr_assert_geq(tu_state_count(r, REDIAL_STATE_CONNECTING), 1000);
	redial_destroy(r);
	cr_assert_eq(tu_count_fds(), fds0);
}

/* ---- local errors ------------------------------------------------------------------------ */

Test(engine, local_fd_exhaustion_throttles_the_manager_not_the_endpoint)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	struct rlimit old, low;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)tu_count_fds() + 10;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	enum { N = 40 };
	redial_id_t ids[N];
	for (unsigned i = 0; i < N; i++)
		ids[i] = tu_add(r, addr_of(T_ACCEPT, i), NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 8, REDIAL_SEC(10));
	tu_run_for(r, REDIAL_MSEC(300));
	struct redial_stats s = tu_stats(r);
	cr_assert_gt(s.local_errors, 0);
	cr_assert_gt(s.throttles, 0);
	cr_assert_eq(s.failures, 0, "local errors are not the endpoints' failures");
	const struct tu_event *e = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, 0, 0);
	cr_assert_not_null(e);
	cr_assert_eq(e->err, EMFILE, "got %s", redial_errno_name(e->err));
	cr_assert_eq(e->cls, REDIAL_CLASS_LOCAL);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_GAVE_UP, 0), 0);
	/* Pressure off: everyone gets through, and no streak was charged. */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, N, REDIAL_SEC(10));
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(tu_ep_stats(r, ids[i]).failures, 0);
	tu_finish(r, fds0);
}

/* ---- embedding and threads -------------------------------------------------------------- */

Test(engine, the_ring_fd_in_an_application_epoll_loop_drives_everything)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	struct tu_loop l;
	tu_loop_open(&l, r);
	int fds = tu_count_fds();
	for (unsigned i = 0; i < 20; i++)
		tu_add(r, addr_of(T_ACCEPT, i), NULL);
	cr_assert_geq(redial_poll(r), 0); /* submits the chains */
	uint64_t end = redial_now_ns() + REDIAL_SEC(10);
	while (tu_count(&rec, REDIAL_EV_CONNECTED, 0) < 20 && redial_now_ns() < end)
		tu_loop_step(&l, 1000);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, 0), 20);
	cr_assert_eq(tu_count_fds(), fds + 20);
	tu_loop_close(&l);
	tu_finish(r, fds0);
}

static void *run_elsewhere(void *arg)
{
	redial_t *r = arg;
	uint64_t end = redial_now_ns() + REDIAL_SEC(10);
	while (tu_count(&rec, REDIAL_EV_CONNECTED, 0) < 10 && redial_now_ns() < end)
		if (redial_run(r, REDIAL_MSEC(10)) < 0)
			return (void *)1;
	if (redial_shutdown(r, REDIAL_SEC(5)) != 0)
		return (void *)2;
	return NULL;
}

Test(engine, the_first_thread_that_runs_the_manager_owns_it)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	for (unsigned i = 0; i < 10; i++)
		tu_add(r, addr_of(T_ACCEPT, i), NULL);
	pthread_t t;
	void *res;
	cr_assert_eq(pthread_create(&t, NULL, run_elsewhere, r), 0);
	cr_assert_eq(pthread_join(t, &res), 0);
	cr_assert_null(res);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, 0), 10);
	redial_destroy(r);
	cr_assert_eq(tu_count_fds(), fds0);
}

/* ---- the other ways to run it --------------------------------------------------------- */

static void mixed_run(unsigned flags)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.flags = flags;
	rec.defs.connect_timeout_ns = REDIAL_MSEC(200);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(10);
	rec.defs.backoff_max_attempts = 2;
	redial_t *r = tu_make(&cfg);
	if (flags & REDIAL_CFG_NO_FD_INSTALL)
		cr_assert_not(tu_stats(r).fd_install);
	redial_id_t a = tu_add(r, addr_of(T_ACCEPT, 1), NULL);
	redial_id_t f = tu_add(r, addr_of(T_REFUSE, 2), NULL);
	redial_id_t b = tu_add(r, addr_of(T_BLACKHOLE, 3), NULL);
	redial_id_t d = tu_add(r, addr_of(T_DROP_RST, 4), NULL);
	redial_id_t c = tu_add(r, addr_of(T_BLACKHOLE, 5), NULL);
	tu_run_for(r, REDIAL_MSEC(50));
	cancel_and_check(r, c, false);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 2, REDIAL_SEC(10));
	tu_run_until_event(r, &rec, REDIAL_EV_DISCONNECTED, 0, 1, REDIAL_SEC(10));
	cr_assert_eq(tu_state(r, a), REDIAL_STATE_CONNECTED);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, f, 0)->err, ECONNREFUSED);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, b, 0)->err, ETIMEDOUT);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_DISCONNECTED, d, 0)->err, ECONNRESET);
	tu_finish(r, fds0);
}

Test(engine, without_fd_install_the_two_step_path_behaves_the_same)
{
	mixed_run(REDIAL_CFG_NO_FD_INSTALL);
}

Test(engine, without_defer_taskrun_the_loop_behaves_the_same)
{
	mixed_run(REDIAL_CFG_NO_DEFER_TASKRUN);
}

/* ---- creation errors ---------------------------------------------------------------------- */

Test(engine, bad_config_fields_are_refused_by_name)
{
	struct redial_config cfg;
	redial_t *r = NULL;
	redial_config_init(&cfg);
	cfg.max_endpoints = 0;
	cr_assert_eq(redial_create(&cfg, &r), -EINVAL);
	cr_assert(strstr(redial_strerror_create(), "max_endpoints"), "%s", redial_strerror_create());
	redial_config_init(&cfg);
	struct redial_endpoint_opts defs;
	redial_endpoint_opts_init(&defs);
	defs.backoff_multiplier = 0.5;
	cfg.endpoint_defaults = &defs;
	cr_assert_eq(redial_create(&cfg, &r), -EINVAL);
	cr_assert(strstr(redial_strerror_create(), "backoff"), "%s", redial_strerror_create());
	redial_config_init(&cfg);
	cfg.size = 3;
	cr_assert_eq(redial_create(&cfg, &r), -EINVAL);
	cr_assert_null(r);
	cr_assert_eq(tu_count_fds(), fds0);
}

Test(engine, io_uring_blocked_by_seccomp_fails_creation_with_a_clear_cause)
{
	/* The same filter a container runtime's default profile applies to io_uring. */
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, tu_no_io_uring()), 0);
	redial_t *r = NULL;
	cr_assert_eq(redial_create(NULL, &r), -EPERM);
	cr_assert_null(r);
	cr_assert(strstr(redial_strerror_create(), "seccomp"), "%s", redial_strerror_create());
	cr_assert_eq(tu_count_fds(), fds0);
}

Test(engine, every_failed_allocation_in_create_and_add_is_a_clean_enomem)
{
	int ok = 0;
	for (long n = 1; n < 40 && !ok; n++) {
		redial_t *r = NULL;
		rd__alloc_fail_after(n);
		int ret = redial_create(NULL, &r);
		rd__alloc_fail_after(0);
		if (ret == 0) {
			/* Now fail the first allocation of add: the options block. */
			rd__alloc_fail_after(1);
			redial_id_t id = 0;
			ret = redial_endpoint_add(r, addr_of(T_ACCEPT, 1), NULL, &id, NULL, 0);
			rd__alloc_fail_after(0);
			cr_assert_eq(ret, -ENOMEM);
			cr_assert_eq(id, 0, "ret_id untouched on failure");
			cr_assert_eq(tu_stats(r).endpoints, 0);
			redial_destroy(r);
			ok = 1;
		} else {
			cr_assert_eq(ret, -ENOMEM, "allocation %ld: %s", n, strerror(-ret));
			cr_assert_null(r);
		}
		cr_assert_eq(tu_count_fds(), fds0);
	}
	cr_assert(ok, "create never succeeded");
}

/* An IPv4 endpoint keeps no out-of-line record until it connects; an IPv6 one needs it at
 * add. Neither shortage breaks anything: add says -ENOMEM and leaves the table as it was,
 * and a connect whose record cannot be had is closed and reported as a local ENOMEM, after
 * which the endpoint connects once memory is back. */
Test(engine, a_connection_without_memory_for_its_record_fails_as_a_local_enomem)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_ACCEPT, 3), NULL);
	char s6[64];
	snprintf(s6, sizeof(s6), "[::1]:%u", farm_port(farm, T_ACCEPT6));
	redial_id_t id6 = 0;
	rd__alloc_fail_after(1); /* the options are interned already: the record's table */
	cr_assert_eq(redial_endpoint_add(r, s6, NULL, &id6, NULL, 0), -ENOMEM);
	cr_assert_eq(id6, 0);
	cr_assert_eq(tu_stats(r).endpoints, 1);

	/* Still failing every allocation: the first connect cannot keep its connection. */
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, 0, 1, REDIAL_SEC(5));
	rd__alloc_fail_after(0);
	const struct tu_event *e = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, 0);
	cr_assert_not_null(e);
	cr_assert_eq(e->err, ENOMEM, "%s", redial_errno_name(e->err));
	cr_assert_eq(e->cls, REDIAL_CLASS_LOCAL);
	struct redial_endpoint_stats es = tu_ep_stats(r, id);
	cr_assert_eq(es.local_errors, 1);
	cr_assert_eq(es.connects, 0);
	cr_assert_eq(es.fd, -1);

	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 1, REDIAL_SEC(5));
	es = tu_ep_stats(r, id);
	cr_assert_eq(es.connects, 1);
	cr_assert_geq(es.fd, 0);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_CONNECTED, id, 0)->attempt, 1,
		     "a local failure is no failed attempt");
	id6 = tu_add(r, s6, NULL);
	tu_run_until_state(r, REDIAL_STATE_CONNECTED, 2, REDIAL_SEC(5));
	tu_finish(r, fds0);
}

/* A restart marks where the next CONNECTED event's attempt count starts; an IPv4 endpoint
 * that failed without ever connecting needs its record for that mark. */
Test(engine, start_after_failures_says_enomem_when_the_record_cannot_be_had)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(5);
	rec.defs.backoff_max_attempts = 2;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr_of(T_REFUSE, 4), NULL);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 1, REDIAL_SEC(5));
	rd__alloc_fail_after(1);
	cr_assert_eq(redial_endpoint_start(r, id), -ENOMEM);
	rd__alloc_fail_after(0);
	cr_assert_eq(tu_state(r, id), REDIAL_STATE_FAILED, "nothing changed");
	cr_assert_eq(redial_endpoint_start(r, id), 0);
	tu_run_until_state(r, REDIAL_STATE_FAILED, 1, REDIAL_SEC(5));
	cr_assert_eq(tu_ep_stats(r, id).failures, 4);
	tu_finish(r, fds0);
}

Test(engine, parser_errors_come_back_through_add_with_the_offender_named)
{
	redial_t *r = tu_make(NULL);
	redial_id_t id = 0;
	char err[256] = "";
	cr_assert_eq(redial_endpoint_add(r, "127.0.0.1:0", NULL, &id, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "\"0\""), "%s", err);
	cr_assert_eq(redial_endpoint_add(r, "-bad.test:80", NULL, &id, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "\"-bad\""), "%s", err);
	cr_assert_eq(redial_endpoint_add(r, "a..test:80", NULL, &id, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "empty"), "%s", err);
	cr_assert_eq(redial_endpoint_add(r, "ok.test:0", NULL, &id, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "\"0\""), "%s", err);
	cr_assert_eq(id, 0);
	redial_destroy(r);
}

Test(engine, a_full_table_says_enospc)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.max_endpoints = 3;
	redial_t *r = tu_make(&cfg);
	for (unsigned i = 0; i < 3; i++)
		tu_add(r, addr_of(T_REFUSE, i), NULL);
	redial_id_t id = 0;
	cr_assert_eq(redial_endpoint_add(r, addr_of(T_REFUSE, 9), NULL, &id, NULL, 0), -ENOSPC);
	tu_finish(r, fds0);
}

struct churn {
	unsigned added, removed;
	unsigned limit;
};

/* On each connect: remove that endpoint and add a fresh one, until `limit` were added. */
static void replace_on_connect(redial_t *r, const struct redial_event *ev, void *arg)
{
	struct churn *c = arg;
	if (ev->type != REDIAL_EV_CONNECTED)
		return;
	cr_assert_eq(redial_endpoint_remove(r, ev->id), 0);
	c->removed++;
	if (c->added < c->limit) {
		redial_id_t id;
		cr_assert_eq(redial_endpoint_add(r, addr_of(T_ACCEPT, 100 + c->added), NULL, &id,
						 NULL, 0), 0);
		c->added++;
	}
}

Test(engine, endpoints_are_added_and_removed_from_callbacks_while_the_loop_runs)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	struct churn c = { .limit = 300 };
	rec.hook = replace_on_connect;
	rec.hook_arg = &c;
	cfg.max_endpoints = 64; /* slots must be recycled for this to work */
	redial_t *r = tu_make(&cfg);
	for (unsigned i = 0; i < 20; i++)
		tu_add(r, addr_of(T_ACCEPT, i), NULL);
	uint64_t end = redial_now_ns() + REDIAL_SEC(20);
	while (c.removed < 320 && redial_now_ns() < end)
		cr_assert_geq(redial_run(r, REDIAL_MSEC(10)), 0);
	cr_assert_eq(c.removed, 320);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, 0), 320);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CANCELLED, 0), 320, "remove cancels a live endpoint");
	cr_assert_eq(tu_stats(r).endpoints, 0);
	tu_finish(r, fds0);
}

Test(engine, an_epoll_driven_application_sees_drops_and_reconnects_without_other_help)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(200); /* on the wheel: needs the wake */
	rec.defs.stable_after_ns = REDIAL_MSEC(50);
	redial_t *r = tu_make(&cfg);
	struct tu_loop l;
	tu_loop_open(&l, r);
	for (unsigned i = 0; i < 10; i++)
		tu_add(r, addr_of(T_DROP_FIN, i), NULL);
	cr_assert_geq(redial_poll(r), 0);
	/* Only what the ring fd reports drives the manager: every piece of work a pass queues
	 * (a watch, the next chain, the wake timer) must already be in the kernel. */
	uint64_t end = redial_now_ns() + REDIAL_SEC(15);
	while (tu_count(&rec, REDIAL_EV_CONNECTED, 0) < 30 && redial_now_ns() < end)
		tu_loop_step(&l, 100);
	cr_assert_geq(tu_count(&rec, REDIAL_EV_CONNECTED, 0), 30, "%zu connected, %zu disconnected",
		      tu_count(&rec, REDIAL_EV_CONNECTED, 0), tu_count(&rec, REDIAL_EV_DISCONNECTED, 0));
	cr_assert_geq(tu_count(&rec, REDIAL_EV_DISCONNECTED, 0), 20);
	tu_loop_close(&l);
	tu_finish(r, fds0);
}
