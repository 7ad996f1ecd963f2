/* The log format: writer and reader, framing edge cases, damage and torn tails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/env.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "tests/testutil.h"
#include "wal/wal_format.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"

static char *dir;
static char logpath[FNAME_MAX];

static void setup(void)
{
	dir = tu_mkdtemp("wal");
	snprintf(logpath, sizeof(logpath), "%s/000001.log", dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

/* ---- a log written in memory, records remembered ---- */

struct rec {
	char *data;
	size_t len;
	uint64_t start; /* file offset of its first fragment header */
	uint64_t end;   /* file offset just past its last fragment */
};

struct logmodel {
	struct rec *recs;
	size_t n;
};

/* Deterministic record contents: record i of length len. */
static char *make_record(size_t i, size_t len)
{
	char *p = malloc(len ? len : 1);
	for (size_t j = 0; j < len; j++)
		p[j] = (char)((i * 131 + j * 7) & 0xff);
	return p;
}

static void write_log(struct logmodel *m, const size_t *lens, size_t n)
{
	struct wfile *f;
	ck_assert_ok(env_open_write(env_posix_default(), logpath, &f));
	struct wal_writer w;
	wal_writer_init(&w, f, 0);
	m->recs = calloc(n ? n : 1, sizeof(*m->recs));
	m->n = n;
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++) {
		struct rec *r = &m->recs[i];
		r->data = make_record(i, lens[i]);
		r->len = lens[i];
		/* where its first header lands: the writer skips a too-small trailer */
		uint64_t left = WAL_BLOCK_SIZE - off % WAL_BLOCK_SIZE;
		r->start = left < WAL_HEADER_SIZE ? off + left : off;
		ck_assert_ok(wal_writer_add(&w, r->data, r->len));
		uint64_t size;
		ck_assert_ok(wfile_flush(f));
		ck_assert_ok(env_file_size(env_posix_default(), logpath, &size));
		off = size;
		r->end = off;
	}
	ck_assert_ok(wal_writer_sync(&w));
	ck_assert_ok(wfile_close(f));
}

static void free_model(struct logmodel *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->recs[i].data);
	free(m->recs);
}

struct reports {
	int count;
	uint64_t bytes;
	char last[128];
};

static void on_corruption(void *arg, uint64_t bytes, const char *reason)
{
	struct reports *r = arg;
	r->count++;
	r->bytes += bytes;
	snprintf(r->last, sizeof(r->last), "%s", reason);
}

/* Reads every record; returns them as a malloc'd array of copies. */
struct got {
	char **data;
	size_t *len;
	size_t n;
	uint64_t torn; /* wal_reader_torn_tail at the end */
};

static void read_log(struct got *g, struct reports *rep)
{
	struct seq_file *f;
	ck_assert_ok(env_open_seq(env_posix_default(), logpath, &f));
	struct wal_reporter reporter = { on_corruption, rep };
	struct wal_reader *r;
	ck_assert_ok(wal_reader_create(f, &reporter, 1, &r));
	memset(g, 0, sizeof(*g));
	size_t cap = 0;
	struct slice rec;
	int rc;
	while ((rc = wal_reader_read(r, &rec)) == 1) {
		if (g->n == cap) {
			cap = cap ? cap * 2 : 16;
			g->data = realloc(g->data, cap * sizeof(*g->data));
			g->len = realloc(g->len, cap * sizeof(*g->len));
		}
		g->data[g->n] = malloc(rec.size ? rec.size : 1);
		memcpy(g->data[g->n], rec.data, rec.size);
		g->len[g->n] = rec.size;
		g->n++;
	}
	ck_assert_int_eq(rc, 0);
	g->torn = wal_reader_torn_tail(r);
	wal_reader_destroy(r);
	seq_file_close(f);
}

static void free_got(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->data[i]);
	free(g->data);
	free(g->len);
}

