/*
 * space_bench: how close a churned database comes to the size of its live
 * data after a full compaction. Writes N keys, overwrites all of them twice,
 * deletes every other one, compacts the whole range, and compares the bytes
 * on disk with a fresh database holding only the live half. Uses only the
 * public header <shale.h>.
 *
 *   space_bench [--num=N] [--value_size=BYTES] [--dir=DIR]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shale.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, shale_errmsg());
		exit(1);
	}
}

/* Bytes of every file in dir (tables, logs, MANIFEST, ...). */
static uint64_t dir_bytes(const char *dir, uint64_t *tables)
{
	uint64_t total = 0;
	*tables = 0;
	DIR *d = opendir(dir);
	if (d == NULL) {
		perror(dir);
		exit(1);
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char path[8192];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		total += (uint64_t)st.st_size;
		if (strstr(e->d_name, ".ldb"))
			*tables += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

static void put_all(shale_db *db, long num, long step, long start, size_t vsize, char *val)
{
	for (long i = start; i < num; i += step) {
		char key[32];
		int kl = snprintf(key, sizeof(key), "%016ld", i);
		for (size_t j = 0; j + 8 <= vsize; j += 8) {
			uint64_t r = next_random(); /* incompressible: both sides compare fairly */
			memcpy(val + j, &r, 8);
		}
		check(shale_put(db, NULL, key, (size_t)kl, val, vsize), "put");
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long num = 1000000;
	size_t vsize = 100;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--num=", 6) == 0)
			num = atol(argv[i] + 6);
		else if (strncmp(argv[i], "--value_size=", 13) == 0)
			vsize = (size_t)atol(argv[i] + 13);
		else if (strncmp(argv[i], "--dir=", 6) == 0)
			dir = argv[i] + 6;
		else {
			fprintf(stderr, "usage: %s [--num=N] [--value_size=BYTES] [--dir=DIR]\n", argv[0]);
			return 2;
		}
	}
	char tmpl[] = "/tmp/shale-space-XXXXXX";
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char churned[4096], fresh[4096];
	snprintf(churned, sizeof(churned), "%s/churned", dir);
	snprintf(fresh, sizeof(fresh), "%s/fresh", dir);
	char *val = calloc(1, vsize + 8);
	shale_options *o = shale_options_create();
	shale_options_set_create_if_missing(o, 1);
	shale_db *db;

	double t0 = now();
	check(shale_open(churned, o, &db), "open");
	for (int round = 0; round < 3; round++)
		put_all(db, num, 1, 0, vsize, val);
	for (long i = 0; i < num; i += 2) {
		char key[32];
		int kl = snprintf(key, sizeof(key), "%016ld", i);
		check(shale_delete(db, NULL, key, (size_t)kl), "delete");
	}
	uint64_t before_tables, before = dir_bytes(churned, &before_tables);
	double t1 = now();
	check(shale_compact_range(db, NULL, 0, NULL, 0), "compact");
	double t2 = now();
	check(shale_close(db), "close");
	uint64_t churned_tables, churned_bytes = dir_bytes(churned, &churned_tables);

	check(shale_open(fresh, o, &db), "open");
	put_all(db, num, 2, 1, vsize, val);
	check(shale_compact_range(db, NULL, 0, NULL, 0), "compact");
	check(shale_close(db), "close");
	uint64_t fresh_tables, fresh_bytes = dir_bytes(fresh, &fresh_tables);

	printf("shale %s space_bench: %ld keys x 3 writes, half deleted, %zu-byte values\n", shale_version(), num, vsize);
	printf("churned, before compaction: %10.1f MB (tables %.1f MB); writes took %.1f s\n",
	       (double)before / 1e6, (double)before_tables / 1e6, t1 - t0);
	printf("churned, after compaction:  %10.1f MB (tables %.1f MB); compaction took %.1f s\n",
	       (double)churned_bytes / 1e6, (double)churned_tables / 1e6, t2 - t1);
	printf("fresh, same live data:      %10.1f MB (tables %.1f MB)\n", (double)fresh_bytes / 1e6,
	       (double)fresh_tables / 1e6);
	printf("churned / fresh:            %10.3f (tables %.3f)\n", (double)churned_bytes / (double)fresh_bytes,
	       (double)churned_tables / (double)fresh_tables);

	check(shale_destroy_db(churned, o), "destroy");
	check(shale_destroy_db(fresh, o), "destroy");
	if (dir == tmpl)
		rmdir(dir);
	shale_options_destroy(o);
	free(val);
	return 0;
}
