/* endpoint.c — the endpoint table: slots, ids, states, per-errno counters, scheduling. */
#include "endpoint.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"

/* The wheel tick an endpoint waits on the wheel for before it goes to the ready queue. */
static uint64_t wheel_tick(const struct redial *r, uint64_t due_ns)
{
	/* Without a pre-arm horizon (the default) an endpoint leaves the wheel at the first
	 * tick at or after its due time, so it is due when its chain starts and the chain
	 * needs no TIMEOUT head of its own: one wake timer per tick serves every endpoint due
	 * in it, where a head per chain armed (and fired) a kernel timer per attempt. With a
	 * horizon, the chain's TIMEOUT holds the last prearm_ns of the wait in the kernel. */
	if (!r->cfg.prearm_ns)
		return rd_tick_of(r, due_ns + RD_TICK_NS - 1);
	return rd_tick_of(r, due_ns - r->cfg.prearm_ns);
}

/* The wheel keeps no due tick of its own (wheel.h): it is derived from due_ns, which does
 * not change while the endpoint is on the wheel. */
static uint64_t link_due(uint32_t slot, void *ctx)
{
	const struct redial *r = ctx;
	return wheel_tick(r, r->eps[slot].due_ns);
}

int rd_eps_init(struct redial *r, uint32_t n)
{
	/* Zeroed pages cost nothing until written: slots are set up only when first handed
	 * out (rd_ep_free_slot), so a table sized for 65,536 endpoints that holds ten costs
	 * the memory of ten. */
	r->eps = rd_calloc(n, sizeof(*r->eps));
	if (!r->eps)
		return -ENOMEM;
	r->neps = n;
	r->ep_used = 0;
	r->ep_free = RD_NONE;
	r->opq_head = r->opq_tail = RD_NONE;
	rd_wheel_init(&r->wheel, 0, (char *)r->eps + offsetof(struct rd_endpoint, link),
		      sizeof(*r->eps), link_due, r);
	return 0;
}

uint32_t rd_ep_free_slot(struct redial *r)
{
	if (r->ep_free == RD_NONE && r->ep_used < r->neps) {
		struct rd_endpoint *ep = &r->eps[r->ep_used];
		ep->gen = 1;
		ep->att = RD_NONE; /* the free list's end */
		r->ep_free = r->ep_used++;
	}
	return r->ep_free;
}

uint32_t rd_ep_index(const struct redial *r, const struct rd_endpoint *ep)
{
	return (uint32_t)(ep - r->eps);
}

redial_id_t rd_ep_id(const struct redial *r, const struct rd_endpoint *ep)
{
	return ((uint64_t)ep->gen << 32) | ((uint64_t)r->serial << RD_ID_SLOT_BITS) |
	       rd_ep_index(r, ep);
}

struct rd_endpoint *rd_ep_lookup(struct redial *r, redial_id_t id)
{
	uint32_t idx = (uint32_t)id & RD_ID_SLOT_MASK;
	if (idx >= r->ep_used || (uint8_t)((uint32_t)id >> RD_ID_SLOT_BITS) != r->serial)
		return NULL;
	struct rd_endpoint *ep = &r->eps[idx];
	if (!(ep->flags & RD_EPF_LIVE) || ep->gen != (uint32_t)(id >> 32))
		return NULL;
	return ep;
}

struct rd_endpoint *rd_ep_alloc(struct redial *r, uint32_t opts, void *user)
{
	if (rd_ep_free_slot(r) == RD_NONE)
		return NULL;
	struct rd_endpoint *ep = &r->eps[r->ep_free];
	r->ep_free = ep->att;
	ep->att = RD_NONE;
	ep->opts = opts;
	ep->user = user;
	ep->flags = RD_EPF_LIVE;
	ep->state = REDIAL_STATE_IDLE;
	r->by_state[REDIAL_STATE_IDLE]++;
	r->live++;
	return ep;
}

void rd_ep_kill(struct redial *r, struct rd_endpoint *ep)
{
	r->by_state[ep->state]--;
	r->live--;
	ep->flags = (uint8_t)((ep->flags & ~RD_EPF_LIVE) | RD_EPF_ZOMBIE);
	ep->epoch++;
	ep->gen++;
	if (ep->gen == 0)
		ep->gen = 1;
	rd_ep_maybe_reap(r, ep);
}

static void ep_release_slot(struct redial *r, struct rd_endpoint *ep)
{
	assert(!rd_ep_name(r, ep) && !rd_ep_tls(r, ep));
	rd_optstab_put(&r->opts, ep->opts);
	rd_cold_free(&r->cold, ep->cold);
	rd_errtab_drop(&r->errx, rd_ep_index(r, ep));
	/* gen and epoch survive: events still queued for the old endpoint must not match
	 * the slot's next one. */
	uint32_t gen = ep->gen, epoch = ep->epoch;
	memset(ep, 0, sizeof(*ep));
	ep->gen = gen;
	ep->epoch = epoch;
	ep->att = r->ep_free;
	r->ep_free = rd_ep_index(r, ep);
}

void rd_ep_maybe_reap(struct redial *r, struct rd_endpoint *ep)
{
	const struct rd_ep_cold *c = rd_ep_cold(r, ep);
	if ((ep->flags & RD_EPF_ZOMBIE) && (!c || (c->ops == 0 && !c->want)) &&
	    !(ep->flags & RD_EPF_OPQ) && ep->att == RD_NONE)
		ep_release_slot(r, ep);
}

void rd_ep_set_state(struct redial *r, struct rd_endpoint *ep, enum redial_state st)
{
	if (ep->flags & RD_EPF_LIVE) {
		r->by_state[ep->state]--;
		r->by_state[st]++;
	}
	ep->state = (uint8_t)st;
}

