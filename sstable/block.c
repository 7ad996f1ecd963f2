#include "sstable/block.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"

static int bad_block(const char *path, uint64_t offset, const char *what)
{
	return err_set(SHALE_ECORRUPT, "%s: %s in block at offset %llu", path, what,
	               (unsigned long long)offset);
}

int block_create(struct block_contents *contents, const char *path, uint64_t offset,
                 struct block **out)
{
	const char *data = contents->data.data;
	size_t size = contents->data.size;
	char *heap = contents->heap;
	size_t heap_size = contents->heap_size;
	struct bpool *pool = contents->pool;
	contents->heap = NULL;
	*out = NULL;

	int rc;
	if (size < 4 || size > UINT32_MAX) {
		rc = bad_block(path, offset, size < 4 ? "block too short" : "block too large");
		goto fail;
	}
	uint32_t num = decode_fixed32(data + size - 4);
	if (num > (size - 4) / 4) {
		rc = bad_block(path, offset, "restart count past the block");
		goto fail;
	}
	uint32_t restarts = (uint32_t)(size - 4 - (size_t)num * 4);
	if (restarts > 0) {
		/* entries are reached only through restart points: check them all once */
		if (num == 0 || decode_fixed32(data + restarts) != 0) {
			rc = bad_block(path, offset, "bad first restart point");
			goto fail;
		}
		uint32_t prev = 0;
		for (uint32_t i = 1; i < num; i++) {
			uint32_t r = decode_fixed32(data + restarts + (size_t)i * 4);
			if (r <= prev || r >= restarts) {
				rc = bad_block(path, offset, "bad restart point");
				goto fail;
			}
			prev = r;
		}
	} else {
		num = 0; /* no entries: whatever the array says, nothing to read */
	}
	struct block *b = malloc(sizeof(*b));
	if (b == NULL) {
		rc = err_nomem("block");
		goto fail;
	}
	b->data = data;
	b->size = size;
	b->restarts = restarts;
	b->num_restarts = num;
	b->offset = offset;
	b->heap = heap;
	b->heap_size = heap_size;
	b->pool = pool;
	*out = b;
	return 0;
fail:
	bpool_free(pool, heap, heap_size);
	return rc;
}

void block_destroy(struct block *b)
{
	if (b == NULL)
		return;
	bpool_free(b->pool, b->heap, b->heap_size);
	free(b);
}

size_t block_charge(const struct block *b)
{
	return sizeof(*b) + (b->heap ? bpool_charge(b->pool, b->heap_size) : 0);
}

/* ---- iterator ---- */

static inline uint32_t restart_point(const struct block_iter *it, uint32_t i)
{
	return decode_fixed32(it->data + it->restarts + (size_t)i * 4);
}

static void invalidate(struct block_iter *it)
{
	it->base.valid = 0;
	it->current = it->restarts;
	it->next = it->restarts;
}

static void corruption(struct block_iter *it, uint32_t at, const char *what)
{
	it->status = err_set(SHALE_ECORRUPT,
	                     "%s: %s at entry offset %u in block at offset %llu",
	                     it->path, what, at, (unsigned long long)it->block_offset);
	invalidate(it);
}

/* Decodes an entry header at p; NULL when it or the bytes it announces do
 * not fit before limit. */
static inline const char *decode_entry(const char *p, const char *limit, uint32_t *shared,
                                       uint32_t *unshared, uint32_t *value_len)
{
	if (limit - p < 3)
		return NULL;
	*shared = (unsigned char)p[0];
	*unshared = (unsigned char)p[1];
	*value_len = (unsigned char)p[2];
	if ((*shared | *unshared | *value_len) < 128) {
		p += 3;
	} else {
		if ((p = get_varint32_ptr(p, limit, shared)) == NULL ||
		    (p = get_varint32_ptr(p, limit, unshared)) == NULL ||
		    (p = get_varint32_ptr(p, limit, value_len)) == NULL)
			return NULL;
	}
	if ((uint64_t)*unshared + *value_len > (uint64_t)(limit - p))
		return NULL;
	return p;
}

static void seek_to_restart(struct block_iter *it, uint32_t index)
{
	it->base.key = slice_make(it->data, 0);
	it->next = restart_point(it, index);
}

/* Where a key of len bytes that shares a prefix with the current one is
 * assembled: the inline buffer when it fits, else key_buf (grown as
 * needed). NULL when memory runs out (the message is set). */
static char *key_space(struct block_iter *it, size_t len)
{
	if (len <= sizeof(it->key_small))
		return it->key_small;
	if (it->key_buf.cap < len) {
		/* a current key in key_buf moves with it */
		int in_buf = it->base.key.data == it->key_buf.data;
		it->key_buf.len = in_buf ? it->base.key.size : 0;
		if (buf_reserve(&it->key_buf, len - it->key_buf.len) != 0)
			return NULL;
		if (in_buf)
			it->base.key.data = it->key_buf.data;
	}
	return it->key_buf.data;
}

