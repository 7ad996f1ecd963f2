/* Leveled compaction: a randomised model test over several levels with
 * snapshots and reopens, deleted keys that must stay deleted, space
 * reclaimed, trivial moves, stats. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/db/db_compact.h"
#include "lib/db/db_impl.h"
#include "lib/db/options.h"
#include "lib/util/filename.h"
#include "sstable/table_builder.h"
#include "tests/model.h"
#include "tests/dbtest.h"
#include "tests/testutil.h"

static shale_options *tiny_options(void)
{
	return dbtest_options(64 * 1024, 64 * 1024, 256 * 1024);
}

static int files_at(shale_db *db, int level)
{
	char name[64];
	snprintf(name, sizeof(name), "shale.num-files-at-level%d", level);
	char *p = shale_property(db, name);
	ck_assert_ptr_nonnull(p);
	int n = atoi(p);
	shale_free(p);
	return n;
}

static uint64_t dir_bytes(const char *path)
{
	uint64_t total = 0;
	DIR *d = opendir(path);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".ldb") == NULL)
			continue; /* tables: what compaction is responsible for */
		char p[8192];
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		struct stat st;
		if (stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

/* ---- the model test ---- */

#define MAX_SNAPS 4

START_TEST(random_model_many_levels_snapshots_reopen)
{
	shale_options *o = tiny_options();
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	struct model snapm[MAX_SNAPS];
	const shale_snapshot *snaps[MAX_SNAPS] = { NULL };
	struct rng r;
	rng_seed(&r, 1234);
	char key[32], val[600];
	int deepest = 0;
	for (int i = 0; i < 60000; i++) {
		size_t kl = (size_t)snprintf(key, sizeof(key), "key%07d", (int)rng_uniform(&r, 12000));
		int op = (int)rng_uniform(&r, 100);
		if (op < 15) {
			ck_assert_ok(shale_delete(db, NULL, key, kl));
			model_del(&m, key, kl);
		} else if (op < 97) {
			size_t vl = (size_t)rng_uniform(&r, 400);
			tu_random_bytes(&r, val, vl);
			ck_assert_ok(shale_put(db, NULL, key, kl, val, vl));
			model_put(&m, key, kl, val, vl);
		} else if (op < 98 && rng_one_in(&r, 10)) {
			/* take or replace a snapshot (about 60 times), remembering what
			 * it must see and checking what the old one saw */
			int s = (int)rng_uniform(&r, MAX_SNAPS);
			if (snaps[s]) {
				shale_readopts *ro = shale_readopts_create();
				shale_readopts_set_snapshot(ro, snaps[s]);
				model_check_db(&snapm[s], db, ro);
				shale_readopts_destroy(ro);
				shale_snapshot_release(db, snaps[s]);
				model_free(&snapm[s]);
			}
			snaps[s] = shale_snapshot_create(db);
			ck_assert_ptr_nonnull(snaps[s]);
			model_copy(&snapm[s], &m);
		} else if (op >= 98 && rng_one_in(&r, 40)) {
			/* reopen in the middle (snapshots end with the handle) */
			for (int s = 0; s < MAX_SNAPS; s++)
				if (snaps[s]) {
					shale_snapshot_release(db, snaps[s]);
					snaps[s] = NULL;
					model_free(&snapm[s]);
				}
			ck_assert_ok(shale_close(db));
			ck_assert_ok(shale_open(dbtest_path, o, &db));
		}
		if (i % 10000 == 9999) {
			model_check_db(&m, db, NULL);
			for (int level = 2; level < 7; level++)
				if (files_at(db, level) > 0 && level > deepest)
					deepest = level;
		}
	}
	ck_assert_int_ge(deepest, 2); /* several levels were in use */
	for (int s = 0; s < MAX_SNAPS; s++) {
		if (!snaps[s])
			continue;
		shale_readopts *ro = shale_readopts_create();
		shale_readopts_set_snapshot(ro, snaps[s]);
		model_check_db(&snapm[s], db, ro);
		ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
		model_check_db(&snapm[s], db, ro); /* what snapshots need survives compaction */
		shale_readopts_destroy(ro);
		shale_snapshot_release(db, snaps[s]);
		model_free(&snapm[s]);
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	model_check_db(&m, db, NULL);
	ck_assert_int_eq(files_at(db, 0), 0);
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	model_check_db(&m, db, NULL);
	char *stats = shale_property(db, "shale.stats");
	ck_assert_ptr_nonnull(stats);
	ck_assert_ptr_nonnull(strstr(stats, "write amplification"));
	shale_free(stats);
	ck_assert_ok(shale_close(db));
	model_free(&m);
	shale_options_destroy(o);
}
END_TEST

/* ---- deleted keys never resurrect ---- */

static int present(shale_db *db, const char *k)
{
	void *v;
	size_t vl;
	int rc = shale_get(db, NULL, k, strlen(k), &v, &vl);
	ck_assert(rc == 0 || rc == SHALE_NOTFOUND);
	shale_free(v);
	if (rc == 0)
		return 1;
	/* the iterator agrees */
	shale_iter *it = shale_iter_create(db, NULL);
	shale_iter_seek(it, k, strlen(k));
	int there = 0;
	if (shale_iter_valid(it)) {
		size_t kl;
		const void *key = shale_iter_key(it, &kl);
		there = kl == strlen(k) && memcmp(key, k, kl) == 0;
	}
	shale_iter_destroy(it);
	ck_assert_int_eq(there, 0);
	return 0;
}

START_TEST(deleted_keys_never_resurrect)
{
	shale_options *o = tiny_options();
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	char val[300];
	memset(val, 'o', sizeof(val));
	/* old values, pushed to the bottom */
	for (int i = 0; i < 3000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, sizeof(val)));
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	mutex_lock(&db->vs.mu);
	ck_assert_ok(db_compact_level(db, 1, NULL, NULL)); /* one level deeper */
	mutex_unlock(&db->vs.mu);
	int bottom = 0;
	for (int level = 1; level < 7; level++)
		if (files_at(db, level) > 0)
			bottom = level;
	ck_assert_int_ge(bottom, 2);
	/* delete every third key; the markers sit in upper levels */
	for (int i = 0; i < 3000; i += 3) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_ok(shale_delete(db, NULL, k, strlen(k)));
	}
	ck_assert_ok(db_flush_memtable(db));
	/* compact only the upper levels: the markers move down but the old
	 * values stay below them */
	mutex_lock(&db->vs.mu);
	for (int level = 0; level < bottom - 1; level++)
		ck_assert_ok(db_compact_level(db, level, NULL, NULL));
	mutex_unlock(&db->vs.mu);
	for (int i = 0; i < 3000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_int_eq(present(db, k), i % 3 != 0);
	}
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	for (int i = 0; i < 3000; i += 3) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_int_eq(present(db, k), 0);
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	for (int i = 0; i < 3000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_int_eq(present(db, k), i % 3 != 0);
	}
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	for (int i = 0; i < 3000; i += 3) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_int_eq(present(db, k), 0);
	}
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* ---- space ---- */

