/* engine_leveldb.c: LevelDB (Debian's libleveldb) through its C API,
 * <leveldb/c.h>. A leveldb_t is thread-safe, so a context is the database. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include <shale.h> /* SHALE_COMPRESSION_* of struct engine_opts */

#include "benchmarks/engine.h"

struct engine_db {
	leveldb_t *db;
	leveldb_options_t *opt;
	leveldb_writeoptions_t *wo, *sync_wo;
	leveldb_readoptions_t *ro;
	leveldb_cache_t *cache;
	leveldb_filterpolicy_t *filter;
	struct engine_opts opts;
};

struct engine_ctx {
	struct engine_db *d;
};

struct engine_iter {
	leveldb_iterator_t *it;
};

/* Takes err (leveldb's malloc'd message) and frees it. */
static int fail(const char *what, char *err)
{
	engine_set_error("leveldb: %s: %s", what, err ? err : "failed");
	leveldb_free(err);
	return -1;
}

static int ldb_close(struct engine_db *d)
{
	if (d == NULL)
		return 0;
	if (d->db != NULL)
		leveldb_close(d->db);
	leveldb_options_destroy(d->opt);
	if (d->filter != NULL)
		leveldb_filterpolicy_destroy(d->filter);
	if (d->cache != NULL)
		leveldb_cache_destroy(d->cache);
	if (d->ro != NULL)
		leveldb_readoptions_destroy(d->ro);
	if (d->sync_wo != NULL)
		leveldb_writeoptions_destroy(d->sync_wo);
	if (d->wo != NULL)
		leveldb_writeoptions_destroy(d->wo);
	free(d);
	return 0;
}

static int ldb_open(const struct engine_opts *o, const char *path, int fresh,
                    struct engine_db **dbp)
{
	struct engine_db *d = calloc(1, sizeof(*d));
	char *err = NULL;

	if (d == NULL) {
		engine_set_error("leveldb: out of memory");
		return -1;
	}
	d->opts = *o;
	d->opt = leveldb_options_create();
	d->wo = leveldb_writeoptions_create();
	d->sync_wo = leveldb_writeoptions_create();
	d->ro = leveldb_readoptions_create();
	leveldb_writeoptions_set_sync(d->sync_wo, 1);
	leveldb_options_set_compression(d->opt, o->compression == SHALE_COMPRESSION_NONE
	                                            ? leveldb_no_compression
	                                            : leveldb_snappy_compression);
	if (o->bloom_bits > 0) {
		d->filter = leveldb_filterpolicy_create_bloom(o->bloom_bits);
		leveldb_options_set_filter_policy(d->opt, d->filter);
	}
	if (o->cache_bytes > 0) {
		d->cache = leveldb_cache_create_lru((size_t)o->cache_bytes);
		leveldb_options_set_cache(d->opt, d->cache);
	}
	if (o->write_buffer_bytes > 0)
		leveldb_options_set_write_buffer_size(d->opt, (size_t)o->write_buffer_bytes);
	if (o->max_file_bytes > 0)
		leveldb_options_set_max_file_size(d->opt, (size_t)o->max_file_bytes);
	if (o->block_bytes > 0)
		leveldb_options_set_block_size(d->opt, (size_t)o->block_bytes);
	if (o->max_open_files > 0)
		leveldb_options_set_max_open_files(d->opt, (int)o->max_open_files);
	if (fresh) {
		leveldb_destroy_db(d->opt, path, &err);
		if (err != NULL) {
			fail("leveldb_destroy_db", err);
			goto fail_close;
		}
	}
	leveldb_options_set_create_if_missing(d->opt, !o->error_if_missing);
	d->db = leveldb_open(d->opt, path, &err);
	if (err != NULL) {
		fail("leveldb_open", err);
		goto fail_close;
	}
	*dbp = d;
	return 0;

fail_close:
	ldb_close(d);
	return -1;
}

static int ldb_ctx_open(struct engine_db *d, struct engine_ctx **ctxp)
{
	struct engine_ctx *c = malloc(sizeof(*c));

	if (c == NULL) {
		engine_set_error("leveldb: out of memory");
		return -1;
	}
	c->d = d;
	*ctxp = c;
	return 0;
}

static void ldb_ctx_close(struct engine_ctx *c)
{
	free(c);
}

static int ldb_put(struct engine_ctx *c, const void *key, size_t klen, const void *val,
                   size_t vlen, int sync)
{
	char *err = NULL;

	leveldb_put(c->d->db, sync ? c->d->sync_wo : c->d->wo, key, klen, val, vlen, &err);
	return err != NULL ? fail("leveldb_put", err) : 0;
}

static int ldb_del(struct engine_ctx *c, const void *key, size_t klen, int sync)
{
	char *err = NULL;

	leveldb_delete(c->d->db, sync ? c->d->sync_wo : c->d->wo, key, klen, &err);
	return err != NULL ? fail("leveldb_delete", err) : 0;
}

