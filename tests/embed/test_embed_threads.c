/* test_embed_threads.c — the thread rule of redial.h: redial_stop, redial_wake and
 * redial_post from any thread; every other call from a thread that is not the owner fails
 * with -REDIAL_E_NOT_OWNER and changes nothing; the owner is the creating thread, or the
 * first thread that runs the manager (redial_run, redial_poll, redial_fd) when that comes
 * first. Assertions are made on the test's main thread only; other threads record. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static struct tu_recorder rec;
static struct redial_config cfg;
static int lfd = -1;
static uint16_t lport;
static char addr[64];
static int fds_before;

static void setup(void)
{
	fds_before = tu_count_fds();
	tu_recorder_init(&rec);
	tu_config(&cfg, &rec);
	tu_fast_retry(&rec.defs);
	lfd = tu_listen(&lport);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", lport);
}

static void teardown(void)
{
	tu_recorder_free(&rec);
}

TestSuite(embed, .init = setup, .fini = teardown, .timeout = 60);

static void close_listener(void)
{
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
}

/* Calls redial_stop (and redial_wake) over and over once `secs` have passed without `done`,
 * so that a run that ignores a stop fails the test instead of hanging it. */
struct watchdog {
	redial_t *r;
	unsigned secs;
	atomic_bool done;
	atomic_bool fired;
	pthread_t t;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	uint64_t end = redial_now_ns() + REDIAL_SEC(w->secs);
	while (!atomic_load(&w->done) && redial_now_ns() < end)
		tu_sleep_ms(10);
	if (atomic_load(&w->done))
		return NULL;
	atomic_store(&w->fired, true);
	while (!atomic_load(&w->done)) {
		redial_stop(w->r);
		(void)redial_wake(w->r);
		tu_sleep_ms(100);
	}
	return NULL;
}

static void watchdog_start(struct watchdog *w, redial_t *r, unsigned secs)
{
	memset(w, 0, sizeof(*w));
	w->r = r;
	w->secs = secs;
	cr_assert_eq(pthread_create(&w->t, NULL, watchdog_main, w), 0);
}

static bool watchdog_end(struct watchdog *w)
{
	atomic_store(&w->done, true);
	pthread_join(w->t, NULL);
	return atomic_load(&w->fired);
}

/* ---- redial_stop ------------------------------------------------------------------------ */

struct stopper {
	redial_t *r;
	atomic_bool in_run;
	atomic_bool run_returned;
	uint64_t t_stop;
	bool returned_before_stop;
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;
	while (!atomic_load(&s->in_run))
		tu_sleep_ms(1);
	tu_sleep_ms(200); /* pacing: the owner is most likely waiting in the kernel by now */
	s->returned_before_stop = atomic_load(&s->run_returned);
	s->t_stop = redial_now_ns();
	redial_stop(s->r);
	return NULL;
}

Test(embed, stop_from_another_thread_returns_a_run_without_deadline)
{
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	int peer = tu_accept(lfd, 10000);

	struct stopper s = { .r = r };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, stopper_main, &s), 0);
	struct watchdog w;
	watchdog_start(&w, r, 20);
	atomic_store(&s.in_run, true);
	int ret = redial_run(r, UINT64_MAX);
	uint64_t t_ret = redial_now_ns();
	atomic_store(&s.run_returned, true);
	bool fired = watchdog_end(&w);
	pthread_join(t, NULL);

	cr_expect_geq(ret, 0, "redial_run: %s", strerror(-ret));
	cr_expect_not(s.returned_before_stop, "redial_run(UINT64_MAX) returned before the stop");
	cr_expect_not(fired, "redial_run(UINT64_MAX) did not return within 20 s of redial_stop "
		      "from another thread");
	if (!fired && !s.returned_before_stop)
		cr_expect_lt(t_ret - s.t_stop, REDIAL_SEC(5), "redial_run returned %llu ms after "
			     "the stop", (unsigned long long)((t_ret - s.t_stop) / 1000000));
	/* The owner goes on normally. */
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED);
	ret = redial_poll(r);
	cr_expect_geq(ret, 0, "redial_poll after the stop: %s", strerror(-ret));
	close(peer);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

static void *stop_only(void *arg)
{
	redial_stop(arg);
	return NULL;
}

