/*
 * A merging iterator: the union of several sorted child iterators, in order,
 * in both directions (a binary heap over the children). Duplicate keys are
 * all yielded. When a child reports an error the merger becomes invalid with
 * that status at once: it never steps over damage.
 */
#ifndef SHALE_VERSION_MERGER_H
#define SHALE_VERSION_MERGER_H

#include "lib/util/comparator.h"
#include "lib/util/iter.h"

/* Takes ownership of the children (and of the array's contents; the array
 * itself is copied). NULL when memory runs out (the children are destroyed). */
struct iter *merger_create(const struct comparator *cmp, struct iter **children, int n);

/* Lazy seeks, for children over internal keys ordered by user key under
 * ucmp first (lib/util/ikey.h), given newest source first, as a DB
 * iterator's are (memtables, level-0 files newest first, then the levels:
 * a user key's entries in a later child have smaller sequence numbers). A
 * seek asks each child with iter_seek_probe; a child that shows from a
 * filter alone that it holds no entry with the target's user key is left
 * unsought while some other child's first entry >= target has that user
 * key (that entry is then the merger's first, and the child's first entry
 * comes after it); so is every child after the first one whose first entry
 * >= target has the user key, without being asked (an older version sorts
 * after a newer one). The first move (next, prev) seeks them. So a seek to
 * a key that exists reads the data block of the newest source that holds
 * it (and of those a filter wrongly let through before it), not one per
 * source; a seek to an absent key, or one followed by a scan, costs what
 * it did. The answer is the same either way; an error in a child left
 * unsought shows when the iterator first moves. */
void merger_lazy_seeks(struct iter *it, const struct comparator *ucmp);

#endif
