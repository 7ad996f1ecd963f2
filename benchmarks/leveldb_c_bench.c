/* One workload through LevelDB's C API, for the comparison in
 * doc/leveldb-compat.md: compiled once against Debian's leveldb/c.h and
 * linked twice, with libleveldb (benchmarks/leveldb_c_bench_real) and with
 * libshale-leveldb (benchmarks/leveldb_c_bench_shale).
 *
 *   leveldb_c_bench [--num=N] [--dir=DIR]
 *
 * fillrandom: N puts of 16-byte keys in a random order with 100-byte values
 * (half random, half repeated: snappy halves them, as db_bench's), no sync;
 * then readrandom: N gets of keys that are there, in another random order;
 * then readseq: one scan of the whole database. Default options of the C
 * API, plus a 10-bit bloom filter. Prints each phase's time and
 * microseconds per operation. */
#include <leveldb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void die(const char *what, char *err)
{
	fprintf(stderr, "leveldb_c_bench: %s: %s\n", what, err ? err : "failed");
	exit(1);
}

static void shuffle(uint32_t *a, uint32_t n, uint64_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		a[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(next(&seed) % (i + 1));
		uint32_t t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

static void report(const char *name, uint32_t n, double secs)
{
	printf("%-11s %9u ops %8.2f s %9.3f us/op %10.0f ops/s\n", name, n, secs, secs * 1e6 / n, n / secs);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint32_t num = 1000000;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--num=", 6) == 0)
			num = (uint32_t)strtoul(argv[i] + 6, NULL, 10);
		else if (strncmp(argv[i], "--dir=", 6) == 0)
			dir = argv[i] + 6;
		else
			die("usage: leveldb_c_bench [--num=N] [--dir=DIR]", NULL);
	}
	char path[4096];
	const char *tmp = getenv("TMPDIR");
	if (dir == NULL)
		snprintf(path, sizeof(path), "%s/leveldb_c_bench-%d", tmp ? tmp : "/tmp", (int)getpid());
	else
		snprintf(path, sizeof(path), "%s", dir);
	printf("LevelDB C API %d.%d, %u keys of 16 bytes, values of 100, in %s\n", leveldb_major_version(),
	       leveldb_minor_version(), num, path);

	leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_t *o = leveldb_options_create();
	leveldb_options_set_create_if_missing(o, 1);
	leveldb_options_set_error_if_exists(o, 1);
	leveldb_options_set_filter_policy(o, bloom);
	char *err = NULL;
	leveldb_destroy_db(o, path, &err);
	leveldb_free(err);
	err = NULL;
	leveldb_t *db = leveldb_open(o, path, &err);
	if (db == NULL)
		die("open", err);
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	uint32_t *order = malloc(num * sizeof(*order));
	char key[17], val[100];
	uint64_t vs = 42;

	shuffle(order, num, 1);
	double t = now();
	for (uint32_t i = 0; i < num; i++) {
		snprintf(key, sizeof(key), "%016u", order[i]);
		for (int j = 0; j < 50; j += 8) {
			uint64_t r = next(&vs);
			memcpy(val + j, &r, 50 - j < 8 ? (size_t)(50 - j) : 8);
		}
		memset(val + 50, 'v', 50);
		leveldb_put(db, wo, key, 16, val, sizeof(val), &err);
		if (err)
			die("put", err);
	}
	report("fillrandom", num, now() - t);

	shuffle(order, num, 2);
	uint32_t found = 0;
	t = now();
	for (uint32_t i = 0; i < num; i++) {
		snprintf(key, sizeof(key), "%016u", order[i]);
		size_t vl;
		char *v = leveldb_get(db, ro, key, 16, &vl, &err);
		if (err)
			die("get", err);
		found += v != NULL && vl == sizeof(val);
		leveldb_free(v);
	}
	report("readrandom", num, now() - t);
	if (found != num)
		die("readrandom: keys missing", NULL);

	t = now();
	uint32_t seen = 0;
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it))
		seen++;
	leveldb_iter_destroy(it);
	report("readseq", seen, now() - t);
	if (seen != num)
		die("readseq: keys missing", NULL);

	leveldb_close(db);
	leveldb_destroy_db(o, path, &err);
	leveldb_free(err);
	leveldb_options_destroy(o);
	leveldb_filterpolicy_destroy(bloom);
	leveldb_writeoptions_destroy(wo);
	leveldb_readoptions_destroy(ro);
	free(order);
	return 0;
}
