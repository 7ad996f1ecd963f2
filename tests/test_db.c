/* The database through the public API: open paths, writes, reads, batches,
 * snapshots, iterators (bounds, seek_for_prev), properties, sizes,
 * checkpoints, destroy, option checking. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/db/db_impl.h"
#include "lib/db/options.h"
#include "lib/testing/env_fault.h"
#include "lib/util/filename.h"
#include "tests/model.h"
#include "tests/dbtest.h"
#include "tests/testutil.h"

static shale_options *small_options(void)
{
	return dbtest_options(64 * 1024, 64 * 1024, 256 * 1024);
}

static shale_db *open_db(const shale_options *o)
{
	shale_db *db = NULL;
	int rc = shale_open(dbtest_path, o, &db);
	ck_assert_msg(rc == 0, "open: %d %s", rc, shale_errmsg());
	return db;
}

static void put(shale_db *db, const char *k, const char *v)
{
	ck_assert_ok(shale_put(db, NULL, k, strlen(k), v, strlen(v)));
}

static void del(shale_db *db, const char *k)
{
	ck_assert_ok(shale_delete(db, NULL, k, strlen(k)));
}

/* "NOT_FOUND" or the value (a static buffer). */
static const char *get_at(shale_db *db, const char *k, const shale_snapshot *snap)
{
	static char out[4096];
	void *v;
	size_t vl;
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_snapshot(ro, snap);
	int rc = shale_get(db, ro, k, strlen(k), &v, &vl);
	shale_readopts_destroy(ro);
	if (rc == SHALE_NOTFOUND) {
		ck_assert_ptr_null(v);
		ck_assert_uint_eq(vl, 0);
		return "NOT_FOUND";
	}
	ck_assert_msg(rc == 0, "get %s: %d %s", k, rc, shale_errmsg());
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_lt(vl, sizeof(out));
	memcpy(out, v, vl);
	out[vl] = '\0';
	shale_free(v);
	return out;
}

static const char *get(shale_db *db, const char *k)
{
	return get_at(db, k, NULL);
}

/* ---- open paths ---- */

START_TEST(open_missing_without_create_fails)
{
	shale_options *o = shale_options_create();
	shale_db *db = (shale_db *)1;
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "does not exist"));
	ck_assert_int_eq(shale_open(dbtest_path, NULL, &db), SHALE_EINVAL);
	shale_options_destroy(o);
}
END_TEST

START_TEST(open_create_reopen_error_if_exists)
{
	shale_options *o = shale_options_create();
	shale_options_set_create_if_missing(o, 1);
	shale_db *db = open_db(o);
	put(db, "k", "v");
	ck_assert_ok(shale_close(db));
	/* reopen with default options */
	ck_assert_ok(shale_open(dbtest_path, NULL, &db));
	ck_assert_str_eq(get(db, "k"), "v");
	ck_assert_ok(shale_close(db));
	shale_options_set_error_if_exists(o, 1);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "exists"));
	shale_options_destroy(o);
}
END_TEST

START_TEST(second_open_is_busy)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o), *db2 = NULL;
	ck_assert_int_eq(shale_open(dbtest_path, o, &db2), SHALE_EBUSY);
	ck_assert_ptr_null(db2);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "LOCK"));
	ck_assert_ok(shale_close(db));
	db2 = open_db(o); /* the lock went with the close */
	ck_assert_ok(shale_close(db2));
	shale_options_destroy(o);
}
END_TEST

START_TEST(absurd_options_rejected_by_name)
{
	shale_options *o = shale_options_create();
	shale_db *db;
	shale_options_set_create_if_missing(o, 1);
	shale_options_set_block_size(o, 0);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "block_size"));
	shale_options_destroy(o);

	o = shale_options_create();
	shale_options_set_write_buffer_size(o, 1);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "write_buffer_size"));
	shale_options_destroy(o);

	o = shale_options_create();
	shale_options_set_background_threads(o, 65);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "background_threads"));
	shale_options_destroy(o);

	o = shale_options_create();
	shale_options_set_compression(o, 9);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "compression"));
	shale_options_destroy(o);

	o = shale_options_create();
	shale_options_set_l0_stop_trigger(o, 2);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "l0_stop_trigger"));
	shale_options_destroy(o);

	o = shale_options_create();
	shale_options_set_compaction_nice(o, 20);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "compaction_nice"));
	shale_options_destroy(o);
	/* nothing was created */
	struct stat st;
	ck_assert_int_ne(stat(dbtest_path, &st), 0);
}
END_TEST

/* Nice values of this process's threads: how many run at base + 10 (the
 * default compaction_nice) and how many at base. */
static void count_nice(int base, int *lowered, int *plain)
{
	*lowered = *plain = 0;
	DIR *d = opendir("/proc/self/task");
	ck_assert_ptr_nonnull(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char p[300], line[1024];
		snprintf(p, sizeof(p), "/proc/self/task/%s/stat", de->d_name);
		FILE *f = fopen(p, "r");
		if (f == NULL)
			continue;
		if (fgets(line, sizeof(line), f)) {
			/* after "(comm)": state is field 3, nice field 19 */
			char *s = strrchr(line, ')');
			int nice = 0, field = 2;
			for (char *t = s ? strtok(s + 1, " ") : NULL; t; t = strtok(NULL, " "))
				if (++field == 19) {
					nice = atoi(t);
					break;
				}
			*lowered += nice == (base + 10 > 19 ? 19 : base + 10);
			*plain += nice == base;
		}
		fclose(f);
	}
	closedir(d);
}

/* Compaction threads run 10 nice steps below the rest by default, and as
 * the rest with compaction_nice 0. */
