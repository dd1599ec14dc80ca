/* bench_log.c — what the event log costs: the hot path per record (median, p99, p99.9), drain
 * throughput (records/s, MB/s) to a file on tmpfs, with one producer and with two, and the
 * same measurements for a baseline that fprintf()s the same fields as JSON lines.
 *
 * Timing uses the TSC (lfence; rdtsc ... rdtscp; lfence); the cost of an empty timed region
 * (its median) is subtracted, and cycles become ns through a TSC frequency calibrated
 * against CLOCK_MONOTONIC. Three views of the same calls, taken in turn, burst by burst:
 *  - per call: each call timed alone. Exact tails, but as coarse as the TSC (on some VMs it
 *    only moves in steps of ~10 ns);
 *  - per record in batches of 16: each run of 16 calls timed, divided by 16. Finer, and a
 *    slow call still shows (a 1 us stall is a 60 ns batch);
 *  - burst mean: a whole burst timed with clock_gettime, no per-call instrumentation.
 * Calls come in bursts of BURST records; between bursts the producer waits (untimed) until
 * the drain has caught up, so these figures never include the drop path. The drain runs
 * concurrently, with a 1 ms flush interval.
 *
 * Throughput, two ways. "Drain alone": with the drain paused, each producer thread logs
 * DRAIN_N records into its own 64 MiB ring; then the drain is released and timed until all
 * of them are in the file. "Producers flat out": producers log without pause for a fixed
 * time, the rings stay full and the excess is dropped, and the drain competes with them for
 * the CPUs; records/s counts records written, from the first call until the last is in the
 * file.
 *
 * Usage: bench_log [--quick] [--dir DIR] [--json FILE]   (DIR defaults to /dev/shm) */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "log/log.h"

