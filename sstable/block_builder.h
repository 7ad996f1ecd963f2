/*
 * Builds one block (data, index or metaindex): entries with their keys
 * prefix-compressed against the previous key, a whole key every
 * restart_interval entries (a restart point), then the array of restart
 * offsets and its length (doc/format.md, "Blocks").
 *
 * Not thread-safe. The builder owns its buffers.
 */
#ifndef SHALE_SSTABLE_BLOCK_BUILDER_H
#define SHALE_SSTABLE_BLOCK_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/slice.h"

struct block_builder {
	struct buf data;     /* entries so far; restarts appended by finish */
	struct buf restarts; /* fixed32 offsets of the restart points */
	struct buf last_key;
	int restart_interval;
	int counter;         /* entries since the last restart point */
	size_t num_entries;
	int finished;
};

/* REQUIRES: restart_interval >= 1. */
void block_builder_init(struct block_builder *b, int restart_interval);
void block_builder_free(struct block_builder *b);
/* Empties the builder for the next block (keeps its memory). */
void block_builder_reset(struct block_builder *b);
/* REQUIRES: not finished; key sorts after the previous key. Returns 0,
 * SHALE_EINVAL when the block would grow past 4 GiB (its offsets are
 * 32-bit) or SHALE_ENOMEM. */
int block_builder_add(struct block_builder *b, struct slice key, struct slice value);
/* Appends the restart array; *out is the block, borrowed until the next
 * reset. Returns 0 or SHALE_ENOMEM. */
int block_builder_finish(struct block_builder *b, struct slice *out);
/* Size of the block if finished now. */
size_t block_builder_size_estimate(const struct block_builder *b);

static inline int block_builder_empty(const struct block_builder *b)
{
	return b->num_entries == 0;
}

#endif