Test(embed, stop_before_run_makes_the_next_run_return)
{
	redial_t *r = tu_make(&cfg);
	cr_assert_geq(redial_poll(r), 0); /* the owner runs first */
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, stop_only, r), 0);
	pthread_join(t, NULL);
	struct watchdog w;
	watchdog_start(&w, r, 10);
	uint64_t t0 = redial_now_ns();
	int ret = redial_run(r, UINT64_MAX);
	uint64_t t1 = redial_now_ns();
	bool fired = watchdog_end(&w);
	cr_expect_geq(ret, 0, "redial_run: %s", strerror(-ret));
	cr_expect_not(fired, "a stop made before redial_run did not make that (the next) run "
		      "return: it ran until the watchdog stopped it 10 s later");
	cr_expect_lt(t1 - t0, REDIAL_SEC(5));
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

/* ---- redial_wake ------------------------------------------------------------------------ */

static void *wake_only(void *arg)
{
	intptr_t ret = redial_wake(arg);
	return (void *)ret;
}

Test(embed, wake_from_another_thread_makes_redial_fd_readable)
{
	redial_t *r = tu_make(&cfg);
	struct tu_loop loop;
	tu_loop_open(&loop, r);
	tu_loop_settle(&loop, 100);
	pthread_t t;
	void *ret;
	cr_assert_eq(pthread_create(&t, NULL, wake_only, r), 0);
	pthread_join(t, &ret);
	cr_expect_eq((intptr_t)ret, 0, "redial_wake: %s", strerror(-(int)(intptr_t)ret));
	cr_expect(tu_loop_readable(&loop, 5000),
		  "redial_fd did not turn readable within 5 s of redial_wake from another thread");
	int n = redial_poll(r);
	cr_expect_geq(n, 0, "redial_poll: %s", strerror(-n));
	/* The wake's own completion may make the fd readable once more; it goes quiet. */
	tu_loop_settle(&loop, 100);
	tu_loop_close(&loop);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

static redial_t *sig_r;
static volatile sig_atomic_t sig_ret = 1;

static void on_sigusr1(int sig)
{
	(void)sig;
	sig_ret = redial_wake(sig_r);
}

struct killer {
	pthread_t target;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	tu_sleep_ms(100);
	pthread_kill(k->target, SIGUSR1);
	return NULL;
}

Test(embed, wake_from_a_signal_handler_makes_redial_fd_readable)
{
	redial_t *r = tu_make(&cfg);
	struct tu_loop loop;
	tu_loop_open(&loop, r);
	tu_loop_settle(&loop, 100);
	sig_r = r;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	struct killer k = { .target = pthread_self() };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, killer_main, &k), 0);
	bool readable = tu_loop_readable(&loop, 5000); /* EINTR is retried inside */
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
	cr_expect_eq(sig_ret, 0, "redial_wake in a signal handler returned %d", (int)sig_ret);
	cr_expect(readable, "redial_fd did not turn readable after redial_wake in a signal handler");
	cr_expect_geq(redial_poll(r), 0);
	tu_loop_close(&loop);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

struct waker {
	redial_t *r;
	atomic_bool in_run;
	atomic_bool run_returned;
	int wake_ret[3];
	bool returned_on_wake;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	while (!atomic_load(&w->in_run))
		tu_sleep_ms(1);
	tu_sleep_ms(100); /* pacing */
	for (int i = 0; i < 3; i++)
		w->wake_ret[i] = redial_wake(w->r);
	tu_sleep_ms(300); /* pacing: time for the passes the wakes cause */
	w->returned_on_wake = atomic_load(&w->run_returned);
	redial_stop(w->r);
	return NULL;
}

Test(embed, wake_during_a_blocked_run_makes_a_pass_without_ending_the_run)
{
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	int peer = tu_accept(lfd, 10000);
	size_t events = tu_count(&rec, 0, 0);

	struct waker wk = { .r = r };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, waker_main, &wk), 0);
	struct watchdog w;
	watchdog_start(&w, r, 20);
	atomic_store(&wk.in_run, true);
	int ret = redial_run(r, UINT64_MAX);
	atomic_store(&wk.run_returned, true);
	bool fired = watchdog_end(&w);
	pthread_join(t, NULL);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(wk.wake_ret[i], 0, "redial_wake #%d: %s", i, strerror(-wk.wake_ret[i]));
	cr_expect_geq(ret, 0, "redial_run after wakes: %s", strerror(-ret));
	cr_expect_not(wk.returned_on_wake, "redial_run(UINT64_MAX) returned on a wake (only a stop "
		      "ends it)");
	cr_expect_not(fired, "the run did not end after wakes and a stop");
	cr_expect_eq(tu_count(&rec, 0, 0), events, "a wake produced events");
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED);
	close(peer);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

