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
/* Stops watching the connected fd: drops a watch not yet sent, or removes the armed one. */
void rd_conn_unwatch(struct redial *r, struct rd_endpoint *ep);
/* Lets go of the connected fd: its watch (unless it already fired) and the fd itself go
 * in the next batch, and later CQEs of this connection are recognised as stale. */
void rd_conn_close(struct redial *r, struct rd_endpoint *ep, bool unwatch);
/* Sends the queued connection ops. False when the SQ filled up first. */
bool rd_conn_pump(struct redial *r);
/* One CQE of a connection op. Returns true, with *ret_err (0 for an orderly close), when
 * the watch says the connection is gone. */
bool rd_conn_cqe(struct redial *r, enum rd_op op, uint32_t seq, uint32_t idx, int res,
		 int *ret_err);

#endif
