/* internal.h — the manager's data structures, shared by ring.c and engine.c. */
#ifndef RD_INTERNAL_H
#define RD_INTERNAL_H

#include <liburing.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "redial.h"
#include "dns.h"
#include "wheel.h"

#define RD_NONE UINT32_MAX

/* io_uring bits newer than liburing 2.3's headers; the kernel is probed for each. */
#ifndef IORING_OP_FIXED_FD_INSTALL_VALUE
#define IORING_OP_FIXED_FD_INSTALL_VALUE 54
#endif

/* What a CQE belongs to: the kind in the top byte of user_data, a 24-bit generation (of the
 * attempt, or of the endpoint's connection) and a 32-bit slot index. */
enum rd_op {
	/* attempt ops: index = attempt slot (= direct descriptor slot), gen = attempt gen */
	RD_OP_TIMEOUT = 1, /* the backoff wait heading a chain */
	RD_OP_SOCKET,
	RD_OP_CONNECT,
	RD_OP_LTIMEOUT,    /* the per-attempt deadline */
	RD_OP_INSTALL,     /* FIXED_FD_INSTALL: a regular fd for the connected socket */
	RD_OP_CLOSE_CHAIN, /* close of the direct slot, last in the chain */
	RD_OP_CLOSE_SLOT,  /* close of the direct slot when the chain broke before it */
	RD_OP_CLOSE_RAW,   /* fallback path: close of a regular fd from SOCKET */
	RD_OP_CANCEL,      /* async cancel aimed at the chain */
	RD_OP_ATTEMPT_LAST = RD_OP_CANCEL,
	/* endpoint ops: index = endpoint slot, gen = connection sequence */
	RD_OP_POLL,        /* watch of a connected fd */
	RD_OP_POLL_REMOVE,
	RD_OP_CLOSE_FD,
	/* manager ops */
	RD_OP_WAKE,        /* the timer that wakes the loop for the wheel */
	RD_OP_WAKE_UPDATE,
	RD_OP_DNS_POLL,    /* index = c-ares socket fd, gen = its watch sequence */
	RD_OP_DNS_POLL_REMOVE,
	RD_OP_COUNT
};

static inline uint64_t rd_ud(enum rd_op op, uint32_t gen, uint32_t idx)
{
	return ((uint64_t)op << 56) | ((uint64_t)(gen & 0xffffffu) << 32) | idx;
}
static inline enum rd_op rd_ud_op(uint64_t ud) { return (enum rd_op)(ud >> 56); }
static inline uint32_t rd_ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & 0xffffffu; }
static inline uint32_t rd_ud_idx(uint64_t ud) { return (uint32_t)ud; }

/* Options shared by many endpoints, reference counted: most tables use one set. */
struct rd_opts {
	uint32_t refs;
	uint32_t alert_after;
	uint64_t connect_timeout_ns;
	uint64_t stable_after_ns;
	struct redial_backoff backoff;
};

enum rd_att_stage {
	RD_ST_CHAIN,   /* direct path: the whole chain is in flight */
	RD_ST_SOCKET,  /* fallback path: [TIMEOUT ->] SOCKET in flight */
	RD_ST_CONNECT, /* fallback path: CONNECT -> LINK_TIMEOUT in flight */
	RD_ST_CLOSING, /* only the close of what the chain left behind */
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
	uint32_t ep;
	uint32_t gen;
	uint32_t next_free;
	uint16_t pending;     /* CQEs still to come */
	uint16_t seen;        /* bit per rd_op seen */
	int32_t res[RD_OP_ATTEMPT_LAST + 1];
	uint8_t has_wait;
	uint8_t cancelled;    /* we asked the kernel to cancel it */
	uint8_t stage;        /* enum rd_att_stage */
	uint8_t want;         /* enum rd_att_want: SQEs the pump still has to send */
	uint8_t queued;       /* on r->attq */
	int32_t raw_fd;       /* fallback path: the regular fd from SOCKET */
	uint8_t racer;        /* the endpoint's second (Happy Eyeballs) attempt */
	uint32_t addr_idx;    /* NAME endpoints: index in the cycle's address list */
	union rd_addr addr;   /* where this attempt connects */
	uint64_t start_ns;    /* when the connect phase began */
	struct __kernel_timespec wait_ts;
	struct __kernel_timespec conn_ts;
};

#define RD_EP_INLINE_ERRS 4

struct rd_errcount {
	uint16_t err;
	uint32_t count;
} __attribute__((packed));

enum rd_ep_flags {
	RD_EPF_LIVE = 1u << 0,    /* the slot holds an endpoint the user can name */
	RD_EPF_ZOMBIE = 1u << 1,  /* removed; the slot is freed when its ops drain */
	RD_EPF_READYQ = 1u << 2,  /* `link` is on the ready queue (else maybe on the wheel) */
	RD_EPF_OPQ = 1u << 3,     /* on the endpoint-op queue */
};

/* Endpoint ops the pump still has to send. */
enum rd_ep_want {
	RD_EW_WATCH = 1u << 0,    /* POLL_ADD on fd */
	RD_EW_UNWATCH = 1u << 1,  /* POLL_REMOVE of the watch tagged watch_seq */
	RD_EW_CLOSE = 1u << 2,    /* IORING_OP_CLOSE of close_fd */
};

/* An endpoint. Kept small: 100k of them should cost well under 256 bytes each.
 * Invariant: an endpoint is on at most one of (wheel, ready queue, attempt in flight,
 * connected), and `state` says which. */
