/*
 * Invariant: when status is 0, data is the second-level iterator opened
 * from the index entry the index iterator is on (data_value holds that
 * entry's value), or NULL when the index is not valid. The first error of
 * either level is kept in status, which then stays: the iterator is invalid
 * from that moment and every positioning call is a no-op, so damage is
 * never stepped over.
 *
 * Scan resistance (when asked for: a table's blocks): after SCAN_RUN_BLOCKS
 * second levels in a row were entered by stepping (next or prev, not a
 * seek), the iterator is scanning, and the second levels it opens from then
 * until its next seek are read with fill_cache off: a long scan does not push
 * the block cache's working set out with blocks it reads once, and it skips
 * the cache's insert and eviction per block. Blocks already cached are still
 * used. Those second levels also get readahead, which says the scan's
 * direction: a table then prefetches, from a mapped file, the blocks beside
 * each block it reads, so the next block's bytes are on their way to the CPU
 * cache while this one is read, and (for a DB iterator) has the blocks ahead
 * decoded on the background worker (sstable/table.c, "Scan-ahead").
 */
#include "sstable/two_level_iter.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/error.h"
#include "sstable/block.h"

struct two_level_iter {
	struct iter base;
	struct iter *index;
	second_level_fn fn;
	void *arg;
	two_level_probe_fn probe; /* or NULL */
	struct read_opts ro;
	struct iter *data;
	/* the index value data was opened from: in data_value_small when it
	 * fits (block handles and file numbers do), else in data_value_buf */
	struct slice data_value;
	char data_value_small[32];
	struct buf data_value_buf;
	int status;
	/* valid, key and value: published (lib/util/iter.h) as of the end of the
	 * last positioning call (data's stay put until data moves) */
	int scan_resistant;
	int fill_cache; /* the caller's; ro.fill_cache goes to 0 while scanning */
	int run;        /* second levels entered by stepping since the last seek */
	struct block_iter own_index; /* the index, for two_level_iter_over_block */
};

/* Publishes the cursor once a positioning call is done. */
static void settle(struct two_level_iter *it)
{
	it->base.valid = it->status == 0 && it->data && iter_valid(it->data);
	if (it->base.valid) {
		it->base.key = iter_key(it->data);
		it->base.value = iter_value(it->data);
	}
}

static void set_data(struct two_level_iter *it, struct iter *data)
{
	iter_destroy(it->data);
	it->data = data;
}

static void fail(struct two_level_iter *it, int rc)
{
	it->status = rc;
	it->base.valid = 0;
	set_data(it, NULL);
}

/* Opens the second level for the index's current entry (keeping the one
 * already open when it came from the same value). */
static void init_data(struct two_level_iter *it)
{
	if (!iter_valid(it->index)) {
		int rc = iter_status(it->index);
		if (rc)
			fail(it, rc);
		else
			set_data(it, NULL);
		return;
	}
	struct slice v = iter_value(it->index);
	if (it->data && slice_equal(v, it->data_value))
		return;
	struct iter *old = it->data;
	it->data = NULL;
	char *dst = it->data_value_small;
	if (v.size > sizeof(it->data_value_small)) {
		int rc = buf_set(&it->data_value_buf, v.data, v.size);
		if (rc) {
			iter_destroy(old);
			fail(it, rc);
			return;
		}
		dst = it->data_value_buf.data;
	} else {
		memcpy(dst, v.data, v.size);
	}
	it->data_value = slice_make(dst, v.size);
	struct iter *d = it->fn(it->arg, &it->ro, it->data_value, old);
	if (d == NULL) {
		fail(it, SHALE_ENOMEM); /* the message was set by fn */
		return;
	}
	it->data = d;
	int rc = iter_status(d);
	if (rc)
		fail(it, rc);
}

/* 1 when the data iterator is positioned; otherwise records an error of
 * either level (returning 0), or reports 0 with no error when the current
 * second level is merely exhausted. */
