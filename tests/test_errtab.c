/* test_errtab.c — the per-endpoint errno counters beyond the first, against a model. */
#include <criterion/criterion.h>
#include <errno.h>

#include "alloc.h"
#include "errtab.h"

TestSuite(errtab, .timeout = 60);

enum { SLOTS = 3000, ERRS = 6 };
static uint32_t model[SLOTS][ERRS];   /* count per (slot, errno index) */
static uint8_t order[SLOTS][ERRS];    /* errno indexes in the order they first came */
static uint8_t norder[SLOTS];

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check_slot(const struct rd_errtab *t, uint32_t slot)
{
	uint32_t n;
	const struct rd_errcount *v = rd_errtab_get(t, slot, &n);
	cr_assert_eq(n, norder[slot], "slot %u", slot);
	cr_assert_eq(v == NULL, n == 0);
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(v[i].err, 100 + order[slot][i], "slot %u", slot);
		cr_assert_eq(v[i].count, model[slot][order[slot][i]], "slot %u", slot);
	}
}

Test(errtab, counts_in_first_seen_order_through_growth_and_deletes)
{
	struct rd_errtab t = { 0 };
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 200000; round++) {
		/* Slots in clusters, so that probe runs are long and deletes shift them. */
		uint32_t slot = (uint32_t)(rnd(&s) % 64) * 37 + (uint32_t)(rnd(&s) % 8);
		if (rnd(&s) % 50 == 0) {
			rd_errtab_drop(&t, slot);
			memset(model[slot], 0, sizeof(model[slot]));
			norder[slot] = 0;
		} else {
			unsigned e = (unsigned)(rnd(&s) % ERRS);
			cr_assert_eq(rd_errtab_count(&t, slot, (uint16_t)(100 + e)), 0);
			if (!model[slot][e]++)
				order[slot][norder[slot]++] = (uint8_t)e;
		}
		if (round % 1000 == 0)
			for (uint32_t k = 0; k < SLOTS; k++)
				check_slot(&t, k);
	}
	uint32_t live = 0;
	for (uint32_t k = 0; k < SLOTS; k++) {
		check_slot(&t, k);
		live += norder[k] != 0;
	}
	cr_assert_eq(t.n, live);
	rd_errtab_free(&t);
	cr_assert_eq(t.n, 0);
	uint32_t n;
	cr_assert_null(rd_errtab_get(&t, 5, &n));
	cr_assert_eq(n, 0);
}

Test(errtab, out_of_memory_loses_one_count_and_leaves_no_empty_entry)
{
	struct rd_errtab t = { 0 };
	rd__alloc_fail_after(1);
	cr_assert_eq(rd_errtab_count(&t, 7, 111), -ENOMEM);
	rd__alloc_fail_after(0);
	cr_assert_eq(rd_errtab_count(&t, 7, 111), 0);
	rd__alloc_fail_after(1); /* the table is there: its counter array fails */
	cr_assert_eq(rd_errtab_count(&t, 8, 111), -ENOMEM);
	rd__alloc_fail_after(0);
	uint32_t n;
	cr_assert_null(rd_errtab_get(&t, 8, &n));
	cr_assert_eq(t.n, 1);
	cr_assert_eq(rd_errtab_get(&t, 7, &n)[0].count, 1);
	rd_errtab_free(&t);
}
