/* contender_common.c — the contenders' shared plumbing: command line, window, histograms,
 * readings and the RESULT line. See contender_common.h. */
#include "contender_common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef BC_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#endif

_Noreturn void bc_die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static const char *const scenario_names[] = {
	[BC_CHURN] = "churn",
	[BC_REFUSED] = "refused",
	[BC_TIMEOUT] = "timeout",
	[BC_SCALE] = "scale",
	[BC_HOLD] = "hold",
};

const char *bc_scenario_name(enum bc_scenario s)
{
	return (unsigned)s < sizeof(scenario_names) / sizeof(scenario_names[0]) ? scenario_names[s]
										: "?";
}

static _Noreturn void usage(const char *impl)
{
	fprintf(stderr,
		"usage: bench-%s --scenario churn|refused|timeout|scale|hold --endpoints N --port P\n"
		"       [--warmup-ms MS] [--measure-ms MS] [--idle-ms MS] [--timeout-ns NS]\n"
		"       [--backoff-initial-ns NS] [--backoff-max-ns NS] [--backoff-mult X]\n"
		"       [--jitter none|full|equal] [--stable-after-ns NS] [--max-inflight N]\n"
		"       [--seed S] [--stop-after ATTEMPTS] [--remove-pct P] [--callgrind]\n"
		"       [--kernel-waits]\n"
		"A contender of redial-bench: runs one scenario once and prints one RESULT line.\n",
		impl);
	exit(2);
}

static uint64_t num(const char *impl, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		usage(impl);
	return v;
}

void bc_parse(int argc, char **argv, const char *impl, struct bc_opts *o)
{
	enum {
		O_SCENARIO = 1, O_ENDPOINTS, O_PORT, O_WARMUP, O_MEASURE, O_IDLE, O_TIMEOUT,
		O_BINIT, O_BMAX, O_BMULT, O_JITTER, O_STABLE, O_INFLIGHT, O_SEED, O_STOP,
		O_REMOVE, O_CALLGRIND, O_KWAITS,
	};
	static const struct option longopts[] = {
		{ "scenario", required_argument, 0, O_SCENARIO },
		{ "endpoints", required_argument, 0, O_ENDPOINTS },
		{ "port", required_argument, 0, O_PORT },
		{ "warmup-ms", required_argument, 0, O_WARMUP },
		{ "measure-ms", required_argument, 0, O_MEASURE },
		{ "idle-ms", required_argument, 0, O_IDLE },
		{ "timeout-ns", required_argument, 0, O_TIMEOUT },
		{ "backoff-initial-ns", required_argument, 0, O_BINIT },
		{ "backoff-max-ns", required_argument, 0, O_BMAX },
		{ "backoff-mult", required_argument, 0, O_BMULT },
		{ "jitter", required_argument, 0, O_JITTER },
		{ "stable-after-ns", required_argument, 0, O_STABLE },
		{ "max-inflight", required_argument, 0, O_INFLIGHT },
		{ "seed", required_argument, 0, O_SEED },
		{ "stop-after", required_argument, 0, O_STOP },
		{ "remove-pct", required_argument, 0, O_REMOVE },
		{ "callgrind", no_argument, 0, O_CALLGRIND },
		{ "kernel-waits", no_argument, 0, O_KWAITS },
		{ 0, 0, 0, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->scenario = (enum bc_scenario)-1;
	o->warmup_ms = 300;
	o->measure_ms = 2000;
	o->idle_ms = 1000;
	o->timeout_ns = REDIAL_SEC(2);
	redial_backoff_init(&o->backoff);
	o->stable_after_ns = REDIAL_SEC(1);
	o->max_inflight = 4096;
	o->seed = 1;
	o->remove_pct = 10;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_SCENARIO:
			for (unsigned i = 0; i < sizeof(scenario_names) / sizeof(scenario_names[0]); i++)
				if (!strcmp(optarg, scenario_names[i]))
					o->scenario = (enum bc_scenario)i;
			break;
		case O_ENDPOINTS: o->endpoints = (uint32_t)num(impl, optarg); break;
		case O_PORT: o->port = (uint16_t)num(impl, optarg); break;
		case O_WARMUP: o->warmup_ms = (uint32_t)num(impl, optarg); break;
		case O_MEASURE: o->measure_ms = (uint32_t)num(impl, optarg); break;
		case O_IDLE: o->idle_ms = (uint32_t)num(impl, optarg); break;
		case O_TIMEOUT: o->timeout_ns = num(impl, optarg); break;
		case O_BINIT: o->backoff.initial_ns = num(impl, optarg); break;
		case O_BMAX: o->backoff.max_ns = num(impl, optarg); break;
		case O_BMULT: o->backoff.multiplier = strtod(optarg, NULL); break;
		case O_JITTER:
			if (!strcmp(optarg, "none"))
				o->backoff.jitter = REDIAL_JITTER_NONE;
			else if (!strcmp(optarg, "full"))
				o->backoff.jitter = REDIAL_JITTER_FULL;
			else if (!strcmp(optarg, "equal"))
				o->backoff.jitter = REDIAL_JITTER_EQUAL;
			else
				usage(impl);
			break;
		case O_STABLE: o->stable_after_ns = num(impl, optarg); break;
		case O_INFLIGHT: o->max_inflight = (uint32_t)num(impl, optarg); break;
		case O_SEED: o->seed = num(impl, optarg); break;
		case O_STOP: o->stop_after = num(impl, optarg); break;
		case O_REMOVE: o->remove_pct = (uint32_t)num(impl, optarg); break;
		case O_CALLGRIND: o->callgrind = true; break;
		case O_KWAITS: o->kernel_waits = true; break;
		default: usage(impl);
		}
	}
	if (optind != argc || o->scenario == (enum bc_scenario)-1 || !o->endpoints || !o->port ||
	    !o->max_inflight || redial_backoff_validate(&o->backoff) < 0 || !o->timeout_ns ||
	    o->remove_pct > 100)
		usage(impl);
}

