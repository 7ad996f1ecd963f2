#include "lib/util/arena.h"

#include <stdint.h>
#include <stdlib.h>

struct arena_block {
	struct arena_block *next;
	/* followed by the block's bytes, aligned to max_align_t */
	max_align_t data[];
};

#define ARENA_ALIGN (sizeof(void *) > 8 ? sizeof(void *) : 8)

void arena_init(struct arena *a)
{
	a->ptr = NULL;
	a->remaining = 0;
	a->blocks = NULL;
	atomic_init(&a->usage, 0);
}

void arena_destroy(struct arena *a)
{
	struct arena_block *b = a->blocks;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	arena_init(a);
}

static char *new_block(struct arena *a, size_t bytes)
{
	struct arena_block *b = malloc(sizeof(*b) + bytes);
	if (b == NULL)
		return NULL;
	b->next = a->blocks;
	a->blocks = b;
	atomic_fetch_add_explicit(&a->usage, bytes + sizeof(*b), memory_order_relaxed);
	return (char *)b->data;
}

static void *alloc_fallback(struct arena *a, size_t n)
{
	if (n > ARENA_BLOCK_SIZE / 4) {
		/* Large objects get a block of their own so the current block's
		 * remainder is not wasted. */
		return new_block(a, n);
	}
	char *p = new_block(a, ARENA_BLOCK_SIZE);
	if (p == NULL)
		return NULL;
	a->ptr = p + n;
	a->remaining = ARENA_BLOCK_SIZE - n;
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n <= a->remaining) {
		char *p = a->ptr;
		a->ptr += n;
		a->remaining -= n;
		return p;
	}
	return alloc_fallback(a, n);
}

void *arena_alloc_aligned(struct arena *a, size_t n)
{
	size_t mod = (uintptr_t)a->ptr & (ARENA_ALIGN - 1);
	size_t slop = mod ? ARENA_ALIGN - mod : 0;
	if (n + slop <= a->remaining) {
		char *p = a->ptr + slop;
		a->ptr += n + slop;
		a->remaining -= n + slop;
		return p;
	}
	/* new blocks are max_align_t aligned */
	return alloc_fallback(a, n);
}
