/* A failing disk while the database runs (issue 12): EIO on a read in a
 * compaction, a flush, an iterator and a get (pread path); EIO on the sync
 * of a table, the MANIFEST, the WAL and the directory; ENOSPC in
 * compactions while writes go on. Each: the failing call (or the next
 * write, for background work) gets the error, nothing acknowledged is lost
 * after reopen — after a power cut too, for what was synced — and reads
 * keep working where they can. A failed sync loses the data it should have
 * made durable (the fault env's model of a kernel dropping dirty pages), so
 * a database that retried a sync and trusted it would lose data here.
 * Threads meet at test hooks (tests/hooks.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/db/db_impl.h"
#include "lib/db/options.h"
#include "lib/testing/env_fault.h"
#include "lib/util/filename.h"
#include "tests/dbtest.h"
#include "tests/hooks.h"
#include "tests/model.h"
#include "tests/testutil.h"

static struct hooks hk = HOOKS_INITIALIZER(hk);

/* Set in a thread once it has run a compaction: compaction threads do
 * nothing else, so the fault hook can tell their writes apart. */
static _Thread_local int compaction_thread;

static void at_hook(void *arg, enum db_hook_point p)
{
	(void)arg;
	if (p == HOOK_COMPACTION_BEGIN)
		compaction_thread = 1;
	hooks_at(&hk, p);
}

static const struct db_test_hooks test_hooks = { at_hook, NULL };

static struct env *fault_env(void)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	return e;
}

/* Every block read is a pread through the env (shale_options_set_mmap_reads
 * is not in this tree's public header yet: the internal setter). */
static shale_options *options(struct env *e, size_t write_buffer)
{
	shale_options *o = dbtest_options(write_buffer, 32 * 1024, 128 * 1024);
	options_set_env(o, e);
	options_set_use_mmap_reads(o, 0);
	options_set_bg_retry_micros(o, 1000);
	options_set_test_hooks(o, &test_hooks);
	hooks_reset(&hk);
	return o;
}

static void kv(int i, int version, char *k, size_t *kl, char *v, size_t *vl)
{
	*kl = (size_t)snprintf(k, 32, "key%06d", i);
	*vl = (size_t)snprintf(v, 200, "value %d of key %06d %0*d", version, i, 60 + i % 50, 0);
}

/* Writes keys [from, to) at version; each acknowledged write goes into m. */
static void fill(shale_db *db, struct model *m, int from, int to, int version, int sync)
{
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, sync);
	char k[32], v[200];
	size_t kl, vl;
	for (int i = from; i < to; i++) {
		kv(i, version, k, &kl, v, &vl);
		ck_assert_ok(shale_put(db, wo, k, kl, v, vl));
		model_put(m, k, kl, v, vl);
	}
	shale_writeopts_destroy(wo);
}

static int put_one(shale_db *db, int sync, const char *k, const char *v)
{
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, sync);
	int rc = shale_put(db, wo, k, strlen(k), v, strlen(v));
	shale_writeopts_destroy(wo);
	return rc;
}

static void wait_bg_error(shale_db *db, int code)
{
	mutex_lock(&db->vs.mu);
	while (db->bg_error == 0)
		cond_wait(&db->bg_cv, &db->vs.mu);
	int got = db->bg_error;
	mutex_unlock(&db->vs.mu);
	ck_assert_int_eq(got, code);
}

static int files_at(shale_db *db, int level)
{
	mutex_lock(&db->vs.mu);
	int n = db->vs.current->nfiles[level];
	mutex_unlock(&db->vs.mu);
	return n;
}

static int tables_in_dir(void)
{
	char **names;
	size_t n;
	int tables = 0;
	ck_assert_ok(env_list_dir(env_posix_default(), dbtest_path, &names, &n));
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type t;
		tables += fname_parse(names[i], &num, &t) && t == FILE_TABLE;
	}
	env_free_names(names, n);
	return tables;
}

/* After the failure: close, optionally lose the power, reopen without
 * faults and find exactly the model. */
