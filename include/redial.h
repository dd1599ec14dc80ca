/* redial.h — keep thousands of outbound TCP connections alive from one io_uring ring.
 *
 * Conventions, for every function below:
 *  - Fallible functions return 0 (or a count) on success and a negative errno on failure.
 *  - Out parameters are named ret_* and are left untouched on failure.
 *  - Structs passed in carry their own size (set by the *_init function); the library reads
 *    only the fields that size covers, so these structs can grow without breaking callers.
 *  - Structs the library passes out (events) may gain fields at the end; never allocate one.
 *  - Threads: a redial_t belongs to one thread, its owner: the thread that created it, or
 *    the first thread that runs it (redial_run, redial_poll or redial_fd) when that comes
 *    first. Only redial_wake, redial_post and redial_stop may be called from any thread
 *    (and redial_destroy, once the owner is done with the manager).
 *    Every other call from another thread fails with -EPERM (REDIAL_E_NOT_OWNER) and does
 *    nothing; that error never means the ring is broken.
 */
#ifndef REDIAL_H
#define REDIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(REDIAL_BUILDING)
#define REDIAL_API __attribute__((visibility("default")))
#else
#define REDIAL_API
#endif

/* REDIAL_VERSION_MAJOR, _MINOR, _PATCH and _STRING: the version of these headers. */
#include "redial_version.h"

/* The version of the library this program runs with ("MAJOR.MINOR.PATCH"), which can differ
 * from REDIAL_VERSION_STRING, the headers' it was compiled with. Static storage. */
REDIAL_API const char *redial_version(void);

#define REDIAL_MSEC(ms) ((uint64_t)(ms) * 1000000ull)
#define REDIAL_SEC(s)   ((uint64_t)(s) * 1000000000ull)

/* Opaque manager: one io_uring ring and a preallocated endpoint table. */
typedef struct redial redial_t;

/* Endpoint id: the slot index in the low 24 bits, the manager's serial (unique among the
 * managers of a process, modulo 256) in the next 8, the slot's generation in the high 32.
 * Ids of managers that share one log therefore differ, so a decoded log attributes each
 * record to the right endpoint. A removed endpoint's id never becomes valid again. 0 is
 * never a valid id. */
typedef uint64_t redial_id_t;

/* ---- Errors and their classes -------------------------------------------------------- */

enum redial_class {
	REDIAL_CLASS_TRANSIENT = 0, /* retried with backoff: refused, timeout, reset, unreachable */
	REDIAL_CLASS_PERMANENT = 1, /* the endpoint stops at once: EAFNOSUPPORT, DNS_NXDOMAIN, ... */
	REDIAL_CLASS_LOCAL = 2,     /* this process is short of something: throttle the manager */
	REDIAL_CLASS_NONE = 3,      /* no error: CONNECTED, an orderly DISCONNECTED, CANCELLED */
};

/* What a call from a thread other than the manager's owner returns (negated). */
#define REDIAL_E_NOT_OWNER EPERM

/* Resolver failures, reported where an errno would be (event err, last_error, per-errno
 * counters). They lie above every Linux errno value. */
#define REDIAL_E_DNS_NXDOMAIN 10001 /* the name does not exist: permanent */
#define REDIAL_E_DNS_NODATA 10002   /* the name has no address records: permanent */
#define REDIAL_E_DNS_SERVFAIL 10003 /* the server failed: transient */
#define REDIAL_E_DNS_TIMEOUT 10004  /* no answer in time: transient */
#define REDIAL_E_DNS_REFUSED 10005  /* the server refused the query: transient */
#define REDIAL_E_DNS_ERROR 10006    /* any other resolver failure: transient */

/* TLS failures (endpoints with opts->tls), reported the same way. The library's own reason
 * (for a verification failure, OpenSSL's text: "certificate has expired") goes with the
 * event (tls_reason) and into the log. */
#define REDIAL_E_TLS_CERT_UNTRUSTED 10101     /* no chain to a trusted CA: permanent */
#define REDIAL_E_TLS_CERT_EXPIRED 10102       /* permanent */
#define REDIAL_E_TLS_CERT_NOT_YET_VALID 10103 /* permanent */
#define REDIAL_E_TLS_HOSTNAME_MISMATCH 10104  /* not for this name or address: permanent */
#define REDIAL_E_TLS_CERT_INVALID 10105       /* any other verification failure: permanent;
						 one the library cannot name (no reason code)
						 is retried REDIAL_TLS_UNNAMED_RETRIES times first */
#define REDIAL_E_TLS_PROTOCOL_VERSION 10106   /* no TLS version in common: permanent */
#define REDIAL_E_TLS_NO_APPLICATION_PROTOCOL 10107 /* no ALPN protocol in common: permanent */
#define REDIAL_E_TLS_HANDSHAKE_FAILURE 10108  /* handshake_failure alert (no cipher or group in
						 common, client certificate refused...): permanent */
