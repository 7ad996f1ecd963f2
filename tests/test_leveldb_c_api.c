/* LevelDB's C API (leveldb/c.h) as its header documents it: every function
 * and the error paths a program meets. Built twice from this one file:
 * against Debian's real libleveldb with its own header
 * (tests/test_leveldb_c_api_real) and against libshale-leveldb with
 * compat/leveldb/c.h (tests/test_leveldb_c_api_shale); both pass the same
 * assertions, and where they ever disagreed LevelDB was taken as right.
 * A few checks of libshale-leveldb's own promises (a NULL where LevelDB
 * would crash, a close while an iterator lives) are compiled only against
 * its header (SHALE_LEVELDB_C_H).
 *
 * Only <leveldb/c.h>, Check and the C library: nothing of shale. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- scaffolding ---- */

static char dir[4096];  /* this test's directory */
static char path[4200]; /* the database in it */

static void rmtree(const char *p)
{
	struct stat st;
	if (lstat(p, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(p);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				char child[4400];
				snprintf(child, sizeof(child), "%s/%s", p, e->d_name);
				rmtree(child);
			}
			closedir(d);
		}
		rmdir(p);
	} else {
		unlink(p);
	}
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/ldbapi-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db", dir);
}

static void teardown(void)
{
	rmtree(dir);
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* The message begins with kind (e.g. "Invalid argument: "). */
#define assert_error(err, kind)                                                                   \
	do {                                                                                          \
		ck_assert_msg((err) != NULL, "no error where %s was expected", (kind));                 \
		ck_assert_msg(strncmp((err), (kind), strlen(kind)) == 0, "error \"%s\" is not %s", (err), \
		              (kind));                                                                    \
	} while (0)

#define assert_no_error(err) ck_assert_msg((err) == NULL, "unexpected error: %s", (err))

static leveldb_options_t *new_options(int create)
{
	leveldb_options_t *o = leveldb_options_create();
	ck_assert_ptr_nonnull(o);
	leveldb_options_set_create_if_missing(o, (uint8_t)create);
	return o;
}

static leveldb_t *open_db(const leveldb_options_t *o)
{
	char *err = NULL;
	leveldb_t *db = leveldb_open(o, path, &err);
	assert_no_error(err);
	ck_assert_ptr_nonnull(db);
	return db;
}

static void put(leveldb_t *db, const char *k, const char *v)
{
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char *err = NULL;
	leveldb_put(db, wo, k, strlen(k), v, strlen(v), &err);
	assert_no_error(err);
	leveldb_writeoptions_destroy(wo);
}

/* Asserts that key reads as want (NULL: absent). */
static void check_get(leveldb_t *db, const leveldb_readoptions_t *ro, const char *k, const char *want)
{
	char *err = NULL;
	size_t vl = 99;
	char *v = leveldb_get(db, ro, k, strlen(k), &vl, &err);
	assert_no_error(err);
	if (want == NULL) {
		ck_assert_msg(v == NULL, "%s: found \"%.*s\", expected absent", k, (int)vl, v ? v : "");
	} else {
		ck_assert_msg(v != NULL, "%s: absent, expected \"%s\"", k, want);
		ck_assert_msg(vl == strlen(want) && memcmp(v, want, vl) == 0, "%s: \"%.*s\", expected \"%s\"", k,
		              (int)vl, v, want);
	}
	leveldb_free(v);
}

static void get(leveldb_t *db, const char *k, const char *want)
{
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	check_get(db, ro, k, want);
	leveldb_readoptions_destroy(ro);
}

/* The iterator's entries from where it stands, forward, as "k=v|...". */
static void walk(leveldb_iterator_t *it, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (; leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		const char *v = leveldb_iter_value(it, &vl);
		len += (size_t)snprintf(out + len, cap - len, "%.*s=%.*s|", (int)kl, k, (int)vl, v);
	}
}

static int files_at_level(leveldb_t *db, int level)
{
	char name[64];
	snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
	char *p = leveldb_property_value(db, name);
	ck_assert_ptr_nonnull(p);
	int n = atoi(p);
	leveldb_free(p);
	return n;
}

static int table_files(leveldb_t *db)
{
	int n = 0;
	for (int level = 0; level < 7; level++)
		n += files_at_level(db, level);
	return n;
}

/* The first file in the database directory whose name ends with suffix
 * (into out); 0 when none. */
static int find_file(const char *suffix, char *out, size_t cap)
{
	DIR *d = opendir(path);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int found = 0;
	size_t sl = strlen(suffix);
	while (!found && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n > sl && strcmp(e->d_name + n - sl, suffix) == 0) {
			snprintf(out, cap, "%s/%s", path, e->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

/* Flips one byte of file p at offset off. */
static void flip_byte(const char *p, long off)
{
	FILE *f = fopen(p, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	int c = fgetc(f);
	ck_assert_int_ne(c, EOF);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	fputc(c ^ 0x40, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* ---- utilities ---- */

START_TEST(versions_are_1_23)
{
	ck_assert_int_eq(leveldb_major_version(), 1);
	ck_assert_int_eq(leveldb_minor_version(), 23);
	leveldb_free(NULL);
	leveldb_free(malloc(10));
}
END_TEST

/* ---- open, errors and the errptr convention ---- */

START_TEST(open_reports_errors_through_errptr)
{
	leveldb_options_t *o = new_options(0);
	char *err = NULL;
	/* missing, without create_if_missing */
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	ck_assert_ptr_nonnull(strstr(err, path));
	/* (LevelDB leaves the directory behind with an empty LOCK and LOG,
	 * libshale-leveldb nothing: doc/leveldb-compat.md, "Differences") */
	/* a second failure replaces (and frees) the first message */
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	err = NULL;

	/* created: success leaves *errptr alone */
	leveldb_options_set_create_if_missing(o, 1);
	char *before = strdup("an earlier message");
	err = before;
	leveldb_t *db = leveldb_open(o, path, &err);
	ck_assert_ptr_nonnull(db);
	ck_assert_ptr_eq(err, before);
	ck_assert_str_eq(err, "an earlier message");
	put(db, "k", "v");
	leveldb_free(err);
	err = NULL;

	/* held by this handle: another open, and destroy, are I/O errors */
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "IO error: ");
	leveldb_free(err);
	err = NULL;
	leveldb_destroy_db(o, path, &err);
	assert_error(err, "IO error: ");
	leveldb_free(err);
	err = NULL;
	leveldb_close(db);

	/* error_if_exists */
	leveldb_options_set_error_if_exists(o, 1);
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	err = NULL;
	leveldb_options_set_error_if_exists(o, 0);

	/* with create_if_missing, a missing parent directory: NotFound */
	char deep[4400];
	snprintf(deep, sizeof(deep), "%s/no/such/db", dir);
	ck_assert_ptr_null(leveldb_open(o, deep, &err));
	assert_error(err, "NotFound: ");
	leveldb_free(err);
	err = NULL;

	/* the data survived all that */
	db = open_db(o);
	get(db, "k", "v");
	leveldb_close(db);
	leveldb_options_destroy(o);
}
END_TEST

START_TEST(options_setters_take_any_value_levelDB_takes)
{
	leveldb_options_t *o = new_options(1);
	leveldb_env_t *env = leveldb_create_default_env();
	leveldb_cache_t *cache = leveldb_cache_create_lru(1 << 20);
	ck_assert_ptr_nonnull(env);
	ck_assert_ptr_nonnull(cache);
	leveldb_options_set_env(o, env);
	leveldb_options_set_info_log(o, NULL);
	leveldb_options_set_cache(o, cache);
	leveldb_options_set_paranoid_checks(o, 1);
	/* out of LevelDB's ranges: brought into them at open */
	leveldb_options_set_write_buffer_size(o, 1);
	leveldb_options_set_max_open_files(o, 1);
	leveldb_options_set_block_size(o, 1);
	leveldb_options_set_block_restart_interval(o, 1);
	leveldb_options_set_max_file_size(o, 1);
	leveldb_options_set_compression(o, leveldb_no_compression);
	leveldb_t *db = open_db(o);
	char k[32], v[256];
	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		put(db, k, v);
	}
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	get(db, "key000007", v);
	get(db, "key001999", v);
	/* the info log is the LOG file */
	char log[4400];
	snprintf(log, sizeof(log), "%s/LOG", path);
	ck_assert(exists(log));
	leveldb_close(db);

	/* and the other extreme, snappy */
	leveldb_options_set_write_buffer_size(o, (size_t)1 << 40);
	leveldb_options_set_max_open_files(o, 1 << 30);
	leveldb_options_set_block_size(o, (size_t)1 << 40);
	leveldb_options_set_max_file_size(o, (size_t)1 << 40);
	leveldb_options_set_compression(o, leveldb_snappy_compression);
	db = open_db(o);
	get(db, "key000007", v);
	put(db, "more", "data");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	get(db, "more", "data");
	leveldb_close(db);
	leveldb_options_destroy(o);
	leveldb_cache_destroy(cache);
	leveldb_env_destroy(env);
}
END_TEST

/* ---- reads and writes ---- */

START_TEST(put_get_delete_any_bytes)
{
	leveldb_options_t *o = new_options(1);
	leveldb_t *db = open_db(o);
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_writeoptions_set_sync(wo, 1);
	leveldb_readoptions_set_verify_checksums(ro, 1);
	leveldb_readoptions_set_fill_cache(ro, 0);
	char *err = NULL;
	/* NUL bytes in keys and values; the empty key; an empty value */
	leveldb_put(db, wo, "a\0b", 3, "x\0y\0", 4, &err);
	assert_no_error(err);
	leveldb_put(db, wo, "", 0, "empty key", 9, &err);
	assert_no_error(err);
	leveldb_put(db, wo, "e", 1, "", 0, &err);
	assert_no_error(err);
	size_t vl;
	char *v = leveldb_get(db, ro, "a\0b", 3, &vl, &err);
	assert_no_error(err);
	ck_assert(v != NULL && vl == 4 && memcmp(v, "x\0y\0", 4) == 0);
	leveldb_free(v);
	ck_assert_ptr_null(leveldb_get(db, ro, "a", 1, &vl, &err));
	assert_no_error(err);
	v = leveldb_get(db, ro, "", 0, &vl, &err);
	ck_assert(v != NULL && vl == 9 && memcmp(v, "empty key", 9) == 0);
	free(v); /* leveldb_free is free */
	v = leveldb_get(db, ro, "e", 1, &vl, &err);
	assert_no_error(err);
	ck_assert_ptr_nonnull(v); /* found: not NULL, even when empty */
	ck_assert_uint_eq(vl, 0);
	leveldb_free(v);
	/* absent: NULL, a length of 0, and no error */
	vl = 77;
	ck_assert_ptr_null(leveldb_get(db, ro, "absent", 6, &vl, &err));
	assert_no_error(err);
	ck_assert_uint_eq(vl, 0);
	/* overwrite, delete (twice: deleting an absent key is fine) */
	put(db, "e", "now");
	check_get(db, ro, "e", "now");
	leveldb_delete(db, wo, "e", 1, &err);
	assert_no_error(err);
	leveldb_delete(db, wo, "e", 1, &err);
	assert_no_error(err);
	leveldb_delete(db, wo, "never", 5, &err);
	assert_no_error(err);
	check_get(db, ro, "e", NULL);
	/* a large value */
	size_t big = 3 << 20;
	char *bv = malloc(big);
	for (size_t i = 0; i < big; i++)
		bv[i] = (char)(i * 7 + i / 1000);
	leveldb_put(db, wo, "big", 3, bv, big, &err);
	assert_no_error(err);
	leveldb_close(db);
	db = open_db(o); /* from the log */
	v = leveldb_get(db, ro, "big", 3, &vl, &err);
	ck_assert(v != NULL && vl == big && memcmp(v, bv, big) == 0);
	leveldb_free(v);
	leveldb_compact_range(db, NULL, 0, NULL, 0); /* from a table */
	v = leveldb_get(db, ro, "big", 3, &vl, &err);
	ck_assert(v != NULL && vl == big && memcmp(v, bv, big) == 0);
	leveldb_free(v);
	free(bv);
	check_get(db, ro, "", "empty key");
	leveldb_close(db);
	leveldb_writeoptions_destroy(wo);
	leveldb_readoptions_destroy(ro);
	leveldb_options_destroy(o);
}
END_TEST

/* ---- write batches ---- */

struct ops {
	char text[512];
	size_t len;
};

static void op_put(void *state, const char *k, size_t kl, const char *v, size_t vl)
{
	struct ops *o = state;
	o->len += (size_t)snprintf(o->text + o->len, sizeof(o->text) - o->len, "P(%.*s=%.*s)", (int)kl, k, (int)vl, v);
}

static void op_del(void *state, const char *k, size_t kl)
{
	struct ops *o = state;
	o->len += (size_t)snprintf(o->text + o->len, sizeof(o->text) - o->len, "D(%.*s)", (int)kl, k);
}

START_TEST(write_batches_put_delete_clear_iterate_append)
{
	leveldb_options_t *o = new_options(1);
	leveldb_t *db = open_db(o);
	put(db, "foo", "hello");
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	ck_assert_ptr_nonnull(wb);
	char *err = NULL;
	/* cleared: nothing of it is written */
	leveldb_writebatch_put(wb, "foo", 3, "a", 1);
	leveldb_writebatch_clear(wb);
	leveldb_writebatch_put(wb, "bar", 3, "b", 1);
	leveldb_writebatch_put(wb, "box", 3, "c", 1);
	leveldb_writebatch_delete(wb, "bar", 3);
	struct ops ops = { "", 0 };
	leveldb_writebatch_iterate(wb, &ops, op_put, op_del);
	ck_assert_str_eq(ops.text, "P(bar=b)P(box=c)D(bar)");
	leveldb_write(db, wo, wb, &err);
	assert_no_error(err);
	get(db, "foo", "hello");
	get(db, "bar", NULL); /* the later delete wins */
	get(db, "box", "c");
	/* the batch is unchanged by the write */
	memset(&ops, 0, sizeof(ops));
	leveldb_writebatch_iterate(wb, &ops, op_put, op_del);
	ck_assert_str_eq(ops.text, "P(bar=b)P(box=c)D(bar)");

	/* append: the source's operations after the destination's */
	leveldb_writebatch_t *wb2 = leveldb_writebatch_create();
	leveldb_writebatch_delete(wb2, "box", 3);
	leveldb_writebatch_put(wb2, "bar", 3, "B", 1);
	leveldb_writebatch_append(wb, wb2);
	memset(&ops, 0, sizeof(ops));
	leveldb_writebatch_iterate(wb, &ops, op_put, op_del);
	ck_assert_str_eq(ops.text, "P(bar=b)P(box=c)D(bar)D(box)P(bar=B)");
	memset(&ops, 0, sizeof(ops));
	leveldb_writebatch_iterate(wb2, &ops, op_put, op_del);
	ck_assert_str_eq(ops.text, "D(box)P(bar=B)");
	leveldb_write(db, wo, wb, &err);
	assert_no_error(err);
	get(db, "bar", "B");
	get(db, "box", NULL);
	/* an empty batch */
	leveldb_writebatch_clear(wb);
	memset(&ops, 0, sizeof(ops));
	leveldb_writebatch_iterate(wb, &ops, op_put, op_del);
	ck_assert_str_eq(ops.text, "");
	leveldb_write(db, wo, wb, &err);
	assert_no_error(err);
	/* atomic across a reopen */
	for (int i = 0; i < 100; i++) {
		char k[16];
		snprintf(k, sizeof(k), "batch%03d", i);
		leveldb_writebatch_put(wb, k, strlen(k), k, strlen(k));
	}
	leveldb_write(db, wo, wb, &err);
	assert_no_error(err);
	leveldb_close(db);
	db = open_db(o);
	get(db, "batch000", "batch000");
	get(db, "batch099", "batch099");
	leveldb_writebatch_destroy(wb);
	leveldb_writebatch_destroy(wb2);
	leveldb_writeoptions_destroy(wo);
	leveldb_close(db);
	leveldb_options_destroy(o);
}
END_TEST

/* ---- iterators and snapshots ---- */

START_TEST(iterators_both_ways_seek_and_see_their_snapshot)
{
	leveldb_options_t *o = new_options(1);
	leveldb_t *db = open_db(o);
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	char out[1024];

	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	ck_assert_ptr_nonnull(it);
	ck_assert(!leveldb_iter_valid(it));
	leveldb_iter_seek_to_first(it);
	ck_assert(!leveldb_iter_valid(it));
	leveldb_iter_seek_to_last(it);
	ck_assert(!leveldb_iter_valid(it));
	char *err = NULL;
	leveldb_iter_get_error(it, &err);
	assert_no_error(err);
	leveldb_iter_destroy(it);

	put(db, "box", "c");
	put(db, "foo", "hello");
	put(db, "apple", "1");
	it = leveldb_create_iterator(db, ro);
	put(db, "zebra", "late"); /* after the iterator: not seen */
	leveldb_iter_seek_to_first(it);
	walk(it, out, sizeof(out));
	ck_assert_str_eq(out, "apple=1|box=c|foo=hello|");
	leveldb_iter_seek_to_last(it);
	size_t kl;
	const char *k = leveldb_iter_key(it, &kl);
	ck_assert(kl == 3 && memcmp(k, "foo", 3) == 0);
	leveldb_iter_prev(it);
	k = leveldb_iter_key(it, &kl);
	ck_assert(kl == 3 && memcmp(k, "box", 3) == 0);
	leveldb_iter_prev(it);
	leveldb_iter_prev(it);
	ck_assert(!leveldb_iter_valid(it));
	leveldb_iter_seek(it, "b", 1);
	walk(it, out, sizeof(out));
	ck_assert_str_eq(out, "box=c|foo=hello|");
	leveldb_iter_seek(it, "box", 3);
	size_t vl;
	const char *v = leveldb_iter_value(it, &vl);
	ck_assert(vl == 1 && memcmp(v, "c", 1) == 0);
	leveldb_iter_seek(it, "g", 1);
	ck_assert(!leveldb_iter_valid(it));
	leveldb_iter_get_error(it, &err);
	assert_no_error(err);
	leveldb_iter_destroy(it);

	/* a snapshot: reads through it see the state it was made in */
	const leveldb_snapshot_t *snap = leveldb_create_snapshot(db);
	ck_assert_ptr_nonnull(snap);
	put(db, "foo", "changed");
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	leveldb_delete(db, wo, "box", 3, &err);
	assert_no_error(err);
	leveldb_compact_range(db, NULL, 0, NULL, 0); /* whatever compaction does meanwhile */
	leveldb_readoptions_set_snapshot(ro, snap);
	check_get(db, ro, "foo", "hello");
	check_get(db, ro, "box", "c");
	check_get(db, ro, "zebra", "late");
	it = leveldb_create_iterator(db, ro);
	leveldb_iter_seek_to_first(it);
	walk(it, out, sizeof(out));
	ck_assert_str_eq(out, "apple=1|box=c|foo=hello|zebra=late|");
	leveldb_iter_destroy(it);
	leveldb_readoptions_set_snapshot(ro, NULL);
	check_get(db, ro, "foo", "changed");
	check_get(db, ro, "box", NULL);
	leveldb_release_snapshot(db, snap);
	it = leveldb_create_iterator(db, ro);
	leveldb_iter_seek_to_first(it);
	walk(it, out, sizeof(out));
	ck_assert_str_eq(out, "apple=1|foo=changed|zebra=late|");
	leveldb_iter_destroy(it);
	leveldb_writeoptions_destroy(wo);
	leveldb_readoptions_destroy(ro);
	leveldb_close(db);
	leveldb_options_destroy(o);
}
END_TEST

/* ---- properties, sizes, compaction ---- */

START_TEST(properties_sizes_and_compaction)
{
	leveldb_options_t *o = new_options(1);
	leveldb_options_set_write_buffer_size(o, 64 << 10);
	leveldb_options_set_compression(o, leveldb_no_compression);
	leveldb_t *db = open_db(o);
	char k[32], v[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "k%020d", i);
		snprintf(v, sizeof(v), "v%020d", i);
		put(db, k, v);
	}
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	ck_assert_int_gt(table_files(db), 0);
	/* the names LevelDB answers */
	for (int level = 0; level < 7; level++) {
		char name[64];
		snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
		char *p = leveldb_property_value(db, name);
		ck_assert_ptr_nonnull(p);
		char *end;
		strtol(p, &end, 10);
		ck_assert(end != p && *end == '\0');
		leveldb_free(p);
	}
	const char *known[] = { "leveldb.stats", "leveldb.sstables", "leveldb.approximate-memory-usage" };
	for (int i = 0; i < 3; i++) {
		char *p = leveldb_property_value(db, known[i]);
		ck_assert_msg(p != NULL && *p != '\0', "%s", known[i]);
		leveldb_free(p);
	}
	char *mem = leveldb_property_value(db, "leveldb.approximate-memory-usage");
	ck_assert_int_gt(atol(mem), 0);
	leveldb_free(mem);
	/* and NULL for the others */
	const char *unknown[] = { "leveldb.num-files-at-level7", "leveldb.num-files-at-levelx",
		                  "leveldb.num-files-at-level1x", "leveldb.nosuchprop", "nosuchprop", "stats",
		                  "shale.stats", "" };
	for (int i = 0; i < 8; i++)
		ck_assert_msg(leveldb_property_value(db, unknown[i]) == NULL, "\"%s\" answered", unknown[i]);

	/* sizes: two halves of the data, an empty range, a backwards one */
	const char *starts[] = { "a", "k00000000000000010000", "x", "z" };
	const char *limits[] = { "k00000000000000010000", "z", "y", "a" };
	size_t slen[4], llen[4];
	for (int i = 0; i < 4; i++) {
		slen[i] = strlen(starts[i]);
		llen[i] = strlen(limits[i]);
	}
	uint64_t sizes[4] = { 9, 9, 9, 9 };
	leveldb_approximate_sizes(db, 4, starts, slen, limits, llen, sizes);
	ck_assert_uint_gt(sizes[0], 200000);
	ck_assert_uint_gt(sizes[1], 200000);
	ck_assert_uint_lt(sizes[0], 2000000);
	ck_assert_uint_eq(sizes[2], 0);
	ck_assert_uint_eq(sizes[3], 0);

	/* compaction of a range drops what was deleted in it */
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char *err = NULL;
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "k%020d", i);
		leveldb_delete(db, wo, k, strlen(k), &err);
		assert_no_error(err);
	}
	leveldb_compact_range(db, "a", 1, "z", 1);
	leveldb_approximate_sizes(db, 2, starts, slen, limits, llen, sizes);
	ck_assert_uint_lt(sizes[0] + sizes[1], 20000);
	ck_assert_int_eq(table_files(db), 0);
	get(db, "k00000000000000000005", NULL);
	leveldb_writeoptions_destroy(wo);
	leveldb_close(db);
	leveldb_options_destroy(o);
}
END_TEST

/* ---- comparators ---- */

static int destroyed;

static void count_destroy(void *state)
{
	(void)state;
	destroyed++;
}

/* Reverse bytewise order. */
static int reverse_compare(void *state, const char *a, size_t al, const char *b, size_t bl)
{
	(void)state;
	size_t n = al < bl ? al : bl;
	int r = memcmp(a, b, n);
	if (r == 0)
		r = (al > bl) - (al < bl);
	return -r;
}

static const char *reverse_name(void *state)
{
	(void)state;
	return "test.Reverse";
}

static const char *other_name(void *state)
{
	(void)state;
	return "test.Other";
}

START_TEST(custom_comparator_orders_and_is_checked_by_name)
{
	destroyed = 0;
	leveldb_comparator_t *cmp = leveldb_comparator_create(NULL, count_destroy, reverse_compare, reverse_name);
	leveldb_comparator_t *other = leveldb_comparator_create(NULL, count_destroy, reverse_compare, other_name);
	ck_assert_ptr_nonnull(cmp);
	leveldb_options_t *o = new_options(1);
	leveldb_options_set_comparator(o, cmp);
	leveldb_t *db = open_db(o);
	put(db, "a", "1");
	put(db, "c", "3");
	put(db, "b", "2");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	put(db, "d", "4");
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	char out[256];
	leveldb_iter_seek_to_first(it);
	walk(it, out, sizeof(out));
	ck_assert_str_eq(out, "d=4|c=3|b=2|a=1|");
	leveldb_iter_seek(it, "bb", 2); /* first key >= "bb" in this order: "b" */
	walk(it, out, sizeof(out));
	ck_assert_str_eq(out, "b=2|a=1|");
	leveldb_iter_destroy(it);
	leveldb_readoptions_destroy(ro);
	leveldb_close(db);

	/* another comparator's name, or the default one: refused */
	char *err = NULL;
	leveldb_options_set_comparator(o, other);
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	err = NULL;
	leveldb_options_destroy(o);
	o = new_options(0);
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	leveldb_options_destroy(o);

	ck_assert_int_eq(destroyed, 0);
	leveldb_comparator_destroy(cmp);
	leveldb_comparator_destroy(other);
	ck_assert_int_eq(destroyed, 2);
}
END_TEST

/* ---- filter policies ---- */

/* A filter of keys' first bytes; while say_no is set, every key "misses". */
struct policy_state {
	const char *name;
	int say_no;
	int creates, matches;
};

static char *first_bytes_create(void *state, const char *const *keys, const size_t *lens, int n, size_t *flen)
{
	struct policy_state *s = state;
	s->creates++;
	char *f = malloc((size_t)n + 1);
	for (int i = 0; i < n; i++)
		f[i] = lens[i] ? keys[i][0] : '\0';
	*flen = (size_t)n;
	return f;
}

static uint8_t first_bytes_match(void *state, const char *key, size_t len, const char *filter, size_t flen)
{
	struct policy_state *s = state;
	s->matches++;
	if (s->say_no)
		return 0;
	return memchr(filter, len ? key[0] : '\0', flen) != NULL;
}

static const char *policy_name(void *state)
{
	return ((struct policy_state *)state)->name;
}

START_TEST(filter_policy_is_believed_only_under_its_own_name)
{
	destroyed = 0;
	struct policy_state st = { "test.FirstBytes", 0, 0, 0 }, ot = { "test.Other", 1, 0, 0 };
	leveldb_filterpolicy_t *fp = leveldb_filterpolicy_create(&st, count_destroy, first_bytes_create,
	                                                          first_bytes_match, policy_name);
	leveldb_filterpolicy_t *op = leveldb_filterpolicy_create(&ot, count_destroy, first_bytes_create,
	                                                          first_bytes_match, policy_name);
	ck_assert_ptr_nonnull(fp);
	leveldb_options_t *o = new_options(1);
	leveldb_options_set_filter_policy(o, fp);
	leveldb_t *db = open_db(o);
	put(db, "foo", "1");
	put(db, "bar", "2");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	ck_assert_int_gt(st.creates, 0);
	get(db, "foo", "1");
	get(db, "bar", "2");
	get(db, "qux", NULL);
	ck_assert_int_gt(st.matches, 0);
	/* its answer is taken: a "no" hides keys that are there */
	st.say_no = 1;
	get(db, "foo", NULL);
	get(db, "bar", NULL);
	st.say_no = 0;
	leveldb_close(db);

	/* another name: that filter is not asked */
	leveldb_options_set_filter_policy(o, op);
	db = open_db(o);
	get(db, "foo", "1");
	ck_assert_int_eq(ot.matches, 0);
	leveldb_close(db);
	/* the bloom filter: its own, "leveldb.BuiltinBloomFilter2" */
	leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
	ck_assert_ptr_nonnull(bloom);
	leveldb_options_set_filter_policy(o, bloom);
	db = open_db(o);
	get(db, "foo", "1");
	put(db, "baz", "3");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	get(db, "foo", "1");
	get(db, "baz", "3");
	for (int i = 0; i < 100; i++) {
		char k[16];
		snprintf(k, sizeof(k), "absent%d", i);
		get(db, k, NULL);
	}
	leveldb_close(db);
	/* and no policy at all */
	leveldb_options_destroy(o);
	o = new_options(0);
	db = open_db(o);
	get(db, "foo", "1");
	get(db, "baz", "3");
	leveldb_close(db);
	leveldb_options_destroy(o);

	ck_assert_int_eq(destroyed, 0);
	leveldb_filterpolicy_destroy(fp);
	leveldb_filterpolicy_destroy(op);
	leveldb_filterpolicy_destroy(bloom);
	ck_assert_int_eq(destroyed, 2);
	/* odd bloom sizes are taken too */
	leveldb_filterpolicy_destroy(leveldb_filterpolicy_create_bloom(0));
	leveldb_filterpolicy_destroy(leveldb_filterpolicy_create_bloom(5000));
}
END_TEST

/* ---- caches and the env ---- */

START_TEST(a_cache_serves_two_databases)
{
	leveldb_cache_t *cache = leveldb_cache_create_lru(4 << 20);
	leveldb_options_t *o = new_options(1);
	leveldb_options_set_cache(o, cache);
	leveldb_t *db = open_db(o);
	char second[4400];
	snprintf(second, sizeof(second), "%s/db2", dir);
	char *err = NULL;
	leveldb_t *db2 = leveldb_open(o, second, &err);
	assert_no_error(err);
	put(db, "one", "1");
	put(db2, "two", "2");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	leveldb_compact_range(db2, NULL, 0, NULL, 0);
	for (int i = 0; i < 3; i++) {
		get(db, "one", "1");
		get(db2, "two", "2");
		get(db2, "one", NULL);
	}
	leveldb_close(db);
	leveldb_close(db2);
	leveldb_options_destroy(o);
	leveldb_cache_destroy(cache);
}
END_TEST

START_TEST(env_test_directory)
{
	leveldb_env_t *env = leveldb_create_default_env();
	ck_assert_ptr_nonnull(env);
	char want[4400];
	snprintf(want, sizeof(want), "%s/testdir", dir);
	ck_assert_int_eq(setenv("TEST_TMPDIR", want, 1), 0);
	char *d = leveldb_env_get_test_directory(env);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, want);
	ck_assert(exists(want)); /* made */
	leveldb_free(d);
	d = leveldb_env_get_test_directory(env); /* already there: fine */
	ck_assert_str_eq(d, want);
	leveldb_free(d);
	/* without TEST_TMPDIR: /tmp/leveldbtest-<euid> (shared with whatever
	 * else runs LevelDB's tests: only its name is checked, and it is removed
	 * again only if this test made it and it is empty) */
	unsetenv("TEST_TMPDIR");
	char fallback[64];
	snprintf(fallback, sizeof(fallback), "/tmp/leveldbtest-%d", (int)geteuid());
	int was_there = exists(fallback);
	d = leveldb_env_get_test_directory(env);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, fallback);
	leveldb_free(d);
	if (!was_there)
		rmdir(fallback);
	leveldb_env_destroy(env);
}
END_TEST

