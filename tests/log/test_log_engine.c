/* test_log_engine.c — the log behind a real manager: an endpoint whose port refuses leaves
 * endpoint_added, a connect_failed per attempt (with its address), an alert at alert_after,
 * gave_up at max_attempts and endpoint_removed, in that order, and redial-log's reader sees
 * exactly what the events said. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logread.h"
#include "testutil.h"


TestSuite(log_engine, .init = tu_scratch_setup, .fini = tu_scratch_remove, .timeout = 60);

Test(log_engine, a_refusing_endpoint_leaves_its_whole_story_in_the_log)
{
	uint16_t port;
	int hold = tu_refusing_port(&port);
	char ep[32];
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", port);
	char *path = tu_path(tu_dir, "engine.rlog");

	struct redial_log_config lc;
	struct redial_log *log;
	redial_log_config_init(&lc);
	lc.path = path;
	lc.alert_after = 3;
	cr_assert_eq(redial_log_open(&lc, &log), 0);

	struct tu_recorder rec;
	tu_recorder_init(&rec);
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = 8;
	cfg.log = log;
	cfg.on_event = tu_record;
	cfg.event_user = &rec;
	struct redial_endpoint_opts defs;
	redial_endpoint_opts_init(&defs);
	defs.backoff_initial_ns = REDIAL_MSEC(1);
	defs.backoff_max_ns = REDIAL_MSEC(5);
	defs.backoff_max_attempts = 5;
	defs.alert_after = 3;
	cfg.endpoint_defaults = &defs;
	redial_t *r;
	int ret = redial_create(&cfg, &r);
	if (ret == -EPERM || ret == -ENOSYS || ret == -EOPNOTSUPP)
		cr_skip_test("no usable io_uring here: %s", redial_strerror_create());
	cr_assert_eq(ret, 0, "%s", redial_strerror_create());
	redial_id_t id;
	cr_assert_eq(redial_endpoint_add(r, ep, NULL, &id, NULL, 0), 0);
	uint64_t deadline = tu_now_ns() + 10000000000ull;
	while (!tu_count(&rec, REDIAL_EV_GAVE_UP, 0) && tu_now_ns() < deadline)
		cr_assert_geq(redial_run(r, REDIAL_MSEC(50)), 0);
	cr_assert_eq(tu_count(&rec, REDIAL_EV_GAVE_UP, 0), 1, "the endpoint never gave up");
	cr_assert_eq(redial_endpoint_remove(r, id), 0);
	redial_destroy(r);
	cr_assert_eq(redial_log_close(log), 0);
	close(hold);

	struct lt_log lg;
	cr_assert_eq(lt_read_path(path, &lg), 0);
	cr_assert_eq(lg.corrupt + lg.torn, 0);
	cr_expect_eq(lg.last_hdr.alert_after, 3);
	size_t i = 0;
	cr_assert_geq(lg.n, 1);
	cr_expect_eq(lg.recs[i].type, REDIAL_LOG_ENDPOINT_ADDED);
	cr_expect_eq(lg.recs[i].id, id);
	cr_expect_eq(lg.recs[i].ev.str_len, strlen(ep));
	cr_expect(memcmp(lg.recs[i].ev.str, ep, strlen(ep)) == 0);
	int failed = 0, alerts = 0, gave_up = 0, removed = 0;
	uint64_t last_mono = 0;
	for (i = 0; i < lg.n; i++) {
		struct lt_rec *rc = &lg.recs[i];
		cr_expect_eq(rc->id, id);
		cr_expect_geq(rc->mono_ns, last_mono, "records in time order");
		last_mono = rc->mono_ns;
		switch (rc->type) {
		case REDIAL_LOG_CONNECT_FAILED: {
			failed++;
			cr_expect_eq(rc->ev.attempt, (uint32_t)failed);
			cr_expect_eq(rc->ev.err, ECONNREFUSED);
			cr_expect_eq(rc->ev.cls, REDIAL_CLASS_TRANSIENT);
			cr_assert(rc->ev.has_addr);
			char a[64];
			redial_endpoint_format((struct sockaddr *)&rc->ev.addr, a, sizeof(a));
			cr_expect_str_eq(a, ep);
			break;
		}
		case REDIAL_LOG_ALERT:
			alerts++;
			cr_expect_eq(failed, 3, "alert right after the third failure");
			cr_expect_eq(rc->ev.attempt, 3);
			cr_expect_eq(rc->ev.err, ECONNREFUSED);
			break;
		case REDIAL_LOG_GAVE_UP:
			gave_up++;
			cr_expect_eq(rc->ev.reason, REDIAL_GAVE_UP_MAX_ATTEMPTS);
			cr_expect_eq(rc->ev.err, ECONNREFUSED);
			cr_expect_eq(rc->ev.attempt, 5);
			break;
		case REDIAL_LOG_ENDPOINT_REMOVED:
			removed++;
			cr_expect_eq(i, lg.n - 1, "removal is the last word");
			break;
		default:
			break;
		}
	}
	cr_expect_eq((size_t)failed, tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, 0),
		     "one record per failed-attempt event");
	cr_expect_eq(failed, 5);
	cr_expect_eq((size_t)alerts, tu_count(&rec, REDIAL_EV_ALERT, 0));
	cr_expect_eq(alerts, 1);
	cr_expect_eq(gave_up, 1);
	cr_expect_eq(removed, 1);
	lt_free(&lg);
	tu_recorder_free(&rec);
	free(path);
}
