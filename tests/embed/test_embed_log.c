/* test_embed_log.c — several managers, one per thread (thread-per-core), all writing to one
 * redial_log. The log, decoded by the real redial-log (--json), must attribute every record
 * to the right endpoint: each endpoint_added names the string its manager added under that
 * id, the events per id match what the managers' callbacks saw, ids differ across managers
 * (their serial byte differs), and `redial-log --endpoint ID` shows only that endpoint. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "farm.h"
#include "redial_log.h"

enum { T_ACCEPT, T_REFUSE, T_COUNT };
#define MAX_MGR 4
#define K_ACC 4
#define K_REF 4
#define K (K_ACC + K_REF)

static struct farm *farm;
static char *dir;
static char path[128];

static void setup(void)
{
	struct farm_target_spec specs[T_COUNT];
	memset(specs, 0, sizeof(specs));
	specs[T_ACCEPT].kind = FARM_ACCEPT;
	specs[T_REFUSE].kind = FARM_REFUSE;
	farm = tu_farm_start(specs, T_COUNT);
	dir = tu_tmpdir("embed-log");
	snprintf(path, sizeof(path), "%s/events.rlog", dir);
}

static void teardown(void)
{
	farm_stop(farm);
	farm = NULL;
	tu_rmrf(dir);
	dir = NULL;
}

TestSuite(embed, .init = setup, .fini = teardown, .timeout = 180);

struct mgr {
	int idx;
	struct redial_log *log;
	pthread_t t;
	struct tu_recorder rec;
	char names[K][64];
	redial_id_t ids[K];
	int create_ret, add_ret[K], shutdown_ret, remove_ret[K];
	bool done;
	struct redial_stats after;
	int stats_ret;
	char why[160];
};

static void *mgr_main(void *arg)
{
	struct mgr *m = arg;
	struct redial_config cfg;
	tu_config(&cfg, &m->rec);
	tu_fast_retry(&m->rec.defs);
	cfg.log = m->log;
	m->rec.defs.alert_after = 2;
	m->rec.defs.backoff_max_attempts = 3;
	m->rec.defs.backoff_initial_ns = REDIAL_MSEC(10);
	redial_t *r = NULL;
	m->create_ret = redial_create(&cfg, &r);
	if (m->create_ret < 0) {
		snprintf(m->why, sizeof(m->why), "%s", redial_strerror_create());
		return NULL;
	}
	for (int i = 0; i < K; i++)
		m->add_ret[i] = redial_endpoint_add(r, m->names[i], NULL, &m->ids[i], NULL, 0);
	uint64_t end = redial_now_ns() + REDIAL_SEC(20);
	while (redial_now_ns() < end) {
		if (redial_run(r, REDIAL_MSEC(10)) < 0)
			break;
		if (tu_count(&m->rec, REDIAL_EV_CONNECTED, 0) >= K_ACC &&
		    tu_count(&m->rec, REDIAL_EV_GAVE_UP, 0) >= K_REF) {
			m->done = true;
			break;
		}
	}
	m->shutdown_ret = redial_shutdown(r, REDIAL_SEC(10));
	memset(&m->after, 0, sizeof(m->after));
	m->after.size = sizeof(m->after);
	m->stats_ret = redial_stats_get(r, &m->after);
	for (int i = 0; i < K; i++)
		m->remove_ret[i] = m->ids[i] ? redial_endpoint_remove(r, m->ids[i]) : -ENOENT;
	redial_destroy(r);
	return NULL;
}

/* ---- The decoded log ---------------------------------------------------------------------- */

struct rec_line {
	char event[32];
	char endpoint[64]; /* "" for null */
	bool has_endpoint;
	redial_id_t id;
};

static bool json_str(const char *line, const char *key, char *out, size_t cap, bool *is_null)
{
	char k[48];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(line, k);
	if (!p)
		return false;
	p += strlen(k);
	if (strncmp(p, "null", 4) == 0) {
		out[0] = 0;
		if (is_null)
			*is_null = true;
		return true;
	}
	if (*p != '"')
		return false;
	p++;
	size_t n = 0;
	while (*p && *p != '"' && n + 1 < cap)
		out[n++] = *p++;
	out[n] = 0;
	if (is_null)
		*is_null = false;
	return *p == '"';
}

