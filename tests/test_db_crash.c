/* Crash safety: SIGKILL mid-write, simulated power loss at every file
 * operation of a memtable switch and flush, injected I/O errors, damaged
 * files. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
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
	return dbtest_options(32 * 1024, 32 * 1024, 128 * 1024);
}

/* Write i sets key (i % KEYS) to a value naming i. */
#define KEYS 300

static void kv(uint64_t i, char *k, size_t *kl, char *v, size_t *vl)
{
	*kl = (size_t)snprintf(k, 32, "key%04u", (unsigned)(i % KEYS));
	*vl = (size_t)snprintf(v, 300, "%llu:%0*d", (unsigned long long)i, (int)(i % 200), 0);
}

static uint64_t value_index(const void *v, size_t vl)
{
	char tmp[32];
	size_t n = vl < sizeof(tmp) - 1 ? vl : sizeof(tmp) - 1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	return strtoull(tmp, NULL, 10);
}

/* The DB must hold exactly writes 0..P for some P >= must: returns P + 1
 * (0 when empty). */
static uint64_t check_prefix(shale_db *db, uint64_t must)
{
	/* P is the highest write index present */
	uint64_t top = 0;
	int any = 0;
	shale_iter *it = shale_iter_create(db, NULL);
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it)) {
		size_t vl;
		const void *v = shale_iter_value(it, &vl);
		uint64_t idx = value_index(v, vl);
		if (!any || idx > top)
			top = idx;
		any = 1;
	}
	ck_assert_msg(shale_iter_status(it) == 0, "scan after crash: %s", shale_errmsg());
	shale_iter_destroy(it);
	uint64_t count = any ? top + 1 : 0;
	ck_assert_msg(count >= must, "a synced write was lost: %llu writes survive, %llu were synced",
	              (unsigned long long)count, (unsigned long long)must);
	/* the state of the first `count` writes */
	struct model m;
	model_init(&m);
	char k[32], v[300];
	size_t kl, vl;
	for (uint64_t i = count > KEYS ? count - KEYS : 0; i < count; i++) {
		kv(i, k, &kl, v, &vl);
		model_put(&m, k, kl, v, vl);
	}
	model_check_db(&m, db, NULL);
	model_free(&m);
	return count;
}

static void write_some(shale_db *db, uint64_t from, uint64_t n);

/* ---- SIGKILL ---- */

struct shared {
	volatile uint64_t acked;        /* writes acknowledged */
	volatile uint64_t synced;       /* writes acknowledged with sync */
};

static void child_writes(struct shared *sh, uint64_t start)
{
	shale_options *o = small_options();
	shale_db *db = NULL;
	if (shale_open(dbtest_path, o, &db) != 0)
		_exit(3);
	shale_writeopts *sync = shale_writeopts_create();
	shale_writeopts_set_sync(sync, 1);
	char k[32], v[300];
	size_t kl, vl;
	for (uint64_t i = start;; i++) {
		kv(i, k, &kl, v, &vl);
		int s = i % 7 == 0;
		if (shale_put(db, s ? sync : NULL, k, kl, v, vl) != 0)
			_exit(4);
		__atomic_store_n(&sh->acked, i + 1, __ATOMIC_SEQ_CST);
		if (s)
			__atomic_store_n(&sh->synced, i + 1, __ATOMIC_SEQ_CST);
	}
}

START_TEST(sigkill_mid_writes_keeps_synced_prefix)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	uint64_t next = 0;
	for (int round = 0; round < 6; round++) {
		sh->acked = sh->synced = next;
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			child_writes(sh, next);
		/* kill once it has acknowledged some writes past where it began */
		uint64_t target = next + 500 + (uint64_t)round * 700;
		while (__atomic_load_n(&sh->acked, __ATOMIC_SEQ_CST) < target) {
			int status;
			ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0); /* the child must not die early */
			usleep(200);
		}
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		ck_assert(WIFSIGNALED(status));
		uint64_t synced = __atomic_load_n(&sh->synced, __ATOMIC_SEQ_CST);

		shale_options *o = small_options();
		shale_db *db = NULL;
		int rc = shale_open(dbtest_path, o, &db);
		ck_assert_msg(rc == 0, "reopen after SIGKILL: %s", shale_errmsg());
		next = check_prefix(db, synced);
		ck_assert_ok(shale_close(db));
		shale_options_destroy(o);
	}
	munmap(sh, sizeof(*sh));
}
END_TEST

