/* driver_report.c — what redial-bench makes of its runs: medians, pair-by-pair ratios, the
 * goals, the table on stdout, the JSON file and the gnuplot chart. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

const struct bd_metric_def bd_metrics[BD_METRIC_COUNT] = {
	[BD_ATTEMPTS_PER_S] = { "attempts_per_s", true },
	[BD_CONNECTS_PER_S] = { "connects_per_s", true },
	[BD_CPU_US_PER_ATTEMPT] = { "cpu_us_per_attempt", false },
	[BD_P50_US] = { "p50_us", false },
	[BD_P99_US] = { "p99_us", false },
	[BD_P999_US] = { "p999_us", false },
	[BD_RSS_PER_EP] = { "rss_bytes_per_endpoint", false },
	[BD_REMOVE_NS] = { "remove_ns_per_endpoint", false },
	[BD_IDLE_CPU] = { "idle_cpu_us_per_s", false },
	[BD_NOTICE_ALL_MS] = { "notice_all_ms", false },
	[BD_DROP_MS] = { "farm_drop_ms", false },
	[BD_NOTICE_LAG_MS] = { "notice_lag_ms", false },
	[BD_CONNECTED] = { "connected", true },
	[BD_FARM_CPU] = { "farm_cpu_pct", false },
	[BD_LOCAL_ERRORS] = { "local_errors", false },
	[BD_EARLY] = { "early", false },
	[BD_SAMPLES] = { "samples", true },
	[BD_OTHER_CPU] = { "other_load_pct", false },
	[BD_ATTEMPTS] = { "attempts", true },
	[BD_WAKEUPS_PER_ATTEMPT] = { "wakeups_per_attempt", false },
	[BD_SYSCALLS_PER_ATTEMPT] = { "syscalls_per_attempt", false },
	[BD_SITES_PER_ATTEMPT] = { "syscall_sites_per_attempt", false },
};

static const char *const order_names[] = { "floor", "blocking", "epoll", "libuv", "go", "redial",
					   "redial-kwaits", "redial-cli" };

void bd_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- statistics -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bd_median(const double *v, int n)
{
	double tmp[BD_MAX_REPS];
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			tmp[k++] = v[i];
	if (!k)
		return NAN;
	qsort(tmp, (size_t)k, sizeof(tmp[0]), cmp_double);
	return k % 2 ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

/* How a row's system calls were counted. */
static const char *sites_method(enum bd_impl i)
{
	switch (i) {
	case BD_REDIAL:
	case BD_REDIAL_KWAITS:
		return "io_uring_enter calls only (redial_stats.submits)";
	case BD_FLOOR:
		return "liburing calls that may enter the kernel (an upper bound)";
	default:
		return "the contender's own count at each call site";
	}
}

void bd_aggregate(struct bd_bench *b)
{
	for (int si = 0; si < b->nscen; si++) {
		for (int i = 0; i < BD_IMPL_COUNT; i++) {
			struct bd_cell *c = &b->scen[si].cell[i];
			for (int m = 0; m < BD_METRIC_COUNT; m++) {
				double v[BD_MAX_REPS];
				for (int r = 0; r < c->nrep; r++)
					v[r] = c->ok[r] ? c->m[r][m] : NAN;
				c->med[m] = bd_median(v, c->nrep);
			}
			/* System calls: the counting run's, else the contender's own count. */
			c->sc_method = NULL;
			if (!isnan(c->sc_counted)) {
				c->med[BD_SYSCALLS_PER_ATTEMPT] = c->sc_counted;
				c->sc_method = "raw_syscalls:sys_enter (perf_event_open), counting run";
			} else if (b->sc_mode != BD_SC_NONE && !isnan(c->med[BD_SITES_PER_ATTEMPT])) {
				c->med[BD_SYSCALLS_PER_ATTEMPT] = c->med[BD_SITES_PER_ATTEMPT];
				c->sc_method = sites_method((enum bd_impl)i);
			} else {
				c->med[BD_SYSCALLS_PER_ATTEMPT] = NAN;
			}
		}
	}
}

/* The scenario as the error lines name it: churn, scale/1000, storm/timeout. */
static const char *error_label(const struct bd_scen *s, char *buf, size_t len)
{
	bd_scen_label(s, buf, len);
	if (s->impls == (1u << BD_REDIAL_KWAITS))
		snprintf(buf + strlen(buf), len - strlen(buf), " (kernel waits)");
	return buf;
}

int bd_check_errors(struct bd_bench *b, FILE *err)
{
	int n = 0;
	for (int si = 0; si < b->nscen; si++) {
		struct bd_scen *s = &b->scen[si];
		char label[64];
		error_label(s, label, sizeof(label));
		/* Connections are the work where connecting is the scenario (as in driver.c). */
		const char *what = !strcmp(s->name, "churn") || !strcmp(s->name, "hold") ||
					   !strncmp(s->name, "tls-", 4)
				   ? "connection"
				   : "attempt";
		for (int i = 0; i < BD_IMPL_COUNT; i++) {
			struct bd_cell *c = &s->cell[i];
			c->error = false;
			c->error_msg[0] = 0;
			if (!c->planned || c->skipped)
				continue;
			int ok = 0, idle = 0;
			for (int r = 0; r < c->nrep; r++) {
				ok += c->ok[r];
				idle += c->idle[r];
			}
			if (idle)
				snprintf(c->error_msg, sizeof(c->error_msg),
					 "made no %s in its window in %d of %d repetitions", what, idle,
					 c->nrep);
			else if (!c->nrep)
				snprintf(c->error_msg, sizeof(c->error_msg), "nothing was run: %s",
					 c->note[0] ? c->note : "?");
			else if (!ok)
				snprintf(c->error_msg, sizeof(c->error_msg),
					 "no repetition gave a result (%d run%s; the last: %s)", c->nrep,
					 c->nrep == 1 ? "" : "s",
					 c->fail[0] ? c->fail : c->note[0] ? c->note : "?");
			else if (c->sc_error[0])
				snprintf(c->error_msg, sizeof(c->error_msg), "%s", c->sc_error);
			if (!c->error_msg[0])
				continue;
			c->error = true;
			n++;
			fprintf(err, "redial-bench: ERROR: contender %s, scenario %s (%u endpoints): %s\n",
				order_names[i], label, s->endpoints, c->error_msg);
		}
	}
	for (int i = 0; i < BD_IMPL_COUNT; i++)
		if (b->cg[i].error) {
			n++;
			fprintf(err, "redial-bench: ERROR: contender %s, the callgrind run (refused): %s\n",
				order_names[i], b->cg[i].note[0] ? b->cg[i].note : "no figure");
		}
	return n;
}

/* P(Binomial(n, 1/2) <= k). */
static double binom_cdf_half(int n, int k)
{
	double sum = 0, term = pow(0.5, n); /* C(n, 0) / 2^n */
	for (int j = 0; j <= k; j++) {
		sum += term;
		term = term * (double)(n - j) / (double)(j + 1);
	}
	return sum;
}

void bd_ratio_stats(const struct bd_scen *s, enum bd_impl num, enum bd_impl den, enum bd_metric m,
		    struct bd_rstat *st)
{
	const struct bd_cell *a = &s->cell[num], *x = &s->cell[den];
	double v[BD_MAX_REPS];
	int reps = a->nrep < x->nrep ? a->nrep : x->nrep, n = 0;
	for (int r = 0; r < reps; r++)
		if (a->ok[r] && x->ok[r] && x->m[r][m] != 0 && !isnan(a->m[r][m] / x->m[r][m]))
			v[n++] = a->m[r][m] / x->m[r][m];
	st->n = n;
	st->med = st->min = st->max = st->lo = st->hi = st->pct = st->coverage = NAN;
	if (!n)
		return;
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	st->med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	st->min = v[0];
	st->max = v[n - 1];
	/* The narrowest x(k)..x(n+1-k) that covers the median with >= 90%; k = 1 at worst. */
	int k = 1;
	while (k + 1 <= n / 2 && 1 - 2 * binom_cdf_half(n, k) >= 0.90)
		k++;
	st->lo = v[k - 1];
	st->hi = v[n - k];
	st->coverage = n > 1 ? 1 - 2 * binom_cdf_half(n, k - 1) : 0;
	double up = st->hi - st->med, down = st->med - st->lo;
	st->pct = st->med != 0 ? (up > down ? up : down) / fabs(st->med) * 100 : NAN;
}

