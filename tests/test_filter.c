/* Bloom filters and the filter block: LevelDB's hash and probe layout,
 * false-positive rates, the per-2-KiB filter block, user-key filtering of
 * internal keys, and the reader's handling of odd blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/hash.h"
#include "lib/util/ikey.h"
#include "sstable/bloom.h"
#include "sstable/filter_block.h"
#include "shale.h"
#include "tests/testutil.h"

static struct slice int_key(char *buf, uint32_t i)
{
	encode_fixed32(buf, i);
	return slice_make(buf, 4);
}

START_TEST(bloom_hash_matches_leveldb_vectors)
{
	/* LevelDB's util/hash_test.cc vectors; the 1-3 trailing bytes >= 0x80
	 * must be added unsigned */
	static const unsigned char d1[] = { 0x62 };
	static const unsigned char d2[] = { 0xc3, 0x97 };
	static const unsigned char d3[] = { 0xe2, 0x99, 0xa5 };
	static const unsigned char d4[] = { 0xe1, 0x80, 0xb9, 0x32 };
	ck_assert_uint_eq(hash32("", 0, 0xbc9f1d34), 0xbc9f1d34u);
	ck_assert_uint_eq(hash32(d1, 1, 0xbc9f1d34), 0xef1345c4u);
	ck_assert_uint_eq(hash32(d2, 2, 0xbc9f1d34), 0x5b663814u);
	ck_assert_uint_eq(hash32(d3, 3, 0xbc9f1d34), 0x323c078fu);
	ck_assert_uint_eq(hash32(d4, 4, 0xbc9f1d34), 0xed21633au);
	ck_assert_uint_eq(bloom_hash(slice_make(d2, 2)), 0x5b663814u);
}
END_TEST

START_TEST(bloom_probe_count_follows_bits)
{
	ck_assert_int_eq(bloom_num_probes(1), 1);
	ck_assert_int_eq(bloom_num_probes(2), 1);
	ck_assert_int_eq(bloom_num_probes(10), 6);
	ck_assert_int_eq(bloom_num_probes(20), 13);
	ck_assert_int_eq(bloom_num_probes(100), 30);
	struct buf f = BUF_INIT;
	uint32_t h = bloom_hash(slice_from_str("x"));
	ck_assert_ok(bloom_create_filter(10, &h, 1, &f));
	/* at least 64 bits, then k */
	ck_assert_uint_eq(f.len, 9);
	ck_assert_int_eq(f.data[8], 6);
	buf_free(&f);
}
END_TEST

START_TEST(bloom_empty_and_short_filters)
{
	struct buf f = BUF_INIT;
	ck_assert_ok(bloom_create_filter(10, NULL, 0, &f));
	ck_assert(!bloom_may_match(slice_from_str("hello"), buf_slice(&f)));
	ck_assert(!bloom_may_match(slice_from_str(""), buf_slice(&f)));
	/* shorter than 2 bytes: matches nothing */
	ck_assert(!bloom_may_match(slice_from_str("hello"), slice_make("\x06", 1)));
	ck_assert(!bloom_may_match(slice_from_str("hello"), slice_make("", 0)));
	/* k > 30: a format we do not know, so anything may match */
	ck_assert(bloom_may_match(slice_from_str("hello"), slice_make("\0\0\0\0\x1f", 5)));
	buf_free(&f);
}
END_TEST

START_TEST(bloom_small_sets)
{
	uint32_t h[2] = { bloom_hash(slice_from_str("hello")), bloom_hash(slice_from_str("world")) };
	struct buf f = BUF_INIT;
	ck_assert_ok(bloom_create_filter(10, h, 2, &f));
	ck_assert(bloom_may_match(slice_from_str("hello"), buf_slice(&f)));
	ck_assert(bloom_may_match(slice_from_str("world"), buf_slice(&f)));
	ck_assert(!bloom_may_match(slice_from_str("x"), buf_slice(&f)));
	ck_assert(!bloom_may_match(slice_from_str("foo"), buf_slice(&f)));
	buf_free(&f);
}
END_TEST

/* Builds a filter over n keys, checks every one matches, and returns the
 * false-positive rate over 10,000 keys not in the set. */
