/* tls.c — the TLS handshake on the ring, and a TLS connection's end.
 *
 * After the connect, the socket goes to a handshake (struct rd_tls_hs, from a per-manager
 * pool that keeps its buffers). OpenSSL works on memory only: its BIO reads what RECVs
 * brought into hs->rx and writes records into hs->tx. Each round is one linked chain:
 *
 *     [SEND(tx, MSG_WAITALL) ->] [RECV(rx) ->] LINK_TIMEOUT(what is left of the deadline)
 *
 * so the deadline is a linked timeout, as the connect's is, and no thread or blocking call
 * is involved. As with attempts, a chain is judged only once all its CQEs are in (the kernel
 * does not order them): RECV -ECANCELED with the timeout's -ETIME is the deadline. A SEND
 * of a few hundred bytes on a fresh socket completes at once, so the timeout guards the
 * RECV, which is what waits on the peer.
 *
 * When the handshake completes (certificate verified), the same BIO, a descriptor BIO for
 * SSL_get_fd, reads the socket after what the last RECV brought beyond the handshake (a
 * socket BIO would lose that), and the SSL goes to the endpoint, for the application. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
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
#include "tls_cfg.h"

#define RD_TLS_RX 12288 /* a RECV's room: a whole first flight, usually */
#define RD_TLS_TX 4096  /* ClientHello, Finished, a client certificate: sent in rounds */


/* The BIO's state: a handshake's buffers, or (after the hand-over) the socket. */
struct rd_bio {
	struct rd_tls_hs *hs;
	int fd;
	unsigned char *left; /* bytes the handshake's last RECV brought beyond it */
	size_t left_off, left_len;
};

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
	int fd;               /* -1 once closed */
	SSL *ssl;
	struct rd_bio *bio;
	int32_t res_send, res_recv, res_lt;
	uint32_t send_len;
	uint64_t deadline_ns, start_ns;
	union rd_addr addr;
	uint32_t addr_idx;
	struct __kernel_timespec lt_ts;
	size_t rx_off, rx_len, tx_len;
	unsigned char rx[RD_TLS_RX];
	unsigned char tx[RD_TLS_TX];
};

/* ---- the BIO ---------------------------------------------------------------------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *out, int outl)
{
	struct rd_bio *d = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (outl <= 0)
		return 0;
	size_t want = (size_t)outl;
	if (d->hs) {
		struct rd_tls_hs *h = d->hs;
		size_t n = h->rx_len - h->rx_off;
		if (n == 0) {
			BIO_set_retry_read(b);
			return -1;
		}
		n = n < want ? n : want;
		memcpy(out, h->rx + h->rx_off, n);
		h->rx_off += n;
		return (int)n;
	}
	if (d->left) {
		size_t n = d->left_len - d->left_off;
		n = n < want ? n : want;
		memcpy(out, d->left + d->left_off, n);
		d->left_off += n;
		if (d->left_off == d->left_len) {
			rd_free(d->left);
			d->left = NULL;
		}
		return (int)n;
	}
	ssize_t n = read(d->fd, out, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static int bio_write(BIO *b, const char *in, int inl)
{
	struct rd_bio *d = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (inl <= 0)
		return 0;
	if (d->hs) {
		struct rd_tls_hs *h = d->hs;
		size_t room = RD_TLS_TX - h->tx_len, n = (size_t)inl < room ? (size_t)inl : room;
		if (n == 0) {
			BIO_set_retry_write(b);
			return -1;
		}
		memcpy(h->tx + h->tx_len, in, n);
		h->tx_len += n;
		return (int)n;
	}
	ssize_t n = send(d->fd, in, (size_t)inl, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num; /* GET_CLOSE is 0 as well: BIO_NOCLOSE, the fd is never the BIO's to close */
	int fd = ((const struct rd_bio *)BIO_get_data(b))->fd;
	if (cmd == BIO_C_GET_FD && ptr) /* BIO_get_fd, which SSL_get_fd asks */
		*(int *)ptr = fd;
	return cmd == BIO_C_GET_FD ? fd : cmd == BIO_CTRL_FLUSH;
}

