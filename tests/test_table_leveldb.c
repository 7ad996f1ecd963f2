/* Interoperability with Debian's real libleveldb (1.23):
 *  - tables LevelDB writes (snappy, bloom filter, several versions of a key
 *    kept by a snapshot) read back entry by entry, and every lookup goes
 *    through the bloom filter, which proves the hash and format match;
 *  - tables shale's builder writes (snappy and none) put in a directory that
 *    leveldb_repair_db adopts, then read by LevelDB with checksums verified
 *    and its bloom filter policy consulting our filters. */
#include <dirent.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/cache.h"
#include "lib/util/coding.h"
#include "lib/util/env.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "lib/util/ikey.h"
#include "sstable/compress.h"
#include "sstable/table.h"
#include "sstable/table_builder.h"
#include "shale.h"
#include "tests/testutil.h"

/* The log of writes: op i got sequence i + 1 (one write per op). */
struct op {
	char *key, *val;
	size_t kn, vn;
	int type; /* IKEY_TYPE_VALUE or IKEY_TYPE_DELETION */
	int seen;
};

static void random_key(struct rng *r, struct buf *k)
{
	buf_clear(k);
	size_t n = 1 + (size_t)rng_uniform(r, 24);
	for (size_t i = 0; i < n; i++)
		buf_append_byte(k, (char)("kq\x01\x7f"[rng_uniform(r, 4)]));
	/* the last byte is often >= 0x80: LevelDB's hash adds it unsigned */
	if (rng_one_in(r, 2))
		buf_append_byte(k, (char)(0x80 + rng_uniform(r, 128)));
}

static struct ikey_comparator icmp;

static const struct op *sort_ops;

/* Orders op indexes by key, the newest op of a key first. */
static int by_key_then_newest(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	int c = slice_compare(slice_make(sort_ops[x].key, sort_ops[x].kn),
	                      slice_make(sort_ops[y].key, sort_ops[y].kn));
	return c ? c : (y > x) - (y < x);
}

static void table_opts(struct table_options *o, int compression, struct cache *bc)
{
	ikey_comparator_init(&icmp, comparator_bytewise());
	memset(o, 0, sizeof(*o));
	o->cmp = &icmp.base;
	o->internal_keys = 1;
	o->block_size = 4096;
	o->restart_interval = 16;
	o->compression = compression;
	o->bloom_bits_per_key = 10;
	o->block_cache = bc;
}

struct found {
	int called;
	struct buf key, value;
};

static void on_found(void *arg, struct slice k, struct slice v)
{
	struct found *f = arg;
	f->called++;
	ck_assert_ok(buf_set(&f->key, k.data, k.size));
	ck_assert_ok(buf_set(&f->value, v.data, v.size));
}

/* Counts reads so that a test can see the filter spare a data block. */
struct counting_rfile {
	struct rand_file base;
	struct rand_file *inner;
	int reads;
};

static int cr_read(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	struct counting_rfile *c = (struct counting_rfile *)f;
	c->reads++;
	return rand_file_read(c->inner, off, n, scratch, out);
}
static void cr_close(struct rand_file *f)
{
	struct counting_rfile *c = (struct counting_rfile *)f;
	rand_file_close(c->inner);
	free(c);
}
static const struct rand_file_ops counting_ops = { cr_read, cr_close, NULL };

