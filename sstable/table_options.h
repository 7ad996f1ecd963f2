/*
 * Options of the table layer, filled by the database from shale_options.
 * The structs are plain values; every pointer in them is borrowed and must
 * outlive the tables that use it.
 */
#ifndef SHALE_SSTABLE_TABLE_OPTIONS_H
#define SHALE_SSTABLE_TABLE_OPTIONS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/util/cache.h"
#include "lib/util/comparator.h"
#include "lib/util/worker.h"
#include "sstable/filter_policy.h"

/* Which way a database's scans have gone faster: with the blocks ahead
 * decoded by the scan worker, or each block decoded by the scan itself
 * (sstable/table.c, "Pacing"). On a machine where the decoded block costs
 * the scan more to take from the other core than to decode (cores that share
 * no cache, a busy second CPU), the worker makes scans slower, not faster;
 * the scans measure both ways and go the faster one. Owned by the
 * database, shared by its scans, zeroed before the first scan. */
struct scan_pace {
	/* the scan thread's nanoseconds per block, a running average by
	 * direction (0 forward, 1 backward) and way (0 ahead, 1 alone); 0 until
	 * a window of that kind was measured */
	_Atomic uint64_t ns[2][2];
	atomic_uint windows;     /* windows begun, for the probes */
	uint64_t (*clock)(void); /* NULL: thread_mono_ns (tests set their own) */
};

/* A scan measures its blocks in windows of SCAN_PACE_WINDOW: each goes one
 * way, the faster one so far, but every SCAN_PACE_PROBE-th window goes the
 * other way, so that the slower way's figure follows the machine. */
#define SCAN_PACE_WINDOW 64
#define SCAN_PACE_PROBE 16

struct table_options {
	/* Order of the keys stored in the table: for database tables, the
	 * internal key comparator (lib/util/ikey.h). */
	const struct comparator *cmp;
	/* Nonzero when keys are internal keys: bloom filters are then keyed on
	 * the user key (the key without its 8-byte tag), as LevelDB does. */
	int internal_keys;
	size_t block_size;           /* target uncompressed size of a data block */
	int restart_interval;        /* keys between restart points in data blocks */
	int compression;             /* SHALE_COMPRESSION_* for data, index, metaindex */
	int bloom_bits_per_key;      /* 0 = write no filter */
	/* Write the bloom filter block as one filter for the whole table
	 * (sstable/filter_block.h) rather than one per 2 KiB of data. */
	int table_filter;
	/* A user filter policy, or NULL. When set it replaces the built-in
	 * bloom: the builder writes only its filter block ("filter.<name>",
	 * LevelDB's layout; bloom_bits_per_key and table_filter are ignored),
	 * and readers use only a block of that name — never the bloom filter,
	 * which may disagree with the order the policy was written for. */
	const struct filter_policy *filter_policy;
	struct cache *block_cache;   /* NULL = no block cache */
	/* Decodes the blocks ahead of a scan that asks for it (read_opts'
	 * scan_ahead; sstable/table.c, "Scan-ahead"), or NULL: none. Its
	 * owner sets it to linger TABLE_SCAN_WORKER_LINGER_NS. */
	struct worker *scan_worker;
	/* With a scan_worker: how scans choose, window by window, between the
	 * worker and decoding alone (struct scan_pace), or NULL: the worker
	 * always. */
	struct scan_pace *scan_pace;
};

/* How long a scan worker polls for more blocks before it sleeps
 * (worker_set_linger). A scan queues a batch of blocks every 10-20 us; a
 * worker that slept between batches cost each batch a futex wake on the
 * scan's thread and, on a 2-vCPU virtual machine, often a wait for the
 * host to run the idle vCPU again, so the scan decoded the batch itself.
 * Lingering 50 us keeps the worker awake from one batch to the next: in
 * four scans of a copy of the comparison's database, context switches
 * 8,200-11,100 -> 720-5,000 (doc/performance.md, "What each change
 * bought"). */
#define TABLE_SCAN_WORKER_LINGER_NS 50000

struct read_opts {
	int verify_checksums;  /* check data-block CRCs read from disk (index,
	                          metaindex and filter blocks are always checked) */
	int fill_cache;        /* put data blocks read from disk in the block cache */
	int readahead;         /* set by a table's iterator while it scans, to
	                          the scan's direction (1 forward, -1 backward):
	                          read (from a mapped file, prefetch) the blocks
	                          on either side of each block it loads */
	int scan_ahead;        /* while readahead is set, have the blocks ahead
	                          decoded by the table options' scan_worker (a
	                          DB iterator's reads; not compactions') */
};

#endif
