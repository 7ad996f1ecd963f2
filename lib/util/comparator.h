/*
 * Key orderings. A comparator is an immutable object shared by every thread;
 * the public shale_comparator wraps one around user callbacks (lib/db/options.c).
 */
#ifndef SHALE_UTIL_COMPARATOR_H
#define SHALE_UTIL_COMPARATOR_H

#include <stdint.h>
#include <string.h>

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
	/* nonzero when compare orders internal keys (lib/util/ikey.h) over the
	 * bytewise order: comparator_compare inlines that too */
	int ikey_bytewise;
};

/* The default: memcmp order, a shorter prefix first; "leveldb.BytewiseComparator". */
const struct comparator *comparator_bytewise(void);

/* Internal keys (user key + fixed64 tag, see lib/util/ikey.h) in bytewise
 * order of the user key, then descending tag. Short keys compare as if their
 * tag were 0 (damage; never a read outside the key). */
static inline int comparator_ikey_bytewise_compare(struct slice a, struct slice b)
{
	size_t au = a.size >= 8 ? a.size - 8 : a.size, bu = b.size >= 8 ? b.size - 8 : b.size;
	size_t n = au < bu ? au : bu;
	int r = n ? memcmp(a.data, b.data, n) : 0;
	if (r == 0)
		r = (au > bu) - (au < bu);
	if (r == 0) {
		uint64_t ta = 0, tb = 0;
		if (a.size >= 8)
			memcpy(&ta, a.data + au, 8); /* (little-endian hosts only: configure checks) */
		if (b.size >= 8)
			memcpy(&tb, b.data + bu, 8);
		r = (ta < tb) - (ta > tb);
	}
	return r;
}

static inline int comparator_compare(const struct comparator *c, struct slice a, struct slice b)
{
	if (c->bytewise)
		return slice_compare(a, b);
	if (c->ikey_bytewise)
		return comparator_ikey_bytewise_compare(a, b);
	return c->compare(c, a, b);
}

/* Separator/successor helpers that keep the key unchanged (for comparators
 * that know nothing better). */
int comparator_keep_separator(const struct comparator *c, struct buf *start, struct slice limit);
int comparator_keep_successor(const struct comparator *c, struct buf *key);

#endif
