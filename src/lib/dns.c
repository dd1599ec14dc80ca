/* dns.c — the resolver: names shared by endpoints and their cache, the pacing of lookups,
 * answers handed back as results, and its lifetime. Its sockets live in dns_ring.c. */
#include <ares.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "dns.h"
#include "dns_ring.h"
#include "dns_state.h"
#include "clock.h"
#include "endpoint.h"
#include "ring.h"

static void drain(struct rd_dns *d);

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void lib_init(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* ---- names -------------------------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void name_free(struct rd_dns *d, struct rd_dns_name *n)
{
	struct rd_dns_name **pp = &d->buckets[n->hash & (d->nbuckets - 1)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	d->nnames--;
	rd_free(n->addrs);
	rd_free(n->name);
	rd_free(n);
}

static int map_status(int status)
{
	switch (status) {
	case ARES_ENOTFOUND: return REDIAL_E_DNS_NXDOMAIN;
	case ARES_ENODATA: return REDIAL_E_DNS_NODATA;
	case ARES_ESERVFAIL: return REDIAL_E_DNS_SERVFAIL;
	case ARES_ETIMEOUT: return REDIAL_E_DNS_TIMEOUT;
	case ARES_EREFUSED: return REDIAL_E_DNS_REFUSED;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION: return -ECANCELED;
	default: return REDIAL_E_DNS_ERROR;
	}
}

/* Orders the answer as RFC 8305 section 4 asks: IPv6 first, then the families alternate. */
static int store_answer(struct rd_dns_name *n, const struct ares_addrinfo *ai)
{
	uint32_t n6 = 0, n4 = 0;
	int ttl = -1;
	for (const struct ares_addrinfo_node *a = ai ? ai->nodes : NULL; a; a = a->ai_next) {
		if (a->ai_family == AF_INET6)
			n6++;
		else if (a->ai_family == AF_INET)
			n4++;
		else
			continue;
		if (ttl < 0 || a->ai_ttl < ttl)
			ttl = a->ai_ttl;
	}
	if (n6 + n4 == 0)
		return REDIAL_E_DNS_NODATA;
	union rd_addr *v = rd_realloc(n->addrs, (n6 + n4) * sizeof(*v));
	if (!v)
		return REDIAL_E_DNS_ERROR;
	n->addrs = v;
	uint32_t i6 = 0, i4 = 0;
	for (const struct ares_addrinfo_node *a = ai->nodes; a; a = a->ai_next) {
		uint32_t slot;
		if (a->ai_family == AF_INET6) {
			slot = i6 < n4 ? 2 * i6 : n4 + i6; /* 0, 2, 4 ... then packed after */
			i6++;
		} else if (a->ai_family == AF_INET) {
			slot = i4 < n6 ? 2 * i4 + 1 : n6 + i4;
			i4++;
		} else {
			continue;
		}
		memset(&v[slot], 0, sizeof(v[slot]));
		memcpy(&v[slot], a->ai_addr,
		       a->ai_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	}
	n->naddrs = n6 + n4;
	n->ttl_s = ttl < 0 ? 0 : (uint32_t)ttl;
	return 0;
}

/* The lookup of n is over (status stored): its waiters are told at the next settle. */
static void name_finished(struct rd_dns *d, struct rd_dns_name *n)
{
	n->querying = false;
	if (n->refs == 0) {
		name_free(d, n);
		return;
	}
	/* Don't touch endpoints from inside c-ares: the engine settles at a safe point. */
	if (!n->on_done) {
		n->on_done = true;
		n->done_next = d->done;
		d->done = n;
	}
}

static void gai_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	(void)timeouts;
	struct rd_dns_name *n = arg;
	struct rd_dns *d = n->owner;
	d->chans[n->chan].inflight--;
	d->inflight--;
	n->status = status == ARES_SUCCESS ? store_answer(n, res) : map_status(status);
	if (n->status == 0) {
		uint64_t ttl_ns = (uint64_t)n->ttl_s * 1000000000ull;
		n->expires_ns = rd_clock_ns() + (ttl_ns < d->cache_cap_ns ? ttl_ns : d->cache_cap_ns);
	}
	ares_freeaddrinfo(res);
	if (status != ARES_ECANCELLED && status != ARES_EDESTRUCTION)
		d->silent = status == ARES_ETIMEOUT;
	name_finished(d, n);
	/* Refill from inside the callback, on the channel that just made room: c-ares closes
	 * a channel's sockets as soon as its last query ends (end_query, without STAYOPEN), so
	 * waiting until ares_process_fd returns would close and reopen a socket whenever a
	 * channel's answers all come in one read. c-ares allows it (its own getaddrinfo and
	 * search start queries from their callbacks). */
	drain(d);
}

static void fifo_push(struct rd_dns *d, struct rd_dns_name *n)
{
	n->queued = true;
	n->qnext = NULL;
	n->qprev = d->qtail;
	if (d->qtail)
		d->qtail->qnext = n;
	else
		d->qhead = n;
	d->qtail = n;
}

static void fifo_unlink(struct rd_dns *d, struct rd_dns_name *n)
{
	if (n->qprev)
		n->qprev->qnext = n->qnext;
	else
		d->qhead = n->qnext;
	if (n->qnext)
		n->qnext->qprev = n->qprev;
	else
		d->qtail = n->qprev;
	n->qprev = n->qnext = NULL;
	n->queued = false;
}

/* The pacing invariants (dns_state.h), checked inside assert(). */
static inline __attribute__((unused)) bool pacing_ok(const struct rd_dns *d)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < RD_DNS_CHANNELS; i++) {
		if (d->chans[i].inflight > RD_DNS_PER_CHAN)
			return false;
		sum += d->chans[i].inflight;
	}
	return sum == d->inflight && (!d->qhead) == (!d->qtail);
}

