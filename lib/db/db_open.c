/*
 * Opening, closing and destroying a database. Recovery itself is
 * db_recover.c's.
 *
 * A failed open of a directory that held no database leaves nothing behind:
 * the files it created (and the directory, if it made it) are removed, and
 * the info log of a new database is attached to its LOG file only once the
 * database exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_compact.h"
#include "lib/db/db_impl.h"
#include "lib/util/filename.h"
#include "sstable/compress.h"

#define TABLE_CACHE_RESERVED_FILES 10
/* A read-only handle holds every table of its version open, whatever
 * max_open_files says (only the process's descriptor limit bounds it). */
#define READ_ONLY_TABLE_CACHE (1 << 30)

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
	if (db->view || db->park.it) {
		/* (no reader is left: the view holds only the DB's reference) */
		mutex_lock(&db->vs.mu);
		db_drop_view(db);
		db_drop_parked_iter(db, 0);
		db_unlock(db); /* (which frees them) */
	}
	db_free_spare_iter(db);
	memtable_unref(db->mem);
	memtable_unref(db->imm);
	wfile_close(db->logfile);
	vset_destroy(&db->vs);
	table_cache_destroy(db->table_cache);
	worker_destroy(db->scan_worker); /* (after every table iterator) */
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

/* The table cache and the version set (again, for a read-only open that
 * starts over). */
static int make_tables_and_versions(struct shale_db *db)
{
	int capacity = db->opt.read_only ? READ_ONLY_TABLE_CACHE : db->opt.max_open_files - TABLE_CACHE_RESERVED_FILES;
	int rc = table_cache_create(db->env, db->dbname, &db->topt, capacity, &db->table_cache);
	if (rc)
		return rc;
	struct vset_config cfg;
	options_vset_config(&db->opt, &cfg);
	return vset_init(&db->vs, db->dbname, db->env, &cfg, db->table_cache, &db->icmp.base, db->ucmp, db->info_log);
}

static int reset_tables_and_versions(struct shale_db *db)
{
	vset_destroy(&db->vs);
	table_cache_destroy(db->table_cache);
	db->table_cache = NULL;
	return make_tables_and_versions(db);
}

/* The info log the options ask for. A new database's LOG file is attached
 * once the database exists (attach_new_log). A read-only open writes no
 * file, so "the LOG file" means none for it. */
static void open_info_log(struct shale_db *db, int exists)
{
	db->info_log = NULL;
	switch (db->opt.info_log_mode) {
	case INFO_LOG_NONE:
		return;
	case INFO_LOG_CALLBACK:
		if (logger_create(&db->info_log) == 0)
			logger_attach_callback(db->info_log, db->opt.info_log_fn, db->opt.info_log_state);
		return;
	default:
		if (db->opt.read_only)
			return;
		/* The info log is a diagnostic: without one the database still works. */
		if (exists) {
			if (logger_open(db->env, db->dbname, &db->info_log) != 0)
				db->info_log = NULL;
		} else if (logger_create(&db->info_log) != 0) {
			db->info_log = NULL;
		}
		return;
	}
}

static void attach_new_log(struct shale_db *db)
{
	if (db->info_log == NULL || db->opt.info_log_mode != INFO_LOG_FILE || !db->created)
		return;
	char msg[ERR_MSG_MAX];
	err_copy(msg, sizeof(msg));
	if (logger_attach_file(db->info_log, db->env, db->dbname) != 0) {
		/* (nothing else holds it yet: the threads are not running) */
		logger_close(db->info_log);
		db->info_log = NULL;
		db->vs.info_log = NULL;
	}
	err_restore(0, msg);
}

/* After a failed open of a directory that held no database: removes the
 * database files this open created, then the directory if it made it. */
static void remove_created(struct env *env, const char *path, int made_dir)
{
	char msg[ERR_MSG_MAX];
	err_copy(msg, sizeof(msg));
	char **names = NULL;
	size_t n = 0;
	if (env_list_dir(env, path, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			uint64_t num;
			enum file_type type;
			if (!fname_parse(names[i], &num, &type))
				continue;
			char p[FNAME_MAX + 256];
			snprintf(p, sizeof(p), "%s/%s", path, names[i]);
			env_remove(env, p);
		}
		env_free_names(names, n);
	}
	env_sync_dir(env, path);
	if (made_dir && env_rmdir(env, path) == 0) {
		char parent[FNAME_MAX];
		env_dirname(path, parent, sizeof(parent));
		env_sync_dir(env, parent);
	}
	err_restore(0, msg);
}

