/* log.h — the event log's internal interface: what the engine calls on its hot path, and
 * hooks for the log's own tests. Every rd_log_* record function below is wait-free: it never
 * blocks, never allocates (after the calling thread's first record) and never makes a system
 * call except, at most once per eighth of a ring, a futex wake of a sleeping drain. When the
 * calling thread's ring is full the record is dropped and counted, and a `dropped` record
 * carrying the count goes in as soon as there is room again. `l` must not be NULL. */
#ifndef RD_LOG_LOG_H
#define RD_LOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "redial_log.h"
#include "sockaddr.h"

/* The record of an event the application is handed: CONNECTED, DISCONNECTED,
 * ATTEMPT_FAILED, ALERT, GAVE_UP or CANCELLED. The engine calls it from the one place that
 * delivers events (events.c), with the very struct the callback gets, so the log and the
 * application see the same events in the same order: one that is dropped before delivery
 * is not logged. The record's time is ev->mono_ns. */
void rd_log_event(struct redial_log *l, const struct redial_event *ev);

/* Per-record writers: rd_log_event's parts, kept for the log's own tests. */
void rd_log_connect_failed(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
			   uint32_t attempt, int err, enum redial_class cls, uint64_t duration_ns,
			   uint64_t backoff_ns, const struct sockaddr *addr);
/* The same with the TLS tail (wire.h): the reason of a failed TLS attempt, what a TLS
 * connection negotiated. NULL: no tail, as the plain ones. */
void rd_log_connect_failed_reason(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
				  uint32_t attempt, int err, enum redial_class cls,
				  uint64_t duration_ns, uint64_t backoff_ns,
				  const struct sockaddr *addr, const char *reason);
void rd_log_connected_tls(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
			  uint32_t attempts, uint64_t duration_ns, uint64_t down_ns,
			  const struct redial_tls_info *tls);
void rd_log_connected(struct redial_log *l, uint64_t mono_ns, redial_id_t id, uint32_t attempts,
		      uint64_t duration_ns, uint64_t down_ns);
void rd_log_alert(struct redial_log *l, uint64_t mono_ns, redial_id_t id, uint32_t streak,
		  int last_err);
void rd_log_gave_up(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
		    enum redial_gave_up_reason reason, int err, uint32_t attempts);
void rd_log_disconnected(struct redial_log *l, uint64_t mono_ns, redial_id_t id, int err,
			 uint64_t up_ns);
void rd_log_cancelled(struct redial_log *l, uint64_t mono_ns, redial_id_t id);

/* Endpoint lifetime records (no application event corresponds to them). */
void rd_log_endpoint_added(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
			   const char *endpoint, size_t len);
void rd_log_endpoint_removed(struct redial_log *l, uint64_t mono_ns, redial_id_t id);
/* DEBUG: a name resolved to these addresses (at most RD_LOG_RESOLVED_MAX are kept), valid
 * for ttl_s seconds. */
void rd_log_resolved(struct redial_log *l, uint64_t mono_ns, redial_id_t id,
		     const union rd_addr *addrs, size_t n, uint32_t ttl_s);

/* ---- Test hooks ----------------------------------------------------------------------- */

/* While paused the drain consumes nothing (close still drains everything). */
void rd_log__drain_pause(struct redial_log *l, bool paused);
/* Producer rings registered so far. */
unsigned rd_log__ring_count(struct redial_log *l);

#endif