static int data_ready(struct two_level_iter *it)
{
	if (it->status)
		return 0;
	if (it->data) {
		if (iter_valid(it->data))
			return 1;
		int rc = iter_status(it->data);
		if (rc) {
			fail(it, rc);
			return 0;
		}
	}
	return 0;
}

/* A seek ends a scan. */
static void seeking(struct two_level_iter *it)
{
	it->run = 0;
	it->ro.fill_cache = it->fill_cache;
	it->ro.readahead = 0;
}

/* One more second level entered by stepping in direction dir (1 forward,
 * -1 backward). */
static void stepping(struct two_level_iter *it, int dir)
{
	if (it->scan_resistant && ++it->run >= SCAN_RUN_BLOCKS) {
		it->ro.fill_cache = 0;
		it->ro.readahead = dir;
	}
}

static void skip_empty_forward(struct two_level_iter *it)
{
	while (!data_ready(it) && !it->status) {
		if (!iter_valid(it->index)) {
			init_data(it); /* records the index's error, or ends */
			return;
		}
		stepping(it, 1);
		iter_next(it->index);
		init_data(it);
		if (it->data && !it->status)
			iter_seek_first(it->data);
	}
}

static void skip_empty_backward(struct two_level_iter *it)
{
	while (!data_ready(it) && !it->status) {
		if (!iter_valid(it->index)) {
			init_data(it);
			return;
		}
		stepping(it, -1);
		iter_prev(it->index);
		init_data(it);
		if (it->data && !it->status)
			iter_seek_last(it->data);
	}
}

/* Seeks (1); with probe, the second level the index leads to is asked with
 * iter_seek_probe, and when it shows it holds no entry with target's user
 * key the iterator stops there, not positioned (0). */
static int seek_to(struct two_level_iter *it, struct slice target, int probe)
{
	if (it->status)
		return 1;
	seeking(it);
	iter_seek(it->index, target);
	init_data(it);
	if (it->data && !it->status) {
		if (!probe) {
			iter_seek(it->data, target);
		} else if (!iter_seek_probe(it->data, target)) {
			it->base.valid = 0;
			return 0;
		}
	}
	skip_empty_forward(it);
	settle(it);
	return 1;
}

static void tl_seek(struct iter *base, struct slice target)
{
	seek_to((struct two_level_iter *)base, target, 0);
}

/* iter_ops.seek_probe: the probe (a table's filter) answers before the index
 * is searched; a level asks the table its index leads to, which answers
 * before it reads a data block. */
static int tl_seek_probe(struct iter *base, struct slice target)
{
	struct two_level_iter *it = (struct two_level_iter *)base;
	if (it->probe && !it->status && !it->probe(it->arg, target)) {
		it->base.valid = 0;
		return 0;
	}
	return seek_to(it, target, 1);
}

static void tl_seek_first(struct iter *base)
{
	struct two_level_iter *it = (struct two_level_iter *)base;
	if (it->status)
		return;
	seeking(it);
	iter_seek_first(it->index);
	init_data(it);
	if (it->data && !it->status)
		iter_seek_first(it->data);
	skip_empty_forward(it);
	settle(it);
}

static void tl_seek_last(struct iter *base)
{
	struct two_level_iter *it = (struct two_level_iter *)base;
	if (it->status)
		return;
	seeking(it);
	iter_seek_last(it->index);
	init_data(it);
	if (it->data && !it->status)
		iter_seek_last(it->data);
	skip_empty_backward(it);
	settle(it);
}

/* Steps inside the current second level: the common case of next and prev,
 * settled with one question to data instead of three. */
static int stepped_within(struct two_level_iter *it)
{
	if (!iter_valid(it->data))
		return 0;
	/* (valid, and status 0: the iterator was valid) */
	it->base.key = iter_key(it->data);
	it->base.value = iter_value(it->data);
	return 1;
}

