/* Point reads and snapshots. */
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_impl.h"

SHALE_EXPORT const shale_snapshot *shale_snapshot_create(shale_db *db)
{
	if (db == NULL) {
		err_set(SHALE_EINVAL, "shale_snapshot_create: NULL database");
		return NULL;
	}
	struct shale_snapshot *s = malloc(sizeof(*s));
	if (s == NULL) {
		err_nomem("snapshot");
		return NULL;
	}
	mutex_lock(&db->vs.mu);
	if (db->closing) {
		db_unlock(db);
		free(s);
		err_set(SHALE_ECLOSED, "%s: the database is closing", db->dbname);
		return NULL;
	}
	/* Sequences only grow, so appending keeps the list oldest first. */
	s->seq = db->vs.last_sequence;
	s->next = &db->snapshots;
	s->prev = db->snapshots.prev;
	s->prev->next = s;
	db->snapshots.prev = s;
	db_unlock(db);
	return s;
}

SHALE_EXPORT void shale_snapshot_release(shale_db *db, const shale_snapshot *snap)
{
	if (db == NULL || snap == NULL)
		return;
	struct shale_snapshot *s = (struct shale_snapshot *)snap;
	mutex_lock(&db->vs.mu);
	s->prev->next = s->next;
	s->next->prev = s->prev;
	db_unlock(db);
	free(s);
}

/* Looks key up in a memtable: 1 when the memtable decides (found or deleted). */
static int mem_lookup(struct memtable *m, struct slice key, uint64_t seq, int *rc, void **valp, size_t *vlenp)
{
	struct slice v;
	switch (memtable_get(m, key, seq, &v)) {
	case MEMTABLE_FOUND:
		*valp = malloc(v.size ? v.size : 1);
		if (*valp == NULL) {
			*rc = err_nomem("value");
			return 1;
		}
		memcpy(*valp, v.data, v.size);
		*vlenp = v.size;
		*rc = SHALE_OK;
		return 1;
	case MEMTABLE_DELETED:
		*rc = SHALE_NOTFOUND;
		return 1;
	default:
		return 0;
	}
}

SHALE_EXPORT int shale_get(shale_db *db, const shale_readopts *ro, const void *key, size_t klen,
                           void **valp, size_t *vlenp)
{
	if (valp)
		*valp = NULL;
	if (vlenp)
		*vlenp = 0;
	if (db == NULL || valp == NULL || vlenp == NULL || (key == NULL && klen))
		return err_set(SHALE_EINVAL, "shale_get: NULL database, key or output");
	struct read_opts rop = { ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1 };
	struct slice k = slice_make(key, klen);

	mutex_lock(&db->vs.mu);
	int rc = db_enter(db);
	if (rc) {
		db_unlock(db);
		return rc;
	}
	uint64_t seq = ro && ro->snapshot ? ro->snapshot->seq : db->vs.last_sequence;
	struct memtable *mem = db->mem, *imm = db->imm;
	struct version *v = db->vs.current;
	memtable_ref(mem);
	if (imm)
		memtable_ref(imm);
	version_ref(&db->vs, v);
	db_unlock(db);

	void *val = NULL;
	size_t vlen = 0;
	struct seek_charge charge = { NULL, 0 };
	if (!mem_lookup(mem, k, seq, &rc, &val, &vlen) && !(imm && mem_lookup(imm, k, seq, &rc, &val, &vlen)))
		rc = version_get(v, &rop, k, seq, &val, &vlen, &charge);
	int exhausted = vset_charge_seek(&charge);

	memtable_unref(mem);
	memtable_unref(imm);
	mutex_lock(&db->vs.mu);
	if (exhausted) {
		vset_set_seek_target(&db->vs, &charge);
		cond_signal(&db->compact_cv);
	}
	version_unref(&db->vs, v);
	db_leave(db);
	db_unlock(db);
	if (rc == SHALE_OK) {
		*valp = val;
		*vlenp = vlen;
	}
	return rc;
}
