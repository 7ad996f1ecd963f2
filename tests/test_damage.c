/* Damage never aborts, hangs or lies: files crafted or damaged in the ways
 * issue 10 found, each answered with a clear error (or the documented
 * recovery) instead of an abort, a hang, a skipped record or an impossible
 * state. Each test is a regression test of one finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/db/options.h"
#include "lib/db/write_batch.h"
#include "lib/testing/env_fault.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/filename.h"
#include "lib/util/ikey.h"
#include "lib/version/manifest.h"
#include "lib/version/version_edit.h"
#include "sstable/table_builder.h"
#include "tests/dbtest.h"
#include "tests/testutil.h"
#include "wal/wal_format.h"
#include "wal/wal_writer.h"

/* ---- crafting files ---- */

/* The number of the DB's only WAL after an open and a close. */
static uint64_t only_log(void)
{
	char **names = NULL;
	size_t n = 0;
	uint64_t found = 0;
	ck_assert_ok(env_list_dir(env_posix_default(), dbtest_path, &names, &n));
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type t;
		if (fname_parse(names[i], &num, &t) && t == FILE_LOG) {
			ck_assert_msg(found == 0, "more than one WAL");
			found = num;
		}
	}
	env_free_names(names, n);
	ck_assert_uint_gt(found, 0);
	return found;
}

