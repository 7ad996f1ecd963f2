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

/* The view no longer shows what a read would start from now. */
static int view_stale(const struct shale_db *db, const struct read_view *v) SHALE_REQUIRES(db->vs.mu)
{
	return v->mem != db->mem || v->imm != db->imm || v->version != db->vs.current;
}

void db_drop_stale_view(struct shale_db *db)
{
	if (db->view && view_stale(db, db->view))
		db_drop_view(db);
	db_drop_parked_iter(db, 1);
}

void db_drop_view(struct shale_db *db)
{
	struct read_view *v = db->view;
	db->view = NULL;
	if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) {
		v->next_doomed = db->doomed_views; /* freed by db_unlock */
		db->doomed_views = v;
	}
}

/* The current read view with a reference for the caller; NULL when memory
 * runs out (message set). */
static struct read_view *view_get(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	struct read_view *v = db->view;
	if (v == NULL || view_stale(db, v)) {
		struct read_view *n = malloc(sizeof(*n));
		if (n == NULL) {
			err_nomem("read view");
			return NULL;
		}
		atomic_init(&n->refs, 1);
		n->mem = db->mem;
		n->imm = db->imm;
		n->version = db->vs.current;
		memtable_ref(n->mem);
		if (n->imm)
			memtable_ref(n->imm);
		version_ref(&db->vs, n->version);
		db_drop_view(db);
		db->view = v = n;
	}
	/* relaxed: taken under mu, which orders it before any drop of the
	 * DB's own reference */
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
	return v;
}

static void view_put(struct shale_db *db, struct read_view *v) SHALE_EXCLUDES(db->vs.mu)
{
	/* acq_rel: the last holder frees after every other holder's reads */
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) {
		v->next_doomed = NULL;
		db_free_doomed(db, v, NULL);
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
	struct read_opts rop = { ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1, 0, 0 };
	struct slice k = slice_make(key, klen);

	/* one lock round trip: a reference on the read view, and the sequence */
	mutex_lock(&db->vs.mu);
	int rc = db_enter(db);
	struct read_view *view = NULL;
	if (rc == 0 && (view = view_get(db)) == NULL) {
		rc = SHALE_ENOMEM;
		db_leave(db);
	}
	uint64_t seq = ro && ro->snapshot ? ro->snapshot->seq : db->vs.last_sequence;
	db_unlock(db); /* (frees the view view_get replaced, if no reader holds it) */
	if (rc)
		return rc;

	void *val = NULL;
	size_t vlen = 0;
	struct seek_charge charge = { NULL, 0 };
	if (!mem_lookup(view->mem, k, seq, &rc, &val, &vlen) &&
	    !(view->imm && mem_lookup(view->imm, k, seq, &rc, &val, &vlen)))
		rc = version_get(view->version, &rop, k, seq, &val, &vlen, &charge);
	if (vset_charge_seek(&charge)) {
		/* (rare: a file's allowance of wasted seeks ran out) */
		mutex_lock(&db->vs.mu);
		vset_set_seek_target(&db->vs, &charge);
		cond_signal(&db->compact_cv);
		db_unlock(db);
	}
	view_put(db, view);
	db_leave_unlocked(db);
	if (rc == SHALE_OK) {
		*valp = val;
		*vlenp = vlen;
	}
	return rc;
}
