/* driver.h — the data model of redial-bench's driver, shared by driver.c (plan
 * and runs) and driver_report.c (medians, ratios, table, JSON, chart). */
#ifndef BENCH_DRIVER_H
#define BENCH_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "farm.h"

#define BD_MAX_REPS 20 /* the cap of the adaptive repetitions can go no higher */
#define BD_MAX_SCEN 20
/* Repetitions are added until the key ratio of each scenario is known within this (see
 * struct bd_rstat), or the scenario's cap is reached. */
#define BD_SPREAD_TARGET_PCT 10.0

/* Per-run figures. The JSON names are the where it names them. */
enum bd_metric {
	BD_ATTEMPTS_PER_S,
	BD_CONNECTS_PER_S,
	BD_CPU_US_PER_ATTEMPT,
	BD_P50_US,
	BD_P99_US,
	BD_P999_US,
	BD_RSS_PER_EP,
	BD_REMOVE_NS,      /* scale: removal per endpoint, the loop pass that completes it included */
	BD_IDLE_CPU,       /* hold: CPU us per second of idle holding */
	BD_NOTICE_ALL_MS,  /* hold: from the drop's start until the last close was noticed */
	BD_DROP_MS,        /* hold: how long the farm took to close them all */
	BD_NOTICE_LAG_MS,  /* hold: notice_all_ms - farm_drop_ms, the contender's own delay */
	BD_CONNECTED,      /* hold: connections held */
	BD_FARM_CPU,       /* % of a CPU the farm's child used during the run */
	BD_LOCAL_ERRORS,
	BD_EARLY,          /* timeout: deadlines that fired before their time */
	BD_SAMPLES,        /* histogram samples */
	BD_OTHER_CPU,      /* % of the contender's CPU that other processes used during the run */
	BD_ATTEMPTS,       /* attempts in the window (storm: made in the whole run) */
	BD_WAKEUPS_PER_ATTEMPT,  /* voluntary context switches per attempt */
	BD_SYSCALLS_PER_ATTEMPT, /* system calls per attempt: the counting run's (struct bd_cell) */
	BD_SITES_PER_ATTEMPT,    /* the contender's own count of its calls, per attempt (fallback) */
	BD_METRIC_COUNT
};

struct bd_metric_def {
	const char *json;
	bool higher_better;
};
extern const struct bd_metric_def bd_metrics[BD_METRIC_COUNT];

/* BD_REDIAL_CLI is the `redial` command-line tool itself (the storm scenario). */
enum bd_impl { BD_FLOOR, BD_BLOCKING, BD_EPOLL, BD_LIBUV, BD_GO, BD_REDIAL, BD_REDIAL_KWAITS,
	       BD_REDIAL_CLI, BD_IMPL_COUNT };

struct bd_impl_info {
	const char *name;
	char path[512];
	bool available;
	char why[200]; /* when not available */
};

/* One (scenario, endpoints, contender): every repetition and their medians. */
struct bd_cell {
	bool planned;
	/* Not run on purpose: the contender was not built (no Go toolchain, no libuv, ...); its
	 * note says why. Not an error. */
	bool skipped;
	/* An error of the run (bd_check_errors): a repetition that gave a result but did no work
	 * (no attempt, or no connection where connections are the work: churn, hold, TLS), no
	 * repetition with a result, or a counting run that did no work or gave no count.
	 * redial-bench exits non-zero when any cell is in error. */
	bool error;
	char error_msg[240];
	int nrep;
	bool ok[BD_MAX_REPS];   /* a result with work done: its figures count */
	bool idle[BD_MAX_REPS]; /* a result with no work done (!ok): an error */
	double m[BD_MAX_REPS][BD_METRIC_COUNT];
	double med[BD_METRIC_COUNT];
	char note[200];
	char fail[160]; /* why the last repetition without a result failed */
	/* The separate counting run (bd_bench.sc_mode == BD_SC_PERF): system calls per
	 * attempt, NAN when it did not run or failed. */
	double sc_counted;
	const char *sc_method; /* how med[BD_SYSCALLS_PER_ATTEMPT] was counted, NULL: not */
	char sc_error[160];    /* the counting run did no work or gave no count: an error */
};