static void tl_next(struct iter *base)
{
	struct two_level_iter *it = (struct two_level_iter *)base;
	assert(base->valid);
	iter_next(it->data);
	if (stepped_within(it))
		return;
	skip_empty_forward(it);
	settle(it);
}

static void tl_prev(struct iter *base)
{
	struct two_level_iter *it = (struct two_level_iter *)base;
	assert(base->valid);
	iter_prev(it->data);
	if (stepped_within(it))
		return;
	skip_empty_backward(it);
	settle(it);
}

static int tl_status(const struct iter *base)
{
	return ((const struct two_level_iter *)base)->status;
}

static void tl_destroy(struct iter *base)
{
	struct two_level_iter *it = (struct two_level_iter *)base;
	iter_destroy(it->data);
	if (it->index == &it->own_index.base)
		block_iter_release(&it->own_index);
	else
		iter_destroy(it->index);
	buf_free(&it->data_value_buf);
	free(it);
}

static const struct iter_ops two_level_ops = {
	/* valid, key, value: published */
	.seek_first = tl_seek_first,
	.seek_last = tl_seek_last,
	.seek = tl_seek,
	.next = tl_next,
	.prev = tl_prev,
	.status = tl_status,
	.destroy = tl_destroy,
	.seek_probe = tl_seek_probe,
};

static void tl_init(struct two_level_iter *it, struct iter *index, second_level_fn fn, void *arg,
                    const struct read_opts *ro, int scan_resistant)
{
	iter_init(&it->base, &two_level_ops);
	it->index = index;
	it->fn = fn;
	it->arg = arg;
	it->probe = NULL;
	it->ro = *ro;
	it->data = NULL;
	it->data_value = slice_make("", 0);
	buf_init(&it->data_value_buf);
	it->status = 0;
	it->scan_resistant = scan_resistant;
	it->fill_cache = ro->fill_cache;
	it->run = 0;
}

struct iter *two_level_iter_create(struct iter *index, second_level_fn fn, void *arg,
                                   const struct read_opts *ro, int scan_resistant)
{
	struct two_level_iter *it = malloc(sizeof(*it));
	if (it == NULL) {
		iter_destroy(index);
		err_nomem("two-level iterator");
		return NULL;
	}
	tl_init(it, index, fn, arg, ro, scan_resistant);
	return &it->base;
}

struct iter *two_level_iter_over_block(const struct block *index, const struct comparator *cmp, const char *path,
                                       second_level_fn fn, void *arg, const struct read_opts *ro,
                                       int scan_resistant)
{
	struct two_level_iter *it = malloc(sizeof(*it));
	if (it == NULL) {
		err_nomem("two-level iterator");
		return NULL;
	}
	block_iter_init(&it->own_index, index, cmp, path);
	tl_init(it, &it->own_index.base, fn, arg, ro, scan_resistant);
	return &it->base;
}

int two_level_iter_rebind(struct iter *base, second_level_fn fn, const struct block *index,
                          const struct comparator *cmp, const char *path, const struct read_opts *ro)
{
	if (base->ops != &two_level_ops)
		return 0;
	struct two_level_iter *it = (struct two_level_iter *)base;
	if (it->index != &it->own_index.base || it->fn != fn || it->status)
		return 0;
	block_iter_release(&it->own_index);
	block_iter_init(&it->own_index, index, cmp, path);
	/* data stays, for init_data to hand to fn as reuse: no index value
	 * (a block handle) equals the empty one, so it is never kept as the
	 * second level of the new index */
	it->data_value = slice_make("", 0);
	it->base.valid = 0;
	it->ro = *ro;
	it->fill_cache = ro->fill_cache;
	it->run = 0;
	return 1;
}

void two_level_iter_set_probe(struct iter *base, two_level_probe_fn probe)
{
	assert(base->ops == &two_level_ops);
	((struct two_level_iter *)base)->probe = probe;
}
