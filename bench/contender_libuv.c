/* contender_libuv.c — the libuv way: uv_tcp_connect for the attempt, one uv_timer_t per endpoint
 * for both the connect deadline and the backoff wait, uv_read_start to see the server's FIN,
 * uv_close to end each attempt. The backoff policy, the in-flight cap and the error
 * handling are redial's; libuv timers count whole milliseconds, so a wait is rounded up to
 * the next millisecond (waits under 20 us are skipped, as everywhere). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "contender_common.h"

#define IMPL "libuv"
#define NONE UINT32_MAX

enum ep_state { ST_FREE, ST_WAIT, ST_READY, ST_CONNECTING, ST_CONNECTED, ST_CLOSING };

struct ep {
	uv_tcp_t tcp;
	uv_connect_t req;
	uv_timer_t timer;
	struct sockaddr_in addr;
	uint64_t start_ns;
	uint64_t up_ns;
	uint64_t prev_delay;
	uint32_t level;
	uint32_t next;      /* ready queue link */
	uint8_t state;
	uint8_t was_up;     /* the attempt being closed had connected */
	uint8_t timed_out;  /* the deadline closed it */
};

static struct bc_opts opts;
static struct bc_window win;
static struct bc_hold hold;
static struct redial_rng rng;
static uv_loop_t *loop;
static uv_timer_t phase_timer;
static struct ep *eps;
static uint32_t neps, ready_head = NONE, ready_tail = NONE, inflight;
static uint64_t throttle_until, throttle_delay;
static uint64_t round_failures;
static uint32_t round_target; /* scale: stop the loop once this many have failed once */

static void start_attempt(struct ep *e);
static void on_timer(uv_timer_t *t);
static void on_phase(uv_timer_t *t);

static uint64_t ceil_ms(uint64_t ns)
{
	return (ns + 999999u) / 1000000u;
}

/* Starts queued attempts while the cap and the throttle allow. */
static void pump(void)
{
	uint64_t now = bc_now();
	while (ready_head != NONE && inflight < opts.max_inflight && throttle_until <= now) {
		struct ep *e = &eps[ready_head];
		ready_head = e->next;
		if (ready_head == NONE)
			ready_tail = NONE;
		if (e->state == ST_READY)
			start_attempt(e);
	}
}

static void ready_push(struct ep *e)
{
	uint32_t i = (uint32_t)(e - eps);
	e->state = ST_READY;
	e->next = NONE;
	if (ready_tail == NONE)
		ready_head = i;
	else
		eps[ready_tail].next = i;
	ready_tail = i;
}

static void schedule(struct ep *e, uint64_t delay)
{
	e->prev_delay = delay;
	if (delay < BC_MIN_WAIT_NS) {
		ready_push(e);
	} else {
		e->state = ST_WAIT;
		uv_timer_start(&e->timer, on_timer, ceil_ms(delay), 0);
	}
}

static void throttle(struct ep *e)
{
	bc_window_local_error(&win);
	throttle_delay = throttle_delay ? throttle_delay * 2 : BC_THROTTLE_MIN_NS;
	if (throttle_delay > BC_THROTTLE_MAX_NS)
		throttle_delay = BC_THROTTLE_MAX_NS;
	throttle_until = bc_now() + throttle_delay;
	e->state = ST_WAIT;
	uv_timer_start(&e->timer, on_timer, ceil_ms(throttle_delay), 0);
}

/* The attempt's handle is closed: plan the next one. */
static void on_closed(uv_handle_t *h)
{
	struct ep *e = h->data;
	inflight -= !e->was_up;
	if (e->was_up) {
		if (bc_now() - e->up_ns >= opts.stable_after_ns) {
			e->level = 0;
			e->prev_delay = 0;
		}
	} else {
		round_failures++;
	}
	e->level++;
	schedule(e, redial_backoff_delay(&opts.backoff, e->level, e->prev_delay, &rng));
	if (round_target && round_failures >= round_target)
		uv_stop(loop);
	pump();
}

static void close_attempt(struct ep *e)
{
	e->state = ST_CLOSING;
	uv_close((uv_handle_t *)&e->tcp, on_closed);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char scratch[64];
	(void)h;
	(void)hint;
	*buf = uv_buf_init(scratch, sizeof(scratch));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct ep *e = s->data;
	if (nread >= 0)
		return; /* data (none expected) or EAGAIN */
	/* UV_EOF: the server closed first; any other error ends it too. */
	close_attempt(e);
	if (opts.scenario == BC_HOLD) {
		bc_hold_dropped(&hold, bc_now());
		if (bc_hold_due(&hold))
			on_phase(&phase_timer);
	}
}

static void check_window(void)
{
	if (win.done)
		uv_stop(loop); /* --stop-after closed the window */
}