/* An empty database (created, closed) whose WAL is *log. */
static void make_empty_db(uint64_t *log)
{
	shale_options *o = dbtest_options(1 << 20, 1 << 20, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	*log = only_log();
}

/* A batch putting key "k<i>" = "v<i>" for i in [from, from + count), at
 * sequence seq. */
static void batch_of(struct shale_batch *b, uint64_t seq, int from, int count)
{
	batch_reset(b);
	for (int i = from; i < from + count; i++) {
		char k[32], v[32];
		int kl = snprintf(k, sizeof(k), "k%04d", i), vl = snprintf(v, sizeof(v), "v%04d", i);
		ck_assert_ok(shale_batch_put(b, k, (size_t)kl, v, (size_t)vl));
	}
	batch_set_sequence(b, seq);
}

struct logw {
	struct wfile *f;
	struct wal_writer w;
};

static void log_open(struct logw *l, uint64_t number)
{
	char path[FNAME_MAX];
	fname_log(path, dbtest_path, number);
	ck_assert_ok(env_open_write(env_posix_default(), path, &l->f));
	wal_writer_init(&l->w, l->f, 0);
}

/* One record per key: seq, seq+1, ... */
static void log_records(struct logw *l, uint64_t seq, int from, int count)
{
	struct shale_batch b;
	ck_assert_ok(batch_init(&b));
	for (int i = 0; i < count; i++) {
		batch_of(&b, seq + (uint64_t)i, from + i, 1);
		ck_assert_ok(wal_writer_add(&l->w, b.rep.data, b.rep.len));
	}
	batch_free(&b);
}

/* A fragment written by hand, with a valid checksum: any type byte. (Placed
 * at the writer's position; the test keeps it inside the current block.) */
static void log_raw_fragment(struct logw *l, unsigned type, const char *payload, size_t n)
{
	char h[WAL_HEADER_SIZE];
	char t = (char)type;
	uint32_t crc = crc32c_extend(crc32c_value(&t, 1), payload, n);
	encode_fixed32(h, crc32c_mask(crc));
	encode_fixed16(h + 4, (uint16_t)n);
	h[6] = t;
	ck_assert_ok(wfile_append(l->f, h, sizeof(h)));
	ck_assert_ok(wfile_append(l->f, payload, n));
	ck_assert_ok(wfile_flush(l->f));
	l->w.block_offset += sizeof(h) + n;
}

static void log_close(struct logw *l)
{
	ck_assert_ok(wfile_sync(l->f));
	ck_assert_ok(wfile_close(l->f));
}

static int get_key(shale_db *db, int i)
{
	char k[32];
	int kl = snprintf(k, sizeof(k), "k%04d", i);
	void *v = NULL;
	size_t vl = 0;
	int rc = shale_get(db, NULL, k, (size_t)kl, &v, &vl);
	if (rc == SHALE_OK) {
		char want[32];
		int wl = snprintf(want, sizeof(want), "v%04d", i);
		ck_assert_msg(vl == (size_t)wl && memcmp(v, want, vl) == 0, "k%04d has a wrong value", i);
	}
	shale_free(v);
	return rc;
}

static shale_db *open_with(int paranoid, int *rc_out)
{
	shale_options *o = dbtest_options(1 << 20, 1 << 20, 1 << 20);
	shale_options_set_paranoid_checks(o, paranoid);
	shale_db *db = NULL;
	*rc_out = shale_open(dbtest_path, o, &db);
	shale_options_destroy(o);
	return db;
}

static void cut_file(const char *path, uint64_t bytes_off_end)
{
	uint64_t size;
	ck_assert_ok(env_file_size(env_posix_default(), path, &size));
	ck_assert_uint_gt(size, bytes_off_end);
	ck_assert_int_eq(truncate(path, (off_t)(size - bytes_off_end)), 0);
}

/* ---- 1: a torn tail in an older WAL ---- */

/* Two WALs: the first (records k0..k9) with its last record cut short, the
 * second (k10..k19) complete. */
static void two_logs_first_torn(int flip_length)
{
	uint64_t log;
	make_empty_db(&log);
	struct logw a, b;
	log_open(&a, log);
	log_records(&a, 1, 0, 10);
	log_close(&a);
	char path[FNAME_MAX];
	fname_log(path, dbtest_path, log);
	if (flip_length) {
		/* the last record's length byte says more than the file holds */
		char *data = NULL;
		size_t n = tu_read_file(path, &data);
		struct slice last;
		ck_assert_uint_gt(n, 30);
		/* records here are equal in size: the last header is at n - size */
		size_t rec = n / 10;
		last = slice_make(data + n - rec, rec);
		((char *)last.data)[4] = (char)0xff;
		tu_write_file(path, data, n);
		free(data);
	} else {
		cut_file(path, 3);
	}
	log_open(&b, log + 10);
	log_records(&b, 11, 10, 10);
	log_close(&b);
}

START_TEST(older_wal_torn_tail_is_damage_when_a_later_wal_has_records)
{
	two_logs_first_torn(_i);
	int rc;
	shale_db *db = open_with(0, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	for (int i = 0; i < 9; i++)
		ck_assert_int_eq(get_key(db, i), SHALE_OK);
	/* the torn record is gone, so nothing after it may come back */
	ck_assert_int_eq(get_key(db, 9), SHALE_NOTFOUND);
	for (int i = 10; i < 20; i++)
		ck_assert_msg(get_key(db, i) == SHALE_NOTFOUND, "k%04d replayed over a hole", i);
	/* the database stays usable */
	ck_assert_ok(shale_put(db, NULL, "after", 5, "x", 1));
	ck_assert_ok(shale_close(db));
}
END_TEST

START_TEST(older_wal_torn_tail_fails_paranoid_open)
{
	two_logs_first_torn(_i);
	int rc;
	shale_db *db = open_with(1, &rc);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), ".log"));
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "cut short"));
}
END_TEST

