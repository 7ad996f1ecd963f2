/* The whole-table filter (sstable/table_filter.h): no false negatives, a
 * low false-positive rate, its block format checked, and a table that has
 * one: point lookups of absent keys read no data block, damage to it fails
 * the open, and a filter of an unknown format falls back to LevelDB's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/testing/env_fault.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/env.h"
#include "lib/util/error.h"
#include "lib/util/ikey.h"
#include "sstable/block.h"
#include "sstable/format.h"
#include "sstable/table.h"
#include "sstable/table_builder.h"
#include "sstable/table_filter.h"
#include "shale.h"
#include "tests/table_helpers.h"
#include "tests/testutil.h"

static void key_of(char *k, size_t cap, uint64_t i, size_t *len)
{
	*len = (size_t)snprintf(k, cap, "key-%010llu", (unsigned long long)i);
}

static struct table_filter build(struct table_filter_builder *b, struct buf *out, uint64_t from, uint64_t n,
                                 int bits)
{
	table_filter_builder_init(b, bits);
	for (uint64_t i = from; i < from + n; i++) {
		char k[32];
		size_t kl;
		key_of(k, sizeof(k), i, &kl);
		ck_assert_ok(table_filter_builder_add(b, slice_make(k, kl)));
		ck_assert_ok(table_filter_builder_add(b, slice_make(k, kl))); /* a repeat is skipped */
	}
	buf_init(out);
	ck_assert_ok(table_filter_builder_finish(b, out));
	struct table_filter f;
	ck_assert(table_filter_init(&f, buf_slice(out)));
	return f;
}

START_TEST(table_filter_has_no_false_negatives_and_few_positives)
{
	uint64_t sizes[] = { 0, 1, 10, 100, 1000, 10000, 100000 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct table_filter_builder b;
		struct buf out;
		struct table_filter f = build(&b, &out, 0, sizes[s], 10);
		ck_assert_uint_eq(b.n, sizes[s]);
		for (uint64_t i = 0; i < sizes[s]; i++) {
			char k[32];
			size_t kl;
			key_of(k, sizeof(k), i, &kl);
			tu_assert(table_filter_may_match(&f, table_filter_hash(slice_make(k, kl))), "key %llu missed",
			          (unsigned long long)i);
		}
		uint64_t fp = 0, probes = 10000;
		for (uint64_t i = 0; i < probes; i++) {
			char k[32];
			size_t kl;
			key_of(k, sizeof(k), 1000000000 + i, &kl);
			fp += (uint64_t)table_filter_may_match(&f, table_filter_hash(slice_make(k, kl)));
		}
		/* a blocked bloom filter at 10 bits/key: about 1%; a tiny one is
		 * one line (512 bits), nearly empty */
		ck_assert_msg(fp * 100 <= probes * 2, "%llu keys: %llu false positives in %llu", (unsigned long long)sizes[s],
		              (unsigned long long)fp, (unsigned long long)probes);
		table_filter_builder_free(&b);
		buf_free(&out);
	}
}
END_TEST

START_TEST(table_filter_format_is_checked)
{
	struct table_filter_builder b;
	struct buf out;
	build(&b, &out, 0, 500, 10);
	table_filter_builder_free(&b);
	struct table_filter f;
	/* the trailer: fixed32 lines, k, format 1 */
	ck_assert_uint_eq((unsigned char)out.data[out.len - 1], TABLE_FILTER_FORMAT);
	uint32_t lines = decode_fixed32(out.data + out.len - 6);
	ck_assert_uint_eq((uint64_t)lines * TABLE_FILTER_LINE + 6, out.len);
	ck_assert_int_eq(out.data[out.len - 2], 6);
	/* anything that does not add up is not used */
	ck_assert(!table_filter_init(&f, slice_make(out.data, 5)));
	ck_assert(!table_filter_init(&f, slice_make(out.data + 64, out.len - 64)));
	out.data[out.len - 1] = 2;
	ck_assert(!table_filter_init(&f, buf_slice(&out)));
	out.data[out.len - 1] = TABLE_FILTER_FORMAT;
	out.data[out.len - 2] = 0;
	ck_assert(!table_filter_init(&f, buf_slice(&out)));
	out.data[out.len - 2] = 31;
	ck_assert(!table_filter_init(&f, buf_slice(&out)));
	out.data[out.len - 2] = 6;
	encode_fixed32(out.data + out.len - 6, 0);
	ck_assert(!table_filter_init(&f, buf_slice(&out)));
	encode_fixed32(out.data + out.len - 6, lines);
	ck_assert(table_filter_init(&f, buf_slice(&out)));
	buf_free(&out);
}
END_TEST

