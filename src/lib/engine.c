/* engine.c — endpoints, connect chains, cancellation and the run loop.
 *
 * The shape of one loop iteration (redial_run):
 *   1. advance the timer wheel: endpoints whose attempt is near move to the ready queue;
 *   2. pump: every SQE is produced here and nowhere else, from four queues (attempt work,
 *      endpoint ops, the ready queue of new chains, the wake timer), so that a full SQ
 *      simply leaves work queued in user space for the next pass;
 *   3. one io_uring_enter submits the batch and waits;
 *   4. reap CQEs in batches, turning them into state changes and queued events;
 *   5. dispatch the queued events to the application, outside the reap loop.
 *
 * An attempt is one chain:  [TIMEOUT(wait, ETIME_SUCCESS)] -> SOCKET(direct slot i) ->
 * CONNECT(i) -> LINK_TIMEOUT(deadline) -> FIXED_FD_INSTALL(i) =hard=> CLOSE_DIRECT(i).
 * On success the install hands us a regular fd and the close frees the slot in the same
 * chain; on failure the link breaks before them and the pump closes the slot afterwards.
 * The outcome is decided only once every CQE of the chain is in, because the kernel
 * does not order them: a deadline shows up as CONNECT -ECANCELED with LINK_TIMEOUT -ETIME,
 * in either order, and is reported as ETIMEDOUT.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "internal.h"
#include "log/log.h"

#define RD_BATCH 256
#define RD_MIN_WAIT_NS 20000ull          /* shorter backoff remainders go without a TIMEOUT */
#define RD_MIN_ADDR_TIMEOUT_NS REDIAL_MSEC(10) /* floor of one address's deadline share */
#define RD_THROTTLE_MIN_NS REDIAL_MSEC(10)
#define RD_THROTTLE_MAX_NS REDIAL_SEC(1)
#define RD_DESTROY_DEADLINE_NS REDIAL_SEC(5)

static inline struct rd_endpoint *ep_of_link(struct rd_timer *t)
{
	return (struct rd_endpoint *)((char *)t - offsetof(struct rd_endpoint, link));
}

static inline uint32_t ep_index(const struct redial *r, const struct rd_endpoint *ep)
{
	return (uint32_t)(ep - r->eps);
}

static inline redial_id_t ep_id(const struct redial *r, const struct rd_endpoint *ep)
{
	return ((uint64_t)ep->gen << 32) | ep_index(r, ep);
}

uint64_t redial_now_ns(void)
{
	return rd_clock_ns();
}

/* ---- configuration ----------------------------------------------------------------------- */

void redial_endpoint_opts_init(struct redial_endpoint_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->connect_timeout_ns = REDIAL_SEC(2);
	struct redial_backoff b;
	redial_backoff_init(&b);
	o->backoff_initial_ns = b.initial_ns;
	o->backoff_max_ns = b.max_ns;
	o->backoff_multiplier = b.multiplier;
	o->backoff_jitter = b.jitter;
	o->backoff_max_attempts = b.max_attempts;
	o->backoff_max_elapsed_ns = b.max_elapsed_ns;
	o->stable_after_ns = REDIAL_SEC(1);
	o->alert_after = 5;
}

void redial_config_init(struct redial_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->max_endpoints = 65536;
	cfg->max_connecting = 0; /* chosen from RLIMIT_NOFILE at create */
	cfg->sq_entries = 2048;
	cfg->cq_entries = 0;     /* 8 * sq_entries */
	cfg->iowq_max_workers = 4;
	cfg->prearm_ns = REDIAL_MSEC(50);
	cfg->dns_timeout_ns = REDIAL_SEC(2);
	cfg->dns_cache_max_ttl_ns = REDIAL_SEC(300);
	cfg->happy_eyeballs_delay_ns = REDIAL_MSEC(250);
}

/* Copies a caller's sized struct over defaults. A caller built against a newer header may
 * pass a larger struct; that is accepted only when the fields we don't know are zero. */
static int copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	if (src_size < sizeof(size_t))
		return -EINVAL;
	if (src_size > dst_size) {
		const unsigned char *extra = (const unsigned char *)src + dst_size;
		for (size_t i = 0; i < src_size - dst_size; i++)
			if (extra[i])
				return -E2BIG;
		src_size = dst_size;
	}
	memcpy(dst, src, src_size);
	*(size_t *)dst = dst_size;
	return 0;
}

/* The backoff policy that an endpoint's flat options describe. */
static struct redial_backoff opts_backoff(const struct redial_endpoint_opts *o)
{
	struct redial_backoff b = {
		.initial_ns = o->backoff_initial_ns,
		.max_ns = o->backoff_max_ns,
		.multiplier = o->backoff_multiplier,
		.jitter = o->backoff_jitter,
		.max_attempts = o->backoff_max_attempts,
		.max_elapsed_ns = o->backoff_max_elapsed_ns,
	};
	return b;
}

static int opts_load(struct redial_endpoint_opts *out, const struct redial_endpoint_opts *in,
		     char *errbuf, size_t errlen)
{
	redial_endpoint_opts_init(out);
	int ret = copy_sized(out, sizeof(*out), in, in->size);
	if (ret < 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "endpoint options: bad size %zu", in->size);
		return ret;
	}
	const char *bad = NULL;
	struct redial_backoff b;
	if (out->connect_timeout_ns == 0)
		bad = "connect_timeout_ns must be > 0";
	else if (out->connect_timeout_ns > REDIAL_SEC(3600))
		bad = "connect_timeout_ns must be <= 1 h";
	else if ((b = opts_backoff(out), redial_backoff_validate(&b)) < 0)
		bad = "backoff policy out of range (initial > 0, max >= initial, multiplier >= 1)";
	if (bad) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "endpoint options: %s", bad);
		return -EINVAL;
	}
	return 0;
}

/* ---- options interning ------------------------------------------------------------------ */

static bool opts_same(const struct rd_opts *a, const struct redial_endpoint_opts *o)
{
	return a->connect_timeout_ns == o->connect_timeout_ns &&
	       a->stable_after_ns == o->stable_after_ns && a->alert_after == o->alert_after &&
	       a->backoff.initial_ns == o->backoff_initial_ns &&
	       a->backoff.max_ns == o->backoff_max_ns &&
	       a->backoff.multiplier == o->backoff_multiplier &&
	       a->backoff.jitter == o->backoff_jitter &&
	       a->backoff.max_attempts == o->backoff_max_attempts &&
	       a->backoff.max_elapsed_ns == o->backoff_max_elapsed_ns;
}

static void opts_put(struct rd_opts *o)
{
	if (o && --o->refs == 0)
		rd_free(o);
}

static struct rd_opts *opts_get(struct redial *r, const struct redial_endpoint_opts *o)
{
	if (r->last_opts && opts_same(r->last_opts, o)) {
		r->last_opts->refs++;
		return r->last_opts;
	}
	struct rd_opts *n = rd_malloc(sizeof(*n));
	if (!n)
		return NULL;
	n->refs = 2; /* the endpoint's and the cache's */
	n->alert_after = o->alert_after;
	n->connect_timeout_ns = o->connect_timeout_ns;
	n->stable_after_ns = o->stable_after_ns;
	n->backoff = opts_backoff(o);
	opts_put(r->last_opts);
	r->last_opts = n;
	return n;
}

/* ---- endpoint bookkeeping --------------------------------------------------------------- */

static void ep_set_state(struct redial *r, struct rd_endpoint *ep, enum redial_state st)
{
	if (ep->flags & RD_EPF_LIVE) {
		r->by_state[ep->state]--;
		r->by_state[st]++;
	}
	ep->state = (uint8_t)st;
}

static void ep_count_err(struct redial *r, struct rd_endpoint *ep, int err)
{
	(void)r;
	uint16_t e = (uint16_t)err;
	for (unsigned i = 0; i < RD_EP_INLINE_ERRS; i++) {
		if (ep->errs[i].err == e || ep->errs[i].count == 0) {
			ep->errs[i].err = e;
			ep->errs[i].count++;
			return;
		}
	}
	for (unsigned i = 0; i < ep->nerr_more; i++) {
		if (ep->err_more[i].err == e) {
			ep->err_more[i].count++;
			return;
		}
	}
	/* A fifth distinct errno on one endpoint: rare, so it may allocate. */
	struct rd_errcount *m = rd_realloc(ep->err_more, (ep->nerr_more + 1u) * sizeof(*m));
	if (!m)
		return;
	ep->err_more = m;
	m[ep->nerr_more].err = e;
	m[ep->nerr_more].count = 1;
	ep->nerr_more++;
}

static struct rd_endpoint *ep_lookup(struct redial *r, redial_id_t id)
{
	uint32_t idx = (uint32_t)id;
	if (idx >= r->neps)
		return NULL;
	struct rd_endpoint *ep = &r->eps[idx];
	if (!(ep->flags & RD_EPF_LIVE) || ep->gen != (uint32_t)(id >> 32))
		return NULL;
	return ep;
}

static void ep_free_slot(struct redial *r, struct rd_endpoint *ep)
{
	rd_dns_detach(r, ep);
	opts_put(ep->opts);
	rd_free(ep->err_more);
	uint32_t gen = ep->gen;
	memset(ep, 0, sizeof(*ep));
	ep->gen = gen;
	ep->fd = ep->close_fd = -1;
	ep->attempt = RD_NONE;
	ep->opq_next = r->ep_free;
	r->ep_free = ep_index(r, ep);
}

