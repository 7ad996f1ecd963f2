/* Threads: group commit, readers racing with writers, flushes and
 * compactions, and compactions running at the same time. Runs under
 * ThreadSanitizer. Threads meet at test hooks, never at sleeps. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_compact.h"
#include "lib/db/db_impl.h"
#include "lib/db/options.h"
#include "lib/testing/env_fault.h"
#include "tests/dbtest.h"
#include "tests/hooks.h"
#include "tests/testutil.h"

static shale_options *small_options(void)
{
	return dbtest_options(32 * 1024, 32 * 1024, 128 * 1024);
}

/* Threads are held and counted at hook points (tests/hooks.h). */
static struct hooks hk = HOOKS_INITIALIZER(hk);

/* ---- group commit ---- */

#define WRITERS 8

static shale_db *group_db;

static void *sync_writer(void *arg)
{
	long i = (long)arg;
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	char k[16];
	snprintf(k, sizeof(k), "w%ld", i);
	int rc = shale_put(group_db, wo, k, strlen(k), "v", 1);
	shale_writeopts_destroy(wo);
	return (void *)(long)rc;
}

START_TEST(group_commit_syncs_once_for_the_group)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *o = small_options();
	options_set_env(o, e);
	options_set_test_hooks(o, &hk.db);
	hooks_reset(&hk);
	ck_assert_ok(shale_open(dbtest_path, o, &group_db));
	fault_env_reset_counts(e);

	/* the first leader is held until every writer is in the queue */
	hooks_hold(&hk, HOOK_LEADER_BEFORE_GROUP, 1);
	int queued_before = hooks_reached(&hk, HOOK_WRITER_QUEUED);
	pthread_t t[WRITERS];
	for (long i = 0; i < WRITERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, sync_writer, (void *)i), 0);
	hooks_wait_held(&hk, HOOK_LEADER_BEFORE_GROUP, 1);
	hooks_wait_reached(&hk, HOOK_WRITER_QUEUED, queued_before + WRITERS);
	hooks_release(&hk, HOOK_LEADER_BEFORE_GROUP, 1);
	for (int i = 0; i < WRITERS; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		ck_assert_int_eq((long)rc, 0);
	}
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, ".log"), 1);
	for (int i = 0; i < WRITERS; i++) {
		char k[16];
		snprintf(k, sizeof(k), "w%d", i);
		void *v;
		size_t vl;
		ck_assert_ok(shale_get(group_db, NULL, k, strlen(k), &v, &vl));
		shale_free(v);
	}
	ck_assert_ok(shale_close(group_db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* ---- readers racing with writes, flushes and compactions ---- */

/* The writer writes key i = "k%06d" with value "v%d" for increasing i and
 * publishes how far it got; each counter value is also stored under "count"
 * in the same batch. Any consistent view holds keys 0..n-1 and count = n. */
struct race {
	shale_db *db;
	int stop;
	long written;
	int failures;
	char fail_msg[256];
};

static void race_fail(struct race *r, const char *msg)
{
	if (__atomic_add_fetch(&r->failures, 1, __ATOMIC_SEQ_CST) == 1)
		snprintf(r->fail_msg, sizeof(r->fail_msg), "%s (%s)", msg, shale_errmsg());
}

#define RACE_MAX_WRITES 6000
#define RACE_MIN_WRITES 2000

static void *race_writer(void *arg)
{
	struct race *r = arg;
	shale_batch *b = shale_batch_create();
	for (long i = 0; !__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST) && i < RACE_MAX_WRITES; i++) {
		char k[32], v[80], c[32];
		int kl = snprintf(k, sizeof(k), "k%06ld", i);
		int vl = snprintf(v, sizeof(v), "v%ld-%040d", i, 0);
		int cl = snprintf(c, sizeof(c), "%ld", i + 1);
		shale_batch_clear(b);
		shale_batch_put(b, k, (size_t)kl, v, (size_t)vl);
		shale_batch_put(b, "count", 5, c, (size_t)cl);
		if (shale_write(r->db, NULL, b) != 0) {
			race_fail(r, "write failed");
			break;
		}
		__atomic_store_n(&r->written, i + 1, __ATOMIC_SEQ_CST);
	}
	shale_batch_destroy(b);
	return NULL;
}

/* Checks one snapshot: "count" = n and keys k000000.. k(n-1) exactly. */
static void check_view(struct race *r, const shale_snapshot *snap, int reverse)
{
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_snapshot(ro, snap);
	void *v;
	size_t vl;
	long n = 0;
	int rc = shale_get(r->db, ro, "count", 5, &v, &vl);
	if (rc == 0) {
		char tmp[32];
		memcpy(tmp, v, vl < 31 ? vl : 31);
		tmp[vl < 31 ? vl : 31] = '\0';
		n = atol(tmp);
		shale_free(v);
	} else if (rc != SHALE_NOTFOUND) {
		race_fail(r, "get count failed");
	}
	shale_readopts_set_upper_bound(ro, "l", 1);
	shale_iter *it = shale_iter_create(r->db, ro);
	long seen = 0;
	if (!reverse) {
		for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it)) {
			size_t kl;
			const char *k = shale_iter_key(it, &kl);
			if (k[0] == 'c')
				continue; /* "count" */
			char want[32];
			snprintf(want, sizeof(want), "k%06ld", seen);
			if (kl != strlen(want) || memcmp(k, want, kl) != 0) {
				race_fail(r, "forward scan out of order or with a gap");
				break;
			}
			seen++;
		}
	} else {
		for (shale_iter_seek_last(it); shale_iter_valid(it); shale_iter_prev(it)) {
			size_t kl;
			const char *k = shale_iter_key(it, &kl);
			if (k[0] == 'c')
				continue;
			char want[32];
			snprintf(want, sizeof(want), "k%06ld", n - 1 - seen);
			if (kl != strlen(want) || memcmp(k, want, kl) != 0) {
				race_fail(r, "reverse scan out of order or with a gap");
				break;
			}
			seen++;
		}
	}
	if (shale_iter_status(it) != 0)
		race_fail(r, "iterator error");
	if (seen != n)
		race_fail(r, "scan count differs from the snapshot's count");
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	struct rng g;
	rng_seed(&g, (uint64_t)pthread_self());
	/* at least 60 rounds, and on until the writer has made enough history
	 * (however the threads happen to be scheduled) */
	for (int round = 0; round < 60 || (__atomic_load_n(&r->written, __ATOMIC_SEQ_CST) < RACE_MIN_WRITES &&
	                                   !__atomic_load_n(&r->failures, __ATOMIC_SEQ_CST));
	     round++) {
		const shale_snapshot *snap = shale_snapshot_create(r->db);
		if (snap == NULL) {
			race_fail(r, "snapshot");
			break;
		}
		check_view(r, snap, round & 1);
		/* point reads of keys already written must succeed */
		long written = __atomic_load_n(&r->written, __ATOMIC_SEQ_CST);
		for (int j = 0; written > 0 && j < 20; j++) {
			char k[32];
			long i = (long)rng_uniform(&g, (uint64_t)written);
			snprintf(k, sizeof(k), "k%06ld", i);
			void *v;
			size_t vl;
			if (shale_get(r->db, NULL, k, strlen(k), &v, &vl) != 0) {
				race_fail(r, "a written key is missing");
				break;
			}
			shale_free(v);
		}
		shale_snapshot_release(r->db, snap);
	}
	return NULL;
}

