/* test_wheel.c — the timer wheel against a brute-force model. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "wheel.h"

TestSuite(wheel, .timeout = 60);

enum { N = 4000 };
static struct rd_timer timers[N];
static bool armed[N];
static uint64_t due[N];

/* The wheel asks its owner for a timer's due tick: here, the model's. */
static uint64_t model_due(uint32_t item, void *ctx)
{
	(void)ctx;
	return due[item];
}

static void wheel_init(struct rd_wheel *w, uint64_t now)
{
	rd_wheel_init(w, now, timers, sizeof(timers[0]), model_due, NULL);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Picks a delay spread over every level, including beyond the top (overflow). */
static uint64_t pick_delay(uint64_t *s)
{
	switch (rnd(s) % 6) {
	case 0: return 1 + rnd(s) % 64;
	case 1: return 1 + rnd(s) % 4096;
	case 2: return 1 + rnd(s) % 262144;
	case 3: return 1 + rnd(s) % 16777216;
	case 4: return 16777216 + rnd(s) % 100000000;
	default: return 1 + rnd(s) % 200;
	}
}

/* Random arms, deletes and advances from tick `start`, checked against the model. */
static void run_model(uint64_t start, uint64_t seed)
{
	static struct rd_wheel w;
	uint64_t s = seed;
	wheel_init(&w, start);
	memset(armed, 0, sizeof(armed));
	memset(timers, 0, sizeof(timers));
	uint64_t now = start;
	size_t fired = 0, deleted = 0;
	for (int round = 0; round < 3000; round++) {
		/* arm some */
		for (int k = 0; k < 20; k++) {
			int i = (int)(rnd(&s) % N);
			if (armed[i])
				continue;
			due[i] = now + pick_delay(&s);
			rd_wheel_add(&w, (uint32_t)i, due[i]);
			armed[i] = true;
		}
		/* delete some */
		for (int k = 0; k < 10; k++) {
			int i = (int)(rnd(&s) % N);
			if (!armed[i])
				continue;
			rd_wheel_del(&w, (uint32_t)i);
			cr_assert_not(rd_timer_armed(&timers[i]));
			armed[i] = false;
			deleted++;
		}
		/* next must not be later than the earliest due */
		uint64_t earliest = UINT64_MAX;
		size_t count = 0;
		for (int i = 0; i < N; i++)
			if (armed[i]) {
				count++;
				if (due[i] < earliest)
					earliest = due[i];
			}
		cr_assert_eq(w.count, count);
		uint64_t next = rd_wheel_next(&w);
		if (count) {
			cr_assert_leq(next, earliest, "next %lu after earliest due %lu",
				      (unsigned long)next, (unsigned long)earliest);
			cr_assert_gt(next, now);
		} else {
			cr_assert_eq(next, RD_WHEEL_NONE);
		}
		/* advance: sometimes exactly to next, sometimes a random jump */
		uint64_t to;
		if (count && rnd(&s) % 2)
			to = next;
		else
			to = now + 1 + rnd(&s) % (rnd(&s) % 3 ? 300 : 20000000);
		rd_wheel_advance(&w, to, RD_TL_USER(0));
		uint32_t item;
		while ((item = rd_tlist_pop(&w, RD_TL_USER(0))) != RD_TL_NONE) {
			int i = (int)item;
			cr_assert(armed[i], "timer %d fired but was not armed", i);
			cr_assert_leq(due[i], to, "fired early");
			armed[i] = false;
			fired++;
		}
		for (int i = 0; i < N; i++)
			if (armed[i])
				cr_assert_gt(due[i], to, "timer %d due %lu not fired at %lu", i,
					     (unsigned long)due[i], (unsigned long)to);
		now = to;
	}
	cr_assert_gt(fired, 10000);
	cr_assert_gt(deleted, 1000);
}

Test(wheel, expires_every_timer_exactly_at_its_tick_never_early_never_late)
{
	run_model(1000, 88172645463325252ull);
}

/* Ticks far from 0 (a manager up for years, or a wheel started late): every level and the
 * overflow list work on the high bits alike, and nothing is truncated. */
Test(wheel, works_the_same_with_ticks_beyond_32_and_48_bits)
{
	run_model((1ull << 32) - 777, 1234567ull);
	run_model((1ull << 48) + 12345, 7654321ull);
	run_model((1ull << 62) - 99, 42ull);
}

Test(wheel, a_timer_is_two_32_bit_links)
{
	cr_assert_eq(sizeof(struct rd_timer), 8);
}

/* The owner's lists share the links: push, push to the front, unlink from the middle, pop;
 * a timer on no list reads as unarmed. */
Test(wheel, owner_lists_keep_their_order_and_unlink_from_anywhere)
{
	static struct rd_wheel w;
	memset(timers, 0, sizeof(timers));
	wheel_init(&w, 0);
	unsigned q = RD_TL_USER(1);
	cr_assert(rd_tlist_empty(&w, q));
	cr_assert_eq(rd_tlist_first(&w, q), RD_TL_NONE);
	rd_tlist_push(&w, q, 7);
	rd_tlist_push(&w, q, 0);
	rd_tlist_push_front(&w, q, 3999);
	rd_tlist_push(&w, q, 12);
	cr_assert(rd_timer_armed(&timers[0]));
	rd_tlist_unlink(&w, 0);
	cr_assert_not(rd_timer_armed(&timers[0]));
	cr_assert(rd_tlist_empty(&w, RD_TL_USER(0)), "the other list is untouched");
	uint32_t want[] = { 3999, 7, 12 };
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(rd_tlist_pop(&w, q), want[i]);
	cr_assert_eq(rd_tlist_pop(&w, q), RD_TL_NONE);
	cr_assert(rd_tlist_empty(&w, q));
}

/* Deleting the last timer of a slot clears the slot's pending bit, also when the timers
 * around it sit in other slots or on the overflow list. */
Test(wheel, deleting_a_slots_last_timer_clears_its_pending_bit)
{
	static struct rd_wheel w;
	memset(timers, 0, sizeof(timers));
	wheel_init(&w, 0);
	due[0] = 5;               /* level 0 */
	due[1] = 5;
	due[2] = 3 * 64 + 1;      /* level 1 */
	due[3] = 1ull << 30;      /* overflow */
	for (int i = 0; i < 4; i++)
		rd_wheel_add(&w, (uint32_t)i, due[i]);
	cr_assert_eq(rd_wheel_next(&w), 5);
	rd_wheel_del(&w, 0);
	cr_assert_eq(rd_wheel_next(&w), 5, "one timer is left in the slot");
	rd_wheel_del(&w, 1);
	cr_assert_eq(w.pending[0], 0);
	cr_assert_eq(rd_wheel_next(&w), 3 * 64);
	rd_wheel_del(&w, 2);
	cr_assert_eq(w.pending[1], 0);
	cr_assert_eq(rd_wheel_next(&w), 1ull << 24, "only the overflow list is left");
	rd_wheel_del(&w, 3);
	cr_assert_eq(rd_wheel_next(&w), RD_WHEEL_NONE);
	cr_assert_eq(w.count, 0);
}

Test(wheel, next_reports_the_exact_tick_for_a_near_timer)
{
	struct rd_wheel w;
	memset(timers, 0, sizeof(timers));
	due[0] = 47;
	wheel_init(&w, 5);
	rd_wheel_add(&w, 0, 47);
	cr_assert_eq(rd_wheel_next(&w), 47);
	rd_wheel_del(&w, 0);
	cr_assert_eq(rd_wheel_next(&w), RD_WHEEL_NONE);
	cr_assert_eq(w.count, 0);
}
