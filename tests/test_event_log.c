/* The event is the single source of the log: whatever the application's callback is handed,
 * and only that, is in the log, record for record, in the same order, with the same fields
 * and the same timestamp. Checked on a mixed scenario, across a redial_stop() in the middle
 * of a dispatch batch, and where events are dropped before dispatch because their endpoint
 * was cancelled (or removed) from another endpoint's callback in the same batch. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "farm.h"
#include "log/record.h"
#include "logread.h"
#include "redial_log.h"
#include "testutil.h"

enum { T_ACCEPT, T_REFUSE, T_BLACKHOLE, T_DROP, T_COUNT };

/* What the callback saw: the recorder, its tag counting the runs (run_once), so that events
 * can be told apart by the run that delivered them. */
static struct tu_recorder rec;
static struct farm *farm;
static char *tmpdir, logpath[128];
static struct redial_log *logp;
static int fds0;

/* One pass of the loop, counted, so that events can be told apart by the run that
 * delivered them. */
static int run_once(redial_t *r, uint64_t timeout_ns)
{
	rec.tag++;
	int ret = redial_run(r, timeout_ns);
	cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
	return ret;
}

static bool run_until(redial_t *r, bool (*pred)(redial_t *r, void *arg), void *arg,
		      uint64_t timeout_ns)
{
	uint64_t end = redial_now_ns() + timeout_ns;
	while (!pred(r, arg)) {
		if (redial_now_ns() >= end)
			return false;
		run_once(r, REDIAL_MSEC(10));
	}
	return true;
}

struct want {
	enum redial_event_type type;
	redial_id_t id;
	size_t n;
};

static bool have(redial_t *r, void *arg)
{
	(void)r;
	const struct want *w = arg;
	return tu_count(&rec, w->type, w->id) >= w->n;
}

static void wait_for(redial_t *r, enum redial_event_type type, redial_id_t id, size_t n)
{
	struct want w = { type, id, n };
	cr_assert(run_until(r, have, &w, REDIAL_SEC(30)), "only %zu of %zu %s events",
		  tu_count(&rec, type, id), n, redial_event_name(type));
}

/* ---- What the log holds ------------------------------------------------------------------ */

/* Reads every record of the log (flushed by the caller). */
static void read_log(struct lt_log *lg)
{
	int ret = lt_read_path(logpath, lg);
	cr_assert_eq(ret, 0, "%s: %s", logpath, strerror(-ret));
}

/* The log record type of an event type. */
static uint16_t log_type_of(enum redial_event_type t)
{
	switch (t) {
	case REDIAL_EV_ATTEMPT_FAILED:
		return REDIAL_LOG_CONNECT_FAILED;
	case REDIAL_EV_CONNECTED:
		return REDIAL_LOG_CONNECTED;
	case REDIAL_EV_ALERT:
		return REDIAL_LOG_ALERT;
	case REDIAL_EV_GAVE_UP:
		return REDIAL_LOG_GAVE_UP;
	case REDIAL_EV_DISCONNECTED:
		return REDIAL_LOG_DISCONNECTED;
	case REDIAL_EV_CANCELLED:
		return REDIAL_LOG_CANCELLED;
	}
	return 0;
}