/* ---- destroy and repair ---- */

START_TEST(destroy_removes_the_database)
{
	leveldb_options_t *o = new_options(1);
	char *err = NULL;
	leveldb_destroy_db(o, path, &err); /* nothing there: fine */
	assert_no_error(err);
	leveldb_t *db = open_db(o);
	put(db, "k", "v");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	leveldb_close(db);
	ck_assert(exists(path));
	leveldb_destroy_db(o, path, &err);
	assert_no_error(err);
	ck_assert(!exists(path));
	leveldb_options_set_create_if_missing(o, 0);
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	leveldb_options_destroy(o);
}
END_TEST

START_TEST(repair_brings_back_a_database_without_current)
{
	leveldb_options_t *o = new_options(1);
	leveldb_t *db = open_db(o);
	put(db, "foo", "hello");
	put(db, "box", "c");
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	put(db, "bar", "in the log");
	leveldb_close(db);
	char current[4400];
	snprintf(current, sizeof(current), "%s/CURRENT", path);
	ck_assert_int_eq(unlink(current), 0);
	leveldb_options_set_create_if_missing(o, 0);
	char *err = NULL;
	leveldb_repair_db(o, path, &err);
	assert_no_error(err);
	db = open_db(o);
	get(db, "foo", "hello");
	get(db, "box", "c");
	get(db, "bar", "in the log");
	leveldb_close(db);
	/* a healthy database keeps everything */
	leveldb_repair_db(o, path, &err);
	assert_no_error(err);
	db = open_db(o);
	get(db, "foo", "hello");
	get(db, "bar", "in the log");
	leveldb_close(db);

	/* an empty directory, or a missing one, becomes an empty database */
	char empty[4400], missing[4400];
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	ck_assert_int_eq(mkdir(empty, 0755), 0);
	const char *made[] = { empty, missing };
	for (int i = 0; i < 2; i++) {
		leveldb_repair_db(o, made[i], &err);
		assert_no_error(err);
		db = leveldb_open(o, made[i], &err);
		assert_no_error(err);
		ck_assert_ptr_nonnull(db);
		get(db, "foo", NULL);
		leveldb_close(db);
	}
	/* unless its parent is missing too */
	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	leveldb_repair_db(o, missing, &err);
	assert_error(err, "NotFound: ");
	leveldb_free(err);
	leveldb_options_destroy(o);
}
END_TEST

