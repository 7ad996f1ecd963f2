/*
 * A table file over arbitrary bytes: table_open, full iteration both ways,
 * seeks, and table_get of keys seen and not seen.
 *
 * Input: one flag byte, then the file.
 *   bit 0  rewrite the block CRCs first (mutations then reach what they guard)
 *   bit 1  verify_checksums on data blocks
 *   bit 2  a mapped file (reads return pointers into it, as with mmap)
 *   bit 3  bytewise keys (otherwise internal keys, the internal-key comparator,
 *          filters keyed on the user key)
 *   bit 4  a block cache; bit 5 fill_cache
 *
 * Strict mode (checksums verified, none rewritten): every block the table
 * reads was checked, so both directions of a walk must agree. Lookups trust
 * the index and the filter, which a table read with another comparator or
 * filter keying than it was written with (the flags choose them freely)
 * contradicts under valid checksums; so when the table's layout is also
 * consistent under the options (layout_consistent), every key seen must be
 * found by table_get and by a seek, and any other key answered by the first
 * key at or after it. Otherwise only the iterators' own contracts hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "lib/util/cache.h"
#include "lib/util/ikey.h"
#include "sstable/block.h"
#include "sstable/filter_block.h"
#include "sstable/format.h"
#include "sstable/table.h"
#include "shale.h"

#define MAX_COPY (1u << 20)
#define PATH "000007.ldb"

struct entry {
	struct slice key, value; /* copies */
};

struct walk {
	struct entry *e;
	size_t n, cap, bytes;
	int complete;
	int status;
};

static void keep(struct walk *w, struct iter *it)
{
	struct slice k = iter_key(it), v = iter_value(it);
	if (!w->complete || w->bytes + k.size + v.size > MAX_COPY) {
		w->complete = 0;
		return;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->e = realloc(w->e, w->cap * sizeof(*w->e));
		fuzz_check(w->e != NULL, "memory");
	}
	w->e[w->n].key = fuzz_dup(k);
	w->e[w->n].value = fuzz_dup(v);
	w->n++;
	w->bytes += k.size + v.size;
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free((char *)w->e[i].key.data);
		free((char *)w->e[i].value.data);
	}
	free(w->e);
}

static void check_status(struct iter *it)
{
	int st = iter_status(it);
	if (st == 0)
		return;
	fuzz_check(st == SHALE_ECORRUPT || st == SHALE_ENOTSUP || st == SHALE_ENOMEM, "status %d", st);
	fuzz_check(!iter_valid(it), "valid with an error");
	iter_seek_first(it);
	fuzz_check(!iter_valid(it) && iter_status(it) == st, "an error did not stick");
}

static void walk(struct table *t, const struct read_opts *ro, int forward, struct walk *w)
{
	memset(w, 0, sizeof(*w));
	w->complete = 1;
	struct iter *it = table_iter(t, ro);
	fuzz_check(it != NULL, "memory");
	if (forward)
		for (iter_seek_first(it); iter_valid(it); iter_next(it))
			keep(w, it);
	else
		for (iter_seek_last(it); iter_valid(it); iter_prev(it))
			keep(w, it);
	w->status = iter_status(it);
	check_status(it);
	iter_destroy(it);
}

static int same_entry(const struct entry *a, const struct entry *b)
{
	return slice_equal(a->key, b->key) && slice_equal(a->value, b->value);
}

