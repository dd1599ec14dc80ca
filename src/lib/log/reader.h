/* reader.h — reads an event-log file (or a buffer) back into records, defensively: every
 * length is checked before it is trusted, a torn tail reads as the end, and damage in the
 * middle is reported with its offset and skipped by scanning for the next valid frame.
 * Shared by redial-log, the tests and the fuzzer. */
#ifndef RD_LOG_READER_H
#define RD_LOG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "redial_log.h"

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
};

struct rd_log_record {
	uint16_t type;  /* enum redial_log_type, or an application type */
	uint8_t level;  /* enum redial_log_level */
	uint8_t flags;  /* RD_LOG_F_* */
	uint64_t mono_ns;
	redial_id_t id;
	const uint8_t *body; /* the type-specific part; valid until the next call */
	uint32_t body_len;
};

struct rd_log_item {
	enum rd_log_item_kind kind;
	uint64_t offset;  /* where it starts in the input */
	uint64_t length;  /* bytes it covers */
	const char *why;  /* CORRUPT, TORN: a short static description */
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

/* A library record's body, decoded. Fields a type does not have stay 0. */
struct rd_log_event {
	uint64_t duration_ns; /* connect_failed, connected */
	uint64_t backoff_ns;  /* connect_failed */
	uint64_t down_ns;     /* connected */
	uint64_t up_ns;       /* disconnected */
	uint64_t count;       /* dropped */
	uint32_t attempt;     /* connect_failed: attempt; connected, gave_up: attempts;
				 alert: streak */
	int err;              /* connect_failed, alert, gave_up, disconnected */
	uint8_t cls;          /* connect_failed: enum redial_class */
	uint8_t reason;       /* gave_up: enum redial_gave_up_reason */
	bool has_addr;        /* connect_failed with an address */
	struct sockaddr_storage addr;
	const char *str;      /* endpoint_added: the endpoint string (not NUL-terminated) */
	size_t str_len;
	uint32_t ttl_s;       /* resolved */
	uint16_t naddrs;      /* resolved: entries, see rd_log_resolved_addr */
	const uint8_t *addrs; /* resolved: the raw entries (in the record's body) */
	size_t addrs_len;
};

/* Decodes a record of a library type. Returns 0, or -EBADMSG when the body is shorter than
 * its type needs. Application and unknown types decode to an all-zero event. */
int rd_log_decode(const struct rd_log_record *rec, struct rd_log_event *ret_ev);

/* The i-th address of a decoded resolved record. Returns 0, or -ENOENT when i is out of
 * range, -EAFNOSUPPORT for an entry of a family this reader does not know. */
int rd_log_resolved_addr(const struct rd_log_event *ev, size_t i,
			 struct sockaddr_storage *ret_addr);

/* "connect_failed", ...; "app" for application types, "unknown" otherwise. */
const char *rd_log_type_name(uint16_t type);
/* The type for a name as rd_log_type_name gives it, or -EINVAL. */
int rd_log_type_from_name(const char *name);
/* "DEBUG", "INFO", "WARN", "ERROR"; "?" otherwise. */
const char *rd_log_level_name(unsigned level);

#endif
