/* driver.c — redial-bench, the benchmark harness: redial against the floor, blocking,
 * epoll, libuv and Go contenders, side by side in one run.
 *
 *   redial-bench [--quick] [--json FILE] [--chart FILE] [--out DIR] [--reps N]
 *                [--max-reps N] [--only SCENARIO,...] [--impl IMPL,...] [--no-pin]
 *                [--no-callgrind] [--no-syscalls]
 *
 * The driver plans the runs, starts one loopback target farm per scenario (farm.h: the
 * farm's listeners are served by a child process; refusing ports are held by the driver),
 * and runs each contender in its own process (fork + exec of bench-IMPL, next to this
 * binary), one repetition of every contender after another (A B C .. A B C ..), each
 * repetition rotating the order; the sizes of the scale sweep are interleaved too. At least 3
 * repetitions, 5 for churn, refused, timeout, scale and storm in the full run (--reps N sets
 * them all); then repetitions are added one at a time until the scenario's key ratio (redial
 * against epoll, bd_key_ratio; in the scale sweep the largest table's) is known within
 * +-10% (struct bd_rstat), up to a cap (6 with --quick; 12, 8 for scale, 6 for hold in the
 * full run; --max-reps N), and the output says
 * when the cap was hit. Each contender measures itself and prints one RESULT line
 * (contender_common.h); the driver adds the farm's CPU use and the load of other processes,
 * and performs the drop in `hold`. Ratios are taken pair by pair: redial's figure over a
 * contender's in the same repetition, then the median of those, with their spread.
 *
 * storm runs the `redial` tool itself (BENCH_REDIAL_CLI, from meson: the binary of the same
 * build) as users run it, `redial --duration 3 -q --summary FILE -f LIST ...`, beside the
 * epoll contender doing the same work for the same 3 s: CPU per attempt is the whole
 * process's (the child's rusage from wait4) over the attempts it made (the summary's
 * totals.attempts; the epoll contender's `started`).
 *
 * Wake-ups (voluntary context switches) are counted in every run (contender_common.h). System
 * calls are counted with the raw_syscalls:sys_enter tracepoint (perf_event_open, the counter
 * `perf stat -e raw_syscalls:sys_enter` reads), in one extra run per contender after the
 * timed repetitions, since an enabled syscall tracepoint slows every system call on the
 * machine: the contender reads it at the edges of its window (BENCH_SYSCALL_FD); for storm
 * the driver reads it for the whole process. Where the tracepoint cannot be had (tracefs
 * hidden, perf_event_paranoid without root or CAP_PERFMON), the contenders' own counts are
 * shown instead (sc_sites: epoll, blocking and floor count their calls; redial its
 * io_uring_enter calls; libuv, go and the tool have none), each row saying which.
 *
 * Errors: a contender that does no work is an error, not a row of zeros. A repetition whose
 * result has no attempt (no connection in churn, hold and TLS) is left out of the figures; its
 * row, a row with no result at all, a counting run that did no work or has no count, and a
 * callgrind run with no figure are errors (bd_check_errors). Each is named on stderr and in
 * the table and the JSON, and redial-bench exits 1 once everything is written. A contender
 * that was not built is skipped, which is no error.
 *
 * CPUs: with two or more CPUs the contender runs alone on one and the farm (and this
 * driver, which only waits) on another, so every contender gets the same single core and
 * the same farm; Go is told GOMAXPROCS=1 accordingly. --no-pin leaves placement to the
 * scheduler. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "farm_pki.h"

#ifndef BENCH_SRCDIR
#define BENCH_SRCDIR "bench"
#endif
#ifndef BENCH_REDIAL_CLI
#define BENCH_REDIAL_CLI "redial" /* meson passes the tool's path in the build tree */
#endif

#define RUN_DEADLINE_S 180
#define HOLD_RESERVE_FDS 128 /* descriptors kept back from the hold scenario's count */

static struct bd_bench B;

