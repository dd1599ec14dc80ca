/* loop.c — one turn of the run loop (rd_loop_once) and the flush before control goes back
 * to the application (rd_loop_flush). The calls that run it (redial_run, redial_poll,
 * redial_fd) are in manager.c.
 *
 * The shape of one turn:
 *   1. advance the timer wheels: endpoints now due move to the ready queue, attempts whose
 *      connect deadline passed get the cancel of their connect (attempt.c), and handshakes
 *      whose deadline passed the cancel of their round (tls.c);
 *   2. pump: the SQEs of the turn are produced from the queues of work (attempt work,
 *      TLS handshakes, connection ops, the wake-fd watch, the ready queue of new chains,
 *      the resolver's sockets, the wake timer), so that a full SQ simply leaves work queued
 *      in user space for the next pass. (Besides the pump, the deadline cancels of step 1
 *      and the closes of fds handed out last turn, late.c, go into the same submission.)
 *      Only two things submit outside the loop's enter, because
 *      the application's call must see the kernel act before it returns: a connection's
 *      watch taken back before its fd is closed (connection.c) and a TLS handshake's cancel
 *      (tls.c), both through rd_ring_submit_now. Every SQE comes from rd_get_sqe (ring.c),
 *      which counts it;
 *   3. one io_uring_enter submits the batch and waits;
 *   4. reap CQEs in batches, turning them into state changes and queued events;
 *   5. dispatch the queued events to the application, outside the reap loop.
 */
#include "loop.h"

#include <errno.h>
#include <unistd.h>

#include "attempt.h"
#include "connection.h"
#include "dns.h"
#include "dns_ring.h"
#include "embed.h"
#include "events.h"
#include "launch.h"
#include "clock.h"
#include "fdbudget.h"
#include "ring.h"
#include "policy.h"
#include "tls.h"

/* The wake timer: one absolute TIMEOUT, armed for the earliest of the wheel's next tick,
 * the end of a throttle that holds back ready endpoints, and the resolver's next timeout,
 * so that a loop waiting in the kernel wakes when user-space timers are due. */
static void arm_wake(struct redial *r)
{
	if (r->wake_remove) {
		if (r->wake_inflight && !r->wake_update_inflight) {
			struct io_uring_sqe *sqe = rd_get_sqe(r);
			if (!sqe)
				return;
			io_uring_prep_timeout_remove(sqe, rd_ud(RD_OP_WAKE, 0, 0), 0);
			sqe->user_data = rd_ud(RD_OP_WAKE_UPDATE, 0, 0);
			r->wake_update_inflight = true;
		}
		return;
	}
	uint64_t want = UINT64_MAX;
	uint64_t tick = rd_wheel_next(&r->wheel);
	uint64_t deadline = rd_attempt_next_tick(r), hs_deadline = rd_tls_next_tick(r);
	if (hs_deadline < deadline)
		deadline = hs_deadline;
	if (deadline < tick)
		tick = deadline; /* RD_WHEEL_NONE is UINT64_MAX */
	if (tick != RD_WHEEL_NONE)
		want = r->t0 + tick * RD_TICK_NS;
	if (!rd_tlist_empty(&r->wheel, RD_READYQ) && rd_throttled(r) && r->throttle_until_ns < want)
		want = r->throttle_until_ns;
	uint64_t dns = rd_dns_next_ns(r);
	if (dns < want)
		want = dns;
	if (want == UINT64_MAX)
		return;
	if (!r->wake_inflight) {
		struct io_uring_sqe *sqe = rd_get_sqe(r);
		if (!sqe)
			return;
		r->wake_ts = rd_ts(want);
		io_uring_prep_timeout(sqe, &r->wake_ts, 0, IORING_TIMEOUT_ABS);
		sqe->user_data = rd_ud(RD_OP_WAKE, 0, 0);
		r->wake_inflight = true;
		r->wake_armed_ns = want;
	} else if (want < r->wake_armed_ns && !r->wake_update_inflight) {
		struct io_uring_sqe *sqe = rd_get_sqe(r);
		if (!sqe)
			return;
		r->wake_upd_ts = rd_ts(want);
		io_uring_prep_timeout_update(sqe, &r->wake_upd_ts, rd_ud(RD_OP_WAKE, 0, 0),
					     IORING_TIMEOUT_ABS);
		sqe->user_data = rd_ud(RD_OP_WAKE_UPDATE, 0, 0);
		r->wake_update_inflight = true;
		r->wake_armed_ns = want;
	}
}

