/* embed.h — what living inside an application's loop takes: the owner-thread rule, the
 * readiness fd kept truthful, and the wake-up and the post queue other threads use. */
#ifndef RD_EMBED_H
#define RD_EMBED_H

#include <stdbool.h>
#include <stdint.h>

#include "ud.h"

struct redial;

int rd_embed_init(struct redial *r);
void rd_embed_free(struct redial *r);

/* 0 when the calling thread owns r, else -REDIAL_E_NOT_OWNER. claim: a thread that runs a
 * manager whose ring was never enabled becomes its owner. */
int rd_owner_check(struct redial *r, bool claim);

/* Makes redial_fd readable, for work left outside the kernel's view (calls made outside
 * the loop, events waiting, posted functions). A no-op inside the loop. */
void rd_embed_kick(struct redial *r);
/* After the last submit of a run/poll: runs the kernel's deferred work and, when anything
 * is left for the next poll, makes redial_fd readable, so that an application waiting on
 * it cannot miss work (see embed.c). */
void rd_embed_settle_fd(struct redial *r);

/* Arms the ring's watch of the wake eventfd when it is not armed. False: SQ full. */
bool rd_embed_pump(struct redial *r);
void rd_embed_cqe(struct redial *r, uint32_t gen, int res);
/* Runs the functions other threads posted, in order. */
void rd_embed_run_posted(struct redial *r);


#endif
