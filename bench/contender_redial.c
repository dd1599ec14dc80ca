/* contender_redial.c — redial itself, through its public API, in every redial-bench scenario.
 *
 * The engine does all the work; the event callback only counts. In churn the server closes
 * first: the engine's watch sees the FIN, closes the fd and reconnects under the backoff
 * policy (stable_after_ns = 0 and a 1 us initial delay make that "at once").
 *
 * The scale scenario is what bench_remove measured before it was folded in here: N endpoints
 * against a port that refuses, each failing once and then waiting a long backoff (the steady
 * state of a big table with a dead upstream). Measured: memory per endpoint (RSS delta, the
 * ring included), CPU per attempt, and the cost of removing 10% of the endpoints at random,
 * including the loop pass that follows. --kernel-waits measures the same removal with the
 * waits pre-armed as kernel TIMEOUTs, which is what the timer wheel avoids: there each
 * cancel walks the kernel's timeout list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "contender_common.h"

#define IMPL "redial"

static struct bc_opts opts;
static struct bc_window win;
static struct bc_hold hold;
static redial_t *running; /* for submits() */

/* The fallback system call count: the io_uring_enter calls the library made (its other
 * calls, fewer by far, are not counted). */
static uint64_t submits(void)
{
	struct redial_stats s = { .size = sizeof(s) };
	return running && redial_stats_get(running, &s) == 0 ? s.submits : 0;
}

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)user;
	switch (ev->type) {
	case REDIAL_EV_CONNECTED:
		bc_window_attempt(&win, 0, ev->mono_ns - ev->duration_ns, ev->mono_ns);
		if (opts.scenario == BC_HOLD) {
			bc_hold_connected(&hold, ev->mono_ns);
			if (bc_hold_due(&hold))
				redial_stop(r);
		}
		break;
	case REDIAL_EV_ATTEMPT_FAILED:
		if (ev->cls == REDIAL_CLASS_LOCAL)
			bc_window_local_error(&win);
		else
			bc_window_attempt(&win, ev->err, ev->mono_ns - ev->duration_ns, ev->mono_ns);
		break;
	case REDIAL_EV_DISCONNECTED:
		if (opts.scenario == BC_HOLD) {
			bc_hold_dropped(&hold, ev->mono_ns);
			if (bc_hold_due(&hold))
				redial_stop(r);
		}
		break;
	default:
		break;
	}
	if (win.done)
		redial_stop(r); /* --stop-after closed the window */
}

static struct redial_endpoint_opts defaults;

static void config(struct redial_config *cfg)
{
	redial_config_init(cfg);
	cfg->max_endpoints = opts.endpoints;
	cfg->max_connecting = opts.max_inflight;
	/* Every contender may use the whole fd limit (hold measures exactly that); redial's
	 * default budget keeps half of it for the application's own files. */
	cfg->max_fds = opts.endpoints;
	cfg->seed = opts.seed;
	cfg->on_event = on_event;
	redial_endpoint_opts_init(&defaults);
	defaults.connect_timeout_ns = opts.timeout_ns;
	defaults.backoff_initial_ns = opts.backoff.initial_ns;
	defaults.backoff_max_ns = opts.backoff.max_ns;
	defaults.backoff_multiplier = opts.backoff.multiplier;
	defaults.backoff_jitter = opts.backoff.jitter;
	defaults.backoff_max_attempts = opts.backoff.max_attempts;
	defaults.backoff_max_elapsed_ns = opts.backoff.max_elapsed_ns;
	defaults.stable_after_ns = opts.stable_after_ns;
	defaults.alert_after = 0; /* no contender has alerts */
	cfg->endpoint_defaults = &defaults;
}

static redial_t *create(const struct redial_config *cfg)
{
	redial_t *r;
	int ret = redial_create(cfg, &r);
	if (ret < 0) {
		fprintf(stderr, "bench-redial: %s\n", redial_strerror_create());
		bc_die("redial_create", -ret);
	}
	running = r;
	bc_sites_fn = submits;
	return r;
}

static void add_all(redial_t *r)
{
	for (uint32_t i = 0; i < opts.endpoints; i++) {
		struct sockaddr_in sa;
		redial_id_t id;
		bc_addr(i, opts.port, &sa);
		int ret = redial_endpoint_add_addr(r, (struct sockaddr *)&sa, sizeof(sa), NULL, &id);
		if (ret < 0)
			bc_die("redial_endpoint_add_addr", -ret);
	}
}

