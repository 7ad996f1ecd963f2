/* shale_repair_db: a healthy database, CURRENT or the MANIFEST lost or
 * damaged, a damaged or unreadable table, a damaged WAL, LevelDB's #251
 * (an older version in a higher-numbered table), many tables and large WALs
 * (merge passes, spilled memtables), misuse, and repairs cut short by errors
 * or power loss. Every key is checked against a history of what was written:
 * an answer is always a value really written for that key, and the newest
 * one wherever that one was readable. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/db/db_impl.h"
#include "lib/db/options.h"
#include "lib/db/write_batch.h"
#include "lib/testing/env_fault.h"
#include "lib/util/coding.h"
#include "lib/util/filename.h"
#include "lib/util/ikey.h"
#include "lib/version/manifest.h"
#include "lib/version/version_edit.h"
#include "sstable/table_builder.h"
#include "tests/dbtest.h"
#include "tests/model.h"
#include "tests/testutil.h"
#include "wal/wal_writer.h"

static shale_options *small_options(void)
{
	return dbtest_options(32 * 1024, 32 * 1024, 128 * 1024);
}

static shale_db *open_db(const shale_options *o)
{
	shale_db *db = NULL;
	int rc = shale_open(dbtest_path, o, &db);
	ck_assert_msg(rc == 0, "open: %d %s", rc, shale_errmsg());
	return db;
}

static void repair_ok(const shale_options *o)
{
	int rc = shale_repair_db(dbtest_path, o);
	ck_assert_msg(rc == 0, "repair: %d %s", rc, shale_errmsg());
}

/* ---- what was written ---- */

#define KEYLEN 32
#define VALLEN 200

static void key_of(int i, char *k, size_t *kl)
{
	*kl = (size_t)snprintf(k, KEYLEN, "key%05d", i);
}

/* Version v of key i: the value names both, so an answer can be traced;
 * the rest is letters that do not compress much, so that little data still
 * makes many blocks and tables. */
static void value_of(int i, uint32_t v, char *out, size_t *vl)
{
	size_t n = (size_t)snprintf(out, VALLEN, "%05d:%u:", i, v);
	size_t len = n + 20 + (size_t)((i * 7 + (int)v) % 90);
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + v + 1;
	for (; n < len; n++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		out[n] = (char)('a' + (x >> 59) % 26);
	}
	out[n] = '\0';
	*vl = n;
}

/* Every version ever written of keys 0..n-1 (version v of key i is
 * value_of(i, v) for v < versions[i]) and the state now. */
struct history {
	int n;
	uint32_t *versions;
	struct model m;
};

static void history_init(struct history *h, int n)
{
	h->n = n;
	h->versions = calloc((size_t)n, sizeof(*h->versions));
	ck_assert_ptr_nonnull(h->versions);
	model_init(&h->m);
}

static void history_free(struct history *h)
{
	free(h->versions);
	model_free(&h->m);
}

static void put_version(shale_db *db, struct history *h, int i)
{
	char k[KEYLEN], v[VALLEN];
	size_t kl, vl;
	key_of(i, k, &kl);
	value_of(i, h->versions[i]++, v, &vl);
	ck_assert_ok(shale_put(db, NULL, k, kl, v, vl));
	model_put(&h->m, k, kl, v, vl);
}

static void del_key(shale_db *db, struct history *h, int i)
{
	char k[KEYLEN];
	size_t kl;
	key_of(i, k, &kl);
	ck_assert_ok(shale_delete(db, NULL, k, kl));
	model_del(&h->m, k, kl);
}

/* ops random puts and deletes (one in del_one_in) over the keys. */
static void workload(shale_db *db, struct history *h, struct rng *r, int ops, int del_one_in)
{
	for (int j = 0; j < ops; j++) {
		int i = (int)rng_uniform(r, (uint64_t)h->n);
		if (rng_one_in(r, (uint64_t)del_one_in))
			del_key(db, h, i);
		else
			put_version(db, h, i);
	}
}

enum answer { EXACT, OLDER, ABSENT_NOT_DELETED };

/* Key i's answer: the newest version (or absent when deleted), an older
 * version really written, or absent although it was not deleted. Anything
 * else (a value never written) fails the test. */
static enum answer classify(shale_db *db, const struct history *h, int i, uint32_t *version)
{
	char k[KEYLEN], want[VALLEN];
	size_t kl, wl;
	key_of(i, k, &kl);
	void *v;
	size_t vl;
	int rc = shale_get(db, NULL, k, kl, &v, &vl);
	ck_assert_msg(rc == 0 || rc == SHALE_NOTFOUND, "get %s: %d %s", k, rc, shale_errmsg());
	const struct model_entry *e = model_get(&h->m, k, kl);
	if (rc == SHALE_NOTFOUND)
		return e == NULL ? EXACT : ABSENT_NOT_DELETED;
	unsigned idx = 0, ver = 0;
	char tmp[VALLEN];
	ck_assert_uint_lt(vl, sizeof(tmp));
	memcpy(tmp, v, vl);
	tmp[vl] = '\0';
	shale_free(v);
	ck_assert_msg(sscanf(tmp, "%5u:%u:", &idx, &ver) == 2 && (int)idx == i && ver < h->versions[i],
	              "%s answers \"%s\", never written for it", k, tmp);
	value_of(i, ver, want, &wl);
	ck_assert_msg(wl == vl && memcmp(want, tmp, vl) == 0, "%s answers \"%s\", never written", k, tmp);
	*version = ver;
	if (e && e->vlen == vl && memcmp(e->val, tmp, vl) == 0)
		return EXACT;
	return OLDER;
}

