/*
 * Reads a table. Opening reads the footer, the index block and the filter
 * block and keeps them in memory for the table's lifetime. Data blocks come
 * through the block cache when there is one.
 *
 * Thread safety: a table is immutable after open; table_get, table_iter and
 * table_approximate_offset may be called from many threads at once. An
 * iterator is used by one thread at a time.
 *
 * Errors: damage (a bad checksum, an impossible handle, a block that does not
 * decode) is SHALE_ECORRUPT with a message naming the file and offset; an
 * unknown compression type is SHALE_ECORRUPT, a known one not built in is
 * SHALE_ENOTSUP. A damaged index or filter fails the open.
 */
#ifndef SHALE_SSTABLE_TABLE_H
#define SHALE_SSTABLE_TABLE_H

#include <stdint.h>
#include "lib/util/env.h"
#include "lib/util/iter.h"
#include "sstable/table_options.h"

struct table;

/* file is owned by the table from now on (closed by table_close, or at once
 * when the open fails). opt is copied. size is the file's size. */
int table_open(const struct table_options *opt, struct rand_file *file, const char *path,
               uint64_t size, struct table **out);
void table_close(struct table *t);
/* Bytes the open table keeps in memory (its index and filter). */
size_t table_memory_usage(const struct table *t);

/* Called by table_get with the first entry whose key >= the sought key, in
 * the one data block that could hold it. key and value are borrowed for the
 * duration of the call. */
typedef void (*table_found_fn)(void *arg, struct slice key, struct slice value);

/* Point lookup: consults the filter first (keyed on the user key when
 * opt->internal_keys); only when it may match, reads the data block and
 * calls found for the first entry >= key there, if any. Returns 0 (whether
 * or not found was called) or an error. */
int table_get(struct table *t, const struct read_opts *ro, struct slice key, table_found_fn found,
              void *arg);

/* An iterator over the whole table, both directions. It does not pin the
 * table: the caller keeps the table open until the iterator is destroyed.
 * An error (a damaged block) makes it invalid at once with that status: it
 * never skips a block to yield later entries. NULL only when memory runs out. */
struct iter *table_iter(struct table *t, const struct read_opts *ro);
/* The same, in the memory of reuse (NULL, or a table iterator the caller is
 * done with, which this takes): a table iterator from table_iter that holds
 * nothing else (no cleanup of the caller's, no scan-ahead started, no
 * error) is pointed at t instead of freed and made again; any other reuse
 * is destroyed. The block reuse was on is let go at the result's first
 * positioning call: the caller keeps reuse's table open until then. */
struct iter *table_iter_reuse(struct table *t, const struct read_opts *ro, struct iter *reuse);

/* Approximate file offset where key's data would start: the offset of the
 * data block that would hold key, or, past the last key, the offset of the
 * metaindex block (close to the file size). */
uint64_t table_approximate_offset(struct table *t, struct slice key);

#endif
