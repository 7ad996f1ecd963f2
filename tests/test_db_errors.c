/* Background errors: what stays sticky, what a retry clears, and the
 * orderings that must hold meanwhile (regression tests for a review's
 * findings). Threads meet at test hooks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/db/db_impl.h"
#include "lib/db/options.h"
#include "lib/testing/env_fault.h"
#include "tests/dbtest.h"
#include "tests/hooks.h"
#include "tests/testutil.h"

/* Compactions and flushes are held at their start (tests/hooks.h). */
static struct hooks hk = HOOKS_INITIALIZER(hk);

static shale_options *options(struct env *e)
{
	shale_options *o = dbtest_options(1 << 20, 64 * 1024, 256 * 1024);
	options_set_env(o, e);
	options_set_bg_retry_micros(o, 1000);
	options_set_test_hooks(o, &hk.db);
	hooks_reset(&hk);
	return o;
}

static struct env *fault_env(void)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	return e;
}

static int present(shale_db *db, const char *k)
{
	void *v;
	size_t vl;
	int rc = shale_get(db, NULL, k, strlen(k), &v, &vl);
	ck_assert_msg(rc == 0 || rc == SHALE_NOTFOUND, "get %s: %s", k, shale_errmsg());
	if (rc == 0)
		shale_free(v);
	return rc == 0;
}

/* Two overlapping level-0 files, so that a compaction starts (and is held). */
static void two_level0_files(shale_db *db)
{
	ck_assert_ok(shale_put(db, NULL, "a", 1, "1", 1));
	ck_assert_ok(shale_put(db, NULL, "b", 1, "1", 1));
	ck_assert_ok(db_flush_memtable(db));
	ck_assert_ok(shale_put(db, NULL, "a", 1, "2", 1));
	ck_assert_ok(shale_put(db, NULL, "b", 1, "2", 1));
	ck_assert_ok(db_flush_memtable(db));
}

/* A WAL that failed with ENOSPC: no later write may become durable before
 * the broken WAL's memtable is in a table, not even when a compaction
 * succeeds meanwhile; and the failed group's sequence is not reused. */
START_TEST(soft_wal_error_stays_until_the_broken_wals_memtable_is_flushed)
{
	struct env *e = fault_env();
	shale_options *o = options(e);
	shale_options_set_l0_compaction_trigger(o, 2);
	shale_options_set_background_threads(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	hooks_hold(&hk, HOOK_COMPACTION_BEGIN, 1);
	two_level0_files(db);
	hooks_wait_held(&hk, HOOK_COMPACTION_BEGIN, 1);

	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	ck_assert_ok(shale_put(db, NULL, "x", 1, "earlier", 7));
	hooks_hold(&hk, HOOK_FLUSH_BEGIN, 1);
	struct fault_rule r = { .ops = FAULT_SYNC, .path_contains = ".log", .count = 1, .kind = FAULT_ENOSPC };
	ck_assert_ok(fault_env_add_rule(e, &r));
	mutex_lock(&db->vs.mu);
	uint64_t failed_seq = db->vs.last_sequence + 1;
	mutex_unlock(&db->vs.mu);
	ck_assert_int_eq(shale_put(db, wo, "k", 1, "A", 1), SHALE_ENOSPC);
	hooks_wait_held(&hk, HOOK_FLUSH_BEGIN, 1); /* the broken WAL was replaced; its memtable's flush is held */

	/* a compaction succeeds meanwhile: the error must stay */
	hooks_release(&hk, HOOK_COMPACTION_BEGIN, 1);
	hooks_wait_reached(&hk, HOOK_COMPACTION_DONE, 1);
	ck_assert_int_eq(shale_put(db, wo, "k", 1, "B", 1), SHALE_ENOSPC);

	/* once the flush is done the error clears, and sequences moved on */
	hooks_release(&hk, HOOK_FLUSH_BEGIN, 1);
	int rc;
	while ((rc = shale_put(db, wo, "k", 1, "C", 1)) == SHALE_ENOSPC)
		usleep(1000); /* the flush thread's retry finishes in the background */
	ck_assert_ok(rc);
	mutex_lock(&db->vs.mu);
	ck_assert_uint_gt(db->vs.last_sequence, failed_seq);
	mutex_unlock(&db->vs.mu);
	ck_assert_int_eq(present(db, "x"), 1);
	ck_assert_ok(shale_close(db));

	/* and after a power loss now, "x" (flushed) and "k"=C (synced) are there */
	fault_env_freeze(e);
	ck_assert_ok(fault_env_crash(e));
	options_set_test_hooks(o, NULL);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_int_eq(present(db, "x"), 1);
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "k", 1, &v, &vl));
	ck_assert(vl == 1 && ((char *)v)[0] == 'C');
	shale_free(v);
	ck_assert_ok(shale_close(db));
	shale_writeopts_destroy(wo);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* A failed MANIFEST write in shale_compact_range is sticky, as in the background. */
