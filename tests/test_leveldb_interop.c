/* Interoperability with the real LevelDB (Debian's libleveldb, through its C
 * API): a database LevelDB wrote opens in shale with exactly its content,
 * databases shale wrote (or repaired) open in LevelDB with exactly shale's
 * content. */
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/env.h"
#include "tests/model.h"
#include "tests/dbtest.h"
#include "tests/testutil.h"

static void ldb_ok(char *err, const char *what)
{
	ck_assert_msg(err == NULL, "leveldb %s: %s", what, err ? err : "");
}

static int ldb_level_files(leveldb_t *db, int level)
{
	char name[64];
	snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
	char *p = leveldb_property_value(db, name);
	ck_assert_ptr_nonnull(p);
	int n = atoi(p);
	leveldb_free(p);
	return n;
}

/* LevelDB's view equals the model: gets and a scan both ways. */
static void ldb_check(leveldb_t *db, const struct model *m)
{
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(ro, 1);
	for (size_t i = 0; i < m->n; i++) {
		char *err = NULL;
		size_t vl;
		char *v = leveldb_get(db, ro, m->e[i].key, m->e[i].klen, &vl, &err);
		ldb_ok(err, "get");
		tu_assert(v != NULL, "LevelDB lost key %zu", i);
		tu_assert(vl == m->e[i].vlen && memcmp(v, m->e[i].val, vl) == 0, "LevelDB: key %zu has a wrong value", i);
		leveldb_free(v);
	}
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	size_t i = 0;
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it), i++) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		const char *v = leveldb_iter_value(it, &vl);
		tu_assert(i < m->n, "LevelDB scan: more entries than the model");
		tu_assert(model_keycmp(k, kl, m->e[i].key, m->e[i].klen) == 0, "LevelDB scan: key %zu differs", i);
		tu_assert(vl == m->e[i].vlen && memcmp(v, m->e[i].val, vl) == 0, "LevelDB scan: value %zu", i);
	}
	ck_assert_uint_eq(i, m->n);
	for (leveldb_iter_seek_to_last(it); leveldb_iter_valid(it); leveldb_iter_prev(it)) {
		size_t kl;
		const char *k = leveldb_iter_key(it, &kl);
		tu_assert(i > 0, "LevelDB reverse scan: more entries than the model");
		i--;
		tu_assert(model_keycmp(k, kl, m->e[i].key, m->e[i].klen) == 0, "LevelDB reverse: key %zu", i);
	}
	ck_assert_uint_eq(i, 0);
	char *err = NULL;
	leveldb_iter_get_error(it, &err);
	ldb_ok(err, "iterator");
	leveldb_iter_destroy(it);
	leveldb_readoptions_destroy(ro);
}

static void random_ops(struct rng *r, struct model *m, int n, int keyspace, const char *tag,
                       void (*put)(void *, const char *, size_t, const char *, size_t),
                       void (*del)(void *, const char *, size_t), void *arg)
{
	char k[64], v[2000];
	for (int i = 0; i < n; i++) {
		size_t kl = (size_t)snprintf(k, sizeof(k), "%s%06d", tag, (int)rng_uniform(r, (uint64_t)keyspace));
		if (rng_one_in(r, 6)) {
			del(arg, k, kl);
			model_del(m, k, kl);
		} else {
			/* compressible values, some large */
			size_t vl = rng_one_in(r, 50) ? 1000 + (size_t)rng_uniform(r, 1000) : (size_t)rng_uniform(r, 200);
			for (size_t j = 0; j < vl; j++)
				v[j] = (char)('a' + (j * 7 + (size_t)i) % 13);
			if (vl > 4)
				snprintf(v, 5, "%04d", i % 10000);
			put(arg, k, kl, v, vl);
			model_put(m, k, kl, v, vl);
		}
	}
}