/* The ready queue's head waits for a slot or the budget. Kept sockets are a cache, never a
 * claim: while anyone waits, they are all closed (their budget comes back as the closes
 * complete) and no new one is kept (park_ok), so the head goes within one round of closes
 * and the queue stays first come, first served. */
static void launch_blocked(struct redial *r)
{
	r->budget_wait = true;
	if (r->att_parked)
		rd_attempt_drop_parked(r);
}

/* Produces every SQE of this iteration. */
static void pump(struct redial *r)
{
	if (!rd_attempt_pump(r) || !rd_tls_pump(r) || !rd_conn_pump(r) || !rd_embed_pump(r))
		goto wake;
	r->budget_wait = false;
	while (!rd_throttled(r) && !rd_tlist_empty(&r->wheel, RD_READYQ)) {
		struct rd_endpoint *ep = &r->eps[rd_tlist_first(&r->wheel, RD_READYQ)];
		if (!rd_budget_allows(r, ep)) {
			launch_blocked(r);
			break;
		}
		/* Off the queue first: starting may fail the endpoint and queue it again. */
		rd_tlist_pop(&r->wheel, RD_READYQ);
		ep->flags &= (uint8_t)~RD_EPF_READYQ;
		if (ep->state == REDIAL_STATE_FAILED)
			rd_policy_recheck(r, ep); /* its recheck_permanent_ns is up */
		int ret = rd_launch(r, ep);
		if (ret == 0) {
			/* back at the front */
			rd_tlist_push_front(&r->wheel, RD_READYQ, rd_ep_index(r, ep));
			ep->flags |= RD_EPF_READYQ;
			break;
		}
		if (ret < 0)
			rd_policy_launch_failed(r, ep, -ret);
	}
	/* After the ready queue: a query started just now has opened its socket, and the
	 * answer must not wait for the next turn of the loop. */
	rd_dns_pump(r, r->wake_remove);
wake:
	arm_wake(r);
}

static void handle_cqe(struct redial *r, uint64_t ud, int res)
{
	enum rd_op op = rd_ud_op(ud);
	r->inflight--;
	if (op >= RD_OP_TIMEOUT && op <= RD_OP_ATTEMPT_LAST) {
		struct rd_outcome o;
		if (rd_attempt_cqe(r, op, rd_ud_gen(ud), rd_ud_idx(ud), res, &o))
			rd_policy_outcome(r, &o);
	} else if (op >= RD_OP_POLL && op <= RD_OP_POLL_REMOVE) {
		int err;
		uint32_t idx = rd_ud_idx(ud);
		if (rd_conn_cqe(r, op, rd_ud_gen(ud), idx, res, &err))
			rd_policy_disconnected(r, &r->eps[idx], err, false);
	} else if (op == RD_OP_WAKE) {
		r->wake_inflight = false;
		r->wake_armed_ns = UINT64_MAX;
	} else if (op == RD_OP_WAKE_UPDATE) {
		r->wake_update_inflight = false;
	} else if (op == RD_OP_CLOSE_LATE) {
		/* Nothing waits for it: the fd was counted closed when the SQE was made. */
	} else if (op == RD_OP_WAKE_FD) {
		rd_embed_cqe(r, rd_ud_gen(ud), res);
	} else if (op >= RD_OP_TLS_SEND && op <= RD_OP_TLS_CANCEL) {
		struct rd_tls_outcome o;
		if (rd_tls_cqe(r, op, rd_ud_gen(ud), rd_ud_idx(ud), res, &o))
			rd_policy_tls(r, &o);
	} else if (op == RD_OP_DNS_POLL || op == RD_OP_DNS_POLL_REMOVE) {
		rd_dns_cqe(r, op == RD_OP_DNS_POLL_REMOVE, rd_ud_gen(ud), rd_ud_idx(ud), res);
	} else {
		r->stale_cqes++;
	}
}

