/*
 * shale — an LSM-tree storage engine library (LevelDB-compatible files).
 *
 * The contract of every declaration here is doc/api.md. Conventions:
 *  - All objects are opaque; create with *_create / shale_open, free with
 *    *_destroy / shale_close. Every destroy/close/free accepts NULL.
 *  - Functions that can fail return SHALE_OK (0), SHALE_NOTFOUND (1, not an
 *    error) or a negative SHALE_E* code. shale_errmsg() then gives the detailed
 *    message of the last failure on the calling thread.
 *  - Keys and values are (pointer, length) byte strings; any bytes.
 *  - Memory handed to the caller (values, property strings) is released with
 *    shale_free().
 *  - A shale_db is safe to use from many threads at once; an iterator or a
 *    batch is used by one thread at a time.
 */
#ifndef SHALE_H
#define SHALE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header: shale_version() gives the library's. */
#define SHALE_VERSION_MAJOR 0
#define SHALE_VERSION_MINOR 1
#define SHALE_VERSION_PATCH 0
#define SHALE_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define SHALE_EXPORT __attribute__((visibility("default")))
#else
#define SHALE_EXPORT
#endif

/* ---- codes ---------------------------------------------------------------- */
#define SHALE_OK        0   /* success */
#define SHALE_NOTFOUND  1   /* key absent (get); not an error */
#define SHALE_ECORRUPT (-1) /* bad checksum, bad format, impossible metadata */
#define SHALE_EIO      (-2) /* the OS refused a read/write/sync/rename */
#define SHALE_EINVAL   (-3) /* bad argument, missing/existing DB, comparator mismatch */
#define SHALE_ENOTSUP  (-4) /* feature not built in */
#define SHALE_EBUSY    (-5) /* locked by another process or handle; iterators alive at close */
#define SHALE_ENOMEM   (-6) /* allocation failed */
#define SHALE_ENOSPC   (-7) /* disk full; clears once a retried background write succeeds */
#define SHALE_ECLOSED  (-8) /* the handle is closing */

/* Compression types (API values; the on-disk type bytes differ). */
#define SHALE_COMPRESSION_NONE   0
#define SHALE_COMPRESSION_SNAPPY 1
#define SHALE_COMPRESSION_LZ4    2
#define SHALE_COMPRESSION_ZLIB   3

typedef struct shale_db shale_db;
typedef struct shale_options shale_options;
typedef struct shale_writeopts shale_writeopts;
typedef struct shale_readopts shale_readopts;
typedef struct shale_batch shale_batch;
typedef struct shale_snapshot shale_snapshot;
typedef struct shale_iter shale_iter;
typedef struct shale_comparator shale_comparator;
typedef struct shale_cache shale_cache;

/* Static description of a code; never NULL. */
SHALE_EXPORT const char *shale_strerror(int code);
/* Detailed message of the last failure on the calling thread (thread-local);
 * valid until the next failing call on this thread. "" when none. */
SHALE_EXPORT const char *shale_errmsg(void);
/* "MAJOR.MINOR.PATCH" */
SHALE_EXPORT const char *shale_version(void);
/* Frees memory the library handed out (values, property strings). NULL is a no-op. */
SHALE_EXPORT void shale_free(void *p);

/* ---- database ------------------------------------------------------------- */
/* opt may be NULL (defaults). On success *dbp is the handle; on failure *dbp is
 * NULL. Absurd option values fail with SHALE_EINVAL naming the option. */
SHALE_EXPORT int shale_open(const char *path, const shale_options *opt, shale_db **dbp);
/* Joins background threads and releases snapshots still held. Returns
 * SHALE_EBUSY (and leaves the DB open) while an iterator is alive. NULL: no-op. */
SHALE_EXPORT int shale_close(shale_db *db);
SHALE_EXPORT int shale_put(shale_db *db, const shale_writeopts *wo,
                           const void *key, size_t klen, const void *val, size_t vlen);