double bd_ratio(const struct bd_scen *s, enum bd_impl impl, enum bd_metric m)
{
	struct bd_rstat st;
	bd_ratio_stats(s, BD_REDIAL, impl, m, &st);
	return st.med;
}

static bool is_storm(const struct bd_scen *s)
{
	return !strcmp(s->name, "storm");
}

const char *bd_scen_label(const struct bd_scen *s, char *buf, size_t len)
{
	if (s->variant)
		snprintf(buf, len, "%s/%s", s->name, s->variant);
	else if (!strcmp(s->name, "scale"))
		snprintf(buf, len, "scale/%u", s->endpoints);
	else
		snprintf(buf, len, "%s", s->name);
	return buf;
}

/* The same contender's figure at this size over its figure at the smallest size planned. */
static double flat_ratio(const struct bd_bench *b, const struct bd_scen *s, enum bd_impl impl,
			 enum bd_metric m)
{
	const struct bd_scen *base = NULL;
	for (int si = 0; si < b->nscen; si++) {
		const struct bd_scen *t = &b->scen[si];
		if (!strcmp(t->name, s->name) && (t->impls & (1u << impl)) &&
		    (!base || t->endpoints < base->endpoints))
			base = t;
	}
	if (!base || base == s)
		return NAN;
	double x = s->cell[impl].med[m], y = base->cell[impl].med[m];
	return y > 0 ? x / y : NAN;
}

/* ---- the table --------------------------------------------------------------------------- */

struct col {
	enum bd_metric m;
	const char *head;
	int prec;
	double scale;
};

struct layout {
	const char *scen;
	struct col cols[12];
	int ncols;
	enum bd_metric ratios[4];
	int nratios;
};

/* prec < 0: -prec significant digits (wake-ups per attempt run from 1e-5 to 1). */
#define WAKE_SYS                                                                         \
	{ BD_WAKEUPS_PER_ATTEMPT, "wake/att", -2, 1 }, { BD_SYSCALLS_PER_ATTEMPT, "sys/att", -3, 1 }

static const struct layout layouts[] = {
	{ "churn",
	  { { BD_CONNECTS_PER_S, "conn/s", 0, 1 }, { BD_CPU_US_PER_ATTEMPT, "cpu us/conn", 2, 1 },
	    WAKE_SYS, { BD_P50_US, "p50 us", 1, 1 }, { BD_P99_US, "p99 us", 1, 1 },
	    { BD_P999_US, "p99.9 us", 1, 1 }, { BD_FARM_CPU, "farm cpu%", 0, 1 } },
	  8, { BD_CONNECTS_PER_S, BD_CPU_US_PER_ATTEMPT, BD_P99_US }, 3 },
	{ "refused",
	  { { BD_ATTEMPTS_PER_S, "att/s", 0, 1 }, { BD_CPU_US_PER_ATTEMPT, "cpu us/att", 2, 1 },
	    WAKE_SYS, { BD_P50_US, "p50 us", 1, 1 }, { BD_P99_US, "p99 us", 1, 1 },
	    { BD_LOCAL_ERRORS, "local err", 0, 1 } },
	  7, { BD_ATTEMPTS_PER_S, BD_CPU_US_PER_ATTEMPT }, 2 },
	{ "timeout",
	  { { BD_ATTEMPTS_PER_S, "timeouts/s", 0, 1 }, { BD_CPU_US_PER_ATTEMPT, "cpu us/att", 2, 1 },
	    WAKE_SYS, { BD_P50_US, "late p50 us", 0, 1 }, { BD_P99_US, "late p99 us", 0, 1 },
	    { BD_P999_US, "late p99.9", 0, 1 }, { BD_EARLY, "early", 0, 1 },
	    { BD_FARM_CPU, "farm cpu%", 0, 1 } },
	  9, { BD_CPU_US_PER_ATTEMPT, BD_P50_US, BD_P99_US }, 3 },
	{ "scale",
	  { { BD_RSS_PER_EP, "B/endpoint", 0, 1 }, { BD_CPU_US_PER_ATTEMPT, "cpu us/att", 2, 1 },
	    WAKE_SYS, { BD_REMOVE_NS, "remove ns/ep", 0, 1 },
	    { BD_P50_US, "rm call p50 ns", 0, 0.001 }, { BD_P99_US, "rm call p99 ns", 0, 0.001 } },
	  7, { BD_RSS_PER_EP, BD_CPU_US_PER_ATTEMPT, BD_REMOVE_NS }, 3 },
	{ "tls-full",
	  { { BD_CONNECTS_PER_S, "handshakes/s", 0, 1 }, { BD_CPU_US_PER_ATTEMPT, "cpu us/hs", 1, 1 },
	    WAKE_SYS, { BD_P50_US, "p50 us", 0, 1 }, { BD_P99_US, "p99 us", 0, 1 },
	    { BD_FARM_CPU, "farm cpu%", 0, 1 } },
	  7, { BD_CONNECTS_PER_S, BD_CPU_US_PER_ATTEMPT }, 2 },
	{ "tls-resumed",
	  { { BD_CONNECTS_PER_S, "handshakes/s", 0, 1 }, { BD_CPU_US_PER_ATTEMPT, "cpu us/hs", 1, 1 },
	    WAKE_SYS, { BD_P50_US, "p50 us", 0, 1 }, { BD_P99_US, "p99 us", 0, 1 },
	    { BD_FARM_CPU, "farm cpu%", 0, 1 } },
	  7, { BD_CONNECTS_PER_S, BD_CPU_US_PER_ATTEMPT }, 2 },
	/* hold: wake-ups and system calls per connection are in the JSON only (no room). */
	{ "hold",
	  { { BD_CONNECTED, "held", 0, 1 }, { BD_CPU_US_PER_ATTEMPT, "cpu us/conn", 2, 1 },
	    { BD_RSS_PER_EP, "B/conn", 0, 1 }, { BD_IDLE_CPU, "idle cpu us/s", 0, 1 },
	    { BD_P50_US, "notice p50 ms", 1, 1000 }, { BD_P99_US, "p99 ms", 1, 1000 },
	    { BD_NOTICE_ALL_MS, "all ms", 1, 1 }, { BD_DROP_MS, "farm drop ms", 1, 1 },
	    { BD_NOTICE_LAG_MS, "lag ms", 1, 1 } },
	  9, { BD_IDLE_CPU, BD_NOTICE_ALL_MS, BD_RSS_PER_EP, BD_CPU_US_PER_ATTEMPT }, 4 },
	/* storm: the ratio is epoll's over the tool's (bd_key_ratio), not redial's over X. */
	{ "storm",
	  { { BD_ATTEMPTS, "attempts", 0, 1 }, { BD_ATTEMPTS_PER_S, "att/s", 0, 1 },
	    { BD_CPU_US_PER_ATTEMPT, "cpu us/att", 2, 1 }, WAKE_SYS,
	    { BD_LOCAL_ERRORS, "local err", 0, 1 }, { BD_FARM_CPU, "farm cpu%", 0, 1 } },
	  7, { BD_CPU_US_PER_ATTEMPT }, 1 },
};

static const struct layout *layout_of(const char *scen)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (!strcmp(layouts[i].scen, scen))
			return &layouts[i];
	return NULL;
}

bool bd_key_ratio(const struct bd_scen *s, const struct bd_bench *b, enum bd_impl *num,
		  enum bd_impl *den, enum bd_metric *m)
{
	const struct layout *L = layout_of(s->name);
	if (!L)
		return false;
	*num = is_storm(s) ? BD_EPOLL : BD_REDIAL;
	*den = is_storm(s) ? BD_REDIAL_CLI : BD_EPOLL;
	*m = L->ratios[0];
	return (s->impls & (1u << *num)) && (s->impls & (1u << *den)) && b->impl[*num].available &&
	       b->impl[*den].available;
}

