/*
 * Index entries are added lazily: when a data block is cut, its index key is
 * not known until the next key arrives (the separator must sort before it),
 * so the block's handle waits in pending_handle; finish closes the last one
 * with a short successor of the last key.
 */
#include "sstable/table_builder.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/error.h"
#include "sstable/block_builder.h"
#include "sstable/compress.h"
#include "sstable/filter_block.h"
#include "sstable/format.h"

struct table_builder {
	struct table_options opt;
	struct wfile *file;
	char *path;
	unsigned char type; /* BLOCK_TYPE_* for data, index and metaindex */
	uint64_t offset;    /* bytes appended so far */
	int status;         /* first error; every later call returns it */
	int finished;
	uint64_t num_entries;
	struct block_builder data;
	struct block_builder index;
	struct filter_block_builder filter;   /* LevelDB's filter block */
	int have_filter;
	char *filter_key;   /* a policy's metaindex key, "filter.<name>" (NULL: the bloom's) */
	struct buf last_key;
	int pending_index;
	struct block_handle pending_handle;
	struct buf scratch;     /* compressed block, index entry value */
};

int table_builder_create(const struct table_options *opt, struct wfile *file, const char *path,
                         struct table_builder **out)
{
	*out = NULL;
	unsigned char type;
	int rc = compress_type_for(opt->compression, &type);
	if (rc)
		return rc;
	if (opt->restart_interval < 1)
		return err_set(SHALE_EINVAL, "table %s: restart interval %d < 1", path,
		               opt->restart_interval);
	if (opt->bloom_bits_per_key < 0)
		return err_set(SHALE_EINVAL, "table %s: bloom bits per key %d < 0", path,
		               opt->bloom_bits_per_key);
	struct table_builder *b = calloc(1, sizeof(*b));
	if (b == NULL || (b->path = strdup(path)) == NULL) {
		free(b);
		return err_nomem("table builder");
	}
	b->opt = *opt;
	b->file = file;
	b->type = type;
	block_builder_init(&b->data, opt->restart_interval);
	block_builder_init(&b->index, 1);
	buf_init(&b->last_key);
	buf_init(&b->scratch);
	if (opt->filter_policy) {
		/* a user policy replaces the bloom, with LevelDB's layout */
		b->opt.table_filter = 0;
		const char *name = opt->filter_policy->name(opt->filter_policy);
		size_t n = strlen(name);
		b->filter_key = malloc(sizeof(FILTER_META_PREFIX) + n);
		if (b->filter_key == NULL) {
			table_builder_destroy(b);
			return err_nomem("table builder");
		}
		memcpy(b->filter_key, FILTER_META_PREFIX, sizeof(FILTER_META_PREFIX) - 1);
		memcpy(b->filter_key + sizeof(FILTER_META_PREFIX) - 1, name, n + 1);
		b->have_filter = 1;
		filter_block_builder_init_policy(&b->filter, opt->filter_policy, opt->internal_keys);
	} else if (opt->bloom_bits_per_key > 0) {
		b->have_filter = 1;
		if (b->opt.table_filter)
			filter_block_builder_init_whole(&b->filter, opt->bloom_bits_per_key, opt->internal_keys);
		else
			filter_block_builder_init(&b->filter, opt->bloom_bits_per_key, opt->internal_keys);
	} else {
		b->opt.table_filter = 0;
	}
	if (b->have_filter) {
		rc = filter_block_builder_start_block(&b->filter, 0);
		if (rc) {
			table_builder_destroy(b);
			return rc;
		}
	}
	*out = b;
	return 0;
}

void table_builder_destroy(struct table_builder *b)
{
	if (b == NULL)
		return;
	block_builder_free(&b->data);
	block_builder_free(&b->index);
	if (b->have_filter)
		filter_block_builder_free(&b->filter);
	free(b->filter_key);
	buf_free(&b->last_key);
	buf_free(&b->scratch);
	free(b->path);
	free(b);
}

/* Appends contents with its trailer (type byte, masked CRC of both). */
static int write_raw_block(struct table_builder *b, struct slice contents, unsigned char type,
                           struct block_handle *h)
{
	h->offset = b->offset;
	h->size = contents.size;
	char trailer[BLOCK_TRAILER_LEN];
	trailer[0] = (char)type;
	uint32_t crc = crc32c_value(contents.data, contents.size);
	crc = crc32c_extend(crc, trailer, 1);
	encode_fixed32(trailer + 1, crc32c_mask(crc));
	int rc = wfile_append(b->file, contents.data, contents.size);
	if (rc == 0)
		rc = wfile_append(b->file, trailer, BLOCK_TRAILER_LEN);
	if (rc == 0)
		b->offset += contents.size + BLOCK_TRAILER_LEN;
	return rc;
}

/* Finishes bb, compresses it (when compress) if that saves at least 1/8,
 * writes it and resets bb. */
