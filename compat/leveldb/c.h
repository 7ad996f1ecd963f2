/*
 * leveldb/c.h as libshale-leveldb provides it: LevelDB 1.23's C API, served
 * by shale (doc/leveldb-compat.md). A program written for LevelDB's C API
 * compiles against this header, or keeps the object files it compiled
 * against LevelDB's, and links with libshale-leveldb instead of libleveldb:
 *
 *     cc -o app app.c $(pkg-config --cflags --libs shale-leveldb)
 *
 * Installed as $(includedir)/shale/leveldb/c.h, so that it never replaces
 * LevelDB's own header; shale-leveldb.pc points the include path there.
 * Written for shale from LevelDB's documented API: the names, types and
 * values are LevelDB's, so the two libraries are interchangeable at the
 * link, with no change to a program's source or objects.
 *
 * Conventions (as LevelDB's):
 *  - Objects are opaque and made by *_create (or leveldb_open); each has a
 *    matching *_destroy (or leveldb_close).
 *  - Keys and values are (pointer, length) pairs of any bytes.
 *  - A function that can fail takes `char **errptr` last. On entry *errptr
 *    is NULL or a message an earlier call stored there. On success the
 *    function leaves it alone; on failure it frees the message there and
 *    stores a new malloc'd, NUL-terminated one. The message starts with the
 *    kind of failure, as LevelDB's do: "Corruption: ", "IO error: ",
 *    "Invalid argument: ", "Not implemented: " or "NotFound: ", then what
 *    failed, naming the file or option.
 *  - Booleans are uint8_t: 0 false, anything else true.
 *  - Memory returned to the caller (values, property strings, error
 *    messages, the test directory) is malloc'd: release it with
 *    leveldb_free (or free).
 *  - Pointer arguments must not be NULL unless a function says otherwise.
 *    (libshale-leveldb does not crash on a NULL where it can tell: it
 *    reports "Invalid argument" where there is an errptr and otherwise
 *    does nothing.)
 *  - A leveldb_t may be used by many threads at once; an iterator, a write
 *    batch or an options object by one thread at a time.
 *
 * Not offered, as in LevelDB's C API: getters for options; comparators that
 * shorten keys; iterators, databases, environments, caches or loggers made
 * of user callbacks.
 */
#ifndef SHALE_LEVELDB_C_H
#define SHALE_LEVELDB_C_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SHALE_LEVELDB_EXPORT __attribute__((visibility("default")))
#else
#define SHALE_LEVELDB_EXPORT
#endif

/* ---- types ---------------------------------------------------------------- */

typedef struct leveldb_t leveldb_t;
typedef struct leveldb_cache_t leveldb_cache_t;
typedef struct leveldb_comparator_t leveldb_comparator_t;
typedef struct leveldb_env_t leveldb_env_t;
typedef struct leveldb_filelock_t leveldb_filelock_t;
typedef struct leveldb_filterpolicy_t leveldb_filterpolicy_t;
typedef struct leveldb_iterator_t leveldb_iterator_t;
typedef struct leveldb_logger_t leveldb_logger_t;
typedef struct leveldb_options_t leveldb_options_t;
typedef struct leveldb_randomfile_t leveldb_randomfile_t;
typedef struct leveldb_readoptions_t leveldb_readoptions_t;
typedef struct leveldb_seqfile_t leveldb_seqfile_t;
typedef struct leveldb_snapshot_t leveldb_snapshot_t;
typedef struct leveldb_writablefile_t leveldb_writablefile_t;
typedef struct leveldb_writebatch_t leveldb_writebatch_t;
typedef struct leveldb_writeoptions_t leveldb_writeoptions_t;

/* ---- the database --------------------------------------------------------- */

/* Opens (with create_if_missing, creates) the database in directory name.
 * Returns the handle, or NULL with *errptr set: "Invalid argument" for a
 * missing database without create_if_missing, an existing one with
 * error_if_exists, or another comparator's database; "IO error" when
 * another handle holds the database's LOCK; "Corruption" for damaged
 * metadata. options is read during the call only; the comparator, filter
 * policy and cache it names must outlive the database. */
