/* Tables: builder and reader round trips against a sorted model for every
 * codec, restart interval and key kind; the index, the filter and the block
 * cache; damage; I/O errors through the fault env. (The two-level iterator
 * and the table cache have their own suites.) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/util/buf.h"
#include "lib/util/cache.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/env.h"
#include "lib/testing/env_fault.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "lib/util/ikey.h"
#include "lib/util/worker.h"
#include "sstable/block.h"
#include "sstable/compress.h"
#include "sstable/format.h"
#include "sstable/table.h"
#include "sstable/table_builder.h"
#include "sstable/table_salvage.h"
#include "sstable/two_level_iter.h"
#include "shale.h"
#include "tests/table_helpers.h"
#include "tests/testutil.h"

#define MEMPATH "/mem/000007.ldb"
/* sstable/table.c's AHEAD_SLOTS */
#define AHEAD_TEST_SLOTS 16

/* ---- in-memory files ---- */

struct mem_wfile {
	struct wfile base;
	struct buf *b;
};

static int mw_append(struct wfile *f, const char *data, size_t n)
{
	return buf_append(((struct mem_wfile *)f)->b, data, n);
}
static int mw_nop(struct wfile *f)
{
	(void)f;
	return 0;
}
static const struct wfile_ops mem_wfile_ops = { mw_append, mw_nop, mw_nop, mw_nop };

/* Serves reads from a buffer it does not own; "mapped" ones hand out
 * pointers into it, the others copy into scratch. */
struct mem_rfile {
	struct rand_file base;
	const char *data;
	size_t size;
};

static int mr_read(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	struct mem_rfile *m = (struct mem_rfile *)f;
	if (off >= m->size)
		n = 0;
	else if (n > m->size - off)
		n = m->size - (size_t)off;
	if (f->mapped) {
		*out = slice_make(n ? m->data + off : m->data, n);
	} else {
		if (n)
			memcpy(scratch, m->data + off, n);
		*out = slice_make(scratch, n);
	}
	return 0;
}
static void mr_close(struct rand_file *f)
{
	free(f);
}
static const struct rand_file_ops mem_rfile_ops = { mr_read, mr_close, NULL };

static struct rand_file *mem_rfile(const char *data, size_t size, int mapped)
{
	struct mem_rfile *m = malloc(sizeof(*m));
	ck_assert_ptr_nonnull(m);
	m->base.ops = &mem_rfile_ops;
	m->base.mapped = mapped;
	m->data = data;
	m->size = size;
	return &m->base;
}


/* Builds the model's table into out (replacing it). */
static void build_table(const struct table_options *o, const struct table_model *m, struct buf *out)
{
	buf_clear(out);
	struct mem_wfile wf = { { &mem_wfile_ops }, out };
	struct table_builder *b;
	ck_assert_ok(table_builder_create(o, &wf.base, MEMPATH, &b));
	for (size_t i = 0; i < m->n; i++)
		ck_assert_ok(table_builder_add(b, mkey(m, i), mval(m, i)));
	ck_assert_uint_eq(table_builder_num_entries(b), m->n);
	ck_assert_ok(table_builder_finish(b));
	ck_assert_uint_eq(table_builder_file_size(b), out->len);
	table_builder_destroy(b);
}

static struct table *open_mem(const struct table_options *o, const struct buf *file, int mapped)
{
	struct table *t;
	ck_assert_ok(table_open(o, mem_rfile(file->data, file->len, mapped), MEMPATH, file->len, &t));
	return t;
}

/* A random seek target: an existing key, a mutation of one, or noise. */
static void random_target(struct rng *r, const struct table_model *m, struct buf *t)
{
	buf_clear(t);
	if (m->n && rng_one_in(r, 2)) {
		struct slice k = mkey(m, rng_uniform(r, m->n));
		buf_set(t, k.data, k.size);
		if (t->len && rng_one_in(r, 2)) {
			size_t at = rng_uniform(r, t->len);
			if (m->internal && at >= t->len - 8)
				at = 0;
			t->data[at] = (char)(t->data[at] + 1);
		}
	} else {
		size_t n = (size_t)rng_skewed(r, 6);
		for (size_t i = 0; i < n; i++)
			buf_append_byte(t, (char)("ab\x80\xff"[rng_uniform(r, 4)]));
		if (m->internal)
			buf_append_fixed64(t, ikey_pack_tag(rng_uniform(r, m->n + 2), IKEY_TYPE_VALUE));
	}
}

static void check_table(struct table *t, const struct table_model *m, struct rng *r,
                        const struct read_opts *ro, uint64_t file_size)
{
	struct iter *it = table_iter(t, ro);
	ck_assert_ptr_nonnull(it);
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		check_entry(it, m, i++);
	ck_assert_int_eq(iter_status(it), 0);
	ck_assert_uint_eq(i, m->n);
	i = m->n;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		check_entry(it, m, --i);
	ck_assert_int_eq(iter_status(it), 0);
	ck_assert_uint_eq(i, 0);

	/* seeks at random targets, then steps both ways */
	struct buf target = BUF_INIT;
	int seeks = m->n < 2000 ? 300 : 2000;
	for (int s = 0; s < seeks; s++) {
		random_target(r, m, &target);
		iter_seek(it, buf_slice(&target));
		size_t lb = table_model_lower_bound(m, buf_slice(&target));
		if (lb == m->n) {
			ck_assert(!iter_valid(it));
			ck_assert_int_eq(iter_status(it), 0);
			continue;
		}
		check_entry(it, m, lb);
		int steps = (int)rng_uniform(r, 6);
		size_t at = lb;
		for (int k = 0; k < steps; k++) {
			if (rng_one_in(r, 2)) {
				iter_next(it);
				if (++at == m->n) {
					ck_assert(!iter_valid(it));
					break;
				}
			} else {
				iter_prev(it);
				if (at-- == 0) {
					ck_assert(!iter_valid(it));
					break;
				}
			}
			check_entry(it, m, at);
		}
	}
	ck_assert_int_eq(iter_status(it), 0);
	iter_destroy(it);

	/* point lookups: every key of small tables, a sample of large ones */
	struct found f = { 0, BUF_INIT, BUF_INIT };
	size_t stride = m->n > 3000 ? m->n / 3000 : 1;
	for (size_t j = 0; j < m->n; j += stride) {
		f.called = 0;
		ck_assert_ok(table_get(t, ro, mkey(m, j), on_found, &f));
		ck_assert_int_eq(f.called, 1);
		ck_assert(slice_equal(buf_slice(&f.key), mkey(m, j)));
		ck_assert(slice_equal(buf_slice(&f.value), mval(m, j)));
	}
	/* misses: when found is called, it is with the next key of that block */
	for (int s = 0; s < 300; s++) {
		random_target(r, m, &target);
		f.called = 0;
		ck_assert_ok(table_get(t, ro, buf_slice(&target), on_found, &f));
		if (f.called) {
			size_t lb = table_model_lower_bound(m, buf_slice(&target));
			ck_assert_uint_lt(lb, m->n);
			ck_assert(slice_equal(buf_slice(&f.key), mkey(m, lb)));
		}
	}

	/* approximate offsets grow with the key and stay inside the file */
	uint64_t prev = 0;
	for (size_t j = 0; j < m->n; j += stride) {
		uint64_t off = table_approximate_offset(t, mkey(m, j));
		ck_assert_uint_ge(off, prev);
		ck_assert_uint_lt(off, file_size);
		prev = off;
	}
	if (m->n) {
		ck_assert_uint_eq(table_approximate_offset(t, mkey(m, 0)), 0);
		buf_set(&target, "\xff\xff\xff\xff", 4);
		for (int k = 0; k < 80; k++)
			buf_append_byte(&target, (char)0xff);
		uint64_t end = table_approximate_offset(t, buf_slice(&target));
		ck_assert_uint_ge(end, prev);
		ck_assert_uint_lt(end, file_size);
	}
	buf_free(&f.key);
	buf_free(&f.value);
	buf_free(&target);
}

static const int compressions[] = { SHALE_COMPRESSION_NONE, SHALE_COMPRESSION_SNAPPY,
	                             SHALE_COMPRESSION_LZ4, SHALE_COMPRESSION_ZLIB };
static const int intervals[] = { 1, 2, 16 };

/* _i enumerates codec x restart interval x key kind (24 cases). */
START_TEST(table_roundtrip_random_against_model)
{
	int comp = compressions[_i % 4];
	int interval = intervals[(_i / 4) % 3];
	int internal = _i / 12;
	unsigned char type;
	if (compress_type_for(comp, &type) == SHALE_ENOTSUP)
		return;
	struct rng r;
	rng_seed(&r, 0x7ab1e + (uint64_t)_i);
	/* the big size cycles so that every codec meets a 100,000-entry table
	 * (20,000 under a sanitizer: still hundreds of blocks and a two-level
	 * index's worth of entries, at a fifth of the time) */
	static const size_t big[] = { TU_SANITIZED ? 20000 : 100000, 20000, 3000 };
	size_t sizes[] = { 0, 1, 2 + rng_uniform(&r, 300), big[(_i / 4 + _i / 12) % 3] };
	struct cache *bc = NULL;
	ck_assert_ok(cache_create(256 * 1024, &bc));
	struct buf file = BUF_INIT;
	for (size_t s = 0; s < 4; s++) {
		struct table_model m;
		table_model_make(&m, &r, sizes[s], 300, internal);
		struct table_options o;
		default_opts(&o, &m);
		o.compression = comp;
		o.restart_interval = interval;
		o.block_size = rng_one_in(&r, 3) ? 256 : 4096;
		o.bloom_bits_per_key = s == 2 ? 0 : 10;
		o.block_cache = rng_one_in(&r, 2) ? bc : NULL;
		build_table(&o, &m, &file);
		ck_assert_uint_le(file.len, 40u << 20);
		struct read_opts ro = { 1, (int)rng_uniform(&r, 2), 0, 0 };
		struct table *t = open_mem(&o, &file, (int)rng_uniform(&r, 2));
		check_table(t, &m, &r, &ro, file.len);
		table_close(t);
		table_model_free(&m);
	}
	buf_free(&file);
	cache_destroy(bc);
}
END_TEST

