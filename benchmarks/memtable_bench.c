/*
 * memtable_bench: ns per operation of the memtable with random 16-byte keys
 * and 100-byte values at 30k, 100k and 1M entries: insert, lookup of present
 * keys (random order), lookup of absent keys, full iterator scan.
 *
 * Uses internal headers (memtable/memtable.h, lib/util/): it measures the
 * module itself, not the public API, and links the convenience libraries.
 *
 * Usage: memtable_bench [repeats [max_entries [decimal]]]
 *   repeats: runs per size, the best reported (default 3), which filters out
 *   noise from other processes on a shared machine; max_entries: skip the
 *   larger sizes (for profiling under callgrind); decimal: db_bench's keys
 *   instead of random bytes (16 zero-padded decimal digits of a number below
 *   1,000,000, repeats allowed; the absent ones from 1,000,000 up), whose
 *   first ten bytes are the same in every key.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/comparator.h"
#include "lib/util/ikey.h"
#include "lib/util/iter.h"
#include "lib/util/random.h"
#include "memtable/memtable.h"
#include "shale.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100

struct result {
	double insert, hit, miss, scan; /* ns per op */
	size_t memory;
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void random_bytes(struct rng *r, char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next(r);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "memtable_bench: %s: %d (%s)\n", what, rc, shale_errmsg());
	exit(1);
}

static int run(size_t n, const char *keys, const char *missing, const size_t *order,
               const char *values, struct result *res)
{
	struct memtable *m = NULL;
	int rc = memtable_create(comparator_bytewise(), &m);
	if (rc != 0)
		die("create", rc);

	double t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		rc = memtable_add(m, i + 1, IKEY_TYPE_VALUE, slice_make(keys + i * KEY_BYTES, KEY_BYTES),
		                  slice_make(values + i % 1024, VALUE_BYTES));
		if (rc != 0)
			die("add", rc);
	}
	double t1 = now_ns();
	res->insert = (t1 - t0) / (double)n;
	res->memory = memtable_memory_usage(m);

	size_t found = 0;
	struct slice v;
	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		found += memtable_get(m, slice_make(keys + order[i] * KEY_BYTES, KEY_BYTES), IKEY_SEQ_MAX, &v) ==
		         MEMTABLE_FOUND;
	t1 = now_ns();
	res->hit = (t1 - t0) / (double)n;
	if (found != n)
		die("lookup of present keys missed some", (int)(n - found));

	found = 0;
	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		found += memtable_get(m, slice_make(missing + i * KEY_BYTES, KEY_BYTES), IKEY_SEQ_MAX, &v) !=
		         MEMTABLE_ABSENT;
	t1 = now_ns();
	res->miss = (t1 - t0) / (double)n;

	struct iter *it = memtable_iter(m);
	if (it == NULL)
		die("iterator", SHALE_ENOMEM);
	size_t entries = 0, bytes = 0;
	t0 = now_ns();
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		bytes += iter_key(it).size + iter_value(it).size;
		entries++;
	}
	t1 = now_ns();
	res->scan = (t1 - t0) / (double)n;
	iter_destroy(it);
	memtable_unref(m);
	if (entries != n || bytes != n * (KEY_BYTES + IKEY_TRAILER + VALUE_BYTES))
		die("scan saw the wrong entries", (int)entries);
	return (int)found; /* absent keys found: expected 0 */
}

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 30000, 100000, 1000000 };
	int repeats = argc > 1 ? atoi(argv[1]) : 3;
	if (repeats < 1)
		repeats = 1;
	size_t max_entries = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : SIZE_MAX;
	int decimal = argc > 3 && strcmp(argv[3], "decimal") == 0;
	struct rng r;
	rng_seed(&r, 2024);
	char *values = malloc(1024 + VALUE_BYTES);
	if (values == NULL)
		die("malloc", SHALE_ENOMEM);
	random_bytes(&r, values, 1024 + VALUE_BYTES);

	printf("memtable: %d-byte %s keys, %d-byte values, best of %d, ns/op\n", KEY_BYTES,
	       decimal ? "decimal" : "random", VALUE_BYTES, repeats);
	printf("%9s %9s %9s %9s %9s %12s\n", "entries", "insert", "hit", "miss", "scan", "bytes/entry");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		if (n > max_entries)
			break;
		char *keys = malloc(n * KEY_BYTES);
		char *missing = malloc(n * KEY_BYTES);
		size_t *order = malloc(n * sizeof(*order));
		if (keys == NULL || missing == NULL || order == NULL)
			die("malloc", SHALE_ENOMEM);
		/* 128 random bits: duplicates and hits among "missing" are
		 * vanishingly unlikely (run() checks the latter) */
		if (decimal) {
			char k[KEY_BYTES + 1];
			for (size_t i = 0; i < n; i++) {
				snprintf(k, sizeof(k), "%016" PRIu64, rng_uniform(&r, 1000000));
				memcpy(keys + i * KEY_BYTES, k, KEY_BYTES);
				snprintf(k, sizeof(k), "%016" PRIu64, 1000000 + rng_uniform(&r, 1000000));
				memcpy(missing + i * KEY_BYTES, k, KEY_BYTES);
			}
		} else {
			random_bytes(&r, keys, n * KEY_BYTES);
			random_bytes(&r, missing, n * KEY_BYTES);
		}
		for (size_t i = 0; i < n; i++)
			order[i] = i;
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)rng_uniform(&r, i + 1);
			size_t t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		struct result best = { 1e30, 1e30, 1e30, 1e30, 0 };
		for (int rep = 0; rep < repeats; rep++) {
			struct result res;
			if (run(n, keys, missing, order, values, &res) != 0)
				die("lookup of absent keys found some", 0);
			best.insert = min_d(best.insert, res.insert);
			best.hit = min_d(best.hit, res.hit);
			best.miss = min_d(best.miss, res.miss);
			best.scan = min_d(best.scan, res.scan);
			best.memory = res.memory;
		}
		printf("%9zu %9.1f %9.1f %9.1f %9.1f %12.1f\n", n, best.insert, best.hit, best.miss, best.scan,
		       (double)best.memory / (double)n);
		fflush(stdout);
		free(keys);
		free(missing);
		free(order);
	}
	free(values);
	return 0;
}
