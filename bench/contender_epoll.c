/* contender_epoll.c — what a careful C programmer writes by hand: non-blocking connect, one
 * epoll set, and one binary min-heap that holds every endpoint's next deadline (the connect
 * deadline while connecting, the end of the backoff wait otherwise). The backoff policy,
 * the in-flight cap and the error handling are redial's (redial_backoff_delay and
 * redial_classify from the library), so only the machinery differs.
 *
 * Per attempt: socket(), connect() (EINPROGRESS), one EPOLL_CTL_ADD for EPOLLOUT |
 * EPOLLRDHUP, edge-triggered, so the same registration reports the connect and, later, the
 * peer's FIN without an EPOLL_CTL_MOD; getsockopt(SO_ERROR) on completion; close(). Waits go
 * through epoll_pwait2, which takes a nanosecond timeout (epoll_wait's milliseconds where the
 * kernel, or valgrind, lacks it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contender_common.h"

#define IMPL "epoll"
#define NONE UINT32_MAX
#define BATCH 256

enum ep_state { ST_FREE, ST_WAIT, ST_READY, ST_CONNECTING, ST_CONNECTED };

struct ep {
	struct sockaddr_in addr;
	uint64_t start_ns;
	uint64_t up_ns;
	uint64_t prev_delay;
	int32_t fd;
	uint32_t heap;   /* position in the heap, NONE when not in it */
	uint32_t level;  /* backoff level */
	uint32_t gen;    /* bumped per attempt; tags epoll events */
	uint8_t state;
};

struct hnode {
	uint64_t due;
	uint32_t ep;
};

static struct bc_opts opts;
static struct bc_window win;
static struct bc_hold hold;
static struct redial_rng rng;
static struct ep *eps;
static struct hnode *heap;
static uint32_t hlen;
static uint32_t *readyq, ready_head, ready_len, neps;
static uint32_t inflight;
static int epfd;
static uint64_t throttle_until, throttle_delay;
static uint64_t round_failures; /* scale: failures so far */
static bool have_pwait2 = true;

/* ---- the timer heap ---------------------------------------------------------------------- */

static void heap_set(uint32_t pos, struct hnode n)
{
	heap[pos] = n;
	eps[n.ep].heap = pos;
}

static void sift_up(uint32_t pos)
{
	struct hnode n = heap[pos];
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (heap[parent].due <= n.due)
			break;
		heap_set(pos, heap[parent]);
		pos = parent;
	}
	heap_set(pos, n);
}

static void sift_down(uint32_t pos)
{
	struct hnode n = heap[pos];
	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= hlen)
			break;
		if (child + 1 < hlen && heap[child + 1].due < heap[child].due)
			child++;
		if (n.due <= heap[child].due)
			break;
		heap_set(pos, heap[child]);
		pos = child;
	}
	heap_set(pos, n);
}

static void heap_push(uint32_t i, uint64_t due)
{
	heap[hlen] = (struct hnode){ .due = due, .ep = i };
	eps[i].heap = hlen;
	sift_up(hlen++);
}

static void heap_remove(uint32_t i)
{
	uint32_t pos = eps[i].heap;
	eps[i].heap = NONE;
	if (--hlen == pos)
		return;
	heap_set(pos, heap[hlen]);
	if (pos > 0 && heap[(pos - 1) / 2].due > heap[pos].due)
		sift_up(pos);
	else
		sift_down(pos);
}

/* ---- endpoints --------------------------------------------------------------------------- */

static void ready_push(uint32_t i)
{
	eps[i].state = ST_READY;
	readyq[(ready_head + ready_len++) % neps] = i;
}

static void schedule(uint32_t i, uint64_t delay, uint64_t now)
{
	struct ep *e = &eps[i];
	e->prev_delay = delay;
	if (delay < BC_MIN_WAIT_NS) {
		ready_push(i);
	} else {
		e->state = ST_WAIT;
		heap_push(i, now + delay);
	}
}

