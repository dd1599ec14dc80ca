/* attempt.h — connect attempts: the chain of SQEs one attempt is, the user_data codec that
 * ties every CQE back to its attempt, cancellation, and reading what a finished chain says.
 * An attempt never decides what its outcome means: it hands a struct rd_outcome back to the
 * loop, which gives it to policy.c. */
#ifndef RD_ATTEMPT_H
#define RD_ATTEMPT_H

#include <stdbool.h>
#include <liburing.h>
#include <stdint.h>

#include "endpoint.h"
#include "sockaddr.h"
#include "ud.h"

enum rd_att_stage {
	RD_ST_CHAIN,   /* direct path: the whole chain is in flight */
	RD_ST_SOCKET,  /* fallback path: [TIMEOUT ->] SOCKET in flight */
	RD_ST_CONNECT, /* fallback path: CONNECT in flight */
	RD_ST_CLOSING, /* only the close of what the chain left behind */
	RD_ST_PARKED,  /* nothing in flight: its socket waits for its endpoint's next attempt */
};

enum rd_att_want {
	RD_AW_CANCEL = 1u << 0,
	RD_AW_CLOSE_SLOT = 1u << 1,
	RD_AW_CONNECT = 1u << 2,
	RD_AW_CLOSE_RAW = 1u << 3,
};

/* One connect attempt in flight. Its index is also its direct-descriptor slot, which is
 * why it lives until every CQE of the chain (and the slot's close) has been reaped.
 * `ep` is RD_NONE once the endpoint has moved on (cancelled): the attempt then only
 * drains, closing whatever the kernel created. */
struct rd_attempt {
	struct rd_timer link; /* on r->att_wheel until its CONNECT completes: the deadline */
	uint32_t ep;
	uint32_t gen;
	uint32_t next_free;
	uint16_t pending;     /* CQEs still to come (not those of `skips`) */
	uint16_t seen;        /* bit per rd_op seen */
	uint16_t chain;       /* bit per rd_op of its one chain (RD_ST_CHAIN) */
	uint16_t skips;       /* bit per chain op sent with CQE_SKIP_SUCCESS, not counted in
				 `pending` and not seen: it posts a CQE only if it fails or its
				 link breaks (attempt.c) */
	int32_t res[RD_OP_ATTEMPT_LAST + 1];
	uint8_t has_wait;
	uint8_t cancelled;    /* we asked the kernel to cancel it */
	uint8_t timed_out;    /* its deadline passed before the CONNECT completed */
	uint8_t stage;        /* enum rd_att_stage */
	uint8_t want;         /* enum rd_att_want: SQEs the pump still has to send */
	uint8_t queued;       /* on r->attq */
	int32_t raw_fd;       /* fallback path: the regular fd from SOCKET */
	int32_t so_error;     /* written by the chain's RD_OP_SOCKERR */
	uint8_t racer;        /* the endpoint's second (Happy Eyeballs) attempt */
	uint32_t addr_idx;    /* NAME endpoints: index in the cycle's address list */
	union rd_addr addr;   /* where this attempt connects */
	uint64_t start_ns;    /* when the connect phase began */
	uint64_t deadline_ns; /* on the tick grid: when its connect is cancelled as timed out */
	struct __kernel_timespec wait_ts;
};
_Static_assert(RD_OP_ATTEMPT_LAST < 16, "rd_attempt.seen has a bit per attempt op");

/* The ops whose success says nothing new, sent with CQE_SKIP_SUCCESS where the kernel has
 * it: the kept socket's disconnect (the connect after it tells) and the closes of what a
 * failed chain left (nothing waits for them). None is ever the target of a cancel of ours,
 * so their -ECANCELED is always a broken link's. Not the install (its result is the fd), nor
 * the chain's close: on success it runs after the install's CQE is out, and a slot freed
 * then could get its next SOCKET before that close runs, which would close the new socket. */
