/* engine_lmdb.c: LMDB (Debian's liblmdb), a copy-on-write B+tree in one
 * memory map, as the comparison sets it up: a map sized to the data,
 * MDB_WRITEMAP|MDB_NOSYNC|MDB_NOMETASYNC, one write transaction per put (a
 * synced put commits, then forces mdb_env_sync). LMDB has no compression,
 * bloom filter or block cache (it reads through the OS page cache).
 *
 * Read transactions: MDB_NOTLS ties a reader slot to a transaction rather
 * than a thread, so a context keeps one read transaction for its gets (reset
 * between gets, renewed for the next) and a spare one that iterators reuse;
 * neither holds a snapshot while it is reset. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "benchmarks/engine.h"

#define LMDB_FLAGS (MDB_WRITEMAP | MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS)

struct engine_db {
	MDB_env *env;
	MDB_dbi dbi;
	size_t map_bytes;
};

struct engine_ctx {
	struct engine_db *d;
	MDB_txn *get_txn;  /* reset between gets */
	MDB_txn *iter_txn; /* a reset spare for the next iterator, or NULL */
};

struct engine_iter {
	struct engine_ctx *ctx;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int valid;
	int rc; /* the first unexpected cursor error */
};

static int fail(const char *what, int rc)
{
	engine_set_error("lmdb: %s: %s", what, mdb_strerror(rc));
	return -1;
}

/* Room for every entry in half-full leaf pages, the branch pages above them
 * and the free pages copy-on-write leaves behind, plus fill100K's values. */
static size_t map_bytes(const struct engine_opts *o)
{
	double data = (double)o->num * (o->key_bytes + o->value_bytes + 16) * 4 +
	              (double)o->num * 100 * 2 + 64.0 * 1048576;
	size_t bytes = (size_t)data;

	return (bytes + 4095) & ~(size_t)4095;
}

static int lm_close(struct engine_db *d)
{
	if (d == NULL)
		return 0;
	if (d->env != NULL)
		mdb_env_close(d->env); /* the data is in the map; the OS writes it back */
	free(d);
	return 0;
}

static int lm_open(const struct engine_opts *o, const char *path, int fresh,
                   struct engine_db **dbp)
{
	struct engine_db *d = calloc(1, sizeof(*d));
	MDB_txn *txn = NULL;
	int rc;

	if (d == NULL) {
		engine_set_error("lmdb: out of memory");
		return -1;
	}
	if (fresh && engine_remove_tree(path) != 0)
		goto fail_close;
	if (o->error_if_missing && access(path, F_OK) != 0) {
		engine_set_error("lmdb: %s: %s", path, strerror(errno));
		goto fail_close;
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		engine_set_error("lmdb: mkdir %s: %s", path, strerror(errno));
		goto fail_close;
	}
	d->map_bytes = map_bytes(o);
	if ((rc = mdb_env_create(&d->env)) != 0) {
		fail("mdb_env_create", rc);
		goto fail_close;
	}
	if ((rc = mdb_env_set_mapsize(d->env, d->map_bytes)) != 0 ||
	    (rc = mdb_env_set_maxreaders(d->env, 1024)) != 0) {
		fail("mdb_env_set_mapsize", rc);
		goto fail_close;
	}
	if ((rc = mdb_env_open(d->env, path, LMDB_FLAGS, 0644)) != 0) {
		fail("mdb_env_open", rc);
		goto fail_close;
	}
	if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &d->dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		if (txn != NULL && rc != 0)
			mdb_txn_abort(txn);
		fail("opening the main database", rc);
		goto fail_close;
	}
	*dbp = d;
	return 0;

fail_close:
	lm_close(d);
	return -1;
}

static int lm_ctx_open(struct engine_db *d, struct engine_ctx **ctxp)
{
	struct engine_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL) {
		engine_set_error("lmdb: out of memory");
		return -1;
	}
	c->d = d;
	if ((rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &c->get_txn)) != 0) {
		free(c);
		return fail("mdb_txn_begin(read)", rc);
	}
	mdb_txn_reset(c->get_txn);
	*ctxp = c;
	return 0;
}