void bc_addr(uint32_t i, uint16_t port, struct sockaddr_in *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->sin_family = AF_INET;
	ret->sin_port = htons(port);
	uint32_t a = 1 + i / 62500, b = (i / 250) % 250, c = 1 + i % 250;
	ret->sin_addr.s_addr = htonl(127u << 24 | a << 16 | b << 8 | c);
}

uint64_t bc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bc_sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull),
			       .tv_nsec = (long)(t % 1000000000ull) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

uint64_t bc_sites;
bool bc_sites_on;
uint64_t (*bc_sites_fn)(void);

/* The driver's system call counter: -2 not looked up yet, -1 none. */
static int sc_fd = -2;

bool bc_have_syscalls(void)
{
	if (sc_fd == -2) {
		const char *v = getenv("BENCH_SYSCALL_FD");
		char *end;
		long fd = v ? strtol(v, &end, 10) : -1;
		sc_fd = v && *v && !*end && fd >= 0 && fd < 1024 ? (int)fd : -1;
	}
	return sc_fd >= 0;
}

struct bc_cpu bc_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct bc_cpu c = {
		.user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec,
		.sys_us = (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec,
		.vcsw = (uint64_t)ru.ru_nvcsw,
		.ivcsw = (uint64_t)ru.ru_nivcsw,
		.sites = bc_sites_fn ? bc_sites_fn() : bc_sites,
	};
	/* A counting event opened with inherit: the read sums every thread. */
	if (bc_have_syscalls() && read(sc_fd, &c.syscalls, sizeof(c.syscalls)) != sizeof(c.syscalls))
		bc_die("read BENCH_SYSCALL_FD", errno);
	return c;
}

struct bc_cpu bc_cpu_sub(struct bc_cpu a, struct bc_cpu b)
{
	struct bc_cpu d = {
		.user_us = a.user_us - b.user_us,
		.sys_us = a.sys_us - b.sys_us,
		.vcsw = a.vcsw - b.vcsw,
		.ivcsw = a.ivcsw - b.ivcsw,
		.syscalls = a.syscalls - b.syscalls,
		.sites = a.sites - b.sites,
	};
	return d;
}

