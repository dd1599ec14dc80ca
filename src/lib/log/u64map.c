/* u64map.c — linear probing with backward-shift deletion, so there are no tombstones and a
 * lookup stops at the first empty slot. Load factor stays at or under 1/2. */
#include "log/u64map.h"

#include "alloc.h"

static size_t slot_of(uint64_t key, size_t mask)
{
	/* Endpoint ids differ mostly in their low bits and errnos are small: a multiplicative
	 * mix spreads both over the table. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & mask;
}

struct rd_u64map_ent *rd_u64map_get(const struct rd_u64map *m, uint64_t key)
{
	if (!m->cap || !key)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = slot_of(key, mask);; i = (i + 1) & mask) {
		if (m->ent[i].key == key)
			return &m->ent[i];
		if (!m->ent[i].key)
			return NULL;
	}
}

static int grow(struct rd_u64map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	struct rd_u64map_ent *n = rd_calloc(ncap, sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->ent[i].key)
			continue;
		size_t j = slot_of(m->ent[i].key, ncap - 1);
		while (n[j].key)
			j = (j + 1) & (ncap - 1);
		n[j] = m->ent[i];
	}
	rd_free(m->ent);
	m->ent = n;
	m->cap = ncap;
	return 0;
}

struct rd_u64map_ent *rd_u64map_upsert(struct rd_u64map *m, uint64_t key)
{
	if (!key)
		return NULL;
	struct rd_u64map_ent *e = rd_u64map_get(m, key);
	if (e)
		return e;
	if ((m->len + 1) * 2 > m->cap && grow(m) < 0)
		return NULL;
	size_t mask = m->cap - 1;
	size_t i = slot_of(key, mask);
	while (m->ent[i].key)
		i = (i + 1) & mask;
	m->ent[i] = (struct rd_u64map_ent){ .key = key };
	m->len++;
	return &m->ent[i];
}

void *rd_u64map_del(struct rd_u64map *m, uint64_t key)
{
	struct rd_u64map_ent *e = rd_u64map_get(m, key);
	if (!e)
		return NULL;
	void *val = e->val;
	size_t mask = m->cap - 1;
	size_t hole = (size_t)(e - m->ent);
	/* Shift back every later entry of the cluster whose home slot does not lie between the
	 * hole and itself, so that no lookup ever crosses an empty slot it should not. */
	for (size_t j = (hole + 1) & mask; m->ent[j].key; j = (j + 1) & mask) {
		size_t home = slot_of(m->ent[j].key, mask);
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->ent[hole] = m->ent[j];
			hole = j;
		}
	}
	m->ent[hole] = (struct rd_u64map_ent){ 0 };
	m->len--;
	return val;
}

void rd_u64map_free(struct rd_u64map *m)
{
	rd_free(m->ent);
	m->ent = NULL;
	m->cap = m->len = 0;
}
