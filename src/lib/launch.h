/* launch.h — starting an endpoint's next attempt: one chain for an address endpoint; for a
 * NAME endpoint, fresh addresses at the start of a cycle, then the next address, raced by
 * one of the other family after a head start (RFC 8305, Happy Eyeballs). */
#ifndef RD_LAUNCH_H
#define RD_LAUNCH_H

#include "endpoint.h"

/* Starts what ep has next. 1: started, or waiting for the resolver; 0: no attempt slot or
 * SQ room (ep must stay queued); -errno: the resolver could not even be asked (the caller
 * reports it as a failed resolution). */
int rd_launch(struct redial *r, struct rd_endpoint *ep);
/* A NAME endpoint's fresh addresses start a cycle with the whole connect deadline. */
void rd_cycle_begin(struct redial *r, struct rd_endpoint *ep);

#endif