/* ---- power loss at each step of a memtable switch and flush ---- */

struct plug {
	uint64_t at; /* freeze at this operation */
	int armed;
};

static int plug_hook(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq)
{
	struct plug *p = arg;
	(void)op;
	(void)path;
	if (p->armed && seq >= p->at)
		fault_env_freeze(e);
	return FAULT_NONE;
}

/* Writes `count` sync writes from *next, then forces a memtable switch and
 * waits for its flush. */
static void scenario(shale_db *db, struct env *e, uint64_t *next, uint64_t *must, int count)
{
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	char k[32], v[300];
	size_t kl, vl;
	for (int j = 0; j < count; j++, (*next)++) {
		kv(*next, k, &kl, v, &vl);
		int rc = shale_put(db, wo, k, kl, v, vl);
		if (rc == 0 && !fault_env_frozen(e))
			*must = *next + 1; /* synced before the power went */
	}
	db_flush_memtable(db); /* the switch and the flush; may fail once frozen */
	shale_writeopts_destroy(wo);
}

/* The directory models a crash is simulated under (env_fault.h): the loop
 * index of the power tests picks one. Under SUBSET, unsynced file data is
 * also torn at a random length. */
static const int dir_models[] = { FAULT_DIR_ROLLBACK, FAULT_DIR_PREFIX, FAULT_DIR_SUBSET };
static const char *const dir_model_names[] = { "rollback", "prefix", "subset" };

static void set_model(struct env *e, int model, uint64_t seed)
{
	fault_env_set_crash_model(e, dir_models[model],
	                          dir_models[model] == FAULT_DIR_SUBSET ? FAULT_DATA_PREFIX : FAULT_DATA_LOST, seed);
}

static void power_loss_each_step(uint64_t manifest_max, int model)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	set_model(e, model, 0x5eed + (uint64_t)model);
	struct plug plug = { 0, 0 };
	fault_env_set_hook(e, plug_hook, &plug);
	shale_options *o = small_options();
	shale_options_set_write_buffer_size(o, 1 << 20); /* switches only when asked */
	options_set_env(o, e);
	options_set_max_manifest_size(o, manifest_max);

	/* A dry run counts the operations of one scenario. */
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	uint64_t next = 0, must = 0;
	uint64_t before = fault_env_op_count(e);
	scenario(db, e, &next, &must, 20);
	uint64_t steps = fault_env_op_count(e) - before;
	ck_assert_ok(shale_close(db));
	ck_assert_uint_gt(steps, 10);

	for (uint64_t step = 0; step <= steps; step++) {
		ck_assert_ok(shale_open(dbtest_path, o, &db));
		plug.at = fault_env_op_count(e) + step;
		plug.armed = 1;
		scenario(db, e, &next, &must, 20);
		shale_close(db); /* the ghost's close; its errors do not matter */
		plug.armed = 0;
		ck_assert_ok(fault_env_crash(e));
		int rc = shale_open(dbtest_path, o, &db);
		ck_assert_msg(rc == 0, "%s model, step %llu/%llu: reopen failed: %s", dir_model_names[model],
		              (unsigned long long)step, (unsigned long long)steps, shale_errmsg());
		next = check_prefix(db, must);
		must = next;
		ck_assert_ok(shale_close(db));
	}
	shale_options_destroy(o);
	env_destroy(e);
}

START_TEST(power_loss_at_every_step_of_switch_and_flush)
{
	power_loss_each_step(64 << 20, _i);
}
END_TEST

START_TEST(power_loss_at_every_step_with_new_manifest_each_time)
{
	power_loss_each_step(1, _i); /* every edit starts a MANIFEST and renames CURRENT */
}
END_TEST