static int bio_destroy(BIO *b)
{
	struct rd_bio *d = BIO_get_data(b);
	if (d) {
		rd_free(d->left);
		rd_free(d);
		BIO_set_data(b, NULL);
	}
	return 1;
}

static void bio_method_make(void)
{
	int type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
	BIO_METHOD *m = BIO_meth_new(type, "redial");
	if (m && BIO_meth_set_read(m, bio_read) && BIO_meth_set_write(m, bio_write) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_destroy(m, bio_destroy))
		bio_method = m; /* process-wide, never freed */
	else
		BIO_meth_free(m);
}

/* ---- the pool of handshakes ------------------------------------------------------------ */

int rd_tls_init(struct redial *r)
{
	r->hs_free = r->hsq_head = r->hsq_tail = RD_NONE;
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
	memset(h, 0, offsetof(struct rd_tls_hs, rx));
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
	r->hs = NULL;
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
	pthread_once(&bio_once, bio_method_make);
	if (!bio_method)
		return -ENOMEM;
	uint32_t idx;
	struct rd_tls_hs *h = hs_alloc(r, &idx);
	if (!h)
		return -ENOMEM;
	struct rd_bio *d = rd_calloc(1, sizeof(*d));
	BIO *b = d ? BIO_new(bio_method) : NULL;
	if (b) {
		BIO_set_data(b, d); /* from here on, freeing b frees d */
		BIO_set_init(b, 1);
	} else {
		rd_free(d);
	}
	h->ssl = b ? SSL_new(rd_tls_cfg_ctx(te->cfg)) : NULL;
	if (!h->ssl || set_peer_name(r, ep, h->ssl, &o->addr) < 0) {
		BIO_free(b);
		hs_release(r, idx); /* frees h->ssl; the fd is still the caller's */
		ERR_clear_error();
		return -ENOMEM;
	}
	d->hs = h;
	d->fd = o->fd;
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
	h->deadline_ns = r->now + t;
	te->hs = idx;
	hs_queue(r, idx);
	return 0;
}

