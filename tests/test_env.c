/* The file layer: the POSIX backend, the fault-injecting wrapper, the info log. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util/env.h"
#include "lib/testing/env_fault.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "lib/util/logger.h"
#include "lib/util/thread.h"
#include "tests/testutil.h"

static char *dir;

static void setup(void)
{
	dir = tu_mkdtemp("env");
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

static void path_in(char *out, const char *name)
{
	snprintf(out, FNAME_MAX, "%s/%s", dir, name);
}

static void write_all(struct env *e, const char *path, const char *data, size_t n, int sync)
{
	struct wfile *f;
	ck_assert_ok(env_open_write(e, path, &f));
	ck_assert_ok(wfile_append(f, data, n));
	if (sync)
		ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_close(f));
}

static void check_contents(struct env *e, const char *path, const char *data, size_t n)
{
	struct buf b = BUF_INIT;
	ck_assert_ok(env_read_file(e, path, &b));
	ck_assert_uint_eq(b.len, n);
	ck_assert(n == 0 || memcmp(b.data, data, n) == 0);
	buf_free(&b);
}

/* ---- POSIX ---- */

static void roundtrip_with(struct env *e)
{
	char p[FNAME_MAX];
	path_in(p, "f");
	struct rng r;
	rng_seed(&r, 1);
	size_t n = 300000; /* larger than the write buffer */
	char *data = malloc(n);
	tu_random_bytes(&r, data, n);
	struct wfile *f;
	ck_assert_ok(env_open_write(e, p, &f));
	/* a mix of small and large appends */
	size_t off = 0;
	while (off < n) {
		size_t k = rng_one_in(&r, 5) ? rng_uniform(&r, 100000) : rng_uniform(&r, 100);
		if (k > n - off)
			k = n - off;
		ck_assert_ok(wfile_append(f, data + off, k));
		off += k;
	}
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_close(f));
	uint64_t size;
	ck_assert_ok(env_file_size(e, p, &size));
	ck_assert_uint_eq(size, n);
	check_contents(e, p, data, n);

	struct rand_file *rf;
	ck_assert_ok(env_open_rand(e, p, &rf));
	char *scratch = malloc(n);
	for (int i = 0; i < 200; i++) {
		uint64_t o = rng_uniform(&r, n + 10);
		size_t len = (size_t)rng_uniform(&r, 5000);
		struct slice got;
		ck_assert_ok(rand_file_read(rf, o, len, scratch, &got));
		size_t want = o >= n ? 0 : (len < n - o ? len : (size_t)(n - o));
		ck_assert_uint_eq(got.size, want);
		ck_assert(want == 0 || memcmp(got.data, data + o, want) == 0);
	}
	rand_file_close(rf);

	struct seq_file *sf;
	ck_assert_ok(env_open_seq(e, p, &sf));
	struct slice got;
	ck_assert_ok(seq_file_read(sf, 1000, scratch, &got));
	ck_assert_uint_eq(got.size, 1000);
	ck_assert(memcmp(got.data, data, 1000) == 0);
	ck_assert_ok(seq_file_skip(sf, 1000));
	ck_assert_ok(seq_file_read(sf, n, scratch, &got));
	ck_assert_uint_eq(got.size, n - 2000);
	ck_assert(memcmp(got.data, data + 2000, n - 2000) == 0);
	ck_assert_ok(seq_file_read(sf, 10, scratch, &got));
	ck_assert_uint_eq(got.size, 0);
	seq_file_close(sf);
	free(scratch);
	free(data);
}

START_TEST(posix_write_read_roundtrip_pread)
{
	roundtrip_with(env_posix_default());
}
END_TEST

START_TEST(posix_write_read_roundtrip_mmap)
{
	struct env *e;
	ck_assert_ok(env_posix_create(1, &e));
	roundtrip_with(e);
	/* an empty file cannot be mapped; it still opens and reads as empty */
	char p[FNAME_MAX];
	path_in(p, "empty");
	write_all(e, p, "", 0, 0);
	struct rand_file *rf;
	ck_assert_ok(env_open_rand(e, p, &rf));
	char scratch[8];
	struct slice got;
	ck_assert_ok(rand_file_read(rf, 0, 8, scratch, &got));
	ck_assert_uint_eq(got.size, 0);
	rand_file_close(rf);
	env_destroy(e);
}
END_TEST