START_TEST(compaction_threads_run_at_a_lower_priority)
{
	errno = 0;
	int base = getpriority(PRIO_PROCESS, 0);
	ck_assert_int_eq(errno, 0);
	if (base >= 19)
		return; /* nothing lower to go to */
	int lowered, plain;
	shale_options *o = small_options();
	shale_options_set_background_threads(o, 2);
	shale_db *db = open_db(o);
	/* each thread lowers itself when it starts: wait for both */
	for (int i = 0; i < 60000; i++) {
		count_nice(base, &lowered, &plain);
		if (lowered >= 2)
			break;
		usleep(1000);
	}
	ck_assert_int_eq(lowered, 2);
	ck_assert_ok(shale_close(db));
	shale_options_set_compaction_nice(o, 0);
	db = open_db(o);
	count_nice(base, &lowered, &plain);
	ck_assert_int_eq(lowered, 0);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(bad_arguments_rejected)
{
	shale_db *db = NULL;
	ck_assert_int_eq(shale_open(NULL, NULL, &db), SHALE_EINVAL);
	ck_assert_int_eq(shale_open(dbtest_path, NULL, NULL), SHALE_EINVAL);
	ck_assert_int_eq(shale_put(NULL, NULL, "k", 1, "v", 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_close(NULL), 0);
	shale_options *o = small_options();
	db = open_db(o);
	void *v;
	size_t vl;
	ck_assert_int_eq(shale_get(db, NULL, NULL, 3, &v, &vl), SHALE_EINVAL);
	ck_assert_int_eq(shale_put(db, NULL, NULL, 3, "v", 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_write(db, NULL, NULL), SHALE_EINVAL);
	ck_assert_ptr_null(shale_property(db, "no.such.property"));
	ck_assert_ptr_null(shale_property(db, "shale.num-files-at-level9"));
	ck_assert_ptr_null(shale_property(db, "shale.num-files-at-level"));
	ck_assert_int_eq(shale_repair_db(dbtest_path, NULL), SHALE_EBUSY); /* open */
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	shale_options_destroy(NULL);
	shale_readopts_destroy(NULL);
	shale_writeopts_destroy(NULL);
	shale_batch_destroy(NULL);
	shale_iter_destroy(NULL);
	shale_cache_destroy(NULL);
	shale_comparator_destroy(NULL);
	ck_assert_str_eq(shale_version(), "0.1.0");
}
END_TEST

START_TEST(every_compression_type_works_or_is_not_supported)
{
	int built[4] = { 1, 0, 0, 0 };
#ifdef HAVE_SNAPPY
	built[SHALE_COMPRESSION_SNAPPY] = 1;
#endif
#ifdef HAVE_LZ4
	built[SHALE_COMPRESSION_LZ4] = 1;
#endif
#ifdef HAVE_ZLIB
	built[SHALE_COMPRESSION_ZLIB] = 1;
#endif
	for (int type = 0; type < 4; type++) {
		shale_options *o = small_options();
		shale_options_set_compression(o, type);
		shale_db *db = NULL;
		int rc = shale_open(dbtest_path, o, &db);
		if (!built[type]) {
			ck_assert_int_eq(rc, SHALE_ENOTSUP);
			ck_assert_ptr_nonnull(strstr(shale_errmsg(), "not built in"));
			ck_assert_ptr_null(db);
			shale_options_destroy(o);
			continue;
		}
		ck_assert_ok(rc);
		char val[400];
		memset(val, 'a' + type, sizeof(val) - 1);
		val[sizeof(val) - 1] = '\0';
		for (int i = 0; i < 500; i++) {
			char k[32];
			snprintf(k, sizeof(k), "t%d-%04d", type, i);
			ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, strlen(val)));
		}
		ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
		char k[32];
		snprintf(k, sizeof(k), "t%d-%04d", type, 123);
		ck_assert_str_eq(get(db, k), val);
		ck_assert_ok(shale_close(db));
		shale_options_destroy(o);
	}
}
END_TEST

/* ---- writes and reads ---- */

START_TEST(put_get_delete_overwrite)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	ck_assert_str_eq(get(db, "a"), "NOT_FOUND");
	put(db, "a", "1");
	put(db, "b", "2");
	ck_assert_str_eq(get(db, "a"), "1");
	put(db, "a", "3");
	ck_assert_str_eq(get(db, "a"), "3");
	del(db, "a");
	ck_assert_str_eq(get(db, "a"), "NOT_FOUND");
	del(db, "never-there"); /* deleting an absent key is fine */
	ck_assert_str_eq(get(db, "b"), "2");
	/* empty key and empty value are real */
	ck_assert_ok(shale_put(db, NULL, "", 0, "", 0));
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "", 0, &v, &vl));
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(vl, 0);
	shale_free(v);
	/* binary keys */
	char bk[4] = { 0, (char)0xff, 0, 1 };
	ck_assert_ok(shale_put(db, NULL, bk, 4, bk, 4));
	ck_assert_ok(shale_get(db, NULL, bk, 4, &v, &vl));
	ck_assert_uint_eq(vl, 4);
	ck_assert(memcmp(v, bk, 4) == 0);
	shale_free(v);
	ck_assert_int_eq(shale_get(db, NULL, bk, 3, &v, &vl), SHALE_NOTFOUND);
	ck_assert_ok(shale_close(db));
	/* and all of it survives reopen (WAL replay) */
	db = open_db(o);
	ck_assert_str_eq(get(db, "a"), "NOT_FOUND");
	ck_assert_str_eq(get(db, "b"), "2");
	ck_assert_ok(shale_get(db, NULL, "", 0, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(large_values_and_keys)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	size_t vn = 3 * 1024 * 1024 + 7, kn = 70000;
	char *val = malloc(vn), *key = malloc(kn);
	struct rng r;
	rng_seed(&r, 3);
	tu_random_bytes(&r, val, vn);
	tu_random_bytes(&r, key, kn);
	ck_assert_ok(shale_put(db, NULL, key, kn, val, vn));
	ck_assert_ok(shale_put(db, NULL, "small", 5, val, 100));
	for (int round = 0; round < 2; round++) {
		void *v;
		size_t vl;
		ck_assert_ok(shale_get(db, NULL, key, kn, &v, &vl));
		ck_assert_uint_eq(vl, vn);
		ck_assert(memcmp(v, val, vn) == 0);
		shale_free(v);
		ck_assert_ok(shale_close(db));
		db = open_db(o); /* the second round reads it from a table */
	}
	ck_assert_ok(shale_close(db));
	free(val);
	free(key);
	shale_options_destroy(o);
}
END_TEST

START_TEST(batches_are_atomic_and_later_ops_win)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	shale_batch *b = shale_batch_create();
	ck_assert_uint_eq(shale_batch_count(b), 0);
	ck_assert_ok(shale_batch_put(b, "x", 1, "1", 1));
	ck_assert_ok(shale_batch_put(b, "y", 1, "2", 1));
	ck_assert_ok(shale_batch_delete(b, "x", 1));
	ck_assert_ok(shale_batch_put(b, "z", 1, "3", 1));
	ck_assert_ok(shale_batch_put(b, "z", 1, "4", 1));
	ck_assert_uint_eq(shale_batch_count(b), 5);
	const shale_snapshot *before = shale_snapshot_create(db);
	ck_assert_ok(shale_write(db, NULL, b));
	ck_assert_str_eq(get(db, "x"), "NOT_FOUND");
	ck_assert_str_eq(get(db, "y"), "2");
	ck_assert_str_eq(get(db, "z"), "4");
	ck_assert_str_eq(get_at(db, "y", before), "NOT_FOUND");
	shale_snapshot_release(db, before);
	shale_batch_clear(b);
	ck_assert_uint_eq(shale_batch_count(b), 0);
	ck_assert_ok(shale_write(db, NULL, b)); /* an empty batch is fine */
	ck_assert_ok(shale_close(db));
	db = open_db(o);
	ck_assert_str_eq(get(db, "x"), "NOT_FOUND");
	ck_assert_str_eq(get(db, "z"), "4");
	ck_assert_ok(shale_close(db));
	shale_batch_destroy(b);
	shale_options_destroy(o);
}
END_TEST

START_TEST(sync_writes)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	for (int i = 0; i < 20; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		ck_assert_ok(shale_put(db, wo, k, strlen(k), "v", 1));
	}
	ck_assert_str_eq(get(db, "k19"), "v");
	ck_assert_ok(shale_close(db));
	shale_writeopts_destroy(wo);
	shale_options_destroy(o);
}
END_TEST

/* ---- many flushes, reopen, model ---- */

static void random_key(struct rng *r, char *buf, size_t *len, int space)
{
	*len = (size_t)snprintf(buf, 32, "key%06d", (int)rng_uniform(r, (uint64_t)space));
}

/* A write to the DB and the model: a put of val, or with val NULL a delete. */
static void write_both(shale_db *db, struct model *m, const char *key, size_t kl, const char *val, size_t vl)
{
	if (val == NULL) {
		ck_assert_ok(shale_delete(db, NULL, key, kl));
		model_del(m, key, kl);
	} else {
		ck_assert_ok(shale_put(db, NULL, key, kl, val, vl));
		model_put(m, key, kl, val, vl);
	}
}

