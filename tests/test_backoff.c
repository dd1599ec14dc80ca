/* test_backoff.c — the seeded generator and the backoff policy: exact values where the
 * policy is deterministic, bounds and moments over 100k draws where it is random. */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "redial.h"

#define DRAWS 100000
#define MS(x) REDIAL_MSEC(x)

TestSuite(backoff, .timeout = 30);

static struct redial_backoff policy(enum redial_jitter j)
{
	struct redial_backoff b;
	redial_backoff_init(&b);
	b.jitter = j;
	return b;
}

/* Summary of DRAWS delays for a fixed failure count. */
struct sample {
	uint64_t min, max;
	double mean;
};

static struct sample draw(const struct redial_backoff *b, uint32_t failures, uint64_t prev,
			  uint64_t seed)
{
	struct redial_rng rng;
	redial_rng_seed(&rng, seed);
	struct sample s = { .min = UINT64_MAX, .max = 0, .mean = 0 };
	double sum = 0;
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = redial_backoff_delay(b, failures, prev, &rng);
		if (d < s.min)
			s.min = d;
		if (d > s.max)
			s.max = d;
		sum += (double)d;
	}
	s.mean = sum / DRAWS;
	return s;
}

static void assert_near(double got, double want, double rel, const char *what)
{
	cr_assert(fabs(got - want) <= rel * want, "%s: got %.1f, want %.1f +- %.1f%%", what, got,
		  want, rel * 100);
}

/* ---- Generator ------------------------------------------------------------------------- */

/* Reference values from an independent implementation of splitmix64 and xoshiro256**
 * (splitmix64(0) = 0xe220a8397b1dcdaf is the published first output). */
static const struct {
	uint64_t seed;
	uint64_t state[4];
	uint64_t out[4];
} rng_vectors[] = {
	{ 0,
	  { 0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull, 0x06c45d188009454full,
	    0xf88bb8a8724c81ecull },
	  { 0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull, 0x1a5f849d4933e6e0ull,
	    0x6aa594f1262d2d2cull } },
	{ 1,
	  { 0x910a2dec89025cc1ull, 0xbeeb8da1658eec67ull, 0xf893a2eefb32555eull,
	    0x71c18690ee42c90bull },
	  { 0xb3f2af6d0fc710c5ull, 0x853b559647364ceaull, 0x92f89756082a4514ull,
	    0x642e1c7bc266a3a7ull } },
	{ 0xdeadbeef,
	  { 0x4adfb90f68c9eb9bull, 0xde586a3141a10922ull, 0x021fbc2f8e1cfc1dull,
	    0x7466ce737be16790ull },
	  { 0xc5555444a74d7e83ull, 0x65c30d37b4b16e38ull, 0x54f773200a4efa23ull,
	    0x429aed75fb958af7ull } },
	{ UINT64_MAX,
	  { 0xe4d971771b652c20ull, 0xe99ff867dbf682c9ull, 0x382ff84cb27281e9ull,
	    0x6d1db36ccba982d2ull },
	  { 0x8f5520d52a7ead08ull, 0xc476a018caa1802dull, 0x81de31c0d260469eull,
	    0xbf658d7e065f3c2full } },
};

Test(backoff, rng_matches_reference_splitmix64_seeding_and_xoshiro256starstar_outputs)
{
	for (size_t v = 0; v < sizeof(rng_vectors) / sizeof(rng_vectors[0]); v++) {
		struct redial_rng rng;
		redial_rng_seed(&rng, rng_vectors[v].seed);
		for (int i = 0; i < 4; i++)
			cr_assert_eq(rng.s[i], rng_vectors[v].state[i],
				     "seed %#llx: state word %d is %#llx, want %#llx",
				     (unsigned long long)rng_vectors[v].seed, i,
				     (unsigned long long)rng.s[i],
				     (unsigned long long)rng_vectors[v].state[i]);
		for (int i = 0; i < 4; i++) {
			uint64_t got = redial_rng_next(&rng);
			cr_assert_eq(got, rng_vectors[v].out[i],
				     "seed %#llx: output %d is %#llx, want %#llx",
				     (unsigned long long)rng_vectors[v].seed, i,
				     (unsigned long long)got,
				     (unsigned long long)rng_vectors[v].out[i]);
		}
	}
}