void rd_tls_abandon(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_tls_ep *te = rd_ep_tls(r, ep);
	if (!te || te->hs == RD_NONE)
		return;
	uint32_t idx = te->hs;
	struct rd_tls_hs *h = r->hs[idx];
	te->hs = RD_NONE;
	h->ep = RD_NONE;
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
	io_uring_prep_cancel_fd(sqe, h->fd, IORING_ASYNC_CANCEL_ALL);
	sqe->user_data = rd_ud(RD_OP_TLS_CANCEL, h->gen, idx);
	h->pending++;
	r->kernel_cancels++;
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
	unsigned need = (h->tx_len ? 1u : 0u) + (recv ? 1u : 0u) + 1u;
	if (!rd_reserve_sqes(r, need))
		return false;
	uint64_t left = h->deadline_ns > r->now ? h->deadline_ns - r->now : 1;
	h->lt_ts = rd_ts(left);
	h->res_send = h->res_recv = h->res_lt = -ENOENT;
	/* rd_reserve_sqes made room for the whole chain: none of these gets can fail. */
	struct io_uring_sqe *sqe;
	if (h->tx_len) {
		sqe = rd_get_sqe(r);
		/* MSG_WAITALL: a short send is retried by the kernel, not reported. */
		io_uring_prep_send(sqe, h->fd, h->tx, h->tx_len, MSG_NOSIGNAL | MSG_WAITALL);
		prep(sqe, RD_OP_TLS_SEND, h, idx, IOSQE_IO_LINK);
		h->chain_send = 1;
		h->send_len = (uint32_t)h->tx_len;
	}
	if (recv) {
		if (h->rx_off) {
			memmove(h->rx, h->rx + h->rx_off, h->rx_len - h->rx_off);
			h->rx_len -= h->rx_off;
			h->rx_off = 0;
		}
		sqe = rd_get_sqe(r);
		io_uring_prep_recv(sqe, h->fd, h->rx + h->rx_len, RD_TLS_RX - h->rx_len, 0);
		prep(sqe, RD_OP_TLS_RECV, h, idx, IOSQE_IO_LINK);
		h->chain_recv = 1;
	}
	sqe = rd_get_sqe(r);
	io_uring_prep_link_timeout(sqe, &h->lt_ts, 0);
	prep(sqe, RD_OP_TLS_LTIMEOUT, h, idx, 0);
	return true;
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
			io_uring_prep_cancel_fd(sqe, h->fd, IORING_ASYNC_CANCEL_ALL);
			sqe->user_data = rd_ud(RD_OP_TLS_CANCEL, h->gen, idx);
			h->pending++;
			r->kernel_cancels++;
			h->want_cancel = 0;
		} else if (h->ep != RD_NONE && !send_chain(r, h, idx)) {
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
	ret->ep = h->ep;
	ret->err = err;
	ret->unnamed = unnamed;
	ret->fd = -1;
	ret->addr = h->addr;
	ret->addr_idx = h->addr_idx;
	ret->start_ns = h->start_ns;
	rd_ep_tls(r, ep)->hs = RD_NONE;
	if (err == 0) {
		/* The hand-over: the BIO reads the socket from now on, after what the last RECV
		 * brought beyond the handshake (application data, a session ticket). */
		struct rd_bio *d = h->bio;
		size_t n = h->rx_len - h->rx_off;
		if (n && (d->left = rd_malloc(n))) {
			memcpy(d->left, h->rx + h->rx_off, n);
			d->left_len = n;
		}
		d->hs = NULL;
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
	bool timed_out = h->res_lt == -ETIME;
	if (h->chain_send) {
		int s = h->res_send;
		if (s >= 0) {
			size_t sent = (size_t)s < h->tx_len ? (size_t)s : h->tx_len;
			memmove(h->tx, h->tx + sent, h->tx_len - sent);
			h->tx_len -= sent;
		} else {
			err = s == -ECANCELED && timed_out ? REDIAL_E_TLS_HANDSHAKE_TIMEOUT : -s;
		}
	}
	if (!err && h->chain_recv) {
		int v = h->res_recv;
		if (v > 0)
			h->rx_len += (size_t)v;
		else if (v == 0)
			err = REDIAL_E_TLS_UNEXPECTED_EOF;
		else
			err = v == -ECANCELED && timed_out ? REDIAL_E_TLS_HANDSHAKE_TIMEOUT : -v;
	} else if (!err && !h->chain_recv && timed_out && h->tx_len) {
		err = REDIAL_E_TLS_HANDSHAKE_TIMEOUT; /* the last flight did not go out in time */
	}
	h->chain_send = h->chain_recv = 0;
	struct rd_endpoint *ep = &r->eps[h->ep];
	struct rd_tls_ep *te = rd_ep_tls(r, ep);
	bool unnamed = false;
	if (!err && !h->done) {
		ERR_clear_error();
		int rc = SSL_do_handshake(h->ssl);
		h->want_write = 0;
		if (rc == 1) {
			h->done = 1;
		} else {
			int e = SSL_get_error(h->ssl, rc);
			h->want_write = e == SSL_ERROR_WANT_WRITE;
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				err = rd_tls_map_error(h->ssl, rc, &unnamed, te->reason,
						       sizeof(te->reason));
			ERR_clear_error();
		}
	} else if (err) {
		/* Not the library's failure: say what the socket said. */
		snprintf(te->reason, sizeof(te->reason), "%s",
			 err == REDIAL_E_TLS_HANDSHAKE_TIMEOUT ? "handshake timed out"
			 : err == REDIAL_E_TLS_UNEXPECTED_EOF ? "the peer closed mid-handshake"
							      : strerror(err));
	}
	if (!err && (h->tx_len || !h->done)) {
		hs_queue(r, idx); /* the next round: our records out, the peer's in */
		return false;
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
	else if (op == RD_OP_TLS_LTIMEOUT)
		h->res_lt = res;
	return settle(r, idx, ret);
}
