#include "wal/wal_reader.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/error.h"
#include "wal/wal_format.h"

/* Results of read_fragment beyond the record types. A type is one byte
 * read from the file, so these lie past 255: no type byte can be mistaken
 * for one of them. */
enum {
	FRAG_EOF = 0x100,            /* end of file (possibly a torn tail) */
	FRAG_BAD,                    /* damage, already reported */
	FRAG_ZEROED,                 /* zero-filled space: reported only if data follows */
};

struct wal_reader {
	struct seq_file *file;
	struct wal_reporter reporter;
	int verify;
	int eof;                     /* the last read returned less than a block */
	char *block;                 /* WAL_BLOCK_SIZE bytes */
	struct slice buffer;         /* unread part of the block */
	uint64_t end_of_buffer;      /* file offset just past the block read */
	uint64_t last_record_offset;
	uint64_t pending_zeroed;     /* zero-filled bytes awaiting a verdict */
	uint64_t pending_zeroed_offset; /* where they start */
	uint64_t pending_torn;       /* of those, bytes of a record cut short */
	uint64_t pending_zero_run;   /* of those, zero bytes after the record */
	uint64_t damage_offset;      /* start of the region being reported */
	uint64_t torn_tail;          /* bytes of a record cut short by the end of the file */
	struct buf scratch;          /* a fragmented record being assembled */
};

int wal_reader_create(struct seq_file *file, const struct wal_reporter *reporter,
                      int verify_checksums, struct wal_reader **out)
{
	struct wal_reader *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (r == NULL || (r->block = malloc(WAL_BLOCK_SIZE)) == NULL) {
		free(r);
		return err_nomem("log reader");
	}
	r->file = file;
	if (reporter)
		r->reporter = *reporter;
	r->verify = verify_checksums;
	r->buffer = slice_make(r->block, 0);
	buf_init(&r->scratch);
	*out = r;
	return 0;
}

void wal_reader_destroy(struct wal_reader *r)
{
	if (r == NULL)
		return;
	buf_free(&r->scratch);
	free(r->block);
	free(r);
}

uint64_t wal_reader_last_record_offset(const struct wal_reader *r)
{
	return r->last_record_offset;
}

uint64_t wal_reader_torn_tail(const struct wal_reader *r)
{
	return r->torn_tail;
}

uint64_t wal_reader_damage_offset(const struct wal_reader *r)
{
	return r->damage_offset;
}

void wal_first_damage_report(void *arg, uint64_t bytes, const char *reason)
{
	struct wal_first_damage *d = arg;
	if (!d->damaged)
		snprintf(d->reason, sizeof(d->reason), "%s (%llu bytes dropped)", reason, (unsigned long long)bytes);
	d->damaged = 1;
}

/* offset: where the dropped bytes start in the file. */
static void report(struct wal_reader *r, uint64_t offset, uint64_t bytes, const char *reason)
{
	r->damage_offset = offset;
	if (r->reporter.corruption && bytes > 0)
		r->reporter.corruption(r->reporter.arg, bytes, reason);
}

/* File offset of the first unread byte of the block in hand. */
static uint64_t buffer_offset(const struct wal_reader *r)
{
	return r->end_of_buffer - r->buffer.size;
}

