/*
 * The database: shared state of the files lib/db/db_*.c.
 *
 * Threads: any number of user threads; one flush thread; `background_threads`
 * compaction threads. One mutex guards everything marked "mu" below: the
 * database mutex, which lives in the version set (vs.mu) because it guards
 * the set too. It is held briefly and never across file I/O: the info log is
 * only queued under it (logger_printf does no I/O) and written out by
 * db_unlock after the mutex is released. Lock rules are checked by clang
 * (SHALE_REQUIRES / SHALE_EXCLUDES below, lib/util/thread.h).
 *
 * Write path (db_write.c): writers queue; the head (the leader) merges the
 * queued batches into one group, assigns sequences, releases mu, appends one
 * WAL record (syncs if any member asked), inserts into the memtable, retakes
 * mu, publishes the last sequence and wakes the group. Only the leader touches
 * the WAL and switches memtables, so both happen with mu released.
 *
 * State machine of the memtables: mem takes writes; when it is full the leader
 * syncs the old WAL, starts a new one and moves mem to imm (at most one);
 * the flush thread writes imm to a level-0 table numbered when it became
 * immutable, records it in the MANIFEST with the new WAL's number, and clears
 * imm. Writers wait (on bg_cv) only while imm is still set when mem fills
 * again, or level 0 holds l0_stop_trigger files.
 *
 * Errors: bg_error is sticky. A hard error (EIO, ECORRUPT, ...) fails every
 * later write until reopen. ENOSPC is soft: writes fail with it until a
 * background thread retries the failed work (after bg_retry_micros) and
 * succeeds; a WAL that failed is replaced (and the memtable flushed) first.
 * A compaction that fails with ENOSPC sets no error: it backs off and is
 * retried (db_compact.c), and only level 0's triggers hold writes back.
 */
#ifndef SHALE_DB_DB_IMPL_H
#define SHALE_DB_DB_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "lib/db/db_hooks.h"
#include "lib/db/options.h"
#include "lib/db/write_batch.h"
#include "lib/util/error.h"
#include "lib/util/ikey.h"
#include "lib/util/logger.h"
#include "lib/util/thread.h"
#include "lib/util/u64map.h"
#include "lib/util/worker.h"
#include "lib/version/manifest.h"
#include "lib/version/version.h"
#include "memtable/memtable.h"
#include "sstable/table_cache.h"
#include "wal/wal_writer.h"

struct compaction_state;

/* What a point read looks in, pinned as one: the memtables and the current
 * version of some instant. The DB keeps one (db->view) while it is current
 * and makes a new one when a reader finds the memtables or the version have
 * changed; readers take a reference with one lock round trip and drop it
 * without the lock (db_read.c). */
struct read_view {
	atomic_int refs;            /* the DB's while current, plus one per reader */
	struct memtable *mem, *imm;
	struct version *version;
	struct read_view *next_doomed; /* (mu) in shale_db.doomed_views */
};

struct writer {
	struct shale_batch *batch; /* NULL: a request to switch the memtable, or: */
	int flush_wal;             /* a request to hand the WAL's buffer to the OS */
	int sync;
	int recovery;              /* the background retry replacing a failed WAL */
	int done;
	int status;
	char msg[ERR_MSG_MAX];     /* the status's message, for the writer's thread */
	struct condvar cv;
	struct writer *next;
};

struct shale_snapshot {
	uint64_t seq;
	struct shale_snapshot *prev, *next;
};

/* Per-level counters for shale.stats (mu). */
struct level_stats {
	uint64_t micros;
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t count;
};

/* Recycling (db_iter.c): the merged internal iterator of a destroyed
 * shale_iter, kept for the next one made over the same memtables and
 * version with the same read options, so that a create/seek/destroy cycle
 * does not build and tear down a dozen iterators each time. */
struct iter_park {
	struct iter *it;            /* NULL: nothing parked */
	struct version *version;    /* the tree's reference */
	struct memtable *mem, *imm; /* what it was built over (its iterators hold them) */
	struct read_opts ro;
};

struct shale_db {
	char *dbname;
	struct shale_options opt;   /* resolved copy */
	struct env *env;
	struct env *owned_env;      /* created by the DB (mmap reads), destroyed at close */
	struct logger *info_log;
	struct file_lock *lock;
	struct ikey_comparator icmp;
	const struct comparator *ucmp;
	struct table_options topt;
	struct cache *block_cache;
	struct worker *scan_worker; /* decodes blocks ahead of scans (sstable/table.c) */
	struct scan_pace scan_pace; /* whether scans go faster with it or alone */
	shale_cache *owned_cache;   /* made by the DB when the options gave none */
	struct table_cache *table_cache;
	struct version_set vs;      /* holds mu, the database mutex */
	const struct db_test_hooks *hooks;

