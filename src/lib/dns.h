/* dns.h — name resolution for NAME:PORT endpoints: c-ares, driven by the manager's ring
 * (dns.c: names, cache, pacing and results; dns_ring.c: sockets and timeouts on the ring;
 * dns_state.h: the resolver's state they share).
 *
 * c-ares owns its UDP/TCP sockets; we learn about them through its socket-state callback and
 * watch each with a single-shot POLL_ADD on the ring, then hand readiness back with
 * ares_process_fd. Its query timeouts join the loop's wake timer. No thread, no
 * getaddrinfo, nothing that blocks the loop.
 *
 * Answers are cached per name for min(TTL, dns_cache_max_ttl_ns). Endpoints that need a name
 * whose answer is missing or stale wait on that name; one query serves them all.
 *
 * A burst of names is paced: a bounded number of names is in flight at once, spread over a
 * few c-ares channels (each its own UDP socket per server), and the rest wait in a FIFO
 * that answers drain (dns.c says why, with the numbers). Behind a server that has stopped
 * answering, a name that has waited a whole query timeout fails with DNS_TIMEOUT unsent.
 *
 * The resolver reports, it does not decide: rd_dns_settle hands each finished lookup back
 * as a struct rd_dns_result, and the loop gives it to policy (as attempt.c's rd_outcome). */
#ifndef RD_DNS_H
#define RD_DNS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "cycle.h"
#include "sockaddr.h"

struct redial;
struct rd_endpoint;

/* One name, shared by every endpoint that uses it. */
struct rd_dns;

struct rd_dns_name {
	struct rd_dns *owner;
	struct rd_dns_name *hnext;  /* hash chain */
	struct rd_dns_name *done_next;
	char *name;
	uint32_t hash;
	uint32_t refs;              /* endpoints using it */
	bool querying;              /* a lookup is under way: queued, or in flight on chan */
	bool queued;                /* waits in the FIFO for room (see dns.c, pacing) */
	bool on_done;
	uint8_t chan;               /* in flight: the channel that carries it */
	struct rd_dns_name *qprev, *qnext; /* the FIFO, while queued */
	int status;                 /* last answer: 0 or REDIAL_E_DNS_* */
	uint32_t ttl_s;
	uint64_t expires_ns;        /* answer usable until then */
	uint64_t query_start_ns;    /* when the lookup was asked for (queued time included) */
	union rd_addr *addrs;       /* RFC 8305 order: families interleaved, IPv6 first */
	uint32_t naddrs;
	uint32_t waiters;           /* endpoint index, list through rd_ep_name.wnext/wprev */
};

/* The name side of an endpoint (NULL for address endpoints). */
struct rd_ep_name {
	struct rd_dns_name *n;
	uint16_t port;              /* network order */
	bool in_list;               /* on n's waiter list */
	uint32_t wprev, wnext;
	uint64_t nx_since_ns;       /* first NXDOMAIN/NODATA of the current streak */
	struct rd_cycle cyc;        /* the addresses resolution gave, and their attempts */
};

/* Creates the resolver on first use. -errno, with the reason in errbuf. */
int rd_dns_init(struct redial *r, char *errbuf, size_t errlen);
void rd_dns_free(struct redial *r);

/* Gives an endpoint its name. */
int rd_dns_attach(struct redial *r, struct rd_endpoint *ep, const char *host, uint16_t port);
void rd_dns_detach(struct redial *r, struct rd_endpoint *ep);

/* Fresh addresses for a new cycle of ep: 1 when they are in ep->name->cyc now (cache),
 * 0 when ep waits for a query (rd_dns_settle reports the answer), -errno when none can be
 * had. */
int rd_dns_lookup(struct redial *r, struct rd_endpoint *ep);
/* Takes ep off its name's waiter list (cancel, remove). */
void rd_dns_unwait(struct redial *r, struct rd_endpoint *ep);

/* What a finished lookup tells one endpoint that waited for it. The endpoint is off its
 * name's waiter list already; with status 0 its cycle (ep->name->cyc) holds the fresh
 * addresses, with their port. */
struct rd_dns_result {
	uint32_t ep;          /* endpoint slot */
	int status;           /* 0, a REDIAL_E_DNS_* code, or a positive errno (ENOMEM) */
	uint64_t start_ns;    /* when the lookup was asked for */
};

/* The next result of a finished lookup: true with *ret_result filled, false (nothing
 * written) when none is left. The loop calls it until false at a safe point, outside
 * c-ares, and hands each result to policy; policy may run anything between two calls
 * (a cancelled waiter is simply not reported). Waiters of a cancelled lookup
 * (rd_dns_cancel_all) get no result. */
bool rd_dns_settle(struct redial *r, struct rd_dns_result *ret_result);
/* Cancels every query (waiters get no answer; used by shutdown). */
void rd_dns_cancel_all(struct redial *r);

#endif
