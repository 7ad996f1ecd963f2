/*
 * Opening (with recovery), closing and destroying a database.
 *
 * Recovery (DESIGN.md): read CURRENT and replay the MANIFEST (every table it
 * names must exist); replay, in file-number order, every WAL numbered at or
 * above the recorded log number (or equal to the previous log number); flush
 * what was replayed to level 0; start a new WAL and record its number in a
 * fresh MANIFEST; only then accept writes. A damaged WAL is replayed up to
 * its first damaged record and the rest (and every later WAL) is dropped —
 * or, with paranoid_checks, the open fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_compact.h"
#include "lib/db/db_impl.h"
#include "lib/util/filename.h"
#include "sstable/compress.h"
#include "wal/wal_reader.h"

#define TABLE_CACHE_RESERVED_FILES 10

static int db_alloc(const char *path, const shale_options *opt, struct shale_db **out)
{
	struct shale_db *db = calloc(1, sizeof(*db));
	*out = NULL;
	if (db == NULL || (db->dbname = strdup(path)) == NULL) {
		free(db);
		return err_nomem("database");
	}
	if (opt)
		db->opt = *opt;
	else
		options_init_defaults(&db->opt);
	db->snapshots.prev = db->snapshots.next = &db->snapshots;
	u64map_init(&db->pending_outputs);
	atomic_init(&db->shutting_down, 0);
	atomic_init(&db->iter_seed, 0);
	int rc = cond_init(&db->bg_cv);
	if (rc)
		goto free_db;
	if ((rc = cond_init(&db->flush_cv)) != 0)
		goto destroy_bg_cv;
	if ((rc = cond_init(&db->compact_cv)) != 0)
		goto destroy_flush_cv;
	if ((rc = batch_init(&db->group)) != 0)
		goto destroy_compact_cv;
	*out = db;
	return 0;

destroy_compact_cv:
	cond_destroy(&db->compact_cv);
destroy_flush_cv:
	cond_destroy(&db->flush_cv);
destroy_bg_cv:
	cond_destroy(&db->bg_cv);
free_db:
	free(db->dbname);
	free(db);
	return rc;
}

/* Frees everything; threads must be stopped. Safe on a half-opened DB. */
static void db_free(struct shale_db *db)
{
	/* snapshots still held are released by close */
	struct shale_snapshot *s = db->snapshots.next;
	while (s != &db->snapshots) {
		struct shale_snapshot *next = s->next;
		free(s);
		s = next;
	}
	memtable_unref(db->mem);
	memtable_unref(db->imm);
	wfile_close(db->logfile);
	vset_destroy(&db->vs);
	table_cache_destroy(db->table_cache);
	db_compact_free(db);
	shale_cache_destroy(db->owned_cache);
	logger_close(db->info_log);
	if (db->lock)
		env_unlock(db->env, db->lock);
	env_destroy(db->owned_env);
	u64map_free(&db->pending_outputs);
	batch_free(&db->group);
	cond_destroy(&db->compact_cv);
	cond_destroy(&db->flush_cv);
	cond_destroy(&db->bg_cv);
	free(db->dbname);
	free(db);
}

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

/* Replays one WAL into *mem, flushing to level 0 whenever it fills.
 * *next_seq is the lowest sequence the next record may start at (records
 * only move forward); it is advanced past each record replayed. Sets *stop
 * when damage ends the replay, and *torn to the bytes of a record the end of
 * the file cut short (the caller judges those). */
