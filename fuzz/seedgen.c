/*
 * Writes seed inputs for every fuzz target, made by the library itself:
 * small databases (their CURRENT, MANIFEST, WALs and tables), the records
 * of their logs (write batches, version edits), blocks and tables from the
 * builders, operation strings for the API model, and a few edge cases.
 *
 *   fuzz/seedgen OUTDIR      (writes OUTDIR/<target>/seed-*)
 *
 * Deterministic: the same build writes the same seeds (the databases'
 * bytes do not depend on time). Test code: it aborts on any failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/ikey.h"
#include "lib/util/random.h"
#include "sstable/block_builder.h"
#include "sstable/table_builder.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"
#include "shale.h"

static const char *outdir;
static int counter;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void emit(const char *target, const char *tag, const void *data, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/seed-%s-%03d", outdir, target, tag, counter++);
	FILE *f = fopen(path, "wb");
	if (f == NULL || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
		die("write %s", path);
}

/* emit with a leading flag byte */
static void emit_flagged(const char *target, const char *tag, unsigned flags, const void *data, size_t n)
{
	struct buf b = BUF_INIT;
	if (buf_append_byte(&b, (char)flags) || buf_append(&b, data, n))
		die("memory");
	emit(target, tag, b.data, b.len);
	buf_free(&b);
}

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	char tmp[65536];
	size_t n;
	buf_clear(b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(b, tmp, n))
			die("memory");
	fclose(f);
	return 0;
}

/* ---- logs: the records of a WAL or MANIFEST ---- */

static void emit_records(const struct buf *log, const char *target, const char *tag, int max)
{
	struct seq_file *f = fuzz_seq_file(log->data, log->len);
	struct wal_reader *r;
	if (wal_reader_create(f, NULL, 1, &r))
		die("reader");
	struct slice rec;
	for (int i = 0; i < max && wal_reader_read(r, &rec) == 1; i++)
		emit(target, tag, rec.data, rec.size);
	wal_reader_destroy(r);
	seq_file_close(f);
}

/* ---- databases ---- */

static void put(shale_db *db, const char *k, size_t vn, unsigned salt)
{
	char v[8192];
	if (vn > sizeof(v))
		vn = sizeof(v);
	for (size_t i = 0; i < vn; i++)
		v[i] = (char)('a' + (i * 7 + salt) % 26);
	if (shale_put(db, NULL, k, strlen(k), v, vn))
		die("put: %s", shale_errmsg());
}

static int name_rank(const char *name)
{
	return strcmp(name, "CURRENT") == 0 ? 0 : strncmp(name, "MANIFEST-", 9) == 0 ? 1 : 2;
}

/* Packs a database directory as a db_open input, and hands its files to
 * the other targets. */
static void pack_db(const char *dir, const char *tag, unsigned flags)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		die("opendir %s", dir);
	char *names[64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 64)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	/* CURRENT, then the MANIFEST, then the rest in name order */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (name_rank(names[j]) < name_rank(names[i]) ||
			    (name_rank(names[j]) == name_rank(names[i]) && strcmp(names[j], names[i]) < 0)) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	struct buf packed = BUF_INIT, file = BUF_INIT;
	int tables = 0;
	buf_append_byte(&packed, (char)flags);
	for (int i = 0; i < n; i++) {
		char path[4096];
		unsigned num = 0;
		int kind = -1;
		char ext[16];
		if (strcmp(names[i], "CURRENT") == 0)
			kind = 0;
		else if (sscanf(names[i], "MANIFEST-%u", &num) == 1)
			kind = 1;
		else if (sscanf(names[i], "%u.%15s", &num, ext) == 2 && strcmp(ext, "log") == 0)
			kind = 2;
		else if (sscanf(names[i], "%u.%15s", &num, ext) == 2 && strcmp(ext, "ldb") == 0)
			kind = 3;
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			die("path too long");
		free(names[i]);
		if (kind < 0)
			continue;
		if (num > 255)
			die("%s: file number over 255", path);
		if (read_file(path, &file))
			die("read %s", path);
		if (file.len > 65535)
			die("%s: over 64 KiB", path);
		char hdr[4] = { (char)kind, (char)num };
		encode_fixed16(hdr + 2, (uint16_t)file.len);
		buf_append(&packed, hdr, 4);
		buf_append(&packed, file.data, file.len);
		if (kind == 1) {
			emit_flagged("wal_reader", "manifest", 0, file.data, file.len);
			emit_records(&file, "version_edit", tag, 8);
		} else if (kind == 2) {
			emit_flagged("wal_reader", "wal", 0, file.data, file.len);
			emit_records(&file, "write_batch", tag, 4);
		} else if (kind == 3 && tables++ < 2) {
			/* strict (verified), rewritten CRCs, mapped with a cache */
			emit_flagged("table", tag, 0x02, file.data, file.len);
			emit_flagged("table", tag, 0x03, file.data, file.len);
			emit_flagged("table", tag, 0x36, file.data, file.len);
		}
	}
	emit("db_open", tag, packed.data, packed.len);
	packed.data[0] = (char)(flags | 1);
	emit("db_open", tag, packed.data, packed.len);
	buf_free(&packed);
	buf_free(&file);
}

