/* proc.h — programs the tests run (the real `redial`, `redial-log`): started with their
 * output in files of the test's scratch directory, waited for with a bound. */
#ifndef TU_PROC_H
#define TU_PROC_H

#include <linux/filter.h>
#include <stddef.h>
#include <sys/types.h>

/* The test's scratch directory, where tu_spawn puts output; made by tu_scratch_make (in a
 * suite's .init), removed with everything in it by tu_scratch_remove (its .fini). */
extern char tu_dir[64];
void tu_scratch_make(const char *prefix);
/* tu_scratch_make("redial-test"): a suite's .init as it is. */
void tu_scratch_setup(void);
void tu_scratch_remove(void);
/* "tu_dir/NAME" into buf. */
void tu_path_in_dir(char *buf, size_t len, const char *name);

/* Writes text as the whole file, or the test fails. */
void tu_write_file(const char *path, const char *text);
/* The path in environment variable var (REDIAL_BIN, REDIAL_LOG_BIN); fails the test if unset. */
const char *tu_bin(const char *var);

struct tu_proc {
	pid_t pid;
	double started;
	char out_path[128], err_path[128];
};

struct tu_result {
	int code; /* exit status, or 128 + signal */
	double secs;
	char *out, *err;
	size_t out_len;
};

/* A seccomp filter that makes io_uring_setup fail with EPERM, as a container runtime's
 * default profile does; for tu_spawn, or for prctl(PR_SET_SECCOMP) in the test itself (after
 * PR_SET_NO_NEW_PRIVS). */
const struct sock_fprog *tu_no_io_uring(void);

/* Starts argv (argv[0] is the binary) with stdout and stderr going to files in tu_dir and
 * stdin from /dev/null. An optional seccomp filter is installed in the child first. */
void tu_spawn(struct tu_proc *p, const char *const *argv, const struct sock_fprog *filter);
/* Waits for p to exit, at most timeout_s (then kills it and fails the test), and reads its
 * output. */
void tu_wait(struct tu_proc *p, double timeout_s, struct tu_result *r);
void tu_result_free(struct tu_result *r);

/* An argument vector under construction. */
struct tu_args {
	const char *v[64];
	char store[64][160];
	int n;
};
void tu_arg(struct tu_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends each string argument as it is, up to the NULL that ends them. */
void tu_args_add(struct tu_args *a, ...) __attribute__((sentinel));
/* tu_spawn then tu_wait. */
void tu_run(struct tu_args *a, double timeout_s, struct tu_result *r);

#endif