static void on_connect(uv_connect_t *req, int status)
{
	struct ep *e = req->data;
	if (e->state != ST_CONNECTING)
		return; /* UV_ECANCELED after the deadline or a removal closed it */
	uv_timer_stop(&e->timer);
	uint64_t now = bc_now();
	if (status < 0) {
		bc_window_attempt(&win, -status, e->start_ns, now);
		close_attempt(e);
		check_window();
		return;
	}
	inflight--;
	e->was_up = 1;
	e->up_ns = now;
	e->state = ST_CONNECTED;
	throttle_delay = 0;
	bc_window_attempt(&win, 0, e->start_ns, now);
	uv_read_start((uv_stream_t *)&e->tcp, alloc_cb, on_read);
	pump();
	check_window();
	if (opts.scenario == BC_HOLD) {
		bc_hold_connected(&hold, now);
		if (bc_hold_due(&hold))
			on_phase(&phase_timer);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct ep *e = t->data;
	if (e->state == ST_CONNECTING) {
		/* The connect deadline. */
		e->timed_out = 1;
		bc_window_attempt(&win, ETIMEDOUT, e->start_ns, bc_now());
		close_attempt(e);
		check_window();
	} else if (e->state == ST_WAIT) {
		ready_push(e);
		pump();
	}
}

static void start_attempt(struct ep *e)
{
	e->start_ns = bc_now();
	e->was_up = 0;
	e->timed_out = 0;
	uv_tcp_init(loop, &e->tcp);
	e->tcp.data = e;
	e->req.data = e;
	int ret = uv_tcp_connect(&e->req, &e->tcp, (const struct sockaddr *)&e->addr, on_connect);
	inflight++;
	if (ret < 0) {
		int err = -ret;
		if (redial_classify(err) == REDIAL_CLASS_LOCAL) {
			inflight--;
			e->state = ST_CLOSING;
			uv_close((uv_handle_t *)&e->tcp, NULL);
			throttle(e);
			return;
		}
		bc_window_attempt(&win, err, e->start_ns, bc_now());
		close_attempt(e);
		return;
	}
	e->state = ST_CONNECTING;
	uv_timer_start(&e->timer, on_timer, ceil_ms(opts.timeout_ns), 0);
}

static void on_phase(uv_timer_t *t)
{
	(void)t;
	uint64_t now = bc_now();
	uint64_t next = opts.scenario == BC_HOLD ? bc_hold_tick(&hold, now) : bc_window_tick(&win, now);
	if (!next) {
		uv_stop(loop);
		return;
	}
	if (next != UINT64_MAX)
		uv_timer_start(&phase_timer, on_phase, next > now ? ceil_ms(next - now) : 0, 0);
	pump();
}

static void setup(void)
{
	neps = opts.endpoints;
	redial_rng_seed(&rng, opts.seed);
	loop = uv_default_loop();
	eps = calloc(neps, sizeof(*eps));
	if (!eps)
		bc_die("calloc", ENOMEM);
	for (uint32_t i = 0; i < neps; i++) {
		struct ep *e = &eps[i];
		bc_addr(i, opts.port, &e->addr);
		uv_timer_init(loop, &e->timer);
		e->timer.data = e;
		ready_push(e);
	}
}

static void scale(void)
{
	struct bc_scale_result res;
	memset(&res, 0, sizeof(res));
	uint32_t n = opts.endpoints, k = (uint32_t)((uint64_t)n * opts.remove_pct / 100);
	res.endpoints = n;
	uint32_t *order = bc_removal_order(n, k, opts.seed);
	long rss0 = bc_rss();
	setup();
	round_target = n;
	uint64_t t0 = bc_now();
	struct bc_cpu c0 = bc_cpu();
	pump();
	while (round_failures < n)
		uv_run(loop, UV_RUN_ONCE);
	struct bc_cpu c1 = bc_cpu();
	res.round_ns = bc_now() - t0;
	res.attempts = round_failures;
	res.cpu = bc_cpu_sub(c1, c0);
	res.rss_delta = bc_rss() - rss0;

	uint64_t start = bc_now();
	for (uint32_t j = 0; j < k; j++) {
		struct ep *e = &eps[order[j]];
		uint64_t a = bc_now();
		/* Every endpoint is waiting out its backoff here: stop and close its timer. */
		uv_timer_stop(&e->timer);
		uv_close((uv_handle_t *)&e->timer, NULL);
		e->state = ST_FREE;
		bc_hist_add(&res.remove_hist, (int64_t)(bc_now() - a));
	}
	uv_run(loop, UV_RUN_NOWAIT); /* runs the close callbacks */
	res.remove_total_ns = bc_now() - start;
	res.removed = k;
	bc_scale_report(&res, IMPL);
	free(order);
}

int main(int argc, char **argv)
{
	bc_parse(argc, argv, IMPL, &opts);
	if (opts.scenario == BC_SCALE) {
		scale();
		return 0;
	}
	long rss0 = 0;
	if (opts.scenario == BC_HOLD)
		bc_hold_init(&hold, &opts);
	else
		rss0 = bc_rss();
	setup();
	if (opts.scenario != BC_HOLD)
		bc_window_init(&win, &opts);
	uv_timer_init(loop, &phase_timer);
	on_phase(&phase_timer);
	uv_run(loop, UV_RUN_DEFAULT);
	if (opts.scenario == BC_HOLD)
		bc_hold_report(&hold, IMPL);
	else
		bc_window_report(&win, IMPL, bc_rss() - rss0);
	return 0;
}
