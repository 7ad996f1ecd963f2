/*
 * The filter block: one filter per 2 KiB (1 << FILTER_BASE_LG) of
 * data-block file offsets — filter i covers the data blocks that start in
 * [i x 2 KiB, (i+1) x 2 KiB) — then fixed32 offset of each filter, fixed32
 * offset of that array, one byte base lg (doc/format.md, "Filter block"). Stored uncompressed.
 * The filters are the built-in bloom's, or a user policy's (sstable/filter_policy.h).
 *
 * With the built-in bloom the builder keeps only each key's 32-bit hash
 * until its filter is made; with a policy it keeps copies of the keys. Not
 * thread-safe; the reader is immutable and shareable.
 */
#ifndef SHALE_SSTABLE_FILTER_BLOCK_H
#define SHALE_SSTABLE_FILTER_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/slice.h"
#include "sstable/filter_policy.h"

#define FILTER_BASE_LG 11

struct filter_block_builder {
	int bits_per_key;
	const struct filter_policy *policy; /* NULL: the built-in bloom */
	int internal_keys;    /* filter on the user key (strip the 8-byte tag) */
	uint32_t *hashes;     /* bloom: hashes of the keys of the filter being gathered */
	size_t num_hashes, cap_hashes;
	struct buf keys;      /* policy: those keys, end to end */
	size_t *key_ends;     /* policy: where each key ends in keys (num_hashes of them) */
	struct slice *slices; /* policy: the keys handed to create_filter */
	struct buf result;    /* filters so far */
	struct buf offsets;   /* fixed32 start of each filter in result */
};

/* REQUIRES: bits_per_key >= 1. */
void filter_block_builder_init(struct filter_block_builder *fb, int bits_per_key,
                               int internal_keys);
/* The filters are policy's (borrowed for the builder's life). */
void filter_block_builder_init_policy(struct filter_block_builder *fb,
                                      const struct filter_policy *policy, int internal_keys);
void filter_block_builder_free(struct filter_block_builder *fb);
/* A data block starts at block_offset: emits the filters of the regions
 * before it. Returns 0 or SHALE_ENOMEM. */
int filter_block_builder_start_block(struct filter_block_builder *fb, uint64_t block_offset);
/* Adds a key of the current data block. Returns 0 or SHALE_ENOMEM (or a
 * policy's error, when a filter is made). */
int filter_block_builder_add_key(struct filter_block_builder *fb, struct slice key);
/* The finished filter block, borrowed until the builder is freed. */
int filter_block_builder_finish(struct filter_block_builder *fb, struct slice *out);

struct filter_block_reader {
	const char *data;    /* start of the filters */
	const char *offsets; /* the fixed32 offset array */
	size_t num;          /* number of filters */
	int base_lg;
	int internal_keys;
	const struct filter_policy *policy; /* NULL (the built-in bloom) after init */
};

/* contents is borrowed for the reader's life. A block too short to hold
 * its own header, or whose offset array lies outside it, is SHALE_ECORRUPT
 * naming path and offset. The filters are read as the built-in bloom's;
 * set r->policy after init for a policy's block. */
int filter_block_reader_init(struct filter_block_reader *r, struct slice contents,
                             int internal_keys, const char *path, uint64_t offset);
/* 0 only when key is certainly absent from the data block at block_offset;
 * offsets inside the block that point outside it mean "may match". */
int filter_block_may_match(const struct filter_block_reader *r, uint64_t block_offset,
                           struct slice key);

#endif
