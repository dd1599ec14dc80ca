/* late.h — what a DISCONNECTED event caused by the peer hands the application (the fd, still
 * open, and a TLS connection's SSL) and the manager releases at the next run, once the
 * application has had its chance to read the last bytes and take the fd out of its own
 * epoll set. One list, owned here. */
#ifndef RD_LATE_H
#define RD_LATE_H

#include <stdbool.h>

#include "manager_state.h"

struct ssl_st;

/* One handed-out connection: its fd and, for TLS, its SSL (NULL otherwise). */
struct rd_late {
	int fd;
	struct ssl_st *ssl;
};

/* Keeps fd (and ssl, may be NULL) until the next rd_late_run; the fd stays counted in the
 * budget until then. Without memory to wait with, both are released now. */
void rd_late_add(struct redial *r, int fd, struct ssl_st *ssl);
/* Releases everything kept: SSLs freed first (nothing reads their fds after this), then the
 * fds closed, as CLOSE SQEs with the run's submission when via_ring (and the ring is up),
 * else at once. */
void rd_late_run(struct redial *r, bool via_ring);
/* Releases everything at once and frees the list (destroy). */
void rd_late_free(struct redial *r);

#endif