Test(backoff, rng_seed_zero_gives_a_live_nonzero_state_and_varied_output)
{
	struct redial_rng rng;
	memset(&rng, 0, sizeof(rng));
	redial_rng_seed(&rng, 0);
	cr_assert(rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3], "seed 0 left the state all zero");

	uint64_t first = redial_rng_next(&rng);
	int same = 0, zero = first == 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = redial_rng_next(&rng);
		same += x == first;
		zero += x == 0;
	}
	cr_assert_eq(same, 0, "the generator repeated its first output");
	cr_assert_eq(zero, 0, "the generator produced zeros");
}

Test(backoff, rng_equal_seeds_give_equal_streams_and_different_seeds_differ)
{
	struct redial_rng a, b, c;
	redial_rng_seed(&a, 42);
	redial_rng_seed(&b, 42);
	redial_rng_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 10000; i++) {
		uint64_t x = redial_rng_next(&a);
		cr_assert_eq(x, redial_rng_next(&b), "streams of seed 42 diverged at %d", i);
		differ += x != redial_rng_next(&c);
	}
	cr_assert_gt(differ, 9990, "seeds 42 and 43 agree on %d of 10000 outputs", 10000 - differ);
}

Test(backoff, rng_bits_are_balanced)
{
	struct redial_rng rng;
	redial_rng_seed(&rng, 7);
	unsigned ones[64] = { 0 };
	for (int i = 0; i < DRAWS; i++) {
		uint64_t x = redial_rng_next(&rng);
		for (int bit = 0; bit < 64; bit++)
			ones[bit] += (x >> bit) & 1;
	}
	/* 50000 +- 1500 is about 9.5 sigma: only a broken bit fails. */
	for (int bit = 0; bit < 64; bit++)
		cr_assert(ones[bit] > 48500 && ones[bit] < 51500, "bit %d set %u times in %d", bit,
			  ones[bit], DRAWS);
}

/* ---- init / validate ---------------------------------------------------------------------- */

Test(backoff, init_fills_the_documented_defaults)
{
	struct redial_backoff b;
	memset(&b, 0xa5, sizeof(b));
	redial_backoff_init(&b);
	cr_assert_eq(b.initial_ns, 100000000ull);
	cr_assert_eq(b.max_ns, 30000000000ull);
	cr_assert(b.multiplier == 2.0, "multiplier %f", b.multiplier);
	cr_assert_eq(b.jitter, REDIAL_JITTER_FULL);
	cr_assert_eq(b.max_attempts, 0);
	cr_assert_eq(b.max_elapsed_ns, 0);
	cr_assert_eq(redial_backoff_validate(&b), 0);
}

Test(backoff, validate_accepts_edge_values)
{
	struct redial_backoff b = policy(REDIAL_JITTER_NONE);
	b.max_ns = b.initial_ns; /* cap == initial: a constant delay */
	cr_assert_eq(redial_backoff_validate(&b), 0);
	b.multiplier = 1.0;
	cr_assert_eq(redial_backoff_validate(&b), 0);
	b.initial_ns = 1;
	b.max_ns = UINT64_MAX;
	b.multiplier = 1e300;
	cr_assert_eq(redial_backoff_validate(&b), 0);
	for (int j = REDIAL_JITTER_NONE; j <= REDIAL_JITTER_DECORRELATED; j++) {
		b.jitter = (enum redial_jitter)j;
		cr_assert_eq(redial_backoff_validate(&b), 0, "jitter %d rejected", j);
	}
}

Test(backoff, validate_rejects_each_out_of_range_field)
{
	struct redial_backoff b;

	cr_assert_eq(redial_backoff_validate(NULL), -EINVAL);

	b = policy(REDIAL_JITTER_FULL);
	b.initial_ns = 0;
	cr_assert_eq(redial_backoff_validate(&b), -EINVAL, "initial 0 accepted");

	b = policy(REDIAL_JITTER_FULL);
	b.max_ns = b.initial_ns - 1;
	cr_assert_eq(redial_backoff_validate(&b), -EINVAL, "cap < initial accepted");

	const double bad_mult[] = { 0.0, 0.999999, -2.0, NAN, -NAN, INFINITY, -INFINITY };
	for (size_t i = 0; i < sizeof(bad_mult) / sizeof(bad_mult[0]); i++) {
		b = policy(REDIAL_JITTER_FULL);
		b.multiplier = bad_mult[i];
		cr_assert_eq(redial_backoff_validate(&b), -EINVAL, "multiplier %f accepted",
			     bad_mult[i]);
	}

	const int bad_jitter[] = { 4, 5, -1, 1000 };
	for (size_t i = 0; i < sizeof(bad_jitter) / sizeof(bad_jitter[0]); i++) {
		b = policy(REDIAL_JITTER_FULL);
		b.jitter = (enum redial_jitter)bad_jitter[i];
		cr_assert_eq(redial_backoff_validate(&b), -EINVAL, "jitter %d accepted",
			     bad_jitter[i]);
	}
}

