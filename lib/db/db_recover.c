/*
 * Recovery (doc/design.md, "Recovery"): read CURRENT and replay the MANIFEST
 * (every table it names must exist); replay, in file-number order, every WAL
 * numbered at or above the recorded log number (or equal to the previous log
 * number); flush what was replayed to level 0; start a new WAL and record
 * its number in a fresh MANIFEST; only then accept writes. A damaged WAL is
 * replayed up to its first damaged record and the rest (and every later WAL)
 * is dropped — or, with paranoid_checks, the open fails.
 *
 * A read-only open replays the same files into memory and writes nothing; it
 * retries when a live writer changes CURRENT or the MANIFEST meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_impl.h"
#include "lib/util/filename.h"
#include "wal/wal_reader.h"

/* Writes the MANIFEST and CURRENT of an empty database. */
static int new_db(struct shale_db *db) SHALE_EXCLUDES(db->vs.mu)
{
	struct version_edit e;
	struct buf rec = BUF_INIT;
	edit_init(&e);
	int rc = edit_set_comparator(&e, db->ucmp->name(db->ucmp));
	edit_set_log_number(&e, 0);
	edit_set_next_file(&e, 2);
	edit_set_last_sequence(&e, 0);
	if (rc == 0)
		rc = edit_encode(&e, &rec);
	if (rc == 0)
		rc = manifest_create(db->env, db->dbname, 1, buf_slice(&rec));
	edit_free(&e);
	buf_free(&rec);
	return rc;
}

/* Without CURRENT a directory may still hold a database whose CURRENT was
 * lost: creating a new one there would make its files obsolete, and the
 * first cleanup would delete them. Only shale_repair_db may take those on. */
static int refuse_to_create_over_files(struct shale_db *db)
{
	char **names = NULL;
	size_t n = 0;
	int rc = env_list_dir(db->env, db->dbname, &names, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t num;
		enum file_type type;
		if (fname_parse(names[i], &num, &type) &&
		    (type == FILE_MANIFEST || type == FILE_TABLE || type == FILE_LOG))
			rc = err_set(SHALE_ECORRUPT, "%s: CURRENT is missing but %s is there: a database that lost CURRENT "
			             "(shale_repair_db rebuilds it), not created over", db->dbname, names[i]);
	}
	env_free_names(names, n);
	return rc;
}

/* Every table the version names must exist. */
static int check_tables_exist(struct shale_db *db, char **names, size_t n) SHALE_EXCLUDES(db->vs.mu)
{
	struct u64map present;
	u64map_init(&present);
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type type;
		if (fname_parse(names[i], &num, &type) && type == FILE_TABLE && u64map_put(&present, num, db)) {
			u64map_free(&present);
			return SHALE_ENOMEM;
		}
	}
	struct version *v = db->vs.current;
	int missing = 0;
	uint64_t example = 0;
	for (int level = 0; level < NUM_LEVELS; level++)
		for (int i = 0; i < v->nfiles[level]; i++)
			if (!u64map_has(&present, v->files[level][i]->number)) {
				missing++;
				example = v->files[level][i]->number;
			}
	u64map_free(&present);
	if (missing)
		return err_set(SHALE_ECORRUPT, "%s: %d table file%s named by the MANIFEST missing, e.g. %06llu.ldb",
		               db->dbname, missing, missing == 1 ? " is" : "s are", (unsigned long long)example);
	return 0;
}

/* Replays one WAL (read from f) into *mem. With edit, flushes *mem to a
 * level-0 table added to edit whenever it fills; without (a read-only
 * open), everything stays in memory. *next_seq is the lowest sequence the
 * next record may start at (records only move forward); it is advanced past
 * each record replayed. Sets *stop when damage ends the replay, and *torn to
 * the bytes of a record the end of the file cut short (the caller judges
 * those). */