#define REDIAL_E_TLS_NOT_TLS 10109            /* the peer does not speak TLS: permanent */
#define REDIAL_E_TLS_HANDSHAKE_TIMEOUT 10110  /* tls_handshake_timeout_ns passed: transient */
#define REDIAL_E_TLS_UNEXPECTED_EOF 10111     /* the peer closed mid-handshake: transient
						 (a reset mid-handshake is ECONNRESET) */
#define REDIAL_E_TLS_INTERNAL_ERROR 10112     /* the peer sent an internal_error alert: transient */
#define REDIAL_E_TLS_ERROR 10113              /* any other TLS failure (a bad record, a decode
						 error...): transient */
#define REDIAL_TLS_UNNAMED_RETRIES 3

/* The built-in classification of a positive errno value (or REDIAL_E_DNS_* code). */
REDIAL_API enum redial_class redial_classify(int err);
/* "transient", "permanent" or "local"; "unknown" for anything else. Static storage. */
REDIAL_API const char *redial_class_name(enum redial_class cls);
/* The symbolic name of a positive errno value ("ECONNREFUSED"), REDIAL_E_DNS_* code
 * ("DNS_NXDOMAIN") or REDIAL_E_TLS_* code ("TLS_CERT_EXPIRED"), or NULL when it has none.
 * Static storage. */
REDIAL_API const char *redial_errno_name(int err);
/* Parses a symbolic errno name back into its value; returns it, or -EINVAL. */
REDIAL_API int redial_errno_from_name(const char *name);

/* Optional override: gets the errno and the built-in class, returns the class to use. */
typedef enum redial_class (*redial_classify_fn)(int err, enum redial_class builtin, void *user);

/* ---- Backoff policy (pure functions) -------------------------------------------------- */

enum redial_jitter {
	REDIAL_JITTER_NONE = 0,         /* delay = min(cap, initial * multiplier^n) */
	REDIAL_JITTER_FULL = 1,         /* uniform in [0, that] */
	REDIAL_JITTER_EQUAL = 2,        /* half of it, plus uniform in [0, half] */
	REDIAL_JITTER_DECORRELATED = 3, /* uniform in [initial, previous * (multiplier + 1)], capped */
};

/* A value type with a fixed layout: the pure functions below take it, and
 * redial_endpoint_opts carries the same fields flat. A new policy knob will come as a new
 * field of redial_endpoint_opts, never as a change of this struct. */
struct redial_backoff {
	uint64_t initial_ns;     /* default 100 ms */
	uint64_t max_ns;         /* the cap; default 30 s */
	double multiplier;       /* >= 1.0; default 2.0 */
	enum redial_jitter jitter; /* default REDIAL_JITTER_FULL */
	uint32_t max_attempts;   /* consecutive failed attempts before giving up; 0 = never */
	uint64_t max_elapsed_ns; /* give up once a failure streak has lasted this long; 0 = never */
};

/* A small seeded generator (xoshiro256**), so that jitter is reproducible in tests. */
struct redial_rng {
	uint64_t s[4];
};

REDIAL_API void redial_rng_seed(struct redial_rng *rng, uint64_t seed);
REDIAL_API uint64_t redial_rng_next(struct redial_rng *rng);

/* Fills *b with the defaults above. */
REDIAL_API void redial_backoff_init(struct redial_backoff *b);
/* Checks a policy; returns 0, or -EINVAL when a field is out of range. */
REDIAL_API int redial_backoff_validate(const struct redial_backoff *b);
/* The delay before the next attempt, after `failures` (>= 1) consecutive failed attempts.
 * prev_ns is the delay returned for the previous failure of the streak (0 for the first);
 * only the decorrelated mode reads it. Never more than b->max_ns. */
REDIAL_API uint64_t redial_backoff_delay(const struct redial_backoff *b, uint32_t failures,
					 uint64_t prev_ns, struct redial_rng *rng);
/* True when a streak of `failures` failed attempts, which started elapsed_ns ago, must stop
 * instead of waiting next_delay_ns for another attempt. */
REDIAL_API bool redial_backoff_exhausted(const struct redial_backoff *b, uint32_t failures,
					 uint64_t elapsed_ns, uint64_t next_delay_ns);

/* ---- Endpoint strings ------------------------------------------------------------------ */

/* Longest accepted endpoint string, NUL excluded, not counting a "tcp://" or "tls://"
 * prefix (see redial_endpoint_add); also the longest redial_endpoint_name writes. */
#define REDIAL_ENDPOINT_MAX 262

/* Parses "A.B.C.D:PORT" or "[IPv6]:PORT" strictly into *ret_addr / *ret_len.
 * On failure returns -EINVAL (malformed) or -ENOTSUP (a well-formed host name, which this
 * address parser does not resolve), and, when errbuf is not NULL, writes a message that
 * names the offending part. It is the scan redial_endpoint_add makes, host name checks
 * included, so the two agree on every string: 0 or -ENOTSUP exactly for the strings add
 * accepts (add may still refuse one for its options, its table or its resolver), -EINVAL
 * with add's message for those it refuses. Hence it also accepts add's "tcp://" and
 * "tls://" prefixes (any other "scheme://" is -EINVAL); the address it returns does not say
 * which one was there. */
