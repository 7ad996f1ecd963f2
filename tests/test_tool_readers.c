/* The CLI's table reader (tools/readers.c, used by `shale verify` and
 * `shale dump-sst`): every problem reported with its offset, reading going
 * on past it. Tables are written by the real builder, or assembled here
 * block by block to hold what the builder never writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shale.h>

#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/env.h"
#include "lib/util/ikey.h"
#include "sstable/block_builder.h"
#include "sstable/compress.h"
#include "sstable/filter_block.h"
#include "sstable/format.h"
#include "sstable/table_builder.h"
#include "tests/testutil.h"
#include "tools/readers.h"

static char *dir;
static char path[4200];

static void setup(void)
{
	dir = tu_mkdtemp("tool-readers");
	snprintf(path, sizeof(path), "%s/000005.ldb", dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

/* What a walk reported. */
struct seen {
	int problems;
	uint64_t offset[16];
	char what[16][300];
	uint64_t entries;
	char keys[64][16]; /* user keys, in the order visited */
};

static void on_problem(void *arg, uint64_t offset, const char *what)
{
	struct seen *s = arg;
	if (s->problems < 16) {
		s->offset[s->problems] = offset;
		snprintf(s->what[s->problems], sizeof(s->what[0]), "%s", what);
	}
	s->problems++;
}

static void on_entry(void *arg, struct slice ikey, const struct parsed_ikey *p, struct slice value)
{
	struct seen *s = arg;
	(void)value;
	struct slice u = p ? p->user_key : ikey;
	if (s->entries < 64)
		snprintf(s->keys[s->entries], sizeof(s->keys[0]), "%.*s", (int)u.size, u.data);
	s->entries++;
}

static void walk(struct seen *s, struct table_summary *sum)
{
	memset(s, 0, sizeof(*s));
	struct table_visitor v = { on_entry, on_problem, s, 1 };
	ck_assert_int_eq(table_walk(path, &v, sum), 0);
}

static int reported(const struct seen *s, uint64_t offset, const char *text)
{
	for (int i = 0; i < s->problems && i < 16; i++)
		if (s->offset[i] == offset && strstr(s->what[i], text))
			return 1;
	return 0;
}

/* ---- a table assembled block by block ---- */

struct crafted {
	struct buf file;
	struct buf index; /* a block of (separator, handle) entries, built at the end */
	struct block_builder ib;
	struct block_handle filter;
	int has_filter;
};

static void craft_init(struct crafted *c)
{
	buf_init(&c->file);
	buf_init(&c->index);
	block_builder_init(&c->ib, 1);
	c->has_filter = 0;
}

static struct block_handle append_block(struct crafted *c, struct slice raw)
{
	struct block_handle h = { c->file.len, raw.size };
	ck_assert_ok(buf_append(&c->file, raw.data, raw.size));
	char trailer[BLOCK_TRAILER_LEN];
	trailer[0] = BLOCK_TYPE_NONE;
	uint32_t crc = crc32c_extend(crc32c_value(raw.data, raw.size), trailer, 1);
	encode_fixed32(trailer + 1, crc32c_mask(crc));
	ck_assert_ok(buf_append(&c->file, trailer, sizeof(trailer)));
	return h;
}

static void ikey_of(struct buf *b, const char *user, uint64_t seq)
{
	buf_clear(b);
	ck_assert_ok(ikey_append(b, slice_from_str(user), seq, IKEY_TYPE_VALUE));
}

/* A data block of the keys (user key i gets sequence seqs[i]), in the order
 * given, indexed under separator sep@sepseq. */
