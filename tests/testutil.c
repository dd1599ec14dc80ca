/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

int tu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d, "opendir /proc/self/fd");
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

void tu_record(redial_t *r, const struct redial_event *ev, void *user)
{
	struct tu_recorder *rec = user;
	if (rec->n == rec->cap) {
		rec->cap = rec->cap ? rec->cap * 2 : 256;
		rec->ev = realloc(rec->ev, rec->cap * sizeof(*rec->ev));
		cr_assert_not_null(rec->ev);
	}
	struct tu_event *t = &rec->ev[rec->n++];
	memset(t, 0, sizeof(*t));
	t->type = ev->type;
	t->id = ev->id;
	t->fd = ev->fd;
	t->err = ev->err;
	t->cls = ev->cls;
	t->attempt = ev->attempt;
	t->duration_ns = ev->duration_ns;
	t->backoff_ns = ev->backoff_ns;
	t->down_ns = ev->down_ns;
	t->up_ns = ev->up_ns;
	t->mono_ns = ev->mono_ns;
	t->reason = ev->reason;
	if (rec->hook)
		rec->hook(r, ev, rec->hook_arg);
}

void tu_recorder_free(struct tu_recorder *rec)
{
	free(rec->ev);
	memset(rec, 0, sizeof(*rec));
}

size_t tu_count(const struct tu_recorder *rec, enum redial_event_type type, redial_id_t id)
{
	size_t n = 0;
	for (size_t i = 0; i < rec->n; i++)
		if (rec->ev[i].type == type && (!id || rec->ev[i].id == id))
			n++;
	return n;
}

const struct tu_event *tu_nth(const struct tu_recorder *rec, enum redial_event_type type,
			      redial_id_t id, size_t k)
{
	for (size_t i = 0; i < rec->n; i++)
		if (rec->ev[i].type == type && (!id || rec->ev[i].id == id) && k-- == 0)
			return &rec->ev[i];
	return NULL;
}

bool tu_run_until(redial_t *r, bool (*pred)(redial_t *r, void *arg), void *arg,
		  uint64_t timeout_ns)
{
	uint64_t end = redial_now_ns() + timeout_ns;
	for (;;) {
		if (pred(r, arg))
			return true;
		if (redial_now_ns() >= end)
			return false;
		int ret = redial_run(r, REDIAL_MSEC(10));
		cr_assert_geq(ret, 0, "redial_run: %s", strerror(-ret));
	}
}

void tu_config(struct redial_config *cfg, struct tu_recorder *rec)
{
	redial_config_init(cfg);
	cfg->on_event = tu_record;
	cfg->event_user = rec;
	cfg->seed = 42;
	cfg->max_endpoints = 8192;
	cfg->endpoint_defaults.backoff.jitter = REDIAL_JITTER_NONE;
}

uint32_t tu_state_count(redial_t *r, enum redial_state st)
{
	struct redial_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_stats(r, &s), 0);
	return s.by_state[st];
}

enum redial_state tu_state(redial_t *r, redial_id_t id)
{
	struct redial_endpoint_stats s = { .size = sizeof(s) };
	int ret = redial_endpoint_stats(r, id, &s);
	cr_assert_eq(ret, 0, "endpoint_stats: %s", strerror(-ret));
	return s.state;
}

void tu_finish(redial_t *r, int fds_before)
{
	int ret = redial_shutdown(r, REDIAL_SEC(10));
	cr_assert_eq(ret, 0, "shutdown: %s", strerror(-ret));
	struct redial_stats s = { .size = sizeof(s) };
	cr_assert_eq(redial_stats(r, &s), 0);
	cr_expect_eq(s.inflight_ops, 0, "ops still in flight: %lu", (unsigned long)s.inflight_ops);
	cr_expect_eq(s.attempts_inflight, 0, "attempts still held: %u", s.attempts_inflight);
	cr_expect_eq(s.fds_open, 0, "fds still owned: %u", s.fds_open);
	cr_expect_eq(s.lost_cqes, 0);
	redial_destroy(r);
	cr_expect_eq(tu_count_fds(), fds_before, "fd count %d, expected %d", tu_count_fds(),
		     fds_before);
}