	struct condvar bg_cv;       /* background work finished; writers, compact_range and close wait on it */
	struct condvar flush_cv;    /* wakes the flush thread */
	struct condvar compact_cv;  /* wakes the compaction threads */
	int manual_compactions;     /* (mu) shale_compact_range calls running: background picks wait */

	/* write path (mu) */
	struct writer *writers_head, *writers_tail;
	struct shale_batch group;   /* used only by the leader, outside mu */
	struct memtable *mem;
	struct memtable *imm;
	uint64_t imm_table_number;  /* file number reserved for imm's table */
	struct wfile *logfile;      /* NULL after a failed WAL switch */
	uint64_t logfile_number;
	struct wal_writer log;
	int log_broken;             /* the WAL failed; nothing more is written to it */
	/* Records appended to the WAL but still in its user-space buffer, and
	 * since when (written by the leader; the flush thread hands them to the
	 * OS once they are opt.wal_flush_delay old, or the next leader does). */
	atomic_int wal_dirty;
	atomic_uint_fast64_t wal_dirty_since;

	/* reads (mu) */
	struct shale_snapshot snapshots; /* list head; oldest first */
	int live_iters;
	atomic_uint_fast64_t iter_seed; /* seeds each iterator's read sampling */
	atomic_int active_calls;    /* calls in progress that close must wait for */
	atomic_int closing;         /* set under mu; read without it by db_leave_unlocked */
	struct read_view *view;     /* (mu) what gets read: see db_read.c */
	struct iter_park park;      /* (mu) a destroyed iterator's tree: db_iter.c */
	/* a destroyed iterator's own struct, for the next shale_iter_create
	 * (db_iter.c, "Recycling"); taken and given by atomic exchange */
	_Atomic(struct shale_iter *) spare_iter;
	/* (mu) Stale read views no reader holds and a stale parked tree, let go
	 * under mu and freed by db_unlock once mu is released: each may hold
	 * the last reference to a memtable (an arena of megabytes) and a tree
	 * of iterators, too slow to free while writers wait for mu. */
	struct read_view *doomed_views;
	struct iter_park doomed_park;
	int created;                /* this open created the database (no CURRENT before) */

	/* background (mu unless atomic) */
	atomic_int shutting_down;
	pthread_t flush_thread;
	int flush_thread_started;
	pthread_t *compact_threads;
	int ncompact_threads;
	int bg_error;               /* 0, or the sticky code */
	int bg_soft;                /* bg_error is ENOSPC and clears on a successful retry */
	char bg_msg[ERR_MSG_MAX];
	struct u64map pending_outputs; /* table numbers being written */
	int deletions_disabled;     /* checkpoints linking files */
	int deleting;               /* db_delete_obsolete_files is deleting (without mu) */
	int delete_again;           /* another pass was asked for meanwhile */
	struct compaction_state *compactions;

	/* statistics (mu) */
	struct level_stats stats[NUM_LEVELS];
	uint64_t stall_micros;
	uint64_t max_stall_micros;
	uint64_t flushes;
};

/* ---- helpers shared by the db files ---- */

/* Records a background failure (keeping the first hard one). REQUIRES: mu;
 * the thread's message is the failure's. */
void db_set_bg_error(struct shale_db *db, int code) SHALE_REQUIRES(db->vs.mu);
/* Clears a soft (ENOSPC) error after a successful retry. REQUIRES: mu. */
void db_clear_soft_error(struct shale_db *db) SHALE_REQUIRES(db->vs.mu);
/* Returns the sticky error with its message copied to the calling thread, or 0. REQUIRES: mu. */
int db_bg_error(struct shale_db *db) SHALE_REQUIRES(db->vs.mu);

/* Deletes files nothing needs (see db_files.c). REQUIRES: mu; releases it
 * while deleting. at_open also removes leftover temporary files. */
void db_delete_obsolete_files(struct shale_db *db, int at_open) SHALE_REQUIRES(db->vs.mu);

/* Writes the memtable's contents to table `number` (synced; not yet in any
 * version) and adds it to edit at level 0. An empty memtable writes nothing.
 * No mutex needed. */
int db_write_level0_table(struct shale_db *db, struct memtable *mem, uint64_t number,
                          struct version_edit *edit, uint64_t *bytes_written);

/* The write path (db_write.c). batch NULL forces a memtable switch. */
int db_write(struct shale_db *db, int sync, struct shale_batch *batch, int recovery) SHALE_EXCLUDES(db->vs.mu);