/* ---- files ---- */

static void db_file(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dbtest_path, name);
}

/* Names in dir of the given type, sorted by number (caller frees). */
static size_t list_type(const char *dir, enum file_type want, uint64_t *nums, size_t cap)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t num;
		enum file_type type;
		if (fname_parse(de->d_name, &num, &type) && type == want && n < cap)
			nums[n++] = num;
	}
	closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && nums[j - 1] > nums[j]; j--) {
			uint64_t t = nums[j];
			nums[j] = nums[j - 1];
			nums[j - 1] = t;
		}
	return n;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Changes n bytes of path from offset on. */
static void flip(const char *path, size_t offset, int n)
{
	char *data;
	size_t len = tu_read_file(path, &data);
	ck_assert_uint_lt(offset + (size_t)n, len);
	for (int j = 0; j < n; j++)
		data[offset + (size_t)j] ^= 0x5a;
	tu_write_file(path, data, len);
	free(data);
}

/* 1 when lost/ holds a file named name (or name.N) with exactly these bytes. */
static int lost_holds(const char *name, const char *data, size_t len)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/lost", dbtest_path);
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, name, strlen(name)) != 0)
			continue;
		char p[4500], *got;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		size_t n = tu_read_file(p, &got);
		found = n == len && memcmp(got, data, len) == 0;
		free(got);
	}
	closedir(d);
	return found;
}

static int log_mentions(const char *what)
{
	char p[4200], *data;
	db_file(p, sizeof(p), "LOG");
	size_t n = tu_read_file(p, &data);
	char *s = malloc(n + 1);
	memcpy(s, data, n);
	s[n] = '\0';
	int found = strstr(s, what) != NULL;
	free(s);
	free(data);
	return found;
}

static char *prop(shale_db *db, const char *name)
{
	char *v = shale_property(db, name);
	ck_assert_ptr_nonnull(v);
	return v;
}

/* A database of `keys` keys through several flushes, a compaction,
 * overwrites and deletions, with the last writes left in the WAL. */
static void build_db(const shale_options *o, struct history *h, uint64_t seed, int rounds)
{
	shale_db *db = open_db(o);
	struct rng r;
	rng_seed(&r, seed);
	for (int round = 0; round < rounds; round++) {
		workload(db, h, &r, 1200, 8);
		ck_assert_ok(db_flush_memtable(db));
		if (round == rounds / 2)
			ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	}
	workload(db, h, &r, 300, 8); /* stays in the WAL */
	ck_assert_ok(shale_close(db));
}

/* ---- healthy ---- */

START_TEST(repair_keeps_every_key_of_a_healthy_db)
{
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 400);
	build_db(o, &h, 1, 6);
	repair_ok(o);
	char lost[4200];
	db_file(lost, sizeof(lost), "lost");
	ck_assert(!exists(lost)); /* nothing was damaged */
	ck_assert(log_mentions("read whole"));
	shale_db *db = open_db(o);
	model_check_db(&h.m, db, NULL);
	char *l0 = prop(db, "shale.num-files-at-level0");
	ck_assert_str_eq(l0, "0"); /* one sorted run below level 0 */
	shale_free(l0);
	ck_assert_ok(shale_close(db));

	/* again: nothing changes */
	repair_ok(o);
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	/* later writes win over every version the repair kept */
	struct rng r;
	rng_seed(&r, 2);
	workload(db, &h, &r, 1500, 6);
	ck_assert_ok(db_flush_memtable(db));
	ck_assert_ok(shale_close(db));
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

struct report_lines {
	int n;
	int read_whole; /* a line saying a file was read whole */
};

static void count_report_line(void *state, const char *line)
{
	struct report_lines *r = state;
	r->n++;
	if (strstr(line, "read whole"))
		r->read_whole = 1;
}

START_TEST(repair_reports_to_the_info_log_the_options_give)
{
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 200);
	build_db(o, &h, 21, 3);
	char logp[4200];
	db_file(logp, sizeof(logp), "LOG");
	ck_assert_int_eq(unlink(logp), 0);
	/* a callback gets the report, and no LOG file is written */
	struct report_lines lines = { 0, 0 };
	shale_options_set_info_log(o, count_report_line, &lines);
	repair_ok(o);
	ck_assert_int_gt(lines.n, 1);
	ck_assert(lines.read_whole);
	ck_assert(!exists(logp));
	/* no info log at all: still no LOG */
	shale_options_set_info_log(o, NULL, NULL);
	repair_ok(o);
	ck_assert(!exists(logp));
	shale_options_set_info_log(o, count_report_line, &lines);
	shale_db *db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* ---- CURRENT and the MANIFEST ---- */

START_TEST(repair_without_current)
{
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 300);
	build_db(o, &h, 3, 5);
	shale_options_set_create_if_missing(o, 0);
	char p[4200];
	db_file(p, sizeof(p), "CURRENT");
	ck_assert_int_eq(unlink(p), 0);
	shale_db *db = NULL;
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_EINVAL);
	repair_ok(o);
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

