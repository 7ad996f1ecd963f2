/*
 * Salvage reading of a table, for repair: every entry of every readable data
 * block, in order, reading past the damage that table_iter stops at.
 *
 * Opening needs only the footer and the index block (the metaindex and the
 * filter are not read, so damage there loses nothing). Then each index entry
 * names a data block; the block is kept when its checksum verifies and it
 * decodes. Inside a kept block, entries are yielded until one does not
 * decode, is not a well-formed internal key (when opt->internal_keys), or
 * does not sort after the last key yielded: that entry ends the block (the
 * entries before it are kept). A block that cannot be read, an index entry
 * that is not a handle, and the rest of an index block that stops decoding
 * are each reported as one damaged block; reading goes on with the next
 * index entry. So the keys yielded always increase strictly, whatever the
 * file holds.
 *
 * Damage is SHALE_ECORRUPT from the format, or SHALE_EIO from the file (a
 * disk that fails under one block need not cost the others). Any other error
 * (SHALE_ENOMEM, SHALE_ENOTSUP for a codec not built in) is not damage: it
 * makes the iterator invalid with that status, as any iterator error does.
 *
 * The iterator is forward-only: seek_first, next, valid, key, value, status.
 * seek, seek_last and prev make it invalid with SHALE_EINVAL. Not
 * thread-safe. The block cache, if opt has one, is not used.
 */
#ifndef SHALE_SSTABLE_TABLE_SALVAGE_H
#define SHALE_SSTABLE_TABLE_SALVAGE_H

#include <stdint.h>
#include "lib/util/env.h"
#include "lib/util/iter.h"
#include "sstable/table_options.h"

/* What a salvage pass kept and dropped; seek_first zeroes it. */
struct table_salvage_report {
	uint64_t blocks_kept;    /* data blocks whose every entry was yielded */
	uint64_t blocks_damaged; /* blocks (or index entries) dropped in whole or in part */
	uint64_t entries;        /* entries yielded */
	uint64_t bytes;          /* their key and value bytes */
	char first_damage[160];  /* the message of the first damage ("" when none) */
};

/* Reads the footer and the index block of file (owned from now on: closed
 * with the iterator, or at once when this fails) of size bytes, and returns
 * a salvage iterator over the table in *out. report is borrowed: the caller
 * keeps it alive until the iterator is destroyed; the iterator updates it as
 * it moves. Fails when the footer or the index cannot be read (the table
 * cannot be salvaged at all): SHALE_ECORRUPT, the read error, or
 * SHALE_ENOMEM; the message names path. */
int table_salvage_open(const struct table_options *opt, struct rand_file *file, const char *path,
                       uint64_t size, struct table_salvage_report *report, struct iter **out);

#endif
