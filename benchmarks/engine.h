/*
 * engine.h: the one interface shale_bench drives every storage engine through
 * (shale, LevelDB, RocksDB, LMDB, WiredTiger), so that the same workloads,
 * keys and values run on each. One file per engine implements it
 * (engine_<name>.c); each is built only when configure found that engine
 * (HAVE_LEVELDB, ...), and only shale_bench links them.
 *
 * Handles, all opaque and completed inside each engine file:
 *  - struct engine_db: one open database. Safe to use from many threads (each
 *    through its own context).
 *  - struct engine_ctx: one thread's handle on a database (a WiredTiger
 *    session and cursor, LMDB's reusable read transaction, ...). Used by one
 *    thread at a time; every context is closed before the database.
 *  - struct engine_iter: an iterator made from a context, used by that
 *    context's thread only, destroyed before the context is closed. At most
 *    one iterator per context is alive at a time, and the context is not used
 *    for get/put/delete while it is.
 *
 * Errors: functions returning int give 0 on success (get: ENGINE_NOTFOUND
 * for an absent key, not an error) or -1 on failure, after engine_set_error
 * left a message naming the engine and the failed call (engine_errmsg, per
 * thread). Iterator moves do not fail; iter_status tells afterwards.
 */
#ifndef SHALE_BENCH_ENGINE_H
#define SHALE_BENCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define ENGINE_NOTFOUND 1

struct engine_db;
struct engine_ctx;
struct engine_iter;

/* What the benchmark asks of every engine; each applies what it has and
 * states the rest in its config line. Sizes of 0 mean "the engine's default". */
struct engine_opts {
	int compression;       /* SHALE_COMPRESSION_*: none or snappy elsewhere */
	int bloom_bits;        /* 0 = no filter */
	int64_t cache_bytes;   /* block cache; 0 = the engine's own default */
	int64_t write_buffer_bytes;
	int64_t max_file_bytes;
	int64_t block_bytes;
	int64_t max_open_files;
	int64_t wal_flush_delay; /* shale only: microseconds; -1 = its default */
	int mmap_reads;          /* shale only: 0 or 1; -1 = its default */
	int scan_ahead;          /* shale only: 0 or 1; -1 = its default */
	int l0_compaction_trigger;  /* shale only: 0 = its default */
	int l0_slowdown_trigger;    /* shale only: 0 = its default */
	int l0_stop_trigger;        /* shale only: 0 = its default */
	int64_t level_base_bytes;   /* shale only: max_bytes_for_level_base; 0 = default */
	int level_multiplier;       /* shale only: 0 = its default */
	int64_t num;           /* entries, to size LMDB's map */
	int key_bytes;
	int value_bytes;
	int error_if_missing;  /* open of an existing DB fails if it is absent */
};

/* One key/value pair of a batch. */
struct engine_kv {
	const void *key;
	size_t klen;
	const void *val;
	size_t vlen;
};

struct engine {
	const char *name;
	/* fresh: destroys whatever is at path and creates an empty database. */
	int (*open)(const struct engine_opts *opts, const char *path, int fresh,
	            struct engine_db **dbp);
	int (*close)(struct engine_db *db); /* accepts NULL */
	int (*ctx_open)(struct engine_db *db, struct engine_ctx **ctxp);
	void (*ctx_close)(struct engine_ctx *ctx); /* accepts NULL */

	/* sync: the write is durable when the call returns. */
	int (*put)(struct engine_ctx *ctx, const void *key, size_t klen,
	           const void *val, size_t vlen, int sync);
	/* Deleting an absent key succeeds. */
	int (*del)(struct engine_ctx *ctx, const void *key, size_t klen, int sync);
	/* All n pairs atomically (one batch or one transaction). */
	int (*write_batch)(struct engine_ctx *ctx, const struct engine_kv *kvs, int n,
	                   int sync);
	/* 0 and *vlen, or ENGINE_NOTFOUND. A value the engine copied out for the
	 * call is freed before it returns. */
	int (*get)(struct engine_ctx *ctx, const void *key, size_t klen, size_t *vlen);

	/* NULL with engine_errmsg set on failure. */
	struct engine_iter *(*iter_create)(struct engine_ctx *ctx);
	void (*iter_destroy)(struct engine_iter *it); /* accepts NULL */
	void (*iter_seek)(struct engine_iter *it, const void *key, size_t klen); /* first >= key */
	void (*iter_seek_first)(struct engine_iter *it);
	void (*iter_seek_last)(struct engine_iter *it);
	void (*iter_next)(struct engine_iter *it); /* REQUIRES: valid */
	void (*iter_prev)(struct engine_iter *it); /* REQUIRES: valid */
	int (*iter_valid)(const struct engine_iter *it);
	/* Borrowed until the iterator moves or is destroyed. REQUIRES: valid. */
	const void *(*iter_key)(const struct engine_iter *it, size_t *klen);
	const void *(*iter_value)(const struct engine_iter *it, size_t *vlen);
	int (*iter_status)(const struct engine_iter *it);

	/* Full compaction; NULL when the engine has none. */
	int (*compact)(struct engine_db *db);
	/* "stats" or "sstables": malloc'd text (caller frees with free), or NULL
	 * when the engine has no such report. */
	char *(*property)(struct engine_db *db, const char *what);
	/* One line: engine and version, then every setting that differs from
	 * the engine's defaults or that the comparison fixes. */
	void (*config)(const struct engine_db *db, char *buf, size_t len);
};

/* The engine called name (len bytes): 0 and *ep when it is built in, 1 when
 * configure did not find it, -1 for a name no engine has. */
int engine_lookup(const char *name, size_t len, const struct engine **ep);
/* Comma-separated names of every known engine, in a fixed order. */
extern const char *const ENGINE_NAMES;

void engine_set_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
const char *engine_errmsg(void);
/* Removes path and everything under it; a missing path is not an error. */
int engine_remove_tree(const char *path);

#ifdef HAVE_LEVELDB
extern const struct engine engine_leveldb;
#endif
#ifdef HAVE_ROCKSDB
extern const struct engine engine_rocksdb;
#endif
#ifdef HAVE_LMDB
extern const struct engine engine_lmdb;
#endif
#ifdef HAVE_WIREDTIGER
extern const struct engine engine_wiredtiger;
#endif
extern const struct engine engine_shale;

#endif