START_TEST(newest_wal_torn_tail_is_a_crash_not_damage)
{
	uint64_t log;
	make_empty_db(&log);
	struct logw a;
	log_open(&a, log);
	log_records(&a, 1, 0, 10);
	log_close(&a);
	char path[FNAME_MAX];
	fname_log(path, dbtest_path, log);
	cut_file(path, 3);
	/* a later WAL without records does not make it damage either */
	struct logw b;
	log_open(&b, log + 10);
	log_close(&b);
	int rc;
	shale_db *db = open_with(1, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	for (int i = 0; i < 9; i++)
		ck_assert_int_eq(get_key(db, i), SHALE_OK);
	ck_assert_int_eq(get_key(db, 9), SHALE_NOTFOUND);
	ck_assert_ok(shale_close(db));
}
END_TEST

/* ---- 2: record types the reader uses for itself ---- */

START_TEST(wal_record_of_type_5_6_or_7_is_damage)
{
	unsigned type = 5 + (unsigned)_i;
	uint64_t log;
	make_empty_db(&log);
	struct logw a;
	log_open(&a, log);
	log_records(&a, 1, 0, 5);
	log_raw_fragment(&a, type, "xyz", 3);
	log_records(&a, 6, 5, 5);
	log_close(&a);

	int rc;
	shale_db *db = open_with(1, &rc);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "unknown record type"));

	db = open_with(0, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(get_key(db, i), SHALE_OK);
	/* never skipped over: the records after the bad one are not replayed */
	for (int i = 5; i < 10; i++)
		ck_assert_int_eq(get_key(db, i), SHALE_NOTFOUND);
	ck_assert_ok(shale_close(db));
}
END_TEST

START_TEST(manifest_record_of_type_5_fails_open)
{
	uint64_t log;
	make_empty_db(&log);
	/* CURRENT's MANIFEST gets a valid-checksum type-5 record, then an edit
	 * that would matter (a later log number) */
	char cur[FNAME_MAX], *data = NULL;
	fname_current(cur, dbtest_path);
	size_t n = tu_read_file(cur, &data);
	ck_assert_uint_gt(n, 1);
	char mpath[FNAME_MAX + 64];
	snprintf(mpath, sizeof(mpath), "%s/%.*s", dbtest_path, (int)(n - 1), data);
	free(data);
	struct logw m;
	uint64_t size;
	ck_assert_ok(env_file_size(env_posix_default(), mpath, &size));
	ck_assert_ok(env_open_append(env_posix_default(), mpath, &m.f));
	wal_writer_init(&m.w, m.f, size);
	log_raw_fragment(&m, 5, "", 0);
	struct version_edit e;
	struct buf rec = BUF_INIT;
	edit_init(&e);
	edit_set_log_number(&e, log + 100);
	ck_assert_ok(edit_encode(&e, &rec));
	ck_assert_ok(wal_writer_add(&m.w, rec.data, rec.len));
	edit_free(&e);
	buf_free(&rec);
	log_close(&m);

	int rc;
	shale_db *db = open_with(0, &rc);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "MANIFEST"));
}
END_TEST

/* ---- 3: bytes on disk that used to reach an assert ---- */

START_TEST(wal_sequence_past_56_bits_is_damage)
{
	uint64_t log;
	make_empty_db(&log);
	struct logw a;
	log_open(&a, log);
	log_records(&a, 1, 0, 3);
	log_records(&a, UINT64_C(1) << 56, 3, 1);
	log_records(&a, 5, 4, 1);
	log_close(&a);
	int rc;
	shale_db *db = open_with(1, &rc);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "2^56"));
	db = open_with(0, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(get_key(db, i), SHALE_OK);
	ck_assert_int_eq(get_key(db, 3), SHALE_NOTFOUND);
	ck_assert_int_eq(get_key(db, 4), SHALE_NOTFOUND);
	ck_assert_ok(shale_put(db, NULL, "later", 5, "x", 1));
	ck_assert_ok(shale_close(db));
	/* what the open recorded is sane: it opens again */
	db = open_with(1, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	ck_assert_ok(shale_close(db));
}
END_TEST

START_TEST(wal_sequence_going_back_is_damage)
{
	uint64_t log;
	make_empty_db(&log);
	struct logw a;
	log_open(&a, log);
	log_records(&a, 1, 0, 5);
	log_records(&a, 5, 4, 1); /* the same key at the same sequence again */
	log_records(&a, 6, 5, 1);
	log_close(&a);
	int rc;
	shale_db *db = open_with(1, &rc);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "goes back"));
	db = open_with(0, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(get_key(db, i), SHALE_OK);
	ck_assert_int_eq(get_key(db, 5), SHALE_NOTFOUND);
	ck_assert_ok(shale_close(db));
}
END_TEST