/* A removed endpoint's slot returns to the free list once nothing of it is in flight. */
static void ep_maybe_reap_zombie(struct redial *r, struct rd_endpoint *ep)
{
	if ((ep->flags & RD_EPF_ZOMBIE) && ep->ops == 0 && !ep->want &&
	    !(ep->flags & RD_EPF_OPQ) && ep->attempt == RD_NONE)
		ep_free_slot(r, ep);
}

static void ep_want(struct redial *r, struct rd_endpoint *ep, unsigned bits)
{
	ep->want |= (uint8_t)bits;
	if (ep->flags & RD_EPF_OPQ)
		return;
	ep->flags |= RD_EPF_OPQ;
	uint32_t idx = ep_index(r, ep);
	ep->opq_next = RD_NONE;
	if (r->opq_tail == RD_NONE)
		r->opq_head = idx;
	else
		r->eps[r->opq_tail].opq_next = idx;
	r->opq_tail = idx;
}

static void att_want(struct redial *r, struct rd_attempt *a, unsigned bits)
{
	a->want |= (uint8_t)bits;
	if (a->queued)
		return;
	a->queued = 1;
	r->attq[(r->attq_head + r->attq_len) % r->natt] = (uint32_t)(a - r->att);
	r->attq_len++;
}

/* Stops watching the connected fd: drops a watch not yet sent, or removes the armed one. */
static void ep_unwatch(struct redial *r, struct rd_endpoint *ep)
{
	if (ep->want & RD_EW_WATCH)
		ep->want &= (uint8_t)~RD_EW_WATCH;
	else
		ep_want(r, ep, RD_EW_UNWATCH);
}

/* ---- scheduling ------------------------------------------------------------------------- */

static uint64_t tick_of(const struct redial *r, uint64_t ns)
{
	return ns <= r->t0 ? 0 : (ns - r->t0) / 1000000ull;
}

static void readyq_push(struct redial *r, struct rd_endpoint *ep)
{
	ep->flags |= RD_EPF_READYQ;
	rd_tlist_push(&r->readyq, &ep->link);
}

static void ep_unschedule(struct redial *r, struct rd_endpoint *ep)
{
	if (ep->flags & RD_EPF_READYQ) {
		rd_tlist_unlink(&ep->link);
		ep->flags &= (uint8_t)~RD_EPF_READYQ;
	} else {
		rd_wheel_del(&r->wheel, &ep->link);
	}
}

/* Plans the next attempt at due_ns. Waits shorter than the pre-arm horizon go to the ready
 * queue (and into the kernel chain as a TIMEOUT); longer ones wait on the wheel until they
 * are that close, so the kernel's timeout list stays short. */
static void ep_schedule(struct redial *r, struct rd_endpoint *ep, uint64_t due_ns)
{
	ep->due_ns = due_ns;
	if (due_ns > r->now + r->cfg.prearm_ns) {
		uint64_t tick = tick_of(r, due_ns - r->cfg.prearm_ns);
		if (tick > r->wheel.now) {
			rd_wheel_add(&r->wheel, &ep->link, tick);
			return;
		}
	}
	readyq_push(r, ep);
}

static void service_timers(struct redial *r)
{
	struct rd_timer due;
	rd_tlist_init(&due);
	rd_wheel_advance(&r->wheel, tick_of(r, r->now), &due);
	struct rd_timer *t;
	while ((t = rd_tlist_pop(&due)))
		readyq_push(r, ep_of_link(t));
}

/* ---- events ------------------------------------------------------------------------------ */

/* The address an event about ep should carry when no attempt is involved. */
static const union rd_addr *ep_event_addr(const struct rd_endpoint *ep)
{
	return ep->addr.sa.sa_family ? &ep->addr : NULL;
}

static socklen_t addr_len(const union rd_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static struct redial_event *ev_queue(struct redial *r, struct rd_endpoint *ep,
				     enum redial_event_type type, const union rd_addr *addr)
{
	/* Reaping reserves room for its events; only an application calling the API from a
	 * callback many times over can outgrow the queue, which then grows. */
	if (r->nevq == r->evq_cap) {
		struct rd_pending_event *q = rd_realloc(r->evq, 2 * r->evq_cap * sizeof(*q));
		if (!q) {
			static struct rd_pending_event sink;
			r->events_lost++;
			return &sink.ev;
		}
		r->evq = q;
		r->evq_cap *= 2;
	}
	struct rd_pending_event *pe = &r->evq[r->nevq++];
	memset(pe, 0, sizeof(*pe));
	pe->ep = ep_index(r, ep);
	pe->epoch = ep->epoch;
	pe->ev.type = type;
	pe->ev.id = ep_id(r, ep);
	if (addr) {
		pe->addr = *addr;
		pe->has_addr = true;
	}
	pe->ev.fd = -1;
	pe->ev.mono_ns = r->now;
	return &pe->ev;
}

/* Delivers an event synchronously (CANCELLED, from inside cancel/remove/shutdown). */
static void ev_deliver_now(struct redial *r, struct rd_endpoint *ep, enum redial_event_type type)
{
	if (!r->cfg.on_event)
		return;
	struct redial_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.id = ep_id(r, ep);
	ev.user = ep->user;
	if (ep_event_addr(ep)) {
		ev.addr = &ep->addr.sa;
		ev.addrlen = addr_len(&ep->addr);
	}
	ev.fd = -1;
	ev.mono_ns = rd_clock_ns();
	bool was = r->in_dispatch;
	r->in_dispatch = true;
	r->cfg.on_event(r, &ev, r->cfg.event_user);
	r->in_dispatch = was;
}

static int dispatch(struct redial *r)
{
	int n = 0;
	uint32_t i = 0;
	bool was = r->in_dispatch;
	r->in_dispatch = true;
	for (; i < r->nevq && !r->stop; i++) {
		struct rd_pending_event *pe = &r->evq[i];
		struct rd_endpoint *ep = &r->eps[pe->ep];
		if (!(ep->flags & RD_EPF_LIVE) || ep->epoch != pe->epoch)
			continue; /* cancelled or removed since: no callback after cancel */
		/* A copy: the callback may queue events, and the queue may move. */
		struct redial_event ev = pe->ev;
		union rd_addr addr = pe->addr;
		if (pe->has_addr) {
			ev.addr = &addr.sa;
			ev.addrlen = addr_len(&addr);
		}
		ev.user = ep->user;
		n++;
		if (r->cfg.on_event)
			r->cfg.on_event(r, &ev, r->cfg.event_user);
	}
	r->in_dispatch = was;
	/* redial_stop() mid-batch: keep the rest for the next run. */
	if (i < r->nevq)
		memmove(r->evq, r->evq + i, (r->nevq - i) * sizeof(*r->evq));
	r->nevq -= i;
	return n;
}

/* ---- attempts --------------------------------------------------------------------------- */

static struct rd_attempt *att_alloc(struct redial *r)
{
	if (r->att_free == RD_NONE)
		return NULL;
	struct rd_attempt *a = &r->att[r->att_free];
	r->att_free = a->next_free;
	r->att_used++;
	uint32_t gen = (a->gen + 1) & 0xffffffu;
	memset(a, 0, sizeof(*a));
	a->gen = gen;
	a->raw_fd = -1;
	for (unsigned i = 0; i <= RD_OP_ATTEMPT_LAST; i++)
		a->res[i] = -ENOENT;
	return a;
}

static void att_release(struct redial *r, struct rd_attempt *a)
{
	a->ep = RD_NONE;
	a->raw_fd = -1;
	a->next_free = r->att_free;
	r->att_free = (uint32_t)(a - r->att);
	r->att_used--;
}

struct io_uring_sqe *rd_get_sqe(struct redial *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		/* SQ full: push what is there to the kernel and try once more. */
		int ret = io_uring_submit(&r->ring);
		if (ret > 0)
			r->submits++;
		sqe = io_uring_get_sqe(&r->ring);
		if (!sqe) {
			r->sq_full++;
			return NULL;
		}
	}
	r->inflight++;
	r->sqes++;
	return sqe;
}

/* Makes room for `need` SQEs in a row (a chain must be contiguous). */
static bool reserve_sqes(struct redial *r, unsigned need)
{
	if (io_uring_sq_space_left(&r->ring) >= need)
		return true;
	int ret = io_uring_submit(&r->ring);
	if (ret > 0)
		r->submits++;
	if (io_uring_sq_space_left(&r->ring) >= need)
		return true;
	r->sq_full++;
	return false;
}

static void prep_attempt_sqe(struct io_uring_sqe *sqe, enum rd_op op, struct rd_attempt *a,
			     uint32_t idx, unsigned flags)
{
	sqe->user_data = rd_ud(op, a->gen, idx);
	sqe->flags |= (uint8_t)flags;
	a->pending++;
}

/* Sends the chain of one attempt of ep at addr: it waits until ep is due (plus extra_wait,
 * the Happy Eyeballs head start of a racer), then connects within timeout_ns. */
