/* backoff.c — the retry policy: a small seeded generator and the delay/give-up arithmetic.
 * Everything here is pure (no clock, no allocation), so the engine and the tests share it. */
#include "redial.h"

#include <errno.h>
#include <math.h>

/* 2^64 as a double: the first value that no longer converts to uint64_t. */
#define TWO_POW_64 0x1p64

/* ---- Generator ----------------------------------------------------------------------- */

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64 spreads one seed over the four state words. It is a bijection of its counter,
 * so four consecutive outputs are never all zero: every seed, 0 included, gives a state
 * xoshiro can run from. */
static uint64_t splitmix64_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void redial_rng_seed(struct redial_rng *rng, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64_next(&x);
}

uint64_t redial_rng_next(struct redial_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [lo, hi], both ends included. Plain `next % n` favours small values when n
 * does not divide 2^64 (by up to 2x for n near 2^63), so draws from the short first stretch
 * of 2^64 mod n values are rejected; fewer than half of all draws are, so the loop ends fast.
 * Without a generator the draw is hi: the delay is then the deterministic upper bound. */
static uint64_t uniform_incl(struct redial_rng *rng, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	if (!rng)
		return hi;
	uint64_t span = hi - lo;
	if (span == UINT64_MAX)
		return redial_rng_next(rng);
	uint64_t n = span + 1;
	uint64_t reject_below = (0 - n) % n; /* 2^64 mod n */
	uint64_t r;
	do
		r = redial_rng_next(rng);
	while (r < reject_below);
	return lo + r % n;
}

/* ---- Policy -------------------------------------------------------------------------- */

void redial_backoff_init(struct redial_backoff *b)
{
	*b = (struct redial_backoff){
		.initial_ns = REDIAL_MSEC(100),
		.max_ns = REDIAL_SEC(30),
		.multiplier = 2.0,
		.jitter = REDIAL_JITTER_FULL,
		.max_attempts = 0,
		.max_elapsed_ns = 0,
	};
}

int redial_backoff_validate(const struct redial_backoff *b)
{
	if (!b)
		return -EINVAL;
	if (b->initial_ns == 0 || b->max_ns < b->initial_ns)
		return -EINVAL;
	/* Written so that NaN fails too: every comparison with NaN is false. */
	if (!(b->multiplier >= 1.0) || !isfinite(b->multiplier))
		return -EINVAL;
	switch (b->jitter) {
	case REDIAL_JITTER_NONE:
	case REDIAL_JITTER_FULL:
	case REDIAL_JITTER_EQUAL:
	case REDIAL_JITTER_DECORRELATED:
		return 0;
	}
	return -EINVAL;
}

/* mult^exp, or any value >= limit once the true power reaches limit. Square-and-multiply
 * keeps a streak of four billion failures at 32 steps (no libm: the library does not link
 * it). Every factor is >= 1, so partial products only grow and stopping at limit cannot
 * hide a smaller final result; overflow to +inf is harmless, it compares >= limit. */
static double pow_saturating(double mult, uint32_t exp, double limit)
{
	double result = 1.0;
	double base = mult;
	while (exp) {
		if (exp & 1) {
			result *= base;
			if (result >= limit)
				return result;
		}
		exp >>= 1;
		base *= base;
	}
	return result;
}

/* min(cap, initial * multiplier^(failures-1)) without overflow. Written to stay defined
 * for policies that never went through validate (cap < initial, NaN multiplier): the
 * result never exceeds max_ns whatever the fields hold. */
static uint64_t exp_ceiling(const struct redial_backoff *b, uint32_t failures)
{
	uint64_t initial = b->initial_ns;
	uint64_t cap = b->max_ns;
	double mult = b->multiplier;

	if (initial >= cap)
		return cap;
	if (initial == 0 || failures <= 1)
		return initial;
	if (!(mult >= 1.0))
		mult = 1.0;

	double limit = (double)cap / (double)initial;
	double p = pow_saturating(mult, failures - 1, limit);
	if (p >= limit)
		return cap;
	double d = (double)initial * p;
	/* (double)cap may round up, to 2^64 at most, so d below it always converts. */
	if (d >= (double)cap)
		return cap;
	uint64_t v = (uint64_t)d;
	/* Above 2^53 the double rounding can land a few units either side of the exact
	 * product; keep the result inside the [initial, cap] a valid policy promises. */
	if (v < initial)
		v = initial;
	return v < cap ? v : cap;
}

/* Decorrelated jitter (AWS): min(cap, uniform[initial, prev * (multiplier + 1)]). The upper
 * end is computed in double and clamped to UINT64_MAX rather than to cap, so that the mass
 * above cap folds onto cap exactly as the formula says. */
static uint64_t decorrelated(const struct redial_backoff *b, uint64_t prev_ns,
			     struct redial_rng *rng)
{
	uint64_t initial = b->initial_ns;
	uint64_t cap = b->max_ns;
	double mult = b->multiplier;

	if (initial >= cap)
		return cap;
	if (prev_ns == 0)
		prev_ns = initial;
	if (!(mult >= 1.0))
		mult = 1.0;

	double hi_d = (double)prev_ns * (mult + 1.0);
	uint64_t hi = hi_d >= TWO_POW_64 ? UINT64_MAX : (uint64_t)hi_d;
	uint64_t v = uniform_incl(rng, initial, hi);
	return v < cap ? v : cap;
}

uint64_t redial_backoff_delay(const struct redial_backoff *b, uint32_t failures,
			      uint64_t prev_ns, struct redial_rng *rng)
{
	uint64_t c;

	switch (b->jitter) {
	case REDIAL_JITTER_FULL:
		return uniform_incl(rng, 0, exp_ceiling(b, failures));
	case REDIAL_JITTER_EQUAL:
		/* [ceil(c/2), c] rather than floor(c/2) + [0, floor(c/2)], which would never
		 * reach c itself when c is odd. */
		c = exp_ceiling(b, failures);
		return (c - c / 2) + uniform_incl(rng, 0, c / 2);
	case REDIAL_JITTER_DECORRELATED:
		return decorrelated(b, prev_ns, rng);
	case REDIAL_JITTER_NONE:
		break;
	}
	/* Also reached by an unknown mode (validate rejects it): no jitter rather than 0,
	 * which would turn a bad config into a connect storm. */
	return exp_ceiling(b, failures);
}

bool redial_backoff_exhausted(const struct redial_backoff *b, uint32_t failures,
			      uint64_t elapsed_ns, uint64_t next_delay_ns)
{
	if (b->max_attempts != 0 && failures >= b->max_attempts)
		return true;
	if (b->max_elapsed_ns != 0) {
		/* elapsed + next > max, rearranged so that the sum cannot wrap. */
		if (elapsed_ns > b->max_elapsed_ns ||
		    next_delay_ns > b->max_elapsed_ns - elapsed_ns)
			return true;
	}
	return false;
}