/* The internal-key order reversed: a table builder fed with it writes keys
 * in descending order, with valid checksums. */
static int reversed_compare(const struct comparator *c, struct slice a, struct slice b)
{
	(void)c;
	return -ikey_compare(comparator_bytewise(), a, b);
}

static const char *reversed_name(const struct comparator *c)
{
	(void)c;
	return "test.Reversed";
}

/* Writes table `number` holding keys k<from>..k<from+count-1> at sequences
 * seq.., in descending key order; returns its size and bounds (in the
 * correct order: smallest is the smallest key). */
static uint64_t write_reversed_table(uint64_t number, int from, int count, uint64_t seq, struct buf *smallest,
                                     struct buf *largest)
{
	struct comparator rev = { .compare = reversed_compare, .name = reversed_name,
		                      .shorten_separator = comparator_keep_separator,
		                      .short_successor = comparator_keep_successor };
	struct table_options to = { .cmp = &rev, .internal_keys = 1, .block_size = 256, .restart_interval = 4,
		                        .compression = SHALE_COMPRESSION_NONE, .bloom_bits_per_key = 10 };
	char path[FNAME_MAX];
	fname_table(path, dbtest_path, number);
	struct wfile *f = NULL;
	struct table_builder *tb = NULL;
	ck_assert_ok(env_open_write(env_posix_default(), path, &f));
	ck_assert_ok(table_builder_create(&to, f, path, &tb));
	buf_init(smallest);
	buf_init(largest);
	for (int i = from + count - 1; i >= from; i--) {
		char k[32];
		int kl = snprintf(k, sizeof(k), "k%04d", i);
		struct buf ik = BUF_INIT;
		ck_assert_ok(ikey_append(&ik, slice_make(k, (size_t)kl), seq + (uint64_t)i, IKEY_TYPE_VALUE));
		ck_assert_ok(table_builder_add(tb, buf_slice(&ik), slice_make("val", 3)));
		if (i == from + count - 1)
			ck_assert_ok(buf_set(largest, ik.data, ik.len));
		if (i == from)
			ck_assert_ok(buf_set(smallest, ik.data, ik.len));
		buf_free(&ik);
	}
	ck_assert_ok(table_builder_finish(tb));
	uint64_t size = table_builder_file_size(tb);
	table_builder_destroy(tb);
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_close(f));
	return size;
}

/* A MANIFEST naming the given files (level, number, size, bounds), with log
 * number `log` and everything past `next`. */
struct crafted_file {
	int level;
	uint64_t number, size;
	struct buf smallest, largest;
};

static void write_manifest(uint64_t number, uint64_t log, uint64_t next, uint64_t last_seq,
                           struct crafted_file *files, int n)
{
	struct version_edit e;
	struct buf rec = BUF_INIT;
	edit_init(&e);
	ck_assert_ok(edit_set_comparator(&e, "leveldb.BytewiseComparator"));
	edit_set_log_number(&e, log);
	edit_set_next_file(&e, next);
	edit_set_last_sequence(&e, last_seq);
	for (int i = 0; i < n; i++)
		ck_assert_ok(edit_add_file(&e, files[i].level, files[i].number, files[i].size,
		                           buf_slice(&files[i].smallest), buf_slice(&files[i].largest)));
	ck_assert_ok(edit_encode(&e, &rec));
	ck_assert_ok(manifest_create(env_posix_default(), dbtest_path, number, buf_slice(&rec)));
	edit_free(&e);
	buf_free(&rec);
}