static bool start_chain(struct redial *r, struct rd_endpoint *ep, const union rd_addr *addr,
			uint64_t timeout_ns, bool racer, uint64_t extra_wait, uint32_t addr_idx)
{
	uint64_t wait = ep->due_ns > r->now + RD_MIN_WAIT_NS ? ep->due_ns - r->now : 0;
	wait += extra_wait;
	unsigned need = (wait ? 1u : 0u) + (r->fd_install ? 5u : 1u);
	if (r->att_free == RD_NONE || !reserve_sqes(r, need))
		return false;
	struct rd_attempt *a = att_alloc(r);
	uint32_t idx = (uint32_t)(a - r->att);

	a->ep = ep_index(r, ep);
	a->has_wait = wait != 0;
	a->start_ns = r->now + wait;
	a->stage = r->fd_install ? RD_ST_CHAIN : RD_ST_SOCKET;
	a->conn_ts = rd_ts(timeout_ns);
	a->addr = *addr;
	a->racer = racer;
	a->addr_idx = addr_idx;
	int family = addr->sa.sa_family;
	struct io_uring_sqe *sqe;

	if (wait) {
		a->wait_ts = rd_ts(wait);
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_timeout(sqe, &a->wait_ts, 0, IORING_TIMEOUT_ETIME_SUCCESS);
		prep_attempt_sqe(sqe, RD_OP_TIMEOUT, a, idx, IOSQE_IO_LINK);
	}
	if (r->fd_install) {
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_socket_direct(sqe, family, SOCK_STREAM | SOCK_NONBLOCK, 0, idx, 0);
		prep_attempt_sqe(sqe, RD_OP_SOCKET, a, idx, IOSQE_IO_LINK);
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_connect(sqe, (int)idx, &a->addr.sa, addr_len(&a->addr));
		prep_attempt_sqe(sqe, RD_OP_CONNECT, a, idx, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_link_timeout(sqe, &a->conn_ts, 0);
		prep_attempt_sqe(sqe, RD_OP_LTIMEOUT, a, idx, IOSQE_IO_LINK);
		/* Hard link: the slot is closed even if the install fails (EMFILE). */
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_rw(IORING_OP_FIXED_FD_INSTALL_VALUE, sqe, (int)idx, NULL, 0, 0);
		prep_attempt_sqe(sqe, RD_OP_INSTALL, a, idx, IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK);
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_close_direct(sqe, idx);
		prep_attempt_sqe(sqe, RD_OP_CLOSE_CHAIN, a, idx, 0);
	} else {
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_socket(sqe, family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0);
		prep_attempt_sqe(sqe, RD_OP_SOCKET, a, idx, 0);
	}
	r->inflight += a->pending;
	r->sqes += a->pending;
	if (racer) {
		ep->name->racer = idx;
	} else {
		ep->attempt = idx;
		ep_set_state(r, ep, wait ? REDIAL_STATE_BACKOFF : REDIAL_STATE_CONNECTING);
	}
	return true;
}

/* The op a cancel should aim at: the wait while it runs, else the connect. */
static enum rd_op cancel_target(const struct rd_attempt *a)
{
	if (a->has_wait && !(a->seen & (1u << RD_OP_TIMEOUT)))
		return RD_OP_TIMEOUT;
	if ((a->stage == RD_ST_CHAIN || a->stage == RD_ST_CONNECT) &&
	    !(a->seen & (1u << RD_OP_CONNECT)))
		return RD_OP_CONNECT;
	return 0;
}

/* Detaches an attempt its endpoint no longer wants and asks the kernel to stop it; it then
 * only drains, closing whatever it made. */
static void att_abandon(struct redial *r, uint32_t idx)
{
	struct rd_attempt *a = &r->att[idx];
	a->ep = RD_NONE;
	if (a->pending && cancel_target(a)) {
		a->cancelled = 1;
		att_want(r, a, RD_AW_CANCEL);
	}
}

static void ep_abandon_attempts(struct redial *r, struct rd_endpoint *ep)
{
	if (ep->attempt != RD_NONE) {
		att_abandon(r, ep->attempt);
		ep->attempt = RD_NONE;
	}
	if (ep->name && ep->name->racer != RD_NONE) {
		att_abandon(r, ep->name->racer);
		ep->name->racer = RD_NONE;
	}
}

static void attempt_settle(struct redial *r, struct rd_attempt *a);

/* Sends the queued per-attempt work. Returns false when the SQ is full. */
static bool pump_attempts(struct redial *r)
{
	while (r->attq_len) {
		uint32_t idx = r->attq[r->attq_head];
		struct rd_attempt *a = &r->att[idx];
		struct io_uring_sqe *sqe;
		if (a->want & RD_AW_CANCEL) {
			enum rd_op target = cancel_target(a);
			if (target) {
				if (!(sqe = rd_get_sqe(r)))
					return false;
				io_uring_prep_cancel64(sqe, rd_ud(target, a->gen, idx), 0);
				prep_attempt_sqe(sqe, RD_OP_CANCEL, a, idx, 0);
				r->kernel_cancels++;
			}
			a->want &= (uint8_t)~RD_AW_CANCEL;
		}
		if (a->want & RD_AW_CLOSE_SLOT) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_close_direct(sqe, idx);
			prep_attempt_sqe(sqe, RD_OP_CLOSE_SLOT, a, idx, 0);
			a->want &= (uint8_t)~RD_AW_CLOSE_SLOT;
		}
		if (a->want & RD_AW_CLOSE_RAW) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_close(sqe, a->raw_fd);
			prep_attempt_sqe(sqe, RD_OP_CLOSE_RAW, a, idx, 0);
			a->want &= (uint8_t)~RD_AW_CLOSE_RAW;
		}
		if (a->want & RD_AW_CONNECT) {
			if (!reserve_sqes(r, 2))
				return false;
			sqe = io_uring_get_sqe(&r->ring);
			io_uring_prep_connect(sqe, a->raw_fd, &a->addr.sa, addr_len(&a->addr));
			prep_attempt_sqe(sqe, RD_OP_CONNECT, a, idx, IOSQE_IO_LINK);
			sqe = io_uring_get_sqe(&r->ring);
			io_uring_prep_link_timeout(sqe, &a->conn_ts, 0);
			prep_attempt_sqe(sqe, RD_OP_LTIMEOUT, a, idx, 0);
			r->inflight += 2;
			r->sqes += 2;
			a->want &= (uint8_t)~RD_AW_CONNECT;
		}
		a->queued = 0;
		r->attq_head = (r->attq_head + 1) % r->natt;
		r->attq_len--;
		/* Its chain may have finished while the work waited here (a cancel that found
		 * nothing left to aim at): settle it now, nobody else will. */
		if (!a->pending)
			attempt_settle(r, a);
	}
	return true;
}

static void prep_ep_sqe(struct io_uring_sqe *sqe, enum rd_op op, struct rd_endpoint *ep,
			uint32_t seq, uint32_t idx)
{
	sqe->user_data = rd_ud(op, seq, idx);
	ep->ops++;
}

static bool pump_endpoint_ops(struct redial *r)
{
	while (r->opq_head != RD_NONE) {
		uint32_t idx = r->opq_head;
		struct rd_endpoint *ep = &r->eps[idx];
		struct io_uring_sqe *sqe;
		if (ep->want & RD_EW_UNWATCH) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_poll_remove(sqe, rd_ud(RD_OP_POLL, ep->watch_seq, idx));
			prep_ep_sqe(sqe, RD_OP_POLL_REMOVE, ep, ep->watch_seq, idx);
			ep->want &= (uint8_t)~RD_EW_UNWATCH;
		}
		if (ep->want & RD_EW_CLOSE) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_close(sqe, ep->close_fd);
			prep_ep_sqe(sqe, RD_OP_CLOSE_FD, ep, 0, idx);
			ep->close_fd = -1;
			ep->want &= (uint8_t)~RD_EW_CLOSE;
		}
		if (ep->want & RD_EW_WATCH) {
			if (ep->fd >= 0) {
				if (!(sqe = rd_get_sqe(r)))
					return false;
				io_uring_prep_poll_add(sqe, ep->fd, POLLRDHUP | POLLERR | POLLHUP);
				ep->watch_seq = ep->conn_seq;
				prep_ep_sqe(sqe, RD_OP_POLL, ep, ep->conn_seq, idx);
			}
			ep->want &= (uint8_t)~RD_EW_WATCH;
		}
		r->opq_head = ep->opq_next;
		if (r->opq_head == RD_NONE)
			r->opq_tail = RD_NONE;
		ep->flags &= (uint8_t)~RD_EPF_OPQ;
		ep_maybe_reap_zombie(r, ep);
	}
	return true;
}

static bool throttled(const struct redial *r)
{
	return r->throttle_until_ns > r->now;
}