static void attempt_failed(uint32_t i, int err, uint64_t now)
{
	struct ep *e = &eps[i];
	if (redial_classify(err) == REDIAL_CLASS_LOCAL) {
		/* Short of fds or buffers: pause every new attempt, not just this one. */
		bc_window_local_error(&win);
		throttle_delay = throttle_delay ? throttle_delay * 2 : BC_THROTTLE_MIN_NS;
		if (throttle_delay > BC_THROTTLE_MAX_NS)
			throttle_delay = BC_THROTTLE_MAX_NS;
		throttle_until = now + throttle_delay;
		e->state = ST_WAIT;
		heap_push(i, throttle_until);
		return;
	}
	bc_window_attempt(&win, err, e->start_ns, now);
	round_failures++;
	e->level++;
	schedule(i, redial_backoff_delay(&opts.backoff, e->level, e->prev_delay, &rng), now);
}

static void connected(uint32_t i, uint64_t now)
{
	struct ep *e = &eps[i];
	heap_remove(i);
	inflight--;
	e->state = ST_CONNECTED;
	e->up_ns = now;
	throttle_delay = 0;
	bc_window_attempt(&win, 0, e->start_ns, now);
	if (opts.scenario == BC_HOLD)
		bc_hold_connected(&hold, now);
}

static void disconnected(uint32_t i, uint64_t now)
{
	struct ep *e = &eps[i];
	BC_SYS(close(e->fd));
	e->fd = -1;
	if (opts.scenario == BC_HOLD)
		bc_hold_dropped(&hold, now);
	if (now - e->up_ns >= opts.stable_after_ns) {
		e->level = 0;
		e->prev_delay = 0;
	}
	e->level++;
	schedule(i, redial_backoff_delay(&opts.backoff, e->level, e->prev_delay, &rng), now);
}

static void start_attempt(uint32_t i, uint64_t now)
{
	struct ep *e = &eps[i];
	e->start_ns = now;
	e->gen++;
	bc_window_started(&win);
	int fd = BC_SYS(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (fd < 0) {
		attempt_failed(i, errno, now);
		return;
	}
	if (BC_SYS(connect(fd, (struct sockaddr *)&e->addr, sizeof(e->addr))) < 0 &&
	    errno != EINPROGRESS) {
		int err = errno;
		BC_SYS(close(fd));
		attempt_failed(i, err, now);
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.u64 = (uint64_t)e->gen << 32 | i };
	if (BC_SYS(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) < 0) {
		int err = errno;
		BC_SYS(close(fd));
		attempt_failed(i, err, now);
		return;
	}
	e->fd = fd;
	e->state = ST_CONNECTING;
	inflight++;
	heap_push(i, now + opts.timeout_ns);
}

static void on_event(uint64_t data, uint32_t events, uint64_t now)
{
	uint32_t i = (uint32_t)data;
	struct ep *e = &eps[i];
	if (e->gen != (uint32_t)(data >> 32))
		return; /* an earlier attempt's */
	if (e->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (BC_SYS(getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len)) < 0)
			err = errno;
		if (!err && !(events & EPOLLOUT))
			return;
		if (err) {
			heap_remove(i);
			inflight--;
			BC_SYS(close(e->fd));
			e->fd = -1;
			attempt_failed(i, err, now);
			return;
		}
		connected(i, now);
	}
	if (e->state == ST_CONNECTED && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		disconnected(i, now);
}

static void expire(uint64_t now)
{
	while (hlen && heap[0].due <= now) {
		uint32_t i = heap[0].ep;
		struct ep *e = &eps[i];
		heap_remove(i);
		if (e->state == ST_WAIT) {
			ready_push(i);
		} else if (e->state == ST_CONNECTING) {
			BC_SYS(close(e->fd));
			e->fd = -1;
			inflight--;
			attempt_failed(i, ETIMEDOUT, now);
		}
	}
}

/* One pass of the loop: timers, new attempts, one wait of at most until `next`, events. */
static void loop_once(uint64_t next)
{
	uint64_t now = bc_now();
	expire(now);
	while (ready_len && inflight < opts.max_inflight && throttle_until <= now) {
		uint32_t i = readyq[ready_head];
		ready_head = (ready_head + 1) % neps;
		ready_len--;
		if (eps[i].state == ST_READY) /* else removed while queued */
			start_attempt(i, now);
	}
	uint64_t until = next;
	if (hlen && heap[0].due < until)
		until = heap[0].due;
	if (ready_len && throttle_until > now && throttle_until < until)
		until = throttle_until;
	if (ready_len && throttle_until <= now && inflight < opts.max_inflight)
		until = now;
	uint64_t wait = until > now ? until - now : 0;
	struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000u),
			       .tv_nsec = (long)(wait % 1000000000u) };
	struct epoll_event evs[BATCH];
	int n;
	if (have_pwait2) {
		n = BC_SYS(epoll_pwait2(epfd, evs, BATCH, &ts, NULL));
		if (n < 0 && errno == ENOSYS) {
			/* Before Linux 5.11, or under valgrind 3.19: whole milliseconds. */
			have_pwait2 = false;
			return;
		}
	} else {
		n = BC_SYS(epoll_wait(epfd, evs, BATCH, (int)((wait + 999999u) / 1000000u)));
	}
	if (n < 0) {
		if (errno == EINTR)
			return;
		bc_die("epoll_pwait2", errno);
	}
	now = bc_now();
	for (int k = 0; k < n; k++)
		on_event(evs[k].data.u64, evs[k].events, now);
}