/* ---- redial_post ------------------------------------------------------------------------ */

struct post_ctx {
	redial_t *r;
	pthread_t owner;
	atomic_bool in_run;
	int order[8];
	int n;
	int wrong_thread;
	redial_id_t ids[3];
	int add_ret[3];
	int cancel_ret;
	int post_ret[3];
};

static void note(struct post_ctx *c, int step)
{
	if (!pthread_equal(pthread_self(), c->owner))
		c->wrong_thread++;
	if (c->n < 8)
		c->order[c->n] = step;
	c->n++;
}

static void fn_add(redial_t *r, void *arg)
{
	struct post_ctx *c = arg;
	note(c, 1);
	for (int i = 0; i < 3; i++) {
		c->add_ret[i] = redial_endpoint_add(r, addr, NULL, &c->ids[i], NULL, 0);
		if (c->add_ret[i] == 0)
			tu_track(r, c->ids[i]); /* for tu_finish */
	}
}

static void fn_cancel(redial_t *r, void *arg)
{
	struct post_ctx *c = arg;
	note(c, 2);
	c->cancel_ret = redial_endpoint_cancel(r, c->ids[1]);
}

static void fn_stop(redial_t *r, void *arg)
{
	struct post_ctx *c = arg;
	note(c, 3);
	redial_stop(r);
}

static void *poster_main(void *arg)
{
	struct post_ctx *c = arg;
	while (!atomic_load(&c->in_run))
		tu_sleep_ms(1);
	tu_sleep_ms(100); /* pacing: the owner is most likely waiting in the kernel */
	c->post_ret[0] = redial_post(c->r, fn_add, c);
	c->post_ret[1] = redial_post(c->r, fn_cancel, c);
	c->post_ret[2] = redial_post(c->r, fn_stop, c);
	return NULL;
}

static void check_post_results(redial_t *r, struct post_ctx *c)
{
	for (int i = 0; i < 3; i++)
		cr_expect_eq(c->post_ret[i], 0, "redial_post #%d: %s", i, strerror(-c->post_ret[i]));
	cr_assert_eq(c->n, 3, "%d posted functions ran, expected 3", c->n);
	cr_expect_eq(c->wrong_thread, 0, "%d posted functions ran on a thread other than the owner",
		     c->wrong_thread);
	cr_expect(c->order[0] == 1 && c->order[1] == 2 && c->order[2] == 3,
		  "posted functions ran in the order %d %d %d", c->order[0], c->order[1], c->order[2]);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(c->add_ret[i], 0, "add #%d inside a posted function: %s", i,
			     strerror(-c->add_ret[i]));
	cr_expect_eq(c->cancel_ret, 0, "cancel inside a posted function: %s",
		     strerror(-c->cancel_ret));
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, c->ids[0], 1, REDIAL_SEC(10));
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, c->ids[2], 1, REDIAL_SEC(10));
	cr_expect_eq(tu_ep_stats(r, c->ids[1]).state, REDIAL_STATE_CANCELLED);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, c->ids[1]), 1);
	cr_expect_eq(tu_stats(r).endpoints, 3);
	struct tu_event ev;
	for (size_t k = 0; tu_nth_copy(&rec, 0, 0, k, &ev); k++)
		cr_expect(pthread_equal(ev.thread, c->owner), "an event callback ran on another thread");
}

Test(embed, post_from_a_worker_runs_on_the_owner_thread_in_order)
{
	redial_t *r = tu_make(&cfg);
	cr_assert_geq(redial_poll(r), 0);
	struct post_ctx c;
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.owner = pthread_self();
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, poster_main, &c), 0);
	struct watchdog w;
	watchdog_start(&w, r, 20);
	atomic_store(&c.in_run, true);
	int ret = redial_run(r, UINT64_MAX); /* fn_stop ends it */
	bool fired = watchdog_end(&w);
	pthread_join(t, NULL);
	cr_expect_geq(ret, 0, "redial_run: %s", strerror(-ret));
	cr_expect_not(fired, "the posted functions did not run (or did not stop the run) within "
		      "20 s");
	check_post_results(r, &c);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