static void ldb_put(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char *err = NULL;
	leveldb_put(arg, wo, k, kl, v, vl, &err);
	ldb_ok(err, "put");
	leveldb_writeoptions_destroy(wo);
}

static void ldb_del(void *arg, const char *k, size_t kl)
{
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char *err = NULL;
	leveldb_delete(arg, wo, k, kl, &err);
	ldb_ok(err, "delete");
	leveldb_writeoptions_destroy(wo);
}

static void sh_put(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	ck_assert_ok(shale_put(arg, NULL, k, kl, v, vl));
}

static void sh_del(void *arg, const char *k, size_t kl)
{
	ck_assert_ok(shale_delete(arg, NULL, k, kl));
}

static leveldb_t *ldb_open(const char *path, leveldb_options_t **opts, leveldb_filterpolicy_t **fp)
{
	*opts = leveldb_options_create();
	*fp = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_create_if_missing(*opts, 1);
	leveldb_options_set_compression(*opts, leveldb_snappy_compression);
	leveldb_options_set_filter_policy(*opts, *fp);
	leveldb_options_set_write_buffer_size(*opts, 64 * 1024);
	leveldb_options_set_max_file_size(*opts, 64 * 1024);
	leveldb_options_set_paranoid_checks(*opts, 1);
	char *err = NULL;
	leveldb_t *db = leveldb_open(*opts, path, &err);
	ldb_ok(err, "open");
	return db;
}

static void ldb_close(leveldb_t *db, leveldb_options_t *opts, leveldb_filterpolicy_t *fp)
{
	leveldb_close(db);
	leveldb_options_destroy(opts);
	leveldb_filterpolicy_destroy(fp);
}

START_TEST(leveldb_database_opens_in_shale_and_back)
{
	struct model m;
	model_init(&m);
	struct rng r;
	rng_seed(&r, 77);

	/* LevelDB writes a database with several levels */
	leveldb_options_t *lo;
	leveldb_filterpolicy_t *fp;
	leveldb_t *ldb = ldb_open(dbtest_path, &lo, &fp);
	random_ops(&r, &m, 15000, 8000, "a", ldb_put, ldb_del, ldb);
	leveldb_compact_range(ldb, NULL, 0, NULL, 0);
	random_ops(&r, &m, 4000, 8000, "a", ldb_put, ldb_del, ldb);
	leveldb_compact_range(ldb, "a000000", 7, "a002000", 7);
	random_ops(&r, &m, 3000, 8000, "a", ldb_put, ldb_del, ldb); /* some left in the WAL */
	int levels = 0;
	for (int level = 0; level < 7; level++)
		levels += ldb_level_files(ldb, level) > 0;
	ck_assert_int_ge(levels, 2);
	ldb_check(ldb, &m);
	ldb_close(ldb, lo, fp);

	/* shale sees exactly the same */
	shale_options *o = shale_options_create();
	shale_options_set_write_buffer_size(o, 64 * 1024);
	shale_options_set_max_file_size(o, 64 * 1024);
	shale_options_set_max_bytes_for_level_base(o, 256 * 1024);
	shale_options_set_paranoid_checks(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	model_check_db(&m, db, NULL);
	/* shale writes to it: flushes, compactions, deletes */
	random_ops(&r, &m, 20000, 8000, "a", sh_put, sh_del, db);
	random_ops(&r, &m, 3000, 2000, "b", sh_put, sh_del, db);
	ck_assert_ok(shale_compact_range(db, "a001000", 7, "a003000", 7));
	random_ops(&r, &m, 2000, 8000, "a", sh_put, sh_del, db); /* some left in shale's WAL */
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);

	/* LevelDB sees exactly shale's content, and can go on writing */
	ldb = ldb_open(dbtest_path, &lo, &fp);
	ldb_check(ldb, &m);
	random_ops(&r, &m, 2000, 8000, "c", ldb_put, ldb_del, ldb);
	leveldb_compact_range(ldb, NULL, 0, NULL, 0);
	ldb_check(ldb, &m);
	ldb_close(ldb, lo, fp);
	/* and shale reads that too */
	ck_assert_ok(shale_open(dbtest_path, NULL, &db));
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	model_free(&m);
}
END_TEST