SHALE_LEVELDB_EXPORT leveldb_t *leveldb_open(const leveldb_options_t *options, const char *name,
                                             char **errptr);

/* Closes the database: waits for the calls in progress and the background
 * work, releases the snapshots still held, frees the handle. Iterators must
 * be destroyed first (if some are alive, the close completes when the last
 * one is destroyed; until then the database stays locked). */
SHALE_LEVELDB_EXPORT void leveldb_close(leveldb_t *db);

/* Sets key to val. The write is handed to the operating system before the
 * call returns (it survives a crash of the process); with the write
 * options' sync it is also on disk (it survives a crash of the machine). */
SHALE_LEVELDB_EXPORT void leveldb_put(leveldb_t *db, const leveldb_writeoptions_t *options,
                                      const char *key, size_t keylen, const char *val, size_t vallen,
                                      char **errptr);

/* Removes key; removing an absent key is not an error. Durability as
 * leveldb_put. */
SHALE_LEVELDB_EXPORT void leveldb_delete(leveldb_t *db, const leveldb_writeoptions_t *options,
                                         const char *key, size_t keylen, char **errptr);

/* Applies every operation of batch atomically: all of them or none. The
 * batch is left as it was. */
SHALE_LEVELDB_EXPORT void leveldb_write(leveldb_t *db, const leveldb_writeoptions_t *options,
                                        leveldb_writebatch_t *batch, char **errptr);

/* The value of key, as of the read options' snapshot (or now): a malloc'd
 * copy of *vallen bytes (free it with leveldb_free), or NULL when the key is
 * absent (then *errptr is untouched) or on failure (*errptr set). */
SHALE_LEVELDB_EXPORT char *leveldb_get(leveldb_t *db, const leveldb_readoptions_t *options,
                                       const char *key, size_t keylen, size_t *vallen, char **errptr);

/* An iterator over the database as of now (or the options' snapshot),
 * not yet positioned. Destroy it with leveldb_iter_destroy before closing
 * the database. */
SHALE_LEVELDB_EXPORT leveldb_iterator_t *leveldb_create_iterator(leveldb_t *db,
                                                                 const leveldb_readoptions_t *options);

/* A view of the database as of now, for leveldb_readoptions_set_snapshot;
 * release it with leveldb_release_snapshot when done (holding it keeps old
 * versions of keys from being compacted away). */
SHALE_LEVELDB_EXPORT const leveldb_snapshot_t *leveldb_create_snapshot(leveldb_t *db);
SHALE_LEVELDB_EXPORT void leveldb_release_snapshot(leveldb_t *db, const leveldb_snapshot_t *snapshot);

/* A property as a malloc'd string (free it with leveldb_free), or NULL when
 * the name is unknown: "leveldb.num-files-at-level<N>" (N in 0..6),
 * "leveldb.stats", "leveldb.sstables", "leveldb.approximate-memory-usage". */
SHALE_LEVELDB_EXPORT char *leveldb_property_value(leveldb_t *db, const char *propname);

/* For each of num_ranges ranges [start, limit), the approximate bytes its
 * keys take in table files (compressed, as on disk), in sizes. */
SHALE_LEVELDB_EXPORT void leveldb_approximate_sizes(leveldb_t *db, int num_ranges,
                                                    const char *const *range_start_key,
                                                    const size_t *range_start_key_len,
                                                    const char *const *range_limit_key,
                                                    const size_t *range_limit_key_len, uint64_t *sizes);

/* Compacts the keys in [start_key, limit_key] down the levels, dropping
 * overwritten and deleted data. A NULL start_key means from the first key,
 * a NULL limit_key to the last. Returns when done. */