/* ---- damage ---- */

START_TEST(damage_is_corruption)
{
	leveldb_options_t *o = new_options(1);
	leveldb_options_set_compression(o, leveldb_no_compression);
	leveldb_options_set_block_size(o, 1024);
	leveldb_t *db = open_db(o);
	char k[32], v[128];
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		snprintf(v, sizeof(v), "value%06d-%080d", i, i);
		put(db, k, v);
	}
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	leveldb_close(db);
	/* a byte of the first data block of the table */
	char table[4400];
	ck_assert(find_file(".ldb", table, sizeof(table)));
	flip_byte(table, 100);
	db = open_db(o);
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(ro, 1);
	char *err = NULL;
	size_t vl;
	char *got = leveldb_get(db, ro, "key000000", 9, &vl, &err);
	ck_assert_ptr_null(got);
	assert_error(err, "Corruption: ");
	leveldb_free(err);
	err = NULL;
	/* an iterator reports it once it has passed the damaged block (LevelDB
	 * goes on with the blocks after it; libshale-leveldb stops there:
	 * doc/leveldb-compat.md, "Differences") */
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	leveldb_iter_seek_to_first(it);
	for (; leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl;
		const char *ik = leveldb_iter_key(it, &kl);
		ck_assert(kl != 9 || memcmp(ik, "key000000", 9) != 0);
	}
	leveldb_iter_get_error(it, &err);
	assert_error(err, "Corruption: ");
	leveldb_free(err);
	err = NULL;
	leveldb_iter_destroy(it);
	/* blocks elsewhere still read */
	snprintf(v, sizeof(v), "value%06d-%080d", 1999, 1999);
	check_get(db, ro, "key001999", v);
	leveldb_readoptions_destroy(ro);
	leveldb_close(db);
	leveldb_options_destroy(o);
}
END_TEST

