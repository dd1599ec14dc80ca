/* contender_common.h — what every C contender of redial-bench shares: the command line, the
 * measurement window, latency histograms, CPU and memory readings, and the RESULT line the
 * driver parses. contender_go.go mirrors all of it, flag for flag and key for key.
 *
 * A contender is one process running one scenario once. The driver (driver.c) starts
 * it with fork+exec, pinned to its own CPU, against a farm the driver runs in other
 * processes, and reads a single line from its stdout:
 *
 *   RESULT impl=epoll scenario=churn endpoints=1000 attempts=... key=value ...
 *
 * Every figure in that line is measured by the contender on itself (getrusage RUSAGE_SELF,
 * /proc/self/statm, CLOCK_MONOTONIC), over a window that excludes process start-up.
 *
 * Wake-ups and system calls, over the same window as the CPU figures:
 *   vcsw, ivcsw  voluntary and involuntary context switches (getrusage ru_nvcsw, ru_nivcsw,
 *                every thread): vcsw counts the times the process blocked and was woken;
 *   syscalls     system calls entered by every thread, when the driver hands over a counter
 *                of the raw_syscalls:sys_enter tracepoint (perf_event_open, opened on the
 *                contender before exec; its descriptor number is in BENCH_SYSCALL_FD) -
 *                only in the driver's separate counting run, since the tracepoint slows
 *                every system call on the machine while it is counted;
 *   sc_sites     the fallback where no such counter can be had: the contender's own count
 *                of the system calls it makes, incremented at each call site (BC_SYS), or
 *                what the library counts (redial: io_uring_enter calls, redial_stats.submits).
 *                Contenders that cannot see their library's calls (libuv, go) omit it. */
#ifndef CONTENDER_COMMON_H
#define CONTENDER_COMMON_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "redial.h"

/* Waits shorter than this are not waited for: the attempt starts at once. redial does the
 * same (it puts no TIMEOUT in the chain below 20 us), so every contender follows the rule. */
#define BC_MIN_WAIT_NS 20000ull
/* The pause of every new attempt after a local error (EMFILE, ENOBUFS, ...): doubles from
 * 10 ms to 1 s while the errors go on, as redial's throttle does. */
#define BC_THROTTLE_MIN_NS 10000000ull
#define BC_THROTTLE_MAX_NS 1000000000ull

enum bc_scenario {
	BC_CHURN,   /* connect, wait for the server's FIN, close, reconnect at once */
	BC_REFUSED, /* every attempt is refused; short backoff */
	BC_TIMEOUT, /* every attempt is blackholed and hits the connect deadline */
	BC_SCALE,   /* N endpoints fail once, wait in a long backoff; 10% removed at random */
	BC_HOLD,    /* N connections held and watched; the farm drops them all */
};

struct bc_opts {
	enum bc_scenario scenario;
	uint32_t endpoints;
	uint16_t port;            /* the farm target, reached on 127.x.y.z (see bc_addr) */
	uint32_t warmup_ms;       /* churn/refused/timeout: run before the window opens */
	uint32_t measure_ms;      /* the window */
	uint32_t idle_ms;         /* hold: the idle window */
	uint64_t timeout_ns;      /* connect deadline */
	struct redial_backoff backoff;
	uint64_t stable_after_ns; /* a connection up this long resets the backoff level */
	uint32_t max_inflight;    /* connect attempts in flight at once */
	uint64_t seed;
	uint64_t stop_after;      /* > 0: close the window after this many attempts (callgrind),
				     or after measure_ms when that is not 0, whichever is first */
	uint32_t remove_pct;      /* scale: share of the endpoints removed */
	bool callgrind;           /* toggle callgrind instrumentation around the window */
	bool kernel_waits;        /* redial, scale: long waits as kernel TIMEOUTs, not the wheel */
};

/* Parses the contender command line (see bc_usage in contender_common.c); exits 2 on error. */
void bc_parse(int argc, char **argv, const char *impl, struct bc_opts *o);
const char *bc_scenario_name(enum bc_scenario s);

/* The address of endpoint i: 127.A.B.C with C in 1..250, so each of the first 15 million
 * endpoints has its own destination address (and its own ephemeral port space). */
void bc_addr(uint32_t i, uint16_t port, struct sockaddr_in *ret);

uint64_t bc_now(void); /* CLOCK_MONOTONIC ns */
void bc_sleep_until(uint64_t t);

/* A reading of the process's own counters; differences of two readings are what the RESULT
 * line reports. */
struct bc_cpu {
	uint64_t user_us, sys_us;
	uint64_t vcsw, ivcsw; /* context switches: voluntary (wake-ups), involuntary */
	uint64_t syscalls;    /* the driver's raw_syscalls:sys_enter counter (bc_have_syscalls) */
	uint64_t sites;       /* the contender's own system call count (bc_sites_on) */
};
struct bc_cpu bc_cpu(void);
struct bc_cpu bc_cpu_sub(struct bc_cpu a, struct bc_cpu b); /* a - b, field by field */
/* Prints " vcsw=.. ivcsw=.. [syscalls=..] [sc_sites=..]" for a difference of readings. */
void bc_print_usage(const struct bc_cpu *d);
/* True when the driver handed over a system call counter (BENCH_SYSCALL_FD). */
bool bc_have_syscalls(void);