static void fill(shale_db *db, int n, int round, struct rng *r)
{
	char val[500];
	for (int i = 0; i < n; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%06d", i);
		tu_random_bytes(r, val, sizeof(val)); /* incompressible: sizes compare fairly */
		val[0] = (char)round;
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, sizeof(val)));
	}
}

START_TEST(space_is_reclaimed_after_overwrites_and_deletes)
{
	shale_options *o = tiny_options();
	shale_db *db = NULL;
	struct rng r;
	rng_seed(&r, 9);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	int n = 6000;
	fill(db, n, 0, &r);
	fill(db, n, 1, &r);
	fill(db, n, 2, &r);
	for (int i = 0; i < n; i += 2) {
		char k[16];
		snprintf(k, sizeof(k), "k%06d", i);
		ck_assert_ok(shale_delete(db, NULL, k, strlen(k)));
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	uint64_t used = dir_bytes(dbtest_path);
	ck_assert_ok(shale_close(db));

	/* a fresh database holding the same live data */
	char fresh[4200];
	snprintf(fresh, sizeof(fresh), "%s/fresh", dbtest_dir);
	ck_assert_ok(shale_open(fresh, o, &db));
	char val[500];
	for (int i = 1; i < n; i += 2) {
		char k[16];
		snprintf(k, sizeof(k), "k%06d", i);
		tu_random_bytes(&r, val, sizeof(val));
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, sizeof(val)));
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	uint64_t want = dir_bytes(fresh);
	ck_assert_ok(shale_close(db));
	ck_assert_msg(used <= want + want / 10, "tables hold %llu bytes, a fresh copy %llu",
	              (unsigned long long)used, (unsigned long long)want);
	shale_options_destroy(o);
}
END_TEST

