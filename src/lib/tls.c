/* tls.c — the TLS handshake on the ring, and a TLS connection's end.
 *
 * After the connect, the socket goes to a handshake (struct rd_tls_hs, from a per-manager
 * pool that keeps its buffers). OpenSSL works on memory only: its BIO reads what RECVs
 * brought into hs->rx and writes records into hs->tx. Each round is one chain:
 *
 *     [SEND(tx, MSG_WAITALL) ->] [RECV(rx)]
 *
 * The deadline is not a LINK_TIMEOUT, for the reason the connect's is not (attempt.c): a
 * kernel timer armed and cancelled per round is what a handshake paid most for outside the
 * crypto. Every handshake's deadline sits on a timer wheel of the handshake pool
 * (r->hs_wheel, on the manager's 1 ms ticks), and only a handshake whose deadline passes
 * gets an ASYNC_CANCEL of everything on its socket; what its ops then report (-ECANCELED)
 * becomes REDIAL_E_TLS_HANDSHAKE_TIMEOUT. A deadline is never early, and late by at most a
 * tick. As with attempts, a chain is judged only once all its CQEs are in (the kernel does
 * not order them). A SEND of a few hundred bytes on a fresh socket completes at once; the
 * RECV is what waits on the peer.
 *
 * When the handshake completes (certificate verified), the same BIO, a descriptor BIO for
 * SSL_get_fd, reads the socket after what the last RECV brought beyond the handshake (a
 * socket BIO would lose that), and the SSL goes to the endpoint, for the application. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "attempt.h"
#include "dns.h"
#include "clock.h"
#include "fdbudget.h"
#include "ring.h"
#include "tls.h"
#include "tls_bio.h"
#include "tls_cfg.h"

struct rd_tls_hs {
	uint32_t ep;          /* endpoint slot; RD_NONE once abandoned (it only drains) */
	uint32_t gen;
	uint32_t next;        /* free list, or the pump's queue */
	uint16_t pending;     /* CQEs still to come */
	uint8_t queued;
	uint8_t done;         /* SSL_do_handshake returned 1 */
	uint8_t chain_send, chain_recv;
	uint8_t want_cancel;  /* abandoned with ops in flight: a cancel still to send */
	uint8_t want_write;   /* OpenSSL filled tx and has more to write: send before reading */
	uint8_t timed_out;    /* its deadline passed: the cancel is sent, no round follows */
	int fd;               /* -1 once closed */
	SSL *ssl;
	struct rd_bio *bio;
	int32_t res_send, res_recv;
	uint32_t send_len;
	uint64_t deadline_tick; /* on r->hs_wheel until the handshake is released */
	uint64_t start_ns;
	union rd_addr addr;
	uint32_t addr_idx;
	struct rd_tls_buf buf;  /* last: its bytes are never cleared (the lengths say) */
};

/* ---- the pool of handshakes ------------------------------------------------------------ */

/* The wheel keeps no due tick of its own (wheel.h): the handshake does. */
static uint64_t hs_due(uint32_t idx, void *ctx)
{
	const struct redial *r = ctx;
	return r->hs[idx]->deadline_tick;
}

int rd_tls_init(struct redial *r)
{
	r->hs_free = r->hsq_head = r->hsq_tail = RD_NONE;
	/* The timers' array grows with the pool (hs_alloc moves the base then). */
	rd_wheel_init(&r->hs_wheel, 0, NULL, sizeof(*r->hs_timer), hs_due, r);
	return 0;
}

static struct rd_tls_hs *hs_alloc(struct redial *r, uint32_t *ret_idx)
{
	if (r->hs_free == RD_NONE) {
		if (r->nhs == r->hs_cap) {
			uint32_t cap = r->hs_cap ? 2 * r->hs_cap : 64;
			struct rd_tls_hs **t = rd_realloc(r->hs, cap * sizeof(*t));
			if (!t)
				return NULL;
			r->hs = t;
			/* The timers are links by index: moving the array moves no link. */
			struct rd_timer *tm = rd_realloc(r->hs_timer, cap * sizeof(*tm));
			if (!tm)
				return NULL;
			memset(tm + r->hs_cap, 0, (cap - r->hs_cap) * sizeof(*tm));
			r->hs_timer = tm;
			r->hs_wheel.base = (char *)tm;
			r->hs_cap = cap;
		}
		struct rd_tls_hs *h = rd_calloc(1, sizeof(*h));
		if (!h)
			return NULL;
		h->next = RD_NONE;
		r->hs[r->nhs] = h;
		r->hs_free = r->nhs++;
	}
	uint32_t idx = r->hs_free;
	struct rd_tls_hs *h = r->hs[idx];
	r->hs_free = h->next;
	uint32_t gen = (h->gen + 1) & 0xffffffu;
	/* The buffers need no clearing: the lengths say what is in them. */
	memset(h, 0, offsetof(struct rd_tls_hs, buf));
	h->buf.rx_off = h->buf.rx_len = h->buf.tx_len = 0;
	h->gen = gen;
	h->next = RD_NONE;
	h->fd = -1;
	r->tls_inflight++;
	*ret_idx = idx;
	return h;
}