static void arm_wake(struct redial *r)
{
	if (r->wake_remove) {
		if (r->wake_inflight && !r->wake_update_inflight) {
			struct io_uring_sqe *sqe = rd_get_sqe(r);
			if (!sqe)
				return;
			io_uring_prep_timeout_remove(sqe, rd_ud(RD_OP_WAKE, 0, 0), 0);
			sqe->user_data = rd_ud(RD_OP_WAKE_UPDATE, 0, 0);
			r->wake_update_inflight = true;
		}
		return;
	}
	uint64_t want = UINT64_MAX;
	uint64_t tick = rd_wheel_next(&r->wheel);
	if (tick != RD_WHEEL_NONE)
		want = r->t0 + tick * 1000000ull;
	if (!rd_tlist_empty(&r->readyq) && throttled(r) && r->throttle_until_ns < want)
		want = r->throttle_until_ns;
	uint64_t dns = rd_dns_next_ns(r);
	if (dns < want)
		want = dns;
	if (want == UINT64_MAX)
		return;
	if (!r->wake_inflight) {
		struct io_uring_sqe *sqe = rd_get_sqe(r);
		if (!sqe)
			return;
		r->wake_ts = rd_ts(want);
		io_uring_prep_timeout(sqe, &r->wake_ts, 0, IORING_TIMEOUT_ABS);
		sqe->user_data = rd_ud(RD_OP_WAKE, 0, 0);
		r->wake_inflight = true;
		r->wake_armed_ns = want;
	} else if (want < r->wake_armed_ns && !r->wake_update_inflight) {
		struct io_uring_sqe *sqe = rd_get_sqe(r);
		if (!sqe)
			return;
		r->wake_upd_ts = rd_ts(want);
		io_uring_prep_timeout_update(sqe, &r->wake_upd_ts, rd_ud(RD_OP_WAKE, 0, 0),
					     IORING_TIMEOUT_ABS);
		sqe->user_data = rd_ud(RD_OP_WAKE_UPDATE, 0, 0);
		r->wake_update_inflight = true;
		r->wake_armed_ns = want;
	}
}

/* A NAME endpoint's cycle: its share of the connect deadline for the next address. */
static uint64_t cycle_timeout(const struct redial *r, const struct rd_endpoint *ep)
{
	const struct rd_ep_name *en = ep->name;
	uint64_t start = ep->due_ns > r->now ? ep->due_ns : r->now;
	uint64_t remaining = en->cycle_deadline_ns > start ? en->cycle_deadline_ns - start : 0;
	uint32_t left = en->naddrs > en->next ? en->naddrs - en->next : 1;
	uint64_t t = remaining / left;
	return t < RD_MIN_ADDR_TIMEOUT_NS ? RD_MIN_ADDR_TIMEOUT_NS : t;
}

static void cycle_begin(struct redial *r, struct rd_endpoint *ep)
{
	uint64_t start = ep->due_ns > r->now ? ep->due_ns : r->now;
	ep->name->next = 0;
	ep->name->cycle_deadline_ns = start + ep->opts->connect_timeout_ns;
}

/* Starts what a NAME endpoint's cycle has next: the next address in the free slot and, as
 * RFC 8305 asks, an address of the other family racing it after a head start. */
static bool ep_start_addresses(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_name *en = ep->name;
	if (ep->attempt == RD_NONE && en->next < en->naddrs) {
		if (!start_chain(r, ep, &en->addrs[en->next], cycle_timeout(r, ep), false, 0,
				 en->next))
			return false;
		en->next++;
	}
	if (en->racer == RD_NONE && ep->attempt != RD_NONE && en->next < en->naddrs &&
	    en->addrs[en->next].sa.sa_family != r->att[ep->attempt].addr.sa.sa_family &&
	    start_chain(r, ep, &en->addrs[en->next], cycle_timeout(r, ep), true,
			r->cfg.happy_eyeballs_delay_ns, en->next))
		en->next++;
	return true;
}

static void ep_attempt_failed(struct redial *r, struct rd_endpoint *ep, int err, uint64_t start_ns,
			      const union rd_addr *addr, int addr_idx, int force_cls,
			      bool connect_made);

/* Starts ep's next attempt; false when the SQ has no room (ep must stay queued). */
static bool ep_start(struct redial *r, struct rd_endpoint *ep)
{
	if (!ep->name)
		return start_chain(r, ep, &ep->addr, ep->opts->connect_timeout_ns, false, 0, 0);
	struct rd_ep_name *en = ep->name;
	if (en->next >= en->naddrs && ep->attempt == RD_NONE && en->racer == RD_NONE) {
		/* A new cycle: fresh addresses first, from the cache or a query. */
		int ret = rd_dns_lookup(r, ep);
		if (ret == 0) {
			ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
			return true; /* back through rd_ep_resolved / rd_ep_resolve_failed */
		}
		if (ret < 0) {
			ep_attempt_failed(r, ep, -ret, r->now, NULL, -1, -1, false);
			return true;
		}
		cycle_begin(r, ep);
	}
	return ep_start_addresses(r, ep);
}

/* Produces every SQE of this iteration. */
static void pump(struct redial *r)
{
	if (!pump_attempts(r) || !pump_endpoint_ops(r))
		goto wake;
	while (!throttled(r) && !rd_tlist_empty(&r->readyq) && r->att_free != RD_NONE) {
		/* Off the queue first: starting may fail the endpoint and queue it again. */
		struct rd_endpoint *ep = ep_of_link(r->readyq.next);
		rd_tlist_unlink(&ep->link);
		ep->flags &= (uint8_t)~RD_EPF_READYQ;
		if (!ep_start(r, ep)) {
			rd_tlist_push(r->readyq.next, &ep->link); /* back at the front */
			ep->flags |= RD_EPF_READYQ;
			break;
		}
	}
	/* After the ready queue: a query started just now has opened its socket, and the
	 * answer must not wait for the next turn of the loop. */
	rd_dns_pump(r, r->wake_remove);
wake:
	arm_wake(r);
}

/* ---- outcomes ---------------------------------------------------------------------------- */

static enum redial_class classify(struct redial *r, int err)
{
	enum redial_class c = redial_classify(err);
	if (r->cfg.classify)
		c = r->cfg.classify(err, c, r->cfg.classify_user);
	return c;
}

static void throttle(struct redial *r)
{
	uint64_t d = r->throttle_delay_ns ? r->throttle_delay_ns * 2 : RD_THROTTLE_MIN_NS;
	if (d > RD_THROTTLE_MAX_NS)
		d = RD_THROTTLE_MAX_NS;
	r->throttle_delay_ns = d;
	if (r->throttle_until_ns < r->now + d)
		r->throttle_until_ns = r->now + d;
	r->throttles++;
}

static void ep_give_up(struct redial *r, struct rd_endpoint *ep, enum redial_gave_up_reason why,
		       int err, enum redial_class cls)
{
	ep_set_state(r, ep, REDIAL_STATE_FAILED);
	ep->gave_up = (uint8_t)why;
	ep->mark_ns = r->now;
	r->gave_up++;
	struct redial_event *ev = ev_queue(r, ep, REDIAL_EV_GAVE_UP, ep_event_addr(ep));
	ev->reason = why;
	ev->err = err;
	ev->cls = cls;
	ev->attempt = ep->streak;
	if (r->cfg.log)
		rd_log_gave_up(r->cfg.log, r->now, ep_id(r, ep), why, err, ep->streak);
}

/* An attempt (or, with connect_made false, a resolution) failed. addr: where it tried
 * (NULL for a resolver failure); addr_idx: its place in a NAME endpoint's cycle, or -1;
 * force_cls: a class decided by the caller, or -1 for the classifier's. */
