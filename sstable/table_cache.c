/*
 * Open tables live in a struct cache keyed by the fixed64 file number, each
 * charged 1, so the cache's capacity is the number of open tables; its LRU
 * eviction closes the least recently used table (and its descriptor) once
 * no handle pins it. Failures to open are not cached: the next use retries.
 */
#include "sstable/table_cache.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/util/cache.h"
#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"

struct table_cache {
	atomic_size_t memory;   /* table_memory_usage of every open table */
	atomic_int pinned;      /* references held by pin slots */
	int capacity;
	struct env *env;
	const char *dbname;
	const struct table_options *opt;
	struct cache *cache;
};

int table_cache_create(struct env *env, const char *dbname, const struct table_options *opt,
                       int capacity, struct table_cache **out)
{
	*out = NULL;
	if (capacity < 1)
		return err_set(SHALE_EINVAL, "table cache capacity %d < 1", capacity);
	struct table_cache *tc = malloc(sizeof(*tc));
	if (tc == NULL)
		return err_nomem("table cache");
	int rc = cache_create((size_t)capacity, &tc->cache);
	if (rc) {
		free(tc);
		return rc;
	}
	atomic_init(&tc->memory, 0);
	atomic_init(&tc->pinned, 0);
	tc->capacity = capacity;
	tc->env = env;
	tc->dbname = dbname;
	tc->opt = opt;
	*out = tc;
	return 0;
}

void table_cache_destroy(struct table_cache *tc)
{
	if (tc == NULL)
		return;
	cache_destroy(tc->cache);
	free(tc);
}

/* The table's cache value: the table and the counter it is charged to. */
struct cached_table {
	struct table *t;
	struct table_cache *tc;
};

static void delete_table(struct slice key, void *value)
{
	(void)key;
	struct cached_table *ct = value;
	atomic_fetch_sub_explicit(&ct->tc->memory, table_memory_usage(ct->t), memory_order_relaxed);
	table_close(ct->t);
	free(ct);
}

static struct table *table_of(struct cache_handle *h)
{
	return ((struct cached_table *)cache_value(h))->t;
}

/* A pinned handle on the open table of file_number (opened on a miss). */
static int find_table(struct table_cache *tc, uint64_t file_number, uint64_t file_size,
                      struct cache_handle **out)
{
	char key[8];
	encode_fixed64(key, file_number);
	struct slice k = slice_make(key, sizeof(key));
	*out = cache_lookup(tc->cache, k);
	if (*out)
		return 0;

	char path[FNAME_MAX];
	struct rand_file *file = NULL;
	fname_table(path, tc->dbname, file_number);
	int rc = env_open_rand(tc->env, path, &file);
	if (rc) {
		/* the legacy name, when the .ldb is missing */
		char sst[FNAME_MAX];
		fname_sst(sst, tc->dbname, file_number);
		if (!env_exists(tc->env, path) && env_exists(tc->env, sst) == 1) {
			char msg[ERR_MSG_MAX];
			err_copy(msg, sizeof(msg));
			int rc2 = env_open_rand(tc->env, sst, &file);
			if (rc2 == 0) {
				rc = 0;
				snprintf(path, sizeof(path), "%s", sst);
			} else {
				err_restore(rc, msg);
			}
		}
		if (rc)
			return rc;
	}
	struct table *t;
	if ((rc = table_open(tc->opt, file, path, file_size, &t)) != 0)
		return rc;
	struct cached_table *ct = malloc(sizeof(*ct));
	if (ct == NULL) {
		table_close(t);
		return err_nomem("table cache entry");
	}
	ct->t = t;
	ct->tc = tc;
	atomic_fetch_add_explicit(&tc->memory, table_memory_usage(t), memory_order_relaxed);
	*out = cache_insert(tc->cache, k, ct, 1, delete_table);
	if (*out == NULL) {
		delete_table(k, ct);
		return err_nomem("table cache entry");
	}
	return 0;
}

int table_cache_get(struct table_cache *tc, const struct read_opts *ro, uint64_t file_number,
                    uint64_t file_size, struct slice key, table_found_fn found, void *arg)
{
	struct cache_handle *h;
	int rc = find_table(tc, file_number, file_size, &h);
	if (rc)
		return rc;
	rc = table_get(table_of(h), ro, key, found, arg);
	cache_release(tc->cache, h);
	return rc;
}

/* Leaves the reference h in the slot (1) while pins take at most half the
 * room and no other thread got there first. */