static void hs_release(struct redial *r, uint32_t idx)
{
	struct rd_tls_hs *h = r->hs[idx];
	if (h->ssl) {
		SSL_free(h->ssl); /* with it the BIO and its state */
		ERR_clear_error();
		h->ssl = NULL;
	}
	if (h->fd >= 0) {
		close(h->fd);
		rd_fds_closed(r, 1);
		h->fd = -1;
	}
	rd_wheel_del(&r->hs_wheel, idx);
	h->ep = RD_NONE;
	h->next = r->hs_free;
	r->hs_free = idx;
	r->tls_inflight--;
}

static void hs_queue(struct redial *r, uint32_t idx)
{
	struct rd_tls_hs *h = r->hs[idx];
	if (h->queued)
		return;
	h->queued = 1;
	h->next = RD_NONE;
	if (r->hsq_tail == RD_NONE)
		r->hsq_head = idx;
	else
		r->hs[r->hsq_tail]->next = idx;
	r->hsq_tail = idx;
}

void rd_tls_free(struct redial *r)
{
	for (uint32_t i = 0; i < r->nhs; i++) {
		struct rd_tls_hs *h = r->hs[i];
		if (h->ssl)
			SSL_free(h->ssl);
		if (h->fd >= 0)
			close(h->fd);
		rd_free(h);
	}
	rd_free(r->hs);
	rd_free(r->hs_timer);
	r->hs = NULL;
	r->hs_timer = NULL;
	r->nhs = r->hs_cap = 0;
	ERR_clear_error();
}

/* ---- endpoints ---------------------------------------------------------------------- */

int rd_tls_ep_attach(struct redial *r, struct rd_endpoint *ep, struct rd_tls_cfg *cfg)
{
	(void)r;
	struct rd_tls_ep *t = rd_calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = cfg;
	t->hs = RD_NONE;
	rd_ep_cold(r, ep)->tls = t; /* the caller made the record */
	return 0;
}

void rd_tls_ep_free(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_tls_ep *t = rd_ep_tls(r, ep);
	if (!t)
		return;
	if (t->ssl) { /* only when a manager is freed with the connection up */
		SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(t->ssl);
	}
	SSL_SESSION_free(t->session);
	ERR_clear_error();
	rd_free(t);
	rd_ep_cold(r, ep)->tls = NULL;
}

/* ---- the handshake ------------------------------------------------------------------- */

/* Who the peer must be: the sni option, else a NAME endpoint's host name (also sent as
 * SNI), else the address against the certificate's IP SANs (no SNI: RFC 6066 has no IP
 * literals in it). */
static int set_peer_name(struct redial *r, struct rd_endpoint *ep, SSL *ssl,
			 const union rd_addr *addr)
{
	const struct redial_tls_opts *o = rd_tls_cfg_opts(rd_ep_tls(r, ep)->cfg);
	const struct rd_ep_name *en = rd_ep_name(r, ep);
	const char *name = o->sni ? o->sni : en ? en->n->name : NULL;
	if (o->flags & REDIAL_TLS_INSECURE)
		return !name || SSL_set_tlsext_host_name(ssl, name) == 1 ? 0 : -ENOMEM;
	if (name)
		return SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1
			       ? 0
			       : -ENOMEM;
	X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
	int ok = addr->sa.sa_family == AF_INET6
			 ? X509_VERIFY_PARAM_set1_ip(p, (const unsigned char *)&addr->v6.sin6_addr, 16)
			 : X509_VERIFY_PARAM_set1_ip(p, (const unsigned char *)&addr->v4.sin_addr, 4);
	return ok == 1 ? 0 : -ENOMEM;
}