/* Reads the index block of a table straight from its bytes. */
static struct block *read_index(const struct buf *file)
{
	struct footer f;
	ck_assert_ok(footer_decode(file->data + file->len - FOOTER_LEN, file->len, MEMPATH, &f));
	struct rand_file *rf = mem_rfile(file->data, file->len, 0);
	struct block_contents bc;
	ck_assert_ok(format_read_block(rf, MEMPATH, file->len - FOOTER_LEN, &f.index, 1, NULL, &bc));
	rand_file_close(rf);
	struct block *b;
	ck_assert_ok(block_create(&bc, MEMPATH, f.index.offset, &b));
	return b;
}

/* Data blocks are compressed; the index and metaindex blocks stay raw (type
 * byte 0), so a mapped table searches its index in place. */
START_TEST(table_index_and_metaindex_are_stored_raw)
{
	struct rng r;
	rng_seed(&r, 41);
	struct table_model m;
	table_model_make(&m, &r, 2000, 30, 0);
	for (size_t i = 0; i < m.n; i++) { /* values that compress */
		free(m.e[i].v);
		m.e[i].vn = 100;
		ck_assert_ptr_nonnull(m.e[i].v = malloc(m.e[i].vn));
		memset(m.e[i].v, 'a' + (int)(i % 3), m.e[i].vn);
	}
	struct table_options o;
	default_opts(&o, &m);
	o.compression = SHALE_COMPRESSION_SNAPPY;
	unsigned char codec;
	if (compress_type_for(o.compression, &codec))
		o.compression = SHALE_COMPRESSION_NONE;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct footer f;
	ck_assert_ok(footer_decode(file.data + file.len - FOOTER_LEN, file.len, MEMPATH, &f));
	ck_assert_int_eq(file.data[f.index.offset + f.index.size], BLOCK_TYPE_NONE);
	ck_assert_int_eq(file.data[f.metaindex.offset + f.metaindex.size], BLOCK_TYPE_NONE);
	if (o.compression == SHALE_COMPRESSION_SNAPPY) {
		/* the first data block, at offset 0, is compressed */
		struct block *index = read_index(&file);
		struct iter *it = block_iter_create(index, m.cmp, MEMPATH);
		iter_seek_first(it);
		ck_assert(iter_valid(it));
		struct slice v = iter_value(it);
		struct block_handle h;
		ck_assert(block_handle_decode(&v, &h));
		ck_assert_uint_eq(h.offset, 0);
		ck_assert_int_eq(file.data[h.size], BLOCK_TYPE_SNAPPY);
		iter_destroy(it);
		block_destroy(index);
	}
	/* and the table reads back whole */
	struct table *t = open_mem(&o, &file, 1);
	struct read_opts ro = { 1, 0, 0, 0 };
	struct iter *it = table_iter(t, &ro);
	size_t n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		check_entry(it, &m, n++);
	ck_assert_uint_eq(n, m.n);
	iter_destroy(it);
	table_close(t);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

START_TEST(table_index_uses_short_separators)
{
	struct table_model m;
	m.n = 200;
	m.cmp = comparator_bytewise();
	m.internal = 0;
	m.e = calloc(m.n, sizeof(*m.e));
	for (size_t i = 0; i < m.n; i++) {
		char k[64];
		/* neighbours differ by 3 in a digit, or by 2 in the first letter,
		 * so that most separators can be cut short */
		m.e[i].kn = (size_t)snprintf(k, sizeof(k), "%c%04zu-a-fairly-long-common-suffix",
		                             (char)('a' + 2 * (i / 20)), i * 3);
		m.e[i].k = strdup(k);
		m.e[i].v = strdup("value");
		m.e[i].vn = 5;
	}
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 300;
	o.bloom_bits_per_key = 0;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct block *idx = read_index(&file);
	struct iter *it = block_iter_create(idx, comparator_bytewise(), MEMPATH);
	size_t blocks = 0, short_keys = 0;
	struct buf last = BUF_INIT;
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		blocks++;
		if (iter_key(it).size < 10)
			short_keys++;
		buf_set(&last, iter_key(it).data, iter_key(it).size);
	}
	ck_assert_uint_gt(blocks, 5);
	/* most separators are shortened; the last is the short successor "u" */
	ck_assert_uint_ge(short_keys, blocks / 2);
	ck_assert_uint_eq(last.len, 1);
	ck_assert_int_eq(last.data[0], 'a' + 18 + 1);
	/* restart interval 1: one restart point per entry */
	ck_assert_uint_eq(idx->num_restarts, blocks);
	iter_destroy(it);
	block_destroy(idx);
	buf_free(&last);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

START_TEST(table_without_filter_still_has_metaindex)
{
	struct rng r;
	rng_seed(&r, 3);
	struct table_model m;
	table_model_make(&m, &r, 50, 20, 0);
	struct table_options o;
	default_opts(&o, &m);
	o.bloom_bits_per_key = 0;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct footer f;
	ck_assert_ok(footer_decode(file.data + file.len - FOOTER_LEN, file.len, MEMPATH, &f));
	/* an empty block: just the restart array */
	ck_assert_uint_eq(f.metaindex.size, 8);
	ck_assert_uint_eq(f.metaindex.offset + f.metaindex.size + BLOCK_TRAILER_LEN, f.index.offset);
	struct table *t = open_mem(&o, &file, 0);
	struct read_opts ro = { 1, 1, 0, 0 };
	check_table(t, &m, &r, &ro, file.len);
	table_close(t);
	/* and with a filter the metaindex names it */
	o.bloom_bits_per_key = 10;
	build_table(&o, &m, &file);
	ck_assert_ptr_nonnull(memmem(file.data, file.len, FILTER_META_KEY, strlen(FILTER_META_KEY)));
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* A table whose filter says no must not read any data block. */
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
	rand_file_close(((struct counting_rfile *)f)->inner);
}
static const struct rand_file_ops counting_ops = { cr_read, cr_close, NULL };

/* The same, taking prefetch hints: each hint and each read is recorded, in
 * order (kind 'h' or 'r', the range). */
enum { HINT_LOG = 4096 };
struct hinted_rfile {
	struct counting_rfile c;
	int n;
	char kind[HINT_LOG];
	uint64_t lo[HINT_LOG], hi[HINT_LOG];
};

static void hr_log(struct hinted_rfile *h, char kind, uint64_t off, size_t n)
{
	if (h->n < HINT_LOG) {
		h->kind[h->n] = kind;
		h->lo[h->n] = off;
		h->hi[h->n] = off + n;
	}
	h->n++;
}
static int hr_read(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	hr_log((struct hinted_rfile *)f, 'r', off, n);
	return cr_read(f, off, n, scratch, out);
}
static void hr_prefetch(struct rand_file *f, uint64_t off, size_t n)
{
	hr_log((struct hinted_rfile *)f, 'h', off, n);
}
static const struct rand_file_ops hinted_ops = { hr_read, cr_close, hr_prefetch };

START_TEST(table_get_consults_filter_before_reading)
{
	struct rng r;
	rng_seed(&r, 11);
	struct table_model m;
	table_model_make(&m, &r, 2000, 40, 1);
	struct table_options o;
	default_opts(&o, &m);
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct counting_rfile cf = { { &counting_ops, 0 }, mem_rfile(file.data, file.len, 0), 0 };
	struct table *t;
	ck_assert_ok(table_open(&o, &cf.base, MEMPATH, file.len, &t));
	struct read_opts ro = { 1, 1, 0, 0 };
	struct found f = { 0, BUF_INIT, BUF_INIT };
	struct buf k = BUF_INIT;
	int misses_read = 0;
	for (int i = 0; i < 1000; i++) {
		buf_clear(&k);
		char u[32];
		int un = snprintf(u, sizeof(u), "absent-%d", i);
		ck_assert_ok(ikey_append(&k, slice_make(u, (size_t)un), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK));
		int before = cf.reads;
		ck_assert_ok(table_get(t, &ro, buf_slice(&k), on_found, &f));
		misses_read += cf.reads - before;
	}
	/* about 1% false positives, each costing one read */
	ck_assert_int_le(misses_read, 40);
	/* every present user key is found (newest version first) */
	for (size_t i = 0; i < m.n; i++) {
		struct slice uk = ikey_user_key(mkey(&m, i));
		if (i > 0 && slice_equal(uk, ikey_user_key(mkey(&m, i - 1))))
			continue;
		buf_clear(&k);
		ck_assert_ok(ikey_append(&k, uk, IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK));
		f.called = 0;
		int before = cf.reads;
		ck_assert_ok(table_get(t, &ro, buf_slice(&k), on_found, &f));
		ck_assert_int_eq(cf.reads - before, 1);
		ck_assert_int_eq(f.called, 1);
		ck_assert(slice_equal(buf_slice(&f.key), mkey(&m, i)));
	}
	table_close(t);
	buf_free(&k);
	buf_free(&f.key);
	buf_free(&f.value);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* Prefetch hints: every block read is hinted first, with exactly its own
 * bytes for a seek; a scan, once it has stepped through SCAN_RUN_BLOCKS
 * blocks, hints each block with the blocks beside it, inside the data
 * blocks, forward and backward. (A mapped file turns hints into CPU
 * prefetches; reads of files that take none are unchanged.) */
static void check_hints(const struct hinted_rfile *hf, int from, int to, int around, uint64_t data_end)
{
	int reads = 0, arounds = 0;
	for (int i = from; i < to; i++) {
		if (hf->kind[i] != 'r')
			continue;
		reads++;
		ck_assert_int_gt(i, from);
		ck_assert_int_eq(hf->kind[i - 1], 'h'); /* hinted just before */
		ck_assert_uint_le(hf->lo[i - 1], hf->lo[i]);
		ck_assert_uint_ge(hf->hi[i - 1], hf->hi[i]);
		ck_assert_uint_le(hf->hi[i - 1], data_end);
		if (hf->lo[i - 1] < hf->lo[i] || hf->hi[i - 1] > hf->hi[i])
			arounds++;
	}
	ck_assert_int_gt(reads, 4 * SCAN_RUN_BLOCKS);
	if (around)
		ck_assert_int_ge(arounds, reads - SCAN_RUN_BLOCKS - 2); /* (the file's two ends) */
	else
		ck_assert_int_eq(arounds, 0);
}

START_TEST(reads_are_hinted_scans_hint_around)
{
	struct rng r;
	rng_seed(&r, 12);
	struct table_model m;
	table_model_make(&m, &r, 3000, 40, 1);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 512;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	static struct hinted_rfile hf;
	memset(&hf, 0, sizeof(hf));
	hf.c.base.ops = &hinted_ops;
	hf.c.inner = mem_rfile(file.data, file.len, 0);
	struct table *t;
	ck_assert_ok(table_open(&o, &hf.c.base, MEMPATH, file.len, &t));
	uint64_t data_end = file.len - FOOTER_LEN; /* (the reader clamps hints to it) */
	struct read_opts ro = { 1, 0, 0, 0 };
	struct iter *it = table_iter(t, &ro);
	ck_assert_ptr_nonnull(it);
	int start = hf.n;
	for (int i = 0; i < 200; i++)
		iter_seek(it, mkey(&m, rng_uniform(&r, m.n)));
	check_hints(&hf, start, hf.n, 0, data_end);
	size_t n = 0;
	start = hf.n;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		n++;
	ck_assert_ok(iter_status(it));
	ck_assert_uint_eq(n, m.n);
	check_hints(&hf, start, hf.n, 1, data_end);
	start = hf.n;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		n--;
	ck_assert_uint_eq(n, 0);
	check_hints(&hf, start, hf.n, 1, data_end);
	ck_assert_int_le(hf.n, HINT_LOG);
	iter_destroy(it);
	table_close(t);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* ---- block cache ---- */

/* A 3,000-key model's table (block_size 0: the default), read through a
 * counting file with an 8 MiB block cache. */
struct cached_table {
	struct table_model m;
	struct cache *bc;
	struct table_options o;
	struct buf file;
	struct counting_rfile cf;
	struct table *t;
};

static void cached_table_open(struct cached_table *ct, uint64_t seed, int compression,
                              size_t block_size)
{
	struct rng r;
	rng_seed(&r, seed);
	table_model_make(&ct->m, &r, 3000, 30, 0);
	ck_assert_ok(cache_create(8 << 20, &ct->bc));
	default_opts(&ct->o, &ct->m);
	unsigned char type;
	ct->o.compression = compress_type_for(compression, &type) ? SHALE_COMPRESSION_NONE : compression;
	if (block_size)
		ct->o.block_size = block_size;
	ct->o.block_cache = ct->bc;
	buf_init(&ct->file);
	build_table(&ct->o, &ct->m, &ct->file);
	ct->cf = (struct counting_rfile){ { &counting_ops, 0 }, mem_rfile(ct->file.data, ct->file.len, 0), 0 };
	ck_assert_ok(table_open(&ct->o, &ct->cf.base, MEMPATH, ct->file.len, &ct->t));
}

/* Closes what cached_table_open opened but the table (closed by then). */
static void cached_table_free(struct cached_table *ct)
{
	cache_destroy(ct->bc);
	buf_free(&ct->file);
	table_model_free(&ct->m);
}

START_TEST(table_block_cache_serves_repeated_reads)
{
	struct cached_table ct;
	cached_table_open(&ct, 12, SHALE_COMPRESSION_SNAPPY, 0);
	struct table_model m = ct.m;
	struct cache *bc = ct.bc;
	struct table_options o = ct.o;
	struct table *t = ct.t;

	/* fill_cache off: nothing is cached */
	struct read_opts nofill = { 1, 0, 0, 0 };
	struct iter *it = table_iter(t, &nofill);
	size_t n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		n++;
	iter_destroy(it);
	ck_assert_uint_eq(n, m.n);
	ck_assert_uint_eq(cache_total_charge(bc), 0);
	ck_assert_uint_eq(bpool_mapped(cache_pool(bc)), 0); /* private blocks: malloc */

	/* point reads fill the cache; then a scan and the same reads make no
	 * read at all (a scan entered by a seek caches its first blocks, and
	 * every block here is cached already) */
	struct read_opts fill = { 0, 1, 0, 0 };
	struct found f = { 0, BUF_INIT, BUF_INIT };
	for (size_t i = 0; i < m.n; i++)
		ck_assert_ok(table_get(t, &fill, mkey(&m, i), on_found, &f));
	size_t charge = cache_total_charge(bc);
	ck_assert_uint_gt(charge, m.n * 2);
	/* the cached blocks' buffers come from the cache's pool */
	ck_assert_uint_ge(bpool_mapped(cache_pool(bc)), charge / 2);
	int reads = ct.cf.reads;
	it = table_iter(t, &fill);
	n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		check_entry(it, &m, n++);
	iter_destroy(it);
	for (size_t i = 0; i < m.n; i += 7) {
		ck_assert_ok(table_get(t, &fill, mkey(&m, i), on_found, &f));
		ck_assert(slice_equal(buf_slice(&f.value), mval(&m, i)));
	}
	ck_assert_int_eq(ct.cf.reads, reads);
	ck_assert_uint_eq(cache_total_charge(bc), charge);
	table_close(t);

	/* another table object of the same file gets its own cache id */
	struct table *t2 = open_mem(&o, &ct.file, 0);
	it = table_iter(t2, &fill);
	iter_seek_first(it);
	ck_assert(iter_valid(it));
	iter_destroy(it);
	table_close(t2);
	buf_free(&f.key);
	buf_free(&f.value);
	cached_table_free(&ct);
}
END_TEST

/* Scan resistance (sstable/two_level_iter.c): a scan caches the blocks it
 * enters by a seek and by its first 7 steps, then reads past the cache until
 * the next seek. */
static int count_blocks(const struct buf *file, const struct comparator *cmp)
{
	struct block *index = read_index(file);
	struct iter *it = block_iter_create(index, cmp, MEMPATH);
	int n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		n++;
	iter_destroy(it);
	block_destroy(index);
	return n;
}

/* Moves it over `steps` entries; returns how many reads the file saw. */
static int reads_over(struct counting_rfile *cf, struct iter *it, int forward, size_t steps)
{
	int before = cf->reads;
	for (size_t i = 0; i < steps && iter_valid(it); i++) {
		if (forward)
			iter_next(it);
		else
			iter_prev(it);
	}
	return cf->reads - before;
}

START_TEST(table_long_scans_do_not_fill_the_cache)
{
	struct cached_table ct;
	cached_table_open(&ct, 13, SHALE_COMPRESSION_NONE, 256); /* many blocks */
	struct table_model m = ct.m;
	struct table *t = ct.t;
	int blocks = count_blocks(&ct.file, m.cmp);
	ck_assert_int_gt(blocks, 40);
	struct counting_rfile *cf = &ct.cf;
	struct read_opts fill = { 0, 1, 0, 0 };

	/* a whole forward scan reads every block and caches the first eight */
	int reads = cf->reads;
	struct iter *it = table_iter(t, &fill);
	size_t n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		check_entry(it, &m, n++);
	ck_assert_uint_eq(n, m.n);
	ck_assert_int_eq(cf->reads - reads, blocks);
	/* again: those eight come from the cache */
	reads = cf->reads;
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
	}
	ck_assert_int_eq(cf->reads - reads, blocks - SCAN_RUN_BLOCKS);
	/* a reverse scan likewise caches its first eight (the last blocks) */
	reads = cf->reads;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
	}
	ck_assert_int_eq(cf->reads - reads, blocks - SCAN_RUN_BLOCKS);
	reads = cf->reads;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
	}
	ck_assert_int_eq(cf->reads - reads, blocks - 2 * SCAN_RUN_BLOCKS);

	/* a seek into the middle starts over: the first blocks after it are
	 * cached, and a short scan is cached whole */
	size_t mid = m.n / 2, short_scan = 5 * m.n / (size_t)blocks; /* about 5 blocks */
	iter_seek(it, mkey(&m, mid));
	ck_assert(iter_valid(it));
	ck_assert_int_gt(reads_over(cf, it, 1, short_scan), 2);
	iter_seek(it, mkey(&m, mid));
	ck_assert_int_eq(reads_over(cf, it, 1, short_scan), 0);
	iter_destroy(it);

	/* fill_cache off stays off */
	struct read_opts nofill = { 0, 0, 0, 0 };
	size_t charge = cache_total_charge(ct.bc);
	it = table_iter(t, &nofill);
	iter_seek(it, mkey(&m, m.n / 4));
	reads_over(cf, it, 1, m.n / 20);
	iter_destroy(it);
	ck_assert_uint_eq(cache_total_charge(ct.bc), charge);

	table_close(t);
	cached_table_free(&ct);
}
END_TEST

