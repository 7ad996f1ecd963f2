/* The WAL's user-space buffer (shale_options_set_wal_flush_delay): writes
 * without sync reach the operating system within the delay; a write with
 * sync carries everything before it to the disk; close and checkpoints hand
 * the buffer over; a killed process loses at most a suffix of the writes
 * without sync; a failure to hand the buffer over is reported, not lost. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/db/options.h"
#include "lib/testing/env_fault.h"
#include "lib/util/filename.h"
#include "tests/dbtest.h"
#include "tests/testutil.h"

/* Bytes of path up to its last nonzero one (a mapped WAL is longer than
 * its data: zeros reserved ahead). */
static uint64_t data_bytes(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	uint64_t off = 0, last = 0;
	int c;
	while ((c = getc(f)) != EOF) {
		off++;
		if (c != 0)
			last = off;
	}
	fclose(f);
	return last;
}

/* Bytes in the database's WAL files (what the OS has been given). */
static uint64_t wal_bytes(void)
{
	char **names = NULL;
	size_t n = 0;
	uint64_t total = 0;
	ck_assert_ok(env_list_dir(env_posix_default(), dbtest_path, &names, &n));
	for (size_t i = 0; i < n; i++) {
		uint64_t num, size;
		enum file_type t;
		char p[4400];
		if (fname_parse(names[i], &num, &t) && t == FILE_LOG) {
			snprintf(p, sizeof(p), "%s/%s", dbtest_path, names[i]);
			if (env_file_size(env_posix_default(), p, &size) == 0)
				total += size ? data_bytes(p) : 0;
		}
	}
	env_free_names(names, n);
	return total;
}

static shale_options *opts(uint64_t delay)
{
	shale_options *o = dbtest_options(4 << 20, 2 << 20, 10 << 20);
	shale_options_set_wal_flush_delay(o, delay);
	return o;
}

START_TEST(writes_without_sync_reach_the_os_within_the_delay)
{
	shale_options *o = opts(20000); /* 20 ms */
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	uint64_t before = wal_bytes();
	ck_assert_ok(shale_put(db, NULL, "k", 1, "v", 1));
	/* handed over by the flush thread's clock, with no further write */
	uint64_t after = before;
	for (int i = 0; i < 2000 && after == before; i++) {
		usleep(1000);
		after = wal_bytes();
	}
	ck_assert_uint_gt(after, before);
	/* with a delay of 0 every write is in the file when the call returns */
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	o = opts(0);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	for (int i = 0; i < 100; i++) {
		before = wal_bytes();
		ck_assert_ok(shale_put(db, NULL, "k", 1, "v", 1));
		ck_assert_uint_gt(wal_bytes(), before);
	}
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(sync_close_and_checkpoint_carry_the_buffer)
{
	shale_options *o = opts(1000000); /* 1 s: nothing leaves by the clock here */
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	uint64_t before = wal_bytes();
	ck_assert_ok(shale_put(db, NULL, "a", 1, "1", 1));
	ck_assert_ok(shale_put(db, NULL, "b", 1, "2", 1));
	/* a checkpoint holds every write completed before it */
	char ckpt[4400];
	snprintf(ckpt, sizeof(ckpt), "%s/ckpt", dbtest_dir);
	ck_assert_ok(shale_checkpoint(db, ckpt));
	shale_db *c = NULL;
	ck_assert_ok(shale_open(ckpt, o, &c));
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(c, NULL, "b", 1, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_close(c));
	ck_assert_uint_gt(wal_bytes(), before);
	/* a write with sync: it and everything before it in the file */
	ck_assert_ok(shale_put(db, NULL, "c", 1, "3", 1));
	before = wal_bytes();
	shale_writeopts *wo = shale_writeopts_create();
	shale_writeopts_set_sync(wo, 1);
	ck_assert_ok(shale_put(db, wo, "d", 1, "4", 1));
	ck_assert_uint_gt(wal_bytes(), before);
	shale_writeopts_destroy(wo);
	/* close hands over what is left */
	ck_assert_ok(shale_put(db, NULL, "e", 1, "5", 1));
	before = wal_bytes();
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_get(db, NULL, "e", 1, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* A child writes keys 0, 1, 2, ... (every 50th with sync) and is killed:
 * what survives is a prefix holding every synced key. */
START_TEST(a_killed_writer_loses_at_most_a_suffix_and_nothing_synced)
{
	for (int round = 0; round < 4; round++) {
		volatile uint64_t *synced = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE,
		                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne((void *)synced, MAP_FAILED);
		*synced = 0;
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			shale_options *o = opts(round % 2 ? 1000000 : 2000);
			shale_options_set_write_buffer_size(o, 256 << 10);
			shale_db *db = NULL;
			if (shale_open(dbtest_path, o, &db) != 0)
				_exit(2);
			shale_writeopts *wo = shale_writeopts_create();
			shale_writeopts_set_sync(wo, 1);
			for (uint64_t i = 0;; i++) {
				char k[32];
				int kl = snprintf(k, sizeof(k), "k%08llu", (unsigned long long)i);
				int sync = i % 50 == 49;
				if (shale_put(db, sync ? wo : NULL, k, (size_t)kl, k, (size_t)kl) != 0)
					_exit(3);
				if (sync)
					*synced = i + 1;
			}
		}
		while (*synced < 500 + (uint64_t)round * 300)
			usleep(1000);
		kill(pid, SIGKILL);
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status));
		uint64_t must = *synced;
		shale_options *o = opts(1000);
		shale_db *db = NULL;
		ck_assert_ok(shale_open(dbtest_path, o, &db));
		uint64_t n = 0;
		shale_iter *it = shale_iter_create(db, NULL);
		for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it), n++) {
			size_t kl;
			const char *k = shale_iter_key(it, &kl);
			char want[32];
			int wl = snprintf(want, sizeof(want), "k%08llu", (unsigned long long)n);
			ck_assert_msg(kl == (size_t)wl && memcmp(k, want, kl) == 0, "a hole before key %llu",
			              (unsigned long long)n);
		}
		ck_assert_int_eq(shale_iter_status(it), 0);
		shale_iter_destroy(it);
		ck_assert_msg(n >= must, "%llu keys survived, %llu were synced", (unsigned long long)n,
		              (unsigned long long)must);
		ck_assert_ok(shale_close(db));
		shale_destroy_db(dbtest_path, o);
		shale_options_destroy(o);
		munmap((void *)synced, sizeof(uint64_t));
	}
}
END_TEST