static const char *const impl_names[BD_IMPL_COUNT] = {
	[BD_FLOOR] = "floor", [BD_BLOCKING] = "blocking", [BD_EPOLL] = "epoll",
	[BD_LIBUV] = "libuv", [BD_GO] = "go",             [BD_REDIAL] = "redial",
	[BD_REDIAL_KWAITS] = "redial-kwaits", [BD_REDIAL_CLI] = "redial-cli",
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static _Noreturn void die(const char *what, int err)
{
	fprintf(stderr, "redial-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

/* The TLS scenarios' certificates, made once per run (farm_pki.h), removed at exit. */
static struct farm_pki *tls_pki;

static bool is_tls(const struct bd_scen *s)
{
	return s->kind == FARM_TLS_CLOSE;
}

/* ---- the plan ---------------------------------------------------------------------------- */

#define ALL_IMPLS ((1u << BD_FLOOR) | (1u << BD_BLOCKING) | (1u << BD_EPOLL) | (1u << BD_LIBUV) | \
		   (1u << BD_GO) | (1u << BD_REDIAL))
#define TABLE_IMPLS ((1u << BD_EPOLL) | (1u << BD_LIBUV) | (1u << BD_GO) | (1u << BD_REDIAL))
/* The TLS scenarios run bench-tls-IMPL (contender_tls_*): redial, epoll + OpenSSL, Go. */
#define TLS_IMPLS ((1u << BD_EPOLL) | (1u << BD_GO) | (1u << BD_REDIAL))

static struct bd_scen *plan_add(const char *name, enum farm_kind kind, const char *spec,
				uint32_t endpoints, unsigned impls, const char *what)
{
	if (B.nscen == BD_MAX_SCEN)
		die("plan", ENOSPC);
	struct bd_scen *s = &B.scen[B.nscen++];
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->kind = kind;
	s->farm_spec = spec;
	s->endpoints = endpoints;
	s->impls = impls;
	s->what = what;
	s->timeout_ns = 2000000000ull;
	s->b_mult = 2.0;
	s->jitter = "full";
	s->stable_after_ns = 1000000000ull;
	s->reps = 3;
	s->max_reps = B.quick ? 6 : 12;
	s->contender = name;
	for (int i = 0; i < BD_IMPL_COUNT; i++)
		s->cell[i].sc_counted = NAN;
	return s;
}

static bool wanted(const char *only, const char *name)
{
	if (!only)
		return true;
	size_t n = strlen(name);
	for (const char *p = only; (p = strstr(p, name)); p += n)
		if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
			return true;
	return false;
}

static void plan(const char *only)
{
	bool q = B.quick;
	struct bd_scen *s;
	if (wanted(only, "churn")) {
		s = plan_add("churn", FARM_ACCEPT_CLOSE, "acceptclose", 1000, ALL_IMPLS,
			     "1000 endpoints on 1000 addresses; the farm accepts and closes at once "
			     "(FIN), each client closes after the FIN and reconnects at once");
		s->warmup_ms = q ? 100 : 500;
		s->measure_ms = q ? 300 : 2500;
		s->b_initial_ns = 1000;
		s->b_max_ns = 100000000;
		s->stable_after_ns = 0;
		s->reps = q ? 3 : 5;
	}
	if (wanted(only, "refused")) {
		s = plan_add("refused", FARM_REFUSE, "refuse", 2000, ALL_IMPLS,
			     "2000 endpoints on 2000 addresses, every connect refused (RST); "
			     "backoff 1 ms doubling to 4 ms, full jitter");
		s->warmup_ms = q ? 100 : 300;
		s->measure_ms = q ? 250 : 2000;
		s->b_initial_ns = 1000000;
		s->b_max_ns = 4000000;
		s->reps = q ? 3 : 5;
	}
	if (wanted(only, "timeout")) {
		s = plan_add("timeout", FARM_BLACKHOLE, "blackhole", 1000, ALL_IMPLS,
			     "1000 endpoints, SYNs dropped; 100 ms connect deadline, then backoff "
			     "50 ms doubling to 100 ms, full jitter (deadlines spread out, the CPU "
			     "far from saturated); p50/p99 = how late the deadline was noticed");
		/* The first waves start together and overload the CPU for a while (the
		 * first deadlines all fire at 100 ms); the warm-up lets the backoff spread
		 * them before the window opens. */
		s->warmup_ms = q ? 450 : 600;
		s->measure_ms = q ? 400 : 2500;
		s->timeout_ns = 100000000;
		s->b_initial_ns = 50000000;
		s->b_max_ns = 100000000;
		s->reps = q ? 3 : 5;
	}
	if (wanted(only, "scale")) {
		static const uint32_t sizes[] = { 1000, 10000, 50000, 100000 };
		for (size_t i = 0; i < (q ? 2u : 4u); i++) {
			s = plan_add("scale", FARM_REFUSE, "refuse", sizes[i], TABLE_IMPLS,
				     "N endpoints refused once, then a 60 s backoff; then 10% removed "
				     "at random; p50/p99 = one removal call");
			s->b_initial_ns = s->b_max_ns = 60000000000ull;
			s->jitter = "none";
			s->reps = q ? 3 : 5;
			s->max_reps = q ? 6 : 8;
		}
		if (!q) {
			/* bench_remove's comparison: the same removal with every wait a kernel
			 * TIMEOUT (what the wheel avoids). Not part of the ratios. */
			static const uint32_t ksizes[] = { 1000, 8000 };
			for (size_t i = 0; i < 2; i++) {
				s = plan_add("scale", FARM_REFUSE, "refuse", ksizes[i],
					     1u << BD_REDIAL_KWAITS,
					     "redial with every backoff wait pre-armed as a kernel "
					     "TIMEOUT instead of the timer wheel");
				s->b_initial_ns = s->b_max_ns = 60000000000ull;
				s->jitter = "none";
			}
		}
	}
	if (wanted(only, "tls")) {
		/* Full, then resumed handshakes, against the farm's tlsclose target (TLS 1.3,
		 * ECDSA P-256, then close_notify and FIN); both share one farm. */
		static const char *const names[] = { "tls-full", "tls-resumed" };
		static const char *const whats[] = {
			"200 endpoints; the farm completes a TLS 1.3 handshake (ECDSA P-256, "
			"verified), then closes (close_notify, FIN); every reconnect a full handshake",
			"the same, each endpoint resuming the session its previous connection left "
			"(TLS 1.3 ticket, PSK with (EC)DHE)",
		};
		for (int k = 0; k < 2; k++) {
			s = plan_add(names[k], FARM_TLS_CLOSE, "tlsclose", 200, TLS_IMPLS, whats[k]);
			/* Long enough for every endpoint's first (full) handshake to fall
			 * before the window, so that tls-resumed measures resumptions only. */
			s->warmup_ms = q ? 400 : 800;
			s->measure_ms = q ? 500 : 2500;
			s->b_initial_ns = 1000;
			s->b_max_ns = 100000000;
			s->stable_after_ns = 0;
			s->reps = q ? 3 : 5;
		}
	}
	if (wanted(only, "hold")) {
		uint32_t n = q ? 3000 : (uint32_t)(B.nofile - HOLD_RESERVE_FDS);
		s = plan_add("hold", FARM_ACCEPT, "accept", n, ALL_IMPLS,
			     "as many connections as the fd limit allows (the farm's child holds "
			     "the other ends under the same limit), held idle, then all dropped "
			     "(FIN); p50/p99 = when each close was noticed, from the drop's start");
		s->idle_ms = q ? 150 : 1000;
		s->b_initial_ns = s->b_max_ns = 5000000000ull;
		s->jitter = "none";
		s->stable_after_ns = 0;
		s->max_reps = 6;
	}
	if (wanted(only, "storm")) {
		/* The same 3 s in the quick run: the tool's start-up and shutdown are part of what
		 * is measured, and a shorter run would weigh them more. */
		static const struct {
			const char *variant, *contender;
			enum farm_kind kind;
			const char *spec;
			uint32_t n;
			uint64_t timeout_ms, backoff_ms;
			const char *jitter, *what;
		} st[] = {
			{ "refused-fixed", "refused", FARM_REFUSE, "refuse", 2000, 2000, 1, "none",
			  "refusal storm: the redial tool, 2000 endpoints on 2000 addresses refused, "
			  "fixed 1 ms backoff" },
			{ "refused-jitter", "refused", FARM_REFUSE, "refuse", 2000, 2000, 4, "full",
			  "refusal storm: the redial tool, 2000 endpoints on 2000 addresses refused, "
			  "full jitter between 0 and 4 ms" },
			{ "timeout", "timeout", FARM_BLACKHOLE, "blackhole", 1000, 100, 1, "none",
			  "timeout storm: the redial tool, 1000 endpoints blackholed, 100 ms connect "
			  "deadline, fixed 1 ms backoff" },
		};
		for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
			s = plan_add("storm", st[i].kind, st[i].spec, st[i].n,
				     (1u << BD_EPOLL) | (1u << BD_REDIAL_CLI), st[i].what);
			s->variant = st[i].variant;
			s->contender = st[i].contender;
			s->warmup_ms = 0;
			s->measure_ms = 3000;
			s->timeout_ns = st[i].timeout_ms * 1000000ull;
			s->b_initial_ns = s->b_max_ns = st[i].backoff_ms * 1000000ull;
			s->jitter = st[i].jitter;
			s->reps = q ? 3 : 5;
		}
	}
}

/* ---- contenders -------------------------------------------------------------------------- */

static void find_impls(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die("readlink /proc/self/exe", errno);
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	for (int i = 0; i < BD_IMPL_COUNT; i++) {
		struct bd_impl_info *im = &B.impl[i];
		im->name = impl_names[i];
		const char *bin = i == BD_REDIAL_KWAITS ? "redial" : impl_names[i];
		if (i == BD_REDIAL_CLI)
			bd_fmt(im->path, sizeof(im->path), "%s", B.cli_path);
		else
			bd_fmt(im->path, sizeof(im->path), "%s/bench-%s", self, bin);
		im->available = access(im->path, X_OK) == 0;
		if (im->available)
			continue;
		if (i == BD_GO)
			bd_fmt(im->why, sizeof(im->why),
				 "skipped: no Go toolchain at build time (Debian package golang-go; "
				 "`make bench` installs it), so %s was not built", im->path);
		else if (i == BD_LIBUV)
			bd_fmt(im->why, sizeof(im->why),
				 "skipped: libuv was not found at build time (Debian package "
				 "libuv1-dev), so %s was not built", im->path);
		else
			bd_fmt(im->why, sizeof(im->why), "skipped: %s is missing", im->path);
	}
}

static void pin_self(int cpu)
{
	if (!B.pinned)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("sched_setaffinity", errno);
}

static void choose_cpus(bool no_pin)
{
	cpu_set_t set;
	B.pinned = false;
	if (no_pin || sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
		return;
	int found = 0;
	for (int c = 0; c < CPU_SETSIZE && found < 2; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (found++ == 0)
			B.client_cpu = c;
		else
			B.farm_cpu = c;
	}
	B.pinned = true;
}

/* The farm's child CPU time, in clock ticks; 0 when unknown. */
static uint64_t farm_ticks(const struct farm *f)
{
	pid_t pid = f ? farm_pid(f) : 0;
	if (!pid)
		return 0;
	char path[64], buf[1024];
	bd_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	/* After the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return 0;
	return ut + st;
}

/* Busy time of one CPU so far (user, nice, system, irq, softirq, steal), in clock ticks. */
static uint64_t cpu_busy_ticks(int cpu)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	char line[512], name[16];
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	uint64_t busy = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		if (strncmp(line, name, strlen(name)))
			continue;
		if (sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
			busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		break;
	}
	fclose(f);
	return busy;
}

/* ---- system calls: the raw_syscalls:sys_enter tracepoint -------------------------------- */

static unsigned long long tracepoint_id(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		"/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		FILE *f = fopen(paths[i], "re");
		unsigned long long id = 0;
		if (!f)
			continue;
		if (fscanf(f, "%llu", &id) != 1)
			id = 0;
		fclose(f);
		if (id)
			return id;
	}
	return 0;
}

/* A counter of the system calls entered by pid (0: the caller) and every thread and child it
 * starts from now on. Returns the fd or -errno. */
static int sc_open(pid_t pid, bool cloexec)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_TRACEPOINT;
	a.config = B.sc_tracepoint;
	a.inherit = 1;
	long fd = syscall(SYS_perf_event_open, &a, pid, -1, -1, cloexec ? PERF_FLAG_FD_CLOEXEC : 0);
	return fd < 0 ? -errno : (int)fd;
}

