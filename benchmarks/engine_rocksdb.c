/* engine_rocksdb.c: RocksDB (Debian's librocksdb) through its C API,
 * <rocksdb/c.h>. A rocksdb_t is thread-safe, so a context is the database.
 * Only the comparison's settings are changed: snappy (already RocksDB's
 * default when built with it), a 10-bit bloom filter and the block cache in
 * the block-based table options; all else is RocksDB's default. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include <shale.h> /* SHALE_COMPRESSION_* of struct engine_opts */

#include "benchmarks/engine.h"

struct engine_db {
	rocksdb_t *db;
	rocksdb_options_t *opt;
	rocksdb_writeoptions_t *wo, *sync_wo;
	rocksdb_readoptions_t *ro;
	rocksdb_cache_t *cache;
	struct engine_opts opts;
};

struct engine_ctx {
	struct engine_db *d;
};

struct engine_iter {
	rocksdb_iterator_t *it;
};

/* Takes err (leveldb's malloc'd message) and frees it. */
static int fail(const char *what, char *err)
{
	engine_set_error("rocksdb: %s: %s", what, err ? err : "failed");
	rocksdb_free(err);
	return -1;
}

static int rdb_close(struct engine_db *d)
{
	if (d == NULL)
		return 0;
	if (d->db != NULL)
		rocksdb_close(d->db);
	if (d->opt != NULL)
		rocksdb_options_destroy(d->opt);
	if (d->cache != NULL)
		rocksdb_cache_destroy(d->cache);
	if (d->ro != NULL)
		rocksdb_readoptions_destroy(d->ro);
	if (d->sync_wo != NULL)
		rocksdb_writeoptions_destroy(d->sync_wo);
	if (d->wo != NULL)
		rocksdb_writeoptions_destroy(d->wo);
	free(d);
	return 0;
}

static int rdb_open(const struct engine_opts *o, const char *path, int fresh,
                    struct engine_db **dbp)
{
	struct engine_db *d = calloc(1, sizeof(*d));
	rocksdb_block_based_table_options_t *table;
	char *err = NULL;

	if (d == NULL) {
		engine_set_error("rocksdb: out of memory");
		return -1;
	}
	d->opts = *o;
	d->opt = rocksdb_options_create();
	d->wo = rocksdb_writeoptions_create();
	d->sync_wo = rocksdb_writeoptions_create();
	d->ro = rocksdb_readoptions_create();
	rocksdb_writeoptions_set_sync(d->sync_wo, 1);
	rocksdb_options_set_compression(d->opt, o->compression == SHALE_COMPRESSION_NONE
	                                            ? rocksdb_no_compression
	                                            : rocksdb_snappy_compression);
	table = rocksdb_block_based_options_create();
	/* The table options own the filter policy; the cache is shared. */
	if (o->bloom_bits > 0)
		rocksdb_block_based_options_set_filter_policy(
		    table, rocksdb_filterpolicy_create_bloom(o->bloom_bits));
	if (o->cache_bytes > 0) {
		d->cache = rocksdb_cache_create_lru((size_t)o->cache_bytes);
		rocksdb_block_based_options_set_block_cache(table, d->cache);
	}
	if (o->block_bytes > 0)
		rocksdb_block_based_options_set_block_size(table, (size_t)o->block_bytes);
	rocksdb_options_set_block_based_table_factory(d->opt, table);
	rocksdb_block_based_options_destroy(table);
	if (o->write_buffer_bytes > 0)
		rocksdb_options_set_write_buffer_size(d->opt, (size_t)o->write_buffer_bytes);
	if (o->max_file_bytes > 0)
		rocksdb_options_set_target_file_size_base(d->opt, (uint64_t)o->max_file_bytes);
	if (o->max_open_files > 0)
		rocksdb_options_set_max_open_files(d->opt, (int)o->max_open_files);
	if (fresh) {
		rocksdb_destroy_db(d->opt, path, &err);
		if (err != NULL) {
			fail("rocksdb_destroy_db", err);
			goto fail_close;
		}
	}
	rocksdb_options_set_create_if_missing(d->opt, !o->error_if_missing);
	d->db = rocksdb_open(d->opt, path, &err);
	if (err != NULL) {
		fail("rocksdb_open", err);
		goto fail_close;
	}
	*dbp = d;
	return 0;

fail_close:
	rdb_close(d);
	return -1;
}

static int rdb_ctx_open(struct engine_db *d, struct engine_ctx **ctxp)
{
	struct engine_ctx *c = malloc(sizeof(*c));

	if (c == NULL) {
		engine_set_error("rocksdb: out of memory");
		return -1;
	}
	c->d = d;
	*ctxp = c;
	return 0;
}

static void rdb_ctx_close(struct engine_ctx *c)
{
	free(c);
}

static int rdb_put(struct engine_ctx *c, const void *key, size_t klen, const void *val,
                   size_t vlen, int sync)
{
	char *err = NULL;

	rocksdb_put(c->d->db, sync ? c->d->sync_wo : c->d->wo, key, klen, val, vlen, &err);
	return err != NULL ? fail("rocksdb_put", err) : 0;
}