REDIAL_API int redial_endpoint_parse(const char *s, struct sockaddr_storage *ret_addr,
				     socklen_t *ret_len, char *errbuf, size_t errlen);
/* Formats an address as the parser accepts it. Returns the length, or -ENOSPC / -EAFNOSUPPORT. */
REDIAL_API int redial_endpoint_format(const struct sockaddr *sa, char *buf, size_t len);

/* ---- Events ------------------------------------------------------------------------------ */

enum redial_state {
	REDIAL_STATE_IDLE = 0,
	REDIAL_STATE_CONNECTING = 1,
	REDIAL_STATE_CONNECTED = 2,
	REDIAL_STATE_BACKOFF = 3,
	REDIAL_STATE_FAILED = 4,
	REDIAL_STATE_CANCELLED = 5,
	REDIAL_STATE_QUEUED = 6,     /* its attempt is due and waits for an attempt slot or the
					fd budget (max_connecting, max_fds) */
};
#define REDIAL_STATE_COUNT 7  /* states defined now */
#define REDIAL_STATE_SLOTS 16 /* room kept for states in redial_stats.by_state */

/* "idle", "connecting", "connected", "backoff", "failed", "cancelled", "queued". Static
 * storage. */
REDIAL_API const char *redial_state_name(enum redial_state st);

enum redial_event_type {
	REDIAL_EV_CONNECTED = 1,      /* fd: the connected socket, borrowed (see below) */
	REDIAL_EV_DISCONNECTED = 2,   /* err: 0 for an orderly close by the peer */
	REDIAL_EV_ATTEMPT_FAILED = 3, /* err, cls, attempt, duration_ns, backoff_ns */
	REDIAL_EV_ALERT = 4,          /* a failure streak reached alert_after */
	REDIAL_EV_GAVE_UP = 5,        /* reason, err: the endpoint is now FAILED */
	REDIAL_EV_CANCELLED = 6,      /* the last event of an endpoint that was cancelled */
};

enum redial_gave_up_reason {
	REDIAL_GAVE_UP_NONE = 0,
	REDIAL_GAVE_UP_PERMANENT = 1,
	REDIAL_GAVE_UP_MAX_ATTEMPTS = 2,
	REDIAL_GAVE_UP_MAX_ELAPSED = 3,
};
/* "permanent", "max_attempts", "max_elapsed". Static storage. */
REDIAL_API const char *redial_gave_up_reason_name(enum redial_gave_up_reason r);
REDIAL_API const char *redial_event_name(enum redial_event_type t);

/* A TLS connection (endpoints with opts->tls): OpenSSL's SSL object underneath, which
 * redial_tls_ssl hands out. Owned like the fd (see below): borrowed while the endpoint is
 * CONNECTED, handed over by redial_endpoint_release. */
typedef struct redial_tls redial_tls_t;

/* Passed to the event callback; valid only during the call.
 *
 * Ownership of the fd in REDIAL_EV_CONNECTED: the manager owns it. The application may read,
 * write and setsockopt it while the endpoint stays connected, but must not close it. To keep
 * the connection, call redial_endpoint_release, which hands it over.
 * The manager closes it:
 *  - after a DISCONNECTED event that the peer caused: the event still carries the fd, open,
 *    so the application can read the last bytes and take it out of its own epoll set; the
 *    fd is closed at the start of the next redial_poll (never in the middle of the
 *    application's batch of epoll events), or, within a long redial_run, at its next turn
 *    after the callback returned;
 *  - before redial_endpoint_fail, _cancel or _remove return (the application asked);
 *  - on destroy. */
struct redial_event {
	enum redial_event_type type;
	redial_id_t id;
	void *user;              /* the endpoint's user pointer */
	const struct sockaddr *addr; /* the address tried or connected; NULL for a resolver
					failure of a NAME:PORT endpoint */
	socklen_t addrlen;
	int fd;                  /* CONNECTED, and DISCONNECTED caused by the peer (still open
				    during the callback); -1 otherwise */
	int err;                 /* positive errno, 0 when none */
	enum redial_class cls;   /* the class of err; REDIAL_CLASS_NONE when err is 0 */
	uint32_t attempt;        /* ATTEMPT_FAILED: number in the failure streak (1-based);
				    CONNECTED: attempts this connection took; ALERT: streak length */
	uint64_t duration_ns;    /* ATTEMPT_FAILED, CONNECTED: how long the attempt took */
	uint64_t backoff_ns;     /* ATTEMPT_FAILED: wait before the next attempt (0: none) */
	uint64_t down_ns;        /* CONNECTED: time since the endpoint was last up (or added) */
	uint64_t up_ns;          /* DISCONNECTED: how long the connection had been up */
	enum redial_gave_up_reason reason; /* GAVE_UP */
	uint64_t mono_ns;        /* CLOCK_MONOTONIC time of the event */
	/* TLS endpoints. CONNECTED, and DISCONNECTED caused by the peer: the connection's TLS
	 * session, borrowed like fd (redial_tls_info, redial_tls_ssl); NULL otherwise. A
	 * TLS endpoint is CONNECTED only once its handshake completed and the peer's
	 * certificate was verified. */
	redial_tls_t *tls;
	/* ATTEMPT_FAILED, ALERT, GAVE_UP with a REDIAL_E_TLS_* err: the TLS library's reason
	 * ("certificate has expired", "wrong version number"); NULL otherwise. */
	const char *tls_reason;
};

