#include "sstable/format.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/error.h"
#include "sstable/compress.h"

int block_handle_append(struct buf *dst, const struct block_handle *h)
{
	char tmp[BLOCK_HANDLE_MAX_LEN];
	char *p = encode_varint64(tmp, h->offset);
	p = encode_varint64(p, h->size);
	return buf_append(dst, tmp, (size_t)(p - tmp));
}

int block_handle_decode(struct slice *in, struct block_handle *h)
{
	return get_varint64(in, &h->offset) && get_varint64(in, &h->size);
}

void footer_encode(const struct footer *f, char *dst)
{
	char *p = dst;
	p = encode_varint64(p, f->metaindex.offset);
	p = encode_varint64(p, f->metaindex.size);
	p = encode_varint64(p, f->index.offset);
	p = encode_varint64(p, f->index.size);
	memset(p, 0, (size_t)(dst + FOOTER_LEN - 8 - p));
	encode_fixed32(dst + FOOTER_LEN - 8, (uint32_t)(TABLE_MAGIC & 0xffffffffu));
	encode_fixed32(dst + FOOTER_LEN - 4, (uint32_t)(TABLE_MAGIC >> 32));
}

int format_check_handle(const struct block_handle *h, uint64_t data_limit, const char *path,
                        const char *what)
{
	/* written so that no sum can overflow */
	if (h->size > data_limit || h->offset > data_limit - h->size ||
	    data_limit - h->size - h->offset < BLOCK_TRAILER_LEN)
		return err_set(SHALE_ECORRUPT,
		               "%s: %s handle (offset %llu, size %llu) runs past the "
		               "data end at offset %llu",
		               path, what, (unsigned long long)h->offset, (unsigned long long)h->size,
		               (unsigned long long)data_limit);
	return 0;
}

int footer_decode(const char *src, uint64_t file_size, const char *path, struct footer *f)
{
	uint64_t footer_off = file_size - FOOTER_LEN;
	uint64_t magic = (uint64_t)decode_fixed32(src + FOOTER_LEN - 8) |
	                 ((uint64_t)decode_fixed32(src + FOOTER_LEN - 4) << 32);
	if (magic != TABLE_MAGIC)
		return err_set(SHALE_ECORRUPT, "%s: bad table magic number at offset %llu",
		               path, (unsigned long long)(footer_off + FOOTER_LEN - 8));
	struct slice in = slice_make(src, FOOTER_LEN - 8);
	if (!block_handle_decode(&in, &f->metaindex) || !block_handle_decode(&in, &f->index))
		return err_set(SHALE_ECORRUPT, "%s: bad block handle in footer at offset %llu",
		               path, (unsigned long long)footer_off);
	int rc = format_check_handle(&f->metaindex, footer_off, path, "footer's metaindex");
	if (rc == 0)
		rc = format_check_handle(&f->index, footer_off, path, "footer's index");
	return rc;
}

int format_read_block(struct rand_file *file, const char *path, uint64_t data_limit,
                      const struct block_handle *h, int verify, struct bpool *pool,
                      struct block_contents *out)
{
	out->data = slice_make("", 0);
	out->heap = NULL;
	out->heap_size = 0;
	out->pool = pool;
	out->cachable = 0;
	int rc = format_check_handle(h, data_limit, path, "block");
	if (rc)
		return rc;
	if (h->size > SIZE_MAX - BLOCK_TRAILER_LEN)
		return err_nomem("block larger than the address space");
	size_t n = (size_t)h->size;
	size_t scratch_size = n + BLOCK_TRAILER_LEN;
	/* a mapped file hands back a pointer into the mapping: no buffer needed */
	char *scratch = NULL;
	if (!file->mapped && (scratch = bpool_alloc(pool, scratch_size)) == NULL)
		return err_nomem("block read buffer");
	struct slice got;
	rc = rand_file_read(file, h->offset, scratch_size, scratch, &got);
	if (rc)
		goto fail;
	if (got.size != scratch_size) {
		rc = err_set(SHALE_ECORRUPT, "%s: truncated block read at offset %llu", path,
		             (unsigned long long)h->offset);
		goto fail;
	}
	const char *data = got.data;
	unsigned char type = (unsigned char)data[n];
	if (verify) {
		uint32_t stored = crc32c_unmask(decode_fixed32(data + n + 1));
		uint32_t actual = crc32c_value(data, n + 1);
		if (stored != actual) {
			rc = err_set(SHALE_ECORRUPT,
			             "%s: block checksum mismatch at offset %llu", path,
			             (unsigned long long)h->offset);
			goto fail;
		}
	}
	if (type == BLOCK_TYPE_NONE) {
		out->data = slice_make(data, n);
		if (data == scratch) {
			out->heap = scratch;
			out->heap_size = scratch_size;
			out->cachable = 1;
		} else {
			/* points into memory that lives as long as the file */
			bpool_free(pool, scratch, scratch_size);
		}
		return 0;
	}
	char *plain;
	size_t plain_len;
	rc = decompress_block(type, slice_make(data, n), path, h->offset, pool, &plain, &plain_len);
	if (rc)
		goto fail;
	bpool_free(pool, scratch, scratch_size);
	out->data = slice_make(plain, plain_len);
	out->heap = plain;
	out->heap_size = plain_len;
	out->cachable = 1;
	return 0;
fail:
	bpool_free(pool, scratch, scratch_size);
	return rc;
}