/* Chooses how system calls are counted (enum bd_sc_mode). */
static void sc_probe(bool disabled)
{
	B.sc_mode = BD_SC_NONE;
	if (disabled) {
		bd_fmt(B.sc_why, sizeof(B.sc_why), "--no-syscalls");
		return;
	}
	B.sc_mode = BD_SC_SITES;
	B.sc_tracepoint = tracepoint_id();
	/* tracefs may just not be mounted yet: perf mounts it when it may (as root). */
	if (!B.sc_tracepoint &&
	    system("perf stat -x, -o /dev/null -e raw_syscalls:sys_enter -- true >/dev/null 2>&1") == 0)
		B.sc_tracepoint = tracepoint_id();
	if (!B.sc_tracepoint) {
		bd_fmt(B.sc_why, sizeof(B.sc_why),
		       "the raw_syscalls:sys_enter tracepoint is not visible (tracefs not mounted or "
		       "not readable; `perf` from linux-perf mounts it when run as root)");
		return;
	}
	int fd = sc_open(0, true);
	if (fd < 0) {
		char par[16] = "?";
		FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
		if (f) {
			if (!fgets(par, sizeof(par), f))
				snprintf(par, sizeof(par), "?");
			par[strcspn(par, "\n")] = 0;
			fclose(f);
		}
		bd_fmt(B.sc_why, sizeof(B.sc_why),
		       "perf_event_open(raw_syscalls:sys_enter): %s (kernel.perf_event_paranoid = %s; "
		       "root or CAP_PERFMON can count it)", strerror(-fd), par);
		return;
	}
	close(fd);
	B.sc_mode = BD_SC_PERF;
}

/* ---- one run ----------------------------------------------------------------------------- */

struct kv {
	char key[32];
	double v;
};

struct result {
	struct kv kv[48];
	int n;
};

static double rv(const struct result *r, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->kv[i].key, key))
			return r->kv[i].v;
	return NAN;
}

static void parse_result(const char *line, struct result *r)
{
	r->n = 0;
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s", line);
	char *save = NULL;
	for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq || r->n == (int)(sizeof(r->kv) / sizeof(r->kv[0])))
			continue;
		*eq = 0;
		char *end;
		double v = strtod(eq + 1, &end);
		if (end == eq + 1)
			continue; /* impl=, scenario=: text */
		snprintf(r->kv[r->n].key, sizeof(r->kv[r->n].key), "%s", tok);
		r->kv[r->n++].v = v;
	}
}

static void arg_add(char **argv, int *argc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void arg_add(char **argv, int *argc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&argv[*argc], fmt, ap) < 0)
		die("vasprintf", ENOMEM);
	va_end(ap);
	(*argc)++;
}

struct run_spec {
	const struct bd_scen *s;
	enum bd_impl impl;
	uint16_t port;
	const char *valgrind_out; /* non-NULL: under callgrind, out file */
	uint64_t stop_after;
	uint32_t endpoints;       /* 0: s->endpoints */
	bool count_syscalls;      /* the counting run: a raw_syscalls:sys_enter counter on */
};

/* Reads one line from fd into buf (at most cap-1 bytes), waiting until deadline. Returns the
 * length, 0 at EOF, -ETIMEDOUT. Keeps what follows the line in `pend`. */
struct linebuf {
	char data[8192];
	size_t len;
};

static ssize_t read_line(int fd, struct linebuf *lb, char *buf, size_t cap, uint64_t deadline)
{
	for (;;) {
		char *nl = memchr(lb->data, '\n', lb->len);
		if (nl) {
			size_t n = (size_t)(nl - lb->data) + 1;
			size_t c = n < cap ? n : cap - 1;
			memcpy(buf, lb->data, c);
			buf[c] = 0;
			memmove(lb->data, lb->data + n, lb->len - n);
			lb->len -= n;
			return (ssize_t)c;
		}
		if (lb->len == sizeof(lb->data))
			lb->len = 0; /* a line too long to be ours: drop it */
		uint64_t now = now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = (int)((deadline - now) / 1000000u) + 1;
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t got = read(fd, lb->data + lb->len, sizeof(lb->data) - lb->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		lb->len += (size_t)got;
	}
}

/* Waits until the farm's target 0 has no open connection (hold leaves none behind, but a
 * contender that died could). */
static void farm_settle(struct farm *f)
{
	if (!f || !farm_pid(f))
		return;
	uint64_t deadline = now_ns() + 10000000000ull;
	struct farm_counters c;
	while (now_ns() < deadline) {
		if (farm_counters(f, 0, &c) == 0 && c.open == 0)
			return;
		usleep(5000);
	}
	fprintf(stderr, "redial-bench: the farm still holds %" PRIu64 " connections\n", c.open);
}

static void kv_set(struct result *r, const char *key, double v)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->kv[i].key, key)) {
			r->kv[i].v = v;
			return;
		}
	if (r->n == (int)(sizeof(r->kv) / sizeof(r->kv[0])))
		return;
	snprintf(r->kv[r->n].key, sizeof(r->kv[r->n].key), "%s", key);
	r->kv[r->n++].v = v;
}

/* The storm's endpoint list for the tool: the addresses bc_addr gives the contenders. */
static int write_endpoint_list(const char *path, uint32_t n, uint16_t port)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "# redial-bench storm: %u endpoints, port %u\n", n, (unsigned)port);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "127.%u.%u.%u:%u\n", 1 + i / 62500, (i / 250) % 250, 1 + i % 250,
			(unsigned)port);
	return fclose(f) == 0 ? 0 : -errno;
}

/* The figures of the tool's --summary: totals.attempts, connects, failures, local_errors and
 * duration_s. Returns 0, or -EIO when the file is not a summary. */
static int read_summary(const char *path, struct result *res)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char *buf = malloc(1 << 16); /* the totals come first; the endpoints follow */
	if (!buf)
		die("malloc", ENOMEM);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = 0;
	res->n = 0;
	int ret = 0;
	char *totals = strstr(buf, "\"totals\"");
	char *dur = strstr(buf, "\"duration_s\":");
	if (!totals || !dur) {
		ret = -EIO;
		goto out;
	}
	kv_set(res, "duration_ns", strtod(dur + strlen("\"duration_s\":"), NULL) * 1e9);
	static const char *const keys[] = { "attempts", "connects", "failures", "local_errors" };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char pat[40];
		snprintf(pat, sizeof(pat), "\"%s\":", keys[k]);
		char *p = strstr(totals, pat);
		if (!p) {
			ret = -EIO;
			goto out;
		}
		kv_set(res, keys[k], strtod(p + strlen(pat), NULL));
	}
out:
	free(buf);
	return ret;
}

/* Runs one contender process (or, for BD_REDIAL_CLI, the tool). On success fills *res (and,
 * for hold, the drop duration). Every run also gets the child's own rusage from wait4 in res
 * (proc_user_us, proc_sys_us, proc_vcsw, proc_ivcsw) and, for a storm counting run, the
 * system calls of its whole life (proc_syscalls). */