START_TEST(many_flushes_then_reopen_match_model)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	struct model m;
	model_init(&m);
	struct rng r;
	rng_seed(&r, 11);
	char key[32], val[300];
	for (int i = 0; i < 20000; i++) {
		size_t kl;
		random_key(&r, key, &kl, 4000);
		size_t vl = 0;
		int del = rng_one_in(&r, 8);
		if (!del) {
			vl = (size_t)rng_uniform(&r, sizeof(val));
			tu_random_bytes(&r, val, vl);
		}
		write_both(db, &m, key, kl, del ? NULL : val, vl);
		if (i % 5000 == 4999) {
			model_check_db(&m, db, NULL);
			ck_assert_ok(shale_close(db));
			db = open_db(o);
		}
	}
	char *files = shale_property(db, "shale.num-files-at-level0");
	ck_assert_ptr_nonnull(files);
	shale_free(files);
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	db = open_db(o);
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	model_free(&m);
	shale_options_destroy(o);
}
END_TEST

/* ---- snapshots ---- */

START_TEST(snapshots_see_exactly_earlier_writes)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	put(db, "k", "v1");
	const shale_snapshot *s1 = shale_snapshot_create(db);
	put(db, "k", "v2");
	del(db, "other");
	const shale_snapshot *s2 = shale_snapshot_create(db);
	del(db, "k");
	const shale_snapshot *s3 = shale_snapshot_create(db);
	put(db, "k", "v4");
	/* push everything through flushes */
	char big[1000];
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 300; i++) {
		char k[16];
		snprintf(k, sizeof(k), "fill%d", i);
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), big, sizeof(big)));
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_str_eq(get_at(db, "k", s1), "v1");
	ck_assert_str_eq(get_at(db, "k", s2), "v2");
	ck_assert_str_eq(get_at(db, "k", s3), "NOT_FOUND");
	ck_assert_str_eq(get(db, "k"), "v4");
	ck_assert_str_eq(get_at(db, "fill0", s1), "NOT_FOUND");
	/* an iterator at a snapshot */
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_snapshot(ro, s2);
	shale_iter *it = shale_iter_create(db, ro);
	shale_iter_seek_first(it);
	ck_assert(shale_iter_valid(it));
	size_t kl, vl;
	const char *k = shale_iter_key(it, &kl);
	const char *v = shale_iter_value(it, &vl);
	ck_assert(kl == 1 && k[0] == 'k' && vl == 2 && memcmp(v, "v2", 2) == 0);
	shale_iter_next(it);
	ck_assert(!shale_iter_valid(it));
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);
	shale_snapshot_release(db, s1);
	shale_snapshot_release(db, s2);
	/* s3 still held at close: released by it */
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* ---- iterators ---- */

static void fill_abc(shale_db *db)
{
	const char *keys[] = { "b", "d", "f", "h" };
	for (int i = 0; i < 4; i++)
		put(db, keys[i], keys[i]);
	put(db, "c", "gone");
	del(db, "c");
}

static const char *at(shale_iter *it)
{
	static char buf[64];
	if (!shale_iter_valid(it))
		return "(invalid)";
	size_t kl;
	const char *k = shale_iter_key(it, &kl);
	memcpy(buf, k, kl);
	buf[kl] = '\0';
	return buf;
}

START_TEST(iterator_both_directions_and_direction_changes)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	fill_abc(db);
	for (int round = 0; round < 2; round++) {
		shale_iter *it = shale_iter_create(db, NULL);
		shale_iter_seek_first(it);
		ck_assert_str_eq(at(it), "b");
		shale_iter_next(it);
		ck_assert_str_eq(at(it), "d");
		shale_iter_prev(it);
		ck_assert_str_eq(at(it), "b");
		shale_iter_prev(it);
		ck_assert_str_eq(at(it), "(invalid)");
		shale_iter_seek_last(it);
		ck_assert_str_eq(at(it), "h");
		shale_iter_prev(it);
		ck_assert_str_eq(at(it), "f");
		shale_iter_next(it);
		ck_assert_str_eq(at(it), "h");
		shale_iter_next(it);
		ck_assert_str_eq(at(it), "(invalid)");
		shale_iter_seek(it, "c", 1);
		ck_assert_str_eq(at(it), "d");
		shale_iter_seek(it, "d", 1);
		ck_assert_str_eq(at(it), "d");
		shale_iter_seek(it, "z", 1);
		ck_assert_str_eq(at(it), "(invalid)");
		shale_iter_seek_for_prev(it, "e", 1);
		ck_assert_str_eq(at(it), "d");
		shale_iter_seek_for_prev(it, "d", 1);
		ck_assert_str_eq(at(it), "d");
		shale_iter_seek_for_prev(it, "a", 1);
		ck_assert_str_eq(at(it), "(invalid)");
		shale_iter_seek_for_prev(it, "z", 1);
		ck_assert_str_eq(at(it), "h");
		shale_iter_seek_for_prev(it, "c", 1);
		ck_assert_str_eq(at(it), "b");
		ck_assert_int_eq(shale_iter_status(it), 0);
		shale_iter_destroy(it);
		ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0)); /* round 2 reads tables */
	}
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

static shale_iter *bounded(shale_db *db, const char *lo, const char *hi)
{
	shale_readopts *ro = shale_readopts_create();
	if (lo)
		shale_readopts_set_lower_bound(ro, lo, strlen(lo));
	if (hi)
		shale_readopts_set_upper_bound(ro, hi, strlen(hi));
	shale_iter *it = shale_iter_create(db, ro);
	shale_readopts_destroy(ro); /* the iterator copied the bounds */
	return it;
}

START_TEST(iterator_bounds)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	fill_abc(db);
	shale_iter *it = bounded(db, "c", "g");
	shale_iter_seek_first(it);
	ck_assert_str_eq(at(it), "d");
	shale_iter_next(it);
	ck_assert_str_eq(at(it), "f");
	shale_iter_next(it);
	ck_assert_str_eq(at(it), "(invalid)");
	shale_iter_seek_last(it);
	ck_assert_str_eq(at(it), "f");
	shale_iter_prev(it);
	ck_assert_str_eq(at(it), "d");
	shale_iter_prev(it);
	ck_assert_str_eq(at(it), "(invalid)");
	shale_iter_seek(it, "a", 1); /* below lower: the first key >= lower */
	ck_assert_str_eq(at(it), "d");
	shale_iter_seek(it, "g", 1); /* at upper: nothing */
	ck_assert_str_eq(at(it), "(invalid)");
	shale_iter_seek_for_prev(it, "z", 1); /* above upper: the last key < upper */
	ck_assert_str_eq(at(it), "f");
	shale_iter_seek_for_prev(it, "g", 1);
	ck_assert_str_eq(at(it), "f");
	shale_iter_seek_for_prev(it, "c", 1); /* at or below lower, nothing <= it in range */
	ck_assert_str_eq(at(it), "(invalid)");
	shale_iter_destroy(it);

	/* exclusive upper bound on an existing key; inclusive lower on one */
	it = bounded(db, "d", "f");
	shale_iter_seek_first(it);
	ck_assert_str_eq(at(it), "d");
	shale_iter_next(it);
	ck_assert_str_eq(at(it), "(invalid)");
	shale_iter_seek_last(it);
	ck_assert_str_eq(at(it), "d");
	shale_iter_destroy(it);

	/* the empty key as a real upper bound: nothing is below it */
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_upper_bound(ro, "", 0);
	it = shale_iter_create(db, ro);
	shale_iter_seek_first(it);
	ck_assert(!shale_iter_valid(it));
	shale_iter_seek_last(it);
	ck_assert(!shale_iter_valid(it));
	shale_iter_destroy(it);
	/* clearing a bound */
	shale_readopts_set_upper_bound(ro, NULL, 0);
	shale_readopts_set_lower_bound(ro, "", 0);
	it = shale_iter_create(db, ro);
	shale_iter_seek_first(it);
	ck_assert_str_eq(at(it), "b");
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);

	/* an empty range */
	it = bounded(db, "x", "y");
	shale_iter_seek_first(it);
	ck_assert(!shale_iter_valid(it));
	shale_iter_seek_for_prev(it, "x", 1);
	ck_assert(!shale_iter_valid(it));
	shale_iter_destroy(it);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(bound_that_could_not_be_copied_fails_the_iterator)
{
	/* What a setter leaves when copying the bound ran out of memory: the
	 * iterator must refuse, not run unbounded. */
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	fill_abc(db);
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_upper_bound(ro, "c", 1);
	ro->upper_failed = 1;
	shale_iter *it = shale_iter_create(db, ro);
	ck_assert_ptr_nonnull(it);
	shale_iter_seek_first(it);
	ck_assert(!shale_iter_valid(it));
	ck_assert_int_eq(shale_iter_status(it), SHALE_ENOMEM);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "bound"));
	shale_iter_destroy(it);
	/* setting the bound again (successfully) clears it */
	shale_readopts_set_upper_bound(ro, "c", 1);
	it = shale_iter_create(db, ro);
	shale_iter_seek_last(it);
	ck_assert_str_eq(at(it), "b");
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);
	ck_assert_ok(shale_close(db)); /* the failed iterator held nothing of the DB */
	shale_options_destroy(o);
}
END_TEST

