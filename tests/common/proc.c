/* proc.c — see proc.h. */
#include "proc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch.h"

char tu_dir[64];

void tu_scratch_make(const char *prefix)
{
	char *d = tu_tmpdir(prefix);
	cr_assert_lt(strlen(d), sizeof(tu_dir), "scratch directory %s: name too long", d);
	strcpy(tu_dir, d);
	free(d);
}

void tu_scratch_setup(void)
{
	tu_scratch_make("redial-test");
}

void tu_scratch_remove(void)
{
	if (tu_dir[0])
		tu_rmrf(strdup(tu_dir));
	tu_dir[0] = '\0';
}

void tu_path_in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tu_dir, name);
}

void tu_write_file(const char *path, const char *text)
{
	int ret = tu_spit(path, text, strlen(text));
	cr_assert_eq(ret, 0, "%s: %s", path, strerror(-ret));
}

const char *tu_bin(const char *var)
{
	const char *p = getenv(var);
	cr_assert(p && *p, "%s is not set (run the tests through meson test)", var);
	return p;
}

const struct sock_fprog *tu_no_io_uring(void)
{
	static struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	static const struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	return &prog;
}

void tu_spawn(struct tu_proc *p, const char *const *argv, const struct sock_fprog *filter)
{
	static unsigned seq;
	seq++;
	snprintf(p->out_path, sizeof(p->out_path), "%s/out.%u", tu_dir, seq);
	snprintf(p->err_path, sizeof(p->err_path), "%s/err.%u", tu_dir, seq);
	p->started = tu_now_s();
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

void tu_wait(struct tu_proc *p, double timeout_s, struct tu_result *r)
{
	int st;
	for (;;) {
		pid_t w = waitpid(p->pid, &st, WNOHANG);
		cr_assert(w >= 0, "waitpid: %s", strerror(errno));
		if (w == p->pid)
			break;
		if (tu_now_s() - p->started > timeout_s) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			char *err = tu_slurp(p->err_path, NULL);
			cr_assert_fail("still running after %.1f s; stderr:\n%s", timeout_s,
				       err ? err : "");
		}
		usleep(5000);
	}
	r->secs = tu_now_s() - p->started;
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = tu_slurp(p->out_path, &r->out_len);
	r->err = tu_slurp(p->err_path, NULL);
	cr_assert(r->out && r->err);
}

void tu_result_free(struct tu_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

void tu_arg(struct tu_args *a, const char *fmt, ...)
{
	cr_assert_lt(a->n, 62);
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(a->store[a->n], sizeof(a->store[a->n]), fmt, ap);
	va_end(ap);
	cr_assert(len >= 0 && (size_t)len < sizeof(a->store[a->n]), "argument %d is too long: %s",
		  a->n, a->store[a->n]);
	a->v[a->n] = a->store[a->n];
	a->n++;
	a->v[a->n] = NULL;
}

void tu_args_add(struct tu_args *a, ...)
{
	va_list ap;
	va_start(ap, a);
	const char *s;
	while ((s = va_arg(ap, const char *)))
		tu_arg(a, "%s", s);
	va_end(ap);
}

void tu_run(struct tu_args *a, double timeout_s, struct tu_result *r)
{
	struct tu_proc p;
	tu_spawn(&p, a->v, NULL);
	tu_wait(&p, timeout_s, r);
}
