/*
 * Open tables keyed by file number, at most `capacity` at a time (the DB's
 * max_open_files less a few for logs); the least recently used is closed
 * (its file descriptor with it) when another must open. Table files are
 * <dbname>/NNNNNN.ldb, or the legacy NNNNNN.sst when the .ldb is missing.
 * Thread-safe.
 */
#ifndef SHALE_SSTABLE_TABLE_CACHE_H
#define SHALE_SSTABLE_TABLE_CACHE_H

#include <stdint.h>
#include "lib/util/cache.h"
#include "lib/util/env.h"
#include "lib/util/iter.h"
#include "sstable/table.h"

struct table_cache;

/* env, dbname and opt are borrowed and must outlive the cache (opt is read
 * when tables open). */
int table_cache_create(struct env *env, const char *dbname, const struct table_options *opt,
                       int capacity, struct table_cache **out);
/* REQUIRES: no iterator from it alive. NULL ok. */
void table_cache_destroy(struct table_cache *tc);

/* table_get on the file (opening it if needed). */
int table_cache_get(struct table_cache *tc, const struct read_opts *ro, uint64_t file_number,
                    uint64_t file_size, struct slice key, table_found_fn found, void *arg);

/* Pinning, for point reads: a table is looked up in the cache (a hash and
 * two lock round trips) for every read that consults it — on every level-0
 * file, for nearly every read — though most of those reads end at its
 * filter. The caller (a file's metadata) owns a pin slot, NULL at first:
 * table_cache_get_pinned reads through the table the slot holds, or looks it
 * up and, while fewer than half the cache's capacity are pinned, leaves the
 * reference it took in the slot (one thread wins; the others release
 * theirs). A pinned table stays open until table_cache_unpin, which the slot's
 * owner calls once, when nothing can read through the slot any more. */
int table_cache_get_pinned(struct table_cache *tc, const struct read_opts *ro, uint64_t file_number,
                           uint64_t file_size, _Atomic(struct cache_handle *) *pin, struct slice key,
                           table_found_fn found, void *arg);
void table_cache_unpin(struct table_cache *tc, struct cache_handle *pinned);
/* An iterator over the file read through the table the slot holds (pinning
 * it as table_cache_get_pinned does), with no reference of its own: no
 * lookup, no lock. The caller keeps the slot's owner alive (a version that
 * lists the file) until the iterator is destroyed. */
struct iter *table_cache_iter_pinned(struct table_cache *tc, const struct read_opts *ro, uint64_t file_number,
                                     uint64_t file_size, _Atomic(struct cache_handle *) *pin);
/* The same, in the memory of reuse (table_iter_reuse: NULL, or an iterator
 * the caller is done with, which this takes; a level moving from one file
 * to the next passes the one it leaves). */
struct iter *table_cache_iter_pinned_reuse(struct table_cache *tc, const struct read_opts *ro,
                                           uint64_t file_number, uint64_t file_size,
                                           _Atomic(struct cache_handle *) *pin, struct iter *reuse);
/* Tables pinned now. */
int table_cache_pinned(const struct table_cache *tc);
/* An iterator over the file that keeps the table open until destroyed. A
 * failure to open shows as an iterator whose status is the error; NULL only
 * when memory runs out. */
struct iter *table_cache_iter(struct table_cache *tc, const struct read_opts *ro,
                              uint64_t file_number, uint64_t file_size);
/* Approximate offset of key in the file (0 when the file cannot be opened). */
uint64_t table_cache_approximate_offset(struct table_cache *tc, uint64_t file_number,
                                        uint64_t file_size, struct slice key);
/* Opens the file's table now (it stays open while the cache has room). */
int table_cache_preload(struct table_cache *tc, uint64_t file_number, uint64_t file_size);
/* Bytes the open tables keep in memory (indexes and filters). */
size_t table_cache_memory_usage(const struct table_cache *tc);
/* Closes the file's table once no iterator uses it (call before deleting it). */
void table_cache_evict(struct table_cache *tc, uint64_t file_number);

#endif
