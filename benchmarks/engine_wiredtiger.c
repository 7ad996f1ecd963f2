/* engine_wiredtiger.c: WiredTiger (Debian's libwiredtiger) as the comparison
 * sets it up: one B-tree table of raw byte keys and values ("table:bench",
 * key_format=u,value_format=u), compressed by WiredTiger's snappy extension
 * (the .so Debian ships beside the library; without it, no compression, as
 * the config line then says), an 8 MiB cache, the log on and not synced per
 * commit; a synced put flushes the log with sync=on. A B-tree table has no
 * bloom filter.
 *
 * A WT_SESSION is single-threaded, so each context is a session and a
 * cursor on the table; every put, get and delete is its own auto-committed
 * transaction. Cursors are reset after each get so that no thread pins a
 * page or a snapshot between operations. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wiredtiger.h>

#include <shale.h> /* SHALE_COMPRESSION_* of struct engine_opts */

#include "benchmarks/engine.h"

#define TABLE "table:bench"
#define ROLLBACK_RETRIES 1000

struct engine_db {
	WT_CONNECTION *conn;
	int snappy;          /* the table is snappy-compressed */
	int snappy_missing;  /* snappy was asked for but its extension is absent */
	char open_config[512];
	struct engine_opts opts;
};

struct engine_ctx {
	struct engine_db *d;
	WT_SESSION *session;
	WT_CURSOR *cursor;
};

struct engine_iter {
	WT_CURSOR *cursor;
	WT_ITEM key, val;
	int valid;
	int rc; /* the first unexpected cursor error */
};

static int fail(const char *what, int rc)
{
	engine_set_error("wiredtiger: %s: %s", what, wiredtiger_strerror(rc));
	return -1;
}

static int wt_close(struct engine_db *d)
{
	int rc = 0;

	if (d == NULL)
		return 0;
	if (d->conn != NULL && (rc = d->conn->close(d->conn, NULL)) != 0)
		rc = fail("WT_CONNECTION.close", rc);
	free(d);
	return rc;
}

static int wt_open(const struct engine_opts *o, const char *path, int fresh,
                   struct engine_db **dbp)
{
	struct engine_db *d = calloc(1, sizeof(*d));
	WT_SESSION *s = NULL;
	char cache[32] = "", ext[256] = "", table[128];
	int rc;

	if (d == NULL) {
		engine_set_error("wiredtiger: out of memory");
		return -1;
	}
	d->opts = *o;
	if (fresh && engine_remove_tree(path) != 0)
		goto fail_close;
	if (o->error_if_missing && access(path, F_OK) != 0) {
		engine_set_error("wiredtiger: %s: %s", path, strerror(errno));
		goto fail_close;
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		engine_set_error("wiredtiger: mkdir %s: %s", path, strerror(errno));
		goto fail_close;
	}
	if (o->compression != SHALE_COMPRESSION_NONE) {
#ifdef BENCH_WT_SNAPPY_EXT
		if (access(BENCH_WT_SNAPPY_EXT, R_OK) == 0) {
			d->snappy = 1;
			snprintf(ext, sizeof(ext), ",extensions=[%s]", BENCH_WT_SNAPPY_EXT);
		}
#endif
		d->snappy_missing = !d->snappy;
	}
	if (o->cache_bytes > 0)
		snprintf(cache, sizeof(cache), ",cache_size=%lld", (long long)o->cache_bytes);
	snprintf(d->open_config, sizeof(d->open_config),
	         "create,log=(enabled=true),transaction_sync=(enabled=false)%s%s", cache, ext);
	if ((rc = wiredtiger_open(path, NULL, d->open_config, &d->conn)) != 0) {
		fail("wiredtiger_open", rc);
		goto fail_close;
	}
	snprintf(table, sizeof(table), "key_format=u,value_format=u%s",
	         d->snappy ? ",block_compressor=snappy" : "");
	if ((rc = d->conn->open_session(d->conn, NULL, NULL, &s)) != 0 ||
	    (rc = s->create(s, TABLE, table)) != 0 || (rc = s->close(s, NULL)) != 0) {
		fail("creating " TABLE, rc);
		goto fail_close;
	}
	*dbp = d;
	return 0;

fail_close:
	wt_close(d);
	return -1;
}

