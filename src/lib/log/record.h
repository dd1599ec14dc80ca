/* record.h — one event-log record as the reader hands it out, its body decoded into fields,
 * and the names of record types and levels. Part of the decoder library (redial_decode). */
#ifndef RD_LOG_RECORD_H
#define RD_LOG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "redial_log.h"

struct rd_log_record {
	uint16_t type;  /* enum redial_log_type, or an application type */
	uint8_t level;  /* enum redial_log_level */
	uint8_t flags;  /* RD_LOG_F_* */
	uint64_t mono_ns;
	redial_id_t id;
	const uint8_t *body; /* the type-specific part; valid until the next call */
	uint32_t body_len;
};

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
	/* The TLS tails (not NUL-terminated, in the record's body): */
	const char *tls_reason; /* connect_failed of a TLS endpoint: the library's reason */
	size_t tls_reason_len;
	bool tls;             /* connected: a TLS connection, with: */
	bool resumed;
	uint16_t tls_version; /* 0x0304, ... */
	const char *cipher, *alpn;
	size_t cipher_len, alpn_len;
};

/* "TLSv1.3" for 0x0304, ...; NULL for a code it does not know. */
const char *rd_log_tls_version_name(uint16_t v);

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
