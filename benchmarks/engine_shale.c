/* engine_shale.c: shale behind the benchmark's engine interface, through the
 * public header <shale.h> only. A shale_db is thread-safe, so a context is
 * just the database. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shale.h>

#include "benchmarks/engine.h"

struct engine_db {
	shale_db *db;
	shale_options *opt;
	shale_writeopts *wo, *sync_wo;
	shale_readopts *ro;
	shale_cache *cache;
	struct engine_opts opts;
};

struct engine_ctx {
	struct engine_db *d;
};

struct engine_iter {
	shale_iter *it;
};

static int fail(const char *what, int rc)
{
	const char *msg = shale_errmsg();

	engine_set_error("shale: %s: %s", what, msg[0] ? msg : shale_strerror(rc));
	return -1;
}

static const char *compression_name(int type)
{
	switch (type) {
	case SHALE_COMPRESSION_SNAPPY: return "snappy";
	case SHALE_COMPRESSION_LZ4: return "lz4";
	case SHALE_COMPRESSION_ZLIB: return "zlib";
	default: return "none";
	}
}

static int sh_close(struct engine_db *d)
{
	int rc = 0;

	if (d == NULL)
		return 0;
	if (d->db != NULL && (rc = shale_close(d->db)) < 0)
		rc = fail("shale_close", rc);
	shale_cache_destroy(d->cache);
	shale_readopts_destroy(d->ro);
	shale_writeopts_destroy(d->sync_wo);
	shale_writeopts_destroy(d->wo);
	shale_options_destroy(d->opt);
	free(d);
	return rc;
}

static int sh_open(const struct engine_opts *o, const char *path, int fresh,
                   struct engine_db **dbp)
{
	struct engine_db *d = calloc(1, sizeof(*d));
	int rc;

	if (d == NULL)
		goto nomem;
	d->opts = *o;
	if ((d->opt = shale_options_create()) == NULL || (d->wo = shale_writeopts_create()) == NULL ||
	    (d->sync_wo = shale_writeopts_create()) == NULL ||
	    (d->ro = shale_readopts_create()) == NULL)
		goto nomem;
	shale_writeopts_set_sync(d->sync_wo, 1);
	shale_options_set_compression(d->opt, o->compression);
	shale_options_set_bloom_bits_per_key(d->opt, o->bloom_bits);
	if (o->cache_bytes > 0) {
		if ((d->cache = shale_cache_create_lru((size_t)o->cache_bytes)) == NULL)
			goto nomem;
		shale_options_set_cache(d->opt, d->cache);
	}
	if (o->write_buffer_bytes > 0)
		shale_options_set_write_buffer_size(d->opt, (size_t)o->write_buffer_bytes);
	if (o->max_file_bytes > 0)
		shale_options_set_max_file_size(d->opt, (size_t)o->max_file_bytes);
	if (o->block_bytes > 0)
		shale_options_set_block_size(d->opt, (size_t)o->block_bytes);
	if (o->max_open_files > 0)
		shale_options_set_max_open_files(d->opt, (int)o->max_open_files);
	if (o->wal_flush_delay >= 0)
		shale_options_set_wal_flush_delay(d->opt, (uint64_t)o->wal_flush_delay);
	if (o->mmap_reads >= 0)
		shale_options_set_mmap_reads(d->opt, o->mmap_reads);
	if (o->scan_ahead >= 0)
		shale_readopts_set_scan_ahead(d->ro, o->scan_ahead);
	if (o->l0_compaction_trigger > 0)
		shale_options_set_l0_compaction_trigger(d->opt, o->l0_compaction_trigger);
	if (o->l0_slowdown_trigger > 0)
		shale_options_set_l0_slowdown_trigger(d->opt, o->l0_slowdown_trigger);
	if (o->l0_stop_trigger > 0)
		shale_options_set_l0_stop_trigger(d->opt, o->l0_stop_trigger);
	if (o->level_base_bytes > 0)
		shale_options_set_max_bytes_for_level_base(d->opt, (uint64_t)o->level_base_bytes);
	if (o->level_multiplier > 0)
		shale_options_set_level_multiplier(d->opt, o->level_multiplier);
	if (fresh && (rc = shale_destroy_db(path, d->opt)) < 0) {
		fail("shale_destroy_db", rc);
		goto fail_close;
	}
	shale_options_set_create_if_missing(d->opt, !o->error_if_missing);
	if ((rc = shale_open(path, d->opt, &d->db)) < 0) {
		fail("shale_open", rc);
		goto fail_close;
	}
	*dbp = d;
	return 0;

nomem:
	engine_set_error("shale: out of memory opening the database");
fail_close:
	sh_close(d);
	return -1;
}

static int sh_ctx_open(struct engine_db *d, struct engine_ctx **ctxp)
{
	struct engine_ctx *c = malloc(sizeof(*c));

	if (c == NULL) {
		engine_set_error("shale: out of memory");
		return -1;
	}
	c->d = d;
	*ctxp = c;
	return 0;
}

static void sh_ctx_close(struct engine_ctx *c)
{
	free(c);
}

static int sh_put(struct engine_ctx *c, const void *key, size_t klen, const void *val,
                  size_t vlen, int sync)
{
	int rc = shale_put(c->d->db, sync ? c->d->sync_wo : c->d->wo, key, klen, val, vlen);

	return rc < 0 ? fail("shale_put", rc) : 0;
}

static int sh_del(struct engine_ctx *c, const void *key, size_t klen, int sync)
{
	int rc = shale_delete(c->d->db, sync ? c->d->sync_wo : c->d->wo, key, klen);

	return rc < 0 ? fail("shale_delete", rc) : 0;
}

static int sh_write_batch(struct engine_ctx *c, const struct engine_kv *kvs, int n, int sync)
{
	shale_batch *b = shale_batch_create();
	int rc = 0;

	if (b == NULL)
		return fail("shale_batch_create", SHALE_ENOMEM);
	for (int i = 0; i < n && rc == 0; i++)
		if ((rc = shale_batch_put(b, kvs[i].key, kvs[i].klen, kvs[i].val, kvs[i].vlen)) < 0)
			rc = fail("shale_batch_put", rc);
	if (rc == 0 && (rc = shale_write(c->d->db, sync ? c->d->sync_wo : c->d->wo, b)) < 0)
		rc = fail("shale_write", rc);
	shale_batch_destroy(b);
	return rc;
}

static int sh_get(struct engine_ctx *c, const void *key, size_t klen, size_t *vlen)
{
	void *val;
	int rc = shale_get(c->d->db, c->d->ro, key, klen, &val, vlen);

	if (rc < 0)
		return fail("shale_get", rc);
	if (rc == SHALE_NOTFOUND)
		return ENGINE_NOTFOUND;
	shale_free(val);
	return 0;
}

static struct engine_iter *sh_iter_create(struct engine_ctx *c)
{
	struct engine_iter *it = malloc(sizeof(*it));

	if (it == NULL || (it->it = shale_iter_create(c->d->db, c->d->ro)) == NULL) {
		free(it);
		fail("shale_iter_create", SHALE_ENOMEM);
		return NULL;
	}
	return it;
}

static void sh_iter_destroy(struct engine_iter *it)
{
	if (it != NULL)
		shale_iter_destroy(it->it);
	free(it);
}

static void sh_iter_seek(struct engine_iter *it, const void *key, size_t klen)
{
	shale_iter_seek(it->it, key, klen);
}

static void sh_iter_seek_first(struct engine_iter *it)
{
	shale_iter_seek_first(it->it);
}

static void sh_iter_seek_last(struct engine_iter *it)
{
	shale_iter_seek_last(it->it);
}

static void sh_iter_next(struct engine_iter *it)
{
	shale_iter_next(it->it);
}

static void sh_iter_prev(struct engine_iter *it)
{
	shale_iter_prev(it->it);
}

static int sh_iter_valid(const struct engine_iter *it)
{
	return shale_iter_valid(it->it);
}

static const void *sh_iter_key(const struct engine_iter *it, size_t *klen)
{
	return shale_iter_key(it->it, klen);
}

static const void *sh_iter_value(const struct engine_iter *it, size_t *vlen)
{
	return shale_iter_value(it->it, vlen);
}

static int sh_iter_status(const struct engine_iter *it)
{
	int rc = shale_iter_status(it->it);

	return rc < 0 ? fail("iterator", rc) : 0;
}

static int sh_compact(struct engine_db *d)
{
	int rc = shale_compact_range(d->db, NULL, 0, NULL, 0);

	return rc < 0 ? fail("shale_compact_range", rc) : 0;
}

static char *sh_property(struct engine_db *d, const char *what)
{
	char name[64];
	char *s, *copy;

	snprintf(name, sizeof(name), "shale.%s", what);
	if ((s = shale_property(d->db, name)) == NULL)
		return NULL;
	copy = strdup(s);
	shale_free(s);
	return copy;
}

static void sh_config(const struct engine_db *d, char *buf, size_t len)
{
	const struct engine_opts *o = &d->opts;
	char cache[48] = "the DB's own block cache";

	if (o->cache_bytes > 0)
		snprintf(cache, sizeof(cache), "%.0f MiB LRU block cache",
		         (double)o->cache_bytes / 1048576.0);
	char more[160] = "";
	if (o->wal_flush_delay >= 0)
		snprintf(more, sizeof(more), ", wal_flush_delay %lld us", (long long)o->wal_flush_delay);
	if (o->mmap_reads >= 0)
		snprintf(more + strlen(more), sizeof(more) - strlen(more), ", mmap_reads %d", o->mmap_reads);
	if (o->scan_ahead >= 0)
		snprintf(more + strlen(more), sizeof(more) - strlen(more), ", scan_ahead %d", o->scan_ahead);
	if (o->l0_compaction_trigger > 0)
		snprintf(more + strlen(more), sizeof(more) - strlen(more), ", l0_compaction_trigger %d",
		         o->l0_compaction_trigger);
	if (o->l0_slowdown_trigger > 0)
		snprintf(more + strlen(more), sizeof(more) - strlen(more), ", l0_slowdown_trigger %d",
		         o->l0_slowdown_trigger);
	if (o->l0_stop_trigger > 0)
		snprintf(more + strlen(more), sizeof(more) - strlen(more), ", l0_stop_trigger %d",
		         o->l0_stop_trigger);
	if (o->level_base_bytes > 0)
		snprintf(more + strlen(more), sizeof(more) - strlen(more), ", level base %lld bytes",
		         (long long)o->level_base_bytes);
	if (o->level_multiplier > 0)
		snprintf(more + strlen(more), sizeof(more) - strlen(more), ", level multiplier %d",
		         o->level_multiplier);
	snprintf(buf, len, "shale %s: %s, bloom %d bits/key, %s%s%s; other options default",
	         shale_version(), compression_name(o->compression), o->bloom_bits, cache,
	         o->write_buffer_bytes || o->max_file_bytes || o->block_bytes || o->max_open_files
	             ? ", sizes from flags" : "", more);
}

const struct engine engine_shale = {
	.name = "shale",
	.open = sh_open,
	.close = sh_close,
	.ctx_open = sh_ctx_open,
	.ctx_close = sh_ctx_close,
	.put = sh_put,
	.del = sh_del,
	.write_batch = sh_write_batch,
	.get = sh_get,
	.iter_create = sh_iter_create,
	.iter_destroy = sh_iter_destroy,
	.iter_seek = sh_iter_seek,
	.iter_seek_first = sh_iter_seek_first,
	.iter_seek_last = sh_iter_seek_last,
	.iter_next = sh_iter_next,
	.iter_prev = sh_iter_prev,
	.iter_valid = sh_iter_valid,
	.iter_key = sh_iter_key,
	.iter_value = sh_iter_value,
	.iter_status = sh_iter_status,
	.compact = sh_compact,
	.property = sh_property,
	.config = sh_config,
};