/* A log opened with mapped I/O: appends of every size across the 1 MiB
 * chunks; while open the file is its data and then at least a MiB of zeros
 * (what a crash leaves); after close exactly its data. Without mapping,
 * open_log is a plain file. */
START_TEST(posix_mapped_log_reserves_ahead_and_closes_to_its_data)
{
	struct env *mapped, *plain;
	ck_assert_ok(env_posix_create(1, &mapped));
	ck_assert_ok(env_posix_create(0, &plain));
	size_t total = (7u << 20) / 2 + 12345;
	char *data = malloc(total);
	for (size_t i = 0; i < total; i++)
		data[i] = (char)(1 + (i * 131 + i / 7) % 255);
	struct env *envs[2] = { mapped, plain };
	for (int k = 0; k < 2; k++) {
		char p[FNAME_MAX];
		path_in(p, k ? "plain.log" : "mapped.log");
		struct wfile *f;
		ck_assert_ok(env_open_log(envs[k], p, 0, &f));
		size_t off = 0, step = 1;
		while (off < total) {
			size_t n = step < total - off ? step : total - off;
			ck_assert_ok(wfile_append(f, data + off, n));
			off += n;
			step = step * 3 + 1; /* 1, 4, 13, ... up to MiB-sized appends */
			if (step > (3u << 20))
				step = 1;
		}
		ck_assert_ok(wfile_flush(f));
		if (k == 0) {
			/* what a crash of the process would leave */
			struct buf b = BUF_INIT;
			ck_assert_ok(env_read_file(envs[k], p, &b));
			ck_assert_uint_ge(b.len, total + (1u << 20));
			ck_assert(memcmp(b.data, data, total) == 0);
			for (size_t i = total; i < b.len; i++)
				ck_assert_msg(b.data[i] == 0, "byte %zu past the data is not zero", i);
			buf_free(&b);
		}
		ck_assert_ok(wfile_sync(f));
		ck_assert_ok(wfile_close(f));
		check_contents(envs[k], p, data, total);
	}
	free(data);
	env_destroy(mapped);
	env_destroy(plain);
}
END_TEST

/* A mapped log reserves chunks sized by what the caller expects it to grow
 * to: the smallest power of two at least that, from 64 KiB up to 1 MiB (and
 * 1 MiB when unknown). While open the file is its data and two chunks' worth
 * (the one in use and the next); appends across many small chunks read back
 * whole, and close leaves exactly the data. */
START_TEST(posix_mapped_log_reserves_by_its_expected_size)
{
	struct env *e;
	ck_assert_ok(env_posix_create(1, &e));
	static const struct {
		uint64_t expect, chunk;
	} cases[] = {
		{ 4096, 64u << 10 }, { 64u << 10, 64u << 10 }, { 200u << 10, 256u << 10 },
		{ 0, 1u << 20 },     { 64u << 20, 1u << 20 },
	};
	static char rec[1000];
	for (size_t i = 0; i < sizeof(rec); i++)
		rec[i] = (char)('A' + i % 26);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char p[FNAME_MAX];
		path_in(p, "sized.log");
		struct wfile *f;
		ck_assert_ok(env_open_log(e, p, cases[c].expect, &f));
		ck_assert_ok(wfile_append(f, rec, 100));
		uint64_t size;
		ck_assert_ok(env_file_size(e, p, &size));
		ck_assert_msg(size == 2 * cases[c].chunk, "expect %llu: %llu bytes reserved, not %llu",
			      (unsigned long long)cases[c].expect, (unsigned long long)size,
			      (unsigned long long)(2 * cases[c].chunk));
		/* past several chunks of the smallest size */
		size_t n = 100;
		for (int i = 0; i < 300; i++, n += sizeof(rec))
			ck_assert_ok(wfile_append(f, rec, sizeof(rec)));
		ck_assert_ok(wfile_close(f));
		struct buf b = BUF_INIT;
		ck_assert_ok(env_read_file(e, p, &b));
		ck_assert_uint_eq(b.len, n);
		ck_assert(memcmp(b.data, rec, 100) == 0);
		for (size_t off = 100; off < n; off += sizeof(rec))
			ck_assert(memcmp(b.data + off, rec, sizeof(rec)) == 0);
		buf_free(&b);
	}
	env_destroy(e);
}
END_TEST