static int rec_eq(const struct got *g, size_t gi, const struct rec *r)
{
	return g->len[gi] == r->len && (r->len == 0 || memcmp(g->data[gi], r->data, r->len) == 0);
}

static void expect_all(const struct logmodel *m)
{
	struct got g;
	struct reports rep = { 0 };
	read_log(&g, &rep);
	ck_assert_int_eq(rep.count, 0);
	ck_assert_uint_eq(g.n, m->n);
	for (size_t i = 0; i < m->n; i++)
		ck_assert_msg(rec_eq(&g, i, &m->recs[i]), "record %zu differs", i);
	free_got(&g);
}

static char *load(size_t *n)
{
	char *d;
	*n = tu_read_file(logpath, &d);
	return d;
}

static void store(const char *d, size_t n)
{
	tu_write_file(logpath, d, n);
}

/* ---- tests ---- */

START_TEST(empty_log_reads_nothing)
{
	struct logmodel m;
	write_log(&m, NULL, 0);
	expect_all(&m);
	free_model(&m);
}
END_TEST

START_TEST(small_and_empty_records)
{
	size_t lens[] = { 0, 1, 3, 0, 100, 0 };
	struct logmodel m;
	write_log(&m, lens, 6);
	expect_all(&m);
	free_model(&m);
}
END_TEST

START_TEST(lengths_0_to_100000_across_blocks)
{
	size_t lens[400];
	struct rng r;
	rng_seed(&r, 42);
	size_t n = 0;
	for (size_t l = 0; l <= 100000; l += l < 50 ? 1 : (l < 1000 ? 97 : 9973))
		lens[n++] = l;
	while (n < 400)
		lens[n++] = (size_t)rng_skewed(&r, 17) % 100001;
	struct logmodel m;
	write_log(&m, lens, n);
	expect_all(&m);
	free_model(&m);
}
END_TEST

START_TEST(exact_block_trailers_7_6_1_0)
{
	/* For each remainder t, a first record leaves exactly t bytes in block 0;
	 * the next records must still read back, and with t == 7 the writer emits
	 * a header-only first fragment there. */
	size_t trailers[] = { 7, 6, 1, 0 };
	for (size_t i = 0; i < 4; i++) {
		size_t t = trailers[i];
		size_t lens[] = { WAL_BLOCK_SIZE - WAL_HEADER_SIZE - t, 0, 5000, 0 };
		struct logmodel m;
		write_log(&m, lens, 4);
		ck_assert_uint_eq(m.recs[0].end, WAL_BLOCK_SIZE - t);
		if (t == 7) {
			/* the empty record is a header-only FULL in the last 7 bytes */
			ck_assert_uint_eq(m.recs[1].start, WAL_BLOCK_SIZE - 7);
			ck_assert_uint_eq(m.recs[1].end, WAL_BLOCK_SIZE);
		}
		expect_all(&m);
		free_model(&m);

		/* and a non-empty record starting with exactly 7 left: FIRST of length 0 */
		size_t lens2[] = { WAL_BLOCK_SIZE - WAL_HEADER_SIZE - t, 10 };
		write_log(&m, lens2, 2);
		if (t == 7) {
			size_t n;
			char *d = load(&n);
			ck_assert_int_eq(d[WAL_BLOCK_SIZE - 1], WAL_FIRST);
			ck_assert_uint_eq(decode_fixed16(d + WAL_BLOCK_SIZE - 3), 0);
			free(d);
		}
		expect_all(&m);
		free_model(&m);
	}
}
END_TEST

START_TEST(bad_crc_drops_block_and_resyncs)
{
	size_t lens[] = { 100, 200, WAL_BLOCK_SIZE, 300 };
	struct logmodel m;
	write_log(&m, lens, 4);
	size_t n;
	char *d = load(&n);
	d[m.recs[0].start + WAL_HEADER_SIZE + 10] ^= 1; /* payload of record 0 */
	store(d, n);
	free(d);
	struct got g;
	struct reports rep = { 0 };
	read_log(&g, &rep);
	/* records 0 and 1 and the start of 2 share block 0: all dropped; the rest of
	 * record 2 is a fragment without its start; record 3 survives */
	ck_assert_int_ge(rep.count, 1);
	ck_assert_uint_ge(rep.bytes, 100);
	ck_assert_uint_eq(g.n, 1);
	ck_assert(rec_eq(&g, 0, &m.recs[3]));
	free_got(&g);
	free_model(&m);
}
END_TEST

