/* Blocks: builder and reader round trips, seek/prev against a model,
 * defensive decoding of hand-crafted and mutated blocks; block handles and
 * the footer; the compression codecs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/comparator.h"
#include "lib/util/crc32c.h"
#include "lib/util/error.h"
#include "sstable/block.h"
#include "sstable/block_builder.h"
#include "sstable/compress.h"
#include "sstable/format.h"
#include "shale.h"
#include "tests/testutil.h"

#define PATH "/db/000042.ldb"

/* ---- a sorted model of distinct keys ---- */

struct kv {
	char *k, *v;
	size_t kn, vn;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	return slice_compare(slice_make(x->k, x->kn), slice_make(y->k, y->kn));
}

/* n distinct random keys (sorted) sharing prefixes often. */
static struct kv *make_model(struct rng *r, size_t *np, size_t max_key)
{
	size_t n = *np;
	struct kv *m = calloc(n ? n : 1, sizeof(*m));
	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < n; i++) {
		size_t kn = (size_t)rng_uniform(r, max_key + 1);
		m[i].k = malloc(kn + 1);
		/* a small alphabet so that prefixes repeat */
		for (size_t j = 0; j < kn; j++)
			m[i].k[j] = (char)("abc\xff\x00z"[rng_uniform(r, 6)]);
		m[i].kn = kn;
		size_t vn = (size_t)rng_skewed(r, 8);
		m[i].v = malloc(vn + 1);
		tu_random_bytes(r, m[i].v, vn);
		m[i].vn = vn;
	}
	qsort(m, n, sizeof(*m), kv_cmp);
	/* drop duplicates */
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && kv_cmp(&m[w - 1], &m[i]) == 0) {
			free(m[i].k);
			free(m[i].v);
			continue;
		}
		m[w++] = m[i];
	}
	*np = w;
	return m;
}

static void free_model(struct kv *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].k);
		free(m[i].v);
	}
	free(m);
}

/* Builds a block and copies it into an exact-size heap buffer (so that
 * ASan sees any read past its end), then opens it. */
static struct block *build_block(const struct kv *m, size_t n, int interval)
{
	struct block_builder bb;
	block_builder_init(&bb, interval);
	for (size_t i = 0; i < n; i++)
		ck_assert_ok(block_builder_add(&bb, slice_make(m[i].k, m[i].kn),
		                               slice_make(m[i].v, m[i].vn)));
	size_t est = block_builder_size_estimate(&bb);
	struct slice raw;
	ck_assert_ok(block_builder_finish(&bb, &raw));
	ck_assert_uint_eq(est, raw.size);
	struct block_contents bc = { .cachable = 1 };
	bc.heap = malloc(raw.size);
	memcpy(bc.heap, raw.data, raw.size);
	bc.data = slice_make(bc.heap, raw.size);
	block_builder_free(&bb);
	struct block *b;
	ck_assert_ok(block_create(&bc, PATH, 4096, &b));
	return b;
}

static void check_at(struct iter *it, const struct kv *m, size_t i)
{
	ck_assert_msg(iter_valid(it), "expected entry %zu", i);
	ck_assert(slice_equal(iter_key(it), slice_make(m[i].k, m[i].kn)));
	ck_assert(slice_equal(iter_value(it), slice_make(m[i].v, m[i].vn)));
}

