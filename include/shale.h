/*
 * shale — an LSM-tree storage engine library (LevelDB-compatible files).
 *
 * This header is the API reference: every function below carries its own
 * contract (what it does, what it returns and when, who owns what, which
 * threads may call it). doc/api.md holds what is not per function: the
 * conventions in full, the defaults and why, limits, the damage and
 * recovery rules, read-only opens, properties and repair.
 *
 * Conventions that hold everywhere unless a function says otherwise:
 *  - Objects are opaque; create them with *_create or shale_open, free them
 *    with *_destroy or shale_close. Every destroy, close and shale_free
 *    accepts NULL and does nothing.
 *  - Functions that can fail return SHALE_OK (0), SHALE_NOTFOUND (1, not an
 *    error) or a negative SHALE_E* code, and on failure set the calling
 *    thread's message (shale_errmsg). Nothing in the library aborts, exits
 *    or prints.
 *  - Keys and values are (pointer, length) byte strings: any bytes, any
 *    length from 0 up to the limits in doc/api.md. A pointer may be NULL
 *    only when its length is 0.
 *  - Memory the library hands out (values, property strings) is the
 *    caller's, freed with shale_free().
 *  - A shale_db is safe to use from any number of threads at once. An
 *    iterator, a batch and an options object are used by one thread at a
 *    time (several threads may read one options object at once while
 *    nobody changes it).
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
/* What each code means, and what a caller can do about it: doc/api.md, "Codes". */
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

/* Compression types (API values; the on-disk type bytes differ:
 * doc/format.md, "Compression type bytes"). */
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
typedef struct shale_filter_policy shale_filter_policy;

/* ---- errors, version, memory ---------------------------------------------- */

/*
 * shale_strerror: a short static description of a code ("corruption",
 * "busy", ...; "unknown error code" for a value that is none of ours).
 *
 * Never NULL; the string is static and must not be freed. Any thread.
 */
SHALE_EXPORT const char *shale_strerror(int code);

/*
 * shale_errmsg: the detailed message of the last failure on the calling
 * thread, e.g. "corruption: /db/000012.ldb: block checksum mismatch at
 * offset 40960". It starts with shale_strerror() of the code returned and
 * names the file or the option concerned where there is one.
 *
 * Thread-local: a failure on one thread never changes another thread's
 * message. "" until the thread's first failure. A successful call leaves it
 * as it was; the string stays valid, unchanged, until the next failing call
 * on this thread. Never NULL; static storage, not to be freed.
 */
SHALE_EXPORT const char *shale_errmsg(void);

/*
 * shale_version: the library's version, "MAJOR.MINOR.PATCH" (compare with
 * SHALE_VERSION_STRING to detect a header/library mismatch).
 *
 * Static string, never NULL. Any thread.
 */
SHALE_EXPORT const char *shale_version(void);

/*
 * shale_free: frees memory the library handed to the caller: a value from
 * shale_get, a string from shale_property. NULL is a no-op. Never pass it
 * anything else (and never free those with anything else).
 *
 * Any thread.
 */
SHALE_EXPORT void shale_free(void *p);

/* ---- database ------------------------------------------------------------- */

/*
 * shale_open: opens the database in directory `path`, recovering it from
 * its files (replaying the MANIFEST and the write-ahead logs; writes that
 * were only in the logs go to a new level-0 table first), then starts the
 * background threads (one for flushes, `background_threads` for
 * compactions).
 *
 * With create_if_missing, a missing directory (one level, not its parents)
 * and a new, empty database are created. A failed open of a directory that
 * held no database leaves nothing behind. A writable open takes the
 * database's LOCK; a read-only open (shale_options_set_read_only) takes
 * none, writes nothing and sees the state as of the open (doc/api.md,
 * "Read-only open").
 *
 * path  the database directory; shorter than 4000 bytes.
 * opt   the options, or NULL for the defaults. Read during the call only:
 *       the options object may be changed or destroyed once shale_open
 *       returns. The cache and comparator it names are borrowed, not
 *       copied: they must outlive the database.
 * dbp   receives the handle on success, NULL on failure.
 *
 * Returns SHALE_OK, or
 *   SHALE_EINVAL    dbp NULL; path empty or too long; an option value out
 *                   of range (the message names it); no database there and
 *                   create_if_missing off (or a read-only open); a database
 *                   there and error_if_exists on; the database was created
 *                   with a comparator of another name.
 *   SHALE_ENOTSUP   the options ask for a compression not built in.
 *   SHALE_EBUSY     another handle (in this process or another) has the
 *                   database open for writing; or, read-only, a live writer
 *                   kept changing the MANIFEST during the open.
 *   SHALE_ECORRUPT  CURRENT or the MANIFEST is damaged, a table the
 *                   MANIFEST names is missing, CURRENT is missing beside
 *                   database files (shale_repair_db rebuilds such a
 *                   database; open never creates over it), or a write-ahead
 *                   log is damaged and paranoid_checks is on.
 *   SHALE_EIO, SHALE_ENOSPC, SHALE_ENOMEM  from the file system or memory.
 *
 * Ownership: the handle is the caller's until shale_close.
 * Threads: any thread; opens of different databases run in parallel.
 */