static int run_one(const struct run_spec *rs, struct farm *f, struct result *res,
		   double *drop_ms, double *farm_pct, double *other_pct, char *note, size_t notelen)
{
	const struct bd_scen *s = rs->s;
	const struct bd_impl_info *im = &B.impl[rs->impl];
	bool cli = rs->impl == BD_REDIAL_CLI;
	bool whole = !strcmp(s->name, "storm"); /* the counter is read for the whole process */
	char *argv[64];
	int argc = 0;
	char summary[PATH_MAX] = "";
	res->n = 0;
	if (rs->valgrind_out) {
		arg_add(argv, &argc, "valgrind");
		arg_add(argv, &argc, "--tool=callgrind");
		arg_add(argv, &argc, "--instr-atstart=no");
		arg_add(argv, &argc, "--callgrind-out-file=%s", rs->valgrind_out);
		arg_add(argv, &argc, "--log-file=%s.log", rs->valgrind_out);
	}
	if (is_tls(s)) {
		/* bench-tls-IMPL, next to bench-IMPL. */
		char path[600];
		snprintf(path, sizeof(path), "%s", im->path);
		char *slash = strrchr(path, '/');
		arg_add(argv, &argc, "%.*s/bench-tls-%s", slash ? (int)(slash - path) : 1,
			slash ? path : ".", im->name);
		arg_add(argv, &argc, "--tls-ca=%s", tls_pki->ca);
	} else {
		arg_add(argv, &argc, "%s", im->path);
	}
	if (cli) {
		char list[PATH_MAX];
		uint32_t n = rs->endpoints ? rs->endpoints : s->endpoints;
		bd_fmt(list, sizeof(list), "%s/storm-%s.endpoints", B.out_dir, s->variant);
		bd_fmt(summary, sizeof(summary), "%s/storm-%s.summary.json", B.out_dir, s->variant);
		int ret = write_endpoint_list(list, n, rs->port);
		if (ret < 0) {
			bd_fmt(note, notelen, "%s: %s", list, strerror(-ret));
			for (int i = 0; i < argc; i++)
				free(argv[i]);
			return ret;
		}
		unlink(summary);
		arg_add(argv, &argc, "--duration");
		arg_add(argv, &argc, "%g", s->measure_ms / 1000.0);
		arg_add(argv, &argc, "-q");
		arg_add(argv, &argc, "--summary");
		arg_add(argv, &argc, "%s", summary);
		arg_add(argv, &argc, "-f");
		arg_add(argv, &argc, "%s", list);
		arg_add(argv, &argc, "-t");
		arg_add(argv, &argc, "%" PRIu64, s->timeout_ns / 1000000);
		arg_add(argv, &argc, "--jitter");
		arg_add(argv, &argc, "%s", s->jitter);
		arg_add(argv, &argc, "--backoff-initial");
		arg_add(argv, &argc, "%" PRIu64, s->b_initial_ns / 1000000);
		arg_add(argv, &argc, "--backoff-max");
		arg_add(argv, &argc, "%" PRIu64, s->b_max_ns / 1000000);
		arg_add(argv, &argc, "--backoff-multiplier");
		arg_add(argv, &argc, "%g", s->b_mult);
	} else {
		arg_add(argv, &argc, "--scenario=%s", s->contender);
		arg_add(argv, &argc, "--endpoints=%u", rs->endpoints ? rs->endpoints : s->endpoints);
		arg_add(argv, &argc, "--port=%u", (unsigned)rs->port);
		arg_add(argv, &argc, "--warmup-ms=%u", s->warmup_ms);
		arg_add(argv, &argc, "--measure-ms=%u", s->measure_ms);
		arg_add(argv, &argc, "--idle-ms=%u", s->idle_ms);
		arg_add(argv, &argc, "--timeout-ns=%" PRIu64, s->timeout_ns);
		arg_add(argv, &argc, "--backoff-initial-ns=%" PRIu64, s->b_initial_ns);
		arg_add(argv, &argc, "--backoff-max-ns=%" PRIu64, s->b_max_ns);
		arg_add(argv, &argc, "--backoff-mult=%g", s->b_mult);
		arg_add(argv, &argc, "--jitter=%s", s->jitter);
		arg_add(argv, &argc, "--stable-after-ns=%" PRIu64, s->stable_after_ns);
		arg_add(argv, &argc, "--max-inflight=4096");
		arg_add(argv, &argc, "--seed=12345");
		if (rs->stop_after)
			arg_add(argv, &argc, "--stop-after=%" PRIu64, rs->stop_after);
		if (rs->valgrind_out)
			arg_add(argv, &argc, "--callgrind");
		if (rs->impl == BD_REDIAL_KWAITS)
			arg_add(argv, &argc, "--kernel-waits");
	}
	argv[argc] = NULL;

	int out[2], in[2], go[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		die("pipe2", errno);
	uint64_t t0 = now_ns();
	uint64_t ft0 = farm_ticks(f);
	uint64_t busy0 = B.pinned ? cpu_busy_ticks(B.client_cpu) : 0;
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		int gofd = dup2(go[0], 3);
		/* Nothing of the driver's (farm sockets, pipes) goes along. */
		close_range(4, ~0u, 0);
		if (B.pinned) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(B.client_cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		if (rs->impl == BD_GO) {
			if (B.pinned)
				setenv("GOMAXPROCS", "1", 1);
			setenv("GOGC", "100", 1);
		}
		if (rs->count_syscalls && !whole) {
			/* The contender's own counter, read at the edges of its window; it stays
			 * open across exec and counts every thread started after it. */
			int fd = sc_open(0, false);
			char v[16];
			if (fd < 0) {
				fprintf(stderr, "redial-bench: perf_event_open: %s\n", strerror(-fd));
				_exit(126);
			}
			snprintf(v, sizeof(v), "%d", fd);
			setenv("BENCH_SYSCALL_FD", v, 1);
		}
		/* Wait for the driver's go (it opens its counters on this process first). */
		char c;
		if (gofd < 0 || read(gofd, &c, 1) != 1)
			_exit(126);
		close(gofd);
		execvp(argv[0], argv);
		fprintf(stderr, "redial-bench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	close(go[0]);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	int scfd = -1;
	if (rs->count_syscalls && whole) {
		scfd = sc_open(pid, true);
		if (scfd < 0)
			bd_fmt(note, notelen, "perf_event_open on the child: %s", strerror(-scfd));
	}
	if (write(go[1], "g", 1) != 1)
		die("write", errno);
	close(go[1]);

	struct linebuf lb = { .len = 0 };
	char line[2048];
	uint64_t deadline = t0 + (uint64_t)RUN_DEADLINE_S * 1000000000ull;
	int ret = -EIO;
	*drop_ms = NAN;
	for (;;) {
		ssize_t n = read_line(out[0], &lb, line, sizeof(line), deadline);
		if (n == -ETIMEDOUT) {
			bd_fmt(note, notelen, "no result within %d s: killed", RUN_DEADLINE_S);
			kill(pid, SIGKILL);
			ret = -ETIMEDOUT;
			break;
		}
		if (n == 0) {
			if (cli) {
				ret = 0; /* the tool prints nothing (-q): its summary is the result */
				break;
			}
			bd_fmt(note, notelen, "exited without a result");
			break;
		}
		if (!strncmp(line, "READY", 5)) {
			/* hold: the contender is watching. Drop everything once the farm has
			 * accepted all the contender holds, then tell it when the drop began. */
			unsigned long held = strtoul(line + 5, NULL, 10);
			uint64_t wait_until = now_ns() + 10000000000ull;
			struct farm_counters c = { 0 };
			while (now_ns() < wait_until && farm_counters(f, 0, &c) == 0 && c.open < held)
				usleep(1000);
			uint64_t d0 = now_ns();
			int dropped = farm_drop_all(f, 0);
			*drop_ms = (double)(now_ns() - d0) / 1e6;
			if (dropped < 0)
				bd_fmt(note, notelen, "farm_drop_all: %s", strerror(-dropped));
			else if ((unsigned long)dropped < held)
				bd_fmt(note, notelen, "the farm held %d of %lu connections", dropped,
					 held);
			char msg[64];
			int len = snprintf(msg, sizeof(msg), "DROP %" PRIu64 "\n", d0);
			if (write(in[1], msg, (size_t)len) != len)
				bd_fmt(note, notelen, "could not send DROP");
			continue;
		}
		if (!cli && !strncmp(line, "RESULT ", 7)) {
			parse_result(line, res);
			ret = 0;
			break;
		}
		/* anything else is noise: ignore */
	}
	close(in[1]);
	close(out[0]);
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	uint64_t t1 = now_ns();
	long hz = sysconf(_SC_CLK_TCK);
	double user_us = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
	double sys_us = (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
	/* What else ran on the contender's CPU: its busy time minus the contender's own. */
	*other_pct = NAN;
	if (B.pinned && hz > 0) {
		double busy = (double)(cpu_busy_ticks(B.client_cpu) - busy0) / (double)hz;
		double pct = (busy - (user_us + sys_us) / 1e6) / ((double)(t1 - t0) / 1e9) * 100;
		*other_pct = pct < 0 ? 0 : pct;
	}
	*farm_pct = f && farm_pid(f) && hz > 0
			    ? (double)(farm_ticks(f) - ft0) / (double)hz / ((double)(t1 - t0) / 1e9) * 100
			    : NAN;
	if (ret == 0 && cli && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		int sret = read_summary(summary, res);
		if (sret < 0) {
			bd_fmt(note, notelen, "%s: %s", summary,
			       sret == -EIO ? "not a summary" : strerror(-sret));
			ret = sret;
		}
	}
	if (ret == 0) {
		kv_set(res, "proc_user_us", user_us);
		kv_set(res, "proc_sys_us", sys_us);
		kv_set(res, "proc_vcsw", (double)ru.ru_nvcsw);
		kv_set(res, "proc_ivcsw", (double)ru.ru_nivcsw);
		kv_set(res, "proc_wall_ns", (double)(t1 - t0));
		uint64_t count;
		if (scfd >= 0 && read(scfd, &count, sizeof(count)) == sizeof(count))
			kv_set(res, "proc_syscalls", (double)count);
	}
	if (scfd >= 0)
		close(scfd);
	if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		bd_fmt(note, notelen, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		ret = -EIO;
	} else if (ret == -EIO && WIFSIGNALED(status)) {
		bd_fmt(note, notelen, "killed by signal %d", WTERMSIG(status));
	}
	return ret;
}

/* Turns a RESULT into the per-run figures. */
static void derive(const struct bd_scen *s, enum bd_impl impl, const struct result *r,
		   double drop_ms, double farm_pct, double other_pct, double *m)
{
	for (int i = 0; i < BD_METRIC_COUNT; i++)
		m[i] = NAN;
	m[BD_OTHER_CPU] = other_pct;
	if (!strcmp(s->name, "storm")) {
		/* The whole process, as the tool is run: its rusage from wait4 over the
		 * attempts it made (the tool's totals.attempts; the contender's `started`). */
		bool cli = impl == BD_REDIAL_CLI;
		double att = cli ? rv(r, "attempts") : rv(r, "started");
		double wall_ns = cli ? rv(r, "duration_ns") : rv(r, "wall_ns");
		m[BD_FARM_CPU] = farm_pct;
		m[BD_LOCAL_ERRORS] = rv(r, "local_errors");
		if (!(att > 0))
			return;
		m[BD_ATTEMPTS] = att;
		m[BD_CPU_US_PER_ATTEMPT] = (rv(r, "proc_user_us") + rv(r, "proc_sys_us")) / att;
		m[BD_WAKEUPS_PER_ATTEMPT] = rv(r, "proc_vcsw") / att;
		m[BD_SYSCALLS_PER_ATTEMPT] = rv(r, "proc_syscalls") / att;
		m[BD_SITES_PER_ATTEMPT] = rv(r, "sc_sites") / att; /* the window: the whole run */
		if (wall_ns > 0)
			m[BD_ATTEMPTS_PER_S] = att / (wall_ns / 1e9);
		return;
	}
	double wall_s = rv(r, "wall_ns") / 1e9;
	double attempts = rv(r, "attempts"), connects = rv(r, "connects");
	double cpu_us = rv(r, "user_us") + rv(r, "sys_us");
	double eps = rv(r, "endpoints");
	m[BD_FARM_CPU] = farm_pct;
	m[BD_LOCAL_ERRORS] = rv(r, "local_errors");
	m[BD_SAMPLES] = rv(r, "hist_n");
	m[BD_EARLY] = rv(r, "early");
	if (attempts > 0) {
		/* Over the same stretch as the CPU figure (window, round, connect phase). */
		m[BD_ATTEMPTS] = attempts;
		m[BD_CPU_US_PER_ATTEMPT] = cpu_us / attempts;
		m[BD_WAKEUPS_PER_ATTEMPT] = rv(r, "vcsw") / attempts;
		m[BD_SYSCALLS_PER_ATTEMPT] = rv(r, "syscalls") / attempts;
		m[BD_SITES_PER_ATTEMPT] = rv(r, "sc_sites") / attempts;
	}
	if (eps > 0)
		m[BD_RSS_PER_EP] = rv(r, "rss_delta") / eps;
	if (!strcmp(s->name, "scale")) {
		m[BD_P50_US] = rv(r, "remove_p50_ns") / 1e3;
		m[BD_P99_US] = rv(r, "remove_p99_ns") / 1e3;
		if (rv(r, "remove_n") > 0)
			m[BD_REMOVE_NS] = rv(r, "remove_total_ns") / rv(r, "remove_n");
		return;
	}
	m[BD_P50_US] = rv(r, "p50_ns") / 1e3;
	m[BD_P99_US] = rv(r, "p99_ns") / 1e3;
	m[BD_P999_US] = rv(r, "p999_ns") / 1e3;
	if (!strcmp(s->name, "hold")) {
		m[BD_CONNECTED] = connects;
		if (rv(r, "idle_ns") > 0)
			m[BD_IDLE_CPU] = (rv(r, "idle_user_us") + rv(r, "idle_sys_us")) /
					 (rv(r, "idle_ns") / 1e9);
		m[BD_NOTICE_ALL_MS] = rv(r, "notice_all_ns") / 1e6;
		m[BD_DROP_MS] = drop_ms;
		if (rv(r, "noticed") < connects)
			m[BD_NOTICE_ALL_MS] = NAN; /* not all were noticed: no figure */
		m[BD_NOTICE_LAG_MS] = m[BD_NOTICE_ALL_MS] - drop_ms;
		if (wall_s > 0)
			m[BD_CONNECTS_PER_S] = connects / wall_s;
		return;
	}
	if (wall_s > 0) {
		m[BD_ATTEMPTS_PER_S] = attempts / wall_s;
		m[BD_CONNECTS_PER_S] = connects / wall_s;
	}
}

/* The row's work counter in one result: what a run that did its work cannot have done none
 * of. Connections where connecting is the work (churn, hold, the TLS scenarios), attempts
 * elsewhere (the storm: attempts begun by the epoll contender, the tool's totals.attempts).
 * *what names it, for the error message. NAN when the result does not say. */
static double work_done(const struct bd_scen *s, enum bd_impl impl, const struct result *r,
			const char **what)
{
	if (!strcmp(s->name, "storm")) {
		*what = "attempt";
		return impl == BD_REDIAL_CLI ? rv(r, "attempts") : rv(r, "started");
	}
	if (!strcmp(s->name, "churn") || !strcmp(s->name, "hold") || is_tls(s)) {
		*what = "connection";
		return rv(r, "connects");
	}
	*what = "attempt";
	return rv(r, "attempts");
}

/* Whether impl is left out of scenario s on purpose (its binary was not built: no Go
 * toolchain, no libuv; for the TLS scenarios bench-tls-IMPL), with the reason in why. */
static bool skipped_on_purpose(const struct bd_scen *s, enum bd_impl impl, char *why, size_t len)
{
	if (!is_tls(s)) {
		if (B.impl[impl].available)
			return false;
		bd_fmt(why, len, "%s", B.impl[impl].why);
		return true;
	}
	char path[600];
	snprintf(path, sizeof(path), "%s", B.impl[impl].path);
	char *slash = strrchr(path, '/');
	if (slash)
		*slash = 0;
	char bin[700];
	bd_fmt(bin, sizeof(bin), "%s/bench-tls-%s", path, B.impl[impl].name);
	if (access(bin, X_OK) == 0)
		return false;
	bd_fmt(why, len, "skipped: %s was not built%s", bin,
	       impl == BD_GO ? " (no Go toolchain at build time)" : "");
	return true;
}

static struct farm *farm_for(const struct bd_scen *s)
{
	struct farm_target_spec spec = { .kind = s->kind };
	struct farm *f;
	if (is_tls(s)) {
		int err = tls_pki ? 0 : farm_pki_create(FARM_KEY_EC_P256, &tls_pki);
		if (err < 0) {
			fprintf(stderr, "redial-bench: certificates for %s: %s\n", s->name,
				strerror(-err));
			return NULL;
		}
		spec.tls_cert = tls_pki->cert[FARM_CERT_VALID];
		spec.tls_key = tls_pki->key[FARM_CERT_VALID];
	}
	/* The farm's child inherits the driver's CPU: the farm CPU. */
	int ret = farm_start(&spec, 1, &f);
	if (ret < 0) {
		fprintf(stderr, "redial-bench: farm for %s: %s\n", s->name, strerror(-ret));
		return NULL;
	}
	return f;
}

/* One repetition of every contender of scenario s, in an order rotated by rep. */
static void run_rep(struct bd_scen *s, struct farm *f, int rep)
{
	int order[BD_IMPL_COUNT], n = 0;
	for (int i = 0; i < BD_IMPL_COUNT; i++)
		if (s->impls & (1u << i))
			order[n++] = i;
	for (int k = 0; k < n; k++) {
		enum bd_impl impl = (enum bd_impl)order[(k + rep) % n];
		struct bd_cell *c = &s->cell[impl];
		c->planned = true;
		if (skipped_on_purpose(s, impl, c->note, sizeof(c->note))) {
			c->skipped = true;
			continue;
		}
		if (s->kind == FARM_ACCEPT)
			farm_settle(f);
		struct run_spec rs = { .s = s, .impl = impl, .port = farm_port(f, 0) };
		struct result res;
		double drop_ms, farm_pct, other_pct;
		char note[200] = "";
		int ret = run_one(&rs, f, &res, &drop_ms, &farm_pct, &other_pct, note, sizeof(note));
		int r = c->nrep++;
		c->ok[r] = ret == 0;
		if (ret == 0)
			derive(s, impl, &res, drop_ms, farm_pct, other_pct, c->m[r]);
		/* A result with no work done is no measurement (an engine that stalls would
		 * report a row of zeros): the repetition is left out of the figures and the row
		 * is an error (bd_check_errors). */
		const char *what;
		if (ret == 0 && !(work_done(s, impl, &res, &what) > 0)) {
			c->ok[r] = false;
			c->idle[r] = true;
			fputc('0', stderr);
			continue;
		}
		/* A resumed scenario whose handshakes did not resume measures something else. */
		if (ret == 0 && !strcmp(s->name, "tls-resumed") &&
		    rv(&res, "resumed") < 0.9 * rv(&res, "connects"))
			bd_fmt(note, sizeof(note), "only %.0f of %.0f handshakes resumed",
			       rv(&res, "resumed"), rv(&res, "connects"));
		if (note[0])
			bd_fmt(c->note, sizeof(c->note), "%s", note);
		if (ret != 0)
			bd_fmt(c->fail, sizeof(c->fail), "%s", note[0] ? note : strerror(-ret));
		fputc(ret == 0 ? '.' : 'x', stderr);
	}
}

/* The counting run of scenario s: every contender once more, with a raw_syscalls:sys_enter
 * counter; only its system calls per attempt are kept (cell.sc_counted). */
static void count_syscalls(struct bd_scen *s, struct farm *f)
{
	for (int i = 0; i < BD_IMPL_COUNT; i++) {
		struct bd_cell *c = &s->cell[i];
		char why[200];
		if (!(s->impls & (1u << i)) || skipped_on_purpose(s, (enum bd_impl)i, why, sizeof(why)))
			continue;
		char note[200] = "";
		const char *what = "attempt";
		bool idle = false, nocount = false;
		/* Twice at most: on a loaded machine a run can be starved of its window. */
		for (int tries = 0; tries < 2 && isnan(c->sc_counted); tries++) {
			if (s->kind == FARM_ACCEPT)
				farm_settle(f);
			struct run_spec rs = { .s = s, .impl = (enum bd_impl)i,
					       .port = farm_port(f, 0), .count_syscalls = true };
			struct result res;
			double drop_ms, farm_pct, other_pct, m[BD_METRIC_COUNT];
			note[0] = 0;
			idle = nocount = false;
			int ret = run_one(&rs, f, &res, &drop_ms, &farm_pct, &other_pct, note,
					  sizeof(note));
			if (ret == 0) {
				derive(s, (enum bd_impl)i, &res, drop_ms, farm_pct, other_pct, m);
				c->sc_counted = m[BD_SYSCALLS_PER_ATTEMPT];
				idle = !(work_done(s, (enum bd_impl)i, &res, &what) > 0);
				nocount = !idle && !note[0] &&
					  isnan(rv(&res, strcmp(s->name, "storm") ? "syscalls"
										  : "proc_syscalls"));
				if (isnan(c->sc_counted) && !note[0])
					bd_fmt(note, sizeof(note), "%s",
					       idle ? "no work in its window"
						    : nocount ? "no system call count in its result"
							      : "no count in its result");
			}
			fputc(!isnan(c->sc_counted) ? 's' : 'x', stderr);
		}
		/* A counting run that did no work (twice) is the same error as a timed one; one
		 * whose result has no count is a contender that does not report it. Any other
		 * failure (the machine's) is a note. */
		if (isnan(c->sc_counted) && idle)
			bd_fmt(c->sc_error, sizeof(c->sc_error),
			       "the system call counting run made no %s in its window", what);
		else if (isnan(c->sc_counted) && nocount)
			bd_fmt(c->sc_error, sizeof(c->sc_error),
			       "the system call counting run's result has no system call count");
		else if (isnan(c->sc_counted))
			bd_fmt(c->note, sizeof(c->note), "the system call counting run failed: %s",
			       note[0] ? note : "?");
	}
}

/* Consecutive scenarios of one name, farm kind and set of contenders (the scale sweep) form
 * a group that shares one farm and runs interleaved too: every size of repetition 1, then
 * every size of repetition 2..., so that a drift of the machine over time does not land on
 * one size and bend the "flat as the count grows" ratios. */
static int group_end(int first)
{
	int last = first;
	while (last + 1 < B.nscen && !strcmp(B.scen[last + 1].name, B.scen[first].name) &&
	       B.scen[last + 1].kind == B.scen[first].kind &&
	       B.scen[last + 1].impls == B.scen[first].impls &&
	       B.scen[last + 1].reps == B.scen[first].reps &&
	       B.scen[last + 1].max_reps == B.scen[first].max_reps)
		last++;
	return last;
}

/* Whether scenario si of the group first..last has its key ratio judged: in the scale sweep
 * only the largest table's (where the goals are; at 1000 endpoints the memory figures are a
 * few pages, which move by tens of percent from run to run). */
static bool judged(int si, int first, int last)
{
	enum bd_impl num, den;
	enum bd_metric m;
	if (!bd_key_ratio(&B.scen[si], &B, &num, &den, &m))
		return false;
	if (strcmp(B.scen[si].name, "scale"))
		return true;
	for (int k = first; k <= last; k++)
		if (B.scen[k].endpoints > B.scen[si].endpoints)
			return false;
	return true;
}

/* The widest spread of the key ratios judged among scenarios lo..hi of the group
 * first..last, NAN when none has two repetitions to judge by (a contender that keeps
 * failing: more repetitions would not help), and whether any is judged at all. */
static double group_spread(int lo, int hi, int first, int last, bool *adaptive)
{
	double worst = NAN;
	*adaptive = false;
	for (int si = lo; si <= hi; si++) {
		enum bd_impl num, den;
		enum bd_metric m;
		if (!judged(si, first, last) || !bd_key_ratio(&B.scen[si], &B, &num, &den, &m))
			continue;
		*adaptive = true;
		struct bd_rstat st;
		bd_ratio_stats(&B.scen[si], num, den, m, &st);
		if (st.n >= 2 && !(st.pct <= worst))
			worst = isnan(st.pct) ? INFINITY : st.pct;
	}
	return worst;
}

static void run_scenarios(void)
{
	for (int first = 0; first < B.nscen;) {
		int last = group_end(first);
		struct bd_scen *s0 = &B.scen[first];
		struct farm *f = farm_for(s0);
		if (!f) {
			/* Nothing measured: an error of every contender that would have run
			 * (bd_check_errors: planned, not skipped, no repetition). */
			for (int si = first; si <= last; si++)
				for (int i = 0; i < BD_IMPL_COUNT; i++) {
					struct bd_cell *c = &B.scen[si].cell[i];
					if (!(B.scen[si].impls & (1u << i)))
						continue;
					c->planned = true;
					if (skipped_on_purpose(&B.scen[si], (enum bd_impl)i, c->note,
							       sizeof(c->note)))
						c->skipped = true;
					else
						bd_fmt(c->note, sizeof(c->note), "the farm did not start");
				}
			first = last + 1;
			continue;
		}
		char label[64];
		fprintf(stderr, "redial-bench: %s", bd_scen_label(s0, label, sizeof(label)));
		for (int si = first + 1; si <= last; si++)
			if (B.scen[si].variant)
				fprintf(stderr, ", %s", B.scen[si].variant);
		fprintf(stderr, " (%u", s0->endpoints);
		for (int si = first + 1; si <= last; si++)
			if (!B.scen[si].variant)
				fprintf(stderr, ", %u", B.scen[si].endpoints);
		fprintf(stderr, " endpoints) ");
		/* The minimum, then one more at a time while the key ratios are too spread. */
		int rep = 0;
		bool adaptive = false;
		double spread = NAN;
		for (;;) {
			if (rep >= s0->reps) {
				spread = group_spread(first, last, first, last, &adaptive);
				if (!adaptive || !(spread > BD_SPREAD_TARGET_PCT) || rep >= s0->max_reps)
					break;
				fputc('+', stderr);
			}
			for (int si = first; si <= last; si++)
				run_rep(&B.scen[si], f, rep);
			rep++;
		}
		for (int si = first; si <= last; si++) {
			bool own;
			B.scen[si].reps = rep;
			/* Each scenario's own key ratio: one of a group can be within the target
			 * while another kept the group going. */
			double sp = group_spread(si, si, first, last, &own);
			B.scen[si].adaptive = own;
			B.scen[si].cap_hit = own && sp > BD_SPREAD_TARGET_PCT;
		}
		if (adaptive && isnan(spread))
			fprintf(stderr, " %d repetition%s, no spread to judge", rep, rep == 1 ? "" : "s");
		else if (adaptive)
			fprintf(stderr, " %d repetitions, key ratio +-%.1f%%%s", rep, spread,
				spread > BD_SPREAD_TARGET_PCT ? " (cap hit)" : "");
		if (B.sc_mode == BD_SC_PERF) {
			fputc(' ', stderr);
			for (int si = first; si <= last; si++)
				count_syscalls(&B.scen[si], f);
		}
		fputc('\n', stderr);
		farm_stop(f);
		first = last + 1;
	}
}

/* Callgrind: user-space instructions per attempt for redial and epoll, in a short fixed run
 * of the refused scenario. The window (instrumented, --instr-atstart=no) closes after
 * CG_ATTEMPTS attempts or CG_WINDOW_MS, whichever comes first, so that a contender that
 * stalls under valgrind still ends and says so; instructions per attempt are over the attempts
 * its window made. A run with no attempt, no result or no totals is an error (as a row of
 * zeros is, bd_check_errors). */
#define CG_ATTEMPTS(quick) ((quick) ? 2000u : 20000u)
#define CG_WINDOW_MS(quick) ((quick) ? 20000u : 60000u)

static void run_callgrind(void)
{
	if (access("/usr/bin/valgrind", X_OK) != 0 && system("command -v valgrind >/dev/null") != 0) {
		for (int i = 0; i < BD_IMPL_COUNT; i++)
			bd_fmt(B.cg[i].note, sizeof(B.cg[i].note), "valgrind is not installed");
		return;
	}
	struct bd_scen s;
	memset(&s, 0, sizeof(s));
	s.name = "refused";
	s.contender = "refused";
	s.kind = FARM_REFUSE;
	s.endpoints = 200;
	s.warmup_ms = 200;
	s.measure_ms = CG_WINDOW_MS(B.quick); /* with stop_after: the window's upper bound */
	s.timeout_ns = 2000000000ull;
	s.b_initial_ns = 1000000;
	s.b_max_ns = 4000000;
	s.b_mult = 2.0;
	s.jitter = "full";
	s.stable_after_ns = 1000000000ull;
	static const enum bd_impl which[] = { BD_EPOLL, BD_REDIAL };
	struct farm *f = farm_for(&s);
	if (!f) {
		for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
			if (B.impl[which[i]].available) {
				B.cg[which[i]].error = true;
				bd_fmt(B.cg[which[i]].note, sizeof(B.cg[which[i]].note),
				       "the farm did not start");
			}
		return;
	}
	fprintf(stderr, "redial-bench: callgrind ");
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		enum bd_impl impl = which[i];
		struct bd_callgrind *cg = &B.cg[impl];
		if (!B.impl[impl].available)
			continue;
		char outf[PATH_MAX];
		bd_fmt(outf, sizeof(outf), "%s/callgrind.%s.out", B.out_dir, impl_names[impl]);
		unlink(outf);
		struct run_spec rs = { .s = &s, .impl = impl, .port = farm_port(f, 0),
				       .valgrind_out = outf, .stop_after = CG_ATTEMPTS(B.quick) };
		struct result res;
		double drop_ms, farm_pct, other_pct;
		uint64_t t0 = now_ns();
		int ret = run_one(&rs, f, &res, &drop_ms, &farm_pct, &other_pct, cg->note,
				  sizeof(cg->note));
		fputc(ret == 0 ? '.' : 'x', stderr);
		cg->error = true; /* until it has its figure */
		if (ret < 0)
			continue;
		cg->attempts = rv(&res, "attempts");
		if (!(cg->attempts > 0)) {
			bd_fmt(cg->note, sizeof(cg->note),
			       "made no attempt (its run under callgrind took %.0f s)",
			       (double)(now_ns() - t0) / 1e9);
			continue;
		}
		FILE *in = fopen(outf, "re");
		if (!in) {
			bd_fmt(cg->note, sizeof(cg->note), "no callgrind output: %s", strerror(errno));
			continue;
		}
		char line[512];
		double total = NAN;
		while (fgets(line, sizeof(line), in))
			if (!strncmp(line, "totals:", 7) || !strncmp(line, "summary:", 8))
				total = strtod(strchr(line, ':') + 1, NULL);
		fclose(in);
		cg->instructions = total;
		cg->ran = !isnan(total) && total > 0;
		cg->error = !cg->ran;
		if (!cg->ran)
			bd_fmt(cg->note, sizeof(cg->note), "no totals in %s", outf);
		else if (cg->attempts < CG_ATTEMPTS(B.quick))
			bd_fmt(cg->note, sizeof(cg->note),
			       "the window closed after %u ms with %.0f of %u attempts",
			       CG_WINDOW_MS(B.quick), cg->attempts, CG_ATTEMPTS(B.quick));
	}
	fputc('\n', stderr);
	farm_stop(f);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: redial-bench [--quick] [--json FILE] [--chart FILE] [--out DIR] [--reps N]\n"
		"                    [--max-reps N] [--only SCENARIO,...] [--impl IMPL,...]\n"
		"                    [--no-pin] [--no-callgrind] [--no-syscalls]\n"
		"Runs redial against the floor, blocking, epoll, libuv and go contenders in the\n"
		"churn, refused, timeout, scale and hold scenarios, and the redial tool against\n"
		"epoll in the storm scenario; prints a table and the goal table (markdown), and\n"
		"writes DIR/bench.json and DIR/bench.png (DIR: %s/out, or out/quick with\n"
		"--quick). --json and --chart write further copies where asked (e.g. --chart\n"
		"bench/results.png for the README).\n"
		"--reps N: the repetitions every scenario starts with (default 3; 5 for churn,\n"
		"refused, timeout, scale and storm in the full run); more are added while the\n"
		"spread of the scenario's redial/epoll ratio is over +-%.0f%%, up to --max-reps N\n"
		"(default 6 with --quick; 12 in the full run, 8 for scale, 6 for hold; at most\n"
		"%d). --reps N --max-reps N runs exactly N. --no-syscalls skips the run that\n"
		"counts system calls (the raw_syscalls:sys_enter tracepoint).\n"
		"Exit status 1 when a contender did no work (no attempt; no connection in churn,\n"
		"hold and tls) or gave no result: an error, named in the output and the JSON.\n",
		BENCH_SRCDIR, BD_SPREAD_TARGET_PCT, BD_MAX_REPS);
}

static int copy_file(const char *from, const char *to)
{
	struct stat a, b;
	if (stat(from, &a) == 0 && stat(to, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0; /* the same file */
	FILE *in = fopen(from, "rbe"), *out = in ? fopen(to, "wbe") : NULL;
	if (!in || !out) {
		int err = errno;
		if (in)
			fclose(in);
		return -err;
	}
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
	const char *only = NULL, *impls = NULL;
	bool no_pin = false, no_callgrind = false, no_syscalls = false;
	B.reps_override = 0;
	B.cli_path = BENCH_REDIAL_CLI;
	B.srcdir = BENCH_SRCDIR;
	B.out_dir = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick")) {
			B.quick = true;
		} else if (!strcmp(a, "--json") && v) {
			B.json_path = v;
			i++;
		} else if (!strcmp(a, "--chart") && v) {
			B.chart_path = v;
			i++;
		} else if (!strcmp(a, "--out") && v) {
			B.out_dir = v;
			i++;
		} else if (!strcmp(a, "--reps") && v) {
			B.reps_override = atoi(v);
			if (B.reps_override < 1)
				B.reps_override = -1;
			i++;
		} else if (!strcmp(a, "--max-reps") && v) {
			B.max_reps_override = atoi(v);
			if (B.max_reps_override < 1)
				B.max_reps_override = -1;
			i++;
		} else if (!strcmp(a, "--only") && v) {
			only = v;
			i++;
		} else if (!strcmp(a, "--impl") && v) {
			impls = v;
			i++;
		} else if (!strcmp(a, "--no-pin")) {
			no_pin = true;
		} else if (!strcmp(a, "--no-callgrind")) {
			no_callgrind = true;
		} else if (!strcmp(a, "--no-syscalls")) {
			no_syscalls = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (B.reps_override < 0 || B.reps_override > BD_MAX_REPS || B.max_reps_override < 0 ||
	    B.max_reps_override > BD_MAX_REPS) {
		fprintf(stderr, "redial-bench: --reps and --max-reps must be 1..%d\n", BD_MAX_REPS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!B.out_dir) {
		/* bench/out is git-ignored; the quick set keeps out of the full run's way. */
		if (mkdir(BENCH_SRCDIR "/out", 0777) < 0 && errno != EEXIST)
			die(BENCH_SRCDIR "/out", errno);
		B.out_dir = B.quick ? BENCH_SRCDIR "/out/quick" : BENCH_SRCDIR "/out";
	}
	if (mkdir(B.out_dir, 0777) < 0 && errno != EEXIST)
		die(B.out_dir, errno);
	struct rlimit rl;
	B.nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
			   ? (long)rl.rlim_cur
			   : 1024;
	uint64_t t0 = now_ns();
	find_impls();
	sc_probe(no_syscalls);
	choose_cpus(no_pin);
	pin_self(B.farm_cpu); /* the driver and the farm's children share the farm CPU */
	plan(only);
	for (int si = 0; si < B.nscen; si++) {
		struct bd_scen *s = &B.scen[si];
		if (B.reps_override)
			s->reps = B.reps_override;
		if (B.max_reps_override)
			s->max_reps = B.max_reps_override;
		if (s->max_reps < s->reps)
			s->max_reps = B.max_reps_override ? B.max_reps_override : s->reps;
		if (s->reps > s->max_reps)
			s->reps = s->max_reps;
	}
	if (impls) {
		unsigned keep = 0;
		for (int i = 0; i < BD_IMPL_COUNT; i++)
			if (wanted(impls, impl_names[i]))
				keep |= 1u << i;
		if (wanted(impls, "redial"))
			keep |= 1u << BD_REDIAL_CLI; /* redial, as a library or as the tool */
		for (int si = 0; si < B.nscen; si++)
			B.scen[si].impls &= keep;
	}
	run_scenarios();
	farm_pki_destroy(tls_pki); /* the TLS scenarios' keys and certificates */
	tls_pki = NULL;
	if (!no_callgrind && (!only || wanted(only, "callgrind") || wanted(only, "refused")))
		run_callgrind();
	B.wall_s = (double)(now_ns() - t0) / 1e9;

	bd_aggregate(&B);
	int nerr = bd_check_errors(&B, stderr);
	bd_print_tables(&B, stdout);
	char path[PATH_MAX];
	bd_fmt(path, sizeof(path), "%s/bench.json", B.out_dir);
	int ret = bd_write_json(&B, path);
	if (ret == 0 && B.json_path && strcmp(B.json_path, path))
		ret = copy_file(path, B.json_path);
	if (ret < 0)
		fprintf(stderr, "redial-bench: JSON: %s\n", strerror(-ret));
	int cret = bd_write_chart(&B);
	if (cret == 0 && B.chart_path) {
		bd_fmt(path, sizeof(path), "%s/bench.png", B.out_dir);
		cret = copy_file(path, B.chart_path);
		if (cret < 0)
			fprintf(stderr, "redial-bench: %s: %s\n", B.chart_path, strerror(-cret));
	}
	printf("\nwrote %s/bench.json%s%s, %s/bench.png%s%s; %.0f s in all\n", B.out_dir,
	       B.json_path ? " and " : "", B.json_path ? B.json_path : "", B.out_dir,
	       B.chart_path && cret == 0 ? " and " : "", B.chart_path && cret == 0 ? B.chart_path : "",
	       B.wall_s);
	if (nerr) {
		/* After everything is written: the figures that were had are kept. */
		fflush(stdout);
		fprintf(stderr, "redial-bench: %d error%s: a contender that did no work (or whose "
			"run gave no result) is an error, not a row of zeros; see above, the table's "
			"ERROR lines and the JSON's \"errors\"\n", nerr, nerr == 1 ? "" : "s");
		return 1;
	}
	return ret < 0 ? 1 : 0;
}