/* first model index whose key >= t */
static size_t lower_bound(const struct kv *m, size_t n, struct slice t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (slice_compare(slice_make(m[mid].k, m[mid].kn), t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void check_iter_against_model(struct iter *it, const struct kv *m, size_t n, struct rng *r);

static void check_block_against_model(struct block *b, const struct kv *m, size_t n,
                                      struct rng *r)
{
	struct iter *it = block_iter_create(b, comparator_bytewise(), PATH);
	ck_assert_ptr_nonnull(it);
	check_iter_against_model(it, m, n, r);
	iter_destroy(it);
}

/* Walks it (over a block of m) forward, backward, by seeks and steps. */
static void check_iter_against_model(struct iter *it, const struct kv *m, size_t n, struct rng *r)
{
	/* forward */
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		check_at(it, m, i++);
	ck_assert_uint_eq(i, n);
	ck_assert_int_eq(iter_status(it), 0);
	/* backward */
	i = n;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		check_at(it, m, --i);
	ck_assert_uint_eq(i, 0);
	/* seek to every key, then step both ways */
	for (size_t j = 0; j < n; j++) {
		iter_seek(it, slice_make(m[j].k, m[j].kn));
		check_at(it, m, j);
		if (j > 0) {
			iter_prev(it);
			check_at(it, m, j - 1);
			iter_next(it);
		}
		check_at(it, m, j);
		iter_next(it);
		if (j + 1 < n)
			check_at(it, m, j + 1);
		else
			ck_assert(!iter_valid(it));
	}
	/* forward steps from the first entry, then back: the step back finds
	 * its restart point without any state kept by the steps forward */
	for (int t = 0; n > 0 && t < 50; t++) {
		size_t j = (size_t)rng_uniform(r, n);
		iter_seek_first(it);
		for (size_t k = 0; k < j; k++)
			iter_next(it);
		check_at(it, m, j);
		iter_prev(it);
		if (j == 0) {
			ck_assert(!iter_valid(it));
			continue;
		}
		check_at(it, m, j - 1);
		if (j >= 2) {
			iter_prev(it);
			check_at(it, m, j - 2);
		}
	}
	/* random targets, from random positions */
	for (int t = 0; t < 300; t++) {
		char tk[40];
		size_t tn = (size_t)rng_uniform(r, sizeof(tk));
		for (size_t j = 0; j < tn; j++)
			tk[j] = (char)("abc\xff\x00z"[rng_uniform(r, 6)]);
		iter_seek(it, slice_make(tk, tn));
		size_t lb = lower_bound(m, n, slice_make(tk, tn));
		if (lb == n) {
			ck_assert(!iter_valid(it));
			continue;
		}
		check_at(it, m, lb);
		if (rng_one_in(r, 2)) {
			iter_prev(it);
			if (lb == 0)
				ck_assert(!iter_valid(it));
			else
				check_at(it, m, lb - 1);
		}
	}
	ck_assert_int_eq(iter_status(it), 0);
}

START_TEST(block_roundtrip_random_against_model)
{
	static const int intervals[] = { 1, 2, 16 };
	struct rng r;
	rng_seed(&r, 1000 + (uint64_t)_i);
	for (int ii = 0; ii < 3; ii++) {
		static const size_t sizes[] = { 0, 1, 2, 3, 17, 500 };
		for (size_t si = 0; si < 2 * sizeof(sizes) / sizeof(sizes[0]); si++) {
			/* short keys, then keys longer than the iterator's inline
			 * buffer (48 bytes) mixed with short ones */
			size_t n = sizes[si % (sizeof(sizes) / sizeof(sizes[0]))];
			struct kv *m = make_model(&r, &n, si < sizeof(sizes) / sizeof(sizes[0]) ? 24 : 120);
			struct block *b = build_block(m, n, intervals[ii]);
			check_block_against_model(b, m, n, &r);
			block_destroy(b);
			free_model(m, n);
		}
	}
}
END_TEST

static void count_cleanup(void *a, void *b)
{
	(void)b;
	(*(int *)a)++;
}

/* A table scan points the iterator it leaves at the next block: the
 * cleanups of the old block run once, the buffers stay, and the recycled
 * iterator reads the new block as a new one would. Other iterators are
 * destroyed, not recycled. */
START_TEST(block_iter_recycled_for_another_block)
{
	struct rng r;
	rng_seed(&r, 77);
	size_t na = 300, nb = 200;
	struct kv *ma = make_model(&r, &na, 120), *mb = make_model(&r, &nb, 30);
	struct block *a = build_block(ma, na, 16), *b = build_block(mb, nb, 3);
	int ran = 0;
	struct iter *it = block_iter_create(a, comparator_bytewise(), PATH);
	ck_assert_ptr_nonnull(it);
	ck_assert_ok(iter_register_cleanup(it, count_cleanup, &ran, NULL));
	ck_assert_ok(iter_register_cleanup(it, count_cleanup, &ran, NULL));
	check_iter_against_model(it, ma, na, &r);
	ck_assert_int_eq(ran, 0);

	struct block_iter *space = block_iter_recycle(it);
	ck_assert_ptr_eq(&space->base, it);
	ck_assert_int_eq(ran, 2);
	ck_assert_ptr_nonnull(space->key_buf.data); /* grown by a's long keys, kept */
	struct iter *again = block_iter_reuse(space, b, comparator_bytewise(), PATH);
	ck_assert_ptr_eq(again, it);
	ck_assert(!iter_valid(again));
	check_iter_against_model(again, mb, nb, &r);
	/* a new cleanup registers on the recycled iterator and runs at destroy */
	ck_assert_ok(iter_register_cleanup(again, count_cleanup, &ran, NULL));
	iter_destroy(again);
	ck_assert_int_eq(ran, 3);

	ck_assert_ptr_null(block_iter_recycle(NULL));
	ck_assert_ptr_null(block_iter_recycle(iter_empty(0))); /* destroyed (ASan: no leak) */
	struct iter *fresh = block_iter_reuse(NULL, b, comparator_bytewise(), PATH);
	check_iter_against_model(fresh, mb, nb, &r);
	iter_destroy(fresh);

	block_destroy(a);
	block_destroy(b);
	free_model(ma, na);
	free_model(mb, nb);
}
END_TEST

START_TEST(block_restart_points_follow_interval)
{
	char key[16];
	for (int interval = 1; interval <= 16; interval *= 4) {
		struct block_builder bb;
		block_builder_init(&bb, interval);
		for (int i = 0; i < 100; i++) {
			snprintf(key, sizeof(key), "key%05d", i);
			ck_assert_ok(block_builder_add(&bb, slice_from_str(key), slice_from_str("v")));
		}
		struct slice raw;
		ck_assert_ok(block_builder_finish(&bb, &raw));
		uint32_t num = decode_fixed32(raw.data + raw.size - 4);
		ck_assert_uint_eq(num, (100 + (uint32_t)interval - 1) / (uint32_t)interval);
		/* the second entry shares "key000" with the first when interval > 1 */
		if (interval > 1) {
			const char *p = raw.data;
			p += 3 + 8 + 1; /* first entry: lengths, key, value */
			ck_assert_int_eq(p[0], 7);
			ck_assert_int_eq(p[1], 1);
		}
		block_builder_free(&bb);
	}
}
END_TEST

START_TEST(block_empty_has_no_entries)
{
	struct block *b = build_block(NULL, 0, 16);
	struct iter *it = block_iter_create(b, comparator_bytewise(), PATH);
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	iter_seek_last(it);
	ck_assert(!iter_valid(it));
	iter_seek(it, slice_from_str("x"));
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), 0);
	iter_destroy(it);
	block_destroy(b);
}
END_TEST

/* An empty key is a key: stepping back onto it (from the key after it, and
 * from the end) finds it, with its value. (A fuzz run found the backward
 * step offsetting a key buffer nothing had allocated.) */
START_TEST(block_empty_key_backwards)
{
	struct kv m[2] = { { (char *)"", (char *)"first", 0, 5 }, { (char *)"b", (char *)"second", 1, 6 } };
	for (size_t n = 2; n >= 1; n--) { /* before another key, then alone */
		struct block *b = build_block(m, n, 16);
		struct iter *it = block_iter_create(b, comparator_bytewise(), PATH);
		iter_seek_last(it);
		if (n == 2) {
			ck_assert(iter_valid(it));
			ck_assert(slice_equal(iter_key(it), slice_from_str("b")));
			iter_prev(it);
		}
		ck_assert(iter_valid(it));
		ck_assert_uint_eq(iter_key(it).size, 0);
		ck_assert(slice_equal(iter_value(it), slice_from_str("first")));
		iter_prev(it);
		ck_assert(!iter_valid(it));
		ck_assert_int_eq(iter_status(it), 0);
		iter_destroy(it);
		block_destroy(b);
	}
}
END_TEST

/* ---- defensive decoding ---- */

static int open_raw(const void *data, size_t n, struct block **out)
{
	struct block_contents bc = { .cachable = 1 };
	bc.heap = malloc(n ? n : 1);
	memcpy(bc.heap, data, n);
	bc.data = slice_make(bc.heap, n);
	return block_create(&bc, PATH, 777, out);
}

static void expect_create_corrupt(const void *data, size_t n)
{
	struct block *b = NULL;
	int rc = open_raw(data, n, &b);
	ck_assert_int_eq(rc, SHALE_ECORRUPT);
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(err_msg(), PATH) && strstr(err_msg(), "777"), "message: %s",
	              err_msg());
}

