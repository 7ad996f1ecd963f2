/*
 * The memtable: recent writes, ordered as internal keys (user key ascending by
 * the user comparator, then sequence descending), in a skiplist in an arena.
 *
 * Thread safety: one writer at a time calls memtable_add (the DB serialises
 * writers); any number of readers call memtable_get and use iterators at the
 * same time without taking a lock. Reference counts are atomic.
 *
 * Memory: entries are never freed singly; everything goes with the last
 * reference.
 */
#ifndef SHALE_MEMTABLE_MEMTABLE_H
#define SHALE_MEMTABLE_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/comparator.h"
#include "lib/util/iter.h"
#include "lib/util/slice.h"

struct memtable;

/* ucmp: the user comparator (borrowed; must outlive the memtable). The new
 * memtable has one reference. Returns 0 or SHALE_ENOMEM. */
int memtable_create(const struct comparator *ucmp, struct memtable **out);
/* The same with a filter of about filter_bytes (0: none) that point lookups
 * ask before searching: a key the filter has never seen is absent at once.
 * Only for the bytewise comparator (otherwise no filter is made). */
int memtable_create_with_filter(const struct comparator *ucmp, size_t filter_bytes, struct memtable **out);
void memtable_ref(struct memtable *m);
/* Frees the memtable when the last reference goes. NULL ok. */
void memtable_unref(struct memtable *m);

/* Adds an entry; type is IKEY_TYPE_VALUE or IKEY_TYPE_DELETION (value
 * ignored). REQUIRES: no other writer at the same time; (key, seq) not
 * already present; seq <= IKEY_SEQ_MAX. Returns 0 or SHALE_ENOMEM (the
 * memtable is unchanged), or SHALE_EINVAL (unchanged) when the key is over
 * UINT32_MAX - 8 bytes or the value over UINT32_MAX (entries store varint32
 * lengths). Copies key and value. */
int memtable_add(struct memtable *m, uint64_t seq, int type, struct slice key, struct slice value);

#define MEMTABLE_ABSENT 0   /* no entry for key at or below seq */
#define MEMTABLE_FOUND 1    /* *value is the value */
#define MEMTABLE_DELETED 2  /* the newest entry at or below seq is a deletion */

/* The newest entry for key with sequence <= seq (a seq above IKEY_SEQ_MAX
 * means "all"). *value borrows from the memtable: valid while the caller
 * holds a reference; it is set only for MEMTABLE_FOUND. Never fails and
 * never allocates. */
int memtable_get(struct memtable *m, struct slice key, uint64_t seq, struct slice *value);

/* An iterator over the entries: keys are internal keys (user key + 8-byte
 * tag), values the values (empty for deletions); seek takes an internal key
 * target and does not allocate. It holds a reference to the memtable until
 * destroyed, so it may outlive the caller's reference. Its status is always
 * 0. NULL when memory runs out (message set). */
struct iter *memtable_iter(struct memtable *m);

/* Bytes allocated: the arena's and the memtable's own (what the write
 * buffer size bounds); safe from any thread. */
size_t memtable_memory_usage(const struct memtable *m);
/* Bytes of its filter (fixed at creation). */
size_t memtable_filter_memory(const struct memtable *m);
/* Number of entries added; safe from any thread (approximate while adding). */
uint64_t memtable_count(const struct memtable *m);

#endif