START_TEST(repair_without_manifest)
{
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 300);
	build_db(o, &h, 4, 5);
	shale_options_set_create_if_missing(o, 0);
	uint64_t nums[16];
	size_t n = list_type(dbtest_path, FILE_MANIFEST, nums, 16);
	ck_assert_uint_gt(n, 0);
	for (size_t i = 0; i < n; i++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/MANIFEST-%06llu", dbtest_path, (unsigned long long)nums[i]);
		ck_assert_int_eq(unlink(p), 0);
	}
	shale_db *db = NULL;
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_ECORRUPT);
	repair_ok(o);
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* The live MANIFEST's path and bytes. */
static size_t live_manifest(char *path, size_t cap, char **data)
{
	char cur[4200], *c;
	db_file(cur, sizeof(cur), "CURRENT");
	size_t n = tu_read_file(cur, &c);
	ck_assert_uint_gt(n, 1);
	snprintf(path, cap, "%s/%.*s", dbtest_path, (int)(n - 1), c);
	free(c);
	return tu_read_file(path, data);
}

START_TEST(repair_with_damaged_manifest)
{
	shale_options *o = dbtest_options(32 * 1024, 32 * 1024, 128 * 1024);
	/* a MANIFEST of many edits: no snapshot rewrite */
	options_set_max_manifest_size(o, 64 << 20);
	struct history h;
	history_init(&h, 300);
	build_db(o, &h, 5, 8);
	shale_options_set_create_if_missing(o, 0);
	char mpath[4200], *bytes;
	size_t len = live_manifest(mpath, sizeof(mpath), &bytes);
	free(bytes);
	ck_assert_uint_gt(len, 200);
	flip(mpath, len / 2, 3);
	len = tu_read_file(mpath, &bytes);
	shale_db *db = NULL;
	ck_assert_int_eq(shale_open(dbtest_path, o, &db), SHALE_ECORRUPT);
	repair_ok(o);
	/* the damaged MANIFEST is set aside, whole */
	const char *name = strrchr(mpath, '/') + 1;
	ck_assert(lost_holds(name, bytes, len));
	ck_assert(!exists(mpath));
	ck_assert(log_mentions("set aside as lost/MANIFEST-"));
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	free(bytes);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* ---- damaged tables ---- */

/* Keys 0..n-1: the even ones written once and compacted to the bottom,
 * then every key overwritten and flushed to one level-0 table; a byte
 * changed in one of that table's data blocks. Its other blocks are kept;
 * the damaged block's keys answer their older version (even keys) or are
 * absent (odd ones, which had none): the newer one was not readable. */
START_TEST(repair_keeps_the_readable_blocks_of_a_damaged_table)
{
	shale_options *o = dbtest_options(1 << 20, 64 * 1024, 128 * 1024);
	struct history h;
	const int n = 2000;
	history_init(&h, n);
	shale_db *db = open_db(o);
	for (int i = 0; i < n; i += 2)
		put_version(db, &h, i);
	ck_assert_ok(db_flush_memtable(db));
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	for (int i = 0; i < n; i++)
		put_version(db, &h, i);
	ck_assert_ok(db_flush_memtable(db));
	char *l0 = prop(db, "shale.num-files-at-level0");
	ck_assert_str_eq(l0, "1");
	shale_free(l0);
	ck_assert_ok(shale_close(db));

	/* the level-0 table is the newest one */
	uint64_t nums[256];
	size_t nt = list_type(dbtest_path, FILE_TABLE, nums, 256);
	ck_assert_uint_gt(nt, 1);
	char tpath[4200], tname[64], *bytes;
	snprintf(tname, sizeof(tname), "%06llu.ldb", (unsigned long long)nums[nt - 1]);
	db_file(tpath, sizeof(tpath), tname);
	size_t len = tu_read_file(tpath, &bytes);
	free(bytes);
	flip(tpath, len / 3, 1);
	len = tu_read_file(tpath, &bytes);

	repair_ok(o);
	ck_assert(lost_holds(tname, bytes, len));
	ck_assert(!exists(tpath));
	ck_assert(log_mentions("damaged blocks dropped"));
	db = open_db(o);
	int lo = n, hi = -1, affected = 0, older = 0, absent = 0;
	for (int i = 0; i < n; i++) {
		uint32_t ver = 0;
		enum answer a = classify(db, &h, i, &ver);
		if (a == EXACT)
			continue;
		affected++;
		lo = i < lo ? i : lo;
		hi = i > hi ? i : hi;
		if (a == OLDER) {
			ck_assert_msg(i % 2 == 0 && ver == 0, "key %d: version %u", i, ver);
			older++;
		} else {
			ck_assert_msg(i % 2 == 1, "key %d had an older version, yet is absent", i);
			absent++;
		}
	}
	/* one block's keys, next to each other */
	ck_assert_int_gt(affected, 1);
	ck_assert_int_le(affected, 60);
	ck_assert_int_eq(hi - lo + 1, affected);
	ck_assert_int_gt(older, 0);
	ck_assert_int_gt(absent, 0);

	/* new writes: fresh numbers (none reuses a name in lost/) and newer sequences */
	for (int i = 0; i < n; i++)
		put_version(db, &h, i);
	ck_assert_ok(db_flush_memtable(db));
	ck_assert_ok(shale_close(db));
	ck_assert(lost_holds(tname, bytes, len));
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	free(bytes);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* A table cut in half (no footer): nothing in it can be read; it is set
 * aside whole and every other table's keys stay. */
START_TEST(repair_sets_an_unreadable_table_aside)
{
	shale_options *o = dbtest_options(32 * 1024, 8 * 1024, 128 * 1024);
	struct history h;
	history_init(&h, 300);
	build_db(o, &h, 6, 5);
	uint64_t nums[256];
	size_t nt = list_type(dbtest_path, FILE_TABLE, nums, 256);
	ck_assert_uint_gt(nt, 2);
	char tpath[4200], tname[64], *bytes;
	snprintf(tname, sizeof(tname), "%06llu.ldb", (unsigned long long)nums[0]);
	db_file(tpath, sizeof(tpath), tname);
	size_t len = tu_read_file(tpath, &bytes);
	tu_write_file(tpath, bytes, len / 2);
	repair_ok(o);
	ck_assert(lost_holds(tname, bytes, len / 2));
	ck_assert(log_mentions("cannot be read at all"));
	shale_db *db = open_db(o);
	int exact = 0;
	for (int i = 0; i < h.n; i++) {
		uint32_t ver;
		exact += classify(db, &h, i, &ver) == EXACT;
	}
	ck_assert_int_gt(exact, h.n / 2);
	ck_assert_ok(shale_close(db));
	free(bytes);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* ---- a damaged WAL ---- */

/* Unflushed writes over many 32 KiB blocks of one WAL, a byte changed in
 * the fourth block: repair keeps every record outside the damaged block,
 * also those after it (recovery at open would drop them). */
START_TEST(repair_reads_a_damaged_wal_past_the_damage)
{
	shale_options *o = dbtest_options(4 << 20, 64 * 1024, 128 * 1024);
	struct history h;
	const int n = 3000;
	history_init(&h, n);
	shale_db *db = open_db(o);
	for (int i = 0; i < n; i++)
		put_version(db, &h, i);
	ck_assert_ok(shale_close(db));
	uint64_t nums[16];
	size_t nl = list_type(dbtest_path, FILE_LOG, nums, 16);
	ck_assert_uint_eq(nl, 1);
	char wpath[4200], wname[64], *bytes;
	snprintf(wname, sizeof(wname), "%06llu.log", (unsigned long long)nums[0]);
	db_file(wpath, sizeof(wpath), wname);
	size_t len = tu_read_file(wpath, &bytes);
	free(bytes);
	ck_assert_uint_gt(len, 6 * 32768);
	flip(wpath, 3 * 32768 + 5000, 1);
	len = tu_read_file(wpath, &bytes);

	repair_ok(o);
	ck_assert(lost_holds(wname, bytes, len));
	ck_assert(log_mentions("damaged spots"));
	db = open_db(o);
	int lo = n, hi = -1, missing = 0;
	for (int i = 0; i < n; i++) {
		uint32_t ver;
		enum answer a = classify(db, &h, i, &ver);
		ck_assert_msg(a != OLDER, "key %d: an older version", i);
		if (a == ABSENT_NOT_DELETED) {
			missing++;
			lo = i < lo ? i : lo;
			hi = i > hi ? i : hi;
		}
	}
	/* one block's records (a record is over 80 bytes), together; the
	 * thousand and more after them are kept */
	ck_assert_int_gt(missing, 0);
	ck_assert_int_le(missing, 32768 / 80 + 2);
	ck_assert_int_eq(hi - lo + 1, missing);
	ck_assert_int_lt(hi, n - 1000);
	ck_assert_ok(shale_close(db));
	free(bytes);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* ---- LevelDB #251: versions are ordered by sequence, never by file ---- */

static struct ikey_comparator icmp;

struct entry {
	const char *key;
	uint64_t seq;
	int type;
	const char *value;
};

/* Writes table number num from entries sorted by internal key. */
static void write_table(uint64_t num, const struct entry *e, size_t n)
{
	ikey_comparator_init(&icmp, comparator_bytewise());
	struct table_options to;
	memset(&to, 0, sizeof(to));
	to.cmp = &icmp.base;
	to.internal_keys = 1;
	to.block_size = 4096;
	to.restart_interval = 16;
	to.compression = SHALE_COMPRESSION_NONE;
	to.bloom_bits_per_key = 10;
	char path[4200];
	fname_table(path, dbtest_path, num);
	struct wfile *f;
	ck_assert_ok(env_open_write(env_posix_default(), path, &f));
	struct table_builder *tb;
	ck_assert_ok(table_builder_create(&to, f, path, &tb));
	struct buf ik = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_clear(&ik);
		ck_assert_ok(ikey_append(&ik, slice_from_str(e[i].key), e[i].seq, e[i].type));
		ck_assert_ok(table_builder_add(tb, buf_slice(&ik), slice_from_str(e[i].value)));
	}
	ck_assert_ok(table_builder_finish(tb));
	ck_assert_ok(wfile_sync(f));
	table_builder_destroy(tb);
	ck_assert_ok(wfile_close(f));
	buf_free(&ik);
}

/* A MANIFEST as LevelDB's repair writes one: every table in level 0. */
static void write_manifest_level0(const uint64_t *nums, size_t n, uint64_t last_seq)
{
	struct version_edit e;
	edit_init(&e);
	ck_assert_ok(edit_set_comparator(&e, "leveldb.BytewiseComparator"));
	edit_set_log_number(&e, 20);
	edit_set_next_file(&e, 21);
	edit_set_last_sequence(&e, last_seq);
	for (size_t i = 0; i < n; i++) {
		/* the key range of both tables */
		struct buf lo = BUF_INIT, hi = BUF_INIT;
		ck_assert_ok(ikey_append(&lo, slice_from_str("a"), IKEY_SEQ_MAX, IKEY_TYPE_VALUE));
		ck_assert_ok(ikey_append(&hi, slice_from_str("z"), 0, IKEY_TYPE_DELETION));
		char path[4200];
		fname_table(path, dbtest_path, nums[i]);
		struct stat st;
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_ok(edit_add_file(&e, 0, nums[i], (uint64_t)st.st_size, buf_slice(&lo), buf_slice(&hi)));
		buf_free(&lo);
		buf_free(&hi);
	}
	struct buf rec = BUF_INIT;
	ck_assert_ok(edit_encode(&e, &rec));
	ck_assert_ok(manifest_create(env_posix_default(), dbtest_path, 1, buf_slice(&rec)));
	buf_free(&rec);
	edit_free(&e);
}

/* A batch's bytes with the given first sequence and operations. */
static void batch_bytes(struct buf *b, uint64_t seq, uint32_t count, const char *const *kv, int nkv)
{
	buf_clear(b);
	ck_assert_ok(buf_append_fixed64(b, seq));
	ck_assert_ok(buf_append_fixed32(b, count));
	for (int i = 0; i < nkv; i++) {
		ck_assert_ok(buf_append_byte(b, IKEY_TYPE_VALUE));
		ck_assert_ok(buf_append_lenprefixed(b, kv[2 * i], strlen(kv[2 * i])));
		ck_assert_ok(buf_append_lenprefixed(b, kv[2 * i + 1], strlen(kv[2 * i + 1])));
	}
}

static const char *get_str(shale_db *db, const char *k)
{
	static char out[256];
	void *v;
	size_t vl;
	int rc = shale_get(db, NULL, k, strlen(k), &v, &vl);
	if (rc == SHALE_NOTFOUND)
		return "NOT_FOUND";
	ck_assert_msg(rc == 0, "get %s: %s", k, shale_errmsg());
	ck_assert_uint_lt(vl, sizeof(out));
	memcpy(out, v, vl);
	out[vl] = '\0';
	shale_free(v);
	return out;
}

START_TEST(repair_lets_the_newest_version_win_whatever_the_file_numbers)
{
	ck_assert_int_eq(mkdir(dbtest_path, 0755), 0);
	/* the newest versions of a and of c (a deletion) in the low-numbered
	 * table, older ones in the high-numbered table */
	const struct entry low[] = {
		{ "a", 100, IKEY_TYPE_VALUE, "a-newest" },
		{ "b", 5, IKEY_TYPE_VALUE, "b-old" },
		{ "c", 60, IKEY_TYPE_DELETION, "" },
	};
	const struct entry high[] = {
		{ "a", 7, IKEY_TYPE_VALUE, "a-old" },
		{ "b", 50, IKEY_TYPE_VALUE, "b-newest" },
		{ "c", 10, IKEY_TYPE_VALUE, "c-old" },
		{ "e", 3, IKEY_TYPE_VALUE, "e-only" },
	};
	write_table(5, low, 3);
	write_table(9, high, 4);
	const uint64_t nums[] = { 5, 9 };
	write_manifest_level0(nums, 2, 100);
	shale_options *o = small_options();
	shale_options_set_create_if_missing(o, 0);

	/* the premise: ordered by file number, level 0 answers the old a (and c) */
	shale_db *db = open_db(o);
	ck_assert_str_eq(get_str(db, "a"), "a-old");
	ck_assert_str_eq(get_str(db, "c"), "c-old");
	ck_assert_ok(shale_close(db));

	/* a WAL numbered above everything, whose records are mostly older; a
	 * record going back in sequence, a repeated one, one malformed under a
	 * valid checksum, one with sequences out of range */
	char wpath[4200];
	fname_log(wpath, dbtest_path, 50);
	struct wfile *f;
	ck_assert_ok(env_open_write(env_posix_default(), wpath, &f));
	struct wal_writer w;
	wal_writer_init(&w, f, 0);
	struct buf b = BUF_INIT;
	const char *r1[] = { "x", "x30" };
	const char *r2[] = { "x", "x20", "y", "y21" };
	const char *r4[] = { "v", "v-malformed" };
	const char *r5[] = { "z", "z1", "z", "z2" };
	const char *r6[] = { "w", "w40", "a", "a-wal-41" };
	batch_bytes(&b, 30, 1, r1, 1);
	ck_assert_ok(wal_writer_add(&w, b.data, b.len));
	batch_bytes(&b, 20, 2, r2, 2);
	ck_assert_ok(wal_writer_add(&w, b.data, b.len));
	batch_bytes(&b, 30, 1, r1, 1);
	ck_assert_ok(wal_writer_add(&w, b.data, b.len));
	batch_bytes(&b, 70, 5, r4, 1); /* says 5 operations, holds 1 */
	ck_assert_ok(wal_writer_add(&w, b.data, b.len));
	batch_bytes(&b, IKEY_SEQ_MAX, 2, r5, 2); /* its second sequence is past 2^56 - 1 */
	ck_assert_ok(wal_writer_add(&w, b.data, b.len));
	batch_bytes(&b, 40, 2, r6, 2);
	ck_assert_ok(wal_writer_add(&w, b.data, b.len));
	ck_assert_ok(wal_writer_sync(&w));
	ck_assert_ok(wfile_close(f));
	buf_free(&b);

	repair_ok(o);
	db = open_db(o);
	ck_assert_str_eq(get_str(db, "a"), "a-newest");
	ck_assert_str_eq(get_str(db, "b"), "b-newest");
	ck_assert_str_eq(get_str(db, "c"), "NOT_FOUND");
	ck_assert_str_eq(get_str(db, "e"), "e-only");
	ck_assert_str_eq(get_str(db, "x"), "x30");
	ck_assert_str_eq(get_str(db, "y"), "y21");
	ck_assert_str_eq(get_str(db, "w"), "w40");
	ck_assert_str_eq(get_str(db, "v"), "NOT_FOUND");
	ck_assert_str_eq(get_str(db, "z"), "NOT_FOUND");
	/* the next sequence is past 100: a new write wins, also after compaction */
	ck_assert_ok(shale_put(db, NULL, "a", 1, "after", 5));
	ck_assert_ok(shale_close(db));
	db = open_db(o);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_str_eq(get_str(db, "a"), "after");
	ck_assert_str_eq(get_str(db, "b"), "b-newest");
	ck_assert_ok(shale_close(db));
	/* the WAL with the malformed records is set aside */
	char lost[4200];
	snprintf(lost, sizeof(lost), "%s/lost/000050.log", dbtest_path);
	ck_assert(exists(lost));
	shale_options_destroy(o);
}
END_TEST

/* ---- many inputs ---- */

/* More tables than may be open at once (max_open_files 20: ten at a time)
 * and WALs larger than the repair's memtable: merge passes and spilled
 * memtables, nothing lost, no temporary left. */
START_TEST(repair_merges_many_tables_and_large_wals_in_passes)
{
	shale_options *o = dbtest_options(16 * 1024, 8 * 1024, 32 * 1024);
	shale_options_set_max_open_files(o, 20);
	/* level 0 keeps every flush */
	shale_options_set_l0_compaction_trigger(o, 100);
	shale_options_set_l0_slowdown_trigger(o, 100);
	shale_options_set_l0_stop_trigger(o, 100);
	struct history h;
	history_init(&h, 600);
	shale_db *db = open_db(o);
	struct rng r;
	rng_seed(&r, 7);
	for (int round = 0; round < 32; round++) {
		workload(db, &h, &r, 100, 5);
		ck_assert_ok(db_flush_memtable(db));
	}
	ck_assert_ok(shale_close(db));
	/* a large WAL: written with a large write buffer, unflushed */
	shale_options *big = dbtest_options(4 << 20, 8 * 1024, 32 * 1024);
	shale_options_set_l0_compaction_trigger(big, 100);
	shale_options_set_l0_slowdown_trigger(big, 100);
	shale_options_set_l0_stop_trigger(big, 100);
	db = open_db(big);
	workload(db, &h, &r, 3000, 5);
	ck_assert_ok(shale_close(db));
	uint64_t nums[1024];
	ck_assert_uint_ge(list_type(dbtest_path, FILE_TABLE, nums, 1024), 25);

	repair_ok(o);
	ck_assert(log_mentions("merge passes before the last"));
	ck_assert(!log_mentions("; 0 merge passes"));
	ck_assert_uint_eq(list_type(dbtest_path, FILE_TEMP, nums, 1024), 0);
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	history_free(&h);
	shale_options_destroy(big);
	shale_options_destroy(o);
}
END_TEST

/* The first repair cannot remove an old table (a crash after CURRENT
 * changed can leave it too) but removes the one holding later deletions; a
 * second repair reads the old table again and must not bring back the older
 * versions of the keys deleted since. */
START_TEST(second_repair_over_old_files_keeps_deleted_keys_deleted)
{
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 200);
	shale_db *db = open_db(o);
	for (int i = 0; i < h.n; i++)
		put_version(db, &h, i);
	ck_assert_ok(db_flush_memtable(db));
	for (int i = 0; i < h.n; i += 2)
		del_key(db, &h, i);
	ck_assert_ok(db_flush_memtable(db));
	for (int i = 1; i < h.n; i += 4)
		put_version(db, &h, i);
	ck_assert_ok(shale_close(db));
	uint64_t nums[64];
	ck_assert_uint_eq(list_type(dbtest_path, FILE_TABLE, nums, 64), 2);
	char first[64];
	snprintf(first, sizeof(first), "/%06llu.ldb", (unsigned long long)nums[0]);

	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *fo = small_options();
	options_set_env(fo, e);
	struct fault_rule rule = { FAULT_REMOVE, first, 0, -1, FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &rule));
	repair_ok(fo);
	fault_env_clear_rules(e);
	ck_assert(log_mentions("could not remove"));
	char p[4200];
	db_file(p, sizeof(p), first + 1);
	ck_assert(exists(p));
	repair_ok(fo);
	db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(fo);
	env_destroy(e);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* ---- misuse ---- */

START_TEST(repair_of_an_open_db_is_busy)
{
	shale_options *o = small_options();
	shale_db *db = open_db(o);
	ck_assert_ok(shale_put(db, NULL, "k", 1, "v", 1));
	ck_assert_int_eq(shale_repair_db(dbtest_path, o), SHALE_EBUSY);
	ck_assert_str_eq(get_str(db, "k"), "v");
	ck_assert_ok(shale_close(db));
	repair_ok(o);
	db = open_db(o);
	ck_assert_str_eq(get_str(db, "k"), "v");
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

START_TEST(repair_of_what_is_not_a_db_is_einval)
{
	ck_assert_int_eq(shale_repair_db(NULL, NULL), SHALE_EINVAL);
	ck_assert_int_eq(shale_repair_db("", NULL), SHALE_EINVAL);
	ck_assert_int_eq(shale_repair_db(dbtest_path, NULL), SHALE_EINVAL); /* missing */
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "does not exist"));
	ck_assert_int_eq(mkdir(dbtest_path, 0755), 0);
	ck_assert_int_eq(shale_repair_db(dbtest_path, NULL), SHALE_EINVAL); /* empty */
	char p[4200];
	db_file(p, sizeof(p), "notes.txt");
	tu_write_file(p, "hello", 5);
	ck_assert_int_eq(shale_repair_db(dbtest_path, NULL), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "no database files"));
	db_file(p, sizeof(p), "LOCK");
	ck_assert(!exists(p)); /* nothing was created there */
	/* absurd options are refused before anything is read */
	shale_options *o = small_options();
	shale_options_set_block_size(o, 0);
	ck_assert_int_eq(shale_repair_db(dbtest_path, o), SHALE_EINVAL);
	shale_options_destroy(o);
}
END_TEST