static void reopen_and_check(struct env *e, shale_options *o, const struct model *m, int power_cut)
{
	fault_env_clear_rules(e);
	fault_env_set_hook(e, NULL, NULL);
	if (power_cut) {
		fault_env_freeze(e);
		ck_assert_ok(fault_env_crash(e));
	}
	options_set_test_hooks(o, NULL);
	shale_db *db = NULL;
	int rc = shale_open(dbtest_path, o, &db);
	ck_assert_msg(rc == 0, "reopen: %s", shale_errmsg());
	model_check_db(m, db, NULL);
	ck_assert_ok(shale_close(db));
}

static void add_rule(struct env *e, unsigned ops, const char *path, int skip, int count, int kind)
{
	struct fault_rule r = { .ops = ops, .path_contains = path, .skip = skip, .count = count, .kind = kind };
	ck_assert_ok(fault_env_add_rule(e, &r));
}

/* ---- EIO on reads ---- */

START_TEST(read_eio_in_a_compaction_fails_the_next_write_and_loses_nothing)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_options_set_l0_compaction_trigger(o, 2);
	shale_options_set_background_threads(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	hooks_hold(&hk, HOOK_COMPACTION_BEGIN, 1);
	fill(db, &m, 0, 400, 1, 0);
	ck_assert_ok(db_flush_memtable(db));
	fill(db, &m, 200, 600, 2, 0);
	ck_assert_ok(db_flush_memtable(db));
	hooks_wait_held(&hk, HOOK_COMPACTION_BEGIN, 1);
	/* the compaction's fourth block read fails */
	add_rule(e, FAULT_READ, ".ldb", 3, 1, FAULT_EIO);
	hooks_release(&hk, HOOK_COMPACTION_BEGIN, 1);
	wait_bg_error(db, SHALE_EIO);
	ck_assert_int_eq(put_one(db, 0, "after", "x"), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".ldb"));
	ck_assert_int_eq(files_at(db, 0), 2); /* nothing installed */
	ck_assert_int_eq(files_at(db, 1), 0);
	model_check_db(&m, db, NULL); /* reads go on */
	ck_assert_ok(shale_close(db));
	ck_assert_int_eq(tables_in_dir(), 2); /* the outputs were removed */
	reopen_and_check(e, o, &m, 1);        /* flushed, so durable */
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

START_TEST(read_eio_in_a_flush_fails_the_next_write_and_loses_nothing)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	fill(db, &m, 0, 300, 1, 0);
	/* the flush reads its table back: that read fails */
	add_rule(e, FAULT_READ, ".ldb", 0, 1, FAULT_EIO);
	ck_assert_int_eq(db_flush_memtable(db), SHALE_EIO);
	ck_assert_int_eq(put_one(db, 0, "after", "x"), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".ldb"));
	ck_assert_int_eq(files_at(db, 0), 0); /* not installed */
	ck_assert_int_eq(tables_in_dir(), 0); /* and removed */
	model_check_db(&m, db, NULL);        /* still served from memory */
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 1); /* the WAL was synced at the switch */
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* A database in tables only (level 1), reopened so that no block is cached. */
static shale_db *tables_only(shale_options *o, struct model *m)
{
	shale_options_set_compression(o, SHALE_COMPRESSION_NONE); /* several tables */
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	fill(db, m, 0, 1000, 1, 0);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_int_gt(files_at(db, 1) + files_at(db, 2), 1);
	return db;
}

START_TEST(read_eio_in_an_iterator_invalidates_it_and_nothing_else)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	struct model m;
	model_init(&m);
	shale_db *db = tables_only(o, &m);
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_fill_cache(ro, 0);
	shale_iter *it = shale_iter_create(db, ro);
	size_t seen = 0;
	shale_iter_seek_first(it);
	for (; shale_iter_valid(it) && seen < 50; shale_iter_next(it), seen++) {
		size_t kl;
		const void *k = shale_iter_key(it, &kl);
		ck_assert(model_keycmp(k, kl, m.e[seen].key, m.e[seen].klen) == 0);
	}
	add_rule(e, FAULT_READ, ".ldb", 0, 1, FAULT_EIO);
	for (; shale_iter_valid(it); shale_iter_next(it), seen++) {
		size_t kl;
		const void *k = shale_iter_key(it, &kl);
		ck_assert(model_keycmp(k, kl, m.e[seen].key, m.e[seen].klen) == 0); /* never skips */
	}
	ck_assert_int_eq(shale_iter_status(it), SHALE_EIO);
	ck_assert_uint_lt(seen, m.n);
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);
	/* a read error is the reader's alone: writes and other reads go on */
	ck_assert_ok(put_one(db, 0, "after", "x"));
	model_put(&m, "after", 5, "x", 1);
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 0);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

