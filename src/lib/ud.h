/* ud.h — what every SQE's user_data says: which kind of operation it is and which slot (and
 * which life of that slot) it belongs to, so that the reap loop can route each CQE and drop
 * one that belongs to a slot's earlier life. */
#ifndef RD_UD_H
#define RD_UD_H

#include <stdint.h>

/* What a CQE belongs to: the kind in the top byte of user_data, a 24-bit generation (of the
 * attempt, or of the endpoint's connection) and a 32-bit slot index. */
enum rd_op {
	/* attempt ops: index = attempt slot (= direct descriptor slot), gen = attempt gen */
	RD_OP_TIMEOUT = 1, /* a pre-armed wait or a racer's head start, heading a chain */
	RD_OP_SOCKET,
	RD_OP_CONNECT,     /* (its deadline is on the attempts' wheel, attempt.c) */
	RD_OP_INSTALL,     /* FIXED_FD_INSTALL: a regular fd for the connected socket */
	RD_OP_CLOSE_CHAIN, /* close of the direct slot, last in the chain */
	RD_OP_CLOSE_SLOT,  /* close of the direct slot when the chain broke before it */
	RD_OP_CLOSE_RAW,   /* fallback path: close of a regular fd from SOCKET */
	RD_OP_UNCONNECT,   /* connect(AF_UNSPEC): clears a kept socket before it connects again */
	RD_OP_SOCKERR,     /* SO_ERROR of the connected socket, read in the chain */
	RD_OP_CANCEL,      /* async cancel aimed at the chain */
	RD_OP_ATTEMPT_LAST = RD_OP_CANCEL,
	/* connection ops: index = endpoint slot, gen = connection sequence */
	RD_OP_POLL,        /* watch of a connected fd */
	RD_OP_POLL_REMOVE,
	/* manager ops */
	RD_OP_WAKE,        /* the timer that wakes the loop for the wheel */
	RD_OP_WAKE_UPDATE,
	RD_OP_DNS_POLL,    /* index = c-ares socket fd, gen = its watch sequence */
	RD_OP_DNS_POLL_REMOVE,
	RD_OP_CLOSE_LATE,  /* close of an fd a DISCONNECTED event carried (late.c) */
	RD_OP_WAKE_FD,     /* the watch of the wake eventfd (redial_wake, redial_post) */
	/* TLS handshake ops: index = handshake slot, gen = its generation (tls.c) */
	RD_OP_TLS_SEND,
	RD_OP_TLS_RECV,
	RD_OP_TLS_CANCEL,   /* abandoned, or its deadline (on the handshakes' wheel) passed */
	RD_OP_COUNT
};

static inline uint64_t rd_ud(enum rd_op op, uint32_t gen, uint32_t idx)
{
	return ((uint64_t)op << 56) | ((uint64_t)(gen & 0xffffffu) << 32) | idx;
}
static inline enum rd_op rd_ud_op(uint64_t ud) { return (enum rd_op)(ud >> 56); }
static inline uint32_t rd_ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & 0xffffffu; }
static inline uint32_t rd_ud_idx(uint64_t ud) { return (uint32_t)ud; }

#endif
