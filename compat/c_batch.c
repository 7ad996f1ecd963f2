/*
 * Write batches: shale's batches (shale_batch_iterate and
 * shale_batch_append give LevelDB's iterate and append). LevelDB's
 * put/delete/append cannot report a failure; shale's can (out of memory, a
 * key over 4 GiB), so a batch remembers the first one and leveldb_write
 * reports it instead of writing part of the batch.
 */
#include <stdlib.h>
#include <string.h>

#include "compat/c_internal.h"

SHALE_LEVELDB_EXPORT leveldb_writebatch_t *leveldb_writebatch_create(void)
{
	leveldb_writebatch_t *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->batch = shale_batch_create();
	if (b->batch == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

SHALE_LEVELDB_EXPORT void leveldb_writebatch_destroy(leveldb_writebatch_t *b)
{
	if (b == NULL)
		return;
	shale_batch_destroy(b->batch);
	free(b->failed_msg);
	free(b);
}

SHALE_LEVELDB_EXPORT void leveldb_writebatch_clear(leveldb_writebatch_t *b)
{
	if (b == NULL)
		return;
	shale_batch_clear(b->batch);
	b->failed = 0;
	free(b->failed_msg);
	b->failed_msg = NULL;
}

/* Remembers the first failure, code with shale's message (or msg). */
static void fail(leveldb_writebatch_t *b, int code, const char *msg)
{
	if (b->failed)
		return;
	b->failed = code;
	b->failed_msg = strdup(msg ? msg : shale_errmsg());
}

SHALE_LEVELDB_EXPORT void leveldb_writebatch_put(leveldb_writebatch_t *b, const char *key, size_t klen,
                                                 const char *val, size_t vlen)
{
	if (b == NULL)
		return;
	int rc = shale_batch_put(b->batch, key, klen, val, vlen);
	if (rc)
		fail(b, rc, NULL);
}

SHALE_LEVELDB_EXPORT void leveldb_writebatch_delete(leveldb_writebatch_t *b, const char *key, size_t klen)
{
	if (b == NULL)
		return;
	int rc = shale_batch_delete(b->batch, key, klen);
	if (rc)
		fail(b, rc, NULL);
}

struct iterate_state {
	void *state;
	void (*put)(void *, const char *, size_t, const char *, size_t);
	void (*deleted)(void *, const char *, size_t);
};

static void on_put(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct iterate_state *s = arg;
	if (s->put)
		s->put(s->state, key, klen, val, vlen);
}

static void on_delete(void *arg, const void *key, size_t klen)
{
	struct iterate_state *s = arg;
	if (s->deleted)
		s->deleted(s->state, key, klen);
}

SHALE_LEVELDB_EXPORT void leveldb_writebatch_iterate(const leveldb_writebatch_t *b, void *state,
                                                     void (*put)(void *, const char *, size_t, const char *, size_t),
                                                     void (*deleted)(void *, const char *, size_t))
{
	if (b == NULL)
		return;
	struct iterate_state s = { state, put, deleted };
	shale_batch_iterate(b->batch, &s, on_put, on_delete); /* (fails only for NULL arguments) */
}

SHALE_LEVELDB_EXPORT void leveldb_writebatch_append(leveldb_writebatch_t *dst, const leveldb_writebatch_t *src)
{
	if (dst == NULL || src == NULL)
		return;
	if (src->failed) {
		fail(dst, src->failed, src->failed_msg ? src->failed_msg : "an operation of the appended batch failed");
		return;
	}
	int rc = shale_batch_append(dst->batch, src->batch);
	if (rc)
		fail(dst, rc, NULL);
}