START_TEST(bad_length_reported)
{
	size_t lens[] = { 100, 100 };
	struct logmodel m;
	/* pad to more than one block so the damage is not at the end of the file */
	size_t lens3[] = { 100, 100, 2 * WAL_BLOCK_SIZE };
	write_log(&m, lens3, 3);
	(void)lens;
	size_t n;
	char *d = load(&n);
	encode_fixed16(d + m.recs[0].start + 4, 60000);
	store(d, n);
	free(d);
	struct got g;
	struct reports rep = { 0 };
	read_log(&g, &rep);
	ck_assert_int_ge(rep.count, 1);
	ck_assert_ptr_nonnull(strstr(rep.last, "missing start") ? rep.last : strstr(rep.last, "length") ? rep.last : NULL);
	for (size_t i = 0; i < g.n; i++)
		ck_assert(!rec_eq(&g, i, &m.recs[0]));
	free_got(&g);
	free_model(&m);
}
END_TEST

START_TEST(truncation_anywhere_is_a_silent_torn_tail)
{
	size_t lens[] = { 10, 0, 40000, 7, WAL_BLOCK_SIZE - 20, 100 };
	struct logmodel m;
	write_log(&m, lens, 6);
	size_t n;
	char *d = load(&n);
	for (size_t cut = 0; cut <= n; cut += (cut < 200 || n - cut < 200 || cut % WAL_BLOCK_SIZE < 20) ? 1 : 37) {
		store(d, cut);
		struct got g;
		struct reports rep = { 0 };
		read_log(&g, &rep);
		ck_assert_msg(rep.count == 0, "cut %zu reported %s", cut, rep.last);
		size_t want = 0;
		while (want < m.n && m.recs[want].end <= cut)
			want++;
		ck_assert_msg(g.n == want, "cut %zu: %zu records, want %zu", cut, g.n, want);
		for (size_t i = 0; i < want; i++)
			ck_assert(rec_eq(&g, i, &m.recs[i]));
		free_got(&g);
	}
	free(d);
	free_model(&m);
}
END_TEST

/* A mapped log (doc/format.md, "Log files") cut short by a crash keeps its
 * reserved zeros: the data up to the cut, then zeros. Read as a truncation:
 * no report, the records before the cut; a torn tail when the cut fell in a
 * record's payload, none when it fell between records. */