static void ep_attempt_failed(struct redial *r, struct rd_endpoint *ep, int err, uint64_t start_ns,
			      const union rd_addr *addr, int addr_idx, int force_cls,
			      bool connect_made)
{
	uint64_t dur = r->now > start_ns ? r->now - start_ns : 0;
	enum redial_class cls = force_cls >= 0 ? (enum redial_class)force_cls : classify(r, err);
	const struct rd_opts *o = ep->opts;
	struct rd_ep_name *en = ep->name;
	bool busy = ep->attempt != RD_NONE || (en && en->racer != RD_NONE);
	ep_count_err(r, ep, err);
	ep->last_error = (uint16_t)err;
	ep->last_class = (uint8_t)cls;
	if (addr)
		ep->addr = *addr;

	if (cls == REDIAL_CLASS_LOCAL) {
		/* The process is short of fds, ports or memory: pause every new attempt, and
		 * don't hold it against this endpoint's streak. A NAME endpoint retries the
		 * same address. */
		ep->local_errors++;
		r->local_errors++;
		throttle(r);
		if (en && addr_idx >= 0 && !busy && (uint32_t)addr_idx < en->next)
			en->next = (uint32_t)addr_idx;
		ep_unschedule(r, ep);
		ep_schedule(r, ep, r->throttle_until_ns);
		if (!busy)
			ep_set_state(r, ep, REDIAL_STATE_BACKOFF);
		struct redial_event *ev = ev_queue(r, ep, REDIAL_EV_ATTEMPT_FAILED, addr);
		ev->err = err;
		ev->cls = cls;
		ev->attempt = ep->streak + 1;
		ev->duration_ns = dur;
		ev->backoff_ns = r->throttle_until_ns - r->now;
		if (r->cfg.log)
			rd_log_connect_failed(r->cfg.log, r->now, ep_id(r, ep), ev->attempt, err, cls,
					      dur, ev->backoff_ns, addr ? &addr->sa : NULL);
		return;
	}

	if (connect_made) {
		ep->attempts++;
		r->attempts++;
	}
	ep->failures++;
	r->failures++;
	ep->streak++;
	if (ep->streak == 1)
		ep->streak_start_ns = start_ns;

	/* A NAME endpoint moves on to its next address (or waits for the one still racing)
	 * before it backs off: the backoff is per cycle, not per address. */
	bool more = en && cls == REDIAL_CLASS_TRANSIENT && (en->next < en->naddrs || busy);
	uint64_t delay = 0;
	enum redial_gave_up_reason why = REDIAL_GAVE_UP_NONE;
	if (cls == REDIAL_CLASS_PERMANENT) {
		why = REDIAL_GAVE_UP_PERMANENT;
	} else if (more) {
		if (o->backoff.max_attempts && ep->streak >= o->backoff.max_attempts)
			why = REDIAL_GAVE_UP_MAX_ATTEMPTS;
	} else {
		ep->level++;
		delay = redial_backoff_delay(&o->backoff, ep->level, ep->prev_delay_ns, &r->rng);
		uint64_t elapsed = r->now - ep->streak_start_ns;
		if (redial_backoff_exhausted(&o->backoff, ep->streak, elapsed, delay)) {
			why = (o->backoff.max_attempts && ep->streak >= o->backoff.max_attempts)
				      ? REDIAL_GAVE_UP_MAX_ATTEMPTS
				      : REDIAL_GAVE_UP_MAX_ELAPSED;
			delay = 0;
		}
	}

	struct redial_event *ev = ev_queue(r, ep, REDIAL_EV_ATTEMPT_FAILED, addr);
	ev->err = err;
	ev->cls = cls;
	ev->attempt = ep->streak;
	ev->duration_ns = dur;
	ev->backoff_ns = delay;
	if (r->cfg.log)
		rd_log_connect_failed(r->cfg.log, r->now, ep_id(r, ep), ep->streak, err, cls, dur,
				      delay, addr ? &addr->sa : NULL);

	if (o->alert_after && ep->streak == o->alert_after) {
		ev = ev_queue(r, ep, REDIAL_EV_ALERT, addr);
		ev->err = err;
		ev->cls = cls;
		ev->attempt = ep->streak;
		if (r->cfg.log)
			rd_log_alert(r->cfg.log, r->now, ep_id(r, ep), ep->streak, err);
	}

	if (why != REDIAL_GAVE_UP_NONE) {
		ep_abandon_attempts(r, ep);
		ep_unschedule(r, ep);
		if (en)
			en->next = en->naddrs;
		ep_give_up(r, ep, why, err, cls);
		return;
	}
	if (more) {
		/* RFC 8305: when the attempt in flight fails, the racer still sitting out its
		 * head start goes now. */
		if (en->racer != RD_NONE && ep->attempt == RD_NONE) {
			struct rd_attempt *ra = &r->att[en->racer];
			if (ra->has_wait && !(ra->seen & (1u << RD_OP_TIMEOUT))) {
				if (ra->addr_idx < en->next)
					en->next = ra->addr_idx;
				att_abandon(r, en->racer);
				en->racer = RD_NONE;
			}
		}
		if (en->next < en->naddrs && !(ep->flags & RD_EPF_READYQ)) {
			ep->due_ns = r->now;
			readyq_push(r, ep);
		}
		ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
		return;
	}
	if (en)
		en->next = en->naddrs; /* cycle over: the next one resolves again */
	ep->prev_delay_ns = delay;
	ep_schedule(r, ep, r->now + delay);
	ep_set_state(r, ep, REDIAL_STATE_BACKOFF);
}

static void ep_connected(struct redial *r, struct rd_endpoint *ep, int fd, uint64_t start_ns)
{
	uint64_t dur = r->now > start_ns ? r->now - start_ns : 0;
	uint32_t took = ep->streak + 1;
	uint64_t down = r->now - ep->mark_ns;
	ep->fd = fd;
	ep->conn_seq = (ep->conn_seq + 1) & 0xffffffu;
	ep->mark_ns = r->now;
	ep->streak = 0;
	ep->attempts++;
	ep->connects++;
	r->attempts++;
	r->connects++;
	r->fds_open++;
	r->throttle_delay_ns = 0; /* a success: local pressure has eased */
	ep_set_state(r, ep, REDIAL_STATE_CONNECTED);
	ep_want(r, ep, RD_EW_WATCH);
	struct redial_event *ev = ev_queue(r, ep, REDIAL_EV_CONNECTED, &ep->addr);
	ev->fd = fd;
	ev->attempt = took;
	ev->duration_ns = dur;
	ev->down_ns = down;
	if (r->cfg.log)
		rd_log_connected(r->cfg.log, r->now, ep_id(r, ep), took, dur, down);
}

/* The connection is gone (peer closed, reset, or the application says so): close it and
 * plan the reconnect. The backoff level only resets if the connection had been stable, so
 * a peer that accepts and drops at once cannot drive a reconnect storm. */
/* Lets go of the connected fd: its watch (unless it already fired) and the fd itself go
 * in the next batch, and later CQEs of this connection are recognised as stale. */
static void ep_close_conn(struct redial *r, struct rd_endpoint *ep, bool unwatch)
{
	if (unwatch)
		ep_unwatch(r, ep);
	ep->close_fd = ep->fd;
	ep_want(r, ep, RD_EW_CLOSE);
	ep->fd = -1;
	ep->conn_seq = (ep->conn_seq + 1) & 0xffffffu;
}

static void ep_disconnected(struct redial *r, struct rd_endpoint *ep, int err, bool unwatch)
{
	uint64_t up = r->now - ep->mark_ns;
	const struct rd_opts *o = ep->opts;
	ep_close_conn(r, ep, unwatch);
	ep->disconnects++;
	r->disconnects++;
	if (err)
		ep_count_err(r, ep, err);
	if (up >= o->stable_after_ns) {
		ep->level = 0;
		ep->prev_delay_ns = 0;
	}
	ep->level++;
	uint64_t delay = redial_backoff_delay(&o->backoff, ep->level, ep->prev_delay_ns, &r->rng);
	ep->prev_delay_ns = delay;
	ep->mark_ns = r->now;
	ep_schedule(r, ep, r->now + delay);
	ep_set_state(r, ep, REDIAL_STATE_BACKOFF);
	struct redial_event *ev = ev_queue(r, ep, REDIAL_EV_DISCONNECTED, ep_event_addr(ep));
	ev->err = err;
	ev->up_ns = up;
	ev->backoff_ns = delay;
	if (r->cfg.log)
		rd_log_disconnected(r->cfg.log, r->now, ep_id(r, ep), err, up);
}

void rd_ep_resolved(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_name *en = ep->name;
	en->nx_since_ns = 0;
	if (r->cfg.log)
		rd_log_resolved(r->cfg.log, r->now, ep_id(r, ep), en->addrs, en->naddrs,
				en->n->ttl_s);
	cycle_begin(r, ep);
	readyq_push(r, ep);
}

void rd_ep_resolve_failed(struct redial *r, struct rd_endpoint *ep, int code, uint64_t start_ns)
{
	struct rd_ep_name *en = ep->name;
	int force = -1;
	if (code == REDIAL_E_DNS_NXDOMAIN || code == REDIAL_E_DNS_NODATA) {
		/* A name that appears late: hold it as transient for a while (HAProxy's hold nx). */
		if (!en->nx_since_ns)
			en->nx_since_ns = r->now;
		if (r->cfg.dns_nxdomain_hold_ns && r->now - en->nx_since_ns < r->cfg.dns_nxdomain_hold_ns)
			force = REDIAL_CLASS_TRANSIENT;
	}
	en->next = en->naddrs = 0;
	ep_attempt_failed(r, ep, code, start_ns, NULL, -1, force, false);
}

/* Reads what the chain's CQEs say happened: 0 and *ret_fd for a connection, else -errno.
 * -ECANCELED only when we cancelled it ourselves; the deadline becomes -ETIMEDOUT. */
static int attempt_outcome(const struct rd_attempt *a, int *ret_fd)
{
	if (a->has_wait && a->res[RD_OP_TIMEOUT] == -ECANCELED)
		return -ECANCELED;
	int sock = a->res[RD_OP_SOCKET];
	if (sock < 0)
		return sock;
	int conn = a->res[RD_OP_CONNECT];
	if (conn == 0) {
		int fd = a->stage == RD_ST_CHAIN ? a->res[RD_OP_INSTALL] : a->raw_fd;
		if (fd < 0)
			return fd;
		*ret_fd = fd;
		return 0;
	}
	if (conn == -ECANCELED)
		return a->cancelled && a->res[RD_OP_LTIMEOUT] != -ETIME ? -ECANCELED : -ETIMEDOUT;
	return conn;
}

/* Runs when an attempt has nothing in flight: decides its next step. */
static void attempt_settle(struct redial *r, struct rd_attempt *a)
{
	if (a->pending || a->want)
		return;
	struct rd_endpoint *ep = a->ep == RD_NONE ? NULL : &r->eps[a->ep];

	if (a->stage == RD_ST_SOCKET) {
		int sock = a->res[RD_OP_SOCKET];
		if (sock >= 0) {
			a->raw_fd = sock;
			a->stage = ep ? RD_ST_CONNECT : RD_ST_CLOSING;
			att_want(r, a, ep ? RD_AW_CONNECT : RD_AW_CLOSE_RAW);
			return;
		}
		/* fall through: the socket itself failed */
	} else if (a->stage == RD_ST_CLOSING) {
		att_release(r, a);
		return;
	}

	int fd = -1;
	int res = attempt_outcome(a, &fd);
	bool slot_left = a->stage == RD_ST_CHAIN && a->res[RD_OP_SOCKET] >= 0 &&
			 a->res[RD_OP_CLOSE_CHAIN] == -ECANCELED;
	bool raw_left = a->stage == RD_ST_CONNECT && (res != 0 || !ep);

	if (ep) {
		if (a->racer)
			ep->name->racer = RD_NONE;
		else
			ep->attempt = RD_NONE;
		if (res == 0) {
			/* First to connect wins; the other attempt, if any, is cancelled. */
			ep_abandon_attempts(r, ep);
			ep_unschedule(r, ep);
			if (ep->name)
				ep->name->next = ep->name->naddrs;
			ep->addr = a->addr;
			ep_connected(r, ep, fd, a->start_ns);
			a->raw_fd = -1; /* the endpoint owns it now */
		} else {
			ep_attempt_failed(r, ep, -res, a->start_ns, &a->addr, (int)a->addr_idx, -1,
					  true);
		}
	} else if (res == 0 && a->stage == RD_ST_CHAIN) {
		/* Connected just as it was cancelled: the fd is nobody's. */
		close(fd);
	}

	if (slot_left || raw_left) {
		a->stage = RD_ST_CLOSING;
		att_want(r, a, slot_left ? RD_AW_CLOSE_SLOT : RD_AW_CLOSE_RAW);
		return;
	}
	att_release(r, a);
}

