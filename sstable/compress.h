/*
 * Block compression codecs (doc/format.md, "Compression type bytes"). The
 * API values are SHALE_COMPRESSION_* (include/shale.h); on disk each block's
 * trailer holds a type byte, BLOCK_TYPE_*. lz4 and zlib payloads start with
 * a varint32 uncompressed length; snappy's raw format carries its own.
 *
 * A codec that was not built in (config.h: HAVE_SNAPPY, HAVE_LZ4, HAVE_ZLIB)
 * is SHALE_ENOTSUP in both directions.
 */
#ifndef SHALE_SSTABLE_COMPRESS_H
#define SHALE_SSTABLE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/bpool.h"
#include "lib/util/buf.h"
#include "lib/util/slice.h"

#define BLOCK_TYPE_NONE 0x00
#define BLOCK_TYPE_SNAPPY 0x01
#define BLOCK_TYPE_LZ4 0x04
#define BLOCK_TYPE_ZLIB 0x10

/* The type byte for an API value. SHALE_EINVAL for a value that names no
 * codec, SHALE_ENOTSUP for a codec not built in (message set). */
int compress_type_for(int api_compression, unsigned char *type);

/* 1 when the API value names a codec built into this build, else 0 (no
 * message set). */
int compress_api_supported(int api_compression);

/* 1 when blocks of this type byte can be decoded by this build. */
int compress_type_supported(unsigned char type);

/* Compresses raw with the codec of type (not BLOCK_TYPE_NONE) into out
 * (replacing its contents). Returns 0; 1 when the codec cannot take this
 * input (too large for it: store the block raw); SHALE_ENOTSUP or
 * SHALE_ENOMEM. */
int compress_block(unsigned char type, struct slice raw, struct buf *out);

/* Decompresses in (stored with type) into a buffer from pool (*out, *out_len;
 * the caller frees it with bpool_free(pool, *out, *out_len); with pool NULL
 * it is malloc'd). A payload that does not decode, claims an absurd size
 * (more than the codec can expand `in` to) or decodes to a different length
 * than it claims is SHALE_ECORRUPT, and a type this build cannot decode is
 * SHALE_ENOTSUP, an unknown one SHALE_ECORRUPT; messages name path and the
 * block's file offset. */
int decompress_block(unsigned char type, struct slice in, const char *path, uint64_t offset,
                     struct bpool *pool, char **out, size_t *out_len);

#endif