static void rmtree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char child[4096];
			if (snprintf(child, sizeof(child), "%s/%s", path, e->d_name) < (int)sizeof(child))
				unlink(child);
		}
		closedir(d);
	}
	rmdir(path);
}

/* One small database per workload. */
static void make_dbs(const char *tmp)
{
	for (int w = 0; w < 6; w++) {
		char dir[4096];
		if (snprintf(dir, sizeof(dir), "%s/db%d", tmp, w) >= (int)sizeof(dir))
			die("path too long");
		shale_options *o = shale_options_create();
		shale_options_set_create_if_missing(o, 1);
		shale_options_set_write_buffer_size(o, 16384);
		shale_options_set_block_size(o, w == 3 ? 256 : 1024);
		shale_options_set_max_file_size(o, 4096);
		shale_options_set_compression(o, w == 4 ? SHALE_COMPRESSION_SNAPPY : SHALE_COMPRESSION_NONE);
		shale_options_set_background_threads(o, 1);
		shale_db *db;
		if (shale_open(dir, o, &db))
			die("open: %s", shale_errmsg());
		char key[64];
		switch (w) {
		case 0: /* empty */
			break;
		case 1: /* a few writes, only in the WAL */
			for (int i = 0; i < 12; i++) {
				snprintf(key, sizeof(key), "key%03d", i * 3 % 12);
				put(db, key, (size_t)i * 5, (unsigned)i);
			}
			shale_delete(db, NULL, "key003", 6);
			break;
		default: /* tables at level 0 and below, and a WAL */
			for (int i = 0; i < (w == 5 ? 60 : 40); i++) {
				snprintf(key, sizeof(key), "k%05d", i * 37 % 50);
				put(db, key, w == 5 ? 300 : w == 2 ? 600 : 100, (unsigned)i);
				if (i % 9 == 0)
					shale_delete(db, NULL, "k00002", 6);
			}
			if (w >= 3 && shale_compact_range(db, NULL, 0, NULL, 0))
				die("compact: %s", shale_errmsg());
			{
				shale_batch *b = shale_batch_create();
				shale_batch_put(b, "batch1", 6, "v1", 2);
				shale_batch_delete(b, "k00010", 6);
				shale_batch_put(b, "", 0, "empty key", 9);
				shale_write(db, NULL, b);
				shale_batch_destroy(b);
			}
			break;
		}
		if (shale_close(db))
			die("close: %s", shale_errmsg());
		shale_options_destroy(o);
		char tag[16];
		snprintf(tag, sizeof(tag), "db%d", w);
		pack_db(dir, tag, w == 2 ? 0x02 : w == 4 ? 0x04 : 0);
		rmtree(dir);
	}
}

/* ---- logs made directly ---- */

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