#define BURST 4096

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t tsc_begin(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

static inline uint64_t tsc_end(void)
{
	unsigned aux;
	uint64_t t = __rdtscp(&aux);
	_mm_lfence();
	return t;
}

static double tsc_per_ns;
static uint32_t tsc_overhead; /* cycles of an empty timed region (median) */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void calibrate(void)
{
	uint64_t t0 = mono_ns(), c0 = __rdtsc();
	struct timespec ts = { 0, 200 * 1000000 };
	nanosleep(&ts, NULL);
	uint64_t t1 = mono_ns(), c1 = __rdtsc();
	tsc_per_ns = (double)(c1 - c0) / (double)(t1 - t0);

	enum { N = 100000 };
	static uint32_t s[N];
	for (int i = 0; i < N; i++) {
		uint64_t a = tsc_begin();
		uint64_t b = tsc_end();
		s[i] = (uint32_t)(b - a);
	}
	qsort(s, N, sizeof(s[0]), cmp_u32);
	tsc_overhead = s[N / 2];
}

struct lat {
	double median, p99, p999, max;          /* per call, ns */
	double b_median, b_p99, b_p999, b_max;  /* per record in batches of BATCH, ns */
	double mean;                            /* burst mean, ns per record */
	uint64_t samples, dropped;
};

#define BATCH 16

/* Quantile q of sorted cycle counts, as ns for `per` records. */
static double at(const uint32_t *s, size_t n, double q, unsigned per)
{
	uint32_t c = s[(size_t)((double)(n - 1) * q)];
	return (double)(c > tsc_overhead ? c - tsc_overhead : 0) / tsc_per_ns / per;
}

static void summarize(struct lat *r, uint32_t *s, size_t n, uint32_t *b, size_t nb)
{
	qsort(s, n, sizeof(s[0]), cmp_u32);
	qsort(b, nb, sizeof(b[0]), cmp_u32);
	r->median = at(s, n, 0.5, 1);
	r->p99 = at(s, n, 0.99, 1);
	r->p999 = at(s, n, 0.999, 1);
	r->max = at(s, n, 1.0, 1);
	r->b_median = at(b, nb, 0.5, BATCH);
	r->b_p99 = at(b, nb, 0.99, BATCH);
	r->b_p999 = at(b, nb, 0.999, BATCH);
	r->b_max = at(b, nb, 1.0, BATCH);
	r->samples = n;
}

/* ---- What is logged ------------------------------------------------------------------------ */

static struct sockaddr_in addr4;
static const char *endpoint_str = "10.1.2.3:8080";

struct worker {
	struct redial_log *l;
	FILE *f;
	pthread_mutex_t *flock;
	int bursts;
	uint32_t *samples, *batches;
	size_t n, nb;
	uint64_t mean_ns, mean_recs;
	_Atomic int *stop;
	uint64_t calls;
};

static inline void log_one(struct redial_log *l, uint64_t i)
{
	rd_log_connect_failed(l, 1000000000u + i, 0x100000001ull, (uint32_t)(i & 15) + 1,
			      ECONNREFUSED, REDIAL_CLASS_TRANSIENT, 1234567, 400000000,
			      (const struct sockaddr *)&addr4);
}

/* The baseline: what a printf logger writes for the same event. */
static inline void print_one(FILE *f, uint64_t i)
{
	struct timespec ts;
	struct tm tm;
	char addr[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	redial_endpoint_format((const struct sockaddr *)&addr4, addr, sizeof(addr));
	fprintf(f,
		"{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\",\"mono_ns\":%" PRIu64
		",\"level\":\"ERROR\",\"event\":\"connect_failed\",\"endpoint\":\"%s\","
		"\"endpoint_id\":%" PRIu64 ",\"attempt\":%u,\"errno\":%d,\"error\":\"%s\","
		"\"class\":\"%s\",\"duration_ns\":%" PRIu64 ",\"backoff_ns\":%" PRIu64
		",\"addr\":\"%s\"}\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec, (uint64_t)1000000000u + i, endpoint_str, (uint64_t)0x100000001ull,
		(unsigned)(i & 15) + 1, ECONNREFUSED, redial_errno_name(ECONNREFUSED),
		redial_class_name(REDIAL_CLASS_TRANSIENT), (uint64_t)1234567, (uint64_t)400000000,
		addr);
}

/* ---- Hot path ------------------------------------------------------------------------------ */

static inline void call(struct worker *w, uint64_t i)
{
	if (w->l)
		log_one(w->l, i);
	else
		print_one(w->f, i);
}

static void *hot_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t i = 0;
	for (int b = 0; b < w->bursts; b++) {
		if (b % 3 == 0) {
			for (int k = 0; k < BURST; k++, i++) {
				uint64_t a = tsc_begin();
				call(w, i);
				w->samples[w->n++] = (uint32_t)(tsc_end() - a);
			}
		} else if (b % 3 == 1) {
			for (int k = 0; k < BURST; k += BATCH) {
				uint64_t a = tsc_begin();
				for (int j = 0; j < BATCH; j++, i++)
					call(w, i);
				w->batches[w->nb++] = (uint32_t)(tsc_end() - a);
			}
		} else {
			uint64_t t0 = mono_ns();
			for (int k = 0; k < BURST; k++, i++)
				call(w, i);
			w->mean_ns += mono_ns() - t0;
			w->mean_recs += BURST;
		}
		/* untimed: let the drain catch up, so no burst meets a full ring */
		if (w->l)
			redial_log_flush(w->l, 10000000000ull);
	}
	return NULL;
}

static struct redial_log *open_log(const char *path)
{
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.flush_interval_ns = 1000000;
	unlink(path);
	int ret = redial_log_open(&cfg, &l);
	if (ret < 0) {
		fprintf(stderr, "bench_log: open %s: %s\n", path, strerror(-ret));
		exit(1);
	}
	return l;
}

static struct lat hot(const char *dir, int nthreads, int bursts, bool baseline)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bench_log_hot.%s", dir, baseline ? "jsonl" : "rlog");
	struct redial_log *l = NULL;
	FILE *f = NULL;
	if (baseline) {
		f = fopen(path, "w");
		if (!f) {
			perror(path);
			exit(1);
		}
	} else {
		l = open_log(path);
	}
	struct worker w[2];
	pthread_t th[2];
	for (int t = 0; t < nthreads; t++) {
		w[t] = (struct worker){ .l = l, .f = f, .bursts = bursts };
		w[t].samples = malloc(sizeof(uint32_t) * (size_t)bursts * BURST);
		w[t].batches = malloc(sizeof(uint32_t) * (size_t)bursts * BURST / BATCH);
		pthread_create(&th[t], NULL, hot_worker, &w[t]);
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	size_t n = 0, nb = 0;
	uint64_t mns = 0, mrec = 0;
	for (int t = 0; t < nthreads; t++) {
		n += w[t].n;
		nb += w[t].nb;
	}
	uint32_t *all = malloc(sizeof(uint32_t) * n), *allb = malloc(sizeof(uint32_t) * nb);
	n = nb = 0;
	for (int t = 0; t < nthreads; t++) {
		memcpy(all + n, w[t].samples, w[t].n * sizeof(uint32_t));
		memcpy(allb + nb, w[t].batches, w[t].nb * sizeof(uint32_t));
		n += w[t].n;
		nb += w[t].nb;
		mns += w[t].mean_ns;
		mrec += w[t].mean_recs;
		free(w[t].samples);
		free(w[t].batches);
	}
	struct lat r = { 0 };
	summarize(&r, all, n, allb, nb);
	r.mean = (double)mns / (double)mrec;
	free(all);
	free(allb);
	if (l) {
		struct redial_log_stats s = { .size = sizeof(s) };
		redial_log_stats_get(l, &s);
		r.dropped = s.dropped;
		redial_log_close(l);
	} else {
		fclose(f);
	}
	unlink(path);
	return r;
}

/* ---- Throughput ------------------------------------------------------------------------------ */

struct tput {
	double recs_per_s, mb_per_s;
	uint64_t written, offered, dropped;
};

static void *flood_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t i = 0;
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		for (int k = 0; k < 256; k++, i++) {
			if (w->l) {
				log_one(w->l, i);
			} else {
				print_one(w->f, i);
			}
		}
	}
	w->calls = i;
	return NULL;
}

