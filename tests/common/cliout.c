/* cliout.c — see cliout.h. */
#include "cliout.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "scratch.h"

struct tj *tu_parse_json(const char *text)
{
	char err[128];
	struct tj *v = tj_parse(text, strlen(text), err, sizeof(err));
	cr_assert_not_null(v, "not JSON: %s\n%s", err, text);
	return v;
}

/* ---- Reading what redial wrote --------------------------------------------------------------- */

struct tj *tu_read_summary(const char *path)
{
	size_t len;
	char *text = tu_slurp(path, &len), err[128];
	cr_assert_not_null(text, "no summary at %s", path);
	struct tj *v = tj_parse(text, len, err, sizeof(err));
	cr_assert_not_null(v, "summary %s is not JSON: %s\n%s", path, err, text);
	free(text);
	return v;
}

/* Decodes a log with `redial-log --json`, which must exit 0 (no torn or corrupt record). */
void tu_decode_log(const char *path, struct tu_records *recs)
{
	struct tu_args a = { .n = 0 };
	struct tu_result r;
	tu_args_add(&a, tu_bin("REDIAL_LOG_BIN"), "--json", path, NULL);
	tu_run(&a, 60, &r);
	cr_assert_eq(r.code, 0, "redial-log exit %d: %s", r.code, r.err);
	cr_assert_str_empty(r.err, "redial-log: %s", r.err);
	memset(recs, 0, sizeof(*recs));
	size_t cap = 0;
	for (char *line = r.out, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl, "unterminated last line from redial-log");
		char err[128];
		struct tj *v = tj_parse(line, (size_t)(nl - line), err, sizeof(err));
		cr_assert_not_null(v, "redial-log line is not JSON (%s): %.*s", err,
				   (int)(nl - line), line);
		if (recs->n == cap) {
			cap = cap ? cap * 2 : 256;
			recs->v = realloc(recs->v, cap * sizeof(*recs->v));
			cr_assert_not_null(recs->v);
		}
		recs->v[recs->n++] = v;
	}
	tu_result_free(&r);
}

void tu_records_free(struct tu_records *recs)
{
	for (size_t i = 0; i < recs->n; i++)
		tj_free(recs->v[i]);
	free(recs->v);
}

/* The records of one event type (and endpoint, unless NULL), in file order. */
size_t tu_select_records(const struct tu_records *recs, const char *event, const char *ep,
			 const struct tj **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < recs->n; i++) {
		const char *e = tj_str(tj_get(recs->v[i], "event"));
		const char *name = tj_str(tj_get(recs->v[i], "endpoint"));
		if (!e || strcmp(e, event) != 0 || (ep && (!name || strcmp(name, ep) != 0)))
			continue;
		if (n < cap)
			out[n] = recs->v[i];
		n++;
	}
	return n;
}

const struct tj *tu_endpoint_of(const struct tj *summary, const char *ep)
{
	const struct tj *list = tj_get(summary, "endpoints");
	for (size_t i = 0; tj_at(list, i); i++) {
		const char *name = tj_str(tj_get(tj_at(list, i), "endpoint"));
		if (name && strcmp(name, ep) == 0)
			return tj_at(list, i);
	}
	cr_assert_fail("endpoint %s is not in the summary", ep);
	return NULL;
}

double tu_num(const struct tj *o, const char *key)
{
	const struct tj *v = tj_get(o, key);
	cr_assert(v && v->kind == TJ_NUM, "\"%s\" is missing or not a number", key);
	return v->num;
}

const char *tu_str(const struct tj *o, const char *key)
{
	const struct tj *v = tj_get(o, key);
	cr_assert(v && v->kind == TJ_STR, "\"%s\" is missing or not a string", key);
	return v->str;
}

bool tu_is_null(const struct tj *o, const char *key)
{
	const struct tj *v = tj_get(o, key);
	return v && v->kind == TJ_NULL;
}

/* The summary's totals must be the sums of its endpoints, each endpoint's errors must count
 * at least its failures (disconnect errors are counted there too), and the figures must add
 * up: an endpoint's attempts (those that ended) are its connects and its failures that were
 * not lookups; the total of attempts adds those abandoned and those in flight at the stop. */
void tu_check_summary_consistent(const struct tj *sum, size_t endpoints)
{
	const struct tj *t = tj_get(sum, "totals"), *list = tj_get(sum, "endpoints");
	cr_assert_not_null(t);
	cr_assert(list && list->kind == TJ_ARR);
	cr_assert_eq(list->n, endpoints);
	cr_assert_eq(tu_num(t, "endpoints"), (double)endpoints);
	double att = 0, con = 0, fail = 0, disc = 0, gave = 0, dns = 0;
	for (size_t i = 0; i < list->n; i++) {
		const struct tj *e = tj_at(list, i);
		tu_str(e, "endpoint");
		const char *state = tu_str(e, "state");
		cr_assert(strcmp(state, "connected") == 0 || strcmp(state, "connecting") == 0 ||
				  strcmp(state, "backoff") == 0 || strcmp(state, "failed") == 0 ||
				  strcmp(state, "cancelled") == 0 || strcmp(state, "queued") == 0,
			  "state %s", state);
		att += tu_num(e, "attempts");
		con += tu_num(e, "connects");
		fail += tu_num(e, "failures");
		disc += tu_num(e, "disconnects");
		dns += tu_num(e, "dns_failures");
		cr_assert_eq(tu_num(e, "attempts"),
			     tu_num(e, "connects") + tu_num(e, "failures") -
				     tu_num(e, "dns_failures"));
		if (!tu_is_null(e, "gave_up"))
			gave++;
		if (tu_is_null(e, "last_error"))
			cr_assert(tu_is_null(e, "last_class"));
		else
			cr_assert(strcmp(tu_str(e, "last_class"), "transient") == 0 ||
				  strcmp(tu_str(e, "last_class"), "permanent") == 0 ||
				  strcmp(tu_str(e, "last_class"), "local") == 0);
		const struct tj *errs = tj_get(e, "errors");
		cr_assert(errs && errs->kind == TJ_OBJ);
		double nerr = 0;
		for (size_t k = 0; k < errs->n; k++)
			nerr += errs->v[k].num;
		cr_assert_geq(nerr, tu_num(e, "failures"));
	}
	double stopped = tu_num(t, "attempts_abandoned") + tu_num(t, "attempts_at_stop");
	cr_assert_eq(tu_num(t, "attempts"), att + stopped);
	cr_assert_eq(tu_num(t, "attempts"),
		     tu_num(t, "connects") + tu_num(t, "attempts_failed") + stopped);
	cr_assert_eq(tu_num(t, "failures"),
		     tu_num(t, "attempts_failed") + tu_num(t, "dns_failures"));
	cr_assert_eq(tu_num(t, "dns_failures"), dns);
	cr_assert_eq(tu_num(t, "connects"), con);
	cr_assert_eq(tu_num(t, "failures"), fail);
	cr_assert_eq(tu_num(t, "disconnects"), disc);
	cr_assert_eq(tu_num(t, "gave_up"), gave);
}

