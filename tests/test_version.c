/* The version layer (after LevelDB's version_edit_test and version_set_test):
 * version edits encoded and decoded, every malformed field of a record;
 * versions built from edits (vset_log_and_apply) and from a MANIFEST on disk
 * (vset_recover), overlapping files rejected; version_find_file,
 * version_overlap_in_level, version_overlapping_inputs (level 0 widening);
 * and boundary files taken into a compaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compaction/compaction.h"
#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/env.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "lib/util/ikey.h"
#include "lib/version/manifest.h"
#include "lib/version/version.h"
#include "lib/version/version_edit.h"
#include "shale.h"
#include "tests/testutil.h"

#define WHAT "MANIFEST-000042"

/* ---- version edits ---- */

static int slices_equal(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Asserts that two edits hold the same fields. */
static void assert_edits_equal(const struct version_edit *a, const struct version_edit *b)
{
	tu_assert(a->has_comparator == b->has_comparator, "comparator presence differs");
	if (a->has_comparator)
		tu_assert(slices_equal(a->comparator.data, a->comparator.len, b->comparator.data, b->comparator.len),
		          "comparator name differs");
	tu_assert(a->has_log_number == b->has_log_number, "log number presence differs");
	if (a->has_log_number)
		ck_assert_uint_eq(a->log_number, b->log_number);
	tu_assert(a->has_prev_log_number == b->has_prev_log_number, "prev log number presence differs");
	if (a->has_prev_log_number)
		ck_assert_uint_eq(a->prev_log_number, b->prev_log_number);
	tu_assert(a->has_next_file_number == b->has_next_file_number, "next file presence differs");
	if (a->has_next_file_number)
		ck_assert_uint_eq(a->next_file_number, b->next_file_number);
	tu_assert(a->has_last_sequence == b->has_last_sequence, "last sequence presence differs");
	if (a->has_last_sequence)
		ck_assert_uint_eq(a->last_sequence, b->last_sequence);
	ck_assert_uint_eq(a->npointers, b->npointers);
	for (size_t i = 0; i < a->npointers; i++) {
		ck_assert_int_eq(a->pointers[i].level, b->pointers[i].level);
		tu_assert(slices_equal(a->pointers[i].key.data, a->pointers[i].key.len, b->pointers[i].key.data,
		                       b->pointers[i].key.len),
		          "compact pointer %zu differs", i);
	}
	ck_assert_uint_eq(a->ndeleted, b->ndeleted);
	for (size_t i = 0; i < a->ndeleted; i++) {
		ck_assert_int_eq(a->deleted[i].level, b->deleted[i].level);
		ck_assert_uint_eq(a->deleted[i].number, b->deleted[i].number);
	}
	ck_assert_uint_eq(a->nadded, b->nadded);
	for (size_t i = 0; i < a->nadded; i++) {
		const struct file_meta *fa = a->added[i].f, *fb = b->added[i].f;
		ck_assert_int_eq(a->added[i].level, b->added[i].level);
		ck_assert_uint_eq(fa->number, fb->number);
		ck_assert_uint_eq(fa->size, fb->size);
		tu_assert(slices_equal(fa->smallest.data, fa->smallest.size, fb->smallest.data, fb->smallest.size),
		          "new file %zu: smallest differs", i);
		tu_assert(slices_equal(fa->largest.data, fa->largest.size, fb->largest.data, fb->largest.size),
		          "new file %zu: largest differs", i);
	}
}

/* Decodes n bytes from an exact-size heap copy (so that ASan sees any read
 * past the end). Returns the code; the edit is the caller's to free. */
static int decode_copy(struct version_edit *e, const char *bytes, size_t n)
{
	char *copy = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, bytes, n);
	edit_init(e);
	int rc = edit_decode(e, slice_make(copy, n), WHAT);
	free(copy);
	return rc;
}

/* Encodes, decodes, compares, and checks that re-encoding gives the same bytes. */
static void assert_roundtrip(const struct version_edit *e)
{
	struct buf enc = BUF_INIT, again = BUF_INIT;
	ck_assert_ok(edit_encode(e, &enc));
	struct version_edit d;
	ck_assert_ok(decode_copy(&d, enc.data, enc.len));
	assert_edits_equal(e, &d);
	ck_assert_ok(edit_encode(&d, &again));
	tu_assert(slices_equal(enc.data, enc.len, again.data, again.len), "re-encoding differs");
	edit_free(&d);
	buf_free(&enc);
	buf_free(&again);
}

/* A decode that must fail: SHALE_ECORRUPT, naming WHAT and (if given) the field. */
static void assert_bad(const char *bytes, size_t n, const char *field, const char *label)
{
	struct version_edit e;
	int rc = decode_copy(&e, bytes, n);
	tu_assert(rc == SHALE_ECORRUPT, "%s: decode gave %d, want SHALE_ECORRUPT", label, rc);
	tu_assert(strstr(err_msg(), WHAT) != NULL, "%s: message does not name the source: %s", label, err_msg());
	tu_assert(field == NULL || strstr(err_msg(), field) != NULL, "%s: message does not name \"%s\": %s", label,
	          field, err_msg());
	edit_free(&e);
}

static void ikey(struct buf *b, const char *ukey, uint64_t seq)
{
	buf_clear(b);
	ck_assert_ok(ikey_append(b, slice_from_str(ukey), seq, IKEY_TYPE_VALUE));
}

START_TEST(edit_empty_roundtrip_and_empty_input_decode_to_nothing)
{
	struct version_edit e;
	edit_init(&e);
	struct buf enc = BUF_INIT;
	ck_assert_ok(edit_encode(&e, &enc));
	ck_assert_uint_eq(enc.len, 0);
	/* an empty record is a valid edit that sets nothing (as in LevelDB) */
	struct version_edit d;
	ck_assert_ok(decode_copy(&d, "", 0));
	ck_assert(!d.has_comparator && !d.has_log_number && !d.has_prev_log_number && !d.has_next_file_number &&
	          !d.has_last_sequence);
	ck_assert_uint_eq(d.npointers + d.ndeleted + d.nadded, 0);
	assert_edits_equal(&e, &d);
	edit_free(&d);
	edit_free(&e);
	buf_free(&enc);
}
END_TEST

