/* LevelDB's 32-bit hash (needed bit for bit by its bloom filters), and a
 * stronger 64-bit one for shale's own in-memory structures. */
#ifndef SHALE_UTIL_HASH_H
#define SHALE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The 1-3 trailing bytes are added as unsigned bytes, as LevelDB 1.23 does. */
uint32_t hash32(const void *data, size_t n, uint32_t seed);

/* A 64-bit hash after MurmurHash2-64A's scheme (multiply, xor-shift); its
 * bits are well mixed where hash32's are not (hash32 gives 5,000 equal
 * values for the 120,000 keys "0000000000000000".."0000000000119999"). */
uint64_t hash64(const void *data, size_t n);

#endif
