/*
 * Deleting the files nothing needs: tables no live version, pending output or
 * reserved flush names; WALs older than the recorded log number; MANIFESTs
 * older than the live one; temporary files left by a crash (at open only).
 * Names shale does not recognise are left alone.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lib/db/db_impl.h"
#include "lib/util/filename.h"

void db_delete_obsolete_files(struct shale_db *db, int at_open)
{
	mutex_assert_held(&db->vs.mu);
	/* The cached read view may hold an old version and memtable: let them
	 * go now, not at the next read (which may never come), so their files
	 * and memory are freed (readers holding the view keep it until done). */
	db_drop_stale_view(db);
	/* After a failed MANIFEST write nobody knows which version is on disk;
	 * after a hard error nothing is certain. Collect nothing until reopen
	 * or a successful MANIFEST write. */
	if ((db->bg_error && !db->bg_soft) || db->vs.manifest_broken)
		return;
	if (db->deleting || db->deletions_disabled) {
		/* the running pass goes round once more, or the checkpoint that
		 * holds deletions off runs one when it is done */
		db->delete_again = 1;
		return;
	}
	db->deleting = 1;
again:
	db->delete_again = 0;

	struct u64map live;
	u64map_init(&live);
	int rc = vset_add_live_files(&db->vs, &live);
	for (size_t i = 0; rc == 0 && i < db->pending_outputs.cap; i++)
		if (u64map_slot_live(&db->pending_outputs.slots[i]))
			rc = u64map_put(&live, db->pending_outputs.slots[i].key, db);
	if (rc) {
		u64map_free(&live);
		db->deleting = 0;
		cond_broadcast(&db->bg_cv);
		return;
	}
	uint64_t log_number = db->vs.log_number;
	uint64_t prev_log = db->vs.prev_log_number;
	uint64_t manifest = db->vs.manifest_file_number;
	/* The directory is listed without mu: a file numbered from here on was
	 * created after this snapshot of what is live, and stays. */
	uint64_t newer = db->vs.next_file_number;
	/* Deletion happens without mu; a checkpoint waits until it is done. */
	db_unlock(db);

	char **names = NULL;
	size_t n = 0;
	if (env_list_dir(db->env, db->dbname, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			uint64_t num;
			enum file_type type;
			if (!fname_parse(names[i], &num, &type))
				continue;
			int keep = 1;
			if (num >= newer && type != FILE_TEMP)
				continue;
			switch (type) {
			case FILE_LOG:
				keep = num >= log_number || num == prev_log;
				break;
			case FILE_MANIFEST:
				/* newer ones may be being written */
				keep = num >= manifest;
				break;
			case FILE_TABLE:
				keep = u64map_has(&live, num);
				break;
			case FILE_TEMP:
				keep = !at_open;
				break;
			case FILE_CURRENT:
			case FILE_LOCK:
			case FILE_INFO_LOG:
				break;
			}
			if (keep)
				continue;
			if (type == FILE_TABLE)
				table_cache_evict(db->table_cache, num);
			char path[FNAME_MAX + 256];
			snprintf(path, sizeof(path), "%s/%s", db->dbname, names[i]);
			if (env_remove(db->env, path) == 0)
				logger_printf(db->info_log, "deleted %s", names[i]);
			else
				logger_printf(db->info_log, "could not delete %s: %s", names[i], err_msg());
		}
		env_free_names(names, n);
	}
	u64map_free(&live);
	mutex_lock(&db->vs.mu);
	if (db->delete_again && !db->deletions_disabled && !db->vs.manifest_broken &&
	    !(db->bg_error && !db->bg_soft))
		goto again;
	db->deleting = 0;
	cond_broadcast(&db->bg_cv);
}