START_TEST(iterator_edges_empty_and_all_deleted)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	shale_iter *it = shale_iter_create(db, NULL);
	shale_iter_seek_first(it);
	ck_assert(!shale_iter_valid(it));
	shale_iter_seek_last(it);
	ck_assert(!shale_iter_valid(it));
	shale_iter_seek(it, "a", 1);
	ck_assert(!shale_iter_valid(it));
	shale_iter_seek_for_prev(it, "a", 1);
	ck_assert(!shale_iter_valid(it));
	shale_iter_next(it); /* no-ops on an invalid iterator */
	shale_iter_prev(it);
	size_t kl = 9;
	ck_assert_ptr_null(shale_iter_key(it, &kl));
	ck_assert_uint_eq(kl, 0);
	shale_iter_destroy(it);

	for (int i = 0; i < 100; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%03d", i);
		put(db, k, "v");
		del(db, k);
	}
	for (int round = 0; round < 2; round++) {
		it = shale_iter_create(db, NULL);
		shale_iter_seek_first(it);
		ck_assert(!shale_iter_valid(it));
		shale_iter_seek_last(it);
		ck_assert(!shale_iter_valid(it));
		shale_iter_seek(it, "k050", 4);
		ck_assert(!shale_iter_valid(it));
		shale_iter_seek_for_prev(it, "k050", 4);
		ck_assert(!shale_iter_valid(it));
		ck_assert_int_eq(shale_iter_status(it), 0);
		shale_iter_destroy(it);
		ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	}
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(iterator_sees_db_as_of_creation_and_blocks_close)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	put(db, "a", "1");
	shale_iter *it = shale_iter_create(db, NULL);
	put(db, "b", "2");
	del(db, "a");
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0)); /* files the iterator uses are replaced */
	shale_iter_seek_first(it);
	ck_assert_str_eq(at(it), "a");
	shale_iter_next(it);
	ck_assert_str_eq(at(it), "(invalid)");
	ck_assert_int_eq(shale_close(db), SHALE_EBUSY);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "iterator"));
	ck_assert_str_eq(get(db, "b"), "2"); /* the DB stays open */
	shale_iter_destroy(it);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* Table files of this process open or mapped on deleted paths (mapped
 * tables close their descriptor once mapped). */
static int deleted_tables_open(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char link[300], target[4096];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strstr(target, ".ldb") != NULL && strstr(target, "(deleted)") != NULL;
	}
	closedir(d);
	FILE *maps = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(maps);
	char line[4096];
	while (fgets(line, sizeof(line), maps))
		n += strstr(line, ".ldb") != NULL && strstr(line, "(deleted)") != NULL;
	fclose(maps);
	return n;
}

/* Point reads keep the tables they read open (pinned: no table-cache lookup
 * per read); the pin goes with the last version that holds the file, so a
 * file compacted away is closed, not kept open after its deletion. */
START_TEST(pinned_tables_close_when_compacted_away)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	char k[16], v[200];
	memset(v, 'v', sizeof(v));
	v[sizeof(v) - 1] = '\0';
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 2000; i++) {
			snprintf(k, sizeof(k), "k%05d", (i * 7919 + round) % 2000);
			put(db, k, v);
		}
		/* reads through every level-0 file there is: each gets pinned */
		for (int i = 0; i < 2000; i += 37) {
			snprintf(k, sizeof(k), "k%05d", i);
			ck_assert_str_eq(get(db, k), v);
		}
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	/* reads move to the compacted files (the read view the last reads held
	 * goes, and the old files' versions with it); the next compaction
	 * deletes the old files */
	for (int i = 0; i < 2000; i += 37) {
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_str_eq(get(db, k), v);
	}
	put(db, "k00000", v);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_str_eq(get(db, "k00001"), v);
	ck_assert_int_eq(deleted_tables_open(), 0);
	ck_assert_ok(shale_close(db));
	ck_assert_int_eq(deleted_tables_open(), 0);
	shale_options_destroy(o);
}
END_TEST

/* Options for counting the blocks seeks read: reads through a fault env
 * (*e, counting) with mapped reads off, no compression, small memtables,
 * and every flush kept in level 0. */
static shale_options *counted_level0_options(struct env **e)
{
	ck_assert_ok(fault_env_create(env_posix_default(), e));
	shale_options *o = small_options();
	options_set_env(o, *e);
	options_set_use_mmap_reads(o, 0);
	shale_options_set_compression(o, SHALE_COMPRESSION_NONE);
	shale_options_set_write_buffer_size(o, 48 * 1024);
	shale_options_set_l0_compaction_trigger(o, 100);
	shale_options_set_l0_slowdown_trigger(o, 100);
	shale_options_set_l0_stop_trigger(o, 100);
	return o;
}

/* Blocks read from table files (each a pread: mapped reads off, fill_cache
 * off) by 50 iterators at snap (NULL: the latest), each seeking to one key
 * k%05d (absent: to the key before it with an "x" appended, which no key
 * equals; the iterator lands on the same key) and, with step, stepping on
 * and back; every answer checked. */
