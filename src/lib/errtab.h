/* errtab.h — per-endpoint errno counters beyond the first distinct errno, in one table per
 * manager keyed by endpoint slot.
 *
 * Why out of line: an endpoint usually sees one errno (a dead upstream refuses, or times
 * out), and every byte of struct rd_endpoint is paid for each of 100k endpoints. So the
 * endpoint holds one (errno, count) pair, and only one that has seen a second distinct
 * errno costs an entry here. Knows nothing of the manager or the endpoint table. */
#ifndef RD_ERRTAB_H
#define RD_ERRTAB_H

#include <stdint.h>

struct rd_errcount {
	uint16_t err;
	uint32_t count;
} __attribute__((packed));

struct rd_errtab_ent;

/* Open addressing with linear probing; zeroed, it is an empty table. */
struct rd_errtab {
	struct rd_errtab_ent *t;
	uint32_t n;                 /* slots with an entry */
	uint8_t bits;               /* the table has 1 << bits entries (0: none allocated) */
};

/* Counts err for slot. -ENOMEM (the count is lost) or 0. */
int rd_errtab_count(struct rd_errtab *t, uint32_t slot, uint16_t err);
/* Slot's counters in the order their errnos first came, or NULL (*ret_n 0) when none. */
const struct rd_errcount *rd_errtab_get(const struct rd_errtab *t, uint32_t slot,
					uint32_t *ret_n);
/* Forgets slot's counters (its endpoint is gone). */
void rd_errtab_drop(struct rd_errtab *t, uint32_t slot);
void rd_errtab_free(struct rd_errtab *t);

#endif
