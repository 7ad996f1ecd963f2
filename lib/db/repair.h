/*
 * The state of one shale_repair_db, shared by repair.c (reading the old
 * files, installing the result) and repair_merge.c (merging what was read
 * into the new tables). A repair runs on the calling thread alone: nothing
 * here is shared with another thread.
 */
#ifndef SHALE_DB_REPAIR_H
#define SHALE_DB_REPAIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/db/options.h"
#include "lib/util/buf.h"
#include "lib/util/filename.h"
#include "lib/util/ikey.h"
#include "lib/util/logger.h"
#include "memtable/memtable.h"
#include "sstable/table_options.h"

/* Where unreadable files are set aside, inside the DB directory. */
#define REPAIR_LOST_DIR "lost"

/* A file of the old database: a MANIFEST, a WAL or a table. */
struct repair_input {
	char name[64];         /* in the DB directory */
	enum file_type type;
	uint64_t number;
	int damaged;           /* something in it could not be read: it goes to lost/ */
	int unreadable;        /* nothing in it could be read */
	char lost_name[96];    /* its name in lost/ once linked there, "" before */
	int move_late;         /* no hard link possible: renamed into lost/ at the end */
	uint64_t kept;         /* MANIFEST edits, WAL records or table entries read */
	uint64_t kept_bytes;
	uint64_t dropped;      /* damage reports, skipped records or damaged blocks */
	uint64_t dropped_bytes;/* WAL bytes the reader dropped */
	char reason[160];      /* the first damage, "" when none */
};

/* One input of the merge. */
enum repair_source_kind {
	REPAIR_SRC_TABLE, /* an old table, read with the salvage iterator */
	REPAIR_SRC_MEM,   /* WAL records replayed into a memtable */
	REPAIR_SRC_TEMP,  /* a temporary table this repair wrote (a spilled memtable, a merge pass) */
};

struct repair_source {
	enum repair_source_kind kind;
	struct repair_input *in; /* REPAIR_SRC_TABLE */
	struct memtable *mem;    /* REPAIR_SRC_MEM: one reference, owned */
	uint64_t number;         /* REPAIR_SRC_TEMP: NNNNNN.dbtmp */
};

/* A table of the result. */
struct repair_output {
	uint64_t number;
	uint64_t size;
	struct buf smallest, largest; /* internal keys */
};

struct repairer {
	const char *dbname;
	struct env *env;
	struct logger *log;               /* NULL: no info log */
	const struct shale_options *opt;  /* resolved: defaults filled in */
	const struct comparator *ucmp;
	struct ikey_comparator icmp;
	struct table_options topt;        /* for every table written */

	uint64_t next_number;  /* past every file number seen or used */
	uint64_t max_seq;      /* the highest sequence number seen */

	struct repair_input *inputs;
	size_t ninputs;
	struct repair_source *sources;
	size_t nsources, capsources;
	struct repair_output *outputs;
	size_t noutputs, capoutputs;

	/* the WAL replay: the memtable being filled, and the sequence its next
	 * record must start at or above (else it starts a new memtable) */
	struct memtable *mem;
	uint64_t mem_next_seq;

	/* figures for the report */
	uint64_t out_entries, out_bytes;  /* entries and bytes of the new tables */
	uint64_t shadowed;                /* older versions dropped */
	uint64_t deleted;                 /* of those, deletion markers */
	int merge_passes;                 /* passes before the final one */
};

static inline int repair_is_input_type(enum file_type t)
{
	return t == FILE_MANIFEST || t == FILE_LOG || t == FILE_TABLE;
}

static inline void repair_input_path(const struct repairer *r, const struct repair_input *in, char *out,
                                     size_t cap)
{
	snprintf(out, cap, "%s/%s", r->dbname, in->name);
}

/* A fresh file number. */
static inline uint64_t repair_new_number(struct repairer *r)
{
	return r->next_number++;
}

/* repair_read.c. Lists the directory into r->inputs (MANIFESTs, then WALs,
 * then tables, each by number) and notes every file number there and in
 * lost/. */
int repair_scan(struct repairer *r);
/* Reads a MANIFEST, salvaging, for its comparator name (SHALE_EINVAL when it
 * is not the options'), last sequence and file numbers. */
int repair_read_manifest(struct repairer *r, struct repair_input *in);
/* Replays a WAL into r->mem (spilling memtables that fill or that a record
 * going back in sequence would make hold a (key, sequence) twice), from each
 * next intact block after damage, skipping malformed records. */
int repair_replay_wal(struct repairer *r, struct repair_input *in);

/* repair_merge.c. Appends a merge source (its memtable reference moves to the repairer). */
int repair_add_source(struct repairer *r, const struct repair_source *s);

/* Writes mem's entries to a temporary table (NNNNNN.dbtmp, deleted when the
 * repair ends) that becomes a merge source. mem stays the caller's. */
int repair_spill_memtable(struct repairer *r, struct memtable *mem);

/* Merges every source, keeping each user key's newest entry (a deletion
 * marker too, see repair_merge.c), into new tables NNNNNN.ldb, each synced, cut at
 * max_file_size, listed in r->outputs. Sources beyond the number of files
 * that may be open at once are first merged into temporaries. Damage in an
 * old table is recorded in its input (the table is salvaged); any other
 * failure is returned. Frees the sources. */
int repair_merge_all(struct repairer *r);

#endif
