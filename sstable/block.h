/*
 * Reads a block written by block_builder: entries, then fixed32 restart
 * offsets, then their fixed32 count.
 *
 * block_create checks the restart array once (it lies inside the block, its
 * offsets start at 0, increase, and point before the array); the iterator
 * checks every entry it decodes (lengths inside the entry area, a shared
 * prefix no longer than the previous key, none at a restart point). Damage
 * is SHALE_ECORRUPT naming the file and the block's offset, never a read
 * outside the block. Errors in an iterator are sticky: once status() is
 * nonzero it stays invalid whatever is called.
 *
 * A block is immutable and may be read by many iterators on many threads.
 */
#ifndef SHALE_SSTABLE_BLOCK_H
#define SHALE_SSTABLE_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/comparator.h"
#include "lib/util/iter.h"
#include "sstable/format.h"

struct block {
	const char *data;
	size_t size;
	uint32_t restarts;     /* offset of the restart array = end of the entries */
	uint32_t num_restarts; /* 0 for a block without entries */
	uint64_t offset;       /* the block's file offset, for messages */
	char *heap;            /* owned buffer data lies in, or NULL */
	size_t heap_size;      /* its size, and the pool it came from (NULL: malloc) */
	struct bpool *pool;
};

/* Takes ownership of contents->heap (freed with the block, or at once when
 * this fails). offset is the block's file offset, used in messages. */
int block_create(struct block_contents *contents, const char *path, uint64_t offset,
                 struct block **out);
/* NULL ok. */
void block_destroy(struct block *b);
/* Memory the block holds, for cache charges. */
size_t block_charge(const struct block *b);

/* An entry of the restart interval a backward step decoded (see bi_prev). */
struct block_prev_entry {
	uint32_t offset, next;  /* the entry's offset and the one after it */
	uint32_t key_off, key_len; /* its key, in prev_keys */
	const char *value;
	uint32_t value_len;
};

/* A block iterator. Its key is a slice into the block, or, when the key
 * shares a prefix with the previous one, into key_small (up to 48 bytes: no
 * allocation for most keys) or key_buf, or into prev_keys after a backward
 * step. Stepping backwards decodes the whole restart interval once
 * and walks it back from memory, so prev costs about what next does. */
struct block_iter {
	struct iter base;
	const struct comparator *cmp;
	const char *path;
	const char *data;
	uint64_t block_offset;
	uint32_t restarts;
	uint32_t num_restarts;
	uint32_t current;       /* offset of the current entry; restarts when invalid */
	uint32_t next;          /* offset just after the current entry */
	int status;
	/* key and value: base.key and base.value (a published cursor) */
	char key_small[48];     /* keys that fit are assembled here, */
	struct buf key_buf;     /* longer ones here */
	/* the restart interval decoded by the last backward step (its restart
	 * point's index: prev_restart) */
	struct block_prev_entry *prev;
	uint32_t prev_n, prev_cap, prev_pos, prev_restart;
	struct buf prev_keys;
};

/* A heap iterator over b (iter_destroy frees it). b, cmp and path are
 * borrowed and must outlive the iterator: callers pin b with
 * iter_register_cleanup. NULL when memory runs out. */
struct iter *block_iter_create(const struct block *b, const struct comparator *cmp,
                               const char *path);
/* The same in caller-provided space (point lookups need no allocation of
 * the iterator); finish with block_iter_release, not iter_destroy. */
void block_iter_init(struct block_iter *it, const struct block *b, const struct comparator *cmp,
                     const char *path);
void block_iter_release(struct block_iter *it);
/* Recycling a heap iterator for another block (a table's scan moves from
 * block to block): block_iter_recycle takes an iterator that is done with,
 * runs its cleanups and returns it when it is a block iterator, or
 * destroys it and returns NULL (NULL too for NULL). block_iter_reuse then
 * points what recycle returned at b, keeping the buffers it grew (an
 * iterator from block_iter_create when it is NULL); the result is the
 * caller's to destroy, with its own cleanups registered anew. A recycled
 * iterator nobody reuses is freed with iter_destroy. */
struct block_iter *block_iter_recycle(struct iter *old);
struct iter *block_iter_reuse(struct block_iter *it, const struct block *b, const struct comparator *cmp,
                              const char *path);

#endif