START_TEST(power_loss_during_open_recovery)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	set_model(e, _i, 0xc0ffee + (uint64_t)_i);
	struct plug plug = { 0, 0 };
	fault_env_set_hook(e, plug_hook, &plug);
	shale_options *o = small_options();
	shale_options_set_write_buffer_size(o, 1 << 20);
	options_set_env(o, e);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	uint64_t next = 0, must = 0;
	scenario(db, e, &next, &must, 30);
	/* unflushed synced writes in the WAL, then a crash... */
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	char k[32], v[300];
	size_t kl, vl;
	for (int j = 0; j < 30; j++, next++) {
		kv(next, k, &kl, v, &vl);
		ck_assert_ok(shale_put(db, wo, k, kl, v, vl));
		must = next + 1;
	}
	shale_writeopts_destroy(wo);
	fault_env_freeze(e);
	shale_close(db);
	ck_assert_ok(fault_env_crash(e));
	/* ... and power lost again at each step of the recovery that replays them */
	uint64_t before = fault_env_op_count(e);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	uint64_t steps = fault_env_op_count(e) - before;
	ck_assert_ok(shale_close(db));
	for (uint64_t step = 0; step < steps; step++) {
		plug.at = fault_env_op_count(e) + step;
		plug.armed = 1;
		if (shale_open(dbtest_path, o, &db) == 0)
			shale_close(db);
		plug.armed = 0;
		ck_assert_ok(fault_env_crash(e));
		int rc = shale_open(dbtest_path, o, &db);
		ck_assert_msg(rc == 0, "%s model, step %llu: reopen failed: %s", dir_model_names[_i],
		              (unsigned long long)step, shale_errmsg());
		check_prefix(db, must);
		ck_assert_ok(shale_close(db));
	}
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* The power goes after a compaction made its outputs durable (files and
 * directory entries) but before any MANIFEST recorded their numbers: the
 * next open's cleanup must delete them, although their numbers are at or
 * past the recovered next-file number. */
static int freeze_at_manifest_write(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq)
{
	int *armed = arg;
	(void)seq;
	if (*armed && op == FAULT_APPEND && strstr(path, "MANIFEST")) {
		*armed = 0;
		fault_env_freeze(e);
	}
	return FAULT_NONE;
}

static int count_tables(void)
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

START_TEST(tables_a_crash_left_before_the_manifest_named_them_are_deleted_at_open)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	int armed = 0;
	fault_env_set_hook(e, freeze_at_manifest_write, &armed);
	shale_options *o = small_options();
	shale_options_set_write_buffer_size(o, 1 << 20);
	shale_options_set_compression(o, SHALE_COMPRESSION_NONE);
	options_set_env(o, e);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	/* two overlapping level-0 tables of ~120 KiB */
	char k[32], v[200];
	memset(v, 'v', sizeof(v));
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 600; i++) {
			snprintf(k, sizeof(k), "key%05d", i);
			v[0] = (char)('0' + round);
			ck_assert_ok(shale_put(db, NULL, k, strlen(k), v, sizeof(v)));
		}
		ck_assert_ok(db_flush_memtable(db));
	}
	armed = 1;
	/* its compaction writes several 32 KiB tables; the power goes at its MANIFEST record */
	shale_compact_range(db, NULL, 0, NULL, 0);
	ck_assert(fault_env_frozen(e));
	shale_close(db);
	ck_assert_ok(fault_env_crash(e));
	int before = count_tables();
	ck_assert_int_ge(before, 5); /* the level-0 tables and the outputs, durable */
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_int_eq(count_tables(), 2); /* the outputs were named by no MANIFEST */
	for (int i = 0; i < 600; i++) {
		snprintf(k, sizeof(k), "key%05d", i);
		void *got;
		size_t glen;
		ck_assert_ok(shale_get(db, NULL, k, strlen(k), &got, &glen));
		ck_assert(glen == sizeof(v) && ((char *)got)[0] == '1');
		shale_free(got);
	}
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* ---- injected errors ---- */