/* Moves to the entry at it->next; 0 at the end of the block or on damage. */
static int parse_next(struct block_iter *it)
{
	it->current = it->next;
	if (it->current >= it->restarts) {
		invalidate(it);
		return 0;
	}
	const char *limit = it->data + it->restarts;
	uint32_t shared, unshared, vlen;
	const char *p = decode_entry(it->data + it->current, limit, &shared, &unshared, &vlen);
	if (p == NULL) {
		corruption(it, it->current, "bad entry lengths");
		return 0;
	}
	if (shared > it->base.key.size) {
		corruption(it, it->current, "shared prefix longer than the previous key");
		return 0;
	}
	if (shared == 0) {
		it->base.key = slice_make(p, unshared);
	} else {
		/* the key is the previous key's first `shared` bytes, then p */
		size_t len = (size_t)shared + unshared;
		char *dst = key_space(it, len);
		if (dst == NULL) {
			it->status = SHALE_ENOMEM;
			invalidate(it);
			return 0;
		}
		if (it->base.key.data != dst) /* else the prefix is in place already */
			memcpy(dst, it->base.key.data, shared);
		if (unshared <= 16 && dst == it->key_small && len <= sizeof(it->key_small) - 16 + unshared &&
		    limit - p >= 16)
			memcpy(dst + shared, p, 16); /* (a fixed size copies inline, not by a call) */
		else
			memcpy(dst + shared, p, unshared);
		it->base.key = slice_make(dst, len);
	}
	it->base.value = slice_make(p + unshared, vlen);
	it->next = (uint32_t)(p + unshared + vlen - it->data);
	it->base.valid = 1;
	return 1;
}

static int decode_interval(struct block_iter *it, uint32_t r, uint32_t before);

static void bi_seek_first(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	if (it->status || it->num_restarts == 0) {
		invalidate(it);
		return;
	}
	seek_to_restart(it, 0);
	parse_next(it);
}

static void bi_seek_last(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	if (it->status || it->num_restarts == 0) {
		invalidate(it);
		return;
	}
	/* (decoded into the backward cache: a scan backwards follows) */
	decode_interval(it, it->num_restarts - 1, it->restarts);
}

/* The key stored whole at restart point i, or a slice with data NULL after
 * reporting damage. */
static struct slice restart_key(struct block_iter *it, uint32_t i)
{
	uint32_t off = restart_point(it, i);
	uint32_t shared, unshared, vlen;
	const char *p = decode_entry(it->data + off, it->data + it->restarts, &shared, &unshared,
	                             &vlen);
	if (p == NULL || shared != 0) {
		corruption(it, off, p == NULL ? "bad entry lengths" : "shared prefix at a restart point");
		return slice_make(NULL, 0);
	}
	return slice_make(p, unshared);
}

static void bi_seek(struct iter *base, struct slice target)
{
	struct block_iter *it = (struct block_iter *)base;
	if (it->status || it->num_restarts == 0) {
		invalidate(it);
		return;
	}
	/* binary search for the last restart point whose key < target */
	uint32_t left = 0, right = it->num_restarts - 1;
	while (left < right) {
		uint32_t mid = left + (right - left + 1) / 2;
		struct slice k = restart_key(it, mid);
		if (k.data == NULL)
			return;
		if (comparator_compare(it->cmp, k, target) < 0)
			left = mid;
		else
			right = mid - 1;
	}
	seek_to_restart(it, left);
	while (parse_next(it)) {
		if (comparator_compare(it->cmp, it->base.key, target) >= 0)
			return;
	}
}

static void bi_next(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	assert(it->base.valid && it->current < it->restarts);
	parse_next(it);
}

/* Makes the iterator stand on entry i of the decoded interval. */
static void stand_on_prev(struct block_iter *it, uint32_t i)
{
	const struct block_prev_entry *e = &it->prev[i];
	it->prev_pos = i;
	it->base.valid = 1;
	it->current = e->offset;
	it->next = e->next;
	/* (empty keys leave prev_keys unallocated: no offset from NULL) */
	it->base.key = e->key_len ? slice_make(it->prev_keys.data + e->key_off, e->key_len)
	                          : slice_make(it->data, 0);
	it->base.value = slice_make(e->value, e->value_len);
}

/* Decodes every entry of restart interval r before `before` into it->prev
 * and stands on the last. 0 when damage stopped it (status set). */
