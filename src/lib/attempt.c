/* attempt.c — connect attempts as io_uring chains: building them, cancelling them, and
 * reading what their CQEs say once the last one is in.
 *
 * An attempt is one chain:  [TIMEOUT(wait, ETIME_SUCCESS)] -> SOCKET(direct slot i) ->
 * CONNECT(i) -> [SOCKERR(i)] -> FIXED_FD_INSTALL(i) =hard=> CLOSE_DIRECT(i). On success the
 * install hands us a regular fd and the close frees the slot in the same chain; on failure
 * the link breaks before them and the pump closes the slot afterwards. SOCKERR reads the
 * socket's SO_ERROR where the kernel can (sockerr.h). The outcome is decided only once
 * every CQE of the chain is in, because the kernel does not order them.
 *
 * With IOSQE_CQE_SKIP_SUCCESS, a kept socket's disconnect and the closes after a failed
 * chain (slot, raw fd) post a CQE only when they fail, so `pending` leaves them out. A break
 * before such an op makes it post -ECANCELED like the rest: it is counted once the break is
 * seen; when it fails itself, the kernel posts nothing for the ops after it, counted out then.
 *
 * The connect deadline is not a LINK_TIMEOUT: every attempt's deadline sits on a timer
 * wheel of the attempt table (r->att_wheel, on the same 1 ms ticks as the endpoints'), and
 * only an attempt whose deadline passes gets an ASYNC_CANCEL of its CONNECT, reported as
 * ETIMEDOUT. A refused or successful attempt then touches no kernel timer at all, where a
 * LINK_TIMEOUT armed and cancelled an hrtimer for each (on a VM, the dearest part of a
 * refused attempt). The TIMEOUT head remains only for a pre-armed wait (prearm_ns) and a
 * Happy Eyeballs racer's head start.
 *
 * A refused or timed-out attempt keeps its direct socket for the endpoint's next attempt
 * when that is near (RD_ST_PARKED, rd_ep_spare): Linux lets a TCP socket whose connect failed
 * connect again once connect(AF_UNSPEC) has cleared it, so the next chain is
 * [TIMEOUT] -> UNCONNECT(i) -> CONNECT(i) -> ..., without the SOCKET before it and the
 * CLOSE after the failure. Creating and tearing down a socket is a large share of what a
 * refused attempt costs the kernel.
 *
 * Kernels without FIXED_FD_INSTALL take two steps: [TIMEOUT ->] SOCKET (a regular fd),
 * then CONNECT on it, and a CLOSE of the fd when it is not kept.
 */
#include "attempt.h"

#include <assert.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "dns.h"
#include "clock.h"
#include "ring.h"
#include "sockerr.h"


/* The first point of the manager's timer grid (t0 + k ticks) at or after ns. */
static uint64_t rd_grid_up(const struct redial *r, uint64_t ns)
{
	if (ns <= r->t0)
		return r->t0;
	return r->t0 + (ns - r->t0 + RD_TICK_NS - 1) / RD_TICK_NS * RD_TICK_NS;
}

/* The wheel tick of an attempt's deadline (which is on the tick grid: never early). */
static uint64_t deadline_tick(uint32_t idx, void *ctx)
{
	const struct redial *r = ctx;
	return rd_tick_of(r, r->att[idx].deadline_ns);
}

int rd_attempts_init(struct redial *r, uint32_t n)
{
	r->att = rd_calloc(n, sizeof(*r->att));
	r->attq = rd_calloc(n, sizeof(*r->attq));
	if (!r->att || !r->attq)
		return -ENOMEM;
	r->natt = n;
	for (uint32_t i = 0; i < n; i++) {
		r->att[i].ep = RD_NONE;
		r->att[i].raw_fd = -1;
		r->att[i].next_free = i + 1 < n ? i + 1 : RD_NONE;
	}
	r->att_free = 0;
	rd_wheel_init(&r->att_wheel, 0, (char *)r->att + offsetof(struct rd_attempt, link),
		      sizeof(*r->att), deadline_tick, r);
	return 0;
}