/* Recovery (db_recover.c), before any other thread runs. db_recover: the
 * writable open (creating the database when allowed; sets created).
 * db_recover_read_only: replays into memory and writes nothing; when a live
 * writer changes the MANIFEST meanwhile, calls reset and starts over (a
 * bounded number of times, then SHALE_EBUSY). */
int db_recover(struct shale_db *db) SHALE_EXCLUDES(db->vs.mu);
int db_recover_read_only(struct shale_db *db, int (*reset)(struct shale_db *db)) SHALE_EXCLUDES(db->vs.mu);

/* Hands what the WAL's buffer holds to the OS, through the writer queue
 * (so it never races the leader). */
int db_wal_flush(struct shale_db *db) SHALE_EXCLUDES(db->vs.mu);

/* The flush thread (db_flush.c): started by open; joined once shutting_down
 * is set and the thread woken. */
int db_flush_start_thread(struct shale_db *db);
void db_flush_join_thread(struct shale_db *db);
/* Switches the memtable and waits until it is flushed. */
int db_flush_memtable(struct shale_db *db) SHALE_EXCLUDES(db->vs.mu);
/* Waits bg_retry_micros (or until woken) before retrying background work
 * after ENOSPC. REQUIRES: mu. */
void db_retry_wait(struct shale_db *db, struct condvar *cv) SHALE_REQUIRES(db->vs.mu);
/* Smallest sequence a live snapshot may read (mu). */
uint64_t db_smallest_snapshot(struct shale_db *db) SHALE_REQUIRES(db->vs.mu);

/* SHALE_EINVAL, naming fn, for a NULL or read-only database. */
int db_check_writable(struct shale_db *db, const char *fn);
/* Enters/leaves a call that close must wait for. REQUIRES: mu. */
int db_enter(struct shale_db *db) SHALE_REQUIRES(db->vs.mu);
void db_leave(struct shale_db *db) SHALE_REQUIRES(db->vs.mu);
/* The same leaving without the mutex (taken only to wake a waiting close). */
void db_leave_unlocked(struct shale_db *db) SHALE_EXCLUDES(db->vs.mu);
/* Drops the DB's reference to its read view (the last one: the view goes to
 * doomed_views, freed by the next db_unlock). */
void db_drop_view(struct shale_db *db) SHALE_REQUIRES(db->vs.mu);
/* Drops it only when it no longer matches the memtables and version (and
 * the parked iterator tree with it). */
void db_drop_stale_view(struct shale_db *db) SHALE_REQUIRES(db->vs.mu);
/* Frees the spare iterator struct (db_iter.c); at close, when no iterator
 * is left. */
void db_free_spare_iter(struct shale_db *db);
/* Lets the parked iterator tree go (only_stale: only when it no longer
 * matches the memtables and version) to doomed_park, freed by the next
 * db_unlock. */
void db_drop_parked_iter(struct shale_db *db, int only_stale) SHALE_REQUIRES(db->vs.mu);

/* Frees what db_unlock took from doomed_views and doomed_park (park may be
 * NULL; db_unlock.c). */
void db_free_doomed(struct shale_db *db, struct read_view *views, struct iter_park *park)
	SHALE_EXCLUDES(db->vs.mu);

/* Releases the database mutex, then frees the views and tree let go under
 * it and writes out the info-log lines queued under it. Every release of mu
 * in lib/db goes through here (cond waits aside), so neither waits long. */
static inline void db_unlock(struct shale_db *db) SHALE_RELEASE(db->vs.mu)
{
	if (db->doomed_views || db->doomed_park.it) {
		struct read_view *views = db->doomed_views;
		struct iter_park park = db->doomed_park;
		db->doomed_views = NULL;
		db->doomed_park.it = NULL;
		db->doomed_park.version = NULL;
		mutex_unlock(&db->vs.mu);
		db_free_doomed(db, views, &park);
	} else {
		mutex_unlock(&db->vs.mu);
	}
	logger_flush(db->info_log);
}

/* A new memtable for the database, with a lookup filter of 1/64 of the
 * write buffer (1 bit per 8 bytes: 128 KiB for 8 MiB, about 18 bits per
 * entry of db_bench's size; memtable/memtable.c). */
static inline int db_new_memtable(struct shale_db *db, struct memtable **out)
{
	return memtable_create_with_filter(db->ucmp, db->opt.write_buffer_size / 64, out);
}

static inline void db_hook(struct shale_db *db, enum db_hook_point p)
{
	if (db->hooks && db->hooks->at)
		db->hooks->at(db->hooks->arg, p);
}

#endif