START_TEST(read_eio_in_a_get_returns_it_and_nothing_else)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	struct model m;
	model_init(&m);
	shale_db *db = tables_only(o, &m);
	char k[32], v[200];
	size_t kl, vl;
	void *got;
	size_t glen;
	/* every table open and its index cached; block of key 25 not read */
	for (int i = 0; i < 1000; i += 50) {
		kv(i, 1, k, &kl, v, &vl);
		ck_assert_ok(shale_get(db, NULL, k, kl, &got, &glen));
		shale_free(got);
	}
	uint64_t reads = fault_env_count(e, FAULT_READ, ".ldb");
	add_rule(e, FAULT_READ, ".ldb", 0, 1, FAULT_EIO);
	kv(25, 1, k, &kl, v, &vl);
	ck_assert_int_eq(shale_get(db, NULL, k, kl, &got, &glen), SHALE_EIO);
	ck_assert_ptr_null(got);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".ldb"));
	ck_assert_uint_eq(fault_env_count(e, FAULT_READ, ".ldb"), reads + 1); /* a data block's pread */
	/* the same get again reads the block again, and succeeds */
	ck_assert_ok(shale_get(db, NULL, k, kl, &got, &glen));
	ck_assert(glen == vl && memcmp(got, v, vl) == 0);
	shale_free(got);
	ck_assert_ok(put_one(db, 0, "after", "x"));
	model_put(&m, "after", 5, "x", 1);
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 0);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* ---- EIO on syncs ---- */

START_TEST(table_sync_eio_in_a_flush_installs_nothing_and_is_sticky)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	fill(db, &m, 0, 300, 1, 0);
	add_rule(e, FAULT_SYNC, ".ldb", 0, 1, FAULT_EIO);
	ck_assert_int_eq(db_flush_memtable(db), SHALE_EIO);
	ck_assert_int_eq(put_one(db, 1, "after", "x"), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".ldb"));
	ck_assert_int_eq(files_at(db, 0), 0);
	ck_assert_int_eq(tables_in_dir(), 0); /* the table whose sync failed is gone */
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 1); /* from the WAL, synced at the switch */
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

START_TEST(table_sync_eio_in_a_compaction_installs_nothing_and_is_sticky)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_options_set_l0_compaction_trigger(o, 2);
	shale_options_set_background_threads(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	hooks_hold(&hk, HOOK_COMPACTION_BEGIN, 1);
	fill(db, &m, 0, 400, 1, 0);
	ck_assert_ok(db_flush_memtable(db));
	fill(db, &m, 200, 600, 2, 0);
	ck_assert_ok(db_flush_memtable(db));
	hooks_wait_held(&hk, HOOK_COMPACTION_BEGIN, 1);
	add_rule(e, FAULT_SYNC, ".ldb", 0, 1, FAULT_EIO);
	hooks_release(&hk, HOOK_COMPACTION_BEGIN, 1);
	wait_bg_error(db, SHALE_EIO);
	ck_assert_int_eq(put_one(db, 0, "after", "x"), SHALE_EIO);
	ck_assert_int_eq(files_at(db, 0), 2);
	ck_assert_int_eq(files_at(db, 1), 0);
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	ck_assert_int_eq(tables_in_dir(), 2);
	reopen_and_check(e, o, &m, 1);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* A table's sync fails for lack of space: the flush's retry writes the
 * table again under a new number (the failed file is gone, never synced
 * again), and a power cut then loses nothing. */
START_TEST(table_sync_enospc_in_a_flush_is_retried_in_a_new_file)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	fill(db, &m, 0, 300, 1, 0);
	add_rule(e, FAULT_SYNC, ".ldb", 0, 1, FAULT_ENOSPC);
	hooks_hold(&hk, HOOK_FLUSH_BEGIN, 2); /* the attempt and its retry */
	ck_assert_ok(db_write(db, 0, NULL, 0)); /* switch */
	hooks_wait_held(&hk, HOOK_FLUSH_BEGIN, 1);
	mutex_lock(&db->vs.mu);
	uint64_t first = db->imm_table_number;
	mutex_unlock(&db->vs.mu);
	hooks_release(&hk, HOOK_FLUSH_BEGIN, 1);
	hooks_wait_held(&hk, HOOK_FLUSH_BEGIN, 2); /* failed; the retry is held */
	ck_assert_int_eq(put_one(db, 0, "during", "x"), SHALE_ENOSPC);
	char failed[FNAME_MAX];
	fname_table(failed, dbtest_path, first);
	ck_assert_int_eq(env_exists(env_posix_default(), failed), 0);
	hooks_release(&hk, HOOK_FLUSH_BEGIN, 2);
	int rc;
	while ((rc = put_one(db, 1, "after", "x")) == SHALE_ENOSPC)
		usleep(1000); /* the retry finishes in the background */
	ck_assert_ok(rc);
	model_put(&m, "after", 5, "x", 1);
	mutex_lock(&db->vs.mu);
	ck_assert_int_eq(db->vs.current->nfiles[0], 1);
	uint64_t installed = db->vs.current->files[0][0]->number;
	mutex_unlock(&db->vs.mu);
	ck_assert_uint_ne(installed, first);
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, failed + strlen(dbtest_path)), 1);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 1);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* An output's sync fails for lack of space: the compaction backs off and is
 * retried with new outputs, no write fails meanwhile, and a power cut then
 * loses nothing. */