/* ---- through a table ---- */

static char *dir;

/* A table of m with both filters (table_filter on). */
static char *write_with_table_filter(struct env *env, struct table_options *o, struct table_model *m, uint64_t num)
{
	default_opts(o, m);
	o->bloom_bits_per_key = 10;
	o->table_filter = 1;
	return write_table_file(env, dir, num, o, m, 0);
}

/* The handle of a metaindex entry of the file at path. */
static struct block_handle meta_handle(const char *path, const char *name)
{
	char *data = NULL;
	size_t n = tu_read_file(path, &data);
	struct footer f;
	ck_assert_ok(footer_decode(data + n - FOOTER_LEN, n, path, &f));
	struct slice mb = slice_make(data + f.metaindex.offset, f.metaindex.size);
	struct block_contents bc = { .data = mb };
	struct block *b;
	ck_assert_ok(block_create(&bc, path, f.metaindex.offset, &b));
	struct iter *it = block_iter_create(b, comparator_bytewise(), path);
	struct block_handle h = { 0, 0 };
	int found = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		if (slice_equal(iter_key(it), slice_from_str(name))) {
			struct slice v = iter_value(it);
			ck_assert(block_handle_decode(&v, &h));
			found = 1;
		}
	iter_destroy(it);
	block_destroy(b);
	free(data);
	ck_assert_msg(found, "%s has no %s", path, name);
	return h;
}

/* 1 when the metaindex of the file at path has an entry name. */
static int meta_has(const char *path, const char *name)
{
	char *data = NULL;
	size_t n = tu_read_file(path, &data);
	struct footer f;
	ck_assert_ok(footer_decode(data + n - FOOTER_LEN, n, path, &f));
	struct block_contents bc = { .data = slice_make(data + f.metaindex.offset, f.metaindex.size) };
	struct block *b;
	ck_assert_ok(block_create(&bc, path, f.metaindex.offset, &b));
	struct iter *it = block_iter_create(b, comparator_bytewise(), path);
	int found = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		found |= slice_equal(iter_key(it), slice_from_str(name));
	iter_destroy(it);
	block_destroy(b);
	free(data);
	return found;
}

static int open_table(struct env *env, const char *path, const struct table_options *o, struct table **t)
{
	struct rand_file *rf;
	uint64_t size;
	ck_assert_ok(env_file_size(env, path, &size));
	ck_assert_ok(env_open_rand(env, path, &rf));
	return table_open(o, rf, path, size, t);
}

