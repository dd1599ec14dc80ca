/* loop.h — one turn of the loop (advance timers, pump SQEs, submit and wait, reap, dispatch)
 * and what the manager's lifetime calls need of it. */
#ifndef RD_LOOP_H
#define RD_LOOP_H

#include <stdint.h>

struct redial;

/* One iteration. wait_ns: 0 = don't block. Returns events delivered, or -errno. */
int rd_loop_once(struct redial *r, uint64_t wait_ns);
/* Before control goes back to the application: whatever the last pass queued goes to the
 * kernel now. */
void rd_loop_flush(struct redial *r);

#endif