START_TEST(table_sync_enospc_in_a_compaction_is_retried_and_fails_no_write)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_options_set_l0_compaction_trigger(o, 2);
	shale_options_set_background_threads(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	hooks_hold(&hk, HOOK_COMPACTION_BEGIN, 1);
	fill(db, &m, 0, 400, 1, 0);
	ck_assert_ok(db_flush_memtable(db));
	fill(db, &m, 200, 600, 2, 0);
	ck_assert_ok(db_flush_memtable(db));
	hooks_wait_held(&hk, HOOK_COMPACTION_BEGIN, 1);
	int done = hooks_reached(&hk, HOOK_COMPACTION_DONE);
	add_rule(e, FAULT_SYNC, ".ldb", 0, 1, FAULT_ENOSPC);
	hooks_release(&hk, HOOK_COMPACTION_BEGIN, 1);
	hooks_wait_reached(&hk, HOOK_BG_RETRY, 1);
	fill(db, &m, 600, 650, 1, 1); /* writes go on */
	hooks_wait_reached(&hk, HOOK_COMPACTION_DONE, done + 1);
	ck_assert_int_eq(files_at(db, 0), 0);
	ck_assert_int_gt(files_at(db, 1), 0);
	mutex_lock(&db->vs.mu);
	int bg = db->bg_error;
	mutex_unlock(&db->vs.mu);
	ck_assert_int_eq(bg, 0);
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 1);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

START_TEST(manifest_sync_eio_is_sticky_and_loses_nothing)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	fill(db, &m, 0, 300, 1, 0);
	add_rule(e, FAULT_SYNC, "MANIFEST", 0, 1, FAULT_EIO);
	ck_assert_int_eq(db_flush_memtable(db), SHALE_EIO);
	ck_assert_int_eq(put_one(db, 1, "after", "x"), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "MANIFEST"));
	mutex_lock(&db->vs.mu);
	int broken = db->vs.manifest_broken;
	mutex_unlock(&db->vs.mu);
	ck_assert_int_eq(broken, 1); /* the next edit would start a new MANIFEST */
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	/* the power goes: the edit whose sync failed is zeros in the MANIFEST,
	 * the data is in the WAL (synced at the switch) */
	reopen_and_check(e, o, &m, 1);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* The sync of the MANIFEST fails for lack of space: the flush's retry logs
 * its edit to a new MANIFEST, and never syncs the old one again. */
