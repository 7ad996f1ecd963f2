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

#endif
