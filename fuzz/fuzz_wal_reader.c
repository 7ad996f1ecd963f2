/*
 * The log reader (WAL and MANIFEST format) over arbitrary bytes.
 *
 * Input: one flag byte, then the file. Flag bit 0: rewrite the fragment
 * CRCs first, so that mutations reach what the checksum guards.
 *
 * The file is read with checksums verified and not, with a reporter. What
 * is checked: every record lies within what the file could hold, the
 * reader's counts stay within the file's size, and with checksums on, the
 * records read, written again by the log writer and read back, come back
 * the same, in order, with no damage.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "lib/util/buf.h"
#include "wal/wal_format.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"

#define MAX_RECORDS 4096

struct damage {
	uint64_t bytes;
	int reports;
};

static void on_damage(void *arg, uint64_t bytes, const char *reason)
{
	struct damage *d = arg;
	fuzz_check(bytes > 0 && reason != NULL && reason[0] != '\0', "empty report");
	d->bytes += bytes;
	d->reports++;
}

/* An in-memory wfile for the round trip. */
struct mem_wfile {
	struct wfile base;
	struct buf out;
};

static int mw_append(struct wfile *f, const char *data, size_t n)
{
	return buf_append(&((struct mem_wfile *)f)->out, data, n);
}

static int mw_nop(struct wfile *f)
{
	(void)f;
	return 0;
}

static const struct wfile_ops mem_wfile_ops = { mw_append, mw_nop, mw_nop, mw_nop };

/* Reads the whole log; records copied into recs (lengths in lens) when not
 * NULL. Returns the number of records. */
static size_t read_all(const uint8_t *data, size_t n, int verify, struct damage *d, struct buf *recs,
                       struct buf *lens)
{
	struct seq_file *f = fuzz_seq_file(data, n);
	struct wal_reporter rep = { on_damage, d };
	struct wal_reader *r;
	fuzz_check(wal_reader_create(f, &rep, verify, &r) == 0, "create");
	size_t count = 0, bytes = 0;
	for (;;) {
		struct slice rec;
		int rc = wal_reader_read(r, &rec);
		fuzz_check(rc == 0 || rc == 1, "read returned %d", rc);
		if (rc == 0)
			break;
		count++;
		bytes += rec.size;
		/* Each record's payload is at least 7 header bytes away from the
		 * next, so neither count nor sizes can outgrow the file. */
		fuzz_check(rec.size <= n && bytes <= n, "record of %zu bytes from a file of %zu", rec.size, n);
		fuzz_check(count <= n / WAL_HEADER_SIZE, "%zu records from %zu bytes", count, n);
		fuzz_check(wal_reader_last_record_offset(r) + WAL_HEADER_SIZE <= n, "record offset past the end");
		if (recs && count <= MAX_RECORDS) {
			size_t len = rec.size;
			fuzz_check(buf_append(recs, rec.data, rec.size) == 0 &&
			           buf_append(lens, &len, sizeof(len)) == 0, "memory");
		}
	}
	uint64_t torn = wal_reader_torn_tail(r);
	fuzz_check(torn <= n, "torn tail of %llu bytes in %zu", (unsigned long long)torn, n);
	fuzz_check(d->bytes <= n, "%llu bytes reported dropped from %zu", (unsigned long long)d->bytes, n);
	wal_reader_destroy(r);
	seq_file_close(f);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	size_t n = size - 1;
	uint8_t *file = malloc(n ? n : 1);
	fuzz_check(file != NULL, "memory");
	memcpy(file, data + 1, n);
	if (flags & 1)
		fuzz_fix_log_crcs(file, n);

	struct damage d0 = { 0, 0 };
	read_all(file, n, 0, &d0, NULL, NULL);

	struct damage d1 = { 0, 0 };
	struct buf recs = BUF_INIT, lens = BUF_INIT;
	fuzz_check(buf_reserve(&recs, 1) == 0, "memory"); /* (never NULL, even for empty records) */
	size_t count = read_all(file, n, 1, &d1, &recs, &lens);
	if (count > MAX_RECORDS)
		count = MAX_RECORDS;

	/* Round trip: the records, written again, read back the same. */
	struct mem_wfile w = { { &mem_wfile_ops }, BUF_INIT };
	struct wal_writer ww;
	wal_writer_init(&ww, &w.base, 0);
	size_t off = 0;
	for (size_t i = 0; i < count; i++) {
		size_t len;
		memcpy(&len, lens.data + i * sizeof(len), sizeof(len));
		fuzz_check(wal_writer_add(&ww, recs.data + off, len) == 0, "writer");
		off += len;
	}
	struct damage d2 = { 0, 0 };
	struct buf again = BUF_INIT, again_lens = BUF_INIT;
	size_t count2 = read_all((const uint8_t *)w.out.data, w.out.len, 1, &d2, &again, &again_lens);
	fuzz_check(d2.reports == 0, "damage in a log the writer wrote");
	fuzz_check(count2 == count, "%zu records written, %zu read back", count, count2);
	fuzz_check(again.len == recs.len && (recs.len == 0 || memcmp(again.data, recs.data, recs.len) == 0) &&
	           again_lens.len == lens.len &&
	           (lens.len == 0 || memcmp(again_lens.data, lens.data, lens.len) == 0),
	           "records differ after a round trip");

	buf_free(&again);
	buf_free(&again_lens);
	buf_free(&w.out);
	buf_free(&recs);
	buf_free(&lens);
	free(file);
	return 0;
}