void bc_print_usage(const struct bc_cpu *d)
{
	printf(" vcsw=%" PRIu64 " ivcsw=%" PRIu64, d->vcsw, d->ivcsw);
	if (bc_have_syscalls())
		printf(" syscalls=%" PRIu64, d->syscalls);
	if (bc_sites_on || bc_sites_fn)
		printf(" sc_sites=%" PRIu64, d->sites);
}

long bc_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long pages = 0, rss = 0;
	if (!f)
		bc_die("/proc/self/statm", errno);
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

/* ---- histogram --------------------------------------------------------------------------- */

static unsigned hist_index(uint64_t v)
{
	if (v < BC_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
	unsigned sub = (unsigned)(v >> (e - 4)) & (BC_HIST_SUB - 1);
	return BC_HIST_SUB + (e - 4) * BC_HIST_SUB + sub;
}

/* The middle of bucket i. */
static uint64_t hist_value(unsigned i)
{
	if (i < BC_HIST_SUB)
		return i;
	unsigned e = (i - BC_HIST_SUB) / BC_HIST_SUB + 4, sub = (i - BC_HIST_SUB) % BC_HIST_SUB;
	uint64_t lo = (uint64_t)(BC_HIST_SUB + sub) << (e - 4);
	return lo + ((1ull << (e - 4)) >> 1);
}

void bc_hist_add(struct bc_hist *h, int64_t v)
{
	h->n++;
	if (v < 0) {
		h->early++;
		h->b[0]++;
		return;
	}
	h->b[hist_index((uint64_t)v)]++;
}

uint64_t bc_hist_quantile(const struct bc_hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < BC_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return hist_value(i);
	}
	return hist_value(BC_HIST_BUCKETS - 1);
}

/* ---- window ------------------------------------------------------------------------------ */

void bc_instrument(const struct bc_opts *o, bool on)
{
	if (!o->callgrind)
		return;
#ifdef BC_HAVE_CALLGRIND
	/* Run under --instr-atstart=no: only the window is counted, and the dump at exit
	 * holds just that. */
	if (on)
		CALLGRIND_START_INSTRUMENTATION;
	else
		CALLGRIND_STOP_INSTRUMENTATION;
#else
	(void)on;
#endif
}

void bc_window_init(struct bc_window *w, const struct bc_opts *o)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	uint64_t now = bc_now();
	w->t_open = now + (uint64_t)o->warmup_ms * 1000000u;
	/* --stop-after closes the window after that many attempts; a --measure-ms given with it
	 * bounds the window all the same (a contender that stalls still ends, and says so). */
	w->t_close = o->stop_after && !o->measure_ms ? UINT64_MAX
						     : w->t_open + (uint64_t)o->measure_ms * 1000000u;
}

static void window_close(struct bc_window *w, uint64_t now)
{
	bc_instrument(w->o, false);
	w->cpu1 = bc_cpu();
	w->t_closed = now;
	w->open = false;
	w->done = true;
}

uint64_t bc_window_tick(struct bc_window *w, uint64_t now)
{
	if (w->done)
		return 0;
	if (!w->open) {
		if (now < w->t_open)
			return w->t_open;
		w->open = true;
		w->t_opened = now;
		w->cpu0 = bc_cpu();
		bc_instrument(w->o, true);
	}
	if (now >= w->t_close) {
		window_close(w, now);
		return 0;
	}
	return w->t_close;
}

void bc_window_attempt(struct bc_window *w, int err, uint64_t start_ns, uint64_t now)
{
	if (!w->open)
		return;
	w->attempts++;
	if (err == 0) {
		w->connects++;
		if (w->o->scenario == BC_CHURN)
			bc_hist_add(&w->hist, (int64_t)(now - start_ns));
	} else {
		w->failures++;
		if (err == ETIMEDOUT) {
			w->timeouts++;
			if (w->o->scenario == BC_TIMEOUT)
				bc_hist_add(&w->hist, (int64_t)(now - start_ns - w->o->timeout_ns));
		}
		if (w->o->scenario == BC_REFUSED)
			bc_hist_add(&w->hist, (int64_t)(now - start_ns));
	}
	if (w->o->stop_after && w->attempts >= w->o->stop_after)
		window_close(w, now);
}

