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
 * counters (next file number, last sequence, log numbers) and the MANIFEST
 * (manifest.h). It also holds the database mutex `mu`: everything the set
 * keeps is guarded by it, and the database guards its own state with the
 * same mutex (lib/db/db_impl.h), so one lock orders both.
 *
 * Locking: each function says what it needs with SHALE_REQUIRES(vs->mu) or
 * SHALE_EXCLUDES(vs->mu) (clang checks it, lib/util/thread.h). Version
 * contents are immutable, so a thread holding a reference reads them without
 * the mutex.
 */
#ifndef SHALE_VERSION_VERSION_H
#define SHALE_VERSION_VERSION_H

#include <stdint.h>

#include "lib/util/comparator.h"
#include "lib/util/ikey.h"
#include "lib/util/iter.h"
#include "lib/util/logger.h"
#include "lib/util/thread.h"
#include "lib/util/u64map.h"
#include "lib/version/version_edit.h"
#include "sstable/table_cache.h"
#include "wal/wal_writer.h"

/* The engine settings the version layer and compaction read, filled from the
 * public options by the database (lib/db). Plain data, copied by vset_init. */
struct vset_config {
	uint64_t max_file_size;            /* compaction output files are cut here */
	int l0_compaction_trigger;         /* level-0 files that make level 0 due */
	uint64_t max_bytes_for_level_base; /* level-1 budget */
	int level_multiplier;              /* each level's budget over the one above */
	uint64_t max_manifest_size;        /* a MANIFEST past this is replaced */
};

struct version {
	struct version_set *vset;
	struct version *prev, *next; /* the live versions, a circular list (mu) */
	int refs;                    /* (mu) */
	struct file_meta **files[NUM_LEVELS];
	int nfiles[NUM_LEVELS];
	uint64_t level_bytes[NUM_LEVELS];
};

struct version_set {
	struct mutex mu;                /* the database mutex */
	int initialised;                /* vset_init succeeded (vset_destroy's guard) */
	const char *dbname;
	struct env *env;
	struct vset_config cfg;
	struct table_cache *table_cache;
	const struct comparator *icmp;  /* internal key comparator */
	const struct comparator *ucmp;  /* user comparator */
	struct logger *info_log;

	uint64_t next_file_number;      /* (mu) */
	uint64_t manifest_file_number;  /* (mu) the live MANIFEST (CURRENT names it) */
	uint64_t last_sequence;         /* (mu) */
	uint64_t log_number;            /* (mu) WALs numbered below this are obsolete */
	uint64_t prev_log_number;       /* (mu) 0, or a WAL still needed (LevelDB's old scheme) */

	struct wfile *manifest_file;    /* (manifest_busy) NULL until the first log_and_apply */
	struct wal_writer manifest_log; /* (manifest_busy) */
	uint64_t manifest_size;         /* (manifest_busy) */
	int manifest_busy;              /* (mu) a log_and_apply is writing */
	struct condvar manifest_cv;     /* signalled when manifest_busy clears */
	int manifest_broken;            /* (mu) the last MANIFEST write failed */

	struct version dummy;           /* (mu) head of the live version list */
	struct version *current;        /* (mu) */
	struct buf compact_pointer[NUM_LEVELS]; /* (mu) internal keys; empty = none */
	/* (mu) A file whose reads cost others too often (0 = none): read-triggered compaction. */
	uint64_t seek_file_number;
	int seek_level;
	uint64_t level_max_bytes[NUM_LEVELS];   /* budgets from cfg, fixed at init */
};

/* Initialises vs and its mutex with an empty current version. The borrowed
 * pointers must outlive the set; cfg is copied. On failure vs is left zeroed. */
int vset_init(struct version_set *vs, const char *dbname, struct env *env, const struct vset_config *cfg,
              struct table_cache *tc, const struct comparator *icmp, const struct comparator *ucmp,
              struct logger *info_log);
/* Frees the set and its mutex. REQUIRES: no other thread uses the set, and
 * every version but current is unreferenced. Safe on a zeroed struct. */
void vset_destroy(struct version_set *vs) SHALE_EXCLUDES(vs->mu);

static inline uint64_t vset_new_file_number(struct version_set *vs) SHALE_REQUIRES(vs->mu)
{
	return vs->next_file_number++;
}

static inline void vset_mark_file_number_used(struct version_set *vs, uint64_t n) SHALE_REQUIRES(vs->mu)
{
	if (vs->next_file_number <= n)
		vs->next_file_number = n + 1;
}

void version_ref(struct version_set *vs, struct version *v) SHALE_REQUIRES(vs->mu);
/* NULL ok. */
void version_unref(struct version_set *vs, struct version *v) SHALE_REQUIRES(vs->mu);

/* Adds every table file named by a live version to live (values unused). */
int vset_add_live_files(struct version_set *vs, struct u64map *live) SHALE_REQUIRES(vs->mu);

/* ---- for manifest.c: making and installing versions ---- */

/* An empty version of vs (refs 0, not linked). NULL: ENOMEM, message set. */
struct version *version_new(struct version_set *vs);
/* Frees an unlinked version, dropping its references to its files. */
void version_free(struct version *v);
/* Makes v current (taking a reference) and drops the old current's. */
void vset_install_version(struct version_set *vs, struct version *v) SHALE_REQUIRES(vs->mu);

/* ---- reading a version (a reference held; no mutex needed) ---- */

/* A file a read has to charge for a wasted seek (f NULL: none). */
struct seek_charge {
	struct file_meta *f;
	int level;
};

/* Looks user_key up at sequence seq. SHALE_OK with *valp, *vlenp malloc'd,
 * SHALE_NOTFOUND (absent or deleted), or an error. When a file had to read
 * a data block for nothing (the answer was in a later file), *charge names
 * the first such file (see vset_charge_seek). */
int version_get(struct version *v, const struct read_opts *ro, struct slice user_key, uint64_t seq,
                void **valp, size_t *vlenp, struct seek_charge *charge);
/* For an iterator's read sample at ikey: when two or more files hold the
 * key's range, *charge names the first. */
void version_read_sample(struct version *v, struct slice ikey, struct seek_charge *charge);
/* Charges a seek to the file (no mutex); returns 1 when its allowance is
 * used up, and then, under mu, vset_set_seek_target should be called. */
int vset_charge_seek(const struct seek_charge *charge);
/* Records the file for read-triggered compaction if none is waiting. */
void vset_set_seek_target(struct version_set *vs, const struct seek_charge *charge) SHALE_REQUIRES(vs->mu);

/* Appends iterators over the version's tables to its (level 0: one per file,
 * newest first; other levels: one per non-empty level). They read through
 * the files' pinned tables (table_cache_iter_pinned) and do not hold the
 * version: the caller keeps it referenced until they are destroyed.
 * Returns 0 or SHALE_ENOMEM (iterators added so far stay in its). */
int version_add_iterators(struct version *v, const struct read_opts *ro, struct iter **its, int *n);

/* An iterator over a sorted, disjoint run of files (a level >= 1 or part of
 * one), read through their pinned tables. The array, and a version that
 * lists the files, must outlive the iterator. NULL when memory runs out. */
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