START_TEST(failed_manifest_write_in_compact_range_is_sticky)
{
	struct env *e = fault_env();
	shale_options *o = options(e);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	two_level0_files(db);
	struct fault_rule r = { .ops = FAULT_SYNC, .path_contains = "MANIFEST", .count = 1, .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &r));
	ck_assert_int_eq(shale_compact_range(db, NULL, 0, NULL, 0), SHALE_EIO);
	ck_assert_int_eq(shale_put(db, NULL, "c", 1, "1", 1), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "MANIFEST"));
	ck_assert_int_eq(present(db, "a"), 1); /* reads go on */
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db)); /* reopen clears it */
	ck_assert_ok(shale_put(db, NULL, "c", 1, "1", 1));
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* After the flush's MANIFEST write failed at the directory sync that follows
 * the CURRENT rename, the retry must not rewrite the table that MANIFEST may
 * name. Power lost during the retry: the data are all there. */
static int dir_fail_armed, renamed;

static int fail_dir_sync_after_rename(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq)
{
	(void)arg;
	(void)e;
	(void)path;
	(void)seq;
	if (dir_fail_armed && op == FAULT_RENAME)
		renamed = 1;
	if (dir_fail_armed && renamed && op == FAULT_SYNC_DIR) {
		dir_fail_armed = 0;
		return FAULT_ENOSPC;
	}
	return FAULT_NONE;
}