struct rd_endpoint {
	struct rd_timer link;       /* wheel or ready queue */
	union rd_addr addr;         /* address endpoints; NAME endpoints: the last one tried */
	struct rd_ep_name *name;    /* NAME:PORT endpoints only */
	void *user;
	struct rd_opts *opts;
	uint32_t gen;               /* bumped when the slot is freed: ids carry it */
	uint32_t epoch;             /* bumped on cancel/remove/start: stale queued events die */
	uint32_t attempt;           /* RD_NONE when no chain is in flight */
	uint32_t conn_seq;          /* tags POLL/CLOSE ops of one connection */
	int32_t fd;                 /* connected fd, -1 otherwise */
	int32_t close_fd;           /* fd waiting for RD_EW_CLOSE, -1 when none */
	uint32_t watch_seq;         /* conn_seq of the armed watch */
	uint32_t opq_next;          /* endpoint-op queue link (free list link when free) */
	uint16_t ops;               /* endpoint ops in flight (poll, poll remove, close) */
	uint8_t state;              /* enum redial_state */
	uint8_t flags;              /* enum rd_ep_flags */
	uint8_t want;               /* enum rd_ep_want */
	uint8_t last_class;
	uint8_t gave_up;
	uint16_t last_error;
	uint32_t streak;            /* consecutive failed attempts */
	uint32_t level;             /* backoff level: failures and unstable drops since healthy */
	uint64_t due_ns;            /* when the next attempt may start */
	uint64_t streak_start_ns;
	uint64_t prev_delay_ns;
	uint64_t mark_ns;           /* CONNECTED: when it came up; otherwise: when it went down */
	uint32_t attempts, connects, failures, disconnects, local_errors;
	uint16_t nerr_more;
	struct rd_errcount errs[RD_EP_INLINE_ERRS];
	struct rd_errcount *err_more;
};

/* An event waiting for dispatch; dropped if the endpoint's epoch moved on meanwhile. */
struct rd_pending_event {
	struct redial_event ev;
	union rd_addr addr;         /* ev.addr points here (set at dispatch) when has_addr */
	bool has_addr;
	uint32_t ep;
	uint32_t epoch;
};

struct redial {
	struct io_uring ring;
	bool ring_ok;
	bool enabled;               /* IORING_SETUP_R_DISABLED lifted by the owning thread */
	bool fd_install;            /* chains hand over the fd in the kernel */
	bool in_dispatch;
	bool in_run;
	bool stop;
	bool tables_ready;
	int efd;                    /* redial_fd(): an eventfd the ring signals, -1 until asked */          /* eps/att initialised: their fds are meaningful */
	uint32_t setup_flags;
	uint32_t features;

	struct redial_config cfg;
	struct redial_endpoint_opts defaults; /* cfg.endpoint_defaults, checked and copied */
	struct redial_rng rng;

	/* endpoints */
	struct rd_endpoint *eps;
	uint32_t neps;              /* capacity */
	uint32_t ep_free;           /* free list through opq_next, RD_NONE terminated */
	uint32_t opq_head, opq_tail; /* endpoints with ops to send, FIFO through opq_next */
	uint32_t live;
	uint32_t by_state[REDIAL_STATE_COUNT];
	struct rd_opts *last_opts;  /* interning cache */

	/* attempts */
	struct rd_attempt *att;
	uint32_t natt;
	uint32_t att_free;
	uint32_t att_used;
	uint32_t *attq;             /* attempts with SQEs to send (want != 0), FIFO ring */
	uint32_t attq_head, attq_len;

	/* time */
	uint64_t t0;                /* wheel tick 0, CLOCK_MONOTONIC ns */
	uint64_t now;
	struct rd_wheel wheel;
	struct rd_timer readyq;     /* endpoints due (or nearly) whose chain is not submitted */
	uint64_t wake_armed_ns;     /* absolute time of the armed wake, UINT64_MAX: none */
	struct __kernel_timespec wake_ts;
	struct __kernel_timespec wake_upd_ts;
	bool wake_inflight;
	bool wake_update_inflight;
	bool wake_remove;           /* shutdown: take the wake timer out */

	/* the resolver, created with the first NAME endpoint */
	struct rd_dns *dns;

	/* local-resource throttle: the whole manager pauses new attempts */
	uint64_t throttle_until_ns;
	uint64_t throttle_delay_ns;

	/* events */
	struct rd_pending_event *evq;
	uint32_t nevq, evq_cap;

	/* counters */
	uint64_t inflight;
	uint32_t fds_open;
	uint64_t attempts, connects, failures, disconnects, gave_up, local_errors;
	uint64_t submits, sqes, cqes, cq_overflows, sq_full, lost_cqes, throttles, kernel_cancels;
	uint64_t stale_cqes;
	uint64_t events_lost;
};

/* engine.c, for dns.c */
struct io_uring_sqe *rd_get_sqe(struct redial *r);
void rd_ep_resolved(struct redial *r, struct rd_endpoint *ep);
void rd_ep_resolve_failed(struct redial *r, struct rd_endpoint *ep, int code, uint64_t start_ns);

/* addr.c */
int rd_endpoint_parse_name(const char *s, char *host, size_t hostcap, uint16_t *ret_port,
			   char *errbuf, size_t errlen);

/* ring.c */
int rd_ring_setup(struct redial *r);
int rd_ring_enable(struct redial *r);
void rd_ring_teardown(struct redial *r);
void rd_set_create_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