static int write_block(struct table_builder *b, struct block_builder *bb, int compress,
                       struct block_handle *h)
{
	struct slice raw;
	int rc = block_builder_finish(bb, &raw);
	if (rc)
		return rc;
	struct slice stored = raw;
	unsigned char type = BLOCK_TYPE_NONE;
	if (compress && b->type != BLOCK_TYPE_NONE) {
		rc = compress_block(b->type, raw, &b->scratch);
		if (rc < 0)
			return rc;
		if (rc == 0 && b->scratch.len < raw.size - raw.size / 8) {
			stored = buf_slice(&b->scratch);
			type = b->type;
		}
	}
	rc = write_raw_block(b, stored, type, h);
	block_builder_reset(bb);
	return rc;
}

static int add_index_entry(struct table_builder *b, struct slice key)
{
	buf_clear(&b->scratch);
	int rc = block_handle_append(&b->scratch, &b->pending_handle);
	if (rc == 0)
		rc = block_builder_add(&b->index, key, buf_slice(&b->scratch));
	if (rc == 0)
		b->pending_index = 0;
	return rc;
}

static int flush_data(struct table_builder *b)
{
	if (block_builder_empty(&b->data))
		return 0;
	assert(!b->pending_index);
	int rc = write_block(b, &b->data, 1, &b->pending_handle);
	if (rc)
		return rc;
	b->pending_index = 1;
	if (b->have_filter)
		rc = filter_block_builder_start_block(&b->filter, b->offset);
	return rc;
}

int table_builder_add(struct table_builder *b, struct slice key, struct slice value)
{
	assert(!b->finished);
	if (b->status)
		return b->status;
	assert(b->num_entries == 0 ||
	       comparator_compare(b->opt.cmp, key, buf_slice(&b->last_key)) > 0);
	int rc = 0;
	if (b->pending_index) {
		const struct comparator *c = b->opt.cmp;
		rc = c->shorten_separator(c, &b->last_key, key);
		if (rc == 0)
			rc = add_index_entry(b, buf_slice(&b->last_key));
	}
	if (rc == 0 && b->have_filter)
		rc = filter_block_builder_add_key(&b->filter, key);
	if (rc == 0)
		rc = buf_set(&b->last_key, key.data, key.size);
	if (rc == 0)
		rc = block_builder_add(&b->data, key, value);
	if (rc == 0) {
		b->num_entries++;
		if (block_builder_size_estimate(&b->data) >= b->opt.block_size)
			rc = flush_data(b);
	}
	b->status = rc;
	return rc;
}

int table_builder_finish(struct table_builder *b)
{
	assert(!b->finished);
	if (b->status)
		return b->status;
	b->finished = 1;
	struct block_handle filter_handle = { 0, 0 }, meta_handle, index_handle;
	struct block_builder meta;
	block_builder_init(&meta, b->opt.restart_interval);
	int rc = flush_data(b);
	if (rc == 0 && b->have_filter) {
		struct slice fc;
		rc = filter_block_builder_finish(&b->filter, b->offset, &fc);
		if (rc == 0)
			rc = write_raw_block(b, fc, BLOCK_TYPE_NONE, &filter_handle);
	}
	if (rc == 0 && b->have_filter) {
		buf_clear(&b->scratch);
		rc = block_handle_append(&b->scratch, &filter_handle);
		if (rc == 0)
			rc = block_builder_add(&meta, slice_from_str(b->filter_key ? b->filter_key : FILTER_META_KEY),
			                       buf_slice(&b->scratch));
	}
	if (rc == 0)
		rc = write_block(b, &meta, 0, &meta_handle);
	if (rc == 0 && b->pending_index) {
		const struct comparator *c = b->opt.cmp;
		rc = c->short_successor(c, &b->last_key);
		if (rc == 0)
			rc = add_index_entry(b, buf_slice(&b->last_key));
	}
	/* The index is stored uncompressed (doc/format.md, "Compression type
	 * bytes"): a table read through its mapping then searches the index in
	 * place, with no copy on the heap for as long as the table is open, and
	 * opening a table decompresses nothing. LevelDB reads either form. */
	if (rc == 0)
		rc = write_block(b, &b->index, 0, &index_handle);
	if (rc == 0) {
		struct footer f = { meta_handle, index_handle };
		char enc[FOOTER_LEN];
		footer_encode(&f, enc);
		rc = wfile_append(b->file, enc, FOOTER_LEN);
		if (rc == 0)
			b->offset += FOOTER_LEN;
	}
	block_builder_free(&meta);
	b->status = rc;
	return rc;
}

uint64_t table_builder_num_entries(const struct table_builder *b)
{
	return b->num_entries;
}

uint64_t table_builder_file_size(const struct table_builder *b)
{
	return b->offset;
}