static const char *short_name(enum bd_metric m)
{
	switch (m) {
	case BD_CONNECTS_PER_S: return "conn/s";
	case BD_ATTEMPTS_PER_S: return "att/s";
	case BD_CPU_US_PER_ATTEMPT: return "cpu";
	case BD_P50_US: return "p50";
	case BD_P99_US: return "p99";
	case BD_RSS_PER_EP: return "mem";
	case BD_REMOVE_NS: return "remove";
	case BD_IDLE_CPU: return "idle";
	case BD_NOTICE_ALL_MS: return "notice";
	default: return bd_metrics[m].json;
	}
}

static void print_num(FILE *out, double v, int width, int prec)
{
	if (isnan(v))
		fprintf(out, " %*s", width, "-");
	else if (prec < 0 && v != 0 && fabs(v) < 1000)
		fprintf(out, " %#*.*g", width, -prec, v);
	else
		fprintf(out, " %*.*f", width, prec < 0 ? 0 : prec, v);
}

/* "1.05 [0.96..1.24] +-8%" into buf; "-" without a pair. */
static const char *fmt_rstat(const struct bd_rstat *st, char *buf, size_t len)
{
	if (!st->n)
		snprintf(buf, len, "-");
	else if (st->n == 1)
		snprintf(buf, len, "%.2f (one repetition)", st->med);
	else
		snprintf(buf, len, "%.2f [%.2f..%.2f] +-%.0f%%", st->med, st->min, st->max, st->pct);
	return buf;
}

/* How the repetitions went: "5 repetitions (key ratio redial/epoll conn/s +-6%)". */
static void reps_text(const struct bd_bench *b, const struct bd_scen *s, char *buf, size_t len)
{
	enum bd_impl num, den;
	enum bd_metric m;
	if (!s->adaptive || !bd_key_ratio(s, b, &num, &den, &m)) {
		snprintf(buf, len, "%d repetitions", s->reps);
		return;
	}
	struct bd_rstat st;
	char what[64];
	bd_ratio_stats(s, num, den, m, &st);
	if (!strcmp(s->name, "scale"))
		snprintf(what, sizeof(what), "%s @%u", short_name(m), s->endpoints);
	else
		snprintf(what, sizeof(what), "%s", short_name(m));
	if (st.n < 2)
		snprintf(buf, len, "%d repetition%s (no spread to judge)", s->reps,
			 s->reps == 1 ? "" : "s");
	else if (s->cap_hit)
		snprintf(buf, len,
			 "%d repetitions: CAP HIT, the key ratio %s/%s %s is still +-%.1f%% "
			 "(target +-%.0f%%)",
			 s->reps, order_names[num], order_names[den], what, st.pct,
			 BD_SPREAD_TARGET_PCT);
	else
		snprintf(buf, len, "%d repetitions (key ratio %s/%s %s +-%.1f%%, target +-%.0f%%)",
			 s->reps, order_names[num], order_names[den], what, st.pct,
			 BD_SPREAD_TARGET_PCT);
}

static void print_scen_header(FILE *out, const struct bd_bench *b, const struct bd_scen *s)
{
	char reps[200];
	reps_text(b, s, reps, sizeof(reps));
	fprintf(out, "\n== %s: %s\n", s->name, s->what);
	fprintf(out, "   farm target `%s`; connect deadline %.0f ms; backoff %.3g..%.3g ms x%g %s "
		"jitter; medians of %s\n",
		s->farm_spec, (double)s->timeout_ns / 1e6, (double)s->b_initial_ns / 1e6,
		(double)s->b_max_ns / 1e6, s->b_mult, s->jitter, reps);
}

/* The notes of a cell, and a warning when the farm was the limit. */
static void add_notes(char (*notes)[260], int *nnotes, int cap, const char *who,
		      const struct bd_cell *c)
{
	if (c->note[0] && *nnotes < cap)
		snprintf(notes[(*nnotes)++], 260, "%s: %s", who, c->note);
	if (c->med[BD_FARM_CPU] > 90 && *nnotes < cap)
		snprintf(notes[(*nnotes)++], 260,
			 "%s: the farm used %.0f%% of its CPU: the farm may have been the limit of "
			 "this run", who, c->med[BD_FARM_CPU]);
}

static void print_cols(FILE *out, const struct layout *L, const struct bd_cell *c)
{
	for (int k = 0; k < L->ncols; k++) {
		const struct col *col = &L->cols[k];
		int w = (int)strlen(col->head) < 9 ? 9 : (int)strlen(col->head);
		print_num(out, c->med[col->m] / col->scale, w, col->prec);
	}
}

static void print_heads(FILE *out, const struct layout *L)
{
	for (int c = 0; c < L->ncols; c++)
		fprintf(out, " %*s", (int)strlen(L->cols[c].head) < 9 ? 9 : (int)strlen(L->cols[c].head),
			L->cols[c].head);
}

static const char *const col_legend =
	"   wake/att = voluntary context switches per attempt (the process blocked and was woken);"
	"\n   sys/att = system calls per attempt (see \"system calls\" below);\n";

static void print_table(FILE *out, const struct bd_bench *b, int first, int last)
{
	const struct bd_scen *s0 = &b->scen[first];
	const struct layout *L = layout_of(s0->name);
	if (!L)
		return;
	bool scale = !strcmp(s0->name, "scale");
	/* The header's repetitions: those of the scenario whose key ratio was judged (in the
	 * scale sweep, the largest table). */
	const struct bd_scen *hs = s0;
	for (int si = first; si <= last; si++)
		if (b->scen[si].adaptive)
			hs = &b->scen[si];
	print_scen_header(out, b, hs);
	fprintf(out, "   %-14s", "impl");
	if (scale)
		fprintf(out, " %8s", "N");
	print_heads(out, L);
	if (scale)
		fprintf(out, " %8s %8s", "cpu/1k", "rm/1k");
	fprintf(out, " %6s", "other%");
	for (int r = 0; r < L->nratios; r++) {
		char h[32];
		snprintf(h, sizeof(h), "r:%s", short_name(L->ratios[r]));
		fprintf(out, " %9s", h);
	}
	fprintf(out, "\n");
	char notes[BD_IMPL_COUNT * 8][260];
	int nnotes = 0, cap = (int)(sizeof(notes) / sizeof(notes[0]));
	for (int i = 0; i < BD_IMPL_COUNT; i++) {
		for (int si = first; si <= last; si++) {
			const struct bd_scen *s = &b->scen[si];
			const struct bd_cell *c = &s->cell[i];
			if (!c->planned)
				continue;
			int ok = 0;
			for (int r = 0; r < c->nrep; r++)
				ok += c->ok[r];
			char who[64];
			if (scale)
				snprintf(who, sizeof(who), "%s at %u", order_names[i], s->endpoints);
			else
				snprintf(who, sizeof(who), "%s", order_names[i]);
			if (c->error) {
				/* In place of the figures, or after them when some repetitions
				 * had some (their medians leave the idle ones out). */
				fprintf(out, "   %-14s", order_names[i]);
				if (scale)
					fprintf(out, " %8u", s->endpoints);
				fprintf(out, " ERROR: %s\n", c->error_msg);
			}
			if (!ok) {
				if (c->note[0] && nnotes < cap && !c->error)
					snprintf(notes[nnotes++], 260, "%s: %s", who, c->note);
				continue;
			}
			add_notes(notes, &nnotes, cap, who, c);
			fprintf(out, "   %-14s", order_names[i]);
			if (scale)
				fprintf(out, " %8u", s->endpoints);
			print_cols(out, L, c);
			if (scale) {
				print_num(out, flat_ratio(b, s, (enum bd_impl)i, BD_CPU_US_PER_ATTEMPT), 8, 2);
				print_num(out, flat_ratio(b, s, (enum bd_impl)i, BD_REMOVE_NS), 8, 2);
			}
			print_num(out, c->med[BD_OTHER_CPU], 6, 0);
			for (int r = 0; r < L->nratios; r++) {
				if (i == BD_REDIAL || i == BD_REDIAL_KWAITS)
					fprintf(out, " %9s", "");
				else
					print_num(out, bd_ratio(s, (enum bd_impl)i, L->ratios[r]), 9, 2);
			}
			fprintf(out, "\n");
		}
	}
	fprintf(out, "   r:X = redial's figure / that contender's (same repetition, then the "
		"median): above 1 is better for redial in /s columns, below 1 elsewhere;\n"
		"   other%% = CPU time other processes took on the contender's CPU during its run;\n%s",
		col_legend);
	if (scale)
		fprintf(out, "   cpu/1k, rm/1k = the contender's CPU per attempt and removal cost at N "
			"over its own at 1000\n");
	/* The spread of every ratio column: median [min..max] +-x%, x the larger side of the
	 * median's confidence interval (struct bd_rstat). */
	bool header = false;
	for (int si = first; si <= last; si++) {
		const struct bd_scen *s = &b->scen[si];
		if (!(s->impls & (1u << BD_REDIAL)))
			continue;
		for (int i = 0; i < BD_IMPL_COUNT; i++) {
			if (i == BD_REDIAL || i == BD_REDIAL_KWAITS || !(s->impls & (1u << i)))
				continue;
			struct bd_rstat st;
			bd_ratio_stats(s, BD_REDIAL, (enum bd_impl)i, L->ratios[0], &st);
			if (!st.n)
				continue;
			if (!header) {
				fprintf(out, "   spread of the per-repetition ratios, redial / X: median "
					"[min..max] +-%% (90%% interval of the median; min..max under 5 "
					"repetitions)\n");
				header = true;
			}
			char who[64];
			if (scale)
				snprintf(who, sizeof(who), "%s @%u", order_names[i], s->endpoints);
			else
				snprintf(who, sizeof(who), "%s", order_names[i]);
			fprintf(out, "     %-15s", who);
			for (int r = 0; r < L->nratios; r++) {
				char buf[80];
				bd_ratio_stats(s, BD_REDIAL, (enum bd_impl)i, L->ratios[r], &st);
				fprintf(out, "  %s %-26s", short_name(L->ratios[r]),
					fmt_rstat(&st, buf, sizeof(buf)));
			}
			fprintf(out, "\n");
		}
	}
	for (int k = 0; k < nnotes; k++)
		fprintf(out, "   note: %s\n", notes[k]);
}