static int decode_interval(struct block_iter *it, uint32_t r, uint32_t before)
{
	it->prev_n = 0;
	it->prev_restart = r;
	it->prev_keys.len = 0;
	seek_to_restart(it, r);
	while (parse_next(it) && it->current < before) {
		if (it->prev_n == it->prev_cap) {
			uint32_t cap = it->prev_cap ? it->prev_cap * 2 : 32;
			struct block_prev_entry *g = realloc(it->prev, cap * sizeof(*g));
			if (g == NULL) {
				it->status = err_nomem("block iterator");
				invalidate(it);
				return 0;
			}
			it->prev = g;
			it->prev_cap = cap;
		}
		struct block_prev_entry *e = &it->prev[it->prev_n];
		e->offset = it->current;
		e->next = it->next;
		e->key_off = (uint32_t)it->prev_keys.len;
		e->key_len = (uint32_t)it->base.key.size;
		e->value = it->base.value.data;
		e->value_len = (uint32_t)it->base.value.size;
		int rc = buf_append(&it->prev_keys, it->base.key.data, it->base.key.size);
		if (rc) {
			it->status = rc;
			invalidate(it);
			return 0;
		}
		it->prev_n++;
		if (it->next >= before)
			break;
	}
	if (it->status)
		return 0;
	if (it->prev_n == 0) {
		invalidate(it);
		return 0;
	}
	stand_on_prev(it, it->prev_n - 1);
	return 1;
}

static void bi_prev(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	assert(it->base.valid && it->current < it->restarts);
	uint32_t original = it->current;
	uint32_t lo = 0, hi = it->num_restarts; /* the answer is below hi */
	/* within the interval decoded last time: step back in memory */
	if (it->prev_n > 0 && it->prev_pos < it->prev_n && it->prev[it->prev_pos].offset == original) {
		if (it->prev_pos > 0) {
			stand_on_prev(it, it->prev_pos - 1);
			return;
		}
		/* on the first entry of the interval decoded last, which starts
		 * at its restart point: the interval before is the one before */
		lo = hi = it->prev_restart;
	}
	/* back to the restart point of the entry just before the current one
	 * (the last one before it: known from above, else a binary search, so
	 * that a forward step keeps no restart index), then decode that
	 * interval up to the current entry */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (restart_point(it, mid) < original)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		invalidate(it); /* the first entry: nothing before it */
		return;
	}
	decode_interval(it, lo - 1, original);
}

static int bi_status(const struct iter *base)
{
	return ((const struct block_iter *)base)->status;
}

static void bi_destroy(struct iter *base)
{
	struct block_iter *it = (struct block_iter *)base;
	block_iter_release(it);
	free(it);
}

static const struct iter_ops block_iter_ops = {
	/* valid, key, value: published (lib/util/iter.h) */
	.seek_first = bi_seek_first,
	.seek_last = bi_seek_last,
	.seek = bi_seek,
	.next = bi_next,
	.prev = bi_prev,
	.status = bi_status,
	.destroy = bi_destroy,
};

/* Points it at b, keeping the buffers it has. */
static void block_iter_point(struct block_iter *it, const struct block *b, const struct comparator *cmp,
                             const char *path)
{
	it->cmp = cmp;
	it->path = path;
	it->data = b->data;
	it->block_offset = b->offset;
	it->restarts = b->restarts;
	it->num_restarts = b->num_restarts;
	it->status = 0;
	it->base.key = slice_make(b->data, 0);
	it->base.value = slice_make(b->data, 0);
	it->prev_n = it->prev_pos = 0;
	buf_clear(&it->prev_keys);
	invalidate(it);
}

void block_iter_init(struct block_iter *it, const struct block *b, const struct comparator *cmp,
                     const char *path)
{
	iter_init(&it->base, &block_iter_ops);
	buf_init(&it->key_buf);
	it->prev = NULL;
	it->prev_cap = 0;
	buf_init(&it->prev_keys);
	block_iter_point(it, b, cmp, path);
}

struct block_iter *block_iter_recycle(struct iter *old)
{
	if (old == NULL)
		return NULL;
	if (old->ops != &block_iter_ops) {
		iter_destroy(old);
		return NULL;
	}
	iter_run_cleanups(old);
	return (struct block_iter *)old;
}

struct iter *block_iter_reuse(struct block_iter *it, const struct block *b, const struct comparator *cmp,
                              const char *path)
{
	if (it == NULL)
		return block_iter_create(b, cmp, path);
	block_iter_point(it, b, cmp, path);
	return &it->base;
}

void block_iter_release(struct block_iter *it)
{
	buf_free(&it->key_buf);
	free(it->prev);
	buf_free(&it->prev_keys);
}

struct iter *block_iter_create(const struct block *b, const struct comparator *cmp,
                               const char *path)
{
	struct block_iter *it = malloc(sizeof(*it));
	if (it == NULL) {
		err_nomem("block iterator");
		return NULL;
	}
	block_iter_init(it, b, cmp, path);
	return &it->base;
}