START_TEST(leveldb_tables_read_back_entry_by_entry)
{
	char *dir = tu_mkdtemp("ldb-written");
	struct rng r;
	rng_seed(&r, 2024);
	enum { OPS = 30000, SNAP_AT = 15000 };
	struct op *ops = calloc(OPS, sizeof(*ops));

	char *err = NULL;
	leveldb_options_t *lo = leveldb_options_create();
	leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_create_if_missing(lo, 1);
	leveldb_options_set_compression(lo, leveldb_snappy_compression);
	leveldb_options_set_filter_policy(lo, bloom);
	leveldb_options_set_write_buffer_size(lo, 256 << 10);
	leveldb_options_set_max_file_size(lo, 256 << 10);
	leveldb_t *db = leveldb_open(lo, dir, &err);
	ck_assert_msg(db != NULL && err == NULL, "leveldb_open: %s", err ? err : "?");
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	const leveldb_snapshot_t *snap = NULL;
	struct buf k = BUF_INIT;
	size_t live_keys = 0;
	for (int i = 0; i < OPS; i++) {
		if (i == SNAP_AT)
			snap = leveldb_create_snapshot(db);
		struct op *o = &ops[i];
		if (i > 0 && rng_one_in(&r, 3)) {
			/* rewrite or delete an earlier key */
			struct op *old = &ops[rng_uniform(&r, (uint64_t)i)];
			buf_set(&k, old->key, old->kn);
		} else {
			random_key(&r, &k);
		}
		o->kn = k.len;
		o->key = malloc(k.len);
		memcpy(o->key, k.data, k.len);
		if (rng_one_in(&r, 7)) {
			o->type = IKEY_TYPE_DELETION;
			leveldb_delete(db, wo, o->key, o->kn, &err);
		} else {
			o->type = IKEY_TYPE_VALUE;
			o->vn = rng_one_in(&r, 200) ? (size_t)rng_uniform(&r, 20000)
			                            : (size_t)rng_uniform(&r, 120);
			o->val = malloc(o->vn + 1);
			tu_random_bytes(&r, o->val, o->vn);
			leveldb_put(db, wo, o->key, o->kn, o->val, o->vn, &err);
		}
		ck_assert_msg(err == NULL, "leveldb write: %s", err);
	}
	leveldb_compact_range(db, NULL, 0, NULL, 0);
	leveldb_release_snapshot(db, snap);
	leveldb_close(db);
	leveldb_writeoptions_destroy(wo);
	leveldb_options_destroy(lo);
	leveldb_filterpolicy_destroy(bloom);

	/* the newest op of each key: it must be in some table, if a value */
	char *newest = calloc(OPS, 1);
	int *order = malloc(OPS * sizeof(*order));
	for (int i = 0; i < OPS; i++)
		order[i] = i;
	sort_ops = ops;
	qsort(order, OPS, sizeof(*order), by_key_then_newest);
	for (int i = 0; i < OPS; i++) {
		const struct op *o = &ops[order[i]], *p = i ? &ops[order[i - 1]] : NULL;
		newest[order[i]] = p == NULL || p->kn != o->kn || memcmp(p->key, o->key, o->kn) != 0;
	}
	free(order);
	for (int i = 0; i < OPS; i++)
		live_keys += newest[i] && ops[i].type == IKEY_TYPE_VALUE;

	struct env *env = env_posix_default();
	/* no block cache: the read counts below must see every data block read */
	struct table_options to;
	table_opts(&to, SHALE_COMPRESSION_SNAPPY, NULL);
	struct read_opts ro = { 1, 1, 0, 0 };
	char **names;
	size_t count;
	ck_assert_ok(env_list_dir(env, dir, &names, &count));
	int tables = 0, multi_version = 0, high_last_byte = 0, filtered_misses = 0, misses = 0;
	size_t entries = 0;
	struct found f = { 0, BUF_INIT, BUF_INIT };
	struct buf prev_user = BUF_INIT;
	for (size_t n = 0; n < count; n++) {
		size_t len = strlen(names[n]);
		if (len < 4 || strcmp(names[n] + len - 4, ".ldb") != 0)
			continue;
		tables++;
		char path[FNAME_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, names[n]);
		uint64_t size;
		ck_assert_ok(env_file_size(env, path, &size));
		struct counting_rfile *cf = calloc(1, sizeof(*cf));
		cf->base.ops = &counting_ops;
		ck_assert_ok(env_open_rand(env, path, &cf->inner));
		struct table *t;
		ck_assert_ok(table_open(&to, &cf->base, path, size, &t));

		struct iter *it = table_iter(t, &ro);
		size_t in_table = 0;
		buf_clear(&prev_user);
		for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
			struct parsed_ikey pk;
			ck_assert(ikey_parse(iter_key(it), &pk));
			ck_assert_uint_ge(pk.seq, 1);
			ck_assert_uint_le(pk.seq, OPS);
			struct op *o = &ops[pk.seq - 1];
			ck_assert_int_eq(pk.type, o->type);
			ck_assert(slice_equal(pk.user_key, slice_make(o->key, o->kn)));
			if (o->type == IKEY_TYPE_VALUE)
				ck_assert(slice_equal(iter_value(it), slice_make(o->val, o->vn)));
			ck_assert_int_eq(o->seen, 0);
			o->seen = 1;
			if (in_table > 0 && slice_equal(pk.user_key, buf_slice(&prev_user)))
				multi_version++;
			if (pk.user_key.size && (unsigned char)pk.user_key.data[pk.user_key.size - 1] >= 0x80)
				high_last_byte++;
			buf_set(&prev_user, pk.user_key.data, pk.user_key.size);
			in_table++;

			/* the same entry through table_get, past the bloom filter */
			struct buf lk = BUF_INIT;
			ck_assert_ok(ikey_append(&lk, pk.user_key, pk.seq, IKEY_TYPE_FOR_SEEK));
			f.called = 0;
			ck_assert_ok(table_get(t, &ro, buf_slice(&lk), on_found, &f));
			ck_assert_msg(f.called == 1, "table_get missed an entry of %s", path);
			ck_assert(slice_equal(buf_slice(&f.key), iter_key(it)));
			ck_assert(slice_equal(buf_slice(&f.value), iter_value(it)));
			buf_free(&lk);
		}
		ck_assert_int_eq(iter_status(it), 0);
		/* backwards gives the same count */
		size_t back = 0;
		for (iter_seek_last(it); iter_valid(it); iter_prev(it))
			back++;
		ck_assert_uint_eq(back, in_table);
		iter_destroy(it);
		entries += in_table;

		/* keys absent from this table are mostly turned away by its filter */
		for (int i = 0; i < 2000; i++) {
			char u[32];
			int un = snprintf(u, sizeof(u), "%c%d\x80", "kq\x01\x7f"[i % 4], i);
			struct buf lk = BUF_INIT;
			ck_assert_ok(ikey_append(&lk, slice_make(u, (size_t)un), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK));
			int before = cf->reads;
			ck_assert_ok(table_get(t, &(struct read_opts){ 1, 0, 0, 0 }, buf_slice(&lk), on_found, &f));
			misses++;
			filtered_misses += cf->reads == before;
			buf_free(&lk);
		}
		table_close(t);
	}
	env_free_names(names, count);
	ck_assert_int_ge(tables, 2);
	ck_assert_int_gt(multi_version, 0);
	ck_assert_int_gt(high_last_byte, 100);
	ck_assert_int_ge(filtered_misses, misses * 95 / 100);
	ck_assert_int_lt(filtered_misses, misses); /* a filter, not an oracle */
	/* every live key's newest value made it into the tables */
	for (int i = 0; i < OPS; i++)
		if (newest[i] && ops[i].type == IKEY_TYPE_VALUE)
			ck_assert_msg(ops[i].seen, "op %d (newest value of its key) missing", i);
	ck_assert_uint_ge(entries, live_keys);
	printf("read %zu entries (%zu live keys) from %d LevelDB tables; %d of %d absent-key "
	       "lookups stopped by the filter\n",
	       entries, live_keys, tables, filtered_misses, misses);

	buf_free(&f.key);
	buf_free(&f.value);
	buf_free(&prev_user);
	buf_free(&k);
	for (int i = 0; i < OPS; i++) {
		free(ops[i].key);
		free(ops[i].val);
	}
	free(ops);
	free(newest);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Writes n entries with sequences first_seq.. into dir/NNNNNN.ldb. */