/* A mapped log's pages past the append are prepared on the env's helper
 * thread (MADV_POPULATE_WRITE) when there is a second CPU: one small append
 * hands it the next 128 KiB window. The helper runs on its own time, so
 * this waits for its count (a bound of 20 s only turns a hang into a
 * failure). With one CPU there is no helper and the log is the same. */
START_TEST(posix_mapped_log_prepares_pages_ahead)
{
	struct env *e;
	ck_assert_ok(env_posix_create(1, &e));
	char p[FNAME_MAX];
	path_in(p, "ahead.log");
	struct wfile *f;
	ck_assert_ok(env_open_log(e, p, 0, &f));
	char rec[130];
	memset(rec, 'r', sizeof(rec));
	ck_assert_ok(wfile_append(f, rec, sizeof(rec)));
	if (thread_cpus() >= 2) {
		for (int i = 0; i < 20000 && env_posix_prepared_bytes(e) == 0; i++)
			usleep(1000); /* (as the other tests wait for a background thread) */
		ck_assert_uint_eq(env_posix_prepared_bytes(e), 128u << 10);
	} else {
		ck_assert_uint_eq(env_posix_prepared_bytes(e), 0);
	}
	ck_assert_ok(wfile_close(f));
	check_contents(e, p, rec, sizeof(rec)); /* (the prepared zeros cut off) */
	env_destroy(e);
}
END_TEST

/* Logs closed, and chunks left, while their next window is handed over or
 * being prepared: each close and each chunk waits for the helper (in the
 * TSan build, races would show), and every file ends at its data. */
START_TEST(posix_mapped_logs_close_while_pages_are_prepared)
{
	struct env *e;
	ck_assert_ok(env_posix_create(1, &e));
	static char rec[4000];
	for (size_t i = 0; i < sizeof(rec); i++)
		rec[i] = (char)('a' + i % 26);
	char p[FNAME_MAX];
	path_in(p, "closing.log");
	for (int round = 0; round < 60; round++) {
		struct wfile *f;
		ck_assert_ok(env_open_log(e, p, 0, &f));
		/* from one record to past two chunks */
		size_t n = round % 3 == 0 ? 1 : round % 3 == 1 ? 40 : 600;
		for (size_t i = 0; i < n; i++)
			ck_assert_ok(wfile_append(f, rec, sizeof(rec)));
		ck_assert_ok(wfile_close(f));
		struct buf b = BUF_INIT;
		ck_assert_ok(env_read_file(e, p, &b));
		ck_assert_uint_eq(b.len, n * sizeof(rec));
		for (size_t i = 0; i < n; i += 7)
			ck_assert(memcmp(b.data + i * sizeof(rec), rec, sizeof(rec)) == 0);
		buf_free(&b);
	}
	env_destroy(e);
}
END_TEST

/* When the next chunk cannot be reserved (here: a file-size limit of 2.5 MiB,
 * as a full disk would), the append that needs it fails with a code naming
 * fallocate, never a SIGBUS; the data before it stays, and close keeps it. */
START_TEST(posix_mapped_log_reports_a_reservation_that_fails)
{
	char p[FNAME_MAX];
	path_in(p, "limited.log");
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = { 5u << 19, 5u << 19 };
		struct env *e;
		struct wfile *f;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || env_posix_create(1, &e) != 0 || env_open_log(e, p, 0, &f) != 0)
			_exit(10);
		static char chunk[64 << 10];
		memset(chunk, 'x', sizeof(chunk));
		size_t written = 0;
		int rc = 0;
		while (written < (8u << 20) && (rc = wfile_append(f, chunk, sizeof(chunk))) == 0)
			written += sizeof(chunk);
		if (rc == 0 || strstr(err_msg(), "fallocate") == NULL)
			_exit(11);
		/* reserved: chunks 0 and 1; mapping chunk 1 needs chunk 2 reserved */
		if (written != (1u << 20) || wfile_append(f, "y", 1) == 0)
			_exit(12);
		if (wfile_close(f) != 0)
			_exit(13);
		env_destroy(e);
		_exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	struct buf b = BUF_INIT;
	ck_assert_ok(env_read_file(env_posix_default(), p, &b));
	ck_assert_uint_eq(b.len, 1u << 20);
	for (size_t i = 0; i < b.len; i++)
		ck_assert(b.data[i] == 'x');
	buf_free(&b);
}
END_TEST

