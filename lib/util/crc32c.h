/*
 * CRC-32C (Castagnoli). crc32c_extend() picks the SSE4.2 instruction at run
 * time when the CPU has it, else a slicing-by-8 table; both give identical
 * results. Stored CRCs are masked (doc/format.md, "Checksums") so that a CRC of data holding
 * CRCs is not trivially predictable.
 */
#ifndef SHALE_UTIL_CRC32C_H
#define SHALE_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of data appended to a stream whose CRC so far is init (0 to start). */
uint32_t crc32c_extend(uint32_t init, const void *data, size_t n);

static inline uint32_t crc32c_value(const void *data, size_t n)
{
	return crc32c_extend(0, data, n);
}

/* Both paths, for tests and benchmarks. crc32c_hw() must be called only when
 * crc32c_hw_available() is true. */
uint32_t crc32c_sw(uint32_t init, const void *data, size_t n);
uint32_t crc32c_hw(uint32_t init, const void *data, size_t n);
int crc32c_hw_available(void);

#define CRC32C_MASK_DELTA 0xa282ead8u

static inline uint32_t crc32c_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + CRC32C_MASK_DELTA;
}

static inline uint32_t crc32c_unmask(uint32_t masked)
{
	uint32_t rot = masked - CRC32C_MASK_DELTA;
	return (rot >> 17) | (rot << 15);
}

#endif