START_TEST(block_bad_restart_array_is_corruption)
{
	char b[64];
	/* shorter than the count */
	expect_create_corrupt("abc", 3);
	/* count larger than the block could hold */
	encode_fixed32(b, 5);
	expect_create_corrupt(b, 4);
	memset(b, 0, sizeof(b));
	encode_fixed32(b + 12, 0xffffffffu);
	expect_create_corrupt(b, 16);
	/* entries but no restart point */
	memset(b, 0, 8);
	encode_fixed32(b + 8, 0);
	expect_create_corrupt(b, 12);
	/* first restart not at 0 */
	memset(b, 0, sizeof(b));
	encode_fixed32(b + 8, 3);
	encode_fixed32(b + 12, 1);
	expect_create_corrupt(b, 16);
	/* restart offset inside the restart array / past the entries */
	encode_fixed32(b + 8, 0);
	encode_fixed32(b + 12, 8);
	encode_fixed32(b + 16, 2);
	expect_create_corrupt(b, 20);
	/* restart offsets not increasing */
	memset(b, 0, sizeof(b));
	encode_fixed32(b + 12, 0);
	encode_fixed32(b + 16, 6);
	encode_fixed32(b + 20, 3);
	encode_fixed32(b + 24, 3);
	expect_create_corrupt(b, 28);
}
END_TEST

