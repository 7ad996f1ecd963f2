#include "lib/util/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#endif

#define CRC32C_POLY 0x82f63b78u /* reversed Castagnoli polynomial */

/* Slicing-by-8 tables, computed once; read-only afterwards. */
static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* The hardware path runs three streams of STRIDE bytes at once (the crc32
 * instruction takes 3 cycles but issues every cycle) and joins them with
 * the CRC's linearity: the raw state after X then Y (|Y| = STRIDE) is
 * zshift(state after X) ^ (raw CRC of Y from 0), where zshift feeds STRIDE
 * zero bytes; zshift_table[j][b] is zshift(b << 8j), one table per byte. */
#define STRIDE 256
static uint32_t zshift_table[4][256];

static uint32_t zshift(uint32_t s)
{
	return zshift_table[0][s & 0xff] ^ zshift_table[1][(s >> 8) & 0xff] ^ zshift_table[2][(s >> 16) & 0xff] ^
	       zshift_table[3][s >> 24];
}

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = table[0][i];
		for (int t = 1; t < 8; t++) {
			c = table[0][c & 0xff] ^ (c >> 8);
			table[t][i] = c;
		}
	}
	for (int j = 0; j < 4; j++)
		for (uint32_t b = 0; b < 256; b++) {
			uint32_t c = b << (8 * j);
			for (int k = 0; k < STRIDE; k++)
				c = table[0][c & 0xff] ^ (c >> 8);
			zshift_table[j][b] = c;
		}
}

uint32_t crc32c_sw(uint32_t init, const void *data, size_t n)
{
	const unsigned char *p = data;
	uint32_t c = ~init;

	pthread_once(&table_once, table_init);
	while (n > 0 && ((uintptr_t)p & 7) != 0) {
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		n--;
	}
	while (n >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c;
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n > 0) {
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		n--;
	}
	return ~c;
}

#ifdef CRC32C_HAVE_X86
int crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
uint32_t crc32c_hw(uint32_t init, const void *data, size_t n)
{
	const unsigned char *p = data;
	uint32_t c32 = ~init;

	while (n > 0 && ((uintptr_t)p & 7) != 0) {
		c32 = _mm_crc32_u8(c32, *p++);
		n--;
	}
#if defined(__x86_64__)
	uint64_t c = c32;
	if (n >= 3 * STRIDE)
		pthread_once(&table_once, table_init);
	while (n >= 3 * STRIDE) {
		uint64_t c1 = 0, c2 = 0;
		for (size_t i = 0; i < STRIDE; i += 8) {
			uint64_t w0, w1, w2;
			memcpy(&w0, p + i, 8);
			memcpy(&w1, p + STRIDE + i, 8);
			memcpy(&w2, p + 2 * STRIDE + i, 8);
			c = _mm_crc32_u64(c, w0);
			c1 = _mm_crc32_u64(c1, w1);
			c2 = _mm_crc32_u64(c2, w2);
		}
		c = zshift(zshift((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * STRIDE;
		n -= 3 * STRIDE;
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		n -= 8;
	}
	c32 = (uint32_t)c;
#endif
	while (n >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		c32 = _mm_crc32_u32(c32, w);
		p += 4;
		n -= 4;
	}
	while (n > 0) {
		c32 = _mm_crc32_u8(c32, *p++);
		n--;
	}
	return ~c32;
}
#else
int crc32c_hw_available(void)
{
	return 0;
}

uint32_t crc32c_hw(uint32_t init, const void *data, size_t n)
{
	return crc32c_sw(init, data, n);
}
#endif

uint32_t crc32c_extend(uint32_t init, const void *data, size_t n)
{
	if (crc32c_hw_available())
		return crc32c_hw(init, data, n);
	return crc32c_sw(init, data, n);
}