static inline bool rd_att_skips_success(enum rd_op op)
{
	return op == RD_OP_UNCONNECT || op == RD_OP_CLOSE_SLOT || op == RD_OP_CLOSE_RAW;
}

/* The ops of a's chain after op, in the order the kernel runs them: what a break at op
 * cancels. None after the install: its close is hard-linked and runs whatever it did. */
static inline uint16_t rd_att_chain_after(const struct rd_attempt *a, enum rd_op op)
{
	static const uint8_t rank[RD_OP_ATTEMPT_LAST + 1] = {
		[RD_OP_TIMEOUT] = 1, [RD_OP_SOCKET] = 2, [RD_OP_UNCONNECT] = 2,
		[RD_OP_CONNECT] = 3, [RD_OP_SOCKERR] = 4, [RD_OP_INSTALL] = 5,
		[RD_OP_CLOSE_CHAIN] = 6,
	};
	if (op == RD_OP_INSTALL || !rank[op])
		return 0;
	unsigned m = 0;
	for (unsigned q = 1; q <= RD_OP_ATTEMPT_LAST; q++)
		if (rank[q] > rank[op])
			m |= 1u << q;
	return (uint16_t)(m & a->chain);
}

/* What a finished attempt tells its endpoint. The attempt has already let go of it
 * (rd_ep_attempt(ep) or the cycle's racer is RD_NONE again); on success the endpoint owns fd. */
struct rd_outcome {
	uint32_t ep;          /* endpoint slot */
	int res;              /* 0: connected; else -errno (-ETIMEDOUT for the deadline) */
	int fd;               /* the connected socket when res == 0 */
	uint32_t addr_idx;    /* NAME endpoints: where the address stands in the cycle */
	uint64_t start_ns;
	union rd_addr addr;
};

/* The attempt table and its free list. */
int rd_attempts_init(struct redial *r, uint32_t n);
/* Closes what a manager being freed still holds (fallback-path sockets). */
void rd_attempts_close_all(struct redial *r);

/* Sends the chain of one attempt of ep at addr: it waits until ep is due (plus extra_wait,
 * the Happy Eyeballs head start of a racer), then connects within timeout_ns. False when
 * no attempt slot or no SQ room is free (nothing was changed then). */
bool rd_attempt_start(struct redial *r, struct rd_endpoint *ep, const union rd_addr *addr,
		      uint64_t timeout_ns, bool racer, uint64_t extra_wait, uint32_t addr_idx);
/* Detaches an attempt its endpoint no longer wants and asks the kernel to stop it; it then
 * only drains, closing whatever it made. */
void rd_attempt_abandon(struct redial *r, uint32_t idx);
/* Abandons ep's attempt and its racer, if any, and closes its kept socket. */
void rd_attempt_abandon_all(struct redial *r, struct rd_endpoint *ep);
/* Closes the socket ep keeps for its next attempt, if any (see rd_ep_spare). */
void rd_attempt_drop_spare(struct redial *r, struct rd_endpoint *ep);
/* Closes every kept socket (a launch waits for the budget they hold). */
void rd_attempt_drop_parked(struct redial *r);
/* True while an attempt still sits in its backoff wait (its TIMEOUT has not fired). */
bool rd_attempt_waiting(const struct redial *r, uint32_t idx);

/* Cancels the connects whose deadline passed by r->now (they report ETIMEDOUT). */
void rd_attempt_deadlines(struct redial *r);
/* The tick of the earliest deadline, RD_WHEEL_NONE when no connect is in flight. */
uint64_t rd_attempt_next_tick(const struct redial *r);

/* Sends the queued per-attempt SQEs (cancels, closes, fallback connects). False when the
 * SQ filled up first; the rest stays queued. */
bool rd_attempt_pump(struct redial *r);
/* One CQE of an attempt. Returns true, with *ret filled, when it finished an attempt whose
 * endpoint still wants the answer. */
bool rd_attempt_cqe(struct redial *r, enum rd_op op, uint32_t gen, uint32_t idx, int res,
		    struct rd_outcome *ret);

#endif