START_TEST(manifest_sync_enospc_is_retried_in_a_new_manifest)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	fill(db, &m, 0, 300, 1, 0);
	mutex_lock(&db->vs.mu);
	uint64_t old = db->vs.manifest_file_number;
	mutex_unlock(&db->vs.mu);
	char old_path[FNAME_MAX];
	snprintf(old_path, sizeof(old_path), "MANIFEST-%06llu", (unsigned long long)old);
	uint64_t syncs = fault_env_count(e, FAULT_SYNC, old_path);
	add_rule(e, FAULT_SYNC, "MANIFEST", 0, 1, FAULT_ENOSPC);
	ck_assert_int_eq(db_flush_memtable(db), SHALE_ENOSPC);
	int rc;
	while ((rc = put_one(db, 1, "after", "x")) == SHALE_ENOSPC)
		usleep(1000); /* the flush thread's retry */
	ck_assert_ok(rc);
	model_put(&m, "after", 5, "x", 1);
	mutex_lock(&db->vs.mu);
	uint64_t now = db->vs.manifest_file_number;
	int l0 = db->vs.current->nfiles[0];
	mutex_unlock(&db->vs.mu);
	ck_assert_uint_ne(now, old);
	ck_assert_int_eq(l0, 1);
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, old_path), syncs + 1); /* the failed one only */
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 1);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* WAL sync fails with EIO. _i = 0: reopened as is, every acknowledged write
 * is there (the WAL still reads back); _i = 1: the power goes first, and
 * exactly the writes synced before the failure are there — what the failed
 * sync should have covered is lost for good, and nothing synced it again. */
START_TEST(wal_sync_eio_is_sticky_and_the_wal_is_never_synced_again)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model synced, acked;
	model_init(&synced);
	model_init(&acked);
	fill(db, &synced, 0, 50, 1, 0);
	fill(db, &synced, 50, 51, 1, 1); /* syncs all of them */
	model_copy(&acked, &synced);
	fill(db, &acked, 51, 70, 1, 0);
	char log[FNAME_MAX];
	mutex_lock(&db->vs.mu);
	fname_log(log, dbtest_path, db->logfile_number);
	mutex_unlock(&db->vs.mu);
	add_rule(e, FAULT_SYNC, ".log", 0, 1, FAULT_EIO);
	ck_assert_int_eq(put_one(db, 1, "failed", "x"), SHALE_EIO);
	uint64_t syncs = fault_env_count(e, FAULT_SYNC, log);
	ck_assert_int_eq(put_one(db, 0, "later", "x"), SHALE_EIO);
	ck_assert_int_eq(put_one(db, 1, "later", "x"), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".log"));
	ck_assert_int_eq(shale_compact_range(db, NULL, 0, NULL, 0), SHALE_EIO);
	model_check_db(&acked, db, NULL); /* reads go on */
	ck_assert_ok(shale_close(db));
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, log), syncs);
	/* "failed" was never acknowledged: it may or may not be there after a
	 * clean reopen (its record reached the WAL); after a power cut it is not */
	if (_i == 0) {
		fault_env_clear_rules(e);
		options_set_test_hooks(o, NULL);
		ck_assert_ok(shale_open(dbtest_path, o, &db));
		void *v;
		size_t vl;
		if (shale_get(db, NULL, "failed", 6, &v, &vl) == 0) {
			shale_free(v);
			model_put(&acked, "failed", 6, "x", 1);
		}
		model_check_db(&acked, db, NULL);
		ck_assert_ok(shale_close(db));
	} else {
		reopen_and_check(e, o, &synced, 1);
	}
	model_free(&synced);
	model_free(&acked);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* WAL sync fails with ENOSPC: the WAL is abandoned, never synced again, and
 * its memtable — every write acknowledged before, synced or not — goes to a
 * table before writes resume. A power cut then loses none of them, though
 * the abandoned WAL lost what its failed sync should have made durable. */
