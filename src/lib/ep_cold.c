/* ep_cold.c — endpoints' out-of-line records, in chunks that never move (see ep_cold.h). */
#include "ep_cold.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "alloc.h"

/* opq_next: not on the connection-op queue (connection.c sets it when it queues one). */
#define RD_COLD_NONE UINT32_MAX

static void cold_init(struct rd_ep_cold *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->opq_next = RD_COLD_NONE;
}

/* One more chunk at the end. The records of the first chunk start at index 1: 0 is none. */
static int chunk_add(struct rd_coldtab *t)
{
	if (t->nchunks == t->chunk_cap) {
		uint32_t cap = t->chunk_cap ? t->chunk_cap * 2 : 4;
		struct rd_ep_cold **v = rd_realloc(t->chunk, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->chunk = v;
		t->chunk_cap = cap;
	}
	struct rd_ep_cold *c = rd_malloc(RD_COLD_CHUNK * sizeof(*c));
	if (!c)
		return -ENOMEM;
	t->chunk[t->nchunks++] = c;
	if (t->used == 0)
		t->used = 1;
	return 0;
}

int rd_cold_alloc(struct rd_coldtab *t, uint32_t *ret_idx)
{
	uint32_t i = t->free;
	if (i) {
		t->free = rd_cold_at(t, i)->opq_next; /* 0 ends the free list */
	} else {
		if (t->used >= t->nchunks * RD_COLD_CHUNK) {
			int ret = chunk_add(t);
			if (ret < 0)
				return ret;
		}
		i = t->used++;
	}
	cold_init(rd_cold_at(t, i));
	t->live++;
	*ret_idx = i;
	return 0;
}

void rd_cold_free(struct rd_coldtab *t, uint32_t idx)
{
	if (!idx)
		return;
	struct rd_ep_cold *c = rd_cold_at(t, idx);
	assert(!c->name && !c->tls && c->fd < 0 && !c->ops && !c->want);
	assert(t->live > 0);
	c->opq_next = t->free;
	t->free = idx;
	t->live--;
}

void rd_coldtab_free(struct rd_coldtab *t)
{
	for (uint32_t i = 0; i < t->nchunks; i++)
		rd_free(t->chunk[i]);
	rd_free(t->chunk);
	memset(t, 0, sizeof(*t));
}
