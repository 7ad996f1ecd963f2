/* Utilities: coding, buffers, CRC-32C, hash, arena, comparator, internal keys,
 * file names, errors. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/arena.h"
#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/comparator.h"
#include "lib/util/crc32c.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "lib/util/hash.h"
#include "lib/util/ikey.h"
#include "lib/util/iter.h"
#include "lib/util/random.h"
#include "tests/testutil.h"

/* ---- coding ---- */

START_TEST(fixed_roundtrip_is_little_endian)
{
	char b[8];
	encode_fixed32(b, 0x04030201u);
	ck_assert_int_eq(b[0], 1);
	ck_assert_int_eq(b[3], 4);
	ck_assert_uint_eq(decode_fixed32(b), 0x04030201u);
	encode_fixed64(b, 0x0807060504030201ull);
	ck_assert_int_eq(b[0], 1);
	ck_assert_int_eq(b[7], 8);
	ck_assert_uint_eq(decode_fixed64(b), 0x0807060504030201ull);
	struct buf bb = BUF_INIT;
	for (uint32_t v = 0; v < 100000; v += 7)
		ck_assert_ok(buf_append_fixed32(&bb, v));
	struct slice in = buf_slice(&bb);
	for (uint32_t v = 0; v < 100000; v += 7) {
		uint32_t got;
		ck_assert(get_fixed32(&in, &got));
		ck_assert_uint_eq(got, v);
	}
	ck_assert_uint_eq(in.size, 0);
	buf_free(&bb);
}
END_TEST

START_TEST(varint32_roundtrip_all_widths)
{
	struct buf b = BUF_INIT;
	uint32_t vals[200];
	int n = 0;
	for (int shift = 0; shift < 32; shift++) {
		uint32_t p = 1u << shift;
		vals[n++] = p - 1;
		vals[n++] = p;
		vals[n++] = p + 1;
	}
	vals[n++] = UINT32_MAX;
	for (int i = 0; i < n; i++) {
		size_t before = b.len;
		ck_assert_ok(buf_append_varint32(&b, vals[i]));
		ck_assert_int_eq((int)(b.len - before), varint_length(vals[i]));
	}
	struct slice in = buf_slice(&b);
	for (int i = 0; i < n; i++) {
		uint32_t v;
		ck_assert(get_varint32(&in, &v));
		ck_assert_uint_eq(v, vals[i]);
	}
	ck_assert_uint_eq(in.size, 0);
	buf_free(&b);
}
END_TEST

START_TEST(varint64_roundtrip_all_widths)
{
	struct buf b = BUF_INIT;
	uint64_t vals[300];
	int n = 0;
	for (int shift = 0; shift < 64; shift++) {
		uint64_t p = 1ull << shift;
		vals[n++] = p - 1;
		vals[n++] = p;
		vals[n++] = p + 1;
	}
	vals[n++] = UINT64_MAX;
	for (int i = 0; i < n; i++)
		ck_assert_ok(buf_append_varint64(&b, vals[i]));
	struct slice in = buf_slice(&b);
	for (int i = 0; i < n; i++) {
		uint64_t v;
		ck_assert(get_varint64(&in, &v));
		ck_assert_uint_eq(v, vals[i]);
	}
	ck_assert_uint_eq(in.size, 0);
	buf_free(&b);
}
END_TEST