START_TEST(wal_sync_enospc_abandons_the_wal_and_flushes_its_memtable)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	fill(db, &m, 0, 50, 1, 0);
	fill(db, &m, 50, 51, 1, 1);
	fill(db, &m, 51, 70, 1, 0);
	char log[FNAME_MAX];
	mutex_lock(&db->vs.mu);
	fname_log(log, dbtest_path, db->logfile_number);
	mutex_unlock(&db->vs.mu);
	add_rule(e, FAULT_SYNC, ".log", 0, 1, FAULT_ENOSPC);
	ck_assert_int_eq(put_one(db, 1, "failed", "x"), SHALE_ENOSPC);
	uint64_t syncs = fault_env_count(e, FAULT_SYNC, log);
	int rc;
	while ((rc = put_one(db, 1, "after", "x")) == SHALE_ENOSPC)
		usleep(1000); /* the flush thread replaces the WAL and flushes */
	ck_assert_ok(rc);
	model_put(&m, "after", 5, "x", 1);
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, log), syncs);
	ck_assert_int_eq(files_at(db, 0), 1);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 1);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* The directory sync fails with EIO at a memtable switch and flush, at
 * each of the points that sync it: _i / 2 = 0, the new WAL's entry; 1, the
 * flushed table's; 2, a new MANIFEST's, before CURRENT names it; 3, after
 * CURRENT was renamed. The flush fails, writes fail after it, reads go on,
 * and after a power cut (directory changes: a random prefix, _i odd: any
 * subset) every synced write is there. */
START_TEST(dir_sync_eio_fails_the_flush_and_loses_nothing)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 1 << 20);
	options_set_max_manifest_size(o, 1); /* every edit writes a new MANIFEST and renames CURRENT */
	fault_env_set_crash_model(e, _i % 2 ? FAULT_DIR_SUBSET : FAULT_DIR_PREFIX, FAULT_DATA_PREFIX, 77 + (uint64_t)_i);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct model m;
	model_init(&m);
	fill(db, &m, 0, 100, 1, 1);
	add_rule(e, FAULT_SYNC_DIR, NULL, _i / 2, 1, FAULT_EIO);
	int rc = db_flush_memtable(db);
	ck_assert_int_eq(rc, SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "fsync directory"));
	ck_assert_int_eq(put_one(db, 1, "after", "x"), SHALE_EIO);
	model_check_db(&m, db, NULL);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 1);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* ---- ENOSPC in compactions ---- */

static int disk_full;

/* Appends to tables fail with ENOSPC in the compaction threads only: the
 * flushes (their own thread) still have room. */
static int full_for_compactions(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq)
{
	(void)arg;
	(void)e;
	(void)seq;
	if (__atomic_load_n(&disk_full, __ATOMIC_SEQ_CST) && compaction_thread && op == FAULT_APPEND &&
	    strstr(path, ".ldb"))
		return FAULT_ENOSPC;
	return FAULT_NONE;
}

struct writer_run {
	shale_db *db;
	int n;
	int done;       /* writes finished (atomic) */
	int first_error;
};