/* Deleting an absent key is OK. */
SHALE_EXPORT int shale_delete(shale_db *db, const shale_writeopts *wo, const void *key, size_t klen);
/* Applies the batch atomically. The batch is not modified. */
SHALE_EXPORT int shale_write(shale_db *db, const shale_writeopts *wo, shale_batch *batch);
/* SHALE_OK: *valp is malloc'd (free with shale_free), non-NULL even for an
 * empty value. SHALE_NOTFOUND: *valp = NULL, *vlenp = 0. */
SHALE_EXPORT int shale_get(shale_db *db, const shale_readopts *ro, const void *key, size_t klen,
                           void **valp, size_t *vlenp);

/* ---- options -------------------------------------------------------------- */
SHALE_EXPORT shale_options *shale_options_create(void);  /* NULL when out of memory */
SHALE_EXPORT void shale_options_destroy(shale_options *);
SHALE_EXPORT void shale_options_set_create_if_missing(shale_options *, int on);   /* default 0 */
SHALE_EXPORT void shale_options_set_error_if_exists(shale_options *, int on);     /* default 0 */
SHALE_EXPORT void shale_options_set_paranoid_checks(shale_options *, int on);     /* default 0 */
SHALE_EXPORT void shale_options_set_write_buffer_size(shale_options *, size_t bytes); /* default 4 MiB */
SHALE_EXPORT void shale_options_set_max_open_files(shale_options *, int n);       /* default 1000 */
SHALE_EXPORT void shale_options_set_block_size(shale_options *, size_t bytes);    /* default 4 KiB */
SHALE_EXPORT void shale_options_set_block_restart_interval(shale_options *, int n); /* default 16 */
SHALE_EXPORT void shale_options_set_max_file_size(shale_options *, size_t bytes); /* default 2 MiB */
/* SHALE_COMPRESSION_*; default snappy when built in, else none. */
SHALE_EXPORT void shale_options_set_compression(shale_options *, int type);
SHALE_EXPORT void shale_options_set_bloom_bits_per_key(shale_options *, int bits); /* default 10; 0 = none */
/* Shared block cache, not owned; without one the DB makes its own of 8 MiB. */
SHALE_EXPORT void shale_options_set_cache(shale_options *, shale_cache *);
/* Not owned; must outlive every DB opened with it. */
SHALE_EXPORT void shale_options_set_comparator(shale_options *, shale_comparator *);
/* Compaction threads (default 2); one more thread is always reserved for flushes. */
SHALE_EXPORT void shale_options_set_background_threads(shale_options *, int n);
SHALE_EXPORT void shale_options_set_l0_compaction_trigger(shale_options *, int files); /* default 4 */
SHALE_EXPORT void shale_options_set_l0_slowdown_trigger(shale_options *, int files);   /* default 8 */
SHALE_EXPORT void shale_options_set_l0_stop_trigger(shale_options *, int files);       /* default 12 */
SHALE_EXPORT void shale_options_set_max_bytes_for_level_base(shale_options *, uint64_t bytes); /* default 10 MiB */
SHALE_EXPORT void shale_options_set_level_multiplier(shale_options *, int m);        /* default 10 */
/* Read table files through memory mappings (default: see doc/api.md). Off:
 * every block read is a pread and every I/O error an error code. On: a disk
 * failing under a mapped page raises SIGBUS, as in LevelDB and LMDB. */
SHALE_EXPORT void shale_options_set_mmap_reads(shale_options *, int on);
/* How long a write without sync may wait in shale's buffer of the WAL
 * before it is handed to the operating system, in microseconds. Default
 * 1000; 0 hands every write over at once, as LevelDB does. Within the delay
 * (or until 64 KiB wait) a crash of the process loses those writes, always a
 * suffix of the latest; a write with sync, and everything before it, is on
 * disk when it returns whatever the delay. At most 1000000 (1 s). */
SHALE_EXPORT void shale_options_set_wal_flush_delay(shale_options *, uint64_t micros);