static struct block_handle data_block(struct crafted *c, const char *const *keys, const uint64_t *seqs, int n,
                                      const char *sep, uint64_t sepseq)
{
	struct block_builder bb;
	struct buf k = BUF_INIT, hv = BUF_INIT;
	struct slice raw;
	block_builder_init(&bb, 1);
	for (int i = 0; i < n; i++) {
		ikey_of(&k, keys[i], seqs[i]);
		ck_assert_ok(block_builder_add(&bb, buf_slice(&k), slice_from_str("v")));
	}
	ck_assert_ok(block_builder_finish(&bb, &raw));
	struct block_handle h = append_block(c, raw);
	ikey_of(&k, sep, sepseq);
	ck_assert_ok(block_handle_append(&hv, &h));
	ck_assert_ok(block_builder_add(&c->ib, buf_slice(&k), buf_slice(&hv)));
	block_builder_free(&bb);
	buf_free(&k);
	buf_free(&hv);
	return h;
}

/* A bloom filter of the given user keys for the data block at offset 0. */
static void filter_block(struct crafted *c, const char *const *keys, int n)
{
	struct filter_block_builder fb;
	struct buf k = BUF_INIT;
	struct slice raw;
	filter_block_builder_init(&fb, 10, 1);
	ck_assert_ok(filter_block_builder_start_block(&fb, 0));
	for (int i = 0; i < n; i++) {
		ikey_of(&k, keys[i], 1);
		ck_assert_ok(filter_block_builder_add_key(&fb, buf_slice(&k)));
	}
	ck_assert_ok(filter_block_builder_finish(&fb, c->file.len, &raw));
	c->filter = append_block(c, raw);
	c->has_filter = 1;
	filter_block_builder_free(&fb);
	buf_free(&k);
}

static void craft_finish(struct crafted *c)
{
	struct block_builder mb;
	struct buf hv = BUF_INIT;
	struct slice raw;
	block_builder_init(&mb, 1);
	if (c->has_filter) {
		ck_assert_ok(block_handle_append(&hv, &c->filter));
		ck_assert_ok(block_builder_add(&mb, slice_from_str(FILTER_META_KEY), buf_slice(&hv)));
	}
	ck_assert_ok(block_builder_finish(&mb, &raw));
	struct footer f;
	f.metaindex = append_block(c, raw);
	ck_assert_ok(block_builder_finish(&c->ib, &raw));
	f.index = append_block(c, raw);
	char footer[FOOTER_LEN];
	footer_encode(&f, footer);
	ck_assert_ok(buf_append(&c->file, footer, sizeof(footer)));
	tu_write_file(path, c->file.data, c->file.len);
	block_builder_free(&mb);
	block_builder_free(&c->ib);
	buf_free(&hv);
	buf_free(&c->file);
	buf_free(&c->index);
}

/* ---- tests ---- */

START_TEST(a_table_the_builder_wrote_reads_without_problems)
{
	struct ikey_comparator ic;
	ikey_comparator_init(&ic, comparator_bytewise());
	struct table_options opt = { .cmp = &ic.base, .internal_keys = 1, .block_size = 1024,
		.restart_interval = 16, .compression = SHALE_COMPRESSION_NONE, .bloom_bits_per_key = 10 };
	struct wfile *f;
	ck_assert_ok(env_open_write(env_posix_default(), path, &f));
	struct table_builder *b;
	ck_assert_ok(table_builder_create(&opt, f, path, &b));
	struct buf k = BUF_INIT;
	for (int i = 0; i < 2000; i++) {
		char u[16];
		snprintf(u, sizeof(u), "key%05d", i);
		ikey_of(&k, u, (uint64_t)i + 1);
		ck_assert_ok(table_builder_add(b, buf_slice(&k), slice_from_str("some value")));
	}
	ck_assert_ok(table_builder_finish(b));
	table_builder_destroy(b);
	ck_assert_ok(wfile_close(f));
	buf_free(&k);

	struct seen s;
	struct table_summary sum;
	walk(&s, &sum);
	ck_assert_int_eq(s.problems, 0);
	ck_assert_uint_eq(s.entries, 2000);
	ck_assert_uint_eq(sum.entries, 2000);
	ck_assert_uint_eq(sum.puts, 2000);
	ck_assert_uint_gt(sum.data_blocks, 10);
	ck_assert_uint_eq(sum.bad_blocks, 0);
	ck_assert_uint_eq(sum.blocks_by_codec[0], sum.data_blocks);
	ck_assert(sum.has_filter);
	ck_assert_str_eq(sum.filter_name, "leveldb.BuiltinBloomFilter2");
	ck_assert_uint_eq(sum.min_seq, 1);
	ck_assert_uint_eq(sum.max_seq, 2000);
	ck_assert_str_eq(s.keys[0], "key00000");
	table_summary_free(&sum);
}
END_TEST