/* ---- damage ---- */

/* Opens and reads a damaged copy: every answer must be an error or right. */
static void check_damaged(const struct table_options *o, const char *data, size_t len,
                          const struct table_model *m, int verify, int mapped)
{
	struct table *t;
	int rc = table_open(o, mem_rfile(data, len, mapped), MEMPATH, len, &t);
	if (rc) {
		ck_assert_msg(rc == SHALE_ECORRUPT || rc == SHALE_ENOTSUP, "open: %d", rc);
		ck_assert_msg(strstr(err_msg(), MEMPATH) != NULL, "message: %s", err_msg());
		return;
	}
	struct read_opts ro = { verify, 0, 0, 0 };
	struct iter *it = table_iter(t, &ro);
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		if (verify) {
			ck_assert_uint_lt(i, m->n);
			ck_assert(slice_equal(iter_key(it), mkey(m, i)));
			ck_assert(slice_equal(iter_value(it), mval(m, i)));
		}
		i++;
		if (i > m->n * 4)
			break;
	}
	rc = iter_status(it);
	if (rc) {
		ck_assert_msg(rc == SHALE_ECORRUPT || rc == SHALE_ENOTSUP, "iter: %d", rc);
		ck_assert_msg(strstr(err_msg(), MEMPATH) != NULL, "message: %s", err_msg());
	} else if (verify) {
		ck_assert_uint_eq(i, m->n);
	}
	for (iter_seek_last(it); iter_valid(it) && i < m->n * 8; iter_prev(it))
		i++;
	iter_destroy(it);
	struct found f = { 0, BUF_INIT, BUF_INIT };
	for (size_t j = 0; j < m->n; j++) {
		f.called = 0;
		rc = table_get(t, &ro, mkey(m, j), on_found, &f);
		if (rc) {
			ck_assert(rc == SHALE_ECORRUPT || rc == SHALE_ENOTSUP);
			continue;
		}
		if (verify) {
			ck_assert_msg(f.called == 1, "key %zu lost", j);
			ck_assert(slice_equal(buf_slice(&f.key), mkey(m, j)));
			ck_assert(slice_equal(buf_slice(&f.value), mval(m, j)));
		}
	}
	buf_free(&f.key);
	buf_free(&f.value);
	table_close(t);
}

