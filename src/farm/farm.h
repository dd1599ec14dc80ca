/* farm.h - a loopback TCP target farm for tests, `redial demo` and the benchmarks.
 *
 * A farm is a set of targets, each a TCP port on the wildcard address, so every 127.x.y.z
 * (or ::1 for IPv6 targets) reaches it. One behaviour per target: accept and hold, refuse,
 * blackhole, drop after a while, accept slowly, accept and close at once.
 *
 * The TLS kinds (FARM_TLS, FARM_TLS_CLOSE) serve TLS with OpenSSL; farm_pki.h makes their
 * certificates at run time.
 *
 * Every target except FARM_REFUSE is served by a child process (fork, no exec) that runs one
 * epoll loop. The child cannot outlive its creator: it asks for SIGKILL when the creating thread
 * dies (PR_SET_PDEATHSIG) and exits when the control socket to the parent closes (parent exit,
 * exec, or farm_stop). It reports through that socket and through a MAP_SHARED counters page.
 *
 * Descriptor budget. The child has its own descriptor table and inherits the parent's
 * RLIMIT_NOFILE (20000 here), so it can hold about that many accepted connections minus a few
 * for itself: the epoll fd, the control socket, one listener per target, up to two timerfds per
 * target, and a handful of blackhole filler sockets. The parent keeps one control socket plus
 * one socket per FARM_REFUSE target. When the child runs out of descriptors it stops accepting
 * (connections wait in the kernel's accept queue, then SYNs drop) until one of its connections
 * closes; fd_exhausted counts those pauses.
 *
 * The child closes every descriptor it did not get from the farm right after fork, so it never
 * keeps a caller's socket open, and it ignores SIGINT so a Ctrl-C at a terminal leaves the
 * shutdown to the parent. A farm is not thread-safe: call its functions from one thread at a
 * time, and call farm_start from a thread that lives as long as the farm (PR_SET_PDEATHSIG fires
 * when the forking *thread* exits).
 *
 * Every fallible function returns 0 (or a count) on success and -errno on failure; ret_* out
 * parameters are written only on success.
 */
#ifndef REDIAL_FARM_H
#define REDIAL_FARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum farm_kind {
	/* Accept and hold every connection open until the peer closes, farm_drop_all or
	 * farm_stop. Incoming data is read and discarded. */
	FARM_ACCEPT = 0,
	/* A port bound but never listening: every connect gets an RST (ECONNREFUSED). The
	 * socket is held by the parent for the farm's lifetime so nobody else takes the port. */
	FARM_REFUSE,
	/* Connects time out: a listener with backlog 0 whose accept queue the farm fills with
	 * its own connections and never drains, so further SYNs are dropped. farm_start checks
	 * that a probe connect stays in progress for 200 ms before it returns. */
	FARM_BLACKHOLE,
	/* Accept, then close hold_ms later (FIN, or RST when rst is set). */
	FARM_DROP_AFTER,
	/* Accept at most accept_rate connections per second from a small backlog, so some
	 * connects complete late (after SYN retransmits) or time out. Accepted connections are
	 * held like FARM_ACCEPT, or dropped hold_ms after accept when hold_ms is not 0.
	 * A kernel quirk to know: when several handshakes finish together into a full accept
	 * queue (syncookies on, the default), a client can see its connect succeed while the
	 * kernel kept no record of it. Such a connection is accepted when the client sends
	 * data (the ACK's cookie is still valid), and it is never counted before that. */
	FARM_SLOW_ACCEPT,
	/* Accept and close at once (FIN, or RST when rst is set). The server closes first, so
	 * TIME_WAIT lands on the farm's side, not the client's. */
	FARM_ACCEPT_CLOSE,
	/* TLS (OpenSSL, in the child): the handshake with tls_cert/tls_key, then application
	 * data is echoed back. Held like FARM_ACCEPT, or closed hold_ms after the handshake
	 * completed (close_notify then FIN, or RST when rst is set). Session tickets on, so
	 * clients can resume; tls_handshakes/tls_resumed count them. A client that fails the
	 * handshake (an alert, a close) is counted as peer_closed. */
	FARM_TLS,
	/* FARM_TLS that closes as soon as its handshake completes: close_notify, then FIN (or
	 * RST when rst is set). */
	FARM_TLS_CLOSE,
	/* Accepts, waits for the client's first bytes (its ClientHello), then resets. */
	FARM_TLS_RESET,
	/* Accepts, waits for the client's first bytes, then closes (FIN): an EOF mid-handshake. */
	FARM_TLS_EOF,
	/* Not TLS: writes an HTTP/1.0 400 response on accept, then holds like FARM_ACCEPT. */
	FARM_PLAINTEXT,
};

/* One target. A zeroed struct plus .kind is a valid spec: every 0 means "the default".
 * Fields that do not apply to the kind must stay 0 (farm_start says -EINVAL otherwise), so
 * a mistaken spec fails loudly instead of silently meaning something else. */