static uint64_t blocks_read_by_seeks(shale_db *db, struct env *e, int absent, int step,
                                     const shale_snapshot *snap)
{
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_fill_cache(ro, 0);
	shale_readopts_set_snapshot(ro, snap);
	fault_env_reset_counts(e);
	for (int i = 3; i < 2000; i += 40) {
		char k[16], after[16], target[16];
		snprintf(k, sizeof(k), "k%05d", i);
		snprintf(after, sizeof(after), "k%05d", i + 1);
		if (absent)
			snprintf(target, sizeof(target), "k%05dx", i - 1);
		else
			memcpy(target, k, sizeof(k));
		/* (holding another iterator keeps this one from getting the
		 * last one's recycled tree, and the blocks it holds) */
		shale_iter *other = shale_iter_create(db, ro);
		shale_iter *it = shale_iter_create(db, ro);
		shale_iter_seek(it, target, strlen(target));
		size_t kl;
		ck_assert(shale_iter_valid(it));
		const char *got = shale_iter_key(it, &kl);
		ck_assert_int_eq(kl, 6);
		ck_assert_int_eq(memcmp(got, k, 6), 0);
		if (step) {
			/* the sources a lazy seek left alone are sought now */
			shale_iter_next(it);
			ck_assert(shale_iter_valid(it));
			got = shale_iter_key(it, &kl);
			ck_assert(kl == 6 && memcmp(got, after, 6) == 0);
			shale_iter_prev(it);
			ck_assert(shale_iter_valid(it));
			got = shale_iter_key(it, &kl);
			ck_assert(kl == 6 && memcmp(got, k, 6) == 0);
		}
		ck_assert_ok(shale_iter_status(it));
		shale_iter_destroy(it);
		shale_iter_destroy(other);
	}
	shale_readopts_destroy(ro);
	return fault_env_count(e, FAULT_READ, ".ldb");
}

START_TEST(seek_to_a_present_key_reads_only_the_sources_that_may_hold_it)
{
	struct env *e;
	shale_options *o = counted_level0_options(&e);
	shale_db *db = open_db(o);
	char k[16], v[100];
	memset(v, 'v', sizeof(v));
	v[sizeof(v) - 1] = '\0';
	for (int round = 0; round < 4; round++)
		for (int i = round; i < 2000; i += 4) {
			snprintf(k, sizeof(k), "k%05d", i);
			put(db, k, v);
		}
	ck_assert_ok(shale_close(db));
	db = open_db(o); /* the last memtable flushed: every key in a table */
	char *n0 = shale_property(db, "leveldb.num-files-at-level0");
	ck_assert_ptr_nonnull(n0);
	int files = atoi(n0);
	shale_free(n0);
	ck_assert_int_ge(files, 6);
	blocks_read_by_seeks(db, e, 0, 1, NULL); /* opens every table; steps checked */
	uint64_t present = blocks_read_by_seeks(db, e, 0, 0, NULL);
	uint64_t absent = blocks_read_by_seeks(db, e, 1, 0, NULL);
	/* a present key: its own block and filter false positives (~1% per
	 * file); an absent one: a block in every file */
	ck_assert_uint_le(present, 50 + 50 * (uint64_t)files / 10);
	ck_assert_uint_ge(absent, 50 * (uint64_t)files);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* 50 seeks to keys k%05d, each holding a value "r<round>-k%05d..." at
 * ro's snapshot, each checked with the step on to the next key and back. */
static void check_versioned_seeks(shale_db *db, shale_readopts *ro, int round)
{
	for (int i = 3; i < 2000; i += 40) {
		char k[16], want[32];
		shale_iter *it = shale_iter_create(db, ro);
		snprintf(k, sizeof(k), "k%05d", i);
		shale_iter_seek(it, k, strlen(k));
		for (int step = 0; step < 3; step++) {
			if (step == 1)
				shale_iter_next(it);
			else if (step == 2)
				shale_iter_prev(it);
			snprintf(k, sizeof(k), "k%05d", step == 1 ? i + 1 : i);
			snprintf(want, sizeof(want), "r%d-%s", round, k);
			ck_assert_msg(shale_iter_valid(it), "%s, step %d", k, step);
			size_t kl, vl;
			const char *got = shale_iter_key(it, &kl);
			ck_assert(kl == 6 && memcmp(got, k, 6) == 0);
			got = shale_iter_value(it, &vl);
			ck_assert_msg(vl > strlen(want) && memcmp(got, want, strlen(want)) == 0, "%s, step %d: %.*s",
			              k, step, (int)vl, got);
		}
		ck_assert_ok(shale_iter_status(it));
		shale_iter_destroy(it);
	}
}

/* A key written in three rounds lies in three level-0 files: a seek reads
 * the block of the newest file that holds it (plus filter false positives),
 * not one block per version: the older files come after it and are left
 * for the first step. At a snapshot taken after the second round, the
 * third round's file is read too (its entry is too new), then the
 * second's. */
START_TEST(seek_to_an_overwritten_key_reads_only_its_newest_version)
{
	struct env *e;
	shale_options *o = counted_level0_options(&e);
	shale_db *db = open_db(o);
	const shale_snapshot *snap = NULL;
	char k[16], v[100];
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 2000; i++) {
			/* round 3 writes other keys, pushing round 2 out of the memtable */
			snprintf(k, sizeof(k), "%c%05d", round < 3 ? 'k' : 'z', i);
			snprintf(v, sizeof(v), "r%d-%s-%080d", round, k, i);
			put(db, k, v);
		}
		if (round == 1)
			snap = shale_snapshot_create(db);
	}
	ck_assert_ptr_nonnull(snap);
	char *n0 = shale_property(db, "leveldb.num-files-at-level0");
	ck_assert_ptr_nonnull(n0);
	int files = atoi(n0);
	shale_free(n0);
	ck_assert_int_ge(files, 12);
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_fill_cache(ro, 0); /* (no block cached for the counts) */
	/* the answers, and the steps that seek the files left behind */
	check_versioned_seeks(db, ro, 2);
	uint64_t latest = blocks_read_by_seeks(db, e, 0, 0, NULL);
	shale_readopts_set_snapshot(ro, snap);
	check_versioned_seeks(db, ro, 1);
	uint64_t older = blocks_read_by_seeks(db, e, 0, 0, snap);
	/* one block a seek (two at the snapshot), and filter false positives
	 * (~1% a file); a block for each of the three versions is 150 and
	 * more (167 when every file's filter was asked, 56 and 110 not) */
	ck_assert_uint_le(latest, 50 + 50 * (uint64_t)files / 40);
	ck_assert_uint_le(older, 100 + 50 * (uint64_t)files / 40);
	shale_readopts_destroy(ro);
	shale_snapshot_release(db, snap);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

static struct iter *parked_tree(shale_db *db)
{
	mutex_lock(&db->vs.mu);
	struct iter *it = db->park.it;
	mutex_unlock(&db->vs.mu);
	return it;
}

/* Recycling (lib/db/db_iter.c): a destroyed iterator leaves its internal
 * tree for the next one over the same memtables and version with the same
 * read options; a flush or compaction lets it go; close frees it. */
START_TEST(iterator_trees_are_recycled_while_the_state_holds)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	put(db, "a", "1");
	put(db, "b", "2");
	ck_assert_ptr_null(parked_tree(db));
	shale_iter *it = shale_iter_create(db, NULL);
	shale_iter_seek(it, "b", 1);
	ck_assert(shale_iter_valid(it));
	shale_iter_destroy(it);
	struct iter *tree = parked_tree(db);
	ck_assert_ptr_nonnull(tree);
	/* taken by the next iterator, which sees what was written since */
	put(db, "c", "3");
	it = shale_iter_create(db, NULL);
	ck_assert_ptr_null(parked_tree(db));
	shale_iter_seek(it, "b", 1);
	shale_iter_next(it);
	ck_assert(shale_iter_valid(it));
	size_t kl;
	ck_assert_int_eq(memcmp(shale_iter_key(it, &kl), "c", 1), 0);
	/* a second one alive at once builds its own */
	shale_iter *it2 = shale_iter_create(db, NULL);
	shale_iter_seek_first(it2);
	ck_assert_int_eq(memcmp(shale_iter_key(it2, &kl), "a", 1), 0);
	shale_iter_destroy(it);
	ck_assert_ptr_eq(parked_tree(db), tree);
	shale_iter_destroy(it2); /* the slot is taken: destroyed */
	ck_assert_ptr_eq(parked_tree(db), tree);
	/* other read options: not taken (and the old tree goes) */
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_fill_cache(ro, 0);
	it = shale_iter_create(db, ro);
	ck_assert_ptr_null(parked_tree(db));
	shale_iter_destroy(it);
	ck_assert_ptr_nonnull(parked_tree(db));
	shale_readopts_destroy(ro);
	/* a flush and compaction drop the tree (its version is old) */
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_ptr_null(parked_tree(db));
	it = shale_iter_create(db, NULL);
	shale_iter_seek_first(it);
	int n = 0;
	for (; shale_iter_valid(it); shale_iter_next(it))
		n++;
	ck_assert_int_eq(n, 3);
	shale_iter_destroy(it);
	ck_assert_ptr_nonnull(parked_tree(db));
	ck_assert_ok(shale_close(db)); /* frees it (ASan would see a leak) */
	shale_options_destroy(o);
}
END_TEST