START_TEST(keys_out_of_order_within_and_across_blocks_are_reported)
{
	struct crafted c;
	craft_init(&c);
	const char *k1[] = { "b", "a" };
	const uint64_t q1[] = { 1, 2 };
	const char *k2[] = { "a" }; /* not after the previous block's b */
	const uint64_t q2[] = { 5 };
	const char *k3[] = { "x", "y" };
	const uint64_t q3[] = { 6, 7 };
	data_block(&c, k1, q1, 2, "b", 1);
	struct block_handle h2 = data_block(&c, k2, q2, 1, "b", 0);
	data_block(&c, k3, q3, 2, "y", 7);
	craft_finish(&c);
	struct seen s;
	struct table_summary sum;
	walk(&s, &sum);
	ck_assert(reported(&s, 0, "entry at offset"));
	ck_assert(reported(&s, 0, "key 'a' @ 2 does not sort after 'b' @ 1"));
	ck_assert(reported(&s, h2.offset, "key 'a' @ 5 does not sort after 'a' @ 2"));
	ck_assert_uint_eq(s.entries, 5); /* every entry is still visited */
	ck_assert_str_eq(s.keys[4], "y");
	ck_assert_uint_eq(sum.bad_blocks, 2);
	table_summary_free(&sum);
}
END_TEST

START_TEST(an_index_key_that_does_not_separate_its_blocks_is_reported)
{
	struct crafted c;
	craft_init(&c);
	const char *k1[] = { "a", "m" };
	const uint64_t q1[] = { 1, 2 };
	const char *k2[] = { "x" };
	const uint64_t q2[] = { 3 };
	data_block(&c, k1, q1, 2, "c", 9); /* below the block's last key m */
	data_block(&c, k2, q2, 1, "x", 3);
	craft_finish(&c);
	struct seen s;
	struct table_summary sum;
	walk(&s, &sum);
	ck_assert_int_eq(s.problems, 1);
	ck_assert_msg(strstr(s.what[0], "index block: entry 0: key 'c' @ 9 sorts before 'm' @ 2"), "%s", s.what[0]);
	ck_assert_uint_eq(s.entries, 3);
	table_summary_free(&sum);
}
END_TEST

START_TEST(a_key_that_is_not_an_internal_key_is_reported)
{
	struct crafted c;
	craft_init(&c);
	struct block_builder bb;
	struct slice raw;
	block_builder_init(&bb, 1);
	ck_assert_ok(block_builder_add(&bb, slice_from_str("short"), slice_from_str("v")));
	ck_assert_ok(block_builder_finish(&bb, &raw));
	struct block_handle h = append_block(&c, raw);
	struct buf k = BUF_INIT, hv = BUF_INIT;
	ikey_of(&k, "z", 1);
	ck_assert_ok(block_handle_append(&hv, &h));
	ck_assert_ok(block_builder_add(&c.ib, buf_slice(&k), buf_slice(&hv)));
	craft_finish(&c);
	struct seen s;
	struct table_summary sum;
	walk(&s, &sum);
	ck_assert(reported(&s, 0, "'short' is not an internal key"));
	ck_assert_uint_eq(sum.bad_keys, 1);
	table_summary_free(&sum);
	block_builder_free(&bb);
	buf_free(&k);
	buf_free(&hv);
}
END_TEST