/* ---- No jitter: exact values -------------------------------------------------------------- */

Test(backoff, none_doubles_from_initial_and_stops_at_the_cap)
{
	struct redial_backoff b = policy(REDIAL_JITTER_NONE);
	const uint64_t want[] = { MS(100),  MS(200),  MS(400),   MS(800),   MS(1600),  MS(3200),
				  MS(6400), MS(12800), MS(25600), MS(30000), MS(30000), MS(30000) };
	for (uint32_t f = 1; f <= sizeof(want) / sizeof(want[0]); f++) {
		uint64_t d = redial_backoff_delay(&b, f, 0, NULL);
		cr_assert_eq(d, want[f - 1], "failures %u: %llu, want %llu", f,
			     (unsigned long long)d, (unsigned long long)want[f - 1]);
	}
}

Test(backoff, none_with_fractional_multiplier_is_exact_while_representable)
{
	struct redial_backoff b = policy(REDIAL_JITTER_NONE);
	b.multiplier = 1.5;
	b.max_ns = REDIAL_SEC(3);
	/* 1e8 * 1.5^k for k = 0..8; the last is past the cap. */
	const uint64_t want[] = { 100000000,  150000000,  225000000,  337500000, 506250000,
				  759375000,  1139062500, 1708593750, 2562890625, 3000000000 };
	for (uint32_t f = 1; f <= sizeof(want) / sizeof(want[0]); f++)
		cr_assert_eq(redial_backoff_delay(&b, f, 0, NULL), want[f - 1], "failures %u", f);
}

Test(backoff, unknown_jitter_mode_falls_back_to_no_jitter)
{
	struct redial_backoff b = policy((enum redial_jitter)7);
	struct redial_rng rng;
	redial_rng_seed(&rng, 1);
	cr_assert_eq(redial_backoff_delay(&b, 1, 0, &rng), MS(100));
	cr_assert_eq(redial_backoff_delay(&b, 4, 0, &rng), MS(800));
	cr_assert_eq(redial_backoff_delay(&b, 99, 0, &rng), MS(30000));
}

Test(backoff, none_ignores_prev_and_treats_zero_failures_as_the_first)
{
	struct redial_backoff b = policy(REDIAL_JITTER_NONE);
	cr_assert_eq(redial_backoff_delay(&b, 3, MS(12345), NULL), MS(400));
	cr_assert_eq(redial_backoff_delay(&b, 0, 0, NULL), MS(100));
}

Test(backoff, multiplier_one_keeps_the_initial_delay_forever)
{
	struct redial_backoff b = policy(REDIAL_JITTER_NONE);
	b.multiplier = 1.0;
	const uint32_t fs[] = { 1, 2, 100, 1u << 20, UINT32_MAX };
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		cr_assert_eq(redial_backoff_delay(&b, fs[i], 0, NULL), MS(100), "failures %u",
			     fs[i]);
}

Test(backoff, huge_failure_counts_saturate_at_the_cap_quickly, .timeout = 10)
{
	struct redial_backoff b = policy(REDIAL_JITTER_NONE);
	/* Barely above 1: a per-failure loop would run billions of steps per call. */
	b.multiplier = 1.0000001;
	uint64_t d = redial_backoff_delay(&b, 2, 0, NULL);
	cr_assert(d >= 100000009 && d <= 100000010, "failures 2: %llu", (unsigned long long)d);

	for (uint32_t i = 0; i < DRAWS; i++) {
		uint32_t f = UINT32_MAX - i * 7;
		cr_assert_eq(redial_backoff_delay(&b, f, 0, NULL), b.max_ns, "failures %u", f);
	}
	b.multiplier = 2.0;
	cr_assert_eq(redial_backoff_delay(&b, UINT32_MAX, 0, NULL), b.max_ns);
	cr_assert_eq(redial_backoff_delay(&b, 1u << 31, 0, NULL), b.max_ns);
	cr_assert_eq(redial_backoff_delay(&b, 65, 0, NULL), b.max_ns);
}

