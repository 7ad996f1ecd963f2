/*
 * Flushes: writing a memtable to a level-0 table, the flush thread, and the
 * retry of background work after ENOSPC.
 */
#include <stdlib.h>

#include "lib/db/db_impl.h"
#include "lib/util/filename.h"
#include "sstable/table_builder.h"

int db_write_level0_table(struct shale_db *db, struct memtable *mem, uint64_t number,
                          struct version_edit *edit, uint64_t *bytes_written)
{
	char path[FNAME_MAX];
	struct iter *it = memtable_iter(mem);
	struct wfile *file = NULL;
	struct table_builder *tb = NULL;
	struct buf smallest = BUF_INIT;
	int rc;

	*bytes_written = 0;
	if (it == NULL)
		return SHALE_ENOMEM;
	iter_seek_first(it);
	if (!iter_valid(it)) {
		iter_destroy(it);
		return 0; /* nothing to write */
	}
	fname_table(path, db->dbname, number);
	rc = buf_set(&smallest, iter_key(it).data, iter_key(it).size);
	if (rc == 0)
		rc = env_open_write(db->env, path, &file);
	if (rc == 0)
		rc = table_builder_create(&db->topt, file, path, &tb);
	for (; rc == 0 && iter_valid(it); iter_next(it))
		rc = table_builder_add(tb, iter_key(it), iter_value(it));
	if (rc == 0)
		rc = table_builder_finish(tb);
	if (rc == 0)
		rc = wfile_sync(file);
	if (rc == 0)
		*bytes_written = table_builder_file_size(tb);
	table_builder_destroy(tb);
	int crc = wfile_close(file);
	if (rc == 0)
		rc = crc;
	if (rc == 0) {
		/* Read the new table back (footer, index, filter), as LevelDB does:
		 * a table that cannot be opened is never installed. It also puts
		 * the table in the table cache for the first reads. */
		struct read_opts ro = { 1, 0, 0, 0 };
		struct iter *check = table_cache_iter(db->table_cache, &ro, number, *bytes_written);
		rc = check ? iter_status(check) : SHALE_ENOMEM;
		iter_destroy(check);
	}
	if (rc == 0) {
		iter_seek_last(it);
		rc = edit_add_file(edit, 0, number, *bytes_written, buf_slice(&smallest), iter_key(it));
	}
	iter_destroy(it);
	if (rc && file) {
		table_cache_evict(db->table_cache, number);
		env_remove(db->env, path);
	}
	buf_free(&smallest);
	return rc;
}

/* Flushes imm. REQUIRES: mu held, imm set; releases mu during the I/O. */
static int flush_imm(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	struct memtable *imm = db->imm;
	uint64_t number = db->imm_table_number;
	uint64_t start = env_now_micros(db->env);
	uint64_t bytes = 0;
	struct version_edit edit;
	edit_init(&edit);
	db_unlock(db);

	db_hook(db, HOOK_FLUSH_BEGIN);
	int rc = db_write_level0_table(db, imm, number, &edit, &bytes);
	/* The table's directory entry is durable before the MANIFEST names it. */
	if (rc == 0 && bytes > 0)
		rc = env_sync_dir(db->env, db->dbname);

	mutex_lock(&db->vs.mu);
	if (rc == 0) {
		/* Every WAL before the current one is now obsolete. */
		edit_set_log_number(&edit, db->logfile_number);
		edit_set_prev_log_number(&edit, 0);
		rc = vset_log_and_apply(&db->vs, &edit);
	}
	if (rc == 0) {
		u64map_remove(&db->pending_outputs, number);
		db->imm = NULL;
		db->flushes++;
		db->stats[0].micros += env_now_micros(db->env) - start;
		db->stats[0].bytes_written += bytes;
		db->stats[0].count++;
		logger_printf(db->info_log, "flushed memtable to %06llu.ldb: %llu bytes",
		              (unsigned long long)number, (unsigned long long)bytes);
		cond_broadcast(&db->bg_cv);
		cond_broadcast(&db->compact_cv);
		db_unlock(db);
		memtable_unref(imm); /* freeing a large arena is slow: not under mu */
		db_hook(db, HOOK_FLUSH_DONE);
		mutex_lock(&db->vs.mu);
		db_delete_obsolete_files(db, 0);
	} else {
		/* The retry writes a new table under a fresh number: a failed
		 * MANIFEST write may have recorded this one, and CURRENT may name
		 * that MANIFEST, so the file must not be rewritten in place. It
		 * stops being pending; once a MANIFEST without it is written (or if
		 * none named it) obsolete-file deletion removes it. A fresh number
		 * keeps level 0 in order: no later memtable has one while imm is set. */
		uint64_t fresh = vset_new_file_number(&db->vs);
		if (u64map_put(&db->pending_outputs, fresh, db) == 0) {
			u64map_remove(&db->pending_outputs, number);
			db->imm_table_number = fresh;
		}
	}
	edit_free(&edit);
	return rc;
}

