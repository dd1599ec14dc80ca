/* connection.c — a connected socket's watch, unwatch and close, sent through the pump. */
#include "connection.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <unistd.h>

#include "fdbudget.h"
#include "ring.h"
#include "sockerr.h"

/* Every function here runs on a connected endpoint, or on one whose connection ops drain:
 * it has its cold record (policy.c made it before the connection was taken). */
static struct rd_ep_cold *conn_of(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	assert(c);
	return c;
}

static void conn_want(struct redial *r, struct rd_endpoint *ep, unsigned bits)
{
	struct rd_ep_cold *c = conn_of(r, ep);
	c->want |= bits;
	if (ep->flags & RD_EPF_OPQ)
		return;
	ep->flags |= RD_EPF_OPQ;
	uint32_t idx = rd_ep_index(r, ep);
	c->opq_next = RD_NONE;
	if (r->opq_tail == RD_NONE)
		r->opq_head = idx;
	else
		rd_ep_cold(r, &r->eps[r->opq_tail])->opq_next = idx;
	r->opq_tail = idx;
}

void rd_conn_watch(struct redial *r, struct rd_endpoint *ep)
{
	conn_want(r, ep, RD_EW_WATCH);
}

void rd_conn_unwatch_now(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = conn_of(r, ep);
	if (c->want & RD_EW_WATCH) {
		c->want &= ~RD_EW_WATCH & 0xffu; /* never sent: nothing to take back */
		return;
	}
	uint32_t idx = rd_ep_index(r, ep);
	struct io_uring_sqe *sqe = r->enabled ? rd_get_sqe(r) : NULL;
	if (!sqe) {
		conn_want(r, ep, RD_EW_UNWATCH);
		return;
	}
	io_uring_prep_poll_remove(sqe, rd_ud(RD_OP_POLL, c->watch_seq, idx));
	sqe->user_data = rd_ud(RD_OP_POLL_REMOVE, c->watch_seq, idx);
	c->ops++;
	/* GETEVENTS runs the deferred completion of the cancelled poll, which drops the poll's
	 * reference to the file. Both CQEs are reaped later, as usual. -EBUSY/-EAGAIN leave
	 * the SQE in the ring for the next submit. */
	(void)rd_ring_submit_now(r);
}

void rd_conn_close_now(struct redial *r, struct rd_endpoint *ep)
{
	rd_conn_unwatch_now(r, ep);
	struct rd_ep_cold *c = conn_of(r, ep);
	close(c->fd);
	rd_fds_closed(r, 1);
	c->fd = -1;
	c->conn_seq = (c->conn_seq + 1) & 0xffffffu;
}

int rd_conn_hand_to_event(struct redial *r, struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = conn_of(r, ep);
	int fd = c->fd;
	c->fd = -1;
	c->conn_seq = (c->conn_seq + 1) & 0xffffffu;
	return fd;
}

bool rd_conn_pump(struct redial *r)
{
	while (r->opq_head != RD_NONE) {
		uint32_t idx = r->opq_head;
		struct rd_endpoint *ep = &r->eps[idx];
		struct rd_ep_cold *c = conn_of(r, ep);
		struct io_uring_sqe *sqe;
		if (c->want & RD_EW_UNWATCH) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_poll_remove(sqe, rd_ud(RD_OP_POLL, c->watch_seq, idx));
			sqe->user_data = rd_ud(RD_OP_POLL_REMOVE, c->watch_seq, idx);
			c->ops++;
			c->want &= ~RD_EW_UNWATCH & 0xffu;
		}
		if (c->want & RD_EW_WATCH) {
			if (c->fd >= 0) {
				if (!(sqe = rd_get_sqe(r)))
					return false;
				io_uring_prep_poll_add(sqe, c->fd, POLLRDHUP | POLLERR | POLLHUP);
				c->watch_seq = c->conn_seq;
				sqe->user_data = rd_ud(RD_OP_POLL, c->conn_seq, idx);
				c->ops++;
			}
			c->want &= ~RD_EW_WATCH & 0xffu;
		}
		r->opq_head = c->opq_next;
		if (r->opq_head == RD_NONE)
			r->opq_tail = RD_NONE;
		ep->flags &= (uint8_t)~RD_EPF_OPQ;
		rd_ep_maybe_reap(r, ep);
	}
	return true;
}

bool rd_conn_cqe(struct redial *r, enum rd_op op, uint32_t seq, uint32_t idx, int res,
		 int *ret_err)
{
	struct rd_ep_cold *c = idx < r->ep_used ? rd_ep_cold(r, &r->eps[idx]) : NULL;
	if (!c || c->ops == 0) {
		r->stale_cqes++;
		return false;
	}
	struct rd_endpoint *ep = &r->eps[idx];
	bool gone = false;
	c->ops--;
	switch (op) {
	case RD_OP_POLL:
		if (seq != c->conn_seq || ep->state != REDIAL_STATE_CONNECTED)
			break; /* an earlier connection's watch */
		if (res == -ECANCELED)
			break;
		gone = true;
		*ret_err = res > 0 ? ((res & POLLERR) ? rd_socket_error(c->fd) : 0) : -res;
		break;
	default:
		break;
	}
	/* A zombie is never CONNECTED (its connection was closed when it was removed), so the
	 * slot cannot be freed under an endpoint that is about to hear it was disconnected. */
	rd_ep_maybe_reap(r, ep);
	return gone;
}