static int ldb_write_batch(struct engine_ctx *c, const struct engine_kv *kvs, int n, int sync)
{
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	char *err = NULL;

	for (int i = 0; i < n; i++)
		leveldb_writebatch_put(b, kvs[i].key, kvs[i].klen, kvs[i].val, kvs[i].vlen);
	leveldb_write(c->d->db, sync ? c->d->sync_wo : c->d->wo, b, &err);
	leveldb_writebatch_destroy(b);
	return err != NULL ? fail("leveldb_write", err) : 0;
}

static int ldb_get(struct engine_ctx *c, const void *key, size_t klen, size_t *vlen)
{
	char *err = NULL;
	char *val = leveldb_get(c->d->db, c->d->ro, key, klen, vlen, &err);

	if (err != NULL)
		return fail("leveldb_get", err);
	if (val == NULL)
		return ENGINE_NOTFOUND;
	leveldb_free(val);
	return 0;
}

static struct engine_iter *ldb_iter_create(struct engine_ctx *c)
{
	struct engine_iter *it = malloc(sizeof(*it));

	if (it == NULL) {
		engine_set_error("leveldb: out of memory");
		return NULL;
	}
	it->it = leveldb_create_iterator(c->d->db, c->d->ro);
	return it;
}

static void ldb_iter_destroy(struct engine_iter *it)
{
	if (it != NULL)
		leveldb_iter_destroy(it->it);
	free(it);
}

static void ldb_iter_seek(struct engine_iter *it, const void *key, size_t klen)
{
	leveldb_iter_seek(it->it, key, klen);
}

static void ldb_iter_seek_first(struct engine_iter *it)
{
	leveldb_iter_seek_to_first(it->it);
}

static void ldb_iter_seek_last(struct engine_iter *it)
{
	leveldb_iter_seek_to_last(it->it);
}

static void ldb_iter_next(struct engine_iter *it)
{
	leveldb_iter_next(it->it);
}

static void ldb_iter_prev(struct engine_iter *it)
{
	leveldb_iter_prev(it->it);
}

static int ldb_iter_valid(const struct engine_iter *it)
{
	return leveldb_iter_valid(it->it);
}

static const void *ldb_iter_key(const struct engine_iter *it, size_t *klen)
{
	return leveldb_iter_key(it->it, klen);
}

static const void *ldb_iter_value(const struct engine_iter *it, size_t *vlen)
{
	return leveldb_iter_value(it->it, vlen);
}

static int ldb_iter_status(const struct engine_iter *it)
{
	char *err = NULL;

	leveldb_iter_get_error(it->it, &err);
	return err != NULL ? fail("iterator", err) : 0;
}

static int ldb_compact(struct engine_db *d)
{
	leveldb_compact_range(d->db, NULL, 0, NULL, 0);
	return 0;
}

static char *ldb_property(struct engine_db *d, const char *what)
{
	char name[64];

	snprintf(name, sizeof(name), "leveldb.%s", what);
	return leveldb_property_value(d->db, name); /* malloc'd */
}

static void ldb_config(const struct engine_db *d, char *buf, size_t len)
{
	const struct engine_opts *o = &d->opts;
	char cache[48] = "its default 8 MiB block cache";

	if (o->cache_bytes > 0)
		snprintf(cache, sizeof(cache), "%.0f MiB LRU block cache",
		         (double)o->cache_bytes / 1048576.0);
	snprintf(buf, len, "leveldb %d.%d: %s, bloom %d bits/key, %s%s; other options default",
	         leveldb_major_version(), leveldb_minor_version(),
	         o->compression == SHALE_COMPRESSION_NONE ? "no compression" : "snappy",
	         o->bloom_bits, cache,
	         o->write_buffer_bytes || o->max_file_bytes || o->block_bytes || o->max_open_files
	             ? ", sizes from flags" : "");
}

const struct engine engine_leveldb = {
	.name = "leveldb",
	.open = ldb_open,
	.close = ldb_close,
	.ctx_open = ldb_ctx_open,
	.ctx_close = ldb_ctx_close,
	.put = ldb_put,
	.del = ldb_del,
	.write_batch = ldb_write_batch,
	.get = ldb_get,
	.iter_create = ldb_iter_create,
	.iter_destroy = ldb_iter_destroy,
	.iter_seek = ldb_iter_seek,
	.iter_seek_first = ldb_iter_seek_first,
	.iter_seek_last = ldb_iter_seek_last,
	.iter_next = ldb_iter_next,
	.iter_prev = ldb_iter_prev,
	.iter_valid = ldb_iter_valid,
	.iter_key = ldb_iter_key,
	.iter_value = ldb_iter_value,
	.iter_status = ldb_iter_status,
	.compact = ldb_compact,
	.property = ldb_property,
	.config = ldb_config,
};