static void *poster_now(void *arg)
{
	struct post_ctx *c = arg;
	c->post_ret[0] = redial_post(c->r, fn_add, c);
	c->post_ret[1] = redial_post(c->r, fn_cancel, c);
	c->post_ret[2] = redial_post(c->r, fn_stop, c);
	return NULL;
}

Test(embed, post_from_a_worker_makes_redial_fd_readable_and_runs_at_the_next_poll)
{
	redial_t *r = tu_make(&cfg);
	struct tu_loop loop;
	tu_loop_open(&loop, r);
	tu_loop_settle(&loop, 100);
	struct post_ctx c;
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.owner = pthread_self();
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, poster_now, &c), 0);
	pthread_join(t, NULL);
	cr_expect_eq(c.n, 0, "a posted function ran before the owner polled");
	cr_assert(tu_loop_readable(&loop, 5000),
		  "redial_fd did not turn readable within 5 s of redial_post from another thread");
	int ret = redial_poll(r);
	cr_assert_geq(ret, 0, "redial_poll: %s", strerror(-ret));
	cr_expect_eq(c.n, 3, "%d of 3 posted functions ran at the poll after the fd turned readable",
		     c.n);
	check_post_results(r, &c);
	tu_loop_close(&loop);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

static void fn_flag(redial_t *r, void *arg)
{
	(void)r;
	atomic_fetch_add((atomic_int *)arg, 1);
}

struct post_pair {
	redial_t *r;
	atomic_int *ran;
	int ret[2];
};

static void *poster_pair(void *arg)
{
	struct post_pair *p = arg;
	p->ret[0] = redial_post(p->r, fn_flag, p->ran);
	p->ret[1] = redial_post(p->r, fn_flag, p->ran);
	return NULL;
}

Test(embed, functions_still_posted_at_destroy_are_dropped)
{
	redial_t *r = tu_make(&cfg);
	cr_assert_geq(redial_poll(r), 0);
	atomic_int ran = 0;
	struct post_pair p = { .r = r, .ran = &ran };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, poster_pair, &p), 0);
	pthread_join(t, NULL);
	cr_expect_eq(p.ret[0], 0);
	cr_expect_eq(p.ret[1], 0);
	close_listener();
	redial_destroy(r);
	cr_expect_eq(atomic_load(&ran), 0, "%d posted functions ran during destroy", atomic_load(&ran));
	cr_expect_eq(tu_count_fds(), fds_before);
}

/* ---- Calls from a thread that is not the owner --------------------------------------- */

struct intruder {
	redial_t *r;
	redial_id_t id;
	/* results */
	int add, add_addr, cancel, remove, start, fail, release, ep_stats, stats, poll, run, fd,
		shutdown, name, errors;
	redial_id_t new_id;
	int rel_fd;
	struct redial_stats st;
	bool st_untouched;
	bool stop_after; /* then redial_stop the owner's run */
	atomic_bool go;
};

#define POISON 0xAB