static void handle_attempt_cqe(struct redial *r, enum rd_op op, uint32_t gen, uint32_t idx,
			       int res)
{
	if (idx >= r->natt || r->att[idx].gen != gen || !r->att[idx].pending) {
		r->stale_cqes++;
		return;
	}
	struct rd_attempt *a = &r->att[idx];
	a->pending--;
	if (op == RD_OP_CANCEL) {
		/* -ENOENT: the target was not issued yet (still a link) or already done. If it
		 * is still to come, aim again. */
		if (res == -ENOENT || res == -EALREADY) {
			if (cancel_target(a))
				att_want(r, a, RD_AW_CANCEL);
		}
		attempt_settle(r, a);
		return;
	}
	a->seen |= (uint16_t)(1u << op);
	a->res[op] = res;
	if (op == RD_OP_TIMEOUT && a->ep != RD_NONE && res == -ETIME) {
		struct rd_endpoint *ep = &r->eps[a->ep];
		ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
	}
	attempt_settle(r, a);
}

static int socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void handle_endpoint_cqe(struct redial *r, enum rd_op op, uint32_t seq, uint32_t idx,
				int res)
{
	if (idx >= r->neps || r->eps[idx].ops == 0) {
		r->stale_cqes++;
		return;
	}
	struct rd_endpoint *ep = &r->eps[idx];
	ep->ops--;
	switch (op) {
	case RD_OP_POLL:
		if (seq != ep->conn_seq || ep->state != REDIAL_STATE_CONNECTED)
			break; /* an earlier connection's watch */
		if (res == -ECANCELED)
			break;
		if (res > 0) {
			int err = (res & POLLERR) ? socket_error(ep->fd) : 0;
			ep_disconnected(r, ep, err, false);
		} else {
			ep_disconnected(r, ep, -res, false);
		}
		break;
	case RD_OP_CLOSE_FD:
		r->fds_open--;
		break;
	default:
		break;
	}
	ep_maybe_reap_zombie(r, ep);
}

static void handle_cqe(struct redial *r, uint64_t ud, int res)
{
	enum rd_op op = rd_ud_op(ud);
	r->inflight--;
	if (op >= RD_OP_TIMEOUT && op <= RD_OP_ATTEMPT_LAST) {
		handle_attempt_cqe(r, op, rd_ud_gen(ud), rd_ud_idx(ud), res);
	} else if (op >= RD_OP_POLL && op <= RD_OP_CLOSE_FD) {
		handle_endpoint_cqe(r, op, rd_ud_gen(ud), rd_ud_idx(ud), res);
	} else if (op == RD_OP_WAKE) {
		r->wake_inflight = false;
		r->wake_armed_ns = UINT64_MAX;
	} else if (op == RD_OP_WAKE_UPDATE) {
		r->wake_update_inflight = false;
	} else if (op == RD_OP_DNS_POLL || op == RD_OP_DNS_POLL_REMOVE) {
		rd_dns_cqe(r, op == RD_OP_DNS_POLL_REMOVE, rd_ud_gen(ud), rd_ud_idx(ud), res);
	} else {
		r->stale_cqes++;
	}
}

/* Reaps one batch of CQEs; returns how many. Leaves room in the event queue for the
 * events they may raise (at most 3 each). */
