/*
 * Reads records back from a log file (WAL or MANIFEST).
 *
 * Damage is reported through the reporter with the number of bytes dropped
 * and the reason, and the reader resynchronises at the next block, so a
 * caller that keeps reading gets every record that can be recovered. A record
 * cut short by the end of the file — a truncated header or payload, a FIRST
 * without its LAST, or zero-filled space running to the end — is the normal
 * trace of a crash: it ends the log without a report. A zero-filled region
 * followed by more records is reported (as damage) when the next record is
 * found.
 *
 * Not thread-safe.
 */
#ifndef SHALE_WAL_READER_H
#define SHALE_WAL_READER_H

#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/env.h"

struct wal_reporter {
	/* bytes: how many bytes were dropped; reason: a short description */
	void (*corruption)(void *arg, uint64_t bytes, const char *reason);
	void *arg;
};

/* A reporter state that keeps the first report, for callers that stop at
 * the first damage (recovery): pass wal_first_damage_report with it. */
struct wal_first_damage {
	int damaged;
	char reason[160];
};
void wal_first_damage_report(void *arg, uint64_t bytes, const char *reason);

struct wal_reader;

/* file is borrowed (the caller closes it after destroying the reader).
 * reporter may be NULL (damage then goes unreported). */
int wal_reader_create(struct seq_file *file, const struct wal_reporter *reporter,
                      int verify_checksums, struct wal_reader **out);
void wal_reader_destroy(struct wal_reader *r);
/* 1: *record holds the next record (borrowed until the next call);
 * 0: end of the log; <0: a read error (the reader is then done). */
int wal_reader_read(struct wal_reader *r, struct slice *record);
/* File offset of the first fragment of the last record returned. */
uint64_t wal_reader_last_record_offset(const struct wal_reader *r);
/* After the end: the bytes of the torn tail the end of the file cut short
 * (a partial header or payload, a FIRST without its LAST, zero-filled space
 * running to the end), 0 when the log ended cleanly. Silent by itself: only
 * the caller knows whether the end of this file is the end of the log (for
 * an older WAL followed by a later one with records it is damage). */
uint64_t wal_reader_torn_tail(const struct wal_reader *r);
/* During a reporter call: the file offset where the reported bytes start
 * (the fragment header of the first byte dropped, or the start of the
 * zero-filled region), for tools that print where each damage lies. A
 * reporter reaches the reader through its arg. */
uint64_t wal_reader_damage_offset(const struct wal_reader *r);

#endif