static void lm_ctx_close(struct engine_ctx *c)
{
	if (c == NULL)
		return;
	mdb_txn_abort(c->get_txn);
	if (c->iter_txn != NULL)
		mdb_txn_abort(c->iter_txn);
	free(c);
}

/* Commits txn; a synced write also forces the map to disk. */
static int commit(struct engine_ctx *c, MDB_txn *txn, int sync)
{
	int rc = mdb_txn_commit(txn);

	if (rc != 0)
		return fail("mdb_txn_commit", rc);
	if (sync && (rc = mdb_env_sync(c->d->env, 1)) != 0)
		return fail("mdb_env_sync", rc);
	return 0;
}

static int lm_write_batch(struct engine_ctx *c, const struct engine_kv *kvs, int n, int sync)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(c->d->env, NULL, 0, &txn);

	if (rc != 0)
		return fail("mdb_txn_begin", rc);
	for (int i = 0; i < n; i++) {
		MDB_val k = { kvs[i].klen, (void *)kvs[i].key };
		MDB_val v = { kvs[i].vlen, (void *)kvs[i].val };
		if ((rc = mdb_put(txn, c->d->dbi, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return fail("mdb_put", rc);
		}
	}
	return commit(c, txn, sync);
}

static int lm_put(struct engine_ctx *c, const void *key, size_t klen, const void *val,
                  size_t vlen, int sync)
{
	struct engine_kv kv = { key, klen, val, vlen };

	return lm_write_batch(c, &kv, 1, sync);
}

static int lm_del(struct engine_ctx *c, const void *key, size_t klen, int sync)
{
	MDB_txn *txn;
	MDB_val k = { klen, (void *)key };
	int rc = mdb_txn_begin(c->d->env, NULL, 0, &txn);

	if (rc != 0)
		return fail("mdb_txn_begin", rc);
	if ((rc = mdb_del(txn, c->d->dbi, &k, NULL)) != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return fail("mdb_del", rc);
	}
	return commit(c, txn, sync);
}

static int lm_get(struct engine_ctx *c, const void *key, size_t klen, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc = mdb_txn_renew(c->get_txn);

	if (rc != 0)
		return fail("mdb_txn_renew", rc);
	rc = mdb_get(c->get_txn, c->d->dbi, &k, &v);
	mdb_txn_reset(c->get_txn);
	if (rc == MDB_NOTFOUND)
		return ENGINE_NOTFOUND;
	if (rc != 0)
		return fail("mdb_get", rc);
	*vlen = v.mv_size;
	return 0;
}

static struct engine_iter *lm_iter_create(struct engine_ctx *c)
{
	struct engine_iter *it = calloc(1, sizeof(*it));
	int rc;

	if (it == NULL) {
		engine_set_error("lmdb: out of memory");
		return NULL;
	}
	it->ctx = c;
	if (c->iter_txn != NULL) {
		it->txn = c->iter_txn;
		c->iter_txn = NULL;
		rc = mdb_txn_renew(it->txn);
	} else {
		rc = mdb_txn_begin(c->d->env, NULL, MDB_RDONLY, &it->txn);
	}
	if (rc != 0) {
		fail("starting the iterator's read transaction", rc);
		goto fail_txn;
	}
	if ((rc = mdb_cursor_open(it->txn, c->d->dbi, &it->cur)) != 0) {
		fail("mdb_cursor_open", rc);
		goto fail_txn;
	}
	return it;

fail_txn:
	if (it->txn != NULL)
		mdb_txn_abort(it->txn);
	free(it);
	return NULL;
}

static void lm_iter_destroy(struct engine_iter *it)
{
	if (it == NULL)
		return;
	mdb_cursor_close(it->cur);
	if (it->ctx->iter_txn == NULL) {
		mdb_txn_reset(it->txn);
		it->ctx->iter_txn = it->txn;
	} else {
		mdb_txn_abort(it->txn);
	}
	free(it);
}

static void move(struct engine_iter *it, MDB_cursor_op op, const void *key, size_t klen)
{
	int rc;

	it->key.mv_data = (void *)key;
	it->key.mv_size = klen;
	rc = mdb_cursor_get(it->cur, &it->key, &it->val, op);
	it->valid = rc == 0;
	if (rc != 0 && rc != MDB_NOTFOUND && it->rc == 0)
		it->rc = rc;
}

static void lm_iter_seek(struct engine_iter *it, const void *key, size_t klen)
{
	move(it, MDB_SET_RANGE, key, klen);
}

static void lm_iter_seek_first(struct engine_iter *it)
{
	move(it, MDB_FIRST, NULL, 0);
}

static void lm_iter_seek_last(struct engine_iter *it)
{
	move(it, MDB_LAST, NULL, 0);
}

static void lm_iter_next(struct engine_iter *it)
{
	move(it, MDB_NEXT, NULL, 0);
}

static void lm_iter_prev(struct engine_iter *it)
{
	move(it, MDB_PREV, NULL, 0);
}

static int lm_iter_valid(const struct engine_iter *it)
{
	return it->valid;
}

static const void *lm_iter_key(const struct engine_iter *it, size_t *klen)
{
	*klen = it->key.mv_size;
	return it->key.mv_data;
}

static const void *lm_iter_value(const struct engine_iter *it, size_t *vlen)
{
	*vlen = it->val.mv_size;
	return it->val.mv_data;
}

static int lm_iter_status(const struct engine_iter *it)
{
	return it->rc != 0 ? fail("mdb_cursor_get", it->rc) : 0;
}

static char *lm_property(struct engine_db *d, const char *what)
{
	MDB_stat st;
	MDB_envinfo info;
	char *s;

	if (strcmp(what, "stats") != 0 || mdb_env_stat(d->env, &st) != 0 ||
	    mdb_env_info(d->env, &info) != 0)
		return NULL;
	if (asprintf(&s,
	             "page size %u, depth %u, branch pages %zu, leaf pages %zu, "
	             "overflow pages %zu, entries %zu, last page %zu of %zu in the map",
	             st.ms_psize, st.ms_depth, st.ms_branch_pages, st.ms_leaf_pages,
	             st.ms_overflow_pages, st.ms_entries, info.me_last_pgno,
	             info.me_mapsize / st.ms_psize) < 0)
		return NULL;
	return s;
}

static void lm_config(const struct engine_db *d, char *buf, size_t len)
{
	snprintf(buf, len,
	         "lmdb %d.%d.%d: B+tree, map %.0f MiB, "
	         "MDB_WRITEMAP|MDB_NOSYNC|MDB_NOMETASYNC|MDB_NOTLS, one write txn per put, "
	         "synced put = commit + mdb_env_sync(force); no compression, no bloom filter, "
	         "no block cache (OS page cache)",
	         MDB_VERSION_MAJOR, MDB_VERSION_MINOR, MDB_VERSION_PATCH,
	         (double)d->map_bytes / 1048576.0);
}

const struct engine engine_lmdb = {
	.name = "lmdb",
	.open = lm_open,
	.close = lm_close,
	.ctx_open = lm_ctx_open,
	.ctx_close = lm_ctx_close,
	.put = lm_put,
	.del = lm_del,
	.write_batch = lm_write_batch,
	.get = lm_get,
	.iter_create = lm_iter_create,
	.iter_destroy = lm_iter_destroy,
	.iter_seek = lm_iter_seek,
	.iter_seek_first = lm_iter_seek_first,
	.iter_seek_last = lm_iter_seek_last,
	.iter_next = lm_iter_next,
	.iter_prev = lm_iter_prev,
	.iter_valid = lm_iter_valid,
	.iter_key = lm_iter_key,
	.iter_value = lm_iter_value,
	.iter_status = lm_iter_status,
	.compact = NULL,
	.property = lm_property,
	.config = lm_config,
};