static int reverse_compare(void *state, const void *a, size_t al, const void *b, size_t bl)
{
	(void)state;
	return model_keycmp(b, bl, a, al);
}

static const char *reverse_name(void *state)
{
	(void)state;
	return "test.Reverse";
}

START_TEST(repair_with_another_comparator_is_einval)
{
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 200);
	build_db(o, &h, 9, 3);
	shale_comparator *c = shale_comparator_create(NULL, NULL, reverse_compare, reverse_name);
	shale_options *ro = small_options();
	shale_options_set_comparator(ro, c);
	ck_assert_int_eq(shale_repair_db(dbtest_path, ro), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "test.Reverse"));
	/* nothing was touched */
	char lost[4200];
	db_file(lost, sizeof(lost), "lost");
	ck_assert(!exists(lost));
	shale_db *db = open_db(o);
	model_check_db(&h.m, db, NULL);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(ro);
	shale_comparator_destroy(c);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* ---- repairs cut short ---- */

static char pristine[4200];

static void copy_dir(const char *from, const char *to)
{
	tu_rmtree(to);
	ck_assert_int_eq(mkdir(to, 0755), 0);
	DIR *d = opendir(from);
	ck_assert_ptr_nonnull(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char a[4500], b[4500], *data;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		size_t n = tu_read_file(a, &data);
		tu_write_file(b, data, n);
		free(data);
	}
	closedir(d);
}