/* A block of the given entry bytes with one restart point at 0. */
static struct block *raw_block(const char *entries, size_t n, uint32_t nrestart,
                               const uint32_t *restarts)
{
	char b[256];
	ck_assert(n + 4 * nrestart + 4 <= sizeof(b));
	memcpy(b, entries, n);
	for (uint32_t i = 0; i < nrestart; i++)
		encode_fixed32(b + n + 4 * i, restarts[i]);
	encode_fixed32(b + n + 4 * nrestart, nrestart);
	struct block *blk;
	ck_assert_ok(open_raw(b, n + 4 * nrestart + 4, &blk));
	return blk;
}

enum op { OP_FIRST, OP_LAST, OP_SEEK, OP_WALK_FORWARD, OP_WALK_BACK };

/* Runs op and expects the iterator to end invalid with ECORRUPT. */
static void expect_iter_corrupt(struct block *blk, enum op op)
{
	struct iter *it = block_iter_create(blk, comparator_bytewise(), PATH);
	err_set(0, "none");
	switch (op) {
	case OP_FIRST:
		iter_seek_first(it);
		break;
	case OP_LAST:
		iter_seek_last(it);
		break;
	case OP_SEEK:
		iter_seek(it, slice_from_str("zzz"));
		break;
	case OP_WALK_FORWARD:
		for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		}
		break;
	case OP_WALK_BACK:
		for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
		}
		break;
	}
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_ECORRUPT);
	ck_assert_msg(strstr(err_msg(), "corruption") && strstr(err_msg(), PATH) &&
	                  strstr(err_msg(), "777"),
	              "message: %s", err_msg());
	/* sticky: repositioning does not revive it */
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_ECORRUPT);
	iter_destroy(it);
}