static int wt_ctx_open(struct engine_db *d, struct engine_ctx **ctxp)
{
	struct engine_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL) {
		engine_set_error("wiredtiger: out of memory");
		return -1;
	}
	c->d = d;
	if ((rc = d->conn->open_session(d->conn, NULL, NULL, &c->session)) != 0) {
		free(c);
		return fail("WT_CONNECTION.open_session", rc);
	}
	if ((rc = c->session->open_cursor(c->session, TABLE, NULL, NULL, &c->cursor)) != 0) {
		c->session->close(c->session, NULL);
		free(c);
		return fail("WT_SESSION.open_cursor", rc);
	}
	*ctxp = c;
	return 0;
}

static void wt_ctx_close(struct engine_ctx *c)
{
	if (c == NULL)
		return;
	c->session->close(c->session, NULL); /* closes its cursors too */
	free(c);
}

static int log_sync(struct engine_ctx *c)
{
	int rc = c->session->log_flush(c->session, "sync=on");

	return rc != 0 ? fail("WT_SESSION.log_flush(sync=on)", rc) : 0;
}

static int wt_put(struct engine_ctx *c, const void *key, size_t klen, const void *val,
                  size_t vlen, int sync)
{
	WT_CURSOR *cur = c->cursor;
	WT_ITEM k = { .data = key, .size = klen }, v = { .data = val, .size = vlen };
	int rc, tries = 0;

	do {
		cur->set_key(cur, &k);
		cur->set_value(cur, &v);
		rc = cur->insert(cur); /* overwrite=true: insert or replace */
	} while (rc == WT_ROLLBACK && ++tries < ROLLBACK_RETRIES);
	if (rc != 0)
		return fail("WT_CURSOR.insert", rc);
	return sync ? log_sync(c) : 0;
}

static int wt_del(struct engine_ctx *c, const void *key, size_t klen, int sync)
{
	WT_CURSOR *cur = c->cursor;
	WT_ITEM k = { .data = key, .size = klen };
	int rc, tries = 0;

	do {
		cur->set_key(cur, &k);
		rc = cur->remove(cur);
	} while (rc == WT_ROLLBACK && ++tries < ROLLBACK_RETRIES);
	cur->reset(cur);
	if (rc != 0 && rc != WT_NOTFOUND)
		return fail("WT_CURSOR.remove", rc);
	return sync ? log_sync(c) : 0;
}

static int wt_write_batch(struct engine_ctx *c, const struct engine_kv *kvs, int n, int sync)
{
	WT_SESSION *s = c->session;
	WT_CURSOR *cur = c->cursor;
	int rc;

	if ((rc = s->begin_transaction(s, NULL)) != 0)
		return fail("WT_SESSION.begin_transaction", rc);
	for (int i = 0; i < n; i++) {
		WT_ITEM k = { .data = kvs[i].key, .size = kvs[i].klen };
		WT_ITEM v = { .data = kvs[i].val, .size = kvs[i].vlen };
		cur->set_key(cur, &k);
		cur->set_value(cur, &v);
		if ((rc = cur->insert(cur)) != 0) {
			s->rollback_transaction(s, NULL);
			return fail("WT_CURSOR.insert", rc);
		}
	}
	if ((rc = s->commit_transaction(s, NULL)) != 0)
		return fail("WT_SESSION.commit_transaction", rc);
	return sync ? log_sync(c) : 0;
}

static int wt_get(struct engine_ctx *c, const void *key, size_t klen, size_t *vlen)
{
	WT_CURSOR *cur = c->cursor;
	WT_ITEM k = { .data = key, .size = klen }, v;
	int rc;

	cur->set_key(cur, &k);
	rc = cur->search(cur);
	if (rc == 0 && (rc = cur->get_value(cur, &v)) == 0)
		*vlen = v.size;
	cur->reset(cur);
	if (rc == WT_NOTFOUND)
		return ENGINE_NOTFOUND;
	return rc != 0 ? fail("WT_CURSOR.search", rc) : 0;
}

static struct engine_iter *wt_iter_create(struct engine_ctx *c)
{
	struct engine_iter *it = calloc(1, sizeof(*it));
	int rc;

	if (it == NULL) {
		engine_set_error("wiredtiger: out of memory");
		return NULL;
	}
	if ((rc = c->session->open_cursor(c->session, TABLE, NULL, NULL, &it->cursor)) != 0) {
		free(it);
		fail("WT_SESSION.open_cursor", rc);
		return NULL;
	}
	return it;
}