SHALE_LEVELDB_EXPORT void leveldb_compact_range(leveldb_t *db, const char *start_key, size_t start_key_len,
                                                const char *limit_key, size_t limit_key_len);

/* ---- management ----------------------------------------------------------- */

/* Deletes the database in directory name (its files, then the directory if
 * that empties it). A missing directory is not an error; an open database
 * is ("IO error"). */
SHALE_LEVELDB_EXPORT void leveldb_destroy_db(const leveldb_options_t *options, const char *name,
                                             char **errptr);

/* Rebuilds a damaged database from what can still be read, so that it opens
 * again; some data may be lost. Files that could not be read are set aside
 * in name/lost/. */
SHALE_LEVELDB_EXPORT void leveldb_repair_db(const leveldb_options_t *options, const char *name,
                                            char **errptr);

/* ---- iterators ------------------------------------------------------------ */

SHALE_LEVELDB_EXPORT void leveldb_iter_destroy(leveldb_iterator_t *);
/* Nonzero when positioned on an entry. */
SHALE_LEVELDB_EXPORT uint8_t leveldb_iter_valid(const leveldb_iterator_t *);
SHALE_LEVELDB_EXPORT void leveldb_iter_seek_to_first(leveldb_iterator_t *);
SHALE_LEVELDB_EXPORT void leveldb_iter_seek_to_last(leveldb_iterator_t *);
/* Positions on the first key >= k. */
SHALE_LEVELDB_EXPORT void leveldb_iter_seek(leveldb_iterator_t *, const char *k, size_t klen);
/* next and prev require a valid iterator. */
SHALE_LEVELDB_EXPORT void leveldb_iter_next(leveldb_iterator_t *);
SHALE_LEVELDB_EXPORT void leveldb_iter_prev(leveldb_iterator_t *);
/* The current key and value, valid until the iterator moves or is
 * destroyed. Requires a valid iterator. */
SHALE_LEVELDB_EXPORT const char *leveldb_iter_key(const leveldb_iterator_t *, size_t *klen);
SHALE_LEVELDB_EXPORT const char *leveldb_iter_value(const leveldb_iterator_t *, size_t *vlen);
/* Sets *errptr when the iterator stopped on an error (an unreadable block);
 * reaching the end is not an error. */
SHALE_LEVELDB_EXPORT void leveldb_iter_get_error(const leveldb_iterator_t *, char **errptr);

/* ---- write batches -------------------------------------------------------- */

SHALE_LEVELDB_EXPORT leveldb_writebatch_t *leveldb_writebatch_create(void);
SHALE_LEVELDB_EXPORT void leveldb_writebatch_destroy(leveldb_writebatch_t *);
/* Removes every operation. */
SHALE_LEVELDB_EXPORT void leveldb_writebatch_clear(leveldb_writebatch_t *);
/* Append one operation (key and value copied); a later operation on the
 * same key wins. */
SHALE_LEVELDB_EXPORT void leveldb_writebatch_put(leveldb_writebatch_t *, const char *key, size_t klen,
                                                 const char *val, size_t vlen);
SHALE_LEVELDB_EXPORT void leveldb_writebatch_delete(leveldb_writebatch_t *, const char *key, size_t klen);
/* Calls put or deleted once per operation, in order, with state; the
 * pointers are valid during that call only. */
SHALE_LEVELDB_EXPORT void leveldb_writebatch_iterate(
    const leveldb_writebatch_t *, void *state,
    void (*put)(void *, const char *k, size_t klen, const char *v, size_t vlen),
    void (*deleted)(void *, const char *k, size_t klen));
/* Appends source's operations after destination's; source is unchanged. */
SHALE_LEVELDB_EXPORT void leveldb_writebatch_append(leveldb_writebatch_t *destination,
                                                    const leveldb_writebatch_t *source);