/* Every byte of a small table (several data blocks, a filter, both kinds of
 * compression) changed in turn: detected or harmless, never wrong. */
START_TEST(table_damage_every_byte_is_detected_or_harmless)
{
	struct rng r;
	rng_seed(&r, 21 + (uint64_t)_i);
	struct table_model m;
	table_model_make(&m, &r, 60, 24, _i % 2);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 256;
	o.restart_interval = 4;
	o.compression = _i < 2 ? SHALE_COMPRESSION_SNAPPY : SHALE_COMPRESSION_NONE;
	unsigned char type;
	if (compress_type_for(o.compression, &type))
		o.compression = SHALE_COMPRESSION_NONE;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	char *copy = malloc(file.len);
	for (size_t pos = 0; pos < file.len; pos++) {
		memcpy(copy, file.data, file.len);
		copy[pos] ^= (char)(1u << rng_uniform(&r, 8));
		check_damaged(&o, copy, file.len, &m, 1, (int)(pos & 1));
		/* unverified reads may return garbage but must never crash */
		if (pos % 3 == 0)
			check_damaged(&o, copy, file.len, &m, 0, (int)(pos & 2) != 0);
	}
	/* cut short anywhere */
	for (size_t len = 0; len < file.len; len += 1 + len / 8)
		check_damaged(&o, file.data, len, &m, 1, 0);
	free(copy);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* Random positions of a larger table, compressed with each codec. */
START_TEST(table_damage_sampled_positions)
{
	int comp = compressions[_i];
	unsigned char type;
	if (compress_type_for(comp, &type))
		return;
	struct rng r;
	rng_seed(&r, 31 + (uint64_t)_i);
	struct table_model m;
	table_model_make(&m, &r, 600, 60, 1);
	struct table_options o;
	default_opts(&o, &m);
	o.compression = comp;
	o.block_size = 1024;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	char *copy = malloc(file.len);
	for (int s = 0; s < 120; s++) {
		memcpy(copy, file.data, file.len);
		size_t pos = rng_uniform(&r, file.len);
		copy[pos] = (char)rng_next(&r);
		check_damaged(&o, copy, file.len, &m, 1, s & 1);
	}
	free(copy);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* Rewrites the block at h (raw contents) with a valid CRC and type byte. */
static void restamp_block(struct buf *file, const struct block_handle *h, unsigned char type)
{
	char *p = file->data + h->offset;
	p[h->size] = (char)type;
	uint32_t crc = crc32c_value(p, h->size + 1);
	encode_fixed32(p + h->size + 1, crc32c_mask(crc));
}

START_TEST(table_bad_handles_and_types_are_corruption)
{
	struct rng r;
	rng_seed(&r, 41);
	struct table_model m;
	table_model_make(&m, &r, 300, 20, 0);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 512;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct footer f;
	ck_assert_ok(footer_decode(file.data + file.len - FOOTER_LEN, file.len, MEMPATH, &f));
	struct table *t;
	char *copy = malloc(file.len);

	/* too short to hold a footer */
	ck_assert_int_eq(table_open(&o, mem_rfile(file.data, 47, 0), MEMPATH, 47, &t), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), MEMPATH));

	/* index handle past the end, and overlapping the footer */
	struct footer bad = f;
	bad.index.size = file.len;
	memcpy(copy, file.data, file.len);
	footer_encode(&bad, copy + file.len - FOOTER_LEN);
	ck_assert_int_eq(table_open(&o, mem_rfile(copy, file.len, 0), MEMPATH, file.len, &t),
	                 SHALE_ECORRUPT);
	bad = f;
	bad.index.size += 1; /* its trailer now reaches into the footer */
	footer_encode(&bad, copy + file.len - FOOTER_LEN);
	ck_assert_int_eq(table_open(&o, mem_rfile(copy, file.len, 0), MEMPATH, file.len, &t),
	                 SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "footer"));

	/* a file size that disagrees with the file (the footer is not at the end) */
	ck_assert_int_eq(table_open(&o, mem_rfile(file.data, file.len, 0), MEMPATH, file.len - 1, &t),
	                 SHALE_ECORRUPT);

	/* an unknown compression type with a good CRC: the first data block */
	struct block *idx = read_index(&file);
	struct iter *ii = block_iter_create(idx, comparator_bytewise(), MEMPATH);
	iter_seek_first(ii);
	struct slice hv = iter_value(ii);
	struct block_handle first;
	ck_assert(block_handle_decode(&hv, &first));
	iter_destroy(ii);
	block_destroy(idx);
	memcpy(copy, file.data, file.len);
	restamp_block(&(struct buf){ copy, file.len, file.len }, &first, 0x42);
	ck_assert_ok(table_open(&o, mem_rfile(copy, file.len, 0), MEMPATH, file.len, &t));
	struct read_opts ro = { 1, 1, 0, 0 };
	struct iter *it = table_iter(t, &ro);
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_ECORRUPT);
	char want[64];
	snprintf(want, sizeof(want), "offset %llu", (unsigned long long)first.offset);
	ck_assert_msg(strstr(err_msg(), MEMPATH) && strstr(err_msg(), want), "%s", err_msg());
	/* the reserved zstd type too, found by a point lookup */
	iter_destroy(it);
	table_close(t);
	restamp_block(&(struct buf){ copy, file.len, file.len }, &first, 2);
	ck_assert_ok(table_open(&o, mem_rfile(copy, file.len, 0), MEMPATH, file.len, &t));
	struct found fd = { 0, BUF_INIT, BUF_INIT };
	ck_assert_int_eq(table_get(t, &ro, mkey(&m, 0), on_found, &fd), SHALE_ECORRUPT);
	ck_assert_int_eq(fd.called, 0);
	table_close(t);

	/* a damaged filter block fails the open (its CRC is always checked) */
	memcpy(copy, file.data, file.len);
	struct block *meta;
	{
		struct rand_file *rf = mem_rfile(file.data, file.len, 0);
		struct block_contents bc;
		ck_assert_ok(format_read_block(rf, MEMPATH, file.len - FOOTER_LEN, &f.metaindex, 1, NULL, &bc));
		rand_file_close(rf);
		ck_assert_ok(block_create(&bc, MEMPATH, f.metaindex.offset, &meta));
	}
	struct iter *mi = block_iter_create(meta, comparator_bytewise(), MEMPATH);
	iter_seek_first(mi);
	ck_assert(slice_equal(iter_key(mi), slice_from_str(FILTER_META_KEY)));
	hv = iter_value(mi);
	struct block_handle fh;
	ck_assert(block_handle_decode(&hv, &fh));
	iter_destroy(mi);
	block_destroy(meta);
	copy[fh.offset + 1] ^= 0x10;
	struct rand_file *rf = mem_rfile(copy, file.len, 0);
	ck_assert_int_eq(table_open(&o, rf, MEMPATH, file.len, &t), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "checksum"));
	/* with good CRCs but a filter array offset outside the block: corruption too */
	memcpy(copy, file.data, file.len);
	encode_fixed32(copy + fh.offset + fh.size - 5, (uint32_t)fh.size);
	restamp_block(&(struct buf){ copy, file.len, file.len }, &fh, 0);
	ck_assert_int_eq(table_open(&o, mem_rfile(copy, file.len, 0), MEMPATH, file.len, &t),
	                 SHALE_ECORRUPT);

	buf_free(&fd.key);
	buf_free(&fd.value);
	free(copy);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* ---- I/O errors through the fault env ---- */


