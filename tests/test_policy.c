/* Policy defects found by trying the engine from outside: peers that accept and drop at
 * once, errors the application reports, the last error of a reset, and how long one batch
 * of local shortages pauses the manager; and the sockets a failed attempt leaves for the
 * next one. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "farm.h"
#include "testutil.h"

enum { T_ACCEPT, T_ACCEPT_CLOSE, T_DROP_RST, T_BLACKHOLE, T_COUNT };

static struct farm *farm;
static struct tu_recorder rec;
static int fds0;

static void farm_up(void)
{
	struct farm_target_spec specs[T_COUNT] = {
		[T_ACCEPT] = { .kind = FARM_ACCEPT },
		[T_ACCEPT_CLOSE] = { .kind = FARM_ACCEPT_CLOSE },
		[T_DROP_RST] = { .kind = FARM_DROP_AFTER, .hold_ms = 50, .rst = true },
		[T_BLACKHOLE] = { .kind = FARM_BLACKHOLE },
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

TestSuite(policy, .init = farm_up, .fini = farm_down, .timeout = 120);

Test(policy, a_peer_that_accepts_and_closes_at_once_raises_an_alert_and_gives_up)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(5);
	rec.defs.backoff_max_ns = REDIAL_MSEC(20);
	rec.defs.stable_after_ns = REDIAL_SEC(30); /* no connection here proves stable */
	rec.defs.alert_after = 3;
	rec.defs.backoff_max_attempts = 5;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT_CLOSE)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(30));

	/* Every connect was followed by a drop, and the drops made up the streak. */
	cr_assert_geq(tu_count(&rec, REDIAL_EV_CONNECTED, id), 5);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ALERT, id), 1);
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_ALERT, id, 0)->attempt, 3);
	const struct tu_event *g = tu_nth(&rec, REDIAL_EV_GAVE_UP, id, 0);
	cr_assert_eq(g->reason, REDIAL_GAVE_UP_MAX_ATTEMPTS);
	cr_assert_eq(g->attempt, 5);
	/* Each connection still took exactly one attempt. */
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(tu_nth(&rec, REDIAL_EV_CONNECTED, id, i)->attempt, 1);
	struct redial_endpoint_stats s = tu_ep_stats(r, id);
	cr_assert_eq(s.state, REDIAL_STATE_FAILED);
	cr_assert_eq(s.streak, 5);
	tu_finish(r, fds0);
}

Test(policy, a_stable_connection_ends_the_streak)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.stable_after_ns = REDIAL_MSEC(1);
	rec.defs.alert_after = 2;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_DROP_RST)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_DISCONNECTED, id, 3, REDIAL_SEC(30));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ALERT, id), 0,
		     "connections that lasted past stable_after are no failures");
	tu_finish(r, fds0);
}

Test(policy, a_reset_connection_leaves_its_error_as_last_error)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_DROP_RST)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_DISCONNECTED, id, 1, REDIAL_SEC(30));
	cr_assert_eq(tu_nth(&rec, REDIAL_EV_DISCONNECTED, id, 0)->err, ECONNRESET);
	struct redial_endpoint_stats s = tu_ep_stats(r, id);
	cr_assert_eq(s.last_error, ECONNRESET, "last_error %s", redial_errno_name(s.last_error));
	cr_assert_eq(s.last_class, REDIAL_CLASS_TRANSIENT);
	struct redial_errno_count c[4];
	cr_assert_geq(redial_endpoint_errors(r, id, c, 4), 1);
	cr_assert_eq(c[0].err, ECONNRESET);
	tu_finish(r, fds0);
}

/* Reports every connection broken from inside the CONNECTED callback. */
static void fail_on_connect(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == REDIAL_EV_CONNECTED)
		cr_assert_eq(redial_endpoint_fail(r, ev->id, EPROTO), 0);
}

Test(policy, failures_the_application_reports_count_toward_alerts_and_give_up)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.hook = fail_on_connect;
	rec.defs.backoff_initial_ns = REDIAL_MSEC(5);
	rec.defs.alert_after = 2;
	rec.defs.backoff_max_attempts = 3;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_GAVE_UP, id, 1, REDIAL_SEC(30));
	cr_assert_eq(tu_count(&rec, REDIAL_EV_CONNECTED, id), 3);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_DISCONNECTED, id), 3);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_ALERT, id), 1);
	const struct tu_event *g = tu_nth(&rec, REDIAL_EV_GAVE_UP, id, 0);
	cr_assert_eq(g->reason, REDIAL_GAVE_UP_MAX_ATTEMPTS);
	cr_assert_eq(g->err, EPROTO);
	struct redial_endpoint_stats s = tu_ep_stats(r, id);
	cr_assert_eq(s.last_error, EPROTO);
	cr_assert_eq(s.fd, -1);
	tu_finish(r, fds0);
}

Test(policy, one_batch_of_local_errors_pauses_the_manager_once)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	redial_t *r = tu_make(&cfg);
	struct rlimit old, low;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)tu_count_fds() + 4;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	enum { N = 60 };
	char addr[N][32];
	for (unsigned i = 0; i < N; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.%u.%u:%u", 1 + i / 200, 1 + i % 200,
			 farm_port(farm, T_ACCEPT));
		tu_add(r, addr[i], NULL);
	}
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, 0, 1, REDIAL_SEC(10));
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	const struct tu_event *first = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, 0, 0);
	cr_assert_eq(first->cls, REDIAL_CLASS_LOCAL);
	/* Every shortage reported with the first one belongs to the same pause: the shortest
	 * (10 ms), not one doubled per error. */
	size_t same = 0;
	for (size_t k = 0;; k++) {
		const struct tu_event *e = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, 0, k);
		if (!e || e->mono_ns != first->mono_ns)
			break;
		same++;
		cr_assert_leq(e->backoff_ns, REDIAL_MSEC(10), "error %zu of the batch: %llu ns", k,
			      (unsigned long long)e->backoff_ns);
	}
	cr_assert_geq(same, 1);
	cr_assert_eq(tu_stats(r).throttles, 1, "one batch, one pause");
	tu_finish(r, fds0);
}

