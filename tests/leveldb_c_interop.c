/* Databases written by one library of LevelDB's C API and read by the other:
 * compiled once against Debian's leveldb/c.h and linked twice, with
 * libleveldb (tests/leveldb_c_interop_real) and with libshale-leveldb
 * (tests/leveldb_c_interop_shale); tests/test_leveldb_compat.sh runs the
 * writes and checks in turn, one library after the other on one database.
 *
 *   leveldb_c_interop write DIR PHASE POLICY
 *       applies phase PHASE's operations (puts, overwrites, deletes of a
 *       20000-key space, in a shuffled order, with a full compaction part
 *       way) to the database in DIR, creating it; snappy, 64 KiB write
 *       buffer, 1 MiB files, so it ends with tables in several levels
 *       (checked) and a log.
 *   leveldb_c_interop check DIR PHASES POLICY
 *       checks that the database in DIR holds exactly the state phases
 *       1..PHASES leave: every key by leveldb_get, a scan forward and one
 *       backward, absent keys; that its tables are compressed; and, with the
 *       custom policy, that the other library's filters were found and asked.
 *
 * POLICY is "bloom" (leveldb_filterpolicy_create_bloom(10)) or "custom" (a
 * policy of callbacks named "interop.Bitmap256", which both libraries must
 * store under "filter.interop.Bitmap256" and read back from there). */
#include <dirent.h>
#include <leveldb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NKEYS 20000

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "leveldb_c_interop: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/* What phase p does to key i: 0 nothing, 1 put, 2 delete. Phase 1 puts
 * every key; later phases touch about half of them. */
static int op_of(int p, int i)
{
	uint64_t h = mix(((uint64_t)p << 32) | (uint64_t)i);
	if (p == 1)
		return 1;
	switch (h % 6) {
	case 0:
	case 1:
		return 1;
	case 2:
		return 2;
	default:
		return 0;
	}
}

static void key_of(int i, char *k, size_t *kl)
{
	*kl = (size_t)snprintf(k, 16, "key%07d", i);
}

/* Phase p's value of key i: 0..399 bytes of text that repeats (snappy
 * shrinks it). */
static size_t value_of(int p, int i, char *v)
{
	size_t n = (size_t)(mix(((uint64_t)i << 32) | (uint64_t)p | UINT64_C(1) << 63) % 400);
	char unit[32];
	int ul = snprintf(unit, sizeof(unit), "<p%d:i%d>", p, i);
	for (size_t j = 0; j < n; j++)
		v[j] = unit[j % (size_t)ul];
	return n;
}

/* The state after phases 1..last: the phase of key i's value, or 0 when
 * absent. */
static int state_of(int last, int i)
{
	int s = 0;
	for (int p = 1; p <= last; p++) {
		int op = op_of(p, i);
		if (op == 1)
			s = p;
		else if (op == 2)
			s = 0;
	}
	return s;
}

/* ---- the custom filter: 256 bits, one per key's hash byte ---- */

static long matches;

static unsigned hash8(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211u;
	return (unsigned)(h >> 56);
}

static char *bitmap_create(void *state, const char *const *keys, const size_t *lens, int n, size_t *flen)
{
	(void)state;
	unsigned char *f = calloc(32, 1);
	if (f == NULL)
		die("out of memory", NULL);
	for (int i = 0; i < n; i++) {
		unsigned b = hash8(keys[i], lens[i]);
		f[b / 8] |= (unsigned char)(1u << (b % 8));
	}
	*flen = 32;
	return (char *)f;
}

static uint8_t bitmap_match(void *state, const char *key, size_t len, const char *filter, size_t flen)
{
	(void)state;
	matches++;
	if (flen != 32)
		return 1;
	unsigned b = hash8(key, len);
	return (uint8_t)((((const unsigned char *)filter)[b / 8] >> (b % 8)) & 1);
}

static void bitmap_destroy(void *state)
{
	(void)state;
}

static const char *bitmap_name(void *state)
{
	(void)state;
	return "interop.Bitmap256";
}

static leveldb_filterpolicy_t *make_policy(const char *name)
{
	if (strcmp(name, "bloom") == 0)
		return leveldb_filterpolicy_create_bloom(10);
	if (strcmp(name, "custom") == 0)
		return leveldb_filterpolicy_create(NULL, bitmap_destroy, bitmap_create, bitmap_match, bitmap_name);
	die("unknown policy (bloom or custom)", name);
	return NULL;
}

static leveldb_options_t *make_options(leveldb_filterpolicy_t *fp, int create)
{
	leveldb_options_t *o = leveldb_options_create();
	leveldb_options_set_create_if_missing(o, (uint8_t)create);
	leveldb_options_set_write_buffer_size(o, 64 << 10);
	leveldb_options_set_max_file_size(o, 1 << 20);
	leveldb_options_set_compression(o, leveldb_snappy_compression);
	leveldb_options_set_filter_policy(o, fp);
	return o;
}

static int level_files(leveldb_t *db, int level)
{
	char name[64];
	snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
	char *p = leveldb_property_value(db, name);
	if (p == NULL)
		die("no property", name);
	int n = atoi(p);
	leveldb_free(p);
	return n;
}

/* Prints the files per level; returns how many levels hold some. */
static int show_levels(leveldb_t *db, const char *who)
{
	int used = 0;
	printf("%s: files per level:", who);
	for (int l = 0; l < 7; l++) {
		int n = level_files(db, l);
		printf(" %d", n);
		used += n > 0;
	}
	printf("\n");
	return used;
}