static void *intruder_main(void *arg)
{
	struct intruder *x = arg;
	while (!atomic_load(&x->go))
		tu_sleep_ms(1);
	if (x->stop_after)
		tu_sleep_ms(100); /* pacing: the owner is most likely inside redial_run */
	redial_t *r = x->r;
	x->new_id = 0x1234;
	x->add = redial_endpoint_add(r, "127.0.0.1:9", NULL, &x->new_id, NULL, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	redial_id_t id2 = 0x1234;
	x->add_addr = redial_endpoint_add_addr(r, (struct sockaddr *)&sin, sizeof(sin), NULL, &id2);
	if (id2 != 0x1234)
		x->new_id = id2;
	x->cancel = redial_endpoint_cancel(r, x->id);
	x->remove = redial_endpoint_remove(r, x->id);
	x->start = redial_endpoint_start(r, x->id);
	x->fail = redial_endpoint_fail(r, x->id, EPROTO);
	x->rel_fd = -7;
	x->release = redial_endpoint_release(r, x->id, 0, &x->rel_fd);
	struct redial_endpoint_stats es;
	memset(&es, 0, sizeof(es));
	es.size = sizeof(es);
	x->ep_stats = redial_endpoint_stats_get(r, x->id, &es);
	memset(&x->st, POISON, sizeof(x->st));
	x->st.size = sizeof(x->st);
	x->stats = redial_stats_get(r, &x->st);
	x->st_untouched = x->st.endpoints == 0xABABABABu && x->st.fds_open == 0xABABABABu;
	x->poll = redial_poll(r);
	x->run = redial_run(r, 0);
	x->fd = redial_fd(r);
	char buf[64];
	x->name = redial_endpoint_name(r, x->id, buf, sizeof(buf));
	struct redial_errno_count ec[4];
	x->errors = redial_endpoint_errors(r, x->id, ec, 4);
	if (!x->stop_after) {
		/* (Not redial_destroy: from another thread it is allowed once the owner is done
		 * with the manager, and this owner is not.) */
		x->shutdown = redial_shutdown(r, 0);
	} else {
		x->shutdown = -EPERM; /* not tried while the owner runs */
		redial_stop(r);
	}
	return NULL;
}

static void check_intruder(const struct intruder *x)
{
	const int E = -REDIAL_E_NOT_OWNER;
	cr_expect_eq(x->add, E, "redial_endpoint_add from another thread: %d (%s)", x->add,
		     strerror(-x->add));
	cr_expect_eq(x->new_id, 0x1234, "a refused add wrote its ret_id");
	cr_expect_eq(x->add_addr, E, "redial_endpoint_add_addr from another thread: %d", x->add_addr);
	cr_expect_eq(x->cancel, E, "redial_endpoint_cancel from another thread: %d", x->cancel);
	cr_expect_eq(x->remove, E, "redial_endpoint_remove from another thread: %d", x->remove);
	cr_expect_eq(x->start, E, "redial_endpoint_start from another thread: %d", x->start);
	cr_expect_eq(x->fail, E, "redial_endpoint_fail from another thread: %d", x->fail);
	cr_expect_eq(x->release, E, "redial_endpoint_release from another thread: %d", x->release);
	cr_expect_eq(x->rel_fd, -7, "a refused release wrote its ret_fd");
	cr_expect_eq(x->ep_stats, E, "redial_endpoint_stats_get from another thread: %d",
		     x->ep_stats);
	cr_expect_eq(x->stats, E, "redial_stats_get from another thread: %d", x->stats);
	cr_expect(x->st_untouched, "a refused redial_stats_get wrote its ret_stats");
	cr_expect_eq(x->poll, E, "redial_poll from another thread: %d", x->poll);
	cr_expect_eq(x->run, E, "redial_run from another thread: %d", x->run);
	cr_expect_eq(x->fd, E, "redial_fd from another thread: %d", x->fd);
	cr_expect_eq(x->name, E, "redial_endpoint_name from another thread: %d", x->name);
	cr_expect_eq(x->errors, E, "redial_endpoint_errors from another thread: %d", x->errors);
	cr_expect_eq(x->shutdown, E, "redial_shutdown from another thread: %d", x->shutdown);
}

static void forbidden_calls(bool during_run)
{
	redial_t *r = tu_make(&cfg);
	redial_id_t ids[2] = { 0, 0 };
	ids[0] = tu_add(r, addr, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, ids[0], 1, REDIAL_SEC(10));
	int peer = tu_accept(lfd, 10000);
	struct redial_stats s0 = tu_stats(r);
	size_t ev0 = tu_count(&rec, 0, 0);

	struct intruder x;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.id = ids[0];
	x.stop_after = during_run;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, intruder_main, &x), 0);
	if (during_run) {
		struct watchdog w;
		watchdog_start(&w, r, 20);
		atomic_store(&x.go, true);
		int ret = redial_run(r, UINT64_MAX);
		bool fired = watchdog_end(&w);
		cr_expect_geq(ret, 0, "the owner's redial_run: %s", strerror(-ret));
		cr_expect_not(fired, "the owner's run did not end at the other thread's stop");
	} else {
		atomic_store(&x.go, true);
	}
	pthread_join(t, NULL);
	check_intruder(&x);

	/* Nothing changed... */
	for (int i = 0; i < 5; i++)
		cr_assert_geq(redial_run(r, REDIAL_MSEC(10)), 0);
	struct redial_stats s1 = tu_stats(r);
	cr_expect_eq(s1.endpoints, s0.endpoints, "endpoints %u -> %u", s0.endpoints, s1.endpoints);
	cr_expect_eq(s1.attempts, s0.attempts, "attempts %llu -> %llu",
		     (unsigned long long)s0.attempts, (unsigned long long)s1.attempts);
	cr_expect_eq(s1.fds_open, s0.fds_open);
	cr_expect_eq(tu_ep_stats(r, ids[0]).state, REDIAL_STATE_CONNECTED,
		     "the endpoint is %s after refused calls",
		     redial_state_name(tu_ep_stats(r, ids[0]).state));
	cr_expect_eq(tu_count(&rec, 0, 0), ev0, "refused calls produced events");
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	cr_expect_eq(poll(&p, 1, 0), 0, "a refused call connected somewhere");
	char b;
	cr_expect_eq(recv(peer, &b, 1, MSG_DONTWAIT), -1, "the connection was closed by a refused call");

	/* ...and the owner keeps working: no -EBADF, no -EEXIST. */
	redial_id_t id = 0;
	int ret = redial_endpoint_add(r, addr, NULL, &id, NULL, 0);
	cr_assert_eq(ret, 0, "the owner's add after refused calls: %s", strerror(-ret));
	ids[1] = tu_track(r, id);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	int peer2 = tu_accept(lfd, 10000);
	ret = redial_poll(r);
	cr_expect_geq(ret, 0, "the owner's poll after refused calls: %s", strerror(-ret));
	ret = redial_endpoint_cancel(r, ids[0]);
	cr_expect_eq(ret, 0, "the owner's cancel after refused calls: %s", strerror(-ret));
	close(peer);
	close(peer2);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