START_TEST(failed_wal_sync_is_sticky_reads_work_reopen_recovers)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *o = small_options();
	options_set_env(o, e);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_put(db, NULL, "a", 1, "1", 1));
	struct fault_rule r = { .ops = FAULT_SYNC, .path_contains = ".log", .count = 1, .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &r));
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	ck_assert_int_eq(shale_put(db, wo, "b", 1, "2", 1), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".log"));
	/* sticky: later writes fail with the same error and message */
	ck_assert_int_eq(shale_put(db, NULL, "c", 1, "3", 1), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".log"));
	shale_batch *b = shale_batch_create();
	shale_batch_put(b, "d", 1, "4", 1);
	ck_assert_int_eq(shale_write(db, NULL, b), SHALE_EIO);
	shale_batch_destroy(b);
	/* reads keep working */
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "a", 1, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_close(db));
	fault_env_clear_rules(e);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_get(db, NULL, "a", 1, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_put(db, NULL, "e", 1, "5", 1));
	ck_assert_ok(shale_close(db));
	shale_writeopts_destroy(wo);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* Creating a database: when the directory sync after CURRENT's rename fails
 * (the second one: the first makes the MANIFEST's name durable), the new
 * MANIFEST is not removed while CURRENT may name it; the failed open then
 * removes the new database whole, so a second open works instead of finding
 * CURRENT naming a removed file. */
START_TEST(failed_dir_sync_after_current_keeps_the_manifest)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *o = small_options();
	options_set_env(o, e);
	struct fault_rule r = { .ops = FAULT_SYNC_DIR, .path_contains = dbtest_path, .skip = 1, .count = 1,
		                    .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &r));
	shale_db *db = NULL;
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EIO);
	ck_assert_uint_eq(fault_env_count(e, FAULT_RENAME, NULL), 1); /* CURRENT was renamed */
	fault_env_clear_rules(e);
	int rc = shale_open(dbtest_path, o, &db);
	ck_assert_msg(rc == 0, "reopen: %s", shale_errmsg());
	ck_assert_ok(shale_put(db, NULL, "a", 1, "1", 1));
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

static int bg_retries;

static void count_retries(void *arg, enum db_hook_point p)
{
	(void)arg;
	if (p == HOOK_BG_RETRY)
		__atomic_add_fetch(&bg_retries, 1, __ATOMIC_SEQ_CST);
}

START_TEST(enospc_in_flush_fails_writes_until_a_retry_succeeds)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *o = small_options();
	options_set_env(o, e);
	struct db_test_hooks hooks = { count_retries, NULL };
	options_set_test_hooks(o, &hooks);
	bg_retries = 0;
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	struct fault_rule r = { .ops = FAULT_APPEND, .path_contains = ".ldb", .count = -1, .kind = FAULT_ENOSPC };
	ck_assert_ok(fault_env_add_rule(e, &r));
	char k[32], v[300];
	size_t kl, vl;
	int rc = 0;
	uint64_t i;
	for (i = 0; i < 100000 && rc == 0; i++) {
		kv(i, k, &kl, v, &vl);
		rc = shale_put(db, NULL, k, kl, v, vl);
	}
	ck_assert_int_eq(rc, SHALE_ENOSPC);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".ldb"));
	/* reads work while the disk is full */
	void *val;
	size_t vlen;
	kv(0, k, &kl, v, &vl);
	ck_assert_ok(shale_get(db, NULL, k, kl, &val, &vlen));
	shale_free(val);
	/* space comes back: a background retry clears the error */
	while (__atomic_load_n(&bg_retries, __ATOMIC_SEQ_CST) == 0)
		usleep(1000);
	fault_env_clear_rules(e);
	for (;;) {
		rc = shale_put(db, NULL, "after", 5, "x", 1);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, SHALE_ENOSPC);
		usleep(1000);
	}
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_get(db, NULL, "after", 5, &val, &vlen));
	shale_free(val);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