START_TEST(a_cut_before_reserved_zeros_is_a_silent_torn_tail)
{
	size_t lens[] = { 10, 0, 40000, 7, WAL_BLOCK_SIZE - 20, 100 };
	struct logmodel m;
	write_log(&m, lens, 6);
	size_t n;
	char *d = load(&n);
	size_t total = n + 2 * WAL_BLOCK_SIZE;
	char *z = malloc(total);
	for (size_t cut = 0; cut <= n; cut += (cut < 200 || n - cut < 200 || cut % WAL_BLOCK_SIZE < 20) ? 1 : 37) {
		memset(z, 0, total);
		memcpy(z, d, cut);
		store(z, total);
		struct got g;
		struct reports rep = { 0 };
		read_log(&g, &rep);
		ck_assert_msg(rep.count == 0, "cut %zu reported %s", cut, rep.last);
		size_t want = 0;
		while (want < m.n && m.recs[want].end <= cut)
			want++;
		ck_assert_msg(g.n == want, "cut %zu: %zu records, want %zu", cut, g.n, want);
		for (size_t i = 0; i < want; i++)
			ck_assert(rec_eq(&g, i, &m.recs[i]));
		if (cut == n || (want > 0 && cut == m.recs[want - 1].end && (want == m.n || lens[want] > 0)))
			ck_assert_msg(g.torn == 0, "cut %zu at a record's end: torn tail of %llu", cut,
			              (unsigned long long)g.torn);
		free_got(&g);
	}
	/* the payload of record 5 half written, then zeros, then a record in a
	 * later block: damage, reported */
	memset(z, 0, total);
	size_t cut = m.recs[5].end - 50;
	memcpy(z, d, cut);
	size_t lens2[] = { 100 };
	struct logmodel m2;
	write_log(&m2, lens2, 1);
	size_t n2;
	char *d2 = load(&n2);
	size_t later = (n / WAL_BLOCK_SIZE + 1) * WAL_BLOCK_SIZE;
	memcpy(z + later, d2, n2);
	store(z, later + n2);
	struct got g;
	struct reports rep = { 0 };
	read_log(&g, &rep);
	ck_assert_int_eq(rep.count, 1);
	ck_assert_ptr_nonnull(strstr(rep.last, "checksum"));
	ck_assert_uint_eq(g.n, 6); /* records 0-4 and the later one */
	free_got(&g);
	free(d2);
	free_model(&m2);
	free(z);
	free(d);
	free_model(&m);
}
END_TEST

/* Rewrites the type byte of the fragment header at off (and fixes its CRC),
 * to build logs with missing FIRST/MIDDLE/LAST fragments. */
static void retype(char *d, size_t off, int type)
{
	uint16_t len = decode_fixed16(d + off + 4);
	d[off + 6] = (char)type;
	encode_fixed32(d + off, crc32c_mask(crc32c_value(d + off + 6, 1 + (size_t)len)));
}

START_TEST(missing_first_middle_last_reported)
{
	/* record 1 spans blocks 0..3: FIRST in 0, MIDDLE in 1 and 2, LAST in 3 */
	size_t lens[] = { 100, 3 * WAL_BLOCK_SIZE, 50 };
	struct logmodel m;
	write_log(&m, lens, 3);
	size_t n;
	char *d = load(&n);

	/* missing FIRST: turn it into a FULL; the MIDDLEs and LAST lack a start */
	char *c = malloc(n);
	memcpy(c, d, n);
	retype(c, m.recs[1].start, WAL_FULL);
	store(c, n);
	struct got g;
	struct reports rep = { 0 };
	read_log(&g, &rep);
	ck_assert_int_ge(rep.count, 1);
	ck_assert_str_eq(rep.last, "missing start of fragmented record");
	ck_assert_uint_eq(g.n, 3); /* 0, the truncated FULL, 2 */
	ck_assert(rec_eq(&g, 0, &m.recs[0]));
	ck_assert(rec_eq(&g, 2, &m.recs[2]));
	free_got(&g);

	/* missing LAST: the LAST becomes a MIDDLE; the next FULL ends the partial record */
	memcpy(c, d, n);
	retype(c, 3 * WAL_BLOCK_SIZE, WAL_MIDDLE);
	store(c, n);
	memset(&rep, 0, sizeof(rep));
	read_log(&g, &rep);
	ck_assert_int_eq(rep.count, 1);
	ck_assert_str_eq(rep.last, "partial record without end");
	ck_assert_uint_eq(g.n, 2);
	ck_assert(rec_eq(&g, 0, &m.recs[0]));
	ck_assert(rec_eq(&g, 1, &m.recs[2]));
	free_got(&g);

	/* missing MIDDLE: the second MIDDLE becomes a FIRST — a new record starts
	 * in the middle, the old one has no end */
	memcpy(c, d, n);
	retype(c, 2 * WAL_BLOCK_SIZE, WAL_FIRST);
	store(c, n);
	memset(&rep, 0, sizeof(rep));
	read_log(&g, &rep);
	ck_assert_int_eq(rep.count, 1);
	ck_assert_str_eq(rep.last, "partial record without end");
	for (size_t i = 0; i < g.n; i++)
		ck_assert(!rec_eq(&g, i, &m.recs[1]));
	free_got(&g);

	/* an unknown type is reported */
	memcpy(c, d, n);
	retype(c, m.recs[0].start, 9);
	store(c, n);
	memset(&rep, 0, sizeof(rep));
	read_log(&g, &rep);
	ck_assert_int_ge(rep.count, 1);
	ck_assert_uint_eq(g.n, 2);
	free_got(&g);
	free(c);
	free(d);
	free_model(&m);
}
END_TEST