START_TEST(varint_malformed_and_truncated_rejected)
{
	/* 32-bit overflow: five bytes whose last has high bits */
	const char over32[] = { (char)0x81, (char)0x82, (char)0x83, (char)0x84, (char)0x11 };
	uint32_t v32;
	ck_assert_ptr_null(get_varint32_ptr(over32, over32 + 5, &v32));
	/* unterminated */
	const char unterminated[] = { (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80 };
	ck_assert_ptr_null(get_varint32_ptr(unterminated, unterminated + 6, &v32));
	uint64_t v64;
	ck_assert_ptr_null(get_varint64_ptr(unterminated, unterminated + 6, &v64));
	/* 64-bit overflow: eleven bytes */
	char over64[11];
	memset(over64, 0xff, 10);
	over64[10] = 0;
	ck_assert_ptr_null(get_varint64_ptr(over64, over64 + 11, &v64));
	/* every truncation of a valid encoding fails, never reads past limit */
	char enc[10];
	char *end = encode_varint64(enc, UINT64_MAX - 5);
	size_t len = (size_t)(end - enc);
	for (size_t cut = 0; cut < len; cut++) {
		char *copy = malloc(cut ? cut : 1); /* ASan catches any over-read */
		memcpy(copy, enc, cut);
		ck_assert_ptr_null(get_varint64_ptr(copy, copy + cut, &v64));
		free(copy);
	}
	ck_assert_ptr_eq(get_varint64_ptr(enc, end, &v64), end);
	ck_assert_uint_eq(v64, UINT64_MAX - 5);
	/* fixed and length-prefixed on short input */
	struct slice s = slice_make("abc", 3);
	uint64_t f64;
	uint32_t f32;
	ck_assert(!get_fixed64(&s, &f64));
	s = slice_make("abc", 3);
	ck_assert(!get_fixed32(&s, &f32));
	char lp[] = { 5, 'a', 'b' };
	s = slice_make(lp, 3);
	struct slice out;
	ck_assert(!get_lenprefixed(&s, &out));
}
END_TEST

START_TEST(lenprefixed_roundtrip)
{
	struct buf b = BUF_INIT;
	ck_assert_ok(buf_append_lenprefixed(&b, "", 0));
	ck_assert_ok(buf_append_lenprefixed(&b, "foo", 3));
	char big[300];
	memset(big, 'x', sizeof(big));
	ck_assert_ok(buf_append_lenprefixed(&b, big, sizeof(big)));
	struct slice in = buf_slice(&b), out;
	ck_assert(get_lenprefixed(&in, &out));
	ck_assert_uint_eq(out.size, 0);
	ck_assert(get_lenprefixed(&in, &out));
	ck_assert(slice_equal(out, slice_from_str("foo")));
	ck_assert(get_lenprefixed(&in, &out));
	ck_assert_uint_eq(out.size, 300);
	ck_assert(!get_lenprefixed(&in, &out));
	buf_free(&b);
}
END_TEST

/* ---- CRC-32C ---- */

START_TEST(crc32c_standard_vectors)
{
	ck_assert_uint_eq(crc32c_value("123456789", 9), 0xe3069283u);
	char zeros[32] = { 0 };
	ck_assert_uint_eq(crc32c_value(zeros, 32), 0x8a9136aau);
	char ones[32];
	memset(ones, 0xff, sizeof(ones));
	ck_assert_uint_eq(crc32c_value(ones, 32), 0x62a8ab43u);
	char inc[32], dec[32];
	for (int i = 0; i < 32; i++) {
		inc[i] = (char)i;
		dec[i] = (char)(31 - i);
	}
	ck_assert_uint_eq(crc32c_value(inc, 32), 0x46dd794eu);
	ck_assert_uint_eq(crc32c_value(dec, 32), 0x113fdb5cu);
	ck_assert_uint_eq(crc32c_sw(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(crc32c_value("", 0), 0);
}
END_TEST

START_TEST(crc32c_extend_matches_whole)
{
	const char *s = "hello world, this is shale";
	size_t n = strlen(s);
	for (size_t cut = 0; cut <= n; cut++)
		ck_assert_uint_eq(crc32c_extend(crc32c_value(s, cut), s + cut, n - cut), crc32c_value(s, n));
}
END_TEST

START_TEST(crc32c_hw_and_sw_agree_every_length_and_alignment)
{
	if (!crc32c_hw_available()) {
		/* Nothing to compare on this CPU; the software path has its vectors. */
		ck_assert_uint_eq(crc32c_sw(0, "123456789", 9), 0xe3069283u);
		return;
	}
	struct rng r;
	rng_seed(&r, 301);
	char *buf = malloc(4096 + 16);
	tu_random_bytes(&r, buf, 4096 + 16);
	for (size_t len = 0; len <= 4096; len++) {
		for (size_t align = 0; align < 8; align++) {
			uint32_t init = (uint32_t)rng_next(&r);
			ck_assert_uint_eq(crc32c_hw(init, buf + align, len), crc32c_sw(init, buf + align, len));
		}
	}
	free(buf);
	/* long buffers: many rounds of the three interleaved streams */
	size_t big = (1u << 20) + 777;
	buf = malloc(big);
	tu_random_bytes(&r, buf, big);
	for (size_t len = 3000; len < big; len = len * 5 + 13)
		ck_assert_uint_eq(crc32c_hw(7, buf, len), crc32c_sw(7, buf, len));
	ck_assert_uint_eq(crc32c_hw(0, buf, big), crc32c_sw(0, buf, big));
	memset(buf, 0, big);
	ck_assert_uint_eq(crc32c_hw(0, buf, big), crc32c_sw(0, buf, big));
	free(buf);
}
END_TEST

START_TEST(crc32c_mask_roundtrip_and_differs)
{
	uint32_t crc = crc32c_value("foo", 3);
	ck_assert_uint_ne(crc, crc32c_mask(crc));
	ck_assert_uint_ne(crc, crc32c_mask(crc32c_mask(crc)));
	ck_assert_uint_eq(crc, crc32c_unmask(crc32c_mask(crc)));
	ck_assert_uint_eq(crc, crc32c_unmask(crc32c_unmask(crc32c_mask(crc32c_mask(crc)))));
}
END_TEST

/* ---- hash ---- */

START_TEST(hash_matches_leveldb_including_high_bytes)
{
	const unsigned char d1[] = { 0x62 };
	const unsigned char d2[] = { 0xc3, 0x97 };
	const unsigned char d3[] = { 0xe2, 0x99, 0xa5 };
	const unsigned char d4[] = { 0xe1, 0x80, 0xb9, 0x32 };
	const unsigned char d5[] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	ck_assert_uint_eq(hash32("", 0, 0xbc9f1d34), 0xbc9f1d34u);
	ck_assert_uint_eq(hash32(d1, 1, 0xbc9f1d34), 0xef1345c4u);
	ck_assert_uint_eq(hash32(d2, 2, 0xbc9f1d34), 0x5b663814u);
	ck_assert_uint_eq(hash32(d3, 3, 0xbc9f1d34), 0x323c078fu);
	ck_assert_uint_eq(hash32(d4, 4, 0xbc9f1d34), 0xed21633au);
	ck_assert_uint_eq(hash32(d5, sizeof(d5), 0x12345678), 0xf333dabbu);
}
END_TEST

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* hash64, which the memtable's filter uses: no two of 120,000 sequential
 * decimal keys hash alike, nor collide in their high or low halves more
 * than chance allows (hash32, LevelDB's, gives 5,000 equal values here);
 * every byte of the key counts, tail bytes included. */
START_TEST(hash64_mixes_sequential_keys)
{
	enum { N = 120000 };
	uint64_t *h = malloc(N * sizeof(*h));
	uint64_t *lo = malloc(N * sizeof(*lo));
	ck_assert(h && lo);
	char k[32];
	for (int i = 0; i < N; i++) {
		int n = snprintf(k, sizeof(k), "%016d", i);
		h[i] = hash64(k, (size_t)n);
		lo[i] = (uint32_t)h[i];
	}
	qsort(h, N, sizeof(*h), u64_cmp);
	qsort(lo, N, sizeof(*lo), u64_cmp);
	int same = 0, same_lo = 0;
	for (int i = 1; i < N; i++) {
		same += h[i] == h[i - 1];
		same_lo += lo[i] == lo[i - 1];
	}
	ck_assert_int_eq(same, 0);
	ck_assert_int_le(same_lo, 10); /* chance: about 1.7 of 120,000 in 2^32 */
	free(h);
	free(lo);
	ck_assert_uint_ne(hash64("abcdefghi", 9), hash64("abcdefghj", 9));
	ck_assert_uint_ne(hash64("abcdefgh", 8), hash64("abcdefgh\0", 9));
	ck_assert_uint_ne(hash64("", 0), hash64("\0", 1));
}
END_TEST

/* ---- arena ---- */

START_TEST(arena_many_allocations_keep_contents_and_alignment)
{
	struct arena a;
	arena_init(&a);
	struct rng r;
	rng_seed(&r, 7);
	enum { N = 20000 };
	char **ptrs = malloc(N * sizeof(*ptrs));
	size_t *sizes = malloc(N * sizeof(*sizes));
	size_t total = 0;
	for (int i = 0; i < N; i++) {
		size_t s = i % 5000 == 0 ? 6000 : (rng_one_in(&r, 10) ? rng_uniform(&r, 6000) : rng_uniform(&r, 20)) + 1;
		char *p = (i % 10 == 0) ? arena_alloc_aligned(&a, s) : arena_alloc(&a, s);
		ck_assert_ptr_nonnull(p);
		if (i % 10 == 0)
			ck_assert_uint_eq((uintptr_t)p & 7, 0);
		memset(p, i % 256, s);
		ptrs[i] = p;
		sizes[i] = s;
		total += s;
		ck_assert_uint_ge(arena_memory_usage(&a), total);
	}
	ck_assert_uint_le(arena_memory_usage(&a), total * 11 / 10 + 16 * ARENA_BLOCK_SIZE);
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < sizes[i]; j++)
			ck_assert_int_eq((unsigned char)ptrs[i][j], i % 256);
	free(ptrs);
	free(sizes);
	arena_destroy(&a);
	ck_assert_uint_eq(arena_memory_usage(&a), 0);
}
END_TEST

/* ---- comparator and internal keys ---- */

static struct buf bufstr(const char *s)
{
	struct buf b = BUF_INIT;
	buf_set(&b, s, strlen(s));
	return b;
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* bytes_compare compares up to 32 bytes in words, longer runs by memcmp:
 * every length either side of those steps, the first difference at every
 * position with random bytes after it, bytes above 0x7f (unsigned, as
 * memcmp) and equal runs. */
START_TEST(bytes_compare_agrees_with_memcmp)
{
	struct rng r;
	rng_seed(&r, 77);
	unsigned char a[48], b[48];
	for (size_t n = 0; n <= sizeof(a); n++) {
		for (size_t at = 0; at <= n; at++) {
			for (int round = 0; round < 8; round++) {
				tu_random_bytes(&r, (char *)a, sizeof(a));
				memcpy(b, a, sizeof(b));
				if (at < n) {
					/* differ first at `at` (perhaps only in the top bit),
					 * and anyhow after it: the first difference decides */
					b[at] = round & 1 ? (unsigned char)(a[at] ^ 0x80) : (unsigned char)(a[at] + 1 + rng_uniform(&r, 255));
					tu_random_bytes(&r, (char *)b + at + 1, sizeof(b) - at - 1);
				}
				ck_assert_int_eq(bytes_compare(a, b, n), sign(memcmp(a, b, n)));
				ck_assert_int_eq(bytes_compare(b, a, n), sign(memcmp(b, a, n)));
				if (at == n)
					ck_assert_int_eq(bytes_compare(a, b, n), 0);
			}
		}
	}
	/* slice_compare on top of it: a shorter prefix first */
	ck_assert_int_lt(slice_compare(slice_make("0000000000123", 13), slice_make("00000000001234", 14)), 0);
	ck_assert_int_gt(slice_compare(slice_make("0000000000124", 13), slice_make("00000000001234", 14)), 0);
	ck_assert_int_eq(slice_compare(slice_make("", 0), slice_make("", 0)), 0);
}
END_TEST

START_TEST(bytewise_order_and_shortening)
{
	const struct comparator *c = comparator_bytewise();
	ck_assert_str_eq(c->name(c), "leveldb.BytewiseComparator");
	ck_assert_int_lt(comparator_compare(c, slice_from_str("a"), slice_from_str("ab")), 0);
	ck_assert_int_gt(comparator_compare(c, slice_from_str("b"), slice_from_str("ab")), 0);
	ck_assert_int_eq(comparator_compare(c, slice_from_str(""), slice_from_str("")), 0);
	ck_assert_int_lt(comparator_compare(c, slice_make("\x01", 1), slice_make("\xff", 1)), 0);

	struct buf b = bufstr("abcdefg");
	ck_assert_ok(c->shorten_separator(c, &b, slice_from_str("abzzz")));
	ck_assert(slice_equal(buf_slice(&b), slice_from_str("abd")));
	buf_free(&b);
	b = bufstr("abc");
	ck_assert_ok(c->shorten_separator(c, &b, slice_from_str("abcd"))); /* prefix: unchanged */
	ck_assert(slice_equal(buf_slice(&b), slice_from_str("abc")));
	buf_free(&b);
	b = bufstr("abc");
	ck_assert_ok(c->shorten_separator(c, &b, slice_from_str("abd"))); /* no room: unchanged */
	ck_assert(slice_equal(buf_slice(&b), slice_from_str("abc")));
	buf_free(&b);
	b = bufstr("\xff\xff" "a");
	ck_assert_ok(c->short_successor(c, &b));
	ck_assert(slice_equal(buf_slice(&b), slice_from_str("\xff\xff" "b")));
	buf_free(&b);
	b = bufstr("\xff\xff");
	ck_assert_ok(c->short_successor(c, &b));
	ck_assert(slice_equal(buf_slice(&b), slice_from_str("\xff\xff")));
	buf_free(&b);
}
END_TEST

static struct buf ik(const char *u, uint64_t seq, int type)
{
	struct buf b = BUF_INIT;
	ikey_append(&b, slice_from_str(u), seq, type);
	return b;
}

START_TEST(internal_key_order_and_parse)
{
	const struct comparator *u = comparator_bytewise();
	struct buf a = ik("foo", 100, IKEY_TYPE_VALUE);
	struct buf b = ik("foo", 99, IKEY_TYPE_VALUE);
	struct buf c = ik("foo", 100, IKEY_TYPE_DELETION);
	struct buf d = ik("fop", 1, IKEY_TYPE_VALUE);
	ck_assert_int_lt(ikey_compare(u, buf_slice(&a), buf_slice(&b)), 0); /* newer first */
	ck_assert_int_lt(ikey_compare(u, buf_slice(&a), buf_slice(&c)), 0); /* value before deletion */
	ck_assert_int_lt(ikey_compare(u, buf_slice(&b), buf_slice(&d)), 0); /* user key first */
	struct parsed_ikey p;
	ck_assert(ikey_parse(buf_slice(&c), &p));
	ck_assert(slice_equal(p.user_key, slice_from_str("foo")));
	ck_assert_uint_eq(p.seq, 100);
	ck_assert_int_eq(p.type, IKEY_TYPE_DELETION);
	ck_assert(!ikey_parse(slice_make("short", 5), &p));
	char bad[9] = "kxxxxxxx";
	encode_fixed64(bad + 1, ikey_pack_tag(5, 7)); /* unknown type 7 */
	ck_assert(!ikey_parse(slice_make(bad, 9), &p));
	struct buf mx = ik("k", IKEY_SEQ_MAX, IKEY_TYPE_VALUE);
	ck_assert(ikey_parse(buf_slice(&mx), &p));
	ck_assert_uint_eq(p.seq, IKEY_SEQ_MAX);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&d);
	buf_free(&mx);
}
END_TEST

START_TEST(internal_key_separator_and_successor)
{
	struct ikey_comparator ic;
	ikey_comparator_init(&ic, comparator_bytewise());
	const struct comparator *c = &ic.base;
	/* shortened user key gets the earliest tag and stays in range */
	struct buf s = ik("foo", 100, IKEY_TYPE_VALUE);
	struct buf l = ik("hello", 200, IKEY_TYPE_VALUE);
	struct buf orig = ik("foo", 100, IKEY_TYPE_VALUE);
	ck_assert_ok(c->shorten_separator(c, &s, buf_slice(&l)));
	struct buf want = ik("g", IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK);
	ck_assert(slice_equal(buf_slice(&s), buf_slice(&want)));
	ck_assert_int_le(c->compare(c, buf_slice(&orig), buf_slice(&s)), 0);
	ck_assert_int_lt(c->compare(c, buf_slice(&s), buf_slice(&l)), 0);
	buf_free(&s);
	buf_free(&want);
	/* same user key: unchanged */
	s = ik("foo", 100, IKEY_TYPE_VALUE);
	struct buf l2 = ik("foo", 99, IKEY_TYPE_VALUE);
	ck_assert_ok(c->shorten_separator(c, &s, buf_slice(&l2)));
	ck_assert(slice_equal(buf_slice(&s), buf_slice(&orig)));
	buf_free(&s);
	/* successor */
	s = ik("foo", 100, IKEY_TYPE_VALUE);
	ck_assert_ok(c->short_successor(c, &s));
	want = ik("g", IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK);
	ck_assert(slice_equal(buf_slice(&s), buf_slice(&want)));
	buf_free(&s);
	buf_free(&want);
	buf_free(&l);
	buf_free(&l2);
	buf_free(&orig);
}
END_TEST

/* ---- file names and errors ---- */

START_TEST(filenames_roundtrip_and_reject)
{
	char p[FNAME_MAX];
	fname_log(p, "/db", 7);
	ck_assert_str_eq(p, "/db/000007.log");
	fname_table(p, "/db", 1234567);
	ck_assert_str_eq(p, "/db/1234567.ldb");
	fname_manifest(p, "/db", 3);
	ck_assert_str_eq(p, "/db/MANIFEST-000003");
	fname_temp(p, "/db", 9);
	ck_assert_str_eq(p, "/db/000009.dbtmp");

	struct { const char *name; uint64_t num; enum file_type type; } good[] = {
		{ "100.log", 100, FILE_LOG },
		{ "0.log", 0, FILE_LOG },
		{ "0.sst", 0, FILE_TABLE },
		{ "0.ldb", 0, FILE_TABLE },
		{ "CURRENT", 0, FILE_CURRENT },
		{ "LOCK", 0, FILE_LOCK },
		{ "MANIFEST-2", 2, FILE_MANIFEST },
		{ "MANIFEST-7", 7, FILE_MANIFEST },
		{ "LOG", 0, FILE_INFO_LOG },
		{ "LOG.old", 0, FILE_INFO_LOG },
		{ "18446744073709551615.log", UINT64_MAX, FILE_LOG },
		{ "000009.dbtmp", 9, FILE_TEMP },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t n;
		enum file_type t;
		ck_assert_msg(fname_parse(good[i].name, &n, &t), "%s", good[i].name);
		ck_assert_uint_eq(n, good[i].num);
		ck_assert_int_eq(t, good[i].type);
	}
	const char *bad[] = {
		"", "foo", "foo-dx-100.log", ".log", "", "manifest", "CURREN", "CURRENTX",
		"MANIFES", "MANIFEST", "MANIFEST-", "XMANIFEST-3", "MANIFEST-3x", "LOC", "LOCKx",
		"LO", "LOGx", "18446744073709551616.log", "184467440737095516150.log", "100",
		"100.", "100.lop",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t n;
		enum file_type t;
		ck_assert_msg(!fname_parse(bad[i], &n, &t), "%s", bad[i]);
	}
}
END_TEST

START_TEST(errors_have_codes_and_thread_local_messages)
{
	ck_assert_int_eq(err_set(SHALE_ECORRUPT, "%s: bad at %d", "x.ldb", 40960), SHALE_ECORRUPT);
	ck_assert_str_eq(shale_errmsg(), "corruption: x.ldb: bad at 40960");
	ck_assert_int_eq(err_errno(ENOSPC, "write", "/db/1.log"), SHALE_ENOSPC);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "/db/1.log"));
	ck_assert_int_eq(err_errno(EIO, "fsync", "/db/2.log"), SHALE_EIO);
	ck_assert_int_eq(err_errno(ENOMEM, "x", "y"), SHALE_ENOMEM);
	int codes[] = { SHALE_OK, SHALE_NOTFOUND, SHALE_ECORRUPT, SHALE_EIO, SHALE_EINVAL,
	                SHALE_ENOTSUP, SHALE_EBUSY, SHALE_ENOMEM, SHALE_ENOSPC, SHALE_ECLOSED };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_ptr_nonnull(shale_strerror(codes[i]));
		ck_assert_str_ne(shale_strerror(codes[i]), "unknown error code");
	}
	ck_assert_str_eq(shale_strerror(-99), "unknown error code");
	shale_free(NULL);
}
END_TEST