START_TEST(a_failure_to_hand_the_buffer_over_is_reported)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *o = opts(5000);
	options_set_env(o, e);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_put(db, NULL, "a", 1, "1", 1));
	struct fault_rule r = { .ops = FAULT_FLUSH, .path_contains = ".log", .count = -1, .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &r));
	/* this write waits in the buffer; the clock hands it over, which fails;
	 * the next writes get the error */
	ck_assert_ok(shale_put(db, NULL, "b", 1, "2", 1));
	int rc = 0;
	for (int i = 0; i < 5000 && rc == 0; i++) {
		usleep(1000);
		rc = shale_put(db, NULL, "c", 1, "3", 1);
	}
	ck_assert_int_eq(rc, SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".log"));
	ck_assert_int_eq(shale_put(db, NULL, "c", 1, "3", 1), SHALE_EIO);
	/* reads still work */
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, "a", 1, &v, &vl));
	shale_free(v);
	ck_assert_ok(shale_close(db));
	fault_env_clear_rules(e);
	/* and a close that cannot hand the buffer over says so */
	shale_options_set_wal_flush_delay(o, 1000000);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_put(db, NULL, "d", 1, "4", 1));
	ck_assert_ok(fault_env_add_rule(e, &r));
	ck_assert_int_eq(shale_close(db), SHALE_EIO);
	fault_env_clear_rules(e);
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

/* The size of the database's newest WAL file, and its data's (before the
 * zeros reserved ahead). */
static void newest_wal(uint64_t *size, uint64_t *data)
{
	char **names = NULL;
	size_t n = 0;
	uint64_t best = 0;
	char p[4400] = "";
	ck_assert_ok(env_list_dir(env_posix_default(), dbtest_path, &names, &n));
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type t;
		if (fname_parse(names[i], &num, &t) && t == FILE_LOG && num >= best) {
			best = num;
			snprintf(p, sizeof(p), "%s/%s", dbtest_path, names[i]);
		}
	}
	env_free_names(names, n);
	ck_assert_msg(p[0] != 0, "no WAL file");
	ck_assert_ok(env_file_size(env_posix_default(), p, size));
	*data = data_bytes(p);
}

/* A mapped WAL (the default) reserves two chunks ahead, sized by the write
 * buffer: 64 KiB each for a 4 KiB buffer, 1 MiB for a 4 MiB one; both for
 * the WAL an open starts and the one a memtable switch starts. (On a file
 * system without fallocate the WAL is a plain file: its size is its data.) */
START_TEST(a_mapped_wal_reserves_by_the_write_buffer)
{
	static const struct {
		size_t buffer;
		uint64_t reserved;
	} cases[] = { { 4 << 10, 128 << 10 }, { 4 << 20, 2 << 20 } };
	for (size_t c = 0; c < 2; c++) {
		shale_options *o = dbtest_options(cases[c].buffer, 2 << 20, 10 << 20);
		shale_db *db = NULL;
		ck_assert_ok(shale_destroy_db(dbtest_path, o));
		ck_assert_ok(shale_open(dbtest_path, o, &db));
		uint64_t size, data;
		for (int round = 0; round < 2; round++) {
			ck_assert_ok(shale_put(db, NULL, "k", 1, "v", 1));
			newest_wal(&size, &data);
			ck_assert_msg(size == cases[c].reserved || size == data,
				      "buffer %zu, WAL %d: %llu bytes for %llu of data", cases[c].buffer, round,
				      (unsigned long long)size, (unsigned long long)data);
			/* the second round: the WAL of a memtable switch (compact_range flushes) */
			ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
		}
		ck_assert_ok(shale_close(db));
		shale_options_destroy(o);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db_wal");
	TCase *tc = tcase_create("wal_buffer");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, writes_without_sync_reach_the_os_within_the_delay);
	tcase_add_test(tc, sync_close_and_checkpoint_carry_the_buffer);
	tcase_add_test(tc, a_killed_writer_loses_at_most_a_suffix_and_nothing_synced);
	tcase_add_test(tc, a_failure_to_hand_the_buffer_over_is_reported);
	tcase_add_test(tc, a_mapped_wal_reserves_by_the_write_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