START_TEST(block_bad_entries_are_corruption)
{
	uint32_t r0 = 0;
	/* unshared length runs past the entries */
	static const char e1[] = { 0, 10, 1, 'a', 'b', 'v' };
	struct block *b = raw_block(e1, sizeof(e1), 1, &r0);
	expect_iter_corrupt(b, OP_FIRST);
	expect_iter_corrupt(b, OP_SEEK);
	expect_iter_corrupt(b, OP_LAST);
	block_destroy(b);
	/* value length runs past the entries */
	static const char e2[] = { 0, 1, 9, 'a', 'v' };
	b = raw_block(e2, sizeof(e2), 1, &r0);
	expect_iter_corrupt(b, OP_FIRST);
	block_destroy(b);
	/* the second entry shares more than the first key has */
	static const char e3[] = { 0, 1, 1, 'a', 'v', 5, 1, 1, 'b', 'w' };
	b = raw_block(e3, sizeof(e3), 1, &r0);
	expect_iter_corrupt(b, OP_WALK_FORWARD);
	expect_iter_corrupt(b, OP_LAST);
	expect_iter_corrupt(b, OP_SEEK);
	block_destroy(b);
	/* a restart point whose entry claims a shared prefix */
	uint32_t r2[2] = { 0, 5 };
	static const char e4[] = { 0, 1, 1, 'a', 'v', 1, 1, 1, 'b', 'w', 0, 1, 1, 'c', 'x' };
	b = raw_block(e4, sizeof(e4), 2, r2);
	expect_iter_corrupt(b, OP_SEEK);
	expect_iter_corrupt(b, OP_LAST);
	block_destroy(b);
	/* a varint that never ends */
	static const char e5[] = { (char)0x80, (char)0x80, (char)0x80, (char)0x80 };
	b = raw_block(e5, sizeof(e5), 1, &r0);
	expect_iter_corrupt(b, OP_FIRST);
	block_destroy(b);
	/* fewer than 3 header bytes left */
	static const char e6[] = { 0, 1, 0, 'a', 0, 0 };
	b = raw_block(e6, sizeof(e6), 1, &r0);
	expect_iter_corrupt(b, OP_WALK_FORWARD);
	expect_iter_corrupt(b, OP_WALK_BACK);
	block_destroy(b);
	/* lengths whose sum wraps around 32 bits */
	static const char e7[] = { 0, (char)0xff, (char)0xff, (char)0xff, (char)0xff, 0x0f, 2, 'a', 'b' };
	b = raw_block(e7, sizeof(e7), 1, &r0);
	expect_iter_corrupt(b, OP_FIRST);
	block_destroy(b);
}
END_TEST

/* Every single-byte change of a valid block either still decodes or is
 * reported; ASan checks that nothing is read outside the block. */
START_TEST(block_mutations_never_read_out_of_bounds)
{
	struct rng r;
	rng_seed(&r, 77);
	size_t n = 60;
	struct kv *m = make_model(&r, &n, 12);
	struct block_builder bb;
	block_builder_init(&bb, 4);
	for (size_t i = 0; i < n; i++)
		ck_assert_ok(block_builder_add(&bb, slice_make(m[i].k, m[i].kn),
		                               slice_make(m[i].v, m[i].vn)));
	struct slice raw;
	ck_assert_ok(block_builder_finish(&bb, &raw));
	int corrupt_seen = 0;
	for (size_t pos = 0; pos < raw.size; pos++) {
		for (int t = 0; t < 3; t++) {
			char *copy = malloc(raw.size);
			memcpy(copy, raw.data, raw.size);
			copy[pos] = t == 0 ? (char)(copy[pos] ^ 0x80) : t == 1 ? (char)0xff
			                                                     : (char)rng_next(&r);
			struct block_contents bc = { .data = slice_make(copy, raw.size), .heap = copy, .cachable = 1 };
			struct block *b;
			int rc = block_create(&bc, PATH, 0, &b);
			if (rc) {
				ck_assert_int_eq(rc, SHALE_ECORRUPT);
				corrupt_seen++;
				continue;
			}
			struct iter *it = block_iter_create(b, comparator_bytewise(), PATH);
			size_t steps = 0;
			for (iter_seek_first(it); iter_valid(it) && steps < 1000; iter_next(it))
				steps++;
			for (iter_seek_last(it); iter_valid(it) && steps < 2000; iter_prev(it))
				steps++;
			for (size_t j = 0; j < n; j += 7) {
				iter_seek(it, slice_make(m[j].k, m[j].kn));
				if (iter_valid(it))
					(void)iter_value(it);
			}
			int st = iter_status(it);
			ck_assert(st == 0 || st == SHALE_ECORRUPT);
			if (st)
				corrupt_seen++;
			iter_destroy(it);
			block_destroy(b);
		}
	}
	ck_assert_int_gt(corrupt_seen, 0);
	block_builder_free(&bb);
	free_model(m, n);
}
END_TEST

/* ---- format: handles and footer ---- */