/* Read-only open (default 0): no LOCK, no file created, written, renamed or
 * deleted (no LOG either); the state as of the open; write calls answer
 * SHALE_EINVAL. See doc/api.md, "Read-only open". */
SHALE_EXPORT void shale_options_set_read_only(shale_options *, int on);
/* The info log. Default: the file <db>/LOG (the previous one kept as
 * LOG.old). log NULL: no info log at all. Otherwise every line (without a
 * trailing newline) goes to log(state, line), from any thread, never while
 * the database holds a lock; line is valid during the call only. */
SHALE_EXPORT void shale_options_set_info_log(shale_options *, void (*log)(void *state, const char *line),
                                             void *state);

SHALE_EXPORT shale_writeopts *shale_writeopts_create(void);
SHALE_EXPORT void shale_writeopts_destroy(shale_writeopts *);
SHALE_EXPORT void shale_writeopts_set_sync(shale_writeopts *, int on);              /* default 0 */

SHALE_EXPORT shale_readopts *shale_readopts_create(void);
SHALE_EXPORT void shale_readopts_destroy(shale_readopts *);
SHALE_EXPORT void shale_readopts_set_verify_checksums(shale_readopts *, int on);    /* default 1 */
SHALE_EXPORT void shale_readopts_set_fill_cache(shale_readopts *, int on);          /* default 1 */
/* NULL = latest. The snapshot is not owned. */
SHALE_EXPORT void shale_readopts_set_snapshot(shale_readopts *, const shale_snapshot *);
/* Iterator bounds: lower inclusive, upper exclusive. The key is copied; NULL
 * clears the bound; a non-NULL key of length 0 is the empty key. */
SHALE_EXPORT void shale_readopts_set_lower_bound(shale_readopts *, const void *key, size_t klen);
SHALE_EXPORT void shale_readopts_set_upper_bound(shale_readopts *, const void *key, size_t klen);
/* Iterators see exactly the keys that start with prefix: sets both bounds
 * (the upper one the prefix's successor), replacing any set before; a later
 * bound setter replaces the prefix's bound on its side. NULL clears both.
 * Bytewise comparator only: with another, iterator creation fails with
 * SHALE_EINVAL. */
SHALE_EXPORT void shale_readopts_set_prefix(shale_readopts *, const void *prefix, size_t len);

/* ---- write batches -------------------------------------------------------- */
SHALE_EXPORT shale_batch *shale_batch_create(void);  /* NULL when out of memory */
SHALE_EXPORT void shale_batch_destroy(shale_batch *);
SHALE_EXPORT int shale_batch_put(shale_batch *, const void *key, size_t klen, const void *val, size_t vlen);
SHALE_EXPORT int shale_batch_delete(shale_batch *, const void *key, size_t klen);
SHALE_EXPORT void shale_batch_clear(shale_batch *);
SHALE_EXPORT uint32_t shale_batch_count(const shale_batch *);
/* Calls put or del once per operation, in order. The pointers passed (never
 * NULL, even for an empty key or value) are valid during that call only.
 * SHALE_EINVAL when a callback is NULL. */
SHALE_EXPORT int shale_batch_iterate(const shale_batch *, void *state,
    void (*put)(void *state, const void *key, size_t klen, const void *val, size_t vlen),
    void (*del)(void *state, const void *key, size_t klen));
/* Appends src's operations after dst's; src is unchanged (dst == src appends
 * a copy of its own operations). */
SHALE_EXPORT int shale_batch_append(shale_batch *dst, const shale_batch *src);

/* ---- snapshots ------------------------------------------------------------ */
/* Sees exactly the writes completed before it was created. NULL only when out
 * of memory (or the DB is closing). Release with shale_snapshot_release. */
SHALE_EXPORT const shale_snapshot *shale_snapshot_create(shale_db *db);
SHALE_EXPORT void shale_snapshot_release(shale_db *db, const shale_snapshot *snap);