static void write_shale_table(const char *dir, uint64_t number, int compression,
                              struct buf *keys, struct buf *vals, size_t n, uint64_t first_seq)
{
	struct table_options o;
	table_opts(&o, compression, NULL);
	char path[FNAME_MAX];
	fname_table(path, dir, number);
	struct env *env = env_posix_default();
	struct wfile *wf;
	ck_assert_ok(env_open_write(env, path, &wf));
	struct table_builder *b;
	ck_assert_ok(table_builder_create(&o, wf, path, &b));
	struct buf ik = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_clear(&ik);
		ck_assert_ok(ikey_append(&ik, buf_slice(&keys[i]), first_seq + i, IKEY_TYPE_VALUE));
		ck_assert_ok(table_builder_add(b, buf_slice(&ik), buf_slice(&vals[i])));
	}
	ck_assert_ok(table_builder_finish(b));
	table_builder_destroy(b);
	ck_assert_ok(wfile_sync(wf));
	ck_assert_ok(wfile_close(wf));
	buf_free(&ik);
}

START_TEST(leveldb_reads_tables_shale_writes)
{
	char *dir = tu_mkdtemp("shale-written");
	struct rng r;
	rng_seed(&r, 99);
	enum { N = 4000 };
	/* two tables of distinct sorted keys: "a%06d" (snappy) and "b%06d" + a high byte (none) */
	struct buf *keys = calloc(2 * N, sizeof(*keys));
	struct buf *vals = calloc(2 * N, sizeof(*vals));
	for (size_t i = 0; i < 2 * N; i++) {
		char kb[32];
		int kn = snprintf(kb, sizeof(kb), "%c%06zu", i < N ? 'a' : 'b', i);
		ck_assert_ok(buf_set(&keys[i], kb, (size_t)kn));
		if (i >= N)
			ck_assert_ok(buf_append_byte(&keys[i], (char)(0x80 + i % 128)));
		size_t vn = rng_one_in(&r, 100) ? (size_t)rng_uniform(&r, 10000) : (size_t)rng_uniform(&r, 100);
		ck_assert_ok(buf_resize(&vals[i], vn));
		/* compressible values so that snappy blocks are really compressed */
		for (size_t j = 0; j < vn; j++)
			vals[i].data[j] = (char)('a' + (j / 7 + i) % 5);
	}
	unsigned char type;
	int comp = compress_type_for(SHALE_COMPRESSION_SNAPPY, &type) == 0 ? SHALE_COMPRESSION_SNAPPY
	                                                                   : SHALE_COMPRESSION_NONE;
	write_shale_table(dir, 5, comp, keys, vals, N, 1);
	write_shale_table(dir, 6, SHALE_COMPRESSION_NONE, keys + N, vals + N, N, N + 1);

	char *err = NULL;
	leveldb_options_t *lo = leveldb_options_create();
	leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_filter_policy(lo, bloom);
	leveldb_options_set_paranoid_checks(lo, 1);
	leveldb_repair_db(lo, dir, &err);
	ck_assert_msg(err == NULL, "repair: %s", err);
	/* repair keeps tables it could read; a table it could not would move to lost/ */
	char path[FNAME_MAX];
	fname_table(path, dir, 5);
	ck_assert(env_exists(env_posix_default(), path));
	fname_table(path, dir, 6);
	ck_assert(env_exists(env_posix_default(), path));

	leveldb_t *db = leveldb_open(lo, dir, &err);
	ck_assert_msg(db != NULL && err == NULL, "leveldb_open: %s", err);
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(ro, 1);
	for (size_t i = 0; i < 2 * N; i++) {
		size_t vn;
		char *v = leveldb_get(db, ro, keys[i].data, keys[i].len, &vn, &err);
		ck_assert_msg(err == NULL, "get: %s", err);
		ck_assert_msg(v != NULL, "LevelDB cannot find key %zu", i);
		ck_assert(slice_equal(slice_make(v, vn), buf_slice(&vals[i])));
		leveldb_free(v);
	}
	size_t vn;
	char *v = leveldb_get(db, ro, "a", 1, &vn, &err);
	ck_assert_ptr_null(v);
	v = leveldb_get(db, ro, "b000001\x81", 8, &vn, &err);
	ck_assert_ptr_null(v);
	leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
	size_t i = 0;
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it), i++) {
		size_t kl, vl;
		const char *kp = leveldb_iter_key(it, &kl);
		const char *vp = leveldb_iter_value(it, &vl);
		ck_assert_uint_lt(i, 2 * N);
		ck_assert(slice_equal(slice_make(kp, kl), buf_slice(&keys[i])));
		ck_assert(slice_equal(slice_make(vp, vl), buf_slice(&vals[i])));
	}
	ck_assert_uint_eq(i, 2 * N);
	leveldb_iter_get_error(it, &err);
	ck_assert_msg(err == NULL, "iterator: %s", err);
	leveldb_iter_destroy(it);
	leveldb_readoptions_destroy(ro);
	leveldb_close(db);
	leveldb_options_destroy(lo);
	leveldb_filterpolicy_destroy(bloom);

	for (size_t j = 0; j < 2 * N; j++) {
		buf_free(&keys[j]);
		buf_free(&vals[j]);
	}
	free(keys);
	free(vals);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *leveldb_suite(void)
{
	Suite *s = suite_create("table_leveldb");
	TCase *tc = tcase_create("interop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, leveldb_tables_read_back_entry_by_entry);
	tcase_add_test(tc, leveldb_reads_tables_shale_writes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(leveldb_suite());
}
