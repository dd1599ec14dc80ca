/* ep_cold.h — the part of an endpoint that an idle or retrying IPv4 endpoint does not need,
 * kept out of line in one table per manager and named by a 32-bit index.
 *
 * Why: every byte of struct rd_endpoint is paid for each of 100k endpoints, and most of
 * them are IPv4 addresses that are idle, in backoff, or connecting. What only a NAME, TLS or
 * non-IPv4 endpoint needs, and what only a connection needs (its fd and the state of its
 * watch), and the counters that only a connection moves, live here. An endpoint gets its
 * record when it first needs one (added with a name, TLS or an IPv6 address; its first
 * connection; a restart after failures) and keeps it until its slot is freed. Records sit
 * in chunks that never move, so a pointer to one stays good while others come and go.
 * Index 0 names no record: a zeroed slot has none. Knows nothing of the endpoint table. */
#ifndef RD_EP_COLD_H
#define RD_EP_COLD_H

#include <stdint.h>

#include "sockaddr.h"

#define RD_COLD_CHUNK_BITS 6
#define RD_COLD_CHUNK (1u << RD_COLD_CHUNK_BITS)

struct rd_ep_name; /* dns.h */
struct rd_tls_ep;  /* tls.h */

struct rd_ep_cold {
	struct rd_ep_name *name;    /* NAME:PORT endpoints only */
	struct rd_tls_ep *tls;      /* TLS endpoints only (tls.h) */
	union rd_addr addr;         /* the endpoint's address when it is not IPv4 (an IPv4 one
				       is kept in the endpoint); family 0: none here */
	int32_t fd;                 /* connected fd, -1 otherwise */
	uint32_t opq_next;          /* connection-op queue link; the free list's when free */
	uint32_t conn_seq : 24;     /* tags POLL/CLOSE ops of one connection (24 bits: ud.h) */
	uint32_t ops : 8;           /* connection ops in flight (poll, poll remove) */
	uint32_t watch_seq : 24;    /* conn_seq of the armed watch */
	uint32_t want : 8;          /* enum rd_ep_want (endpoint.h) */
	uint32_t connects, disconnects;
	uint32_t fail_mark;         /* failures when it last went down: a CONNECTED event's
				       `attempt` counts the attempts since then */
};

/* Zeroed, it is an empty table. */
struct rd_coldtab {
	struct rd_ep_cold **chunk;  /* RD_COLD_CHUNK records each */
	uint32_t nchunks, chunk_cap;
	uint32_t used;              /* records ever handed out, index 0 included */
	uint32_t free;              /* first free record (through opq_next), 0: none */
	uint32_t live;              /* records held by endpoints */
};

/* A new record (fd -1, no connection op queued, zero counters): 0 or -ENOMEM. */
int rd_cold_alloc(struct rd_coldtab *t, uint32_t *ret_idx);
/* Gives a record back; takes 0. Its name and tls must have been let go of. */
void rd_cold_free(struct rd_coldtab *t, uint32_t idx);
/* Frees every chunk. */
void rd_coldtab_free(struct rd_coldtab *t);

/* The record idx names, NULL for 0. */
static inline struct rd_ep_cold *rd_cold_at(const struct rd_coldtab *t, uint32_t idx)
{
	if (!idx)
		return 0;
	return &t->chunk[idx >> RD_COLD_CHUNK_BITS][idx & (RD_COLD_CHUNK - 1)];
}

#endif