/* ---- options -------------------------------------------------------------- */
/* Defaults: no comparator (bytewise order), no filter policy,
 * create_if_missing, error_if_exists and paranoid_checks off, the default
 * env, info log NULL (the file LOG in the database directory), a 4 MiB
 * write buffer, 1000 open files, an 8 MiB block cache of the database's
 * own, 4 KiB blocks, a restart point every 16 keys, 2 MiB table files,
 * snappy compression. Values out of LevelDB's ranges are brought into them
 * at open, as LevelDB does. */

SHALE_LEVELDB_EXPORT leveldb_options_t *leveldb_options_create(void);
SHALE_LEVELDB_EXPORT void leveldb_options_destroy(leveldb_options_t *);
/* The key order; its name is kept in the database and must match at every
 * open. */
SHALE_LEVELDB_EXPORT void leveldb_options_set_comparator(leveldb_options_t *, leveldb_comparator_t *);
/* The filter that lets reads skip table blocks without the key. */
SHALE_LEVELDB_EXPORT void leveldb_options_set_filter_policy(leveldb_options_t *, leveldb_filterpolicy_t *);
SHALE_LEVELDB_EXPORT void leveldb_options_set_create_if_missing(leveldb_options_t *, uint8_t);
SHALE_LEVELDB_EXPORT void leveldb_options_set_error_if_exists(leveldb_options_t *, uint8_t);
/* Fail on damage instead of recovering past it. */
SHALE_LEVELDB_EXPORT void leveldb_options_set_paranoid_checks(leveldb_options_t *, uint8_t);
SHALE_LEVELDB_EXPORT void leveldb_options_set_env(leveldb_options_t *, leveldb_env_t *);
/* NULL (the only logger this API can name): the file LOG in the database
 * directory. */
SHALE_LEVELDB_EXPORT void leveldb_options_set_info_log(leveldb_options_t *, leveldb_logger_t *);
/* Bytes of writes gathered in memory before they go to a table (64 KiB ..
 * 1 GiB). */
SHALE_LEVELDB_EXPORT void leveldb_options_set_write_buffer_size(leveldb_options_t *, size_t);
/* Files the database may keep open (74 .. 50000). */
SHALE_LEVELDB_EXPORT void leveldb_options_set_max_open_files(leveldb_options_t *, int);
/* A block cache to use (and share) instead of the database's own. */
SHALE_LEVELDB_EXPORT void leveldb_options_set_cache(leveldb_options_t *, leveldb_cache_t *);
/* Uncompressed bytes per table block (1 KiB .. 4 MiB). */
SHALE_LEVELDB_EXPORT void leveldb_options_set_block_size(leveldb_options_t *, size_t);
/* Keys between restart points inside a block. */
SHALE_LEVELDB_EXPORT void leveldb_options_set_block_restart_interval(leveldb_options_t *, int);
/* Bytes a table file is cut at (1 MiB .. 1 GiB). */
SHALE_LEVELDB_EXPORT void leveldb_options_set_max_file_size(leveldb_options_t *, size_t);

/* Compression of table blocks. */
enum { leveldb_no_compression = 0, leveldb_snappy_compression = 1 };
SHALE_LEVELDB_EXPORT void leveldb_options_set_compression(leveldb_options_t *, int);

/* ---- comparators ---------------------------------------------------------- */

/* A key order: compare returns <0, 0 or >0 as a sorts before, with or after
 * b, and must be a consistent total order, callable from many threads at
 * once; name returns its stable name. destructor(state) runs once, from
 * leveldb_comparator_destroy. */
SHALE_LEVELDB_EXPORT leveldb_comparator_t *leveldb_comparator_create(
    void *state, void (*destructor)(void *),
    int (*compare)(void *, const char *a, size_t alen, const char *b, size_t blen),
    const char *(*name)(void *));
SHALE_LEVELDB_EXPORT void leveldb_comparator_destroy(leveldb_comparator_t *);

/* ---- filter policies ------------------------------------------------------ */