struct filler {
	struct redial_log *l;
	uint64_t n;
};

static void *fill_worker(void *arg)
{
	struct filler *f = arg;
	for (uint64_t i = 0; i < f->n; i++)
		log_one(f->l, i);
	return NULL;
}

#define DRAIN_N 1000000

static struct tput drain_alone(const char *dir, int nthreads)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bench_log_drain.rlog", dir);
	struct redial_log_config cfg;
	struct redial_log *l;
	redial_log_config_init(&cfg);
	cfg.path = path;
	cfg.ring_bytes = 64u << 20; /* DRAIN_N 64-byte entries fit */
	unlink(path);
	if (redial_log_open(&cfg, &l) < 0) {
		fprintf(stderr, "bench_log: open %s failed\n", path);
		exit(1);
	}
	rd_log__drain_pause(l, true);
	struct filler f[2];
	pthread_t th[2];
	for (int t = 0; t < nthreads; t++) {
		f[t] = (struct filler){ l, DRAIN_N };
		pthread_create(&th[t], NULL, fill_worker, &f[t]);
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	uint64_t t0 = mono_ns();
	rd_log__drain_pause(l, false);
	redial_log_flush(l, 60000000000ull);
	double el = (double)(mono_ns() - t0) / 1e9;
	struct redial_log_stats s = { .size = sizeof(s) };
	redial_log_stats_get(l, &s);
	redial_log_close(l);
	unlink(path);
	struct tput r = { .written = s.written, .offered = (uint64_t)nthreads * DRAIN_N,
			  .dropped = s.dropped };
	r.recs_per_s = (double)s.written / el;
	r.mb_per_s = (double)(s.bytes - 48) / el / 1e6;
	return r;
}

