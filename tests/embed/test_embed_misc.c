/* test_embed_misc.c — smaller documented points: unknown flags are -EINVAL, events without an
 * error carry REDIAL_CLASS_NONE, and endpoints waiting for an attempt slot show as
 * REDIAL_STATE_QUEUED. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "farm.h"

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

TestSuite(embed, .init = setup, .fini = teardown, .timeout = 120);

static void close_listener(void)
{
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
}

Test(embed, an_unknown_endpoint_flag_is_EINVAL)
{
	redial_t *r = tu_make(&cfg);
	struct redial_endpoint_opts o = rec.defs;
	o.flags = 0x80000000u;
	redial_id_t id = 0x99;
	char err[128] = "";
	int ret = redial_endpoint_add(r, addr, &o, &id, err, sizeof(err));
	cr_expect_eq(ret, -EINVAL, "add with flags 0x80000000: %d (%s)", ret, strerror(-ret));
	cr_expect_eq(id, 0x99, "a failed add wrote ret_id");
	o.flags = REDIAL_EP_START_IDLE << 1;
	ret = redial_endpoint_add(r, addr, &o, &id, NULL, 0);
	cr_expect_eq(ret, -EINVAL, "add with the flag after START_IDLE: %d", ret);
	cr_expect_eq(tu_stats(r).endpoints, 0, "a refused add left an endpoint");
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

Test(embed, an_unknown_config_flag_is_EINVAL)
{
	struct redial_config c = cfg;
	c.flags = 0x80000000u;
	redial_t *r = (redial_t *)0x1;
	int ret = redial_create(&c, &r);
	cr_expect_eq(ret, -EINVAL, "create with flags 0x80000000: %d (%s)", ret, strerror(-ret));
	cr_expect_eq(r, (redial_t *)0x1, "a failed create wrote ret_r");
	if (ret == 0)
		redial_destroy(r);
	c.flags = (REDIAL_CFG_NO_DEFER_TASKRUN | REDIAL_CFG_NO_FD_INSTALL) << 1;
	r = (redial_t *)0x1;
	ret = redial_create(&c, &r);
	cr_expect_eq(ret, -EINVAL, "create with the flag after the known ones: %d", ret);
	if (ret == 0)
		redial_destroy(r);
	close_listener();
	cr_expect_eq(tu_count_fds(), fds_before, "a failed create left fds open");
}

Test(embed, an_unknown_release_flag_is_EINVAL)
{
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	int peer = tu_accept(lfd, 10000);
	int fd = -7;
	int ret = redial_endpoint_release(r, id, REDIAL_RELEASE_RECONNECT << 1, &fd);
	cr_expect_eq(ret, -EINVAL, "release with an unknown flag: %d (%s)", ret, strerror(-ret));
	cr_expect_eq(fd, -7, "a failed release wrote ret_fd");
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED);
	close(peer);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

Test(embed, connected_orderly_disconnected_and_cancelled_carry_class_none)
{
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr, NULL);
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 1, REDIAL_SEC(10));
	int peer = tu_accept(lfd, 10000);
	struct tu_event ev;
	cr_assert(tu_nth_copy(&rec, REDIAL_EV_CONNECTED, id, 0, &ev));
	cr_expect_eq(ev.err, 0, "CONNECTED err %d", ev.err);
	cr_expect_eq(ev.cls, REDIAL_CLASS_NONE, "CONNECTED cls %d, expected REDIAL_CLASS_NONE (%d)",
		     ev.cls, REDIAL_CLASS_NONE);
	cr_assert_eq(close(peer), 0); /* an orderly close (FIN) */
	tu_run_until_event(r, &rec, REDIAL_EV_DISCONNECTED, id, 1, REDIAL_SEC(10));
	cr_assert(tu_nth_copy(&rec, REDIAL_EV_DISCONNECTED, id, 0, &ev));
	cr_expect_eq(ev.err, 0, "orderly DISCONNECTED err %d (%s)", ev.err, strerror(ev.err));
	cr_expect_eq(ev.cls, REDIAL_CLASS_NONE,
		     "orderly DISCONNECTED cls %d, expected REDIAL_CLASS_NONE (%d)", ev.cls,
		     REDIAL_CLASS_NONE);
	/* It reconnects to the listener; cancel it then. */
	tu_run_until_event(r, &rec, REDIAL_EV_CONNECTED, id, 2, REDIAL_SEC(10));
	peer = tu_accept(lfd, 10000);
	cr_assert_eq(redial_endpoint_cancel(r, id), 0);
	cr_assert(tu_nth_copy(&rec, REDIAL_EV_CANCELLED, id, 0, &ev), "no CANCELLED");
	cr_expect_eq(ev.err, 0, "CANCELLED err %d", ev.err);
	cr_expect_eq(ev.cls, REDIAL_CLASS_NONE, "CANCELLED cls %d, expected REDIAL_CLASS_NONE (%d)",
		     ev.cls, REDIAL_CLASS_NONE);
	close(peer);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

struct queued_arg {
	redial_t *r;
	uint32_t max_inflight;
};

static bool two_connecting_rest_queued(redial_t *r, void *arg)
{
	(void)r;
	struct queued_arg *a = arg;
	struct redial_stats s = tu_stats(a->r);
	if (s.attempts_inflight > a->max_inflight)
		a->max_inflight = s.attempts_inflight;
	return s.by_state[REDIAL_STATE_CONNECTING] == 2 && s.by_state[REDIAL_STATE_QUEUED] == 48;
}

