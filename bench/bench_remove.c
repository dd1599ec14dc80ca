/* bench_remove.c — what an endpoint costs, and what removing one costs, from 1k to 100k.
 *
 * For each table size N: N endpoints against a port that refuses, each failing once and
 * then waiting a long backoff (the steady state of a big table with a dead upstream).
 * Measured: user-space memory per endpoint (RSS delta), CPU per attempt (getrusage of this
 * process), and the cost of removing 10% of the endpoints at random, including the loop
 * pass that follows. The same removal is then measured with the waits held in the kernel
 * (pre-armed TIMEOUTs), which is what the timer wheel avoids: there each cancel walks the
 * kernel's timeout list.
 *
 * Usage: bench_remove [--quick] [--json FILE] */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "redial.h"

static uint16_t refuse_port;

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long pages = 0, rss = 0;
	if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2) {
		perror("statm");
		exit(1);
	}
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, int ret)
{
	fprintf(stderr, "%s: %s %s\n", what, strerror(-ret), redial_strerror_create());
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct result {
	unsigned n;
	const char *mode;
	double bytes_per_ep;
	double cpu_us_per_attempt;
	double remove_ns_median;
	double remove_ns_mean; /* API calls plus the loop pass that completes them */
};

/* kernel_waits: pre-arm the backoff into the chain, so that every wait is a kernel TIMEOUT. */
static struct result run(unsigned n, bool kernel_waits)
{
	struct result res = { .n = n, .mode = kernel_waits ? "kernel-timeout" : "wheel" };
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = n;
	cfg.seed = 1;
	cfg.endpoint_defaults.backoff.initial_ns = REDIAL_SEC(60);
	cfg.endpoint_defaults.backoff.max_ns = REDIAL_SEC(60);
	cfg.endpoint_defaults.backoff.jitter = REDIAL_JITTER_NONE;
	if (kernel_waits) {
		cfg.prearm_ns = REDIAL_SEC(10);
		cfg.endpoint_defaults.backoff.initial_ns = REDIAL_SEC(5);
		cfg.max_connecting = n;
	}
	long rss0 = rss_bytes();
	redial_t *r;
	int ret = redial_create(&cfg, &r);
	if (ret < 0)
		die("redial_create", ret);
	redial_id_t *ids = calloc(n, sizeof(*ids));
	uint64_t *lat = calloc(n / 10 + 1, sizeof(*lat));
	for (unsigned i = 0; i < n; i++) {
		char ep[64];
		snprintf(ep, sizeof(ep), "127.%u.%u.%u:%u", 2 + i / 62500, (i / 250) % 250,
			 1 + i % 250, refuse_port);
		if ((ret = redial_endpoint_add(r, ep, NULL, &ids[i], NULL, 0)) < 0)
			die("add", ret);
	}
	double c0 = cpu_s();
	struct redial_stats s = { .size = sizeof(s) };
	do {
		if ((ret = redial_run(r, REDIAL_MSEC(50))) < 0)
			die("run", ret);
		redial_stats(r, &s);
	} while (s.failures < n || (kernel_waits && s.attempts_inflight < n));
	double c1 = cpu_s();
	res.cpu_us_per_attempt = (c1 - c0) * 1e6 / (double)s.attempts;
	res.bytes_per_ep = (double)(rss_bytes() - rss0) / n;

	/* Remove 10% at random; time each call, then the loop pass that sends the cancels
	 * and reaps them. */
	srand(12345);
	unsigned k = 0;
	uint64_t t0 = redial_now_ns();
	while (k < n / 10) {
		unsigned i = (unsigned)rand() % n;
		if (!ids[i])
			continue;
		uint64_t a = redial_now_ns();
		if ((ret = redial_endpoint_remove(r, ids[i])) < 0)
			die("remove", ret);
		lat[k++] = redial_now_ns() - a;
		ids[i] = 0;
	}
	do {
		if ((ret = redial_run(r, 0)) < 0)
			die("run", ret);
		redial_stats(r, &s);
	} while (kernel_waits && s.attempts_inflight > n - k);
	uint64_t total = redial_now_ns() - t0;
	qsort(lat, k, sizeof(*lat), cmp_u64);
	res.remove_ns_median = (double)lat[k / 2];
	res.remove_ns_mean = (double)total / k;
	redial_destroy(r);
	free(ids);
	free(lat);
	return res;
}

int main(int argc, char **argv)
{
	bool quick = false;
	const char *json = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--quick] [--json FILE]\n", argv[0]);
			return 2;
		}
	}
	/* A bound socket that never listens: every SYN gets an RST. */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("socket");
		return 1;
	}
	refuse_port = ntohs(sa.sin_port);

	static const unsigned sizes[] = { 1000, 10000, 50000, 100000 };
	static const unsigned ksizes[] = { 1000, 8000 };
	struct result res[8];
	int nres = 0;
	for (size_t i = 0; i < (quick ? 2 : 4); i++)
		res[nres++] = run(sizes[i], false);
	for (size_t i = 0; i < 2; i++)
		res[nres++] = run(ksizes[i], true);

	printf("%-15s %8s %12s %14s %16s %16s\n", "waits", "N", "bytes/ep", "cpu us/attempt",
	       "remove ns (p50)", "remove ns (mean)");
	for (int i = 0; i < nres; i++)
		printf("%-15s %8u %12.0f %14.2f %16.0f %16.0f\n", res[i].mode, res[i].n,
		       res[i].bytes_per_ep, res[i].cpu_us_per_attempt, res[i].remove_ns_median,
		       res[i].remove_ns_mean);
	printf("ratio 100k/1k (wheel): remove mean %.2f, cpu per attempt %.2f\n",
	       res[quick ? 1 : 3].remove_ns_mean / res[0].remove_ns_mean,
	       res[quick ? 1 : 3].cpu_us_per_attempt / res[0].cpu_us_per_attempt);
	if (json) {
		FILE *f = fopen(json, "we");
		if (!f) {
			perror(json);
			return 1;
		}
		fprintf(f, "[");
		for (int i = 0; i < nres; i++)
			fprintf(f,
				"%s{\"mode\":\"%s\",\"endpoints\":%u,\"rss_bytes_per_endpoint\":%.0f,"
				"\"cpu_us_per_attempt\":%.3f,\"remove_ns_p50\":%.0f,"
				"\"remove_ns_mean\":%.0f}",
				i ? "," : "", res[i].mode, res[i].n, res[i].bytes_per_ep,
				res[i].cpu_us_per_attempt, res[i].remove_ns_median, res[i].remove_ns_mean);
		fprintf(f, "]\n");
		fclose(f);
	}
	close(fd);
	return 0;
}