static void *writer_main(void *arg)
{
	struct writer_run *w = arg;
	char k[32], v[200];
	size_t kl, vl;
	for (int i = 0; i < w->n; i++) {
		kv(i % 3000, i / 3000, k, &kl, v, &vl);
		int rc = shale_put(w->db, NULL, k, kl, v, vl);
		if (rc) {
			w->first_error = rc;
			break;
		}
		__atomic_store_n(&w->done, i + 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void backoff_figures(shale_db *db, unsigned long long *failures, double *backoff)
{
	char *s = shale_property(db, "shale.stats");
	ck_assert_ptr_nonnull(s);
	const char *p = strstr(s, "failed for lack of space: ");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p, "failed for lack of space: %llu (back-off %lf s)", failures, backoff), 2);
	shale_free(s);
}

START_TEST(enospc_in_compactions_fails_no_write_while_writes_go_on)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 32 * 1024);
	shale_options_set_l0_compaction_trigger(o, 2);
	shale_options_set_l0_slowdown_trigger(o, 4);
	shale_options_set_l0_stop_trigger(o, 6);
	fault_env_set_hook(e, full_for_compactions, NULL);
	__atomic_store_n(&disk_full, 1, __ATOMIC_SEQ_CST);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct writer_run w = { db, 12000, 0, 0 };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
	/* compactions fail again and again; the writer goes on until level 0
	 * reaches its stop trigger, and waits there */
	hooks_wait_reached(&hk, HOOK_BG_RETRY, 4);
	hooks_wait_reached(&hk, HOOK_WRITER_STOPPED, 1);
	ck_assert_int_ge(files_at(db, 0), 6);
	int held_at = __atomic_load_n(&w.done, __ATOMIC_SEQ_CST);
	ck_assert_int_lt(held_at, w.n);
	ck_assert_int_eq(w.first_error, 0);
	mutex_lock(&db->vs.mu);
	int bg = db->bg_error;
	mutex_unlock(&db->vs.mu);
	ck_assert_int_eq(bg, 0); /* no background error: the failures are only retried */
	unsigned long long failures;
	double backoff;
	backoff_figures(db, &failures, &backoff);
	ck_assert_uint_ge(failures, 4);
	ck_assert(backoff >= 0.002); /* it grew from bg_retry_micros (1 ms) */
	/* reads go on meanwhile */
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "key000000", 9, &v, &vl));
	shale_free(v);
	/* room again: the compactions catch up and the writer finishes */
	__atomic_store_n(&disk_full, 0, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(w.first_error, 0);
	ck_assert_int_eq(w.done, w.n);
	struct model m;
	model_init(&m);
	char k[32], val[200];
	size_t kl;
	for (int i = 0; i < w.n; i++) {
		kv(i % 3000, i / 3000, k, &kl, val, &vl);
		model_put(&m, k, kl, val, vl);
	}
	model_check_db(&m, db, NULL);
	backoff_figures(db, &failures, &backoff);
	ck_assert_ok(shale_close(db));
	reopen_and_check(e, o, &m, 0);
	model_free(&m);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* Close does not wait for the back-off: a writer held at the stop trigger
 * while compactions back off (here for a minute) gives up with
 * SHALE_ECLOSED and close returns. A hang is the test's timeout. */
START_TEST(close_returns_while_a_writer_waits_at_the_stop_trigger)
{
	struct env *e = fault_env();
	shale_options *o = options(e, 32 * 1024);
	shale_options_set_l0_compaction_trigger(o, 2);
	shale_options_set_l0_slowdown_trigger(o, 2);
	shale_options_set_l0_stop_trigger(o, 3);
	options_set_bg_retry_micros(o, 60 * 1000000ull);
	fault_env_set_hook(e, full_for_compactions, NULL);
	__atomic_store_n(&disk_full, 1, __ATOMIC_SEQ_CST);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct writer_run w = { db, 100000, 0, 0 };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
	/* the writer comes to wait at the stop trigger, and stays: nothing can
	 * drain level 0 (it reached the hook under the mutex, so it is waiting
	 * once close holds the mutex) */
	hooks_wait_reached(&hk, HOOK_WRITER_STOPPED, 1);
	ck_assert_ok(shale_close(db));
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(w.first_error, SHALE_ECLOSED);
	ck_assert_int_lt(w.done, w.n);
	__atomic_store_n(&disk_full, 0, __ATOMIC_SEQ_CST);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db_faults");
	TCase *tc = tcase_create("reads");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, read_eio_in_a_compaction_fails_the_next_write_and_loses_nothing);
	tcase_add_test(tc, read_eio_in_a_flush_fails_the_next_write_and_loses_nothing);
	tcase_add_test(tc, read_eio_in_an_iterator_invalidates_it_and_nothing_else);
	tcase_add_test(tc, read_eio_in_a_get_returns_it_and_nothing_else);
	suite_add_tcase(s, tc);

	tc = tcase_create("syncs");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, table_sync_eio_in_a_flush_installs_nothing_and_is_sticky);
	tcase_add_test(tc, table_sync_eio_in_a_compaction_installs_nothing_and_is_sticky);
	tcase_add_test(tc, table_sync_enospc_in_a_flush_is_retried_in_a_new_file);
	tcase_add_test(tc, table_sync_enospc_in_a_compaction_is_retried_and_fails_no_write);
	tcase_add_test(tc, manifest_sync_eio_is_sticky_and_loses_nothing);
	tcase_add_test(tc, manifest_sync_enospc_is_retried_in_a_new_manifest);
	tcase_add_loop_test(tc, wal_sync_eio_is_sticky_and_the_wal_is_never_synced_again, 0, 2);
	tcase_add_test(tc, wal_sync_enospc_abandons_the_wal_and_flushes_its_memtable);
	tcase_add_loop_test(tc, dir_sync_eio_fails_the_flush_and_loses_nothing, 0, 8);
	suite_add_tcase(s, tc);

	tc = tcase_create("space");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, enospc_in_compactions_fails_no_write_while_writes_go_on);
	tcase_add_test(tc, close_returns_while_a_writer_waits_at_the_stop_trigger);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
