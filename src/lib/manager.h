/* manager.h — struct redial, the one object every part of the engine works on, and the ring
 * primitives they share (ring.c). Each part's own state is declared in its header:
 * config.h, endpoint.h, attempt.h, events.h, dns.h. */
#ifndef RD_MANAGER_H
#define RD_MANAGER_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "attempt.h"
#include "config.h"
#include "endpoint.h"
#include "events.h"
#include "redial.h"
#include "wheel.h"

/* io_uring bits newer than liburing 2.3's headers; the kernel is probed for each. */
#ifndef IORING_OP_FIXED_FD_INSTALL_VALUE
#define IORING_OP_FIXED_FD_INSTALL_VALUE 54
#endif

#define RD_BATCH 256 /* CQEs reaped per batch; the event queue starts at 4 batches */

struct rd_dns;
struct rd_tls_cfg;
struct rd_tls_hs;

struct redial {
	struct io_uring ring;
	bool ring_ok;
	bool enabled;               /* IORING_SETUP_R_DISABLED lifted by the owning thread */
	bool fd_install;            /* chains hand over the fd in the kernel */
	bool sockerr_cmd;           /* chains read SO_ERROR in the kernel (sockerr.h) */
	bool in_dispatch;
	bool in_run;
	atomic_bool stop;           /* redial_stop, from any thread */
	bool tables_ready;          /* eps/att initialised: their fds are meaningful */
	bool destroy_pending;       /* redial_destroy from inside a callback: freed on the way out */
	bool silent;                /* being destroyed: no callback fires any more */
	uint8_t serial;             /* this manager's tag in endpoint ids */
	_Atomic int efd;            /* redial_fd(): an eventfd the ring signals, -1 until asked */

	/* embedding (embed.c) */
	pthread_t owner;            /* the one thread every call but wake/post/stop must come from */
	int wake_fd;                /* redial_wake writes it; the ring watches it */
	bool wake_watch;            /* its POLL_ADD is in the ring */
	bool wake_watch_cancel;     /* shutdown: the POLL_REMOVE of it is in the ring */
	pthread_mutex_t post_mu;    /* guards the post queue */
	struct rd_post *post_head, *post_tail;
	bool post_closed;           /* destroying: redial_post refuses */
	atomic_bool post_pending;
	int *late_fds;              /* fds of DISCONNECTED events, closed at the next run */
	uint32_t nlate, late_cap;
	uint32_t max_fds;           /* the fd budget */
	uint32_t setup_flags;
	uint32_t features;

	struct redial_config cfg;
	struct redial_endpoint_opts defaults; /* cfg.endpoint_defaults, checked and copied */
	struct redial_rng rng;

	/* endpoints (endpoint.c) */
	struct rd_endpoint *eps;
	uint32_t neps;              /* capacity */
	uint32_t ep_used;           /* slots set up so far (the rest are untouched zero pages) */
	uint32_t ep_free;           /* free list through opq_next, RD_NONE terminated */
	uint32_t opq_head, opq_tail; /* endpoints with connection ops to send (connection.c) */
	uint32_t live;
	uint32_t by_state[REDIAL_STATE_COUNT];
	struct rd_optstab opts;     /* the endpoints' options, interned (optstab.h) */
	struct rd_coldtab cold;     /* the endpoints' out-of-line records (ep_cold.h) */
	struct rd_errtab errx;      /* endpoints' errno counters beyond their first (errtab.h) */

	/* attempts (attempt.c) */
	struct rd_attempt *att;
	uint32_t natt;
	uint32_t att_free;
	uint32_t att_used;          /* slots not free: in flight, closing or parked */
	uint32_t att_parked;        /* slots holding a socket for an endpoint's next attempt */
	bool budget_wait;           /* the last pump left an endpoint waiting for a slot or the
				       fd budget: no socket is kept meanwhile (loop.c) */
	uint32_t *attq;             /* attempts with SQEs to send (want != 0), FIFO ring */
	uint32_t attq_head, attq_len;