START_TEST(zeroed_tail_is_silent_zeroed_middle_is_reported)
{
	size_t lens[] = { 100, 100 };
	struct logmodel m;
	write_log(&m, lens, 2);
	size_t n;
	char *d = load(&n);
	/* preallocated zeros after the records: silent */
	char *z = calloc(1, n + 3 * WAL_BLOCK_SIZE);
	memcpy(z, d, n);
	store(z, n + 3 * WAL_BLOCK_SIZE);
	expect_all(&m);
	/* zeros, then a record in a later block: the gap is reported */
	size_t lens2[] = { 100 };
	struct logmodel m2;
	write_log(&m2, lens2, 1);
	size_t n2;
	char *d2 = load(&n2);
	memcpy(z + 2 * WAL_BLOCK_SIZE, d2, n2);
	store(z, 2 * WAL_BLOCK_SIZE + n2);
	struct got g;
	struct reports rep = { 0 };
	read_log(&g, &rep);
	ck_assert_int_eq(rep.count, 1);
	ck_assert_ptr_nonnull(strstr(rep.last, "zero"));
	ck_assert_uint_eq(g.n, 3);
	free_got(&g);
	free(d2);
	free_model(&m2);
	free(z);
	free(d);
	free_model(&m);
}
END_TEST

/* Each report with the offset the reader gives for it. */
struct located {
	struct wal_reader *r;
	int n;
	uint64_t offset[8], bytes[8];
	char reason[8][64];
};

static void on_located(void *arg, uint64_t bytes, const char *reason)
{
	struct located *l = arg;
	if (l->n < 8) {
		l->offset[l->n] = wal_reader_damage_offset(l->r);
		l->bytes[l->n] = bytes;
		snprintf(l->reason[l->n], sizeof(l->reason[0]), "%s", reason);
	}
	l->n++;
}

static void read_located(struct located *l)
{
	struct seq_file *f;
	ck_assert_ok(env_open_seq(env_posix_default(), logpath, &f));
	struct wal_reporter reporter = { on_located, l };
	memset(l, 0, sizeof(*l));
	ck_assert_ok(wal_reader_create(f, &reporter, 1, &l->r));
	struct slice rec;
	int rc;
	while ((rc = wal_reader_read(l->r, &rec)) == 1)
		;
	ck_assert_int_eq(rc, 0);
	wal_reader_destroy(l->r);
	seq_file_close(f);
}

