/* events.h — what the application is told: events wait in a queue while CQEs are reaped
 * and are delivered afterwards, outside the reap loop; the log record of each event is
 * written at the moment it is delivered, from the same struct. */
#ifndef RD_EVENTS_H
#define RD_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"
#include "redial.h"
#include "sockaddr.h"

/* An event waiting for dispatch; dropped if the endpoint's epoch moved on meanwhile. */
struct rd_pending_event {
	struct redial_event ev;
	union rd_addr addr;         /* ev.addr points here (set at dispatch) when has_addr */
	bool has_addr;
	uint32_t ep;
	uint32_t epoch;
};

int rd_events_init(struct redial *r, uint32_t cap);
void rd_events_free(struct redial *r);

/* Queues an event about ep (fd -1, time r->now) and returns it for the caller to fill in.
 * Never fails: when the queue cannot grow the event goes to a sink and is counted lost. */
struct redial_event *rd_ev_queue(struct redial *r, struct rd_endpoint *ep,
				 enum redial_event_type type, const union rd_addr *addr);
/* Delivers an event at once (CANCELLED, from inside cancel/remove/shutdown). */
void rd_ev_deliver_now(struct redial *r, struct rd_endpoint *ep, enum redial_event_type type,
		       uint64_t mono_ns);
/* Delivers the queued events, oldest first, until the queue is empty or redial_stop was
 * called (the rest then waits for the next run). Returns how many were delivered. */
int rd_ev_dispatch(struct redial *r);
/* Events the queue can take before it has to grow. */
uint32_t rd_ev_room(const struct redial *r);

#endif
