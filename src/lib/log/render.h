/* render.h — one event-log record as a line of human text or of JSON. Used by redial-log
 * and, on hostile input, by the fuzzer. */
#ifndef RD_LOG_RENDER_H
#define RD_LOG_RENDER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "log/reader.h"

/* A growable string. On allocation failure `oom` is set and later appends do nothing. */
struct rd_strbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void rd_sb_put(struct rd_strbuf *sb, const char *s, size_t n);
void rd_sb_puts(struct rd_strbuf *sb, const char *s);
void rd_sb_printf(struct rd_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rd_sb_free(struct rd_strbuf *sb);

/* Appends s as the body of a JSON string: quotes, backslashes and control bytes escaped,
 * valid UTF-8 kept, any other byte as \u00XX. */
void rd_sb_json_str(struct rd_strbuf *sb, const char *s, size_t n);
/* Appends s for a text line: control bytes, DEL, backslashes and bytes that are not valid
 * UTF-8 as \xHH, so one record is always one line. */
void rd_sb_text_str(struct rd_strbuf *sb, const char *s, size_t n);

/* The record's wall-clock time from the header's anchor. Returns false when there is no
 * header or the result is out of range. */
bool rd_log_record_time(const struct rd_log_item *it, uint64_t *ret_realtime_ns);
/* RFC 3339, UTC, nanoseconds: "2024-05-01T12:00:00.123456789Z". */
void rd_sb_time(struct rd_strbuf *sb, uint64_t realtime_ns);

/* One line, newline included. `ev` is the record decoded by rd_log_decode; `ep` is the
 * endpoint's string (NULL when not known). */
void rd_log_render_text(struct rd_strbuf *sb, const struct rd_log_item *it,
			const struct rd_log_event *ev, const char *ep, size_t ep_len);
void rd_log_render_json(struct rd_strbuf *sb, const struct rd_log_item *it,
			const struct rd_log_event *ev, const char *ep, size_t ep_len);

#endif
