/* launch.c — starting an endpoint's next attempt, and the Happy Eyeballs race of a NAME
 * endpoint's addresses. */
#include "launch.h"

#include "attempt.h"
#include "dns.h"
#include "endpoint.h"

#define RD_MIN_ADDR_TIMEOUT_NS REDIAL_MSEC(10) /* floor of one address's deadline share */

/* A NAME endpoint's cycle: its share of the connect deadline for the next address. */
static uint64_t cycle_timeout(const struct redial *r, const struct rd_endpoint *ep)
{
	const struct rd_cycle *c = &rd_ep_name(r, ep)->cyc;
	uint64_t start = ep->due_ns > r->now ? ep->due_ns : r->now;
	uint64_t remaining = c->deadline_ns > start ? c->deadline_ns - start : 0;
	uint32_t left = c->naddrs > c->next ? c->naddrs - c->next : 1;
	uint64_t t = remaining / left;
	return t < RD_MIN_ADDR_TIMEOUT_NS ? RD_MIN_ADDR_TIMEOUT_NS : t;
}

void rd_cycle_begin(struct redial *r, struct rd_endpoint *ep)
{
	uint64_t start = ep->due_ns > r->now ? ep->due_ns : r->now;
	struct rd_cycle *c = &rd_ep_name(r, ep)->cyc;
	c->next = 0;
	c->deadline_ns = start + rd_ep_opts(r, ep)->connect_timeout_ns;
}

/* Starts what a NAME endpoint's cycle has next: the next address in the free slot and, as
 * RFC 8305 asks, an address of the other family racing it after a head start. */
static bool start_addresses(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_cycle *c = &rd_ep_name(r, ep)->cyc;
	if (rd_ep_attempt(ep) == RD_NONE && c->next < c->naddrs) {
		if (!rd_attempt_start(r, ep, &c->addrs[c->next], cycle_timeout(r, ep), false, 0,
				      c->next))
			return false;
		c->next++;
	}
	if (c->racer == RD_NONE && rd_ep_attempt(ep) != RD_NONE && c->next < c->naddrs &&
	    c->addrs[c->next].sa.sa_family != r->att[rd_ep_attempt(ep)].addr.sa.sa_family &&
	    rd_attempt_start(r, ep, &c->addrs[c->next], cycle_timeout(r, ep), true,
			     r->cfg.happy_eyeballs_delay_ns, c->next))
		c->next++;
	return true;
}

int rd_launch(struct redial *r, struct rd_endpoint *ep)
{
	if (!rd_ep_name(r, ep)) {
		union rd_addr a;
		if (!rd_ep_addr(r, ep, &a))
			return -EDESTADDRREQ; /* cannot be: an address endpoint has its address */
		return rd_attempt_start(r, ep, &a, rd_ep_opts(r, ep)->connect_timeout_ns, false, 0,
					0);
	}
	struct rd_cycle *c = &rd_ep_name(r, ep)->cyc;
	if (c->next >= c->naddrs && rd_ep_attempt(ep) == RD_NONE && c->racer == RD_NONE) {
		/* A new cycle: fresh addresses first, from the cache or a query. */
		int ret = rd_dns_lookup(r, ep);
		if (ret == 0) {
			rd_ep_set_state(r, ep, REDIAL_STATE_CONNECTING);
			return 1; /* rd_dns_settle reports the answer */
		}
		if (ret < 0)
			return ret;
		rd_cycle_begin(r, ep);
	}
	return start_addresses(r, ep);
}
