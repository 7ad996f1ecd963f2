/* Read-only open (doc/api.md, "Read-only open"), the info log's destinations,
 * and what a failed open leaves behind. */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/db/options.h"
#include "lib/testing/env_fault.h"
#include "tests/dbtest.h"
#include "tests/testutil.h"

static shale_options *writer_options(void)
{
	/* small buffers: several tables and levels with little data */
	shale_options *o = dbtest_options(32 << 10, 32 << 10, 128 << 10);
	/* every write in the WAL file at once: a read-only open sees the file */
	shale_options_set_wal_flush_delay(o, 0);
	return o;
}

static shale_options *ro_options(void)
{
	shale_options *o = shale_options_create();
	ck_assert_ptr_nonnull(o);
	shale_options_set_read_only(o, 1);
	return o;
}

static void put_i(shale_db *db, int i, const char *tag)
{
	char k[32], v[64];
	int kl = snprintf(k, sizeof(k), "key%06d", i);
	int vl = snprintf(v, sizeof(v), "%s-%06d-%s", tag, i, "padding-padding-padding");
	ck_assert_ok(shale_put(db, NULL, k, (size_t)kl, v, (size_t)vl));
}

/* The value of key i, or NULL (caller frees). */
static char *get_i(shale_db *db, int i)
{
	char k[32];
	int kl = snprintf(k, sizeof(k), "key%06d", i);
	void *v = NULL;
	size_t vl = 0;
	int rc = shale_get(db, NULL, k, (size_t)kl, &v, &vl);
	if (rc == SHALE_NOTFOUND)
		return NULL;
	ck_assert_msg(rc == 0, "get: %s", shale_errmsg());
	char *s = malloc(vl + 1);
	memcpy(s, v, vl);
	s[vl] = '\0';
	shale_free(v);
	return s;
}

/* Every file name in dir (but . and ..) with its size and modification
 * time, sorted. */
static char *listing(const char *dir)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	size_t cap = 64 + (size_t)n * 320, len = 0;
	char *out = malloc(cap);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		char p[4400];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", dir, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && stat(p, &st) == 0)
			len += (size_t)snprintf(out + len, cap - len, "%s %lld %lld.%09ld\n", ents[i]->d_name,
			                        (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		free(ents[i]);
	}
	free(ents);
	return out;
}

START_TEST(read_only_sees_the_state_as_of_its_open)
{
	shale_options *wo = writer_options();
	shale_db *w = NULL;
	ck_assert_ok(shale_open(dbtest_path, wo, &w));
	for (int i = 0; i < 3000; i++)
		put_i(w, i, "a"); /* several flushes: tables and levels */
	for (int i = 0; i < 100; i++)
		put_i(w, i, "b"); /* newer versions, some only in the WAL */

	/* the writer keeps the database open: no lock is needed */
	shale_options *ro = ro_options();
	shale_db *r = NULL;
	ck_assert_msg(shale_open(dbtest_path, ro, &r) == 0, "%s", shale_errmsg());
	for (int i = 0; i < 200; i++)
		put_i(w, i, "c"); /* after the read-only open */
	ck_assert_ok(shale_delete(w, NULL, "key000500", 9));
	ck_assert_ok(shale_compact_range(w, NULL, 0, NULL, 0));

	for (int i = 0; i < 3000; i++) {
		char *v = get_i(r, i);
		ck_assert_ptr_nonnull(v);
		ck_assert_msg(strncmp(v, i < 100 ? "b-" : "a-", 2) == 0, "key %d: %s", i, v);
		free(v);
	}
	int n = 0;
	shale_iter *it = shale_iter_create(r, NULL);
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it))
		n++;
	ck_assert_int_eq(shale_iter_status(it), 0);
	ck_assert_int_eq(n, 3000);
	shale_iter_destroy(it);
	ck_assert_ok(shale_close(r));
	ck_assert_ok(shale_close(w));
	shale_options_destroy(ro);
	shale_options_destroy(wo);
}
END_TEST