/* Table files in path. */
static int dir_tables(const char *path)
{
	int n = 0;
	DIR *d = opendir(path);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".ldb") != NULL;
	closedir(d);
	return n;
}

/* A point read leaves the DB's cached read view on the version it read;
 * a compaction after the last read still deletes that version's files at
 * once (and frees a flushed memtable), not at some later read. */
START_TEST(files_of_a_version_the_last_read_saw_are_deleted)
{
	shale_options *o = tiny_options();
	shale_db *db = NULL;
	struct rng r;
	rng_seed(&r, 10);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	fill(db, 2000, 0, &r);
	fill(db, 2000, 1, &r);
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "k000001", 7, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	int live = 0;
	for (int level = 0; level < 7; level++)
		live += files_at(db, level);
	ck_assert_int_eq(dir_tables(dbtest_path), live);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(sequential_fill_moves_files_without_rewriting)
{
	shale_options *o = tiny_options();
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	char val[400];
	memset(val, 's', sizeof(val));
	for (int i = 0; i < 8000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%06d", i);
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, sizeof(val)));
	}
	ck_assert_ok(db_flush_memtable(db));
	/* wait for background compaction to settle */
	mutex_lock(&db->vs.mu);
	while (db->compactions && db->vs.current->nfiles[0] >= db->opt.l0_compaction_trigger)
		cond_wait(&db->bg_cv, &db->vs.mu);
	mutex_unlock(&db->vs.mu);
	char *stats = shale_property(db, "shale.stats");
	ck_assert_ptr_nonnull(stats);
	char *tm = strstr(stats, "trivial moves: ");
	ck_assert_ptr_nonnull(tm);
	ck_assert_int_gt(atoi(tm + strlen("trivial moves: ")), 0);
	shale_free(stats);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* Writes table `number` holding (user key, seq, value) entries in order. */
static void write_table(shale_db *db, uint64_t number, const char *const *ukeys, const uint64_t *seqs,
                        int n, struct version_edit *edit, int level)
{
	char path[FNAME_MAX];
	fname_table(path, db->dbname, number);
	struct wfile *f;
	ck_assert_ok(env_open_write(db->env, path, &f));
	struct table_builder *tb;
	ck_assert_ok(table_builder_create(&db->topt, f, path, &tb));
	struct buf k = BUF_INIT, first = BUF_INIT, last = BUF_INIT;
	for (int i = 0; i < n; i++) {
		buf_clear(&k);
		ck_assert_ok(ikey_append(&k, slice_from_str(ukeys[i]), seqs[i], IKEY_TYPE_VALUE));
		char v[32];
		snprintf(v, sizeof(v), "%s@%llu", ukeys[i], (unsigned long long)seqs[i]);
		ck_assert_ok(table_builder_add(tb, buf_slice(&k), slice_from_str(v)));
		if (i == 0)
			buf_set(&first, k.data, k.len);
		buf_set(&last, k.data, k.len);
	}
	ck_assert_ok(table_builder_finish(tb));
	ck_assert_ok(wfile_sync(f));
	uint64_t size = table_builder_file_size(tb);
	table_builder_destroy(tb);
	ck_assert_ok(wfile_close(f));
	ck_assert_ok(edit_add_file(edit, level, number, size, buf_slice(&first), buf_slice(&last)));
	buf_free(&k);
	buf_free(&first);
	buf_free(&last);
}

