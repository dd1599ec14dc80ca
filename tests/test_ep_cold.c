/* test_ep_cold.c — endpoints' cold records: fresh records, stable addresses while the table
 * grows, reuse of freed records, and a clean -ENOMEM at every allocation. */
#include <criterion/criterion.h>
#include <errno.h>

#include "alloc.h"
#include "ep_cold.h"

TestSuite(ep_cold, .timeout = 60);

Test(ep_cold, a_new_record_is_fresh_and_index_0_names_none)
{
	struct rd_coldtab t = { 0 };
	cr_assert_null(rd_cold_at(&t, 0));
	uint32_t i;
	cr_assert_eq(rd_cold_alloc(&t, &i), 0);
	cr_assert_neq(i, 0);
	struct rd_ep_cold *c = rd_cold_at(&t, i);
	cr_assert_eq(c->fd, -1);
	cr_assert_null(c->name);
	cr_assert_null(c->tls);
	cr_assert_eq(c->addr.sa.sa_family, 0);
	cr_assert_eq(c->connects + c->disconnects + c->fail_mark + c->ops + c->want, 0);
	/* Dirty it, free it, and the next record (the same one) is fresh again. */
	c->fd = 7;
	c->connects = 3;
	c->conn_seq = 0xabcdef;
	c->fd = -1;
	rd_cold_free(&t, i);
	rd_cold_free(&t, 0); /* takes 0 */
	uint32_t j;
	cr_assert_eq(rd_cold_alloc(&t, &j), 0);
	cr_assert_eq(j, i, "the freed record is taken first");
	cr_assert_eq(rd_cold_at(&t, j)->connects, 0);
	cr_assert_eq(rd_cold_at(&t, j)->conn_seq, 0);
	cr_assert_eq(t.live, 1);
	rd_cold_free(&t, j);
	rd_coldtab_free(&t);
	cr_assert_null(t.chunk);
}

/* Records never move: a pointer taken before thousands more are made still reads what was
 * written through it, and freed records are reused before the table grows. */
Test(ep_cold, records_keep_their_address_and_freed_ones_are_reused)
{
	enum { N = 5000 };
	static uint32_t idx[N];
	static struct rd_ep_cold *at[N];
	struct rd_coldtab t = { 0 };
	for (uint32_t k = 0; k < N; k++) {
		cr_assert_eq(rd_cold_alloc(&t, &idx[k]), 0);
		at[k] = rd_cold_at(&t, idx[k]);
		at[k]->connects = k;
	}
	for (uint32_t k = 0; k < N; k++) {
		cr_assert_eq(rd_cold_at(&t, idx[k]), at[k]);
		cr_assert_eq(at[k]->connects, k);
	}
	uint32_t chunks = t.nchunks;
	for (uint32_t k = 0; k < N; k += 2)
		rd_cold_free(&t, idx[k]);
	cr_assert_eq(t.live, N / 2);
	for (uint32_t k = 0; k < N; k += 2)
		cr_assert_eq(rd_cold_alloc(&t, &idx[k]), 0);
	cr_assert_eq(t.nchunks, chunks, "reused, not grown");
	for (uint32_t k = 1; k < N; k += 2)
		cr_assert_eq(at[k]->connects, k, "a live record kept its contents");
	for (uint32_t k = 0; k < N; k++)
		rd_cold_free(&t, idx[k]);
	cr_assert_eq(t.live, 0);
	rd_coldtab_free(&t);
}

Test(ep_cold, every_failed_allocation_is_a_clean_enomem)
{
	enum { N = 300 }; /* 5 chunks and 2 growths of the chunk array: 7 allocations */
	for (long fail = 1; fail <= 7; fail++) {
		struct rd_coldtab t = { 0 };
		uint32_t idx[N];
		int n = 0, failures = 0;
		rd__alloc_fail_after(fail);
		for (int k = 0; k < N; k++) {
			uint32_t i = 12345;
			int ret = rd_cold_alloc(&t, &i);
			if (ret < 0) {
				cr_assert_eq(ret, -ENOMEM);
				cr_assert_eq(i, 12345, "*ret_idx is not written on failure");
				failures++;
				continue;
			}
			cr_assert_eq(rd_cold_at(&t, i)->fd, -1);
			idx[n++] = i;
		}
		rd__alloc_fail_after(0);
		cr_assert_gt(failures, 0, "300 records take more than %ld allocations", fail);
		cr_assert_eq(t.live, (uint32_t)n);
		for (int k = 0; k < n; k++)
			rd_cold_free(&t, idx[k]);
		rd_coldtab_free(&t); /* ASan's leak check sees what is left */
	}
}