struct bd_scen {
	const char *name;          /* churn, refused, timeout, scale, hold, storm */
	const char *variant;       /* storm: refused-fixed, refused-jitter, timeout; else NULL */
	const char *contender;     /* the contenders' --scenario (storm: refused or timeout) */
	enum farm_kind kind;
	const char *farm_spec;     /* farm-server syntax, for the record */
	uint32_t endpoints;
	uint32_t warmup_ms, measure_ms, idle_ms;
	uint64_t timeout_ns;
	uint64_t b_initial_ns, b_max_ns;
	double b_mult;
	const char *jitter;
	uint64_t stable_after_ns;
	int reps;                  /* repetitions run (planned: the minimum) */
	int max_reps;              /* the cap of the adaptive repetitions */
	bool adaptive;             /* it had a key ratio to watch (redial and epoll both ran) */
	bool cap_hit;              /* the cap was reached with the key ratio still too spread */
	unsigned impls;            /* bit per enum bd_impl */
	const char *what;          /* one line for the table and the JSON */
	struct bd_cell cell[BD_IMPL_COUNT];
};

struct bd_callgrind {
	bool ran;
	bool error;    /* run, but no figure: no attempt, no result, no totals (an error) */
	double instructions, attempts;
	char note[200];
};

/* How system calls are counted (bd_bench.sc_mode). */
enum bd_sc_mode {
	BD_SC_NONE,  /* --no-syscalls */
	BD_SC_PERF,  /* the raw_syscalls:sys_enter tracepoint, in a separate counting run */
	BD_SC_SITES, /* no tracepoint: the contenders' own counts (sc_sites) where they have one */
};

struct bd_bench {
	bool quick;
	int reps_override;         /* --reps, 0 when not given */
	int max_reps_override;     /* --max-reps, 0 when not given */
	enum bd_sc_mode sc_mode;
	unsigned long long sc_tracepoint; /* the tracepoint's id (BD_SC_PERF) */
	char sc_why[200];          /* why not BD_SC_PERF */
	const char *cli_path;      /* the redial tool (BENCH_REDIAL_CLI) */
	bool pinned;
	int client_cpu, farm_cpu;
	long nofile;
	const char *out_dir;
	const char *json_path;
	const char *chart_path;
	const char *srcdir;
	struct bd_impl_info impl[BD_IMPL_COUNT];
	struct bd_scen scen[BD_MAX_SCEN];
	int nscen;
	struct bd_callgrind cg[BD_IMPL_COUNT];
	double wall_s;
};

/* driver_report.c */
/* snprintf that truncates silently: notes and paths are best effort. */
void bd_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double bd_median(const double *v, int n);
void bd_aggregate(struct bd_bench *b);
/* redial's figure over impl's, pair by pair (same repetition), then the median; NAN if
 * there is no complete pair. */
double bd_ratio(const struct bd_scen *s, enum bd_impl impl, enum bd_metric m);

/* The spread of the per-repetition ratios num/den of metric m: their median, min and max,
 * and [lo, hi], the distribution-free confidence interval of the median (order statistics
 * x(k)..x(n+1-k), the narrowest with at least 90% coverage; min..max when n < 5, whose
 * coverage is then lower, 1 - 2^(1-n)). pct is the larger side of that interval around the
 * median, in %: the "±" the adaptive repetitions drive under BD_SPREAD_TARGET_PCT (min..max
 * can only widen as repetitions are added; the interval narrows). */
struct bd_rstat {
	int n;
	double med, min, max, lo, hi, pct, coverage;
};
void bd_ratio_stats(const struct bd_scen *s, enum bd_impl num, enum bd_impl den, enum bd_metric m,
		    struct bd_rstat *st);
/* The ratio each scenario's repetitions are added for: redial / epoll of its first ratio
 * column (churn connects/s, refused attempts/s, timeout CPU per attempt, scale memory --
 * judged at the largest table of the sweep only --, hold idle CPU); storm: epoll /
 * redial-cli of CPU per attempt. False when the pair did not both run. */
bool bd_key_ratio(const struct bd_scen *s, const struct bd_bench *b, enum bd_impl *num,
		  enum bd_impl *den, enum bd_metric *m);
const char *bd_scen_label(const struct bd_scen *s, char *buf, size_t len); /* churn, storm/timeout */
void bd_print_tables(const struct bd_bench *b, FILE *out);
int bd_write_json(const struct bd_bench *b, const char *path);
/* Marks the cells in error (struct bd_cell), prints one line per error to err, naming the
 * contender and the scenario, and returns how many errors there are (the callgrind runs'
 * included). Called after bd_aggregate, before the table and the JSON. */
int bd_check_errors(struct bd_bench *b, FILE *err);
int bd_write_chart(const struct bd_bench *b);

#endif
