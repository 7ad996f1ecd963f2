/*
 * The filter block: filter i covers the data blocks that start in
 * [i << base_lg, (i+1) << base_lg) of the file; then fixed32 offset of each
 * filter, fixed32 offset of that array, one byte base_lg (doc/format.md,
 * "Filter block"). Stored uncompressed. LevelDB writes base_lg 11 (a filter
 * per 2 KiB of data), and so does a builder with a user policy; shale's
 * database tables use a base_lg past the end of their data, so the block
 * holds one filter for the whole table — LevelDB's reader uses it as it
 * is, and shale asks it before searching the index. The filters are the
 * built-in bloom's, or a user policy's (sstable/filter_policy.h).
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
	int whole;            /* one filter for the whole table */
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
/* The built-in bloom, one filter for every key of the table. */
void filter_block_builder_init_whole(struct filter_block_builder *fb, int bits_per_key,
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
/* The finished filter block, borrowed until the builder is freed.
 * block_offset is where it will be written: every data block starts before
 * it (a whole-table filter's base_lg is chosen to cover them all). */
int filter_block_builder_finish(struct filter_block_builder *fb, uint64_t block_offset,
                                struct slice *out);

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
/* 1 when the block holds one filter covering every data block of a table
 * whose filter block starts at block_offset (the data blocks precede it):
 * a point read can then ask it before searching the index. */
int filter_block_is_whole(const struct filter_block_reader *r, uint64_t block_offset);
/* 0 only when key is certainly absent from the data block at block_offset;
 * offsets inside the block that point outside it mean "may match". */
int filter_block_may_match(const struct filter_block_reader *r, uint64_t block_offset,
                           struct slice key);

#endif