static void make_logs(void)
{
	/* records of every size class: empty, small, spanning blocks */
	static const size_t sizes[][4] = { { 0, 1, 100, 0 }, { 32768 - 7 - 7, 10, 0, 0 }, { 40000, 3, 0, 0 },
		                           { 32768 - 7, 0, 5, 0 } };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct mem_wfile w = { { &mem_wfile_ops }, BUF_INIT };
		struct wal_writer ww;
		wal_writer_init(&ww, &w.base, 0);
		static char rec[65536];
		for (int i = 0; i < 4; i++) {
			if (sizes[s][i] == 0 && i > 0 && s != 3)
				continue;
			memset(rec, 'a' + i, sizes[s][i]);
			if (wal_writer_add(&ww, rec, sizes[s][i]))
				die("writer");
		}
		emit_flagged("wal_reader", "log", 0, w.out.data, w.out.len);
		/* a torn tail and a zero-filled tail */
		if (w.out.len > 20) {
			emit_flagged("wal_reader", "torn", 0, w.out.data, w.out.len - 3);
			buf_append(&w.out, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 14);
			emit_flagged("wal_reader", "zeros", 1, w.out.data, w.out.len);
		}
		buf_free(&w.out);
	}
	emit_flagged("wal_reader", "empty", 0, "", 0);
}

/* ---- write batches and version edits made by hand ---- */

static void make_batches(void)
{
	shale_batch *b = shale_batch_create();
	/* (shale_batch's rep is internal; rebuild the bytes the same way) */
	struct buf rep = BUF_INIT;
	char hdr[12];
	encode_fixed64(hdr, 7);
	encode_fixed32(hdr + 8, 0);
	buf_append(&rep, hdr, 12);
	emit("write_batch", "empty", rep.data, rep.len);
	encode_fixed32(rep.data + 8, 3);
	buf_append_byte(&rep, 1);
	buf_append_lenprefixed(&rep, "key", 3);
	buf_append_lenprefixed(&rep, "value", 5);
	buf_append_byte(&rep, 0);
	buf_append_lenprefixed(&rep, "key", 3);
	buf_append_byte(&rep, 1);
	buf_append_lenprefixed(&rep, "", 0);
	buf_append_lenprefixed(&rep, "", 0);
	emit("write_batch", "ops", rep.data, rep.len);
	encode_fixed64(rep.data, IKEY_SEQ_MAX - 1);
	emit("write_batch", "seqmax", rep.data, rep.len);
	buf_free(&rep);
	shale_batch_destroy(b);

	struct buf e = BUF_INIT;
	buf_append_varint32(&e, 1);
	buf_append_lenprefixed(&e, "leveldb.BytewiseComparator", 26);
	buf_append_varint32(&e, 2);
	buf_append_varint64(&e, 5);
	buf_append_varint32(&e, 9);
	buf_append_varint64(&e, 0);
	buf_append_varint32(&e, 3);
	buf_append_varint64(&e, 9);
	buf_append_varint32(&e, 4);
	buf_append_varint64(&e, 100);
	buf_append_varint32(&e, 5);
	buf_append_varint32(&e, 1);
	buf_append_lenprefixed(&e, "abc\x01\x00\x00\x00\x00\x00\x00\x00", 11);
	buf_append_varint32(&e, 6);
	buf_append_varint32(&e, 2);
	buf_append_varint64(&e, 8);
	buf_append_varint32(&e, 7);
	buf_append_varint32(&e, 6);
	buf_append_varint64(&e, 12);
	buf_append_varint64(&e, 4096);
	buf_append_lenprefixed(&e, "a\x01\x01\x00\x00\x00\x00\x00\x00", 9);
	buf_append_lenprefixed(&e, "z\x01\x02\x00\x00\x00\x00\x00\x00", 9);
	emit("version_edit", "all", e.data, e.len);
	buf_free(&e);
}

/* ---- blocks and tables from the builders ---- */