START_TEST(damage_reports_say_where_the_dropped_bytes_start)
{
	/* record 2 starts in block 0 and ends in block 1; record 3 is in block 1;
	 * record 4 spans blocks 1..4 */
	size_t lens[] = { 100, 200, WAL_BLOCK_SIZE, 300, 3 * WAL_BLOCK_SIZE, 10 };
	struct logmodel m;
	write_log(&m, lens, 6);
	size_t n;
	char *d = load(&n);
	char *c = malloc(n);
	struct located l;

	/* a bad checksum in record 1: block 0 from record 1's header on is
	 * dropped, then the rest of record 2 lacks its start (in block 1) */
	memcpy(c, d, n);
	c[m.recs[1].start + WAL_HEADER_SIZE + 5] ^= 1;
	store(c, n);
	read_located(&l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.reason[0], "checksum mismatch");
	ck_assert_uint_eq(l.offset[0], m.recs[1].start);
	ck_assert_uint_eq(l.bytes[0], WAL_BLOCK_SIZE - m.recs[1].start);
	ck_assert_str_eq(l.reason[1], "missing start of fragmented record");
	ck_assert_uint_eq(l.offset[1], WAL_BLOCK_SIZE);

	/* a bad length in record 3 */
	memcpy(c, d, n);
	encode_fixed16(c + m.recs[3].start + 4, 60000);
	store(c, n);
	read_located(&l);
	ck_assert_int_ge(l.n, 1);
	ck_assert_str_eq(l.reason[0], "bad record length");
	ck_assert_uint_eq(l.offset[0], m.recs[3].start);

	/* record 4's LAST turned into a MIDDLE: the partial record is reported
	 * from its FIRST when record 5 arrives */
	memcpy(c, d, n);
	retype(c, 4 * WAL_BLOCK_SIZE, WAL_MIDDLE);
	store(c, n);
	read_located(&l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.reason[0], "partial record without end");
	ck_assert_uint_eq(l.offset[0], m.recs[4].start);

	/* an unknown type on record 0 */
	memcpy(c, d, n);
	retype(c, m.recs[0].start, 9);
	store(c, n);
	read_located(&l);
	ck_assert_int_ge(l.n, 1);
	ck_assert_str_eq(l.reason[0], "unknown record type 9");
	ck_assert_uint_eq(l.offset[0], m.recs[0].start);

	/* zeros from the end of record 1 to block 2, then record 5's bytes */
	size_t zn = 2 * WAL_BLOCK_SIZE + (m.recs[5].end - m.recs[5].start);
	char *z = calloc(1, zn);
	memcpy(z, d, m.recs[1].end);
	memcpy(z + 2 * WAL_BLOCK_SIZE, d + m.recs[5].start, m.recs[5].end - m.recs[5].start);
	store(z, zn);
	read_located(&l);
	/* (record 5 was written mid-block: its fragment is whole, so it reads) */
	ck_assert_int_eq(l.n, 1);
	ck_assert_ptr_nonnull(strstr(l.reason[0], "zero"));
	ck_assert_uint_eq(l.offset[0], m.recs[1].end);
	ck_assert_uint_eq(l.bytes[0], 2 * WAL_BLOCK_SIZE - m.recs[1].end);
	free(z);
	free(c);
	free(d);
	free_model(&m);
}
END_TEST

START_TEST(random_garbage_never_crashes)
{
	struct rng r;
	rng_seed(&r, 99);
	for (int round = 0; round < 50; round++) {
		size_t n = (size_t)rng_uniform(&r, 4 * WAL_BLOCK_SIZE);
		char *d = malloc(n ? n : 1);
		tu_random_bytes(&r, d, n);
		store(d, n);
		free(d);
		struct got g;
		struct reports rep = { 0 };
		read_log(&g, &rep);
		ck_assert_uint_eq(g.n, 0); /* a valid CRC by chance is 2^-32 */
		free_got(&g);
	}
}
END_TEST

