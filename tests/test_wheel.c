/* test_wheel.c — the timer wheel against a brute-force model. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "wheel.h"

TestSuite(wheel, .timeout = 60);

enum { N = 4000 };
static struct rd_timer timers[N];
static bool armed[N];
static uint64_t due[N];

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

Test(wheel, expires_every_timer_exactly_at_its_tick_never_early_never_late)
{
	static struct rd_wheel w;
	uint64_t s = 88172645463325252ull;
	rd_wheel_init(&w, 1000);
	memset(armed, 0, sizeof(armed));
	for (int i = 0; i < N; i++)
		timers[i].next = NULL;
	uint64_t now = 1000;
	size_t fired = 0, deleted = 0;
	for (int round = 0; round < 3000; round++) {
		/* arm some */
		for (int k = 0; k < 20; k++) {
			int i = (int)(rnd(&s) % N);
			if (armed[i])
				continue;
			due[i] = now + pick_delay(&s);
			rd_wheel_add(&w, &timers[i], due[i]);
			armed[i] = true;
		}
		/* delete some */
		for (int k = 0; k < 10; k++) {
			int i = (int)(rnd(&s) % N);
			if (!armed[i])
				continue;
			rd_wheel_del(&w, &timers[i]);
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
		struct rd_timer out;
		rd_tlist_init(&out);
		rd_wheel_advance(&w, to, &out);
		struct rd_timer *t;
		while ((t = rd_tlist_pop(&out))) {
			int i = (int)(t - timers);
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

Test(wheel, next_reports_the_exact_tick_for_a_near_timer)
{
	struct rd_wheel w;
	struct rd_timer t = { 0 };
	rd_wheel_init(&w, 5);
	rd_wheel_add(&w, &t, 47);
	cr_assert_eq(rd_wheel_next(&w), 47);
	rd_wheel_del(&w, &t);
	cr_assert_eq(rd_wheel_next(&w), RD_WHEEL_NONE);
	cr_assert_eq(w.count, 0);
}