static int try_pin(struct table_cache *tc, _Atomic(struct cache_handle *) *pin, struct cache_handle *h)
{
	if (atomic_fetch_add_explicit(&tc->pinned, 1, memory_order_relaxed) < tc->capacity / 2) {
		struct cache_handle *none = NULL;
		if (atomic_compare_exchange_strong_explicit(pin, &none, h, memory_order_release, memory_order_relaxed))
			return 1;
	}
	atomic_fetch_sub_explicit(&tc->pinned, 1, memory_order_relaxed);
	return 0;
}

int table_cache_get_pinned(struct table_cache *tc, const struct read_opts *ro, uint64_t file_number,
                           uint64_t file_size, _Atomic(struct cache_handle *) *pin, struct slice key,
                           table_found_fn found, void *arg)
{
	struct cache_handle *h = atomic_load_explicit(pin, memory_order_acquire);
	if (h)
		return table_get(table_of(h), ro, key, found, arg);
	int rc = find_table(tc, file_number, file_size, &h);
	if (rc)
		return rc;
	rc = table_get(table_of(h), ro, key, found, arg);
	if (!try_pin(tc, pin, h))
		cache_release(tc->cache, h);
	return rc;
}

void table_cache_unpin(struct table_cache *tc, struct cache_handle *pinned)
{
	if (pinned == NULL)
		return;
	atomic_fetch_sub_explicit(&tc->pinned, 1, memory_order_relaxed);
	cache_release(tc->cache, pinned);
}

int table_cache_pinned(const struct table_cache *tc)
{
	return atomic_load_explicit(&((struct table_cache *)tc)->pinned, memory_order_relaxed);
}

static void release_table(void *cache, void *handle)
{
	cache_release(cache, handle);
}

/* An iterator that keeps the reference h (released when it is destroyed). */
static struct iter *iter_holding(struct table_cache *tc, const struct read_opts *ro, struct cache_handle *h)
{
	struct iter *it = table_iter(table_of(h), ro);
	if (it == NULL) {
		cache_release(tc->cache, h);
		return NULL;
	}
	if (iter_register_cleanup_last(it, release_table, tc->cache, h) != 0) {
		iter_destroy(it);
		cache_release(tc->cache, h);
		return NULL;
	}
	return it;
}

struct iter *table_cache_iter(struct table_cache *tc, const struct read_opts *ro,
                              uint64_t file_number, uint64_t file_size)
{
	struct cache_handle *h;
	int rc = find_table(tc, file_number, file_size, &h);
	if (rc)
		return iter_empty(rc);
	return iter_holding(tc, ro, h);
}

struct iter *table_cache_iter_pinned_reuse(struct table_cache *tc, const struct read_opts *ro,
                                           uint64_t file_number, uint64_t file_size,
                                           _Atomic(struct cache_handle *) *pin, struct iter *reuse)
{
	struct cache_handle *h = atomic_load_explicit(pin, memory_order_acquire);
	if (h == NULL) {
		int rc = find_table(tc, file_number, file_size, &h);
		if (rc == 0 && try_pin(tc, pin, h))
			return table_iter_reuse(table_of(h), ro, reuse);
		iter_destroy(reuse);
		return rc ? iter_empty(rc) : iter_holding(tc, ro, h);
	}
	/* the slot's reference outlives the iterator (the caller's promise) */
	return table_iter_reuse(table_of(h), ro, reuse);
}

struct iter *table_cache_iter_pinned(struct table_cache *tc, const struct read_opts *ro, uint64_t file_number,
                                     uint64_t file_size, _Atomic(struct cache_handle *) *pin)
{
	return table_cache_iter_pinned_reuse(tc, ro, file_number, file_size, pin, NULL);
}

uint64_t table_cache_approximate_offset(struct table_cache *tc, uint64_t file_number,
                                        uint64_t file_size, struct slice key)
{
	struct cache_handle *h;
	if (find_table(tc, file_number, file_size, &h) != 0)
		return 0;
	uint64_t off = table_approximate_offset(table_of(h), key);
	cache_release(tc->cache, h);
	return off;
}

int table_cache_preload(struct table_cache *tc, uint64_t file_number, uint64_t file_size)
{
	struct cache_handle *h;
	int rc = find_table(tc, file_number, file_size, &h);
	if (rc == 0)
		cache_release(tc->cache, h);
	return rc;
}

size_t table_cache_memory_usage(const struct table_cache *tc)
{
	return atomic_load_explicit(&((struct table_cache *)tc)->memory, memory_order_relaxed);
}

void table_cache_evict(struct table_cache *tc, uint64_t file_number)
{
	char key[8];
	encode_fixed64(key, file_number);
	cache_erase(tc->cache, slice_make(key, sizeof(key)));
}