static bool is_event_record(uint16_t type)
{
	return type == REDIAL_LOG_CONNECT_FAILED || type == REDIAL_LOG_CONNECTED ||
	       type == REDIAL_LOG_ALERT || type == REDIAL_LOG_GAVE_UP ||
	       type == REDIAL_LOG_DISCONNECTED || type == REDIAL_LOG_CANCELLED;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

/* The first n events seen and the event records of the log are the same sequence, field
 * by field where the record has the field. */
static void expect_log_matches(const struct lt_log *lg, size_t n)
{
	cr_expect_eq(lg->corrupt + lg->torn + lg->skipped, 0, "damaged items in the log");
	size_t k = 0;
	for (size_t i = 0; i < lg->n; i++) {
		const struct lt_rec *l = &lg->recs[i];
		if (!is_event_record(l->type))
			continue;
		if (k >= n) {
			cr_assert_fail("log record %zu (%s of %#llx) was never delivered", i,
				       rd_log_type_name(l->type), (unsigned long long)l->id);
		}
		const struct tu_event *e = &rec.ev[k];
		const char *what = redial_event_name(e->type);
		cr_assert_eq(l->type, log_type_of(e->type),
			     "event %zu: %s of %#llx delivered, %s of %#llx logged", k, what,
			     (unsigned long long)e->id, rd_log_type_name(l->type),
			     (unsigned long long)l->id);
		cr_assert_eq(l->id, e->id, "event %zu (%s): id", k, what);
		cr_assert_eq(l->mono_ns, e->mono_ns, "event %zu (%s): the record's time is not "
						     "the event's mono_ns", k, what);
		switch (e->type) {
		case REDIAL_EV_ATTEMPT_FAILED:
			cr_assert_eq(l->ev.attempt, e->attempt, "event %zu: attempt", k);
			cr_assert_eq(l->ev.err, e->err, "event %zu: err", k);
			cr_assert_eq(l->ev.cls, (uint8_t)e->cls, "event %zu: cls", k);
			cr_assert_eq(l->ev.duration_ns, e->duration_ns, "event %zu: duration", k);
			cr_assert_eq(l->ev.backoff_ns, e->backoff_ns, "event %zu: backoff", k);
			cr_assert_eq(l->ev.has_addr, e->has_addr, "event %zu: address", k);
			if (e->has_addr)
				cr_assert(same_addr(&l->ev.addr, &e->addr), "event %zu: address", k);
			break;
		case REDIAL_EV_CONNECTED:
			cr_assert_eq(l->ev.attempt, e->attempt, "event %zu: attempts", k);
			cr_assert_eq(l->ev.duration_ns, e->duration_ns, "event %zu: duration", k);
			cr_assert_eq(l->ev.down_ns, e->down_ns, "event %zu: down", k);
			break;
		case REDIAL_EV_ALERT:
			cr_assert_eq(l->ev.attempt, e->attempt, "event %zu: streak", k);
			cr_assert_eq(l->ev.err, e->err, "event %zu: err", k);
			break;
		case REDIAL_EV_GAVE_UP:
			cr_assert_eq(l->ev.reason, (uint8_t)e->reason, "event %zu: reason", k);
			cr_assert_eq(l->ev.err, e->err, "event %zu: err", k);
			cr_assert_eq(l->ev.attempt, e->attempt, "event %zu: attempts", k);
			break;
		case REDIAL_EV_DISCONNECTED:
			cr_assert_eq(l->ev.err, e->err, "event %zu: err", k);
			cr_assert_eq(l->ev.up_ns, e->up_ns, "event %zu: up", k);
			break;
		case REDIAL_EV_CANCELLED:
			break;
		}
		k++;
	}
	cr_assert_eq(k, n, "%zu events delivered, %zu logged", n, k);
}

/* ---- Fixture ------------------------------------------------------------------------------ */

static void setup(void)
{
	struct farm_target_spec specs[T_COUNT] = {
		[T_ACCEPT] = { .kind = FARM_ACCEPT },
		[T_REFUSE] = { .kind = FARM_REFUSE },
		[T_BLACKHOLE] = { .kind = FARM_BLACKHOLE },
		[T_DROP] = { .kind = FARM_DROP_AFTER, .hold_ms = 30 },
	};
	farm = tu_farm_start(specs, T_COUNT);
	tu_recorder_init(&rec);
	tmpdir = tu_tmpdir("redial-evlog");
	snprintf(logpath, sizeof(logpath), "%s/events.rlog", tmpdir);
	struct redial_log_config lc;
	redial_log_config_init(&lc);
	lc.path = logpath;
	lc.flush_interval_ns = REDIAL_MSEC(10);
	cr_assert_eq(redial_log_open(&lc, &logp), 0);
	fds0 = tu_count_fds();
}

static void teardown(void)
{
	if (logp)
		redial_log_close(logp);
	logp = NULL;
	tu_recorder_free(&rec);
	farm_stop(farm);
	farm = NULL;
	tu_rmrf(tmpdir);
	tmpdir = NULL;
}

TestSuite(event_log, .init = setup, .fini = teardown, .timeout = 180);

static redial_t *make(void)
{
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = 1024;
	cfg.seed = 42;
	cfg.on_event = tu_record;
	cfg.event_user = &rec;
	cfg.log = logp;
	return tu_make(&cfg);
}

static void fast_opts(struct redial_endpoint_opts *o)
{
	redial_endpoint_opts_init(o);
	o->backoff_initial_ns = REDIAL_MSEC(1);
	o->backoff_max_ns = REDIAL_MSEC(5);
	o->backoff_jitter = REDIAL_JITTER_NONE;
	o->alert_after = 0;
}

static redial_id_t add(redial_t *r, uint16_t port, const struct redial_endpoint_opts *o)
{
	return tu_add(r, tu_loopback(port), o);
}

/* The leak check: the endpoints removed (their CANCELLED events are part of what is
 * compared), the manager shut down and destroyed, no fd left; then the log closed. */
static void finish(redial_t *r, const redial_id_t *ids, size_t n)
{
	rec.hook = NULL;
	for (size_t i = 0; i < n; i++) {
		rec.tag++;
		int ret = redial_endpoint_remove(r, ids[i]);
		cr_expect(ret == 0 || ret == -ENOENT, "remove: %s", strerror(-ret));
	}
	struct redial_stats s = tu_stats(r);
	cr_expect_eq(s.endpoints, 0, "%u endpoints left", s.endpoints);
	cr_expect_eq(s.events_lost, 0);
	tu_finish(r, fds0);
	struct redial_log_stats ls = { .size = sizeof(ls) };
	cr_assert_eq(redial_log_stats_get(logp, &ls), 0);
	cr_expect_eq(ls.dropped, 0, "the log dropped records");
	cr_assert_eq(redial_log_close(logp), 0);
	logp = NULL;
}

/* ---- 1. A mixed scenario -------------------------------------------------------------------- */

struct mixed {
	redial_id_t refuse, blackhole, drop, accept, removed;
};

static bool mixed_ready(redial_t *r, void *arg)
{
	(void)r;
	const struct mixed *m = arg;
	return tu_count(&rec, REDIAL_EV_GAVE_UP, m->refuse) &&
	       tu_count(&rec, REDIAL_EV_GAVE_UP, m->blackhole) &&
	       tu_count(&rec, REDIAL_EV_DISCONNECTED, m->drop) >= 4 &&
	       tu_count(&rec, REDIAL_EV_ALERT, m->drop) &&
	       tu_count(&rec, REDIAL_EV_CONNECTED, m->accept) &&
	       tu_count(&rec, REDIAL_EV_CONNECTED, m->removed);
}

Test(event_log, every_event_and_only_events_are_logged_in_order)
{
	redial_t *r = make();
	struct redial_endpoint_opts o;
	struct mixed m;

	fast_opts(&o); /* refused: an alert at 2, give up at 4 */
	o.alert_after = 2;
	o.backoff_max_attempts = 4;
	m.refuse = add(r, farm_port(farm, T_REFUSE), &o);

	fast_opts(&o); /* blackholed: two timeouts, then give up */
	o.connect_timeout_ns = REDIAL_MSEC(100);
	o.backoff_max_attempts = 2;
	m.blackhole = add(r, farm_port(farm, T_BLACKHOLE), &o);

	fast_opts(&o); /* dropped after 30 ms: short connections count, an alert at 3 */
	o.alert_after = 3;
	m.drop = add(r, farm_port(farm, T_DROP), &o);

	fast_opts(&o);
	m.accept = add(r, farm_port(farm, T_ACCEPT), &o);   /* cancelled later */
	m.removed = add(r, farm_port(farm, T_ACCEPT), &o);  /* removed later */
	o.flags = REDIAL_EP_START_IDLE;
	redial_id_t late = add(r, farm_port(farm, T_ACCEPT), &o); /* started later */

	cr_assert(run_until(r, mixed_ready, &m, REDIAL_SEC(30)), "the scenario did not play out");
	cr_expect_eq(tu_count(&rec, 0, late), 0, "an IDLE endpoint had events");
	rec.tag++;
	cr_assert_eq(redial_endpoint_cancel(r, m.accept), 0);
	rec.tag++;
	cr_assert_eq(redial_endpoint_remove(r, m.removed), 0);
	cr_assert_eq(redial_endpoint_start(r, late), 0);
	wait_for(r, REDIAL_EV_CONNECTED, late, 1);
	/* And a little more of the dropping endpoint after all that. */
	size_t d = tu_count(&rec, REDIAL_EV_DISCONNECTED, m.drop);
	wait_for(r, REDIAL_EV_DISCONNECTED, m.drop, d + 2);

	/* The scenario has every kind of event. */
	cr_expect_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, m.refuse), 4);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_ALERT, m.refuse), 1);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_ATTEMPT_FAILED, m.blackhole), 2);
	for (size_t k = 0; k < 2; k++) {
		const struct tu_event *e = NULL;
		for (size_t i = 0, j = 0; i < rec.n && !e; i++)
			if (rec.ev[i].id == m.blackhole &&
			    rec.ev[i].type == REDIAL_EV_ATTEMPT_FAILED && j++ == k)
				e = &rec.ev[i];
		cr_assert_not_null(e);
		cr_expect_eq(e->err, ETIMEDOUT, "blackhole failure %zu: %s", k,
			     redial_errno_name(e->err));
	}
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, m.accept), 1);
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, m.removed), 1);

	redial_id_t ids[] = { m.refuse, m.blackhole, m.drop, m.accept, late };
	finish(r, ids, sizeof(ids) / sizeof(ids[0]));
	cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, m.drop), 1, "removing an active endpoint "
								 "cancels it");

	struct lt_log lf;
	read_log(&lf);
	expect_log_matches(&lf, rec.n);
	/* The lifetime records are there too, one per endpoint added and removed. */
	size_t added = 0, removed = 0;
	for (size_t i = 0; i < lf.n; i++) {
		added += lf.recs[i].type == REDIAL_LOG_ENDPOINT_ADDED;
		removed += lf.recs[i].type == REDIAL_LOG_ENDPOINT_REMOVED;
	}
	cr_expect_eq(added, 6);
	cr_expect_eq(removed, 6);
	lt_free(&lf);
}

