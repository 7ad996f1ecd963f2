/*
 * A bump allocator for the memtable: many small allocations, all freed at
 * once by arena_destroy. Allocation is single-threaded (the memtable's one
 * writer); arena_memory_usage may be read from any thread.
 */
#ifndef SHALE_UTIL_ARENA_H
#define SHALE_UTIL_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

#define ARENA_BLOCK_SIZE 4096 /* the first block; later ones grow */

struct arena_block;

struct arena {
	char *ptr;                     /* next free byte in the current block */
	size_t remaining;              /* bytes left in the current block */
	struct arena_block *blocks;    /* every block, newest first */
	size_t next_block;             /* size of the next block (they grow) */
	atomic_size_t usage;           /* bytes obtained from malloc, with overhead */
};

void arena_init(struct arena *a);
void arena_destroy(struct arena *a);
/* n bytes aligned to 8 (pointer size at least); NULL when memory runs out
 * (the caller reports SHALE_ENOMEM). n must be > 0. */
void *arena_alloc_aligned(struct arena *a, size_t n);
/* n bytes, no alignment promised. */
void *arena_alloc(struct arena *a, size_t n);

static inline size_t arena_memory_usage(const struct arena *a)
{
	/* relaxed: an approximate figure for flush decisions and properties */
	return atomic_load_explicit(&((struct arena *)a)->usage, memory_order_relaxed);
}

#endif