/* storm: one block, a row per variant and contender, then epoll / the tool per variant. */
static void print_storm(FILE *out, const struct bd_bench *b, int first, int last)
{
	const struct layout *L = layout_of("storm");
	fprintf(out, "\n== storm: the redial tool as users run it (`redial --duration 3 -q --summary "
		"FILE -f LIST ...`) beside the epoll contender doing the same work for 3 s;\n"
		"   the whole process: CPU = the child's rusage (user+sys, wait4) / the attempts it "
		"made (the summary's totals.attempts; epoll's attempts begun)\n");
	fprintf(out, "   %-15s %-11s", "variant", "impl");
	print_heads(out, L);
	fprintf(out, " %6s\n", "other%");
	char notes[16][260];
	int nnotes = 0;
	for (int si = first; si <= last; si++) {
		const struct bd_scen *s = &b->scen[si];
		static const enum bd_impl order[] = { BD_REDIAL_CLI, BD_EPOLL };
		for (size_t k = 0; k < 2; k++) {
			const struct bd_cell *c = &s->cell[order[k]];
			if (!c->planned)
				continue;
			char who[64];
			snprintf(who, sizeof(who), "%s %s", s->variant, order_names[order[k]]);
			int ok = 0;
			for (int r = 0; r < c->nrep; r++)
				ok += c->ok[r];
			if (c->error)
				fprintf(out, "   %-15s %-11s ERROR: %s\n", k ? "" : s->variant,
					order_names[order[k]], c->error_msg);
			if (!ok) {
				if (c->note[0] && nnotes < 16 && !c->error)
					snprintf(notes[nnotes++], 260, "%s: %s", who, c->note);
				continue;
			}
			add_notes(notes, &nnotes, 16, who, c);
			fprintf(out, "   %-15s %-11s", k ? "" : s->variant, order_names[order[k]]);
			print_cols(out, L, c);
			print_num(out, c->med[BD_OTHER_CPU], 6, 0);
			fprintf(out, "\n");
		}
	}
	fprintf(out, "   other%% = CPU time other processes took on the contender's CPU during its "
		"run;\n%s", col_legend);
	fprintf(out, "   epoll / redial-cli, CPU per attempt (above 1: the tool is cheaper; goal "
		">= 1.15): median [min..max] +-%%\n");
	for (int si = first; si <= last; si++) {
		const struct bd_scen *s = &b->scen[si];
		struct bd_rstat st;
		char buf[80], reps[200];
		bd_ratio_stats(s, BD_EPOLL, BD_REDIAL_CLI, BD_CPU_US_PER_ATTEMPT, &st);
		reps_text(b, s, reps, sizeof(reps));
		fprintf(out, "     %-15s %-26s %s\n", s->variant, fmt_rstat(&st, buf, sizeof(buf)), reps);
	}
	for (int k = 0; k < nnotes; k++)
		fprintf(out, "   note: %s\n", notes[k]);
}

/* ---- goals ------------------------------------------------------------------------------- */

#define MAX_GOALS 24

struct goal {
	char text[160];
	bool ratio;            /* a ratio of two contenders; else a figure of redial's */
	const char *unit;      /* after the bound and the margin: "" or " B" */
	double value;
	struct bd_rstat st;    /* ratio: its spread; figure: med, min, max over repetitions */
	double bound;
	bool at_least;
	bool known;
	bool cap_hit;          /* the adaptive repetitions stopped at their cap */
	char note[160];
};

static int find_scen(const struct bd_bench *b, const char *name, uint32_t endpoints, enum bd_impl impl)
{
	int best = -1;
	for (int si = 0; si < b->nscen; si++) {
		const struct bd_scen *s = &b->scen[si];
		if (strcmp(s->name, name) || !(s->impls & (1u << impl)))
			continue;
		if (endpoints && s->endpoints != endpoints)
			continue;
		if (best < 0 || (endpoints == 0 && s->endpoints > b->scen[best].endpoints))
			best = si; /* endpoints 0: the largest */
	}
	return best;
}

static int find_variant(const struct bd_bench *b, const char *variant)
{
	for (int si = 0; si < b->nscen; si++)
		if (b->scen[si].variant && !strcmp(b->scen[si].variant, variant))
			return si;
	return -1;
}

static struct goal *goal_new(struct goal *g, int *n, double bound, bool at_least, const char *fmt,
			     ...) __attribute__((format(printf, 5, 6)));
static struct goal *goal_new(struct goal *g, int *n, double bound, bool at_least, const char *fmt,
			     ...)
{
	struct goal *x = &g[(*n)++];
	memset(x, 0, sizeof(*x));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->text, sizeof(x->text), fmt, ap);
	va_end(ap);
	x->bound = bound;
	x->at_least = at_least;
	x->unit = "";
	x->value = NAN;
	x->st.n = 0;
	return x;
}

static void goal_ratio(struct goal *x, const struct bd_bench *b, int si, enum bd_impl num,
		       enum bd_impl den, enum bd_metric m)
{
	x->ratio = true;
	if (si < 0) {
		snprintf(x->note, sizeof(x->note), "not run (--only)");
		return;
	}
	const struct bd_scen *s = &b->scen[si];
	if (!b->impl[num].available || !b->impl[den].available) {
		snprintf(x->note, sizeof(x->note), "%s not available",
			 order_names[!b->impl[num].available ? num : den]);
		return;
	}
	if (!(s->impls & (1u << num)) || !(s->impls & (1u << den))) {
		snprintf(x->note, sizeof(x->note), "not run (--impl)");
		return;
	}
	bd_ratio_stats(s, num, den, m, &x->st);
	x->value = x->st.med;
	x->known = x->st.n > 0;
	/* The cap concerns the key ratio only: the pair the repetitions were added for. */
	enum bd_impl kn, kd;
	enum bd_metric km;
	x->cap_hit = s->cap_hit && bd_key_ratio(s, b, &kn, &kd, &km) && kn == num && kd == den &&
		     km == m;
}