/* 1 if p[from, to) are all zero bytes. */
static int zeros_after(const char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Returns a record type, FRAG_EOF/FRAG_BAD/FRAG_ZEROED, or <0 on a read error. */
static int read_fragment(struct wal_reader *r, struct slice *frag)
{
	for (;;) {
		if (r->buffer.size < WAL_HEADER_SIZE) {
			if (r->eof) {
				/* A truncated header at the very end: a torn write. */
				r->torn_tail += r->buffer.size;
				r->buffer.size = 0;
				return FRAG_EOF;
			}
			/* Whatever is left is a block trailer; read the next block. */
			struct slice got;
			int rc = seq_file_read(r->file, WAL_BLOCK_SIZE, r->block, &got);
			if (rc) {
				r->buffer.size = 0;
				r->eof = 1;
				return rc;
			}
			r->buffer = got;
			r->end_of_buffer += got.size;
			if (got.size < WAL_BLOCK_SIZE)
				r->eof = 1;
			continue;
		}

		const char *h = r->buffer.data;
		uint32_t len = decode_fixed16(h + 4);
		unsigned type = (unsigned char)h[6];
		if (WAL_HEADER_SIZE + (size_t)len > r->buffer.size) {
			size_t drop = r->buffer.size;
			uint64_t at = buffer_offset(r);
			r->buffer.size = 0;
			if (!r->eof) {
				report(r, at, drop, "bad record length");
				return FRAG_BAD;
			}
			/* The payload runs past the end of the file: a torn write. */
			r->torn_tail += drop;
			return FRAG_EOF;
		}
		if (type == WAL_ZERO && len == 0) {
			/* Preallocated or never-written space: skip the block; whether it
			 * is damage depends on whether records follow. */
			if (r->pending_zeroed == 0)
				r->pending_zeroed_offset = buffer_offset(r);
			r->pending_zeroed += r->buffer.size;
			r->pending_zero_run += r->buffer.size;
			r->buffer.size = 0;
			return FRAG_ZEROED;
		}
		if (r->verify) {
			uint32_t expected = crc32c_unmask(decode_fixed32(h));
			uint32_t actual = crc32c_value(h + 6, 1 + (size_t)len);
			if (actual != expected) {
				/* The length may be what is damaged, so nothing else in this
				 * block can be trusted. */
				size_t drop = r->buffer.size;
				uint64_t at = buffer_offset(r);
				r->buffer.size = 0;
				size_t end = WAL_HEADER_SIZE + (size_t)len;
				if ((end < drop || !r->eof) && zeros_after(h, end, drop)) {
					/* Only zeros after it (or a block boundary): maybe the
					 * write that was cut short in a mapped log (doc/format.md,
					 * "Log files"). A torn tail if zeros run from here to the
					 * end of the file, damage if records follow or no zero
					 * does (a whole record, damaged, at the end). */
					if (r->pending_zeroed == 0)
						r->pending_zeroed_offset = at;
					r->pending_zeroed += drop;
					r->pending_torn += end;
					r->pending_zero_run += drop - end;
					return FRAG_ZEROED;
				}
				report(r, at, drop, "checksum mismatch");
				return FRAG_BAD;
			}
		}
		r->buffer.data += WAL_HEADER_SIZE + len;
		r->buffer.size -= WAL_HEADER_SIZE + len;
		*frag = slice_make(h + WAL_HEADER_SIZE, len);
		if (r->pending_zeroed) {
			report(r, r->pending_zeroed_offset, r->pending_zeroed,
			       r->pending_torn ? "checksum mismatch (a record cut short, then more records)"
			                       : "zero-filled region followed by more records");
			r->pending_zeroed = 0;
			r->pending_torn = 0;
			r->pending_zero_run = 0;
		}
		return (int)type;
	}
}

int wal_reader_read(struct wal_reader *r, struct slice *record)
{
	int in_fragmented = 0;
	uint64_t record_offset = 0;
	char reason[64];

	buf_clear(&r->scratch);
	for (;;) {
		struct slice frag = { NULL, 0 };
		int type = read_fragment(r, &frag);
		if (type < 0)
			return type;
		uint64_t frag_offset = r->end_of_buffer - r->buffer.size - WAL_HEADER_SIZE - frag.size;

		switch (type) {
		case WAL_FULL:
			if (in_fragmented)
				report(r, record_offset, r->scratch.len, "partial record without end");
			buf_clear(&r->scratch);
			r->last_record_offset = frag_offset;
			*record = frag;
			return 1;
		case WAL_FIRST:
			if (in_fragmented)
				report(r, record_offset, r->scratch.len, "partial record without end");
			record_offset = frag_offset;
			if (buf_set(&r->scratch, frag.data, frag.size))
				return SHALE_ENOMEM;
			in_fragmented = 1;
			break;
		case WAL_MIDDLE:
			if (!in_fragmented) {
				report(r, frag_offset, frag.size, "missing start of fragmented record");
			} else if (buf_append(&r->scratch, frag.data, frag.size)) {
				return SHALE_ENOMEM;
			}
			break;
		case WAL_LAST:
			if (!in_fragmented) {
				report(r, frag_offset, frag.size, "missing start of fragmented record");
				break;
			}
			if (buf_append(&r->scratch, frag.data, frag.size))
				return SHALE_ENOMEM;
			r->last_record_offset = record_offset;
			*record = buf_slice(&r->scratch);
			return 1;
		case FRAG_EOF:
			/* A record cut short by the end of the file (or by zeros that
			 * run to it) is a torn tail. Zeros alone are not: they are space
			 * a mapped log reserved ahead of its data, and lose nothing. */
			if (r->pending_torn && r->pending_zero_run == 0)
				report(r, r->pending_zeroed_offset, r->pending_zeroed, "checksum mismatch");
			else
				r->torn_tail += (in_fragmented ? r->scratch.len : 0) + r->pending_torn;
			buf_clear(&r->scratch);
			r->pending_zeroed = 0;
			r->pending_torn = 0;
			r->pending_zero_run = 0;
			return 0;
		case FRAG_ZEROED:
			if (in_fragmented) {
				/* Judged with the zeroed bytes: damage only if data follows. */
				r->pending_zeroed += r->scratch.len;
				r->pending_torn += r->scratch.len;
				r->pending_zeroed_offset = record_offset;
				buf_clear(&r->scratch);
				in_fragmented = 0;
			}
			break;
		case FRAG_BAD:
			if (in_fragmented) {
				report(r, record_offset, r->scratch.len, "error in middle of record");
				buf_clear(&r->scratch);
				in_fragmented = 0;
			}
			break;
		default:
			snprintf(reason, sizeof(reason), "unknown record type %d", type);
			/* (the header counts: an empty fragment of a bad type is damage too) */
			report(r, in_fragmented ? record_offset : frag_offset,
			       WAL_HEADER_SIZE + frag.size + (in_fragmented ? r->scratch.len : 0), reason);
			buf_clear(&r->scratch);
			in_fragmented = 0;
			break;
		}
	}
}
