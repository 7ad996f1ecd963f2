/*
 * Appends records to a log file (WAL or MANIFEST). Not thread-safe: the
 * caller serialises use. After a failed add the file may hold a partial
 * record; the caller must stop using the writer (the DB makes the error
 * sticky) — a reader treats the partial record as a torn tail.
 */
#ifndef SHALE_WAL_WRITER_H
#define SHALE_WAL_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/env.h"

struct wal_writer {
	struct wfile *file;     /* borrowed; the caller closes it */
	size_t block_offset;    /* bytes used in the current block */
	uint32_t type_crc[8];   /* CRC-32C of each type byte, precomputed */
};

/* file_length: the current length of the file (0 for a new one), so that
 * appending to an existing log keeps the block alignment. */
void wal_writer_init(struct wal_writer *w, struct wfile *file, uint64_t file_length);
/* Appends one record. It may stay in the file's user-space buffer until
 * wal_writer_flush (or the buffer fills). */
int wal_writer_add(struct wal_writer *w, const char *data, size_t n);
/* Hands every record added so far to the OS (no sync). */
static inline int wal_writer_flush(struct wal_writer *w)
{
	return wfile_flush(w->file);
}
/* Makes everything added so far durable (the buffer is handed over first). */
static inline int wal_writer_sync(struct wal_writer *w)
{
	return wfile_sync(w->file);
}

#endif