START_TEST(read_only_refuses_every_write)
{
	shale_options *wo = writer_options();
	shale_db *w = NULL;
	ck_assert_ok(shale_open(dbtest_path, wo, &w));
	put_i(w, 1, "a");
	ck_assert_ok(shale_close(w));
	shale_options *ro = ro_options();
	shale_db *r = NULL;
	ck_assert_ok(shale_open(dbtest_path, ro, &r));
	ck_assert_int_eq(shale_put(r, NULL, "k", 1, "v", 1), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "read-only"));
	ck_assert_int_eq(shale_delete(r, NULL, "k", 1), SHALE_EINVAL);
	shale_batch *b = shale_batch_create();
	shale_batch_put(b, "k", 1, "v", 1);
	ck_assert_int_eq(shale_write(r, NULL, b), SHALE_EINVAL);
	shale_batch_destroy(b);
	ck_assert_int_eq(shale_compact_range(r, NULL, 0, NULL, 0), SHALE_EINVAL);
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/ckpt", dbtest_dir);
	ck_assert_int_eq(shale_checkpoint(r, dir), SHALE_EINVAL);
	ck_assert_int_eq(access(dir, F_OK), -1);
	/* reads, snapshots and properties work */
	char *v = get_i(r, 1);
	ck_assert_ptr_nonnull(v);
	free(v);
	const shale_snapshot *s = shale_snapshot_create(r);
	ck_assert_ptr_nonnull(s);
	shale_snapshot_release(r, s);
	char *p = shale_property(r, "shale.stats");
	ck_assert_ptr_nonnull(p);
	shale_free(p);
	ck_assert_ok(shale_close(r));
	shale_options_destroy(ro);
	shale_options_destroy(wo);
}
END_TEST

START_TEST(read_only_creates_writes_and_deletes_nothing)
{
	shale_options *wo = writer_options();
	shale_db *w = NULL;
	ck_assert_ok(shale_open(dbtest_path, wo, &w));
	for (int i = 0; i < 2000; i++)
		put_i(w, i, "a");
	ck_assert_ok(shale_close(w));
	/* a WAL with records and obsolete files a writer would clean up */
	ck_assert_ok(shale_open(dbtest_path, wo, &w));
	for (int i = 0; i < 50; i++)
		put_i(w, i, "b");
	ck_assert_ok(shale_close(w));
	char *before = listing(dbtest_path);
	shale_options *ro = ro_options();
	shale_options_set_create_if_missing(ro, 1); /* ignored */
	shale_db *r = NULL;
	ck_assert_ok(shale_open(dbtest_path, ro, &r));
	char *v = get_i(r, 10);
	ck_assert_int_eq(strncmp(v, "b-", 2), 0);
	free(v);
	ck_assert_ok(shale_close(r));
	char *after = listing(dbtest_path);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* a missing database is an error, create_if_missing or not */
	char missing[4200];
	snprintf(missing, sizeof(missing), "%s/nothing", dbtest_dir);
	ck_assert_int_eq(shale_open(missing, ro, &r), SHALE_EINVAL);
	ck_assert_int_eq(access(missing, F_OK), -1);
	shale_options_destroy(ro);
	shale_options_destroy(wo);
}
END_TEST

/* ---- against a live writer in another process ---- */

/* The writer writes rounds of 20 keys in one batch each: round r puts
 * "r<round>-<j>" = round, and "last" = round. A consistent view holds, for
 * every round it sees any key of, all 20 keys, and "last" names the newest
 * round present. */
static void writer_child(const char *path, int rounds)
{
	shale_options *o = writer_options();
	shale_db *db = NULL;
	if (shale_open(path, o, &db) != 0)
		_exit(2);
	shale_batch *b = shale_batch_create();
	for (int r = 0; r < rounds; r++) {
		shale_batch_clear(b);
		char k[32], v[64];
		for (int j = 0; j < 20; j++) {
			int kl = snprintf(k, sizeof(k), "r%06d-%02d", r, j);
			int vl = snprintf(v, sizeof(v), "%06d-padding-padding-padding-padding", r);
			shale_batch_put(b, k, (size_t)kl, v, (size_t)vl);
		}
		int vl = snprintf(v, sizeof(v), "%06d", r);
		shale_batch_put(b, "last", 4, v, (size_t)vl);
		if (shale_write(db, NULL, b) != 0)
			_exit(3);
		if (r % 300 == 299 && shale_compact_range(db, NULL, 0, NULL, 0) != 0)
			_exit(4);
	}
	shale_batch_destroy(b);
	if (shale_close(db) != 0)
		_exit(5);
	shale_options_destroy(o);
	_exit(0);
}