START_TEST(edit_every_field_roundtrips)
{
	struct version_edit e;
	edit_init(&e);
	ck_assert_ok(edit_set_comparator(&e, "leveldb.BytewiseComparator"));
	edit_set_log_number(&e, 0x1234);
	edit_set_prev_log_number(&e, 7);
	edit_set_next_file(&e, UINT64_MAX);
	edit_set_last_sequence(&e, IKEY_SEQ_MAX);
	struct buf k = BUF_INIT;
	ikey(&k, "", 0);
	ck_assert_ok(edit_set_compact_pointer(&e, 0, buf_slice(&k)));
	ck_assert_ok(edit_set_compact_pointer(&e, 6, slice_make("\0\xff\0", 3)));
	ck_assert_ok(edit_set_compact_pointer(&e, 3, slice_make("", 0)));
	ck_assert_ok(edit_delete_file(&e, 0, 1));
	ck_assert_ok(edit_delete_file(&e, 6, UINT64_MAX));
	ck_assert_ok(edit_delete_file(&e, 3, 0));
	/* empty keys, a key with a two-byte length prefix, binary keys */
	char big[300];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	ck_assert_ok(edit_add_file(&e, 0, 5, 0, slice_make("", 0), slice_make("", 0)));
	ck_assert_ok(edit_add_file(&e, 6, UINT64_MAX, UINT64_MAX, slice_make(big, sizeof(big)),
	                           slice_make("\0\xff", 2)));
	struct buf k2 = BUF_INIT;
	ikey(&k, "a", 1);
	ikey(&k2, "b", IKEY_SEQ_MAX);
	ck_assert_ok(edit_add_file(&e, 3, 9, 1000, buf_slice(&k), buf_slice(&k2)));
	assert_roundtrip(&e);

	/* each field alone too */
	struct version_edit one;
	edit_init(&one);
	ck_assert_ok(edit_set_comparator(&one, ""));
	assert_roundtrip(&one);
	edit_clear(&one);
	edit_set_log_number(&one, 0);
	assert_roundtrip(&one);
	edit_clear(&one);
	edit_set_prev_log_number(&one, UINT64_MAX);
	assert_roundtrip(&one);
	edit_clear(&one);
	edit_set_next_file(&one, 2);
	assert_roundtrip(&one);
	edit_clear(&one);
	edit_set_last_sequence(&one, 0);
	assert_roundtrip(&one);
	edit_clear(&one);
	ck_assert_ok(edit_set_compact_pointer(&one, 1, slice_make("p", 1)));
	assert_roundtrip(&one);
	edit_clear(&one);
	ck_assert_ok(edit_delete_file(&one, 2, 300));
	assert_roundtrip(&one);
	edit_clear(&one);
	ck_assert_ok(edit_add_file(&one, 4, 300, 1 << 20, slice_make("x", 1), slice_make("y", 1)));
	assert_roundtrip(&one);
	edit_free(&one);

	buf_free(&k);
	buf_free(&k2);
	edit_free(&e);
}
END_TEST

/* LevelDB's tag numbers, written by hand: the records are interchangeable. */
START_TEST(edit_decodes_leveldb_tags)
{
	static const char rec[] =
		"\x01\x1a" "leveldb.BytewiseComparator" /* comparator */
		"\x02\x05"                              /* log number 5 */
		"\x09\x03"                              /* prev log number 3 */
		"\x03\xac\x02"                          /* next file 300 */
		"\x04\x07"                              /* last sequence 7 */
		"\x05\x01\x02" "pk"                     /* compact pointer, level 1 */
		"\x06\x02\x09"                          /* delete 9 from level 2 */
		"\x07\x03\x0b\x80\x01\x01" "a\x01" "b"  /* level 3: file 11, 128 bytes, a..b */
		"\x02\x06";                             /* a later log number wins */
	struct version_edit e;
	ck_assert_ok(decode_copy(&e, rec, sizeof(rec) - 1));
	ck_assert(e.has_comparator);
	ck_assert(slices_equal(e.comparator.data, e.comparator.len, "leveldb.BytewiseComparator", 26));
	ck_assert(e.has_log_number);
	ck_assert_uint_eq(e.log_number, 6);
	ck_assert(e.has_prev_log_number);
	ck_assert_uint_eq(e.prev_log_number, 3);
	ck_assert(e.has_next_file_number);
	ck_assert_uint_eq(e.next_file_number, 300);
	ck_assert(e.has_last_sequence);
	ck_assert_uint_eq(e.last_sequence, 7);
	ck_assert_uint_eq(e.npointers, 1);
	ck_assert_int_eq(e.pointers[0].level, 1);
	ck_assert(slices_equal(e.pointers[0].key.data, e.pointers[0].key.len, "pk", 2));
	ck_assert_uint_eq(e.ndeleted, 1);
	ck_assert_int_eq(e.deleted[0].level, 2);
	ck_assert_uint_eq(e.deleted[0].number, 9);
	ck_assert_uint_eq(e.nadded, 1);
	ck_assert_int_eq(e.added[0].level, 3);
	ck_assert_uint_eq(e.added[0].f->number, 11);
	ck_assert_uint_eq(e.added[0].f->size, 128);
	ck_assert(slices_equal(e.added[0].f->smallest.data, e.added[0].f->smallest.size, "a", 1));
	ck_assert(slices_equal(e.added[0].f->largest.data, e.added[0].f->largest.size, "b", 1));
	edit_free(&e);
}
END_TEST

/* Each field alone, cut after every byte: a tag without its value, a varint
 * cut short, a length prefix running past the end. */
START_TEST(edit_every_truncated_field_is_corruption)
{
	struct version_edit e;
	struct buf enc = BUF_INIT;
	static const char *const names[] = { "comparator name", "log number", "previous log number",
		                             "next file number", "last sequence number", "compaction pointer",
		                             "deleted file", "new-file entry" };
	for (int c = 0; c < 8; c++) {
		edit_init(&e);
		switch (c) {
		case 0: ck_assert_ok(edit_set_comparator(&e, "abc")); break;
		case 1: edit_set_log_number(&e, 300); break;
		case 2: edit_set_prev_log_number(&e, 300); break;
		case 3: edit_set_next_file(&e, 300); break;
		case 4: edit_set_last_sequence(&e, 1ull << 40); break;
		case 5: ck_assert_ok(edit_set_compact_pointer(&e, 2, slice_make("xyz", 3))); break;
		case 6: ck_assert_ok(edit_delete_file(&e, 2, 300)); break;
		default:
			ck_assert_ok(edit_add_file(&e, 2, 300, 70000, slice_make("abc", 3), slice_make("def", 3)));
			break;
		}
		ck_assert_ok(edit_encode(&e, &enc));
		ck_assert_uint_ge(enc.len, 3);
		for (size_t n = 1; n < enc.len; n++) {
			char label[64];
			snprintf(label, sizeof(label), "%s cut to %zu of %zu bytes", names[c], n, enc.len);
			assert_bad(enc.data, n, names[c], label);
		}
		struct version_edit whole;
		ck_assert_ok(decode_copy(&whole, enc.data, enc.len));
		assert_edits_equal(&e, &whole);
		edit_free(&whole);
		edit_free(&e);
	}
	buf_free(&enc);
}
END_TEST