static shale_iter *spare_iter(shale_db *db)
{
	return atomic_load(&db->spare_iter);
}

/* Counts the entries from where the iterator stands, forward or back. */
static int count_walk(shale_iter *it, int forward)
{
	int n = 0;
	for (; shale_iter_valid(it); forward ? shale_iter_next(it) : shale_iter_prev(it))
		n++;
	return n;
}

/* Recycling (lib/db/db_iter.c): a destroyed iterator's struct goes to the
 * DB's spare slot and is the next one's. That one starts with none of the
 * old one's bounds, prefix, position or saved entry; close frees what the
 * slot holds (ASan would see a leak). */
START_TEST(recycled_iterator_structs_start_clean)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	for (char c = 'a'; c <= 'z'; c++) {
		char k[2] = { c, 0 };
		put(db, k, k);
	}
	/* a value larger than a recycled struct keeps a buffer of */
	size_t big = 65536;
	char *bigv = malloc(big);
	ck_assert_ptr_nonnull(bigv);
	memset(bigv, 'x', big);
	ck_assert_ok(shale_put(db, NULL, "m", 1, bigv, big));
	ck_assert_ptr_null(spare_iter(db));

	/* bounded to [c, f), walked backwards, destroyed while on an entry */
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_lower_bound(ro, "c", 1);
	shale_readopts_set_upper_bound(ro, "f", 1);
	shale_iter *it = shale_iter_create(db, ro);
	shale_iter_seek_last(it);
	ck_assert_int_eq(count_walk(it, 0), 3);
	shale_iter_seek_last(it);
	ck_assert(shale_iter_valid(it));
	shale_iter_destroy(it);
	ck_assert_ptr_eq(spare_iter(db), it);

	/* the next one takes it: unpositioned, unbounded */
	shale_iter *it2 = shale_iter_create(db, NULL);
	ck_assert_ptr_eq(it2, it);
	ck_assert_ptr_null(spare_iter(db));
	ck_assert(!shale_iter_valid(it2));
	ck_assert_int_eq(shale_iter_status(it2), SHALE_OK);
	shale_iter_seek_first(it2);
	size_t kl, vl;
	ck_assert_int_eq(memcmp(shale_iter_key(it2, &kl), "a", 1), 0);
	ck_assert_int_eq(count_walk(it2, 1), 26);
	/* backwards past the large value, and destroyed while it is the
	 * saved entry */
	shale_iter_seek_last(it2);
	ck_assert_int_eq(count_walk(it2, 0), 26);
	shale_iter_seek_for_prev(it2, "m", 1);
	ck_assert(shale_iter_valid(it2));
	const char *v = shale_iter_value(it2, &vl);
	ck_assert_uint_eq(vl, big);
	ck_assert_int_eq(memcmp(v, bigv, big), 0);
	shale_iter_prev(it2);
	shale_iter_next(it2);
	v = shale_iter_value(it2, &vl);
	ck_assert_uint_eq(vl, big);
	ck_assert_int_eq(memcmp(v, bigv, big), 0);
	shale_iter_destroy(it2);
	ck_assert_ptr_eq(spare_iter(db), it2);

	/* two at once: the first takes the spare, the second is new; both
	 * destroyed, the slot holds the last and the other is freed */
	shale_iter *a = shale_iter_create(db, ro);
	shale_iter *b = shale_iter_create(db, NULL);
	ck_assert_ptr_eq(a, it2);
	ck_assert_ptr_ne(b, a);
	shale_iter_seek(a, "e", 1);
	ck_assert(shale_iter_valid(a));
	shale_iter_next(a);
	ck_assert(!shale_iter_valid(a)); /* f is past a's upper bound */
	shale_iter_seek(b, "y", 1);
	ck_assert_int_eq(count_walk(b, 1), 2);
	shale_iter_destroy(a);
	shale_iter_destroy(b);
	ck_assert_ptr_eq(spare_iter(db), b);

	/* a prefix iterator from b's struct: only "q" */
	shale_readopts *pr = shale_readopts_create();
	shale_readopts_set_prefix(pr, "q", 1);
	shale_iter *p = shale_iter_create(db, pr);
	ck_assert_ptr_eq(p, b);
	ck_assert_int_eq(count_walk(p, 1), 0);
	shale_iter_seek_first(p);
	ck_assert_int_eq(count_walk(p, 1), 1);
	shale_iter_seek_last(p);
	ck_assert_int_eq(count_walk(p, 0), 1);
	shale_iter_destroy(p);
	ck_assert_ptr_eq(spare_iter(db), p);
	shale_readopts_destroy(pr);
	shale_readopts_destroy(ro);
	free(bigv);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* Many short-lived iterators while writes, flushes and compactions go on in
 * the background: every one reads exactly the model, whether it got a
 * recycled tree or a new one. */
START_TEST(recycled_iterators_follow_writes_flushes_and_compactions)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	struct model m;
	model_init(&m);
	struct rng r;
	rng_seed(&r, 77);
	char key[32], val[64];
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 400; i++) {
			size_t kl;
			random_key(&r, key, &kl, 3000);
			size_t vl = (size_t)snprintf(val, sizeof(val), "v%d.%d-%0*d", round, i, i % 40, 0);
			write_both(db, &m, key, kl, rng_one_in(&r, 5) ? NULL : val, vl);
		}
		for (int j = 0; j < 20; j++) {
			/* seek to a random key: the model's first key at or after it */
			size_t kl;
			random_key(&r, key, &kl, 3000);
			size_t want = 0;
			while (want < m.n && model_keycmp(m.e[want].key, m.e[want].klen, key, kl) < 0)
				want++;
			shale_iter *it = shale_iter_create(db, NULL);
			shale_iter_seek(it, key, kl);
			for (int step = 0; step < 3 && want < m.n; step++, want++) {
				ck_assert(shale_iter_valid(it));
				size_t gl, vl;
				const void *g = shale_iter_key(it, &gl);
				const void *v = shale_iter_value(it, &vl);
				ck_assert(model_keycmp(g, gl, m.e[want].key, m.e[want].klen) == 0);
				ck_assert(vl == m.e[want].vlen && memcmp(v, m.e[want].val, vl) == 0);
				shale_iter_next(it);
			}
			if (want >= m.n)
				ck_assert(!shale_iter_valid(it));
			ck_assert_ok(shale_iter_status(it));
			shale_iter_destroy(it);
		}
		if (round % 10 == 9)
			model_check_db(&m, db, NULL);
	}
	ck_assert_ok(shale_close(db));
	model_free(&m);
	shale_options_destroy(o);
}
END_TEST