static struct tput throughput(const char *dir, int nthreads, double seconds, bool baseline)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bench_log_tput.%s", dir, baseline ? "jsonl" : "rlog");
	struct redial_log *l = NULL;
	FILE *f = NULL;
	if (baseline) {
		f = fopen(path, "w");
		if (!f) {
			perror(path);
			exit(1);
		}
	} else {
		l = open_log(path);
	}
	_Atomic int stop = 0;
	struct worker w[2];
	pthread_t th[2];
	uint64_t t0 = mono_ns();
	for (int t = 0; t < nthreads; t++) {
		w[t] = (struct worker){ .l = l, .f = f, .stop = &stop };
		pthread_create(&th[t], NULL, flood_worker, &w[t]);
	}
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	struct tput r = { 0 };
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		r.offered += w[t].calls;
	}
	uint64_t bytes;
	if (l) {
		redial_log_flush(l, 60000000000ull);
		struct redial_log_stats s = { .size = sizeof(s) };
		redial_log_stats_get(l, &s);
		r.written = s.written;
		r.dropped = s.dropped;
		bytes = s.bytes;
	} else {
		fflush(f);
		r.written = r.offered;
		bytes = (uint64_t)ftell(f);
	}
	double el = (double)(mono_ns() - t0) / 1e9;
	if (l)
		redial_log_close(l);
	else
		fclose(f);
	unlink(path);
	r.recs_per_s = (double)r.written / el;
	r.mb_per_s = (double)bytes / el / 1e6;
	return r;
}

/* ---- Report ------------------------------------------------------------------------------------ */

static void json_lat(FILE *f, const char *name, const struct lat *l, bool comma)
{
	fprintf(f,
		"    \"%s\": {\"per_call\": {\"median_ns\": %.1f, \"p99_ns\": %.1f, "
		"\"p999_ns\": %.1f, \"max_ns\": %.1f}, \"batch16\": {\"median_ns\": %.2f, "
		"\"p99_ns\": %.2f, \"p999_ns\": %.2f, \"max_ns\": %.1f}, \"burst_mean_ns\": %.2f, "
		"\"samples\": %" PRIu64 ", \"dropped\": %" PRIu64 "}%s\n",
		name, l->median, l->p99, l->p999, l->max, l->b_median, l->b_p99, l->b_p999, l->b_max,
		l->mean, l->samples, l->dropped, comma ? "," : "");
}

static void json_tput(FILE *f, const char *name, const struct tput *t, bool comma)
{
	fprintf(f,
		"    \"%s\": {\"records_per_s\": %.0f, \"mb_per_s\": %.1f, \"written\": %" PRIu64
		", \"offered\": %" PRIu64 ", \"dropped\": %" PRIu64 "}%s\n",
		name, t->recs_per_s, t->mb_per_s, t->written, t->offered, t->dropped,
		comma ? "," : "");
}