Test(backoff, exponent_near_uint64_max_neither_overflows_nor_wraps)
{
	struct redial_backoff b = policy(REDIAL_JITTER_NONE);
	b.initial_ns = 1;
	b.max_ns = UINT64_MAX;
	cr_assert_eq(redial_backoff_delay(&b, 1, 0, NULL), 1);
	cr_assert_eq(redial_backoff_delay(&b, 33, 0, NULL), 1ull << 32);
	cr_assert_eq(redial_backoff_delay(&b, 64, 0, NULL), 1ull << 63);
	cr_assert_eq(redial_backoff_delay(&b, 65, 0, NULL), UINT64_MAX);
	cr_assert_eq(redial_backoff_delay(&b, 1000, 0, NULL), UINT64_MAX);
	cr_assert_eq(redial_backoff_delay(&b, UINT32_MAX, 0, NULL), UINT64_MAX);

	/* Above 2^53 the product is rounded, but stays ordered and inside [initial, cap]. */
	b.initial_ns = (1ull << 60) + 1;
	cr_assert_eq(redial_backoff_delay(&b, 1, 0, NULL), (1ull << 60) + 1);
	uint64_t d2 = redial_backoff_delay(&b, 2, 0, NULL);
	cr_assert(d2 >= (1ull << 61) && d2 <= (1ull << 61) + 2, "%llu", (unsigned long long)d2);
	cr_assert_eq(redial_backoff_delay(&b, 5, 0, NULL), UINT64_MAX);

	/* An infinite multiplier never passes validate, but must still not misbehave. */
	b.initial_ns = MS(100);
	b.max_ns = REDIAL_SEC(30);
	b.multiplier = INFINITY;
	cr_assert_eq(redial_backoff_delay(&b, 1, 0, NULL), MS(100));
	cr_assert_eq(redial_backoff_delay(&b, 2, 0, NULL), REDIAL_SEC(30));
}

Test(backoff, no_mode_exceeds_max_ns_even_for_invalid_policies)
{
	struct redial_rng rng;
	redial_rng_seed(&rng, 9);
	for (int j = REDIAL_JITTER_NONE; j <= REDIAL_JITTER_DECORRELATED; j++) {
		struct redial_backoff b = policy((enum redial_jitter)j);
		b.initial_ns = REDIAL_SEC(10);
		b.max_ns = REDIAL_SEC(1); /* cap < initial */
		b.multiplier = NAN;
		for (uint32_t f = 1; f < 100; f++) {
			uint64_t d = redial_backoff_delay(&b, f, REDIAL_SEC(5), &rng);
			cr_assert_leq(d, REDIAL_SEC(1), "jitter %d failures %u: %llu", j, f,
				      (unsigned long long)d);
		}
	}
}

/* ---- Full jitter -------------------------------------------------------------------------- */

Test(backoff, full_jitter_spans_zero_to_the_ceiling_with_mean_half)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	const uint32_t fs[] = { 1, 3, 9, 40 };
	const uint64_t ceil[] = { MS(100), MS(400), MS(25600), MS(30000) };
	for (size_t i = 0; i < 4; i++) {
		struct sample s = draw(&b, fs[i], 0, 1000 + i);
		cr_assert_leq(s.max, ceil[i], "failures %u: max %llu over ceiling", fs[i],
			      (unsigned long long)s.max);
		/* The range is used end to end, not just somewhere inside it. */
		cr_assert_lt(s.min, ceil[i] / 1000, "failures %u: min %llu", fs[i],
			     (unsigned long long)s.min);
		cr_assert_gt(s.max, ceil[i] - ceil[i] / 1000, "failures %u: max %llu", fs[i],
			     (unsigned long long)s.max);
		assert_near(s.mean, (double)ceil[i] / 2, 0.01, "full jitter mean");
	}
}

Test(backoff, full_jitter_includes_both_ends_with_equal_weight)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	b.initial_ns = 3;
	b.max_ns = 3;
	struct redial_rng rng;
	redial_rng_seed(&rng, 5);
	unsigned hist[4] = { 0 };
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = redial_backoff_delay(&b, 1, 0, &rng);
		cr_assert_leq(d, 3);
		hist[d]++;
	}
	/* 25000 each; +-1000 is about 7 sigma. */
	for (int v = 0; v < 4; v++)
		cr_assert(hist[v] > 24000 && hist[v] < 26000, "value %d drawn %u times", v, hist[v]);
}

