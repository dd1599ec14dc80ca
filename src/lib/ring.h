/* ring.h — the io_uring ring: setting it up (probing what the kernel offers), enabling it on
 * its owner thread, and the one way SQEs are had and counted: every SQE of the engine comes
 * from rd_get_sqe, which counts it submitted and in flight (the loop counts each CQE out). */
#ifndef RD_RING_H
#define RD_RING_H

#include <stdbool.h>

#include "manager_state.h"

/* io_uring bits newer than liburing 2.3's headers; the kernel is probed for each. */
#ifndef IORING_OP_FIXED_FD_INSTALL_VALUE
#define IORING_OP_FIXED_FD_INSTALL_VALUE 54
#endif

int rd_ring_setup(struct redial *r);
int rd_ring_enable(struct redial *r);
void rd_ring_teardown(struct redial *r);
/* One SQE, counted in flight; when the SQ is full, what is there is submitted first.
 * NULL when it stays full (the caller keeps its work queued). After rd_reserve_sqes(n)
 * returned true, the next n calls cannot fail. */
struct io_uring_sqe *rd_get_sqe(struct redial *r);
/* Marks sqe (just had from rd_get_sqe) IOSQE_CQE_SKIP_SUCCESS when the kernel has it: for an
 * op whose success says nothing new. It then posts a CQE only when it fails (or the link
 * broke before it), so it is taken out of the in-flight count at once, and such a CQE is
 * counted back in with rd_ring_skipped_cqe before the loop counts it out. False, sqe
 * unchanged and counted as usual, without the feature. */
bool rd_sqe_skip_success(struct redial *r, struct io_uring_sqe *sqe);
static inline void rd_ring_skipped_cqe(struct redial *r)
{
	r->inflight++;
}
/* Room for `need` SQEs in a row (a chain must be contiguous); false when there is none. */
bool rd_reserve_sqes(struct redial *r, unsigned need);
/* Submits what is in the SQ and runs the deferred completions it can, now: for the calls
 * that must see the kernel act before they return to the application (a connection's
 * watch taken back before its fd is closed, a TLS handshake cancelled). Everything else
 * goes with the loop's own submission. -EBUSY/-EAGAIN leave the SQEs for the next one. */
int rd_ring_submit_now(struct redial *r);
/* Runs the completions the kernel keeps as deferred task work, in batches, without arming
 * a timer (see ring.c). */
void rd_ring_run_deferred(struct redial *r);
/* Runs every completion waiting as task work, in one enter each time (arming an hrtimer
 * that is already due, so dearer than rd_ring_run_deferred): for the rare paths that must
 * see everything settled, a TLS cancel before it closes the fd. */
void rd_ring_drain_deferred(struct redial *r);

#endif