START_TEST(a_filter_that_misses_a_key_is_reported)
{
	struct crafted c;
	craft_init(&c);
	const char *keys[] = { "apple", "banana" };
	const uint64_t seqs[] = { 1, 1 };
	data_block(&c, keys, seqs, 2, "banana", 1);
	const char *filtered[] = { "apple" }; /* banana left out */
	filter_block(&c, filtered, 1);
	struct block_handle fh = c.filter;
	craft_finish(&c);
	struct seen s;
	struct table_summary sum;
	walk(&s, &sum);
	ck_assert_int_eq(s.problems, 1);
	ck_assert(reported(&s, fh.offset, "filter block: says 'banana' @ 1 is absent from the data block at offset 0"));
	table_summary_free(&sum);
}
END_TEST

START_TEST(a_damaged_block_is_reported_and_the_next_one_read)
{
	struct crafted c;
	craft_init(&c);
	const char *k1[] = { "a" }, *k2[] = { "b" }, *k3[] = { "c" };
	const uint64_t q[] = { 1 };
	data_block(&c, k1, q, 1, "a", 1);
	struct block_handle h2 = data_block(&c, k2, q, 1, "b", 1);
	data_block(&c, k3, q, 1, "c", 1);
	craft_finish(&c);
	char *d;
	size_t n = tu_read_file(path, &d);
	d[h2.offset + 2] ^= 0x20;
	tu_write_file(path, d, n);
	free(d);
	struct seen s;
	struct table_summary sum;
	walk(&s, &sum);
	ck_assert_int_eq(s.problems, 1);
	ck_assert(reported(&s, h2.offset, "checksum mismatch"));
	ck_assert_uint_eq(s.entries, 2);
	ck_assert_str_eq(s.keys[0], "a");
	ck_assert_str_eq(s.keys[1], "c");
	ck_assert_uint_eq(sum.bad_blocks, 1);
	table_summary_free(&sum);
}
END_TEST

START_TEST(a_bad_footer_or_index_is_reported)
{
	struct crafted c;
	craft_init(&c);
	const char *k1[] = { "a" };
	const uint64_t q[] = { 1 };
	data_block(&c, k1, q, 1, "a", 1);
	craft_finish(&c);
	char *d;
	size_t n = tu_read_file(path, &d);
	struct seen s;
	struct table_summary sum;
	/* a damaged magic number */
	d[n - 1] ^= 1;
	tu_write_file(path, d, n);
	walk(&s, &sum);
	ck_assert_int_eq(s.problems, 1);
	ck_assert(reported(&s, n - FOOTER_LEN, "footer: bad table magic number"));
	ck_assert(!sum.readable);
	table_summary_free(&sum);
	/* too short */
	tu_write_file(path, d, 10);
	walk(&s, &sum);
	ck_assert(reported(&s, 0, "too short to be a table"));
	table_summary_free(&sum);
	/* a damaged index block (just before the footer) */
	d[n - 1] ^= 1;
	d[n - FOOTER_LEN - BLOCK_TRAILER_LEN - 2] ^= 1;
	tu_write_file(path, d, n);
	walk(&s, &sum);
	ck_assert_int_eq(s.problems, 1);
	ck_assert_msg(strstr(s.what[0], "index block: block checksum mismatch"), "%s", s.what[0]);
	ck_assert_uint_eq(s.entries, 0);
	table_summary_free(&sum);
	free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tool_readers");
	TCase *tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_table_the_builder_wrote_reads_without_problems);
	tcase_add_test(tc, keys_out_of_order_within_and_across_blocks_are_reported);
	tcase_add_test(tc, an_index_key_that_does_not_separate_its_blocks_is_reported);
	tcase_add_test(tc, a_key_that_is_not_an_internal_key_is_reported);
	tcase_add_test(tc, a_filter_that_misses_a_key_is_reported);
	tcase_add_test(tc, a_damaged_block_is_reported_and_the_next_one_read);
	tcase_add_test(tc, a_bad_footer_or_index_is_reported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
