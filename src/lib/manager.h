/* manager.h — what the public calls of endpoint_api.c need from a manager's lifetime. The
 * manager's state is in manager_state.h; manager.c sits above the rest of the engine. */
#ifndef RD_MANAGER_H
#define RD_MANAGER_H

#include "manager_state.h"

/* Frees a manager whose destroy was asked for from inside a callback, once nothing on the
 * stack uses it any more (the outermost run returned, or a call made outside the loop that
 * delivered the callback is about to return). */
void rd_destroy_now(struct redial *r);

#endif
