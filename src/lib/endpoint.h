/* endpoint.h — the endpoint table: slots, ids and generations, states and their counts,
 * per-errno counters, and when each endpoint's next attempt is due (the timer wheel and
 * the ready queue). Everything above it names endpoints through this file. */
#ifndef RD_ENDPOINT_H
#define RD_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ep_cold.h"
#include "errtab.h"
#include "manager_state.h"
#include "optstab.h"
#include "redial.h"
#include "sockaddr.h"
#include "wheel.h"

#define RD_NONE UINT32_MAX
/* An id is generation << 32 | manager serial << 24 | slot (redial.h); RD_ID_SLOT_BITS and
 * RD_MAX_ENDPOINTS are in config.h, which checks max_endpoints against them. */
#define RD_ID_SLOT_MASK ((1u << RD_ID_SLOT_BITS) - 1)
/* The endpoints due (or nearly) whose chain is not submitted yet: a list on the wheel's
 * links (wheel.h), and the one rd_service_timers collects expired timers on. */
#define RD_READYQ RD_TL_USER(0)
#define RD_DUEQ RD_TL_USER(1)
_Static_assert(RD_MAX_ENDPOINTS <= RD_TL_MAX_ITEMS, "a wheel link names every slot");

struct redial;

enum rd_ep_flags {
	RD_EPF_LIVE = 1u << 0,    /* the slot holds an endpoint the user can name */
	RD_EPF_ZOMBIE = 1u << 1,  /* removed; the slot is freed when its ops drain */
	RD_EPF_READYQ = 1u << 2,  /* `link` is on the ready queue (else maybe on the wheel) */
	RD_EPF_OPQ = 1u << 3,     /* on the connection-op queue (connection.c) */
	RD_EPF_ADDR4 = 1u << 4,   /* the address is IPv4, in addr4/port4 (else in the cold
				     record, if any) */
	RD_EPF_SPARE = 1u << 5,   /* `att` is a parked socket, not a chain in flight */
};

/* Connection ops the pump still has to send (connection.c). */
enum rd_ep_want {
	RD_EW_WATCH = 1u << 0,    /* POLL_ADD on fd */
	RD_EW_UNWATCH = 1u << 1,  /* POLL_REMOVE of the watch tagged watch_seq */
};

/* An endpoint. Kept small: every byte is paid for each endpoint of a table that may hold
 * 100k of them (the goal: at most 128 bytes of memory per idle endpoint, all included).
 * Hence the 8-byte timer of 32-bit links (wheel.h), the options and the cold record by
 * 32-bit index (optstab.h, ep_cold.h: what only a NAME, TLS, non-IPv4 or connected
 * endpoint needs lives there), an IPv4 address inline as address and port, one slot for
 * the attempt in flight or the parked socket (never both), one inline errno counter
 * (errtab.h), the small enums in one byte, and the order (no padding). The times stay
 * 64-bit nanoseconds: backoff and the reported durations are exact.
 * Invariants (rd_ep_check asserts them in debug builds):
 *  - `link` is on the wheel or on the ready queue (RD_EPF_READYQ says which), or on neither,
 *    and only while the state is CONNECTING, BACKOFF or QUEUED (or FAILED waiting for its
 *    permanent-failure recheck);
 *  - CONNECTED exactly when the cold record's fd >= 0 (rd_ep_fd), and then nothing is
 *    scheduled and no attempt slot is held;
 *  - IDLE, FAILED and CANCELLED endpoints hold no attempt slot and no fd, and have nothing
 *    scheduled but that recheck;
 *  - an endpoint with neither a name, TLS, a non-IPv4 address, nor a connection so far
 *    (nor a restart after failures) has no cold record. */
struct rd_endpoint {
	struct rd_timer link;       /* wheel or ready queue */
	uint64_t due_ns;            /* when the next attempt may start; on the wheel, it says
				       when (endpoint.c) */
	uint64_t streak_start_ns;
	uint64_t prev_delay_ns;
	uint64_t mark_ns;           /* CONNECTED: when it came up; otherwise: when it went down */
	void *user;
	uint32_t gen;               /* bumped when the slot is freed: ids carry it */
	uint32_t epoch;             /* bumped on cancel/remove/start: stale queued events die */
	uint32_t att;               /* the attempt slot it holds: its chain in flight
				       (rd_ep_attempt), or with RD_EPF_SPARE the parked socket
				       of a failed chain, for its next attempt (rd_ep_spare);
				       RD_NONE: neither. The free list's link while free */
	uint32_t opts;              /* r->opts index (optstab.h): rd_ep_opts */
	uint32_t cold;              /* r->cold index (ep_cold.h), 0 while it needs none */
	uint32_t addr4;             /* RD_EPF_ADDR4: the address, IPv4 (network order) */
	uint16_t port4;             /* and its port (network order) */
	uint16_t last_error;
	uint32_t streak;            /* consecutive failed attempts */
	uint32_t level;             /* backoff level: failures and unstable drops since healthy */
	uint32_t attempts, failures, local_errors;
	struct rd_errcount err0;    /* the first errno seen, and its count; the others are
				       counted in r->errx (errtab.h) */
	uint8_t state : 4;          /* enum redial_state (REDIAL_STATE_SLOTS: 16 at most) */
	uint8_t last_class : 2;     /* enum redial_class */
	uint8_t gave_up : 2;        /* enum redial_gave_up_reason */
	uint8_t flags;              /* enum rd_ep_flags */
};
/* 100k endpoints must fit in 128 bytes each with the ring, the attempt table and the rest
 * (about 20 bytes each at 100k): a field added here must pay for itself elsewhere. */