void rd_attempts_close_all(struct redial *r)
{
	for (uint32_t i = 0; i < r->natt; i++)
		if (r->att[i].raw_fd >= 0)
			close(r->att[i].raw_fd);
}

/* A fresh life for a slot: new generation, nothing seen. */
static void att_reset(struct rd_attempt *a)
{
	assert(!rd_timer_armed(&a->link)); /* its deadline left the wheel with its CONNECT */
	uint32_t gen = (a->gen + 1) & 0xffffffu;
	memset(a, 0, sizeof(*a));
	a->gen = gen;
	a->raw_fd = -1;
	for (unsigned i = 0; i <= RD_OP_ATTEMPT_LAST; i++)
		a->res[i] = -ENOENT;
}

static struct rd_attempt *att_alloc(struct redial *r)
{
	struct rd_attempt *a = &r->att[r->att_free];
	r->att_free = a->next_free;
	r->att_used++;
	att_reset(a);
	return a;
}

static void att_release(struct redial *r, struct rd_attempt *a)
{
	assert(r->att_used > 0);
	assert(a->stage != RD_ST_PARKED);
	rd_wheel_del(&r->att_wheel, (uint32_t)(a - r->att));
	a->ep = RD_NONE;
	a->raw_fd = -1;
	a->next_free = r->att_free;
	r->att_free = (uint32_t)(a - r->att);
	r->att_used--;
}

static void att_want(struct redial *r, struct rd_attempt *a, unsigned bits)
{
	a->want |= (uint8_t)bits;
	if (a->queued)
		return;
	a->queued = 1;
	r->attq[(r->attq_head + r->attq_len) % r->natt] = (uint32_t)(a - r->att);
	r->attq_len++;
}

static void prep_attempt_sqe(struct redial *r, struct io_uring_sqe *sqe, enum rd_op op,
			     struct rd_attempt *a, uint32_t idx, unsigned flags)
{
	sqe->user_data = rd_ud(op, a->gen, idx);
	sqe->flags |= (uint8_t)flags;
	if (op != RD_OP_CANCEL && a->stage == RD_ST_CHAIN)
		a->chain |= (uint16_t)(1u << op);
	if (rd_att_skips_success(op) && rd_sqe_skip_success(r, sqe)) {
		if (a->stage == RD_ST_CHAIN)
			a->skips |= (uint16_t)(1u << op);
		return; /* no CQE to wait for; a standalone close's failure is stale */
	}
	a->pending++;
}

