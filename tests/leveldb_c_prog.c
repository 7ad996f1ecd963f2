/* A program written only against LevelDB's C API, as any program of
 * LevelDB's users is: it goes through what LevelDB's own C test goes
 * through (destroy, a failed open, open, put, compactions, batches, an
 * iterator, approximate sizes and properties, a snapshot, repair, a custom
 * and the bloom filter policy, with a custom comparator, a cache, the
 * default env and the default info log throughout).
 *
 * Compiled once, against Debian's leveldb/c.h, into one object that make
 * links twice: with libleveldb (tests/leveldb_c_prog_real) and with
 * libshale-leveldb (tests/leveldb_c_prog_shale), with no source change.
 * Exits 0 when every check holds; prints the phase and the check that
 * failed otherwise. */
#include <dirent.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *phase = "";

static void fail(const char *what, int line)
{
	fprintf(stderr, "leveldb_c_prog: phase %s, line %d: %s\n", phase, line, what);
	exit(1);
}

#define CHECK(cond)                          \
	do {                                     \
		if (!(cond))                         \
			fail(#cond, __LINE__);           \
	} while (0)
#define NO_ERROR(err)                        \
	do {                                     \
		if ((err) != NULL)                   \
			fail(err, __LINE__);             \
	} while (0)

static void start(const char *name)
{
	phase = name;
	printf("phase %s\n", name);
}

static void expect_value(leveldb_t *db, const leveldb_readoptions_t *ro, const char *k, const char *want)
{
	char *err = NULL;
	size_t n;
	char *v = leveldb_get(db, ro, k, strlen(k), &n, &err);
	NO_ERROR(err);
	if (want == NULL) {
		CHECK(v == NULL);
	} else {
		CHECK(v != NULL);
		CHECK(n == strlen(want) && memcmp(v, want, n) == 0);
	}
	leveldb_free(v);
}

static void expect_entry(leveldb_iterator_t *it, const char *k, const char *v)
{
	size_t n;
	CHECK(leveldb_iter_valid(it));
	const char *p = leveldb_iter_key(it, &n);
	CHECK(n == strlen(k) && memcmp(p, k, n) == 0);
	p = leveldb_iter_value(it, &n);
	CHECK(n == strlen(v) && memcmp(p, v, n) == 0);
}

/* The batch iteration's callbacks: the operations seen, in order. */
static int batch_step;

static void saw_put(void *state, const char *k, size_t kl, const char *v, size_t vl)
{
	(void)state;
	if (batch_step == 0)
		CHECK(kl == 3 && memcmp(k, "bar", 3) == 0 && vl == 1 && v[0] == 'b');
	else if (batch_step == 1)
		CHECK(kl == 3 && memcmp(k, "box", 3) == 0 && vl == 1 && v[0] == 'c');
	else
		CHECK(!"a put out of place");
	batch_step++;
}

static void saw_delete(void *state, const char *k, size_t kl)
{
	(void)state;
	CHECK(batch_step == 2 && kl == 3 && memcmp(k, "bar", 3) == 0);
	batch_step++;
}

/* Removes the files of directory p (not below), then p. */
static void remove_dir(const char *p)
{
	DIR *d = opendir(p);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char f[8192];
		if ((size_t)snprintf(f, sizeof(f), "%s/%s", p, e->d_name) < sizeof(f))
			unlink(f);
	}
	closedir(d);
	rmdir(p);
}

/* The comparator: bytewise, under its own name. */
static void cmp_destroy(void *state)
{
	(void)state;
}

static int cmp_compare(void *state, const char *a, size_t al, const char *b, size_t bl)
{
	(void)state;
	int r = memcmp(a, b, al < bl ? al : bl);
	return r ? r : (al > bl) - (al < bl);
}

static const char *cmp_name(void *state)
{
	(void)state;
	return "prog.Bytewise";
}

/* A filter policy whose filter is a constant, and which answers what
 * filter_answer says: a "no" makes stored keys unreadable, which shows the
 * filter is consulted. */
static int filter_answer = 1;

static void policy_destroy(void *state)
{
	(void)state;
}

static const char *policy_name(void *state)
{
	(void)state;
	return "prog.Constant";
}

static char *policy_create(void *state, const char *const *keys, const size_t *lens, int n, size_t *flen)
{
	(void)state;
	(void)keys;
	(void)lens;
	(void)n;
	char *f = malloc(8);
	memcpy(f, "constant", 8);
	*flen = 8;
	return f;
}

static uint8_t policy_match(void *state, const char *key, size_t klen, const char *filter, size_t flen)
{
	(void)state;
	(void)key;
	(void)klen;
	CHECK(flen == 8 && memcmp(filter, "constant", 8) == 0);
	return (uint8_t)filter_answer;
}