SHALE_EXPORT int shale_open(const char *path, const shale_options *opt, shale_db **dbp);

/*
 * shale_close: waits for the calls already inside the library (queued
 * writes, reads, shale_compact_range, checkpoints) to finish, stops and
 * joins the background threads (a running compaction is abandoned; its
 * work is redone later), releases every snapshot still held, and frees the
 * handle. Data written without sync is already with the operating system:
 * closing does not flush the memtable, the next open replays the log.
 *
 * Returns SHALE_OK (db is then freed; NULL too is OK), or
 *   SHALE_EBUSY    an iterator is still alive: nothing was done, the
 *                  database stays open (destroy the iterators, close again).
 *   SHALE_ECLOSED  another thread is already closing this handle.
 *
 * Threads: call it once, when no thread will start another call on db.
 * Calls that race with it get SHALE_ECLOSED; after it returns SHALE_OK the
 * handle and every snapshot of it are gone.
 */
SHALE_EXPORT int shale_close(shale_db *db);

/*
 * shale_put: sets key to val, atomically and durably in the sense of wo:
 * the write is in the write-ahead log (handed to the operating system, and
 * synced first with shale_writeopts_set_sync) before it returns, and
 * visible to every read that starts after it returns.
 *
 * wo    write options, or NULL for the defaults (no sync). Read during the
 *       call only.
 * key, klen / val, vlen  copied; the caller keeps its buffers. NULL only
 *       with length 0. Keys up to 4 GiB - 9 bytes, values up to 4 GiB - 1.
 *
 * Returns SHALE_OK, or
 *   SHALE_EINVAL   db NULL or open read-only; a NULL pointer with a length;
 *                  a key or value over the limit.
 *   SHALE_ECLOSED  the handle is closing.
 *   SHALE_ENOMEM   out of memory.
 *   Any other code: the write failed (EIO, ENOSPC from the log write or
 *   sync), or an earlier background failure makes writes fail (its own code
 *   and message: doc/api.md, "Codes").
 * On any failure the write is not visible. When the log write or sync, or
 * the memtable insert, failed part way, the record may still be in the log
 * and reappear after the database is reopened.
 *
 * Blocking: may wait while level 0 holds many files (a 1 ms pause at
 * l0_slowdown_trigger, a wait for compaction at l0_stop_trigger) or while
 * a full memtable is still being flushed.
 * Threads: any number of threads at once; concurrent writes are committed
 * in groups, in an order consistent with each thread's own order.
 */
SHALE_EXPORT int shale_put(shale_db *db, const shale_writeopts *wo,
                           const void *key, size_t klen, const void *val, size_t vlen);

/*
 * shale_delete: removes key (writes a deletion marker). Deleting an absent
 * key is SHALE_OK. Durability, blocking, codes and threads: as shale_put
 * (without the value).
 */
SHALE_EXPORT int shale_delete(shale_db *db, const shale_writeopts *wo, const void *key, size_t klen);

/*
 * shale_write: applies every operation of batch atomically: after a crash
 * either all of them or none are in the database, and no read ever sees
 * part of them. Within the batch a later operation on a key wins. An empty
 * batch is SHALE_OK. Durability, blocking and codes: as shale_put
 * (SHALE_EINVAL also for a NULL batch).
 *
 * The batch is borrowed for the call; its operations are unchanged
 * afterwards, so it may be written again or cleared. Like every use of a
 * batch, the call must not overlap another use of the same batch on
 * another thread (it writes the batch's internal header).
 */
SHALE_EXPORT int shale_write(shale_db *db, const shale_writeopts *wo, shale_batch *batch);

/*
 * shale_get: reads key's value as of ro's snapshot (or the latest state).
 *
 * ro     read options, or NULL (latest, checksums verified, cache filled).
 *        Read during the call only; a snapshot it names must stay
 *        unreleased for the call.
 * valp   receives a malloc'd copy of the value: the caller's, freed with
 *        shale_free. Non-NULL even for an empty value (then *vlenp is 0).
 * vlenp  receives the value's length.
 * Both are set to NULL and 0 first, whatever the outcome.
 *
 * Returns SHALE_OK, SHALE_NOTFOUND (absent or deleted; not an error: the
 * thread's message is unchanged), or
 *   SHALE_EINVAL   db, valp or vlenp NULL, or a NULL key with a length.
 *   SHALE_ECORRUPT a block, index or filter on the way is damaged; never a
 *                  wrong answer while verify_checksums is on.
 *   SHALE_ENOTSUP  a table uses a compression not built in.
 *   SHALE_EIO, SHALE_ENOMEM, SHALE_ECLOSED.
 *
 * Threads: any number at once, alongside writes, flushes and compactions;
 * never waits for them (it takes the database mutex only briefly).
 */
