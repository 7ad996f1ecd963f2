/* LevelDB's 32-bit hash (needed bit for bit by its bloom filters). */
#ifndef SHALE_UTIL_HASH_H
#define SHALE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The 1-3 trailing bytes are added as unsigned bytes, as LevelDB 1.23 does. */
uint32_t hash32(const void *data, size_t n, uint32_t seed);

#endif