struct farm_target_spec {
	enum farm_kind kind;
	int family;           /* AF_INET (also for 0) or AF_INET6 (IPV6_V6ONLY, reach it on ::1) */
	uint16_t port;        /* 0: the farm picks a free port; farm_port() tells which */
	uint32_t hold_ms;     /* DROP_AFTER: required, >= 1. SLOW_ACCEPT: 0 holds forever */
	bool rst;             /* every close the farm makes on this target uses RST (SO_LINGER 0);
	                       * not for REFUSE or BLACKHOLE */
	uint32_t accept_rate; /* SLOW_ACCEPT only: accepts per second, default 10, max 100000 */
	uint32_t backlog;     /* listen() backlog, default SOMAXCONN (SLOW_ACCEPT: 4); not for
	                       * REFUSE or BLACKHOLE */
	/* FARM_TLS and FARM_TLS_CLOSE only (farm_start reads the files before it forks): */
	const char *tls_cert;      /* certificate chain, PEM: required */
	const char *tls_key;       /* its private key, PEM: required */
	const char *tls_alpn;      /* "h2,http/1.1": protocols the server accepts; a client that
	                            * offers none of them gets a no_application_protocol alert.
	                            * NULL: ALPN ignored */
	uint16_t tls_max_version;  /* 0x0303 (TLS 1.2) or 0x0304; 0: TLS 1.3 */
	const char *tls_client_ca; /* mutual TLS: require a client certificate from this CA */
};

/* Counters of one target, as last published by the child. They are a consistent snapshot:
 * open == accepted - dropped - peer_closed. */
struct farm_counters {
	uint64_t accepted;     /* connections accepted */
	uint64_t open;         /* accepted and not closed yet */
	uint64_t dropped;      /* closed by the farm (hold timer, accept-close, farm_drop_all) */
	uint64_t peer_closed;  /* closed because the client closed or reset */
	uint64_t fd_exhausted; /* times accepting paused because the child ran out of fds */
	uint64_t tls_handshakes; /* TLS handshakes completed (TLS kinds) */
	uint64_t tls_resumed;    /* of which resumed a session */
};

#define FARM_MAX_TARGETS 256

struct farm; /* opaque */

/* Starts a farm of n targets (1..FARM_MAX_TARGETS) and returns once every listener is up,
 * every blackhole is verified and the child is serving. Blocks for about 200 ms per
 * FARM_BLACKHOLE target; never longer than 30 s.
 * On success *ret owns the child, its control socket and the REFUSE sockets; free it with
 * farm_stop. On failure nothing is left behind (no child, no fd) and *ret is untouched:
 * -EINVAL for a bad spec, -EAFNOSUPPORT for a bad family, -EADDRINUSE for a taken fixed port,
 * -EIO when a blackhole could not be made to drop SYNs, -ETIMEDOUT when the child did not
 * report, or the errno of the failing system call. */
int farm_start(const struct farm_target_spec *specs, size_t n, struct farm **ret);

/* The port of target i (host byte order), 0 if i is out of range. */
uint16_t farm_port(const struct farm *f, size_t i);

/* The kind of target i, as given to farm_start. -EINVAL if i is out of range. */
int farm_target_kind(const struct farm *f, size_t i);

/* The child's pid, 0 when the farm needs no child (only FARM_REFUSE targets). */
pid_t farm_pid(const struct farm *f);

/* Number of targets. */
size_t farm_size(const struct farm *f);

/* Copies target i's counters into *ret. -EINVAL for a bad index; -EAGAIN if the child died
 * in the middle of an update (the snapshot would be torn). */
int farm_counters(const struct farm *f, size_t i, struct farm_counters *ret);

/* Closes every open connection of target i now (RST if the target's spec says rst) and
 * returns how many it closed. The child has closed them all by the time this returns.
 * 0 for REFUSE and BLACKHOLE targets. -EINVAL for a bad index, -EPIPE if the child is gone,
 * -ETIMEDOUT if it did not answer within 10 s. */
int farm_drop_all(struct farm *f, size_t i);

/* Kills the child with SIGKILL, reaps it, closes every descriptor and frees f. Takes NULL.
 * The kernel closes the child's connections (the clients see FIN or RST). Returns 0; a child
 * already reaped by someone else (SIGCHLD ignored, a waitpid(-1) loop) is not an error. */
int farm_stop(struct farm *f);

/* Parses one target in the farm-server syntax into *ret:
 *   KIND[:ARG]...  with KIND one of accept refuse blackhole drop slow acceptclose tls tlsclose
 *                  tlsreset tlseof plain, and ARGs
 *   N          drop: hold_ms; slow: accept_rate; tls: hold_ms
 *   tls12      tls, tlsclose: TLS 1.2 at most (tls_max_version 0x0303)
 *   rst, fin   close style
 *   v6         AF_INET6
 *   port=N backlog=N hold=N rate=N
 * Examples: "accept", "drop:500:rst", "slow:50:backlog=2", "refuse:port=7001", "blackhole:v6".
 * Returns 0 or -EINVAL. Checks syntax only; farm_start checks the combination. The TLS
 * files (tls_cert, tls_key) have no text form: the caller sets them. */
int farm_spec_parse(const char *text, struct farm_target_spec *ret);

/* The KIND word of farm_spec_parse for k ("accept", "drop", ...), "?" if unknown. */
const char *farm_kind_name(enum farm_kind k);

#ifdef __cplusplus
}
#endif

#endif /* REDIAL_FARM_H */
