/*
 * A pool of buffers for the block cache's decompressed blocks.
 *
 * Why not malloc: glibc gives each thread that allocates its own arena, and
 * a freed buffer stays in the arena of the thread that allocated it. The
 * cache's blocks are allocated by whichever thread missed and freed by
 * whichever thread evicted, so with several reading threads (or threads that
 * come and go) the cache's few megabytes end up spread over several arenas,
 * each holding its share in freed chunks: the process kept 19 MB of anonymous
 * memory for an 8 MiB cache (doc/performance.md, "Memory"). The pool keeps
 * the cache's buffers in one place whatever thread asks.
 *
 * Design: a slab allocator. Sizes are rounded up to 256-byte classes (up to
 * BPOOL_MAX_SLOT; larger buffers come from malloc). Each class carves slots
 * from 256 KiB chunks mapped aligned to their size, so a slot's chunk is
 * found from its address; each chunk keeps its own free list and live count,
 * and a chunk whose slots are all free is unmapped unless it is the last
 * spare chunk of its class. Slots are carved lazily, so pages of a chunk
 * never used are never touched. One mutex guards the pool: an allocation
 * happens once per cache miss, next to a block decompression that costs a
 * hundred times more.
 *
 * Under AddressSanitizer a free slot is poisoned until it is handed out
 * again, so a block used after its release is still reported.
 */
#ifndef SHALE_UTIL_BPOOL_H
#define SHALE_UTIL_BPOOL_H

#include <stddef.h>

#define BPOOL_MAX_SLOT ((size_t)32 << 10)

struct bpool;

int bpool_create(struct bpool **out);
/* REQUIRES: every buffer of the pool freed. NULL ok. */
void bpool_destroy(struct bpool *p);

/* A buffer of n bytes (n > 0), or NULL when memory runs out (no error is
 * set: the caller names what it was for). With p NULL: malloc. */
void *bpool_alloc(struct bpool *p, size_t n);
/* Frees a buffer bpool_alloc(p, n) returned; n must be the same. */
void bpool_free(struct bpool *p, void *buf, size_t n);
/* The bytes a buffer of n bytes takes: what a cache should charge. */
size_t bpool_charge(const struct bpool *p, size_t n);
/* Bytes of chunks mapped now (not counting malloc'd large buffers). */
size_t bpool_mapped(struct bpool *p);

#endif