/* Sends n's queries on the channel with the fewest names in flight (there is room). */
static void send_query(struct rd_dns *d, struct rd_dns_name *n)
{
	uint32_t best = 0;
	for (uint32_t i = 1; i < RD_DNS_CHANNELS; i++)
		if (d->chans[i].inflight < d->chans[best].inflight)
			best = i;
	assert(d->chans[best].inflight < RD_DNS_PER_CHAN);
	n->chan = (uint8_t)best;
	d->chans[best].inflight++;
	d->inflight++;
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* We order the addresses ourselves (RFC 8305); c-ares' RFC 6724 sort would connect a
	 * UDP socket per address to learn source addresses. */
	hints.ai_flags = ARES_AI_NOSORT;
	/* May answer at once (/etc/hosts, a failure): gai_done then gives the room back. */
	ares_getaddrinfo(d->chans[best].ch, n->name, NULL, &hints, gai_done, n);
}

/* Starts queued names, oldest first, while there is room: when a lookup is asked for, and
 * when answers or timeouts make room. A query may answer at once (from /etc/hosts, or a
 * failure) and call back into drain(): that nested call returns, and this loop, which sees
 * the room, goes on; so the stack stays flat however many names answer at once. Nothing
 * starts while the channels are cancelled or destroyed: a query started from a cancelled
 * query's callback would outlive ares_cancel. */
static void drain(struct rd_dns *d)
{
	if (d->draining || d->stopping)
		return;
	d->draining = true;
	/* A server that has stopped answering would hold the FIFO to RD_DNS_INFLIGHT names per
	 * timeout: 5000 names at the default 2 s would wait minutes for their DNS_TIMEOUT. So
	 * once the last lookup to end timed out, a name that has already waited a whole
	 * timeout for room fails now as if its query had timed out too. A server that answers,
	 * however slowly, never fails a name that was not sent. */
	while (d->silent && d->qhead &&
	       d->r->now >= d->qhead->query_start_ns + d->r->cfg.dns_timeout_ns) {
		struct rd_dns_name *n = d->qhead;
		fifo_unlink(d, n);
		n->status = REDIAL_E_DNS_TIMEOUT;
		name_finished(d, n);
	}
	while (d->qhead && d->inflight < RD_DNS_INFLIGHT) {
		struct rd_dns_name *n = d->qhead;
		fifo_unlink(d, n);
		send_query(d, n);
	}
	d->draining = false;
	assert(pacing_ok(d) && (!d->qhead || d->inflight == RD_DNS_INFLIGHT));
}

static void start_query(struct rd_dns *d, struct rd_dns_name *n)
{
	n->querying = true;
	n->query_start_ns = d->r->now;
	fifo_push(d, n); /* behind the names asked for earlier */
	drain(d);
}

/* A name nobody waits for leaves the FIFO: its lookup would only warm the cache, and in a
 * burst of cancelled endpoints it would hold up the names still wanted. */
static void unqueue_unwanted(struct rd_dns *d, struct rd_dns_name *n)
{
	if (n->queued && n->waiters == RD_NONE) {
		fifo_unlink(d, n);
		n->querying = false;
	}
}

static void waiter_unlink(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_name *en = rd_ep_name(r, ep);
	if (!en->in_list)
		return;
	if (en->wprev != RD_NONE)
		rd_ep_name(r, &r->eps[en->wprev])->wnext = en->wnext;
	else
		en->n->waiters = en->wnext;
	if (en->wnext != RD_NONE)
		rd_ep_name(r, &r->eps[en->wnext])->wprev = en->wprev;
	en->wprev = en->wnext = RD_NONE;
	en->in_list = false;
}