START_TEST(posix_append_directory_ops)
{
	struct env *e = env_posix_default();
	char a[FNAME_MAX], b[FNAME_MAX], c[FNAME_MAX], sub[FNAME_MAX];
	path_in(a, "a");
	path_in(b, "b");
	path_in(c, "c");
	path_in(sub, "sub");
	write_all(e, a, "hello", 5, 1);
	struct wfile *f;
	ck_assert_ok(env_open_append(e, a, &f));
	ck_assert_ok(wfile_append(f, " world", 6));
	ck_assert_ok(wfile_close(f));
	check_contents(e, a, "hello world", 11);

	ck_assert(env_exists(e, a));
	ck_assert(!env_exists(e, b));
	ck_assert_ok(env_rename(e, a, b));
	ck_assert(!env_exists(e, a));
	check_contents(e, b, "hello world", 11);
	ck_assert_ok(env_link(e, b, c));
	check_contents(e, c, "hello world", 11);
	ck_assert_ok(env_truncate(e, c, 5));
	check_contents(e, b, "hello", 5); /* same inode */
	ck_assert_ok(env_sync_dir(e, dir));
	ck_assert_ok(env_mkdir(e, sub));
	ck_assert_ok(env_mkdir(e, sub)); /* existing is fine */

	char **names;
	size_t n;
	ck_assert_ok(env_list_dir(e, dir, &names, &n));
	ck_assert_uint_eq(n, 3);
	int seen = 0;
	for (size_t i = 0; i < n; i++)
		seen |= strcmp(names[i], "b") == 0 ? 1 : strcmp(names[i], "c") == 0 ? 2 : strcmp(names[i], "sub") == 0 ? 4 : 8;
	ck_assert_int_eq(seen, 7);
	env_free_names(names, n);

	ck_assert_ok(env_remove(e, b));
	ck_assert_ok(env_remove(e, c));
	ck_assert_ok(env_rmdir(e, sub));
	ck_assert_int_eq(env_remove(e, b), SHALE_EIO); /* already gone */
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "/b"));
	ck_assert_ok(env_list_dir(e, dir, &names, &n));
	ck_assert_uint_eq(n, 0);
	env_free_names(names, n);
}
END_TEST

START_TEST(posix_missing_file_errors_name_the_file)
{
	struct env *e = env_posix_default();
	char p[FNAME_MAX];
	path_in(p, "nope");
	struct seq_file *sf;
	struct rand_file *rf;
	uint64_t size;
	ck_assert_int_eq(env_open_seq(e, p, &sf), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), p));
	ck_assert_ptr_null(sf);
	ck_assert_int_eq(env_open_rand(e, p, &rf), SHALE_EIO);
	ck_assert_ptr_null(rf);
	ck_assert_int_eq(env_file_size(e, p, &size), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "nope"));
	char q[FNAME_MAX];
	path_in(q, "no/such/dir/file");
	struct wfile *wf;
	ck_assert_int_eq(env_open_write(e, q, &wf), SHALE_EIO);
	ck_assert_ptr_null(wf);
}
END_TEST

START_TEST(posix_lock_excludes_same_process_and_other_process)
{
	struct env *e = env_posix_default();
	char p[FNAME_MAX];
	path_in(p, "LOCK");
	struct file_lock *l1, *l2;
	ck_assert_ok(env_lock(e, p, &l1));
	ck_assert_int_eq(env_lock(e, p, &l2), SHALE_EBUSY);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "LOCK"));

	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct file_lock *l3;
		_exit(env_lock(e, p, &l3) == SHALE_EBUSY ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ck_assert_ok(env_unlock(e, l1));
	ck_assert_ok(env_lock(e, p, &l2));
	ck_assert_ok(env_unlock(e, l2));
}
END_TEST