SHALE_EXPORT int shale_get(shale_db *db, const shale_readopts *ro, const void *key, size_t klen,
                           void **valp, size_t *vlenp);

/* ---- options -------------------------------------------------------------- */
/*
 * An options object holds the settings shale_open (and shale_repair_db,
 * shale_destroy_db) read. The setters store the value and never fail: a
 * NULL object is ignored, and values are checked by shale_open, which
 * fails with SHALE_EINVAL naming an absurd one. Ranges, defaults and why
 * they were chosen: doc/api.md, "Defaults, and why"; their effect on speed,
 * memory and disk: doc/tuning.md. Options are read by shale_open and
 * copied; changing them later does not change an open database.
 */

/* shale_options_create: an object holding every default. NULL (and
 * SHALE_ENOMEM in shale_errmsg) when out of memory. The caller destroys it
 * with shale_options_destroy (NULL: no-op), any time after the calls that
 * read it returned. */
SHALE_EXPORT shale_options *shale_options_create(void);  /* NULL when out of memory */
SHALE_EXPORT void shale_options_destroy(shale_options *);
/* Create the database (and its directory, one level) when missing. */
SHALE_EXPORT void shale_options_set_create_if_missing(shale_options *, int on);   /* default 0 */
/* Fail the open with SHALE_EINVAL when a database is already there. */
SHALE_EXPORT void shale_options_set_error_if_exists(shale_options *, int on);     /* default 0 */
/* Fail the open with SHALE_ECORRUPT on a damaged write-ahead log instead
 * of recovering up to the damage (doc/api.md, "Damage and recovery"). */
SHALE_EXPORT void shale_options_set_paranoid_checks(shale_options *, int on);     /* default 0 */
/* Bytes of writes the memtable gathers before it is flushed to a level-0
 * table (4 KiB .. 1 TiB). Up to two memtables live at once. */
SHALE_EXPORT void shale_options_set_write_buffer_size(shale_options *, size_t bytes); /* default 8 MiB */
/* Descriptors the database may use (20 .. 1000000); all but 10 bound the
 * table cache. */
SHALE_EXPORT void shale_options_set_max_open_files(shale_options *, int n);       /* default 1000 */
/* Uncompressed size a data block is cut at (64 B .. 256 MiB). */
SHALE_EXPORT void shale_options_set_block_size(shale_options *, size_t bytes);    /* default 2 KiB */
/* Keys between restart points in a block (1 .. 65536). */
SHALE_EXPORT void shale_options_set_block_restart_interval(shale_options *, int n); /* default 4 */
/* Size compaction outputs are cut at (4 KiB .. 1 TiB). */
SHALE_EXPORT void shale_options_set_max_file_size(shale_options *, size_t bytes); /* default 2 MiB */
/* SHALE_COMPRESSION_*; default snappy when built in, else none. A codec
 * not built in fails shale_open with SHALE_ENOTSUP. Tables written with
 * snappy or none are the ones LevelDB can read. */
SHALE_EXPORT void shale_options_set_compression(shale_options *, int type);
/* Bloom filter bits per key in new tables (0 .. 1000; 0 = no filter).
 * Ignored while a filter policy is set. */
SHALE_EXPORT void shale_options_set_bloom_bits_per_key(shale_options *, int bits); /* default 10; 0 = none */
/* 1 when the codec SHALE_COMPRESSION_<type> is built into this library (so
 * shale_open accepts it and tables using it can be read), else 0 (also for
 * a value that names no codec). Any thread; sets no message. */
SHALE_EXPORT int shale_compression_supported(int type);
/* A user filter policy (shale_filter_policy_create) in place of the
 * built-in bloom filter; not owned, it must outlive every database opened
 * (or repaired) with it. NULL (the default): the built-in bloom, as
 * bloom_bits_per_key says. See shale_filter_policy_create for what a table
 * stores and when a filter is used. */
SHALE_EXPORT void shale_options_set_filter_policy(shale_options *, shale_filter_policy *);
/* Shared block cache, not owned; without one the DB makes its own of 8 MiB.
 * The cache must outlive every database opened with it. */
SHALE_EXPORT void shale_options_set_cache(shale_options *, shale_cache *);
/* Not owned; must outlive every DB opened with it. NULL: the default,
 * bytewise order (memcmp, a prefix before its extensions), persisted as
 * "leveldb.BytewiseComparator". */
