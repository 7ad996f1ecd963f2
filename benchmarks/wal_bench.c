/*
 * wal_bench: throughput of the write-ahead log (append, append+sync) and of
 * CRC-32C (hardware and table paths). Uses internal headers (wal/, lib/util/):
 * the WAL has no public API of its own.
 *
 *   wal_bench [--dir=DIR] [--num=N] [--value_size=BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/crc32c.h"
#include "lib/util/env.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void row(const char *name, long ops, size_t bytes_per_op, double secs)
{
	double us = secs * 1e6 / (double)ops;
	double mbs = (double)ops * (double)bytes_per_op / (1024.0 * 1024.0) / secs;
	printf("%-16s : %10.3f micros/op; %8.1f MB/s (%ld ops)\n", name, us, mbs, ops);
}

static int append_records(struct env *e, const char *path, long n, size_t vsize, int sync, double *secs)
{
	struct wfile *f;
	int rc = env_open_write(e, path, &f);
	if (rc)
		return rc;
	struct wal_writer w;
	wal_writer_init(&w, f, 0);
	char *rec = malloc(vsize);
	if (rec == NULL) {
		wfile_close(f);
		return err_nomem("record");
	}
	for (size_t i = 0; i < vsize; i++)
		rec[i] = (char)(i * 7 + 3);
	double t0 = now_sec();
	for (long i = 0; i < n && rc == 0; i++) {
		rc = wal_writer_add(&w, rec, vsize);
		if (rc == 0 && sync)
			rc = wal_writer_sync(&w);
	}
	*secs = now_sec() - t0;
	free(rec);
	int crc = wfile_close(f);
	return rc ? rc : crc;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	long num = 1000000;
	size_t vsize = 100;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--dir=", 6) == 0)
			dir = argv[i] + 6;
		else if (strncmp(argv[i], "--num=", 6) == 0)
			num = atol(argv[i] + 6);
		else if (strncmp(argv[i], "--value_size=", 13) == 0)
			vsize = (size_t)atol(argv[i] + 13);
		else {
			fprintf(stderr, "usage: %s [--dir=DIR] [--num=N] [--value_size=BYTES]\n", argv[0]);
			return 2;
		}
	}
	char tmpl[] = "/tmp/shale-walbench-XXXXXX";
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	struct env *e = env_posix_default();
	char path[FNAME_MAX];
	fname_log(path, dir, 1);
	printf("shale %s  wal_bench: %ld records of %zu bytes in %s\n", shale_version(), num, vsize, dir);
	printf("CRC-32C: %s\n", crc32c_hw_available() ? "SSE4.2" : "table");
	printf("------------------------------------------------\n");

	double secs;
	int rc = append_records(e, path, num, vsize, 0, &secs);
	if (rc) {
		fprintf(stderr, "append: %s\n", shale_errmsg());
		return 1;
	}
	row("append", num, vsize, secs);

	struct seq_file *sf;
	if (env_open_seq(e, path, &sf) == 0) {
		struct wal_reader *r;
		if (wal_reader_create(sf, NULL, 1, &r) == 0) {
			struct slice rec;
			long got = 0;
			double t0 = now_sec();
			while (wal_reader_read(r, &rec) == 1)
				got++;
			row("read", got, vsize, now_sec() - t0);
			wal_reader_destroy(r);
		}
		seq_file_close(sf);
	}

	long nsync = num / 1000 > 100 ? num / 1000 : 100;
	rc = append_records(e, path, nsync, vsize, 1, &secs);
	if (rc) {
		fprintf(stderr, "append+sync: %s\n", shale_errmsg());
		return 1;
	}
	row("append+sync", nsync, vsize, secs);
	env_remove(e, path);

	size_t blen = 4096;
	char *blk = calloc(1, blen);
	long iters = 200000;
	volatile uint32_t sink = 0;
	double t0 = now_sec();
	for (long i = 0; i < iters; i++)
		sink ^= crc32c_sw(0, blk, blen);
	(void)sink;
	row("crc32c table 4K", iters, blen, now_sec() - t0);
	if (crc32c_hw_available()) {
		t0 = now_sec();
		for (long i = 0; i < iters; i++)
			sink ^= crc32c_hw(0, blk, blen);
		row("crc32c sse42 4K", iters, blen, now_sec() - t0);
	}
	free(blk);
	if (dir == tmpl)
		env_rmdir(e, dir);
	return 0;
}
