/* logread.h — the internal layer of the tests' helpers (tests/common): event-log files read
 * back record by record through the library's own reader, written by hand (frames, segment
 * headers) and filled with a sample of every record type. It includes the library's private
 * log headers (src/lib/log), so only the internal suites link it; no Criterion (the
 * ThreadSanitizer program tests/log/tsan_log_mp uses it). The prefix is lt_ (log test). */
#ifndef TU_LOGREAD_H
#define TU_LOGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/crc32c.h"
#include "log/log.h"
#include "log/reader.h"
#include "log/wire.h"

struct lt_rec {
	uint64_t offset;
	uint16_t type;
	uint8_t level, flags;
	uint64_t mono_ns;
	redial_id_t id;
	uint8_t *body;
	uint32_t body_len;
	struct rd_log_event ev; /* ev.str points into body */
	bool has_hdr;
	struct rd_log_header hdr;
};

struct lt_log {
	struct lt_rec *recs;
	size_t n, cap;
	size_t headers, corrupt, torn, skipped;
	uint64_t first_bad;     /* offset of the first CORRUPT or TORN item */
	uint64_t first_skipped; /* offset of the first SKIPPED item (a segment's version) */
	uint16_t skipped_version;
	int err;                /* reader error, 0 when none */
	struct rd_log_header last_hdr;
};

/* Reads a whole log (in memory, or a file) into lg: the records, decoded, and the count of
 * every other kind of item. Returns 0, or the reader's -errno (also in lg->err). */
int lt_read_mem(const void *buf, size_t len, struct lt_log *lg);
int lt_read_path(const char *path, struct lt_log *lg);
void lt_free(struct lt_log *lg);

/* A log at path with a ring of ring_bytes, records from min_level, flushed every 5 ms; NULL
 * when redial_log_open fails. */
struct redial_log *lt_open(const char *path, uint32_t ring_bytes,
			   enum redial_log_level min_level);

/* ---- The sample: one of every library record, with exact values ------------------------ */

#define LT_M 10000000000ull /* mono_ns of the first sample record */
#define LT_A 0x100000001ull
#define LT_B 0x200000002ull
#define LT_C 0x300000003ull
#define LT_WEIRD "we\"ird\\\x01\n\x7f\xff"
#define LT_SAMPLE_N 17

void lt_log_sample(struct redial_log *l);

/* A frame built by hand (wire.h), checksum included. Returns its size. */
size_t lt_frame(uint8_t *d, uint16_t type, uint8_t level, uint8_t flags, uint64_t mono_ns,
		uint64_t id, const void *body, uint32_t blen);
/* A v1 segment header by hand. Returns its size. */
size_t lt_header(uint8_t *d, uint16_t version, uint64_t realtime_ns, uint64_t mono_ns,
		 uint32_t alert_after);
/* Rewrites the clock anchor of the header at the start of d (tests want exact times). */
void lt_set_anchor(uint8_t *d, uint64_t realtime_ns, uint64_t mono_ns);

#endif