START_TEST(enospc_in_wal_replaces_the_wal_after_retry)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *o = small_options();
	shale_options_set_write_buffer_size(o, 1 << 20);
	shale_options_set_wal_flush_delay(o, 0); /* each write goes to the OS: the failing one fails */
	options_set_env(o, e);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_put(db, NULL, "a", 1, "1", 1));
	/* the WAL's write to the OS fails: ENOSPC is soft */
	struct fault_rule nospc = { .ops = FAULT_FLUSH, .path_contains = ".log", .count = 1, .kind = FAULT_ENOSPC };
	ck_assert_ok(fault_env_add_rule(e, &nospc));
	ck_assert_int_eq(shale_put(db, NULL, "b", 1, "2", 1), SHALE_ENOSPC);
	int rc;
	do {
		usleep(1000);
		rc = shale_put(db, NULL, "c", 1, "3", 1);
	} while (rc == SHALE_ENOSPC);
	ck_assert_ok(rc);
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "a", 1, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_get(db, NULL, "c", 1, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* ---- damaged files ---- */

static void write_some(shale_db *db, uint64_t from, uint64_t n)
{
	char k[32], v[300];
	size_t kl, vl;
	for (uint64_t i = from; i < from + n; i++) {
		kv(i, k, &kl, v, &vl);
		ck_assert_ok(shale_put(db, NULL, k, kl, v, vl));
	}
}

/* The newest .log file in the DB. */
static void newest_log(char *out)
{
	char **names;
	size_t n;
	ck_assert_ok(env_list_dir(env_posix_default(), dbtest_path, &names, &n));
	uint64_t best = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type t;
		if (fname_parse(names[i], &num, &t) && t == FILE_LOG && num > best)
			best = num;
	}
	env_free_names(names, n);
	ck_assert_uint_gt(best, 0);
	fname_log(out, dbtest_path, best);
}

START_TEST(damaged_wal_recovers_prefix_or_fails_paranoid)
{
	shale_options *o = small_options();
	shale_options_set_write_buffer_size(o, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	write_some(db, 0, 200);
	ck_assert_ok(shale_close(db));
	char log[FNAME_MAX];
	newest_log(log);
	char *data;
	size_t n = tu_read_file(log, &data);
	ck_assert_uint_gt(n, 20000);
	data[n / 2] ^= 0x40; /* damage in the middle */
	tu_write_file(log, data, n);
	free(data);

	shale_options *p = small_options();
	shale_options_set_paranoid_checks(p, 1);
	ck_assert_int_eq(shale_open(dbtest_path, p, &db), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".log"));
	/* without paranoid checks: the records before the damage, nothing after */
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	uint64_t count = check_prefix(db, 0);
	ck_assert_uint_gt(count, 0);
	ck_assert_uint_lt(count, 200);
	/* and the DB goes on from there, durably */
	write_some(db, count, 50);
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, p, &db));
	ck_assert_uint_eq(check_prefix(db, count + 50), count + 50);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(p);
	shale_options_destroy(o);
}
END_TEST

START_TEST(missing_table_or_bad_manifest_fails_open)
{
	shale_options *o = small_options();
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	write_some(db, 0, 2000);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_ok(shale_close(db));
	char **names;
	size_t n;
	char table[FNAME_MAX + 300] = "", manifest[FNAME_MAX + 300] = "";
	ck_assert_ok(env_list_dir(env_posix_default(), dbtest_path, &names, &n));
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type t;
		if (!fname_parse(names[i], &num, &t))
			continue;
		if (t == FILE_TABLE)
			snprintf(table, sizeof(table), "%s/%s", dbtest_path, names[i]);
		(void)manifest;
	}
	env_free_names(names, n);
	ck_assert(table[0]);
	/* the MANIFEST that CURRENT names */
	char cur[FNAME_MAX], *cdata;
	fname_current(cur, dbtest_path);
	size_t cn = tu_read_file(cur, &cdata);
	ck_assert(cn > 1 && cdata[cn - 1] == '\n');
	snprintf(manifest, sizeof(manifest), "%s/%.*s", dbtest_path, (int)(cn - 1), cdata);
	free(cdata);

	char *saved;
	size_t saved_n = tu_read_file(table, &saved);
	unlink(table);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "missing"));
	tu_write_file(table, saved, saved_n);
	free(saved);

	char *m;
	size_t mn = tu_read_file(manifest, &m);
	m[10] ^= 0x1;
	tu_write_file(manifest, m, mn);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "MANIFEST"));
	m[10] ^= 0x1;
	tu_write_file(manifest, m, mn);
	free(m);

	tu_write_file(cur, "garbage", 7);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "CURRENT"));
	shale_options_destroy(o);
}
END_TEST