static bool json_u64(const char *line, const char *key, uint64_t *out)
{
	char k[48];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(line, k);
	if (!p)
		return false;
	char *e;
	*out = strtoull(p + strlen(k), &e, 10);
	return e != p + strlen(k);
}

/* Runs redial-log with args and parses its JSON lines. Returns the count. */
static size_t decode(const char *args, struct rec_line **ret)
{
	const char *bin = getenv("REDIAL_LOG_BIN");
	cr_assert_not_null(bin, "REDIAL_LOG_BIN is not set (meson sets it)");
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "'%s' --json %s '%s'", bin, args, path);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f, "popen %s: %s", cmd, strerror(errno));
	size_t n = 0, cap = 0;
	struct rec_line *v = NULL;
	char *line = NULL;
	size_t lcap = 0;
	while (getline(&line, &lcap, f) > 0) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
			cr_assert_not_null(v);
		}
		struct rec_line *rl = &v[n];
		memset(rl, 0, sizeof(*rl));
		bool is_null = true;
		cr_assert(json_str(line, "event", rl->event, sizeof(rl->event), NULL),
			  "no event in: %s", line);
		cr_assert(json_str(line, "endpoint", rl->endpoint, sizeof(rl->endpoint), &is_null),
			  "no endpoint in: %s", line);
		rl->has_endpoint = !is_null;
		uint64_t id;
		cr_assert(json_u64(line, "endpoint_id", &id), "no endpoint_id in: %s", line);
		rl->id = id;
		n++;
	}
	free(line);
	int st = pclose(f);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exited with status %d", cmd,
		  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	*ret = v;
	return n;
}

/* Counts failures and keeps the first message. */
struct agg {
	size_t n;
	char first[256];
};

__attribute__((format(printf, 2, 3))) static void agg_add(struct agg *a, const char *fmt, ...)
{
	if (!a->n++) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(a->first, sizeof(a->first), fmt, ap);
		va_end(ap);
	}
}

static const char *log_name(enum redial_event_type t)
{
	switch (t) {
	case REDIAL_EV_CONNECTED:
		return "connected";
	case REDIAL_EV_DISCONNECTED:
		return "disconnected";
	case REDIAL_EV_ATTEMPT_FAILED:
		return "connect_failed";
	case REDIAL_EV_ALERT:
		return "alert";
	case REDIAL_EV_GAVE_UP:
		return "gave_up";
	case REDIAL_EV_CANCELLED:
		return "cancelled";
	}
	return "?";
}