START_TEST(table_read_errors_surface_and_stop_iteration)
{
	char *dir = tu_mkdtemp("table-fault");
	struct env *fe;
	ck_assert_ok(fault_env_create(env_posix_default(), &fe));
	struct rng r;
	rng_seed(&r, 51);
	struct table_model m;
	table_model_make(&m, &r, 2000, 30, 0);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 1024;
	char *path = write_table_file(fe, dir, 5, &o, &m, 0);
	uint64_t size;
	ck_assert_ok(env_file_size(fe, path, &size));

	/* failures at each read of the open: the open fails and closes the file */
	for (int skip = 0; skip < 4; skip++) {
		struct rand_file *rf;
		ck_assert_ok(env_open_rand(fe, path, &rf));
		struct fault_rule rule = { FAULT_READ, "000005", skip, 1, FAULT_EIO };
		ck_assert_ok(fault_env_add_rule(fe, &rule));
		struct table *t;
		int rc = table_open(&o, rf, path, size, &t);
		fault_env_clear_rules(fe);
		ck_assert_int_eq(rc, SHALE_EIO);
		ck_assert_ptr_nonnull(strstr(err_msg(), path));
	}

	struct rand_file *rf;
	ck_assert_ok(env_open_rand(fe, path, &rf));
	struct table *t;
	ck_assert_ok(table_open(&o, rf, path, size, &t));
	struct read_opts ro = { 1, 0, 0, 0 };
	/* the third data block's read fails once: the scan stops there */
	struct fault_rule rule = { FAULT_READ, "000005", 2, 1, FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(fe, &rule));
	struct iter *it = table_iter(t, &ro);
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		check_entry(it, &m, i++);
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(err_msg(), path));
	ck_assert_uint_gt(i, 0);
	ck_assert_uint_lt(i, m.n);
	/* nothing after the failed block is ever yielded, even when reads work again */
	fault_env_clear_rules(fe);
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	iter_destroy(it);
	fault_env_clear_rules(fe);

	/* backwards too */
	struct fault_rule rule2 = { FAULT_READ, "000005", 1, 1, FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(fe, &rule2));
	it = table_iter(t, &ro);
	i = m.n;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		check_entry(it, &m, --i);
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	ck_assert_uint_gt(i, 0);
	iter_destroy(it);
	fault_env_clear_rules(fe);

	/* point lookups */
	struct fault_rule all = { FAULT_READ, "000005", 0, -1, FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(fe, &all));
	struct found f = { 0, BUF_INIT, BUF_INIT };
	ck_assert_int_eq(table_get(t, &ro, mkey(&m, 10), on_found, &f), SHALE_EIO);
	ck_assert_int_eq(f.called, 0);
	fault_env_clear_rules(fe);
	ck_assert_ok(table_get(t, &ro, mkey(&m, 10), on_found, &f));
	ck_assert_int_eq(f.called, 1);
	table_close(t);

	buf_free(&f.key);
	buf_free(&f.value);
	free(path);
	table_model_free(&m);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* The mapped env: uncompressed blocks point into the mapping. */
