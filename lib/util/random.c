#include "lib/util/random.h"

uint64_t rng_skewed(struct rng *r, int max_log)
{
	int base = (int)rng_uniform(r, (uint64_t)max_log + 1);
	return rng_uniform(r, (uint64_t)1 << base);
}