START_TEST(readers_snapshots_iterators_race_with_writes_flushes_compactions)
{
	shale_options *o = small_options();
	/* many blocks per table: the scans run long enough in each table to have
	 * blocks decoded ahead by the scan worker while flushes and compactions
	 * replace the tables */
	shale_options_set_block_size(o, 256);
	struct race r;
	memset(&r, 0, sizeof(r));
	ck_assert_ok(shale_open(dbtest_path, o, &r.db));
	pthread_t w, rd[3];
	ck_assert_int_eq(pthread_create(&w, NULL, race_writer, &r), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&rd[i], NULL, race_reader, &r), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(rd[i], NULL);
	__atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(w, NULL);
	ck_assert_msg(r.failures == 0, "%d failures, first: %s", r.failures, r.fail_msg);
	ck_assert_int_ge(r.written, RACE_MIN_WRITES);
	char *p = shale_property(r.db, "shale.stats");
	ck_assert_ptr_nonnull(p);
	shale_free(p);
	ck_assert_ok(shale_close(r.db));
	shale_options_destroy(o);
}
END_TEST

/* ---- two compactions at once, and a flush while both are held ---- */

static void put_part(shale_db *db, int part, const char *val)
{
	for (int i = 0; i < 300; i++) {
		char k[32];
		int kl = snprintf(k, sizeof(k), "p%d-%05d", part, i);
		ck_assert_ok(shale_put(db, NULL, k, (size_t)kl, val, strlen(val)));
	}
}

