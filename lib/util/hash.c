#include "lib/util/hash.h"

#include "lib/util/coding.h"

uint32_t hash32(const void *data, size_t n, uint32_t seed)
{
	const uint32_t m = 0xc6a4a793u;
	const unsigned char *p = data;
	const unsigned char *limit = p + n;
	uint32_t h = seed ^ (uint32_t)(n * m);

	while (limit - p >= 4) {
		h += decode_fixed32((const char *)p);
		h *= m;
		h ^= h >> 16;
		p += 4;
	}
	switch (limit - p) {
	case 3:
		h += (uint32_t)p[2] << 16;
		/* fall through */
	case 2:
		h += (uint32_t)p[1] << 8;
		/* fall through */
	case 1:
		h += p[0];
		h *= m;
		h ^= h >> 24;
		break;
	}
	return h;
}

uint64_t hash64(const void *data, size_t n)
{
	const uint64_t m = 0xc6a4a7935bd1e995ull;
	const int r = 47;
	const unsigned char *p = data;
	uint64_t h = 0x5bd1e9955bd1e995ull ^ ((uint64_t)n * m);
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t k = decode_fixed64((const char *)p);
		k *= m;
		k ^= k >> r;
		k *= m;
		h ^= k;
		h *= m;
	}
	if (n > 0) {
		uint64_t k = 0;
		for (size_t i = 0; i < n; i++)
			k |= (uint64_t)p[i] << (8 * i);
		h ^= k;
		h *= m;
	}
	h ^= h >> r;
	h *= m;
	h ^= h >> r;
	return h;
}
