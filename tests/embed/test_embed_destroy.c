/* test_embed_destroy.c — redial_destroy from inside an event callback, for every event type
 * the test can provoke: no crash, no callback after the destroy call, the outer
 * redial_run / redial_poll returns normally, every fd is closed (and the peers see it), and
 * nothing leaks (the ASan build checks that at exit). Each type is tried under redial_run
 * and under an epoll loop with redial_poll. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "farm.h"

enum { T_ACCEPT, T_REFUSE, T_ACCEPT_CLOSE, T_COUNT };
#define N_EP 10

static struct farm *farm;
static int fds_before;

static void setup(void)
{
	struct farm_target_spec specs[T_COUNT];
	memset(specs, 0, sizeof(specs));
	specs[T_ACCEPT].kind = FARM_ACCEPT;
	specs[T_REFUSE].kind = FARM_REFUSE;
	specs[T_ACCEPT_CLOSE].kind = FARM_ACCEPT_CLOSE;
	farm = tu_farm_start(specs, T_COUNT);
	fds_before = tu_count_fds();
}

static void teardown(void)
{
	farm_stop(farm);
	farm = NULL;
}

TestSuite(embed, .init = setup, .fini = teardown, .timeout = 120);

struct dctx {
	enum redial_event_type on; /* destroy on the first event of this type */
	bool cancel_first;         /* cancel the first CONNECTED endpoint from its callback */
	bool cancelled_one;
	int cancel_ret;
	bool destroyed;
	size_t before, after;      /* callbacks before / after the destroy call */
	size_t nested;             /* callbacks that began inside another one */
	int depth;
};

static struct dctx d;

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)user;
	if (d.destroyed) {
		d.after++;
		return;
	}
	d.before++;
	if (d.depth)
		d.nested++;
	d.depth++;
	if (d.cancel_first && ev->type == REDIAL_EV_CONNECTED && !d.cancelled_one) {
		d.cancelled_one = true;
		/* CANCELLED follows (inside this call or later); its callback destroys. The
		 * manager must not be touched after this returns: it may be destroyed. */
		d.cancel_ret = redial_endpoint_cancel(r, ev->id);
	} else if (ev->type == d.on) {
		d.destroyed = true;
		redial_destroy(r);
	}
	d.depth--;
}

static void destroy_in_callback(enum redial_event_type on, int target, bool use_poll,
				bool cancel_first)
{
	memset(&d, 0, sizeof(d));
	d.on = on;
	d.cancel_first = cancel_first;
	struct redial_endpoint_opts defs;
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.on_event = on_event;
	cfg.seed = 3;
	redial_endpoint_opts_init(&defs);
	defs.backoff_jitter = REDIAL_JITTER_NONE;
	defs.backoff_initial_ns = REDIAL_MSEC(10);
	defs.backoff_max_ns = REDIAL_MSEC(50);
	if (on == REDIAL_EV_ALERT)
		defs.alert_after = 2;
	if (on == REDIAL_EV_GAVE_UP) {
		defs.alert_after = 0;
		defs.backoff_max_attempts = 2;
	}
	cfg.endpoint_defaults = &defs;
	redial_t *r = tu_make(&cfg);

	struct tu_loop loop = { .ep = -1 };
	if (use_poll)
		tu_loop_open(&loop, r);
	for (unsigned i = 0; i < N_EP; i++) {
		char a[64];
		tu_addr(a, sizeof(a), 40 + (unsigned)target, i, farm_port(farm, (size_t)target));
		tu_add(r, a, NULL);
	}

	uint64_t end = redial_now_ns() + REDIAL_SEC(15);
	while (!d.destroyed && redial_now_ns() < end) {
		if (use_poll) {
			tu_loop_step(&loop, 100);
		} else {
			int ret = redial_run(r, REDIAL_MSEC(10));
			cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
		}
	}
	/* r is gone once the call that delivered the event returned. */
	cr_assert(d.destroyed, "no %s event within 15 s", redial_event_name(on));
	tu_loop_close(&loop);
	cr_expect_eq(d.after, 0, "%zu callbacks after redial_destroy was called", d.after);
	if (cancel_first)
		cr_expect_eq(d.cancel_ret, 0, "cancel in the CONNECTED callback: %s",
			     strerror(-d.cancel_ret));
	cr_expect(tu_leak_check(), "LeakSanitizer found leaks after the destroy (see above)");
	int fds = tu_count_fds();
	cr_expect_eq(fds, fds_before, "%d fds after the destroy took effect, %d before", fds,
		     fds_before);
	if (target != T_REFUSE) {
		/* The manager's connections are closed: the farm sees every peer go. */
		struct farm_counters c = { 0 };
		uint64_t end2 = redial_now_ns() + REDIAL_SEC(10);
		do {
			if (farm_counters(farm, (size_t)target, &c) == 0 && c.open == 0)
				break;
			tu_sleep_ms(10);
		} while (redial_now_ns() < end2);
		cr_expect_eq(c.open, 0, "the farm still holds %llu connections 10 s after the destroy",
			     (unsigned long long)c.open);
	}
}

Test(embed, destroy_in_connected_callback_under_run)
{
	destroy_in_callback(REDIAL_EV_CONNECTED, T_ACCEPT, false, false);
}

Test(embed, destroy_in_connected_callback_under_poll)
{
	destroy_in_callback(REDIAL_EV_CONNECTED, T_ACCEPT, true, false);
}

Test(embed, destroy_in_attempt_failed_callback_under_run)
{
	destroy_in_callback(REDIAL_EV_ATTEMPT_FAILED, T_REFUSE, false, false);
}

Test(embed, destroy_in_attempt_failed_callback_under_poll)
{
	destroy_in_callback(REDIAL_EV_ATTEMPT_FAILED, T_REFUSE, true, false);
}

Test(embed, destroy_in_disconnected_callback_under_run)
{
	destroy_in_callback(REDIAL_EV_DISCONNECTED, T_ACCEPT_CLOSE, false, false);
}

Test(embed, destroy_in_disconnected_callback_under_poll)
{
	destroy_in_callback(REDIAL_EV_DISCONNECTED, T_ACCEPT_CLOSE, true, false);
}

Test(embed, destroy_in_alert_callback_under_run)
{
	destroy_in_callback(REDIAL_EV_ALERT, T_REFUSE, false, false);
}

Test(embed, destroy_in_alert_callback_under_poll)
{
	destroy_in_callback(REDIAL_EV_ALERT, T_REFUSE, true, false);
}

Test(embed, destroy_in_gave_up_callback_under_run)
{
	destroy_in_callback(REDIAL_EV_GAVE_UP, T_REFUSE, false, false);
}

Test(embed, destroy_in_gave_up_callback_under_poll)
{
	destroy_in_callback(REDIAL_EV_GAVE_UP, T_REFUSE, true, false);
}

Test(embed, destroy_in_cancelled_callback_of_a_cancel_made_in_a_callback_under_run)
{
	destroy_in_callback(REDIAL_EV_CANCELLED, T_ACCEPT, false, true);
}

Test(embed, destroy_in_cancelled_callback_of_a_cancel_made_in_a_callback_under_poll)
{
	destroy_in_callback(REDIAL_EV_CANCELLED, T_ACCEPT, true, true);
}
