/*
 * Version edits: the records of the MANIFEST (doc/format.md, "MANIFEST version
 * edit"). An edit owns copies of every key and name it holds.
 */
#ifndef SHALE_VERSION_VERSION_EDIT_H
#define SHALE_VERSION_VERSION_EDIT_H

#include <stdatomic.h>
#include <stdint.h>
#include "lib/util/buf.h"

struct cache_handle;

/* Levels 0..NUM_LEVELS-1, as LevelDB (its MANIFEST rejects level >= 7). */
#define NUM_LEVELS 7

/* Metadata of one table file. Shared by the versions that hold it (refs is
 * guarded by the DB mutex). */
struct file_meta {
	int refs;
	uint64_t number;
	uint64_t size;
	struct slice smallest; /* internal keys; bytes owned (one allocation, after the struct) */
	struct slice largest;
	/* Reads this file costs other files before it may be compacted away
	 * (read-triggered compaction); decremented by readers without mu. */
	atomic_int allowed_seeks;
	/* The table cache's reference to this file's open table, kept for
	 * point reads (sstable/table_cache.h, "Pinning"); released by
	 * version_free with the last version holding the file. */
	_Atomic(struct cache_handle *) pinned;
};

/* Allocates a file_meta with copies of the keys, refs = 0. NULL: ENOMEM. */
struct file_meta *file_meta_new(uint64_t number, uint64_t size, struct slice smallest, struct slice largest);
void file_meta_free(struct file_meta *f);

struct edit_file {
	int level;
	struct file_meta *f; /* owned by the edit until handed to a version */
};

struct edit_deleted {
	int level;
	uint64_t number;
};

struct edit_pointer {
	int level;
	struct buf key;
};

struct version_edit {
	int has_comparator, has_log_number, has_prev_log_number, has_next_file_number, has_last_sequence;
	struct buf comparator;
	uint64_t log_number;
	uint64_t prev_log_number;
	uint64_t next_file_number;
	uint64_t last_sequence;
	struct edit_pointer *pointers;
	size_t npointers;
	struct edit_deleted *deleted;
	size_t ndeleted, capdeleted;
	struct edit_file *added;
	size_t nadded, capadded;
};

void edit_init(struct version_edit *e);
/* Frees what the edit owns (including file_metas not handed over). */
void edit_free(struct version_edit *e);
void edit_clear(struct version_edit *e);

int edit_set_comparator(struct version_edit *e, const char *name);
static inline void edit_set_log_number(struct version_edit *e, uint64_t n) { e->has_log_number = 1; e->log_number = n; }
static inline void edit_set_prev_log_number(struct version_edit *e, uint64_t n) { e->has_prev_log_number = 1; e->prev_log_number = n; }
static inline void edit_set_next_file(struct version_edit *e, uint64_t n) { e->has_next_file_number = 1; e->next_file_number = n; }
static inline void edit_set_last_sequence(struct version_edit *e, uint64_t s) { e->has_last_sequence = 1; e->last_sequence = s; }
int edit_set_compact_pointer(struct version_edit *e, int level, struct slice key);
/* Adds a new file (keys copied). */
int edit_add_file(struct version_edit *e, int level, uint64_t number, uint64_t size,
                  struct slice smallest, struct slice largest);
/* Adds an existing file_meta (takes a reference-free pointer: the edit frees
 * it on edit_free unless a version took it over). */
int edit_add_meta(struct version_edit *e, int level, struct file_meta *f);
int edit_delete_file(struct version_edit *e, int level, uint64_t number);

int edit_encode(const struct version_edit *e, struct buf *out);
/* Decodes a record; SHALE_ECORRUPT naming `what` (the MANIFEST) and the bad
 * field. e must be freshly initialised. */
int edit_decode(struct version_edit *e, struct slice in, const char *what);

#endif
