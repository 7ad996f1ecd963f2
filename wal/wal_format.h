/*
 * The log record format shared by the WAL and the MANIFEST (doc/format.md,
 * "Log files"): 32 KiB blocks; each fragment has a 7-byte header — masked
 * CRC-32C of the type byte and payload (fixed32), payload length (fixed16),
 * type (1 byte) — and never crosses a block boundary. Fewer than 7 bytes
 * left in a block are zero-filled.
 */
#ifndef SHALE_WAL_FORMAT_H
#define SHALE_WAL_FORMAT_H

#define WAL_BLOCK_SIZE 32768
#define WAL_HEADER_SIZE 7

enum wal_record_type {
	WAL_ZERO = 0,   /* reserved: preallocated, zeroed space */
	WAL_FULL = 1,
	WAL_FIRST = 2,
	WAL_MIDDLE = 3,
	WAL_LAST = 4,
};
#define WAL_MAX_TYPE WAL_LAST

#endif