/* A database in `pristine` and its history; with damaged_manifest its live
 * MANIFEST has a byte changed (*mname, *mbytes, *mlen: that file). */
static void build_pristine(shale_options *o, struct history *h, int damaged_manifest, char *mname,
                           char **mbytes, size_t *mlen)
{
	snprintf(pristine, sizeof(pristine), "%s/pristine", dbtest_dir);
	build_db(o, h, 10, 4);
	*mbytes = NULL;
	*mlen = 0;
	if (damaged_manifest) {
		char mpath[4200], *bytes;
		size_t len = live_manifest(mpath, sizeof(mpath), &bytes);
		free(bytes);
		flip(mpath, len / 2, 1);
		*mlen = tu_read_file(mpath, mbytes);
		snprintf(mname, 64, "%s", strrchr(mpath, '/') + 1);
	}
	ck_assert_int_eq(rename(dbtest_path, pristine), 0);
}

/* After an interrupted repair and whatever came after: the damaged MANIFEST
 * is in the DB directory or in lost/, whole. */
static void manifest_kept(const char *mname, const char *mbytes, size_t mlen, int must_be_lost)
{
	if (mbytes == NULL)
		return;
	char p[4200], *data;
	db_file(p, sizeof(p), mname);
	int in_place = 0;
	if (exists(p)) {
		size_t n = tu_read_file(p, &data);
		in_place = n == mlen && memcmp(data, mbytes, n) == 0;
		free(data);
	}
	ck_assert_msg(must_be_lost ? lost_holds(mname, mbytes, mlen) : (in_place || lost_holds(mname, mbytes, mlen)),
	              "the damaged MANIFEST %s was lost", mname);
}