/* redial's own figure m in scenario si: its median and range over the repetitions. */
static void goal_figure(struct goal *x, const struct bd_bench *b, int si, enum bd_metric m)
{
	if (si < 0) {
		snprintf(x->note, sizeof(x->note), "not run (--only)");
		return;
	}
	const struct bd_cell *c = &b->scen[si].cell[BD_REDIAL];
	x->st.n = 0;
	x->st.min = x->st.max = NAN;
	for (int r = 0; r < c->nrep; r++) {
		double v = c->ok[r] ? c->m[r][m] : NAN;
		if (isnan(v))
			continue;
		if (!x->st.n || v < x->st.min)
			x->st.min = v;
		if (!x->st.n || v > x->st.max)
			x->st.max = v;
		x->st.n++;
	}
	x->value = x->st.med = c->med[m];
	x->known = !isnan(x->value);
}

static int goals(const struct bd_bench *b, struct goal *g)
{
	int n = 0;
	struct goal *x;
	/* The goals, in its order. */
	static const struct {
		const char *variant, *what;
	} storms[] = {
		{ "refused-fixed", "refusal storm, fixed 1 ms backoff" },
		{ "refused-jitter", "refusal storm, full jitter 0-4 ms" },
		{ "timeout", "timeout storm, 100 ms deadline, 1 ms backoff" },
	};
	for (size_t k = 0; k < sizeof(storms) / sizeof(storms[0]); k++) {
		x = goal_new(g, &n, 1.15, true, "%s: CPU/attempt, epoll / redial tool", storms[k].what);
		goal_ratio(x, b, find_variant(b, storms[k].variant), BD_EPOLL, BD_REDIAL_CLI,
			   BD_CPU_US_PER_ATTEMPT);
	}
	int churn = find_scen(b, "churn", 0, BD_REDIAL);
	static const struct {
		enum bd_impl impl;
		double bound;
	} ch[] = { { BD_EPOLL, 1.15 }, { BD_LIBUV, 1.5 }, { BD_FLOOR, 0.95 }, { BD_GO, 2.0 } };
	for (size_t k = 0; k < sizeof(ch) / sizeof(ch[0]); k++) {
		x = goal_new(g, &n, ch[k].bound, true, "churn connects/s, redial / %s",
			     order_names[ch[k].impl]);
		goal_ratio(x, b, churn, BD_REDIAL, ch[k].impl, BD_CONNECTS_PER_S);
	}
	int lo = -1, hi = -1, hi2 = -1;
	for (int k = 0; k < b->nscen; k++) {
		const struct bd_scen *s = &b->scen[k];
		if (strcmp(s->name, "scale") || !(s->impls & (1u << BD_REDIAL)))
			continue;
		if (lo < 0 || s->endpoints < b->scen[lo].endpoints)
			lo = k;
		if (hi < 0 || s->endpoints > b->scen[hi].endpoints)
			hi = k;
	}
	for (int k = 0; k < b->nscen; k++) {
		const struct bd_scen *s = &b->scen[k];
		if (!strcmp(s->name, "scale") && (s->impls & (1u << BD_REDIAL)) && k != hi &&
		    (hi2 < 0 || s->endpoints > b->scen[hi2].endpoints))
			hi2 = k;
	}
	uint32_t nhi = hi >= 0 ? b->scen[hi].endpoints : 100000;
	x = goal_new(g, &n, 128, false, "memory: bytes per idle endpoint at %u", nhi);
	x->unit = " B";
	goal_figure(x, b, hi, BD_RSS_PER_EP);
	if (hi >= 0 && nhi != 100000)
		snprintf(x->note, sizeof(x->note), "the goal is stated at 100000 (`make bench`)");
	/* What one more idle endpoint costs, without the ring and the fixed tables. */
	if (hi2 >= 0)
		x = goal_new(g, &n, 128, false, "memory: bytes per idle endpoint, slope %u..%u",
			     b->scen[hi2].endpoints, nhi);
	else
		x = goal_new(g, &n, 128, false, "memory: bytes per idle endpoint, slope between "
			     "the two largest tables");
	x->unit = " B";
	if (hi >= 0 && hi2 >= 0) {
		const struct bd_scen *a = &b->scen[hi2], *z = &b->scen[hi];
		x->value = (z->cell[BD_REDIAL].med[BD_RSS_PER_EP] * z->endpoints -
			    a->cell[BD_REDIAL].med[BD_RSS_PER_EP] * a->endpoints) /
			   (double)(z->endpoints - a->endpoints);
		x->known = !isnan(x->value);
	} else {
		snprintf(x->note, sizeof(x->note), "needs two scale sizes");
	}
	static const struct {
		enum bd_metric m;
		const char *what;
	} flat[] = { { BD_CPU_US_PER_ATTEMPT, "CPU per attempt" },
		     { BD_REMOVE_NS, "removal cost per endpoint" } };
	for (size_t k = 0; k < sizeof(flat) / sizeof(flat[0]); k++) {
		x = goal_new(g, &n, 1.2, false, "scale: redial %s at %u / at %u", flat[k].what, nhi,
			     lo >= 0 ? b->scen[lo].endpoints : 1000);
		if (lo >= 0 && hi > lo) {
			x->value = b->scen[hi].cell[BD_REDIAL].med[flat[k].m] /
				   b->scen[lo].cell[BD_REDIAL].med[flat[k].m];
			x->known = !isnan(x->value);
		} else {
			snprintf(x->note, sizeof(x->note), "needs two scale sizes");
		}
	}
	/* TLS: redial against the epoll loop with the same library, full and resumed; and what a
	 * resumed handshake costs redial against a full one. */
	static const struct {
		const char *scen;
		double bound;
	} tls[] = { { "tls-full", 1.0 }, { "tls-resumed", 1.15 } };
	for (size_t k = 0; k < 2; k++) {
		int ti = find_scen(b, tls[k].scen, 0, BD_REDIAL);
		x = goal_new(g, &n, tls[k].bound, true, "%s handshakes/s, redial / epoll",
			     tls[k].scen);
		goal_ratio(x, b, ti, BD_REDIAL, BD_EPOLL, BD_CONNECTS_PER_S);
	}
	int tf = find_scen(b, "tls-full", 0, BD_REDIAL), tr = find_scen(b, "tls-resumed", 0, BD_REDIAL);
	x = goal_new(g, &n, 1.0 / 3, false, "redial CPU per resumed handshake / per full one");
	x->value = tf >= 0 && tr >= 0 ? b->scen[tr].cell[BD_REDIAL].med[BD_CPU_US_PER_ATTEMPT] /
						b->scen[tf].cell[BD_REDIAL].med[BD_CPU_US_PER_ATTEMPT]
				      : NAN;
	x->known = !isnan(x->value);
	return n;
}

static bool goal_met(const struct goal *g)
{
	return g->known && (g->at_least ? g->value >= g->bound : g->value <= g->bound);
}

/* By how much the goal is met (> 0) or missed (< 0), in the goal's unit. */
static double goal_margin(const struct goal *g)
{
	return g->at_least ? g->value - g->bound : g->bound - g->value;
}