static size_t lower_bound(const struct walk *w, const struct comparator *cmp, struct slice t)
{
	size_t lo = 0, hi = w->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (comparator_compare(cmp, w->e[mid].key, t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct found {
	int called;
	struct entry e;
};

static void on_found(void *arg, struct slice k, struct slice v)
{
	struct found *f = arg;
	fuzz_check(!f->called, "found called twice");
	f->called = 1;
	f->e.key = fuzz_dup(k);
	f->e.value = fuzz_dup(v);
}

static void found_free(struct found *f)
{
	if (f->called) {
		free((char *)f->e.key.data);
		free((char *)f->e.value.data);
	}
}

/* table_get and a seek for t; strict: checked against the walk. */
static void lookup(struct table *t, const struct read_opts *ro, const struct comparator *cmp,
                   const struct walk *w, struct slice target, int strict, int present)
{
	struct found f = { 0, { { NULL, 0 }, { NULL, 0 } } };
	int rc = table_get(t, ro, target, on_found, &f);
	size_t lb = strict ? lower_bound(w, cmp, target) : 0;
	if (rc != 0) {
		fuzz_check(rc == SHALE_ECORRUPT || rc == SHALE_ENOTSUP || rc == SHALE_ENOMEM, "get returned %d", rc);
		fuzz_check(!strict || !present, "get of a key the walk read failed: %d", rc);
	} else if (f.called) {
		fuzz_check(comparator_compare(cmp, f.e.key, target) >= 0, "get answered a key before the target");
		if (strict)
			fuzz_check(lb < w->n && same_entry(&f.e, &w->e[lb]), "get answered another entry");
	} else {
		fuzz_check(!strict || !present, "get missed a key the walk read");
	}
	found_free(&f);

	struct iter *it = table_iter(t, ro);
	fuzz_check(it != NULL, "memory");
	iter_seek(it, target);
	if (iter_valid(it)) {
		fuzz_check(comparator_compare(cmp, iter_key(it), target) >= 0 || !strict, "seek landed before the target");
		if (strict) {
			struct entry got = { iter_key(it), iter_value(it) };
			fuzz_check(lb < w->n && same_entry(&got, &w->e[lb]), "seek landed on another entry");
			iter_prev(it);
			if (lb == 0) {
				fuzz_check(!iter_valid(it) && iter_status(it) == 0, "prev from the first entry");
			} else {
				fuzz_check(iter_valid(it), "prev after seek: status %d", iter_status(it));
				struct entry p = { iter_key(it), iter_value(it) };
				fuzz_check(same_entry(&p, &w->e[lb - 1]), "prev after seek");
			}
		}
	} else {
		check_status(it);
		fuzz_check(!strict || iter_status(it) != 0 || lb == w->n, "seek found nothing");
	}
	iter_destroy(it);
	uint64_t off = table_approximate_offset(t, target);
	(void)off;
}

/* Reads the table's layout itself: 1 when every index separator sorts at
 * or after its block's keys and before the next block's, under opt->cmp, and
 * the filter (if any), keyed as opt says, matches every key. */
static int layout_consistent(const uint8_t *file, size_t n, const struct table_options *opt)
{
	if (n < FOOTER_LEN)
		return 0;
	struct footer f;
	if (footer_decode((const char *)file + n - FOOTER_LEN, n, PATH, &f) != 0)
		return 0;
	uint64_t limit = n - FOOTER_LEN;
	struct rand_file *rf = fuzz_rand_file(file, n, 1);
	struct block *index = NULL, *meta = NULL;
	struct block_contents bc, filter = { .heap = NULL };
	struct filter_block_reader fr;
	int have_filter = 0, ok = 0;
	struct buf prev_sep = BUF_INIT;
	int have_prev = 0;

	if (format_read_block(rf, PATH, limit, &f.index, 1, NULL, &bc) || block_create(&bc, PATH, f.index.offset, &index) ||
	    format_read_block(rf, PATH, limit, &f.metaindex, 1, NULL, &bc) ||
	    block_create(&bc, PATH, f.metaindex.offset, &meta))
		goto out;
	struct block_iter mi;
	block_iter_init(&mi, meta, comparator_bytewise(), PATH);
	struct slice name = slice_from_str(FILTER_META_KEY);
	iter_seek(&mi.base, name);
	if (iter_valid(&mi.base) && slice_equal(iter_key(&mi.base), name)) {
		struct slice v = iter_value(&mi.base);
		struct block_handle fh;
		if (!block_handle_decode(&v, &fh) || format_read_block(rf, PATH, limit, &fh, 1, NULL, &filter) ||
		    filter_block_reader_init(&fr, filter.data, opt->internal_keys, PATH, fh.offset)) {
			block_iter_release(&mi);
			goto out;
		}
		have_filter = 1;
	}
	int meta_status = mi.status;
	block_iter_release(&mi);
	if (meta_status)
		goto out;

	struct block_iter ii;
	block_iter_init(&ii, index, opt->cmp, PATH);
	ok = 1;
	for (iter_seek_first(&ii.base); ok && iter_valid(&ii.base); iter_next(&ii.base)) {
		struct slice sep = iter_key(&ii.base), v = iter_value(&ii.base);
		struct block_handle h;
		struct block *data = NULL;
		if (!block_handle_decode(&v, &h) || format_read_block(rf, PATH, limit, &h, 1, NULL, &bc) ||
		    block_create(&bc, PATH, h.offset, &data)) {
			ok = 0;
			break;
		}
		struct block_iter di;
		block_iter_init(&di, data, opt->cmp, PATH);
		for (iter_seek_first(&di.base); ok && iter_valid(&di.base); iter_next(&di.base)) {
			struct slice k = iter_key(&di.base);
			if (comparator_compare(opt->cmp, k, sep) > 0 ||
			    (have_prev && comparator_compare(opt->cmp, k, buf_slice(&prev_sep)) <= 0) ||
			    (have_filter && !filter_block_may_match(&fr, h.offset, k)))
				ok = 0;
		}
		if (di.status)
			ok = 0;
		block_iter_release(&di);
		block_destroy(data);
		fuzz_check(buf_set(&prev_sep, sep.data, sep.size) == 0, "memory");
		have_prev = 1;
	}
	if (ii.status)
		ok = 0;
	block_iter_release(&ii);
out:
	buf_free(&prev_sep);
	free(filter.heap);
	block_destroy(index);
	block_destroy(meta);
	rand_file_close(rf);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	static struct ikey_comparator icmp;
	static int init;
	if (!init) {
		ikey_comparator_init(&icmp, comparator_bytewise());
		init = 1;
	}
	size_t n = size - 1;
	uint8_t *file = malloc(n ? n : 1);
	fuzz_check(file != NULL, "memory");
	memcpy(file, data + 1, n);
	if (flags & 1)
		fuzz_fix_table_crcs(file, n);

	struct table_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.cmp = flags & 8 ? comparator_bytewise() : &icmp.base;
	opt.internal_keys = !(flags & 8);
	opt.block_size = 4096;
	opt.restart_interval = 16;
	opt.bloom_bits_per_key = 10;
	struct cache *cache = NULL;
	if (flags & 16) {
		fuzz_check(cache_create(16384, &cache) == 0, "memory");
		opt.block_cache = cache;
	}
	struct read_opts ro = { (flags & 2) != 0, (flags & 32) != 0, 0, 0 };
	int strict = (flags & 1) == 0 && ro.verify_checksums;

	struct table *t;
	int rc = table_open(&opt, fuzz_rand_file(file, n, (flags & 4) != 0), PATH, n, &t);
	if (rc) {
		fuzz_check(rc == SHALE_ECORRUPT || rc == SHALE_ENOTSUP || rc == SHALE_ENOMEM, "open returned %d", rc);
		goto out;
	}
	struct walk fw, bw;
	walk(t, &ro, 1, &fw);
	walk(t, &ro, 0, &bw);
	if (strict && fw.status == 0 && bw.status == 0 && fw.complete && bw.complete) {
		fuzz_check(fw.n == bw.n, "%zu entries forward, %zu backward", fw.n, bw.n);
		for (size_t i = 0; i < fw.n; i++)
			fuzz_check(same_entry(&fw.e[i], &bw.e[fw.n - 1 - i]), "entry %zu differs backward", i);
	}
	/* strict checks of lookups need the whole walk, in order, and a layout
	 * consistent under these options */
	int exact = strict && fw.status == 0 && fw.complete;
	for (size_t i = 1; exact && i < fw.n; i++)
		if (comparator_compare(opt.cmp, fw.e[i - 1].key, fw.e[i].key) >= 0)
			exact = 0;
	if (exact)
		exact = layout_consistent(file, n, &opt);
	if (fuzz_verbose())
		fprintf(stderr, "flags %02x: %zu entries, status %d, %s\n", flags, fw.n, fw.status,
		        exact ? "lookups checked" : strict ? "walks checked" : "contracts only");
	size_t step = fw.n / 32 + 1;
	for (size_t i = 0; i < fw.n; i += step) {
		lookup(t, &ro, opt.cmp, &fw, fw.e[i].key, exact, 1);
		char buf[300];
		struct slice k = fw.e[i].key;
		if (k.size < sizeof(buf)) {
			/* a key not seen, just after this one (bytewise), or the same
			 * user key at another sequence */
			memcpy(buf, k.data, k.size);
			size_t len = k.size;
			if (opt.internal_keys && len >= 8)
				buf[len - 8] ^= 1;
			else
				buf[len++] = 0;
			lookup(t, &ro, opt.cmp, &fw, slice_make(buf, len), exact, 0);
		}
	}
	lookup(t, &ro, opt.cmp, &fw, slice_make("", 0), exact, 0);
	lookup(t, &ro, opt.cmp, &fw, slice_make("\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9), exact, 0);
	walk_free(&fw);
	walk_free(&bw);
	table_close(t);
out:
	cache_destroy(cache);
	free(file);
	return 0;
}
