/*
 * A filter policy other than the built-in bloom: the public
 * shale_filter_policy wraps one around user callbacks (lib/db/filter_policy.c).
 * Tables store its filters as LevelDB stores a FilterPolicy's: in the filter
 * block layout (sstable/filter_block.h), one filter per 2 KiB of data-block
 * offsets, under the metaindex key "filter.<name>"; a reader uses such a
 * block only when the name is its own policy's (doc/format.md, "Filter
 * block").
 *
 * A policy is immutable and shared: flushes and compactions create filters,
 * and readers query them, from many threads at once.
 */
#ifndef SHALE_SSTABLE_FILTER_POLICY_H
#define SHALE_SSTABLE_FILTER_POLICY_H

#include <stddef.h>
#include "lib/util/buf.h"
#include "lib/util/slice.h"

/* "filter." */
#define FILTER_META_PREFIX "filter."

struct filter_policy {
	/* The persisted name; stable for the policy's life. Never NULL. */
	const char *(*name)(const struct filter_policy *p);
	/* Appends to dst the filter of keys[0..n-1] (n >= 1; repeats possible).
	 * Returns 0, or a negative SHALE_E* code with the message set (the table
	 * being written then fails). */
	int (*create_filter)(const struct filter_policy *p, const struct slice *keys, size_t n,
	                     struct buf *dst);
	/* 0 only when key is certainly not among the keys filter was made from. */
	int (*key_may_match)(const struct filter_policy *p, struct slice key, struct slice filter);
};

#endif