START_TEST(damaged_table_gives_error_or_right_answer)
{
	shale_options *o = small_options();
	shale_options_set_compression(o, SHALE_COMPRESSION_NONE);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	write_some(db, 0, KEYS);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_ok(shale_close(db));
	char **names;
	size_t n;
	ck_assert_ok(env_list_dir(env_posix_default(), dbtest_path, &names, &n));
	struct rng r;
	rng_seed(&r, 5);
	int errors = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type t;
		if (!fname_parse(names[i], &num, &t) || t != FILE_TABLE)
			continue;
		char path[FNAME_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s", dbtest_path, names[i]);
		char *data;
		size_t len = tu_read_file(path, &data);
		for (int round = 0; round < 20; round++) {
			size_t pos = (size_t)rng_uniform(&r, len);
			char orig = data[pos];
			data[pos] ^= (char)(1 + rng_uniform(&r, 255));
			tu_write_file(path, data, len);
			int rc = shale_open(dbtest_path, o, &db);
			if (rc == 0) {
				/* every answer is an error or the right one */
				char k[32], v[300];
				size_t kl, vl;
				for (uint64_t w = 0; w < KEYS; w++) {
					kv(w, k, &kl, v, &vl);
					void *got;
					size_t glen;
					rc = shale_get(db, NULL, k, kl, &got, &glen);
					if (rc == 0) {
						ck_assert(glen == vl && memcmp(got, v, vl) == 0);
						shale_free(got);
					} else {
						ck_assert_msg(rc == SHALE_ECORRUPT, "get: %d %s", rc, shale_errmsg());
						errors++;
					}
				}
				shale_iter *it = shale_iter_create(db, NULL);
				uint64_t seen = 0;
				for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it))
					seen++;
				ck_assert(shale_iter_status(it) == SHALE_ECORRUPT || seen == KEYS);
				shale_iter_destroy(it);
				ck_assert_ok(shale_close(db));
			} else {
				ck_assert_int_eq(rc, SHALE_ECORRUPT);
			}
			data[pos] = orig;
			tu_write_file(path, data, len);
		}
		free(data);
	}
	env_free_names(names, n);
	ck_assert_int_gt(errors, 0);
	shale_options_destroy(o);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db_crash");
	TCase *tc = tcase_create("kill");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sigkill_mid_writes_keeps_synced_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("power");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, power_loss_at_every_step_of_switch_and_flush, 0, 3);
	tcase_add_loop_test(tc, power_loss_at_every_step_with_new_manifest_each_time, 0, 3);
	tcase_add_loop_test(tc, power_loss_during_open_recovery, 0, 3);
	tcase_add_test(tc, tables_a_crash_left_before_the_manifest_named_them_are_deleted_at_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, failed_wal_sync_is_sticky_reads_work_reopen_recovers);
	tcase_add_test(tc, failed_dir_sync_after_current_keeps_the_manifest);
	tcase_add_test(tc, enospc_in_flush_fails_writes_until_a_retry_succeeds);
	tcase_add_test(tc, enospc_in_wal_replaces_the_wal_after_retry);
	tcase_add_test(tc, damaged_wal_recovers_prefix_or_fails_paranoid);
	tcase_add_test(tc, missing_table_or_bad_manifest_fails_open);
	tcase_add_test(tc, damaged_table_gives_error_or_right_answer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