static void *flush_main(void *arg)
{
	struct shale_db *db = arg;
	mutex_lock(&db->vs.mu);
	while (!atomic_load(&db->shutting_down)) {
		int hard = db->bg_error && !db->bg_soft;
		if (hard || (db->imm == NULL && !(db->bg_soft && db->log_broken))) {
			if (!hard && atomic_load(&db->wal_dirty)) {
				/* Writes without sync wait in the WAL's buffer at most
				 * wal_flush_delay: then they go to the OS. */
				uint64_t now = env_now_micros(db->env);
				uint64_t due = atomic_load(&db->wal_dirty_since) + db->opt.wal_flush_delay;
				if (now < due) {
					cond_timedwait(&db->flush_cv, &db->vs.mu, due - now);
				} else if (db->writers_head != NULL) {
					/* a leader at work hands them over itself: look again later */
					cond_timedwait(&db->flush_cv, &db->vs.mu, db->opt.wal_flush_delay);
				} else {
					db_unlock(db);
					db_wal_flush(db);
					mutex_lock(&db->vs.mu);
				}
				continue;
			}
			cond_wait(&db->flush_cv, &db->vs.mu);
			continue;
		}
		int rc;
		if (db->imm) {
			rc = flush_imm(db);
		} else {
			/* The WAL failed with ENOSPC: replace it, moving its memtable to imm
			 * (flushed on the next turn), as a writer would. */
			db_unlock(db);
			rc = db_write(db, 0, NULL, 1);
			mutex_lock(&db->vs.mu);
		}
		if (rc == 0 && db->imm == NULL) {
			db_clear_soft_error(db);
		} else if (rc) {
			db_set_bg_error(db, rc);
			if (rc == SHALE_ENOSPC)
				db_retry_wait(db, &db->flush_cv);
		}
	}
	db_unlock(db);
	return NULL;
}

int db_flush_memtable(struct shale_db *db)
{
	int rc = db_write(db, 0, NULL, 0);
	if (rc)
		return rc;
	mutex_lock(&db->vs.mu);
	while (db->imm != NULL && !db->bg_error && !atomic_load(&db->shutting_down))
		cond_wait(&db->bg_cv, &db->vs.mu);
	rc = db_bg_error(db);
	if (rc == 0 && db->imm != NULL)
		rc = err_set(SHALE_ECLOSED, "%s: the database is closing", db->dbname);
	db_unlock(db);
	return rc;
}

int db_flush_start_thread(struct shale_db *db)
{
	int rc = thread_start(&db->flush_thread, flush_main, db, "flush");
	if (rc == 0)
		db->flush_thread_started = 1;
	return rc;
}

void db_flush_join_thread(struct shale_db *db)
{
	if (db->flush_thread_started)
		thread_join(db->flush_thread);
	db->flush_thread_started = 0;
}