SHALE_EXPORT void shale_options_set_comparator(shale_options *, shale_comparator *);
/* Compaction threads (default 2); one more thread is always reserved for flushes. */
SHALE_EXPORT void shale_options_set_background_threads(shale_options *, int n);
/* Level-0 files that make level 0 due for compaction; at the slowdown
 * trigger each write pauses 1 ms; at the stop trigger writes wait for
 * compaction. REQUIRES compaction <= slowdown <= stop. */
SHALE_EXPORT void shale_options_set_l0_compaction_trigger(shale_options *, int files); /* default 4 */
SHALE_EXPORT void shale_options_set_l0_slowdown_trigger(shale_options *, int files);   /* default 8 */
SHALE_EXPORT void shale_options_set_l0_stop_trigger(shale_options *, int files);       /* default 12 */
/* Level 1's size budget; level N's is this times multiplier^(N-1). */
SHALE_EXPORT void shale_options_set_max_bytes_for_level_base(shale_options *, uint64_t bytes); /* default 10 MiB */
SHALE_EXPORT void shale_options_set_level_multiplier(shale_options *, int m);        /* default 10 */
/* Mapped I/O (default: on, doc/api.md): table files are read through
 * memory mappings, and the WAL is appended through a shared mapping of
 * space reserved ahead with fallocate (a write is a copy into the page
 * cache, no system call). Off: every block read is a pread, every WAL
 * append a write(2), and every I/O error an error code. On: a disk failing
 * under a mapped page raises SIGBUS, as in LevelDB and LMDB. */
SHALE_EXPORT void shale_options_set_mmap_reads(shale_options *, int on);
/* How long a write without sync may wait in shale's buffer of the WAL
 * before it is handed to the operating system, in microseconds. Default
 * 0: every write is handed over before it returns, as LevelDB does, and
 * survives a crash of the process. Within a delay above 0
 * (or until 64 KiB wait) a crash of the process loses those writes, always a
 * suffix of the latest; a write with sync, and everything before it, is on
 * disk when it returns whatever the delay. With mapped I/O on (mmap_reads,
 * the default) the WAL has no such buffer: every write is in the page
 * cache when it returns, whatever the delay. At most 1000000 (1 s). */
SHALE_EXPORT void shale_options_set_wal_flush_delay(shale_options *, uint64_t micros);
/* How much lower than the rest of the process compaction threads run, as a
 * nice increment (Linux schedules threads by their own nice value): 0 .. 19,
 * default 10. Reads and writes then get the CPU first and compactions take
 * what is left (readwhilewriting's reader 1.6x faster on 2 cores); when
 * level 0 fills up, writes wait for compactions at the stop trigger anyway,
 * and a waiting writer uses no CPU. 0 runs them like every other thread.
 * The flush thread is not lowered. A system that refuses the change leaves
 * the threads as they are. */
SHALE_EXPORT void shale_options_set_compaction_nice(shale_options *, int nice);

/* Read-only open (default 0): no LOCK, no file created, written, renamed or
 * deleted (no LOG either); the state as of the open; write calls answer
 * SHALE_EINVAL. See doc/api.md, "Read-only open". */
SHALE_EXPORT void shale_options_set_read_only(shale_options *, int on);
/* The info log. Default: the file <db>/LOG (the previous one kept as
 * LOG.old). log NULL: no info log at all. Otherwise every line (without a
 * trailing newline) goes to log(state, line), from any thread, never while
 * the database holds a lock; line is valid during the call only. The
 * callback must not call into the same database; state is borrowed and
 * must outlive every database opened with these options. */
SHALE_EXPORT void shale_options_set_info_log(shale_options *, void (*log)(void *state, const char *line),
                                             void *state);

/*
 * Write options: read during each write call only; one object may serve
 * any number of concurrent writes while nobody changes it. NULL wherever a
 * shale_writeopts is taken means the defaults. create returns NULL when
 * out of memory; destroy accepts NULL.
 */
SHALE_EXPORT shale_writeopts *shale_writeopts_create(void);
SHALE_EXPORT void shale_writeopts_destroy(shale_writeopts *);
/* Sync the write-ahead log (fdatasync) before the write returns, so the
 * write survives a machine crash or power loss, not only a crash of the
 * process. A write without sync that returned survives a process crash. */
SHALE_EXPORT void shale_writeopts_set_sync(shale_writeopts *, int on);              /* default 0 */

/*
 * Read options: read during shale_get and shale_iter_create only (an
 * iterator copies its bounds), so they may be changed or destroyed once
 * those return; one object may serve concurrent reads while nobody changes
 * it. NULL wherever a shale_readopts is taken means the defaults. create
 * returns NULL when out of memory; destroy accepts NULL.
 */