START_TEST(compaction_of_a_table_with_keys_out_of_order_is_corruption)
{
	uint64_t log;
	make_empty_db(&log);
	struct crafted_file f[2];
	f[0].level = 0;
	f[0].number = log + 10;
	f[0].size = write_reversed_table(f[0].number, 0, 50, 1, &f[0].smallest, &f[0].largest);
	f[1].level = 0;
	f[1].number = log + 11;
	f[1].size = write_reversed_table(f[1].number, 25, 50, 100, &f[1].smallest, &f[1].largest);
	write_manifest(log + 20, log, log + 30, 200, f, 2);
	for (int i = 0; i < 2; i++) {
		buf_free(&f[i].smallest);
		buf_free(&f[i].largest);
	}
	int rc;
	shale_db *db = open_with(0, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	rc = shale_compact_range(db, NULL, 0, NULL, 0);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "out of order"));
	/* the damage is sticky for writes; the process is alive */
	ck_assert_int_eq(shale_put(db, NULL, "a", 1, "b", 1), SHALE_ECORRUPT);
	ck_assert_ok(shale_close(db));
}
END_TEST

/* Found by fuzz/fuzz_db_open: an iterator over a table whose keys are out of
 * order (under valid checksums) skipped the keys that went back (forward)
 * or showed them out of order (backward), with status OK. */
START_TEST(iterator_over_a_table_with_keys_out_of_order_is_corruption)
{
	uint64_t log;
	make_empty_db(&log);
	struct crafted_file f;
	f.level = 0;
	f.number = log + 10;
	f.size = write_reversed_table(f.number, 0, 50, 1, &f.smallest, &f.largest);
	write_manifest(log + 20, log, log + 30, 200, &f, 1);
	buf_free(&f.smallest);
	buf_free(&f.largest);
	int rc;
	shale_db *db = open_with(0, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	for (int backward = 0; backward < 2; backward++) {
		shale_iter *it = shale_iter_create(db, NULL);
		ck_assert_ptr_nonnull(it);
		int shown = 0;
		if (backward)
			for (shale_iter_seek_last(it); shale_iter_valid(it); shale_iter_prev(it))
				shown++;
		else
			for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it))
				shown++;
		ck_assert_int_eq(shale_iter_status(it), SHALE_ECORRUPT);
		ck_assert_msg(strstr(shale_errmsg(), "out of order") != NULL, "message: %s", shale_errmsg());
		/* forward shows the first key read, then meets the damage; backward
		 * meets it while gathering the last key */
		ck_assert_msg(shown == !backward, "shown %d: %s", shown, shale_errmsg());
		shale_iter_destroy(it);
	}
	ck_assert_ok(shale_close(db));
}
END_TEST

/* The internal-key order, with index separators that lie: every one but the
 * last is "a" (below every key: seeks skip the block) or "z" (above every
 * key: seeks stop at the first block). The checksums are valid. */
static int ikey_order(const struct comparator *c, struct slice a, struct slice b)
{
	(void)c;
	return ikey_compare(comparator_bytewise(), a, b);
}

static const char *ikey_order_name(const struct comparator *c)
{
	(void)c;
	return "leveldb.InternalKeyComparator";
}

static int low_separator(const struct comparator *c, struct buf *start, struct slice limit)
{
	(void)c;
	(void)limit;
	buf_clear(start);
	return ikey_append(start, slice_make("a", 1), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK);
}

static int high_separator(const struct comparator *c, struct buf *start, struct slice limit)
{
	(void)c;
	(void)limit;
	buf_clear(start);
	return ikey_append(start, slice_make("z", 1), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK);
}

/* Table `number` with keys k0000..k<count-1> at sequences 1.., small blocks,
 * index separators from sep; its size and bounds. */