Test(embed, calls_from_a_non_owner_thread_are_refused_and_change_nothing)
{
	forbidden_calls(false);
}

Test(embed, calls_from_a_non_owner_thread_while_the_owner_runs_are_refused)
{
	forbidden_calls(true);
}

/* ---- Hand-off before the first run ------------------------------------------------------ */

struct runner {
	redial_t *r;
	redial_id_t ids[2];
	pthread_t self;
	pthread_barrier_t *bar;
	bool connected;
	int stats_ret, shutdown_ret, remove_ret[2];
	struct redial_stats st;
	int events_wrong_thread;
	int fd_ret;
	bool use_fd; /* take ownership with redial_fd instead of redial_run */
};

static void *runner_main(void *arg)
{
	struct runner *x = arg;
	x->self = pthread_self();
	if (x->use_fd) {
		x->fd_ret = redial_fd(x->r);
	} else {
		uint64_t end = redial_now_ns() + REDIAL_SEC(10);
		while (redial_now_ns() < end) {
			if (redial_run(x->r, REDIAL_MSEC(10)) < 0)
				break;
			if (tu_count(&rec, REDIAL_EV_CONNECTED, 0) >= 2) {
				x->connected = true;
				break;
			}
		}
	}
	pthread_barrier_wait(x->bar); /* the creator tries its calls now */
	pthread_barrier_wait(x->bar);
	memset(&x->st, 0, sizeof(x->st));
	x->st.size = sizeof(x->st);
	x->stats_ret = redial_stats_get(x->r, &x->st);
	x->shutdown_ret = redial_shutdown(x->r, REDIAL_SEC(10));
	memset(&x->st, 0, sizeof(x->st));
	x->st.size = sizeof(x->st);
	(void)redial_stats_get(x->r, &x->st);
	for (int i = 0; i < 2; i++)
		x->remove_ret[i] = x->ids[i] ? redial_endpoint_remove(x->r, x->ids[i]) : 0;
	struct tu_event ev;
	for (size_t k = 0; tu_nth_copy(&rec, 0, 0, k, &ev); k++)
		if (!pthread_equal(ev.thread, x->self))
			x->events_wrong_thread++;
	redial_destroy(x->r);
	return NULL;
}

struct adder {
	redial_t *r;
	int ret;
	redial_id_t id;
};

static void *adder_main(void *arg)
{
	struct adder *a = arg;
	a->id = 0x77;
	a->ret = redial_endpoint_add(a->r, addr, NULL, &a->id, NULL, 0);
	return NULL;
}