SHALE_EXPORT shale_readopts *shale_readopts_create(void);
SHALE_EXPORT void shale_readopts_destroy(shale_readopts *);
/* Check the CRC of every data block read from disk (index and filter
 * blocks, and blocks entering the cache, are always checked). */
SHALE_EXPORT void shale_readopts_set_verify_checksums(shale_readopts *, int on);    /* default 1 */
/* Keep the data blocks this read loads in the block cache. An iterator
 * caches the blocks it enters by a seek and by its next 7 steps into a new
 * block of a table; past that it is scanning, and reads the rest of the
 * table past the cache (still using blocks found there) until its next seek,
 * so a long scan does not evict the working set. Off: nothing is cached. */
SHALE_EXPORT void shale_readopts_set_fill_cache(shale_readopts *, int on);          /* default 1 */
/* Scan-ahead (an addition to the LevelDB-like set): while an iterator made
 * with these options is scanning (as above, past the 7 steps), the blocks
 * ahead of it are read, checked and decompressed by one background thread
 * per database, started by the first such scan, so that a scan with an
 * otherwise idle core beside it runs about a quarter faster
 * (doc/performance.md). A process allowed only one CPU gets no such thread.
 * Answers and errors are the same either way. Off: the scanning thread
 * does all of it, and no thread is started for it. */
SHALE_EXPORT void shale_readopts_set_scan_ahead(shale_readopts *, int on);          /* default 1 */
/* NULL = latest. The snapshot is not owned; it must belong to the database
 * read and stay unreleased while these options are used (an iterator, once
 * created, no longer needs it). */
SHALE_EXPORT void shale_readopts_set_snapshot(shale_readopts *, const shale_snapshot *);
/* Iterator bounds: lower inclusive, upper exclusive. The key is copied; NULL
 * clears the bound; a non-NULL key of length 0 is the empty key. An
 * iterator then behaves as if the database held only the keys in
 * [lower, upper): a seek below lower lands on the first key >= lower, a
 * seek_for_prev at or above upper on the last key < upper, seek_first and
 * seek_last on the first and last keys in range. Bounds affect iterators
 * only, not shale_get. */
SHALE_EXPORT void shale_readopts_set_lower_bound(shale_readopts *, const void *key, size_t klen);
SHALE_EXPORT void shale_readopts_set_upper_bound(shale_readopts *, const void *key, size_t klen);
/* Iterators see exactly the keys that start with prefix: sets both bounds
 * (the upper one the prefix's successor), replacing any set before; a later
 * bound setter replaces the prefix's bound on its side. NULL clears both.
 * Bytewise comparator only: with another, iterator creation fails with
 * SHALE_EINVAL. */
SHALE_EXPORT void shale_readopts_set_prefix(shale_readopts *, const void *prefix, size_t len);

/* ---- write batches -------------------------------------------------------- */
/*
 * A batch gathers puts and deletes that shale_write applies atomically. It
 * belongs to no database. One thread at a time uses a batch (shale_write
 * included); different batches are independent.
 */

/* shale_batch_create: an empty batch; NULL when out of memory. The caller
 * frees it with shale_batch_destroy (NULL: no-op). */
SHALE_EXPORT shale_batch *shale_batch_create(void);  /* NULL when out of memory */
SHALE_EXPORT void shale_batch_destroy(shale_batch *);
/*
 * shale_batch_put / shale_batch_delete: append one operation; key and value
 * are copied. Returns SHALE_OK, SHALE_EINVAL (NULL batch, a NULL pointer
 * with a length, a key over 4 GiB - 9 bytes or a value over 4 GiB - 1) or
 * SHALE_ENOMEM; on failure the batch is as it was.
 */
SHALE_EXPORT int shale_batch_put(shale_batch *, const void *key, size_t klen, const void *val, size_t vlen);
SHALE_EXPORT int shale_batch_delete(shale_batch *, const void *key, size_t klen);
/* Removes every operation (keeps the memory for reuse). NULL: no-op. */
SHALE_EXPORT void shale_batch_clear(shale_batch *);
/* Number of operations (0 for NULL). */
SHALE_EXPORT uint32_t shale_batch_count(const shale_batch *);
/* Calls put or del once per operation, in order. The pointers passed (never
 * NULL, even for an empty key or value) are valid during that call only.
 * The callbacks must not change the batch. Returns SHALE_OK, or
 * SHALE_EINVAL when the batch or a callback is NULL. */
SHALE_EXPORT int shale_batch_iterate(const shale_batch *, void *state,
    void (*put)(void *state, const void *key, size_t klen, const void *val, size_t vlen),
    void (*del)(void *state, const void *key, size_t klen));