static unsigned reap_batch(struct redial *r)
{
	struct io_uring_cqe *cqes[RD_BATCH];
	uint32_t room = (r->evq_cap - r->nevq) / 3;
	if (room == 0)
		return 0;
	if (IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
		r->cq_overflows++;
	unsigned n = io_uring_peek_batch_cqe(&r->ring, cqes, room < RD_BATCH ? room : RD_BATCH);
	for (unsigned i = 0; i < n; i++)
		handle_cqe(r, cqes[i]->user_data, cqes[i]->res);
	io_uring_cq_advance(&r->ring, n);
	r->cqes += n;
	return n;
}

/* ---- the loop ---------------------------------------------------------------------------- */

/* One iteration. wait_ns: 0 = don't block. Returns events delivered, or -errno. */
static int loop_once(struct redial *r, uint64_t wait_ns)
{
	if (r->efd >= 0) {
		/* Reset the application's wakeup before reaping: whatever completes after this
		 * signals it again. Empty (EAGAIN) is the common case. */
		uint64_t v;
		(void)!read(r->efd, &v, sizeof(v));
	}
	r->now = rd_clock_ns();
	rd_dns_tick(r);
	rd_dns_settle(r);
	service_timers(r);
	pump(r);

	int ret;
	if (wait_ns && !io_uring_cq_ready(&r->ring) && !r->nevq && !r->stop) {
		struct __kernel_timespec ts = rd_ts(wait_ns);
		struct io_uring_cqe *cqe;
		ret = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
	} else {
		ret = io_uring_submit_and_get_events(&r->ring);
	}
	r->submits++;
	if (ret < 0) {
		switch (ret) {
		case -ETIME:
		case -EINTR:
			break;
		case -EBUSY: /* CQ overflow not yet flushed: reaping below makes room */
		case -EAGAIN:
			break;
		case -EBADR:
			/* The kernel could not keep an overflowed completion. Whatever it was is
			 * lost; count it so that shutdown knows why something never drains. */
			r->lost_cqes++;
			break;
		default:
			return ret;
		}
	}

	int delivered = 0;
	for (;;) {
		r->now = rd_clock_ns();
		unsigned got = reap_batch(r);
		rd_dns_settle(r);
		delivered += dispatch(r);
		if (!got || r->stop)
			break;
	}
	return delivered;
}

/* Before control goes back to the application: whatever the last pass queued (a watch for
 * a new connection, the next chain, the wake timer) goes to the kernel now, so that an
 * application waiting on redial_fd() is woken by it rather than left waiting for us. */
static void flush(struct redial *r)
{
	r->now = rd_clock_ns();
	service_timers(r);
	pump(r);
	int ret = io_uring_submit(&r->ring);
	if (ret > 0)
		r->submits++;
	/* -EBUSY/-EAGAIN: the SQEs stay in the ring for the next pass, nothing is lost. */
}

static int ensure_owner(struct redial *r)
{
	if (r->in_run || r->in_dispatch)
		return -EBUSY;
	return rd_ring_enable(r);
}

int redial_run(redial_t *r, uint64_t timeout_ns)
{
	if (!r)
		return -EINVAL;
	int ret = ensure_owner(r);
	if (ret < 0)
		return ret;
	r->in_run = true;
	r->stop = false;
	uint64_t start = rd_clock_ns();
	uint64_t deadline = timeout_ns == UINT64_MAX || start + timeout_ns < start
				    ? UINT64_MAX
				    : start + timeout_ns;
	int delivered = 0;
	/* Events kept back by an earlier redial_stop come first. */
	delivered += dispatch(r);
	for (;;) {
		uint64_t now = rd_clock_ns();
		uint64_t wait = deadline == UINT64_MAX ? REDIAL_SEC(3600)
			       : deadline > now       ? deadline - now
						      : 0;
		ret = loop_once(r, wait);
		if (ret < 0) {
			r->in_run = false;
			return ret;
		}
		delivered += ret;
		if (r->stop || wait == 0 || rd_clock_ns() >= deadline)
			break;
	}
	flush(r);
	r->in_run = false;
	r->stop = false;
	return delivered;
}

int redial_poll(redial_t *r)
{
	return redial_run(r, 0);
}

void redial_stop(redial_t *r)
{
	if (r)
		r->stop = true;
}

/* An eventfd registered with the ring, made on first use. The ring fd itself would do
 * without DEFER_TASKRUN, but with it the kernel queues completions as task work for the
 * owning thread and wakes nobody sleeping in epoll on the ring fd; an eventfd it signals. */
int redial_fd(redial_t *r)
{
	if (!r)
		return -EINVAL;
	if (r->efd >= 0)
		return r->efd;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	int ret = io_uring_register_eventfd(&r->ring, fd);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	r->efd = fd;
	return fd;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void free_tables(struct redial *r)
{
	/* Before the tables are initialised their fds read as 0: close nothing then. */
	if (r->eps && r->tables_ready) {
		for (uint32_t i = 0; i < r->neps; i++) {
			struct rd_endpoint *ep = &r->eps[i];
			if (ep->fd >= 0)
				close(ep->fd);
			if (ep->close_fd >= 0)
				close(ep->close_fd);
			opts_put(ep->opts);
			rd_free(ep->err_more);
			if (ep->name) { /* the resolver is gone already: just the memory */
				rd_free(ep->name->addrs);
				rd_free(ep->name);
			}
		}
	}
	if (r->att && r->tables_ready) {
		for (uint32_t i = 0; i < r->natt; i++)
			if (r->att[i].raw_fd >= 0)
				close(r->att[i].raw_fd);
	}
	opts_put(r->last_opts);
	if (r->efd >= 0)
		close(r->efd);
	rd_free(r->eps);
	rd_free(r->att);
	rd_free(r->attq);
	rd_free(r->evq);
}

int redial_create(const struct redial_config *ucfg, redial_t **ret_r)
{
	rd_set_create_error("%s", "");
	if (!ret_r) {
		rd_set_create_error("ret_r is NULL");
		return -EINVAL;
	}
	struct redial_config cfg;
	redial_config_init(&cfg);
	if (ucfg && copy_sized(&cfg, sizeof(cfg), ucfg, ucfg->size) < 0) {
		rd_set_create_error("config: bad size %zu (use redial_config_init)", ucfg->size);
		return -EINVAL;
	}
	if (cfg.max_endpoints == 0 || cfg.max_endpoints > (1u << 31)) {
		rd_set_create_error("config: max_endpoints %u out of range 1-2^31",
				    cfg.max_endpoints);
		return -EINVAL;
	}
	if (cfg.sq_entries == 0 || cfg.sq_entries > 32768) {
		rd_set_create_error("config: sq_entries %u out of range 1-32768", cfg.sq_entries);
		return -EINVAL;
	}
	if (cfg.sq_entries < 8) /* one chain plus its cancel must fit */
		cfg.sq_entries = 8;
	if (cfg.cq_entries == 0)
		cfg.cq_entries = cfg.sq_entries * 8;
	if (cfg.prearm_ns > REDIAL_SEC(10)) {
		rd_set_create_error("config: prearm_ns above 10 s");
		return -EINVAL;
	}
	if (cfg.dns_timeout_ns < REDIAL_MSEC(1) || cfg.dns_timeout_ns > REDIAL_SEC(600)) {
		rd_set_create_error("config: dns_timeout_ns out of range 1 ms - 600 s");
		return -EINVAL;
	}
	if (cfg.happy_eyeballs_delay_ns > REDIAL_SEC(10)) {
		rd_set_create_error("config: happy_eyeballs_delay_ns above 10 s");
		return -EINVAL;
	}
	struct redial_endpoint_opts defs;
	char msg[160];
	int ret = 0;
	if (cfg.endpoint_defaults)
		ret = opts_load(&defs, cfg.endpoint_defaults, msg, sizeof(msg));
	else
		redial_endpoint_opts_init(&defs);
	if (ret < 0) {
		rd_set_create_error("config: %s", msg);
		return ret;
	}
	cfg.endpoint_defaults = NULL; /* the caller's; our copy is r->defaults */

	/* Every attempt in flight holds a direct descriptor, and the kernel bounds those by
	 * RLIMIT_NOFILE; connected sockets need regular fds from the same budget. */
	struct rlimit rl;
	uint64_t nofile = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		nofile = rl.rlim_cur;
	uint32_t natt = cfg.max_connecting;
	if (natt == 0)
		natt = (uint32_t)(nofile / 2 < 4096 ? nofile / 2 : 4096);
	if (natt > nofile)
		natt = (uint32_t)nofile;
	if (natt == 0)
		natt = 1;
	cfg.max_connecting = natt;

	struct redial *r = rd_calloc(1, sizeof(*r));
	if (!r) {
		rd_set_create_error("out of memory");
		return -ENOMEM;
	}
	r->cfg = cfg;
	r->defaults = defs;
	r->neps = cfg.max_endpoints;
	r->natt = natt;
	r->evq_cap = 4 * RD_BATCH;
	r->ring.ring_fd = -1;
	r->efd = -1;
	r->eps = rd_calloc(r->neps, sizeof(*r->eps));
	r->att = rd_calloc(r->natt, sizeof(*r->att));
	r->attq = rd_calloc(r->natt, sizeof(*r->attq));
	r->evq = rd_calloc(r->evq_cap, sizeof(*r->evq));
	if (!r->eps || !r->att || !r->attq || !r->evq) {
		rd_set_create_error("out of memory for %u endpoints", r->neps);
		ret = -ENOMEM;
		goto fail;
	}
	/* Free lists in index order, so that low slots are used first. */
	for (uint32_t i = 0; i < r->neps; i++) {
		struct rd_endpoint *ep = &r->eps[i];
		ep->gen = 1;
		ep->fd = ep->close_fd = -1;
		ep->attempt = RD_NONE;
		ep->opq_next = i + 1 < r->neps ? i + 1 : RD_NONE;
	}
	r->ep_free = 0;
	r->opq_head = r->opq_tail = RD_NONE;
	for (uint32_t i = 0; i < r->natt; i++) {
		r->att[i].ep = RD_NONE;
		r->att[i].raw_fd = -1;
		r->att[i].next_free = i + 1 < r->natt ? i + 1 : RD_NONE;
	}
	r->att_free = 0;
	r->tables_ready = true;
	r->t0 = rd_clock_ns();
	r->now = r->t0;
	rd_wheel_init(&r->wheel, 0);
	rd_tlist_init(&r->readyq);
	r->wake_armed_ns = UINT64_MAX;

	uint64_t seed = cfg.seed;
	if (!seed && getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = r->t0 ^ (uint64_t)getpid() << 32;
	redial_rng_seed(&r->rng, seed);

	ret = rd_ring_setup(r);
	if (ret < 0)
		goto fail;
	if (cfg.dns_servers) {
		/* Set up now, so that a bad server list fails here, by name. */
		ret = rd_dns_init(r, msg, sizeof(msg));
		r->cfg.dns_servers = NULL; /* copied into the resolver; not the caller's to keep */
		if (ret < 0) {
			rd_set_create_error("config: %s", msg);
			goto fail;
		}
	}
	*ret_r = r;
	return 0;
fail:
	rd_dns_free(r);
	rd_ring_teardown(r);
	free_tables(r);
	rd_free(r);
	return ret;
}

/* Stops everything an endpoint has going, without any event. */
static void ep_stop(struct redial *r, struct rd_endpoint *ep)
{
	ep_unschedule(r, ep);
	ep_abandon_attempts(r, ep);
	rd_dns_unwait(r, ep);
	if (ep->name)
		ep->name->next = ep->name->naddrs;
	if (ep->fd >= 0)
		ep_close_conn(r, ep, true);
	ep->epoch++;
}

static bool ep_active(const struct rd_endpoint *ep)
{
	return ep->state == REDIAL_STATE_CONNECTING || ep->state == REDIAL_STATE_CONNECTED ||
	       ep->state == REDIAL_STATE_BACKOFF;
}

static void ep_cancel(struct redial *r, struct rd_endpoint *ep)
{
	ep_stop(r, ep);
	ep_set_state(r, ep, REDIAL_STATE_CANCELLED);
	ep->mark_ns = rd_clock_ns();
	if (r->cfg.log)
		rd_log_cancelled(r->cfg.log, ep->mark_ns, ep_id(r, ep));
	ev_deliver_now(r, ep, REDIAL_EV_CANCELLED);
}

int redial_shutdown(redial_t *r, uint64_t timeout_ns)
{
	if (!r)
		return -EINVAL;
	if (r->in_run || r->in_dispatch)
		return -EBUSY;
	uint64_t deadline = rd_clock_ns() + timeout_ns;
	if (deadline < timeout_ns)
		deadline = UINT64_MAX;
	for (uint32_t i = 0; i < r->neps; i++) {
		struct rd_endpoint *ep = &r->eps[i];
		if ((ep->flags & RD_EPF_LIVE) &&
		    (ep_active(ep) || ep->state == REDIAL_STATE_IDLE))
			ep_cancel(r, ep);
	}
	rd_dns_cancel_all(r);
	rd_dns_settle(r);
	if (!r->enabled)
		return 0; /* nothing was ever submitted */
	int ret = rd_ring_enable(r);
	if (ret < 0)
		return ret;
	r->wake_remove = true;
	r->in_run = true;
	while (r->inflight || r->attq_len || r->opq_head != RD_NONE) {
		uint64_t now = rd_clock_ns();
		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		uint64_t wait = deadline - now;
		if (wait > REDIAL_MSEC(100))
			wait = REDIAL_MSEC(100);
		ret = loop_once(r, wait);
		if (ret < 0)
			break;
		ret = 0;
	}
	r->in_run = false;
	r->wake_remove = false;
	return ret;
}

void redial_destroy(redial_t *r)
{
	if (!r)
		return;
	if (r->ring_ok && !r->in_dispatch && !r->in_run)
		(void)redial_shutdown(r, RD_DESTROY_DEADLINE_NS);
	rd_dns_free(r);
	rd_ring_teardown(r);
	free_tables(r);
	rd_free(r);
}

/* ---- endpoint API ------------------------------------------------------------------------ */

/* Adds an endpoint for an address (sa) or a name (host, port). */
static int add_common(struct redial *r, const struct sockaddr *sa, socklen_t len,
		      const char *host, uint16_t port, const struct redial_endpoint_opts *uopts,
		      const char *text, redial_id_t *ret_id, char *errbuf, size_t errlen)
{
	struct redial_endpoint_opts o;
	int ret = opts_load(&o, uopts ? uopts : &r->defaults, errbuf, errlen);
	if (ret < 0)
		return ret;
	if (r->ep_free == RD_NONE) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "endpoint table full (%u)", r->neps);
		return -ENOSPC;
	}
	if (host) {
		char msg[160] = "";
		ret = rd_dns_init(r, msg, sizeof(msg));
		if (ret < 0) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "%s", msg);
			return ret;
		}
	}
	struct rd_opts *opts = opts_get(r, &o);
	if (!opts)
		return -ENOMEM;

	struct rd_endpoint *ep = &r->eps[r->ep_free];
	if (host && (ret = rd_dns_attach(r, ep, host, port)) < 0) {
		opts_put(opts);
		return ret;
	}
	r->ep_free = ep->opq_next;
	ep->opq_next = RD_NONE;
	if (sa)
		memcpy(&ep->addr, sa, len);
	ep->opts = opts;
	ep->user = o.user;
	ep->flags = RD_EPF_LIVE;
	ep->state = REDIAL_STATE_IDLE;
	r->by_state[REDIAL_STATE_IDLE]++;
	r->live++;
	r->now = rd_clock_ns();
	ep->mark_ns = r->now;
	if (r->cfg.log) {
		char buf[REDIAL_ENDPOINT_MAX + 1];
		if (!text) {
			int n = redial_endpoint_format(sa, buf, sizeof(buf));
			text = n > 0 ? buf : "";
		}
		rd_log_endpoint_added(r->cfg.log, r->now, ep_id(r, ep), text, strlen(text));
	}
	if (!(o.flags & REDIAL_EP_START_IDLE)) {
		ep_schedule(r, ep, r->now);
		ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
	}
	*ret_id = ep_id(r, ep);
	return 0;
}

