/* fdbudget.h — the fd budget (redial_config.max_fds): the fds the manager owns (connections,
 * TLS handshakes, fds handed out in DISCONNECTED events and not closed yet) and the attempts
 * in flight, each of which may become one. The only code that changes r->fds_open. */
#ifndef RD_FDBUDGET_H
#define RD_FDBUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"

/* The manager owns one more fd. */
void rd_fds_opened(struct redial *r);
/* It owns n fewer (closed, or handed over to the application). */
void rd_fds_closed(struct redial *r, uint32_t n);
/* Whether ep's next attempt may start now. An endpoint that kept its last socket
 * (rd_ep_spare) reuses that slot and its share of the budget, so it may always go; any
 * other needs a free attempt slot and the budget not reached. */
bool rd_budget_allows(const struct redial *r, const struct rd_endpoint *ep);

#endif
