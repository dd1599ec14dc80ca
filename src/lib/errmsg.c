/* errmsg.c — error messages built in the caller's buffer (see errmsg.h). */
#include "errmsg.h"

#include <stdio.h>
#include <string.h>

void rd_msg_init(struct msg *m, char *buf, size_t cap)
{
	m->buf = cap ? buf : NULL;
	m->cap = cap;
	m->len = 0;
	if (m->buf)
		m->buf[0] = '\0';
}

void rd_msg_putn(struct msg *m, const char *s, size_t n)
{
	if (!m->buf)
		return;
	size_t room = m->cap - 1 - m->len;
	if (n > room)
		n = room;
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

void rd_msg_puts(struct msg *m, const char *s)
{
	rd_msg_putn(m, s, strlen(s));
}

void rd_msg_uint(struct msg *m, unsigned long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", v);
	if (n > 0)
		rd_msg_putn(m, tmp, (size_t)n);
}

/* The offender in double quotes. Bytes outside printable ASCII become \xNN, and the quote
 * and backslash are escaped, so the message stays one readable line whatever the input
 * holds and a log reader can tell where the quoted part ends. */
void rd_msg_quoted(struct msg *m, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	rd_msg_putn(m, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f) {
			char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };
			rd_msg_putn(m, esc, sizeof(esc));
		} else if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			rd_msg_putn(m, esc, sizeof(esc));
		} else {
			rd_msg_putn(m, (const char *)&c, 1);
		}
	}
	rd_msg_putn(m, "\"", 1);
}

