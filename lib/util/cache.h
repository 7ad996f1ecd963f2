/*
 * A sharded LRU cache with byte charges and reference-counted handles; the
 * block cache (shareable by several databases) and the table cache are
 * instances.
 *
 * - Keys are byte strings; the shard is chosen by a hash of the key.
 * - cache_insert and cache_lookup return a handle that pins the entry: a
 *   pinned entry's value is never freed, even when it is evicted or erased
 *   (it is then freed by the deleter at the last release).
 * - The sum of charges of unpinned entries is kept within each shard's share
 *   of the capacity by evicting the least recently used. An entry whose
 *   charge exceeds its shard's capacity is never kept: insert hands back a
 *   handle to it alone, and the entry is deleted when that is released.
 * - Every function is thread-safe.
 */
#ifndef SHALE_UTIL_CACHE_H
#define SHALE_UTIL_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/slice.h"

struct cache;
struct cache_handle;

/* Frees value (and whatever it owns); key is the entry's key. */
typedef void (*cache_deleter_fn)(struct slice key, void *value);

int cache_create(size_t capacity, struct cache **out);
/* REQUIRES: no handle outstanding. Runs the deleter of every entry. NULL ok. */
void cache_destroy(struct cache *c);

/* Inserts (replacing any entry with the same key, which stays alive while
 * pinned) and returns a handle to the new entry; the caller releases it.
 * NULL when memory runs out: the deleter did not run, the caller still owns
 * value. */
struct cache_handle *cache_insert(struct cache *c, struct slice key, void *value, size_t charge,
                                  cache_deleter_fn deleter);
/* A pinned handle, or NULL when absent. */
struct cache_handle *cache_lookup(struct cache *c, struct slice key);
void cache_release(struct cache *c, struct cache_handle *h);
void *cache_value(const struct cache_handle *h);
/* Removes the entry (freed once no handle pins it). */
void cache_erase(struct cache *c, struct slice key);
/* A number never returned before by this cache: tables use it as the prefix
 * of their block keys so that keys never collide across tables or across
 * databases sharing the cache. */
uint64_t cache_new_id(struct cache *c);
/* Changes the capacity; evicts unpinned entries down to it. */
void cache_set_capacity(struct cache *c, size_t capacity);
size_t cache_capacity(const struct cache *c);
/* Sum of the charges of every entry still in the cache. */
size_t cache_total_charge(const struct cache *c);
/* Drops every unpinned entry. */
void cache_prune(struct cache *c);
/* The cache's buffer pool (lib/util/bpool.h): values allocated from it keep
 * the cache's memory in one place whatever thread allocates or evicts. It
 * lives until cache_destroy, which runs the deleters first. */
struct bpool;
struct bpool *cache_pool(struct cache *c);

#endif