bool rd_attempt_start(struct redial *r, struct rd_endpoint *ep, const union rd_addr *addr,
		      uint64_t timeout_ns, bool racer, uint64_t extra_wait, uint32_t addr_idx)
{
	/* Every kernel timer of an attempt ends on the manager's 1 ms grid (ABS): the waits
	 * and deadlines of thousands of attempts then share one timer interrupt per tick
	 * instead of taking one each, which on a busy manager (and far more under a
	 * hypervisor) is the larger part of what a failed attempt costs. Both only end
	 * later than asked, by less than a tick. */
	uint64_t want = (ep->due_ns > r->now ? ep->due_ns : r->now) + extra_wait;
	uint64_t start = r->now;
	if (want > r->now)
		start = rd_grid_up(r, want); /* never early: the backoff is a lower bound */
	uint64_t wait = start - r->now;
	/* The kept socket, when it suits this address. A racer makes its own. */
	uint32_t spare = racer ? RD_NONE : rd_ep_spare(ep);
	if (spare != RD_NONE && r->att[spare].addr.sa.sa_family != addr->sa.sa_family) {
		rd_attempt_drop_spare(r, ep);
		spare = RD_NONE;
	}
	unsigned need = (wait ? 1u : 0u) + (r->fd_install ? 4u + r->sockerr_cmd : 1u);
	if ((spare == RD_NONE && r->att_free == RD_NONE) || !rd_reserve_sqes(r, need))
		return false;
	struct rd_attempt *a;
	if (spare != RD_NONE) {
		a = &r->att[spare];
		att_reset(a);
		rd_ep_set_attempt(ep, RD_NONE);
		r->att_parked--;
		r->sockets_reused++;
		a->res[RD_OP_SOCKET] = (int)spare; /* the socket exists: attempt_result reads it */
	} else {
		a = att_alloc(r);
	}
	uint32_t idx = (uint32_t)(a - r->att);

	a->ep = rd_ep_index(r, ep);
	a->has_wait = wait != 0;
	a->start_ns = start;
	a->stage = r->fd_install ? RD_ST_CHAIN : RD_ST_SOCKET;
	a->deadline_ns = rd_grid_up(r, start + timeout_ns);
	a->addr = *addr;
	a->racer = racer;
	a->addr_idx = addr_idx;
	int family = addr->sa.sa_family;
	struct io_uring_sqe *sqe;

	/* rd_reserve_sqes made room for the whole chain: none of these gets can fail. */
	if (wait) {
		a->wait_ts = rd_ts(start);
		sqe = rd_get_sqe(r);
		io_uring_prep_timeout(sqe, &a->wait_ts, 0,
				      IORING_TIMEOUT_ABS | IORING_TIMEOUT_ETIME_SUCCESS);
		prep_attempt_sqe(r, sqe, RD_OP_TIMEOUT, a, idx, IOSQE_IO_LINK);
	}
	if (spare != RD_NONE) {
		/* A socket whose connect was refused can connect again only once disconnected
		 * (else the kernel answers ECONNABORTED); one that timed out is still sending
		 * its SYN. connect(AF_UNSPEC) clears both, at once and without a packet. */
		static const struct sockaddr unspec = { .sa_family = AF_UNSPEC };
		sqe = rd_get_sqe(r);
		io_uring_prep_connect(sqe, (int)idx, &unspec, sizeof(unspec));
		prep_attempt_sqe(r, sqe, RD_OP_UNCONNECT, a, idx, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	} else if (r->fd_install) {
		sqe = rd_get_sqe(r);
		io_uring_prep_socket_direct(sqe, family, SOCK_STREAM | SOCK_NONBLOCK, 0, idx, 0);
		prep_attempt_sqe(r, sqe, RD_OP_SOCKET, a, idx, IOSQE_IO_LINK);
	}
	if (r->fd_install) {
		sqe = rd_get_sqe(r);
		io_uring_prep_connect(sqe, (int)idx, &a->addr.sa, rd_addr_len(&a->addr));
		prep_attempt_sqe(r, sqe, RD_OP_CONNECT, a, idx, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
		if (r->sockerr_cmd) {
			/* The connect's check (see settle) in the chain: one system call less
			 * for every connection. */
			sqe = rd_get_sqe(r);
			rd_prep_socket_error(sqe, (int)idx, &a->so_error);
			prep_attempt_sqe(r, sqe, RD_OP_SOCKERR, a, idx, IOSQE_FIXED_FILE | IOSQE_IO_LINK);
		}
		/* Hard link: the slot is closed even if the install fails (EMFILE). */
		sqe = rd_get_sqe(r);
		io_uring_prep_rw(IORING_OP_FIXED_FD_INSTALL_VALUE, sqe, (int)idx, NULL, 0, 0);
		prep_attempt_sqe(r, sqe, RD_OP_INSTALL, a, idx, IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK);
		sqe = rd_get_sqe(r);
		io_uring_prep_close_direct(sqe, idx);
		prep_attempt_sqe(r, sqe, RD_OP_CLOSE_CHAIN, a, idx, 0);
	} else {
		sqe = rd_get_sqe(r);
		io_uring_prep_socket(sqe, family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0);
		prep_attempt_sqe(r, sqe, RD_OP_SOCKET, a, idx, 0);
	}
	rd_wheel_add(&r->att_wheel, idx, rd_tick_of(r, a->deadline_ns));
	if (racer) {
		rd_ep_name(r, ep)->cyc.racer = idx;
	} else {
		rd_ep_set_attempt(ep, idx);
		rd_ep_set_state(r, ep, wait ? REDIAL_STATE_BACKOFF : REDIAL_STATE_CONNECTING);
	}
	return true;
}

/* The op a cancel should aim at: the wait while it runs, else the connect. A deadline aims
 * only at the connect (its wait ended long before it; one whose CQE is still to be reaped
 * must not be cancelled into an ECANCELED outcome). */
static enum rd_op cancel_target(const struct rd_attempt *a)
{
	if (a->has_wait && !(a->seen & (1u << RD_OP_TIMEOUT)) && (a->cancelled || !a->timed_out))
		return RD_OP_TIMEOUT;
	if ((a->stage == RD_ST_CHAIN || a->stage == RD_ST_CONNECT) &&
	    !(a->seen & (1u << RD_OP_CONNECT)))
		return RD_OP_CONNECT;
	return 0;
}

void rd_attempt_abandon(struct redial *r, uint32_t idx)
{
	struct rd_attempt *a = &r->att[idx];
	r->attempts_abandoned += !rd_attempt_waiting(r, idx); /* its connect had begun */
	a->ep = RD_NONE;
	if (a->pending && cancel_target(a)) {
		a->cancelled = 1;
		att_want(r, a, RD_AW_CANCEL);
	}
}

void rd_attempt_drop_spare(struct redial *r, struct rd_endpoint *ep)
{
	uint32_t spare = rd_ep_spare(ep);
	if (spare == RD_NONE)
		return;
	struct rd_attempt *a = &r->att[spare];
	rd_ep_set_attempt(ep, RD_NONE);
	r->att_parked--;
	a->ep = RD_NONE;
	a->stage = RD_ST_CLOSING;
	att_want(r, a, RD_AW_CLOSE_SLOT);
}

void rd_attempt_drop_parked(struct redial *r)
{
	/* A scan of the slots: it runs only when a launch is blocked while sockets are kept,
	 * and no socket is kept again until the blocked endpoint went, so it cannot repeat
	 * on every turn of a long wait. */
	for (uint32_t i = 0; i < r->natt && r->att_parked; i++)
		if (r->att[i].stage == RD_ST_PARKED && r->att[i].ep != RD_NONE)
			rd_attempt_drop_spare(r, &r->eps[r->att[i].ep]);
}

void rd_attempt_abandon_all(struct redial *r, struct rd_endpoint *ep)
{
	rd_attempt_drop_spare(r, ep);
	if (rd_ep_attempt(ep) != RD_NONE) {
		rd_attempt_abandon(r, rd_ep_attempt(ep));
		rd_ep_set_attempt(ep, RD_NONE);
	}
	struct rd_ep_name *en = rd_ep_name(r, ep);
	if (en && en->cyc.racer != RD_NONE) {
		rd_attempt_abandon(r, en->cyc.racer);
		en->cyc.racer = RD_NONE;
	}
}

bool rd_attempt_waiting(const struct redial *r, uint32_t idx)
{
	const struct rd_attempt *a = &r->att[idx];
	return a->has_wait && !(a->seen & (1u << RD_OP_TIMEOUT));
}

/* Reads what the chain's CQEs say happened: 0 and *ret_fd for a connection, else -errno.
 * -ECANCELED only when we cancelled it ourselves; the deadline becomes -ETIMEDOUT. */
static int attempt_result(const struct rd_attempt *a, int *ret_fd)
{
	if (a->has_wait && a->res[RD_OP_TIMEOUT] == -ECANCELED)
		return -ECANCELED;
	int sock = a->res[RD_OP_SOCKET];
	if (sock < 0)
		return sock;
	if ((a->seen & (1u << RD_OP_UNCONNECT)) && a->res[RD_OP_UNCONNECT] < 0)
		return a->res[RD_OP_UNCONNECT]; /* the kept socket would not clear */
	int conn = a->res[RD_OP_CONNECT];
	if (conn == 0) {
		if ((a->seen & (1u << RD_OP_SOCKERR)) && a->res[RD_OP_SOCKERR] < 0)
			return a->res[RD_OP_SOCKERR]; /* the check failed: the install never ran */
		int fd = a->stage == RD_ST_CHAIN ? a->res[RD_OP_INSTALL] : a->raw_fd;
		if (fd < 0)
			return fd;
		*ret_fd = fd;
		return 0;
	}
	if (conn == -ECANCELED)
		return a->timed_out ? -ETIMEDOUT : -ECANCELED;
	return conn;
}

/* Whether a failed chain's socket may wait for the endpoint's next attempt: only after
 * a refusal or the deadline (a socket that saw anything else is not trusted again), and
 * only while half the attempt slots are left for attempts that need a new socket. The
 * policy drops it again when the next attempt is not near (rd_attempt_drop_spare). */
static bool park_ok(const struct redial *r, const struct rd_attempt *a, int res)
{
	if (res != -ECONNREFUSED && res != -ETIMEDOUT)
		return false;
	if (a->seen & (1u << RD_OP_UNCONNECT) && a->res[RD_OP_UNCONNECT] < 0)
		return false;
	return !r->budget_wait && r->att_parked < r->natt / 2;
}

/* Runs when an attempt has nothing in flight: decides its next step. Returns true, with
 * *ret filled, when its endpoint must hear the outcome. */
static bool settle(struct redial *r, struct rd_attempt *a, struct rd_outcome *ret)
{
	if (a->pending || a->want)
		return false;
	struct rd_endpoint *ep = a->ep == RD_NONE ? NULL : &r->eps[a->ep];

	if (a->stage == RD_ST_SOCKET) {
		int sock = a->res[RD_OP_SOCKET];
		if (sock >= 0 && (!ep || !a->timed_out)) {
			a->raw_fd = sock;
			a->stage = ep ? RD_ST_CONNECT : RD_ST_CLOSING;
			att_want(r, a, ep ? RD_AW_CONNECT : RD_AW_CLOSE_RAW);
			return false;
		}
		if (sock >= 0) {
			/* The deadline passed before the socket was even made: the connect is not
			 * sent, the attempt timed out, and its socket is closed. */
			rd_wheel_del(&r->att_wheel, (uint32_t)(a - r->att));
			a->raw_fd = sock;
			a->stage = RD_ST_CONNECT;
			a->seen |= (uint16_t)(1u << RD_OP_CONNECT);
			a->res[RD_OP_CONNECT] = -ECANCELED;
		}
		/* fall through: the socket itself failed */
	} else if (a->stage == RD_ST_CLOSING) {
		att_release(r, a);
		return false;
	}

	int fd = -1;
	int res = attempt_result(a, &fd);
	if (res == 0 && ep) {
		/* A CONNECT that completes with 0 is not proof of a connection: when an ICMP
		 * error (host or port unreachable, prohibited) answers the SYN, io_uring can
		 * still complete the CONNECT with 0 while the socket holds the error. Only a
		 * socket with no pending error counts as connected. */
		int err = a->seen & (1u << RD_OP_SOCKERR) ? a->so_error : rd_socket_error(fd);
		if (err) {
			if (a->stage == RD_ST_CHAIN)
				close(fd); /* the installed fd; the chain closed the direct slot */
			fd = -1;
			res = -err;
		}
	}
	bool slot_left = a->stage == RD_ST_CHAIN && a->res[RD_OP_SOCKET] >= 0 &&
			 a->res[RD_OP_CLOSE_CHAIN] == -ECANCELED;
	bool raw_left = a->stage == RD_ST_CONNECT && (res != 0 || !ep);

	if (ep) {
		if (a->racer)
			rd_ep_name(r, ep)->cyc.racer = RD_NONE;
		else
			rd_ep_set_attempt(ep, RD_NONE);
		ret->ep = a->ep;
		ret->res = res;
		ret->fd = res == 0 ? fd : -1;
		ret->addr_idx = a->addr_idx;
		ret->start_ns = a->start_ns;
		ret->addr = a->addr;
		if (res == 0)
			a->raw_fd = -1; /* the endpoint owns it now */
	} else if (res == 0 && a->stage == RD_ST_CHAIN) {
		/* Connected just as it was cancelled: the fd is nobody's. */
		close(fd);
	}

	if (slot_left && ep && !a->racer && park_ok(r, a, res)) {
		assert(ep->att == RD_NONE); /* its chain, this one, is over */
		a->stage = RD_ST_PARKED;
		rd_ep_set_spare(ep, (uint32_t)(a - r->att));
		r->att_parked++;
	} else if (slot_left || raw_left) {
		a->stage = RD_ST_CLOSING;
		att_want(r, a, slot_left ? RD_AW_CLOSE_SLOT : RD_AW_CLOSE_RAW);
	} else {
		att_release(r, a);
	}
	return ep != NULL;
}

/* An ASYNC_CANCEL of the attempt's op `target`, in sqe. */
static void prep_cancel(struct redial *r, struct io_uring_sqe *sqe, struct rd_attempt *a,
			uint32_t idx, enum rd_op target)
{
	io_uring_prep_cancel64(sqe, rd_ud(target, a->gen, idx), 0);
	prep_attempt_sqe(r, sqe, RD_OP_CANCEL, a, idx, 0);
	r->kernel_cancels++;
}

/* Aims a timed-out attempt's cancel at its CONNECT, or tries again on the next tick when
 * there is no SQ room or the CONNECT is not issued yet (still behind its SOCKET). Not
 * through the attempt queue: the chain may finish before the queue is sent, and then its
 * outcome must reach the endpoint from the CQE that finished it, which a queued want
 * would hold back. */
static void deadline_cancel(struct redial *r, struct rd_attempt *a, uint32_t idx, bool retry)
{
	if (!cancel_target(a))
		return;
	struct io_uring_sqe *sqe = retry ? NULL : rd_get_sqe(r);
	if (!sqe) {
		a->deadline_ns = r->t0 + (rd_tick_of(r, r->now) + 1) * RD_TICK_NS;
		rd_wheel_add(&r->att_wheel, idx, rd_tick_of(r, a->deadline_ns));
		return;
	}
	prep_cancel(r, sqe, a, idx, RD_OP_CONNECT);
}

void rd_attempt_deadlines(struct redial *r)
{
	rd_wheel_advance(&r->att_wheel, rd_tick_of(r, r->now), RD_TL_USER(0));
	uint32_t idx;
	while ((idx = rd_tlist_pop(&r->att_wheel, RD_TL_USER(0))) != RD_TL_NONE) {
		struct rd_attempt *a = &r->att[idx];
		/* Off the wheel only when its CONNECT completes (or the slot is released), so
		 * this attempt's CONNECT is still to come or in flight. */
		a->timed_out = 1;
		if (!a->cancelled) /* an abandoned attempt has its own cancel under way */
			deadline_cancel(r, a, idx, false);
	}
}

uint64_t rd_attempt_next_tick(const struct redial *r)
{
	return rd_wheel_next(&r->att_wheel);
}

bool rd_attempt_pump(struct redial *r)
{
	while (r->attq_len) {
		uint32_t idx = r->attq[r->attq_head];
		struct rd_attempt *a = &r->att[idx];
		struct io_uring_sqe *sqe;
		if (a->want & RD_AW_CANCEL) {
			enum rd_op target = cancel_target(a);
			if (target) {
				if (!(sqe = rd_get_sqe(r)))
					return false;
				prep_cancel(r, sqe, a, idx, target);
			}
			a->want &= (uint8_t)~RD_AW_CANCEL;
		}
		if (a->want & RD_AW_CLOSE_SLOT) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_close_direct(sqe, idx);
			prep_attempt_sqe(r, sqe, RD_OP_CLOSE_SLOT, a, idx, 0);
			a->want &= (uint8_t)~RD_AW_CLOSE_SLOT;
		}
		if (a->want & RD_AW_CLOSE_RAW) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_close(sqe, a->raw_fd);
			prep_attempt_sqe(r, sqe, RD_OP_CLOSE_RAW, a, idx, 0);
			a->want &= (uint8_t)~RD_AW_CLOSE_RAW;
		}
		if (a->want & RD_AW_CONNECT) {
			if (!(sqe = rd_get_sqe(r)))
				return false;
			io_uring_prep_connect(sqe, a->raw_fd, &a->addr.sa, rd_addr_len(&a->addr));
			prep_attempt_sqe(r, sqe, RD_OP_CONNECT, a, idx, 0);
			a->want &= (uint8_t)~RD_AW_CONNECT;
		}
		a->queued = 0;
		r->attq_head = (r->attq_head + 1) % r->natt;
		r->attq_len--;
		/* Its chain may have finished while the work waited here (a cancel that found
		 * nothing left to aim at), or its close posts no CQE: settle it now, nobody
		 * else will. Only an abandoned or closing attempt gets here with nothing
		 * pending, so no endpoint needs to hear of it. */
		if (!a->pending) {
			struct rd_outcome unused;
			bool told = settle(r, a, &unused);
			(void)told;
			assert(!told);
		}
	}
	return true;
}