/* The event callback. It may call any redial_* function on the same manager, including
 * cancel or remove of this very endpoint, and redial_destroy (which then takes effect when
 * the outermost redial_run or redial_poll returns; no callback fires after it), except the
 * three that would have to wait for the loop that is calling it: redial_run, redial_poll
 * and redial_shutdown return -EBUSY there (and from a function run by redial_post). */
typedef void (*redial_event_fn)(redial_t *r, const struct redial_event *ev, void *user);

/* ---- Configuration ------------------------------------------------------------------------ */

#define REDIAL_TLS_1_2 0x0303
#define REDIAL_TLS_1_3 0x0304

/* TLS towards an endpoint: after the TCP connect, the handshake runs on the ring (records
 * go out and come in as SEND and RECV operations; OpenSSL works on memory), under a
 * deadline that is a linked timeout. Verification is on unless REDIAL_TLS_INSECURE:
 * the chain against the trust store, and the name: a NAME:PORT endpoint's host name (also
 * sent as SNI), an address endpoint's IP against the certificate's IP SANs (as Go's
 * crypto/tls does), or `sni` when it is set. Strings are copied by redial_endpoint_add. */
struct redial_tls_opts {
	size_t size;              /* sizeof(struct redial_tls_opts) */
	const char *ca;           /* CA certificates: a PEM file, or a directory in OpenSSL's
				     hashed form; NULL: the system trust store */
	const char *cert;         /* client certificate chain (PEM), for mutual TLS; NULL: none */
	const char *key;          /* its private key (PEM); required with cert */
	const char *sni;          /* the name to send as SNI and verify; NULL: see above */
	const char *alpn;         /* protocols to offer, "h2,http/1.1"; NULL: no ALPN */
	uint16_t min_version;     /* REDIAL_TLS_1_2 (the default) or REDIAL_TLS_1_3 */
	uint16_t max_version;     /* 0: the highest the library knows */
	unsigned flags;           /* REDIAL_TLS_* */
};
/* No verification at all: any certificate, any name. For tests against self-signed peers;
 * the CLI calls it --tls-insecure. */
#define REDIAL_TLS_INSECURE 0x1u
/* Never resume: every connection makes a full handshake (the session of the last one is
 * not offered). For peers that mishandle resumption, and for measuring full handshakes. */
#define REDIAL_TLS_NO_RESUME 0x2u

REDIAL_API void redial_tls_opts_init(struct redial_tls_opts *o);

struct redial_endpoint_opts {
	size_t size;                 /* sizeof(struct redial_endpoint_opts) */
	uint64_t connect_timeout_ns; /* per-attempt deadline; default 2 s */
	/* The backoff policy, field for field a struct redial_backoff (see there), kept flat
	 * so that this struct can grow at its end without moving anything. */
	uint64_t backoff_initial_ns;     /* default 100 ms */
	uint64_t backoff_max_ns;         /* default 30 s */
	double backoff_multiplier;       /* default 2.0 */
	enum redial_jitter backoff_jitter; /* default REDIAL_JITTER_FULL */
	uint32_t backoff_max_attempts;   /* 0 = never give up on a count */
	uint64_t backoff_max_elapsed_ns; /* 0 = never give up on time */
	uint64_t stable_after_ns;    /* a connection up this long resets the backoff; default 1 s */
	uint32_t alert_after;        /* consecutive failures that raise an ALERT; default 5, 0 = never */
	void *user;                  /* handed back in every event */
	unsigned flags;              /* REDIAL_EP_* */
	/* TLS after the connect (see struct redial_tls_opts); NULL: plain TCP, unless the
	 * endpoint string starts with "tls://" (see redial_endpoint_add). Read and copied
	 * by redial_endpoint_add (and by redial_create for endpoint_defaults). */
	const struct redial_tls_opts *tls;
	uint64_t tls_handshake_timeout_ns; /* the handshake's deadline; 0: connect_timeout_ns */
	/* An endpoint that gave up for a permanent reason (any permanent error, TLS or not) is
	 * tried again this long after it gave up, with a fresh failure streak; it stays FAILED
	 * meanwhile. 0 (the default): never. */
	uint64_t recheck_permanent_ns;
};
#define REDIAL_EP_START_IDLE 0x1u    /* add the endpoint in IDLE; redial_endpoint_start starts it */

REDIAL_API void redial_endpoint_opts_init(struct redial_endpoint_opts *o);

struct redial_log; /* see redial_log.h */