static int rdb_del(struct engine_ctx *c, const void *key, size_t klen, int sync)
{
	char *err = NULL;

	rocksdb_delete(c->d->db, sync ? c->d->sync_wo : c->d->wo, key, klen, &err);
	return err != NULL ? fail("rocksdb_delete", err) : 0;
}

static int rdb_write_batch(struct engine_ctx *c, const struct engine_kv *kvs, int n, int sync)
{
	rocksdb_writebatch_t *b = rocksdb_writebatch_create();
	char *err = NULL;

	for (int i = 0; i < n; i++)
		rocksdb_writebatch_put(b, kvs[i].key, kvs[i].klen, kvs[i].val, kvs[i].vlen);
	rocksdb_write(c->d->db, sync ? c->d->sync_wo : c->d->wo, b, &err);
	rocksdb_writebatch_destroy(b);
	return err != NULL ? fail("rocksdb_write", err) : 0;
}

static int rdb_get(struct engine_ctx *c, const void *key, size_t klen, size_t *vlen)
{
	char *err = NULL;
	char *val = rocksdb_get(c->d->db, c->d->ro, key, klen, vlen, &err);

	if (err != NULL)
		return fail("rocksdb_get", err);
	if (val == NULL)
		return ENGINE_NOTFOUND;
	rocksdb_free(val);
	return 0;
}

static struct engine_iter *rdb_iter_create(struct engine_ctx *c)
{
	struct engine_iter *it = malloc(sizeof(*it));

	if (it == NULL) {
		engine_set_error("rocksdb: out of memory");
		return NULL;
	}
	it->it = rocksdb_create_iterator(c->d->db, c->d->ro);
	return it;
}

static void rdb_iter_destroy(struct engine_iter *it)
{
	if (it != NULL)
		rocksdb_iter_destroy(it->it);
	free(it);
}

static void rdb_iter_seek(struct engine_iter *it, const void *key, size_t klen)
{
	rocksdb_iter_seek(it->it, key, klen);
}

static void rdb_iter_seek_first(struct engine_iter *it)
{
	rocksdb_iter_seek_to_first(it->it);
}

static void rdb_iter_seek_last(struct engine_iter *it)
{
	rocksdb_iter_seek_to_last(it->it);
}

static void rdb_iter_next(struct engine_iter *it)
{
	rocksdb_iter_next(it->it);
}

static void rdb_iter_prev(struct engine_iter *it)
{
	rocksdb_iter_prev(it->it);
}

static int rdb_iter_valid(const struct engine_iter *it)
{
	return rocksdb_iter_valid(it->it);
}

static const void *rdb_iter_key(const struct engine_iter *it, size_t *klen)
{
	return rocksdb_iter_key(it->it, klen);
}

static const void *rdb_iter_value(const struct engine_iter *it, size_t *vlen)
{
	return rocksdb_iter_value(it->it, vlen);
}

static int rdb_iter_status(const struct engine_iter *it)
{
	char *err = NULL;

	rocksdb_iter_get_error(it->it, &err);
	return err != NULL ? fail("iterator", err) : 0;
}

static int rdb_compact(struct engine_db *d)
{
	rocksdb_compact_range(d->db, NULL, 0, NULL, 0);
	return 0;
}

static char *rdb_property(struct engine_db *d, const char *what)
{
	char name[64];

	snprintf(name, sizeof(name), "rocksdb.%s", what);
	return rocksdb_property_value(d->db, name); /* malloc'd */
}

static void rdb_config(const struct engine_db *d, char *buf, size_t len)
{
	const struct engine_opts *o = &d->opts;
	char cache[48] = "its default block cache";

	if (o->cache_bytes > 0)
		snprintf(cache, sizeof(cache), "%.0f MiB LRU block cache",
		         (double)o->cache_bytes / 1048576.0);
	snprintf(buf, len, "rocksdb %s: %s, bloom %d bits/key, %s%s; other options default",
	         BENCH_ROCKSDB_VERSION,
	         o->compression == SHALE_COMPRESSION_NONE ? "no compression" : "snappy",
	         o->bloom_bits, cache,
	         o->write_buffer_bytes || o->max_file_bytes || o->block_bytes || o->max_open_files
	             ? ", sizes from flags" : "");
}

const struct engine engine_rocksdb = {
	.name = "rocksdb",
	.open = rdb_open,
	.close = rdb_close,
	.ctx_open = rdb_ctx_open,
	.ctx_close = rdb_ctx_close,
	.put = rdb_put,
	.del = rdb_del,
	.write_batch = rdb_write_batch,
	.get = rdb_get,
	.iter_create = rdb_iter_create,
	.iter_destroy = rdb_iter_destroy,
	.iter_seek = rdb_iter_seek,
	.iter_seek_first = rdb_iter_seek_first,
	.iter_seek_last = rdb_iter_seek_last,
	.iter_next = rdb_iter_next,
	.iter_prev = rdb_iter_prev,
	.iter_valid = rdb_iter_valid,
	.iter_key = rdb_iter_key,
	.iter_value = rdb_iter_value,
	.iter_status = rdb_iter_status,
	.compact = rdb_compact,
	.property = rdb_property,
	.config = rdb_config,
};
