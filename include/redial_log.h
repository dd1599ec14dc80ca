/* redial_log.h — the structured event log: a lock-free ring per producer thread, drained to
 * a file of framed binary records (decode with `redial-log`). Same conventions as redial.h. */
#ifndef REDIAL_LOG_H
#define REDIAL_LOG_H

#include "redial.h"

#ifdef __cplusplus
extern "C" {
#endif

enum redial_log_level {
	REDIAL_LOG_DEBUG = 0,
	REDIAL_LOG_INFO = 1,
	REDIAL_LOG_WARN = 2,
	REDIAL_LOG_ERROR = 3,
};

/* Record types written by the library. Application records use types from
 * REDIAL_LOG_APP_MIN to REDIAL_LOG_APP_MAX with an opaque payload. */
enum redial_log_type {
	REDIAL_LOG_CONNECT_FAILED = 1,
	REDIAL_LOG_CONNECTED = 2,
	REDIAL_LOG_ALERT = 3,
	REDIAL_LOG_GAVE_UP = 4,
	REDIAL_LOG_DISCONNECTED = 5,
	REDIAL_LOG_CANCELLED = 6,
	REDIAL_LOG_ENDPOINT_ADDED = 7,
	REDIAL_LOG_ENDPOINT_REMOVED = 8,
	REDIAL_LOG_DROPPED = 9,
	REDIAL_LOG_RESOLVED = 10,
	REDIAL_LOG_APP_MIN = 0x8000,
	REDIAL_LOG_APP_MAX = 0xffff,
};

struct redial_log; /* opaque */

struct redial_log_config {
	size_t size;               /* sizeof(struct redial_log_config) */
	const char *path;          /* the file; created or appended to as a new segment */
	uint32_t ring_bytes;       /* per producer thread; power of two; default 1 MiB */
	uint64_t flush_interval_ns; /* the drain writes at least this often; default 100 ms */
	bool fdatasync;            /* fdatasync after each batch; default false */
	uint64_t rotate_bytes;     /* rotate to path.1, path.2, ... past this size; 0 = never */
	uint32_t rotate_keep;      /* rotated files kept; default 5 */
	enum redial_log_level min_level; /* records below it are not logged; default INFO */
	uint32_t alert_after;      /* informational, stored in the header; default 5 */
};

REDIAL_API void redial_log_config_init(struct redial_log_config *cfg);

/* Opens the log and starts its drain. On success *ret_log is owned by the caller and must be
 * passed to redial_log_close. On failure nothing is left open. -errno from open/write. */
REDIAL_API int redial_log_open(const struct redial_log_config *cfg, struct redial_log **ret_log);

/* Writes every record accepted so far, stops the drain, closes the file and frees the log.
 * Returns 0, or the first write error (-ENOSPC, -EIO, ...) the drain met. Takes NULL.
 * Every thread must have stopped logging to the log first (destroy the manager before). */
REDIAL_API int redial_log_close(struct redial_log *log);

/* Waits until every record accepted before the call (from any thread) is written, and synced
 * when the log was opened with fdatasync. Returns 0, -ETIMEDOUT when timeout_ns passed first,
 * or the drain's write error. Blocks: never call it from the event loop's hot path. */
REDIAL_API int redial_log_flush(struct redial_log *log, uint64_t timeout_ns);

/* The first write error the drain met (-errno), or 0. Once set, the drain stops writing. */
REDIAL_API int redial_log_error(const struct redial_log *log);

/* Logs an application record from any thread, without locks and without blocking: when the
 * calling thread's ring is full the record is dropped and counted. Returns 0, -ENOBUFS when
 * dropped, -EINVAL for a type outside the application range or a payload over 64 KiB. */
REDIAL_API int redial_log_app(struct redial_log *log, uint16_t type, enum redial_log_level level,
			      redial_id_t endpoint, const void *payload, size_t len);

struct redial_log_stats {
	size_t size;
	uint64_t accepted;   /* records put in a ring */
	uint64_t dropped;    /* records lost because a ring was full */
	uint64_t written;    /* records written to the file */
	uint64_t bytes;      /* bytes written */
	uint64_t batches;    /* write batches */
	uint64_t lost;       /* accepted records not written because of a write error */
};
REDIAL_API int redial_log_stats_get(const struct redial_log *log, struct redial_log_stats *ret_stats);

#ifdef __cplusplus
}
#endif
#endif /* REDIAL_LOG_H */