static int replay_log(struct shale_db *db, uint64_t number, struct seq_file *f, struct memtable **mem,
                      struct version_edit *edit, uint64_t *next_seq, int *stop, uint64_t *torn)
	SHALE_EXCLUDES(db->vs.mu)
{
	char path[FNAME_MAX];
	struct wal_reader *r = NULL;
	struct wal_first_damage rep = { 0, "" };
	struct wal_reporter reporter = { wal_first_damage_report, &rep };
	uint64_t records = 0;
	fname_log(path, db->dbname, number);
	*torn = 0;
	int rc = wal_reader_create(f, &reporter, 1, &r);
	while (rc == 0) {
		struct slice rec;
		int got = wal_reader_read(r, &rec);
		if (got < 0) {
			rc = got;
			break;
		}
		if (rep.damaged || got == 0)
			break;
		/* A record is replayed whole or not at all: check it first. */
		uint64_t first, count;
		if (batch_check(rec, path, &first, &count) != 0 ||
		    batch_check_follows(first, *next_seq, path) != 0) {
			rep.damaged = 1;
			snprintf(rep.reason, sizeof(rep.reason), "record at offset %llu: %s",
			         (unsigned long long)wal_reader_last_record_offset(r), err_msg());
			break;
		}
		if (*mem == NULL && (rc = db_new_memtable(db, mem)) != 0)
			break;
		rc = batch_insert(rec, *mem, path);
		if (rc)
			break;
		*next_seq = first + count;
		records++;
		if (edit && memtable_memory_usage(*mem) > db->opt.write_buffer_size) {
			uint64_t bytes;
			mutex_lock(&db->vs.mu);
			uint64_t tnum = vset_new_file_number(&db->vs);
			db_unlock(db);
			rc = db_write_level0_table(db, *mem, tnum, edit, &bytes);
			memtable_unref(*mem);
			*mem = NULL;
		}
	}
	if (rc == 0 && !rep.damaged)
		*torn = wal_reader_torn_tail(r);
	wal_reader_destroy(r);
	if (rc == 0 && rep.damaged) {
		if (db->opt.paranoid_checks)
			return err_set(SHALE_ECORRUPT, "%s: %s", path, rep.reason);
		logger_printf(db->info_log, "%s: damaged (%s); dropping the rest of it and every later WAL",
		              path, rep.reason);
		*stop = 1;
	}
	if (rc == 0)
		logger_printf(db->info_log, "replayed %s: %llu records", path, (unsigned long long)records);
	return rc;
}

/* 1 when WAL number holds at least one record (damage before it or not). */
static int log_has_records(struct shale_db *db, uint64_t number)
{
	char path[FNAME_MAX];
	struct seq_file *f = NULL;
	struct wal_reader *r = NULL;
	struct slice rec;
	int found = 0;
	fname_log(path, db->dbname, number);
	if (env_open_seq(db->env, path, &f) == 0 && wal_reader_create(f, NULL, 1, &r) == 0)
		found = wal_reader_read(r, &rec) == 1;
	wal_reader_destroy(r);
	seq_file_close(f);
	return found;
}

/* A WAL that ends with a torn record is the trace of a crash only when no
 * later WAL holds records; otherwise a record in the middle of the log is
 * gone, and replaying the later ones would make a state that never existed. */
