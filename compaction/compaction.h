/*
 * Leveled compaction: choosing what to compact (compaction.c) and doing it
 * (compaction_job.c). The database drives both (lib/db/db_compact.c).
 *
 * Concurrency: several compactions run at once when their key ranges do not
 * overlap in any level they read or write. Each running compaction is in a
 * registry and reserves the user-key range of all its inputs in its input
 * level and its output level; a candidate whose range meets a reservation in
 * one of its two levels waits. Data only moves down, and no compaction can
 * move a key into or out of a level another reserves for it, so a compaction
 * that finds no file for a key in the levels below its output (in the version
 * it started from) may drop that key's deletion marker.
 *
 * Locking: picking, registering and freeing require the database mutex
 * (vs->mu); running does not.
 */
#ifndef SHALE_COMPACTION_COMPACTION_H
#define SHALE_COMPACTION_COMPACTION_H

#include <stdatomic.h>
#include <stdint.h>

#include "lib/util/logger.h"
#include "lib/version/version.h"
#include "lib/version/version_edit.h"
#include "sstable/table_options.h"

struct compaction {
	int level;                        /* inputs from level and level+1; output to level+1 */
	int manual;
	int seek_triggered;               /* picked for the file reads charged (see lib/version/version.h) */
	uint64_t seek_file_number;
	struct version *input_version;    /* referenced while the compaction lives */
	struct file_meta **inputs[2];
	int ninputs[2];
	struct file_meta **grandparents;  /* level+2 files overlapping the range */
	int ngrandparents;
	struct buf smallest, largest;     /* user-key range of every input */
	uint64_t max_output_file_size;
	uint64_t max_grandparent_overlap;
	struct version_edit edit;         /* compact pointer; inputs and outputs added when done */
	struct compaction *next;          /* in the registry */
};

struct compaction_registry {
	struct compaction *running;
	int count;
};

/* The most needed compaction (highest score >= 1: level 0 by file count,
 * other levels by bytes over budget) that conflicts with nothing running;
 * *out is NULL when there is none. Advances the level's compact pointer. */
int compaction_pick(struct version_set *vs, const struct compaction_registry *reg, struct compaction **out)
	SHALE_REQUIRES(vs->mu);

/* A manual compaction of level's overlap with [begin, end] (user keys; NULL
 * = open), at most about max_file_size of inputs above level 0. *out NULL
 * and *conflict 0: nothing overlaps; *conflict 1: it must wait for a running
 * compaction. */
int compaction_pick_range(struct version_set *vs, const struct compaction_registry *reg, int level,
                          const struct slice *begin, const struct slice *end, struct compaction **out,
                          int *conflict) SHALE_REQUIRES(vs->mu);

/* A compaction that was not installed: what picked it is remembered so the
 * same work is retried (a read-triggered target is restored). */
void compaction_failed(struct version_set *vs, const struct compaction *c) SHALE_REQUIRES(vs->mu);
/* The registry is the database's, guarded by the database mutex (vs->mu). */
void compaction_register(struct compaction_registry *reg, struct compaction *c);
void compaction_unregister(struct compaction_registry *reg, struct compaction *c);
/* 1 when some running compaction reserves part of [smallest, largest] (user keys) in level. */
int compaction_range_reserved(const struct compaction_registry *reg, int level, struct slice smallest,
                              struct slice largest, const struct comparator *ucmp);

/* One input file, nothing to merge with below and little overlap further
 * down: the file can move down in the MANIFEST without being rewritten. */
int compaction_is_trivial_move(const struct compaction *c);
uint64_t compaction_input_bytes(const struct compaction *c, int which);
/* Unreferences the input version and frees. NULL ok. */
void compaction_free(struct version_set *vs, struct compaction *c) SHALE_REQUIRES(vs->mu);

/* ---- running (no mutex) ---- */

struct compaction_env {
	struct env *env;
	const char *dbname;
	const struct table_options *topt;
	struct version_set *vs;
	struct logger *info_log;
	uint64_t smallest_snapshot;       /* oldest sequence a live snapshot reads */
	atomic_int *shutting_down;        /* checked between entries: abandon when set */
	/* A new output file number, registered as a pending output (the
	 * callback takes the DB mutex). 0 when memory runs out. */
	uint64_t (*new_output)(void *arg);
	/* Forgets a pending output (after a failure or the install). */
	void (*drop_output)(void *arg, uint64_t number);
	void *arg;
};

struct compaction_stats {
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t entries_dropped;
};

/* Merges the inputs into new tables at level+1 (synced, directory synced)
 * and adds the edit that installs them (inputs deleted, outputs added). On
 * failure every output is deleted; damage in an input fails the compaction
 * (SHALE_ECORRUPT) rather than being dropped or copied. */
int compaction_run(struct compaction *c, const struct compaction_env *ce, struct compaction_stats *st);

#endif