START_TEST(posix_lock_conflicts_with_classic_fcntl_lock)
{
	/* LevelDB takes a classic (process-associated) fcntl lock; ours must
	 * conflict with it, held by another process. */
	char p[FNAME_MAX];
	path_in(p, "LOCK");
	int up[2], down[2]; /* child -> parent, parent -> child */
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(p, O_RDWR | O_CREAT, 0644);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		char c = fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
		if (write(up[1], &c, 1) != 1)
			_exit(2);
		char d;
		if (read(down[0], &d, 1) != 1) /* wait for the parent */
			_exit(2);
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	struct file_lock *l;
	ck_assert_int_eq(env_lock(env_posix_default(), p, &l), SHALE_EBUSY);
	ck_assert_int_eq(write(down[1], "x", 1), 1);
	int status;
	waitpid(pid, &status, 0);
	ck_assert_ok(env_lock(env_posix_default(), p, &l));
	ck_assert_ok(env_unlock(env_posix_default(), l));
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}
END_TEST

START_TEST(dirname_cases)
{
	char out[64];
	env_dirname("/a/b/c", out, sizeof(out));
	ck_assert_str_eq(out, "/a/b");
	env_dirname("c", out, sizeof(out));
	ck_assert_str_eq(out, ".");
	env_dirname("/c", out, sizeof(out));
	ck_assert_str_eq(out, "/");
	env_dirname("a/c", out, sizeof(out));
	ck_assert_str_eq(out, "a");
}
END_TEST

/* ---- fault env ---- */

static struct env *fault(void)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	return e;
}

START_TEST(fault_rule_fails_chosen_operation)
{
	struct env *e = fault();
	char p[FNAME_MAX], q[FNAME_MAX];
	path_in(p, "x.log");
	path_in(q, "y.ldb");
	struct fault_rule rule = { .ops = FAULT_SYNC, .path_contains = ".log", .skip = 1, .count = 1, .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &rule));
	struct wfile *f, *g;
	ck_assert_ok(env_open_write(e, p, &f));
	ck_assert_ok(env_open_write(e, q, &g));
	ck_assert_ok(wfile_append(f, "abc", 3));
	ck_assert_ok(wfile_sync(f));                  /* skipped */
	ck_assert_ok(wfile_sync(g));                  /* path does not match */
	ck_assert_int_eq(wfile_sync(f), SHALE_EIO);   /* fails */
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "x.log"));
	ck_assert_ok(wfile_sync(f));                  /* count used up */
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, ".log"), 3);
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, NULL), 4);

	struct fault_rule nospc = { .ops = FAULT_APPEND, .count = -1, .kind = FAULT_ENOSPC };
	ck_assert_ok(fault_env_add_rule(e, &nospc));
	ck_assert_int_eq(wfile_append(g, "zz", 2), SHALE_ENOSPC);
	ck_assert_int_eq(wfile_append(g, "zz", 2), SHALE_ENOSPC);
	fault_env_clear_rules(e);
	ck_assert_ok(wfile_append(g, "zz", 2));
	ck_assert_ok(wfile_close(f));
	ck_assert_ok(wfile_close(g));
	check_contents(e, q, "zz", 2);
	fault_env_reset_counts(e);
	ck_assert_uint_eq(fault_env_count(e, FAULT_SYNC, NULL), 0);
	env_destroy(e);
}
END_TEST

START_TEST(fault_short_write_leaves_half)
{
	struct env *e = fault();
	char p[FNAME_MAX];
	path_in(p, "s");
	struct fault_rule rule = { .ops = FAULT_APPEND, .count = 1, .kind = FAULT_SHORT_WRITE };
	ck_assert_ok(fault_env_add_rule(e, &rule));
	struct wfile *f;
	ck_assert_ok(env_open_write(e, p, &f));
	ck_assert_int_eq(wfile_append(f, "abcdefgh", 8), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "short write"));
	ck_assert_ok(wfile_close(f));
	check_contents(e, p, "abcd", 4);
	env_destroy(e);
}
END_TEST

struct hook_state {
	uint64_t freeze_at;
	int fail_renames;
	int seen_rename;
};

static int test_hook(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq)
{
	struct hook_state *h = arg;
	(void)path;
	if (seq == h->freeze_at)
		fault_env_freeze(e);
	if (op == FAULT_RENAME) {
		h->seen_rename++;
		if (h->fail_renames)
			return FAULT_EIO;
	}
	return FAULT_NONE;
}