START_TEST(single_byte_mutations_lose_only_the_damaged_block)
{
	struct rng r;
	rng_seed(&r, 7);
	size_t lens[60];
	for (size_t i = 0; i < 60; i++)
		lens[i] = rng_one_in(&r, 8) ? (size_t)rng_uniform(&r, 50000) : (size_t)rng_uniform(&r, 3000);
	struct logmodel m;
	write_log(&m, lens, 60);
	size_t n;
	char *orig = load(&n);
	char *d = malloc(n);
	for (int round = 0; round < 2000; round++) {
		memcpy(d, orig, n);
		size_t pos = (size_t)rng_uniform(&r, n);
		char delta = (char)(1 + rng_uniform(&r, 255));
		d[pos] ^= delta;
		store(d, n);
		struct got g;
		struct reports rep = { 0 };
		read_log(&g, &rep);
		/* never a record that was not written; in order */
		size_t next = 0;
		for (size_t gi = 0; gi < g.n; gi++) {
			while (next < m.n && !rec_eq(&g, gi, &m.recs[next]))
				next++;
			ck_assert_msg(next < m.n, "round %d: record %zu was never written (pos %zu)", round, gi, pos);
			next++;
		}
		/* every record entirely outside the damaged block comes back */
		uint64_t block = pos / WAL_BLOCK_SIZE;
		for (size_t i = 0; i < m.n; i++) {
			uint64_t b0 = m.recs[i].start / WAL_BLOCK_SIZE;
			uint64_t b1 = (m.recs[i].end - 1) / WAL_BLOCK_SIZE;
			if (block >= b0 && block <= b1)
				continue;
			/* the damaged block is the last, partial one: a bad length there
			 * may read as a torn tail and end the log */
			if (block == (n - 1) / WAL_BLOCK_SIZE && b0 > block)
				continue;
			int found = 0;
			for (size_t gi = 0; gi < g.n && !found; gi++)
				found = rec_eq(&g, gi, &m.recs[i]);
			ck_assert_msg(found, "round %d: record %zu lost (damage at %zu)", round, i, pos);
		}
		free_got(&g);
	}
	free(d);
	free(orig);
	free_model(&m);
}
END_TEST

START_TEST(appending_to_existing_log_keeps_alignment)
{
	size_t lens[] = { 1000 };
	struct logmodel m;
	write_log(&m, lens, 1);
	uint64_t size;
	ck_assert_ok(env_file_size(env_posix_default(), logpath, &size));
	struct wfile *f;
	ck_assert_ok(env_open_append(env_posix_default(), logpath, &f));
	struct wal_writer w;
	wal_writer_init(&w, f, size);
	char *big = make_record(1, 70000);
	ck_assert_ok(wal_writer_add(&w, big, 70000));
	ck_assert_ok(wfile_close(f));
	struct got g;
	struct reports rep = { 0 };
	read_log(&g, &rep);
	ck_assert_int_eq(rep.count, 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_uint_eq(g.len[1], 70000);
	ck_assert(memcmp(g.data[1], big, 70000) == 0);
	free_got(&g);
	free(big);
	free_model(&m);
}
END_TEST

START_TEST(reader_reports_io_errors)
{
	/* a read error is returned, not mistaken for the end of the log */
	size_t lens[] = { 10 };
	struct logmodel m;
	write_log(&m, lens, 1);
	struct seq_file *f;
	ck_assert_ok(env_open_seq(env_posix_default(), dir, &f)); /* a directory: read fails */
	struct wal_reader *r;
	ck_assert_ok(wal_reader_create(f, NULL, 1, &r));
	struct slice rec;
	ck_assert_int_eq(wal_reader_read(r, &rec), SHALE_EIO);
	wal_reader_destroy(r);
	seq_file_close(f);
	free_model(&m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("wal");
	TCase *tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, empty_log_reads_nothing);
	tcase_add_test(tc, small_and_empty_records);
	tcase_add_test(tc, lengths_0_to_100000_across_blocks);
	tcase_add_test(tc, exact_block_trailers_7_6_1_0);
	tcase_add_test(tc, appending_to_existing_log_keeps_alignment);
	suite_add_tcase(s, tc);

	tc = tcase_create("damage");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bad_crc_drops_block_and_resyncs);
	tcase_add_test(tc, bad_length_reported);
	tcase_add_test(tc, truncation_anywhere_is_a_silent_torn_tail);
	tcase_add_test(tc, missing_first_middle_last_reported);
	tcase_add_test(tc, zeroed_tail_is_silent_zeroed_middle_is_reported);
	tcase_add_test(tc, a_cut_before_reserved_zeros_is_a_silent_torn_tail);
	tcase_add_test(tc, damage_reports_say_where_the_dropped_bytes_start);
	tcase_add_test(tc, random_garbage_never_crashes);
	tcase_add_test(tc, single_byte_mutations_lose_only_the_damaged_block);
	tcase_add_test(tc, reader_reports_io_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