/* ---- iterators ------------------------------------------------------------ */
/* NULL only when memory runs out (shale_errmsg says so); any other failure
 * shows as an invalid iterator whose status is the error. Must be destroyed
 * before shale_close. */
SHALE_EXPORT shale_iter *shale_iter_create(shale_db *db, const shale_readopts *ro);
SHALE_EXPORT void shale_iter_destroy(shale_iter *);
SHALE_EXPORT int shale_iter_valid(const shale_iter *);
SHALE_EXPORT void shale_iter_seek_first(shale_iter *);
SHALE_EXPORT void shale_iter_seek_last(shale_iter *);
SHALE_EXPORT void shale_iter_seek(shale_iter *, const void *key, size_t klen);          /* first key >= key */
SHALE_EXPORT void shale_iter_seek_for_prev(shale_iter *, const void *key, size_t klen); /* last key <= key */
SHALE_EXPORT void shale_iter_next(shale_iter *);
SHALE_EXPORT void shale_iter_prev(shale_iter *);
/* Borrowed: valid until the iterator moves or is destroyed. */
SHALE_EXPORT const void *shale_iter_key(const shale_iter *, size_t *klen);
SHALE_EXPORT const void *shale_iter_value(const shale_iter *, size_t *vlen);
/* SHALE_OK or the error that made it invalid (and sets shale_errmsg to it). */
SHALE_EXPORT int shale_iter_status(const shale_iter *);

/* ---- comparators and caches ----------------------------------------------- */
/* compare returns <0, 0, >0. name is persisted in the MANIFEST and checked on
 * open. destructor (may be NULL) runs exactly once, from shale_comparator_destroy. */
SHALE_EXPORT shale_comparator *shale_comparator_create(void *state, void (*destructor)(void *),
    int (*compare)(void *state, const void *a, size_t alen, const void *b, size_t blen),
    const char *(*name)(void *state));
SHALE_EXPORT void shale_comparator_destroy(shale_comparator *);
/* A sharded LRU block cache, shareable by several DBs; must outlive them. */
SHALE_EXPORT shale_cache *shale_cache_create_lru(size_t capacity_bytes);
SHALE_EXPORT void shale_cache_destroy(shale_cache *);

/* ---- maintenance ---------------------------------------------------------- */
/* Compacts every level's overlap with [begin, end] down to the bottom; NULL =
 * open end. Waits until done. */
SHALE_EXPORT int shale_compact_range(shale_db *db, const void *begin, size_t blen,
                                     const void *end, size_t elen);
/* malloc'd (shale_free), NULL if the property is unknown. */
SHALE_EXPORT char *shale_property(shale_db *db, const char *name);
/* sizes[i] = approximate bytes on disk for keys in [starts[i], limits[i]). */
SHALE_EXPORT int shale_approximate_sizes(shale_db *db, int n,
    const void *const *starts, const size_t *start_lens,
    const void *const *limits, const size_t *limit_lens, uint64_t *sizes);
/* Creates dir (which must not exist) holding an openable, synced copy of the DB
 * with every write completed before the call. Tables are hard-linked. */
SHALE_EXPORT int shale_checkpoint(shale_db *db, const char *dir);
/* Deletes the database's files (takes its LOCK first). */
SHALE_EXPORT int shale_destroy_db(const char *path, const shale_options *opt);
/* Rebuilds a damaged or half-lost database (no CURRENT, a damaged or missing
 * MANIFEST, damaged tables or WALs) from every record it can read; each key
 * keeps its newest readable version. Files with damage are moved to
 * <path>/lost/, never deleted; the info log says what was kept. Takes the
 * LOCK (SHALE_EBUSY while the DB is open); needs free space about the size
 * of the DB. doc/api.md, "Repair". */
SHALE_EXPORT int shale_repair_db(const char *path, const shale_options *opt);

#ifdef __cplusplus
}
#endif
#endif /* SHALE_H */
