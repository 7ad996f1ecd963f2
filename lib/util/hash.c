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