/* Appends src's operations after dst's; src is unchanged (dst == src appends
 * a copy of its own operations). Returns SHALE_OK, SHALE_EINVAL (a NULL
 * batch, or more than 2^32 - 1 operations in all) or SHALE_ENOMEM (dst
 * unchanged). */
SHALE_EXPORT int shale_batch_append(shale_batch *dst, const shale_batch *src);

/* ---- snapshots ------------------------------------------------------------ */
/*
 * shale_snapshot_create: a read-only view of db as of now. Reads through it
 * (shale_readopts_set_snapshot) see exactly the writes that completed before
 * it was created, whatever flushes and compactions run afterwards. Holding
 * a snapshot keeps the versions it needs from being compacted away, so
 * release it when done.
 *
 * Returns the snapshot, owned by db and released with
 * shale_snapshot_release (or by shale_close); NULL only when out of memory,
 * when db is NULL (SHALE_EINVAL) or while it closes (SHALE_ECLOSED), with
 * shale_errmsg saying which. Works on a read-only handle too.
 * Threads: any; a snapshot may be used by many threads at once.
 */
SHALE_EXPORT const shale_snapshot *shale_snapshot_create(shale_db *db);
/* Releases snap, which must come from shale_snapshot_create on this db and
 * not be released yet (nor be in use by a read). NULL db or snap: no-op.
 * Any thread. */
SHALE_EXPORT void shale_snapshot_release(shale_db *db, const shale_snapshot *snap);

/* ---- iterators ------------------------------------------------------------ */
/*
 * shale_iter_create: an iterator over db as of now (an implicit snapshot),
 * or as of ro's snapshot, limited to ro's bounds or prefix. It starts
 * unpositioned (not valid): call a seek first. It holds the files and
 * memtables of its view until destroyed, so do not keep iterators open
 * longer than needed.
 *
 * ro  read options or NULL; read during the call only (bounds copied).
 *
 * Returns the iterator, owned by the caller and freed with
 * shale_iter_destroy, which must happen before shale_close. NULL only when
 * memory runs out or db is NULL (shale_errmsg says so). Any other failure
 * (a prefix with a non-bytewise comparator: SHALE_EINVAL; the handle
 * closing: SHALE_ECLOSED) gives an iterator that is never valid and whose
 * shale_iter_status is the error; destroy it as any other.
 *
 * Threads: any number of iterators at once, alongside writes; one iterator
 * is used by one thread at a time.
 */
SHALE_EXPORT shale_iter *shale_iter_create(shale_db *db, const shale_readopts *ro);
/* Frees the iterator and what it holds. NULL: no-op. */
SHALE_EXPORT void shale_iter_destroy(shale_iter *);
/* 1 when positioned on an entry, else 0 (NULL: 0). After a move leaves it
 * invalid, check shale_iter_status to tell the end from an error. */
SHALE_EXPORT int shale_iter_valid(const shale_iter *);
/*
 * Moves. Each positions the iterator on the entry named (within the bounds)
 * or leaves it invalid when there is none. next and prev require a valid
 * iterator (otherwise they do nothing); the seeks work from any position.
 * An iterator whose status is an error ignores every move. An I/O error or
 * damage met while moving makes the iterator invalid at once with that
 * status: it never steps over damage to yield other or older entries.
 */
SHALE_EXPORT void shale_iter_seek_first(shale_iter *);
SHALE_EXPORT void shale_iter_seek_last(shale_iter *);
SHALE_EXPORT void shale_iter_seek(shale_iter *, const void *key, size_t klen);          /* first key >= key */
SHALE_EXPORT void shale_iter_seek_for_prev(shale_iter *, const void *key, size_t klen); /* last key <= key */
SHALE_EXPORT void shale_iter_next(shale_iter *);
SHALE_EXPORT void shale_iter_prev(shale_iter *);
/* Borrowed: valid until the iterator moves or is destroyed. The current
 * key or value and its length (*klen, *vlen; the pointer may be NULL). NULL
 * and length 0 when the iterator is not valid. */
SHALE_EXPORT const void *shale_iter_key(const shale_iter *, size_t *klen);
SHALE_EXPORT const void *shale_iter_value(const shale_iter *, size_t *vlen);
/* SHALE_OK or the error that made it invalid (and sets shale_errmsg to it);
 * SHALE_EINVAL for NULL. Reaching the end of the range is not an error. */
SHALE_EXPORT int shale_iter_status(const shale_iter *);