static double measure_fp(uint32_t n, int random_keys, uint64_t seed, size_t *filter_bytes)
{
	uint32_t *hashes = calloc(n, sizeof(*hashes));
	ck_assert_ptr_nonnull(hashes);
	struct rng r;
	rng_seed(&r, seed);
	char kb[16];
	for (uint32_t i = 0; i < n; i++) {
		if (random_keys) {
			encode_fixed64(kb, rng_next(&r) | 1); /* odd: members */
			hashes[i] = bloom_hash(slice_make(kb, 8));
		} else {
			hashes[i] = bloom_hash(int_key(kb, i));
		}
	}
	struct buf f = BUF_INIT;
	ck_assert_ok(bloom_create_filter(10, hashes, n, &f));
	*filter_bytes = f.len;
	rng_seed(&r, seed);
	for (uint32_t i = 0; i < n; i++) {
		struct slice k;
		if (random_keys) {
			encode_fixed64(kb, rng_next(&r) | 1);
			k = slice_make(kb, 8);
		} else {
			k = int_key(kb, i);
		}
		ck_assert_msg(bloom_may_match(k, buf_slice(&f)), "member %u missed", i);
	}
	int hits = 0;
	for (uint32_t i = 0; i < 10000; i++) {
		struct slice k;
		if (random_keys) {
			encode_fixed64(kb, rng_next(&r) & ~(uint64_t)1); /* even: non-members */
			k = slice_make(kb, 8);
		} else {
			k = int_key(kb, i + 1000000000u);
		}
		hits += bloom_may_match(k, buf_slice(&f));
	}
	buf_free(&f);
	free(hashes);
	return hits / 10000.0;
}

START_TEST(bloom_false_positive_rate_is_low)
{
	static const uint32_t sizes[] = { 10000, 30000, 100000, 1000000 };
	for (int random_keys = 0; random_keys < 2; random_keys++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t bytes;
			double rate = measure_fp(sizes[i], random_keys, 42 + i, &bytes);
			printf("bloom 10 bits/key, %7u %s keys (%zu bytes): false positives %.2f%%\n",
			       sizes[i], random_keys ? "random" : "sequential", bytes, rate * 100);
			ck_assert_msg(rate <= 0.02, "false-positive rate %.4f for %u keys", rate,
			              sizes[i]);
		}
	}
}
END_TEST

/* LevelDB's probe sequence (32-bit double hashing, then mod the filter's
 * bit count) resonates with some round filter sizes: 1.5 and 3 million
 * bits measure about 2%. The format fixes the algorithm, so this test only
 * pins that the spike stays what LevelDB's own filters show. */
START_TEST(bloom_false_positive_rate_at_resonant_sizes)
{
	static const uint32_t sizes[] = { 150000, 300000 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t bytes;
		double rate = measure_fp(sizes[i], 1, 99 + i, &bytes);
		printf("bloom 10 bits/key, %7u random keys (%zu bytes): false positives %.2f%%\n",
		       sizes[i], bytes, rate * 100);
		ck_assert_msg(rate <= 0.025, "false-positive rate %.4f for %u keys", rate, sizes[i]);
	}
}
END_TEST

START_TEST(bloom_varying_lengths_like_leveldb)
{
	/* LevelDB's bloom_test: filters of 1..10000 keys stay near 1% */
	int mediocre = 0, good = 0;
	for (uint32_t n = 1; n <= 10000; n += n < 10 ? 1 : n < 100 ? 10 : n < 1000 ? 100 : 1000) {
		size_t bytes;
		double rate = measure_fp(n, 0, 7, &bytes);
		ck_assert_uint_le(bytes, (n * 10 / 8) + 40);
		ck_assert_msg(rate <= 0.02, "rate %.4f at %u keys", rate, n);
		if (rate > 0.0125)
			mediocre++;
		else
			good++;
	}
	ck_assert_int_le(mediocre, good / 5);
}
END_TEST

/* ---- filter block ---- */

static struct slice finish(struct filter_block_builder *fb)
{
	struct slice s;
	ck_assert_ok(filter_block_builder_finish(fb, 9000, &s));
	return s;
}

START_TEST(filter_block_empty)
{
	struct filter_block_builder fb;
	filter_block_builder_init(&fb, 10, 0);
	struct slice s = finish(&fb);
	ck_assert_uint_eq(s.size, 5);
	ck_assert(memcmp(s.data, "\0\0\0\0\x0b", 5) == 0);
	struct filter_block_reader r;
	ck_assert_ok(filter_block_reader_init(&r, s, 0, "t", 0));
	ck_assert(filter_block_may_match(&r, 0, slice_from_str("foo")));
	ck_assert(filter_block_may_match(&r, 100000, slice_from_str("foo")));
	filter_block_builder_free(&fb);
}
END_TEST

