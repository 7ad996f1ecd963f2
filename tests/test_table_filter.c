/* A table's bloom filter as shale writes it: one filter for the whole
 * table in LevelDB's filter block layout (a base_lg past the end of the
 * data), asked before the index; point lookups of absent keys read no data
 * block; damage to it fails the open; a block whose base_lg does not cover
 * the data is read as LevelDB's per-region layout, never wrongly; user
 * policies keep LevelDB's layout under their own name. */
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
#include "sstable/filter_block.h"
#include "sstable/format.h"
#include "sstable/table.h"
#include "sstable/table_builder.h"
#include "shale.h"
#include "tests/table_helpers.h"
#include "tests/testutil.h"

/* ---- through a table ---- */

static char *dir;

/* A table of m with the bloom filter, whole (as databases write it) or
 * per 2 KiB region (LevelDB's layout). */
static char *write_with_filter(struct env *env, struct table_options *o, struct table_model *m, uint64_t num,
                               int whole)
{
	default_opts(o, m);
	o->bloom_bits_per_key = 10;
	o->table_filter = whole;
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
	char *path = write_with_filter(fe, &o, &m, 9, 1);
	/* one filter block, LevelDB's name, nothing else */
	meta_handle(path, FILTER_META_KEY);
	ck_assert(!meta_has(path, "shale.TableFilter"));
	struct table *t;
	ck_assert_ok(open_table(fe, path, &o, &t));
	struct read_opts ro = { 1, 0, 0, 0 };
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

/* The filter block of the table at path, read raw. */
static struct filter_block_reader read_filter_block(const char *path, char **data, size_t *np,
                                                    struct block_handle *h)
{
	size_t n = *np = tu_read_file(path, data);
	*h = meta_handle(path, FILTER_META_KEY);
	ck_assert_uint_le(h->offset + h->size + BLOCK_TRAILER_LEN, n);
	struct filter_block_reader fr;
	ck_assert_ok(filter_block_reader_init(&fr, slice_make(*data + h->offset, h->size), 1, path, h->offset));
	return fr;
}

/* Rewrites the filter block's last byte (base_lg) with its checksum made good. */
static void set_base_lg(const char *path, char *data, size_t n, const struct block_handle *h, int lg)
{
	data[h->offset + h->size - 1] = (char)lg;
	uint32_t crc = crc32c_extend(crc32c_value(data + h->offset, h->size), data + h->offset + h->size, 1);
	encode_fixed32(data + h->offset + h->size + 1, crc32c_mask(crc));
	tu_write_file(path, data, n);
}

/* A table of n random keys (from seed) with a whole-table filter, in a new
 * dir; its bytes in *data (n bytes), its filter block's handle and reader. */
static struct filter_block_reader whole_filtered_table(uint64_t seed, size_t keys, uint64_t num, struct table_model *m,
                                                       struct table_options *o, char **path, char **data, size_t *n,
                                                       struct block_handle *h)
{
	dir = tu_mkdtemp("table-filter");
	struct rng r;
	rng_seed(&r, seed);
	table_model_make(m, &r, keys, 24, 1);
	*path = write_with_filter(env_posix_default(), o, m, num, 1);
	*data = NULL;
	return read_filter_block(*path, data, n, h);
}

START_TEST(whole_table_filter_is_one_leveldb_filter)
{
	struct env *env = env_posix_default();
	struct table_model m;
	struct table_options o;
	char *path, *data;
	size_t n;
	struct block_handle h;
	/* whole: one filter, and the smallest base_lg >= 11 that maps every
	 * data block (all before the filter block) to it */
	struct filter_block_reader fr = whole_filtered_table(5, 3000, 4, &m, &o, &path, &data, &n, &h);
	ck_assert_uint_eq(fr.num, 1);
	ck_assert_int_ge(fr.base_lg, FILTER_BASE_LG);
	ck_assert_uint_eq(h.offset >> fr.base_lg, 0);
	ck_assert_uint_ne(h.offset >> (fr.base_lg - 1), 0);
	ck_assert(filter_block_is_whole(&fr, h.offset));
	for (size_t i = 0; i < m.n; i++)
		ck_assert(filter_block_may_match(&fr, 0, mkey(&m, i)));
	free(data);
	free(path);
	/* off: LevelDB's layout, a filter per 2 KiB, not whole */
	path = write_with_filter(env, &o, &m, 5, 0);
	fr = read_filter_block(path, &data, &n, &h);
	ck_assert_int_eq(fr.base_lg, FILTER_BASE_LG);
	ck_assert_uint_gt(fr.num, 1);
	ck_assert_uint_le(fr.num, ((h.offset - 1) >> FILTER_BASE_LG) + 1);
	ck_assert(!filter_block_is_whole(&fr, h.offset));
	free(data);
	free(path);
	table_model_free(&m);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Every key of m is found in the table at path. */
static void all_found(struct env *env, const char *path, const struct table_options *o, const struct table_model *m)
{
	struct table *t;
	ck_assert_ok(open_table(env, path, o, &t));
	struct read_opts ro = { 1, 0, 0, 0 };
	for (size_t i = 0; i < m->n; i++) {
		struct found fd = { 0, BUF_INIT, BUF_INIT };
		ck_assert_ok(table_get(t, &ro, mkey(m, i), on_found, &fd));
		ck_assert_msg(fd.called && slice_equal(buf_slice(&fd.key), mkey(m, i)), "key %zu not found", i);
		buf_free(&fd.key);
		buf_free(&fd.value);
	}
	table_close(t);
}

START_TEST(damaged_filter_fails_the_open_short_base_lg_is_read_per_region)
{
	struct env *env = env_posix_default();
	struct table_model m;
	struct table_options o;
	char *path, *data;
	size_t n;
	struct block_handle h;
	struct filter_block_reader fr = whole_filtered_table(8, 2000, 3, &m, &o, &path, &data, &n, &h);
	int lg = fr.base_lg;
	/* a flipped bit: its checksum fails */
	data[h.offset + 3] ^= 0x01;
	tu_write_file(path, data, n);
	struct table *t;
	ck_assert_int_eq(open_table(env, path, &o, &t), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "checksum"));
	data[h.offset + 3] ^= 0x01;
	/* the one filter with base_lg 11 (checksum good): it covers the blocks
	 * of the first 2 KiB only, the others read unfiltered, as LevelDB
	 * would; no key is lost */
	set_base_lg(path, data, n, &h, FILTER_BASE_LG);
	all_found(env, path, &o, &m);
	/* base_lg past 63: damage, named */
	set_base_lg(path, data, n, &h, 64);
	ck_assert_int_eq(open_table(env, path, &o, &t), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "filter block"));
	/* restored: found again */
	set_base_lg(path, data, n, &h, lg);
	all_found(env, path, &o, &m);
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
	struct read_opts ro = { 1, 0, 0, 0 };
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
	ck_assert(!meta_has(path, "shale.TableFilter"));
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
	ck_assert(!meta_has(path, "shale.TableFilter"));
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
	tcase_add_test(tc, whole_table_filter_is_one_leveldb_filter);
	tcase_add_test(tc, absent_keys_read_no_data_block);
	tcase_add_test(tc, damaged_filter_fails_the_open_short_base_lg_is_read_per_region);
	tcase_add_test(tc, policy_filter_stored_under_its_name_and_used_only_by_it);
	tcase_add_test(tc, policy_failure_fails_the_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