int main(void)
{
	/* the test directory under the harness's private TMPDIR */
	const char *tmp = getenv("TMPDIR");
	if (getenv("TEST_TMPDIR") == NULL && tmp != NULL)
		setenv("TEST_TMPDIR", tmp, 1);
	leveldb_env_t *env = leveldb_create_default_env();
	char *testdir = leveldb_env_get_test_directory(env);
	CHECK(testdir != NULL);
	char dbname[4096];
	snprintf(dbname, sizeof(dbname), "%s/leveldb_c_prog-%d", testdir, (int)getpid());
	leveldb_free(testdir);
	printf("database %s; LevelDB C API %d.%d\n", dbname, leveldb_major_version(), leveldb_minor_version());
	CHECK(leveldb_major_version() == 1 && leveldb_minor_version() >= 20);

	leveldb_cache_t *cache = leveldb_cache_create_lru(100000);
	leveldb_comparator_t *cmp = leveldb_comparator_create(NULL, cmp_destroy, cmp_compare, cmp_name);
	leveldb_options_t *options = leveldb_options_create();
	leveldb_options_set_comparator(options, cmp);
	leveldb_options_set_error_if_exists(options, 1);
	leveldb_options_set_cache(options, cache);
	leveldb_options_set_env(options, env);
	leveldb_options_set_info_log(options, NULL);
	leveldb_options_set_write_buffer_size(options, 100000);
	leveldb_options_set_paranoid_checks(options, 1);
	leveldb_options_set_max_open_files(options, 10);
	leveldb_options_set_block_size(options, 1024);
	leveldb_options_set_block_restart_interval(options, 8);
	leveldb_options_set_max_file_size(options, 3 << 20);
	leveldb_options_set_compression(options, leveldb_no_compression);
	leveldb_readoptions_t *roptions = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(roptions, 1);
	leveldb_readoptions_set_fill_cache(roptions, 0);
	leveldb_writeoptions_t *woptions = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(woptions, 1);
	char *err = NULL;

	start("destroy");
	leveldb_destroy_db(options, dbname, &err);
	leveldb_free(err); /* whether or not there was one */
	err = NULL;

	start("open_error");
	leveldb_t *db = leveldb_open(options, dbname, &err);
	CHECK(db == NULL && err != NULL);
	CHECK(strncmp(err, "Invalid argument: ", 18) == 0);
	leveldb_free(err);
	err = NULL;

	start("open");
	leveldb_options_set_create_if_missing(options, 1);
	db = leveldb_open(options, dbname, &err);
	NO_ERROR(err);
	CHECK(db != NULL);
	expect_value(db, roptions, "foo", NULL);

	start("put");
	leveldb_put(db, woptions, "foo", 3, "hello", 5, &err);
	NO_ERROR(err);
	expect_value(db, roptions, "foo", "hello");

	start("compactall");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	expect_value(db, roptions, "foo", "hello");

	start("compactrange");
	leveldb_compact_range(db, "a", 1, "z", 1);
	expect_value(db, roptions, "foo", "hello");

	start("writebatch");
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_put(wb, "foo", 3, "a", 1);
	leveldb_writebatch_clear(wb);
	leveldb_writebatch_put(wb, "bar", 3, "b", 1);
	leveldb_writebatch_put(wb, "box", 3, "c", 1);
	leveldb_writebatch_delete(wb, "bar", 3);
	leveldb_write(db, woptions, wb, &err);
	NO_ERROR(err);
	expect_value(db, roptions, "foo", "hello");
	expect_value(db, roptions, "bar", NULL);
	expect_value(db, roptions, "box", "c");
	batch_step = 0;
	leveldb_writebatch_iterate(wb, NULL, saw_put, saw_delete);
	CHECK(batch_step == 3);
	leveldb_writebatch_destroy(wb);

	start("writebatch_append");
	wb = leveldb_writebatch_create();
	leveldb_writebatch_put(wb, "foo", 3, "a", 1);
	leveldb_writebatch_t *wb2 = leveldb_writebatch_create();
	leveldb_writebatch_put(wb2, "bar", 3, "b", 1);
	leveldb_writebatch_append(wb, wb2);
	leveldb_writebatch_destroy(wb2);
	leveldb_write(db, woptions, wb, &err);
	NO_ERROR(err);
	expect_value(db, roptions, "foo", "a");
	expect_value(db, roptions, "bar", "b");
	leveldb_writebatch_destroy(wb);
	/* back to where LevelDB's own test goes on from */
	leveldb_put(db, woptions, "foo", 3, "hello", 5, &err);
	NO_ERROR(err);
	leveldb_delete(db, woptions, "bar", 3, &err);
	NO_ERROR(err);

	start("iter");
	leveldb_iterator_t *iter = leveldb_create_iterator(db, roptions);
	CHECK(!leveldb_iter_valid(iter));
	leveldb_iter_seek_to_first(iter);
	expect_entry(iter, "box", "c");
	leveldb_iter_next(iter);
	expect_entry(iter, "foo", "hello");
	leveldb_iter_prev(iter);
	expect_entry(iter, "box", "c");
	leveldb_iter_prev(iter);
	CHECK(!leveldb_iter_valid(iter));
	leveldb_iter_seek_to_last(iter);
	expect_entry(iter, "foo", "hello");
	leveldb_iter_seek(iter, "b", 1);
	expect_entry(iter, "box", "c");
	leveldb_iter_get_error(iter, &err);
	NO_ERROR(err);
	leveldb_iter_destroy(iter);

	start("approximate_sizes");
	{
		char key[100], val[100];
		for (int i = 0; i < 20000; i++) {
			snprintf(key, sizeof(key), "k%020d", i);
			snprintf(val, sizeof(val), "v%020d", i);
			leveldb_put(db, woptions, key, strlen(key), val, strlen(val), &err);
			NO_ERROR(err);
		}
		const char *starts[2] = { "a", "k00000000000000010000" };
		size_t start_lens[2] = { 1, 21 };
		const char *limits[2] = { "k00000000000000010000", "z" };
		size_t limit_lens[2] = { 21, 1 };
		uint64_t sizes[2];
		leveldb_approximate_sizes(db, 2, starts, start_lens, limits, limit_lens, sizes);
		CHECK(sizes[0] > 0);
		CHECK(sizes[1] > 0);
	}

	start("property");
	{
		char *prop = leveldb_property_value(db, "nosuchprop");
		CHECK(prop == NULL);
		prop = leveldb_property_value(db, "leveldb.stats");
		CHECK(prop != NULL);
		leveldb_free(prop);
	}

	start("snapshot");
	{
		const leveldb_snapshot_t *snap = leveldb_create_snapshot(db);
		leveldb_delete(db, woptions, "foo", 3, &err);
		NO_ERROR(err);
		leveldb_readoptions_set_snapshot(roptions, snap);
		expect_value(db, roptions, "foo", "hello");
		leveldb_readoptions_set_snapshot(roptions, NULL);
		expect_value(db, roptions, "foo", NULL);
		leveldb_release_snapshot(db, snap);
	}

	start("repair");
	{
		leveldb_close(db);
		leveldb_options_set_create_if_missing(options, 0);
		leveldb_options_set_error_if_exists(options, 0);
		leveldb_repair_db(options, dbname, &err);
		NO_ERROR(err);
		db = leveldb_open(options, dbname, &err);
		NO_ERROR(err);
		expect_value(db, roptions, "foo", NULL);
		expect_value(db, roptions, "bar", NULL);
		expect_value(db, roptions, "box", "c");
		leveldb_options_set_create_if_missing(options, 1);
		leveldb_options_set_error_if_exists(options, 1);
	}

	start("filter");
	for (int run = 0; run < 2; run++) {
		/* the constant filter, then the bloom filter */
		leveldb_filterpolicy_t *policy =
		    run == 0 ? leveldb_filterpolicy_create(NULL, policy_destroy, policy_create, policy_match, policy_name)
		             : leveldb_filterpolicy_create_bloom(10);
		CHECK(policy != NULL);
		leveldb_close(db);
		leveldb_destroy_db(options, dbname, &err);
		NO_ERROR(err);
		leveldb_options_set_filter_policy(options, policy);
		db = leveldb_open(options, dbname, &err);
		NO_ERROR(err);
		leveldb_put(db, woptions, "foo", 3, "foovalue", 8, &err);
		NO_ERROR(err);
		leveldb_put(db, woptions, "bar", 3, "barvalue", 8, &err);
		NO_ERROR(err);
		leveldb_compact_range(db, NULL, 0, NULL, 0);
		filter_answer = 1;
		expect_value(db, roptions, "foo", "foovalue");
		expect_value(db, roptions, "bar", "barvalue");
		if (run == 0) {
			/* the filter is asked, and believed */
			filter_answer = 0;
			expect_value(db, roptions, "foo", NULL);
			expect_value(db, roptions, "bar", NULL);
			filter_answer = 1;
			expect_value(db, roptions, "foo", "foovalue");
		} else {
			expect_value(db, roptions, "absent", NULL);
		}
		leveldb_close(db);
		leveldb_options_set_filter_policy(options, NULL);
		leveldb_filterpolicy_destroy(policy);
		leveldb_options_set_error_if_exists(options, 0);
		db = leveldb_open(options, dbname, &err); /* reopened without a policy */
		NO_ERROR(err);
		expect_value(db, roptions, "foo", "foovalue");
		leveldb_options_set_error_if_exists(options, 1);
	}

	start("cleanup");
	leveldb_close(db);
	leveldb_destroy_db(options, dbname, &err);
	NO_ERROR(err);
	/* what LevelDB's repair set aside (its destroy leaves it) */
	char lost[4200];
	snprintf(lost, sizeof(lost), "%s/lost", dbname);
	remove_dir(lost);
	rmdir(dbname);
	leveldb_options_destroy(options);
	leveldb_readoptions_destroy(roptions);
	leveldb_writeoptions_destroy(woptions);
	leveldb_comparator_destroy(cmp);
	leveldb_cache_destroy(cache);
	leveldb_env_destroy(env);
	printf("PASS\n");
	return 0;
}