Test(backoff, full_jitter_has_no_modulo_bias_on_a_huge_range)
{
	/* Ceiling 3 * 2^62: a plain `r % (ceiling + 1)` would land below 2^62 half of the time
	 * instead of a third. */
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	b.initial_ns = 3ull << 62;
	b.max_ns = 3ull << 62;
	struct redial_rng rng;
	redial_rng_seed(&rng, 11);
	unsigned low = 0;
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = redial_backoff_delay(&b, 1, 0, &rng);
		cr_assert_leq(d, 3ull << 62);
		low += d < (1ull << 62);
	}
	double frac = (double)low / DRAWS;
	cr_assert(frac > 0.323 && frac < 0.343, "fraction below 2^62: %f, want 1/3", frac);
}

Test(backoff, full_jitter_with_uint64_max_ceiling_uses_the_whole_range)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	b.initial_ns = UINT64_MAX;
	b.max_ns = UINT64_MAX;
	struct redial_rng rng;
	redial_rng_seed(&rng, 12);
	unsigned high = 0;
	for (int i = 0; i < 10000; i++)
		high += redial_backoff_delay(&b, 1, 0, &rng) >= (1ull << 63);
	cr_assert(high > 4700 && high < 5300, "%u of 10000 in the upper half", high);
}

/* ---- Equal jitter ------------------------------------------------------------------------- */

Test(backoff, equal_jitter_stays_in_the_upper_half_with_mean_three_quarters)
{
	struct redial_backoff b = policy(REDIAL_JITTER_EQUAL);
	const uint32_t fs[] = { 1, 4, 12 };
	const uint64_t ceil[] = { MS(100), MS(800), MS(30000) };
	for (size_t i = 0; i < 3; i++) {
		struct sample s = draw(&b, fs[i], 0, 2000 + i);
		cr_assert_geq(s.min, ceil[i] / 2, "failures %u: min %llu", fs[i],
			      (unsigned long long)s.min);
		cr_assert_leq(s.max, ceil[i], "failures %u: max %llu", fs[i],
			      (unsigned long long)s.max);
		cr_assert_lt(s.min, ceil[i] / 2 + ceil[i] / 1000, "failures %u: min %llu", fs[i],
			     (unsigned long long)s.min);
		cr_assert_gt(s.max, ceil[i] - ceil[i] / 1000, "failures %u: max %llu", fs[i],
			     (unsigned long long)s.max);
		assert_near(s.mean, (double)ceil[i] * 0.75, 0.01, "equal jitter mean");
	}
}

Test(backoff, equal_jitter_includes_both_ends_of_a_small_range)
{
	struct redial_backoff b = policy(REDIAL_JITTER_EQUAL);
	b.initial_ns = 4;
	b.max_ns = 4;
	struct redial_rng rng;
	redial_rng_seed(&rng, 6);
	unsigned hist[5] = { 0 };
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = redial_backoff_delay(&b, 1, 0, &rng);
		cr_assert(d >= 2 && d <= 4, "delay %llu outside [2, 4]", (unsigned long long)d);
		hist[d]++;
	}
	for (int v = 2; v <= 4; v++)
		cr_assert(hist[v] > 32333 && hist[v] < 34333, "value %d drawn %u times", v, hist[v]);

	/* Odd ceiling 3: the range is [ceil(3/2), 3] = {2, 3}, so the ceiling stays reachable. */
	b.initial_ns = 3;
	b.max_ns = 3;
	memset(hist, 0, sizeof(hist));
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = redial_backoff_delay(&b, 1, 0, &rng);
		cr_assert(d >= 2 && d <= 3, "delay %llu outside [2, 3]", (unsigned long long)d);
		hist[d]++;
	}
	for (int v = 2; v <= 3; v++)
		cr_assert(hist[v] > 49000 && hist[v] < 51000, "value %d drawn %u times", v, hist[v]);
}

/* ---- Decorrelated jitter ------------------------------------------------------------------ */

