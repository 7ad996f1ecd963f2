/*
 * An iterator over an index whose values each open a second-level iterator:
 * a table (index block -> data blocks) and a level of the LSM tree (file list
 * -> tables) are both this shape.
 *
 * Errors: when the index iterator or a second-level iterator reports an
 * error, the two-level iterator becomes invalid with that status at once; it
 * never steps over the damaged part. The error is sticky: later seeks leave
 * the iterator invalid with the same status (make a new iterator to retry).
 * Empty second-level iterators (status 0) are skipped.
 *
 * A second-level iterator is kept while the index stays on the same value
 * (byte-equal), so seeks within one block or file do not reopen it.
 */
#ifndef SHALE_SSTABLE_TWO_LEVEL_ITER_H
#define SHALE_SSTABLE_TWO_LEVEL_ITER_H

#include "lib/util/iter.h"
#include "sstable/table_options.h"

/* Opens the second-level iterator for one index value; returns NULL only
 * when memory runs out (other failures: an iterator whose status is the
 * error). reuse is the second level the two-level iterator has just left,
 * or NULL: the function takes it, and destroys it or recycles its memory
 * for the one it returns (block_iter_recycle). */
typedef struct iter *(*second_level_fn)(void *arg, const struct read_opts *ro, struct slice index_value,
                                        struct iter *reuse);

/* Takes ownership of index (destroyed with the result). ro is copied. NULL
 * when memory runs out (index is then destroyed).
 *
 * scan_resistant (a table's blocks): after SCAN_RUN_BLOCKS second levels in
 * a row entered by stepping, the ones opened until the next seek get
 * fill_cache off. A level's files pass the caller's read options unchanged:
 * each table's iterator keeps its own count. */
#define SCAN_RUN_BLOCKS 8
struct iter *two_level_iter_create(struct iter *index, second_level_fn fn, void *arg,
                                   const struct read_opts *ro, int scan_resistant);
/* The same over an index block (a table's), whose iterator lives inside
 * the two-level iterator's own allocation. index, cmp and path are borrowed
 * and must outlive the result. */
struct block;
struct comparator;
struct iter *two_level_iter_over_block(const struct block *index, const struct comparator *cmp, const char *path,
                                       second_level_fn fn, void *arg, const struct read_opts *ro,
                                       int scan_resistant);

/* Points an iterator made by two_level_iter_over_block with second-level
 * function fn at another index block, as if it were made anew over it with
 * ro (the probe and arg stay; the caller changes what arg points to), and
 * returns 1; returns 0 and changes nothing when it is no such iterator or
 * carries an error. It keeps its memory: the second level it was on is
 * passed to fn as reuse by the next positioning call, which every use of a
 * rebound iterator starts with, so its block stays held until then (the
 * caller keeps what that block belongs to alive as long). Not positioned
 * after. */
int two_level_iter_rebind(struct iter *it, second_level_fn fn, const struct block *index,
                          const struct comparator *cmp, const char *path, const struct read_opts *ro);

/* Lets seek_probe (lib/util/iter.h) answer before the index is searched:
 * probe(arg, target) returns 0 only when the second levels hold no entry
 * with target's user key (a table's whole-table filter). Without a probe,
 * seek_probe seeks the index and asks the second level it leads to (a
 * level's table). */
typedef int (*two_level_probe_fn)(void *arg, struct slice target);
void two_level_iter_set_probe(struct iter *it, two_level_probe_fn probe);

#endif