/* A filter made of callbacks. create_filter returns a malloc'd filter of
 * *filter_length bytes for num_keys keys (the library frees it with
 * free()); key_may_match returns 0 only when key is certainly not among the
 * keys the filter was made from; name is stored with each table's filters,
 * which are used only while a policy of that name is set. Every callback
 * may be called from many threads at once. destructor(state) runs once,
 * from leveldb_filterpolicy_destroy. */
SHALE_LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create(
    void *state, void (*destructor)(void *),
    char *(*create_filter)(void *, const char *const *key_array, const size_t *key_length_array,
                           int num_keys, size_t *filter_length),
    uint8_t (*key_may_match)(void *, const char *key, size_t length, const char *filter,
                             size_t filter_length),
    const char *(*name)(void *));
SHALE_LEVELDB_EXPORT void leveldb_filterpolicy_destroy(leveldb_filterpolicy_t *);
/* The built-in bloom filter, "leveldb.BuiltinBloomFilter2", of
 * bits_per_key bits per key (10 gives about 1% false positives). */
SHALE_LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create_bloom(int bits_per_key);

/* ---- read options --------------------------------------------------------- */
/* Defaults: checksums of data blocks read from disk not verified, blocks
 * read kept in the cache, the latest state. */

SHALE_LEVELDB_EXPORT leveldb_readoptions_t *leveldb_readoptions_create(void);
SHALE_LEVELDB_EXPORT void leveldb_readoptions_destroy(leveldb_readoptions_t *);
SHALE_LEVELDB_EXPORT void leveldb_readoptions_set_verify_checksums(leveldb_readoptions_t *, uint8_t);
SHALE_LEVELDB_EXPORT void leveldb_readoptions_set_fill_cache(leveldb_readoptions_t *, uint8_t);
/* NULL: the latest state. */
SHALE_LEVELDB_EXPORT void leveldb_readoptions_set_snapshot(leveldb_readoptions_t *,
                                                           const leveldb_snapshot_t *);

/* ---- write options -------------------------------------------------------- */

SHALE_LEVELDB_EXPORT leveldb_writeoptions_t *leveldb_writeoptions_create(void);
SHALE_LEVELDB_EXPORT void leveldb_writeoptions_destroy(leveldb_writeoptions_t *);
/* Sync the log to disk before a write returns (default off). */
SHALE_LEVELDB_EXPORT void leveldb_writeoptions_set_sync(leveldb_writeoptions_t *, uint8_t);

/* ---- caches --------------------------------------------------------------- */

/* A block cache of about capacity bytes of uncompressed blocks, least
 * recently used first out; it must outlive the databases using it. */
SHALE_LEVELDB_EXPORT leveldb_cache_t *leveldb_cache_create_lru(size_t capacity);
SHALE_LEVELDB_EXPORT void leveldb_cache_destroy(leveldb_cache_t *cache);

/* ---- environments --------------------------------------------------------- */

/* The default environment (the operating system's files and threads): the
 * only one this API can make. */
SHALE_LEVELDB_EXPORT leveldb_env_t *leveldb_create_default_env(void);
SHALE_LEVELDB_EXPORT void leveldb_env_destroy(leveldb_env_t *);
/* A directory for tests' databases, created if missing: $TEST_TMPDIR when
 * set and not empty, else /tmp/leveldbtest-<effective uid>. A malloc'd
 * string (release it with leveldb_free), or NULL. */
SHALE_LEVELDB_EXPORT char *leveldb_env_get_test_directory(leveldb_env_t *);

/* ---- utility -------------------------------------------------------------- */

/* free(ptr), for memory this API returned (values, properties, messages). */
SHALE_LEVELDB_EXPORT void leveldb_free(void *ptr);
/* The version of the API implemented: LevelDB 1.23. */
SHALE_LEVELDB_EXPORT int leveldb_major_version(void);
SHALE_LEVELDB_EXPORT int leveldb_minor_version(void);

#ifdef __cplusplus
}
#endif
#endif /* SHALE_LEVELDB_C_H */
