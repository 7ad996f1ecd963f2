#include "sstable/compress.h"

#include <limits.h>
#include <stdlib.h>

#include "config.h"
#include "lib/util/coding.h"
#include "lib/util/error.h"

#ifdef HAVE_SNAPPY
#include <snappy-c.h>
#endif
#ifdef HAVE_LZ4
#include <lz4.h>
#endif
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

/* Type bytes by API value. */
static const unsigned char types[] = { BLOCK_TYPE_NONE, BLOCK_TYPE_SNAPPY, BLOCK_TYPE_LZ4,
	                               BLOCK_TYPE_ZLIB };

int compress_api_supported(int api_compression)
{
	return api_compression >= 0 && api_compression <= SHALE_COMPRESSION_ZLIB &&
	       compress_type_supported(types[api_compression]);
}

int compress_type_for(int api_compression, unsigned char *type)
{
	static const char *const names[] = { "none", "snappy", "lz4", "zlib" };
	if (api_compression < 0 || api_compression > SHALE_COMPRESSION_ZLIB)
		return err_set(SHALE_EINVAL, "unknown compression type %d", api_compression);
	if (!compress_type_supported(types[api_compression]))
		return err_set(SHALE_ENOTSUP, "compression %s is not built into this shale",
		               names[api_compression]);
	*type = types[api_compression];
	return 0;
}

int compress_type_supported(unsigned char type)
{
	switch (type) {
	case BLOCK_TYPE_NONE:
		return 1;
#ifdef HAVE_SNAPPY
	case BLOCK_TYPE_SNAPPY:
		return 1;
#endif
#ifdef HAVE_LZ4
	case BLOCK_TYPE_LZ4:
		return 1;
#endif
#ifdef HAVE_ZLIB
	case BLOCK_TYPE_ZLIB:
		return 1;
#endif
	default:
		return 0;
	}
}

#if defined(HAVE_SNAPPY) || defined(HAVE_LZ4) || defined(HAVE_ZLIB)
/* The most a valid payload of n bytes can expand to, by the codec's format:
 * snappy's densest element (a 3-byte copy of 64 bytes) is about 22x, an lz4
 * sequence at most 255x per length byte, deflate about 1032x. A claimed size
 * beyond this cannot be honest, so it is rejected before allocating. */
static uint64_t max_expansion(unsigned char type, size_t n)
{
	uint64_t ratio = type == BLOCK_TYPE_SNAPPY ? 32 : type == BLOCK_TYPE_LZ4 ? 256 : 1100;
	return (uint64_t)n * ratio + 1024;
}
#endif

#if defined(HAVE_LZ4) || defined(HAVE_ZLIB)
/* Starts out with the varint32 uncompressed length of lz4 and zlib payloads
 * and reserves bound more bytes. */
static int start_framed(struct buf *out, size_t raw_len, size_t bound)
{
	buf_clear(out);
	int rc = buf_append_varint32(out, (uint32_t)raw_len);
	if (rc == 0)
		rc = buf_reserve(out, bound);
	return rc;
}
#endif

int compress_block(unsigned char type, struct slice raw, struct buf *out)
{
	int rc;
	switch (type) {
#ifdef HAVE_SNAPPY
	case BLOCK_TYPE_SNAPPY: {
		size_t len = snappy_max_compressed_length(raw.size);
		buf_clear(out);
		if ((rc = buf_reserve(out, len)) != 0)
			return rc;
		if (snappy_compress(raw.data, raw.size, out->data, &len) != SNAPPY_OK)
			return 1;
		out->len = len;
		return 0;
	}
#endif
#ifdef HAVE_LZ4
	case BLOCK_TYPE_LZ4: {
		if (raw.size > LZ4_MAX_INPUT_SIZE)
			return 1;
		int bound = LZ4_compressBound((int)raw.size);
		if ((rc = start_framed(out, raw.size, (size_t)bound)) != 0)
			return rc;
		int n = LZ4_compress_default(raw.data, out->data + out->len, (int)raw.size, bound);
		if (n <= 0)
			return 1;
		out->len += (size_t)n;
		return 0;
	}
#endif
#ifdef HAVE_ZLIB
	case BLOCK_TYPE_ZLIB: {
		if (raw.size > UINT32_MAX)
			return 1;
		uLong bound = compressBound((uLong)raw.size);
		if ((rc = start_framed(out, raw.size, (size_t)bound)) != 0)
			return rc;
		uLongf n = bound;
		int zrc = compress2((Bytef *)out->data + out->len, &n, (const Bytef *)raw.data,
		                    (uLong)raw.size, Z_DEFAULT_COMPRESSION);
		if (zrc == Z_MEM_ERROR)
			return err_nomem("zlib compression");
		if (zrc != Z_OK)
			return 1;
		out->len += (size_t)n;
		return 0;
	}
#endif
	default:
		(void)raw;
		(void)out;
		(void)rc;
		return err_set(SHALE_ENOTSUP, "compression type %u is not built in", type);
	}
}