START_TEST(table_reads_through_mmap_env)
{
	char *dir = tu_mkdtemp("table-mmap");
	struct env *env;
	ck_assert_ok(env_posix_create(1, &env));
	struct rng r;
	rng_seed(&r, 91);
	struct table_model m;
	table_model_make(&m, &r, 5000, 50, 1);
	struct table_options o;
	default_opts(&o, &m);
	struct cache *bc;
	ck_assert_ok(cache_create(1 << 20, &bc));
	o.block_cache = bc;
	char *path = write_table_file(env, dir, 9, &o, &m, 0);
	uint64_t size;
	ck_assert_ok(env_file_size(env, path, &size));
	struct rand_file *rf;
	ck_assert_ok(env_open_rand(env, path, &rf));
	ck_assert_int_eq(rf->mapped, 1);
	struct table *t;
	ck_assert_ok(table_open(&o, rf, path, size, &t));
	struct read_opts ro = { 1, 1, 0, 0 };
	check_table(t, &m, &r, &ro, size);
	/* uncompressed blocks in a mapping are not cached */
	ck_assert_uint_eq(cache_total_charge(bc), 0);
	table_close(t);
	cache_destroy(bc);
	free(path);
	table_model_free(&m);
	env_destroy(env);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(table_builder_rejects_bad_options)
{
	struct table_model m = { NULL, 0, comparator_bytewise(), 0 };
	struct table_options o;
	default_opts(&o, &m);
	struct buf out = BUF_INIT;
	struct mem_wfile wf = { { &mem_wfile_ops }, &out };
	struct table_builder *b;
	o.compression = 9;
	ck_assert_int_eq(table_builder_create(&o, &wf.base, MEMPATH, &b), SHALE_EINVAL);
	o.compression = SHALE_COMPRESSION_NONE;
	o.restart_interval = 0;
	ck_assert_int_eq(table_builder_create(&o, &wf.base, MEMPATH, &b), SHALE_EINVAL);
	o.restart_interval = 16;
	ck_assert_ok(table_builder_create(&o, &wf.base, MEMPATH, &b));
	table_builder_destroy(b); /* abandoned before finish */
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

/* ---- salvage reading (repair) ---- */

/* The data blocks of a clean table, from its index: handles and how many
 * entries each holds. */
struct block_map {
	struct block_handle *h;
	size_t *count;
	size_t n;
	struct block_handle index, filter;
};

static void map_blocks(const struct table_options *o, const struct buf *file, struct block_map *bm)
{
	struct block *ib = read_index(file);
	struct footer f;
	ck_assert_ok(footer_decode(file->data + file->len - FOOTER_LEN, file->len, MEMPATH, &f));
	bm->index = f.index;
	bm->filter.offset = bm->filter.size = 0;
	bm->n = 0;
	bm->h = NULL;
	bm->count = NULL;
	struct block_iter ii;
	block_iter_init(&ii, ib, o->cmp, MEMPATH);
	for (iter_seek_first(&ii.base); iter_valid(&ii.base); iter_next(&ii.base)) {
		bm->h = realloc(bm->h, (bm->n + 1) * sizeof(*bm->h));
		bm->count = realloc(bm->count, (bm->n + 1) * sizeof(*bm->count));
		struct slice v = iter_value(&ii.base);
		ck_assert(block_handle_decode(&v, &bm->h[bm->n]));
		struct rand_file *rf = mem_rfile(file->data, file->len, 0);
		struct block_contents bc;
		ck_assert_ok(format_read_block(rf, MEMPATH, file->len - FOOTER_LEN, &bm->h[bm->n], 1, NULL, &bc));
		rand_file_close(rf);
		struct block *b;
		ck_assert_ok(block_create(&bc, MEMPATH, bm->h[bm->n].offset, &b));
		struct block_iter bi;
		block_iter_init(&bi, b, comparator_bytewise(), MEMPATH);
		size_t c = 0;
		for (iter_seek_first(&bi.base); iter_valid(&bi.base); iter_next(&bi.base))
			c++;
		ck_assert_int_eq(bi.status, 0);
		block_iter_release(&bi);
		block_destroy(b);
		bm->count[bm->n++] = c;
	}
	ck_assert_int_eq(ii.status, 0);
	block_iter_release(&ii);
	block_destroy(ib);
}

static void free_block_map(struct block_map *bm)
{
	free(bm->h);
	free(bm->count);
}

/* The data block holding byte pos (with its trailer), or bm->n. */
static size_t block_at(const struct block_map *bm, size_t pos)
{
	for (size_t j = 0; j < bm->n; j++)
		if (pos >= bm->h[j].offset && pos < bm->h[j].offset + bm->h[j].size + BLOCK_TRAILER_LEN)
			return j;
	return bm->n;
}

/* Salvages data (len bytes): every entry yielded must be the model's, in
 * order; returns how many, or (size_t)-1 when the table could not be opened
 * (then *open_rc is the code). */
static size_t salvage_count(const struct table_options *o, const char *data, size_t len,
                            const struct table_model *m, int mapped, struct table_salvage_report *rep,
                            int *open_rc)
{
	struct iter *it;
	*open_rc = table_salvage_open(o, mem_rfile(data, len, mapped), MEMPATH, len, rep, &it);
	if (*open_rc) {
		ck_assert_ptr_null(it);
		ck_assert_msg(strstr(err_msg(), MEMPATH) != NULL, "message: %s", err_msg());
		return (size_t)-1;
	}
	size_t n = 0, at = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		/* the entry is the model's next one, or a later one */
		while (at < m->n && !slice_equal(iter_key(it), mkey(m, at)))
			at++;
		ck_assert_msg(at < m->n, "salvaged entry %zu is not in the model", n);
		ck_assert_msg(slice_equal(iter_value(it), mval(m, at)), "value of entry %zu differs", at);
		at++;
		n++;
	}
	ck_assert_int_eq(iter_status(it), 0);
	ck_assert_uint_eq(rep->entries, n);
	iter_destroy(it);
	return n;
}

/* A byte changed in one data block: the salvage iterator keeps every other
 * block's entries and reports the one block, where table_iter stops at the
 * damage; a damaged filter costs table_open, not the salvage. */
START_TEST(table_salvage_keeps_every_readable_block)
{
	int comp = compressions[_i % 4];
	unsigned char type;
	if (compress_type_for(comp, &type))
		comp = SHALE_COMPRESSION_NONE;
	struct rng r;
	rng_seed(&r, 61 + (uint64_t)_i);
	struct table_model m;
	table_model_make(&m, &r, 800, 40, 1);
	struct table_options o;
	default_opts(&o, &m);
	o.compression = comp;
	o.block_size = 512;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct block_map bm;
	map_blocks(&o, &file, &bm);
	ck_assert_uint_gt(bm.n, 8);

	struct table_salvage_report rep;
	int orc;
	ck_assert_uint_eq(salvage_count(&o, file.data, file.len, &m, 0, &rep, &orc), m.n);
	ck_assert_uint_eq(rep.blocks_kept, bm.n);
	ck_assert_uint_eq(rep.blocks_damaged, 0);
	ck_assert_str_eq(rep.first_damage, "");

	char *copy = malloc(file.len);
	for (size_t j = 0; j < bm.n; j += 1 + (size_t)rng_uniform(&r, 3)) {
		memcpy(copy, file.data, file.len);
		copy[bm.h[j].offset + rng_uniform(&r, bm.h[j].size)] ^= 0x10;
		size_t got = salvage_count(&o, copy, file.len, &m, (int)(j & 1), &rep, &orc);
		ck_assert_uint_eq(got, m.n - bm.count[j]);
		ck_assert_uint_eq(rep.blocks_kept, bm.n - 1);
		ck_assert_uint_eq(rep.blocks_damaged, 1);
		ck_assert_msg(strstr(rep.first_damage, MEMPATH) && strstr(rep.first_damage, "checksum"),
		              "report: %s", rep.first_damage);
		/* normal reads still never step over the damage */
		struct table *t = open_mem(&o, &(struct buf){ copy, file.len, file.len }, 0);
		struct read_opts ro = { 1, 0, 0, 0 };
		struct iter *it = table_iter(t, &ro);
		size_t i = 0;
		for (iter_seek_first(it); iter_valid(it); iter_next(it))
			check_entry(it, &m, i++);
		ck_assert_int_eq(iter_status(it), SHALE_ECORRUPT);
		size_t before = 0;
		for (size_t b = 0; b < j; b++)
			before += bm.count[b];
		ck_assert_uint_eq(i, before);
		iter_destroy(it);
		table_close(t);
	}
	free(copy);
	free_block_map(&bm);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* Every byte of a small table changed in turn: the salvage open fails only
 * for the index block and the footer; otherwise exactly the entries of the
 * damaged data block (if any) are missing, and never a wrong one appears. */
START_TEST(table_salvage_every_byte)
{
	struct rng r;
	rng_seed(&r, 71 + (uint64_t)_i);
	struct table_model m;
	table_model_make(&m, &r, 80, 24, 1);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 256;
	o.restart_interval = 4;
	o.compression = _i ? SHALE_COMPRESSION_SNAPPY : SHALE_COMPRESSION_NONE;
	unsigned char type;
	if (compress_type_for(o.compression, &type))
		o.compression = SHALE_COMPRESSION_NONE;
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct block_map bm;
	map_blocks(&o, &file, &bm);
	char *copy = malloc(file.len);
	struct table_salvage_report rep;
	for (size_t pos = 0; pos < file.len; pos++) {
		memcpy(copy, file.data, file.len);
		copy[pos] ^= (char)(1u << rng_uniform(&r, 8));
		int orc;
		size_t got = salvage_count(&o, copy, file.len, &m, (int)(pos & 1), &rep, &orc);
		int in_index = pos >= bm.index.offset && pos < bm.index.offset + bm.index.size + BLOCK_TRAILER_LEN;
		int in_footer = pos >= file.len - FOOTER_LEN;
		if (got == (size_t)-1) {
			ck_assert_msg(in_index || in_footer, "open failed for a byte at %zu", pos);
			ck_assert_int_eq(orc, SHALE_ECORRUPT);
			continue;
		}
		ck_assert_msg(!in_index, "a damaged index went unnoticed at %zu", pos);
		size_t j = block_at(&bm, pos);
		ck_assert_uint_eq(got, j < bm.n ? m.n - bm.count[j] : m.n);
		ck_assert_uint_eq(rep.blocks_damaged, j < bm.n);
	}
	free(copy);
	free_block_map(&bm);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

/* Blocks whose checksums verify but whose keys are wrong (written by a
 * builder with another order): an entry out of internal-key order or not an
 * internal key ends its block; the entries before it and every other block
 * are kept, and the keys yielded increase strictly. */
START_TEST(table_salvage_stops_a_block_at_a_bad_key)
{
	/* bytewise order, read as internal keys: "k050" at seq 2 follows seq 1
	 * bytewise but must precede it; "k100" has no 8-byte tag */
	struct buf file = BUF_INIT;
	struct table_options wo;
	memset(&wo, 0, sizeof(wo));
	wo.cmp = comparator_bytewise();
	wo.block_size = 200;
	wo.restart_interval = 4;
	wo.compression = SHALE_COMPRESSION_NONE;
	struct mem_wfile wf = { { &mem_wfile_ops }, &file };
	struct table_builder *b;
	ck_assert_ok(table_builder_create(&wo, &wf.base, MEMPATH, &b));
	char k[32];
	struct buf ik = BUF_INIT;
	int bad_short = 100, bad_order = 50;
	for (int i = 0; i < 150; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		buf_clear(&ik);
		if (i == bad_short) {
			ck_assert_ok(buf_set(&ik, k, 4)); /* 4 bytes: no tag */
		} else {
			ck_assert_ok(ikey_append(&ik, slice_from_str(k), 1, IKEY_TYPE_VALUE));
		}
		ck_assert_ok(table_builder_add(b, buf_slice(&ik), slice_from_str("value-of-the-key")));
		if (i == bad_order) {
			buf_clear(&ik);
			ck_assert_ok(ikey_append(&ik, slice_from_str(k), 2, IKEY_TYPE_VALUE));
			ck_assert_ok(table_builder_add(b, buf_slice(&ik), slice_from_str("newer")));
		}
	}
	ck_assert_ok(table_builder_finish(b));
	table_builder_destroy(b);

	/* which entries sit where: walk the blocks in bytewise order */
	struct block_map bm;
	map_blocks(&wo, &file, &bm);
	ck_assert_uint_gt(bm.n, 10);
	size_t first = 0, block_order = 0, block_short = 0, order_pos = 0, short_pos = 0;
	for (size_t j = 0; j < bm.n; j++) {
		/* entry indexes first .. first + count - 1; the extra entry follows k050 */
		size_t last = first + bm.count[j];
		size_t e_order = (size_t)bad_order + 1, e_short = (size_t)bad_short + 1;
		if (e_order >= first && e_order < last) {
			block_order = j;
			order_pos = e_order - first;
		}
		if (e_short >= first && e_short < last) {
			block_short = j;
			short_pos = e_short - first;
		}
		first = last;
	}
	ck_assert_uint_ne(block_order, block_short);
	size_t expect = 151 - (bm.count[block_order] - order_pos) - (bm.count[block_short] - short_pos);

	struct ikey_comparator ic;
	ikey_comparator_init(&ic, comparator_bytewise());
	struct table_options ro = wo;
	ro.cmp = &ic.base;
	ro.internal_keys = 1;
	struct table_salvage_report rep;
	struct iter *it;
	ck_assert_ok(table_salvage_open(&ro, mem_rfile(file.data, file.len, 0), MEMPATH, file.len,
	                                 &rep, &it));
	size_t n = 0;
	struct buf prev = BUF_INIT;
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		struct parsed_ikey pk;
		ck_assert(ikey_parse(iter_key(it), &pk));
		ck_assert_uint_eq(pk.seq, 1);
		if (n > 0)
			ck_assert_int_lt(ikey_compare(comparator_bytewise(), buf_slice(&prev), iter_key(it)), 0);
		ck_assert_ok(buf_set(&prev, iter_key(it).data, iter_key(it).size));
		n++;
	}
	ck_assert_int_eq(iter_status(it), 0);
	ck_assert_uint_eq(n, expect);
	ck_assert_uint_eq(rep.blocks_damaged, 2);
	ck_assert_uint_eq(rep.blocks_kept, bm.n - 2);
	ck_assert_ptr_nonnull(strstr(rep.first_damage, "out of order"));
	/* forward only */
	iter_seek(it, buf_slice(&prev));
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_EINVAL);
	iter_destroy(it);
	buf_free(&prev);
	buf_free(&ik);
	free_block_map(&bm);
	buf_free(&file);
}
END_TEST

/* A read error under one block costs that block only; an index that cannot
 * be read fails the open. */
START_TEST(table_salvage_steps_over_read_errors)
{
	char *dir = tu_mkdtemp("table-salvage");
	struct env *fe;
	ck_assert_ok(fault_env_create(env_posix_default(), &fe));
	struct rng r;
	rng_seed(&r, 81);
	struct table_model m;
	table_model_make(&m, &r, 2000, 30, 0);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 1024;
	char *path = write_table_file(fe, dir, 5, &o, &m, 0);
	uint64_t size;
	ck_assert_ok(env_file_size(fe, path, &size));
	struct table_salvage_report rep;

	/* reads: footer, index, then the data blocks */
	for (int skip = 0; skip < 2; skip++) {
		struct rand_file *rf;
		ck_assert_ok(env_open_rand(fe, path, &rf));
		struct fault_rule rule = { FAULT_READ, "000005", skip, 1, FAULT_EIO };
		ck_assert_ok(fault_env_add_rule(fe, &rule));
		struct iter *it;
		ck_assert_int_eq(table_salvage_open(&o, rf, path, size, &rep, &it), SHALE_EIO);
		fault_env_clear_rules(fe);
	}
	struct rand_file *rf;
	ck_assert_ok(env_open_rand(fe, path, &rf));
	struct iter *it;
	ck_assert_ok(table_salvage_open(&o, rf, path, size, &rep, &it));
	struct fault_rule rule = { FAULT_READ, "000005", 3, 1, FAULT_EIO };
	ck_assert_ok(fault_env_add_rule(fe, &rule));
	size_t n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		n++;
	fault_env_clear_rules(fe);
	ck_assert_int_eq(iter_status(it), 0);
	ck_assert_uint_eq(rep.blocks_damaged, 1);
	ck_assert_uint_gt(n, m.n * 9 / 10);
	ck_assert_uint_lt(n, m.n);
	ck_assert_ptr_nonnull(strstr(rep.first_damage, path));
	iter_destroy(it);
	free(path);
	table_model_free(&m);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST


/* ---- scan-ahead ---- */

/* A memory file that tells which thread read it: reads on the thread that
 * armed it count as the scan's own, others as the worker's. */
struct watched_rfile {
	struct mem_rfile m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t scan_thread;
	int armed;
	int scan_reads, worker_reads; /* (mu) */
	int gate_closed;              /* (mu) the worker's reads wait while set */
	int worker_waiting;           /* (mu) a worker read is waiting at the gate */
	/* (mu) the offset of the first worker read held at the gate, and
	 * whether the scan read a later offset before that one */
	int held;
	uint64_t held_off;
	int scan_read_held, scan_read_past_held_first;
};

static int wr_read(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	struct watched_rfile *w = (struct watched_rfile *)f;
	pthread_mutex_lock(&w->mu);
	if (w->armed) {
		if (pthread_equal(pthread_self(), w->scan_thread)) {
			w->scan_reads++;
			if (w->held && off == w->held_off)
				w->scan_read_held = 1;
			else if (w->held && off > w->held_off && !w->scan_read_held)
				w->scan_read_past_held_first = 1;
		} else {
			w->worker_reads++;
			if (w->gate_closed && !w->held) {
				w->held = 1;
				w->held_off = off;
			}
		}
		pthread_cond_broadcast(&w->cv);
		if (!pthread_equal(pthread_self(), w->scan_thread)) {
			while (w->gate_closed) {
				w->worker_waiting = 1;
				pthread_cond_broadcast(&w->cv);
				pthread_cond_wait(&w->cv, &w->mu);
			}
			w->worker_waiting = 0;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return mr_read(f, off, n, scratch, out);
}
static void wr_close(struct rand_file *f)
{
	(void)f; /* the test owns it */
}
static const struct rand_file_ops watched_ops = { wr_read, wr_close, NULL };

/* A table with many small blocks and the read options of a DB iterator's
 * scans (scan_ahead on). */
static int scan_codec(void)
{
	unsigned char type;
	return compress_type_for(SHALE_COMPRESSION_SNAPPY, &type) ? SHALE_COMPRESSION_NONE
	                                                          : SHALE_COMPRESSION_SNAPPY;
}

/* A table of many small blocks read through a watched file, with a scan
 * worker; the calling thread is the scan's. */
struct watched_table {
	struct table_model m;
	struct table_options o;
	struct buf file;
	struct watched_rfile w;
	struct table *t;
	int blocks;
};

static void watched_table_open(struct watched_table *wt, uint64_t seed, size_t n, int mapped, int gate_closed,
                               struct scan_pace *pace)
{
	struct rng r;
	rng_seed(&r, seed);
	table_model_make(&wt->m, &r, n, 24, 1);
	default_opts(&wt->o, &wt->m);
	wt->o.block_size = 256;
	wt->o.compression = scan_codec();
	ck_assert_ok(worker_create(&wt->o.scan_worker));
	wt->o.scan_pace = pace;
	buf_init(&wt->file);
	build_table(&wt->o, &wt->m, &wt->file);
	wt->blocks = count_blocks(&wt->file, wt->m.cmp);
	struct watched_rfile *w = &wt->w;
	memset(w, 0, sizeof(*w));
	w->m.base.ops = &watched_ops;
	w->m.base.mapped = mapped;
	w->m.data = wt->file.data;
	w->m.size = wt->file.len;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	ck_assert_ok(table_open(&wt->o, &w->m.base, MEMPATH, wt->file.len, &wt->t));
	pthread_mutex_lock(&w->mu);
	w->scan_thread = pthread_self();
	w->armed = 1; /* (from here on: the table's open read the index itself) */
	w->gate_closed = gate_closed;
	pthread_mutex_unlock(&w->mu);
}

static void watched_table_close(struct watched_table *wt)
{
	table_close(wt->t);
	worker_destroy(wt->o.scan_worker);
	pthread_cond_destroy(&wt->w.cv);
	pthread_mutex_destroy(&wt->w.mu);
	buf_free(&wt->file);
	table_model_free(&wt->m);
}

/* Scans the whole table forward with the options of a DB iterator's scans,
 * checking every entry; once the scan has loaded SCAN_RUN_BLOCKS + 1 blocks
 * itself (the queue has just started), waits until until(w) holds. */
static void scan_watched(struct watched_table *wt, int (*until)(const struct watched_rfile *))
{
	struct watched_rfile *w = &wt->w;
	struct read_opts ro = { 1, 0, 0, 1 };
	struct iter *it = table_iter(wt->t, &ro);
	ck_assert_ptr_nonnull(it);
	size_t i = 0;
	int waited = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		check_entry(it, &wt->m, i++);
		pthread_mutex_lock(&w->mu);
		if (!waited && w->scan_reads == SCAN_RUN_BLOCKS + 1) {
			while (!until(w))
				pthread_cond_wait(&w->cv, &w->mu);
			waited = 1;
		}
		pthread_mutex_unlock(&w->mu);
	}
	ck_assert_int_eq(iter_status(it), 0);
	ck_assert_uint_eq(i, wt->m.n);
	ck_assert(waited);
	pthread_mutex_lock(&w->mu);
	w->gate_closed = 0; /* (a held worker may finish now) */
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	iter_destroy(it); /* waits for the worker's run, if one is in progress */
}

static int worker_has_read(const struct watched_rfile *w)
{
	return w->worker_reads > 0;
}

/* The blocks after the first SCAN_RUN_BLOCKS + 1 are queued for the worker:
 * the scan waits there until the worker has read one. */
START_TEST(table_scan_ahead_decodes_on_the_worker)
{
	struct watched_table wt;
	watched_table_open(&wt, 0x5ca9, 6000, _i, 0, NULL);
	ck_assert_int_gt(wt.blocks, 4 * AHEAD_TEST_SLOTS);
	scan_watched(&wt, worker_has_read);
	pthread_mutex_lock(&wt.w.mu);
	ck_assert_int_gt(wt.w.worker_reads, 0);
	/* every block was read, by one thread or the other (by both when the
	 * scan found the worker slow on it) */
	ck_assert_int_ge(wt.w.scan_reads + wt.w.worker_reads, wt.blocks);
	pthread_mutex_unlock(&wt.w.mu);
	watched_table_close(&wt);
}
END_TEST

static int worker_is_held(const struct watched_rfile *w)
{
	return w->worker_waiting;
}

/* A worker that stalls in the middle of a block (here: held in its read)
 * does not hold the scan: once the scan reaches that block, it first
 * decodes the queued blocks after it itself (a slow worker shares the work),
 * then, having waited a moment, reads the stalled block itself, and the
 * worker drops what it read. The worker is let go only after the scan has
 * ended. */
START_TEST(table_scan_ahead_does_not_wait_for_a_stalled_worker)
{
	struct watched_table wt;
	watched_table_open(&wt, 0x5cae, 4000, _i, 1, NULL);
	scan_watched(&wt, worker_is_held);
	pthread_mutex_lock(&wt.w.mu);
	ck_assert(wt.w.held);
	ck_assert(wt.w.scan_read_held); /* (abandoned: the worker never let go) */
	ck_assert(wt.w.scan_read_past_held_first);
	ck_assert_int_eq(wt.w.worker_reads, 1);
	ck_assert_int_eq(wt.w.scan_reads, wt.blocks); /* the stalled block too */
	pthread_mutex_unlock(&wt.w.mu);
	watched_table_close(&wt);
}
END_TEST

/* A clock for pacing that moves one nanosecond a read: every block then
 * costs the scan 1 ns, whichever way it goes. */
static atomic_ullong pace_now;
static uint64_t pace_tick(void)
{
	return atomic_fetch_add(&pace_now, 1) + 1;
}

static int at_once(const struct watched_rfile *w)
{
	(void)w;
	return 1;
}

/* Scans that have gone faster alone queue nothing for the worker (its thread
 * never starts): every block is the scan's own read (short of the first
 * probe window, which the table is too small to reach), and the alone figure
 * took the window's 1 ns a block while the ahead one stayed. */
START_TEST(table_scan_pacing_goes_alone_when_alone_was_faster)
{
	struct scan_pace pace = { .clock = pace_tick };
	atomic_store(&pace.ns[0][0], 1000000);
	atomic_store(&pace.ns[0][1], 100);
	struct watched_table wt;
	watched_table_open(&wt, 0x5cb1, 6000, _i, 0, &pace);
	ck_assert_int_gt(wt.blocks, SCAN_RUN_BLOCKS + 2 * SCAN_PACE_WINDOW);
	ck_assert_int_lt(wt.blocks, SCAN_RUN_BLOCKS + (SCAN_PACE_PROBE - 1) * SCAN_PACE_WINDOW);
	scan_watched(&wt, at_once);
	pthread_mutex_lock(&wt.w.mu);
	ck_assert_int_eq(wt.w.worker_reads, 0);
	ck_assert_int_eq(wt.w.scan_reads, wt.blocks);
	pthread_mutex_unlock(&wt.w.mu);
	ck_assert(!worker_has_thread(wt.o.scan_worker)); /* nothing was ever queued */
	ck_assert_uint_eq(atomic_load(&pace.ns[0][0]), 1000000);
	ck_assert_uint_lt(atomic_load(&pace.ns[0][1]), 100); /* 100 -> 100 - 25 + 1/4 ... */
	ck_assert_uint_eq(atomic_load(&pace.ns[1][0]) + atomic_load(&pace.ns[1][1]), 0);
	watched_table_close(&wt);
}
END_TEST

/* With nothing measured yet, a scan's first window goes ahead (the worker
 * reads blocks: the scan waits until it has) and its second alone; both
 * figures are then known, forward only. */
START_TEST(table_scan_pacing_measures_both_ways_first)
{
	struct scan_pace pace = { .clock = pace_tick };
	struct watched_table wt;
	watched_table_open(&wt, 0x5cb2, 6000, _i, 0, &pace);
	ck_assert_int_gt(wt.blocks, SCAN_RUN_BLOCKS + 2 * SCAN_PACE_WINDOW);
	scan_watched(&wt, worker_has_read);
	pthread_mutex_lock(&wt.w.mu);
	ck_assert_int_gt(wt.w.worker_reads, 0);
	pthread_mutex_unlock(&wt.w.mu);
	ck_assert_uint_eq(atomic_load(&pace.ns[0][0]), 1);
	ck_assert_uint_eq(atomic_load(&pace.ns[0][1]), 1);
	ck_assert_uint_eq(atomic_load(&pace.ns[1][0]) + atomic_load(&pace.ns[1][1]), 0);
	watched_table_close(&wt);
}
END_TEST

/* Long runs both ways, turns inside a run, seeks, and iterators dropped in
 * mid-scan (their queued blocks still being decoded): every answer is the
 * model's. */
START_TEST(table_scan_ahead_follows_turns_and_seeks)
{
	struct rng r;
	rng_seed(&r, 0x5cab + (uint64_t)_i);
	struct table_model m;
	table_model_make(&m, &r, 5000, 24, 1);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 256;
	o.compression = scan_codec();
	struct cache *bc = NULL;
	ck_assert_ok(cache_create(64 * 1024, &bc));
	o.block_cache = _i ? bc : NULL; /* some blocks ahead then come from the cache */
	ck_assert_ok(worker_create(&o.scan_worker));
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	struct table *t = open_mem(&o, &file, _i);
	struct read_opts ro = { 1, 1, 0, 1 };
	struct buf target = BUF_INIT;
	struct iter *it = NULL;
	for (int round = 0; round < 60; round++) {
		if (it == NULL || rng_one_in(&r, 4)) {
			iter_destroy(it); /* (often with blocks queued or being decoded) */
			it = table_iter(t, &ro);
			ck_assert_ptr_nonnull(it);
		}
		size_t at;
		switch (rng_uniform(&r, 3)) {
		case 0:
			iter_seek_first(it);
			at = 0;
			break;
		case 1:
			iter_seek_last(it);
			at = m.n - 1;
			break;
		default:
			random_target(&r, &m, &target);
			iter_seek(it, buf_slice(&target));
			at = table_model_lower_bound(&m, buf_slice(&target));
			if (at == m.n) {
				ck_assert(!iter_valid(it));
				continue;
			}
		}
		check_entry(it, &m, at);
		int legs = 1 + (int)rng_uniform(&r, 3);
		for (int leg = 0; leg < legs; leg++) {
			int forward = rng_one_in(&r, 2);
			size_t steps = rng_uniform(&r, 2000);
			for (size_t k = 0; k < steps; k++) {
				if (forward) {
					iter_next(it);
					if (++at == m.n)
						break;
				} else {
					iter_prev(it);
					if (at-- == 0)
						break;
				}
				check_entry(it, &m, at);
			}
			if (at == m.n || at == (size_t)-1) {
				ck_assert(!iter_valid(it));
				ck_assert_int_eq(iter_status(it), 0);
				break;
			}
		}
	}
	iter_destroy(it);
	table_close(t);
	worker_destroy(o.scan_worker);
	cache_destroy(bc);
	buf_free(&file);
	buf_free(&target);
	table_model_free(&m);
}
END_TEST

/* Scans a damaged table one way to its end or its error: the entries seen,
 * the status and the message. */
struct scan_result {
	size_t n;
	int rc;
	char msg[ERR_MSG_MAX];
};

static void scan_damaged(const struct table_options *o, const char *data, size_t len, int forward,
                         int scan_ahead, struct scan_result *res)
{
	struct table *t;
	memset(res, 0, sizeof(*res));
	int rc = table_open(o, mem_rfile(data, len, 0), MEMPATH, len, &t);
	if (rc) {
		res->rc = rc;
		return;
	}
	struct read_opts ro = { 1, 0, 0, scan_ahead };
	struct iter *it = table_iter(t, &ro);
	if (forward)
		for (iter_seek_first(it); iter_valid(it); iter_next(it))
			res->n++;
	else
		for (iter_seek_last(it); iter_valid(it); iter_prev(it))
			res->n++;
	res->rc = iter_status(it);
	if (res->rc)
		err_copy(res->msg, sizeof(res->msg));
	iter_destroy(it);
	table_close(t);
}

/* A damaged block ahead of a scan fails on the worker; the scan meets the
 * damage where it would without scan-ahead: the same entries, then the same
 * error and message. */
START_TEST(table_scan_ahead_reports_damage_where_the_scan_meets_it)
{
	struct rng r;
	rng_seed(&r, 0x5cad);
	struct table_model m;
	table_model_make(&m, &r, 3000, 24, 1);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 256;
	o.compression = scan_codec();
	ck_assert_ok(worker_create(&o.scan_worker));
	struct buf file = BUF_INIT;
	build_table(&o, &m, &file);
	char *copy = malloc(file.len);
	int damaged = 0;
	for (int s = 0; s < 80; s++) {
		memcpy(copy, file.data, file.len);
		/* in the data blocks' first nine tenths */
		size_t pos = rng_uniform(&r, file.len * 9 / 10);
		copy[pos] ^= (char)(1u << rng_uniform(&r, 8));
		for (int forward = 0; forward < 2; forward++) {
			struct scan_result plain, ahead;
			scan_damaged(&o, copy, file.len, forward, 0, &plain);
			scan_damaged(&o, copy, file.len, forward, 1, &ahead);
			ck_assert_uint_eq(ahead.n, plain.n);
			ck_assert_int_eq(ahead.rc, plain.rc);
			ck_assert_str_eq(ahead.msg, plain.msg);
			damaged += plain.rc != 0;
		}
	}
	ck_assert_int_gt(damaged, 40);
	free(copy);
	worker_destroy(o.scan_worker);
	buf_free(&file);
	table_model_free(&m);
}
END_TEST

static Suite *table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *rt = tcase_create("roundtrip");
	tcase_set_timeout(rt, 120);
	tcase_add_loop_test(rt, table_roundtrip_random_against_model, 0, 24);
	tcase_add_test(rt, table_index_uses_short_separators);
	tcase_add_test(rt, table_without_filter_still_has_metaindex);
	tcase_add_test(rt, table_get_consults_filter_before_reading);
	tcase_add_test(rt, reads_are_hinted_scans_hint_around);
	tcase_add_test(rt, table_block_cache_serves_repeated_reads);
	tcase_add_test(rt, table_index_and_metaindex_are_stored_raw);
	tcase_add_test(rt, table_long_scans_do_not_fill_the_cache);
	tcase_add_test(rt, table_reads_through_mmap_env);
	tcase_add_test(rt, table_builder_rejects_bad_options);
	tcase_add_loop_test(rt, table_scan_ahead_decodes_on_the_worker, 0, 2);
	tcase_add_loop_test(rt, table_scan_ahead_follows_turns_and_seeks, 0, 2);
	tcase_add_loop_test(rt, table_scan_ahead_does_not_wait_for_a_stalled_worker, 0, 2);
	tcase_add_loop_test(rt, table_scan_pacing_goes_alone_when_alone_was_faster, 0, 2);
	tcase_add_loop_test(rt, table_scan_pacing_measures_both_ways_first, 0, 2);
	suite_add_tcase(s, rt);
	TCase *dmg = tcase_create("damage");
	tcase_set_timeout(dmg, 120);
	tcase_add_loop_test(dmg, table_damage_every_byte_is_detected_or_harmless, 0, 4);
	tcase_add_loop_test(dmg, table_damage_sampled_positions, 0, 4);
	tcase_add_test(dmg, table_bad_handles_and_types_are_corruption);
	tcase_add_test(dmg, table_read_errors_surface_and_stop_iteration);
	tcase_add_test(dmg, table_scan_ahead_reports_damage_where_the_scan_meets_it);
	suite_add_tcase(s, dmg);
	TCase *sal = tcase_create("salvage");
	tcase_set_timeout(sal, 120);
	tcase_add_loop_test(sal, table_salvage_keeps_every_readable_block, 0, 4);
	tcase_add_loop_test(sal, table_salvage_every_byte, 0, 2);
	tcase_add_test(sal, table_salvage_stops_a_block_at_a_bad_key);
	tcase_add_test(sal, table_salvage_steps_over_read_errors);
	suite_add_tcase(s, sal);
	return s;
}

int main(void)
{
	return tu_run(table_suite());
}