int main(int argc, char **argv)
{
	const char *dir = "/dev/shm", *json = NULL;
	bool quick = false;
	static const struct option longopts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "dir", required_argument, NULL, 'd' },
		{ "quick", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'q':
			quick = true;
			break;
		default:
			fprintf(stderr, "usage: bench_log [--quick] [--dir DIR] [--json FILE]\n");
			return 2;
		}
	}
	addr4.sin_family = AF_INET;
	addr4.sin_port = htons(8080);
	inet_pton(AF_INET, "10.1.2.3", &addr4.sin_addr);
	calibrate();

	int bursts = quick ? 50 : 500;
	double secs = quick ? 0.3 : 2.0;
	struct lat h1 = hot(dir, 1, bursts, false), h2 = hot(dir, 2, bursts, false);
	struct lat f1 = hot(dir, 1, bursts, true), f2 = hot(dir, 2, bursts, true);
	struct tput d1 = drain_alone(dir, 1), d2 = drain_alone(dir, 2);
	struct tput t1 = throughput(dir, 1, secs, false), t2 = throughput(dir, 2, secs, false);
	struct tput p1 = throughput(dir, 1, secs, true), p2 = throughput(dir, 2, secs, true);

	printf("redial event log: connect_failed record with an IPv4 address (64-byte entry)\n");
	printf("TSC %.3f GHz, timing overhead %u cycles subtracted; files in %s; %ld CPUs\n\n",
	       tsc_per_ns, tsc_overhead, dir, sysconf(_SC_NPROCESSORS_ONLN));
	printf("hot path, ns per record     |  per call (TSC)            |  per record, batches of 16"
	       "    | burst\n");
	printf("                            |  median   p99  p99.9   max  |  median   p99  p99.9    max"
	       " |  mean  drops\n");
	const struct {
		const char *name;
		const struct lat *l;
	} rows[] = { { "log, 1 producer", &h1 },
		     { "log, 2 producers", &h2 },
		     { "fprintf JSON, 1 thread", &f1 },
		     { "fprintf JSON, 2 threads", &f2 } };
	for (size_t i = 0; i < 4; i++) {
		const struct lat *x = rows[i].l;
		printf("  %-25s | %7.1f %6.1f %6.1f %6.0f | %7.1f %6.1f %6.1f %6.0f | %5.1f %6" PRIu64
		       "\n",
		       rows[i].name, x->median, x->p99, x->p999, x->max, x->b_median, x->b_p99,
		       x->b_p999, x->b_max, x->mean, x->dropped);
	}
	printf("\nthroughput to the file            records/s      MB/s   (offered, dropped)\n");
	const struct {
		const char *name;
		const struct tput *t;
	} trows[] = { { "log drain alone, 1 ring", &d1 },
		      { "log drain alone, 2 rings", &d2 },
		      { "log, 1 producer flat out", &t1 },
		      { "log, 2 producers flat out", &t2 },
		      { "fprintf JSON, 1 thread", &p1 },
		      { "fprintf JSON, 2 threads", &p2 } };
	for (size_t i = 0; i < 6; i++)
		printf("  %-28s %12.0f %9.1f   (%" PRIu64 ", %" PRIu64 ")\n", trows[i].name,
		       trows[i].t->recs_per_s, trows[i].t->mb_per_s, trows[i].t->offered,
		       trows[i].t->dropped);
	double r_med = f1.b_median / h1.b_median, r_999 = f1.b_p999 / h1.b_p999;
	double r_tput = d1.recs_per_s / p1.recs_per_s;
	printf("\nfprintf / log (1 thread, batches of 16): median %.1fx, p99.9 %.1fx the cost per "
	       "record;\nlog drain alone / fprintf throughput (1 thread): %.1fx the records/s\n",
	       r_med, r_999, r_tput);

	if (json) {
		FILE *f = fopen(json, "w");
		if (!f) {
			perror(json);
			return 1;
		}
		fprintf(f, "{\n  \"tsc_ghz\": %.3f,\n  \"tsc_overhead_cycles\": %u,\n", tsc_per_ns,
			tsc_overhead);
		fprintf(f, "  \"hot_path\": {\n");
		json_lat(f, "log_1", &h1, true);
		json_lat(f, "log_2", &h2, true);
		json_lat(f, "fprintf_1", &f1, true);
		json_lat(f, "fprintf_2", &f2, false);
		fprintf(f, "  },\n  \"throughput\": {\n");
		json_tput(f, "drain_alone_1", &d1, true);
		json_tput(f, "drain_alone_2", &d2, true);
		json_tput(f, "log_1", &t1, true);
		json_tput(f, "log_2", &t2, true);
		json_tput(f, "fprintf_1", &p1, true);
		json_tput(f, "fprintf_2", &p2, false);
		fprintf(f,
			"  },\n  \"ratio\": {\"median\": %.2f, \"p999\": %.2f, \"throughput\": %.2f}\n}\n",
			r_med, r_999, r_tput);
		fclose(f);
	}
	return 0;
}