START_TEST(filter_block_single_chunk)
{
	struct filter_block_builder fb;
	filter_block_builder_init(&fb, 10, 0);
	ck_assert_ok(filter_block_builder_start_block(&fb, 100));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("foo")));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("bar")));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("box")));
	ck_assert_ok(filter_block_builder_start_block(&fb, 200));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("box")));
	ck_assert_ok(filter_block_builder_start_block(&fb, 300));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("hello")));
	struct slice s = finish(&fb);
	struct filter_block_reader r;
	ck_assert_ok(filter_block_reader_init(&r, s, 0, "t", 0));
	ck_assert(filter_block_may_match(&r, 100, slice_from_str("foo")));
	ck_assert(filter_block_may_match(&r, 100, slice_from_str("bar")));
	ck_assert(filter_block_may_match(&r, 100, slice_from_str("box")));
	ck_assert(filter_block_may_match(&r, 100, slice_from_str("hello")));
	ck_assert(!filter_block_may_match(&r, 100, slice_from_str("missing")));
	ck_assert(!filter_block_may_match(&r, 100, slice_from_str("other")));
	filter_block_builder_free(&fb);
}
END_TEST

/* One filter for every block of a table: the keys of all blocks in it,
 * base_lg the smallest >= 11 whose region holds every offset before the
 * filter block, read by the per-region rule as LevelDB reads it. */
START_TEST(filter_block_whole_table)
{
	static const struct { uint64_t at; int lg; } cases[] = {
		{ 0, 11 }, { 2047, 11 }, { 2048, 12 }, { 9000, 14 }, { 1u << 21, 22 }, { 3ull << 40, 42 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct filter_block_builder fb;
		filter_block_builder_init_whole(&fb, 10, 0);
		ck_assert_ok(filter_block_builder_start_block(&fb, 0));
		ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("foo")));
		ck_assert_ok(filter_block_builder_start_block(&fb, 5000));
		ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("bar")));
		ck_assert_ok(filter_block_builder_start_block(&fb, 70000));
		ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("hello")));
		struct slice s;
		ck_assert_ok(filter_block_builder_finish(&fb, cases[c].at, &s));
		ck_assert_int_eq((unsigned char)s.data[s.size - 1], cases[c].lg);
		struct filter_block_reader r;
		ck_assert_ok(filter_block_reader_init(&r, s, 0, "t", 0));
		ck_assert_uint_eq(r.num, 1);
		ck_assert(filter_block_is_whole(&r, cases[c].at));
		ck_assert(!filter_block_is_whole(&r, (uint64_t)1 << cases[c].lg));
		for (uint64_t off = 0; off < cases[c].at && off < 100000; off += 1000) {
			ck_assert(filter_block_may_match(&r, off, slice_from_str("foo")));
			ck_assert(filter_block_may_match(&r, off, slice_from_str("bar")));
			ck_assert(filter_block_may_match(&r, off, slice_from_str("hello")));
			ck_assert(!filter_block_may_match(&r, off, slice_from_str("missing")));
		}
		filter_block_builder_free(&fb);
	}
	/* no keys: one empty filter, which matches nothing */
	struct filter_block_builder fb;
	filter_block_builder_init_whole(&fb, 10, 0);
	struct slice s;
	ck_assert_ok(filter_block_builder_finish(&fb, 100, &s));
	struct filter_block_reader r;
	ck_assert_ok(filter_block_reader_init(&r, s, 0, "t", 0));
	ck_assert(filter_block_is_whole(&r, 100));
	ck_assert(!filter_block_may_match(&r, 0, slice_from_str("foo")));
	filter_block_builder_free(&fb);
}
END_TEST

