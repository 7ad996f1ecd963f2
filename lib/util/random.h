/*
 * A small, fast, seeded PRNG (xorshift64*). Each user owns its state; there is
 * no shared generator.
 */
#ifndef SHALE_UTIL_RANDOM_H
#define SHALE_UTIL_RANDOM_H

#include <stdint.h>

struct rng {
	uint64_t s;
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	/* splitmix64 step so that small seeds give well-mixed states */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	r->s = z ? z : 0x2545f4914f6cdd1dull;
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t rng_uniform(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* True with probability 1/n. */
static inline int rng_one_in(struct rng *r, uint64_t n)
{
	return rng_uniform(r, n) == 0;
}

/* Picks "base" uniformly from [0, max_log] and then a value in [0, 2^base):
 * skewed towards small numbers. */
uint64_t rng_skewed(struct rng *r, int max_log);

#endif
