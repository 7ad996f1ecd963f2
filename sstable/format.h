/*
 * Pieces of the table format shared by the builder and the reader
 * (doc/format.md, "Tables"): block handles, the footer, the block
 * trailer, and reading one block from a file (checksum, then decompression).
 */
#ifndef SHALE_SSTABLE_FORMAT_H
#define SHALE_SSTABLE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/bpool.h"
#include "lib/util/buf.h"
#include "lib/util/env.h"
#include "lib/util/slice.h"

#define TABLE_MAGIC UINT64_C(0xdb4775248b80fb57)
/* two varint64 */
#define BLOCK_HANDLE_MAX_LEN 20
/* two handles padded to 40 bytes, then the magic */
#define FOOTER_LEN 48
/* type byte + masked CRC-32C */
#define BLOCK_TRAILER_LEN 5
/* metaindex key of the bloom filter block */
#define FILTER_META_KEY "filter.leveldb.BuiltinBloomFilter2"

/* Where a block lives: size excludes the trailer. */
struct block_handle {
	uint64_t offset;
	uint64_t size;
};

int block_handle_append(struct buf *dst, const struct block_handle *h);
/* Consumes a handle from *in; 1 on success, 0 when malformed. */
int block_handle_decode(struct slice *in, struct block_handle *h);

struct footer {
	struct block_handle metaindex;
	struct block_handle index;
};

/* Writes the 48-byte footer into dst. */
void footer_encode(const struct footer *f, char *dst);
/* Decodes the last 48 bytes of a file of file_size bytes and checks the
 * magic and that both handles (with their trailers) lie before the footer.
 * SHALE_ECORRUPT naming path otherwise. */
int footer_decode(const char *src, uint64_t file_size, const char *path, struct footer *f);

/* A block's bytes as read. heap, when not NULL, is the buffer data lies in,
 * of heap_size bytes, from pool (bpool_alloc; malloc when pool is NULL); the
 * owner frees it with bpool_free(pool, heap, heap_size). When heap is NULL,
 * data points into a file mapping that lives as long as the file. cachable is
 * 0 for blocks in a mapping (the cache must not outlive the file). */
struct block_contents {
	struct slice data;
	char *heap;
	int cachable;
	size_t heap_size;
	struct bpool *pool;
};

/* Reads the block at h from file (whose blocks must end by data_limit, the
 * footer's offset), checks its CRC when verify, and decompresses it. Errors:
 * SHALE_ECORRUPT (handle out of range, short read, checksum mismatch, bad
 * payload, unknown type), SHALE_ENOTSUP (codec not built in), the file's
 * read error, SHALE_ENOMEM; the message names path and the block's offset.
 * A buffer the block needs comes from pool (NULL: malloc). */
int format_read_block(struct rand_file *file, const char *path, uint64_t data_limit,
                      const struct block_handle *h, int verify, struct bpool *pool,
                      struct block_contents *out);

/* Checks that the block at h and its trailer lie within [0, data_limit). */
int format_check_handle(const struct block_handle *h, uint64_t data_limit, const char *path,
                        const char *what);

#endif