START_TEST(fresh_shale_database_with_default_options_opens_in_leveldb)
{
	struct model m;
	model_init(&m);
	struct rng r;
	rng_seed(&r, 78);
	shale_options *o = shale_options_create();
	shale_options_set_create_if_missing(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	random_ops(&r, &m, 30000, 20000, "k", sh_put, sh_del, db);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	random_ops(&r, &m, 1000, 20000, "k", sh_put, sh_del, db);
	/* binary keys and empty values too */
	char bk[5] = { 0, (char)0xff, 0, 1, (char)0x80 };
	ck_assert_ok(shale_put(db, NULL, bk, 5, "", 0));
	model_put(&m, bk, 5, "", 0);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);

	leveldb_options_t *lo = leveldb_options_create();
	leveldb_filterpolicy_t *fp = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_filter_policy(lo, fp);
	leveldb_options_set_paranoid_checks(lo, 1);
	char *err = NULL;
	leveldb_t *ldb = leveldb_open(lo, dbtest_path, &err);
	ldb_ok(err, "open shale's database");
	ldb_check(ldb, &m);
	leveldb_close(ldb);
	leveldb_options_destroy(lo);
	leveldb_filterpolicy_destroy(fp);
	model_free(&m);
}
END_TEST

/* Copies every file of dir from (not LOCK) into a new dir to, byte for byte. */
static void copy_db_files(const char *from, const char *to)
{
	char **names = NULL;
	size_t n = 0;
	ck_assert_ok(env_list_dir(env_posix_default(), from, &names, &n));
	ck_assert_ok(env_mkdir(env_posix_default(), to));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "LOCK") == 0)
			continue;
		char a[8800], b[8800];
		snprintf(a, sizeof(a), "%s/%s", from, names[i]);
		snprintf(b, sizeof(b), "%s/%s", to, names[i]);
		FILE *in = fopen(a, "rb"), *out = fopen(b, "wb");
		ck_assert(in != NULL && out != NULL);
		char buf[65536];
		size_t got;
		while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
			ck_assert_uint_eq(fwrite(buf, 1, got, out), got);
		fclose(in);
		ck_assert_int_eq(fclose(out), 0);
	}
	env_free_names(names, n);
}

/* 1 if a WAL in dir ends in a zero byte (a mapped WAL's reserved space). */
static int wal_ends_in_zeros(const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	int zeros = 0;
	ck_assert_ok(env_list_dir(env_posix_default(), dir, &names, &n));
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len < 4 || strcmp(names[i] + len - 4, ".log") != 0)
			continue;
		char p[8800];
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		FILE *f = fopen(p, "rb");
		ck_assert_ptr_nonnull(f);
		if (fseek(f, -1, SEEK_END) == 0 && getc(f) == 0)
			zeros = 1;
		fclose(f);
	}
	env_free_names(names, n);
	return zeros;
}

/* The state a crash of the process leaves: shale's WAL, appended through a
 * mapping (the default), is longer than its data, the rest reserved zeros
 * (doc/format.md, "Log files"). A copy made while shale has the database
 * open opens in LevelDB, with paranoid checks, and in shale with every write. */