#define BAD(bytes, field) assert_bad(bytes, sizeof(bytes) - 1, field, #bytes)

START_TEST(edit_bad_fields_are_corruption)
{
	/* tags: cut short, over 32 bits, unknown (8 was LevelDB's large-value reference) */
	BAD("\x80", "tag");
	BAD("\xff\xff\xff\xff\x1f", "tag");
	BAD("\x02\x05\x80", "tag"); /* after a good field */
	BAD("\x00", "unknown tag");
	BAD("\x08\x01", "unknown tag");
	BAD("\x0a\x01", "unknown tag");
	BAD("\x7f", "unknown tag");
	BAD("\x80\x01", "unknown tag"); /* 128 */
	BAD("\x02\x05\x63\x00", "unknown tag");

	/* levels: NUM_LEVELS and beyond, 32-bit and overlong */
	BAD("\x05\x07\x01k", "compaction pointer");
	BAD("\x05\xff\xff\xff\xff\x0f\x01k", "compaction pointer");
	BAD("\x05\xff\xff\xff\xff\x1f\x01k", "compaction pointer");
	BAD("\x06\x07\x01", "deleted file");
	BAD("\x06\x80\x01\x01", "deleted file");
	BAD("\x07\x07\x01\x01\x01" "a\x01" "b", "new-file entry");
	BAD("\x07\xff\xff\xff\xff\x0f\x01\x01\x01" "a\x01" "b", "new-file entry");

	/* varint64s: cut short, more than 64 bits */
	BAD("\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff", "log number");
	BAD("\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", "log number");
	BAD("\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", "previous log number");
	BAD("\x03\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", "next file number");
	BAD("\x04\x81", "last sequence number");
	BAD("\x06\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03", "deleted file");
	BAD("\x07\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03\x01" "a\x01" "b", "new-file entry");

	/* length prefixes past the end, or over 32 bits */
	BAD("\x01\x0a" "abc", "comparator name");
	BAD("\x01\xff\xff\xff\xff\x0f" "abc", "comparator name");
	BAD("\x01\xff\xff\xff\xff\x1f" "abc", "comparator name");
	BAD("\x05\x01\x05" "ab", "compaction pointer");
	BAD("\x07\x01\x01\x01\x05" "ab", "new-file entry");
	BAD("\x07\x01\x01\x01\x01" "a\xff\xff\xff\xff\x0f" "bcd", "new-file entry");
	BAD("\x07\x01\x01\x01\x01" "a\x02" "b", "new-file entry");

	/* the boundaries that are fine */
	struct version_edit e;
	ck_assert_ok(decode_copy(&e, "\x05\x06\x01k", 4));
	ck_assert_int_eq(e.pointers[0].level, NUM_LEVELS - 1);
	edit_free(&e);
	ck_assert_ok(decode_copy(&e, "\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11));
	ck_assert_uint_eq(e.log_number, UINT64_MAX);
	edit_free(&e);
}
END_TEST

/* Random bytes and damaged good records: an edit or SHALE_ECORRUPT naming
 * the source, never a crash or a read past the end (ASan). What decodes
 * re-encodes to an equal edit. */
START_TEST(edit_garbage_never_crashes)
{
	struct rng r;
	rng_seed(&r, 0xed17);
	char bytes[96];
	struct buf enc = BUF_INIT;
	int decoded = 0;
	for (int round = 0; round < 30000; round++) {
		size_t n = (size_t)rng_uniform(&r, sizeof(bytes) + 1);
		tu_random_bytes(&r, bytes, n);
		/* mostly valid tags and small numbers, so that fields are reached */
		for (size_t i = 0; i < n; i++)
			if (rng_one_in(&r, 2))
				bytes[i] = (char)rng_uniform(&r, 10);
		struct version_edit e;
		int rc = decode_copy(&e, bytes, n);
		tu_assert(rc == 0 || rc == SHALE_ECORRUPT, "round %d: decode gave %d", round, rc);
		if (rc) {
			tu_assert(strstr(err_msg(), WHAT) != NULL, "round %d: message %s", round, err_msg());
		} else {
			decoded++;
			assert_roundtrip(&e);
		}
		edit_free(&e);
	}
	ck_assert_int_gt(decoded, 100);

	/* every bit of a good record flipped in turn */
	struct version_edit good;
	edit_init(&good);
	ck_assert_ok(edit_set_comparator(&good, "leveldb.BytewiseComparator"));
	edit_set_log_number(&good, 12);
	edit_set_next_file(&good, 99);
	edit_set_last_sequence(&good, 123456);
	ck_assert_ok(edit_set_compact_pointer(&good, 2, slice_make("pointer", 7)));
	ck_assert_ok(edit_delete_file(&good, 1, 40));
	ck_assert_ok(edit_add_file(&good, 1, 41, 5000, slice_make("smallest", 8), slice_make("largest", 7)));
	ck_assert_ok(edit_encode(&good, &enc));
	for (size_t pos = 0; pos < enc.len; pos++)
		for (int bit = 0; bit < 8; bit++) {
			enc.data[pos] ^= (char)(1 << bit);
			struct version_edit e;
			int rc = decode_copy(&e, enc.data, enc.len);
			tu_assert(rc == 0 || rc == SHALE_ECORRUPT, "byte %zu bit %d: decode gave %d", pos, bit, rc);
			tu_assert(rc == 0 || strstr(err_msg(), WHAT) != NULL, "message %s", err_msg());
			edit_free(&e);
			enc.data[pos] ^= (char)(1 << bit);
		}
	edit_free(&good);
	buf_free(&enc);
}
END_TEST

/* ---- versions: a version set on a temporary directory ---- */

static char *dir;
static struct ikey_comparator icmp;
static struct version_set vs;
static const struct vset_config cfg = {
	.max_file_size = 2 << 20,
	.l0_compaction_trigger = 4,
	.max_bytes_for_level_base = 10 << 20,
	.level_multiplier = 10,
	.max_manifest_size = 1 << 20,
};

/* The functions under test read no table: there is no table cache. */
static void vs_init(void)
{
	ck_assert_ok(vset_init(&vs, dir, env_posix_default(), &cfg, NULL, &icmp.base, comparator_bytewise(), NULL));
}

static void vs_setup(void)
{
	dir = tu_mkdtemp("version");
	ikey_comparator_init(&icmp, comparator_bytewise());
	vs_init();
}

static void vs_teardown(void)
{
	vset_destroy(&vs);
	tu_rmtree(dir);
	free(dir);
}

/* Adds file number to the edit: user keys with their sequences. */
static void add_file(struct version_edit *e, int level, uint64_t number, const char *smallest, uint64_t sseq,
                     const char *largest, uint64_t lseq)
{
	struct buf s = BUF_INIT, l = BUF_INIT;
	ikey(&s, smallest, sseq);
	ikey(&l, largest, lseq);
	ck_assert_ok(edit_add_file(e, level, number, 1000, buf_slice(&s), buf_slice(&l)));
	buf_free(&s);
	buf_free(&l);
}

static int apply(struct version_edit *e)
{
	mutex_lock(&vs.mu);
	int rc = vset_log_and_apply(&vs, e);
	mutex_unlock(&vs.mu);
	return rc;
}

/* Applies files given as "smallest-largest" user-key ranges at sequence 100,
 * numbered from first. */
static void apply_ranges(int level, uint64_t first, const char *const *ranges, int n)
{
	struct version_edit e;
	edit_init(&e);
	for (int i = 0; i < n; i++) {
		char s[32], l[32];
		const char *dash = strchr(ranges[i], '-');
		ck_assert_ptr_nonnull(dash);
		snprintf(s, sizeof(s), "%.*s", (int)(dash - ranges[i]), ranges[i]);
		snprintf(l, sizeof(l), "%s", dash + 1);
		add_file(&e, level, first + (uint64_t)i, s, 100, l, 100);
	}
	ck_assert_ok(apply(&e));
	edit_free(&e);
}

static void assert_no_files(void)
{
	for (int level = 0; level < NUM_LEVELS; level++)
		ck_assert_int_eq(vs.current->nfiles[level], 0);
}

START_TEST(sorted_levels_accept_a_straddled_user_key_and_level_0_overlaps)
{
	/* adjacent files */
	static const char *const good[] = { "a-c", "d-g" };
	apply_ranges(2, 20, good, 2);
	ck_assert_int_eq(vs.current->nfiles[2], 2);

	/* one user key straddling two files is fine (newer sequence first) */
	struct version_edit e;
	edit_init(&e);
	add_file(&e, 3, 32, "a", 5, "k", 5);
	add_file(&e, 3, 33, "k", 4, "z", 5);
	ck_assert_ok(apply(&e));
	edit_free(&e);
	ck_assert_int_eq(vs.current->nfiles[3], 2);
	ck_assert_uint_eq(vs.current->files[3][0]->number, 32);

	/* level 0 files may overlap; newest (highest number) first */
	edit_init(&e);
	add_file(&e, 0, 40, "a", 5, "m", 5);
	add_file(&e, 0, 41, "k", 6, "z", 6);
	ck_assert_ok(apply(&e));
	edit_free(&e);
	ck_assert_int_eq(vs.current->nfiles[0], 2);
	ck_assert_uint_eq(vs.current->files[0][0]->number, 41);
	ck_assert_uint_eq(vs.current->files[0][1]->number, 40);
}
END_TEST

/* Reads back the version and counters a series of edits wrote. */
START_TEST(recover_reads_back_what_log_and_apply_wrote)
{
	struct buf k = BUF_INIT;
	mutex_lock(&vs.mu);
	uint64_t n[6];
	for (int i = 0; i < 6; i++)
		n[i] = vset_new_file_number(&vs);
	vs.last_sequence = 1000;
	mutex_unlock(&vs.mu);

	struct version_edit e;
	edit_init(&e);
	edit_set_log_number(&e, n[0]);
	add_file(&e, 0, n[1], "a", 900, "c", 950);
	add_file(&e, 1, n[2], "d", 10, "f", 10);
	add_file(&e, 1, n[3], "g", 10, "i", 10);
	ck_assert_ok(edit_add_file(&e, 3, n[4], 77, slice_make("x\0\xff" "12345678", 11),
	                           slice_make("z\xff\xff" "12345678", 11)));
	ikey(&k, "e", 10);
	ck_assert_ok(edit_set_compact_pointer(&e, 1, buf_slice(&k)));
	ck_assert_ok(apply(&e));
	edit_free(&e);
	/* (compact pointers are set in memory when a compaction is picked) */
	ck_assert_ok(buf_set(&vs.compact_pointer[1], k.data, k.len));

	edit_init(&e);
	ck_assert_ok(edit_delete_file(&e, 1, n[2]));
	add_file(&e, 2, n[5], "d", 10, "f", 10);
	ck_assert_ok(apply(&e));
	edit_free(&e);

	uint64_t next = vs.next_file_number, manifest = vs.manifest_file_number;
	ck_assert_uint_eq(vs.log_number, n[0]);
	/* the whole state as one edit, to compare with the recovered one */
	struct version_edit want, got;
	edit_init(&want);
	mutex_lock(&vs.mu);
	ck_assert_ok(vset_snapshot_edit(&vs, &want));
	mutex_unlock(&vs.mu);
	ck_assert_uint_eq(want.nadded, 4);

	/* a new set recovers it from the directory */
	vset_destroy(&vs);
	vs_init();
	ck_assert_ok(vset_recover(&vs));
	edit_init(&got);
	mutex_lock(&vs.mu);
	ck_assert_ok(vset_snapshot_edit(&vs, &got));
	mutex_unlock(&vs.mu);
	assert_edits_equal(&want, &got);
	edit_free(&want);
	edit_free(&got);
	ck_assert_uint_eq(vs.next_file_number, next);
	ck_assert_uint_eq(vs.log_number, n[0]);
	ck_assert_uint_eq(vs.prev_log_number, 0);
	ck_assert_uint_eq(vs.last_sequence, 1000);
	ck_assert_uint_eq(vs.manifest_file_number, manifest);
	ck_assert(slices_equal(vs.compact_pointer[1].data, vs.compact_pointer[1].len, k.data, k.len));
	ck_assert_int_eq(vs.current->nfiles[0], 1);
	ck_assert_int_eq(vs.current->nfiles[1], 1);
	ck_assert_uint_eq(vs.current->files[1][0]->number, n[3]);
	ck_assert_int_eq(vs.current->nfiles[2], 1);
	ck_assert_uint_eq(vs.current->files[2][0]->number, n[5]);
	ck_assert_uint_eq(vs.current->level_bytes[3], 77);
	ck_assert(slices_equal(vs.current->files[3][0]->smallest.data, vs.current->files[3][0]->smallest.size,
	                       "x\0\xff" "12345678", 11));

	/* the recovered set writes a fresh MANIFEST that recovers the same */
	edit_init(&e);
	ck_assert_ok(edit_delete_file(&e, 0, n[1]));
	ck_assert_ok(apply(&e));
	edit_free(&e);
	ck_assert_uint_gt(vs.manifest_file_number, manifest);
	vset_destroy(&vs);
	vs_init();
	ck_assert_ok(vset_recover(&vs));
	ck_assert_int_eq(vs.current->nfiles[0], 0);
	ck_assert_int_eq(vs.current->nfiles[1], 1);
	ck_assert_int_eq(vs.current->nfiles[3], 1);

	buf_free(&k);
}
END_TEST

/* ---- recovery from a MANIFEST written here ---- */

/* A MANIFEST-000007 holding one record, and CURRENT naming it. */
static void write_manifest(const struct version_edit *e)
{
	struct buf rec = BUF_INIT;
	ck_assert_ok(edit_encode(e, &rec));
	ck_assert_ok(manifest_create(env_posix_default(), dir, 7, buf_slice(&rec)));
	buf_free(&rec);
}

/* The fields recovery requires. */
static void base_edit(struct version_edit *e)
{
	edit_init(e);
	ck_assert_ok(edit_set_comparator(e, "leveldb.BytewiseComparator"));
	edit_set_log_number(e, 3);
	edit_set_next_file(e, 100);
	edit_set_last_sequence(e, 50);
}

static void assert_recover_fails(int want, const char *msg_part)
{
	int rc = vset_recover(&vs);
	tu_assert(rc == want, "recover gave %d, want %d (%s)", rc, want, err_msg());
	tu_assert(strstr(err_msg(), msg_part) != NULL, "message lacks \"%s\": %s", msg_part, err_msg());
	assert_no_files();
}

START_TEST(recover_reads_a_manifest_written_here)
{
	struct version_edit e;
	base_edit(&e);
	edit_set_prev_log_number(&e, 2);
	add_file(&e, 0, 8, "a", 1, "z", 2);
	add_file(&e, 4, 9, "b", 1, "c", 1);
	add_file(&e, 4, 120, "d", 1, "e", 1);
	write_manifest(&e);
	edit_free(&e);
	ck_assert_ok(vset_recover(&vs));
	ck_assert_uint_eq(vs.log_number, 3);
	ck_assert_uint_eq(vs.prev_log_number, 2);
	ck_assert_uint_eq(vs.last_sequence, 50);
	ck_assert_uint_eq(vs.manifest_file_number, 7);
	/* past every file number it saw */
	ck_assert_uint_eq(vs.next_file_number, 121);
	ck_assert_int_eq(vs.current->nfiles[0], 1);
	ck_assert_int_eq(vs.current->nfiles[4], 2);
	ck_assert_uint_eq(vs.current->files[4][0]->number, 9);
	ck_assert_uint_eq(vs.current->files[4][1]->number, 120);
}
END_TEST

START_TEST(recover_requires_its_counters_and_the_comparator)
{
	struct version_edit e;
	edit_init(&e);
	edit_set_log_number(&e, 3);
	edit_set_last_sequence(&e, 5);
	write_manifest(&e);
	edit_free(&e);
	assert_recover_fails(SHALE_ECORRUPT, "no next-file-number entry");

	edit_init(&e);
	edit_set_next_file(&e, 3);
	edit_set_last_sequence(&e, 5);
	write_manifest(&e);
	edit_free(&e);
	assert_recover_fails(SHALE_ECORRUPT, "no log-number entry");

	edit_init(&e);
	edit_set_next_file(&e, 3);
	edit_set_log_number(&e, 3);
	write_manifest(&e);
	edit_free(&e);
	assert_recover_fails(SHALE_ECORRUPT, "no last-sequence entry");

	base_edit(&e);
	edit_set_last_sequence(&e, IKEY_SEQ_MAX + 1);
	write_manifest(&e);
	edit_free(&e);
	assert_recover_fails(SHALE_ECORRUPT, "out of range");

	base_edit(&e);
	ck_assert_ok(edit_set_comparator(&e, "another.Comparator"));
	write_manifest(&e);
	edit_free(&e);
	assert_recover_fails(SHALE_EINVAL, "another.Comparator");

	/* an empty record sets nothing: the counters are still missing */
	ck_assert_ok(manifest_create(env_posix_default(), dir, 7, slice_make("", 0)));
	assert_recover_fails(SHALE_ECORRUPT, "no next-file-number entry");
}
END_TEST

START_TEST(recover_reports_bad_records_naming_the_manifest)
{
	/* a record that does not decode */
	static const char bad[] = "\x02\x03\x03\x64\x04\x05\x0a\x01";
	ck_assert_ok(manifest_create(env_posix_default(), dir, 7, slice_make(bad, sizeof(bad) - 1)));
	assert_recover_fails(SHALE_ECORRUPT, "unknown tag");
	ck_assert_ptr_nonnull(strstr(err_msg(), "MANIFEST-000007"));

	/* a record whose checksum fails */
	struct version_edit e;
	base_edit(&e);
	add_file(&e, 1, 10, "a", 1, "b", 1);
	write_manifest(&e);
	edit_free(&e);
	char path[FNAME_MAX];
	fname_manifest(path, dir, 7);
	char *data;
	size_t n = tu_read_file(path, &data);
	ck_assert_uint_gt(n, 20);
	data[n - 3] ^= 0x20;
	tu_write_file(path, data, n);
	free(data);
	assert_recover_fails(SHALE_ECORRUPT, "MANIFEST-000007");
}
END_TEST

START_TEST(recover_checks_current)
{
	char path[FNAME_MAX];
	fname_current(path, dir);
	/* missing */
	ck_assert_int_lt(vset_recover(&vs), 0);
	assert_no_files();
	/* empty, no newline, not a MANIFEST, a NUL inside, a MANIFEST that is not there */
	static const char *const bad[] = { "", "MANIFEST-000007", "LOG\n", "000007.ldb\n", "MANIFEST-000007\0\n",
		                           "MANIFEST-000099\n" };
	static const size_t lens[] = { 0, 15, 4, 11, 17, 16 };
	struct version_edit e;
	base_edit(&e);
	write_manifest(&e);
	edit_free(&e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_write_file(path, bad[i], lens[i]);
		int rc = vset_recover(&vs);
		tu_assert(rc == SHALE_ECORRUPT, "CURRENT case %zu: recover gave %d (%s)", i, rc, err_msg());
		tu_assert(strstr(err_msg(), "CURRENT") != NULL, "case %zu: %s", i, err_msg());
		assert_no_files();
	}
	tu_write_file(path, "MANIFEST-000007\n", 16);
	ck_assert_ok(vset_recover(&vs));
}
END_TEST

/* ---- reading a version ---- */

static int find(const char *ukey, uint64_t seq, int level)
{
	struct buf k = BUF_INIT;
	ikey(&k, ukey, seq);
	int i = version_find_file(&vs, vs.current->files[level], vs.current->nfiles[level], buf_slice(&k));
	buf_free(&k);
	return i;
}

START_TEST(find_file_in_sorted_levels)
{
	/* empty */
	ck_assert_int_eq(find("foo", IKEY_SEQ_MAX, 1), 0);

	/* one file */
	static const char *const one[] = { "p-q" };
	apply_ranges(2, 10, one, 1);
	ck_assert_int_eq(find("a", IKEY_SEQ_MAX, 2), 0);
	ck_assert_int_eq(find("p", IKEY_SEQ_MAX, 2), 0);
	ck_assert_int_eq(find("p1", IKEY_SEQ_MAX, 2), 0);
	ck_assert_int_eq(find("q", IKEY_SEQ_MAX, 2), 0);
	ck_assert_int_eq(find("q", 100, 2), 0);
	ck_assert_int_eq(find("q", 99, 2), 1); /* after q@100 */
	ck_assert_int_eq(find("q1", IKEY_SEQ_MAX, 2), 1);
	ck_assert_int_eq(find("z", IKEY_SEQ_MAX, 2), 1);

	/* several (LevelDB's FindFile "Multiple"); one user key may end one file and start the next */
	struct version_edit e;
	edit_init(&e);
	add_file(&e, 1, 20, "150", 100, "200", 100);
	add_file(&e, 1, 21, "200", 90, "250", 100);
	add_file(&e, 1, 22, "300", 100, "350", 100);
	add_file(&e, 1, 23, "400", 100, "450", 100);
	ck_assert_ok(apply(&e));
	edit_free(&e);
	static const struct {
		const char *k;
		int want;
	} cases[] = { { "100", 0 }, { "150", 0 }, { "151", 0 }, { "199", 0 }, { "200", 0 }, { "201", 1 },
		      { "249", 1 }, { "250", 1 }, { "251", 2 }, { "299", 2 }, { "300", 2 }, { "349", 2 },
		      { "350", 2 }, { "351", 3 }, { "400", 3 }, { "450", 3 }, { "451", 4 }, { "", 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tu_assert(find(cases[i].k, IKEY_SEQ_MAX, 1) == cases[i].want, "find(%s) = %d, want %d", cases[i].k,
		          find(cases[i].k, IKEY_SEQ_MAX, 1), cases[i].want);
	/* exact internal keys around the shared user key "200" */
	ck_assert_int_eq(find("200", 100, 1), 0);
	ck_assert_int_eq(find("200", 95, 1), 1);
	ck_assert_int_eq(find("200", 90, 1), 1);
	ck_assert_int_eq(find("200", 1, 1), 1);
	ck_assert_int_eq(find("450", 100, 1), 3);
	ck_assert_int_eq(find("450", 99, 1), 4);
}
END_TEST

static int overlaps(int level, const char *smallest, const char *largest)
{
	struct slice s = smallest ? slice_from_str(smallest) : slice_make("", 0);
	struct slice l = largest ? slice_from_str(largest) : slice_make("", 0);
	return version_overlap_in_level(vs.current, level, smallest ? &s : NULL, largest ? &l : NULL);
}

START_TEST(overlap_in_level)
{
	/* empty */
	ck_assert(!overlaps(1, "a", "z"));
	ck_assert(!overlaps(1, NULL, "z"));
	ck_assert(!overlaps(1, "a", NULL));
	ck_assert(!overlaps(1, NULL, NULL));

	/* sorted (LevelDB's "Multiple") */
	static const char *const sorted[] = { "150-200", "201-250", "300-350", "400-450" };
	apply_ranges(1, 10, sorted, 4);
	ck_assert(!overlaps(1, "100", "149"));
	ck_assert(!overlaps(1, "251", "299"));
	ck_assert(!overlaps(1, "451", "500"));
	ck_assert(!overlaps(1, "351", "399"));
	ck_assert(overlaps(1, "100", "150"));
	ck_assert(overlaps(1, "100", "200"));
	ck_assert(overlaps(1, "100", "300"));
	ck_assert(overlaps(1, "100", "400"));
	ck_assert(overlaps(1, "100", "500"));
	ck_assert(overlaps(1, "375", "400"));
	ck_assert(overlaps(1, "450", "450"));
	ck_assert(overlaps(1, "450", "500"));
	/* open ends ("NullRange") */
	ck_assert(overlaps(1, NULL, NULL));
	ck_assert(overlaps(1, NULL, "150"));
	ck_assert(!overlaps(1, NULL, "149"));
	ck_assert(overlaps(1, "450", NULL));
	ck_assert(!overlaps(1, "451", NULL));

	/* level 0: files that overlap each other ("OverlappingFiles") */
	static const char *const l0[] = { "150-600", "400-500" };
	apply_ranges(0, 20, l0, 2);
	ck_assert(!overlaps(0, "100", "149"));
	ck_assert(!overlaps(0, "601", "700"));
	ck_assert(overlaps(0, "100", "150"));
	ck_assert(overlaps(0, "100", "200"));
	ck_assert(overlaps(0, "100", "300"));
	ck_assert(overlaps(0, "100", "400"));
	ck_assert(overlaps(0, "100", "500"));
	ck_assert(overlaps(0, "375", "400"));
	ck_assert(overlaps(0, "450", "450"));
	ck_assert(overlaps(0, "450", "500"));
	ck_assert(overlaps(0, "450", "700"));
	ck_assert(overlaps(0, "600", "700"));
}
END_TEST

/* The numbers of the files version_overlapping_inputs returns, sorted, as
 * a string like "10 11". */
static void inputs(int level, const char *begin, const char *end, char *out, size_t cap)
{
	struct slice b = begin ? slice_from_str(begin) : slice_make("", 0);
	struct slice e = end ? slice_from_str(end) : slice_make("", 0);
	struct file_meta **files;
	int n;
	ck_assert_ok(version_overlapping_inputs(vs.current, level, begin ? &b : NULL, end ? &e : NULL, &files, &n));
	/* sorted by number; no file twice */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && files[j - 1]->number > files[j]->number; j--) {
			struct file_meta *t = files[j];
			files[j] = files[j - 1];
			files[j - 1] = t;
		}
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		ck_assert(i == 0 || files[i - 1]->number != files[i]->number);
		size_t len = strlen(out);
		snprintf(out + len, cap - len, "%s%llu", i ? " " : "", (unsigned long long)files[i]->number);
	}
	free(files);
}

#define ck_assert_inputs(level, begin, end, want)                                 \
	do {                                                                          \
		char got_[128];                                                           \
		inputs(level, begin, end, got_, sizeof(got_));                            \
		tu_assert(strcmp(got_, want) == 0, "inputs(%d, %s, %s) = \"%s\", want \"%s\"", \
		          level, #begin, #end, got_, want);                               \
	} while (0)

START_TEST(overlapping_inputs_widen_level_0_transitively)
{
	ck_assert_inputs(0, "a", "z", "");
	/* level 0: a-c, b-f, e-h chain together; x-z stands apart */
	static const char *const l0[] = { "a-c", "b-f", "e-h", "x-z" };
	apply_ranges(0, 10, l0, 4);
	ck_assert_inputs(0, "a", "a", "10 11 12");
	ck_assert_inputs(0, "d", "d", "10 11 12");
	ck_assert_inputs(0, "g", "h", "10 11 12");
	ck_assert_inputs(0, "h", "h", "10 11 12");
	ck_assert_inputs(0, "y", "y", "13");
	ck_assert_inputs(0, "i", "w", "");
	ck_assert_inputs(0, "h1", "x", "13");
	ck_assert_inputs(0, "g", "x", "10 11 12 13");
	ck_assert_inputs(0, NULL, "a", "10 11 12");
	ck_assert_inputs(0, "y", NULL, "13");
	ck_assert_inputs(0, NULL, NULL, "10 11 12 13");

	/* sorted levels are not widened */
	static const char *const l1[] = { "a-c", "d-f", "g-h" };
	apply_ranges(1, 20, l1, 3);
	ck_assert_inputs(1, "e", "e", "21");
	ck_assert_inputs(1, "c", "d", "20 21");
	ck_assert_inputs(1, "c1", "c2", "");
	ck_assert_inputs(1, "b", "g", "20 21 22");
	ck_assert_inputs(1, NULL, "d", "20 21");
	ck_assert_inputs(1, NULL, NULL, "20 21 22");
	ck_assert_inputs(1, "i", "z", "");
}
END_TEST

/* ---- boundary files taken into a compaction ---- */

static void compaction_numbers(const struct compaction *c, int which, char *out, size_t cap)
{
	out[0] = '\0';
	for (int i = 0; i < c->ninputs[which]; i++) {
		size_t len = strlen(out);
		snprintf(out + len, cap - len, "%s%llu", i ? " " : "", (unsigned long long)c->inputs[which][i]->number);
	}
}

/* The inputs of a manual compaction of level over [begin, end] (user keys). */
static void pick_range(int level, const char *begin, const char *end, char *out, size_t cap)
{
	struct compaction_registry reg = { NULL, 0 };
	struct slice b = slice_from_str(begin), e = slice_from_str(end);
	struct compaction *c = NULL;
	int conflict = -1;
	mutex_lock(&vs.mu);
	int rc = compaction_pick_range(&vs, &reg, level, &b, &e, &c, &conflict);
	mutex_unlock(&vs.mu);
	ck_assert_ok(rc);
	ck_assert_int_eq(conflict, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->level, level);
	compaction_numbers(c, 0, out, cap);
	mutex_lock(&vs.mu);
	compaction_free(&vs, c);
	mutex_unlock(&vs.mu);
}

START_TEST(boundary_files_join_a_range_compaction)
{
	/* Level 1 as LevelDB may write it: "k" straddles files 10 and 11
	 * (k@5 ends 10, k@4 starts 11); file 12 starts with another key. */
	struct version_edit e;
	edit_init(&e);
	add_file(&e, 1, 10, "a", 10, "k", 5);
	add_file(&e, 1, 11, "k", 4, "m", 3);
	add_file(&e, 1, 12, "n", 9, "p", 9);
	ck_assert_ok(apply(&e));
	edit_free(&e);
	char got[64];
	/* compacting 10 alone would put k@5 below k@4 */
	pick_range(1, "b", "b", got, sizeof(got));
	ck_assert_str_eq(got, "10 11");
	/* from the other side nothing is added: 10 holds newer versions only */
	pick_range(1, "l", "l", got, sizeof(got));
	ck_assert_str_eq(got, "11");
	pick_range(1, "o", "o", got, sizeof(got));
	ck_assert_str_eq(got, "12");

	/* a chain: k runs through three files */
	edit_init(&e);
	add_file(&e, 2, 20, "a", 10, "k", 5);
	add_file(&e, 2, 21, "k", 4, "k", 3);
	add_file(&e, 2, 22, "k", 2, "z", 9);
	ck_assert_ok(apply(&e));
	edit_free(&e);
	pick_range(2, "b", "b", got, sizeof(got));
	ck_assert_str_eq(got, "20 21 22");

	/* control: keys that do not straddle add nothing */
	edit_init(&e);
	add_file(&e, 3, 30, "a", 10, "k", 5);
	add_file(&e, 3, 31, "l", 4, "m", 3);
	ck_assert_ok(apply(&e));
	edit_free(&e);
	pick_range(3, "b", "b", got, sizeof(got));
	ck_assert_str_eq(got, "30");
}
END_TEST

START_TEST(boundary_files_join_a_picked_compaction)
{
	/* level 1 over its budget (3 x 5 MiB > 10 MiB): the first file is picked */
	struct version_edit e;
	edit_init(&e);
	struct buf s = BUF_INIT, l = BUF_INIT;
	static const struct {
		uint64_t number;
		const char *s;
		uint64_t sseq;
		const char *l;
		uint64_t lseq;
	} files[] = { { 10, "a", 10, "k", 5 }, { 11, "k", 4, "m", 3 }, { 12, "n", 9, "p", 9 } };
	for (int i = 0; i < 3; i++) {
		ikey(&s, files[i].s, files[i].sseq);
		ikey(&l, files[i].l, files[i].lseq);
		ck_assert_ok(edit_add_file(&e, 1, files[i].number, 5 << 20, buf_slice(&s), buf_slice(&l)));
	}
	buf_free(&s);
	buf_free(&l);
	ck_assert_ok(apply(&e));
	edit_free(&e);

	struct compaction_registry reg = { NULL, 0 };
	struct compaction *c = NULL;
	mutex_lock(&vs.mu);
	int rc = compaction_pick(&vs, &reg, &c);
	mutex_unlock(&vs.mu);
	ck_assert_ok(rc);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->level, 1);
	char got[64];
	compaction_numbers(c, 0, got, sizeof(got));
	ck_assert_str_eq(got, "10 11");
	ck_assert_int_eq(c->ninputs[1], 0);
	/* the compact pointer moved past both */
	ck_assert(slices_equal(vs.compact_pointer[1].data, vs.compact_pointer[1].len,
	                       vs.current->files[1][1]->largest.data, vs.current->files[1][1]->largest.size));
	mutex_lock(&vs.mu);
	compaction_free(&vs, c);
	mutex_unlock(&vs.mu);
}
END_TEST

/* ---- pending: overlapping files ----
 * The builder rejects them, but on that path builder_save's version_free
 * frees the new file metadata that builder_free then reads and frees again
 * (lib/version/manifest.c): a heap use-after-free that ASan reports. These
 * run only when SHALE_TEST_PENDING is set, until that is fixed. */

START_TEST(overlapping_files_in_a_sorted_level_are_rejected)
{
	/* two new files that overlap */
	struct version_edit e;
	edit_init(&e);
	add_file(&e, 1, 10, "a", 5, "m", 5);
	add_file(&e, 1, 11, "k", 5, "z", 5);
	ck_assert_int_eq(apply(&e), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "overlap in level 1"));
	edit_free(&e);
	assert_no_files();

	/* a good version, then a new file overlapping one of it */
	static const char *const good[] = { "a-c", "e-g" };
	apply_ranges(2, 20, good, 2);
	ck_assert_int_eq(vs.current->nfiles[2], 2);
	edit_init(&e);
	add_file(&e, 2, 22, "f", 50, "h", 50);
	ck_assert_int_eq(apply(&e), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "overlap in level 2"));
	edit_free(&e);
	ck_assert_int_eq(vs.current->nfiles[2], 2);

	/* the same internal key ending one file and starting the next overlaps */
	edit_init(&e);
	add_file(&e, 3, 30, "a", 5, "k", 5);
	add_file(&e, 3, 31, "k", 5, "z", 5);
	ck_assert_int_eq(apply(&e), SHALE_ECORRUPT);
	edit_free(&e);

	/* nothing was logged as broken: the next edit goes in */
	ck_assert(!vs.manifest_broken);
	static const char *const more[] = { "x-y" };
	apply_ranges(3, 40, more, 1);
	ck_assert_int_eq(vs.current->nfiles[3], 1);
}
END_TEST