/* ---- comparators, filter policies and caches ------------------------------- */
/*
 * shale_comparator_create: a user-defined key order.
 *
 * compare(state, a, alen, b, blen) returns <0, 0, >0 as a sorts before,
 *   with or after b. It must be a total order, pure and deterministic, and
 *   safe to call from many threads at once (flushes, compactions and
 *   readers call it concurrently). It is never passed NULL: the empty key
 *   is a valid pointer with length 0.
 * name(state) returns a stable NUL-terminated name, persisted in the
 *   MANIFEST and checked on open: a database opened with a comparator of
 *   another name fails with SHALE_EINVAL. Change the name whenever the
 *   order changes. "leveldb.BytewiseComparator" is the default's.
 * destructor (may be NULL) runs exactly once, from shale_comparator_destroy,
 *   with state.
 * state is borrowed; it is passed to every callback.
 *
 * Returns the comparator, owned by the caller; NULL when compare or name is
 * NULL (SHALE_EINVAL) or memory runs out. It must outlive every database
 * opened (or repaired) with it. With a custom comparator, prefix iterators
 * are refused and index keys are not shortened.
 */
SHALE_EXPORT shale_comparator *shale_comparator_create(void *state, void (*destructor)(void *),
    int (*compare)(void *state, const void *a, size_t alen, const void *b, size_t blen),
    const char *(*name)(void *state));
/* Runs the destructor and frees. Only after every database using it is
 * closed. NULL: no-op. */
SHALE_EXPORT void shale_comparator_destroy(shale_comparator *);
/*
 * shale_filter_policy_create: a user-defined filter, which tables hold in
 * place of the built-in bloom filter (shale_options_set_filter_policy), as
 * LevelDB holds a FilterPolicy's: one filter per 2 KiB of data-block
 * offsets, stored under the metaindex name "filter.<name>" (doc/format.md,
 * "Filter block"); LevelDB with a policy of the same name and behaviour
 * reads them. A point lookup asks a table's filter before reading a data
 * block, and only a table whose filter carries this policy's name is
 * filtered: one written under another name (or with the built-in bloom) is
 * read without a filter. While a policy is set, tables get its filter only
 * (not the built-in bloom), whatever bloom_bits_per_key says.
 *
 * create_filter(state, keys, klens, n, &filter, &flen) makes the filter of
 *   the n >= 1 user keys keys[i] (klens[i] bytes each; a key may repeat, and
 *   is a valid pointer even when empty; all valid during the call only). It
 *   stores in *filter a malloc'd buffer of *flen bytes, which shale frees
 *   with free() (NULL is allowed when *flen is 0), and returns 0; nonzero
 *   makes the flush or compaction writing the table fail as if out of
 *   memory (SHALE_ENOMEM, the database's background error).
 * key_may_match(state, key, klen, filter, flen) returns 0 only when key is
 *   certainly not among the keys the filter was made from (nonzero: maybe).
 *   It must accept every filter create_filter made, including one made by
 *   another process (LevelDB) under the same name, and should answer
 *   "maybe" for bytes it cannot read.
 * name(state) returns the policy's stable NUL-terminated name; change it
 *   whenever the filter format changes. "leveldb.BuiltinBloomFilter2" is
 *   the built-in bloom's (a policy of that name must make the same filters).
 * destructor (may be NULL) runs exactly once, from
 *   shale_filter_policy_destroy, with state. state is borrowed.
 * The filter must agree with the comparator: keys the comparator finds
 * equal must match each other's filters. Every callback may be called from
 * many threads at once (flushes, compactions and reads), and must not call
 * into the database.
 *
 * Returns the policy, owned by the caller; NULL when a callback other than
 * destructor is NULL (SHALE_EINVAL) or memory runs out.
 */
SHALE_EXPORT shale_filter_policy *shale_filter_policy_create(void *state, void (*destructor)(void *),
    int (*create_filter)(void *state, const void *const *keys, const size_t *klens, size_t n,
                         void **filter, size_t *flen),
    int (*key_may_match)(void *state, const void *key, size_t klen, const void *filter, size_t flen),
    const char *(*name)(void *state));
/* Runs the destructor and frees. Only after every database using it is
 * closed. NULL: no-op. */
SHALE_EXPORT void shale_filter_policy_destroy(shale_filter_policy *);
/*
 * shale_cache_create_lru: a block cache of about capacity_bytes of
 * uncompressed blocks, in 16 LRU shards; a block larger than a shard's
 * share (capacity / 16) is never kept. Thread-safe and shareable by several
 * databases (shale_options_set_cache), which then compete for it. NULL
 * when out of memory. The caller destroys it with shale_cache_destroy
 * (NULL: no-op), only after every database using it is closed.
 */
SHALE_EXPORT shale_cache *shale_cache_create_lru(size_t capacity_bytes);
SHALE_EXPORT void shale_cache_destroy(shale_cache *);

/* ---- maintenance ---------------------------------------------------------- */

