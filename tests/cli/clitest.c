/* clitest.c — see clitest.h. */
#include "clitest.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/seccomp.h>

/* ---- Processes ------------------------------------------------------------------------------- */

char dir[64];

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

void scratch_dir_make(const char *prefix)
{
	snprintf(dir, sizeof(dir), "/tmp/%s-XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(dir));
}

void scratch_dir_remove(void)
{
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *bin(const char *var)
{
	const char *p = getenv(var);
	cr_assert(p && *p, "%s is not set (run the tests through meson test)", var);
	return p;
}

void path_in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char tmp[65536];
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		memcpy(buf + len, tmp, n);
		len += n;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	buf[len] = 0;
	if (ret_len)
		*ret_len = len;
	return buf;
}

void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* Starts argv (argv[0] is the binary) with stdout and stderr going to files in dir and
 * stdin from /dev/null. An optional seccomp filter is installed in the child first. */
void spawn(struct proc *p, const char *const *argv, const struct sock_fprog *filter)
{
	static unsigned seq;
	seq++;
	snprintf(p->out_path, sizeof(p->out_path), "%s/out.%u", dir, seq);
	snprintf(p->err_path, sizeof(p->err_path), "%s/err.%u", dir, seq);
	p->started = now_s();
	p->pid = fork();
	cr_assert(p->pid >= 0, "fork: %s", strerror(errno));
	if (p->pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(120);
		if (filter && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
			       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter) != 0))
			_exit(121);
		execv(argv[0], (char *const *)argv);
		_exit(122);
	}
}

/* Waits for p to exit, at most timeout_s (then kills it and fails the test). */
void finish(struct proc *p, double timeout_s, struct result *r)
{
	int st;
	for (;;) {
		pid_t w = waitpid(p->pid, &st, WNOHANG);
		cr_assert(w >= 0, "waitpid: %s", strerror(errno));
		if (w == p->pid)
			break;
		if (now_s() - p->started > timeout_s) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			char *err = slurp(p->err_path, NULL);
			cr_assert_fail("still running after %.1f s; stderr:\n%s", timeout_s,
				       err ? err : "");
		}
		usleep(5000);
	}
	r->secs = now_s() - p->started;
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(p->out_path, &r->out_len);
	r->err = slurp(p->err_path, NULL);
	cr_assert(r->out && r->err);
}

void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

void arg(struct args *a, const char *fmt, ...)
{
	cr_assert_lt(a->n, 62);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->store[a->n], sizeof(a->store[a->n]), fmt, ap);
	va_end(ap);
	a->v[a->n] = a->store[a->n];
	a->n++;
	a->v[a->n] = NULL;
}

void run(struct args *a, double timeout_s, struct result *r)
{
	struct proc p;
	spawn(&p, a->v, NULL);
	finish(&p, timeout_s, r);
}

/* ---- Reading what redial wrote --------------------------------------------------------------- */

struct tj *read_summary(const char *path)
{
	size_t len;
	char *text = slurp(path, &len), err[128];
	cr_assert_not_null(text, "no summary at %s", path);
	struct tj *v = tj_parse(text, len, err, sizeof(err));
	cr_assert_not_null(v, "summary %s is not JSON: %s\n%s", path, err, text);
	free(text);
	return v;
}

/* Decodes a log with `redial-log --json`, which must exit 0 (no torn or corrupt record). */
void decode_log(const char *path, struct records *recs)
{
	struct args a = { .n = 0 };
	struct result r;
	arg(&a, "%s", bin("REDIAL_LOG_BIN"));
	arg(&a, "--json");
	arg(&a, "%s", path);
	run(&a, 60, &r);
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
	result_free(&r);
}

void records_free(struct records *recs)
{
	for (size_t i = 0; i < recs->n; i++)
		tj_free(recs->v[i]);
	free(recs->v);
}

/* The records of one event type (and endpoint, unless NULL), in file order. */
size_t select_records(const struct records *recs, const char *event, const char *ep,
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

const struct tj *endpoint_of(const struct tj *summary, const char *ep)
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

double num(const struct tj *o, const char *key)
{
	const struct tj *v = tj_get(o, key);
	cr_assert(v && v->kind == TJ_NUM, "\"%s\" is missing or not a number", key);
	return v->num;
}

const char *str(const struct tj *o, const char *key)
{
	const struct tj *v = tj_get(o, key);
	cr_assert(v && v->kind == TJ_STR, "\"%s\" is missing or not a string", key);
	return v->str;
}

bool is_null(const struct tj *o, const char *key)
{
	const struct tj *v = tj_get(o, key);
	return v && v->kind == TJ_NULL;
}

/* The summary's totals must be the sums of its endpoints, each endpoint's errors must count
 * at least its failures (disconnect errors are counted there too), and the figures must add
 * up: an endpoint's attempts (those that ended) are its connects and its failures that were
 * not lookups; the total of attempts adds those abandoned and those in flight at the stop. */
void check_summary_consistent(const struct tj *sum, size_t endpoints)
{
	const struct tj *t = tj_get(sum, "totals"), *list = tj_get(sum, "endpoints");
	cr_assert_not_null(t);
	cr_assert(list && list->kind == TJ_ARR);
	cr_assert_eq(list->n, endpoints);
	cr_assert_eq(num(t, "endpoints"), (double)endpoints);
	double att = 0, con = 0, fail = 0, disc = 0, gave = 0, dns = 0;
	for (size_t i = 0; i < list->n; i++) {
		const struct tj *e = tj_at(list, i);
		str(e, "endpoint");
		const char *state = str(e, "state");
		cr_assert(strcmp(state, "connected") == 0 || strcmp(state, "connecting") == 0 ||
				  strcmp(state, "backoff") == 0 || strcmp(state, "failed") == 0 ||
				  strcmp(state, "cancelled") == 0 || strcmp(state, "queued") == 0,
			  "state %s", state);
		att += num(e, "attempts");
		con += num(e, "connects");
		fail += num(e, "failures");
		disc += num(e, "disconnects");
		dns += num(e, "dns_failures");
		cr_assert_eq(num(e, "attempts"),
			     num(e, "connects") + num(e, "failures") - num(e, "dns_failures"));
		if (!is_null(e, "gave_up"))
			gave++;
		if (is_null(e, "last_error"))
			cr_assert(is_null(e, "last_class"));
		else
			cr_assert(strcmp(str(e, "last_class"), "transient") == 0 ||
				  strcmp(str(e, "last_class"), "permanent") == 0 ||
				  strcmp(str(e, "last_class"), "local") == 0);
		const struct tj *errs = tj_get(e, "errors");
		cr_assert(errs && errs->kind == TJ_OBJ);
		double nerr = 0;
		for (size_t k = 0; k < errs->n; k++)
			nerr += errs->v[k].num;
		cr_assert_geq(nerr, num(e, "failures"));
	}
	double stopped = num(t, "attempts_abandoned") + num(t, "attempts_at_stop");
	cr_assert_eq(num(t, "attempts"), att + stopped);
	cr_assert_eq(num(t, "attempts"), num(t, "connects") + num(t, "attempts_failed") + stopped);
	cr_assert_eq(num(t, "failures"), num(t, "attempts_failed") + num(t, "dns_failures"));
	cr_assert_eq(num(t, "dns_failures"), dns);
	cr_assert_eq(num(t, "connects"), con);
	cr_assert_eq(num(t, "failures"), fail);
	cr_assert_eq(num(t, "disconnects"), disc);
	cr_assert_eq(num(t, "gave_up"), gave);
}