int rd_tls_start(struct redial *r, struct rd_endpoint *ep, const struct rd_outcome *o)
{
	struct rd_tls_ep *te = rd_ep_tls(r, ep);
	uint32_t idx;
	struct rd_tls_hs *h = hs_alloc(r, &idx);
	if (!h)
		return -ENOMEM;
	struct rd_bio *d;
	BIO *b = rd_tls_bio_new(&h->buf, o->fd, &d);
	h->ssl = b ? SSL_new(rd_tls_cfg_ctx(te->cfg)) : NULL;
	if (!h->ssl || set_peer_name(r, ep, h->ssl, &o->addr) < 0) {
		BIO_free(b);
		hs_release(r, idx); /* frees h->ssl; the fd is still the caller's */
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_bio(h->ssl, b, b);
	h->bio = d;
	SSL_set_connect_state(h->ssl);
	if (te->session && !(rd_tls_cfg_opts(te->cfg)->flags & REDIAL_TLS_NO_RESUME))
		SSL_set_session(h->ssl, te->session);
	/* The ClientHello goes into tx now; the pump sends it with the first RECV. A failure
	 * here is the configuration's (no protocol version left, say): the caller reports it. */
	ERR_clear_error();
	int rc = SSL_do_handshake(h->ssl);
	int e = SSL_get_error(h->ssl, rc);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		bool unnamed;
		int code = rd_tls_map_error(h->ssl, rc, &unnamed, te->reason,
					    sizeof(te->reason));
		hs_release(r, idx);
		return code;
	}
	h->want_write = e == SSL_ERROR_WANT_WRITE;
	h->ep = rd_ep_index(r, ep);
	h->fd = o->fd;
	rd_fds_opened(r);
	h->start_ns = o->start_ns;
	h->addr = o->addr;
	h->addr_idx = o->addr_idx;
	const struct rd_opts *eo = rd_ep_opts(r, ep);
	uint64_t t = eo->tls_handshake_timeout_ns ? eo->tls_handshake_timeout_ns
						  : eo->connect_timeout_ns;
	/* The first tick at or after now + t: never early. */
	uint64_t tick = rd_tick_of(r, r->now + t + RD_TICK_NS - 1);
	h->deadline_tick = tick > r->hs_wheel.now ? tick : r->hs_wheel.now + 1;
	rd_wheel_add(&r->hs_wheel, idx, h->deadline_tick);
	te->hs = idx;
	hs_queue(r, idx);
	return 0;
}

/* Cancels everything on a handshake's socket: the abandon's cancel, and the deadline's. */
static void prep_cancel(struct redial *r, struct io_uring_sqe *sqe, struct rd_tls_hs *h,
			uint32_t idx)
{
	io_uring_prep_cancel_fd(sqe, h->fd, IORING_ASYNC_CANCEL_ALL);
	sqe->user_data = rd_ud(RD_OP_TLS_CANCEL, h->gen, idx);
	h->pending++;
	r->kernel_cancels++;
}

/* The deadline passed: cancel the round in flight. The cancel's own CQE is what settles a
 * handshake with nothing in flight (one waiting in the pump's queue: the pump sends it no
 * round any more). With no SQ room, tries again on the next tick. */
void rd_tls_abandon(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_tls_ep *te = rd_ep_tls(r, ep);
	if (!te || te->hs == RD_NONE)
		return;
	uint32_t idx = te->hs;
	struct rd_tls_hs *h = r->hs[idx];
	te->hs = RD_NONE;
	h->ep = RD_NONE;
	rd_wheel_del(&r->hs_wheel, idx); /* nobody waits for its outcome any more */
	if (!h->pending) {
		if (!h->queued)
			hs_release(r, idx); /* else the pump releases it when it gets there */
		return;
	}
	/* Cancel everything on the socket now (the submit runs the cancel inline), and shut
	 * it down: an op the cancel did not find (a link whose issue still waited as task
	 * work) then completes at once instead of waiting on a silent peer. Draining the
	 * deferred completions issues such links and lets every op drop the file before the
	 * close, so the peer sees the end before the caller's call returns. */
	struct io_uring_sqe *sqe = r->enabled ? rd_get_sqe(r) : NULL;
	if (!sqe) {
		h->want_cancel = 1;
		hs_queue(r, idx);
		return;
	}
	prep_cancel(r, sqe, h, idx);
	int ret = rd_ring_submit_now(r); /* -EBUSY/-EAGAIN: the cancel waits in the SQ */
	if (ret >= 0) {
		/* Fails only when the peer ended it first (ENOTCONN): nothing left to wake. */
		(void)shutdown(h->fd, SHUT_RDWR);
		rd_ring_drain_deferred(r);
		close(h->fd);
		rd_fds_closed(r, 1);
		h->fd = -1;
	}
}

