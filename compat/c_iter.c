/*
 * Iterators: shale's, plus the count of live ones that lets leveldb_close
 * wait for the last (LevelDB requires them destroyed first; shale_close
 * refuses while one lives).
 */
#include <stdlib.h>

#include "compat/c_internal.h"

SHALE_LEVELDB_EXPORT leveldb_iterator_t *leveldb_create_iterator(leveldb_t *db, const leveldb_readoptions_t *options)
{
	if (db == NULL)
		return NULL;
	leveldb_iterator_t *it = malloc(sizeof(*it));
	if (it == NULL)
		return NULL;
	/* (an iterator that failed for another reason than memory is an invalid
	 * one whose status is the error: leveldb_iter_get_error reports it) */
	it->it = shale_iter_create(db->db, compat_ro(options));
	if (it->it == NULL) {
		free(it);
		return NULL;
	}
	it->db = db;
	compat_iter_born(db);
	return it;
}

SHALE_LEVELDB_EXPORT void leveldb_iter_destroy(leveldb_iterator_t *it)
{
	if (it == NULL)
		return;
	leveldb_t *db = it->db;
	shale_iter_destroy(it->it);
	free(it);
	compat_iter_gone(db);
}

SHALE_LEVELDB_EXPORT uint8_t leveldb_iter_valid(const leveldb_iterator_t *it)
{
	return it && shale_iter_valid(it->it);
}

SHALE_LEVELDB_EXPORT void leveldb_iter_seek_to_first(leveldb_iterator_t *it)
{
	if (it)
		shale_iter_seek_first(it->it);
}

SHALE_LEVELDB_EXPORT void leveldb_iter_seek_to_last(leveldb_iterator_t *it)
{
	if (it)
		shale_iter_seek_last(it->it);
}

SHALE_LEVELDB_EXPORT void leveldb_iter_seek(leveldb_iterator_t *it, const char *k, size_t klen)
{
	if (it)
		shale_iter_seek(it->it, k, klen);
}

SHALE_LEVELDB_EXPORT void leveldb_iter_next(leveldb_iterator_t *it)
{
	if (it)
		shale_iter_next(it->it);
}

SHALE_LEVELDB_EXPORT void leveldb_iter_prev(leveldb_iterator_t *it)
{
	if (it)
		shale_iter_prev(it->it);
}

SHALE_LEVELDB_EXPORT const char *leveldb_iter_key(const leveldb_iterator_t *it, size_t *klen)
{
	size_t n = 0;
	const char *k = it ? shale_iter_key(it->it, &n) : NULL;
	if (klen)
		*klen = n;
	return k;
}

SHALE_LEVELDB_EXPORT const char *leveldb_iter_value(const leveldb_iterator_t *it, size_t *vlen)
{
	size_t n = 0;
	const char *v = it ? shale_iter_value(it->it, &n) : NULL;
	if (vlen)
		*vlen = n;
	return v;
}

SHALE_LEVELDB_EXPORT void leveldb_iter_get_error(const leveldb_iterator_t *it, char **errptr)
{
	if (it == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_iter_get_error: NULL iterator");
		return;
	}
	int rc = shale_iter_status(it->it); /* (sets shale's message to the error) */
	if (rc != SHALE_OK)
		compat_error(errptr, rc);
}