void rd_dns_unwait(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_name *en = rd_ep_name(r, ep);
	if (!en)
		return;
	waiter_unlink(r, ep);
	unqueue_unwanted(r->dns, en->n);
}

/* Copies the name's answer into the endpoint, with its port. */
static int snapshot(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_name *en = rd_ep_name(r, ep);
	struct rd_dns_name *n = en->n;
	struct rd_cycle *c = &en->cyc;
	if (n->naddrs > c->cap) {
		union rd_addr *v = rd_realloc(c->addrs, n->naddrs * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->addrs = v;
		c->cap = n->naddrs;
	}
	memcpy(c->addrs, n->addrs, n->naddrs * sizeof(*c->addrs));
	for (uint32_t i = 0; i < n->naddrs; i++) {
		if (c->addrs[i].sa.sa_family == AF_INET6)
			c->addrs[i].v6.sin6_port = en->port;
		else
			c->addrs[i].v4.sin_port = en->port;
	}
	c->naddrs = n->naddrs;
	c->next = 0;
	return 0;
}

int rd_dns_lookup(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_dns *d = r->dns;
	struct rd_ep_name *en = rd_ep_name(r, ep);
	struct rd_dns_name *n = en->n;
	if (!n->querying && n->status == 0 && n->naddrs && r->now < n->expires_ns) {
		int ret = snapshot(r, ep);
		return ret < 0 ? ret : 1;
	}
	if (!en->in_list) {
		uint32_t idx = (uint32_t)(ep - r->eps);
		en->wprev = RD_NONE;
		en->wnext = n->waiters;
		if (n->waiters != RD_NONE)
			rd_ep_name(r, &r->eps[n->waiters])->wprev = idx;
		n->waiters = idx;
		en->in_list = true;
	}
	if (!n->querying)
		start_query(d, n);
	return 0;
}

bool rd_dns_settle(struct redial *r, struct rd_dns_result *ret_result)
{
	struct rd_dns *d = r->dns;
	if (!d)
		return false;
	struct rd_dns_name *n;
	while ((n = d->done)) {
		/* The name stays at the head (on_done, so never freed) until its last waiter is
		 * told: policy runs between two calls and may detach endpoints from it. A name
		 * asked for again in between (querying) keeps its waiters for that answer. */
		while (!n->querying && n->waiters != RD_NONE) {
			uint32_t idx = n->waiters;
			struct rd_endpoint *ep = &r->eps[idx];
			waiter_unlink(r, ep);
			if (n->status == -ECANCELED)
				continue;
			int status = n->status;
			if (status == 0) {
				int ret = snapshot(r, ep);
				if (ret < 0)
					status = -ret;
			}
			ret_result->ep = idx;
			ret_result->status = status;
			ret_result->start_ns = n->query_start_ns;
			return true;
		}
		d->done = n->done_next;
		n->on_done = false;
		if (n->refs == 0 && !n->querying)
			name_free(d, n);
	}
	return false;
}

void rd_dns_cancel_all(struct redial *r)
{
	struct rd_dns *d = r->dns;
	if (!d)
		return;
	/* The queued first: the channels' cancels below make room that must stay empty. */
	while (d->qhead) {
		struct rd_dns_name *n = d->qhead;
		fifo_unlink(d, n);
		n->status = -ECANCELED;
		name_finished(d, n);
	}
	d->stopping = true;
	for (uint32_t i = 0; i < RD_DNS_CHANNELS; i++)
		if (d->chans[i].inflight)
			ares_cancel(d->chans[i].ch); /* each ends in gai_done, ARES_ECANCELLED */
	d->stopping = false; /* the endpoints may be started again */
}

/* ---- endpoints ---------------------------------------------------------------------------- */

int rd_dns_attach(struct redial *r, struct rd_endpoint *ep, const char *host, uint16_t port)
{
	struct rd_dns *d = r->dns;
	char lower[256];
	size_t len = strlen(host);
	if (len >= sizeof(lower))
		return -EINVAL;
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)host[i]); /* names are case-blind */
	uint32_t h = name_hash(lower);
	struct rd_dns_name *n = d->buckets[h & (d->nbuckets - 1)];
	while (n && (n->hash != h || strcmp(n->name, lower) != 0))
		n = n->hnext;

	struct rd_ep_name *en = rd_calloc(1, sizeof(*en));
	if (!en)
		return -ENOMEM;
	if (!n) {
		n = rd_calloc(1, sizeof(*n));
		char *copy = rd_malloc(len + 1);
		if (!n || !copy) {
			rd_free(n);
			rd_free(copy);
			rd_free(en);
			return -ENOMEM;
		}
		memcpy(copy, lower, len + 1);
		n->name = copy;
		n->hash = h;
		n->owner = d;
		n->waiters = RD_NONE;
		n->hnext = d->buckets[h & (d->nbuckets - 1)];
		d->buckets[h & (d->nbuckets - 1)] = n;
		d->nnames++;
	}
	n->refs++;
	en->n = n;
	en->port = htons(port);
	en->wprev = en->wnext = RD_NONE;
	en->cyc.racer = RD_NONE;
	rd_ep_cold(r, ep)->name = en; /* the caller made the record */
	return 0;
}