static void prep(struct io_uring_sqe *sqe, enum rd_op op, struct rd_tls_hs *h, uint32_t idx,
		 unsigned flags)
{
	sqe->user_data = rd_ud(op, h->gen, idx);
	sqe->flags |= (uint8_t)flags;
	h->pending++;
}

/* One handshake's next chain. False when the SQ has no room for it. */
static bool send_chain(struct redial *r, struct rd_tls_hs *h, uint32_t idx)
{
	bool recv = !h->done && !h->want_write;
	unsigned need = (h->buf.tx_len ? 1u : 0u) + (recv ? 1u : 0u);
	if (!rd_reserve_sqes(r, need))
		return false;
	h->res_send = h->res_recv = -ENOENT;
	/* rd_reserve_sqes made room for the whole chain: none of these gets can fail. */
	struct io_uring_sqe *sqe;
	if (h->buf.tx_len) {
		sqe = rd_get_sqe(r);
		/* MSG_WAITALL: a short send is retried by the kernel, not reported. */
		io_uring_prep_send(sqe, h->fd, h->buf.tx, h->buf.tx_len, MSG_NOSIGNAL | MSG_WAITALL);
		prep(sqe, RD_OP_TLS_SEND, h, idx, recv ? IOSQE_IO_LINK : 0);
		h->chain_send = 1;
		h->send_len = (uint32_t)h->buf.tx_len;
	}
	if (recv) {
		if (h->buf.rx_off) {
			memmove(h->buf.rx, h->buf.rx + h->buf.rx_off, h->buf.rx_len - h->buf.rx_off);
			h->buf.rx_len -= h->buf.rx_off;
			h->buf.rx_off = 0;
		}
		sqe = rd_get_sqe(r);
		io_uring_prep_recv(sqe, h->fd, h->buf.rx + h->buf.rx_len, RD_TLS_RX - h->buf.rx_len, 0);
		prep(sqe, RD_OP_TLS_RECV, h, idx, 0);
		h->chain_recv = 1;
	}
	return true;
}

static void deadline_cancel(struct redial *r, struct rd_tls_hs *h, uint32_t idx)
{
	h->timed_out = 1;
	struct io_uring_sqe *sqe = rd_get_sqe(r);
	if (!sqe) {
		h->deadline_tick = r->hs_wheel.now + 1;
		rd_wheel_add(&r->hs_wheel, idx, h->deadline_tick);
		return;
	}
	prep_cancel(r, sqe, h, idx);
}

void rd_tls_deadlines(struct redial *r)
{
	rd_wheel_advance(&r->hs_wheel, rd_tick_of(r, r->now), RD_TL_USER(0));
	uint32_t idx;
	while ((idx = rd_tlist_pop(&r->hs_wheel, RD_TL_USER(0))) != RD_TL_NONE)
		deadline_cancel(r, r->hs[idx], idx); /* on the wheel only while ep wants it */
}

uint64_t rd_tls_next_tick(const struct redial *r)
{
	return rd_wheel_next(&r->hs_wheel);
}

bool rd_tls_pump(struct redial *r)
{
	while (r->hsq_head != RD_NONE) {
		uint32_t idx = r->hsq_head;
		struct rd_tls_hs *h = r->hs[idx];
		if (h->ep == RD_NONE && h->want_cancel) {
			struct io_uring_sqe *sqe = rd_get_sqe(r);
			if (!sqe)
				return false;
			prep_cancel(r, sqe, h, idx);
			h->want_cancel = 0;
		} else if (h->ep != RD_NONE && !h->timed_out && !send_chain(r, h, idx)) {
			return false;
		}
		r->hsq_head = h->next;
		if (r->hsq_head == RD_NONE)
			r->hsq_tail = RD_NONE;
		h->queued = 0;
		h->next = RD_NONE;
		if (h->ep == RD_NONE && !h->pending)
			hs_release(r, idx);
	}
	return true;
}