/* Scans both ways with the given read options; every key and value must be
 * the model's. */
static void scan_against_model(shale_db *db, const struct model *m, const shale_readopts *ro)
{
	shale_iter *it = shale_iter_create(db, ro);
	ck_assert_ptr_nonnull(it);
	size_t i = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it), i++) {
		ck_assert_uint_lt(i, m->n);
		size_t kl, vl;
		const void *k = shale_iter_key(it, &kl);
		const void *v = shale_iter_value(it, &vl);
		ck_assert(model_keycmp(k, kl, m->e[i].key, m->e[i].klen) == 0);
		ck_assert(vl == m->e[i].vlen && memcmp(v, m->e[i].val, vl) == 0);
	}
	ck_assert_ok(shale_iter_status(it));
	ck_assert_uint_eq(i, m->n);
	for (shale_iter_seek_last(it); shale_iter_valid(it); shale_iter_prev(it)) {
		size_t kl;
		const void *k = shale_iter_key(it, &kl);
		ck_assert(i > 0);
		i--;
		ck_assert(model_keycmp(k, kl, m->e[i].key, m->e[i].klen) == 0);
	}
	ck_assert_ok(shale_iter_status(it));
	ck_assert_uint_eq(i, 0);
	shale_iter_destroy(it);
}

/* With scan_ahead off a long scan starts no thread; with it on (the
 * default) the first long scan starts the scan worker, where the process
 * may use two CPUs or more. Same answers. */
START_TEST(scan_ahead_option_decides_the_worker_thread)
{
	shale_options *o = small_options();
	shale_options_set_block_size(o, 256);
	shale_db *db = open_db(o);
	struct model m;
	model_init(&m);
	char key[32], val[64];
	for (int i = 0; i < 4000; i++) {
		size_t kl = (size_t)snprintf(key, sizeof(key), "key%06d", (i * 7919) % 4000);
		size_t vl = (size_t)snprintf(val, sizeof(val), "value-%d-%020d", i, i);
		write_both(db, &m, key, kl, i % 9 == 4 ? NULL : val, vl);
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_scan_ahead(ro, 0);
	scan_against_model(db, &m, ro);
	/* (a process confined to one CPU has no scan worker at all) */
	ck_assert(db->scan_worker == NULL || !worker_has_thread(db->scan_worker));
	scan_against_model(db, &m, NULL);
	if (thread_cpus() >= 2) {
		ck_assert(worker_has_thread(db->scan_worker));
		/* its first window went ahead (nothing measured yet), and was timed */
		ck_assert_ptr_eq(db->topt.scan_pace, &db->scan_pace);
		ck_assert_uint_gt(atomic_load(&db->scan_pace.ns[0][0]), 0);
	} else {
		ck_assert_ptr_null(db->scan_worker);
	}
	shale_readopts_destroy(ro);
	ck_assert_ok(shale_close(db));
	model_free(&m);
	shale_options_destroy(o);
}
END_TEST

START_TEST(random_iteration_matches_model)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	struct model m;
	model_init(&m);
	struct rng r;
	rng_seed(&r, 21);
	char key[32], val[64];
	for (int i = 0; i < 6000; i++) {
		size_t kl;
		random_key(&r, key, &kl, 1500);
		size_t vl = (size_t)snprintf(val, sizeof(val), "v%d", i);
		write_both(db, &m, key, kl, rng_one_in(&r, 4) ? NULL : val, vl);
	}
	shale_iter *it = shale_iter_create(db, NULL);
	for (int op = 0; op < 20000; op++) {
		size_t kl;
		random_key(&r, key, &kl, 1600);
		int what = (int)rng_uniform(&r, 6);
		size_t want; /* model index, m.n = invalid */
		if (what == 0) {
			shale_iter_seek(it, key, kl);
			want = model_lower_bound(&m, key, kl);
		} else if (what == 1) {
			shale_iter_seek_for_prev(it, key, kl);
			size_t lb = model_lower_bound(&m, key, kl);
			if (lb < m.n && model_keycmp(m.e[lb].key, m.e[lb].klen, key, kl) == 0)
				want = lb;
			else
				want = lb == 0 ? m.n : lb - 1;
		} else if (!shale_iter_valid(it)) {
			shale_iter_seek_first(it);
			want = 0;
		} else {
			size_t ckl;
			const void *ck = shale_iter_key(it, &ckl);
			size_t cur = model_lower_bound(&m, ck, ckl);
			if (what <= 3) {
				shale_iter_next(it);
				want = cur + 1;
			} else {
				shale_iter_prev(it);
				want = cur == 0 ? m.n : cur - 1;
			}
		}
		if (want >= m.n) {
			ck_assert_msg(!shale_iter_valid(it), "op %d: valid, model says end", op);
		} else {
			ck_assert_msg(shale_iter_valid(it), "op %d: invalid, model has %.*s", op, (int)m.e[want].klen,
			              m.e[want].key);
			size_t ckl, cvl;
			const void *ck = shale_iter_key(it, &ckl);
			const void *cv = shale_iter_value(it, &cvl);
			ck_assert(model_keycmp(ck, ckl, m.e[want].key, m.e[want].klen) == 0);
			ck_assert(cvl == m.e[want].vlen && memcmp(cv, m.e[want].val, cvl) == 0);
		}
	}
	ck_assert_int_eq(shale_iter_status(it), 0);
	shale_iter_destroy(it);
	ck_assert_ok(shale_close(db));
	model_free(&m);
	shale_options_destroy(o);
}
END_TEST

/* ---- comparators ---- */

static int reverse_cmp(void *state, const void *a, size_t al, const void *b, size_t bl)
{
	(void)state;
	return -model_keycmp(a, al, b, bl);
}

static const char *reverse_name(void *state)
{
	(void)state;
	return "test.Reverse";
}

static int destroyed;

static void count_destroy(void *state)
{
	(void)state;
	destroyed++;
}

START_TEST(custom_comparator_orders_and_is_checked)
{
	destroyed = 0;
	shale_comparator *c = shale_comparator_create(NULL, count_destroy, reverse_cmp, reverse_name);
	shale_options *o = small_options();
	shale_options_set_comparator(o, c);
	shale_db *db = open_db(o);
	fill_abc(db);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	shale_iter *it = shale_iter_create(db, NULL);
	shale_iter_seek_first(it);
	ck_assert_str_eq(at(it), "h");
	shale_iter_seek(it, "e", 1);
	ck_assert_str_eq(at(it), "d");
	shale_iter_destroy(it);
	ck_assert_str_eq(get(db, "f"), "f");
	ck_assert_ok(shale_close(db));
	/* the persisted name must match */
	shale_options *plain = small_options();
	ck_assert_int_eq(shale_open(dbtest_path, plain, &db), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "test.Reverse"));
	db = open_db(o);
	ck_assert_str_eq(get(db, "b"), "b");
	ck_assert_ok(shale_close(db));
	shale_options_destroy(plain);
	shale_options_destroy(o);
	ck_assert_int_eq(destroyed, 0);
	shale_comparator_destroy(c);
	ck_assert_int_eq(destroyed, 1);
}
END_TEST

/* ---- maintenance ---- */