START_TEST(paranoid_checks_refuse_a_damaged_log)
{
	leveldb_options_t *o = new_options(1);
	leveldb_t *db = open_db(o);
	char k[32];
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		put(db, k, "some value that fills the log a little");
	}
	leveldb_close(db);
	char log[4400];
	ck_assert(find_file(".log", log, sizeof(log)));
	flip_byte(log, 2000); /* inside a record: its checksum fails */
	leveldb_options_set_paranoid_checks(o, 1);
	char *err = NULL;
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Corruption: ");
	leveldb_free(err);
	err = NULL;
	/* without: it opens with the records before the damage */
	leveldb_options_set_paranoid_checks(o, 0);
	db = open_db(o);
	get(db, "key000000", "some value that fills the log a little");
	leveldb_close(db);
	leveldb_options_destroy(o);
}
END_TEST

#ifdef SHALE_LEVELDB_C_H
/* ---- libshale-leveldb's own promises (compat/leveldb/c.h) ---- */

START_TEST(shale_null_arguments_are_errors_not_crashes)
{
	char *err = NULL;
	ck_assert_ptr_null(leveldb_open(NULL, path, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_options_t *o = new_options(1);
	ck_assert_ptr_null(leveldb_open(o, NULL, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_put(NULL, NULL, "k", 1, "v", 1, &err);
	assert_error(err, "Invalid argument: ");
	ck_assert_ptr_null(leveldb_get(NULL, NULL, "k", 1, NULL, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	err = NULL;
	/* a failure with no errptr to report to */
	ck_assert_ptr_null(leveldb_open(NULL, path, NULL));
	leveldb_close(NULL);
	leveldb_iter_destroy(NULL);
	ck_assert(!leveldb_iter_valid(NULL));
	leveldb_writebatch_destroy(NULL);
	leveldb_options_destroy(NULL);
	ck_assert_ptr_null(leveldb_comparator_create(NULL, NULL, NULL, NULL));
	ck_assert_ptr_null(leveldb_filterpolicy_create(NULL, NULL, NULL, NULL, NULL));

	/* a batch that could not take an operation is not written in part */
	leveldb_t *db = open_db(o);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_writebatch_put(wb, "good", 4, "1", 1);
	leveldb_writebatch_put(wb, NULL, 5, "1", 1); /* a NULL key with a length */
	leveldb_writebatch_t *wb2 = leveldb_writebatch_create();
	leveldb_writebatch_append(wb2, wb);
	leveldb_write(db, NULL, wb, &err);
	assert_error(err, "Invalid argument: ");
	leveldb_write(db, NULL, wb2, &err);
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	err = NULL;
	get(db, "good", NULL);
	leveldb_writebatch_clear(wb);
	leveldb_writebatch_put(wb, "good", 4, "1", 1);
	leveldb_write(db, NULL, wb, &err);
	assert_no_error(err);
	get(db, "good", "1");
	leveldb_writebatch_destroy(wb);
	leveldb_writebatch_destroy(wb2);
	leveldb_close(db);

	/* options LevelDB could not honour either: refused at open */
	leveldb_options_set_compression(o, 7);
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	ck_assert_ptr_nonnull(strstr(err, "compression"));
	leveldb_options_set_compression(o, leveldb_snappy_compression);
	leveldb_options_set_info_log(o, (leveldb_logger_t *)o);
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "Invalid argument: ");
	leveldb_free(err);
	leveldb_options_destroy(o);
}
END_TEST

START_TEST(shale_close_waits_for_the_last_iterator)
{
	leveldb_options_t *o = new_options(1);
	leveldb_t *db = open_db(o);
	put(db, "k", "v");
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	leveldb_iterator_t *it2 = leveldb_create_iterator(db, ro);
	leveldb_close(db);
	/* the iterators still work; the database is still locked */
	leveldb_iter_seek_to_first(it);
	ck_assert(leveldb_iter_valid(it));
	char *err = NULL;
	ck_assert_ptr_null(leveldb_open(o, path, &err));
	assert_error(err, "IO error: ");
	/* shale's message, without shale's own kind word */
	ck_assert_ptr_null(strstr(err, "busy"));
	leveldb_free(err);
	leveldb_iter_destroy(it);
	leveldb_iter_destroy(it2); /* the last one: the close completes */
	db = open_db(o);
	get(db, "k", "v");
	leveldb_close(db);
	leveldb_readoptions_destroy(ro);
	leveldb_options_destroy(o);
}
END_TEST
#endif

static Suite *suite(void)
{
	Suite *s = suite_create("leveldb_c_api");
	TCase *tc = tcase_create("api");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, versions_are_1_23);
	tcase_add_test(tc, open_reports_errors_through_errptr);
	tcase_add_test(tc, options_setters_take_any_value_levelDB_takes);
	tcase_add_test(tc, put_get_delete_any_bytes);
	tcase_add_test(tc, write_batches_put_delete_clear_iterate_append);
	tcase_add_test(tc, iterators_both_ways_seek_and_see_their_snapshot);
	tcase_add_test(tc, properties_sizes_and_compaction);
	tcase_add_test(tc, custom_comparator_orders_and_is_checked_by_name);
	tcase_add_test(tc, filter_policy_is_believed_only_under_its_own_name);
	tcase_add_test(tc, a_cache_serves_two_databases);
	tcase_add_test(tc, env_test_directory);
	tcase_add_test(tc, destroy_removes_the_database);
	tcase_add_test(tc, repair_brings_back_a_database_without_current);
	tcase_add_test(tc, damage_is_corruption);
	tcase_add_test(tc, paranoid_checks_refuse_a_damaged_log);
#ifdef SHALE_LEVELDB_C_H
	tcase_add_test(tc, shale_null_arguments_are_errors_not_crashes);
	tcase_add_test(tc, shale_close_waits_for_the_last_iterator);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
