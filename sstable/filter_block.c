#include "sstable/filter_block.h"

#include <assert.h>
#include <stdlib.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/ikey.h"
#include "sstable/bloom.h"

static void init(struct filter_block_builder *fb, int bits_per_key,
                 const struct filter_policy *policy, int internal_keys)
{
	fb->bits_per_key = bits_per_key;
	fb->whole = 0;
	fb->policy = policy;
	fb->internal_keys = internal_keys;
	fb->hashes = NULL;
	fb->num_hashes = 0;
	fb->cap_hashes = 0;
	buf_init(&fb->keys);
	fb->key_ends = NULL;
	fb->slices = NULL;
	buf_init(&fb->result);
	buf_init(&fb->offsets);
}

void filter_block_builder_init(struct filter_block_builder *fb, int bits_per_key,
                               int internal_keys)
{
	assert(bits_per_key >= 1);
	init(fb, bits_per_key, NULL, internal_keys);
}

void filter_block_builder_init_whole(struct filter_block_builder *fb, int bits_per_key,
                                     int internal_keys)
{
	filter_block_builder_init(fb, bits_per_key, internal_keys);
	fb->whole = 1;
}

void filter_block_builder_init_policy(struct filter_block_builder *fb,
                                      const struct filter_policy *policy, int internal_keys)
{
	assert(policy != NULL);
	init(fb, 0, policy, internal_keys);
}

void filter_block_builder_free(struct filter_block_builder *fb)
{
	free(fb->hashes);
	fb->hashes = NULL;
	free(fb->key_ends);
	fb->key_ends = NULL;
	free(fb->slices);
	fb->slices = NULL;
	buf_free(&fb->keys);
	buf_free(&fb->result);
	buf_free(&fb->offsets);
}

/* The policy's filter of the keys gathered. */
static int generate_policy_filter(struct filter_block_builder *fb)
{
	size_t start = 0;
	for (size_t i = 0; i < fb->num_hashes; i++) {
		fb->slices[i] = slice_make(fb->keys.data + start, fb->key_ends[i] - start);
		start = fb->key_ends[i];
	}
	return fb->policy->create_filter(fb->policy, fb->slices, fb->num_hashes, &fb->result);
}

static int generate_filter(struct filter_block_builder *fb)
{
	int rc = buf_append_fixed32(&fb->offsets, (uint32_t)fb->result.len);
	if (rc || fb->num_hashes == 0)
		return rc; /* no keys: an empty filter */
	if (fb->policy)
		rc = generate_policy_filter(fb);
	else
		rc = bloom_create_filter(fb->bits_per_key, fb->hashes, fb->num_hashes, &fb->result);
	fb->num_hashes = 0;
	buf_clear(&fb->keys);
	return rc;
}

int filter_block_builder_start_block(struct filter_block_builder *fb, uint64_t block_offset)
{
	if (fb->whole)
		return 0; /* every block's keys go in the one filter */
	uint64_t index = block_offset >> FILTER_BASE_LG;
	assert(index >= fb->offsets.len / 4);
	while (index > fb->offsets.len / 4) {
		int rc = generate_filter(fb);
		if (rc)
			return rc;
	}
	return 0;
}

/* Room for one more key: hashes for the bloom; key ends and slices for a
 * policy. */
static int grow(struct filter_block_builder *fb)
{
	size_t cap = fb->cap_hashes ? fb->cap_hashes * 2 : 256;
	if (fb->policy) {
		size_t *e = realloc(fb->key_ends, cap * sizeof(*e));
		if (e == NULL)
			return err_nomem("filter keys");
		fb->key_ends = e;
		struct slice *s = realloc(fb->slices, cap * sizeof(*s));
		if (s == NULL)
			return err_nomem("filter keys");
		fb->slices = s;
	} else {
		uint32_t *h = realloc(fb->hashes, cap * sizeof(*h));
		if (h == NULL)
			return err_nomem("filter keys");
		fb->hashes = h;
	}
	fb->cap_hashes = cap;
	return 0;
}

int filter_block_builder_add_key(struct filter_block_builder *fb, struct slice key)
{
	int rc;
	if (fb->num_hashes == fb->cap_hashes && (rc = grow(fb)) != 0)
		return rc;
	if (fb->internal_keys)
		key = ikey_user_key(key);
	if (fb->policy) {
		if ((rc = buf_append(&fb->keys, key.data, key.size)) != 0)
			return rc;
		fb->key_ends[fb->num_hashes++] = fb->keys.len;
	} else {
		fb->hashes[fb->num_hashes++] = bloom_hash(key);
	}
	return 0;
}

int filter_block_builder_finish(struct filter_block_builder *fb, uint64_t block_offset,
                                struct slice *out)
{
	int rc = 0;
	int base_lg = FILTER_BASE_LG;
	if (fb->whole) {
		/* one filter (empty for an empty table), and a base_lg that maps
		 * every data block, all before block_offset, to it */
		rc = generate_filter(fb);
		while (base_lg < 63 && (block_offset >> base_lg) != 0)
			base_lg++;
	} else if (fb->num_hashes) {
		rc = generate_filter(fb);
	}
	if (rc)
		return rc;
	uint32_t array_offset = (uint32_t)fb->result.len;
	if ((rc = buf_append(&fb->result, fb->offsets.data, fb->offsets.len)) != 0 ||
	    (rc = buf_append_fixed32(&fb->result, array_offset)) != 0 ||
	    (rc = buf_append_byte(&fb->result, (char)base_lg)) != 0)
		return rc;
	*out = buf_slice(&fb->result);
	return 0;
}

int filter_block_reader_init(struct filter_block_reader *r, struct slice contents,
                             int internal_keys, const char *path, uint64_t offset)
{
	r->data = NULL;
	r->offsets = NULL;
	r->num = 0;
	r->base_lg = FILTER_BASE_LG;
	r->internal_keys = internal_keys;
	r->policy = NULL;
	size_t n = contents.size;
	if (n < 5)
		return err_set(SHALE_ECORRUPT, "%s: filter block too short at offset %llu",
		               path, (unsigned long long)offset);
	uint32_t array = decode_fixed32(contents.data + n - 5);
	int base_lg = (unsigned char)contents.data[n - 1];
	if (array > n - 5 || base_lg > 63)
		return err_set(SHALE_ECORRUPT, "%s: bad filter block header at offset %llu",
		               path, (unsigned long long)offset);
	r->data = contents.data;
	r->offsets = contents.data + array;
	r->num = (n - 5 - array) / 4;
	r->base_lg = base_lg;
	return 0;
}

int filter_block_is_whole(const struct filter_block_reader *r, uint64_t block_offset)
{
	return r->num == 1 && (block_offset >> r->base_lg) == 0;
}

int filter_block_may_match(const struct filter_block_reader *r, uint64_t block_offset,
                           struct slice key)
{
	uint64_t index = block_offset >> r->base_lg;
	if (index >= r->num)
		return 1; /* no filter for that block: only a bad writer does that */
	uint32_t start = decode_fixed32(r->offsets + index * 4);
	/* the last filter ends where the offset array starts */
	uint32_t limit = index + 1 < r->num ? decode_fixed32(r->offsets + index * 4 + 4)
	                                    : (uint32_t)(r->offsets - r->data);
	if (start <= limit && limit <= (size_t)(r->offsets - r->data)) {
		if (r->internal_keys)
			key = ikey_user_key(key);
		struct slice filter = slice_make(r->data + start, limit - start);
		if (r->policy)
			return r->policy->key_may_match(r->policy, key, filter);
		return bloom_may_match(key, filter);
	}
	return 1;
}