/* Stops the run once the 20th connection is up. */
static void stop_at_twenty(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == REDIAL_EV_CONNECTED && tu_count(&rec, REDIAL_EV_CONNECTED, 0) >= 20)
		redial_stop(r);
}

Test(policy, one_long_run_closes_the_fds_of_peer_closed_connections_as_it_goes)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	cfg.max_fds = 4; /* a run that held every closed fd would stall after four */
	rec.hook = stop_at_twenty;
	rec.defs.stable_after_ns = 0;
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.backoff_max_ns = REDIAL_MSEC(1);
	redial_t *r = tu_make(&cfg);
	tu_add(r, tu_loopback(farm_port(farm, T_ACCEPT_CLOSE)), NULL);
	/* One call: the fds the DISCONNECTED events carried must be closed inside it. */
	cr_assert_geq(redial_run(r, REDIAL_SEC(30)), 0);
	cr_assert_geq(tu_count(&rec, REDIAL_EV_CONNECTED, 0), 20, "only %zu connects in one run",
		      tu_count(&rec, REDIAL_EV_CONNECTED, 0));
	cr_assert_leq(tu_stats(r).fds_open, 4);
	tu_finish(r, fds0);
}

Test(policy, a_refused_socket_connects_again_for_the_next_attempt_and_then_succeeds)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.backoff_max_ns = REDIAL_MSEC(1);
	redial_t *r = tu_make(&cfg);
	uint16_t port;
	int lfd = tu_refusing_port(&port); /* refuses until the test calls listen() */
	redial_id_t id = tu_add(r, tu_loopback(port), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, id, 10, REDIAL_SEC(30));
	struct redial_stats s = tu_stats(r);
	/* Every attempt after the first one ran on the socket the one before left. */
	cr_assert_geq(s.sockets_reused, s.failures - 1, "%lu reused of %lu failures",
		      (unsigned long)s.sockets_reused, (unsigned long)s.failures);
	cr_assert_leq(s.sockets_parked, 1);
	for (size_t i = 0; i < tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, id); i++)
		cr_assert_eq(tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, i)->err, ECONNREFUSED);

	/* The reused socket reaches a listener like a new one would. */
	cr_assert_eq(listen(lfd, 8), 0);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(30));
	int afd = accept(lfd, NULL, NULL);
	cr_assert_geq(afd, 0, "the listener saw no connection: %s", strerror(errno));
	s = tu_stats(r);
	cr_assert_eq(s.sockets_parked, 0, "a connected endpoint keeps no spare socket");
	cr_assert_eq(s.attempts_inflight, 0);
	cr_assert_eq(write(afd, "x", 1), 1);
	close(afd);
	tu_finish(r, fds0 + 1);
	close(lfd);
}

Test(policy, a_timed_out_socket_is_cleared_and_reused)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.connect_timeout_ns = REDIAL_MSEC(30);
	rec.defs.backoff_initial_ns = REDIAL_MSEC(1);
	rec.defs.backoff_max_ns = REDIAL_MSEC(1);
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, tu_loopback(farm_port(farm, T_BLACKHOLE)), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, id, 4, REDIAL_SEC(30));
	struct redial_stats s = tu_stats(r);
	cr_assert_geq(s.sockets_reused, 3);
	/* connect(AF_UNSPEC) cleared each one: every attempt ran out its deadline, none was
	 * refused as still connecting (EALREADY) or aborted. */
	for (size_t i = 0; i < 4; i++) {
		const struct tu_event *e = tu_nth(&rec, REDIAL_EV_ATTEMPT_FAILED, id, i);
		cr_assert_eq(e->err, ETIMEDOUT, "attempt %zu: %s", i + 1, strerror(e->err));
		cr_assert_geq(e->duration_ns, REDIAL_MSEC(30));
	}
	tu_finish(r, fds0);
}

Test(policy, a_long_backoff_keeps_no_socket)
{
	struct redial_config cfg;
	tu_config(&cfg, &rec);
	rec.defs.backoff_initial_ns = REDIAL_SEC(60);
	rec.defs.backoff_max_ns = REDIAL_SEC(60);
	redial_t *r = tu_make(&cfg);
	uint16_t port;
	int lfd = tu_refusing_port(&port);
	redial_id_t id = tu_add(r, tu_loopback(port), NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_ATTEMPT_FAILED, id, 1, REDIAL_SEC(30));
	/* The close of the socket goes out with the next turn. */
	for (int i = 0; i < 100 && tu_stats(r).attempts_inflight; i++)
		redial_run(r, REDIAL_MSEC(10));
	struct redial_stats s = tu_stats(r);
	cr_assert_eq(s.sockets_parked, 0);
	cr_assert_eq(s.attempts_inflight, 0, "a 60 s backoff holds a socket");
	tu_finish(r, fds0 + 1);
	close(lfd);
}
