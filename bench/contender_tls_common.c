/* contender_tls_common.c — the TLS contenders' command line and RESULT line. */
#include "contender_tls_common.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void bt_parse(int argc, char **argv, const char *impl, struct bt_opts *o)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "endpoints", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "warmup-ms", required_argument, NULL, 'w' },
		{ "measure-ms", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 'r' },
		{ "tls-ca", required_argument, NULL, 'c' },
		{ "timeout-ns", required_argument, NULL, 't' },
		/* the driver's other flags: nothing here uses them */
		{ "idle-ms", required_argument, NULL, 0 },
		{ "backoff-initial-ns", required_argument, NULL, 0 },
		{ "backoff-max-ns", required_argument, NULL, 0 },
		{ "backoff-mult", required_argument, NULL, 0 },
		{ "jitter", required_argument, NULL, 0 },
		{ "stable-after-ns", required_argument, NULL, 0 },
		{ "max-inflight", required_argument, NULL, 0 },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->bc.scenario = BC_CHURN; /* the window's latency histogram: attempt start to connected */
	o->bc.timeout_ns = 2000000000ull;
	o->bc.seed = 1;
	const char *scen = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 0:
			break;
		case 's': scen = optarg; break;
		case 'n': o->bc.endpoints = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': o->bc.port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'w': o->bc.warmup_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'm': o->bc.measure_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': o->bc.seed = strtoull(optarg, NULL, 10); break;
		case 'c': o->ca = optarg; break;
		case 't': o->bc.timeout_ns = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "bench-%s: unknown option\n", impl);
			exit(2);
		}
	}
	if (!scen || (strcmp(scen, "tls-full") && strcmp(scen, "tls-resumed")) ||
	    !o->bc.endpoints || !o->bc.port || !o->ca || !o->bc.measure_ms) {
		fprintf(stderr,
			"usage: bench-%s --scenario tls-full|tls-resumed --endpoints N --port P "
			"--tls-ca FILE --measure-ms MS [--warmup-ms MS] [--timeout-ns NS]\n",
			impl);
		exit(2);
	}
	o->resume = strcmp(scen, "tls-resumed") == 0;
	o->bc.max_inflight = o->bc.endpoints;
}

void bt_report(const struct bc_window *w, const char *impl, const char *scenario,
	       uint64_t resumed, long rss_delta)
{
	printf("RESULT impl=%s scenario=%s endpoints=%u attempts=%" PRIu64 " connects=%" PRIu64
	       " failures=%" PRIu64 " timeouts=%" PRIu64 " local_errors=%" PRIu64
	       " wall_ns=%" PRIu64 " user_us=%" PRIu64 " sys_us=%" PRIu64 " rss_delta=%ld"
	       " resumed=%" PRIu64 " hist_n=%" PRIu64 " early=0 p50_ns=%" PRIu64
	       " p99_ns=%" PRIu64 " p999_ns=%" PRIu64,
	       impl, scenario, w->o->endpoints, w->attempts, w->connects, w->failures,
	       w->timeouts, w->local_errors, w->t_closed - w->t_opened,
	       w->cpu1.user_us - w->cpu0.user_us, w->cpu1.sys_us - w->cpu0.sys_us, rss_delta,
	       resumed, w->hist.n, bc_hist_quantile(&w->hist, 0.50),
	       bc_hist_quantile(&w->hist, 0.99), bc_hist_quantile(&w->hist, 0.999));
	/* Wake-ups, and the system calls of the driver's counting run (BENCH_SYSCALL_FD, read by
	 * bc_cpu at the window's edges) or the contender's own count: without them the counting
	 * run of a TLS scenario has nothing to report. */
	struct bc_cpu d = bc_cpu_sub(w->cpu1, w->cpu0);
	bc_print_usage(&d);
	printf("\n");
	fflush(stdout);
}
