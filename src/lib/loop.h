/* loop.h — one turn of the loop (advance timers, pump SQEs, submit and wait, reap, dispatch)
 * and what the manager's lifetime calls need of it. */
#ifndef RD_LOOP_H
#define RD_LOOP_H

#include <stdint.h>

struct redial;

/* One iteration. wait_ns: 0 = don't block. Returns events delivered, or -errno. */
int rd_loop_once(struct redial *r, uint64_t wait_ns);

#endif