static void wt_iter_destroy(struct engine_iter *it)
{
	if (it == NULL)
		return;
	it->cursor->close(it->cursor);
	free(it);
}

/* Records the outcome of a cursor move and, when positioned, its entry. */
static void settle(struct engine_iter *it, int rc)
{
	WT_CURSOR *cur = it->cursor;

	if (rc == 0 && (rc = cur->get_key(cur, &it->key)) == 0)
		rc = cur->get_value(cur, &it->val);
	it->valid = rc == 0;
	if (rc != 0 && rc != WT_NOTFOUND && it->rc == 0)
		it->rc = rc;
}

static void wt_iter_seek(struct engine_iter *it, const void *key, size_t klen)
{
	WT_CURSOR *cur = it->cursor;
	WT_ITEM k = { .data = key, .size = klen };
	int exact, rc;

	cur->set_key(cur, &k);
	rc = cur->search_near(cur, &exact);
	if (rc == 0 && exact < 0) /* on the largest key below: step to the next */
		rc = cur->next(cur);
	settle(it, rc);
}

static void wt_iter_seek_first(struct engine_iter *it)
{
	it->cursor->reset(it->cursor);
	settle(it, it->cursor->next(it->cursor));
}

static void wt_iter_seek_last(struct engine_iter *it)
{
	it->cursor->reset(it->cursor);
	settle(it, it->cursor->prev(it->cursor));
}

static void wt_iter_next(struct engine_iter *it)
{
	settle(it, it->cursor->next(it->cursor));
}

static void wt_iter_prev(struct engine_iter *it)
{
	settle(it, it->cursor->prev(it->cursor));
}

static int wt_iter_valid(const struct engine_iter *it)
{
	return it->valid;
}

static const void *wt_iter_key(const struct engine_iter *it, size_t *klen)
{
	*klen = it->key.size;
	return it->key.data;
}

static const void *wt_iter_value(const struct engine_iter *it, size_t *vlen)
{
	*vlen = it->val.size;
	return it->val.data;
}

static int wt_iter_status(const struct engine_iter *it)
{
	return it->rc != 0 ? fail("cursor move", it->rc) : 0;
}

static int wt_compact(struct engine_db *d)
{
	WT_SESSION *s;
	int rc = d->conn->open_session(d->conn, NULL, NULL, &s);

	if (rc != 0)
		return fail("WT_CONNECTION.open_session", rc);
	rc = s->compact(s, TABLE, NULL);
	s->close(s, NULL);
	return rc != 0 ? fail("WT_SESSION.compact", rc) : 0;
}

static void wt_config(const struct engine_db *d, char *buf, size_t len)
{
	snprintf(buf, len,
	         "wiredtiger %d.%d.%d: B-tree " TABLE " (key_format=u,value_format=u), %s, "
	         "wiredtiger_open \"%s\", auto-commit per op, synced put = log_flush(sync=on); "
	         "no bloom filter (B-tree); other options default",
	         WIREDTIGER_VERSION_MAJOR, WIREDTIGER_VERSION_MINOR, WIREDTIGER_VERSION_PATCH,
	         d->snappy ? "block_compressor=snappy (extension)"
	                   : d->snappy_missing ? "NO compression: snappy extension not found"
	                                       : "no compression",
	         d->open_config);
}

const struct engine engine_wiredtiger = {
	.name = "wiredtiger",
	.open = wt_open,
	.close = wt_close,
	.ctx_open = wt_ctx_open,
	.ctx_close = wt_ctx_close,
	.put = wt_put,
	.del = wt_del,
	.write_batch = wt_write_batch,
	.get = wt_get,
	.iter_create = wt_iter_create,
	.iter_destroy = wt_iter_destroy,
	.iter_seek = wt_iter_seek,
	.iter_seek_first = wt_iter_seek_first,
	.iter_seek_last = wt_iter_seek_last,
	.iter_next = wt_iter_next,
	.iter_prev = wt_iter_prev,
	.iter_valid = wt_iter_valid,
	.iter_key = wt_iter_key,
	.iter_value = wt_iter_value,
	.iter_status = wt_iter_status,
	.compact = wt_compact,
	.property = NULL,
	.config = wt_config,
};
