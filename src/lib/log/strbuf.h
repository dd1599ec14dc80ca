/* strbuf.h — a growable string, and appenders that escape untrusted bytes for JSON and for
 * one-line text. Used by the record renderer, redial-log and `redial demo`. */
#ifndef RD_LOG_STRBUF_H
#define RD_LOG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

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
/* The terminal columns of n bytes of text from the appenders above: one per character
 * (escapes are ASCII, and only valid UTF-8 is kept; a wide character counts one). For
 * lining text up in columns. */
size_t rd_sb_columns(const char *s, size_t n);

#endif