static void *other_thread(void *arg)
{
	(void)arg;
	err_set(SHALE_EIO, "message from another thread");
	return NULL;
}

START_TEST(error_message_not_clobbered_by_other_thread)
{
	err_set(SHALE_EINVAL, "mine");
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	pthread_join(t, NULL);
	ck_assert_str_eq(shale_errmsg(), "invalid argument: mine");
}
END_TEST

/* Every message begins with its code's kind, the words shale_strerror gives,
 * whichever way it was set. */
START_TEST(error_messages_begin_with_their_kind)
{
	int codes[] = { SHALE_ECORRUPT, SHALE_EIO, SHALE_EINVAL, SHALE_ENOTSUP, SHALE_EBUSY,
	                SHALE_ENOMEM, SHALE_ENOSPC, SHALE_ECLOSED };
	char want[128];
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(want, sizeof(want), "%s: ", shale_strerror(codes[i]));
		ck_assert_int_eq(err_set(codes[i], "%s: detail", "f.ldb"), codes[i]);
		ck_assert_msg(strncmp(shale_errmsg(), want, strlen(want)) == 0, "%d: %s", codes[i], shale_errmsg());
		ck_assert_ptr_nonnull(strstr(shale_errmsg(), "f.ldb: detail"));
	}
	struct { int errnum, code; } sys[] = {
		{ ENOSPC, SHALE_ENOSPC }, { EDQUOT, SHALE_ENOSPC }, { ENOMEM, SHALE_ENOMEM },
		{ EIO, SHALE_EIO }, { EACCES, SHALE_EIO },
	};
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		ck_assert_int_eq(err_errno(sys[i].errnum, "write", "/db/1.log"), sys[i].code);
		snprintf(want, sizeof(want), "%s: /db/1.log: write: ", shale_strerror(sys[i].code));
		ck_assert_msg(strncmp(shale_errmsg(), want, strlen(want)) == 0, "%s", shale_errmsg());
	}
	ck_assert_int_eq(err_nomem("arena block"), SHALE_ENOMEM);
	ck_assert_str_eq(shale_errmsg(), "out of memory: arena block");
}
END_TEST