int redial_endpoint_add(redial_t *r, const char *endpoint, const struct redial_endpoint_opts *opts,
			redial_id_t *ret_id, char *errbuf, size_t errlen)
{
	if (!r || !ret_id)
		return -EINVAL;
	struct sockaddr_storage ss;
	socklen_t len;
	int ret = redial_endpoint_parse(endpoint, &ss, &len, errbuf, errlen);
	if (ret == -ENOTSUP) {
		char host[256];
		uint16_t port;
		ret = rd_endpoint_parse_name(endpoint, host, sizeof(host), &port, errbuf, errlen);
		if (ret < 0)
			return ret;
		return add_common(r, NULL, 0, host, port, opts, endpoint, ret_id, errbuf, errlen);
	}
	if (ret < 0)
		return ret;
	return add_common(r, (struct sockaddr *)&ss, len, NULL, 0, opts, endpoint, ret_id, errbuf,
			  errlen);
}

int redial_endpoint_add_addr(redial_t *r, const struct sockaddr *sa, socklen_t len,
			     const struct redial_endpoint_opts *opts, redial_id_t *ret_id)
{
	if (!r || !sa || !ret_id)
		return -EINVAL;
	if (!((sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
	      (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))))
		return -EAFNOSUPPORT;
	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	if (sin->sin_port == 0)
		return -EINVAL;
	return add_common(r, sa, len, NULL, 0, opts, NULL, ret_id, NULL, 0);
}

int redial_endpoint_start(redial_t *r, redial_id_t id)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (ep_active(ep))
		return -EALREADY;
	r->now = rd_clock_ns();
	ep->streak = 0;
	ep->level = 0;
	ep->prev_delay_ns = 0;
	ep->gave_up = REDIAL_GAVE_UP_NONE;
	ep->epoch++;
	ep->mark_ns = r->now;
	ep_schedule(r, ep, r->now);
	ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
	return 0;
}

int redial_endpoint_cancel(redial_t *r, redial_id_t id)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (!ep_active(ep) && ep->state != REDIAL_STATE_IDLE)
		return -EALREADY;
	ep_cancel(r, ep);
	return 0;
}

int redial_endpoint_remove(redial_t *r, redial_id_t id)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (ep_active(ep))
		ep_cancel(r, ep);
	/* The callback may have removed it already. */
	if (!(ep->flags & RD_EPF_LIVE) || ep->gen != (uint32_t)(id >> 32))
		return 0;
	if (ep_active(ep)) /* restarted from the CANCELLED callback: stop it again */
		ep_stop(r, ep);
	if (r->cfg.log)
		rd_log_endpoint_removed(r->cfg.log, rd_clock_ns(), id);
	r->by_state[ep->state]--;
	r->live--;
	ep->flags = (uint8_t)((ep->flags & ~RD_EPF_LIVE) | RD_EPF_ZOMBIE);
	ep->epoch++;
	ep->gen++;
	if (ep->gen == 0)
		ep->gen = 1;
	ep_maybe_reap_zombie(r, ep);
	return 0;
}

int redial_endpoint_release(redial_t *r, redial_id_t id, unsigned flags, int *ret_fd)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (!ret_fd)
		return -EINVAL;
	if (ep->state != REDIAL_STATE_CONNECTED)
		return -ENOTCONN;
	int fd = ep->fd;
	ep_unwatch(r, ep);
	ep->fd = -1;
	ep->conn_seq = (ep->conn_seq + 1) & 0xffffffu;
	r->fds_open--;
	r->now = rd_clock_ns();
	ep->streak = 0;
	ep->level = 0;
	ep->prev_delay_ns = 0;
	ep->mark_ns = r->now;
	if (flags & REDIAL_RELEASE_RECONNECT) {
		ep_schedule(r, ep, r->now);
		ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
	} else {
		ep_set_state(r, ep, REDIAL_STATE_IDLE);
	}
	*ret_fd = fd;
	return 0;
}

int redial_endpoint_fail(redial_t *r, redial_id_t id, int err)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (err <= 0)
		return -EINVAL;
	if (ep->state != REDIAL_STATE_CONNECTED)
		return -ENOTCONN;
	r->now = rd_clock_ns();
	ep_disconnected(r, ep, err, true);
	return 0;
}

int redial_endpoint_stats_get(redial_t *r, redial_id_t id, struct redial_endpoint_stats *ret_stats)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (!ret_stats || ret_stats->size < sizeof(size_t))
		return -EINVAL;
	struct redial_endpoint_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.state = (enum redial_state)ep->state;
	s.attempts = ep->attempts;
	s.connects = ep->connects;
	s.failures = ep->failures;
	s.disconnects = ep->disconnects;
	s.local_errors = ep->local_errors;
	s.streak = ep->streak;
	s.last_error = ep->last_error;
	s.last_class = (enum redial_class)ep->last_class;
	s.gave_up = (enum redial_gave_up_reason)ep->gave_up;
	s.fd = ep->fd;
	s.user = ep->user;
	size_t n = ret_stats->size < sizeof(s) ? ret_stats->size : sizeof(s);
	memcpy(ret_stats, &s, n);
	ret_stats->size = n;
	return 0;
}

int redial_endpoint_errors(redial_t *r, redial_id_t id, struct redial_errno_count *out, size_t cap)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (cap && !out)
		return -EINVAL;
	int n = 0;
	for (unsigned i = 0; i < RD_EP_INLINE_ERRS && ep->errs[i].count; i++, n++) {
		if ((size_t)n < cap) {
			out[n].err = ep->errs[i].err;
			out[n].count = ep->errs[i].count;
		}
	}
	for (unsigned i = 0; i < ep->nerr_more; i++, n++) {
		if ((size_t)n < cap) {
			out[n].err = ep->err_more[i].err;
			out[n].count = ep->err_more[i].count;
		}
	}
	return n;
}

int redial_endpoint_name(redial_t *r, redial_id_t id, char *buf, size_t len)
{
	struct rd_endpoint *ep = r ? ep_lookup(r, id) : NULL;
	if (!ep)
		return -ENOENT;
	if (ep->name) {
		int n = snprintf(buf, len, "%s:%u", ep->name->n->name, ntohs(ep->name->port));
		return n < 0 ? -EINVAL : (size_t)n >= len ? -ENOSPC : n;
	}
	return redial_endpoint_format(&ep->addr.sa, buf, len);
}

int redial_stats_get(redial_t *r, struct redial_stats *ret_stats)
{
	if (!r || !ret_stats || ret_stats->size < sizeof(size_t))
		return -EINVAL;
	struct redial_stats s;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.endpoints = r->live;
	memcpy(s.by_state, r->by_state, sizeof(r->by_state));
	s.attempts = r->attempts;
	s.connects = r->connects;
	s.failures = r->failures;
	s.disconnects = r->disconnects;
	s.gave_up = r->gave_up;
	s.local_errors = r->local_errors;
	s.inflight_ops = r->inflight;
	s.attempts_inflight = r->att_used;
	s.fds_open = r->fds_open;
	s.submits = r->submits;
	s.sqes = r->sqes;
	s.cqes = r->cqes;
	s.cq_overflows = r->cq_overflows;
	s.sq_full = r->sq_full;
	s.lost_cqes = r->lost_cqes;
	s.throttles = r->throttles;
	s.kernel_cancels = r->kernel_cancels;
	s.ring_flags = r->setup_flags;
	s.ring_features = r->features;
	s.fd_install = r->fd_install;
	s.stale_cqes = r->stale_cqes;
	s.events_lost = r->events_lost;
	size_t n = ret_stats->size < sizeof(s) ? ret_stats->size : sizeof(s);
	memcpy(ret_stats, &s, n);
	ret_stats->size = n;
	return 0;
}
