/* tls_measure.c — TLS library figures for redial's choice: full and resumed TLS 1.3 client
 * handshakes per second and CPU per handshake, client and server in one thread talking
 * through memory (no socket, no kernel), so only crypto and protocol are measured.
 *
 *   tls-measure-openssl --ca CA --cert CERT --key KEY [--name localhost] [--seconds S]
 *                       [--label ecdsa-p256] [--json]
 *
 * bench/tls/measure.sh makes the certificates (ECDSA P-256 and RSA 2048) in a temporary
 * directory and runs both backends. Figures: handshakes/s of the pair (wall clock), CPU µs
 * per handshake of the process (getrusage: client + server), and the client's share
 * (thread CPU clock around the client's calls). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tls_measure.h"

uint64_t tm_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rusage_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

struct result {
	uint64_t n;
	double per_s, cpu_us, client_us;
};

/* Runs handshakes for about `seconds`; every resumed one must really resume. */
static int run(bool resume, double seconds, struct result *ret)
{
	uint64_t client = 0, cpu0 = rusage_ns(), t0 = mono_ns();
	uint64_t until = t0 + (uint64_t)(seconds * 1e9), n = 0, now;
	do {
		for (int i = 0; i < 16; i++, n++) {
			uint64_t c = 0;
			int r = tm_backend.handshake(resume, &c);
			if (r < 0 || r != (resume ? 1 : 0)) {
				fprintf(stderr, "%s: handshake %llu: %s\n", tm_backend.name,
					(unsigned long long)n,
					r < 0 ? "failed" : resume ? "not resumed" : "resumed");
				return -1;
			}
			client += c;
		}
		now = mono_ns();
	} while (now < until);
	uint64_t cpu = rusage_ns() - cpu0;
	ret->n = n;
	ret->per_s = (double)n * 1e9 / (double)(now - t0);
	ret->cpu_us = (double)cpu / 1e3 / (double)n;
	ret->client_us = (double)client / 1e3 / (double)n;
	return 0;
}

int main(int argc, char **argv)
{
	struct tm_files f = { .name = "localhost" };
	double seconds = 3;
	const char *label = "";
	bool json = false;
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'a' },   { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },  { "name", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' }, { "label", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },       { NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (o) {
		case 'a': f.ca = optarg; break;
		case 'c': f.cert = optarg; break;
		case 'k': f.key = optarg; break;
		case 'n': f.name = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'l': label = optarg; break;
		case 'j': json = true; break;
		default: return 2;
		}
	}
	if (!f.ca || !f.cert || !f.key || seconds <= 0) {
		fprintf(stderr, "usage: %s --ca CA --cert CERT --key KEY [--name N] [--seconds S] "
				"[--label L] [--json]\n", argv[0]);
		return 2;
	}
	if (tm_backend.setup(&f) < 0)
		return 1;
	struct result full, resumed;
	/* A short warm-up (caches, lazy tables), then the full handshakes (the last one leaves
	 * a session), then resumptions of it. */
	struct result warm;
	if (run(false, 0.2, &warm) < 0 || run(false, seconds, &full) < 0 ||
	    run(true, seconds, &resumed) < 0)
		return 1;
	tm_backend.teardown();
	if (json) {
		printf("{\"lib\":\"%s\",\"version\":\"%s\",\"cert\":\"%s\","
		       "\"full\":{\"n\":%llu,\"per_s\":%.0f,\"cpu_us\":%.1f,\"client_us\":%.1f},"
		       "\"resumed\":{\"n\":%llu,\"per_s\":%.0f,\"cpu_us\":%.1f,\"client_us\":%.1f}}\n",
		       tm_backend.name, tm_backend.version, label, (unsigned long long)full.n,
		       full.per_s, full.cpu_us, full.client_us, (unsigned long long)resumed.n,
		       resumed.per_s, resumed.cpu_us, resumed.client_us);
	} else {
		printf("%-8s %-12s %-11s full %7.0f/s %7.1f us cpu (client %6.1f)   "
		       "resumed %7.0f/s %7.1f us cpu (client %6.1f)\n",
		       tm_backend.name, tm_backend.version, label, full.per_s, full.cpu_us,
		       full.client_us, resumed.per_s, resumed.cpu_us, resumed.client_us);
	}
	return 0;
}