Test(embed, endpoints_waiting_for_an_attempt_slot_are_QUEUED)
{
	cr_expect_str_eq(redial_state_name(REDIAL_STATE_QUEUED), "queued");
	close_listener();
	struct farm_target_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.kind = FARM_BLACKHOLE;
	struct farm *farm = NULL;
	farm = tu_farm_start(&spec, 1);
	int fds0 = tu_count_fds();

	struct redial_config c = cfg;
	c.max_connecting = 2;
	rec.defs.connect_timeout_ns = REDIAL_SEC(60); /* the two attempts stay in flight */
	redial_t *r = tu_make(&c);
	redial_id_t ids[50];
	for (unsigned i = 0; i < 50; i++) {
		char a[64];
		tu_addr(a, sizeof(a), 70, i, farm_port(farm, 0));
		ids[i] = tu_add(r, a, NULL);
	}
	struct queued_arg qa = { r, 0 };
	bool ok = tu_run_until(r, two_connecting_rest_queued, &qa, REDIAL_SEC(10));
	struct redial_stats s = tu_stats(r);
	cr_expect(ok, "by_state: %u CONNECTING, %u QUEUED, %u BACKOFF, %u IDLE (want 2 and 48)",
		  s.by_state[REDIAL_STATE_CONNECTING], s.by_state[REDIAL_STATE_QUEUED],
		  s.by_state[REDIAL_STATE_BACKOFF], s.by_state[REDIAL_STATE_IDLE]);
	cr_expect_leq(qa.max_inflight, 2, "%u attempts in flight with max_connecting 2",
		      qa.max_inflight);
	unsigned queued = 0, connecting = 0;
	for (unsigned i = 0; i < 50; i++) {
		enum redial_state st = tu_ep_stats(r, ids[i]).state;
		queued += st == REDIAL_STATE_QUEUED;
		connecting += st == REDIAL_STATE_CONNECTING;
	}
	cr_expect_eq(queued, 48, "%u endpoints report QUEUED in their own stats", queued);
	cr_expect_eq(connecting, 2, "%u endpoints report CONNECTING in their own stats", connecting);
	tu_finish_within(r, fds0, REDIAL_SEC(20));
	farm_stop(farm);
}

/* An application that adds its endpoints first and asks for redial_fd afterwards (the
 * order a load balancer that reads its config before it builds its event loop uses): the
 * new fd is readable at once, and polling it connects every endpoint. Before, the adds had
 * nothing to signal and the fd stayed quiet for ever. */
Test(embed, a_redial_fd_asked_for_after_the_adds_is_readable_and_drives_them)
{
	redial_t *r = tu_make(&cfg);
	for (unsigned i = 0; i < 20; i++)
		tu_add(r, addr, NULL);
	struct tu_loop l;
	tu_loop_open(&l, r);
	cr_assert(tu_loop_readable(&l, 5000), "redial_fd made after 20 adds is not readable");
	/* Every endpoint connected through the application's epoll loop. */
	tu_loop_until_event(&l, &rec, REDIAL_EV_CONNECTED, 0, 20, REDIAL_SEC(20));
	tu_loop_close(&l);
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
}

/* redial_shutdown cannot reap while the loop that called it runs: from an event callback and
 * from a posted function it says -EBUSY and does nothing (the endpoint stays connected); the
 * same call after redial_run returned shuts down. */
static int shutdown_ret[2] = { 1, 1 };

static void shutdown_from_callback(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == REDIAL_EV_CONNECTED && shutdown_ret[0] == 1)
		shutdown_ret[0] = redial_shutdown(r, REDIAL_SEC(1));
}

static void shutdown_posted(redial_t *r, void *arg)
{
	(void)arg;
	shutdown_ret[1] = redial_shutdown(r, REDIAL_SEC(1));
}

static bool both_tried(redial_t *r, void *arg)
{
	(void)r;
	(void)arg;
	return shutdown_ret[0] != 1 && shutdown_ret[1] != 1;
}

Test(embed, redial_shutdown_from_a_callback_or_a_posted_function_is_EBUSY_and_does_nothing)
{
	rec.hook = shutdown_from_callback;
	redial_t *r = tu_make(&cfg);
	redial_id_t id = tu_add(r, addr, NULL);
	cr_assert_eq(redial_post(r, shutdown_posted, NULL), 0);
	cr_assert(tu_run_until(r, both_tried, NULL, REDIAL_SEC(20)),
		  "the callback or the posted function never ran");
	cr_expect_eq(shutdown_ret[0], -EBUSY, "from a callback: %d", shutdown_ret[0]);
	cr_expect_eq(shutdown_ret[1], -EBUSY, "from a posted function: %d", shutdown_ret[1]);
	cr_expect_eq(tu_ep_stats(r, id).state, REDIAL_STATE_CONNECTED,
		     "a refused shutdown changed the endpoint");
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, id), 0, "a refused shutdown cancelled");
	rec.hook = NULL;
	close_listener();
	tu_finish_within(r, fds_before, REDIAL_SEC(20));
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, id), 1,
		     "the shutdown after the run did not cancel the endpoint");
}