Test(backoff, decorrelated_first_delay_is_uniform_between_initial_and_three_initial)
{
	struct redial_backoff b = policy(REDIAL_JITTER_DECORRELATED);
	struct sample s = draw(&b, 1, 0, 3000);
	cr_assert_geq(s.min, MS(100));
	cr_assert_leq(s.max, MS(300));
	cr_assert_lt(s.min, MS(101));
	cr_assert_gt(s.max, MS(299));
	assert_near(s.mean, (double)MS(200), 0.01, "decorrelated first mean");

	/* prev is what drives it, not failures. */
	s = draw(&b, 50, MS(1000), 3001);
	cr_assert_geq(s.min, MS(100));
	cr_assert_leq(s.max, MS(3000));
	assert_near(s.mean, (double)MS(1550), 0.01, "decorrelated mean from prev 1 s");
}

Test(backoff, decorrelated_walk_stays_between_initial_and_cap)
{
	struct redial_backoff b = policy(REDIAL_JITTER_DECORRELATED);
	struct redial_rng rng;
	redial_rng_seed(&rng, 3002);
	uint64_t prev = 0;
	unsigned at_cap = 0, low = 0;
	for (uint32_t i = 1; i <= DRAWS; i++) {
		uint64_t d = redial_backoff_delay(&b, i, prev, &rng);
		uint64_t from = prev ? prev : b.initial_ns;
		cr_assert(d >= b.initial_ns && d <= b.max_ns, "step %u: %llu", i,
			  (unsigned long long)d);
		cr_assert_leq(d, from * 3, "step %u: %llu from prev %llu", i, (unsigned long long)d,
			      (unsigned long long)prev);
		at_cap += d == b.max_ns;
		low += d < MS(200);
		prev = d;
	}
	/* The walk both reaches the cap and falls back near initial. */
	cr_assert_gt(at_cap, 100);
	cr_assert_gt(low, 10);
}

Test(backoff, decorrelated_folds_the_mass_above_the_cap_onto_the_cap)
{
	/* From prev = cap the draw is uniform in [0.1 s, 90 s]; min(cap, .) puts
	 * (90 - 30) / (90 - 0.1) = 66.7% of it exactly on the cap. */
	struct redial_backoff b = policy(REDIAL_JITTER_DECORRELATED);
	struct redial_rng rng;
	redial_rng_seed(&rng, 3003);
	unsigned at_cap = 0;
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = redial_backoff_delay(&b, 7, b.max_ns, &rng);
		cr_assert(d >= b.initial_ns && d <= b.max_ns);
		at_cap += d == b.max_ns;
	}
	double frac = (double)at_cap / DRAWS;
	cr_assert(fabs(frac - 60.0 / 89.9) < 0.01, "fraction at cap %f", frac);
}

Test(backoff, decorrelated_survives_extreme_prev_and_multiplier)
{
	struct redial_backoff b = policy(REDIAL_JITTER_DECORRELATED);
	struct redial_rng rng;
	redial_rng_seed(&rng, 3004);
	b.multiplier = 1e300;
	for (int i = 0; i < 1000; i++) {
		uint64_t d = redial_backoff_delay(&b, 1, UINT64_MAX, &rng);
		cr_assert(d >= b.initial_ns && d <= b.max_ns);
	}
	/* A prev below initial (a caller's bug) still yields at least initial. */
	b.multiplier = 2.0;
	cr_assert_eq(redial_backoff_delay(&b, 2, 1, &rng), b.initial_ns);
	/* With cap == initial there is nothing to draw. */
	b.max_ns = b.initial_ns;
	cr_assert_eq(redial_backoff_delay(&b, 2, MS(100), &rng), MS(100));
}

/* ---- Determinism and the NULL generator --------------------------------------------------- */

Test(backoff, equal_seeds_give_identical_delay_sequences_in_every_mode)
{
	for (int j = REDIAL_JITTER_NONE; j <= REDIAL_JITTER_DECORRELATED; j++) {
		struct redial_backoff b = policy((enum redial_jitter)j);
		struct redial_rng r1, r2, r3;
		redial_rng_seed(&r1, 77);
		redial_rng_seed(&r2, 77);
		redial_rng_seed(&r3, 78);
		uint64_t p1 = 0, p2 = 0, p3 = 0;
		int differ = 0;
		for (uint32_t f = 1; f <= 1000; f++) {
			uint64_t d1 = redial_backoff_delay(&b, f, p1, &r1);
			uint64_t d2 = redial_backoff_delay(&b, f, p2, &r2);
			uint64_t d3 = redial_backoff_delay(&b, f, p3, &r3);
			cr_assert_eq(d1, d2, "jitter %d: seed 77 diverged at failure %u", j, f);
			differ += d1 != d3;
			p1 = d1;
			p2 = d2;
			p3 = d3;
		}
		if (j == REDIAL_JITTER_NONE)
			cr_assert_eq(differ, 0, "no jitter must not depend on the seed");
		else
			cr_assert_gt(differ, 900, "jitter %d: seeds 77 and 78 agree too often", j);
	}
}