struct redial_config {
	size_t size;                /* sizeof(struct redial_config) */
	uint32_t max_endpoints;     /* endpoint table; default 65536, at most 2^24 */
	uint32_t max_connecting;    /* attempts in flight at once (direct descriptors);
				       default min(4096, RLIMIT_NOFILE / 2) */
	uint32_t sq_entries;        /* default 2048 */
	uint32_t cq_entries;        /* default 8 * sq_entries */
	uint32_t iowq_max_workers;  /* cap on io-wq workers, bounded and unbounded; default 4 */
	uint64_t prearm_ns;         /* how early a backoff wait leaves the user-space timer
				       wheel for the kernel chain, as its linked TIMEOUT head.
				       Default 0: the wheel holds it until the first 1 ms tick at
				       or after its due time, when the chain starts without a
				       head; one timer expiry serves every endpoint due in the
				       tick. A horizon makes each chain start on time even when
				       the application polls late, at a kernel timer per attempt
				       (a 50 ms horizon cost 25-40% more CPU per refused attempt) */
	uint64_t seed;              /* jitter seed; 0 = from getrandom() */
	redial_event_fn on_event;
	void *event_user;
	redial_classify_fn classify; /* NULL: redial_classify() */
	void *classify_user;
	struct redial_log *log;     /* event log, borrowed; NULL for none */
	/* Used when add gets NULL opts; read (and copied) by redial_create. A pointer, not an
	 * embedded struct, so that either struct can grow on its own. NULL: the defaults of
	 * redial_endpoint_opts_init. */
	const struct redial_endpoint_opts *endpoint_defaults;
	unsigned flags;             /* REDIAL_CFG_* */
	/* Name resolution (NAME:PORT endpoints), by c-ares inside the ring. */
	const char *dns_servers;    /* "ADDR:PORT[,ADDR:PORT...]" (IPv6 as [ADDR]:PORT), copied
				       at create; NULL: the system's /etc/resolv.conf */
	uint64_t dns_timeout_ns;    /* one query, each server tried once; default 2 s */
	uint64_t dns_cache_max_ttl_ns; /* answers are reused for min(TTL, this); default 5 min */
	uint64_t dns_nxdomain_hold_ns; /* NXDOMAIN/NODATA count as transient for this long after
					  a name first fails (HAProxy's "hold nx"); 0: never */
	uint64_t happy_eyeballs_delay_ns; /* IPv6's head start over IPv4; default 250 ms */
	/* The fd budget: connected sockets the manager owns plus attempts that will need an fd
	 * never exceed it; at the budget new attempts wait (state QUEUED) instead of completing
	 * handshakes that could not be kept. 0: half of the descriptors RLIMIT_NOFILE still
	 * leaves free when the manager is created. */
	uint32_t max_fds;
};
#define REDIAL_CFG_NO_DEFER_TASKRUN 0x1u /* don't ask for IORING_SETUP_DEFER_TASKRUN */
#define REDIAL_CFG_NO_FD_INSTALL   0x2u /* act as if the kernel lacked FIXED_FD_INSTALL (tests) */

REDIAL_API void redial_config_init(struct redial_config *cfg);

/* ---- Lifetime ---------------------------------------------------------------------------- */

/* Creates a manager: sets up the ring (probing every flag), preallocates the tables.
 * On success *ret_r owns everything and must be passed to redial_destroy.
 * On failure nothing is left allocated. Errors: -EINVAL (a bad config field), -ENOMEM,
 * -EPERM (io_uring is disabled: sysctl kernel.io_uring_disabled, or a seccomp profile),
 * -ENOSYS (the kernel has no io_uring), -EOPNOTSUPP (a required opcode or feature is
 * missing). redial_strerror_create() says which. */
REDIAL_API int redial_create(const struct redial_config *cfg, redial_t **ret_r);

/* A sentence naming the cause of the last redial_create failure on this thread, or "" when
 * there is none. Thread-local static storage, valid until the next redial_create. */
REDIAL_API const char *redial_strerror_create(void);

/* Cancels every endpoint (each gets a CANCELLED event before this returns), then reaps until
 * no operation is in flight and every fd is closed, or until timeout_ns has passed.
 * Returns 0, or -ETIMEDOUT when operations were still in flight at the deadline.
 * The manager stays valid: endpoints can be added again afterwards.
 * -EBUSY, and nothing done, from inside an event callback or a posted function: it cannot
 * reap while the loop that called it is running. There, cancel the endpoints (their
 * CANCELLED events come before the calls return), or redial_stop and call redial_shutdown
 * once redial_run has returned, or redial_destroy (which is deferred). */
REDIAL_API int redial_shutdown(redial_t *r, uint64_t timeout_ns);

/* Shuts down (with a 5 s deadline) and frees everything. Takes NULL. From inside a callback
 * it takes effect when the outermost redial_run/redial_poll returns, and no further callback
 * fires; the manager must not be used after the call. From a thread other than the owner,
 * it is allowed only once the owner no longer uses the manager (for example after joining
 * it): everything is closed at once and no event is delivered. */
