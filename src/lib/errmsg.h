/* errmsg.h — building an error message in a caller's small buffer without ever overflowing
 * it or leaving it unterminated: what the parsers use to name the bad part of an input. */
#ifndef RD_ERRMSG_H
#define RD_ERRMSG_H

#include <stddef.h>

/* A message under construction in the caller's errbuf. Every append truncates to the room
 * left and re-terminates, so no error path can overflow a small buffer or leave it
 * unterminated; buf is NULL when the caller wants no message. */
struct msg {
	char *buf;
	size_t cap; /* bytes in buf, the NUL included */
	size_t len; /* characters written so far */
};

void rd_msg_init(struct msg *m, char *buf, size_t cap);
void rd_msg_putn(struct msg *m, const char *s, size_t n);
void rd_msg_puts(struct msg *m, const char *s);
void rd_msg_uint(struct msg *m, unsigned long long v);
/* The offender in double quotes, escaped so that the message stays one readable line. */
void rd_msg_quoted(struct msg *m, const char *s, size_t n);

#endif