static uint64_t write_lying_index_table(uint64_t number, int count,
                                        int (*sep)(const struct comparator *, struct buf *, struct slice),
                                        struct buf *smallest, struct buf *largest)
{
	struct comparator lying = { .compare = ikey_order, .name = ikey_order_name, .shorten_separator = sep,
		                        .short_successor = comparator_keep_successor };
	struct table_options to = { .cmp = &lying, .internal_keys = 1, .block_size = 128, .restart_interval = 4,
		                        .compression = SHALE_COMPRESSION_NONE, .bloom_bits_per_key = 10 };
	char path[FNAME_MAX];
	fname_table(path, dbtest_path, number);
	struct wfile *f = NULL;
	struct table_builder *tb = NULL;
	ck_assert_ok(env_open_write(env_posix_default(), path, &f));
	ck_assert_ok(table_builder_create(&to, f, path, &tb));
	buf_init(smallest);
	buf_init(largest);
	for (int i = 0; i < count; i++) {
		char k[32];
		int kl = snprintf(k, sizeof(k), "k%04d", i);
		struct buf ik = BUF_INIT;
		ck_assert_ok(ikey_append(&ik, slice_make(k, (size_t)kl), 1 + (uint64_t)i, IKEY_TYPE_VALUE));
		ck_assert_ok(table_builder_add(tb, buf_slice(&ik), slice_make("val", 3)));
		ck_assert_ok(buf_set(i == 0 ? smallest : largest, ik.data, ik.len));
		buf_free(&ik);
	}
	ck_assert_ok(table_builder_finish(tb));
	uint64_t size = table_builder_file_size(tb);
	table_builder_destroy(tb);
	ck_assert_ok(wfile_sync(f));
	ck_assert_ok(wfile_close(f));
	return size;
}

/* A database of one such table at level 1. */
static shale_db *open_lying_index_db(int (*sep)(const struct comparator *, struct buf *, struct slice))
{
	uint64_t log;
	make_empty_db(&log);
	struct crafted_file f;
	f.level = 1;
	f.number = log + 10;
	f.size = write_lying_index_table(f.number, 50, sep, &f.smallest, &f.largest);
	write_manifest(log + 20, log, log + 30, 200, &f, 1);
	buf_free(&f.smallest);
	buf_free(&f.largest);
	int rc;
	shale_db *db = open_with(0, &rc);
	ck_assert_msg(rc == 0, "%s", shale_errmsg());
	return db;
}

/* Found by fuzz/fuzz_db_open: with an index whose separators sort below
 * their blocks' keys, seek_for_prev("k0005") answered a key after k0005. */
START_TEST(seek_for_prev_past_its_target_through_a_lying_index_is_corruption)
{
	shale_db *db = open_lying_index_db(low_separator);
	shale_iter *it = shale_iter_create(db, NULL);
	ck_assert_ptr_nonnull(it);
	int n = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it))
		n++;
	ck_assert_msg(n == 50 && shale_iter_status(it) == 0, "a walk reads every block: %d", n);
	shale_iter_seek_for_prev(it, "k0005", 5);
	ck_assert(!shale_iter_valid(it));
	ck_assert_int_eq(shale_iter_status(it), SHALE_ECORRUPT);
	ck_assert_msg(strstr(shale_errmsg(), "wrong side of its target") != NULL, "message: %s", shale_errmsg());
	shale_iter_destroy(it);
	ck_assert_ok(shale_close(db));
}
END_TEST

/* The other side of the same check, with separators above their blocks'
 * keys: seek("k0025") stopped at the first block and answered the first key
 * of the second, below k0025. */
START_TEST(seek_before_its_target_through_a_lying_index_is_corruption)
{
	shale_db *db = open_lying_index_db(high_separator);
	shale_iter *it = shale_iter_create(db, NULL);
	ck_assert_ptr_nonnull(it);
	shale_iter_seek(it, "k0025", 5);
	ck_assert(!shale_iter_valid(it));
	ck_assert_int_eq(shale_iter_status(it), SHALE_ECORRUPT);
	ck_assert_msg(strstr(shale_errmsg(), "wrong side of its target") != NULL, "message: %s", shale_errmsg());
	shale_iter_destroy(it);
	ck_assert_ok(shale_close(db));
}
END_TEST

/* ---- 4: a file entry whose smallest key sorts after its largest ---- */

