/* contender_tls_redial.c — redial in the TLS scenarios, through its public API: the engine
 * connects, runs the handshake on its ring, keeps the session (tls-resumed) and reconnects
 * when the farm closes; the callback only counts. tls-full sets REDIAL_TLS_NO_RESUME. As in
 * churn, stable_after_ns = 0 and a 1 us initial delay make the reconnect "at once". */
#include <string.h>

#include "contender_tls_common.h"

#define IMPL "tls-redial"

static struct bt_opts opts;
static struct bc_window win;
static uint64_t resumed;
static redial_t *running;

/* The fallback system call count (no tracepoint): the io_uring_enter calls the library made,
 * as contender_redial.c counts them. */
static uint64_t submits(void)
{
	struct redial_stats s = { .size = sizeof(s) };
	return running && redial_stats_get(running, &s) == 0 ? s.submits : 0;
}

static void on_event(redial_t *r, const struct redial_event *ev, void *user)
{
	(void)r;
	(void)user;
	if (ev->type == REDIAL_EV_CONNECTED) {
		bool was_open = win.open;
		bc_window_attempt(&win, 0, ev->mono_ns - ev->duration_ns, ev->mono_ns);
		struct redial_tls_info in = { .size = sizeof(in) };
		if (was_open && redial_tls_info(ev->tls, &in) == 0 && in.resumed)
			resumed++;
	} else if (ev->type == REDIAL_EV_ATTEMPT_FAILED) {
		if (ev->cls == REDIAL_CLASS_LOCAL)
			bc_window_local_error(&win);
		else
			bc_window_attempt(&win, ev->err, ev->mono_ns - ev->duration_ns, ev->mono_ns);
	}
}

int main(int argc, char **argv)
{
	bt_parse(argc, argv, IMPL, &opts);
	long rss0 = bc_rss();
	struct redial_tls_opts tls;
	redial_tls_opts_init(&tls);
	tls.ca = opts.ca;
	tls.sni = BT_SERVER_NAME;
	if (!opts.resume)
		tls.flags |= REDIAL_TLS_NO_RESUME;
	struct redial_endpoint_opts defaults;
	redial_endpoint_opts_init(&defaults);
	defaults.connect_timeout_ns = opts.bc.timeout_ns;
	defaults.backoff_initial_ns = 1000;
	defaults.backoff_max_ns = 100000000;
	defaults.stable_after_ns = 0;
	defaults.alert_after = 0;
	defaults.tls = &tls;
	struct redial_config cfg;
	redial_config_init(&cfg);
	cfg.max_endpoints = opts.bc.endpoints;
	cfg.seed = opts.bc.seed;
	cfg.on_event = on_event;
	cfg.endpoint_defaults = &defaults;
	redial_t *r;
	int ret = redial_create(&cfg, &r);
	if (ret < 0) {
		fprintf(stderr, "bench-" IMPL ": %s\n", redial_strerror_create());
		bc_die("redial_create", -ret);
	}
	running = r;
	bc_sites_fn = submits;
	for (uint32_t i = 0; i < opts.bc.endpoints; i++) {
		struct sockaddr_in sa;
		redial_id_t id;
		bc_addr(i, opts.bc.port, &sa);
		ret = redial_endpoint_add_addr(r, (struct sockaddr *)&sa, sizeof(sa), NULL, &id);
		if (ret < 0)
			bc_die("redial_endpoint_add_addr", -ret);
	}
	bc_window_init(&win, &opts.bc);
	uint64_t next;
	while ((next = bc_window_tick(&win, bc_now()))) {
		uint64_t now = bc_now();
		if ((ret = redial_run(r, next > now ? next - now : 0)) < 0)
			bc_die("redial_run", -ret);
	}
	bt_report(&win, IMPL, opts.resume ? "tls-resumed" : "tls-full", resumed, bc_rss() - rss0);
	redial_destroy(r);
	return 0;
}