static void compact_part(shale_db *db, int level, int part)
{
	char b[16], e[16];
	snprintf(b, sizeof(b), "p%d", part);
	snprintf(e, sizeof(e), "p%d.", part);
	struct slice bs = slice_from_str(b), es = slice_from_str(e);
	mutex_lock(&db->vs.mu);
	int rc = db_compact_level(db, level, &bs, &es);
	mutex_unlock(&db->vs.mu);
	ck_assert_ok(rc);
}

START_TEST(two_compactions_run_at_once_and_a_flush_completes_meanwhile)
{
	/* Setup, with automatic compaction kept away by huge budgets: eight
	 * disjoint parts, each in level 2 and again (newer) in level 1. */
	shale_options *o = small_options();
	shale_options_set_max_bytes_for_level_base(o, 1ull << 40);
	shale_options_set_l0_compaction_trigger(o, 100);
	shale_options_set_l0_slowdown_trigger(o, 200);
	shale_options_set_l0_stop_trigger(o, 300);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	char v1[200], v2[200];
	memset(v1, 'a', sizeof(v1) - 1);
	v1[sizeof(v1) - 1] = '\0';
	memset(v2, 'b', sizeof(v2) - 1);
	v2[sizeof(v2) - 1] = '\0';
	for (int part = 0; part < 8; part++) {
		put_part(db, part, v1);
		ck_assert_ok(db_flush_memtable(db));
		compact_part(db, 0, part);
		compact_part(db, 1, part);
	}
	for (int part = 0; part < 8; part++) {
		put_part(db, part, v2);
		ck_assert_ok(db_flush_memtable(db));
		compact_part(db, 0, part);
	}
	char *n1 = shale_property(db, "shale.num-files-at-level1");
	char *n2 = shale_property(db, "shale.num-files-at-level2");
	ck_assert_int_ge(atoi(n1), 8);
	ck_assert_int_ge(atoi(n2), 8);
	shale_free(n1);
	shale_free(n2);
	ck_assert_ok(shale_close(db));

	/* Reopen with a tiny level-1 budget: two threads pick two parts and
	 * are held inside their merges until both are there. */
	shale_options_set_max_bytes_for_level_base(o, 16 * 1024);
	shale_options_set_background_threads(o, 2);
	options_set_test_hooks(o, &hk.db);
	hooks_reset(&hk);
	hooks_hold(&hk, HOOK_COMPACTION_BEGIN, HOOKS_EVERY);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	hooks_wait_held(&hk, HOOK_COMPACTION_BEGIN, 2);
	int flushes_before = hooks_reached(&hk, HOOK_FLUSH_DONE);

	/* both compactions are inside their merge: a flush still completes */
	for (int i = 0; i < 300; i++) {
		char k[32];
		int kl = snprintf(k, sizeof(k), "q-%05d", i);
		ck_assert_ok(shale_put(db, NULL, k, (size_t)kl, v1, sizeof(v1) - 1));
	}
	ck_assert_ok(db_flush_memtable(db));
	ck_assert_int_gt(hooks_reached(&hk, HOOK_FLUSH_DONE), flushes_before);
	ck_assert_int_eq(hooks_max_waiting(&hk, HOOK_COMPACTION_BEGIN), 2);
	hooks_release_all(&hk, HOOK_COMPACTION_BEGIN);

	/* the newest values everywhere, after everything settles */
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	for (int part = 0; part < 8; part++)
		for (int i = 0; i < 300; i += 37) {
			char k[32];
			int kl = snprintf(k, sizeof(k), "p%d-%05d", part, i);
			void *got;
			size_t gl;
			ck_assert_ok(shale_get(db, NULL, k, (size_t)kl, &got, &gl));
			ck_assert(gl == sizeof(v2) - 1 && memcmp(got, v2, gl) == 0);
			shale_free(got);
		}
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* ---- what a flush lets go ---- */

static void *run_flush(void *arg)
{
	return (void *)(long)db_flush_memtable(arg);
}

static int parked(shale_db *db)
{
	mutex_lock(&db->vs.mu);
	int r = db->park.it != NULL;
	mutex_unlock(&db->vs.mu);
	return r;
}

/* A flush makes the read view and the parked iterator tree stale; both hold
 * the flushed memtable. They are freed with the DB mutex released: while
 * the thread freeing them is held there, writes, reads and iterators go on
 * (each of which takes the mutex), and nothing is left to free after. */
START_TEST(stale_views_and_trees_are_freed_outside_the_mutex)
{
	shale_options *o = small_options();
	options_set_test_hooks(o, &hk.db);
	hooks_reset(&hk);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	for (int i = 0; i < 50; i++) {
		char k[16];
		int kl = snprintf(k, sizeof(k), "k%03d", i);
		ck_assert_ok(shale_put(db, NULL, k, (size_t)kl, "old", 3));
	}
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "k007", 4, &v, &vl)); /* makes the read view */
	shale_free(v);
	shale_iter *it = shale_iter_create(db, NULL);
	ck_assert_ptr_nonnull(it);
	shale_iter_seek_first(it);
	ck_assert(shale_iter_valid(it));
	shale_iter_destroy(it); /* parks its tree */
	ck_assert(parked(db));

	hooks_hold(&hk, HOOK_STALE_FREED, 1);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, run_flush, db), 0);
	hooks_wait_held(&hk, HOOK_STALE_FREED, 1);
	mutex_lock(&db->vs.mu);
	ck_assert_ptr_null(db->doomed_views); /* taken out before the release */
	ck_assert_ptr_null(db->doomed_park.it);
	ck_assert_ptr_null(db->park.it);
	mutex_unlock(&db->vs.mu);
	ck_assert_ok(shale_put(db, NULL, "k007", 4, "new", 3));
	ck_assert_ok(shale_get(db, NULL, "k007", 4, &v, &vl));
	ck_assert(vl == 3 && memcmp(v, "new", 3) == 0);
	shale_free(v);
	it = shale_iter_create(db, NULL);
	ck_assert_ptr_nonnull(it);
	int n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it))
		n++;
	ck_assert_ok(shale_iter_status(it));
	ck_assert_int_eq(n, 50);
	shale_iter_destroy(it);
	ck_assert_int_eq(hooks_held(&hk, HOOK_STALE_FREED), 1);
	hooks_release_all(&hk, HOOK_STALE_FREED);
	void *rc;
	ck_assert_int_eq(pthread_join(t, &rc), 0);
	ck_assert_int_eq((int)(long)rc, 0);

	mutex_lock(&db->vs.mu);
	ck_assert_ptr_null(db->doomed_views);
	ck_assert_ptr_null(db->doomed_park.it);
	mutex_unlock(&db->vs.mu);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db_threads");
	TCase *tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, group_commit_syncs_once_for_the_group);
	tcase_add_test(tc, readers_snapshots_iterators_race_with_writes_flushes_compactions);
	tcase_add_test(tc, two_compactions_run_at_once_and_a_flush_completes_meanwhile);
	tcase_add_test(tc, stale_views_and_trees_are_freed_outside_the_mutex);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