/* ---- 2. redial_stop() in the middle of a dispatch batch ------------------------------------ */

enum { BATCH = 40, STOP_AT = 3 };
static bool stopped;

static void stop_hook(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (!stopped && rec.n == STOP_AT) {
		stopped = true;
		redial_stop(r);
	}
}

struct all_gave_up {
	const redial_id_t *ids;
	size_t n;
};

static bool everyone_gave_up(redial_t *r, void *arg)
{
	(void)r;
	const struct all_gave_up *a = arg;
	for (size_t i = 0; i < a->n; i++)
		if (!tu_count(&rec, REDIAL_EV_GAVE_UP, a->ids[i]))
			return false;
	return true;
}

Test(event_log, a_stop_in_mid_batch_delays_the_rest_and_the_log_agrees)
{
	redial_t *r = make();
	stopped = false;
	rec.hook = stop_hook;
	struct redial_endpoint_opts o;
	fast_opts(&o);
	o.backoff_initial_ns = o.backoff_max_ns = REDIAL_MSEC(20);
	o.backoff_max_attempts = 2;
	redial_id_t ids[BATCH];
	for (size_t i = 0; i < BATCH; i++)
		ids[i] = add(r, farm_port(farm, T_REFUSE), &o);

	/* Refused connects on loopback complete together: the first dispatch batch holds many
	 * events, and the third stops the run. */
	uint64_t end = redial_now_ns() + REDIAL_SEC(30);
	int got = 0;
	while (!stopped && redial_now_ns() < end)
		got = run_once(r, REDIAL_MSEC(10));
	cr_assert(stopped, "no events");
	unsigned stop_run = rec.tag;
	cr_assert_eq(rec.n, STOP_AT, "%zu events delivered by the run that was stopped at the "
				      "%dth", rec.n, STOP_AT);
	cr_expect_leq((size_t)got, rec.n);
	cr_expect_eq(redial_timeout_ms(r), 0, "events wait, yet the next wait would block");

	/* Nothing logged that was not delivered. */
	cr_assert_eq(redial_log_flush(logp, REDIAL_SEC(10)), 0);
	struct lt_log lf;
	read_log(&lf);
	expect_log_matches(&lf, rec.n);
	lt_free(&lf);

	/* The next run delivers the rest of the batch first, without waiting. */
	size_t before = rec.n;
	got = run_once(r, 0);
	cr_assert_gt(rec.n, before, "the rest of the batch was not delivered by the next run");
	cr_expect_eq((size_t)got, rec.n - before);
	cr_expect_eq(rec.ev[before].mono_ns, rec.ev[before - 1].mono_ns,
		     "the first event of the next run is not of the stopped batch");
	cr_expect_gt(rec.ev[before].tag, stop_run);

	struct all_gave_up a = { ids, BATCH };
	cr_assert(run_until(r, everyone_gave_up, &a, REDIAL_SEC(30)));
	/* Nothing delivered twice: each endpoint's story is exactly two failures and a
	 * give-up. */
	for (size_t i = 0; i < BATCH; i++) {
		uint32_t want_attempt = 1;
		size_t gave = 0, n = 0;
		for (size_t k = 0; k < rec.n; k++) {
			const struct tu_event *e = &rec.ev[k];
			if (e->id != ids[i])
				continue;
			n++;
			if (e->type == REDIAL_EV_ATTEMPT_FAILED) {
				cr_expect_eq(e->attempt, want_attempt, "endpoint %zu: attempt %u, "
								       "expected %u", i, e->attempt,
					     want_attempt);
				want_attempt++;
			} else {
				cr_expect_eq(e->type, REDIAL_EV_GAVE_UP);
				gave++;
			}
		}
		cr_expect_eq(n, 3, "endpoint %zu: %zu events", i, n);
		cr_expect_eq(gave, 1);
	}
	finish(r, ids, BATCH);
	read_log(&lf);
	expect_log_matches(&lf, rec.n);
	lt_free(&lf);
}