static void setup(void)
{
	neps = opts.endpoints;
	redial_rng_seed(&rng, opts.seed);
	eps = calloc(neps, sizeof(*eps));
	heap = calloc(neps, sizeof(*heap));
	readyq = calloc(neps, sizeof(*readyq));
	if (!eps || !heap || !readyq)
		bc_die("calloc", ENOMEM);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		bc_die("epoll_create1", errno);
	for (uint32_t i = 0; i < neps; i++) {
		bc_addr(i, opts.port, &eps[i].addr);
		eps[i].fd = -1;
		eps[i].heap = NONE;
		ready_push(i);
	}
}

/* Removes endpoint i: whatever it has going stops, and its slot is free. */
static void ep_remove(uint32_t i)
{
	struct ep *e = &eps[i];
	if (e->heap != NONE)
		heap_remove(i);
	if (e->state == ST_CONNECTING)
		inflight--;
	if (e->fd >= 0) {
		BC_SYS(close(e->fd));
		e->fd = -1;
	}
	e->state = ST_FREE;
	e->gen++;
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
	uint64_t t0 = bc_now();
	struct bc_cpu c0 = bc_cpu();
	while (round_failures < n)
		loop_once(bc_now() + 1000000);
	struct bc_cpu c1 = bc_cpu();
	res.round_ns = bc_now() - t0;
	res.attempts = round_failures;
	res.cpu = bc_cpu_sub(c1, c0);
	res.rss_delta = bc_rss() - rss0;

	uint64_t start = bc_now();
	for (uint32_t j = 0; j < k; j++) {
		uint64_t a = bc_now();
		ep_remove(order[j]);
		bc_hist_add(&res.remove_hist, (int64_t)(bc_now() - a));
	}
	loop_once(0); /* the loop pass after the removals, as the others have */
	res.remove_total_ns = bc_now() - start;
	res.removed = k;
	bc_scale_report(&res, IMPL);
	free(order);
}

int main(int argc, char **argv)
{
	bc_parse(argc, argv, IMPL, &opts);
	bc_sites_on = true; /* every system call below goes through BC_SYS */
	if (opts.scenario == BC_SCALE) {
		scale();
		return 0;
	}
	if (opts.scenario == BC_HOLD) {
		bc_hold_init(&hold, &opts);
		setup();
		uint64_t next;
		while ((next = bc_hold_tick(&hold, bc_now())))
			loop_once(next);
		bc_hold_report(&hold, IMPL);
		return 0;
	}
	long rss0 = bc_rss();
	setup();
	bc_window_init(&win, &opts);
	uint64_t next;
	while ((next = bc_window_tick(&win, bc_now())))
		loop_once(next);
	bc_window_report(&win, IMPL, bc_rss() - rss0);
	return 0;
}