static int replay_log(struct shale_db *db, uint64_t number, struct memtable **mem,
                      struct version_edit *edit, uint64_t *next_seq, int *stop, uint64_t *torn)
{
	char path[FNAME_MAX];
	struct seq_file *f = NULL;
	struct wal_reader *r = NULL;
	struct wal_first_damage rep = { 0, "" };
	struct wal_reporter reporter = { wal_first_damage_report, &rep };
	uint64_t records = 0;
	fname_log(path, db->dbname, number);
	*torn = 0;
	int rc = env_open_seq(db->env, path, &f);
	if (rc == 0)
		rc = wal_reader_create(f, &reporter, 1, &r);
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
		if (*mem == NULL && (rc = memtable_create(db->ucmp, mem)) != 0)
			break;
		rc = batch_insert(rec, *mem, path);
		if (rc)
			break;
		*next_seq = first + count;
		records++;
		if (memtable_memory_usage(*mem) > db->opt.write_buffer_size) {
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
	seq_file_close(f);
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

/* Everything between taking the lock and accepting writes. */
static int recover(struct shale_db *db) SHALE_EXCLUDES(db->vs.mu)
{
	char path[FNAME_MAX];
	char **names = NULL;
	size_t nnames = 0;
	uint64_t *logs = NULL;
	struct memtable *mem = NULL;
	struct version_edit edit;
	int rc;

	edit_init(&edit);
	fname_current(path, db->dbname);
	if (!env_exists(db->env, path)) {
		if (!db->opt.create_if_missing) {
			rc = err_set(SHALE_EINVAL, "%s: does not exist (create_if_missing is off)",
			             db->dbname);
			goto out;
		}
		logger_printf(db->info_log, "creating database %s", db->dbname);
		rc = new_db(db);
		if (rc)
			goto out;
	} else if (db->opt.error_if_exists) {
		rc = err_set(SHALE_EINVAL, "%s: exists (error_if_exists is on)", db->dbname);
		goto out;
	}

	rc = vset_recover(&db->vs);
	if (rc)
		goto out;
	rc = env_list_dir(db->env, db->dbname, &names, &nnames);
	if (rc)
		goto out;
	rc = check_tables_exist(db, names, nnames);
	if (rc)
		goto out;

	/* The WALs to replay, oldest first. */
	size_t nlogs = 0;
	logs = malloc((nnames + 1) * sizeof(*logs));
	if (logs == NULL) {
		rc = err_nomem("log list");
		goto out;
	}
	mutex_lock(&db->vs.mu);
	uint64_t min_log = db->vs.log_number, prev_log = db->vs.prev_log_number;
	for (size_t i = 0; i < nnames; i++) {
		uint64_t num;
		enum file_type type;
		if (!fname_parse(names[i], &num, &type))
			continue;
		if (type == FILE_LOG && (num >= min_log || num == prev_log))
			logs[nlogs++] = num;
		/* Every number on disk counts as used, also that of a table (or
		 * MANIFEST) a crash left behind before any MANIFEST recorded its
		 * number: the cleanup at the end of the open then sees it as
		 * older than every file being written, and deletes it. */
		if (type == FILE_LOG || type == FILE_TABLE || type == FILE_MANIFEST || type == FILE_TEMP)
			vset_mark_file_number_used(&db->vs, num);
	}
	uint64_t last_seq = db->vs.last_sequence;
	db_unlock(db);
	qsort(logs, nlogs, sizeof(*logs), cmp_u64);

	/* WAL records may start at or below the MANIFEST's last sequence (a
	 * flush records the sequence of writes still only in the WAL), never
	 * below where the previous record ended. */
	uint64_t next_seq = 0;
	int stop = 0;
	for (size_t i = 0; i < nlogs && !stop && rc == 0; i++) {
		uint64_t torn = 0;
		rc = replay_log(db, logs[i], &mem, &edit, &next_seq, &stop, &torn);
		if (rc == 0 && !stop)
			rc = judge_torn_tail(db, logs, i, nlogs, torn, &stop);
	}
	if (rc)
		goto out;
	uint64_t max_seq = next_seq > 0 && next_seq - 1 > last_seq ? next_seq - 1 : last_seq;
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
	if (max_seq > db->vs.last_sequence)
		db->vs.last_sequence = max_seq;
	uint64_t log_number = vset_new_file_number(&db->vs);
	db_unlock(db);
	fname_log(path, db->dbname, log_number);
	rc = env_open_write(db->env, path, &db->logfile);
	if (rc == 0)
		rc = memtable_create(db->ucmp, &db->mem);
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
	free(logs);
	env_free_names(names, nnames);
	edit_free(&edit);
	return rc;
}

/* The flush thread and the compaction threads. */
static int start_threads(struct shale_db *db)
{
	int rc = db_flush_start_thread(db);
	if (rc == 0)
		rc = db_compact_start_threads(db);
	return rc;
}

/* Stops and joins every background thread (running compactions are
 * abandoned at their next entry). */
static void stop_threads(struct shale_db *db) SHALE_EXCLUDES(db->vs.mu)
{
	mutex_lock(&db->vs.mu);
	atomic_store(&db->shutting_down, 1);
	cond_broadcast(&db->flush_cv);
	cond_broadcast(&db->compact_cv);
	cond_broadcast(&db->bg_cv);
	db_unlock(db);
	db_flush_join_thread(db);
	db_compact_stop_threads(db);
}

SHALE_EXPORT int shale_open(const char *path, const shale_options *opt, shale_db **dbp)
{
	struct shale_db *db = NULL;
	char lockpath[FNAME_MAX];
	int rc;

	if (dbp == NULL)
		return err_set(SHALE_EINVAL, "shale_open: NULL handle pointer");
	*dbp = NULL;
	if (path == NULL || path[0] == '\0')
		return err_set(SHALE_EINVAL, "shale_open: empty path");
	if (strlen(path) >= DBPATH_MAX)
		return err_set(SHALE_EINVAL, "shale_open: path longer than %d bytes", DBPATH_MAX - 1);
	if (opt && (rc = options_validate(opt)) != 0)
		return rc;
	unsigned char block_type;
	if (opt && (rc = compress_type_for(opt->compression, &block_type)) != 0)
		return rc; /* a codec not built in: say so now, not at the first flush */
	rc = db_alloc(path, opt, &db);
	if (rc)
		return rc;
	db->hooks = db->opt.hooks;
	if (db->opt.env) {
		db->env = db->opt.env;
	} else if (db->opt.use_mmap_reads) {
		rc = env_posix_create(1, &db->owned_env);
		if (rc)
			goto fail;
		db->env = db->owned_env;
	} else {
		db->env = env_posix_default();
	}
	db->ucmp = options_comparator(&db->opt);
	ikey_comparator_init(&db->icmp, db->ucmp);

	if (!env_exists(db->env, path)) {
		if (!db->opt.create_if_missing) {
			rc = err_set(SHALE_EINVAL, "%s: does not exist (create_if_missing is off)", path);
			goto fail;
		}
		rc = env_mkdir(db->env, path);
		if (rc == 0) {
			/* the new directory's own entry is durable before anything in it */
			char parent[FNAME_MAX];
			env_dirname(path, parent, sizeof(parent));
			rc = env_sync_dir(db->env, parent);
		}
		if (rc)
			goto fail;
	}
	fname_lock(lockpath, path);
	rc = env_lock(db->env, lockpath, &db->lock);
	if (rc)
		goto fail;
	/* The info log is a diagnostic: without one the database still works. */
	if (logger_open(db->env, path, &db->info_log) != 0)
		db->info_log = NULL;

	if (db->opt.cache) {
		db->block_cache = db->opt.cache->cache;
	} else {
		db->owned_cache = shale_cache_create_lru(DEFAULT_CACHE_SIZE);
		if (db->owned_cache == NULL) {
			rc = SHALE_ENOMEM;
			goto fail;
		}
		db->block_cache = db->owned_cache->cache;
	}
	db->topt.cmp = &db->icmp.base;
	db->topt.internal_keys = 1;
	db->topt.block_size = db->opt.block_size;
	db->topt.restart_interval = db->opt.restart_interval;
	db->topt.compression = db->opt.compression;
	db->topt.bloom_bits_per_key = db->opt.bloom_bits_per_key;
	db->topt.block_cache = db->block_cache;
	rc = table_cache_create(db->env, db->dbname, &db->topt,
	                        db->opt.max_open_files - TABLE_CACHE_RESERVED_FILES, &db->table_cache);
	if (rc)
		goto fail;
	struct vset_config cfg;
	options_vset_config(&db->opt, &cfg);
	rc = vset_init(&db->vs, db->dbname, db->env, &cfg, db->table_cache, &db->icmp.base, db->ucmp, db->info_log);
	if (rc)
		goto fail;
	rc = db_compact_init(db);
	if (rc)
		goto fail;
	logger_printf(db->info_log, "opening %s (shale %s)", path, shale_version());
	rc = recover(db);
	if (rc)
		goto fail;
	rc = start_threads(db);
	if (rc) {
		stop_threads(db);
		goto fail;
	}
	mutex_lock(&db->vs.mu);
	cond_broadcast(&db->compact_cv);
	db_unlock(db);
	*dbp = db;
	return 0;

fail:
	logger_printf(db->info_log, "open failed: %s", err_msg());
	{
		/* keep the message across the cleanup */
		char msg[ERR_MSG_MAX];
		err_copy(msg, sizeof(msg));
		db_free(db);
		return err_restore(rc, msg);
	}
}

SHALE_EXPORT int shale_close(shale_db *db)
{
	if (db == NULL)
		return 0;
	mutex_lock(&db->vs.mu);
	if (db->live_iters > 0) {
		int n = db->live_iters;
		db_unlock(db);
		return err_set(SHALE_EBUSY, "%s: %d iterator%s still alive; destroy them before closing",
		               db->dbname, n, n == 1 ? " is" : "s are");
	}
	if (db->closing) {
		db_unlock(db);
		return err_set(SHALE_ECLOSED, "%s: already closing", db->dbname);
	}
	db->closing = 1;
	/* Let calls in progress finish: queued writers, reads, compact_range.
	 * A writer held back by level 0 (compactions backing off while the
	 * disk is full) gives up now with SHALE_ECLOSED. */
	cond_broadcast(&db->bg_cv);
	while (db->writers_head != NULL || db->active_calls > 0)
		cond_wait(&db->bg_cv, &db->vs.mu);
	db_unlock(db);
	stop_threads(db);
	logger_printf(db->info_log, "closed");
	db_free(db);
	return 0;
}

SHALE_EXPORT int shale_destroy(const char *path, const shale_options *opt)
{
	if (path == NULL || path[0] == '\0')
		return err_set(SHALE_EINVAL, "shale_destroy: empty path");
	if (strlen(path) >= DBPATH_MAX)
		return err_set(SHALE_EINVAL, "shale_destroy: path too long");
	struct env *env = opt && opt->env ? opt->env : env_posix_default();
	if (!env_exists(env, path))
		return 0;
	char lockpath[FNAME_MAX];
	struct file_lock *lock = NULL;
	fname_lock(lockpath, path);
	int rc = env_lock(env, lockpath, &lock);
	if (rc)
		return rc;
	char **names = NULL;
	size_t n = 0;
	rc = env_list_dir(env, path, &names, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t num;
		enum file_type type;
		if (!fname_parse(names[i], &num, &type) || type == FILE_LOCK)
			continue;
		char p[FNAME_MAX + 256];
		snprintf(p, sizeof(p), "%s/%s", path, names[i]);
		rc = env_remove(env, p);
	}
	env_free_names(names, n);
	env_unlock(env, lock);
	if (rc == 0) {
		env_remove(env, lockpath);
		env_rmdir(env, path); /* fails, harmlessly, when other files remain */
	}
	return rc;
}

SHALE_EXPORT int shale_repair(const char *path, const shale_options *opt)
{
	(void)opt;
	return err_set(SHALE_ENOTSUP, "shale_repair (%s): repair is not built yet",
	               path ? path : "(null)");
}
