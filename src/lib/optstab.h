/* optstab.h — the endpoints' options, interned in one table per manager and named by a
 * 32-bit index.
 *
 * Why: every endpoint names its options, and a pointer is 8 bytes of struct rd_endpoint
 * for each of 100k endpoints, where an index is 4. Endpoints with equal options share one
 * copy (config.h, struct rd_opts), reference counted; the table keeps a reference of its own
 * on the options it handed out last, so that adding many endpoints with the same options
 * makes one copy even when they come and go. Index 0 names no options: a zeroed slot holds
 * none. Knows nothing of the manager or the endpoint table. */
#ifndef RD_OPTSTAB_H
#define RD_OPTSTAB_H

#include <stdint.h>

#include "config.h"

/* Zeroed, it is an empty table. */
struct rd_optstab {
	uintptr_t *v;          /* by index: a struct rd_opts *, or (next free << 1) | 1 */
	uint32_t n;            /* entries in use or on the free list, index 0 included */
	uint32_t cap;
	uint32_t free;         /* first free entry, 0: none */
	uint32_t last;         /* the options handed out last (the table's own reference), 0 */
};

/* The index of options equal to o with tls (a new entry, or the last one handed out when
 * it is equal), holding one reference for the caller. 0 or -ENOMEM (nothing changed). */
int rd_optstab_get(struct rd_optstab *t, const struct redial_endpoint_opts *o,
		   struct rd_tls_cfg *tls, uint32_t *ret_idx);
/* Drops the reference held through idx; takes 0. */
void rd_optstab_put(struct rd_optstab *t, uint32_t idx);
/* Drops the table's own reference and its memory. Every other reference must be put. */
void rd_optstab_free(struct rd_optstab *t);

static inline const struct rd_opts *rd_optstab_at(const struct rd_optstab *t, uint32_t idx)
{
	return (const struct rd_opts *)t->v[idx];
}

#endif
