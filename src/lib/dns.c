/* dns.c — c-ares resolution driven by the manager's ring (see dns.h). */
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "dns.h"
#include "manager.h"

/* One socket c-ares told us about. `seq` changes each time the socket closes, so a watch
 * armed for an earlier socket with the same fd number is recognised and removed. */
struct rd_dns_sock {
	int fd;
	bool live;
	bool armed;
	uint16_t want;      /* POLLIN / POLLOUT c-ares asks for */
	uint16_t armed_mask;
	uint32_t seq;
	uint32_t armed_seq;
	uint32_t pending;   /* our POLL_ADD / POLL_REMOVE CQEs still to come */
};

struct rd_dns {
	struct redial *r;
	ares_channel ch;
	struct rd_dns_sock *socks;
	uint32_t nsocks, sockcap;
	struct rd_dns_name **buckets;
	uint32_t nbuckets, nnames;
	struct rd_dns_name *done;   /* answered names whose waiters have not been told */
	uint32_t queries;
	uint64_t cache_cap_ns;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void lib_init(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* ---- sockets ------------------------------------------------------------------------------ */

static struct rd_dns_sock *sock_find(struct rd_dns *d, int fd)
{
	for (uint32_t i = 0; i < d->nsocks; i++)
		if (d->socks[i].fd == fd)
			return &d->socks[i];
	return NULL;
}

/* c-ares: a socket opened, changed interest, or is about to close (0, 0). */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rd_dns *d = data;
	struct rd_dns_sock *s = sock_find(d, fd);
	if (!s) {
		if (!readable && !writable)
			return;
		if (d->nsocks == d->sockcap) {
			uint32_t cap = d->sockcap ? d->sockcap * 2 : 8;
			struct rd_dns_sock *n = rd_realloc(d->socks, cap * sizeof(*n));
			if (!n)
				return; /* unwatched: its query times out, and is reported so */
			d->socks = n;
			d->sockcap = cap;
		}
		s = &d->socks[d->nsocks++];
		memset(s, 0, sizeof(*s));
		s->fd = fd;
	}
	if (!readable && !writable) {
		s->live = false;
		s->want = 0;
		s->seq = (s->seq + 1) & 0xffffffu;
		return;
	}
	s->live = true;
	s->want = (uint16_t)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
}

bool rd_dns_pump(struct redial *r, bool stopping)
{
	struct rd_dns *d = r->dns;
	if (!d)
		return true;
	for (uint32_t i = 0; i < d->nsocks; i++) {
		struct rd_dns_sock *s = &d->socks[i];
		uint16_t want = stopping ? 0 : s->want;
		if (s->armed && (s->armed_seq != s->seq || s->armed_mask != want)) {
			struct io_uring_sqe *sqe = rd_get_sqe(r);
			if (!sqe)
				return false;
			io_uring_prep_poll_remove(sqe, rd_ud(RD_OP_DNS_POLL, s->armed_seq, (uint32_t)s->fd));
			sqe->user_data = rd_ud(RD_OP_DNS_POLL_REMOVE, s->armed_seq, (uint32_t)s->fd);
			s->pending++;
			s->armed = false;
		}
		if (!s->armed && want && s->live) {
			struct io_uring_sqe *sqe = rd_get_sqe(r);
			if (!sqe)
				return false;
			io_uring_prep_poll_add(sqe, s->fd, want);
			sqe->user_data = rd_ud(RD_OP_DNS_POLL, s->seq, (uint32_t)s->fd);
			s->pending++;
			s->armed = true;
			s->armed_seq = s->seq;
			s->armed_mask = want;
		}
	}
	/* Forget closed sockets with nothing in flight. */
	uint32_t j = 0;
	for (uint32_t i = 0; i < d->nsocks; i++)
		if (d->socks[i].live || d->socks[i].armed || d->socks[i].pending)
			d->socks[j++] = d->socks[i];
	d->nsocks = j;
	return true;
}

void rd_dns_cqe(struct redial *r, bool remove, uint32_t seq, uint32_t fd, int res)
{
	struct rd_dns *d = r->dns;
	struct rd_dns_sock *s = d ? sock_find(d, (int)fd) : NULL;
	if (!s || !s->pending) {
		r->stale_cqes++;
		return;
	}
	s->pending--;
	if (remove || !s->armed || s->armed_seq != seq)
		return; /* a removal, or the watch of an earlier socket */
	s->armed = false;
	if (res == -ECANCELED)
		return;
	/* An error on the poll itself: let c-ares read the socket and find out. */
	bool rd = res < 0 || (res & (POLLIN | POLLERR | POLLHUP));
	bool wr = res > 0 && (res & POLLOUT);
	/* May call sock_state (moving d->socks) and finish queries: touch s no more. */
	ares_process_fd(d->ch, rd ? (ares_socket_t)fd : ARES_SOCKET_BAD,
			wr ? (ares_socket_t)fd : ARES_SOCKET_BAD);
}

void rd_dns_tick(struct redial *r)
{
	struct rd_dns *d = r->dns;
	if (!d || !d->queries)
		return;
	struct timeval tv;
	struct timeval *tp = ares_timeout(d->ch, NULL, &tv);
	if (tp && tp->tv_sec == 0 && tp->tv_usec == 0)
		ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

uint64_t rd_dns_next_ns(const struct redial *r)
{
	struct rd_dns *d = r->dns;
	if (!d || !d->queries)
		return UINT64_MAX;
	struct timeval tv;
	struct timeval *tp = ares_timeout(d->ch, NULL, &tv);
	if (!tp)
		return UINT64_MAX;
	return r->now + (uint64_t)tp->tv_sec * 1000000000ull + (uint64_t)tp->tv_usec * 1000ull;
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

static void gai_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	(void)timeouts;
	struct rd_dns_name *n = arg;
	struct rd_dns *d = n->owner;
	d->queries--;
	n->querying = false;
	n->status = status == ARES_SUCCESS ? store_answer(n, res) : map_status(status);
	if (n->status == 0) {
		uint64_t ttl_ns = (uint64_t)n->ttl_s * 1000000000ull;
		n->expires_ns = rd_clock_ns() + (ttl_ns < d->cache_cap_ns ? ttl_ns : d->cache_cap_ns);
	}
	ares_freeaddrinfo(res);
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

static void start_query(struct rd_dns *d, struct rd_dns_name *n)
{
	n->querying = true;
	n->query_start_ns = d->r->now;
	d->queries++;
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* We order the addresses ourselves (RFC 8305); c-ares' RFC 6724 sort would connect a
	 * UDP socket per address to learn source addresses. */
	hints.ai_flags = ARES_AI_NOSORT;
	ares_getaddrinfo(d->ch, n->name, NULL, &hints, gai_done, n); /* may answer at once */
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
	if (rd_ep_name(r, ep))
		waiter_unlink(r, ep);
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

void rd_dns_settle(struct redial *r, rd_dns_done_fn done)
{
	struct rd_dns *d = r->dns;
	if (!d)
		return;
	struct rd_dns_name *n;
	while ((n = d->done)) {
		d->done = n->done_next;
		n->on_done = false;
		while (n->waiters != RD_NONE) {
			struct rd_endpoint *ep = &r->eps[n->waiters];
			waiter_unlink(r, ep);
			if (n->status == -ECANCELED)
				continue;
			int status = n->status;
			if (status == 0) {
				int ret = snapshot(r, ep);
				if (ret < 0)
					status = -ret;
			}
			done(r, ep, status, n->query_start_ns);
		}
		if (n->refs == 0 && !n->querying)
			name_free(d, n);
	}
}

void rd_dns_cancel_all(struct redial *r)
{
	if (r->dns && r->dns->queries)
		ares_cancel(r->dns->ch);
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
	if (--n->refs == 0 && !n->querying && !n->on_done)
		name_free(r->dns, n);
	rd_free(en->cyc.addrs);
	rd_free(en);
	rd_ep_cold(r, ep)->name = NULL;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

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
		rd_free(d);
		return -ENOMEM;
	}
	d->cache_cap_ns = r->cfg.dns_cache_max_ttl_ns;

	struct ares_options o;
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	o.timeout = (int)(r->cfg.dns_timeout_ns / 1000000ull);
	if (o.timeout < 1)
		o.timeout = 1;
	o.tries = 1;
	/* Keep SERVFAIL and REFUSED answers: they are the errors we report by name. */
	o.flags = ARES_FLAG_NOCHECKRESP;
	int st = ares_init_options(&d->ch, &o,
				   ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
					   ARES_OPT_FLAGS);
	if (st != ARES_SUCCESS) {
		snprintf(errbuf, errlen, "resolver setup failed: %s", ares_strerror(st));
		rd_free(d->buckets);
		rd_free(d);
		return st == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (r->cfg.dns_servers) {
		st = ares_set_servers_ports_csv(d->ch, r->cfg.dns_servers);
		if (st != ARES_SUCCESS) {
			snprintf(errbuf, errlen, "bad DNS server list \"%s\": %s", r->cfg.dns_servers,
				 ares_strerror(st));
			ares_destroy(d->ch);
			rd_free(d->buckets);
			rd_free(d);
			return -EINVAL;
		}
	}
	r->dns = d;
	return 0;
}

void rd_dns_free(struct redial *r)
{
	struct rd_dns *d = r->dns;
	if (!d)
		return;
	/* Pending queries end with ARES_EDESTRUCTION; their names are freed below. */
	ares_destroy(d->ch);
	for (uint32_t b = 0; b < d->nbuckets; b++) {
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
	r->dns = NULL;
}