static void goal_spread_text(const struct goal *g, char *buf, size_t len)
{
	if (!g->known || g->st.n == 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (g->ratio && g->st.n > 1)
		snprintf(buf, len, "%.2f\u2013%.2f, \u00b1%.0f%% (%d reps%s)", g->st.min, g->st.max,
			 g->st.pct, g->st.n, g->cap_hit ? ", cap hit" : "");
	else if (g->ratio)
		snprintf(buf, len, "one repetition");
	else
		snprintf(buf, len, "%.0f\u2013%.0f (%d rep%s)", g->st.min, g->st.max, g->st.n,
			 g->st.n == 1 ? "" : "s");
}

static void goal_result_text(const struct goal *g, char *buf, size_t len)
{
	if (!g->known) {
		snprintf(buf, len, "not measured%s%s", g->note[0] ? ": " : "", g->note);
		return;
	}
	double d = goal_margin(g), rel = fabs(d) / g->bound * 100;
	const char *unit = g->unit;
	int prec = g->bound < 10 ? 2 : 0;
	if (d >= 0)
		snprintf(buf, len, "met (by %.*f%s, %.0f%%)", prec, d, unit, rel);
	else
		snprintf(buf, len, "**missed** by %.*f%s (%.0f%%)", prec, -d, unit, rel);
	/* The goal inside the spread: the verdict could go either way. */
	if (g->ratio && g->st.n > 1 && g->st.lo < g->bound && g->st.hi > g->bound)
		snprintf(buf + strlen(buf), len - strlen(buf), "; the goal is inside the interval");
	if (g->note[0])
		snprintf(buf + strlen(buf), len - strlen(buf), "; %s", g->note);
}

/* The goal table as markdown (the README's). */
static void goal_table(const struct bd_bench *b, FILE *out)
{
	struct goal g[MAX_GOALS];
	int n = goals(b, g);
	fprintf(out, "| goal | target | measured | per repetition | result |\n"
		"| --- | --- | ---: | --- | --- |\n");
	for (int k = 0; k < n; k++) {
		char spread[120], result[300], value[32];
		goal_spread_text(&g[k], spread, sizeof(spread));
		goal_result_text(&g[k], result, sizeof(result));
		if (!g[k].known)
			snprintf(value, sizeof(value), "-");
		else
			snprintf(value, sizeof(value), "%.*f", g[k].bound < 10 ? 2 : 0, g[k].value);
		fprintf(out, "| %s | %s %g%s | %s | %s | %s |\n", g[k].text,
			g[k].at_least ? "\u2265" : "\u2264", g[k].bound, g[k].unit, value, spread,
			result);
	}
}

/* How system calls were counted in this run. */
static void print_syscall_method(FILE *out, const struct bd_bench *b)
{
	fprintf(out, "\n== system calls (sys/att) and wake-ups (wake/att)\n");
	fprintf(out, "   wake-ups: voluntary context switches of the contender's process, every "
		"thread (getrusage ru_nvcsw), over its window;\n   storm: the whole process (wait4's "
		"rusage of the child)\n");
	switch (b->sc_mode) {
	case BD_SC_PERF:
		fprintf(out, "   system calls: the raw_syscalls:sys_enter tracepoint (id %llu), counted "
			"by perf_event_open for the contender's process and its threads, in one extra "
			"run\n   per contender after the timed repetitions (an enabled syscall "
			"tracepoint slows every system call on the machine, so the timed runs go without "
			"it)\n", b->sc_tracepoint);
		break;
	case BD_SC_SITES:
		fprintf(out, "   system calls: no tracepoint here (%s);\n   shown instead: the "
			"contenders' own counts (epoll, blocking: every call site; floor: liburing calls "
			"that may enter;\n   redial: io_uring_enter calls from redial_stats.submits); none "
			"for libuv, go and the redial tool\n", b->sc_why);
		break;
	case BD_SC_NONE:
		fprintf(out, "   system calls: not counted (%s)\n", b->sc_why);
		break;
	}
}

/* Every error, one line each (as bd_check_errors printed them). */
static void print_errors(FILE *out, const struct bd_bench *b)
{
	for (int si = 0; si < b->nscen; si++) {
		const struct bd_scen *s = &b->scen[si];
		char label[64];
		error_label(s, label, sizeof(label));
		for (int i = 0; i < BD_IMPL_COUNT; i++)
			if (s->cell[i].error)
				fprintf(out, "ERROR: contender %s, scenario %s (%u endpoints): %s\n",
					order_names[i], label, s->endpoints, s->cell[i].error_msg);
	}
	for (int i = 0; i < BD_IMPL_COUNT; i++)
		if (b->cg[i].error)
			fprintf(out, "ERROR: contender %s, the callgrind run (refused): %s\n",
				order_names[i], b->cg[i].note[0] ? b->cg[i].note : "no figure");
}

void bd_print_tables(const struct bd_bench *b, FILE *out)
{
	fprintf(out, "redial-bench%s: contenders interleaved (A B C .. A B C ..); %s\n",
		b->quick ? " --quick" : "",
		b->pinned ? "each contender alone on one CPU, the farm on another"
			  : "no CPU pinning");
	for (int i = 0; i < BD_IMPL_COUNT; i++)
		if (!b->impl[i].available)
			fprintf(out, "note: %s %s\n", b->impl[i].name, b->impl[i].why);
	print_errors(out, b);
	for (int si = 0; si < b->nscen;) {
		int last = si;
		while (last + 1 < b->nscen && !strcmp(b->scen[last + 1].name, b->scen[si].name) &&
		       b->scen[last + 1].impls == b->scen[si].impls)
			last++;
		if (is_storm(&b->scen[si]))
			print_storm(out, b, si, last);
		else
			print_table(out, b, si, last);
		si = last + 1;
	}
	print_syscall_method(out, b);
	if (b->cg[BD_REDIAL].ran || b->cg[BD_EPOLL].ran || b->cg[BD_REDIAL].note[0] ||
	    b->cg[BD_EPOLL].note[0]) {
		fprintf(out, "\n== callgrind: user-space instructions per attempt (refused, 200 "
			"endpoints, a fixed number of attempts)\n");
		static const enum bd_impl which[] = { BD_EPOLL, BD_REDIAL };
		for (size_t k = 0; k < 2; k++) {
			const struct bd_callgrind *cg = &b->cg[which[k]];
			if (cg->ran)
				fprintf(out, "   %-14s %10.0f instructions/attempt over %.0f attempts%s%s\n",
					order_names[which[k]], cg->instructions / cg->attempts, cg->attempts,
					cg->note[0] ? "; " : "", cg->note);
			else if (cg->error)
				fprintf(out, "   %-14s ERROR: %s\n", order_names[which[k]],
					cg->note[0] ? cg->note : "no figure");
			else
				fprintf(out, "   %-14s %s\n", order_names[which[k]],
					cg->note[0] ? cg->note : "not run");
		}
		if (b->cg[BD_REDIAL].ran && b->cg[BD_EPOLL].ran)
			fprintf(out, "   redial / epoll: %.2f\n",
				(b->cg[BD_REDIAL].instructions / b->cg[BD_REDIAL].attempts) /
					(b->cg[BD_EPOLL].instructions / b->cg[BD_EPOLL].attempts));
	}
	fprintf(out, "\n== goals (benchmark figures, not tests): the median of the per-repetition "
		"ratios;\n   per repetition: their min\u2013max, and \u00b1 the larger side of the 90%% "
		"interval of the median (min..max under 5 repetitions)\n\n");
	goal_table(b, out);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void jnum(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fprintf(f, "null");
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.6g", v);
}

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void scen_key(const struct bd_scen *s, char *buf, size_t len)
{
	bd_scen_label(s, buf, len);
	if (s->impls == (1u << BD_REDIAL_KWAITS))
		snprintf(buf + strlen(buf), len - strlen(buf), "/kernel-waits");
}

static void jrstat(FILE *f, const struct bd_rstat *st)
{
	fprintf(f, "{\"median\": ");
	jnum(f, st->med);
	fprintf(f, ", \"min\": ");
	jnum(f, st->min);
	fprintf(f, ", \"max\": ");
	jnum(f, st->max);
	fprintf(f, ", \"ci_lo\": ");
	jnum(f, st->lo);
	fprintf(f, ", \"ci_hi\": ");
	jnum(f, st->hi);
	fprintf(f, ", \"ci_coverage\": ");
	jnum(f, st->coverage);
	fprintf(f, ", \"spread_pct\": ");
	jnum(f, st->pct);
	fprintf(f, ", \"reps\": %d}", st->n);
}

int bd_write_json(const struct bd_bench *b, const char *path)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	struct utsname u;
	uname(&u);
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "{\n  \"tool\": \"redial-bench\",\n  \"mode\": \"%s\",\n  \"date\": \"%s\",\n",
		b->quick ? "quick" : "full", date);
	fprintf(f, "  \"kernel\": ");
	jstr(f, u.release);
	fprintf(f, ",\n  \"reps_override\": %d,\n  \"max_reps_override\": %d,\n"
		"  \"spread_target_pct\": %g,\n  \"pinned\": %s,\n  \"client_cpu\": %d,\n"
		"  \"farm_cpu\": %d,\n  \"nofile\": %ld,\n  \"wall_s\": %.1f,\n",
		b->reps_override, b->max_reps_override, BD_SPREAD_TARGET_PCT,
		b->pinned ? "true" : "false", b->client_cpu, b->farm_cpu, b->nofile, b->wall_s);
	fprintf(f, "  \"counting\": {\"wakeups\": \"voluntary context switches (getrusage "
		"ru_nvcsw, every thread) over the window; storm: the whole process (wait4)\", "
		"\"syscalls\": ");
	switch (b->sc_mode) {
	case BD_SC_PERF:
		fprintf(f, "\"raw_syscalls:sys_enter tracepoint (perf_event_open, inherit), in one "
			"extra counting run per contender\", \"tracepoint_id\": %llu",
			b->sc_tracepoint);
		break;
	case BD_SC_SITES:
		fprintf(f, "\"the contenders' own counts (see each row's syscall_method)\", "
			"\"why_not_tracepoint\": ");
		jstr(f, b->sc_why);
		break;
	case BD_SC_NONE:
		fprintf(f, "null, \"why_not\": ");
		jstr(f, b->sc_why);
		break;
	}
	fprintf(f, "},\n  \"redial_cli\": ");
	jstr(f, b->cli_path ? b->cli_path : "");
	fprintf(f, ",\n");

	fprintf(f, "  \"skipped\": [");
	bool first = true;
	for (int i = 0; i < BD_IMPL_COUNT; i++) {
		if (b->impl[i].available)
			continue;
		fprintf(f, "%s{\"impl\": \"%s\", \"reason\": ", first ? "" : ", ", b->impl[i].name);
		jstr(f, b->impl[i].why);
		fprintf(f, "}");
		first = false;
	}
	/* Rows (and callgrind runs) in error: a contender that did no work is an error, not a
	 * row of zeros (bd_check_errors); "ok" is false when there is any. Rows left out on
	 * purpose are in "skipped" above and have "status": "skipped". */
	fprintf(f, "],\n  \"errors\": [");
	first = true;
	for (int si = 0; si < b->nscen; si++) {
		const struct bd_scen *s = &b->scen[si];
		for (int i = 0; i < BD_IMPL_COUNT; i++) {
			if (!s->cell[i].error)
				continue;
			fprintf(f, "%s\n    {\"scenario\": \"%s\", ", first ? "" : ",", s->name);
			if (s->variant)
				fprintf(f, "\"variant\": \"%s\", ", s->variant);
			fprintf(f, "\"impl\": \"%s\", \"endpoints\": %u, \"error\": ", order_names[i],
				s->endpoints);
			jstr(f, s->cell[i].error_msg);
			fprintf(f, "}");
			first = false;
		}
	}
	for (int i = 0; i < BD_IMPL_COUNT; i++) {
		if (!b->cg[i].error)
			continue;
		fprintf(f, "%s\n    {\"scenario\": \"callgrind\", \"impl\": \"%s\", \"error\": ",
			first ? "" : ",", order_names[i]);
		jstr(f, b->cg[i].note[0] ? b->cg[i].note : "no figure");
		fprintf(f, "}");
		first = false;
	}
	bool any = !first;
	fprintf(f, "%s],\n  \"ok\": %s,\n  \"scenarios\": {", any ? "\n  " : "",
		any ? "false" : "true");
	first = true;
	for (int si = 0; si < b->nscen; si++) {
		const struct bd_scen *s = &b->scen[si];
		char key[64];
		scen_key(s, key, sizeof(key));
		fprintf(f, "%s\n    \"%s\": {\"what\": ", first ? "" : ",", key);
		jstr(f, s->what);
		fprintf(f, ", \"farm\": \"%s\", \"endpoints\": %u, \"connect_timeout_ns\": %llu, "
			"\"backoff\": {\"initial_ns\": %llu, \"max_ns\": %llu, \"multiplier\": %g, "
			"\"jitter\": \"%s\"}, \"stable_after_ns\": %llu, \"warmup_ms\": %u, "
			"\"measure_ms\": %u, \"idle_ms\": %u, \"reps\": %d, \"max_reps\": %d, "
			"\"adaptive\": %s, \"cap_hit\": %s",
			s->farm_spec, s->endpoints, (unsigned long long)s->timeout_ns,
			(unsigned long long)s->b_initial_ns, (unsigned long long)s->b_max_ns, s->b_mult,
			s->jitter, (unsigned long long)s->stable_after_ns, s->warmup_ms, s->measure_ms,
			s->idle_ms, s->reps, s->max_reps, s->adaptive ? "true" : "false",
			s->cap_hit ? "true" : "false");
		enum bd_impl num, den;
		enum bd_metric m;
		if (bd_key_ratio(s, b, &num, &den, &m)) {
			struct bd_rstat st;
			bd_ratio_stats(s, num, den, m, &st);
			fprintf(f, ", \"key_ratio\": {\"pair\": \"%s/%s\", \"metric\": \"%s\", \"spread\": ",
				order_names[num], order_names[den], bd_metrics[m].json);
			jrstat(f, &st);
			fprintf(f, "}");
		}
		fprintf(f, "}");
		first = false;
	}
	fprintf(f, "\n  },\n  \"rows\": [");
	first = true;
	for (int si = 0; si < b->nscen; si++) {
		const struct bd_scen *s = &b->scen[si];
		for (int i = 0; i < BD_IMPL_COUNT; i++) {
			const struct bd_cell *c = &s->cell[i];
			if (!c->planned)
				continue;
			fprintf(f, "%s\n    {\"scenario\": \"%s\", ", first ? "" : ",", s->name);
			if (s->variant)
				fprintf(f, "\"variant\": \"%s\", ", s->variant);
			fprintf(f, "\"impl\": \"%s\", \"endpoints\": %u, \"status\": \"%s\"",
				order_names[i], s->endpoints,
				c->skipped ? "skipped" : c->error ? "error" : "ok");
			if (c->error) {
				fprintf(f, ", \"error\": ");
				jstr(f, c->error_msg);
			}
			first = false;
			for (int m = 0; m < BD_METRIC_COUNT; m++) {
				fprintf(f, ", \"%s\": ", bd_metrics[m].json);
				jnum(f, c->med[m]);
			}
			fprintf(f, ", \"syscall_method\": ");
			if (c->sc_method)
				jstr(f, c->sc_method);
			else
				fprintf(f, "null");
			int ok = 0;
			for (int r = 0; r < c->nrep; r++)
				ok += c->ok[r];
			fprintf(f, ", \"runs_ok\": %d, \"runs\": %d", ok, c->nrep);
			if (c->note[0]) {
				fprintf(f, ", \"note\": ");
				jstr(f, c->note);
			}
			fprintf(f, ", \"reps\": [");
			for (int r = 0; r < c->nrep; r++) {
				fprintf(f, "%s{", r ? ", " : "");
				if (!c->ok[r]) {
					fprintf(f, "\"ok\": false%s}",
						c->idle[r] ? ", \"no_work\": true" : "");
					continue;
				}
				for (int m = 0; m < BD_METRIC_COUNT; m++) {
					fprintf(f, "%s\"%s\": ", m ? ", " : "", bd_metrics[m].json);
					jnum(f, c->m[r][m]);
				}
				fprintf(f, "}");
			}
			fprintf(f, "]}");
		}
	}
	/* ratios: scenario -> metric -> "num/den" -> the spread of the per-repetition ratios. */
	fprintf(f, "\n  ],\n  \"ratios\": {");
	first = true;
	for (int si = 0; si < b->nscen; si++) {
		const struct bd_scen *s = &b->scen[si];
		const struct layout *L = layout_of(s->name);
		bool storm = is_storm(s);
		if (!L || !(s->impls & (1u << (storm ? BD_REDIAL_CLI : BD_REDIAL))))
			continue;
		char key[64];
		scen_key(s, key, sizeof(key));
		fprintf(f, "%s\n    \"%s\": {", first ? "" : ",", key);
		first = false;
		for (int r = 0; r < L->nratios; r++) {
			fprintf(f, "%s\"%s\": {", r ? ", " : "", bd_metrics[L->ratios[r]].json);
			bool f2 = true;
			for (int i = 0; i < BD_IMPL_COUNT; i++) {
				if (i == BD_REDIAL || i == BD_REDIAL_CLI || !(s->impls & (1u << i)))
					continue;
				struct bd_rstat st;
				if (storm) {
					bd_ratio_stats(s, (enum bd_impl)i, BD_REDIAL_CLI, L->ratios[r], &st);
					fprintf(f, "%s\"%s/redial-cli\": ", f2 ? "" : ", ", order_names[i]);
				} else {
					bd_ratio_stats(s, BD_REDIAL, (enum bd_impl)i, L->ratios[r], &st);
					fprintf(f, "%s\"redial/%s\": ", f2 ? "" : ", ", order_names[i]);
				}
				jrstat(f, &st);
				f2 = false;
			}
			fprintf(f, "}");
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n  },\n  \"callgrind\": {");
	first = true;
	for (int i = 0; i < BD_IMPL_COUNT; i++) {
		const struct bd_callgrind *cg = &b->cg[i];
		if (!cg->ran && !cg->note[0])
			continue;
		fprintf(f, "%s\"%s\": {\"instructions_per_attempt\": ", first ? "" : ", ", order_names[i]);
		jnum(f, cg->ran ? cg->instructions / cg->attempts : NAN);
		fprintf(f, ", \"attempts\": ");
		jnum(f, cg->ran ? cg->attempts : NAN);
		fprintf(f, ", \"error\": %s", cg->error ? "true" : "false");
		if (cg->note[0]) {
			fprintf(f, ", \"note\": ");
			jstr(f, cg->note);
		}
		fprintf(f, "}");
		first = false;
	}
	fprintf(f, "},\n  \"goals\": [");
	struct goal g[MAX_GOALS];
	int n = goals(b, g);
	for (int k = 0; k < n; k++) {
		fprintf(f, "%s\n    {\"goal\": ", k ? "," : "");
		jstr(f, g[k].text);
		fprintf(f, ", \"bound\": %g, \"direction\": \"%s\", \"value\": ", g[k].bound,
			g[k].at_least ? ">=" : "<=");
		jnum(f, g[k].known ? g[k].value : NAN);
		fprintf(f, ", \"met\": %s, \"margin\": ",
			!g[k].known ? "null" : goal_met(&g[k]) ? "true" : "false");
		jnum(f, g[k].known ? goal_margin(&g[k]) : NAN);
		if (g[k].st.n > 0) {
			fprintf(f, ", \"rep_min\": ");
			jnum(f, g[k].st.min);
			fprintf(f, ", \"rep_max\": ");
			jnum(f, g[k].st.max);
			fprintf(f, ", \"reps\": %d", g[k].st.n);
		}
		if (g[k].ratio && g[k].st.n > 1) {
			fprintf(f, ", \"spread_pct\": ");
			jnum(f, g[k].st.pct);
			fprintf(f, ", \"ci_lo\": ");
			jnum(f, g[k].st.lo);
			fprintf(f, ", \"ci_hi\": ");
			jnum(f, g[k].st.hi);
			fprintf(f, ", \"cap_hit\": %s", g[k].cap_hit ? "true" : "false");
		}
		if (g[k].note[0]) {
			fprintf(f, ", \"note\": ");
			jstr(f, g[k].note);
		}
		fprintf(f, "}");
	}
	/* The same as the markdown table printed on stdout. */
	char *md = NULL;
	size_t mdlen = 0;
	FILE *mf = open_memstream(&md, &mdlen);
	if (mf) {
		goal_table(b, mf);
		fclose(mf);
	}
	fprintf(f, "\n  ],\n  \"goal_table_markdown\": ");
	jstr(f, md ? md : "");
	free(md);
	fprintf(f, "\n}\n");
	return fclose(f) == 0 ? 0 : -errno;
}

