/*
 * The whole-table filter (doc/format.md, "Whole-table filter"): a blocked
 * bloom filter over every user key of a table, stored under the metaindex
 * key "shale.TableFilter" beside LevelDB's per-block filter (which LevelDB
 * keeps using; it ignores this one). A key's 64-bit hash picks one 64-byte
 * line and k bits inside it, so a probe touches one cache line, and a point
 * lookup asks it before searching the table's index at all.
 *
 * Layout: nlines x 64 bytes of bits, fixed32 nlines, one byte k (1..30),
 * one byte format (1). Stored uncompressed, with the usual block trailer.
 */
#ifndef SHALE_SSTABLE_TABLE_FILTER_H
#define SHALE_SSTABLE_TABLE_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/slice.h"

#define TABLE_FILTER_META_KEY "shale.TableFilter"
#define TABLE_FILTER_LINE 64
#define TABLE_FILTER_FORMAT 1

/* The 64-bit hash the filter uses. */
uint64_t table_filter_hash(struct slice key);

struct table_filter_builder {
	int bits_per_key;
	uint64_t *hashes;
	size_t n, cap;
};

/* REQUIRES: bits_per_key >= 1. */
void table_filter_builder_init(struct table_filter_builder *b, int bits_per_key);
void table_filter_builder_free(struct table_filter_builder *b);
/* Adds a user key (a repeat of the previous one is skipped). 0 or SHALE_ENOMEM. */
int table_filter_builder_add(struct table_filter_builder *b, struct slice user_key);
/* Appends the filter to dst. 0 or SHALE_ENOMEM. */
int table_filter_builder_finish(struct table_filter_builder *b, struct buf *dst);

struct table_filter {
	const unsigned char *bits;
	uint32_t nlines;
	int k;
};

/* Reads a filter block (borrowed for the filter's life). 1 when it is a
 * filter this version understands; 0 when it is not (then it is ignored:
 * a filter of another format, or one whose size does not add up, filters
 * nothing rather than wrongly). */
int table_filter_init(struct table_filter *f, struct slice contents);
/* 0 only when user_key is certainly not in the table. */
static inline int table_filter_may_match(const struct table_filter *f, uint64_t h)
{
	/* the line: the high half of the hash scaled to nlines; the bits: k
	 * 9-bit positions walked from the low half */
	uint64_t line = ((h >> 32) * (uint64_t)f->nlines) >> 32;
	const unsigned char *p = f->bits + line * TABLE_FILTER_LINE;
	uint32_t x = (uint32_t)h, delta = (x >> 17) | (x << 15) | 1;
	for (int i = 0; i < f->k; i++) {
		uint32_t bit = x & (TABLE_FILTER_LINE * 8 - 1);
		if (!(p[bit >> 3] & (1u << (bit & 7))))
			return 0;
		x += delta;
	}
	return 1;
}

#endif
