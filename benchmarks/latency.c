/* latency.c: log-linear latency buckets (see latency.h). */
#include "config.h"

#include <string.h>

#include "benchmarks/latency.h"

/* Bucket of v nanoseconds: v itself below 64; above, the power of two and
 * the next 5 bits below its top bit. */
static int bucket(uint64_t v)
{
	int msb, shift;

	if (v < 64)
		return (int)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - 5;
	if (shift > LATENCY_MAX_SHIFT) /* beyond 2^40 ns: the last bucket */
		return LATENCY_BUCKETS - 1;
	return 64 + (shift - 1) * 32 + (int)((v >> shift) - 32);
}

/* [*lo, *hi) in nanoseconds of bucket b. */
static void bounds(int b, double *lo, double *hi)
{
	int shift, mant;

	if (b < 64) {
		*lo = b;
		*hi = b + 1;
		return;
	}
	shift = (b - 64) / 32 + 1;
	mant = (b - 64) % 32 + 32;
	*lo = (double)((uint64_t)mant << shift);
	*hi = (double)((uint64_t)(mant + 1) << shift);
}

void latency_clear(struct latency *l)
{
	memset(l, 0, sizeof(*l));
}

void latency_add(struct latency *l, double micros)
{
	double ns = micros * 1000.0;

	l->counts[bucket(ns > 0 ? (uint64_t)ns : 0)]++;
	l->n++;
}

void latency_merge(struct latency *l, const struct latency *o)
{
	for (int b = 0; b < LATENCY_BUCKETS; b++)
		l->counts[b] += o->counts[b];
	l->n += o->n;
}

double latency_percentile(const struct latency *l, double p)
{
	double threshold = (double)l->n * (p / 100.0);
	double sum = 0;

	for (int b = 0; b < LATENCY_BUCKETS; b++) {
		double lo, hi;

		if (l->counts[b] == 0)
			continue;
		if (sum + (double)l->counts[b] >= threshold) {
			bounds(b, &lo, &hi);
			return (lo + (hi - lo) * (threshold - sum) / (double)l->counts[b]) / 1000.0;
		}
		sum += (double)l->counts[b];
	}
	return 0;
}
