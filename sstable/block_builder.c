#include "sstable/block_builder.h"

#include <assert.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"

void block_builder_init(struct block_builder *b, int restart_interval)
{
	assert(restart_interval >= 1);
	buf_init(&b->data);
	buf_init(&b->restarts);
	buf_init(&b->last_key);
	b->restart_interval = restart_interval;
	block_builder_reset(b);
}

void block_builder_free(struct block_builder *b)
{
	buf_free(&b->data);
	buf_free(&b->restarts);
	buf_free(&b->last_key);
}

void block_builder_reset(struct block_builder *b)
{
	buf_clear(&b->data);
	buf_clear(&b->restarts);
	buf_clear(&b->last_key);
	/* the first entry is always a restart point */
	buf_append_fixed32(&b->restarts, 0);
	b->counter = 0;
	b->num_entries = 0;
	b->finished = 0;
}

size_t block_builder_size_estimate(const struct block_builder *b)
{
	return b->data.len + (b->restarts.len ? b->restarts.len : 4) + 4;
}

int block_builder_add(struct block_builder *b, struct slice key, struct slice value)
{
	assert(!b->finished);
	int rc;
	/* reset() reserved the first restart slot; if that allocation failed, retry */
	if (b->restarts.len == 0 && (rc = buf_append_fixed32(&b->restarts, 0)) != 0)
		return rc;
	size_t shared = 0;
	if (b->counter < b->restart_interval) {
		size_t min = key.size < b->last_key.len ? key.size : b->last_key.len;
		while (shared < min && key.data[shared] == b->last_key.data[shared])
			shared++;
	}
	size_t unshared = key.size - shared;
	uint64_t after = (uint64_t)b->data.len + 3 * VARINT32_MAX_LEN + unshared + value.size +
	                 (uint64_t)b->restarts.len + 8;
	if (key.size > UINT32_MAX || value.size > UINT32_MAX || after > UINT32_MAX)
		return err_set(SHALE_EINVAL,
		               "table block would exceed 4 GiB (key %zu bytes, value %zu bytes)",
		               key.size, value.size);
	/* reserve everything first so that the appends below cannot fail */
	if ((rc = buf_reserve(&b->data, 3 * VARINT32_MAX_LEN + unshared + value.size)) != 0 ||
	    (rc = buf_reserve(&b->restarts, 4)) != 0 ||
	    (key.size > b->last_key.len &&
	     (rc = buf_reserve(&b->last_key, key.size - b->last_key.len)) != 0))
		return rc;
	if (b->counter >= b->restart_interval) {
		buf_append_fixed32(&b->restarts, (uint32_t)b->data.len);
		b->counter = 0;
	}
	char *p = b->data.data + b->data.len;
	p = encode_varint32(p, (uint32_t)shared);
	p = encode_varint32(p, (uint32_t)unshared);
	p = encode_varint32(p, (uint32_t)value.size);
	b->data.len = (size_t)(p - b->data.data);
	buf_append(&b->data, key.data + shared, unshared);
	buf_append(&b->data, value.data, value.size);
	b->last_key.len = shared;
	buf_append(&b->last_key, key.data + shared, unshared);
	b->counter++;
	b->num_entries++;
	return 0;
}

int block_builder_finish(struct block_builder *b, struct slice *out)
{
	int rc = buf_reserve(&b->data, b->restarts.len + 4);
	if (rc)
		return rc;
	uint32_t count = (uint32_t)(b->restarts.len / 4);
	buf_append(&b->data, b->restarts.data, b->restarts.len);
	buf_append_fixed32(&b->data, count);
	b->finished = 1;
	*out = buf_slice(&b->data);
	return 0;
}