/* ---- 3. Events dropped before dispatch are not logged -------------------------------------- */

static redial_id_t batch_ids[BATCH];
static bool batch_cancelled[BATCH];
static bool batch_done;
static int batch_first = -1;
static int replaced_user; /* the user pointer of endpoints added in a slot just freed */
static redial_id_t replacements[BATCH];
static size_t nreplacements;
static bool use_remove;

static int batch_index(redial_id_t id)
{
	for (int i = 0; i < BATCH; i++)
		if (batch_ids[i] == id)
			return i;
	return -1;
}

/* At the first failure: every other endpoint that has had no event yet is cancelled (or
 * removed, and its slot taken at once by a new IDLE endpoint). Their failures that were
 * already reaped wait in the same batch: they must be dropped, delivered to nobody and
 * logged nowhere. */
static void cancel_hook(redial_t *r, const struct redial_event *ev, void *arg)
{
	(void)arg;
	if (batch_done || ev->type != REDIAL_EV_ATTEMPT_FAILED)
		return;
	batch_done = true;
	batch_first = batch_index(ev->id);
	for (int i = 0; i < BATCH; i++) {
		if (i == batch_first || tu_count(&rec, 0, batch_ids[i]))
			continue;
		batch_cancelled[i] = true;
		if (!use_remove) {
			cr_assert_eq(redial_endpoint_cancel(r, batch_ids[i]), 0);
			continue;
		}
		cr_assert_eq(redial_endpoint_remove(r, batch_ids[i]), 0);
		struct redial_endpoint_opts o;
		redial_endpoint_opts_init(&o);
		o.flags = REDIAL_EP_START_IDLE;
		o.user = &replaced_user;
		replacements[nreplacements++] = add(r, farm_port(farm, T_REFUSE), &o);
	}
}

