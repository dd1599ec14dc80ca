/* errtab.c — per-endpoint errno counters beyond the first (see errtab.h). */
#include "errtab.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"

struct rd_errtab_ent {
	uint32_t key;               /* slot + 1; 0: empty */
	uint32_t n;
	struct rd_errcount *v;      /* n counters, in the order their errnos first came */
};

static uint32_t home(const struct rd_errtab *t, uint32_t key)
{
	return (uint32_t)(key * 2654435761u) >> (32 - t->bits); /* Fibonacci hashing */
}

static struct rd_errtab_ent *find(const struct rd_errtab *t, uint32_t slot)
{
	if (!t->bits)
		return NULL;
	uint32_t mask = (1u << t->bits) - 1, key = slot + 1;
	for (uint32_t i = home(t, key);; i = (i + 1) & mask) {
		if (t->t[i].key == key)
			return &t->t[i];
		if (!t->t[i].key)
			return NULL;
	}
}

/* An empty entry for key (which has none), growing the table to stay at most half full. */
static struct rd_errtab_ent *insert(struct rd_errtab *t, uint32_t key)
{
	if (!t->bits || (t->n + 1) * 2 > (1u << t->bits)) {
		uint8_t bits = t->bits ? (uint8_t)(t->bits + 1) : 4;
		struct rd_errtab_ent *nt = rd_calloc(1u << bits, sizeof(*nt));
		if (!nt)
			return NULL;
		struct rd_errtab old = *t;
		t->t = nt;
		t->bits = bits;
		for (uint32_t i = 0; old.bits && i < (1u << old.bits); i++) {
			if (!old.t[i].key)
				continue;
			uint32_t j = home(t, old.t[i].key);
			while (nt[j].key)
				j = (j + 1) & ((1u << bits) - 1);
			nt[j] = old.t[i];
		}
		rd_free(old.t);
	}
	uint32_t mask = (1u << t->bits) - 1, i = home(t, key);
	while (t->t[i].key)
		i = (i + 1) & mask;
	t->t[i].key = key;
	t->n++;
	return &t->t[i];
}

int rd_errtab_count(struct rd_errtab *t, uint32_t slot, uint16_t err)
{
	struct rd_errtab_ent *e = find(t, slot);
	for (uint32_t i = 0; e && i < e->n; i++) {
		if (e->v[i].err == err) {
			e->v[i].count++;
			return 0;
		}
	}
	/* A distinct errno the endpoint had not seen: rare, so it may allocate. */
	if (!e && !(e = insert(t, slot + 1)))
		return -ENOMEM;
	struct rd_errcount *v = rd_realloc(e->v, (e->n + 1u) * sizeof(*v));
	if (!v) {
		if (!e->n)
			rd_errtab_drop(t, slot); /* no entry without a counter */
		return -ENOMEM;
	}
	e->v = v;
	v[e->n].err = err;
	v[e->n].count = 1;
	e->n++;
	return 0;
}

const struct rd_errcount *rd_errtab_get(const struct rd_errtab *t, uint32_t slot,
					uint32_t *ret_n)
{
	const struct rd_errtab_ent *e = find(t, slot);
	*ret_n = e ? e->n : 0;
	return e ? e->v : NULL;
}

void rd_errtab_drop(struct rd_errtab *t, uint32_t slot)
{
	struct rd_errtab_ent *e = find(t, slot);
	if (!e)
		return;
	rd_free(e->v);
	/* Backward-shift deletion: each later entry of the probe run moves into the hole
	 * unless its home lies cyclically in (hole, its place], so no lookup is cut short. */
	uint32_t mask = (1u << t->bits) - 1, hole = (uint32_t)(e - t->t);
	for (uint32_t j = (hole + 1) & mask; t->t[j].key; j = (j + 1) & mask) {
		uint32_t h = home(t, t->t[j].key);
		bool stays = hole < j ? (h > hole && h <= j) : (h > hole || h <= j);
		if (!stays) {
			t->t[hole] = t->t[j];
			hole = j;
		}
	}
	t->t[hole].key = 0;
	t->t[hole].n = 0;
	t->t[hole].v = NULL;
	t->n--;
}

void rd_errtab_free(struct rd_errtab *t)
{
	for (uint32_t i = 0; t->bits && i < (1u << t->bits); i++)
		rd_free(t->t[i].v);
	rd_free(t->t);
	t->t = NULL;
	t->n = 0;
	t->bits = 0;
}