/* ---- iterator cleanups ---- */

static char cleanup_order[16];
static int cleanups_run;

static void record_cleanup(void *a, void *b)
{
	(void)b;
	cleanup_order[cleanups_run++] = *(const char *)a;
}

/* Cleanups run newest first; one registered "last" runs after every one
 * registered before it and every ordinary one registered after it. */
START_TEST(iterator_cleanups_run_newest_first_and_last_ones_last)
{
	static const char *names = "ABCDEFG";
	for (int shape = 0; shape < 3; shape++) {
		struct iter *it = iter_empty(0);
		ck_assert_ptr_nonnull(it);
		cleanups_run = 0;
		memset(cleanup_order, 0, sizeof(cleanup_order));
		const char *want;
		if (shape == 0) {
			/* last first of all: it just takes the inline slot */
			ck_assert_ok(iter_register_cleanup_last(it, record_cleanup, (void *)&names[0], NULL));
			ck_assert_ok(iter_register_cleanup(it, record_cleanup, (void *)&names[1], NULL));
			want = "BA";
		} else if (shape == 1) {
			ck_assert_ok(iter_register_cleanup(it, record_cleanup, (void *)&names[0], NULL));
			ck_assert_ok(iter_register_cleanup(it, record_cleanup, (void *)&names[1], NULL));
			ck_assert_ok(iter_register_cleanup_last(it, record_cleanup, (void *)&names[2], NULL));
			ck_assert_ok(iter_register_cleanup(it, record_cleanup, (void *)&names[3], NULL));
			want = "DBAC";
		} else {
			ck_assert_ok(iter_register_cleanup(it, record_cleanup, (void *)&names[0], NULL));
			ck_assert_ok(iter_register_cleanup_last(it, record_cleanup, (void *)&names[1], NULL));
			ck_assert_ok(iter_register_cleanup(it, record_cleanup, (void *)&names[2], NULL));
			ck_assert_ok(iter_register_cleanup_last(it, record_cleanup, (void *)&names[3], NULL));
			ck_assert_ok(iter_register_cleanup(it, record_cleanup, (void *)&names[4], NULL));
			want = "ECABD";
		}
		iter_destroy(it);
		ck_assert_str_eq(cleanup_order, want);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("coding");
	tcase_add_test(tc, fixed_roundtrip_is_little_endian);
	tcase_add_test(tc, varint32_roundtrip_all_widths);
	tcase_add_test(tc, varint64_roundtrip_all_widths);
	tcase_add_test(tc, varint_malformed_and_truncated_rejected);
	tcase_add_test(tc, lenprefixed_roundtrip);
	suite_add_tcase(s, tc);

	tc = tcase_create("crc32c");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, crc32c_standard_vectors);
	tcase_add_test(tc, crc32c_extend_matches_whole);
	tcase_add_test(tc, crc32c_hw_and_sw_agree_every_length_and_alignment);
	tcase_add_test(tc, crc32c_mask_roundtrip_and_differs);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash_arena");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hash_matches_leveldb_including_high_bytes);
	tcase_add_test(tc, hash64_mixes_sequential_keys);
	tcase_add_test(tc, arena_many_allocations_keep_contents_and_alignment);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_test(tc, bytes_compare_agrees_with_memcmp);
	tcase_add_test(tc, bytewise_order_and_shortening);
	tcase_add_test(tc, internal_key_order_and_parse);
	tcase_add_test(tc, internal_key_separator_and_successor);
	tcase_add_test(tc, filenames_roundtrip_and_reject);
	tcase_add_test(tc, errors_have_codes_and_thread_local_messages);
	tcase_add_test(tc, error_message_not_clobbered_by_other_thread);
	tcase_add_test(tc, error_messages_begin_with_their_kind);
	tcase_add_test(tc, iterator_cleanups_run_newest_first_and_last_ones_last);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