START_TEST(fault_hook_decides_and_can_pull_the_plug)
{
	struct env *e = fault();
	struct hook_state h = { .freeze_at = UINT64_MAX, .fail_renames = 1 };
	fault_env_set_hook(e, test_hook, &h);
	char a[FNAME_MAX], b[FNAME_MAX];
	path_in(a, "a");
	path_in(b, "b");
	write_all(e, a, "data", 4, 1);
	ck_assert_int_eq(env_rename(e, a, b), SHALE_EIO);
	ck_assert_int_eq(h.seen_rename, 1);
	ck_assert(env_exists(e, a));
	/* freeze from inside the hook at the next operation: it never happens */
	h.fail_renames = 0;
	h.freeze_at = fault_env_op_count(e);
	ck_assert_ok(env_rename(e, a, b));
	ck_assert(fault_env_frozen(e));
	ck_assert(env_exists(e, a));
	ck_assert(!env_exists(e, b));
	ck_assert_ok(fault_env_crash(e));
	ck_assert(!fault_env_frozen(e));
	env_destroy(e);
}
END_TEST

START_TEST(fault_crash_drops_unsynced_data)
{
	struct env *e = fault();
	char p[FNAME_MAX];
	path_in(p, "data");
	ck_assert_ok(env_sync_dir(e, dir)); /* nothing pending */
	struct wfile *f;
	ck_assert_ok(env_open_write(e, p, &f));
	ck_assert_ok(env_sync_dir(e, dir)); /* the file's entry is durable */
	ck_assert_ok(wfile_append(f, "synced;", 7));
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_append(f, "lost", 4));
	ck_assert_ok(wfile_flush(f));
	check_contents(e, p, "synced;lost", 11);
	fault_env_freeze(e);
	ck_assert_ok(wfile_append(f, "ghost", 5)); /* the ghost keeps going */
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_close(f));
	ck_assert_ok(fault_env_crash(e));
	check_contents(e, p, "synced;", 7);
	env_destroy(e);
}
END_TEST

/* After a failed sync the data it should have made durable is gone for
 * good (the kernel may drop the dirty pages): a later successful sync does
 * not bring it back, and a crash leaves zeros there. */
START_TEST(fault_failed_sync_loses_the_data_for_good)
{
	struct env *e = fault();
	char p[FNAME_MAX];
	path_in(p, "data");
	struct wfile *f;
	ck_assert_ok(env_open_write(e, p, &f));
	ck_assert_ok(env_sync_dir(e, dir));
	ck_assert_ok(wfile_append(f, "synced;", 7));
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_append(f, "dropped;", 8));
	struct fault_rule r = { .ops = FAULT_SYNC, .count = 1, .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &r));
	ck_assert_int_eq(wfile_sync(f), SHALE_EIO);
	ck_assert_ok(wfile_append(f, "later", 5));
	ck_assert_ok(wfile_sync(f)); /* succeeds, but cannot cover what was dropped */
	ck_assert_ok(wfile_close(f));
	check_contents(e, p, "synced;dropped;later", 20); /* the process still reads it */
	fault_env_freeze(e);
	ck_assert_ok(fault_env_crash(e));
	check_contents(e, p, "synced;\0\0\0\0\0\0\0\0later", 20);
	env_destroy(e);
}
END_TEST