/* An error at each of the first few operations of each kind: the repair
 * fails or succeeds; either way the database is intact (healthy: it opens
 * with every key; damaged: nothing is lost), and a second repair completes. */
START_TEST(repair_cut_short_by_an_error_can_run_again)
{
	int damaged = _i;
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 200);
	char mname[64], *mbytes;
	size_t mlen;
	build_pristine(o, &h, damaged, mname, &mbytes, &mlen);
	shale_options_set_create_if_missing(o, 0);
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *fo = small_options();
	shale_options_set_create_if_missing(fo, 0);
	options_set_env(fo, e);
	const unsigned ops[] = { FAULT_OPEN_WRITE, FAULT_APPEND, FAULT_SYNC, FAULT_SYNC_DIR, FAULT_RENAME,
	                         FAULT_LINK, FAULT_MKDIR, FAULT_REMOVE, FAULT_LIST, FAULT_FLUSH };
	const int skips[] = { 0, 1, 3, 10 };
	int failed = 0;
	for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++) {
		for (size_t si = 0; si < sizeof(skips) / sizeof(skips[0]); si++) {
			copy_dir(pristine, dbtest_path);
			struct fault_rule rule = { ops[oi], dbtest_path, skips[si], 1, FAULT_EIO };
			ck_assert_ok(fault_env_add_rule(e, &rule));
			int rc = shale_repair_db(dbtest_path, fo);
			fault_env_clear_rules(e);
			if (rc) {
				failed++;
				ck_assert_msg(rc == SHALE_EIO, "op %#x skip %d: %d %s", ops[oi], skips[si], rc,
				              shale_errmsg());
			}
			manifest_kept(mname, mbytes, mlen, 0);
			if (!damaged) {
				shale_db *db = open_db(o);
				model_check_db(&h.m, db, NULL);
				ck_assert_ok(shale_close(db));
			}
			rc = shale_repair_db(dbtest_path, fo);
			ck_assert_msg(rc == 0, "op %#x skip %d: second repair: %s", ops[oi], skips[si], shale_errmsg());
			manifest_kept(mname, mbytes, mlen, 1);
			shale_db *db = open_db(o);
			model_check_db(&h.m, db, NULL);
			ck_assert_ok(shale_close(db));
		}
	}
	ck_assert_int_gt(failed, 8); /* the faults did hit */
	free(mbytes);
	shale_options_destroy(fo);
	env_destroy(e);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