/* A skipped op failed by itself: the kernel then posts nothing for the ops linked after it
 * (they never run). They count as cancelled: a kept socket's failed disconnect leaves the
 * slot holding it, and its connect's deadline has nothing left to stop. */
static void chain_suppressed(struct redial *r, struct rd_attempt *a, enum rd_op op)
{
	uint16_t gone = rd_att_chain_after(a, op) & (uint16_t)~a->seen;
	for (unsigned q = 1; q <= RD_OP_ATTEMPT_LAST; q++)
		if (gone & (1u << q))
			a->res[q] = -ECANCELED;
	a->pending = (uint16_t)(a->pending - __builtin_popcount(gone & ~a->skips));
	a->skips &= (uint16_t)~gone;
	a->seen |= gone;
	if (gone & (1u << RD_OP_CONNECT))
		rd_wheel_del(&r->att_wheel, (uint32_t)(a - r->att));
}

bool rd_attempt_cqe(struct redial *r, enum rd_op op, uint32_t gen, uint32_t idx, int res,
		    struct rd_outcome *ret)
{
	if (rd_att_skips_success(op) && r->cqe_skip)
		rd_ring_skipped_cqe(r); /* sent uncounted (rd_sqe_skip_success) */
	if (idx >= r->natt || r->att[idx].gen != gen || !r->att[idx].pending) {
		r->stale_cqes++;
		return false;
	}
	struct rd_attempt *a = &r->att[idx];
	unsigned bit = 1u << op;
	if (a->skips & bit) {
		/* A skipped op posted: it failed, or the link broke before it. */
		a->skips &= (uint16_t)~bit;
		a->seen |= (uint16_t)bit;
		a->res[op] = res;
		if (res != -ECANCELED)
			chain_suppressed(r, a, op);
		return settle(r, a, ret);
	}
	a->pending--;
	if (op == RD_OP_CANCEL) {
		/* -ENOENT: the target was not issued yet (still a link) or already done. If it
		 * is still to come, aim again. */
		if (res == -ENOENT || res == -EALREADY) {
			if (a->timed_out && !a->cancelled)
				deadline_cancel(r, a, idx, true);
			else if (cancel_target(a))
				att_want(r, a, RD_AW_CANCEL);
		}
		return settle(r, a, ret);
	}
	a->seen |= (uint16_t)bit;
	a->res[op] = res;
	if (res < 0 && !(op == RD_OP_TIMEOUT && res == -ETIME)) {
		/* The link broke here (or before): the kernel posts -ECANCELED for every op
		 * after, skipped ones included, and those are waited for now. */
		uint16_t more = rd_att_chain_after(a, op) & a->skips;
		a->skips &= (uint16_t)~more;
		a->pending = (uint16_t)(a->pending + __builtin_popcount(more));
	}
	if (op == RD_OP_CONNECT)
		rd_wheel_del(&r->att_wheel, idx); /* its deadline has nothing left to stop */
	if (op == RD_OP_TIMEOUT && a->ep != RD_NONE && res == -ETIME) {
		/* The backoff wait is over: the endpoint is connecting now. */
		rd_ep_set_state(r, &r->eps[a->ep], REDIAL_STATE_CONNECTING);
	}
	return settle(r, a, ret);
}