START_TEST(compaction_keeps_versions_of_a_user_key_split_across_files_together)
{
	/* Level 1 holds two files that share user key "m" (as LevelDB may
	 * write them): the first ends with m@50, the second starts with m@40.
	 * Compacting the first alone would leave m@40 above m@50. */
	shale_options *o = tiny_options();
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	mutex_lock(&db->vs.mu);
	uint64_t n1 = vset_new_file_number(&db->vs), n2 = vset_new_file_number(&db->vs);
	db->vs.last_sequence = 100;
	mutex_unlock(&db->vs.mu);
	struct version_edit e;
	edit_init(&e);
	const char *k1[] = { "a", "m" }, *k2[] = { "m", "z" };
	uint64_t s1[] = { 60, 50 }, s2[] = { 40, 30 };
	write_table(db, n1, k1, s1, 2, &e, 1);
	write_table(db, n2, k2, s2, 2, &e, 1);
	mutex_lock(&db->vs.mu);
	ck_assert_ok(vset_log_and_apply(&db->vs, &e));
	/* compact level 1 over ["a", "a"]: the first file, and with it the second */
	struct slice a = slice_from_str("a");
	ck_assert_ok(db_compact_level(db, 1, &a, &a));
	ck_assert_int_eq(db->vs.current->nfiles[1], 0);
	mutex_unlock(&db->vs.mu);
	edit_free(&e);
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "m", 1, &v, &vl));
	ck_assert_uint_eq(vl, 4);
	ck_assert(memcmp(v, "m@50", 4) == 0);
	shale_free(v);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(scans_over_deleted_keys_trigger_a_compaction_that_clears_them)
{
	/* a write buffer that holds every deletion marker: they land in one
	 * level-0 file spanning the whole range, below every trigger */
	shale_options *o = dbtest_options(1 << 20, 64 * 1024, 256 * 1024);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	char val[100];
	memset(val, 'v', sizeof(val));
	for (int i = 0; i < 5000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), val, sizeof(val)));
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	for (int i = 0; i < 5000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%05d", i);
		ck_assert_ok(shale_delete(db, NULL, k, strlen(k)));
	}
	ck_assert_ok(db_flush_memtable(db));
	ck_assert_int_eq(files_at(db, 0), 1);
	/* Scanning (all markers, nothing live) charges the level-0 file a seek
	 * about every MiB read; with its allowance (100) gone it is compacted in
	 * the background. Scans go on meanwhile; the bound is far above the
	 * ~200 scans the allowance takes. */
	int scans = 0;
	for (; scans < 20000 && files_at(db, 0) > 0; scans++) {
		shale_iter *it = shale_iter_create(db, NULL);
		shale_iter_seek_first(it);
		ck_assert(!shale_iter_valid(it));
		ck_assert_int_eq(shale_iter_status(it), 0);
		shale_iter_destroy(it);
	}
	ck_assert_int_eq(files_at(db, 0), 0);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("compaction");
	TCase *tc = tcase_create("compaction");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, random_model_many_levels_snapshots_reopen);
	tcase_add_test(tc, deleted_keys_never_resurrect);
	tcase_add_test(tc, space_is_reclaimed_after_overwrites_and_deletes);
	tcase_add_test(tc, files_of_a_version_the_last_read_saw_are_deleted);
	tcase_add_test(tc, sequential_fill_moves_files_without_rewriting);
	tcase_add_test(tc, compaction_keeps_versions_of_a_user_key_split_across_files_together);
	suite_add_tcase(s, tc);

	tc = tcase_create("reads");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, scans_over_deleted_keys_trigger_a_compaction_that_clears_them);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
