/*
 * What db_unlock frees once the database mutex is released (db_impl.h,
 * doomed_views and doomed_park). A file of its own: every file that
 * releases the mutex calls it, and it calls back into none of them.
 */
#include <stdlib.h>

#include "lib/db/db_impl.h"

/* Doomed views and trees (db_impl.h, db_unlock): freed with mu released,
 * but for the version references, which mu guards. A tree goes before its
 * version (it reads its tables through pins the version owns). park may be
 * NULL. */
void db_free_doomed(struct shale_db *db, struct read_view *views, struct iter_park *park)
{
	if (park && park->it == NULL)
		park = NULL;
	db_hook(db, HOOK_STALE_FREED);
	if (park)
		iter_destroy(park->it);
	for (struct read_view *v = views; v; v = v->next_doomed) {
		memtable_unref(v->mem);
		memtable_unref(v->imm);
	}
	mutex_lock(&db->vs.mu);
	if (park)
		version_unref(&db->vs, park->version);
	for (struct read_view *v = views; v; v = v->next_doomed)
		version_unref(&db->vs, v->version);
	db_unlock(db);
	while (views) {
		struct read_view *next = views->next_doomed;
		free(views);
		views = next;
	}
}