static int corrupt(const char *path, uint64_t offset, unsigned char type, const char *what)
{
	return err_set(SHALE_ECORRUPT, "%s: block of type %u: %s at offset %llu", path,
	               type, what, (unsigned long long)offset);
}

#if defined(HAVE_LZ4) || defined(HAVE_ZLIB)
/* Reads the varint32 length that starts lz4 and zlib payloads and checks it
 * against what the rest could decode to. */
static int framed_length(unsigned char type, struct slice *in, const char *path, uint64_t offset,
                         uint32_t *len)
{
	if (!get_varint32(in, len))
		return corrupt(path, offset, type, "bad uncompressed length");
	if (*len > max_expansion(type, in->size))
		return corrupt(path, offset, type, "impossible uncompressed length");
	return 0;
}
#endif

#if defined(HAVE_SNAPPY) || defined(HAVE_LZ4) || defined(HAVE_ZLIB)
static int undecodable(const char *path, uint64_t offset, unsigned char type,
                       struct bpool *pool, char *dst, size_t dst_len)
{
	bpool_free(pool, dst, dst_len);
	return corrupt(path, offset, type, "payload does not decompress");
}
#endif

#ifdef HAVE_SNAPPY
static int snappy_decode(struct slice in, const char *path, uint64_t offset, struct bpool *pool,
                         char **out, size_t *out_len)
{
	const unsigned char type = BLOCK_TYPE_SNAPPY;
	size_t len;
	if (snappy_uncompressed_length(in.data, in.size, &len) != SNAPPY_OK)
		return corrupt(path, offset, type, "bad snappy header");
	if (len > max_expansion(type, in.size))
		return corrupt(path, offset, type, "impossible uncompressed length");
	char *dst = bpool_alloc(pool, len);
	if (dst == NULL)
		return err_nomem("decompressed block");
	size_t got = len;
	if (snappy_uncompress(in.data, in.size, dst, &got) != SNAPPY_OK || got != len)
		return undecodable(path, offset, type, pool, dst, len);
	*out = dst;
	*out_len = len;
	return 0;
}
#endif

#ifdef HAVE_LZ4
static int lz4_decode(struct slice in, const char *path, uint64_t offset, struct bpool *pool,
                      char **out, size_t *out_len)
{
	const unsigned char type = BLOCK_TYPE_LZ4;
	uint32_t len;
	int rc = framed_length(type, &in, path, offset, &len);
	if (rc)
		return rc;
	if (len > INT_MAX || in.size > INT_MAX)
		return corrupt(path, offset, type, "impossible uncompressed length");
	char *dst = bpool_alloc(pool, len);
	if (dst == NULL)
		return err_nomem("decompressed block");
	int got = LZ4_decompress_safe(in.data, dst, (int)in.size, (int)len);
	if (got < 0 || (uint32_t)got != len)
		return undecodable(path, offset, type, pool, dst, len);
	*out = dst;
	*out_len = len;
	return 0;
}
#endif

#ifdef HAVE_ZLIB
static int zlib_decode(struct slice in, const char *path, uint64_t offset, struct bpool *pool,
                       char **out, size_t *out_len)
{
	const unsigned char type = BLOCK_TYPE_ZLIB;
	uint32_t len;
	int rc = framed_length(type, &in, path, offset, &len);
	if (rc)
		return rc;
	char *dst = bpool_alloc(pool, len);
	if (dst == NULL)
		return err_nomem("decompressed block");
	uLongf got = len;
	uLong used = (uLong)in.size;
	int zrc = uncompress2((Bytef *)dst, &got, (const Bytef *)in.data, &used);
	if (zrc == Z_MEM_ERROR) {
		bpool_free(pool, dst, len);
		return err_nomem("zlib decompression");
	}
	/* trailing bytes after the stream are damage too */
	if (zrc != Z_OK || got != len || used != in.size)
		return undecodable(path, offset, type, pool, dst, len);
	*out = dst;
	*out_len = len;
	return 0;
}
#endif

int decompress_block(unsigned char type, struct slice in, const char *path, uint64_t offset,
                     struct bpool *pool, char **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	switch (type) {
#ifdef HAVE_SNAPPY
	case BLOCK_TYPE_SNAPPY:
		return snappy_decode(in, path, offset, pool, out, out_len);
#endif
#ifdef HAVE_LZ4
	case BLOCK_TYPE_LZ4:
		return lz4_decode(in, path, offset, pool, out, out_len);
#endif
#ifdef HAVE_ZLIB
	case BLOCK_TYPE_ZLIB:
		return zlib_decode(in, path, offset, pool, out, out_len);
#endif
	default:
		(void)in, (void)pool;
		if (type == BLOCK_TYPE_SNAPPY || type == BLOCK_TYPE_LZ4 || type == BLOCK_TYPE_ZLIB)
			return err_set(SHALE_ENOTSUP,
			               "%s: block at offset %llu uses compression type %u, not built in",
			               path, (unsigned long long)offset, type);
		return corrupt(path, offset, type, "unknown compression type");
	}
}