Test(embed, created_and_filled_on_one_thread_then_run_only_on_another)
{
	redial_t *r = tu_make(&cfg);
	struct runner x;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.ids[0] = tu_add(r, addr, NULL); /* the creator owns it until someone runs it */
	x.ids[1] = tu_add(r, addr, NULL);
	struct redial_stats s = tu_stats(r);
	cr_expect_eq(s.endpoints, 2);

	/* A third thread is not the owner either, before any run. */
	struct adder a = { .r = r };
	pthread_t ta;
	cr_assert_eq(pthread_create(&ta, NULL, adder_main, &a), 0);
	pthread_join(ta, NULL);
	cr_expect_eq(a.ret, -REDIAL_E_NOT_OWNER, "add from a third thread before any run: %d",
		     a.ret);
	cr_expect_eq(a.id, 0x77);

	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	x.bar = &bar;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, runner_main, &x), 0);
	pthread_barrier_wait(&bar);
	/* The runner ran first, so it is the owner now; the creator is refused. */
	struct redial_stats st;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	int stats_ret = redial_stats_get(r, &st);
	redial_id_t id = 0x55;
	int add_ret = redial_endpoint_add(r, addr, NULL, &id, NULL, 0);
	int poll_ret = redial_poll(r);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);

	cr_expect(x.connected, "the runner thread did not connect the creator's endpoints in 10 s");
	cr_expect_eq(stats_ret, -REDIAL_E_NOT_OWNER, "the creator's stats_get after another "
		     "thread ran first: %d", stats_ret);
	cr_expect_eq(add_ret, -REDIAL_E_NOT_OWNER, "the creator's add after another thread ran "
		     "first: %d", add_ret);
	cr_expect_eq(id, 0x55);
	cr_expect_eq(poll_ret, -REDIAL_E_NOT_OWNER, "the creator's poll after another thread ran "
		     "first: %d", poll_ret);
	cr_expect_eq(x.stats_ret, 0, "the runner's stats_get: %s", strerror(-x.stats_ret));
	cr_expect_eq(x.shutdown_ret, 0, "the runner's shutdown: %s", strerror(-x.shutdown_ret));
	cr_expect_eq(x.st.inflight_ops, 0);
	cr_expect_eq(x.st.attempts_inflight, 0);
	cr_expect_eq(x.st.fds_open, 0);
	cr_expect_eq(x.remove_ret[0], 0);
	cr_expect_eq(x.remove_ret[1], 0);
	cr_expect_eq(x.events_wrong_thread, 0, "%d callbacks ran on a thread other than the runner",
		     x.events_wrong_thread);
	/* The peers were accepted by nobody: closing the listener resets them. */
	close_listener();
	cr_expect_eq(tu_count_fds(), fds_before);
}

Test(embed, redial_fd_on_another_thread_first_makes_that_thread_the_owner)
{
	redial_t *r = tu_make(&cfg);
	struct runner x;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.use_fd = true;
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	x.bar = &bar;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, runner_main, &x), 0);
	pthread_barrier_wait(&bar);
	struct redial_stats st;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	int stats_ret = redial_stats_get(r, &st);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
	cr_expect_geq(x.fd_ret, 0, "redial_fd on the first thread to call it: %d", x.fd_ret);
	cr_expect_eq(stats_ret, -REDIAL_E_NOT_OWNER, "the creator's stats_get after another thread "
		     "called redial_fd first: %d", stats_ret);
	cr_expect_eq(x.stats_ret, 0);
	close_listener();
	cr_expect_eq(tu_count_fds(), fds_before);
}

static void *poll_once(void *arg)
{
	intptr_t ret = redial_poll(arg);
	return (void *)ret;
}

Test(embed, once_the_creator_has_run_it_other_threads_cannot_take_it)
{
	redial_t *r = tu_make(&cfg);
	cr_assert_geq(redial_poll(r), 0);
	pthread_t t;
	void *ret;
	cr_assert_eq(pthread_create(&t, NULL, poll_once, r), 0);
	pthread_join(t, &ret);
	cr_expect_eq((intptr_t)ret, -REDIAL_E_NOT_OWNER, "redial_poll from a second thread: %d",
		     (int)(intptr_t)ret);
	cr_expect_geq(redial_poll(r), 0, "the creator can no longer poll");
	redial_id_t id = tu_add(r, addr, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	close(tu_accept(lfd, 10000));
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}
