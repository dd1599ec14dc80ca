/* manager_state.h — struct redial: the state of one manager, which every part of the engine
 * reads and changes. Only the struct and the value types it holds: no function is declared
 * here, so including it ties a file to no other file's code. Each part's functions are in
 * that part's header (endpoint.h, attempt.h, ring.h, ...), and each counter here names the
 * one file that changes it. */
#ifndef RD_MANAGER_STATE_H
#define RD_MANAGER_STATE_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ep_cold.h"
#include "errtab.h"
#include "optstab.h"
#include "redial.h"
#include "wheel.h"

/* The timer wheel's tick, and the grid every kernel timer of an attempt ends on. */
#define RD_TICK_NS 1000000ull
#define RD_BATCH 256 /* CQEs reaped per batch; the event queue starts at 4 batches */

struct rd_attempt;
struct rd_dns;
struct rd_endpoint;
struct rd_late;
struct rd_pending_event;
struct rd_post;
struct rd_tls_cfg;
struct rd_tls_hs;

struct redial {
	struct io_uring ring;
	bool ring_ok;
	bool enabled;               /* IORING_SETUP_R_DISABLED lifted by the owning thread */
	bool fd_install;            /* chains hand over the fd in the kernel */
	bool sockerr_cmd;           /* chains read SO_ERROR in the kernel (sockerr.h) */
	bool cqe_skip;              /* IOSQE_CQE_SKIP_SUCCESS (IORING_FEAT_CQE_SKIP, 5.17): ops
				       whose success says nothing new post no CQE (ring.c) */
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
	struct rd_late *late;       /* what DISCONNECTED events handed out, released at the next
				       run (late.c) */
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
	struct rd_wheel att_wheel;  /* their connect deadlines, by attempt slot (attempt.c) */
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
	struct rd_timer *hs_timer;     /* each handshake's deadline timer, by slot */
	struct rd_wheel hs_wheel;      /* their deadlines (tls.c) */
	uint32_t nhs, hs_cap, hs_free;
	uint32_t hsq_head, hsq_tail;   /* handshakes with a chain to send */
	uint32_t tls_inflight;
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

#endif