START_TEST(a_copy_of_an_open_shale_database_opens_in_leveldb)
{
	struct model m;
	model_init(&m);
	struct rng r;
	rng_seed(&r, 79);
	shale_options *o = shale_options_create();
	shale_options_set_create_if_missing(o, 1);
	shale_options_set_paranoid_checks(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	random_ops(&r, &m, 5000, 3000, "k", sh_put, sh_del, db);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	random_ops(&r, &m, 3000, 3000, "k", sh_put, sh_del, db); /* in the WAL only */
	char copy[4400];
	snprintf(copy, sizeof(copy), "%s.copy", dbtest_path);
	copy_db_files(dbtest_path, copy);
	ck_assert_ok(shale_close(db));
	ck_assert_msg(wal_ends_in_zeros(copy), "the copied WAL has no reserved zeros at its end");

	leveldb_options_t *lo = leveldb_options_create();
	leveldb_filterpolicy_t *fp = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_filter_policy(lo, fp);
	leveldb_options_set_paranoid_checks(lo, 1);
	char *err = NULL;
	leveldb_t *ldb = leveldb_open(lo, copy, &err);
	ldb_ok(err, "open a copy of an open shale database");
	ldb_check(ldb, &m);
	leveldb_close(ldb);
	leveldb_options_destroy(lo);
	leveldb_filterpolicy_destroy(fp);
	tu_rmtree(copy);

	/* and again, opened by shale this time */
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	random_ops(&r, &m, 2000, 3000, "k", sh_put, sh_del, db);
	copy_db_files(dbtest_path, copy);
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(copy, o, &db));
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	tu_rmtree(copy);
	shale_options_destroy(o);
	model_free(&m);
}
END_TEST

/* LevelDB writes a database, which then loses CURRENT: shale_repair_db
 * rebuilds it, and both shale and LevelDB read exactly LevelDB's content. */
START_TEST(leveldb_database_repaired_by_shale_opens_in_both)
{
	struct model m;
	model_init(&m);
	struct rng r;
	rng_seed(&r, 79);
	leveldb_options_t *lo;
	leveldb_filterpolicy_t *fp;
	leveldb_t *ldb = ldb_open(dbtest_path, &lo, &fp);
	random_ops(&r, &m, 15000, 8000, "a", ldb_put, ldb_del, ldb);
	leveldb_compact_range(ldb, NULL, 0, NULL, 0);
	random_ops(&r, &m, 6000, 8000, "a", ldb_put, ldb_del, ldb); /* level 0 and the WAL */
	ldb_close(ldb, lo, fp);
	char cur[4200];
	snprintf(cur, sizeof(cur), "%s/CURRENT", dbtest_path);
	ck_assert_int_eq(remove(cur), 0);

	ck_assert_ok(shale_repair_db(dbtest_path, NULL));
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, NULL, &db));
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	ldb = ldb_open(dbtest_path, &lo, &fp);
	ldb_check(ldb, &m);
	ldb_close(ldb, lo, fp);
	model_free(&m);
}
END_TEST

START_TEST(leveldb_holds_the_lock_shale_is_busy)
{
	leveldb_options_t *lo;
	leveldb_filterpolicy_t *fp;
	leveldb_t *ldb = ldb_open(dbtest_path, &lo, &fp);
	shale_db *db = NULL;
	ck_assert_int_eq(shale_open(dbtest_path, NULL, &db), SHALE_EBUSY);
	ldb_close(ldb, lo, fp);
	ck_assert_ok(shale_open(dbtest_path, NULL, &db));
	char *err = NULL;
	leveldb_options_t *lo2 = leveldb_options_create();
	leveldb_t *l2 = leveldb_open(lo2, dbtest_path, &err);
	ck_assert_ptr_null(l2);
	ck_assert_ptr_nonnull(err); /* LevelDB finds shale's lock */
	leveldb_free(err);
	leveldb_options_destroy(lo2);
	ck_assert_ok(shale_close(db));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("leveldb_interop");
	TCase *tc = tcase_create("interop");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, leveldb_database_opens_in_shale_and_back);
	tcase_add_test(tc, fresh_shale_database_with_default_options_opens_in_leveldb);
	tcase_add_test(tc, a_copy_of_an_open_shale_database_opens_in_leveldb);
	tcase_add_test(tc, leveldb_database_repaired_by_shale_opens_in_both);
	tcase_add_test(tc, leveldb_holds_the_lock_shale_is_busy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