/* The fallback system call count: a contender that counts its own calls sets bc_sites_on
 * and wraps each call in BC_SYS, or sets bc_sites_fn to a function that returns a count
 * kept elsewhere (the library's). */
extern uint64_t bc_sites;
extern bool bc_sites_on;
extern uint64_t (*bc_sites_fn)(void);
#define BC_SYS(call) (bc_sites++, (call))
long bc_rss(void); /* resident bytes */

/* ---- Histogram: 16 linear sub-buckets per power of two (6% resolution), in ns ----------- */

#define BC_HIST_SUB 16
#define BC_HIST_BUCKETS (BC_HIST_SUB + 60 * BC_HIST_SUB)
struct bc_hist {
	uint64_t n;
	uint64_t early; /* negative samples (a deadline that fired early), counted in bucket 0 */
	uint64_t b[BC_HIST_BUCKETS];
};
void bc_hist_add(struct bc_hist *h, int64_t v);
/* The q-quantile (0 < q <= 1), as the middle of its bucket; 0 when empty. */
uint64_t bc_hist_quantile(const struct bc_hist *h, double q);

/* ---- The measurement window of churn, refused and timeout ---------------------------------- */

struct bc_window {
	const struct bc_opts *o;
	uint64_t t_open, t_close;  /* planned */
	uint64_t t_opened, t_closed; /* actual */
	bool open, done;
	uint64_t attempts, connects, failures, timeouts, local_errors; /* inside the window */
	uint64_t started; /* attempts begun inside the window (contenders that call
			     bc_window_started; 0 otherwise) */
	struct bc_cpu cpu0, cpu1;
	struct bc_hist hist;
};

/* Starts the clock: warm-up now, window after. */
void bc_window_init(struct bc_window *w, const struct bc_opts *o);
/* Moves the phases along; returns the next time the loop must look again (ns), or 0 once
 * the window has closed. Loops call it after every batch and bound their waits by it. */
uint64_t bc_window_tick(struct bc_window *w, uint64_t now);
/* One attempt ended: err 0 is a connection, else the positive errno. start_ns is when the
 * attempt began; now is when the contender learnt the outcome. */
void bc_window_attempt(struct bc_window *w, int err, uint64_t start_ns, uint64_t now);
void bc_window_local_error(struct bc_window *w);
/* One attempt began (counted in `started`; the storm scenario divides by it). */
void bc_window_started(struct bc_window *w);
/* Prints the RESULT line of a windowed run. */
void bc_window_report(const struct bc_window *w, const char *impl, long rss_delta);

/* ---- scale ------------------------------------------------------------------------------- */

/* k distinct endpoint indices out of n, in random order, the same for every contender
 * (a partial Fisher-Yates shuffle driven by redial's generator seeded with seed). */
uint32_t *bc_removal_order(uint32_t n, uint32_t k, uint64_t seed);

struct bc_scale_result {
	uint32_t endpoints;
	uint64_t attempts;       /* made during the first round */
	uint64_t round_ns;       /* wall time of the first round */
	struct bc_cpu cpu;       /* CPU of the first round */
	long rss_delta;          /* after the first round, against before the table existed */
	uint32_t removed;
	uint64_t remove_total_ns; /* the removal calls plus the loop pass that completes them */
	struct bc_hist remove_hist; /* each removal call alone */
};
void bc_scale_report(const struct bc_scale_result *s, const char *impl);

/* ---- hold -------------------------------------------------------------------------------- */

struct bc_hold {
	const struct bc_opts *o;
	uint32_t target;         /* connections to establish */
	uint32_t connected;      /* established so far (first connection of each endpoint) */
	uint64_t t_start, t_all; /* connect phase */
	struct bc_cpu cpu_start, cpu_all;
	long rss0, rss_all;
	uint64_t t_idle_start, t_idle_end;
	struct bc_cpu cpu_idle0, cpu_idle1;
	int phase;               /* 0 connecting, 1 settling, 2 idle, 3 watching for the drop,
				    4 done */
	uint64_t *notice;        /* when each drop was noticed */
	uint32_t noticed;
	uint64_t t_ready;
};

void bc_hold_init(struct bc_hold *h, const struct bc_opts *o);
/* A connection of the connect phase was established (or, on a failure, nothing). */
void bc_hold_connected(struct bc_hold *h, uint64_t now);
/* A held connection was seen closed by the farm. */
void bc_hold_dropped(struct bc_hold *h, uint64_t now);
/* True when a phase has run its course on events alone (everything connected, or every
 * drop seen) and bc_hold_tick should run now: loops that wait for a time of their own
 * (redial_run, uv_run) check it from their callbacks. */
bool bc_hold_due(const struct bc_hold *h);
/* Moves the phases along (prints READY when the idle window ends); returns the next time to
 * look again, UINT64_MAX for "only events matter now", or 0 when done. */
uint64_t bc_hold_tick(struct bc_hold *h, uint64_t now);
/* Reads the driver's DROP line and prints the RESULT line. */
void bc_hold_report(struct bc_hold *h, const char *impl);

/* Callgrind instrumentation around the window, when the contender was asked to. */
void bc_instrument(const struct bc_opts *o, bool on);

_Noreturn void bc_die(const char *what, int err);

#endif
