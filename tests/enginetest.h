/* enginetest.h — small helpers shared by the engine-level test programs: a manager made or
 * the test fails, endpoints added or the test fails, counters read in one call. */
#ifndef ENGINETEST_H
#define ENGINETEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "redial.h"
#include "testutil.h"

static inline redial_t *et_make(const struct redial_config *cfg)
{
	redial_t *r = NULL;
	int ret = redial_create(cfg, &r);
	cr_assert_eq(ret, 0, "create: %s: %s", strerror(-ret), redial_strerror_create());
	return r;
}

static inline redial_id_t et_add(redial_t *r, const char *s, const struct redial_endpoint_opts *o)
{
	redial_id_t id = 0;
	char err[256] = "";
	int ret = redial_endpoint_add(r, s, o, &id, err, sizeof(err));
	cr_assert_eq(ret, 0, "add %s: %s (%s)", s, strerror(-ret), err);
	return id;
}

static inline struct redial_stats et_stats(redial_t *r)
{
	struct redial_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_stats_get(r, &s), 0);
	return s;
}

static inline struct redial_endpoint_stats et_ep_stats(redial_t *r, redial_id_t id)
{
	struct redial_endpoint_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_endpoint_stats_get(r, id, &s), 0);
	return s;
}

/* "127.0.0.1:port" in a rotating static buffer. */
static inline const char *et_loopback(uint16_t port)
{
	static char buf[8][32];
	static unsigned k;
	char *b = buf[k++ % 8];
	snprintf(b, 32, "127.0.0.1:%u", port);
	return b;
}

struct et_want {
	struct tu_recorder *rec;
	enum redial_event_type type;
	redial_id_t id;
	size_t n;
};

static inline bool et_have(redial_t *r, void *arg)
{
	(void)r;
	struct et_want *w = arg;
	return tu_count(w->rec, w->type, w->id) >= w->n;
}

/* Runs until n events of a type (for id, or any when 0) were recorded; fails the test
 * when timeout_ns passes first. */
static inline void et_run_until(redial_t *r, struct tu_recorder *rec, enum redial_event_type type,
				redial_id_t id, size_t n, uint64_t timeout_ns)
{
	struct et_want w = { rec, type, id, n };
	cr_assert(tu_run_until(r, et_have, &w, timeout_ns), "only %zu of %zu %s events",
		  tu_count(rec, type, id), n, redial_event_name(type));
}

#endif