	/* time */
	uint64_t t0;                /* wheel tick 0, CLOCK_MONOTONIC ns */
	uint64_t now;
	struct rd_wheel wheel;
	/* (the ready queue is a list on the wheel's links: RD_READYQ, endpoint.h) */
	uint64_t wake_armed_ns;     /* absolute time of the armed wake, UINT64_MAX: none */
	struct __kernel_timespec wake_ts;
	struct __kernel_timespec wake_upd_ts;
	bool wake_inflight;
	bool wake_update_inflight;
	bool wake_remove;           /* shutdown: take the wake timer out */

	/* the resolver, created with the first NAME endpoint (dns.c) */
	struct rd_dns *dns;

	/* TLS (tls.c, tls_cfg.c): configurations, the handshake pool and its queue */
	struct rd_tls_cfg *tls_cfgs;
	struct rd_tls_hs **hs;
	uint32_t nhs, hs_cap, hs_free;
	uint32_t hsq_head, hsq_tail;   /* handshakes with a chain to send */
	uint32_t tls_inflight;
	void **tls_late;               /* SSLs of DISCONNECTED events, freed at the next run */
	uint32_t ntls_late, tls_late_cap;
	uint64_t tls_handshakes, tls_resumed;

	/* local-resource throttle: the whole manager pauses new attempts (policy.c) */
	uint64_t throttle_until_ns;
	uint64_t throttle_delay_ns;

	/* events (events.c) */
	struct rd_pending_event *evq;
	uint32_t nevq, evq_cap;

	/* counters */
	uint64_t inflight;
	uint32_t fds_open;
	uint64_t attempts, connects, failures, disconnects, gave_up, local_errors;
	uint64_t submits, sqes, cqes, cq_overflows, sq_full, lost_cqes, throttles, kernel_cancels;
	uint64_t stale_cqes;
	uint64_t sockets_reused;
	uint64_t events_lost;
	uint64_t attempts_abandoned; /* attempt.c, policy.c (rd_policy_stop) */
};

/* The options ep runs with. */
static inline const struct rd_opts *rd_ep_opts(const struct redial *r,
					      const struct rd_endpoint *ep)
{
	return rd_optstab_at(&r->opts, ep->opts);
}

/* ep's cold record (ep_cold.h), NULL while it has none; and what lives there. */
static inline struct rd_ep_cold *rd_ep_cold(const struct redial *r,
					    const struct rd_endpoint *ep)
{
	return rd_cold_at(&r->cold, ep->cold);
}
static inline struct rd_ep_name *rd_ep_name(const struct redial *r,
					    const struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	return c ? c->name : 0;
}
static inline struct rd_tls_ep *rd_ep_tls(const struct redial *r, const struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	return c ? c->tls : 0;
}
/* The connected fd, -1 when not CONNECTED. */
static inline int rd_ep_fd(const struct redial *r, const struct rd_endpoint *ep)
{
	struct rd_ep_cold *c = rd_ep_cold(r, ep);
	return c ? c->fd : -1;
}

/* manager.c: frees a manager whose destroy was asked for from inside a callback, once the
 * loop has unwound. */
void rd_destroy_now(struct redial *r);

/* ring.c */
int rd_ring_setup(struct redial *r);
int rd_ring_enable(struct redial *r);
void rd_ring_teardown(struct redial *r);
/* One SQE, counted in flight; when the SQ is full, what is there is submitted first.
 * NULL when it stays full (the caller keeps its work queued). */
struct io_uring_sqe *rd_get_sqe(struct redial *r);
/* Runs the completions the kernel keeps as deferred task work, in batches, without arming
 * a timer (see ring.c). */
void rd_ring_run_deferred(struct redial *r);
/* Runs every completion waiting as task work, in one enter each time (arming an hrtimer
 * that is already due, so dearer than rd_ring_run_deferred): for the rare paths that must
 * see everything settled, a TLS cancel before it closes the fd. */
void rd_ring_drain_deferred(struct redial *r);
/* Room for `need` SQEs in a row (a chain must be contiguous); false when there is none. */
bool rd_reserve_sqes(struct redial *r, unsigned need);

static inline uint64_t rd_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline struct __kernel_timespec rd_ts(uint64_t ns)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(ns / 1000000000ull),
		.tv_nsec = (long long)(ns % 1000000000ull),
	};
	return ts;
}

#endif
