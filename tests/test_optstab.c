/* test_optstab.c — interned endpoint options by index: sharing, references, reuse of
 * freed entries, and a clean -ENOMEM at every allocation. */
#include <criterion/criterion.h>
#include <errno.h>

#include "alloc.h"
#include "optstab.h"

TestSuite(optstab, .timeout = 60);

static struct redial_endpoint_opts opts_with(uint64_t timeout_ns)
{
	struct redial_endpoint_opts o;
	redial_endpoint_opts_init(&o);
	o.connect_timeout_ns = timeout_ns;
	return o;
}

Test(optstab, equal_options_in_a_row_share_one_entry_and_index_0_names_none)
{
	struct rd_optstab t = { 0 };
	struct redial_endpoint_opts a = opts_with(1000), b = opts_with(2000);
	uint32_t i1, i2, i3;
	cr_assert_eq(rd_optstab_get(&t, &a, NULL, &i1), 0);
	cr_assert_eq(rd_optstab_get(&t, &a, NULL, &i2), 0);
	cr_assert_neq(i1, 0, "0 names no options");
	cr_assert_eq(i1, i2);
	cr_assert_eq(rd_optstab_at(&t, i1)->connect_timeout_ns, 1000);
	cr_assert_eq(rd_optstab_at(&t, i1)->refs, 3, "two holders and the table");
	cr_assert_eq(rd_optstab_get(&t, &b, NULL, &i3), 0);
	cr_assert_neq(i3, i1);
	cr_assert_eq(rd_optstab_at(&t, i3)->connect_timeout_ns, 2000);
	cr_assert_eq(rd_optstab_at(&t, i1)->refs, 2, "the table let go of the old ones");
	rd_optstab_put(&t, 0); /* takes 0 */
	rd_optstab_put(&t, i1);
	rd_optstab_put(&t, i2);
	rd_optstab_put(&t, i3);
	rd_optstab_free(&t);
	cr_assert_null(t.v);
}

/* Options whose last holder let go free their entry, which the next new options take:
 * a table that sees many distinct options over time does not grow without bound. */
Test(optstab, freed_entries_are_reused)
{
	struct rd_optstab t = { 0 };
	uint32_t held[64];
	for (uint32_t k = 0; k < 64; k++) {
		struct redial_endpoint_opts o = opts_with(1000 + k);
		cr_assert_eq(rd_optstab_get(&t, &o, NULL, &held[k]), 0);
	}
	uint32_t n = t.n;
	for (int round = 0; round < 1000; round++) {
		uint32_t k = (uint32_t)round % 64;
		rd_optstab_put(&t, held[k]);
		struct redial_endpoint_opts o = opts_with(5000 + (uint64_t)round);
		cr_assert_eq(rd_optstab_get(&t, &o, NULL, &held[k]), 0);
		cr_assert_eq(rd_optstab_at(&t, held[k])->connect_timeout_ns, 5000 + (uint64_t)round);
	}
	cr_assert_leq(t.n, n + 1, "table grew from %u to %u entries", n, t.n);
	for (uint32_t k = 0; k < 64; k++)
		rd_optstab_put(&t, held[k]);
	rd_optstab_free(&t);
}

Test(optstab, every_failed_allocation_is_a_clean_enomem)
{
	for (long fail = 1; fail < 40; fail++) {
		struct rd_optstab t = { 0 };
		uint32_t held[20];
		int n = 0, failures = 0;
		rd__alloc_fail_after(fail);
		for (uint32_t k = 0; k < 20; k++) {
			struct redial_endpoint_opts o = opts_with(1000 + k / 2);
			int ret = rd_optstab_get(&t, &o, NULL, &held[n]);
			if (ret < 0) {
				cr_assert_eq(ret, -ENOMEM);
				failures++;
				continue;
			}
			cr_assert_eq(rd_optstab_at(&t, held[n])->connect_timeout_ns, 1000 + k / 2);
			n++;
		}
		rd__alloc_fail_after(0);
		cr_assert(fail > 10 || failures > 0, "ten new options take more than ten allocations");
		for (int k = 0; k < n; k++)
			rd_optstab_put(&t, held[k]);
		rd_optstab_free(&t); /* ASan's leak check sees what is left */
	}
}