static int judge_torn_tail(struct shale_db *db, const uint64_t *logs, size_t i, size_t nlogs, uint64_t torn,
                           int *stop)
{
	size_t later = i + 1;
	while (later < nlogs && !log_has_records(db, logs[later]))
		later++;
	if (torn == 0 || later == nlogs)
		return 0;
	char path[FNAME_MAX];
	fname_log(path, db->dbname, logs[i]);
	if (db->opt.paranoid_checks)
		return err_set(SHALE_ECORRUPT, "%s: ends with a record cut short (%llu bytes) but %06llu.log follows with records",
		               path, (unsigned long long)torn, (unsigned long long)logs[later]);
	logger_printf(db->info_log, "%s: ends with a record cut short (%llu bytes) but %06llu.log follows with records; "
	              "dropping every later WAL", path, (unsigned long long)torn, (unsigned long long)logs[later]);
	*stop = 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The WALs recovery replays, oldest first: numbered at or above the log
 * number, or equal to the previous log number. Marks their numbers used. */
static int logs_to_replay(struct shale_db *db, char **names, size_t nnames, uint64_t **logs, size_t *nlogs)
	SHALE_EXCLUDES(db->vs.mu)
{
	*nlogs = 0;
	*logs = malloc((nnames + 1) * sizeof(**logs));
	if (*logs == NULL)
		return err_nomem("log list");
	mutex_lock(&db->vs.mu);
	uint64_t min_log = db->vs.log_number, prev_log = db->vs.prev_log_number;
	for (size_t i = 0; i < nnames; i++) {
		uint64_t num;
		enum file_type type;
		if (!fname_parse(names[i], &num, &type))
			continue;
		if (type == FILE_LOG && (num >= min_log || num == prev_log))
			(*logs)[(*nlogs)++] = num;
		/* Every number on disk counts as used, also that of a table (or
		 * MANIFEST) a crash left behind before any MANIFEST recorded its
		 * number: the cleanup at the end of the open then sees it as
		 * older than every file being written, and deletes it. */
		if (type == FILE_LOG || type == FILE_TABLE || type == FILE_MANIFEST || type == FILE_TEMP)
			vset_mark_file_number_used(&db->vs, num);
	}
	db_unlock(db);
	qsort(*logs, *nlogs, sizeof(**logs), cmp_u64);
	return 0;
}

/* Replays the WALs (files[i] open on logs[i]; each is closed) into *mem,
 * flushing to edit when there is one, and raises the last sequence to the
 * last one replayed. WAL records may start at or below the MANIFEST's last
 * sequence (a flush records the sequence of writes still only in the WAL),
 * never below where the previous record ended. */
static int replay_logs(struct shale_db *db, const uint64_t *logs, struct seq_file **files, size_t nlogs,
                       struct memtable **mem, struct version_edit *edit) SHALE_EXCLUDES(db->vs.mu)
{
	uint64_t next_seq = 0;
	int stop = 0, rc = 0;
	for (size_t i = 0; i < nlogs; i++) {
		uint64_t torn = 0;
		if (rc == 0 && !stop)
			rc = replay_log(db, logs[i], files[i], mem, edit, &next_seq, &stop, &torn);
		if (rc == 0 && !stop)
			rc = judge_torn_tail(db, logs, i, nlogs, torn, &stop);
		seq_file_close(files[i]);
		files[i] = NULL;
	}
	if (rc)
		return rc;
	mutex_lock(&db->vs.mu);
	if (next_seq > 0 && next_seq - 1 > db->vs.last_sequence)
		db->vs.last_sequence = next_seq - 1;
	db_unlock(db);
	return 0;
}

static int open_logs(struct shale_db *db, const uint64_t *logs, size_t nlogs, struct seq_file ***files)
{
	*files = calloc(nlogs + 1, sizeof(**files));
	if (*files == NULL)
		return err_nomem("log files");
	for (size_t i = 0; i < nlogs; i++) {
		char path[FNAME_MAX];
		fname_log(path, db->dbname, logs[i]);
		int rc = env_open_seq(db->env, path, &(*files)[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void close_logs(struct seq_file **files, size_t nlogs)
{
	if (files == NULL)
		return;
	for (size_t i = 0; i < nlogs; i++)
		seq_file_close(files[i]);
	free(files);
}

int db_recover(struct shale_db *db)
{
	char path[FNAME_MAX];
	char **names = NULL;
	size_t nnames = 0, nlogs = 0;
	uint64_t *logs = NULL;
	struct seq_file **files = NULL;
	struct memtable *mem = NULL;
	struct version_edit edit;
	int rc;

	edit_init(&edit);
	fname_current(path, db->dbname);
	if (!env_exists(db->env, path)) {
		if (!db->opt.create_if_missing) {
			rc = err_set(SHALE_EINVAL, "%s: does not exist (create_if_missing is off)", db->dbname);
			goto out;
		}
		rc = refuse_to_create_over_files(db);
		if (rc)
			goto out;
		logger_printf(db->info_log, "creating database %s", db->dbname);
		db->created = 1;
		rc = new_db(db);
		if (rc)
			goto out;
	} else if (db->opt.error_if_exists) {
		rc = err_set(SHALE_EINVAL, "%s: exists (error_if_exists is on)", db->dbname);
		goto out;
	}

	rc = vset_recover(&db->vs);
	if (rc == 0)
		rc = env_list_dir(db->env, db->dbname, &names, &nnames);
	if (rc == 0)
		rc = check_tables_exist(db, names, nnames);
	if (rc == 0)
		rc = logs_to_replay(db, names, nnames, &logs, &nlogs);
	if (rc == 0)
		rc = open_logs(db, logs, nlogs, &files);
	if (rc == 0)
		rc = replay_logs(db, logs, files, nlogs, &mem, &edit);
	if (rc)
		goto out;
	if (mem) {
		uint64_t bytes;
		mutex_lock(&db->vs.mu);
		uint64_t tnum = vset_new_file_number(&db->vs);
		db_unlock(db);
		rc = db_write_level0_table(db, mem, tnum, &edit, &bytes);
		if (rc)
			goto out;
	}
	if (edit.nadded > 0) {
		rc = env_sync_dir(db->env, db->dbname);
		if (rc)
			goto out;
	}

	/* A new WAL, recorded with the replayed tables in a fresh MANIFEST. */
	mutex_lock(&db->vs.mu);
	uint64_t log_number = vset_new_file_number(&db->vs);
	db_unlock(db);
	fname_log(path, db->dbname, log_number);
	rc = env_open_log(db->env, path, db->opt.write_buffer_size, &db->logfile);
	if (rc == 0)
		rc = db_new_memtable(db, &db->mem);
	if (rc)
		goto out;
	db->logfile_number = log_number;
	wal_writer_init(&db->log, db->logfile, 0);
	edit_set_log_number(&edit, log_number);
	edit_set_prev_log_number(&edit, 0);
	mutex_lock(&db->vs.mu);
	rc = vset_log_and_apply(&db->vs, &edit); /* syncs the directory with CURRENT */
	if (rc == 0)
		db_delete_obsolete_files(db, 1);
	db_unlock(db);

out:
	memtable_unref(mem);
	close_logs(files, nlogs);
	free(logs);
	env_free_names(names, nnames);
	edit_free(&edit);
	return rc;
}

/* ---- read-only ---- */

/* How many times a read-only open starts over when a live writer changes
 * CURRENT or the MANIFEST under it, before it answers SHALE_EBUSY. */
#define READ_ONLY_ATTEMPTS 20

/* What names the version a read-only open reads: CURRENT's contents and
 * the size of the MANIFEST it names. */
struct ro_mark {
	char current[64];
	uint64_t manifest_size;
	int ok;
};

static void ro_mark(struct shale_db *db, struct ro_mark *m)
{
	char path[FNAME_MAX + 64];
	struct buf b = BUF_INIT;
	char msg[ERR_MSG_MAX];
	err_copy(msg, sizeof(msg));
	memset(m, 0, sizeof(*m));
	fname_current(path, db->dbname);
	if (env_read_file(db->env, path, &b) == 0 && b.len > 1 && b.len < sizeof(m->current) &&
	    b.data[b.len - 1] == '\n') {
		memcpy(m->current, b.data, b.len - 1);
		snprintf(path, sizeof(path), "%s/%s", db->dbname, m->current);
		m->ok = env_file_size(db->env, path, &m->manifest_size) == 0;
	}
	buf_free(&b);
	err_restore(0, msg);
}

static int ro_same(const struct ro_mark *a, const struct ro_mark *b)
{
	return a->ok && b->ok && strcmp(a->current, b->current) == 0 && a->manifest_size == b->manifest_size;
}

/* Opens every table of the current version, so the handle keeps serving
 * them whatever a live writer later compacts away. */
static int preload_tables(struct shale_db *db)
{
	struct version *v = db->vs.current;
	for (int level = 0; level < NUM_LEVELS; level++)
		for (int i = 0; i < v->nfiles[level]; i++) {
			int rc = table_cache_preload(db->table_cache, v->files[level][i]->number, v->files[level][i]->size);
			if (rc)
				return rc;
		}
	return 0;
}

/* One attempt: the MANIFEST, then every file it and the directory name
 * opened while the mark holds. *changed when it did not. */
static int read_only_attempt(struct shale_db *db, int *changed) SHALE_EXCLUDES(db->vs.mu)
{
	char **names = NULL;
	size_t nnames = 0, nlogs = 0;
	uint64_t *logs = NULL;
	struct seq_file **files = NULL;
	struct ro_mark before, after;
	*changed = 0;
	ro_mark(db, &before);
	int rc = vset_recover(&db->vs);
	if (rc == 0)
		rc = env_list_dir(db->env, db->dbname, &names, &nnames);
	if (rc == 0)
		rc = check_tables_exist(db, names, nnames);
	if (rc == 0)
		rc = logs_to_replay(db, names, nnames, &logs, &nlogs);
	if (rc == 0)
		rc = open_logs(db, logs, nlogs, &files);
	if (rc == 0)
		rc = preload_tables(db);
	/* Every file is open now: a writer may delete them, the handle keeps
	 * them. What was read is a state that existed if nothing was appended
	 * to the MANIFEST (nor CURRENT moved) since before it was read. */
	ro_mark(db, &after);
	if (!ro_same(&before, &after)) {
		*changed = 1;
		rc = err_set(SHALE_EBUSY, "%s: the MANIFEST changed while a read-only open read it", db->dbname);
	}
	if (rc == 0)
		rc = replay_logs(db, logs, files, nlogs, &db->mem, NULL);
	if (rc == 0 && db->mem == NULL)
		rc = db_new_memtable(db, &db->mem);
	close_logs(files, nlogs);
	free(logs);
	env_free_names(names, nnames);
	return rc;
}

int db_recover_read_only(struct shale_db *db, int (*reset)(struct shale_db *db))
{
	char path[FNAME_MAX];
	fname_current(path, db->dbname);
	if (!env_exists(db->env, path))
		return err_set(SHALE_EINVAL, "%s: does not exist (a read-only open creates nothing)", db->dbname);
	for (int attempt = 0;; attempt++) {
		int changed = 0;
		int rc = read_only_attempt(db, &changed);
		if (!changed)
			return rc;
		if (attempt + 1 >= READ_ONLY_ATTEMPTS)
			return err_set(SHALE_EBUSY, "%s: a live writer changed the MANIFEST during %d read-only open attempts",
			               db->dbname, READ_ONLY_ATTEMPTS);
		logger_printf(db->info_log, "read-only open: the MANIFEST changed under it; starting over");
		memtable_unref(db->mem);
		db->mem = NULL;
		rc = reset(db);
		if (rc)
			return rc;
		env_sleep_micros(db->env, 1000u * (unsigned)(attempt + 1));
	}
}