bool rd_ep_active(const struct rd_endpoint *ep)
{
	return ep->state == REDIAL_STATE_CONNECTING || ep->state == REDIAL_STATE_CONNECTED ||
	       ep->state == REDIAL_STATE_BACKOFF || ep->state == REDIAL_STATE_QUEUED;
}

void rd_ep_count_err(struct redial *r, struct rd_endpoint *ep, int err)
{
	uint16_t e = (uint16_t)err;
	if (ep->err0.count == 0 || ep->err0.err == e) {
		ep->err0.err = e;
		ep->err0.count++;
		return;
	}
	/* Out of memory: this count is lost, and nothing else. */
	(void)rd_errtab_count(&r->errx, rd_ep_index(r, ep), e);
}

int rd_ep_errors(const struct redial *r, const struct rd_endpoint *ep,
		 struct redial_errno_count *out, size_t cap)
{
	if (!ep->err0.count)
		return 0;
	if (cap) {
		out[0].err = ep->err0.err;
		out[0].count = ep->err0.count;
	}
	uint32_t n;
	const struct rd_errcount *more = rd_errtab_get(&r->errx, rd_ep_index(r, ep), &n);
	for (uint32_t i = 0; i < n && 1 + (size_t)i < cap; i++) {
		out[1 + i].err = more[i].err;
		out[1 + i].count = more[i].count;
	}
	return 1 + (int)n;
}

struct rd_ep_cold *rd_ep_cold_need(struct redial *r, struct rd_endpoint *ep)
{
	if (!ep->cold && rd_cold_alloc(&r->cold, &ep->cold) < 0)
		return NULL;
	return rd_ep_cold(r, ep);
}

const union rd_addr *rd_ep_addr(const struct redial *r, const struct rd_endpoint *ep,
				union rd_addr *buf)
{
	if (ep->flags & RD_EPF_ADDR4) {
		memset(buf, 0, sizeof(*buf));
		buf->v4.sin_family = AF_INET;
		buf->v4.sin_addr.s_addr = ep->addr4;
		buf->v4.sin_port = ep->port4;
		return buf;
	}
	const struct rd_ep_cold *c = rd_ep_cold(r, ep);
	if (!c || !c->addr.sa.sa_family)
		return NULL;
	*buf = c->addr;
	return buf;
}

void rd_ep_set_addr(struct redial *r, struct rd_endpoint *ep, const union rd_addr *a)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	if (a->sa.sa_family == AF_INET) {
		ep->addr4 = a->v4.sin_addr.s_addr;
		ep->port4 = a->v4.sin_port;
		ep->flags |= RD_EPF_ADDR4;
		if (c)
			c->addr.sa.sa_family = AF_UNSPEC;
		return;
	}
	assert(c);
	if (!c)
		return;
	c->addr = *a;
	ep->flags &= (uint8_t)~RD_EPF_ADDR4;
	ep->addr4 = 0;
	ep->port4 = 0;
}

/* ---- scheduling ------------------------------------------------------------------------- */

uint64_t rd_tick_of(const struct redial *r, uint64_t ns)
{
	return ns <= r->t0 ? 0 : (ns - r->t0) / RD_TICK_NS;
}

void rd_readyq_push(struct redial *r, struct rd_endpoint *ep)
{
	ep->flags |= RD_EPF_READYQ;
	rd_tlist_push(&r->wheel, RD_READYQ, rd_ep_index(r, ep));
}

void rd_ep_unschedule(struct redial *r, struct rd_endpoint *ep)
{
	if (ep->flags & RD_EPF_READYQ) {
		rd_tlist_unlink(&r->wheel, rd_ep_index(r, ep));
		ep->flags &= (uint8_t)~RD_EPF_READYQ;
	} else {
		rd_wheel_del(&r->wheel, rd_ep_index(r, ep));
	}
}

void rd_ep_schedule(struct redial *r, struct rd_endpoint *ep, uint64_t due_ns)
{
	ep->due_ns = due_ns;
	if (due_ns > r->now + r->cfg.prearm_ns) {
		uint64_t tick = wheel_tick(r, due_ns);
		if (tick > r->wheel.now) {
			rd_wheel_add(&r->wheel, rd_ep_index(r, ep), tick);
			return;
		}
	}
	rd_readyq_push(r, ep);
}

void rd_service_timers(struct redial *r)
{
	rd_wheel_advance(&r->wheel, rd_tick_of(r, r->now), RD_DUEQ);
	uint32_t slot;
	while ((slot = rd_tlist_pop(&r->wheel, RD_DUEQ)) != RD_TL_NONE)
		rd_readyq_push(r, &r->eps[slot]);
}

#ifndef NDEBUG
void rd_ep_check(const struct redial *r, const struct rd_endpoint *ep)
{
	bool scheduled = rd_timer_armed(&ep->link);
	assert(!(ep->flags & RD_EPF_READYQ) || scheduled);
	/* A FAILED endpoint that gave up for a permanent reason may wait for its recheck. */
	bool recheck = ep->state == REDIAL_STATE_FAILED && ep->gave_up == REDIAL_GAVE_UP_PERMANENT;
	assert(!scheduled || ep->state == REDIAL_STATE_CONNECTING ||
	       ep->state == REDIAL_STATE_BACKOFF || ep->state == REDIAL_STATE_QUEUED || recheck);
	assert((ep->state == REDIAL_STATE_CONNECTED) == (rd_ep_fd(r, ep) >= 0));
	if (ep->state == REDIAL_STATE_CONNECTED)
		assert(ep->att == RD_NONE);
	if (!rd_ep_active(ep))
		assert((!scheduled || recheck) && ep->att == RD_NONE && rd_ep_fd(r, ep) < 0);
}
#endif