START_TEST(manifest_file_with_smallest_after_largest_fails_open)
{
	uint64_t log;
	make_empty_db(&log);
	/* two real files in level 1, the second with its bounds swapped: same
	 * user key, the "smallest" holding the lower sequence */
	struct crafted_file f[2];
	struct shale_batch unused;
	(void)unused;
	for (int i = 0; i < 2; i++) {
		f[i].level = 1;
		f[i].number = log + 10 + (uint64_t)i;
		buf_init(&f[i].smallest);
		buf_init(&f[i].largest);
		char path[FNAME_MAX];
		fname_table(path, dbtest_path, f[i].number);
		tu_write_file(path, "x", 1);
		f[i].size = 1;
	}
	ck_assert_ok(ikey_append(&f[0].smallest, slice_make("a", 1), 10, IKEY_TYPE_VALUE));
	ck_assert_ok(ikey_append(&f[0].largest, slice_make("k", 1), 10, IKEY_TYPE_VALUE));
	ck_assert_ok(ikey_append(&f[1].smallest, slice_make("k", 1), 1, IKEY_TYPE_VALUE));
	ck_assert_ok(ikey_append(&f[1].largest, slice_make("k", 1), 5, IKEY_TYPE_VALUE));
	write_manifest(log + 20, log, log + 30, 200, f, 2);
	for (int i = 0; i < 2; i++) {
		buf_free(&f[i].smallest);
		buf_free(&f[i].largest);
	}
	int rc;
	shale_db *db = open_with(0, &rc);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "smallest key sorts after largest"));
}
END_TEST

/* ---- 5: keys the memtable cannot hold are refused at the door ---- */

START_TEST(key_longer_than_4gib_minus_8_is_refused_before_the_wal)
{
	shale_options *o = dbtest_options(1 << 20, 1 << 20, 1 << 20);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	static const char small[16];
	/* (the lengths are refused before a byte is read) */
	size_t lens[] = { (size_t)UINT32_MAX - 7, (size_t)UINT32_MAX - 1, (size_t)UINT32_MAX };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_int_eq(shale_put(db, NULL, small, lens[i], "v", 1), SHALE_EINVAL);
		ck_assert_int_eq(shale_delete(db, NULL, small, lens[i]), SHALE_EINVAL);
		shale_batch *b = shale_batch_create();
		ck_assert_int_eq(shale_batch_put(b, small, lens[i], "v", 1), SHALE_EINVAL);
		ck_assert_int_eq(shale_batch_delete(b, small, lens[i]), SHALE_EINVAL);
		ck_assert_uint_eq(shale_batch_count(b), 0);
		shale_batch_destroy(b);
	}
	/* nothing sticky: the database takes writes and reopens */
	ck_assert_ok(shale_put(db, NULL, "k", 1, "v", 1));
	ck_assert_ok(shale_close(db));
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
}
END_TEST

/* ---- 6: user comparators never see NULL ---- */

static int saw_null;

static int checking_compare(void *state, const void *a, size_t alen, const void *b, size_t blen)
{
	(void)state;
	if (a == NULL || b == NULL)
		__atomic_store_n(&saw_null, 1, __ATOMIC_SEQ_CST);
	size_t n = alen < blen ? alen : blen;
	int r = n ? memcmp(a ? a : "", b ? b : "", n) : 0;
	return r ? r : (alen > blen) - (alen < blen);
}

static const char *checking_name(void *state)
{
	(void)state;
	return "test.Checking";
}