static void do_write(const char *dir, int phase, leveldb_filterpolicy_t *fp)
{
	leveldb_options_t *o = make_options(fp, 1);
	char *err = NULL;
	leveldb_t *db = leveldb_open(o, dir, &err);
	if (db == NULL)
		die("open", err);
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	/* a shuffled order, so flushes overlap one another */
	int *order = malloc(NKEYS * sizeof(*order));
	for (int i = 0; i < NKEYS; i++)
		order[i] = i;
	for (int i = NKEYS - 1; i > 0; i--) {
		int j = (int)(mix((uint64_t)phase * 1000003 + (uint64_t)i) % (uint64_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	char k[16], v[400];
	size_t kl;
	for (int n = 0; n < NKEYS; n++) {
		int i = order[n];
		if (n == NKEYS * 3 / 4) /* most of the phase goes down the levels */
			leveldb_compact_range(db, NULL, 0, NULL, 0);
		int op = op_of(phase, i);
		key_of(i, k, &kl);
		if (op == 1) {
			size_t vl = value_of(phase, i, v);
			leveldb_put(db, wo, k, kl, v, vl, &err);
		} else if (op == 2) {
			leveldb_delete(db, wo, k, kl, &err);
		}
		if (err)
			die("write", err);
	}
	int used = show_levels(db, "written");
	if (used < 2)
		die("the tables are not in several levels", NULL);
	free(order);
	leveldb_writeoptions_destroy(wo);
	leveldb_close(db);
	leveldb_options_destroy(o);
}

/* Bytes of table files in dir. */
static uint64_t table_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		die("cannot list", dir);
	uint64_t total = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n > 4 && (strcmp(e->d_name + n - 4, ".ldb") == 0 || strcmp(e->d_name + n - 4, ".sst") == 0)) {
			char p[8192];
			struct stat st;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			if (stat(p, &st) == 0)
				total += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return total;
}

static void do_check(const char *dir, int phases, leveldb_filterpolicy_t *fp, int custom)
{
	uint64_t on_disk = table_bytes(dir);
	leveldb_options_t *o = make_options(fp, 0);
	char *err = NULL;
	leveldb_t *db = leveldb_open(o, dir, &err);
	if (db == NULL)
		die("open", err);
	show_levels(db, "opened");
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(ro, 1);
	char k[16], v[400];
	size_t kl;
	uint64_t live = 0;
	int present = 0;
	for (int i = 0; i < NKEYS + 500; i++) {
		int s = i < NKEYS ? state_of(phases, i) : 0;
		key_of(i, k, &kl);
		size_t gl;
		char *got = leveldb_get(db, ro, k, kl, &gl, &err);
		if (err)
			die("get", err);
		if (s == 0) {
			if (got != NULL)
				die("a key that should be absent is there", k);
			continue;
		}
		size_t vl = value_of(s, i, v);
		if (got == NULL)
			die("a key is missing", k);
		if (gl != vl || memcmp(got, v, vl) != 0)
			die("a key has a wrong value", k);
		leveldb_free(got);
		live += kl + vl;
		present++;
	}
	/* a scan each way sees exactly the present keys, in order */
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	int seen = 0, i = -1;
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &kl);
		do
			i++;
		while (i < NKEYS && state_of(phases, i) == 0);
		key_of(i, k, &kl);
		if (i >= NKEYS || memcmp(ik, k, kl) != 0)
			die("the scan yields a key out of place", k);
		size_t vl = value_of(state_of(phases, i), i, v), gl;
		const char *gv = leveldb_iter_value(it, &gl);
		if (gl != vl || memcmp(gv, v, vl) != 0)
			die("the scan yields a wrong value", k);
		seen++;
	}
	leveldb_iter_get_error(it, &err);
	if (err)
		die("scan", err);
	int back = 0;
	for (leveldb_iter_seek_to_last(it); leveldb_iter_valid(it); leveldb_iter_prev(it))
		back++;
	leveldb_iter_destroy(it);
	if (seen != present || back != present)
		die("a scan does not see every key once", NULL);
	printf("checked %d keys present, %d absent after %d phase(s); %llu bytes of tables for %llu live\n", present,
	       NKEYS + 500 - present, phases, (unsigned long long)on_disk, (unsigned long long)live);
	/* the values shrink about tenfold under snappy: uncompressed tables
	 * would be larger than the live data */
	if (on_disk == 0 || on_disk > live / 2)
		die("the tables are not compressed", NULL);
	if (custom && matches == 0)
		die("the custom filter was never asked: its blocks were not found", NULL);
	leveldb_readoptions_destroy(ro);
	leveldb_close(db);
	leveldb_options_destroy(o);
}

int main(int argc, char **argv)
{
	if (argc != 5)
		die("usage: leveldb_c_interop write|check DIR PHASE POLICY", NULL);
	int phase = atoi(argv[3]);
	if (phase < 1)
		die("bad phase", argv[3]);
	leveldb_filterpolicy_t *fp = make_policy(argv[4]);
	if (strcmp(argv[1], "write") == 0)
		do_write(argv[2], phase, fp);
	else if (strcmp(argv[1], "check") == 0)
		do_check(argv[2], phase, fp, strcmp(argv[4], "custom") == 0);
	else
		die("unknown command", argv[1]);
	leveldb_filterpolicy_destroy(fp);
	return 0;
}