START_TEST(recover_rejects_overlapping_files)
{
	struct version_edit e;
	base_edit(&e);
	add_file(&e, 2, 10, "a", 1, "m", 1);
	add_file(&e, 2, 11, "k", 1, "z", 1);
	write_manifest(&e);
	edit_free(&e);
	assert_recover_fails(SHALE_ECORRUPT, "overlap in level 2");
	ck_assert_ptr_nonnull(strstr(err_msg(), "MANIFEST-000007"));
}
END_TEST

/* ---- pending issue 10: inverted files ----
 * A file whose smallest key sorts after its largest is not rejected by the
 * builder yet, and add_boundary_inputs loops forever over one. These tests
 * fail (the second hangs until its timeout) until issue 10 is fixed; they
 * join the suite only when SHALE_TEST_PENDING is set in the environment. */

START_TEST(builder_rejects_an_inverted_file)
{
	struct version_edit e;
	edit_init(&e);
	add_file(&e, 1, 10, "z", 1, "a", 1);
	ck_assert_int_eq(apply(&e), SHALE_ECORRUPT);
	edit_free(&e);
	/* one user key, sequences the wrong way round */
	edit_init(&e);
	add_file(&e, 2, 11, "k", 4, "k", 6);
	ck_assert_int_eq(apply(&e), SHALE_ECORRUPT);
	edit_free(&e);
	edit_init(&e);
	add_file(&e, 0, 12, "z", 1, "a", 1);
	ck_assert_int_eq(apply(&e), SHALE_ECORRUPT);
	edit_free(&e);
	assert_no_files();

	/* and from a MANIFEST */
	base_edit(&e);
	add_file(&e, 3, 13, "z", 1, "a", 1);
	write_manifest(&e);
	edit_free(&e);
	assert_recover_fails(SHALE_ECORRUPT, "MANIFEST-000007");
}
END_TEST