/* The handshake is over: hand the result to the endpoint's outcome. */
static void finish(struct redial *r, uint32_t idx, int err, bool unnamed,
		   struct rd_tls_outcome *ret)
{
	struct rd_tls_hs *h = r->hs[idx];
	struct rd_endpoint *ep = &r->eps[h->ep];
	if (err == 0 && rd_tls_bio_hand_over(h->bio) < 0) {
		err = ENOMEM;
		snprintf(rd_ep_tls(r, ep)->reason, sizeof(rd_ep_tls(r, ep)->reason),
			 "no memory for what came after the handshake");
	}
	ret->ep = h->ep;
	ret->err = err;
	ret->unnamed = unnamed;
	ret->fd = -1;
	ret->addr = h->addr;
	ret->addr_idx = h->addr_idx;
	ret->start_ns = h->start_ns;
	rd_ep_tls(r, ep)->hs = RD_NONE;
	if (err == 0) {
		rd_ep_tls(r, ep)->ssl = h->ssl;
		ret->fd = h->fd;
		h->ssl = NULL;
		h->fd = -1; /* the endpoint owns it now, still counted in fds_open */
	}
	hs_release(r, idx);
}

/* The chain's CQEs are all in: read them, then let OpenSSL go on. True when it finished. */
static bool settle(struct redial *r, uint32_t idx, struct rd_tls_outcome *ret)
{
	struct rd_tls_hs *h = r->hs[idx];
	if (h->pending)
		return false;
	if (h->ep == RD_NONE) {
		if (!h->queued)
			hs_release(r, idx);
		return false;
	}
	int err = 0;
	bool timed_out = h->timed_out;
	if (h->chain_send) {
		int s = h->res_send;
		if (s >= 0) {
			size_t sent = (size_t)s < h->buf.tx_len ? (size_t)s : h->buf.tx_len;
			memmove(h->buf.tx, h->buf.tx + sent, h->buf.tx_len - sent);
			h->buf.tx_len -= sent;
		} else {
			err = s == -ECANCELED && timed_out ? REDIAL_E_TLS_HANDSHAKE_TIMEOUT : -s;
		}
	}
	if (!err && h->chain_recv) {
		int v = h->res_recv;
		if (v > 0)
			h->buf.rx_len += (size_t)v;
		else if (v == 0)
			err = REDIAL_E_TLS_UNEXPECTED_EOF;
		else
			err = v == -ECANCELED && timed_out ? REDIAL_E_TLS_HANDSHAKE_TIMEOUT : -v;
	}
	h->chain_send = h->chain_recv = 0;
	struct rd_endpoint *ep = &r->eps[h->ep];
	struct rd_tls_ep *te = rd_ep_tls(r, ep);
	bool unnamed = false, lib_err = false;
	if (!err && !h->done) {
		ERR_clear_error();
		int rc = SSL_do_handshake(h->ssl);
		h->want_write = 0;
		if (rc == 1) {
			h->done = 1;
		} else {
			int e = SSL_get_error(h->ssl, rc);
			h->want_write = e == SSL_ERROR_WANT_WRITE;
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				err = rd_tls_map_error(h->ssl, rc, &unnamed, te->reason,
						       sizeof(te->reason));
				lib_err = true;
			}
			ERR_clear_error();
		}
	}
	bool more = !err && (h->buf.tx_len || !h->done);
	if (more && timed_out) {
		/* What came in before the cancel did not finish it: no round after the deadline
		 * (nor a last flight that did not go out in time). */
		err = REDIAL_E_TLS_HANDSHAKE_TIMEOUT;
		more = false;
	}
	if (more) {
		hs_queue(r, idx); /* the next round: our records out, the peer's in */
		return false;
	}
	if (err && !lib_err) {
		/* Not the library's failure: say what the socket (or the clock) said. */
		snprintf(te->reason, sizeof(te->reason), "%s",
			 err == REDIAL_E_TLS_HANDSHAKE_TIMEOUT ? "handshake timed out"
			 : err == REDIAL_E_TLS_UNEXPECTED_EOF ? "the peer closed mid-handshake"
							      : strerror(err));
	}
	finish(r, idx, err, unnamed, ret);
	return true;
}

bool rd_tls_cqe(struct redial *r, enum rd_op op, uint32_t gen, uint32_t idx, int res,
		struct rd_tls_outcome *ret)
{
	if (idx >= r->nhs || r->hs[idx]->gen != gen || !r->hs[idx]->pending) {
		r->stale_cqes++;
		return false;
	}
	struct rd_tls_hs *h = r->hs[idx];
	h->pending--;
	if (op == RD_OP_TLS_SEND)
		h->res_send = res;
	else if (op == RD_OP_TLS_RECV)
		h->res_recv = res;
	return settle(r, idx, ret);
}