/* Reaps one batch of CQEs; returns how many. Leaves room in the event queue for the
 * events they may raise (at most 3 each). */
static unsigned reap_batch(struct redial *r)
{
	struct io_uring_cqe *cqes[RD_BATCH];
	uint32_t room = rd_ev_room(r) / 3;
	if (room == 0)
		return 0;
	if (IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
		r->cq_overflows++;
	unsigned n = io_uring_peek_batch_cqe(&r->ring, cqes, room < RD_BATCH ? room : RD_BATCH);
	for (unsigned i = 0; i < n; i++)
		handle_cqe(r, cqes[i]->user_data, cqes[i]->res);
	io_uring_cq_advance(&r->ring, n);
	r->cqes += n;
	return n;
}

/* Step 1 of a turn: what the wheels hold that is due by r->now. */
static void advance_timers(struct redial *r)
{
	rd_service_timers(r);
	rd_attempt_deadlines(r);
	rd_tls_deadlines(r);
}

int rd_loop_once(struct redial *r, uint64_t wait_ns)
{
	if (r->efd >= 0) {
		/* Reset the application's wakeup before reaping: whatever completes after this
		 * signals it again. Empty (EAGAIN) is the common case. */
		uint64_t v;
		(void)!read(r->efd, &v, sizeof(v));
	}
	rd_embed_run_posted(r);
	r->now = rd_clock_ns();
	rd_dns_tick(r);
	struct rd_dns_result dr;
	while (rd_dns_settle(r, &dr))
		rd_policy_resolved(r, &dr);
	advance_timers(r);
	pump(r);

	int ret;
	if (wait_ns && !io_uring_cq_ready(&r->ring) && !r->nevq && !r->stop) {
		struct __kernel_timespec ts = rd_ts(wait_ns);
		struct io_uring_cqe *cqe;
		ret = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
	} else {
		ret = io_uring_submit_and_get_events(&r->ring);
	}
	r->submits++;
	if (ret < 0) {
		switch (ret) {
		case -ETIME:
		case -EINTR:
			break;
		case -EBUSY: /* CQ overflow not yet flushed: reaping below makes room */
		case -EAGAIN:
			break;
		case -EBADR:
			/* The kernel could not keep an overflowed completion. Whatever it was is
			 * lost; count it so that shutdown knows why something never drains. */
			r->lost_cqes++;
			break;
		default:
			return ret;
		}
	}

	int delivered = 0;
	for (;;) {
		rd_ring_run_deferred(r);
		r->now = rd_clock_ns();
		unsigned got = reap_batch(r);
		while (rd_dns_settle(r, &dr))
			rd_policy_resolved(r, &dr);
		delivered += rd_ev_dispatch(r);
		if (!got || r->stop)
			break;
	}
	return delivered;
}

/* Before control goes back to the application: whatever the last pass queued (a watch for
 * a new connection, the next chain, the wake timer) goes to the kernel now, so that an
 * application waiting on redial_fd() is woken by it rather than left waiting for us. */
void rd_loop_flush(struct redial *r)
{
	r->now = rd_clock_ns();
	advance_timers(r);
	pump(r);
	int ret = io_uring_submit(&r->ring);
	if (ret > 0)
		r->submits++;
	/* -EBUSY/-EAGAIN: the SQEs stay in the ring for the next pass, nothing is lost. */
}
