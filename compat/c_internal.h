/*
 * libshale-leveldb's objects: LevelDB's C API types around shale's public
 * ones (shale.h only: the compatibility library is a user of libshale like
 * any program). Read and write options, snapshots and caches are shale's
 * own objects under LevelDB's names (pointer casts); the others hold what
 * LevelDB's API says and shale's does not.
 */
#ifndef SHALE_COMPAT_C_INTERNAL_H
#define SHALE_COMPAT_C_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include "compat/leveldb/c.h"
#include "shale.h"

struct leveldb_t {
	shale_db *db;
	/* Iterators alive, and whether leveldb_close came while some were: the
	 * last leveldb_iter_destroy then completes the close. Guarded by mu. */
	pthread_mutex_t mu;
	int live_iters;
	int close_pending;
};

struct leveldb_iterator_t {
	shale_iter *it;
	leveldb_t *db;
};

struct leveldb_writebatch_t {
	shale_batch *batch;
	/* An operation that could not be added (out of memory): leveldb_write
	 * of this batch fails with it, rather than writing part of the batch.
	 * Cleared by leveldb_writebatch_clear. */
	int failed;       /* its shale code, or 0 */
	char *failed_msg; /* shale's message for it (malloc'd), or NULL */
};

/* Options as LevelDB's setters left them; compat_options_resolve turns
 * them into shale's at each use (open, destroy, repair). */
struct leveldb_options_t {
	leveldb_comparator_t *comparator;
	leveldb_filterpolicy_t *filter_policy;
	leveldb_cache_t *cache;
	leveldb_env_t *env;
	leveldb_logger_t *info_log;
	int create_if_missing, error_if_exists, paranoid_checks;
	size_t write_buffer_size, block_size, max_file_size;
	int max_open_files, block_restart_interval, compression;
};

struct leveldb_comparator_t {
	shale_comparator *cmp;
	void *state;
	void (*destructor)(void *);
	int (*compare)(void *, const char *, size_t, const char *, size_t);
	const char *(*name)(void *);
};

struct leveldb_filterpolicy_t {
	int bloom_bits;             /* the built-in bloom when policy is NULL */
	shale_filter_policy *policy; /* a user policy: the callbacks below */
	void *state;
	void (*destructor)(void *);
	char *(*create_filter)(void *, const char *const *, const size_t *, int, size_t *);
	uint8_t (*key_may_match)(void *, const char *, size_t, const char *, size_t);
	const char *(*name)(void *);
};

struct leveldb_env_t {
	int is_default;
};

/* Shale's objects under LevelDB's names. */
static inline shale_readopts *compat_ro(const leveldb_readoptions_t *r) { return (shale_readopts *)r; }
static inline shale_writeopts *compat_wo(const leveldb_writeoptions_t *w) { return (shale_writeopts *)w; }
static inline shale_cache *compat_cache(leveldb_cache_t *c) { return (shale_cache *)c; }
static inline const shale_snapshot *compat_snap(const leveldb_snapshot_t *s)
{
	return (const shale_snapshot *)s;
}

/* Stores in *errptr (freeing what was there) LevelDB's form of the calling
 * thread's shale message for code: the kind LevelDB gives that failure,
 * then shale's message without its own kind word (doc/leveldb-compat.md,
 * "Error messages"). errptr NULL: nothing. */
void compat_error(char **errptr, int code);
/* The same for msg, a message shale gave for code (kept from earlier). */
void compat_error_msg(char **errptr, int code, const char *msg);
/* The same for a message of compat's own, formatted. */
void compat_errorf(char **errptr, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An iterator of db was made / destroyed (after shale_iter_destroy); the
 * last one gone completes a leveldb_close that came while it lived. */
void compat_iter_born(leveldb_t *db);
void compat_iter_gone(leveldb_t *db);

/* Makes the shale options leveldb_open, leveldb_destroy_db and
 * leveldb_repair_db pass on. NULL and *errptr set when the options cannot
 * be honoured (an unknown compression type, a logger, out of memory). The
 * caller destroys the result. */
shale_options *compat_options_resolve(const leveldb_options_t *o, char **errptr);

#endif
