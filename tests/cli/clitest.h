/* clitest.h — helpers shared by the suites that drive the real `redial` binary (tests/cli,
 * tests/faults): spawning it with its output in files, reading its JSON summary, decoding its
 * log with the real `redial-log --json`. */
#ifndef CLITEST_H
#define CLITEST_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tjson.h"

/* The test's scratch directory (made by the suite's fixture). */
extern char dir[64];
/* The fixture: makes dir as /tmp/PREFIX-XXXXXX; removes it and everything in it. */
void scratch_dir_make(const char *prefix);
void scratch_dir_remove(void);

double now_s(void);
/* The path in environment variable var (REDIAL_BIN, REDIAL_LOG_BIN); fails the test if unset. */
const char *bin(const char *var);
void path_in_dir(char *buf, size_t len, const char *name);
/* A file's whole content, NUL-terminated, or NULL when it cannot be opened. */
char *slurp(const char *path, size_t *ret_len);
void write_file(const char *path, const char *text);

struct proc {
	pid_t pid;
	double started;
	char out_path[128], err_path[128];
};

struct result {
	int code; /* exit status, or 128 + signal */
	double secs;
	char *out, *err;
	size_t out_len;
};

/* Starts argv (argv[0] is the binary) with stdout and stderr going to files in dir and
 * stdin from /dev/null. An optional seccomp filter is installed in the child first. */
void spawn(struct proc *p, const char *const *argv, const struct sock_fprog *filter);
/* Waits for p to exit, at most timeout_s (then kills it and fails the test). */
void finish(struct proc *p, double timeout_s, struct result *r);
void result_free(struct result *r);

/* An argument vector under construction. */
struct args {
	const char *v[64];
	char store[64][160];
	int n;
};
void arg(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void run(struct args *a, double timeout_s, struct result *r);

struct tj *read_summary(const char *path);

struct records {
	struct tj **v;
	size_t n;
};
/* Decodes a log with `redial-log --json`, which must exit 0 (no torn or corrupt record). */
void decode_log(const char *path, struct records *recs);
void records_free(struct records *recs);
/* The records of one event type (and endpoint, unless NULL), in file order. */
size_t select_records(const struct records *recs, const char *event, const char *ep,
		      const struct tj **out, size_t cap);
const struct tj *endpoint_of(const struct tj *summary, const char *ep);
double num(const struct tj *o, const char *key);
const char *str(const struct tj *o, const char *key);
bool is_null(const struct tj *o, const char *key);
/* The summary's totals are the sums of its endpoints, and each endpoint is self-consistent. */
void check_summary_consistent(const struct tj *sum, size_t endpoints);

#endif