static int check_consistent(shale_db *r)
{
	void *lv = NULL;
	size_t ll = 0;
	int rc = shale_get(r, NULL, "last", 4, &lv, &ll);
	if (rc == SHALE_NOTFOUND)
		return -1;
	ck_assert_int_eq(rc, 0);
	char lbuf[32];
	ck_assert_uint_lt(ll, sizeof(lbuf));
	memcpy(lbuf, lv, ll);
	lbuf[ll] = '\0';
	int last = atoi(lbuf);
	shale_free(lv);
	int count = 0, round = -1;
	shale_iter *it = shale_iter_create(r, NULL);
	for (shale_iter_seek(it, "r", 1); shale_iter_valid(it); shale_iter_next(it)) {
		size_t kl;
		const char *k = shale_iter_key(it, &kl);
		if (kl < 1 || k[0] != 'r')
			break;
		int kr = atoi(k + 1);
		if (kr != round) {
			ck_assert_msg(round < 0 || count == 20, "round %d has %d keys", round, count);
			ck_assert_int_eq(kr, round + 1); /* rounds form a prefix */
			round = kr;
			count = 0;
		}
		count++;
	}
	ck_assert_int_eq(shale_iter_status(it), 0);
	shale_iter_destroy(it);
	ck_assert_msg(round < 0 || count == 20, "round %d has %d keys", round, count);
	ck_assert_int_eq(round, last);
	return last;
}

START_TEST(read_only_opens_beside_a_writer_that_compacts)
{
	/* the database exists before the child starts writing */
	shale_options *wo = writer_options();
	shale_db *w = NULL;
	ck_assert_ok(shale_open(dbtest_path, wo, &w));
	ck_assert_ok(shale_close(w));
	shale_options_destroy(wo);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		writer_child(dbtest_path, 1500);
	shale_options *ro = ro_options();
	int opens = 0, busy = 0, last = -1;
	for (;;) {
		int status;
		pid_t done = waitpid(pid, &status, WNOHANG);
		shale_db *r = NULL;
		int rc = shale_open(dbtest_path, ro, &r);
		if (rc == SHALE_EBUSY) {
			busy++;
		} else {
			ck_assert_msg(rc == 0, "read-only open: %s", shale_errmsg());
			opens++;
			int seen = check_consistent(r);
			ck_assert_int_ge(seen, last); /* never older than an earlier open */
			last = seen;
			ck_assert_ok(shale_close(r));
		}
		if (done == pid) {
			ck_assert(WIFEXITED(status));
			ck_assert_int_eq(WEXITSTATUS(status), 0);
			break;
		}
	}
	ck_assert_int_gt(opens, 0);
	/* after the writer: everything */
	shale_db *r = NULL;
	ck_assert_ok(shale_open(dbtest_path, ro, &r));
	ck_assert_int_eq(check_consistent(r), 1499);
	ck_assert_ok(shale_close(r));
	shale_options_destroy(ro);
}
END_TEST

START_TEST(read_only_opens_a_directory_it_cannot_write)
{
	shale_options *wo = writer_options();
	shale_db *w = NULL;
	ck_assert_ok(shale_open(dbtest_path, wo, &w));
	for (int i = 0; i < 2000; i++)
		put_i(w, i, "a");
	ck_assert_ok(shale_close(w));
	shale_options_destroy(wo);
	/* readable, not writable, by anyone */
	ck_assert_int_eq(chmod(dbtest_dir, 0755), 0);
	ck_assert_int_eq(chmod(dbtest_path, 0555), 0);
	DIR *d = opendir(dbtest_path);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char p[4400];
		snprintf(p, sizeof(p), "%s/%s", dbtest_path, e->d_name);
		if (e->d_name[0] != '.')
			ck_assert_int_eq(chmod(p, 0444), 0);
	}
	closedir(d);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* root ignores permissions: drop to nobody first */
		if (geteuid() == 0) {
			struct passwd *pw = getpwnam("nobody");
			if (pw == NULL || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
				_exit(10);
		}
		char msg[600] = "";
		shale_options *ro = ro_options();
		shale_db *r = NULL;
		int rc = shale_open(dbtest_path, ro, &r);
		int code = 0;
		if (rc != 0) {
			snprintf(msg, sizeof(msg), "open: %s", shale_errmsg());
			code = 11;
		} else {
			char *v = get_i(r, 1999);
			if (v == NULL)
				code = 12;
			free(v);
			shale_close(r);
		}
		/* and a writable open is refused cleanly, not half done */
		shale_options *o = shale_options_create();
		if (code == 0 && shale_open(dbtest_path, o, &r) == 0)
			code = 13;
		if (write(fds[1], msg, strlen(msg)) < 0)
			code = 14;
		_exit(code);
	}
	close(fds[1]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	char msg[600] = "";
	ssize_t n = read(fds[0], msg, sizeof(msg) - 1);
	if (n > 0)
		msg[n] = '\0';
	close(fds[0]);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0, "child exit %d: %s", WEXITSTATUS(status), msg);
	ck_assert_int_eq(chmod(dbtest_path, 0755), 0);
}
END_TEST

/* ---- the info log ---- */

