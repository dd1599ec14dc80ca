/* reader.h — reads an event-log file (or a buffer) back into records, defensively: every
 * length is checked before it is trusted, a torn tail reads as the end, damage in the middle
 * is reported with its offset and skipped by scanning for the next valid frame, and a
 * segment of a format version it does not know is skipped up to the next header (and
 * reported as skipped, not as damage). What a record holds is record.h's. Part of the
 * decoder library (redial_decode), shared by redial-log, `redial demo`, the tests and the
 * fuzzer. */
#ifndef RD_LOG_READER_H
#define RD_LOG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/record.h"

struct rd_log_header {
	uint16_t version;
	uint16_t header_len;
	uint32_t flags;
	uint64_t realtime_ns;  /* the clock anchor: CLOCK_REALTIME ... */
	uint64_t monotonic_ns; /* ... and CLOCK_MONOTONIC, read together */
	uint32_t alert_after;
	uint32_t pid;
};

enum rd_log_item_kind {
	RD_LOG_ITEM_RECORD = 1,  /* a valid record */
	RD_LOG_ITEM_HEADER = 2,  /* a segment header: the clock anchor changes from here on */
	RD_LOG_ITEM_CORRUPT = 3, /* [offset, offset+length) is damaged and was skipped */
	RD_LOG_ITEM_TORN = 4,    /* [offset, offset+length) is an incomplete last record (at
				  * the end of the input, or of a segment before a new header) */
	RD_LOG_ITEM_SKIPPED = 5, /* [offset, offset+length) is a whole segment of a format
				  * version this reader does not know (`version`), skipped up to
				  * the next header or the end: not damage */
};

struct rd_log_item {
	enum rd_log_item_kind kind;
	uint64_t offset;  /* where it starts in the input */
	uint64_t length;  /* bytes it covers */
	const char *why;  /* CORRUPT, TORN, SKIPPED: a short static description */
	uint16_t version; /* SKIPPED: the segment's format version */
	struct rd_log_record rec;         /* RECORD */
	const struct rd_log_header *hdr;  /* the header in force; NULL before the first one */
};

struct rd_log_reader;

/* A reader over a buffer the caller keeps alive. */
int rd_log_reader_mem(const void *buf, size_t len, struct rd_log_reader **ret_reader);
/* A reader over an open fd, read from its current position; the fd stays the caller's.
 * With follow, reaching the end is not final: next returns -EAGAIN, and later calls pick up
 * what was appended. */
int rd_log_reader_fd(int fd, bool follow, struct rd_log_reader **ret_reader);
/* Returns 1 with *ret_item filled, 0 at the end of the input, -EAGAIN (follow: nothing more
 * yet), or -errno from read(). */
int rd_log_reader_next(struct rd_log_reader *r, struct rd_log_item *ret_item);
/* Turns a following reader into a plain one: the input is final now (the file was rotated
 * away), so its end is the end and a partial last record is reported as torn. */
void rd_log_reader_stop_following(struct rd_log_reader *r);
/* The offset the reader has consumed up to. */
uint64_t rd_log_reader_offset(const struct rd_log_reader *r);
void rd_log_reader_free(struct rd_log_reader *r);

#endif