Test(backoff, null_rng_is_allowed_and_gives_the_upper_bound)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	cr_assert_eq(redial_backoff_delay(&b, 3, 0, NULL), MS(400));
	b.jitter = REDIAL_JITTER_EQUAL;
	cr_assert_eq(redial_backoff_delay(&b, 3, 0, NULL), MS(400));
	b.jitter = REDIAL_JITTER_DECORRELATED;
	cr_assert_eq(redial_backoff_delay(&b, 3, MS(500), NULL), MS(1500));
	cr_assert_eq(redial_backoff_delay(&b, 3, REDIAL_SEC(20), NULL), REDIAL_SEC(30));
}

/* ---- exhausted ---------------------------------------------------------------------------- */

Test(backoff, exhausted_by_max_attempts_from_the_nth_failure_on)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	b.max_attempts = 3;
	cr_assert_not(redial_backoff_exhausted(&b, 1, 0, 0));
	cr_assert_not(redial_backoff_exhausted(&b, 2, 0, 0));
	cr_assert(redial_backoff_exhausted(&b, 3, 0, 0));
	cr_assert(redial_backoff_exhausted(&b, 4, 0, 0));
	cr_assert(redial_backoff_exhausted(&b, UINT32_MAX, 0, 0));
	b.max_attempts = 1;
	cr_assert(redial_backoff_exhausted(&b, 1, 0, 0));
}

Test(backoff, exhausted_never_when_both_limits_are_zero)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	cr_assert_not(redial_backoff_exhausted(&b, UINT32_MAX, UINT64_MAX, UINT64_MAX));
	cr_assert_not(redial_backoff_exhausted(&b, 1, 0, 0));
}

Test(backoff, exhausted_by_max_elapsed_only_when_the_next_wait_would_pass_it)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	b.max_elapsed_ns = REDIAL_SEC(10);
	cr_assert_not(redial_backoff_exhausted(&b, 5, REDIAL_SEC(9), REDIAL_SEC(1)),
		      "ending exactly at the limit is allowed");
	cr_assert(redial_backoff_exhausted(&b, 5, REDIAL_SEC(9), REDIAL_SEC(1) + 1));
	cr_assert(redial_backoff_exhausted(&b, 5, REDIAL_SEC(10) + 1, 0));
	cr_assert_not(redial_backoff_exhausted(&b, 5, REDIAL_SEC(10), 0));
	cr_assert_not(redial_backoff_exhausted(&b, 5, 0, REDIAL_SEC(10)));
	cr_assert(redial_backoff_exhausted(&b, 5, 0, REDIAL_SEC(10) + 1));
	/* The sum must not wrap around to a small value. */
	cr_assert(redial_backoff_exhausted(&b, 5, UINT64_MAX, UINT64_MAX));
	cr_assert(redial_backoff_exhausted(&b, 5, 1, UINT64_MAX));
	b.max_elapsed_ns = UINT64_MAX;
	cr_assert_not(redial_backoff_exhausted(&b, 5, UINT64_MAX - 1, 1));
	cr_assert(redial_backoff_exhausted(&b, 5, UINT64_MAX, 1));
}

Test(backoff, exhausted_applies_either_limit)
{
	struct redial_backoff b = policy(REDIAL_JITTER_FULL);
	b.max_attempts = 10;
	b.max_elapsed_ns = REDIAL_SEC(60);
	cr_assert_not(redial_backoff_exhausted(&b, 9, REDIAL_SEC(50), REDIAL_SEC(10)));
	cr_assert(redial_backoff_exhausted(&b, 10, REDIAL_SEC(1), REDIAL_SEC(1)));
	cr_assert(redial_backoff_exhausted(&b, 2, REDIAL_SEC(55), REDIAL_SEC(6)));
}