_Static_assert(sizeof(struct rd_endpoint) <= 104, "struct rd_endpoint grew: see its comment");

/* An endpoint holds one attempt slot at most: its chain in flight, or the socket its last
 * chain left (attempt.c parks one only when the chain is over, and the next chain takes it
 * or closes it). A racer (cycle.h) is held by the cycle. */
static inline uint32_t rd_ep_attempt(const struct rd_endpoint *ep)
{
	return ep->flags & RD_EPF_SPARE ? RD_NONE : ep->att;
}
static inline uint32_t rd_ep_spare(const struct rd_endpoint *ep)
{
	return ep->flags & RD_EPF_SPARE ? ep->att : RD_NONE;
}
/* idx: a chain in flight, or RD_NONE: the endpoint holds no slot any more. */
static inline void rd_ep_set_attempt(struct rd_endpoint *ep, uint32_t idx)
{
	ep->att = idx;
	ep->flags &= (uint8_t)~RD_EPF_SPARE;
}
static inline void rd_ep_set_spare(struct rd_endpoint *ep, uint32_t idx)
{
	ep->att = idx;
	ep->flags |= RD_EPF_SPARE;
}

/* The options ep runs with. */
static inline const struct rd_opts *rd_ep_opts(const struct redial *r,
					      const struct rd_endpoint *ep)
{
	return rd_optstab_at(&r->opts, ep->opts);
}

/* ep's cold record (ep_cold.h), NULL while it has none; and what lives there. */
static inline struct rd_ep_cold *rd_ep_cold(const struct redial *r,
					    const struct rd_endpoint *ep)
{
	return rd_cold_at(&r->cold, ep->cold);
}
static inline struct rd_ep_name *rd_ep_name(const struct redial *r,
					    const struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	return c ? c->name : 0;
}
static inline struct rd_tls_ep *rd_ep_tls(const struct redial *r, const struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	return c ? c->tls : 0;
}
/* The connected fd, -1 when not CONNECTED. */
static inline int rd_ep_fd(const struct redial *r, const struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	return c ? c->fd : -1;
}

/* The table's slots and their free list. */
int rd_eps_init(struct redial *r, uint32_t n);
/* The slot the next rd_ep_alloc hands out (set up now if it never was), or RD_NONE when
 * the table is full. */
uint32_t rd_ep_free_slot(struct redial *r);

uint32_t rd_ep_index(const struct redial *r, const struct rd_endpoint *ep);
redial_id_t rd_ep_id(const struct redial *r, const struct rd_endpoint *ep);
/* The live endpoint an id names, or NULL. */
struct rd_endpoint *rd_ep_lookup(struct redial *r, redial_id_t id);
/* A free slot made live in IDLE, or NULL when the table is full. */
struct rd_endpoint *rd_ep_alloc(struct redial *r, uint32_t opts, void *user);
/* Makes a live endpoint a zombie: its id dies now, its slot once its ops drain. */
void rd_ep_kill(struct redial *r, struct rd_endpoint *ep);
/* Frees a zombie's slot once nothing of it is in flight. The resolver must be detached
 * and the TLS state freed (no name, no tls in its cold record) before. */
void rd_ep_maybe_reap(struct redial *r, struct rd_endpoint *ep);

void rd_ep_set_state(struct redial *r, struct rd_endpoint *ep, enum redial_state st);
bool rd_ep_active(const struct rd_endpoint *ep);
/* Counts err in the endpoint's per-errno counters. */
void rd_ep_count_err(struct redial *r, struct rd_endpoint *ep, int err);
/* redial_endpoint_errors: copies up to cap (errno, count) pairs, first errno first; returns
 * how many distinct errnos the endpoint has seen. */
int rd_ep_errors(const struct redial *r, const struct rd_endpoint *ep,
		 struct redial_errno_count *out, size_t cap);
/* The endpoint's cold record (ep_cold.h), made now when it has none. NULL when out of
 * memory (nothing changed then). */
struct rd_ep_cold *rd_ep_cold_need(struct redial *r, struct rd_endpoint *ep);
/* The endpoint's address (the last one tried, for a NAME endpoint) in *buf; NULL when it
 * has none. What an event about ep carries when no attempt is involved. */
const union rd_addr *rd_ep_addr(const struct redial *r, const struct rd_endpoint *ep,
				union rd_addr *buf);
/* Sets the endpoint's address. One that is not IPv4 needs the cold record, which every
 * endpoint that can meet one has (it was added with it, or it has a name): without one the
 * address stays as it was. */
void rd_ep_set_addr(struct redial *r, struct rd_endpoint *ep, const union rd_addr *a);

/* Scheduling. Waits shorter than the pre-arm horizon go to the ready queue (and into the
 * kernel chain as a TIMEOUT); longer ones wait on the wheel until they are that close, so
 * the kernel's timeout list stays short. */
void rd_ep_schedule(struct redial *r, struct rd_endpoint *ep, uint64_t due_ns);
void rd_ep_unschedule(struct redial *r, struct rd_endpoint *ep);
void rd_readyq_push(struct redial *r, struct rd_endpoint *ep);
/* Moves every endpoint whose wheel timer expired by r->now to the ready queue. */
void rd_service_timers(struct redial *r);
/* The wheel tick of a CLOCK_MONOTONIC time. */
uint64_t rd_tick_of(const struct redial *r, uint64_t ns);

#ifdef NDEBUG
static inline void rd_ep_check(const struct redial *r, const struct rd_endpoint *ep)
{
	(void)r;
	(void)ep;
}
#else
/* Asserts the invariants stated above struct rd_endpoint. */
void rd_ep_check(const struct redial *r, const struct rd_endpoint *ep);
#endif

#endif