SHALE_EXPORT int shale_open(const char *path, const shale_options *opt, shale_db **dbp)
{
	struct shale_db *db = NULL;
	char lockpath[FNAME_MAX], current[FNAME_MAX];
	int rc, made_dir = 0;

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
		if (!db->opt.create_if_missing || db->opt.read_only) {
			rc = err_set(SHALE_EINVAL, "%s: does not exist (%s)", path,
			             db->opt.read_only ? "a read-only open creates nothing" : "create_if_missing is off");
			goto fail;
		}
		rc = env_mkdir(db->env, path);
		if (rc == 0) {
			made_dir = 1;
			/* the new directory's own entry is durable before anything in it */
			char parent[FNAME_MAX];
			env_dirname(path, parent, sizeof(parent));
			rc = env_sync_dir(db->env, parent);
		}
		if (rc)
			goto fail;
	}
	if (!db->opt.read_only) {
		fname_lock(lockpath, path);
		rc = env_lock(db->env, lockpath, &db->lock);
		if (rc)
			goto fail;
	}
	fname_current(current, path);
	open_info_log(db, env_exists(db->env, current));

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
	db->topt.table_filter = 1;
	db->topt.filter_policy = options_filter_policy(&db->opt);
	db->topt.block_cache = db->block_cache;
	/* scan-ahead: only where a second CPU can decode while the scan runs */
	if (thread_cpus() >= 2) {
		if ((rc = worker_create(&db->scan_worker)) != 0)
			goto fail;
		worker_set_linger(db->scan_worker, TABLE_SCAN_WORKER_LINGER_NS);
		db->topt.scan_worker = db->scan_worker;
		db->topt.scan_pace = &db->scan_pace;
	}
	rc = make_tables_and_versions(db);
	if (rc == 0)
		rc = db_compact_init(db);
	if (rc)
		goto fail;
	logger_printf(db->info_log, "opening %s (shale %s)%s", path, shale_version(),
	              db->opt.read_only ? " read-only" : "");
	if (db->opt.read_only) {
		rc = db_recover_read_only(db, reset_tables_and_versions);
		if (rc)
			goto fail;
	} else {
		rc = db_recover(db);
		if (rc)
			goto fail;
		attach_new_log(db);
		rc = start_threads(db);
		if (rc) {
			stop_threads(db);
			goto fail;
		}
		mutex_lock(&db->vs.mu);
		cond_broadcast(&db->compact_cv);
		db_unlock(db);
	}
	*dbp = db;
	return 0;

fail:
	logger_printf(db->info_log, "open failed: %s", err_msg());
	{
		/* keep the message across the cleanup */
		char msg[ERR_MSG_MAX];
		err_copy(msg, sizeof(msg));
		int created = db->created || made_dir;
		struct env *env = db->env;
		struct env *owned = db->owned_env;
		db->owned_env = NULL; /* (kept for the cleanup below) */
		db_free(db);
		if (created && env)
			remove_created(env, path, made_dir);
		env_destroy(owned);
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
	/* Writes without sync still in the WAL's buffer go to the OS now; a
	 * failure is the close's to report (they are not on disk). */
	int rc = 0;
	if (db->logfile && !db->log_broken && (rc = wal_writer_flush(&db->log)) != 0)
		logger_printf(db->info_log, "the WAL's last writes could not be written at close: %s", err_msg());
	logger_printf(db->info_log, "closed");
	char msg[ERR_MSG_MAX];
	if (rc)
		err_copy(msg, sizeof(msg));
	db_free(db);
	return rc ? err_restore(rc, msg) : 0;
}

SHALE_EXPORT int shale_destroy_db(const char *path, const shale_options *opt)
{
	if (path == NULL || path[0] == '\0')
		return err_set(SHALE_EINVAL, "shale_destroy_db: empty path");
	if (strlen(path) >= DBPATH_MAX)
		return err_set(SHALE_EINVAL, "shale_destroy_db: path too long");
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
