/* late.c — the connections DISCONNECTED events handed out, released at the next run. */
#include "late.h"

#include <unistd.h>

#include "alloc.h"
#include "fdbudget.h"
#include "ring.h"
#include "tls_conn.h"
#include "ud.h"

void rd_late_add(struct redial *r, int fd, struct ssl_st *ssl)
{
	if (r->nlate == r->late_cap) {
		uint32_t cap = r->late_cap ? 2 * r->late_cap : 64;
		struct rd_late *v = rd_realloc(r->late, cap * sizeof(*v));
		if (!v) {
			/* No memory to wait with: release it now rather than leak it. */
			if (ssl)
				rd_tls_ssl_free(ssl);
			close(fd);
			rd_fds_closed(r, 1);
			return;
		}
		r->late = v;
		r->late_cap = cap;
	}
	r->late[r->nlate++] = (struct rd_late){ fd, ssl };
}

void rd_late_run(struct redial *r, bool via_ring)
{
	for (uint32_t i = 0; i < r->nlate; i++)
		if (r->late[i].ssl)
			rd_tls_ssl_free(r->late[i].ssl);
	for (uint32_t i = 0; i < r->nlate; i++) {
		/* A churning manager closes one fd per connection: as SQEs they go with the
		 * submission the run makes anyway, instead of a system call each. They are
		 * ahead of any SOCKET this run sends, so the fd budget still holds when the
		 * kernel runs them. */
		struct io_uring_sqe *sqe = via_ring && r->enabled ? rd_get_sqe(r) : NULL;
		if (sqe) {
			io_uring_prep_close(sqe, r->late[i].fd);
			sqe->user_data = rd_ud(RD_OP_CLOSE_LATE, 0, 0);
		} else {
			close(r->late[i].fd);
		}
	}
	rd_fds_closed(r, r->nlate);
	r->nlate = 0;
}

void rd_late_free(struct redial *r)
{
	rd_late_run(r, false);
	rd_free(r->late);
	r->late = NULL;
	r->late_cap = 0;
}
