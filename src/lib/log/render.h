/* render.h — one event-log record as a line of human text or of JSON. Part of the decoder
 * library (redial_decode): used by redial-log, `redial demo` and, on hostile input, by the
 * fuzzer. */
#ifndef RD_LOG_RENDER_H
#define RD_LOG_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "log/reader.h"
#include "log/strbuf.h"

/* The record's wall-clock time from the header's anchor. Returns false when there is no
 * header or the result is out of range. */
bool rd_log_record_time(const struct rd_log_item *it, uint64_t *ret_realtime_ns);
/* RFC 3339, UTC, nanoseconds: "2024-05-01T12:00:00.123456789Z". */
void rd_sb_time(struct rd_strbuf *sb, uint64_t realtime_ns);

/* An endpoint as the text form names it: its string, then '#' and its numeric id, the one
 * JSON's endpoint_id and `redial-log --endpoint` use ("10.0.0.1:80#4294967297"), so that
 * endpoints with the same address can be told apart. "#ID" when the string is not known
 * (ep NULL), "-" for a record of no endpoint (id 0). */
void rd_log_render_endpoint(struct rd_strbuf *sb, const char *ep, size_t ep_len, uint64_t id);

/* One line, newline included. `ev` is the record decoded by rd_log_decode; `ep` is the
 * endpoint's string (NULL when not known). */
void rd_log_render_text(struct rd_strbuf *sb, const struct rd_log_item *it,
			const struct rd_log_event *ev, const char *ep, size_t ep_len);
void rd_log_render_json(struct rd_strbuf *sb, const struct rd_log_item *it,
			const struct rd_log_event *ev, const char *ep, size_t ep_len);

#endif
