/* tls.h — the TLS handshake on the ring (tls.c: a memory BIO per connection, SEND/RECV SQEs,
 * deadlines on a timer wheel, buffers from a per-manager pool) and a TLS endpoint's state. Like
 * attempt.c, tls.c never decides what a handshake's outcome means: it hands a struct
 * rd_tls_outcome to policy.c. The configurations are in tls_cfg.h, a connection's end in
 * tls_conn.h; only these three files call OpenSSL. */
#ifndef RD_TLS_H
#define RD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "sockaddr.h"
#include "ud.h"

struct redial;
struct rd_outcome;
struct ssl_st;
struct ssl_session_st;

struct rd_tls_cfg; /* tls_cfg.h */

/* Per TLS endpoint (ep->tls), allocated when it is added. */
struct rd_tls_ep {
	struct rd_tls_cfg *cfg;
	struct ssl_session_st *session; /* the last good connection's, offered to resume */
	struct ssl_st *ssl;         /* CONNECTED: the connection */
	uint32_t hs;                /* the handshake in flight (index), or RD_NONE */
	uint32_t unnamed;           /* unnamed verification failures in a row */
	uint64_t handshakes, resumed;
	char version[16], cipher[64], alpn[32]; /* of the last completed handshake */
	char reason[128];           /* the library's reason for the last failure */
};

/* A finished handshake, for policy.c. On success (err 0) the endpoint's ep->tls->ssl holds
 * the connection and fd is its socket; otherwise the socket is closed already. */
struct rd_tls_outcome {
	uint32_t ep;
	int err;               /* 0, a positive errno or a REDIAL_E_TLS_* code */
	bool unnamed;          /* a verification failure the library could not name */
	int fd;
	uint32_t addr_idx;
	uint64_t start_ns;     /* when the connect began */
	union rd_addr addr;
};

int rd_tls_init(struct redial *r);
/* Frees the handshakes still held (closing their sockets) and the buffer pool. */
void rd_tls_free(struct redial *r);

/* A TLS endpoint's state; -ENOMEM. */
int rd_tls_ep_attach(struct redial *r, struct rd_endpoint *ep, struct rd_tls_cfg *cfg);
/* Frees it (nothing may be in flight: stop the endpoint first). */
void rd_tls_ep_free(struct redial *r, struct rd_endpoint *ep);

/* Starts the handshake on a connected socket (o->fd, now owned by the handshake and counted
 * in fds_open). 0; -errno, or a REDIAL_E_TLS_* code when OpenSSL refused to begin (reason in
 * ep->tls->reason): nothing started then, and the caller still owns the fd. */
int rd_tls_start(struct redial *r, struct rd_endpoint *ep, const struct rd_outcome *o);
/* Stops ep's handshake, if any: the kernel is asked to cancel its operations before this
 * returns, its socket closed; what is left drains in the background. */
void rd_tls_abandon(struct redial *r, struct rd_endpoint *ep);

/* Cancels the handshakes whose deadline passed by r->now (their outcome comes with the
 * cancelled ops' CQEs, as a timeout). */
void rd_tls_deadlines(struct redial *r);
/* The wheel tick of the earliest handshake deadline, RD_WHEEL_NONE when none is set. */
uint64_t rd_tls_next_tick(const struct redial *r);

/* Sends queued handshake SQEs. False when the SQ filled up first. */
bool rd_tls_pump(struct redial *r);
/* One CQE of a handshake op. True, with *ret filled, when a handshake finished whose
 * endpoint still wants to hear it. */
bool rd_tls_cqe(struct redial *r, enum rd_op op, uint32_t gen, uint32_t idx, int res,
		struct rd_tls_outcome *ret);

#endif