/* Power loss: the operations where it can matter, recorded by a dry run. */
struct plug {
	int recording;
	uint64_t *seqs;
	size_t n, cap;
	uint64_t at;
	int armed;
};

static int plug_hook(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq)
{
	struct plug *p = arg;
	(void)path;
	if (p->recording) {
		/* every operation that changes something */
		int change = !(op & (FAULT_OPEN_READ | FAULT_READ | FAULT_LIST | FAULT_LOCK));
		if (change && p->n < p->cap)
			p->seqs[p->n++] = seq;
	}
	if (p->armed && seq >= p->at)
		fault_env_freeze(e);
	return FAULT_NONE;
}

/* Power lost at every step of a repair: afterwards the database (healthy:
 * opened as it is; damaged: repaired again) holds every key, and a damaged
 * MANIFEST is never lost. */
START_TEST(repair_survives_power_loss_at_every_step)
{
	int damaged = _i;
	shale_options *o = small_options();
	struct history h;
	history_init(&h, 200);
	char mname[64], *mbytes;
	size_t mlen;
	build_pristine(o, &h, damaged, mname, &mbytes, &mlen);
	shale_options_set_create_if_missing(o, 0);

	struct plug plug = { 1, NULL, 0, 4096, 0, 0 };
	plug.seqs = calloc(plug.cap, sizeof(*plug.seqs));
	struct env *e;
	copy_dir(pristine, dbtest_path);
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	fault_env_set_hook(e, plug_hook, &plug);
	shale_options *fo = small_options();
	shale_options_set_create_if_missing(fo, 0);
	options_set_env(fo, e);
	uint64_t base = fault_env_op_count(e);
	repair_ok(fo);
	plug.recording = 0;
	env_destroy(e);
	ck_assert_uint_gt(plug.n, 20);

	for (size_t s = 0; s < plug.n; s++) {
		copy_dir(pristine, dbtest_path);
		ck_assert_ok(fault_env_create(env_posix_default(), &e));
		fault_env_set_hook(e, plug_hook, &plug);
		options_set_env(fo, e);
		plug.at = fault_env_op_count(e) + (plug.seqs[s] - base);
		plug.armed = 1;
		shale_repair_db(dbtest_path, fo); /* the ghost's result does not matter */
		plug.armed = 0;
		ck_assert_ok(fault_env_crash(e));
		manifest_kept(mname, mbytes, mlen, 0);
		if (!damaged) {
			shale_db *db = NULL;
			int rc = shale_open(dbtest_path, fo, &db);
			ck_assert_msg(rc == 0, "step %zu/%zu: open after the crash: %s", s, plug.n, shale_errmsg());
			model_check_db(&h.m, db, NULL);
			ck_assert_ok(shale_close(db));
		}
		int rc = shale_repair_db(dbtest_path, fo);
		ck_assert_msg(rc == 0, "step %zu/%zu: repair after the crash: %s", s, plug.n, shale_errmsg());
		manifest_kept(mname, mbytes, mlen, 1);
		shale_db *db = open_db(fo);
		model_check_db(&h.m, db, NULL);
		ck_assert_ok(shale_close(db));
		env_destroy(e);
	}
	free(plug.seqs);
	free(mbytes);
	shale_options_destroy(fo);
	history_free(&h);
	shale_options_destroy(o);
}
END_TEST