REDIAL_API void redial_destroy(redial_t *r);

/* ---- Endpoints --------------------------------------------------------------------------- */

/* Adds an endpoint and, unless opts->flags has REDIAL_EP_START_IDLE, starts connecting it.
 * opts may be NULL (the config's endpoint_defaults). The string is "A.B.C.D:PORT",
 * "[IPv6]:PORT" (see redial_endpoint_parse) or "NAME:PORT", optionally after a prefix:
 *  - "tls://": the endpoint runs TLS with the TLS options of the options in use (opts->tls,
 *    or endpoint_defaults->tls when opts is NULL), else with the defaults of
 *    redial_tls_opts_init: the system trust store, verification on. endpoint_defaults' TLS
 *    options are never taken for an add that passes its own opts, as no other field of
 *    them is: a default with REDIAL_TLS_INSECURE or an sni meant for other endpoints must
 *    not reach it. To verify against another CA, pass opts with tls set.
 *  - "tcp://": plain TCP, which is what no prefix means when the options have no TLS;
 *    with TLS options in use it is -EINVAL (a contradiction is refused rather than settled
 *    by dropping TLS).
 *  Any other "scheme://" (case matters: "TLS://" too) is -EINVAL naming it.
 * A name is resolved asynchronously before the first attempt and again at the start of each
 * attempt cycle (answers cached for their TTL); a cycle tries every address it got,
 * splitting the connect deadline among them, and races IPv6 against IPv4 as RFC 8305 (Happy
 * Eyeballs) describes.
 * errbuf (may be NULL) receives the reason for -EINVAL.
 * On success *ret_id names the endpoint until it is removed. Errors: -EINVAL (also for a
 * flag this library does not know), -ENOTSUP, -ENOSPC (the table is full), -ENOMEM (also
 * for the out-of-line record a NAME, TLS or IPv6 endpoint keeps). No event fires
 * from inside this call; from outside the loop, it makes redial_fd readable. */
REDIAL_API int redial_endpoint_add(redial_t *r, const char *endpoint,
				   const struct redial_endpoint_opts *opts, redial_id_t *ret_id,
				   char *errbuf, size_t errlen);
/* The same from a socket address (AF_INET or AF_INET6), which is copied. */
REDIAL_API int redial_endpoint_add_addr(redial_t *r, const struct sockaddr *sa, socklen_t len,
					const struct redial_endpoint_opts *opts,
					redial_id_t *ret_id);

/* Starts an IDLE, FAILED or CANCELLED endpoint with a fresh failure streak; from outside
 * the loop, it makes redial_fd readable. -EALREADY when it is already active; -ENOENT for
 * an unknown id; -ENOMEM when an endpoint that has failed before (and never had a record
 * out of line: never connected, no name, no TLS, IPv4) cannot get the record that marks
 * where its next CONNECTED event's attempt count starts (nothing changed then). */
REDIAL_API int redial_endpoint_start(redial_t *r, redial_id_t id);

/* Stops an endpoint, as a Go context cancel does for its dial loop: in-flight operations
 * are cancelled, a connected fd is closed (the peer sees the close before this returns), and
 * a CANCELLED event is delivered before this returns; no other event fires for it
 * afterwards. The id stays valid (state CANCELLED,
 * stats kept) until removed. -ENOENT for an unknown id; -EALREADY when already stopped. */
REDIAL_API int redial_endpoint_cancel(redial_t *r, redial_id_t id);

/* Cancels the endpoint if it is active (delivering CANCELLED) and frees its slot. The id is
 * invalid once this returns. Cost is constant in the number of endpoints. */
REDIAL_API int redial_endpoint_remove(redial_t *r, redial_id_t id);

/* Takes a CONNECTED endpoint's fd: on success *ret_fd is the caller's to close, the manager
 * has stopped watching it (nothing in the ring holds it any more, so the caller's close()
 * is the last one), and the endpoint goes IDLE, or, with REDIAL_RELEASE_RECONNECT, starts
 * a new connection at once. -ENOTCONN when the endpoint is not connected; -EINVAL for an
 * unknown flag. A TLS endpoint hands over its TLS session with the fd: the SSL object
 * redial_tls_ssl returned for this connection becomes the caller's too (SSL_free it, then
 * close the fd); redial keeps no reference to it, but it keeps a copy of the session for
 * its next connection to resume. */
#define REDIAL_RELEASE_RECONNECT 0x1u
REDIAL_API int redial_endpoint_release(redial_t *r, redial_id_t id, unsigned flags,
				       int *ret_fd);

/* Reports a CONNECTED endpoint's connection as broken (0 < err <= 65535, an errno such as
 * EPROTO; -EINVAL otherwise): the manager
 * closes the fd before returning, queues DISCONNECTED with err (fd -1), and reconnects with
 * backoff. It counts in the failure streak like a failed attempt: alerts and give-up
 * follow. -ENOTCONN when the endpoint is not connected. */
