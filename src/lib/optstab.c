/* optstab.c — interned endpoint options by index (see optstab.h). */
#include "optstab.h"

#include <assert.h>
#include <errno.h>

#include "alloc.h"

#define RD_OPTSTAB_MIN 8

/* An entry for new options: the free list's first, or one more at the end (the table grows
 * first, so that nothing fails after the options exist). 0 when out of memory. */
static uint32_t entry_alloc(struct rd_optstab *t)
{
	if (t->free) {
		uint32_t i = t->free;
		t->free = (uint32_t)(t->v[i] >> 1);
		return i;
	}
	if (t->n == 0)
		t->n = 1; /* index 0 names no options */
	if (t->n >= t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : RD_OPTSTAB_MIN;
		uintptr_t *v = rd_realloc(t->v, cap * sizeof(*v));
		if (!v)
			return 0;
		v[0] = 0;
		t->v = v;
		t->cap = cap;
	}
	return t->n++;
}

static void entry_free(struct rd_optstab *t, uint32_t i)
{
	t->v[i] = ((uintptr_t)t->free << 1) | 1;
	t->free = i;
}

int rd_optstab_get(struct rd_optstab *t, const struct redial_endpoint_opts *o,
		   struct rd_tls_cfg *tls, uint32_t *ret_idx)
{
	if (t->last) {
		struct rd_opts *last = (struct rd_opts *)t->v[t->last];
		if (rd_opts_same(last, o, tls)) {
			last->refs++;
			*ret_idx = t->last;
			return 0;
		}
	}
	uint32_t i = entry_alloc(t);
	if (!i)
		return -ENOMEM;
	struct rd_opts *n = rd_opts_new(o, tls);
	if (!n) {
		entry_free(t, i);
		return -ENOMEM;
	}
	n->refs = 2; /* the caller's and the table's */
	t->v[i] = (uintptr_t)n;
	rd_optstab_put(t, t->last); /* the table now keeps these instead */
	t->last = i;
	*ret_idx = i;
	return 0;
}

void rd_optstab_put(struct rd_optstab *t, uint32_t idx)
{
	if (!idx)
		return;
	struct rd_opts *o = (struct rd_opts *)t->v[idx];
	assert(!(t->v[idx] & 1) && o->refs > 0);
	if (--o->refs)
		return;
	rd_free(o);
	entry_free(t, idx);
}

void rd_optstab_free(struct rd_optstab *t)
{
	uint32_t last = t->last;
	t->last = 0;
	rd_optstab_put(t, last);
	rd_free(t->v);
	t->v = 0;
	t->n = t->cap = t->free = 0;
}
