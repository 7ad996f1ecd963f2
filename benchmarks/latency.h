/*
 * latency.h: latency percentiles for the comparison's p50/p99. db_bench's
 * histogram (shale_bench --histogram) has 1 microsecond buckets at the low
 * end, too coarse for operations that take a fraction of one; this one keeps
 * nanoseconds exactly below 64 ns and about 3% apart above (32 buckets per
 * power of two), up to 2^40 ns. A struct latency belongs to one thread;
 * merge them after the threads are done.
 */
#ifndef SHALE_BENCH_LATENCY_H
#define SHALE_BENCH_LATENCY_H

#include <stdint.h>

#define LATENCY_MAX_SHIFT 35
#define LATENCY_BUCKETS (64 + LATENCY_MAX_SHIFT * 32)

struct latency {
	uint64_t n;
	uint64_t counts[LATENCY_BUCKETS];
};

void latency_clear(struct latency *l);
void latency_add(struct latency *l, double micros);
void latency_merge(struct latency *l, const struct latency *o);
/* The p-th percentile (0 < p <= 100) in microseconds; 0 when empty. */
double latency_percentile(const struct latency *l, double p);

#endif
