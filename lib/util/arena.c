/*
 * Blocks grow from ARENA_BLOCK_SIZE to ARENA_MAX_BLOCK, so a small memtable
 * stays small. Blocks from ARENA_MAP_MIN up are mapped directly (mmap), not
 * taken from malloc: destroying a memtable then gives its memory back to the
 * system at once, where freed heap blocks would stay in the process (RSS)
 * scattered between others. Under AddressSanitizer every block comes from
 * malloc, which it watches.
 */
#include "lib/util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

struct arena_block {
	struct arena_block *next;
	size_t bytes;  /* the whole block, header included */
	int mapped;
	/* followed by the block's bytes, aligned to max_align_t */
	max_align_t data[];
};

#define ARENA_ALIGN (sizeof(void *) > 8 ? sizeof(void *) : 8)
#define ARENA_MAX_BLOCK ((size_t)256 << 10)
#define ARENA_MAP_MIN ((size_t)64 << 10)

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_USE_MMAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_USE_MMAP 0
#endif
#endif
#ifndef ARENA_USE_MMAP
#define ARENA_USE_MMAP 1
#endif

void arena_init(struct arena *a)
{
	a->ptr = NULL;
	a->remaining = 0;
	a->blocks = NULL;
	a->next_block = ARENA_BLOCK_SIZE;
	atomic_init(&a->usage, 0);
}

void arena_destroy(struct arena *a)
{
	struct arena_block *b = a->blocks;
	while (b) {
		struct arena_block *next = b->next;
		if (b->mapped)
			munmap(b, b->bytes);
		else
			free(b);
		b = next;
	}
	arena_init(a);
}

/* A block with room for `bytes`. NULL when memory runs out. */
static char *new_block(struct arena *a, size_t bytes)
{
	size_t total = sizeof(struct arena_block) + bytes;
	struct arena_block *b = NULL;
	int mapped = 0;
	if (ARENA_USE_MMAP && total >= ARENA_MAP_MIN) {
		void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			b = m;
			mapped = 1;
		}
	}
	if (b == NULL && (b = malloc(total)) == NULL)
		return NULL;
	b->next = a->blocks;
	b->bytes = total;
	b->mapped = mapped;
	a->blocks = b;
	atomic_fetch_add_explicit(&a->usage, total, memory_order_relaxed);
	return (char *)b->data;
}

static void *alloc_fallback(struct arena *a, size_t n)
{
	size_t size = a->next_block;
	if (n > size / 4) {
		/* Large objects get a block of their own so the current block's
		 * remainder is not wasted. */
		return new_block(a, n);
	}
	char *p = new_block(a, size - sizeof(struct arena_block));
	if (p == NULL)
		return NULL;
	if (a->next_block < ARENA_MAX_BLOCK)
		a->next_block *= 2;
	a->ptr = p + n;
	a->remaining = size - sizeof(struct arena_block) - n;
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