START_TEST(filter_block_multi_chunk)
{
	struct filter_block_builder fb;
	filter_block_builder_init(&fb, 10, 0);
	ck_assert_ok(filter_block_builder_start_block(&fb, 0));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("foo")));
	ck_assert_ok(filter_block_builder_start_block(&fb, 2000));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("bar")));
	ck_assert_ok(filter_block_builder_start_block(&fb, 3100));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("box")));
	ck_assert_ok(filter_block_builder_start_block(&fb, 9000));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("box")));
	ck_assert_ok(filter_block_builder_add_key(&fb, slice_from_str("hello")));
	struct slice s = finish(&fb);
	struct filter_block_reader r;
	ck_assert_ok(filter_block_reader_init(&r, s, 0, "t", 0));
	ck_assert_uint_eq(r.num, 5);
	/* first filter: blocks at 0 and 2000 */
	ck_assert(filter_block_may_match(&r, 0, slice_from_str("foo")));
	ck_assert(filter_block_may_match(&r, 2000, slice_from_str("bar")));
	ck_assert(!filter_block_may_match(&r, 0, slice_from_str("box")));
	ck_assert(!filter_block_may_match(&r, 0, slice_from_str("hello")));
	/* second filter: the block at 3100 */
	ck_assert(filter_block_may_match(&r, 3100, slice_from_str("box")));
	ck_assert(!filter_block_may_match(&r, 3100, slice_from_str("foo")));
	ck_assert(!filter_block_may_match(&r, 3100, slice_from_str("bar")));
	ck_assert(!filter_block_may_match(&r, 3100, slice_from_str("hello")));
	/* third filter is empty */
	ck_assert(!filter_block_may_match(&r, 4100, slice_from_str("foo")));
	ck_assert(!filter_block_may_match(&r, 4100, slice_from_str("box")));
	/* last filter: the block at 9000 */
	ck_assert(filter_block_may_match(&r, 9000, slice_from_str("box")));
	ck_assert(filter_block_may_match(&r, 9000, slice_from_str("hello")));
	ck_assert(!filter_block_may_match(&r, 9000, slice_from_str("foo")));
	ck_assert(!filter_block_may_match(&r, 9000, slice_from_str("bar")));
	filter_block_builder_free(&fb);
}
END_TEST

START_TEST(filter_block_keys_internal_keys_by_user_key)
{
	struct filter_block_builder fb;
	filter_block_builder_init(&fb, 10, 1);
	struct buf k = BUF_INIT;
	ck_assert_ok(ikey_append(&k, slice_from_str("apple\x80"), 100, IKEY_TYPE_VALUE));
	ck_assert_ok(filter_block_builder_add_key(&fb, buf_slice(&k)));
	struct slice s = finish(&fb);
	struct filter_block_reader r;
	ck_assert_ok(filter_block_reader_init(&r, s, 1, "t", 0));
	buf_clear(&k);
	ck_assert_ok(ikey_append(&k, slice_from_str("apple\x80"), 7, IKEY_TYPE_DELETION));
	ck_assert(filter_block_may_match(&r, 0, buf_slice(&k)));
	buf_clear(&k);
	ck_assert_ok(ikey_append(&k, slice_from_str("pear"), 100, IKEY_TYPE_VALUE));
	ck_assert(!filter_block_may_match(&r, 0, buf_slice(&k)));
	/* the filter itself holds the user key's bits */
	struct slice filter = slice_make(s.data, decode_fixed32(s.data + s.size - 5));
	ck_assert(bloom_may_match(slice_from_str("apple\x80"), filter));
	buf_free(&k);
	filter_block_builder_free(&fb);
}
END_TEST

/* A policy whose filter is its keys, each as one length byte and the bytes:
 * exact, so the test sees which keys each region's filter got. */
struct list_policy {
	struct filter_policy base;
	int calls;
};

static const char *list_name(const struct filter_policy *p)
{
	(void)p;
	return "test.List";
}

static int list_create(const struct filter_policy *p, const struct slice *keys, size_t n, struct buf *dst)
{
	((struct list_policy *)p)->calls++;
	for (size_t i = 0; i < n; i++) {
		int rc = buf_append_byte(dst, (char)keys[i].size);
		if (rc == 0)
			rc = buf_append(dst, keys[i].data, keys[i].size);
		if (rc)
			return rc;
	}
	return 0;
}

static int list_match(const struct filter_policy *p, struct slice key, struct slice filter)
{
	(void)p;
	for (size_t at = 0; at < filter.size;) {
		size_t n = (unsigned char)filter.data[at];
		if (slice_equal(slice_make(filter.data + at + 1, n), key))
			return 1;
		at += 1 + n;
	}
	return 0;
}