static Suite *repair_suite(void)
{
	Suite *s = suite_create("repair");
	TCase *tc = tcase_create("repair");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, repair_keeps_every_key_of_a_healthy_db);
	tcase_add_test(tc, repair_reports_to_the_info_log_the_options_give);
	tcase_add_test(tc, repair_without_current);
	tcase_add_test(tc, repair_without_manifest);
	tcase_add_test(tc, repair_with_damaged_manifest);
	tcase_add_test(tc, repair_keeps_the_readable_blocks_of_a_damaged_table);
	tcase_add_test(tc, repair_sets_an_unreadable_table_aside);
	tcase_add_test(tc, repair_reads_a_damaged_wal_past_the_damage);
	tcase_add_test(tc, repair_lets_the_newest_version_win_whatever_the_file_numbers);
	tcase_add_test(tc, repair_merges_many_tables_and_large_wals_in_passes);
	tcase_add_test(tc, second_repair_over_old_files_keeps_deleted_keys_deleted);
	tcase_add_test(tc, repair_of_an_open_db_is_busy);
	tcase_add_test(tc, repair_of_what_is_not_a_db_is_einval);
	tcase_add_test(tc, repair_with_another_comparator_is_einval);
	suite_add_tcase(s, tc);
	tc = tcase_create("interrupted");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, repair_cut_short_by_an_error_can_run_again, 0, 2);
	tcase_add_loop_test(tc, repair_survives_power_loss_at_every_step, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(repair_suite());
}