START_TEST(fault_crash_rolls_back_unsynced_directory_changes)
{
	struct env *e = fault();
	char keep[FNAME_MAX], gone[FNAME_MAX], removed[FNAME_MAX], cur[FNAME_MAX], tmp[FNAME_MAX], sub[FNAME_MAX];
	path_in(keep, "keep");
	path_in(gone, "gone");
	path_in(removed, "removed");
	path_in(cur, "CURRENT");
	path_in(tmp, "CURRENT.tmp");
	path_in(sub, "sub");
	write_all(e, keep, "k", 1, 1);
	write_all(e, removed, "r", 1, 1);
	write_all(e, cur, "old\n", 4, 1);
	ck_assert_ok(env_sync_dir(e, dir));

	write_all(e, gone, "g", 1, 1);            /* created, data synced, dir not */
	ck_assert_ok(env_remove(e, removed));     /* removed, dir not synced */
	ck_assert(!env_exists(e, removed));
	write_all(e, tmp, "new\n", 4, 1);
	ck_assert_ok(env_rename(e, tmp, cur));    /* replaced, dir not synced */
	check_contents(e, cur, "new\n", 4);
	ck_assert_ok(env_mkdir(e, sub));

	char **names;
	size_t n;
	ck_assert_ok(env_list_dir(e, dir, &names, &n));
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strncmp(names[i], ".fault", 6) != 0, "trash listed: %s", names[i]);
	ck_assert_uint_eq(n, 4); /* keep, gone, CURRENT, sub */
	env_free_names(names, n);

	ck_assert_ok(fault_env_crash(e));
	check_contents(e, keep, "k", 1);
	ck_assert(!env_exists(e, gone));
	check_contents(e, removed, "r", 1);
	check_contents(e, cur, "old\n", 4);
	ck_assert(!env_exists(e, tmp));
	ck_assert(!env_exists(e, sub));
	env_destroy(e);
}
END_TEST

START_TEST(fault_synced_directory_changes_survive_crash)
{
	struct env *e = fault();
	char cur[FNAME_MAX], tmp[FNAME_MAX], removed[FNAME_MAX];
	path_in(cur, "CURRENT");
	path_in(tmp, "CURRENT.tmp");
	path_in(removed, "removed");
	write_all(e, cur, "old\n", 4, 1);
	write_all(e, removed, "r", 1, 1);
	ck_assert_ok(env_sync_dir(e, dir));
	write_all(e, tmp, "new\n", 4, 1);
	ck_assert_ok(env_rename(e, tmp, cur));
	ck_assert_ok(env_remove(e, removed));
	ck_assert_ok(env_sync_dir(e, dir));
	ck_assert_ok(fault_env_crash(e));
	check_contents(e, cur, "new\n", 4);
	ck_assert(!env_exists(e, removed));
	ck_assert(!env_exists(e, tmp));
	/* the real directory holds no trash either */
	char **names;
	size_t n;
	ck_assert_ok(env_list_dir(env_posix_default(), dir, &names, &n));
	ck_assert_uint_eq(n, 1);
	env_free_names(names, n);
	env_destroy(e);
}
END_TEST

START_TEST(fault_files_open_before_crash_stay_ghosts)
{
	struct env *e = fault();
	char p[FNAME_MAX];
	path_in(p, "f");
	struct wfile *f;
	ck_assert_ok(env_open_write(e, p, &f));
	ck_assert_ok(env_sync_dir(e, dir));
	ck_assert_ok(wfile_append(f, "a", 1));
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(fault_env_crash(e));
	ck_assert_ok(wfile_append(f, "b", 1)); /* from the dead process */
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_close(f));
	check_contents(e, p, "a", 1);
	/* a new writer after the crash is real */
	struct wfile *g;
	ck_assert_ok(env_open_append(e, p, &g));
	ck_assert_ok(wfile_append(g, "c", 1));
	ck_assert_ok(wfile_close(g));
	check_contents(e, p, "ac", 2);
	env_destroy(e);
}
END_TEST

START_TEST(fault_preexisting_files_are_durable)
{
	char p[FNAME_MAX];
	path_in(p, "pre");
	write_all(env_posix_default(), p, "before", 6, 0);
	struct env *e = fault();
	struct wfile *f;
	ck_assert_ok(env_open_append(e, p, &f));
	ck_assert_ok(wfile_append(f, "+after", 6));
	ck_assert_ok(wfile_close(f));
	ck_assert_ok(fault_env_crash(e));
	check_contents(e, p, "before", 6);
	env_destroy(e);
}
END_TEST

/* ---- info log ---- */