static void managers_share_a_log(int nm)
{
	int fds_before = tu_count_fds();
	struct redial_log_config lc;
	redial_log_config_init(&lc);
	lc.path = path;
	lc.min_level = REDIAL_LOG_DEBUG;
	struct redial_log *log = NULL;
	int ret = redial_log_open(&lc, &log);
	cr_assert_eq(ret, 0, "redial_log_open: %s", strerror(-ret));

	static struct mgr m[MAX_MGR];
	memset(m, 0, sizeof(m));
	for (int i = 0; i < nm; i++) {
		m[i].idx = i;
		m[i].log = log;
		for (int k = 0; k < K; k++) /* the farm is read on this thread only */
			tu_addr(m[i].names[k], sizeof(m[i].names[k]), 50 + (unsigned)i, (unsigned)k,
				farm_port(farm, k < K_ACC ? T_ACCEPT : T_REFUSE));
		tu_recorder_init(&m[i].rec);
		cr_assert_eq(pthread_create(&m[i].t, NULL, mgr_main, &m[i]), 0);
	}
	for (int i = 0; i < nm; i++)
		pthread_join(m[i].t, NULL);
	ret = redial_log_close(log);
	cr_assert_eq(ret, 0, "redial_log_close: %s", strerror(-ret));

	for (int i = 0; i < nm; i++) {
		cr_assert_eq(m[i].create_ret, 0, "manager %d: redial_create: %s: %s", i,
			     strerror(-m[i].create_ret), m[i].why);
		for (int k = 0; k < K; k++) {
			cr_assert_eq(m[i].add_ret[k], 0, "manager %d: add %s: %s", i, m[i].names[k],
				     strerror(-m[i].add_ret[k]));
			cr_expect_eq(m[i].remove_ret[k], 0, "manager %d: remove %s: %s", i,
				     m[i].names[k], strerror(-m[i].remove_ret[k]));
		}
		cr_expect(m[i].done, "manager %d: its endpoints did not all connect / give up in 20 s "
			  "(%zu connected, %zu gave up)", i,
			  tu_count(&m[i].rec, REDIAL_EV_CONNECTED, 0),
			  tu_count(&m[i].rec, REDIAL_EV_GAVE_UP, 0));
		cr_expect_eq(m[i].shutdown_ret, 0, "manager %d: shutdown: %s", i,
			     strerror(-m[i].shutdown_ret));
		cr_expect_eq(m[i].stats_ret, 0);
		cr_expect_eq(m[i].after.inflight_ops, 0, "manager %d: ops in flight after shutdown", i);
		cr_expect_eq(m[i].after.attempts_inflight, 0);
		cr_expect_eq(m[i].after.fds_open, 0, "manager %d: fds owned after shutdown", i);
	}
	cr_expect_eq(tu_count_fds(), fds_before, "fds %d, %d before", tu_count_fds(), fds_before);

	/* Ids differ across managers, and each manager's serial byte is its own. */
	size_t mixed = 0, shared_serial = 0, same_id = 0;
	char first[160] = "";
	for (int i = 0; i < nm; i++) {
		unsigned si = (unsigned)((m[i].ids[0] >> 24) & 0xff);
		for (int k = 0; k < K; k++)
			mixed += ((m[i].ids[k] >> 24) & 0xff) != si;
		for (int j = i + 1; j < nm; j++) {
			if (((m[j].ids[0] >> 24) & 0xff) == si && !shared_serial++)
				snprintf(first, sizeof(first), "managers %d and %d share serial byte %#x",
					 i, j, si);
			for (int k = 0; k < K; k++)
				for (int l = 0; l < K; l++)
					if (m[i].ids[k] == m[j].ids[l] && !same_id++ && !first[0])
						snprintf(first, sizeof(first),
							 "managers %d and %d both gave out id %#llx", i,
							 j, (unsigned long long)m[i].ids[k]);
		}
	}
	cr_expect_eq(mixed, 0, "%zu ids do not carry their manager's serial byte", mixed);
	cr_expect_eq(shared_serial + same_id, 0,
		     "%zu manager pairs share a serial byte, %zu ids are given out twice (%s)",
		     shared_serial, same_id, first);

	/* The whole log. */
	struct rec_line *v = NULL;
	size_t n = decode("", &v);
	cr_assert_gt(n, 0, "the decoded log is empty");
	size_t unknown = 0, dropped = 0;
	struct agg misnamed = { 0 };
	const char *first_unknown = NULL;
	for (size_t x = 0; x < n; x++) {
		if (strcmp(v[x].event, "dropped") == 0) {
			dropped++;
			continue;
		}
		const char *want = NULL;
		for (int i = 0; i < nm && !want; i++)
			for (int k = 0; k < K; k++)
				if (m[i].ids[k] == v[x].id)
					want = m[i].names[k];
		if (!want) {
			if (!unknown++)
				first_unknown = v[x].event;
			continue;
		}
		if (!v[x].has_endpoint || strcmp(v[x].endpoint, want) != 0)
			agg_add(&misnamed, "a %s record of id %#llx names \"%s\", that id was added "
				"as \"%s\"", v[x].event, (unsigned long long)v[x].id, v[x].endpoint,
				want);
	}
	cr_expect_eq(unknown, 0, "%zu records carry an id no manager gave out (first: %s)", unknown,
		     first_unknown ? first_unknown : "");
	cr_expect_eq(misnamed.n, 0, "%zu records are attributed to the wrong endpoint string; "
		     "first: %s", misnamed.n, misnamed.first);
	cr_expect_eq(dropped, 0, "the log dropped records");

	static const enum redial_event_type types[] = {
		REDIAL_EV_CONNECTED, REDIAL_EV_DISCONNECTED, REDIAL_EV_ATTEMPT_FAILED,
		REDIAL_EV_ALERT,     REDIAL_EV_GAVE_UP,      REDIAL_EV_CANCELLED,
	};
	struct agg bad_added = { 0 }, bad_count = { 0 };
	for (int i = 0; i < nm; i++) {
		for (int k = 0; k < K; k++) {
			redial_id_t id = m[i].ids[k];
			size_t added = 0, removed = 0;
			for (size_t x = 0; x < n; x++) {
				if (v[x].id != id)
					continue;
				if (strcmp(v[x].event, "endpoint_added") == 0) {
					added++;
					if (strcmp(v[x].endpoint, m[i].names[k]) != 0)
						agg_add(&bad_added, "endpoint_added of id %#llx names %s, "
							"manager %d added %s under it",
							(unsigned long long)id, v[x].endpoint, i,
							m[i].names[k]);
				}
				removed += strcmp(v[x].event, "endpoint_removed") == 0;
			}
			if (added != 1)
				agg_add(&bad_added, "%zu endpoint_added records for %s (manager %d)",
					added, m[i].names[k], i);
			if (removed != 1)
				agg_add(&bad_added, "%zu endpoint_removed records for %s (manager %d)",
					removed, m[i].names[k], i);
			for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
				size_t cb = tu_count(&m[i].rec, types[ti], id), lg = 0;
				for (size_t x = 0; x < n; x++)
					lg += v[x].id == id && strcmp(v[x].event, log_name(types[ti])) == 0;
				if (lg != cb)
					agg_add(&bad_count, "%s (manager %d): %zu %s records in the log, "
						"%zu callbacks", m[i].names[k], i, lg,
						log_name(types[ti]), cb);
			}
		}
	}
	cr_expect_eq(bad_added.n, 0, "%zu wrong endpoint_added/removed records; first: %s",
		     bad_added.n, bad_added.first);
	cr_expect_eq(bad_count.n, 0, "%zu (endpoint, event) pairs whose log count differs from the "
		     "callbacks'; first: %s", bad_count.n, bad_count.first);

	/* --endpoint ID: that endpoint's records only, all of them. */
	for (int i = 0; i < nm; i++) {
		int k = i % 2 ? K_ACC : 0; /* an accepting one, or a refusing one */
		redial_id_t id = m[i].ids[k];
		size_t all = 0;
		for (size_t x = 0; x < n; x++)
			all += v[x].id == id;
		char args[64];
		snprintf(args, sizeof(args), "--endpoint %" PRIu64, (uint64_t)id);
		struct rec_line *w = NULL;
		size_t wn = decode(args, &w);
		size_t other = 0;
		for (size_t x = 0; x < wn; x++)
			other += w[x].id != id;
		cr_expect_eq(other, 0, "redial-log --endpoint %" PRIu64 " shows %zu records of other "
			     "endpoints", (uint64_t)id, other);
		cr_expect_eq(wn, all, "redial-log --endpoint %" PRIu64 " shows %zu records, the log "
			     "has %zu for it", (uint64_t)id, wn, all);
		free(w);
	}
	free(v);
	for (int i = 0; i < nm; i++)
		tu_recorder_free(&m[i].rec);
}

Test(embed, two_managers_on_two_threads_share_one_log)
{
	managers_share_a_log(2);
}

Test(embed, four_managers_on_four_threads_share_one_log)
{
	managers_share_a_log(4);
}