START_TEST(block_handle_and_footer_roundtrip)
{
	struct buf b = BUF_INIT;
	struct block_handle h = { UINT64_MAX - 5, 1234567 }, g;
	ck_assert_ok(block_handle_append(&b, &h));
	struct slice in = buf_slice(&b);
	ck_assert(block_handle_decode(&in, &g));
	ck_assert_uint_eq(g.offset, h.offset);
	ck_assert_uint_eq(g.size, h.size);
	ck_assert_uint_eq(in.size, 0);
	in = slice_make(b.data, b.len - 1);
	ck_assert(!block_handle_decode(&in, &g));
	buf_free(&b);

	struct footer f = { { 100, 50 }, { 155, 30 } }, f2;
	char enc[FOOTER_LEN];
	footer_encode(&f, enc);
	ck_assert_uint_eq(decode_fixed32(enc + 40), 0x8b80fb57u);
	ck_assert_uint_eq(decode_fixed32(enc + 44), 0xdb477524u);
	uint64_t size = 190 + FOOTER_LEN;
	ck_assert_ok(footer_decode(enc, size, PATH, &f2));
	ck_assert_uint_eq(f2.metaindex.offset, 100);
	ck_assert_uint_eq(f2.index.size, 30);
	/* the index's trailer would overlap the footer */
	ck_assert_int_eq(footer_decode(enc, size - 1, PATH, &f2), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), PATH));
	/* a handle far past the end, with sums that would overflow */
	struct footer bad = { { UINT64_MAX - 2, 10 }, { 0, 1 } };
	footer_encode(&bad, enc);
	ck_assert_int_eq(footer_decode(enc, size, PATH, &f2), SHALE_ECORRUPT);
	footer_encode(&f, enc);
	enc[45] ^= 1;
	ck_assert_int_eq(footer_decode(enc, size, PATH, &f2), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "magic"));
}
END_TEST

/* ---- compression ---- */

static const int api_types[] = { SHALE_COMPRESSION_SNAPPY, SHALE_COMPRESSION_LZ4,
	                          SHALE_COMPRESSION_ZLIB };

START_TEST(compress_roundtrip_every_codec)
{
	struct rng r;
	rng_seed(&r, 5);
	unsigned char type;
	ck_assert_ok(compress_type_for(SHALE_COMPRESSION_NONE, &type));
	ck_assert_uint_eq(type, BLOCK_TYPE_NONE);
	ck_assert_int_eq(compress_type_for(7, &type), SHALE_EINVAL);
	ck_assert_int_eq(compress_type_for(-1, &type), SHALE_EINVAL);
	static const unsigned char bytes[] = { BLOCK_TYPE_SNAPPY, BLOCK_TYPE_LZ4, BLOCK_TYPE_ZLIB };
	for (int c = 0; c < 3; c++) {
		int rc = compress_type_for(api_types[c], &type);
		if (!compress_type_supported(bytes[c])) {
			ck_assert_int_eq(rc, SHALE_ENOTSUP);
			continue;
		}
		ck_assert_ok(rc);
		ck_assert_uint_eq(type, bytes[c]);
		static const size_t sizes[] = { 0, 1, 100, 4096, 70000 };
		for (size_t s = 0; s < 5; s++) {
			size_t n = sizes[s];
			char *raw = malloc(n + 1);
			/* half random, half repetitive */
			tu_random_bytes(&r, raw, n / 2);
			memset(raw + n / 2, 'x', n - n / 2);
			struct buf out = BUF_INIT;
			ck_assert_ok(compress_block(type, slice_make(raw, n), &out));
			char *back;
			size_t back_n;
			ck_assert_ok(decompress_block(type, buf_slice(&out), PATH, 9, NULL, &back, &back_n));
			ck_assert_uint_eq(back_n, n);
			ck_assert(n == 0 || memcmp(back, raw, n) == 0);
			if (n >= 4096)
				ck_assert_uint_lt(out.len, n);
			free(back);
			buf_free(&out);
			free(raw);
		}
	}
}
END_TEST

