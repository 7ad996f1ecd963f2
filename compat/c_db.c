/*
 * The database calls of LevelDB's C API on shale's: open and close, reads
 * and writes, snapshots, properties, sizes, compaction, destroy and repair.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compat/c_internal.h"

SHALE_LEVELDB_EXPORT leveldb_t *leveldb_open(const leveldb_options_t *options, const char *name, char **errptr)
{
	if (name == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_open: NULL name");
		return NULL;
	}
	shale_options *so = compat_options_resolve(options, errptr);
	if (so == NULL)
		return NULL;
	leveldb_t *db = calloc(1, sizeof(*db));
	if (db == NULL) {
		shale_options_destroy(so);
		compat_errorf(errptr, SHALE_ENOMEM, "out of memory: leveldb_open");
		return NULL;
	}
	int rc = shale_open(name, so, &db->db);
	shale_options_destroy(so);
	if (rc != SHALE_OK) {
		compat_error(errptr, rc);
		free(db);
		return NULL;
	}
	pthread_mutex_init(&db->mu, NULL);
	return db;
}

static void finish_close(leveldb_t *db)
{
	/* (fails only while iterators live, which leveldb_close waited out, or
	 * when another thread closes too: nothing to report either way) */
	shale_close(db->db);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

SHALE_LEVELDB_EXPORT void leveldb_close(leveldb_t *db)
{
	if (db == NULL)
		return;
	pthread_mutex_lock(&db->mu);
	int wait = db->live_iters > 0;
	if (wait)
		db->close_pending = 1; /* the last leveldb_iter_destroy closes */
	pthread_mutex_unlock(&db->mu);
	if (!wait)
		finish_close(db);
}

void compat_iter_born(leveldb_t *db)
{
	pthread_mutex_lock(&db->mu);
	db->live_iters++;
	pthread_mutex_unlock(&db->mu);
}

void compat_iter_gone(leveldb_t *db)
{
	pthread_mutex_lock(&db->mu);
	int close = --db->live_iters == 0 && db->close_pending;
	pthread_mutex_unlock(&db->mu);
	if (close)
		finish_close(db);
}

SHALE_LEVELDB_EXPORT void leveldb_put(leveldb_t *db, const leveldb_writeoptions_t *options, const char *key,
                                      size_t keylen, const char *val, size_t vallen, char **errptr)
{
	if (db == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_put: NULL database");
		return;
	}
	int rc = shale_put(db->db, compat_wo(options), key, keylen, val, vallen);
	if (rc != SHALE_OK)
		compat_error(errptr, rc);
}

SHALE_LEVELDB_EXPORT void leveldb_delete(leveldb_t *db, const leveldb_writeoptions_t *options, const char *key,
                                         size_t keylen, char **errptr)
{
	if (db == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_delete: NULL database");
		return;
	}
	int rc = shale_delete(db->db, compat_wo(options), key, keylen);
	if (rc != SHALE_OK)
		compat_error(errptr, rc);
}

SHALE_LEVELDB_EXPORT void leveldb_write(leveldb_t *db, const leveldb_writeoptions_t *options,
                                        leveldb_writebatch_t *batch, char **errptr)
{
	if (db == NULL || batch == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_write: NULL %s", db ? "batch" : "database");
		return;
	}
	if (batch->failed) {
		/* an operation the batch could not take: none is written */
		compat_error_msg(errptr, batch->failed,
		                 batch->failed_msg ? batch->failed_msg : "an operation of the batch failed");
		return;
	}
	int rc = shale_write(db->db, compat_wo(options), batch->batch);
	if (rc != SHALE_OK)
		compat_error(errptr, rc);
}

SHALE_LEVELDB_EXPORT char *leveldb_get(leveldb_t *db, const leveldb_readoptions_t *options, const char *key,
                                       size_t keylen, size_t *vallen, char **errptr)
{
	size_t len = 0;
	void *val = NULL;
	int rc = db ? shale_get(db->db, compat_ro(options), key, keylen, &val, &len) : SHALE_EINVAL;
	if (vallen)
		*vallen = len;
	if (rc == SHALE_OK)
		return val; /* malloc'd by shale: leveldb_free (free) releases it */
	if (db == NULL)
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_get: NULL database");
	else if (rc != SHALE_NOTFOUND)
		compat_error(errptr, rc);
	return NULL;
}

SHALE_LEVELDB_EXPORT const leveldb_snapshot_t *leveldb_create_snapshot(leveldb_t *db)
{
	return db ? (const leveldb_snapshot_t *)shale_snapshot_create(db->db) : NULL;
}

