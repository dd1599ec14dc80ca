/* strbuf.c — a growable string that stops growing, and says so, when an allocation fails,
 * with appenders that escape arbitrary bytes for JSON and for one-line text. */
#include "log/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

static bool sb_reserve(struct rd_strbuf *sb, size_t n)
{
	if (sb->oom)
		return false;
	if (sb->len + n + 1 <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + n + 1)
		cap *= 2;
	char *p = rd_realloc(sb->p, cap);
	if (!p) {
		sb->oom = true;
		return false;
	}
	sb->p = p;
	sb->cap = cap;
	return true;
}

void rd_sb_put(struct rd_strbuf *sb, const char *s, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = 0;
}

void rd_sb_puts(struct rd_strbuf *sb, const char *s)
{
	rd_sb_put(sb, s, strlen(s));
}

void rd_sb_printf(struct rd_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char tmp[128];
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		rd_sb_put(sb, tmp, (size_t)n);
		return;
	}
	if (!sb_reserve(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void rd_sb_free(struct rd_strbuf *sb)
{
	rd_free(sb->p);
	*sb = (struct rd_strbuf){ 0 };
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s does not start one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	/* overlong forms, surrogates and code points past U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void rd_sb_json_str(struct rd_strbuf *sb, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	rd_sb_put(sb, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t u;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			rd_sb_put(sb, e, 2);
			i++;
		} else if (c == '\n') {
			rd_sb_put(sb, "\\n", 2);
			i++;
		} else if (c == '\t') {
			rd_sb_put(sb, "\\t", 2);
			i++;
		} else if (c == '\r') {
			rd_sb_put(sb, "\\r", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			rd_sb_printf(sb, "\\u%04x", c);
			i++;
		} else if ((u = utf8_len(s + i, n - i)) != 0) {
			rd_sb_put(sb, (const char *)s + i, u);
			i += u;
		} else {
			rd_sb_printf(sb, "\\u%04x", c); /* not UTF-8: read as Latin-1 */
			i++;
		}
	}
	rd_sb_put(sb, "\"", 1);
}

void rd_sb_text_str(struct rd_strbuf *sb, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t u;
		if (c == '\\') {
			rd_sb_put(sb, "\\\\", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			rd_sb_printf(sb, "\\x%02x", c);
			i++;
		} else if ((u = utf8_len(s + i, n - i)) != 0) {
			rd_sb_put(sb, (const char *)s + i, u);
			i += u;
		} else {
			rd_sb_printf(sb, "\\x%02x", c);
			i++;
		}
	}
}

size_t rd_sb_columns(const char *s, size_t n)
{
	size_t cols = 0;
	for (size_t i = 0; i < n; i++)
		cols += ((unsigned char)s[i] & 0xc0) != 0x80; /* not a continuation byte */
	return cols;
}