static void dropped_events_scenario(bool remove)
{
	redial_t *r = make();
	use_remove = remove;
	batch_done = false;
	batch_first = -1;
	nreplacements = 0;
	memset(batch_cancelled, 0, sizeof(batch_cancelled));
	rec.hook = cancel_hook;
	struct redial_endpoint_opts o;
	fast_opts(&o);
	/* After its failure an endpoint waits in BACKOFF (still active, so it can be
	 * cancelled) for longer than the test. */
	o.backoff_initial_ns = o.backoff_max_ns = REDIAL_SEC(60);
	for (size_t i = 0; i < BATCH; i++)
		batch_ids[i] = add(r, farm_port(farm, T_REFUSE), &o);
	wait_for(r, REDIAL_EV_ATTEMPT_FAILED, 0, 1);
	cr_assert(batch_done);
	/* Let whatever else was in flight land. */
	for (int i = 0; i < 20; i++)
		run_once(r, REDIAL_MSEC(10));

	/* Each cancelled (removed) endpoint's one and only event is its CANCELLED; counted,
	 * and the first offender named, rather than one line per event. */
	size_t ncancelled = 0, dropped = 0, late = 0, misdirected = 0;
	const struct tu_event *first_late = NULL, *first_misdirected = NULL;
	for (int i = 0; i < BATCH; i++) {
		if (!batch_cancelled[i])
			continue;
		ncancelled++;
		redial_id_t id = batch_ids[i];
		for (size_t k = 0; k < rec.n; k++)
			if (rec.ev[k].id == id && rec.ev[k].type != REDIAL_EV_CANCELLED) {
				late++;
				if (!first_late)
					first_late = &rec.ev[k];
			}
		cr_expect_eq(tu_count(&rec, REDIAL_EV_CANCELLED, id), 1);
		if (!remove) {
			/* A failure the manager counted but nobody was told of: dropped. */
			struct redial_endpoint_stats s = tu_ep_stats(r, id);
			cr_expect_eq(s.state, REDIAL_STATE_CANCELLED);
			cr_expect_leq(s.failures, 1);
			dropped += s.failures;
		}
	}
	for (size_t k = 0; k < rec.n; k++)
		if (rec.ev[k].user == &replaced_user && !misdirected++)
			first_misdirected = &rec.ev[k];
	cr_assert_gt(ncancelled, 0, "the first event was the last of its batch");
	if (!remove)
		cr_expect_gt(dropped, 0, "no failure was reaped before the cancel: nothing dropped");
	cr_expect_eq(late, 0,
		     "%zu events delivered for %zu endpoints after they were %s, the first: %s of "
		     "%#llx",
		     late, ncancelled, remove ? "removed" : "cancelled",
		     first_late ? redial_event_name(first_late->type) : "",
		     first_late ? (unsigned long long)first_late->id : 0ull);
	cr_expect_eq(misdirected, 0,
		     "%zu events carry the user pointer of an IDLE endpoint added in a removed "
		     "endpoint's slot, the first: %s of %#llx",
		     misdirected, first_misdirected ? redial_event_name(first_misdirected->type) : "",
		     first_misdirected ? (unsigned long long)first_misdirected->id : 0ull);
	for (size_t i = 0; i < nreplacements; i++)
		cr_expect_eq(tu_state(r, replacements[i]), REDIAL_STATE_IDLE);

	redial_id_t all[2 * BATCH];
	size_t n = 0;
	for (int i = 0; i < BATCH; i++)
		all[n++] = batch_ids[i];
	for (size_t i = 0; i < nreplacements; i++)
		all[n++] = replacements[i];
	finish(r, all, n);

	struct lt_log lf;
	read_log(&lf);
	expect_log_matches(&lf, rec.n);
	/* Spelled out: no failure of a cancelled endpoint in the log. */
	size_t logged = 0;
	for (size_t i = 0; i < lf.n; i++) {
		int k = batch_index(lf.recs[i].id);
		logged += lf.recs[i].type == REDIAL_LOG_CONNECT_FAILED && k >= 0 &&
			  batch_cancelled[k];
	}
	cr_expect_eq(logged, 0, "%zu failures of %s endpoints are in the log", logged,
		     remove ? "removed" : "cancelled");
	lt_free(&lf);
}

Test(event_log, events_dropped_by_a_cancel_in_the_same_batch_are_not_logged)
{
	dropped_events_scenario(false);
}

Test(event_log, events_dropped_by_a_remove_in_the_same_batch_stay_dropped_when_the_slot_is_reused)
{
	dropped_events_scenario(true);
}
