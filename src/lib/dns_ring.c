/* dns_ring.c — the resolver on the ring: c-ares' sockets, each watched by a single-shot
 * POLL_ADD whose CQE hands readiness back to c-ares, and the channels' timeouts, which join
 * the loop's wake timer (see dns.h). */
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "dns_ring.h"

#include "alloc.h"
#include "clock.h"
#include "dns_state.h"
#include "endpoint.h"
#include "ring.h"
#include "ud.h"

static struct rd_dns_sock *sock_find(struct rd_dns *d, int fd)
{
	for (uint32_t i = 0; i < d->nsocks; i++)
		if (d->socks[i].fd == fd)
			return &d->socks[i];
	return NULL;
}

void rd_dns_sock_state(void *data, int fd, int readable, int writable)
{
	struct rd_dns_chan *c = data;
	struct rd_dns *d = c->d;
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
	s->chan = (uint8_t)(c - d->chans);
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
	ares_process_fd(d->chans[s->chan].ch, rd ? (ares_socket_t)fd : ARES_SOCKET_BAD,
			wr ? (ares_socket_t)fd : ARES_SOCKET_BAD);
}

void rd_dns_tick(struct redial *r)
{
	struct rd_dns *d = r->dns;
	if (!d || !d->inflight)
		return;
	for (uint32_t i = 0; i < RD_DNS_CHANNELS; i++) {
		struct rd_dns_chan *c = &d->chans[i];
		if (!c->inflight)
			continue;
		struct timeval tv;
		struct timeval *tp = ares_timeout(c->ch, NULL, &tv);
		if (tp && tp->tv_sec == 0 && tp->tv_usec == 0)
			ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
}

uint64_t rd_dns_next_ns(const struct redial *r)
{
	struct rd_dns *d = r->dns;
	if (!d || !d->inflight)
		return UINT64_MAX;
	uint64_t next = UINT64_MAX;
	for (uint32_t i = 0; i < RD_DNS_CHANNELS; i++) {
		if (!d->chans[i].inflight)
			continue;
		struct timeval tv;
		struct timeval *tp = ares_timeout(d->chans[i].ch, NULL, &tv);
		if (!tp)
			continue;
		uint64_t t = r->now + (uint64_t)tp->tv_sec * 1000000000ull +
			     (uint64_t)tp->tv_usec * 1000ull;
		if (t < next)
			next = t;
	}
	return next;
}
