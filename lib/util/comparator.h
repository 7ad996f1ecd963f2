/*
 * Key orderings. A comparator is an immutable object shared by every thread;
 * the public shale_comparator wraps one around user callbacks (lib/db/options.c).
 */
#ifndef SHALE_UTIL_COMPARATOR_H
#define SHALE_UTIL_COMPARATOR_H

#include "lib/util/buf.h"
#include "lib/util/slice.h"

struct comparator {
	/* <0, 0, >0 */
	int (*compare)(const struct comparator *c, struct slice a, struct slice b);
	/* the persisted name; valid while the comparator lives */
	const char *(*name)(const struct comparator *c);
	/* May replace *start by a shorter key k with start <= k < limit (used for
	 * index separators). Returns 0 or SHALE_ENOMEM. */
	int (*shorten_separator)(const struct comparator *c, struct buf *start, struct slice limit);
	/* May replace *key by a shorter key k >= key. Returns 0 or SHALE_ENOMEM. */
	int (*short_successor)(const struct comparator *c, struct buf *key);
	/* nonzero when compare is exactly slice_compare (lets hot paths inline it) */
	int bytewise;
};

/* The default: memcmp order, a shorter prefix first; "leveldb.BytewiseComparator". */
const struct comparator *comparator_bytewise(void);

static inline int comparator_compare(const struct comparator *c, struct slice a, struct slice b)
{
	if (c->bytewise)
		return slice_compare(a, b);
	return c->compare(c, a, b);
}

/* Separator/successor helpers that keep the key unchanged (for comparators
 * that know nothing better). */
int comparator_keep_separator(const struct comparator *c, struct buf *start, struct slice limit);
int comparator_keep_successor(const struct comparator *c, struct buf *key);

#endif