static shale_db *logged_db;
static int lines_seen, reentered;

static void log_line(void *state, const char *line)
{
	(void)state;
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_null(strchr(line, '\n'));
	__atomic_add_fetch(&lines_seen, 1, __ATOMIC_SEQ_CST);
	shale_db *db = __atomic_load_n(&logged_db, __ATOMIC_SEQ_CST);
	if (db) {
		/* never called under a database lock: taking it here must not hang */
		const shale_snapshot *s = shale_snapshot_create(db);
		shale_snapshot_release(db, s);
		__atomic_add_fetch(&reentered, 1, __ATOMIC_SEQ_CST);
	}
}

START_TEST(info_log_goes_to_a_callback_never_under_a_lock)
{
	shale_options *o = writer_options();
	shale_options_set_info_log(o, log_line, NULL);
	lines_seen = reentered = 0;
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	__atomic_store_n(&logged_db, db, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 3000; i++)
		put_i(db, i, "a");
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	__atomic_store_n(&logged_db, NULL, __ATOMIC_SEQ_CST);
	ck_assert_ok(shale_close(db));
	ck_assert_int_gt(lines_seen, 5);
	ck_assert_int_gt(reentered, 0);
	char logp[4200];
	snprintf(logp, sizeof(logp), "%s/LOG", dbtest_path);
	ck_assert_int_eq(access(logp, F_OK), -1);
	shale_options_destroy(o);
}
END_TEST

START_TEST(info_log_off_writes_no_log_file)
{
	shale_options *o = writer_options();
	shale_options_set_info_log(o, NULL, NULL);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	for (int i = 0; i < 2000; i++)
		put_i(db, i, "a");
	ck_assert_ok(shale_close(db));
	char logp[4200];
	snprintf(logp, sizeof(logp), "%s/LOG", dbtest_path);
	ck_assert_int_eq(access(logp, F_OK), -1);
	/* and the default is the LOG file */
	shale_options_destroy(o);
	o = writer_options();
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_close(db));
	ck_assert_int_eq(access(logp, F_OK), 0);
	shale_options_destroy(o);
}
END_TEST

/* ---- a failed open leaves nothing behind ---- */

START_TEST(failed_open_of_a_new_database_leaves_nothing)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	struct fault_rule r = { .ops = FAULT_SYNC, .path_contains = "MANIFEST", .count = -1, .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &r));
	shale_options *o = writer_options();
	options_set_env(o, e);
	shale_db *db = NULL;
	/* a directory the open makes: gone again */
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EIO);
	ck_assert_int_eq(access(dbtest_path, F_OK), -1);
	/* a directory that was there, empty but for a file of the user's: as it was */
	ck_assert_int_eq(mkdir(dbtest_path, 0755), 0);
	char mine[4200];
	snprintf(mine, sizeof(mine), "%s/notes.txt", dbtest_path);
	tu_write_file(mine, "mine", 4);
	char *before = listing(dbtest_path);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EIO);
	char *after = listing(dbtest_path);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* the fault gone, the same open creates the database */
	fault_env_clear_rules(e);
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

START_TEST(missing_current_beside_database_files_is_not_overwritten)
{
	shale_options *o = writer_options();
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	for (int i = 0; i < 2000; i++)
		put_i(db, i, "a");
	ck_assert_ok(shale_close(db));
	char cur[4200];
	snprintf(cur, sizeof(cur), "%s/CURRENT", dbtest_path);
	ck_assert_int_eq(unlink(cur), 0);
	char *before = listing(dbtest_path);
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "CURRENT is missing"));
	char *after = listing(dbtest_path);
	/* (the LOG of the failed attempt aside, nothing changed) */
	ck_assert_ptr_nonnull(before);
	ck_assert_ptr_nonnull(after);
	char *p = strstr(before, ".ldb");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(after, ".ldb"));
	free(before);
	free(after);
	shale_options_destroy(o);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("readonly");
	TCase *tc = tcase_create("read_only");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, read_only_sees_the_state_as_of_its_open);
	tcase_add_test(tc, read_only_refuses_every_write);
	tcase_add_test(tc, read_only_creates_writes_and_deletes_nothing);
	tcase_add_test(tc, read_only_opens_beside_a_writer_that_compacts);
	tcase_add_test(tc, read_only_opens_a_directory_it_cannot_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("info_log");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, info_log_goes_to_a_callback_never_under_a_lock);
	tcase_add_test(tc, info_log_off_writes_no_log_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("failed_open");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, failed_open_of_a_new_database_leaves_nothing);
	tcase_add_test(tc, missing_current_beside_database_files_is_not_overwritten);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
