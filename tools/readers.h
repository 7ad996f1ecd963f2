/*
 * File readers for `shale verify` and the inspectors (dump-wal, dump-sst,
 * dump-manifest). These are the tool's only users of the library's internal
 * headers, and for a reason the public API cannot meet: they must see every
 * record of a damaged file and say at which offset each problem lies, where
 * the database (by design) stops at the first damage or refuses to open.
 * They use the WAL reader (wal/wal_reader.h, with its damage offsets), the
 * table format pieces (sstable/format.h, block.h, filter_block.h) and the
 * MANIFEST's version edits (lib/version/version_edit.h).
 *
 * Every problem goes to the visitor's problem callback with the file offset
 * it concerns and a description, and reading goes on where it can.
 */
#ifndef SHALE_TOOLS_READERS_H
#define SHALE_TOOLS_READERS_H

#include <stdint.h>
#include <stdio.h>

#include "lib/util/buf.h"
#include "lib/util/ikey.h"
#include "lib/version/version_edit.h"

typedef void (*problem_fn)(void *arg, uint64_t offset, const char *what);

/* The description of the calling thread's last library error, without its
 * "<kind>: " and "<path>: " prefixes. Borrowed until the next library call. */
const char *reader_reason(int rc, const char *path);

/* ---- logs (WAL, MANIFEST) ---- */

struct log_visitor {
	/* Each intact record in order, with the offset of its first fragment;
	 * data is borrowed for the call. */
	void (*record)(void *arg, uint64_t offset, struct slice data);
	problem_fn problem; /* damaged regions: "<reason> (<n> bytes dropped)" */
	void *arg;
};

struct log_summary {
	uint64_t size;      /* of the file */
	uint64_t records;   /* intact records */
	uint64_t torn_tail; /* bytes of a record cut short by the end of the file */
};

/* Reads every record of the log at path. 0, or the error that stopped the
 * reading (the file cannot be opened or read; message set). */
int log_walk(const char *path, const struct log_visitor *v, struct log_summary *s);

/* ---- tables ---- */

struct table_visitor {
	/* Each entry of each readable data block, in file order. parsed is
	 * NULL when the key is not a well-formed internal key. */
	void (*entry)(void *arg, struct slice ikey, const struct parsed_ikey *parsed, struct slice value);
	problem_fn problem;
	void *arg;
	/* Check that keys increase strictly in the internal order of the
	 * bytewise comparator (off for databases with another comparator). */
	int check_order;
};

#define TABLE_CODECS 5 /* none, snappy, lz4, zlib, unknown */

struct table_summary {
	uint64_t size;              /* of the file */
	int readable;               /* the footer and the index block were read */
	uint64_t data_blocks;       /* named by the index */
	uint64_t bad_blocks;        /* of them, unreadable or with a problem */
	uint64_t blocks_by_codec[TABLE_CODECS];
	uint64_t data_stored;       /* data block bytes as stored (without trailers) */
	uint64_t data_raw;          /* their bytes once decompressed */
	uint64_t entries, puts, deletions, bad_keys;
	uint64_t key_bytes, value_bytes; /* user key and value bytes */
	uint64_t min_seq, max_seq;
	uint64_t index_size, metaindex_size, filter_size;
	int has_filter;
	char filter_name[80];       /* the metaindex key after "filter." */
	struct buf first_key, last_key; /* internal keys (valid when entries > 0) */
};

void table_summary_free(struct table_summary *s);
extern const char *const table_codec_names[TABLE_CODECS];

/* Reads the table at path: the footer, the index, the metaindex and the
 * filter, then every data block (checksums verified), every entry (internal
 * keys, order, found by the filter), the index keys against the blocks they
 * separate. Returns 0 when it could look (problems go to the visitor), or
 * an error that is not about the file's contents (it cannot be opened,
 * memory). s is filled (free it with table_summary_free). */
int table_walk(const char *path, const struct table_visitor *v, struct table_summary *s);

/* ---- MANIFEST state ---- */

struct manifest_file {
	int level;
	uint64_t number, size;
	struct buf smallest, largest; /* internal keys */
};

/* The version a MANIFEST's edits add up to, as LevelDB's builder applies
 * them (deletions, then additions, per edit). */
struct manifest_state {
	int has_comparator, has_log_number, has_prev_log_number, has_next_file, has_last_sequence;
	struct buf comparator;
	uint64_t log_number, prev_log_number, next_file, last_sequence;
	uint64_t edits;
	struct manifest_file *files;
	size_t nfiles, cap;
};

void manifest_state_init(struct manifest_state *m);
void manifest_state_free(struct manifest_state *m);
/* 0 or SHALE_ENOMEM. */
int manifest_state_apply(struct manifest_state *m, const struct version_edit *e);
/* Sorts the files by level, then smallest key (bytewise internal order). */
void manifest_state_sort(struct manifest_state *m);

/* ---- printing ---- */

/* 'KEY' @ SEQ : put|del, or 'BYTES' (not an internal key); escaped (hex). */
void print_ikey(FILE *f, struct slice ik, int hex);
/* 'BYTES', escaped (hex). */
void print_quoted(FILE *f, struct slice s, int hex);

#endif