START_TEST(decompress_damage_is_corruption)
{
	struct rng r;
	rng_seed(&r, 6);
	static const unsigned char bytes[] = { BLOCK_TYPE_SNAPPY, BLOCK_TYPE_LZ4, BLOCK_TYPE_ZLIB };
	char raw[8000];
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (char)('a' + (i * 7 + i / 13) % 11);
	for (int c = 0; c < 3; c++) {
		if (!compress_type_supported(bytes[c]))
			continue;
		struct buf out = BUF_INIT;
		ck_assert_ok(compress_block(bytes[c], slice_make(raw, sizeof(raw)), &out));
		char *back;
		size_t back_n;
		/* truncated payloads */
		for (size_t cut = 0; cut < out.len; cut += 1 + out.len / 50) {
			int rc = decompress_block(bytes[c], slice_make(out.data, cut), PATH, 1234, NULL, &back,
			                          &back_n);
			ck_assert_int_eq(rc, SHALE_ECORRUPT);
			ck_assert_msg(strstr(err_msg(), PATH) && strstr(err_msg(), "1234"), "%s",
			              err_msg());
		}
		/* random byte flips never give garbage of the wrong length, never crash */
		for (int t = 0; t < 300; t++) {
			char *copy = malloc(out.len);
			memcpy(copy, out.data, out.len);
			copy[rng_uniform(&r, out.len)] ^= (char)(1 + rng_uniform(&r, 255));
			int rc = decompress_block(bytes[c], slice_make(copy, out.len), PATH, 1, NULL, &back,
			                          &back_n);
			if (rc == 0) {
				ck_assert_uint_eq(back_n, sizeof(raw));
				free(back);
			} else {
				ck_assert_int_eq(rc, SHALE_ECORRUPT);
			}
			free(copy);
		}
		buf_free(&out);
	}
	/* absurd claimed lengths are rejected before allocating */
	char absurd[16];
	char *p = encode_varint32(absurd, 0xfffffff0u);
	memset(p, 0, 4);
	char *back;
	size_t back_n;
	if (compress_type_supported(BLOCK_TYPE_LZ4)) {
		ck_assert_int_eq(decompress_block(BLOCK_TYPE_LZ4, slice_make(absurd, (size_t)(p - absurd) + 4),
		                                  PATH, 1, NULL, &back, &back_n),
		                 SHALE_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(err_msg(), "impossible"));
	}
	if (compress_type_supported(BLOCK_TYPE_ZLIB))
		ck_assert_int_eq(decompress_block(BLOCK_TYPE_ZLIB, slice_make(absurd, (size_t)(p - absurd) + 4),
		                                  PATH, 1, NULL, &back, &back_n),
		                 SHALE_ECORRUPT);
	if (compress_type_supported(BLOCK_TYPE_SNAPPY))
		ck_assert_int_eq(decompress_block(BLOCK_TYPE_SNAPPY, slice_make(absurd, (size_t)(p - absurd) + 4),
		                                  PATH, 1, NULL, &back, &back_n),
		                 SHALE_ECORRUPT);
	/* unknown and reserved types */
	ck_assert_int_eq(decompress_block(2, slice_make("abc", 3), PATH, 1, NULL, &back, &back_n),
	                 SHALE_ECORRUPT);
	ck_assert_int_eq(decompress_block(0x7f, slice_make("abc", 3), PATH, 1, NULL, &back, &back_n),
	                 SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "unknown"));
}
END_TEST

static Suite *block_suite(void)
{
	Suite *s = suite_create("block");
	TCase *tc = tcase_create("block");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, block_roundtrip_random_against_model, 0, 4);
	tcase_add_test(tc, block_iter_recycled_for_another_block);
	tcase_add_test(tc, block_restart_points_follow_interval);
	tcase_add_test(tc, block_empty_has_no_entries);
	tcase_add_test(tc, block_empty_key_backwards);
	tcase_add_test(tc, block_bad_restart_array_is_corruption);
	tcase_add_test(tc, block_bad_entries_are_corruption);
	tcase_add_test(tc, block_mutations_never_read_out_of_bounds);
	tcase_add_test(tc, block_handle_and_footer_roundtrip);
	suite_add_tcase(s, tc);
	TCase *cc = tcase_create("compress");
	tcase_set_timeout(cc, 60);
	tcase_add_test(cc, compress_roundtrip_every_codec);
	tcase_add_test(cc, decompress_damage_is_corruption);
	suite_add_tcase(s, cc);
	return s;
}

int main(void)
{
	return tu_run(block_suite());
}