START_TEST(flush_retry_after_failed_manifest_write_uses_a_new_table)
{
	struct env *e = fault_env();
	fault_env_set_hook(e, fail_dir_sync_after_rename, NULL);
	shale_options *o = options(e);
	options_set_max_manifest_size(o, 1); /* every edit starts a MANIFEST and renames CURRENT */
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	char k[16], v[200];
	memset(v, 'v', sizeof(v));
	for (int i = 0; i < 500; i++) {
		snprintf(k, sizeof(k), "key%05d", i);
		ck_assert_ok(shale_put(db, NULL, k, strlen(k), v, sizeof(v)));
	}
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	ck_assert_ok(shale_put(db, wo, "last", 4, "synced", 6));
	hooks_hold(&hk, HOOK_FLUSH_BEGIN, 2); /* the first attempt and its retry */
	renamed = 0;
	dir_fail_armed = 1;
	ck_assert_ok(db_write(db, 0, NULL, 0)); /* switch: the flush starts and is held */
	hooks_wait_held(&hk, HOOK_FLUSH_BEGIN, 1);
	mutex_lock(&db->vs.mu);
	uint64_t first = db->imm_table_number;
	mutex_unlock(&db->vs.mu);
	hooks_release(&hk, HOOK_FLUSH_BEGIN, 1);
	hooks_wait_held(&hk, HOOK_FLUSH_BEGIN, 2); /* the first attempt failed; the retry is held */
	mutex_lock(&db->vs.mu);
	ck_assert(db->vs.manifest_broken);
	ck_assert_uint_ne(db->imm_table_number, first);
	mutex_unlock(&db->vs.mu);
	/* whatever a directory sync makes durable now, then the power goes */
	ck_assert_ok(env_sync_dir(e, dbtest_path));
	fault_env_freeze(e);
	hooks_release(&hk, HOOK_FLUSH_BEGIN, 2);
	shale_close(db);
	ck_assert_ok(fault_env_crash(e));
	fault_env_set_hook(e, NULL, NULL);
	options_set_test_hooks(o, NULL);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_int_eq(present(db, "key00001"), 1);
	ck_assert_int_eq(present(db, "last"), 1);
	ck_assert_ok(shale_close(db));
	shale_writeopts_destroy(wo);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* A read-triggered compaction that fails with ENOSPC fails no write: it is
 * retried after a back-off, and once the disk has room the same target is
 * compacted. */
START_TEST(failed_read_triggered_compaction_is_retried)
{
	struct env *e = fault_env();
	shale_options *o = options(e);
	shale_options_set_background_threads(o, 1); /* only the retry can clear it */
	/* without filters every file a read looks in reads a block: a seek wasted */
	shale_options_set_bloom_bits_per_key(o, 0);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	for (int i = 0; i < 26; i++) {
		char k[2] = { (char)('a' + i), 0 };
		ck_assert_ok(shale_put(db, NULL, k, 1, "1", 1));
	}
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_ok(shale_put(db, NULL, "a", 1, "2", 1));
	ck_assert_ok(shale_put(db, NULL, "z", 1, "2", 1));
	ck_assert_ok(db_flush_memtable(db)); /* one level-0 file spanning a..z above them */
	/* reads of "m" look in both files until the level-0 file's allowance
	 * runs out and its compaction is picked (and held) */
	hooks_hold(&hk, HOOK_COMPACTION_BEGIN, 1);
	while (hooks_held(&hk, HOOK_COMPACTION_BEGIN) == 0)
		present(db, "m");
	/* the disk is full when it runs: it fails, and no read renews the target */
	struct fault_rule full = { .ops = FAULT_APPEND, .path_contains = ".ldb", .count = -1, .kind = FAULT_ENOSPC };
	ck_assert_ok(fault_env_add_rule(e, &full));
	hooks_release(&hk, HOOK_COMPACTION_BEGIN, 1);
	hooks_wait_reached(&hk, HOOK_BG_RETRY, 2); /* failed twice: backing off */
	/* writes are not failed meanwhile */
	ck_assert_ok(shale_put(db, NULL, "x", 1, "1", 1));
	mutex_lock(&db->vs.mu);
	ck_assert_int_eq(db->bg_error, 0);
	mutex_unlock(&db->vs.mu);
	int done = hooks_reached(&hk, HOOK_COMPACTION_DONE);
	fault_env_clear_rules(e); /* room again: the retry compacts the same target */
	hooks_wait_reached(&hk, HOOK_COMPACTION_DONE, done + 1);
	char *files = shale_property(db, "shale.num-files-at-level0");
	ck_assert_str_eq(files, "0");
	shale_free(files);
	ck_assert_ok(shale_put(db, NULL, "y", 1, "1", 1));
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* Close returns while the disk stays full: the flush thread's WAL
 * replacement does not wait for level 0 to drain. */
START_TEST(close_returns_while_the_disk_stays_full)
{
	struct env *e = fault_env();
	shale_options *o = options(e);
	shale_options_set_l0_compaction_trigger(o, 2);
	shale_options_set_l0_slowdown_trigger(o, 2);
	shale_options_set_l0_stop_trigger(o, 2);
	shale_options_set_background_threads(o, 1);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	hooks_hold(&hk, HOOK_COMPACTION_BEGIN, 1);
	two_level0_files(db);
	hooks_wait_held(&hk, HOOK_COMPACTION_BEGIN, 1);
	struct fault_rule r = { .ops = FAULT_SYNC, .path_contains = ".log", .count = 1, .kind = FAULT_ENOSPC };
	ck_assert_ok(fault_env_add_rule(e, &r));
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	int before = hooks_reached(&hk, HOOK_WRITER_QUEUED);
	ck_assert_int_eq(shale_put(db, wo, "c", 1, "1", 1), SHALE_ENOSPC);
	/* the flush thread's WAL replacement joins the writers' queue while
	 * level 0 is at its stop trigger */
	hooks_wait_reached(&hk, HOOK_WRITER_QUEUED, before + 2);
	struct fault_rule full = { .ops = FAULT_APPEND, .path_contains = ".ldb", .count = -1, .kind = FAULT_ENOSPC };
	ck_assert_ok(fault_env_add_rule(e, &full));
	hooks_release(&hk, HOOK_COMPACTION_BEGIN, 1);
	ck_assert_ok(shale_close(db)); /* a hang here is the test's timeout */
	shale_writeopts_destroy(wo);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db_errors");
	TCase *tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, soft_wal_error_stays_until_the_broken_wals_memtable_is_flushed);
	tcase_add_test(tc, failed_manifest_write_in_compact_range_is_sticky);
	tcase_add_test(tc, flush_retry_after_failed_manifest_write_uses_a_new_table);
	tcase_add_test(tc, failed_read_triggered_compaction_is_retried);
	tcase_add_test(tc, close_returns_while_the_disk_stays_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