void bc_window_local_error(struct bc_window *w)
{
	if (w->open)
		w->local_errors++;
}

void bc_window_started(struct bc_window *w)
{
	if (w->open)
		w->started++;
}

static void print_hist(const struct bc_hist *h)
{
	printf(" hist_n=%" PRIu64 " early=%" PRIu64 " p50_ns=%" PRIu64 " p99_ns=%" PRIu64
	       " p999_ns=%" PRIu64,
	       h->n, h->early, bc_hist_quantile(h, 0.50), bc_hist_quantile(h, 0.99),
	       bc_hist_quantile(h, 0.999));
}

void bc_window_report(const struct bc_window *w, const char *impl, long rss_delta)
{
	struct bc_cpu d = bc_cpu_sub(w->cpu1, w->cpu0);
	printf("RESULT impl=%s scenario=%s endpoints=%u attempts=%" PRIu64 " connects=%" PRIu64
	       " failures=%" PRIu64 " timeouts=%" PRIu64 " local_errors=%" PRIu64
	       " started=%" PRIu64 " wall_ns=%" PRIu64 " user_us=%" PRIu64 " sys_us=%" PRIu64
	       " rss_delta=%ld",
	       impl, bc_scenario_name(w->o->scenario), w->o->endpoints, w->attempts, w->connects,
	       w->failures, w->timeouts, w->local_errors, w->started, w->t_closed - w->t_opened,
	       d.user_us, d.sys_us, rss_delta);
	bc_print_usage(&d);
	print_hist(&w->hist);
	printf("\n");
	fflush(stdout);
}

/* ---- scale ------------------------------------------------------------------------------- */

