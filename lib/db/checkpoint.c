/*
 * Checkpoints: an openable copy of the database in a new directory. Tables
 * are immutable and hard-linked (copied when linking is impossible); the live
 * WALs are copied; a fresh MANIFEST holds a snapshot of the current version.
 * File deletions are held off while the files are linked, so nothing the
 * snapshot names can disappear. Every write that completed before the call is
 * in a table the snapshot names or in a copied WAL (the WAL writer hands each
 * record to the OS before the write returns).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_impl.h"
#include "lib/util/filename.h"

static int copy_file(struct env *env, const char *from, const char *to)
{
	struct seq_file *in = NULL;
	struct wfile *out = NULL;
	char *scratch = malloc(65536);
	if (scratch == NULL)
		return err_nomem("copy buffer");
	int rc = env_open_seq(env, from, &in);
	if (rc == 0)
		rc = env_open_write(env, to, &out);
	while (rc == 0) {
		struct slice got;
		rc = seq_file_read(in, 65536, scratch, &got);
		if (rc || got.size == 0)
			break;
		rc = wfile_append(out, got.data, got.size);
	}
	if (rc == 0)
		rc = wfile_sync(out);
	int crc = wfile_close(out);
	if (rc == 0)
		rc = crc;
	seq_file_close(in);
	free(scratch);
	return rc;
}

static int link_or_copy(struct env *env, const char *from, const char *to)
{
	int rc = env_link(env, from, to);
	if (rc == SHALE_ENOTSUP)
		rc = copy_file(env, from, to);
	return rc;
}

/* Removes what a failed checkpoint left behind. */
static void remove_dir(struct env *env, const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	if (env_list_dir(env, dir, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			char p[FNAME_MAX + 256];
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			env_remove(env, p);
		}
		env_free_names(names, n);
	}
	env_rmdir(env, dir);
}

SHALE_EXPORT int shale_checkpoint(shale_db *db, const char *dir)
{
	int rc = db_check_writable(db, "shale_checkpoint");
	if (rc)
		return rc;
	if (dir == NULL || dir[0] == '\0')
		return err_set(SHALE_EINVAL, "shale_checkpoint: empty directory");
	if (strlen(dir) >= DBPATH_MAX)
		return err_set(SHALE_EINVAL, "shale_checkpoint: directory path too long");
	struct env *env = db->env;
	if (env_exists(env, dir))
		return err_set(SHALE_EINVAL, "shale_checkpoint: %s already exists", dir);

	struct version_edit snap;
	struct buf rec = BUF_INIT;
	uint64_t *tables = NULL;
	size_t ntables = 0;
	char **names = NULL;
	size_t nnames = 0;
	int created = 0;

	edit_init(&snap);
	mutex_lock(&db->vs.mu);
	rc = db_enter(db);
	if (rc) {
		db_unlock(db);
		return rc;
	}
	db->deletions_disabled++;
	while (db->deleting)
		cond_wait(&db->bg_cv, &db->vs.mu);
	rc = vset_snapshot_edit(&db->vs, &snap);
	uint64_t log_number = db->vs.log_number, prev_log = db->vs.prev_log_number;
	uint64_t manifest_number = vset_new_file_number(&db->vs); /* unused by the DB itself */
	if (rc == 0) {
		tables = malloc((snap.nadded + 1) * sizeof(*tables));
		if (tables == NULL)
			rc = err_nomem("checkpoint");
		for (size_t i = 0; rc == 0 && i < snap.nadded; i++)
			tables[ntables++] = snap.added[i].f->number;
	}
	db_unlock(db);
	/* every write completed before the call is in the WAL file, not in its
	 * buffer, before the WALs are copied */
	if (rc == 0)
		rc = db_wal_flush(db);

	edit_set_next_file(&snap, manifest_number + 1);
	if (rc == 0)
		rc = edit_encode(&snap, &rec);
	if (rc == 0)
		rc = env_mkdir(env, dir);
	created = rc == 0;
	for (size_t i = 0; rc == 0 && i < ntables; i++) {
		char from[FNAME_MAX], to[FNAME_MAX];
		fname_table(from, db->dbname, tables[i]);
		if (!env_exists(env, from))
			fname_sst(from, db->dbname, tables[i]); /* a LevelDB-era name */
		fname_table(to, dir, tables[i]);
		rc = link_or_copy(env, from, to);
	}
	if (rc == 0)
		rc = env_list_dir(env, db->dbname, &names, &nnames);
	for (size_t i = 0; rc == 0 && i < nnames; i++) {
		uint64_t num;
		enum file_type type;
		if (!fname_parse(names[i], &num, &type) || type != FILE_LOG || (num < log_number && num != prev_log))
			continue;
		char from[FNAME_MAX], to[FNAME_MAX];
		fname_log(from, db->dbname, num);
		fname_log(to, dir, num);
		rc = copy_file(env, from, to);
	}
	if (rc == 0)
		rc = manifest_create(env, dir, manifest_number, buf_slice(&rec));
	if (rc == 0) {
		/* the new directory's own entry */
		char parent[FNAME_MAX];
		env_dirname(dir, parent, sizeof(parent));
		rc = env_sync_dir(env, parent);
	}
	if (rc) {
		char msg[ERR_MSG_MAX];
		err_copy(msg, sizeof(msg));
		if (created)
			remove_dir(env, dir);
		err_restore(rc, msg);
	}

	mutex_lock(&db->vs.mu);
	if (--db->deletions_disabled == 0 && db->delete_again)
		db_delete_obsolete_files(db, 0); /* what was held off meanwhile */
	db_leave(db);
	db_unlock(db);
	env_free_names(names, nnames);
	free(tables);
	buf_free(&rec);
	edit_free(&snap);
	if (rc == 0)
		logger_printf(db->info_log, "checkpoint written to %s", dir);
	return rc;
}