/* ---- chart ------------------------------------------------------------------------------- */

static void dat(FILE *f, double v)
{
	if (isnan(v))
		fprintf(f, " ?");
	else
		fprintf(f, " %.6g", v);
}

int bd_write_chart(const struct bd_bench *b)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/throughput.dat", b->out_dir);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "# impl churn_connects_per_s refused_attempts_per_s\n");
	int churn = find_scen(b, "churn", 0, BD_REDIAL), refused = find_scen(b, "refused", 0, BD_REDIAL);
	int tp_rows = 0;
	for (int i = 0; i <= BD_REDIAL; i++) {
		double c = churn >= 0 ? b->scen[churn].cell[i].med[BD_CONNECTS_PER_S] : NAN;
		double r = refused >= 0 ? b->scen[refused].cell[i].med[BD_ATTEMPTS_PER_S] : NAN;
		if (isnan(c) && isnan(r))
			continue;
		fprintf(f, "%s", order_names[i]);
		dat(f, c);
		dat(f, r);
		fprintf(f, "\n");
		tp_rows++;
	}
	fclose(f);
	char impls[128] = "";
	static const enum bd_impl sweep[] = { BD_EPOLL, BD_LIBUV, BD_GO, BD_REDIAL };
	for (size_t k = 0; k < sizeof(sweep) / sizeof(sweep[0]); k++) {
		enum bd_impl i = sweep[k];
		snprintf(path, sizeof(path), "%s/scale_%s.dat", b->out_dir, order_names[i]);
		f = fopen(path, "we");
		if (!f)
			return -errno;
		fprintf(f, "# endpoints rss_bytes_per_endpoint cpu_us_per_attempt remove_ns_per_endpoint\n");
		int rows = 0;
		for (int si = 0; si < b->nscen; si++) {
			const struct bd_scen *s = &b->scen[si];
			if (strcmp(s->name, "scale") || !(s->impls & (1u << i)))
				continue;
			const struct bd_cell *c = &s->cell[i];
			if (isnan(c->med[BD_RSS_PER_EP]))
				continue;
			fprintf(f, "%u", s->endpoints);
			dat(f, c->med[BD_RSS_PER_EP]);
			dat(f, c->med[BD_CPU_US_PER_ATTEMPT]);
			dat(f, c->med[BD_REMOVE_NS]);
			fprintf(f, "\n");
			rows++;
		}
		fclose(f);
		if (rows)
			snprintf(impls + strlen(impls), sizeof(impls) - strlen(impls), "%s%s",
				 impls[0] ? " " : "", order_names[i]);
	}
	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr, "redial-bench: gnuplot is not installed (gnuplot-nox): no chart\n");
		return -ENOENT;
	}
	int rmin = 0, rmax = 0;
	for (int si = 0; si < b->nscen; si++) {
		if (!rmin || b->scen[si].reps < rmin)
			rmin = b->scen[si].reps;
		if (b->scen[si].reps > rmax)
			rmax = b->scen[si].reps;
	}
	char reps[32];
	if (rmin == rmax)
		snprintf(reps, sizeof(reps), "%d", rmin);
	else
		snprintf(reps, sizeof(reps), "%d-%d", rmin, rmax);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "gnuplot -e \"datadir='%s'; outfile='%s/bench.png'; impls='%s'; has_tp=%d; "
		 "subtitle='%s, medians of %s repetitions, %s'\" '%s/chart.gp'",
		 b->out_dir, b->out_dir, impls, tp_rows > 0, b->quick ? "--quick" : "full run", reps,
		 b->pinned ? "one CPU per contender" : "unpinned", b->srcdir);
	int st = system(cmd);
	if (st != 0) {
		fprintf(stderr, "redial-bench: gnuplot failed (status %d)\n", st);
		return -EIO;
	}
	return 0;
}
