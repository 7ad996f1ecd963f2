#include "sstable/bloom.h"

#include <string.h>

#include "lib/util/hash.h"

uint32_t bloom_hash(struct slice key)
{
	return hash32(key.data, key.size, BLOOM_HASH_SEED);
}

int bloom_num_probes(int bits_per_key)
{
	/* LevelDB computes this in double precision and truncates: ln 2 ~ 0.69 */
	int k = (int)(bits_per_key * 0.69);
	if (k < 1)
		k = 1;
	if (k > 30)
		k = 30;
	return k;
}

int bloom_create_filter(int bits_per_key, const uint32_t *hashes, size_t n, struct buf *dst)
{
	size_t bits = n * (size_t)bits_per_key;
	if (bits < 64)
		bits = 64;
	size_t bytes = (bits + 7) / 8;
	bits = bytes * 8;
	int k = bloom_num_probes(bits_per_key);

	size_t start = dst->len;
	int rc = buf_reserve(dst, bytes + 1);
	if (rc)
		return rc;
	unsigned char *array = (unsigned char *)dst->data + start;
	memset(array, 0, bytes);
	array[bytes] = (unsigned char)k;
	dst->len = start + bytes + 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t h = hashes[i];
		uint32_t delta = (h >> 17) | (h << 15);
		for (int j = 0; j < k; j++) {
			uint32_t pos = (uint32_t)(h % bits);
			array[pos / 8] |= (unsigned char)(1u << (pos % 8));
			h += delta;
		}
	}
	return 0;
}

int bloom_may_match(struct slice key, struct slice filter)
{
	if (filter.size < 2)
		return 0;
	const unsigned char *array = (const unsigned char *)filter.data;
	size_t bits = (filter.size - 1) * 8;
	unsigned k = array[filter.size - 1];
	if (k > 30)
		return 1;
	uint32_t h = bloom_hash(key);
	uint32_t delta = (h >> 17) | (h << 15);
	/* The k probes land on k cache lines of a filter that is mostly not in
	 * cache: ask for all of them before testing any, so that their misses
	 * overlap instead of following one another. */
	uint32_t pos[30];
	for (unsigned j = 0; j < k; j++) {
		pos[j] = (uint32_t)(h % bits);
		__builtin_prefetch(array + pos[j] / 8);
		h += delta;
	}
	for (unsigned j = 0; j < k; j++)
		if ((array[pos[j] / 8] & (1u << (pos[j] % 8))) == 0)
			return 0;
	return 1;
}