REDIAL_API int redial_endpoint_fail(redial_t *r, redial_id_t id, int err);

struct redial_errno_count {
	int err;
	uint64_t count;
};

struct redial_endpoint_stats {
	size_t size;               /* set by the caller: sizeof(struct redial_endpoint_stats) */
	enum redial_state state;
	uint64_t attempts;         /* connect attempts made (local errors excluded) */
	uint64_t connects;         /* attempts that connected */
	uint64_t failures;         /* attempts that failed */
	uint64_t disconnects;
	uint64_t local_errors;     /* attempts stopped by a local shortage, not counted above
				      (also a connect whose endpoint could not get the memory
				      to hold the connection: closed, reported as ENOMEM) */
	uint32_t streak;           /* consecutive failures now */
	int last_error;            /* 0 when none */
	enum redial_class last_class; /* REDIAL_CLASS_NONE while last_error is 0 */
	enum redial_gave_up_reason gave_up;
	int fd;                    /* CONNECTED: the borrowed fd; -1 otherwise */
	void *user;
	/* TLS endpoints (all 0 / "" otherwise): */
	bool tls;                  /* the endpoint runs TLS */
	uint64_t tls_handshakes;   /* handshakes completed */
	uint64_t tls_resumed;      /* of which resumed a session */
	char tls_version[16];      /* of the last completed handshake: "TLSv1.3" */
	char tls_cipher[64];       /* "TLS_AES_256_GCM_SHA384" */
	char tls_alpn[32];         /* the protocol chosen, "" when none */
};
REDIAL_API int redial_endpoint_stats_get(redial_t *r, redial_id_t id,
				     struct redial_endpoint_stats *ret_stats);
/* Copies up to cap (errno, count) pairs of the endpoint's per-errno counters into out.
 * Returns how many distinct errnos the endpoint has seen (which may exceed cap). */
REDIAL_API int redial_endpoint_errors(redial_t *r, redial_id_t id,
				      struct redial_errno_count *out, size_t cap);
/* Writes the endpoint's address as text. Returns the length or -errno. */
REDIAL_API int redial_endpoint_name(redial_t *r, redial_id_t id, char *buf, size_t len);

struct redial_stats {
	size_t size;               /* set by the caller */
	uint32_t endpoints;        /* live endpoints */
	uint64_t attempts, connects, failures, disconnects, gave_up, local_errors;
	uint64_t inflight_ops;     /* submitted, not yet completed */
	uint32_t attempts_inflight; /* direct descriptors in use (attempts, and kept sockets) */
	uint32_t fds_open;         /* connected fds the manager owns */
	uint64_t submits;          /* io_uring_enter calls made (to submit, wait or run completions) */
	uint64_t sqes;             /* SQEs submitted */
	uint64_t cqes;             /* CQEs reaped */
	uint64_t cq_overflows;     /* times the CQ overflowed and was flushed */
	uint64_t sq_full;          /* times work waited in user space for SQ room */
	uint64_t lost_cqes;        /* times the kernel reported lost completions (-EBADR) */
	uint64_t throttles;        /* local errors that paused the manager */
	uint64_t kernel_cancels;   /* async cancels submitted */
	uint32_t ring_flags;       /* IORING_SETUP_* flags in use */
	uint32_t ring_features;    /* IORING_FEAT_* the kernel offers */
	bool fd_install;           /* the chain hands over the fd in-kernel (FIXED_FD_INSTALL) */
	uint64_t stale_cqes;       /* CQEs that matched nothing live (should stay 0) */
	uint64_t events_lost;      /* events dropped because the queue could not grow (ENOMEM) */
	/* Live endpoints per enum redial_state. Last, and sized for states still to come, so
	 * that a new state moves no field. */
	uint32_t by_state[REDIAL_STATE_SLOTS];
	/* Added after by_state, which stays where it was. */
	uint64_t tls_handshakes;   /* TLS handshakes completed */
	uint64_t tls_resumed;      /* of which resumed a session */
	uint32_t tls_inflight;     /* TLS handshakes running now */
	/* A refused or timed-out attempt's socket is kept for the endpoint's next attempt
	 * when that comes within 100 ms, and connects again instead of a new socket. */
	uint32_t sockets_parked;   /* sockets kept now (counted in attempts_inflight) */
	uint64_t sockets_reused;   /* attempts that reused a kept socket */
	/* Added after sockets_reused. `attempts` counts the attempts that ended (connected or
	 * failed); this counts those the manager stopped before they ended: the Happy Eyeballs
	 * racer that lost, or an attempt (its TLS handshake too) cut off by a give-up, a cancel,
	 * a removal or redial_shutdown. An attempt still in its backoff wait is not one yet. */
	uint64_t attempts_abandoned;
};
REDIAL_API int redial_stats_get(redial_t *r, struct redial_stats *ret_stats);

/* ---- TLS connections ---------------------------------------------------------------------- */

