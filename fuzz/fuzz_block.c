/*
 * Block decoding and iteration over arbitrary bytes.
 *
 * Input: one flag byte (bit 0: keys are internal keys, ordered by the
 * internal-key comparator; otherwise bytewise), then the block contents.
 *
 * Any block is walked forward and backward and sought into; nothing may
 * read outside it, and a failing iterator must stay failed. When the block
 * is well formed as far as the reader can tell (both walks succeed, agree,
 * and the keys increase), seeks and steps are checked against the walk.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "lib/util/ikey.h"
#include "sstable/block.h"
#include "shale.h"

#define MAX_COPY (1u << 20) /* bytes of keys and values kept for checks */

struct entry {
	struct slice key, value; /* copies */
};

struct walk {
	struct entry *e;
	size_t n, cap, bytes;
	int complete; /* every entry copied */
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

static void check_failed_stays(struct iter *it)
{
	int st = iter_status(it);
	if (st == 0)
		return;
	fuzz_check(st == SHALE_ECORRUPT || st == SHALE_ENOMEM, "status %d", st);
	fuzz_check(!iter_valid(it), "valid with an error");
	iter_seek_first(it);
	fuzz_check(!iter_valid(it) && iter_status(it) == st, "an error did not stick");
}

static void walk_forward(struct iter *it, struct walk *w)
{
	memset(w, 0, sizeof(*w));
	w->complete = 1;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		keep(w, it);
	w->status = iter_status(it);
	check_failed_stays(it);
}

static void walk_backward(struct iter *it, struct walk *w)
{
	memset(w, 0, sizeof(*w));
	w->complete = 1;
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		keep(w, it);
	w->status = iter_status(it);
	check_failed_stays(it);
}

static int same_entry(const struct entry *a, const struct entry *b)
{
	return slice_equal(a->key, b->key) && slice_equal(a->value, b->value);
}

static void at(struct iter *it, const struct walk *w, size_t i, const char *what)
{
	if (i >= w->n) {
		fuzz_check(!iter_valid(it) && iter_status(it) == 0, "%s: expected the end", what);
		return;
	}
	fuzz_check(iter_valid(it), "%s: expected entry %zu of %zu (status %d)", what, i, w->n,
	           iter_status(it));
	struct entry got = { iter_key(it), iter_value(it) };
	fuzz_check(same_entry(&got, &w->e[i]), "%s: entry %zu differs", what, i);
}

/* Index of the first key >= t. */
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

static void check_seeks(const struct block *b, const struct comparator *cmp, const struct walk *w)
{
	struct iter *it = block_iter_create(b, cmp, "fuzz.ldb");
	fuzz_check(it != NULL, "memory");
	size_t step = w->n / 64 + 1;
	for (size_t i = 0; i < w->n; i += step) {
		iter_seek(it, w->e[i].key);
		at(it, w, i, "seek");
		iter_next(it);
		at(it, w, i + 1, "next after seek");
		iter_seek(it, w->e[i].key);
		if (i > 0) {
			iter_prev(it);
			at(it, w, i - 1, "prev after seek");
		}
		/* just after key i: its key with a byte appended */
		char buf[256];
		if (w->e[i].key.size < sizeof(buf)) {
			memcpy(buf, w->e[i].key.data, w->e[i].key.size);
			buf[w->e[i].key.size] = 0;
			struct slice t = slice_make(buf, w->e[i].key.size + 1);
			iter_seek(it, t);
			at(it, w, lower_bound(w, cmp, t), "seek between");
		}
	}
	/* a point lookup as table_get does it, in caller space */
	struct block_iter bi;
	block_iter_init(&bi, b, cmp, "fuzz.ldb");
	iter_seek(&bi.base, slice_make("", 0));
	at(&bi.base, w, lower_bound(w, cmp, slice_make("", 0)), "seek empty");
	block_iter_release(&bi);
	iter_destroy(it);
}

/* Reads every byte of an entry (the sanitizers catch a slice that reaches
 * outside the block). */
static void touch(struct slice k, struct slice v)
{
	volatile unsigned sum = 0;
	for (size_t i = 0; i < k.size; i++)
		sum += (unsigned char)k.data[i];
	for (size_t i = 0; i < v.size; i++)
		sum += (unsigned char)v.data[i];
	(void)sum;
}

/* Arbitrary moves on a block that may be malformed: only the iterator's own
 * contract is checked. */
static void wander(const struct block *b, const struct comparator *cmp, const uint8_t *data, size_t size)
{
	struct iter *it = block_iter_create(b, cmp, "fuzz.ldb");
	fuzz_check(it != NULL, "memory");
	size_t ops = size < 64 ? size : 64;
	for (size_t i = 0; i < ops; i++) {
		switch (data[i] % 6) {
		case 0: iter_seek_first(it); break;
		case 1: iter_seek_last(it); break;
		case 2: iter_seek(it, slice_make(data + i, (size_t)(data[i] >> 3) % (size - i))); break;
		case 3: if (iter_valid(it)) iter_next(it); break;
		case 4: if (iter_valid(it)) iter_prev(it); break;
		default: break;
		}
		if (iter_valid(it))
			touch(iter_key(it), iter_value(it));
		check_failed_stays(it);
	}
	iter_destroy(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static struct ikey_comparator icmp;
	static int init;
	if (!init) {
		ikey_comparator_init(&icmp, comparator_bytewise());
		init = 1;
	}
	const struct comparator *cmp = data[0] & 1 ? &icmp.base : comparator_bytewise();
	size_t n = size - 1;
	char *heap = malloc(n ? n : 1);
	fuzz_check(heap != NULL, "memory");
	memcpy(heap, data + 1, n);
	struct block_contents bc = { .data = slice_make(heap, n), .heap = heap, .cachable = 1 };
	struct block *b;
	int rc = block_create(&bc, "fuzz.ldb", 4096, &b);
	if (rc) {
		fuzz_check(rc == SHALE_ECORRUPT, "create returned %d", rc);
		return 0;
	}
	struct iter *it = block_iter_create(b, cmp, "fuzz.ldb");
	fuzz_check(it != NULL, "memory");
	struct walk fw, bw;
	walk_forward(it, &fw);
	walk_backward(it, &bw);
	iter_destroy(it);

	int well_formed = fw.status == 0 && bw.status == 0 && fw.complete && bw.complete && fw.n == bw.n;
	for (size_t i = 0; well_formed && i < fw.n; i++) {
		if (!same_entry(&fw.e[i], &bw.e[fw.n - 1 - i]))
			well_formed = 0;
		else if (i > 0 && comparator_compare(cmp, fw.e[i - 1].key, fw.e[i].key) >= 0)
			well_formed = 0;
	}
	if (well_formed)
		check_seeks(b, cmp, &fw);
	wander(b, cmp, data + 1, n);
	walk_free(&fw);
	walk_free(&bw);
	block_destroy(b);
	return 0;
}