/*
 * shale_compact_range: flushes the memtable, then compacts every level's
 * overlap with the user keys [begin, end] down to the lowest level that
 * holds any of it, dropping overwritten values and deletion markers no
 * snapshot needs. begin NULL = from the first key, end NULL = to the last
 * (blen/elen are then ignored); both NULL compacts everything. Waits until
 * done and the replaced files are deleted; other reads and writes go on
 * meanwhile (flushes too), while background compactions pause.
 *
 * Returns SHALE_OK, or SHALE_EINVAL (db NULL or read-only), SHALE_ECLOSED,
 * or the error of the flush or compaction that failed (EIO, ENOSPC,
 * ECORRUPT on damage in an input, ...). A failure other than ENOSPC also
 * becomes the database's background error (doc/api.md, "Codes").
 * Threads: any. The compaction runs in the calling thread, after the
 * background compactions already running have finished.
 */
SHALE_EXPORT int shale_compact_range(shale_db *db, const void *begin, size_t blen,
                                     const void *end, size_t elen);
/*
 * shale_property: a property of the database as text ("shale.stats",
 * "shale.num-files-at-level<N>", "shale.sstables",
 * "shale.approximate-memory-usage", also under "leveldb."; doc/api.md,
 * "Properties").
 *
 * Returns a malloc'd NUL-terminated string, the caller's, freed with
 * shale_free; NULL if the property is unknown, or on failure (db or name
 * NULL: SHALE_EINVAL; closing: SHALE_ECLOSED; out of memory), with
 * shale_errmsg set in the failure cases. Any thread.
 */
SHALE_EXPORT char *shale_property(shale_db *db, const char *name);
/*
 * shale_approximate_sizes: for i in 0..n-1, sizes[i] = approximate bytes of
 * table files holding keys in [starts[i], limits[i]) (compressed, as on
 * disk; memtables not counted; 0 when limit <= start). The arrays hold n
 * entries each and are read (or written) during the call only.
 *
 * Returns SHALE_OK, SHALE_EINVAL (db NULL, n < 0, an array NULL with n > 0),
 * SHALE_ENOMEM or SHALE_ECLOSED. Any thread.
 */
SHALE_EXPORT int shale_approximate_sizes(shale_db *db, int n,
    const void *const *starts, const size_t *start_lens,
    const void *const *limits, const size_t *limit_lens, uint64_t *sizes);
/*
 * shale_checkpoint: creates dir (which must not exist; its parent must)
 * holding an openable, synced copy of the database with every write that
 * completed before the call (and possibly some that completed during it).
 * Tables are hard-linked (copied across file systems), the live logs
 * copied, and a fresh MANIFEST written. Returns only when the copy is
 * complete and synced; on failure what was created is removed.
 *
 * Returns SHALE_OK, or SHALE_EINVAL (db NULL or read-only, dir empty, too
 * long or existing), SHALE_ECLOSED, or the file system's error (EIO,
 * ENOSPC). Any thread; writes go on meanwhile (obsolete files are kept
 * until it is done).
 */
SHALE_EXPORT int shale_checkpoint(shale_db *db, const char *dir);
/*
 * shale_destroy_db: deletes the database at path: its LOCK, CURRENT,
 * MANIFESTs, logs, tables, temporary and info-log files (nothing else), then
 * the directory if that left it empty. A path that does not exist is
 * SHALE_OK. opt may be NULL.
 *
 * Returns SHALE_OK, or SHALE_EINVAL (path empty or too long), SHALE_EBUSY
 * (open for writing, here or in another process; read-only handles are not
 * seen, and must be closed first), or the file system's error.
 */
SHALE_EXPORT int shale_destroy_db(const char *path, const shale_options *opt);
/*
 * shale_repair_db: rebuilds a damaged or half-lost database (no CURRENT, a
 * damaged or missing MANIFEST, damaged tables or logs) from every record it
 * can read, into one that opens; each key keeps its newest readable
 * version, though the whole may be a state that never existed at one
 * instant. Files with damage are moved to <path>/lost/, never deleted; the
 * info log says what was kept and set aside. On a healthy database it keeps
 * every key and value. Needs free space about the size of the database. A
 * repair cut short by a crash leaves the database as it was; run it again.
 *
 * opt  the comparator (its name must match the MANIFEST's), the info log
 *      and the shape of the new tables; NULL for the defaults.
 *
 * Returns SHALE_OK, or SHALE_EBUSY (the database is open), SHALE_EINVAL
 * (path empty, missing or holding no database file; absurd options;
 * another comparator), SHALE_ENOTSUP (a table uses a codec not built in),
 * or the error of the operation that failed. Details: doc/api.md, "Repair".
 */
SHALE_EXPORT int shale_repair_db(const char *path, const shale_options *opt);

#ifdef __cplusplus
}
#endif
#endif /* SHALE_H */