START_TEST(filter_block_with_a_policy_gets_each_regions_user_keys)
{
	struct list_policy lp = { { list_name, list_create, list_match }, 0 };
	struct filter_block_builder fb;
	filter_block_builder_init_policy(&fb, &lp.base, 1);
	struct buf k = BUF_INIT;
	const char *keys[] = { "apple", "apple", "", "fig", "kiwi" };
	const uint64_t blocks[] = { 0, 0, 100, 2100, 9000 };
	for (int i = 0; i < 5; i++) {
		ck_assert_ok(filter_block_builder_start_block(&fb, blocks[i]));
		buf_clear(&k);
		ck_assert_ok(ikey_append(&k, slice_from_str(keys[i]), 10 + (uint64_t)i, IKEY_TYPE_VALUE));
		ck_assert_ok(filter_block_builder_add_key(&fb, buf_slice(&k)));
	}
	struct slice s = finish(&fb);
	/* three regions with keys (0, 1, 4); 2 and 3 are empty and call nothing */
	ck_assert_int_eq(lp.calls, 3);
	struct filter_block_reader r;
	ck_assert_ok(filter_block_reader_init(&r, s, 1, "t", 0));
	ck_assert_uint_eq(r.num, 5);
	/* the first filter holds the user keys, repeats included, tags stripped */
	uint32_t f1 = decode_fixed32(s.data + decode_fixed32(s.data + s.size - 5) + 4);
	ck_assert_uint_eq(f1, 6 + 6 + 1);
	ck_assert(memcmp(s.data, "\x05" "apple" "\x05" "apple" "\x00", f1) == 0);
	r.policy = &lp.base;
	buf_clear(&k);
	ck_assert_ok(ikey_append(&k, slice_from_str("apple"), 99, IKEY_TYPE_VALUE));
	ck_assert(filter_block_may_match(&r, 0, buf_slice(&k)));
	ck_assert(!filter_block_may_match(&r, 2100, buf_slice(&k)));
	buf_clear(&k);
	ck_assert_ok(ikey_append(&k, slice_from_str("fig"), 99, IKEY_TYPE_VALUE));
	ck_assert(filter_block_may_match(&r, 2100, buf_slice(&k)));
	ck_assert(!filter_block_may_match(&r, 0, buf_slice(&k)));
	ck_assert(!filter_block_may_match(&r, 4200, buf_slice(&k))); /* an empty filter */
	buf_clear(&k);
	ck_assert_ok(ikey_append(&k, slice_from_str("kiwi"), 99, IKEY_TYPE_VALUE));
	ck_assert(filter_block_may_match(&r, 9000, buf_slice(&k)));
	buf_free(&k);
	filter_block_builder_free(&fb);
}
END_TEST

START_TEST(filter_block_odd_contents)
{
	struct filter_block_reader r;
	/* too short, array offset past the end, absurd base lg */
	ck_assert_int_eq(filter_block_reader_init(&r, slice_make("\0\0\0\x0b", 4), 0, "/d/x.ldb", 99),
	                 SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "/d/x.ldb"));
	ck_assert_ptr_nonnull(strstr(err_msg(), "99"));
	ck_assert_int_eq(filter_block_reader_init(&r, slice_make("\x01\0\0\0\x0b", 5), 0, "t", 0),
	                 SHALE_ECORRUPT);
	ck_assert_int_eq(filter_block_reader_init(&r, slice_make("\0\0\0\0\x50", 5), 0, "t", 0),
	                 SHALE_ECORRUPT);
	/* a filter offset pointing past the filters: may match */
	char b[32];
	memset(b, 0, sizeof(b));
	encode_fixed32(b + 0, 0);   /* filter 0 starts at 0 ... */
	encode_fixed32(b + 4, 200); /* filter 1 at 200: outside */
	encode_fixed32(b + 8, 0);   /* array offset */
	b[12] = 11;
	ck_assert_ok(filter_block_reader_init(&r, slice_make(b, 13), 0, "t", 0));
	ck_assert_uint_eq(r.num, 2);
	ck_assert(filter_block_may_match(&r, 0, slice_from_str("k")));
	ck_assert(filter_block_may_match(&r, 2048, slice_from_str("k")));
	/* past the last filter: may match */
	ck_assert(filter_block_may_match(&r, 1u << 20, slice_from_str("k")));
}
END_TEST

static Suite *filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("bloom");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bloom_hash_matches_leveldb_vectors);
	tcase_add_test(tc, bloom_probe_count_follows_bits);
	tcase_add_test(tc, bloom_empty_and_short_filters);
	tcase_add_test(tc, bloom_small_sets);
	tcase_add_test(tc, bloom_false_positive_rate_is_low);
	tcase_add_test(tc, bloom_false_positive_rate_at_resonant_sizes);
	tcase_add_test(tc, bloom_varying_lengths_like_leveldb);
	suite_add_tcase(s, tc);
	TCase *fc = tcase_create("filter_block");
	tcase_add_test(fc, filter_block_empty);
	tcase_add_test(fc, filter_block_single_chunk);
	tcase_add_test(fc, filter_block_multi_chunk);
	tcase_add_test(fc, filter_block_whole_table);
	tcase_add_test(fc, filter_block_keys_internal_keys_by_user_key);
	tcase_add_test(fc, filter_block_with_a_policy_gets_each_regions_user_keys);
	tcase_add_test(fc, filter_block_odd_contents);
	suite_add_tcase(s, fc);
	return s;
}

int main(void)
{
	return tu_run(filter_suite());
}