uint32_t *bc_removal_order(uint32_t n, uint32_t k, uint64_t seed)
{
	uint32_t *perm = malloc((size_t)n * sizeof(*perm));
	if (!perm)
		bc_die("malloc", ENOMEM);
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	struct redial_rng rng;
	redial_rng_seed(&rng, seed);
	for (uint32_t i = 0; i < k && i < n; i++) {
		uint32_t j = i + (uint32_t)(redial_rng_next(&rng) % (n - i));
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	return perm;
}

void bc_scale_report(const struct bc_scale_result *s, const char *impl)
{
	printf("RESULT impl=%s scenario=scale endpoints=%u attempts=%" PRIu64 " connects=0"
	       " failures=%" PRIu64 " wall_ns=%" PRIu64 " user_us=%" PRIu64 " sys_us=%" PRIu64
	       " rss_delta=%ld remove_n=%u remove_total_ns=%" PRIu64,
	       impl, s->endpoints, s->attempts, s->attempts, s->round_ns, s->cpu.user_us,
	       s->cpu.sys_us, s->rss_delta, s->removed, s->remove_total_ns);
	printf(" remove_p50_ns=%" PRIu64 " remove_p99_ns=%" PRIu64,
	       bc_hist_quantile(&s->remove_hist, 0.5), bc_hist_quantile(&s->remove_hist, 0.99));
	bc_print_usage(&s->cpu);
	printf("\n");
	fflush(stdout);
}

/* ---- hold -------------------------------------------------------------------------------- */

#define HOLD_CONNECT_GUARD_NS REDIAL_SEC(60)
#define HOLD_WATCH_GUARD_NS REDIAL_SEC(60)
/* The idle window starts this long after the last connection, so that the tail of the
 * connect phase (completions still in flight, the farm accepting) does not count as idle. */
#define HOLD_SETTLE_NS REDIAL_MSEC(100)

void bc_hold_init(struct bc_hold *h, const struct bc_opts *o)
{
	memset(h, 0, sizeof(*h));
	h->o = o;
	h->target = o->endpoints;
	/* Allocated and touched before the memory baseline of the contender is taken. */
	h->notice = calloc(o->endpoints, sizeof(*h->notice));
	if (!h->notice)
		bc_die("calloc", ENOMEM);
	memset(h->notice, 0xff, o->endpoints * sizeof(*h->notice));
	h->rss0 = bc_rss();
	h->t_start = bc_now();
	h->cpu_start = bc_cpu();
}

void bc_hold_connected(struct bc_hold *h, uint64_t now)
{
	(void)now;
	if (h->phase == 0)
		h->connected++;
}

void bc_hold_dropped(struct bc_hold *h, uint64_t now)
{
	if (h->phase == 3 && h->noticed < h->target)
		h->notice[h->noticed++] = now;
}

bool bc_hold_due(const struct bc_hold *h)
{
	return (h->phase == 0 && h->connected >= h->target) ||
	       (h->phase == 3 && h->noticed >= h->connected);
}

uint64_t bc_hold_tick(struct bc_hold *h, uint64_t now)
{
	switch (h->phase) {
	case 0:
		if (h->connected < h->target && now - h->t_start < HOLD_CONNECT_GUARD_NS)
			return h->t_start + HOLD_CONNECT_GUARD_NS;
		h->t_all = now;
		h->cpu_all = bc_cpu();
		h->rss_all = bc_rss();
		h->t_idle_start = now + HOLD_SETTLE_NS;
		h->phase = 1;
		return h->t_idle_start;
	case 1:
		if (now < h->t_idle_start)
			return h->t_idle_start;
		h->cpu_idle0 = bc_cpu();
		h->t_idle_start = now;
		h->t_idle_end = now + (uint64_t)h->o->idle_ms * 1000000u;
		h->phase = 2;
		return h->t_idle_end;
	case 2:
		if (now < h->t_idle_end)
			return h->t_idle_end;
		h->cpu_idle1 = bc_cpu();
		h->t_idle_end = now;
		h->phase = 3;
		h->t_ready = now;
		printf("READY %u\n", h->connected);
		fflush(stdout);
		return h->t_ready + HOLD_WATCH_GUARD_NS;
	case 3:
		if (h->noticed < h->connected && now - h->t_ready < HOLD_WATCH_GUARD_NS)
			return h->t_ready + HOLD_WATCH_GUARD_NS;
		h->phase = 4;
		return 0;
	default:
		return 0;
	}
}

void bc_hold_report(struct bc_hold *h, const char *impl)
{
	char line[128];
	uint64_t t0 = 0;
	/* The driver dropped the connections at t0 and says so once we have seen them go. */
	if (fgets(line, sizeof(line), stdin) && sscanf(line, "DROP %" SCNu64, &t0) != 1)
		t0 = 0;
	struct bc_hist hist;
	memset(&hist, 0, sizeof(hist));
	uint64_t last = 0;
	for (uint32_t i = 0; i < h->noticed; i++) {
		bc_hist_add(&hist, (int64_t)(h->notice[i] - t0));
		if (h->notice[i] > last)
			last = h->notice[i];
	}
	uint64_t idle_ns = h->t_idle_end - h->t_idle_start;
	struct bc_cpu d = bc_cpu_sub(h->cpu_all, h->cpu_start);
	printf("RESULT impl=%s scenario=hold endpoints=%u attempts=%u connects=%u failures=0"
	       " wall_ns=%" PRIu64 " user_us=%" PRIu64 " sys_us=%" PRIu64 " rss_delta=%ld"
	       " idle_ns=%" PRIu64 " idle_user_us=%" PRIu64 " idle_sys_us=%" PRIu64
	       " noticed=%u notice_all_ns=%" PRIu64,
	       impl, h->target, h->connected, h->connected, h->t_all - h->t_start,
	       h->cpu_all.user_us - h->cpu_start.user_us, h->cpu_all.sys_us - h->cpu_start.sys_us,
	       h->rss_all - h->rss0, idle_ns, h->cpu_idle1.user_us - h->cpu_idle0.user_us,
	       h->cpu_idle1.sys_us - h->cpu_idle0.sys_us, h->noticed,
	       t0 && last > t0 ? last - t0 : 0);
	bc_print_usage(&d); /* the connect phase, as user_us and sys_us */
	print_hist(&hist);
	printf("\n");
	fflush(stdout);
}