START_TEST(absent_keys_read_no_data_block)
{
	dir = tu_mkdtemp("table-filter");
	struct env *fe;
	ck_assert_ok(fault_env_create(env_posix_default(), &fe));
	struct rng r;
	rng_seed(&r, 7);
	struct table_model m;
	table_model_make(&m, &r, 3000, 24, 1);
	struct table_options o;
	char *path = write_with_table_filter(fe, &o, &m, 9);
	/* both filters are in the metaindex: LevelDB's for LevelDB */
	meta_handle(path, FILTER_META_KEY);
	meta_handle(path, TABLE_FILTER_META_KEY);
	struct table *t;
	ck_assert_ok(open_table(fe, path, &o, &t));
	struct read_opts ro = { 1, 0 };
	fault_env_reset_counts(fe);
	/* absent keys: other user keys (distinct from every key of the model) */
	int absent = 0;
	for (int i = 0; i < 2000; i++) {
		char k[40];
		int kl = snprintf(k, sizeof(k), "\xfe\xfd-absent-%d", i);
		struct buf ik = BUF_INIT;
		ck_assert_ok(ikey_append(&ik, slice_make(k, (size_t)kl), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK));
		struct found fd = { 0, BUF_INIT, BUF_INIT };
		ck_assert_ok(table_get(t, &ro, buf_slice(&ik), on_found, &fd));
		absent += fd.called == 0;
		buf_free(&ik);
		buf_free(&fd.key);
		buf_free(&fd.value);
	}
	uint64_t reads = fault_env_count(fe, FAULT_READ, ".ldb");
	/* only false positives read a block: about 1% of 2000 */
	ck_assert_msg(reads <= 60, "%llu block reads for 2000 absent keys", (unsigned long long)reads);
	ck_assert_int_gt(absent, 1900);
	/* and every present key is found */
	for (size_t i = 0; i < m.n; i++) {
		struct found fd = { 0, BUF_INIT, BUF_INIT };
		ck_assert_ok(table_get(t, &ro, mkey(&m, i), on_found, &fd));
		ck_assert(fd.called && slice_equal(buf_slice(&fd.key), mkey(&m, i)));
		buf_free(&fd.key);
		buf_free(&fd.value);
	}
	table_close(t);
	free(path);
	table_model_free(&m);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(damaged_table_filter_fails_the_open_unknown_format_falls_back)
{
	dir = tu_mkdtemp("table-filter");
	struct env *env = env_posix_default();
	struct rng r;
	rng_seed(&r, 8);
	struct table_model m;
	table_model_make(&m, &r, 2000, 24, 1);
	struct table_options o;
	char *path = write_with_table_filter(env, &o, &m, 3);
	struct block_handle h = meta_handle(path, TABLE_FILTER_META_KEY);
	char *data = NULL;
	size_t n = tu_read_file(path, &data);
	/* a flipped bit: its checksum fails */
	data[h.offset + 3] ^= 0x01;
	tu_write_file(path, data, n);
	struct table *t;
	ck_assert_int_eq(open_table(env, path, &o, &t), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "checksum"));
	/* a format byte from the future, checksum made good: LevelDB's filter serves */
	data[h.offset + 3] ^= 0x01;
	data[h.offset + h.size - 1] = 9;
	uint32_t crc = crc32c_extend(crc32c_value(data + h.offset, h.size), data + h.offset + h.size, 1);
	encode_fixed32(data + h.offset + h.size + 1, crc32c_mask(crc));
	tu_write_file(path, data, n);
	ck_assert_ok(open_table(env, path, &o, &t));
	struct read_opts ro = { 1, 0 };
	for (size_t i = 0; i < m.n; i += 7) {
		struct found fd = { 0, BUF_INIT, BUF_INIT };
		ck_assert_ok(table_get(t, &ro, mkey(&m, i), on_found, &fd));
		ck_assert(fd.called && slice_equal(buf_slice(&fd.key), mkey(&m, i)));
		buf_free(&fd.key);
		buf_free(&fd.value);
	}
	table_close(t);
	free(data);
	free(path);
	table_model_free(&m);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- a user filter policy ---- */

/* Its filter: one byte per key, the key's length; "no" makes every match a
 * miss, so a test sees whether the filter was asked at all. */
struct len_policy {
	struct filter_policy base;
	const char *name;
	int say_no;
	int creates, matches;
};

static const char *len_name(const struct filter_policy *p)
{
	return ((const struct len_policy *)p)->name;
}

static int len_create(const struct filter_policy *p, const struct slice *keys, size_t n, struct buf *dst)
{
	((struct len_policy *)p)->creates++;
	for (size_t i = 0; i < n; i++) {
		int rc = buf_append_byte(dst, (char)keys[i].size);
		if (rc)
			return rc;
	}
	return 0;
}

static int len_match(const struct filter_policy *p, struct slice key, struct slice filter)
{
	struct len_policy *lp = (struct len_policy *)p;
	lp->matches++;
	if (lp->say_no)
		return 0;
	return memchr(filter.data, (char)key.size, filter.size) != NULL;
}

/* How many of m's keys table_get finds. */
static size_t found_keys(struct table *t, const struct table_model *m)
{
	struct read_opts ro = { 1, 0 };
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct found fd = { 0, BUF_INIT, BUF_INIT };
		ck_assert_ok(table_get(t, &ro, mkey(m, i), on_found, &fd));
		n += fd.called && slice_equal(buf_slice(&fd.key), mkey(m, i));
		buf_free(&fd.key);
		buf_free(&fd.value);
	}
	return n;
}