START_TEST(boundary_expansion_over_an_inverted_file_ends)
{
	/* k@4..k@6 is inverted: its smallest sorts after its largest */
	struct version_edit e;
	edit_init(&e);
	add_file(&e, 1, 10, "a", 10, "k", 5);
	add_file(&e, 1, 11, "k", 4, "k", 6);
	int rc = apply(&e);
	edit_free(&e);
	/* rejected, so no version ever holds it and no expansion meets it */
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("version");
	TCase *tc = tcase_create("version_edit");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, edit_empty_roundtrip_and_empty_input_decode_to_nothing);
	tcase_add_test(tc, edit_every_field_roundtrips);
	tcase_add_test(tc, edit_decodes_leveldb_tags);
	tcase_add_test(tc, edit_every_truncated_field_is_corruption);
	tcase_add_test(tc, edit_bad_fields_are_corruption);
	tcase_add_test(tc, edit_garbage_never_crashes);
	suite_add_tcase(s, tc);

	tc = tcase_create("version_set");
	tcase_add_checked_fixture(tc, vs_setup, vs_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, sorted_levels_accept_a_straddled_user_key_and_level_0_overlaps);
	tcase_add_test(tc, recover_reads_back_what_log_and_apply_wrote);
	tcase_add_test(tc, recover_reads_a_manifest_written_here);
	tcase_add_test(tc, recover_requires_its_counters_and_the_comparator);
	tcase_add_test(tc, recover_reports_bad_records_naming_the_manifest);
	tcase_add_test(tc, recover_checks_current);
	tcase_add_test(tc, find_file_in_sorted_levels);
	tcase_add_test(tc, overlap_in_level);
	tcase_add_test(tc, overlapping_inputs_widen_level_0_transitively);
	tcase_add_test(tc, boundary_files_join_a_range_compaction);
	tcase_add_test(tc, boundary_files_join_a_picked_compaction);
	suite_add_tcase(s, tc);

	/* Regression tests: overlapping files used to be rejected through a
	 * use-after-free; inverted files were accepted and made the boundary
	 * expansion loop forever. */
	tc = tcase_create("bad_versions");
	tcase_add_checked_fixture(tc, vs_setup, vs_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, overlapping_files_in_a_sorted_level_are_rejected);
	tcase_add_test(tc, recover_rejects_overlapping_files);
	tcase_add_test(tc, builder_rejects_an_inverted_file);
	tcase_add_test(tc, boundary_expansion_over_an_inverted_file_ends);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
