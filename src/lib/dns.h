/* dns.h — name resolution for NAME:PORT endpoints: c-ares, driven by the manager's ring.
 *
 * c-ares owns its UDP/TCP sockets; we learn about them through its socket-state callback and
 * watch each with a single-shot POLL_ADD on the ring, then hand readiness back with
 * ares_process_fd. Its query timeouts join the loop's wake timer. No thread, no
 * getaddrinfo, nothing that blocks the loop.
 *
 * Answers are cached per name for min(TTL, dns_cache_max_ttl_ns). Endpoints that need a name
 * whose answer is missing or stale wait on that name; one query serves them all. */
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
	bool querying;
	bool on_done;
	int status;                 /* last answer: 0 or REDIAL_E_DNS_* */
	uint32_t ttl_s;
	uint64_t expires_ns;        /* answer usable until then */
	uint64_t query_start_ns;
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

/* Loop hooks: run timeouts that are due, hand finished queries to their waiters, send the
 * POLL_ADD/POLL_REMOVE the sockets need, handle a poll CQE, and the next timeout. */
void rd_dns_tick(struct redial *r);
/* Finished queries reach their waiting endpoints through `done`, with status 0 (the
 * addresses are in ep->name->cyc), a REDIAL_E_DNS_* code or an errno, and the time the
 * query started. The resolver never calls into the engine any other way. */
typedef void (*rd_dns_done_fn)(struct redial *r, struct rd_endpoint *ep, int status,
			       uint64_t start_ns);
void rd_dns_settle(struct redial *r, rd_dns_done_fn done);
bool rd_dns_pump(struct redial *r, bool stopping);
void rd_dns_cqe(struct redial *r, bool remove, uint32_t seq, uint32_t fd, int res);
uint64_t rd_dns_next_ns(const struct redial *r);
/* Cancels every query (waiters get no answer; used by shutdown). */
void rd_dns_cancel_all(struct redial *r);

#endif