static void make_blocks_and_tables(void)
{
	struct rng r;
	rng_seed(&r, 12);
	for (int variant = 0; variant < 6; variant++) {
		int internal = variant % 2;
		int interval = variant < 2 ? 1 : variant < 4 ? 4 : 16;
		int nkeys = variant == 0 ? 0 : 3 + variant * 9;
		struct block_builder bb;
		block_builder_init(&bb, interval);
		struct table_options o;
		memset(&o, 0, sizeof(o));
		struct ikey_comparator icmp;
		ikey_comparator_init(&icmp, comparator_bytewise());
		o.cmp = internal ? &icmp.base : comparator_bytewise();
		o.internal_keys = internal;
		o.block_size = 256;
		o.restart_interval = interval;
		o.compression = variant == 5 ? SHALE_COMPRESSION_SNAPPY : SHALE_COMPRESSION_NONE;
		o.bloom_bits_per_key = variant >= 3 ? 10 : 0;
		struct mem_wfile w = { { &mem_wfile_ops }, BUF_INIT };
		struct table_builder *tb;
		if (table_builder_create(&o, &w.base, "seed.ldb", &tb))
			die("table builder");
		for (int i = 0; i < nkeys; i++) {
			char k[64], v[64];
			int kn = snprintf(k, sizeof(k), "%s%05d", variant >= 4 ? "a/long/shared/prefix/" : "key", i * 10);
			if (internal) {
				encode_fixed64(k + kn, ikey_pack_tag((uint64_t)(1000 - i), i % 5 ? IKEY_TYPE_VALUE : IKEY_TYPE_DELETION));
				kn += 8;
			}
			int vn = (int)rng_uniform(&r, 40);
			for (int j = 0; j < vn; j++)
				v[j] = (char)('A' + (i + j) % 26);
			if (block_builder_add(&bb, slice_make(k, (size_t)kn), slice_make(v, (size_t)vn)) ||
			    table_builder_add(tb, slice_make(k, (size_t)kn), slice_make(v, (size_t)vn)))
				die("add");
		}
		struct slice blk;
		if (block_builder_finish(&bb, &blk))
			die("finish");
		emit_flagged("block", "built", (unsigned)internal, blk.data, blk.size);
		block_builder_free(&bb);
		if (table_builder_finish(tb))
			die("table finish");
		table_builder_destroy(tb);
		unsigned flags = internal ? 0 : 8;
		emit_flagged("table", "built", flags | 0x02, w.out.data, w.out.len);
		emit_flagged("table", "built", flags | 0x03, w.out.data, w.out.len);
		buf_free(&w.out);
	}
	/* edge cases: too short, no entries with a bogus restart array */
	emit_flagged("block", "short", 0, "\0\0", 2);
	emit_flagged("block", "norestarts", 1, "\0\0\0\0", 4);
	emit_flagged("table", "short", 0x02, "", 0);
}

/* ---- operation strings for the API model ---- */

static void make_ops(void)
{
	struct rng r;
	rng_seed(&r, 77);
	for (int s = 0; s < 24; s++) {
		size_t n = 64 + (size_t)rng_uniform(&r, 600);
		char *ops = malloc(n);
		for (size_t i = 0; i < n; i++)
			ops[i] = (char)rng_next(&r);
		/* option bytes: none/snappy, bloom on alternately */
		ops[0] = (char)((s % 4) | (s % 2 ? 4 : 0) | ((s % 16) << 4));
		emit("api_model", "random", ops, n);
		free(ops);
	}
	/* many puts of big values (flushes, compactions), then reopen and a walk */
	struct buf b = BUF_INIT;
	buf_append(&b, "\x04\x02", 2);
	for (int i = 0; i < 60; i++) {
		char op[3] = { 0, (char)(i * 5 % 48), (char)(200 + i % 40) };
		buf_append(&b, op, 3);
		if (i % 15 == 7)
			buf_append(&b, "\x0b", 1); /* a snapshot */
	}
	buf_append(&b, "\x0e\x00\x07\x00\x0c\x00\x00\x0f\x03\x10\x20", 11);
	emit("api_model", "bulk", b.data, b.len);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: %s OUTDIR", argv[0]);
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
		die("mkdir %s: %s", outdir, strerror(errno));
	char tmp[4096];
	const char *t = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/shale-seedgen-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmp) == NULL)
		die("mkdtemp");
	make_dbs(tmp);
	rmdir(tmp);
	make_logs();
	make_batches();
	make_blocks_and_tables();
	make_ops();
	printf("%d seeds written under %s\n", counter, outdir);
	return 0;
}
