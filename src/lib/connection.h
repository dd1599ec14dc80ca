/* connection.h — a connected endpoint's socket: the POLL_ADD watch that notices the peer
 * going away, its removal, and the close. These ops queue per endpoint and go out in the
 * pump, like every other SQE. */
#ifndef RD_CONNECTION_H
#define RD_CONNECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"
#include "ud.h"

/* Starts watching ep->fd (a new connection). */
void rd_conn_watch(struct redial *r, struct rd_endpoint *ep);
/* Takes the watch out of the ring before returning (a POLL_REMOVE submitted at once, with
 * the kernel's deferred work run so that the cancelled poll lets go of the file), so that
 * nothing in the kernel holds the fd afterwards. Falls back to the queued removal when the
 * ring cannot take it now (the fd is then held until the next pump). */
void rd_conn_unwatch_now(struct redial *r, struct rd_endpoint *ep);
/* Unwatches and closes the connected fd before returning: the peer sees the close. */
void rd_conn_close_now(struct redial *r, struct rd_endpoint *ep);
/* Lets go of the connected fd without closing it: the watch has fired, and the fd goes out
 * in a DISCONNECTED event; the caller hands it to late.c, which closes it at the next run
 * (it stays in the budget until then). Returns the fd. */
int rd_conn_hand_to_event(struct redial *r, struct rd_endpoint *ep);

/* Sends the queued connection ops. False when the SQ filled up first. */
bool rd_conn_pump(struct redial *r);
/* One CQE of a connection op. Returns true, with *ret_err (0 for an orderly close), when
 * the watch says the connection is gone. */
bool rd_conn_cqe(struct redial *r, enum rd_op op, uint32_t seq, uint32_t idx, int res,
		 int *ret_err);

#endif