START_TEST(policy_filter_stored_under_its_name_and_used_only_by_it)
{
	dir = tu_mkdtemp("table-filter");
	struct env *env = env_posix_default();
	struct rng r;
	rng_seed(&r, 9);
	struct table_model m;
	table_model_make(&m, &r, 2000, 24, 1);
	struct len_policy lp = { { len_name, len_create, len_match }, "test.Lengths", 0, 0, 0 };
	struct len_policy other = { { len_name, len_create, len_match }, "test.Other", 1, 0, 0 };
	struct table_options o;
	default_opts(&o, &m);
	o.bloom_bits_per_key = 10;
	o.table_filter = 1;
	o.filter_policy = &lp.base;
	char *path = write_table_file(env, dir, 4, &o, &m, 0);
	ck_assert_int_gt(lp.creates, 1);
	/* only the policy's filter: neither the bloom nor the whole-table one */
	ck_assert(meta_has(path, "filter.test.Lengths"));
	ck_assert(!meta_has(path, FILTER_META_KEY));
	ck_assert(!meta_has(path, TABLE_FILTER_META_KEY));
	struct table *t;
	ck_assert_ok(open_table(env, path, &o, &t));
	ck_assert_uint_eq(found_keys(t, &m), m.n);
	ck_assert_int_ge(lp.matches, (int)m.n);
	/* asked, and believed: a "no" hides every key */
	lp.say_no = 1;
	ck_assert_uint_eq(found_keys(t, &m), 0);
	table_close(t);
	/* a policy of another name, or the built-in bloom: the filter is unused */
	o.filter_policy = &other.base;
	ck_assert_ok(open_table(env, path, &o, &t));
	ck_assert_uint_eq(found_keys(t, &m), m.n);
	ck_assert_int_eq(other.matches, 0);
	table_close(t);
	o.filter_policy = NULL;
	ck_assert_ok(open_table(env, path, &o, &t));
	ck_assert_uint_eq(found_keys(t, &m), m.n);
	table_close(t);
	free(path);
	/* a table with the built-in filters, read with a policy: unfiltered */
	o.filter_policy = NULL;
	path = write_table_file(env, dir, 5, &o, &m, 0);
	o.filter_policy = &lp.base;
	lp.matches = 0;
	ck_assert_ok(open_table(env, path, &o, &t));
	ck_assert_uint_eq(found_keys(t, &m), m.n);
	ck_assert_int_eq(lp.matches, 0);
	table_close(t);
	free(path);
	/* a policy named as the built-in bloom takes its metaindex name */
	lp.name = "leveldb.BuiltinBloomFilter2";
	lp.say_no = 0;
	path = write_table_file(env, dir, 6, &o, &m, 0);
	ck_assert(meta_has(path, FILTER_META_KEY));
	ck_assert(!meta_has(path, TABLE_FILTER_META_KEY));
	free(path);
	table_model_free(&m);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* A policy whose create_filter fails: the table cannot be finished. */
static int failing_create(const struct filter_policy *p, const struct slice *keys, size_t n, struct buf *dst)
{
	(void)p;
	(void)keys;
	(void)n;
	(void)dst;
	return err_set(SHALE_ENOMEM, "test policy: no filter today");
}

START_TEST(policy_failure_fails_the_table)
{
	dir = tu_mkdtemp("table-filter");
	struct env *env = env_posix_default();
	struct len_policy lp = { { len_name, failing_create, len_match }, "test.Failing", 0, 0, 0 };
	struct table_options o;
	struct table_model m = { NULL, 0, NULL, 1 };
	struct rng r;
	rng_seed(&r, 10);
	table_model_make(&m, &r, 500, 16, 1);
	default_opts(&o, &m);
	o.filter_policy = &lp.base;
	char path[4096];
	snprintf(path, sizeof(path), "%s/000007.ldb", dir);
	struct wfile *f;
	ck_assert_ok(env_open_write(env, path, &f));
	struct table_builder *b;
	ck_assert_ok(table_builder_create(&o, f, path, &b));
	int rc = 0;
	for (size_t i = 0; i < m.n && rc == 0; i++)
		rc = table_builder_add(b, mkey(&m, i), mval(&m, i));
	if (rc == 0)
		rc = table_builder_finish(b);
	ck_assert_int_eq(rc, SHALE_ENOMEM);
	ck_assert_ptr_nonnull(strstr(err_msg(), "no filter today"));
	table_builder_destroy(b);
	wfile_close(f);
	table_model_free(&m);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("table_filter");
	TCase *tc = tcase_create("filter");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, table_filter_has_no_false_negatives_and_few_positives);
	tcase_add_test(tc, table_filter_format_is_checked);
	tcase_add_test(tc, absent_keys_read_no_data_block);
	tcase_add_test(tc, damaged_table_filter_fails_the_open_unknown_format_falls_back);
	tcase_add_test(tc, policy_filter_stored_under_its_name_and_used_only_by_it);
	tcase_add_test(tc, policy_failure_fails_the_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