void rd_dns_detach(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_name *en = rd_ep_name(r, ep);
	if (!en)
		return;
	waiter_unlink(r, ep);
	struct rd_dns_name *n = en->n;
	n->refs--;
	unqueue_unwanted(r->dns, n);
	if (n->refs == 0 && !n->querying && !n->on_done)
		name_free(r->dns, n);
	rd_free(en->cyc.addrs);
	rd_free(en);
	rd_ep_cold(r, ep)->name = NULL;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

/* Frees a resolver, whole or half-built (channels not made are NULL). Pending queries end in
 * gai_done with ARES_EDESTRUCTION, which frees the names nobody uses; the rest go here. */
static void dns_destroy(struct rd_dns *d)
{
	if (!d)
		return;
	d->stopping = true;
	for (uint32_t i = 0; i < RD_DNS_CHANNELS; i++)
		if (d->chans[i].ch)
			ares_destroy(d->chans[i].ch);
	for (uint32_t b = 0; d->buckets && b < d->nbuckets; b++) {
		struct rd_dns_name *n = d->buckets[b];
		while (n) {
			struct rd_dns_name *next = n->hnext;
			rd_free(n->addrs);
			rd_free(n->name);
			rd_free(n);
			n = next;
		}
	}
	rd_free(d->buckets);
	rd_free(d->socks);
	rd_free(d);
}

/* One channel, with the manager's servers. -errno, with the reason in errbuf. */
static int chan_init(struct redial *r, struct rd_dns_chan *c, char *errbuf, size_t errlen)
{
	struct ares_options o;
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = rd_dns_sock_state;
	o.sock_state_cb_data = c;
	o.timeout = (int)(r->cfg.dns_timeout_ns / 1000000ull);
	if (o.timeout < 1)
		o.timeout = 1;
	o.tries = 1;
	/* Keep SERVFAIL and REFUSED answers: they are the errors we report by name. */
	o.flags = ARES_FLAG_NOCHECKRESP;
	o.socket_receive_buffer_size = RD_DNS_RCVBUF; /* see dns_state.h, "Pacing" */
	int st = ares_init_options(&c->ch, &o,
				   ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
					   ARES_OPT_FLAGS | ARES_OPT_SOCK_RCVBUF);
	if (st != ARES_SUCCESS) {
		c->ch = NULL;
		snprintf(errbuf, errlen, "resolver setup failed: %s", ares_strerror(st));
		return st == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (r->cfg.dns_servers) {
		st = ares_set_servers_ports_csv(c->ch, r->cfg.dns_servers);
		if (st != ARES_SUCCESS) {
			snprintf(errbuf, errlen, "bad DNS server list \"%s\": %s",
				 r->cfg.dns_servers, ares_strerror(st));
			return st == ARES_ENOMEM ? -ENOMEM : -EINVAL;
		}
	}
	return 0;
}

int rd_dns_init(struct redial *r, char *errbuf, size_t errlen)
{
	if (r->dns)
		return 0;
	pthread_once(&lib_once, lib_init);
	if (lib_status != ARES_SUCCESS) {
		snprintf(errbuf, errlen, "c-ares initialisation failed: %s", ares_strerror(lib_status));
		return -ENOMEM;
	}
	struct rd_dns *d = rd_calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->r = r;
	d->nbuckets = 1024;
	d->buckets = rd_calloc(d->nbuckets, sizeof(*d->buckets));
	if (!d->buckets) {
		dns_destroy(d);
		return -ENOMEM;
	}
	d->cache_cap_ns = r->cfg.dns_cache_max_ttl_ns;
	for (uint32_t i = 0; i < RD_DNS_CHANNELS; i++) {
		d->chans[i].d = d;
		int ret = chan_init(r, &d->chans[i], errbuf, errlen);
		if (ret < 0) {
			dns_destroy(d);
			return ret;
		}
	}
	r->dns = d;
	return 0;
}

void rd_dns_free(struct redial *r)
{
	dns_destroy(r->dns);
	r->dns = NULL;
}
