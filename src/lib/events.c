/* events.c — the event queue and its delivery, which is also where events are logged. */
#include "events.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "log/log.h"
#include "clock.h"
#include "endpoint.h"

int rd_events_init(struct redial *r, uint32_t cap)
{
	r->evq = rd_calloc(cap, sizeof(*r->evq));
	if (!r->evq)
		return -ENOMEM;
	r->evq_cap = cap;
	return 0;
}

void rd_events_free(struct redial *r)
{
	rd_free(r->evq);
	r->evq = NULL;
}

uint32_t rd_ev_room(const struct redial *r)
{
	return r->evq_cap - r->nevq;
}

struct redial_event *rd_ev_queue(struct redial *r, struct rd_endpoint *ep,
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
	pe->ep = rd_ep_index(r, ep);
	pe->epoch = ep->epoch;
	pe->ev.type = type;
	pe->ev.id = rd_ep_id(r, ep);
	if (addr) {
		pe->addr = *addr;
		pe->has_addr = true;
	}
	pe->ev.fd = -1;
	pe->ev.cls = REDIAL_CLASS_NONE;
	pe->ev.mono_ns = r->now;
	return &pe->ev;
}

/* The single door every event goes through: the log record is written here, from the
 * struct the callback gets, so the log holds exactly the events the application saw. */
static void deliver(struct redial *r, const struct redial_event *ev)
{
	if (r->silent)
		return; /* destroyed from a callback: nothing more is told, nor logged */
	if (r->cfg.log)
		rd_log_event(r->cfg.log, ev);
	if (r->cfg.on_event)
		r->cfg.on_event(r, ev, r->cfg.event_user);
}

void rd_ev_deliver_now(struct redial *r, struct rd_endpoint *ep, enum redial_event_type type,
		       uint64_t mono_ns)
{
	struct redial_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.id = rd_ep_id(r, ep);
	ev.user = ep->user;
	union rd_addr buf;
	const union rd_addr *addr = rd_ep_addr(r, ep, &buf);
	if (addr) {
		ev.addr = &addr->sa;
		ev.addrlen = rd_addr_len(addr);
	}
	ev.fd = -1;
	ev.cls = REDIAL_CLASS_NONE;
	ev.mono_ns = mono_ns;
	bool was = r->in_dispatch;
	r->in_dispatch = true;
	deliver(r, &ev);
	r->in_dispatch = was;
}

int rd_ev_dispatch(struct redial *r)
{
	int n = 0;
	uint32_t i = 0;
	bool was = r->in_dispatch;
	r->in_dispatch = true;
	for (; i < r->nevq && !r->stop; i++) {
		struct rd_pending_event *pe = &r->evq[i];
		struct rd_endpoint *ep = &r->eps[pe->ep];
		/* Cancelled or removed since: no callback after cancel. The id check catches a
		 * slot freed and handed to a new endpoint within the same batch. */
		if (!(ep->flags & RD_EPF_LIVE) || ep->epoch != pe->epoch ||
		    pe->ev.id != rd_ep_id(r, ep))
			continue;
		/* A copy: the callback may queue events, and the queue may move. */
		struct redial_event ev = pe->ev;
		union rd_addr addr = pe->addr;
		if (pe->has_addr) {
			ev.addr = &addr.sa;
			ev.addrlen = rd_addr_len(&addr);
		}
		ev.user = ep->user;
		n++;
		deliver(r, &ev);
	}
	r->in_dispatch = was;
	/* redial_stop() mid-batch: keep the rest for the next run. */
	if (i < r->nevq)
		memmove(r->evq, r->evq + i, (r->nevq - i) * sizeof(*r->evq));
	r->nevq -= i;
	return n;
}