SHALE_LEVELDB_EXPORT void leveldb_release_snapshot(leveldb_t *db, const leveldb_snapshot_t *snapshot)
{
	if (db)
		shale_snapshot_release(db->db, compat_snap(snapshot));
}

SHALE_LEVELDB_EXPORT char *leveldb_property_value(leveldb_t *db, const char *propname)
{
	/* LevelDB's names only: shale's own ("shale.*") are not LevelDB's API */
	if (db == NULL || propname == NULL || strncmp(propname, "leveldb.", 8) != 0)
		return NULL;
	return shale_property(db->db, propname);
}

SHALE_LEVELDB_EXPORT void leveldb_approximate_sizes(leveldb_t *db, int num_ranges,
                                                    const char *const *range_start_key,
                                                    const size_t *range_start_key_len,
                                                    const char *const *range_limit_key,
                                                    const size_t *range_limit_key_len, uint64_t *sizes)
{
	if (db == NULL || num_ranges <= 0 || sizes == NULL)
		return;
	/* shale takes arrays of void pointers */
	const void *few[2][16];
	const void **starts = few[0], **limits = few[1];
	if (num_ranges > 16) {
		starts = malloc((size_t)num_ranges * sizeof(*starts));
		limits = malloc((size_t)num_ranges * sizeof(*limits));
	}
	int rc = SHALE_ENOMEM;
	if (starts != NULL && limits != NULL) {
		for (int i = 0; i < num_ranges; i++) {
			starts[i] = range_start_key[i];
			limits[i] = range_limit_key[i];
		}
		rc = shale_approximate_sizes(db->db, num_ranges, starts, range_start_key_len, limits,
		                             range_limit_key_len, sizes);
	}
	if (rc != SHALE_OK) /* no way to report it: sizes of 0, as for an empty range */
		memset(sizes, 0, (size_t)num_ranges * sizeof(*sizes));
	if (num_ranges > 16) {
		free(starts);
		free(limits);
	}
}

SHALE_LEVELDB_EXPORT void leveldb_compact_range(leveldb_t *db, const char *start_key, size_t start_key_len,
                                                const char *limit_key, size_t limit_key_len)
{
	/* (LevelDB's returns nothing either: a failure shows in later writes) */
	if (db)
		shale_compact_range(db->db, start_key, start_key_len, limit_key, limit_key_len);
}

SHALE_LEVELDB_EXPORT void leveldb_destroy_db(const leveldb_options_t *options, const char *name, char **errptr)
{
	(void)options; /* only its env matters, and every env is the default */
	if (name == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_destroy_db: NULL name");
		return;
	}
	int rc = shale_destroy_db(name, NULL);
	if (rc != SHALE_OK)
		compat_error(errptr, rc);
}

/* 1 when directory path holds a file of a database (CURRENT, a MANIFEST, a
 * log or a table), 0 when not, -1 when it cannot be read. */
static int holds_database(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d)) != NULL) {
		const char *n = e->d_name, *dot = strrchr(n, '.');
		found = strcmp(n, "CURRENT") == 0 || strncmp(n, "MANIFEST-", 9) == 0 ||
		        (dot && (strcmp(dot, ".log") == 0 || strcmp(dot, ".ldb") == 0 || strcmp(dot, ".sst") == 0));
	}
	closedir(d);
	return found;
}

SHALE_LEVELDB_EXPORT void leveldb_repair_db(const leveldb_options_t *options, const char *name, char **errptr)
{
	if (name == NULL) {
		compat_errorf(errptr, SHALE_EINVAL, "leveldb_repair_db: NULL name");
		return;
	}
	shale_options *so = compat_options_resolve(options, errptr);
	if (so == NULL)
		return;
	struct stat st;
	int rc, exists = stat(name, &st) == 0;
	if ((!exists && errno == ENOENT) || (exists && S_ISDIR(st.st_mode) && holds_database(name) == 0)) {
		/* LevelDB's repair leaves an empty database in a directory that held
		 * none, or did not exist (its parent must): so does this, by
		 * creating one */
		shale_db *db = NULL;
		shale_options_set_create_if_missing(so, 1);
		shale_options_set_error_if_exists(so, 0);
		rc = shale_open(name, so, &db);
		if (rc == SHALE_OK)
			rc = shale_close(db);
	} else {
		rc = shale_repair_db(name, so);
	}
	shale_options_destroy(so);
	if (rc != SHALE_OK)
		compat_error(errptr, rc);
}