START_TEST(user_comparator_never_gets_a_null_pointer)
{
	shale_comparator *c = shale_comparator_create(NULL, NULL, checking_compare, checking_name);
	ck_assert_ptr_nonnull(c);
	shale_options *o = dbtest_options(16 << 10, 16 << 10, 64 << 10);
	shale_options_set_comparator(o, c);
	shale_db *db = NULL;
	saw_null = 0;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	ck_assert_ok(shale_put(db, NULL, NULL, 0, "empty", 5));
	for (int i = 0; i < 2000; i++) {
		char k[16];
		int kl = snprintf(k, sizeof(k), "%05d", i);
		ck_assert_ok(shale_put(db, NULL, k, (size_t)kl, "v", 1));
	}
	ck_assert_ok(shale_put(db, NULL, "", 0, "empty2", 6));
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	void *v;
	size_t vl;
	ck_assert_ok(shale_get(db, NULL, NULL, 0, &v, &vl));
	ck_assert_uint_eq(vl, 6);
	shale_free(v);
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_lower_bound(ro, "", 0);
	shale_iter *it = shale_iter_create(db, ro);
	shale_iter_seek(it, NULL, 0);
	ck_assert(shale_iter_valid(it));
	size_t kl;
	shale_iter_key(it, &kl);
	ck_assert_uint_eq(kl, 0);
	shale_iter_seek_for_prev(it, "", 0);
	ck_assert(shale_iter_valid(it));
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);
	ck_assert_ok(shale_close(db));
	ck_assert_int_eq(saw_null, 0);
	shale_options_destroy(o);
	shale_comparator_destroy(c);
}
END_TEST

/* ---- 7: an info log that cannot be written hides no error ---- */

START_TEST(failed_open_names_the_real_cause_when_the_log_cannot_be_written)
{
	struct env *e;
	ck_assert_ok(fault_env_create(env_posix_default(), &e));
	shale_options *o = dbtest_options(1 << 20, 1 << 20, 1 << 20);
	options_set_env(o, e);
	struct fault_rule log_full = { .ops = FAULT_APPEND | FAULT_FLUSH, .path_contains = "/LOG", .count = -1,
		                           .kind = FAULT_ENOSPC };
	struct fault_rule manifest_fails = { .ops = FAULT_SYNC, .path_contains = "MANIFEST", .count = -1,
		                                 .kind = FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(e, &log_full));
	ck_assert_ok(fault_env_add_rule(e, &manifest_fails));
	shale_db *db = NULL;
	int rc = shale_open(dbtest_path, o, &db);
	ck_assert_int_eq(rc, SHALE_EIO);
	ck_assert_msg(strstr(shale_errmsg(), "MANIFEST") != NULL, "message: %s", shale_errmsg());
	ck_assert_msg(strstr(shale_errmsg(), "/LOG") == NULL, "message: %s", shale_errmsg());
	shale_options_destroy(o);
	env_destroy(e);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("damage");
	TCase *tc = tcase_create("wal");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, older_wal_torn_tail_is_damage_when_a_later_wal_has_records, 0, 2);
	tcase_add_loop_test(tc, older_wal_torn_tail_fails_paranoid_open, 0, 2);
	tcase_add_test(tc, newest_wal_torn_tail_is_a_crash_not_damage);
	tcase_add_loop_test(tc, wal_record_of_type_5_6_or_7_is_damage, 0, 3);
	tcase_add_test(tc, manifest_record_of_type_5_fails_open);
	tcase_add_test(tc, wal_sequence_past_56_bits_is_damage);
	tcase_add_test(tc, wal_sequence_going_back_is_damage);
	suite_add_tcase(s, tc);

	tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, compaction_of_a_table_with_keys_out_of_order_is_corruption);
	tcase_add_test(tc, iterator_over_a_table_with_keys_out_of_order_is_corruption);
	tcase_add_test(tc, seek_for_prev_past_its_target_through_a_lying_index_is_corruption);
	tcase_add_test(tc, seek_before_its_target_through_a_lying_index_is_corruption);
	tcase_add_test(tc, manifest_file_with_smallest_after_largest_fails_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, key_longer_than_4gib_minus_8_is_refused_before_the_wal);
	tcase_add_test(tc, user_comparator_never_gets_a_null_pointer);
	tcase_add_test(tc, failed_open_names_the_real_cause_when_the_log_cannot_be_written);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