static void run_until(redial_t *r, uint64_t t)
{
	uint64_t now = bc_now();
	int ret = redial_run(r, t > now ? t - now : 0);
	if (ret < 0)
		bc_die("redial_run", -ret);
}

static void windowed(void)
{
	long rss0 = bc_rss();
	struct redial_config cfg;
	config(&cfg);
	redial_t *r = create(&cfg);
	add_all(r);
	bc_window_init(&win, &opts);
	uint64_t next;
	while ((next = bc_window_tick(&win, bc_now())))
		run_until(r, next);
	long rss = bc_rss();
	bc_window_report(&win, IMPL, rss - rss0);
	redial_destroy(r);
}

static void held(void)
{
	bc_hold_init(&hold, &opts);
	struct redial_config cfg;
	config(&cfg);
	redial_t *r = create(&cfg);
	add_all(r);
	uint64_t next;
	while ((next = bc_hold_tick(&hold, bc_now())))
		run_until(r, next);
	bc_hold_report(&hold, IMPL);
	redial_destroy(r);
}

static void scale(void)
{
	struct bc_scale_result res;
	memset(&res, 0, sizeof(res));
	uint32_t n = opts.endpoints, k = (uint32_t)((uint64_t)n * opts.remove_pct / 100);
	res.endpoints = n;
	uint32_t *order = bc_removal_order(n, k, opts.seed);
	redial_id_t *ids = calloc(n, sizeof(*ids));
	if (!ids)
		bc_die("calloc", ENOMEM);
	struct redial_config cfg;
	config(&cfg);
	cfg.on_event = NULL; /* nothing to count: the stats say when the round is over */
	if (opts.kernel_waits) {
		/* Every wait pre-armed: a TIMEOUT heads each endpoint's chain in the kernel. */
		cfg.prearm_ns = REDIAL_SEC(10);
		defaults.backoff_initial_ns = REDIAL_SEC(5);
		defaults.backoff_max_ns = REDIAL_SEC(5);
		cfg.max_connecting = n;
	}
	long rss0 = bc_rss();
	redial_t *r = create(&cfg);
	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_in sa;
		bc_addr(i, opts.port, &sa);
		int ret = redial_endpoint_add_addr(r, (struct sockaddr *)&sa, sizeof(sa), NULL, &ids[i]);
		if (ret < 0)
			bc_die("redial_endpoint_add_addr", -ret);
	}

	uint64_t t0 = bc_now();
	struct bc_cpu c0 = bc_cpu();
	struct redial_stats s = { .size = sizeof(s) };
	/* The round is over when every endpoint has failed once and every attempt slot the
	 * round used is closed again: only the waits are left (on the wheel, or as n kernel
	 * chains with --kernel-waits). Closing the slots is part of an attempt's cost. */
	do {
		run_until(r, bc_now() + 1000000);
		redial_stats_get(r, &s);
	} while (s.failures < n || s.attempts_inflight != (opts.kernel_waits ? n : 0));
	struct bc_cpu c1 = bc_cpu();
	res.round_ns = bc_now() - t0;
	res.attempts = s.attempts;
	res.cpu = bc_cpu_sub(c1, c0);
	res.rss_delta = bc_rss() - rss0;

	/* Remove k at random; time each call, then the loop pass that sends the cancels and
	 * reaps them. */
	uint64_t start = bc_now();
	for (uint32_t j = 0; j < k; j++) {
		uint64_t a = bc_now();
		int ret = redial_endpoint_remove(r, ids[order[j]]);
		if (ret < 0)
			bc_die("redial_endpoint_remove", -ret);
		bc_hist_add(&res.remove_hist, (int64_t)(bc_now() - a));
	}
	do {
		int ret = redial_run(r, 0);
		if (ret < 0)
			bc_die("redial_run", -ret);
		redial_stats_get(r, &s);
	} while (opts.kernel_waits && s.attempts_inflight > n - k);
	res.remove_total_ns = bc_now() - start;
	res.removed = k;
	bc_scale_report(&res, opts.kernel_waits ? IMPL "-kwaits" : IMPL);
	redial_destroy(r);
	free(ids);
	free(order);
}

int main(int argc, char **argv)
{
	bc_parse(argc, argv, IMPL, &opts);
	switch (opts.scenario) {
	case BC_SCALE:
		scale();
		break;
	case BC_HOLD:
		held();
		break;
	default:
		windowed();
		break;
	}
	return 0;
}