START_TEST(info_log_writes_timestamped_lines_and_rotates)
{
	struct env *e = env_posix_default();
	struct logger *l;
	ck_assert_ok(logger_open(e, dir, &l));
	logger_printf(l, "first %d", 1);
	logger_printf(l, "second line\n");
	logger_close(l);
	logger_printf(NULL, "ignored");

	char p[FNAME_MAX], old[FNAME_MAX];
	fname_info_log(p, dir);
	fname_old_info_log(old, dir);
	char *data;
	size_t n = tu_read_file(p, &data);
	data[n] = '\0';
	ck_assert_ptr_nonnull(strstr(data, "first 1\n"));
	ck_assert_ptr_nonnull(strstr(data, "second line\n"));
	ck_assert_ptr_null(strstr(data, "\n\n"));
	/* YYYY/MM/DD-HH:MM:SS.uuuuuu */
	ck_assert_int_eq(data[4], '/');
	ck_assert_int_eq(data[10], '-');
	ck_assert_int_eq(data[19], '.');
	free(data);

	ck_assert_ok(logger_open(e, dir, &l));
	logger_printf(l, "third");
	logger_close(l);
	n = tu_read_file(old, &data);
	data[n] = '\0';
	ck_assert_ptr_nonnull(strstr(data, "first 1"));
	free(data);
	n = tu_read_file(p, &data);
	data[n] = '\0';
	ck_assert_ptr_null(strstr(data, "first 1"));
	ck_assert_ptr_nonnull(strstr(data, "third"));
	free(data);
}
END_TEST

/* A callback that logs and flushes again on its own thread (as one that
 * calls into the database does): no deadlock, every line delivered, in
 * order. */
static struct logger *cb_logger;
static char cb_seen[64][32];
static int cb_n;

static void reentering_callback(void *state, const char *line)
{
	(void)state;
	if (cb_n < 64)
		snprintf(cb_seen[cb_n++], sizeof(cb_seen[0]), "%s", line);
	if (strncmp(line, "outer", 5) == 0) {
		logger_printf(cb_logger, "inner after %s", line);
		logger_flush(cb_logger);
	}
}

START_TEST(info_log_callback_may_log_and_flush_again)
{
	ck_assert_ok(logger_create(&cb_logger));
	logger_attach_callback(cb_logger, reentering_callback, NULL);
	cb_n = 0;
	logger_printf(cb_logger, "outer 1");
	logger_printf(cb_logger, "outer 2");
	logger_flush(cb_logger);
	logger_close(cb_logger);
	ck_assert_int_eq(cb_n, 4);
	ck_assert_str_eq(cb_seen[0], "outer 1");
	ck_assert_str_eq(cb_seen[1], "outer 2");
	ck_assert_str_eq(cb_seen[2], "inner after outer 1");
	ck_assert_str_eq(cb_seen[3], "inner after outer 2");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("env");
	TCase *tc = tcase_create("posix");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, posix_write_read_roundtrip_pread);
	tcase_add_test(tc, posix_write_read_roundtrip_mmap);
	tcase_add_test(tc, posix_mapped_log_reserves_ahead_and_closes_to_its_data);
	tcase_add_test(tc, posix_mapped_log_reserves_by_its_expected_size);
	tcase_add_test(tc, posix_mapped_log_reports_a_reservation_that_fails);
	tcase_add_test(tc, posix_mapped_log_prepares_pages_ahead);
	tcase_add_test(tc, posix_mapped_logs_close_while_pages_are_prepared);
	tcase_add_test(tc, posix_append_directory_ops);
	tcase_add_test(tc, posix_missing_file_errors_name_the_file);
	tcase_add_test(tc, posix_lock_excludes_same_process_and_other_process);
	tcase_add_test(tc, posix_lock_conflicts_with_classic_fcntl_lock);
	tcase_add_test(tc, dirname_cases);
	suite_add_tcase(s, tc);

	tc = tcase_create("fault");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fault_rule_fails_chosen_operation);
	tcase_add_test(tc, fault_short_write_leaves_half);
	tcase_add_test(tc, fault_hook_decides_and_can_pull_the_plug);
	tcase_add_test(tc, fault_crash_drops_unsynced_data);
	tcase_add_test(tc, fault_failed_sync_loses_the_data_for_good);
	tcase_add_test(tc, fault_crash_rolls_back_unsynced_directory_changes);
	tcase_add_test(tc, fault_synced_directory_changes_survive_crash);
	tcase_add_test(tc, fault_files_open_before_crash_stay_ghosts);
	tcase_add_test(tc, fault_preexisting_files_are_durable);
	suite_add_tcase(s, tc);

	tc = tcase_create("info_log");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, info_log_writes_timestamped_lines_and_rotates);
	tcase_add_test(tc, info_log_callback_may_log_and_flush_again);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
