/*
 * LevelDB's bloom filter ("leveldb.BuiltinBloomFilter2"), bit for bit
 * (doc/format.md, "Bloom filter"): n x bits_per_key bits (at least 64,
 * whole bytes), then one byte k = floor(bits_per_key x 0.69) clamped to
 * 1..30; keys hashed with hash32(seed 0xbc9f1d34) and k probes by double
 * hashing (delta = hash rotated right by 17).
 */
#ifndef SHALE_SSTABLE_BLOOM_H
#define SHALE_SSTABLE_BLOOM_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/slice.h"

#define BLOOM_HASH_SEED 0xbc9f1d34u

/* The hash a key is filtered by; builders keep these instead of the keys. */
uint32_t bloom_hash(struct slice key);
/* Number of probes for bits_per_key (>= 1). */
int bloom_num_probes(int bits_per_key);
/* Appends to dst the filter of the n keys whose bloom_hash values are given.
 * REQUIRES: bits_per_key >= 1. Returns 0 or SHALE_ENOMEM. */
int bloom_create_filter(int bits_per_key, const uint32_t *hashes, size_t n, struct buf *dst);
/* 0 when key is certainly not in the set filter was built from. A filter
 * shorter than 2 bytes matches nothing; one with k > 30 (a future format)
 * matches everything. */
int bloom_may_match(struct slice key, struct slice filter);

#endif