struct redial_tls_info {
	size_t size;             /* set by the caller: sizeof(struct redial_tls_info) */
	const char *version;     /* "TLSv1.3"; static storage */
	const char *cipher;      /* "TLS_AES_256_GCM_SHA384"; static storage */
	char alpn[32];           /* the protocol the server chose; "" when none */
	bool resumed;            /* the handshake resumed an earlier session */
	char peer_subject[256];  /* the peer certificate's subject, one line ("CN=localhost") */
};
/* What a TLS connection negotiated. 0, or -EINVAL. Any thread that owns t (while
 * borrowed: the manager's owner thread). */
REDIAL_API int redial_tls_info(const redial_tls_t *t, struct redial_tls_info *ret_info);

/* The one TLS library type in this header: OpenSSL's SSL object of the connection, which
 * the application needs to continue it (SSL_read, SSL_write on the event's fd). Borrowed
 * while the endpoint is CONNECTED: use it from the manager's owner thread, don't free or
 * shut it down (redial_endpoint_fail reports a broken connection); after
 * redial_endpoint_release it is the caller's.
 * Its BIO (one for reading and writing) is redial's own, not OpenSSL's socket BIO: it
 * reads and writes the connection's fd, which SSL_get_fd (and _rfd, _wfd) return, the
 * event's fd. Application data that arrived with the handshake's last records is not
 * lost: the BIO hands it to the SSL before it reads the fd again. Those bytes are no
 * longer in the socket, so an application that waits for the fd to turn readable calls
 * SSL_read until SSL_ERROR_WANT_READ first (as it must anyway for records OpenSSL
 * holds), and keeps the BIO: SSL_set_fd or SSL_set_bio would drop them. */
struct ssl_st;
REDIAL_API struct ssl_st *redial_tls_ssl(redial_tls_t *t);

/* A CONNECTED TLS endpoint's connection, the one its CONNECTED event carried. -ENOTCONN
 * when not connected, -ENOPROTOOPT for a plain TCP endpoint. */
REDIAL_API int redial_endpoint_tls(redial_t *r, redial_id_t id, redial_tls_t **ret_tls);

/* ---- Running ------------------------------------------------------------------------------ */

/* Runs the loop: submits, waits, reaps, delivers events, for up to timeout_ns (0: one
 * non-blocking pass; UINT64_MAX: until redial_stop). Returns the number of events delivered,
 * or -errno on a ring failure (the manager should then be destroyed). -EBUSY when called
 * from inside a callback. */
REDIAL_API int redial_run(redial_t *r, uint64_t timeout_ns);

/* One non-blocking pass, everything that is ready: completions, deferred kernel work, due
 * timers, work queued by calls made outside the loop or posted by other threads. The same
 * as redial_run(r, 0). */
REDIAL_API int redial_poll(redial_t *r);

/* Makes the current (or the next) redial_run return after the event being delivered; the
 * events not yet delivered wait for the next run. Any thread. */
REDIAL_API void redial_stop(redial_t *r);

/* Wakes the loop: a redial_run waiting in the kernel makes one more pass, and redial_fd
 * turns readable. Any thread, async-signal-safe (one write to an eventfd). 0 or -errno. */
REDIAL_API int redial_wake(redial_t *r);

/* Runs fn(r, arg) on the owner thread, in the next redial_run or redial_poll, in the order
 * posted, and wakes the loop. The way a worker thread adds, cancels or reads endpoints.
 * Any thread. -ENOMEM; -ESHUTDOWN once the manager is being destroyed (fn will not run).
 * Functions still queued at destroy are dropped without being run. */
typedef void (*redial_post_fn)(redial_t *r, void *arg);
REDIAL_API int redial_post(redial_t *r, redial_post_fn fn, void *arg);

/* Driving the manager from the application's own epoll (or poll, or select) loop:
 *
 *	int rfd = redial_fd(r);                     // once; the manager owns it
 *	epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &(struct epoll_event){ .events = EPOLLIN });
 *	for (;;) {
 *		int n = epoll_wait(ep, evs, 64, redial_timeout_ms(r));
 *		for (int i = 0; i < n; i++)
 *			if (evs[i].data.fd == rfd)
 *				redial_poll(r);    // completions, timers, events
 *			else
 *				...the application's own fds...
 *	}
 *
 * redial_fd returns an eventfd that is readable whenever redial_poll has anything to do;
 * level-triggered or edge-triggered watching both work, because redial_poll drains it and
 * re-arms what it still waits for. Calls made outside the loop (add, start, cancel, ...)
 * take effect at once or make the fd readable; nothing waits for the next poll. Made on
 * the first call. Returns the fd, or -errno. */
REDIAL_API int redial_fd(redial_t *r);

/* The timeout for the application's next wait, in milliseconds: 0 when redial_poll should
 * run at once (events or work are pending in user space), -1 when the fd will say when.
 * Never needed for correctness with redial_fd, but it saves a wake-up. */
REDIAL_API int redial_timeout_ms(redial_t *r);

/* CLOCK_MONOTONIC in ns, the clock of every *_ns timestamp. */
REDIAL_API uint64_t redial_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* REDIAL_H */
