/*
 * Versions and the version set.
 *
 * A version is an immutable set of table files per level: level 0 ordered
 * newest first (highest file number first; its files may overlap), levels
 * 1..6 ordered by smallest key and disjoint. Versions are reference counted;
 * an iterator or a compaction pins the version it started from, and a file is
 * deleted only when no live version names it.
 *
 * The version set owns the current version, the list of live versions, the
 * counters (next file number, last sequence, log numbers) and the MANIFEST.
 * Every change goes through vset_log_and_apply, one at a time, in the order
 * logged, with the DB mutex released while the MANIFEST is written.
 *
 * Locking: every field and every function here requires the DB mutex unless
 * it says otherwise. Version contents are immutable, so a thread holding a
 * reference may read them without the mutex.
 */
#ifndef SHALE_LIB_VERSION_SET_H
#define SHALE_LIB_VERSION_SET_H

#include <stdint.h>

#include "lib/options.h"
#include "lib/util/ikey.h"
#include "lib/util/iter.h"
#include "lib/util/logger.h"
#include "lib/util/thread.h"
#include "lib/util/u64map.h"
#include "lib/version_edit.h"
#include "sstable/table_cache.h"
#include "wal/wal_writer.h"

struct version {
	struct version_set *vset;
	struct version *prev, *next; /* the live versions, a circular list */
	int refs;
	struct file_meta **files[NUM_LEVELS];
	int nfiles[NUM_LEVELS];
	uint64_t level_bytes[NUM_LEVELS];
};

struct version_set {
	const char *dbname;
	struct env *env;
	const struct shale_options *opt;
	struct table_cache *table_cache;
	const struct comparator *icmp;  /* internal key comparator */
	const struct comparator *ucmp;  /* user comparator */
	struct logger *info_log;
	struct mutex *mu;               /* the DB mutex */

	uint64_t next_file_number;
	uint64_t manifest_file_number; /* the live MANIFEST (CURRENT names it) */
	uint64_t last_sequence;
	uint64_t log_number;      /* WALs numbered below this are obsolete */
	uint64_t prev_log_number; /* 0, or a WAL still needed (LevelDB's old scheme) */

	struct wfile *manifest_file;    /* NULL until the first log_and_apply */
	struct wal_writer manifest_log;
	uint64_t manifest_size;
	int manifest_busy;              /* a log_and_apply is writing */
	struct condvar manifest_cv;     /* signalled when manifest_busy clears */
	int manifest_broken;            /* the last MANIFEST write failed */

	struct version dummy;           /* head of the live version list */
	struct version *current;
	struct buf compact_pointer[NUM_LEVELS]; /* internal keys; empty = none */
	/* A file whose reads cost others too often (0 = none): read-triggered compaction. */
	uint64_t seek_file_number;
	int seek_level;
	uint64_t level_max_bytes[NUM_LEVELS];
};

/* Borrowed pointers must outlive the set. */
int vset_init(struct version_set *vs, const char *dbname, struct env *env,
              const struct shale_options *opt, struct table_cache *tc,
              const struct comparator *icmp, struct logger *info_log, struct mutex *mu);
/* REQUIRES: every version but current unreferenced. No mutex needed. */
void vset_destroy(struct version_set *vs);

/* Reads CURRENT and the MANIFEST it names and installs the version they
 * describe. Checks the comparator name, the presence of the log number, the
 * next file number and the last sequence, and level invariants. */
int vset_recover(struct version_set *vs);

/* Applies edit to the current version, logs it to the MANIFEST (creating a
 * fresh MANIFEST holding a snapshot, and pointing CURRENT at it, when there is
 * none yet, the last write failed, or it grew past max_manifest_size), and
 * installs the result as current. Fills in the log numbers, next file number
 * and last sequence the edit leaves unset. REQUIRES: mu held; releases it
 * while writing. On failure the current version is unchanged. */
int vset_log_and_apply(struct version_set *vs, struct version_edit *edit);

static inline uint64_t vset_new_file_number(struct version_set *vs)
{
	return vs->next_file_number++;
}

static inline void vset_mark_file_number_used(struct version_set *vs, uint64_t n)
{
	if (vs->next_file_number <= n)
		vs->next_file_number = n + 1;
}

void version_ref(struct version *v);
void version_unref(struct version *v);

/* Adds every table file named by a live version to live (values unused). */
int vset_add_live_files(struct version_set *vs, struct u64map *live);

/* Points <dir>/CURRENT at MANIFEST-number: temp file, sync, rename,
 * directory sync. No mutex needed. */
int manifest_set_current(struct env *env, const char *dir, uint64_t number);
/* Writes <dir>/MANIFEST-number holding one record, synced, and points
 * CURRENT at it (a new database, a checkpoint). No mutex needed. */
int manifest_create(struct env *env, const char *dir, uint64_t number, struct slice record);

/* Encodes the current state as one edit (a MANIFEST snapshot). */
int vset_snapshot_edit(struct version_set *vs, struct version_edit *e);

/* ---- reading a version (a reference held; no mutex needed) ---- */

/* A file a read has to charge for a wasted seek (f NULL: none). */
struct seek_charge {
	struct file_meta *f;
	int level;
};

/* Looks user_key up at sequence seq. SHALE_OK with *valp, *vlenp malloc'd,
 * SHALE_NOTFOUND (absent or deleted), or an error. When more than one file
 * had to be read, *charge names the first (see vset_charge_seek). */
int version_get(struct version *v, const struct read_opts *ro, struct slice user_key, uint64_t seq,
                void **valp, size_t *vlenp, struct seek_charge *charge);
/* For an iterator's read sample at ikey: when two or more files hold the
 * key's range, *charge names the first. */
void version_read_sample(struct version *v, struct slice ikey, struct seek_charge *charge);
/* Charges a seek to the file (no mutex); returns 1 when its allowance is
 * used up, and then, under mu, vset_set_seek_target should be called. */
int vset_charge_seek(const struct seek_charge *charge);
/* Records the file for read-triggered compaction if none is waiting. REQUIRES: mu. */
void vset_set_seek_target(struct version_set *vs, const struct seek_charge *charge);

/* Appends iterators over the version's tables to its (level 0: one per file,
 * newest first; other levels: one per non-empty level). Each holds table
 * handles but not the version: the caller keeps the version referenced.
 * Returns 0 or SHALE_ENOMEM (iterators added so far stay in its). */
int version_add_iterators(struct version *v, const struct read_opts *ro, struct iter **its, int *n);

/* An iterator over a sorted, disjoint run of files (a level >= 1 or part of
 * one). The array must outlive the iterator. NULL when memory runs out. */
struct iter *vset_concat_iter(struct version_set *vs, const struct read_opts *ro,
                              struct file_meta **files, int n);

/* Files of level overlapping [begin, end] (user keys; NULL = open). For
 * level 0 the range grows to cover every file that overlaps it transitively.
 * *out is malloc'd (free it). */
int version_overlapping_inputs(struct version *v, int level, const struct slice *begin,
                               const struct slice *end, struct file_meta ***out, int *n);
/* 1 when some file of level overlaps [smallest, largest] (user keys; NULL = open). */
int version_overlap_in_level(struct version *v, int level, const struct slice *smallest,
                             const struct slice *largest);
/* Approximate file bytes before ikey across all levels. */
uint64_t version_approximate_offset(struct version *v, struct slice ikey);
/* Index of the first file in a sorted level whose largest >= ikey (nfiles if none). */
int version_find_file(const struct version_set *vs, struct file_meta **files, int n, struct slice ikey);

#endif