START_TEST(properties_and_approximate_sizes)
{
	shale_options *o = small_options();
	shale_options_set_compression(o, SHALE_COMPRESSION_NONE);
	shale_db *db = open_db(o);
	char val[1000];
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (int i = 0; i < 2000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, sizeof(val) - 1));
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	int total = 0;
	for (int level = 0; level < 7; level++) {
		char name[64];
		snprintf(name, sizeof(name), "shale.num-files-at-level%d", level);
		char *p = shale_property(db, name);
		ck_assert_ptr_nonnull(p);
		total += atoi(p);
		shale_free(p);
		snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
		p = shale_property(db, name);
		ck_assert_ptr_nonnull(p);
		shale_free(p);
	}
	ck_assert_int_gt(total, 5);
	char *s = shale_property(db, "shale.stats");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "Level"));
	ck_assert_ptr_nonnull(strstr(s, "stall"));
	shale_free(s);
	s = shale_property(db, "leveldb.sstables");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "k00000"));
	shale_free(s);
	ck_assert_str_eq(get(db, "k00007"), val); /* something in the block cache */
	s = shale_property(db, "shale.approximate-memory-usage");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_gt(atol(s), 0);
	shale_free(s);

	const void *starts[3] = { "k00000", "k01000", "z" };
	const void *limits[3] = { "k01000", "k02000", "zz" };
	size_t slens[3] = { 6, 6, 1 }, llens[3] = { 6, 6, 2 };
	uint64_t sizes[3];
	ck_assert_ok(shale_approximate_sizes(db, 3, starts, slens, limits, llens, sizes));
	/* about 1 MB each (uncompressed values), nothing past the end */
	ck_assert_uint_gt(sizes[0], 800 * 1000);
	ck_assert_uint_lt(sizes[0], 1300 * 1000);
	ck_assert_uint_gt(sizes[1], 800 * 1000);
	ck_assert_uint_eq(sizes[2], 0);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(checkpoint_is_an_openable_copy)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	struct model m;
	model_init(&m);
	char val[200];
	memset(val, 'c', sizeof(val));
	for (int i = 0; i < 3000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i % 1700);
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, (size_t)(i % 200)));
		model_put(&m, k, strlen(k), val, (size_t)(i % 200));
	}
	char cp[4200];
	snprintf(cp, sizeof(cp), "%s/checkpoint", dbtest_dir);
	ck_assert_ok(shale_checkpoint(db, cp));
	ck_assert_int_eq(shale_checkpoint(db, cp), SHALE_EINVAL); /* exists */
	/* writes after the checkpoint do not reach it */
	put(db, "after", "x");
	ck_assert_ok(shale_close(db));
	shale_db *c = NULL;
	ck_assert_ok(shale_open(cp, o, &c));
	model_check_db(&m, c, NULL);
	ck_assert_str_eq(get(c, "after"), "NOT_FOUND");
	ck_assert_ok(shale_close(c));
	model_free(&m);
	shale_options_destroy(o);
}
END_TEST

START_TEST(destroy_removes_the_database)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	put(db, "k", "v");
	ck_assert_int_eq(shale_destroy_db(dbtest_path, o), SHALE_EBUSY); /* open */
	ck_assert_ok(shale_close(db));
	/* a file that is not shale's stays, and so does the directory */
	char other[4200];
	snprintf(other, sizeof(other), "%s/notes.txt", dbtest_path);
	tu_write_file(other, "x", 1);
	ck_assert_ok(shale_destroy_db(dbtest_path, o));
	struct stat st;
	ck_assert_int_eq(stat(other, &st), 0);
	char cur[4200];
	snprintf(cur, sizeof(cur), "%s/CURRENT", dbtest_path);
	ck_assert_int_ne(stat(cur, &st), 0);
	unlink(other);
	ck_assert_ok(shale_destroy_db(dbtest_path, o));
	ck_assert_int_ne(stat(dbtest_path, &st), 0);
	ck_assert_ok(shale_destroy_db(dbtest_path, o)); /* nothing there: fine */
	shale_options_destroy(o);
}
END_TEST

START_TEST(shared_cache_between_databases)
{
	shale_cache *cache = shale_cache_create_lru(1 << 20);
	shale_options *o = small_options();
	shale_options_set_cache(o, cache);
	char path2[4200];
	snprintf(path2, sizeof(path2), "%s/db2", dbtest_dir);
	shale_db *a = open_db(o), *b = NULL;
	ck_assert_ok(shale_open(path2, o, &b));
	char val[500];
	for (int i = 0; i < 1000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%04d", i);
		memset(val, 'a', sizeof(val));
		ck_assert_ok(shale_put(a, NULL, k, strlen(k), val, sizeof(val)));
		memset(val, 'b', sizeof(val));
		ck_assert_ok(shale_put(b, NULL, k, strlen(k), val, sizeof(val)));
	}
	ck_assert_ok(shale_compact_range(a, NULL, 0, NULL, 0));
	ck_assert_ok(shale_compact_range(b, NULL, 0, NULL, 0));
	/* same file numbers and offsets in both: the cache must keep them apart */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 1000; i += 7) {
			char k[16];
			snprintf(k, sizeof(k), "k%04d", i);
			ck_assert_int_eq(get(a, k)[0], 'a');
			ck_assert_int_eq(get(b, k)[0], 'b');
		}
	ck_assert_ok(shale_close(a));
	ck_assert_ok(shale_close(b));
	shale_cache_destroy(cache);
	shale_options_destroy(o);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("open");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, open_missing_without_create_fails);
	tcase_add_test(tc, open_create_reopen_error_if_exists);
	tcase_add_test(tc, second_open_is_busy);
	tcase_add_test(tc, absurd_options_rejected_by_name);
	tcase_add_test(tc, compaction_threads_run_at_a_lower_priority);
	tcase_add_test(tc, bad_arguments_rejected);
	tcase_add_test(tc, every_compression_type_works_or_is_not_supported);
	suite_add_tcase(s, tc);

	tc = tcase_create("rw");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, put_get_delete_overwrite);
	tcase_add_test(tc, large_values_and_keys);
	tcase_add_test(tc, batches_are_atomic_and_later_ops_win);
	tcase_add_test(tc, sync_writes);
	tcase_add_test(tc, many_flushes_then_reopen_match_model);
	tcase_add_test(tc, snapshots_see_exactly_earlier_writes);
	suite_add_tcase(s, tc);

	tc = tcase_create("iter");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, iterator_both_directions_and_direction_changes);
	tcase_add_test(tc, iterator_bounds);
	tcase_add_test(tc, iterator_edges_empty_and_all_deleted);
	tcase_add_test(tc, bound_that_could_not_be_copied_fails_the_iterator);
	tcase_add_test(tc, iterator_sees_db_as_of_creation_and_blocks_close);
	tcase_add_test(tc, random_iteration_matches_model);
	tcase_add_test(tc, scan_ahead_option_decides_the_worker_thread);
	tcase_add_test(tc, pinned_tables_close_when_compacted_away);
	tcase_add_test(tc, seek_to_a_present_key_reads_only_the_sources_that_may_hold_it);
	tcase_add_test(tc, seek_to_an_overwritten_key_reads_only_its_newest_version);
	tcase_add_test(tc, iterator_trees_are_recycled_while_the_state_holds);
	tcase_add_test(tc, recycled_iterator_structs_start_clean);
	tcase_add_test(tc, recycled_iterators_follow_writes_flushes_and_compactions);
	tcase_add_test(tc, custom_comparator_orders_and_is_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("maintenance");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, properties_and_approximate_sizes);
	tcase_add_test(tc, checkpoint_is_an_openable_copy);
	tcase_add_test(tc, destroy_removes_the_database);
	tcase_add_test(tc, shared_cache_between_databases);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
