/* u64map.h — a small open-addressing hash map from a nonzero u64 key to a pointer and a
 * counter. The drain keeps endpoint names in one (to repeat them after a rotation); the
 * decoder keeps names and statistics. Not for the hot path: inserts may allocate. */
#ifndef RD_LOG_U64MAP_H
#define RD_LOG_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct rd_u64map_ent {
	uint64_t key; /* 0: empty */
	void *val;
	uint64_t n;
};

struct rd_u64map {
	struct rd_u64map_ent *ent;
	size_t cap; /* power of two, or 0 */
	size_t len;
};

/* The entry for key, or NULL. key must not be 0. */
struct rd_u64map_ent *rd_u64map_get(const struct rd_u64map *m, uint64_t key);
/* The entry for key, inserted (val NULL, n 0) when missing. NULL on -ENOMEM. The pointer is
 * valid until the next insert or delete. */
struct rd_u64map_ent *rd_u64map_upsert(struct rd_u64map *m, uint64_t key);
/* Removes key; returns its val (NULL when absent) so the caller can free it. */
void *rd_u64map_del(struct rd_u64map *m, uint64_t key);
/* Frees the table (not the values). */
void rd_u64map_free(struct rd_u64map *m);

#endif
