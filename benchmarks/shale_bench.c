/*
 * shale_bench: a db_bench-style benchmark of the whole engine, after LevelDB's
 * benchmarks/db_bench.cc (same workloads, keys, values and report format),
 * written in C. For shale it uses ONLY the public header <shale.h>: it
 * measures what an application sees, and links libshale.la like one.
 *
 *   shale_bench [--benchmarks=fillseq,readrandom,...] [--num=N] ...
 *   shale_bench --engine=shale,leveldb,rocksdb,lmdb,wiredtiger [...]
 *   (shale_bench --help lists every flag)
 *
 * Every engine runs behind one interface (engine.h; engine_<name>.c), with
 * the same workloads, keys and values. One engine (--engine=shale, the
 * default) runs in this process. A list of engines is a side-by-side
 * comparison (compare.c): one fresh process per engine, each on its own
 * directory, each reporting its results through a pipe (--report_fd), and
 * one table at the end with ops/s, the ratio to LevelDB, p50/p99 latency
 * (of a random eighth of the operations: LAT_SAMPLE), write amplification,
 * size on disk and peak anonymous memory.
 *
 * Each benchmark runs on --threads threads at once, each doing the whole
 * work, as db_bench does. "micros/op" is the summed thread time over the
 * summed operations (the latency one thread sees); "MB/s" is the summed
 * key+value bytes over the wall time of the run. The fill benchmarks that
 * db_bench runs on a fresh database (fillseq, fillrandom, fillsync, fillbatch,
 * fill100K) destroy and reopen it first, or are skipped with
 * --use_existing_db=1.
 *
 * Any failing call prints shale_errmsg() and exits with status 1, leaving the
 * database directory in place for inspection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, vdprintf */
#endif
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shale.h> /* SHALE_COMPRESSION_*, shale_version */

#include "config.h"
#include "benchmarks/compare.h"
#include "benchmarks/engine.h"
#include "benchmarks/latency.h"
#include "benchmarks/procstat.h"

#define DEFAULT_BENCHMARKS                                                   \
	"fillseq,fillsync,fillrandom,overwrite,readrandom,readrandom,"       \
	"readseq,readreverse,compact,readrandom,readseq,readreverse,"        \
	"seekrandom,readmissing,deleterandom,stats,fillbatch,fill100K"

/* The comparison's workloads (issue 11), in db_bench's order. */
#define COMPARISON_BENCHMARKS                                                \
	"fillseq,fillsync,fillrandom,overwrite,readrandom,readseq,"         \
	"readreverse,seekrandom,readmissing,readwhilewriting"

#define KEY_SIZE_MAX 65536
#define MAX_THREADS 1024

/* ---- flags ---------------------------------------------------------------- */

static struct {
	const char *engine; /* one name, or a comma-separated list to compare */
	int report_fd;      /* internal: a comparison's child reports here */
	const char *benchmarks;
	int64_t num;
	int64_t reads; /* < 0: same as num */
	int value_size;
	int key_size;
	double compression_ratio;
	int threads;
	const char *db; /* NULL: a fresh mkdtemp directory */
	int use_existing_db;
	int compression;
	int bloom_bits;
	int64_t cache_size;
	int64_t write_buffer_size; /* 0: the library's default */
	int64_t max_file_size;     /* 0: the library's default */
	int64_t block_size;        /* 0: the library's default */
	int64_t max_open_files;    /* 0: the library's default */
	int64_t wal_flush_delay;   /* -1: shale's default */
	int mmap_reads;            /* -1: shale's default */
	int scan_ahead;            /* -1: shale's default */
	int l0_compaction_trigger; /* 0: shale's default */
	int l0_slowdown_trigger;   /* 0: shale's default */
	int l0_stop_trigger;       /* 0: shale's default */
	int64_t level_base;        /* max_bytes_for_level_base; 0: shale's default */
	int level_multiplier;      /* 0: shale's default */
	int histogram;
	uint64_t seed;
} FLAGS = {
	.engine = "shale",
	.wal_flush_delay = -1,
	.mmap_reads = -1,
	.scan_ahead = -1,
	.report_fd = -1,
	.benchmarks = NULL, /* DEFAULT_BENCHMARKS, or COMPARISON_BENCHMARKS */
	.num = 1000000,
	.reads = -1,
	.value_size = 100,
	.key_size = 16,
	.compression_ratio = 0.5,
	.threads = 1,
	.compression = SHALE_COMPRESSION_SNAPPY,
	.bloom_bits = 10,
	.cache_size = 8 << 20,
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	    "usage: %s [flags]\n"
	    "  --engine=NAME[,NAME...] shale leveldb rocksdb lmdb wiredtiger (default shale);\n"
	    "                          a list runs each engine in a fresh process, on\n"
	    "                          DIR/NAME, and prints one comparison table\n"
	    "  --benchmarks=LIST       comma-separated, run in order (default:\n"
	    "                          " DEFAULT_BENCHMARKS ";\n"
	    "                          with a list of engines:\n"
	    "                          " COMPARISON_BENCHMARKS ")\n"
	    "      fillseq fillrandom overwrite fillsync fillbatch fill100K\n"
	    "      readrandom readmissing readhot readrandomsmall readseq readreverse\n"
	    "      seekrandom deleteseq deleterandom readwhilewriting compact stats sstables\n"
	    "  --num=N                 entries (default 1000000)\n"
	    "  --reads=N               reads per thread (default: num)\n"
	    "  --value_size=BYTES      (default 100)\n"
	    "  --key_size=BYTES        zero-padded decimal keys (default 16)\n"
	    "  --compression_ratio=R   how compressible values are (default 0.5)\n"
	    "  --threads=N             threads running each benchmark (default 1)\n"
	    "  --db=DIR                database directory (default: a new /tmp/shalebench-XXXXXX)\n"
	    "  --use_existing_db=0|1   keep the DB; skip the fresh-DB fills (default 0)\n"
	    "  --compression=snappy|lz4|zlib|none (default snappy)\n"
	    "  --bloom_bits=N          bloom filter bits per key, 0 = none (default 10)\n"
	    "  --cache_size=BYTES      shared block cache; 0 = the DB's own (default 8 MiB)\n"
	    "  --write_buffer_size=BYTES --max_file_size=BYTES --block_size=BYTES\n"
	    "  --max_open_files=N      (default: the library's defaults)\n"
	    "  --wal_flush_delay=MICROS --mmap_reads=0|1 --scan_ahead=0|1\n"
	    "                          shale only (default: shale's defaults)\n"
	    "  --l0_compaction_trigger=N --l0_slowdown_trigger=N --l0_stop_trigger=N\n"
	    "  --max_bytes_for_level_base=BYTES --level_multiplier=N\n"
	    "                          shale only (default: shale's defaults)\n"
	    "  --histogram=0|1         latency histogram per benchmark (default 0)\n"
	    "  --seed=N                base of the per-thread random seeds (default 0)\n",
	    prog);
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	int64_t v;

	if (parse_i64(s, lo, hi, &v))
		return -1;
	*out = (int)v;
	return 0;
}

/* Returns 0, or -1 for an unknown flag or a bad value. */
static int parse_flag(const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *v;
	size_t nlen;

	if (strncmp(arg, "--", 2) != 0 || eq == NULL)
		return -1;
	arg += 2;
	nlen = (size_t)(eq - arg);
	v = eq + 1;
#define IS(name) (nlen == strlen(name) && strncmp(arg, name, nlen) == 0)
	if (IS("engine")) {
		FLAGS.engine = v;
		return *v ? 0 : -1;
	}
	if (IS("report_fd"))
		return parse_int(v, 0, 1 << 20, &FLAGS.report_fd);
	if (IS("benchmarks")) {
		FLAGS.benchmarks = v;
		return 0;
	}
	if (IS("db")) {
		FLAGS.db = v;
		return *v ? 0 : -1;
	}
	if (IS("num"))
		return parse_i64(v, 1, INT64_C(1) << 40, &FLAGS.num);
	if (IS("reads"))
		return parse_i64(v, -1, INT64_C(1) << 40, &FLAGS.reads);
	if (IS("value_size"))
		return parse_int(v, 0, 64 << 20, &FLAGS.value_size);
	if (IS("key_size"))
		return parse_int(v, 1, KEY_SIZE_MAX, &FLAGS.key_size);
	if (IS("threads"))
		return parse_int(v, 1, MAX_THREADS, &FLAGS.threads);
	if (IS("use_existing_db"))
		return parse_int(v, 0, 1, &FLAGS.use_existing_db);
	if (IS("histogram"))
		return parse_int(v, 0, 1, &FLAGS.histogram);
	if (IS("bloom_bits"))
		return parse_int(v, 0, 1000, &FLAGS.bloom_bits);
	if (IS("cache_size"))
		return parse_i64(v, 0, INT64_MAX, &FLAGS.cache_size);
	if (IS("write_buffer_size"))
		return parse_i64(v, 1, INT64_MAX, &FLAGS.write_buffer_size);
	if (IS("max_file_size"))
		return parse_i64(v, 1, INT64_MAX, &FLAGS.max_file_size);
	if (IS("block_size"))
		return parse_i64(v, 1, INT64_MAX, &FLAGS.block_size);
	if (IS("max_open_files"))
		return parse_i64(v, 1, INT32_MAX, &FLAGS.max_open_files);
	if (IS("wal_flush_delay"))
		return parse_i64(v, 0, 1000000, &FLAGS.wal_flush_delay);
	if (IS("mmap_reads"))
		return parse_int(v, 0, 1, &FLAGS.mmap_reads);
	if (IS("scan_ahead"))
		return parse_int(v, 0, 1, &FLAGS.scan_ahead);
	if (IS("l0_compaction_trigger"))
		return parse_int(v, 1, 1000, &FLAGS.l0_compaction_trigger);
	if (IS("l0_slowdown_trigger"))
		return parse_int(v, 1, 10000, &FLAGS.l0_slowdown_trigger);
	if (IS("l0_stop_trigger"))
		return parse_int(v, 1, 10000, &FLAGS.l0_stop_trigger);
	if (IS("max_bytes_for_level_base"))
		return parse_i64(v, 1, INT64_MAX, &FLAGS.level_base);
	if (IS("level_multiplier"))
		return parse_int(v, 2, 1000, &FLAGS.level_multiplier);
	if (IS("seed")) {
		int64_t s;
		if (parse_i64(v, 0, INT64_MAX, &s))
			return -1;
		FLAGS.seed = (uint64_t)s;
		return 0;
	}
	if (IS("compression_ratio")) {
		char *end;
		double r = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || !(r > 0.0 && r <= 1.0))
			return -1;
		FLAGS.compression_ratio = r;
		return 0;
	}
	if (IS("compression")) {
		if (strcmp(v, "snappy") == 0)
			FLAGS.compression = SHALE_COMPRESSION_SNAPPY;
		else if (strcmp(v, "lz4") == 0)
			FLAGS.compression = SHALE_COMPRESSION_LZ4;
		else if (strcmp(v, "zlib") == 0)
			FLAGS.compression = SHALE_COMPRESSION_ZLIB;
		else if (strcmp(v, "none") == 0)
			FLAGS.compression = SHALE_COMPRESSION_NONE;
		else
			return -1;
		return 0;
	}
#undef IS
	return -1;
}

static const char *compression_name(int type)
{
	switch (type) {
	case SHALE_COMPRESSION_SNAPPY: return "snappy";
	case SHALE_COMPRESSION_LZ4: return "lz4";
	case SHALE_COMPRESSION_ZLIB: return "zlib";
	default: return "none";
	}
}

/* ---- errors --------------------------------------------------------------- */

static const char *g_db_path; /* a directory we made, named on failure */

/* Exits with status 1 when rc is a failure (ENGINE_NOTFOUND is not one). */
static void check(int rc, const char *what)
{
	if (rc >= 0)
		return;
	fprintf(stderr, "%s: %s\n", what, engine_errmsg()); /* names the engine and call */
	if (g_db_path != NULL)
		fprintf(stderr, "database left in %s\n", g_db_path);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

/* ---- clock and random numbers --------------------------------------------- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* SplitMix64: tiny, fast, and every seed (including 0) gives a good stream. */
struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n); the modulo bias is below 2^-23 for n <= 2^40. */
static int64_t rng_uniform(struct rng *r, int64_t n)
{
	return (int64_t)(rng_next(r) % (uint64_t)n);
}

/* ---- values: db_bench's RandomGenerator ----------------------------------- */

/* One read-only buffer of 100-byte fragments, each holding ratio*100 random
 * printable bytes repeated to fill it, so a value compresses to about
 * compression_ratio of its size. Values are consecutive slices of it. */
static char *g_data;
static size_t g_data_len;

static void values_init(size_t max_value)
{
	struct rng r = { 301 };
	size_t len = (size_t)1 << 20;
	size_t raw = (size_t)(100 * FLAGS.compression_ratio);

	if (len < 2 * max_value + 100)
		len = 2 * max_value + 100;
	if (raw < 1)
		raw = 1;
	g_data = xmalloc(len);
	g_data_len = len;
	for (size_t off = 0; off < len; off += 100) {
		size_t piece = len - off < 100 ? len - off : 100;
		for (size_t i = 0; i < piece; i++)
			g_data[off + i] = i < raw ? (char)(' ' + rng_uniform(&r, 95))
			                          : g_data[off + i % raw];
	}
}

/* ---- latency histogram (db_bench's buckets and format) -------------------- */

/* Bucket upper limits in micros: 1..10, then per decade
 * x1.2 1.4 1.6 1.8 2 2.5 3 3.5 4 4.5 5 6 7 8 9 10, then one catch-all. */
#define HIST_DECADES 10
#define HIST_BUCKETS (10 + 16 * HIST_DECADES + 1)

static double g_limits[HIST_BUCKETS];

static void hist_init_limits(void)
{
	static const double steps[16] = { 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5,
	                                  4, 4.5, 5, 6, 7, 8, 9, 10 };
	int b = 0;
	double decade = 10;

	for (int i = 1; i <= 10; i++)
		g_limits[b++] = i;
	for (int d = 0; d < HIST_DECADES; d++, decade *= 10)
		for (int i = 0; i < 16; i++)
			g_limits[b++] = decade * steps[i];
	g_limits[b++] = 1e200;
}

struct hist {
	double min, max, num, sum, sum_sq;
	double buckets[HIST_BUCKETS];
};

static void hist_clear(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = 1e200;
}

static void hist_add(struct hist *h, double v)
{
	int b = 0;

	while (b < HIST_BUCKETS - 1 && g_limits[b] <= v)
		b++;
	h->buckets[b] += 1;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->num++;
	h->sum += v;
	h->sum_sq += v * v;
}

static void hist_merge(struct hist *h, const struct hist *o)
{
	if (o->min < h->min)
		h->min = o->min;
	if (o->max > h->max)
		h->max = o->max;
	h->num += o->num;
	h->sum += o->sum;
	h->sum_sq += o->sum_sq;
	for (int b = 0; b < HIST_BUCKETS; b++)
		h->buckets[b] += o->buckets[b];
}

/* Interpolates linearly inside the bucket that holds the p-th percentile. */
static double hist_percentile(const struct hist *h, double p)
{
	double threshold = h->num * (p / 100.0);
	double sum = 0;

	for (int b = 0; b < HIST_BUCKETS; b++) {
		sum += h->buckets[b];
		if (sum >= threshold && h->buckets[b] > 0) {
			double left = b == 0 ? 0 : g_limits[b - 1];
			double right = g_limits[b];
			double left_sum = sum - h->buckets[b];
			double r = left + (right - left) * (threshold - left_sum) / h->buckets[b];
			if (r < h->min)
				r = h->min;
			if (r > h->max)
				r = h->max;
			return r;
		}
	}
	return h->max;
}

static void hist_print(const struct hist *h)
{
	double avg = h->num ? h->sum / h->num : 0;
	double var = h->num ? (h->sum_sq * h->num - h->sum * h->sum) / (h->num * h->num) : 0;
	double mult = h->num ? 100.0 / h->num : 0;
	double cum = 0;

	printf("Microseconds per op:\n");
	printf("Count: %.0f  Average: %.4f  StdDev: %.2f\n", h->num, avg, sqrt(var > 0 ? var : 0));
	printf("Min: %.4f  Median: %.4f  Max: %.4f\n", h->num ? h->min : 0.0,
	       hist_percentile(h, 50), h->max);
	printf("Percentiles: P50: %.2f P75: %.2f P99: %.2f P99.9: %.2f P99.99: %.2f\n",
	       hist_percentile(h, 50), hist_percentile(h, 75), hist_percentile(h, 99),
	       hist_percentile(h, 99.9), hist_percentile(h, 99.99));
	printf("------------------------------------------------------\n");
	for (int b = 0; b < HIST_BUCKETS; b++) {
		char marks[21];
		int n;

		if (h->buckets[b] <= 0)
			continue;
		cum += h->buckets[b];
		n = (int)(20 * (h->buckets[b] / h->num) + 0.5);
		memset(marks, '#', (size_t)n);
		marks[n] = '\0';
		printf("[ %7.0f, %7.0f ) %7.0f %7.3f%% %7.3f%% %s\n",
		       b == 0 ? 0.0 : g_limits[b - 1], g_limits[b], h->buckets[b],
		       mult * h->buckets[b], mult * cum, marks);
	}
	printf("\n");
}

/* ---- per-thread statistics ------------------------------------------------ */

struct stats {
	double start, finish, seconds; /* micros, micros, seconds */
	double last_op;
	int64_t done, next_report, bytes;
	int64_t written; /* key (+ value) bytes of puts and deletes */
	int64_t found, lookups; /* "(found of lookups found)" when lookups > 0 */
	struct hist hist;    /* --histogram */
	struct latency lat;  /* a comparison's p50/p99 */
	/* A comparison times a sample of the operations for p50/p99 (see
	 * LAT_SAMPLE): timed says the running one is, started at last_op. */
	int sample_all, timed;
	struct rng lat_rng;
	char msg[64];
};

/* A comparison's p50/p99 come from a random one in LAT_SAMPLE operations,
 * each timed alone, when a benchmark runs at least LAT_SAMPLE_MIN of them
 * (below that, every one). Reading the clock costs about 25 ns here (a
 * quarter of a readseq step): timing every step would add that to every
 * engine's time and pull the fastest workloads' ratios toward 1. db_bench
 * reads the clock per operation only with --histogram, as --histogram does
 * here. */
#define LAT_SAMPLE 8
#define LAT_SAMPLE_MIN 100000

static int g_progress;     /* stderr is a terminal: show "... finished N ops" */
static int g_collect_lat; /* a comparison's child: p50/p99 for the parent */

static void stats_start(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	hist_clear(&s->hist);
	s->next_report = 100;
	s->start = s->last_op = now_us();
	s->finish = s->start;
}

static void stats_stop(struct stats *s)
{
	s->finish = now_us();
	s->seconds = (s->finish - s->start) * 1e-6;
}

static void stats_merge(struct stats *s, const struct stats *o)
{
	hist_merge(&s->hist, &o->hist);
	latency_merge(&s->lat, &o->lat);
	s->done += o->done;
	s->bytes += o->bytes;
	s->written += o->written;
	s->seconds += o->seconds;
	s->found += o->found;
	s->lookups += o->lookups;
	if (o->start < s->start)
		s->start = o->start;
	if (o->finish > s->finish)
		s->finish = o->finish;
	if (s->msg[0] == '\0')
		memcpy(s->msg, o->msg, sizeof(s->msg));
}

static void stats_op_done(struct stats *s)
{
	if (FLAGS.histogram) {
		double now = now_us();
		hist_add(&s->hist, now - s->last_op);
		if (g_collect_lat)
			latency_add(&s->lat, now - s->last_op);
		s->last_op = now;
	} else if (g_collect_lat) {
		if (s->timed)
			latency_add(&s->lat, now_us() - s->last_op);
		s->timed = s->sample_all || rng_next(&s->lat_rng) % LAT_SAMPLE == 0;
		if (s->timed)
			s->last_op = now_us();
	}
	s->done++;
	if (g_progress && s->done >= s->next_report) {
		if (s->next_report < 1000)
			s->next_report += 100;
		else if (s->next_report < 5000)
			s->next_report += 500;
		else if (s->next_report < 10000)
			s->next_report += 1000;
		else if (s->next_report < 50000)
			s->next_report += 5000;
		else if (s->next_report < 100000)
			s->next_report += 10000;
		else if (s->next_report < 500000)
			s->next_report += 50000;
		else
			s->next_report += 100000;
		fprintf(stderr, "... finished %" PRId64 " ops%30s\r", s->done, "");
		fflush(stderr);
	}
}

/* A comparison's child writes one line per result to --report_fd (compare.h
 * gives the format); elsewhere this does nothing. */
__attribute__((format(printf, 1, 2)))
static void report(const char *fmt, ...)
{
	va_list ap;

	if (FLAGS.report_fd < 0)
		return;
	va_start(ap, fmt);
	if (vdprintf(FLAGS.report_fd, fmt, ap) < 0) {
		perror("writing to --report_fd");
		exit(1);
	}
	va_end(ap);
}

static void stats_report(struct stats *s, const char *name)
{
	char extra[160] = "";
	size_t n = 0;
	double wall = (s->finish - s->start) * 1e-6;

	if (s->done < 1) /* a benchmark without single ops (compact) counts as one */
		s->done = 1;
	if (s->bytes > 0) {
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " %6.1f MB/s",
		                      (double)s->bytes / 1048576.0 / wall);
	}
	if (s->lookups > 0 && n < sizeof(extra))
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
		                      " (%" PRId64 " of %" PRId64 " found)", s->found, s->lookups);
	if (s->msg[0] != '\0' && n < sizeof(extra))
		snprintf(extra + n, sizeof(extra) - n, " %s", s->msg);
	printf("%-12s : %11.3f micros/op;%s\n", name, s->seconds * 1e6 / (double)s->done, extra);
	if (FLAGS.histogram)
		hist_print(&s->hist);
	fflush(stdout);
	report(COMPARE_BENCH "\t%s\t%" PRId64 "\t%.6f\t%.3f\t%.3f\t%" PRId64 "\t%" PRId64 "\n",
	       name, s->done, wall, latency_percentile(&s->lat, 50), latency_percentile(&s->lat, 99),
	       s->found, s->lookups);
}

/* ---- the benchmark state -------------------------------------------------- */

struct bench {
	const struct engine *eng;
	struct engine_db *db;
	struct engine_opts opts;
	const char *path;
	int64_t num;           /* entries for this benchmark */
	int64_t reads;         /* reads per thread for this benchmark */
	int value_size;        /* for this benchmark */
	int entries_per_batch; /* for this benchmark */
	int sync;              /* writes of this benchmark are synced */
	uint64_t threads_started;
	int64_t written;       /* key + value bytes written by every benchmark */
};

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int total, initialized, done, start; /* guarded by mu */
};

struct thread_state {
	int tid;
	struct rng rng;
	struct stats stats;
	struct shared *shared;
	struct bench *bm;
	struct engine_ctx *ctx; /* this thread's handle on bm->db */
	void (*method)(struct thread_state *);
	size_t value_pos;
	char *key; /* key_size + 2 bytes: room for readmissing's '.' and a NUL */
	pthread_t thread;
};

static const void *next_value(struct thread_state *t, size_t len)
{
	if (t->value_pos + len > g_data_len)
		t->value_pos = 0;
	t->value_pos += len;
	return g_data + t->value_pos - len;
}

/* Writes key k into t->key as key_size zero-padded decimal digits. */
static size_t make_key(struct thread_state *t, int64_t k)
{
	snprintf(t->key, (size_t)FLAGS.key_size + 1, "%0*" PRId64, FLAGS.key_size, k);
	return (size_t)FLAGS.key_size;
}

static void num_message(struct thread_state *t)
{
	if (t->bm->num != FLAGS.num)
		snprintf(t->stats.msg, sizeof(t->stats.msg), "(%" PRId64 " ops)", t->bm->num);
}

/* ---- workloads ------------------------------------------------------------ */

static void do_write(struct thread_state *t, int seq)
{
	struct bench *bm = t->bm;
	const struct engine *e = bm->eng;
	size_t vlen = (size_t)bm->value_size;
	int per_batch = bm->entries_per_batch;
	struct engine_kv *kvs = NULL;
	char *keys = NULL;
	int64_t bytes = 0;

	num_message(t);
	if (per_batch > 1) { /* the batch's keys need their own room */
		kvs = xmalloc((size_t)per_batch * sizeof(*kvs));
		keys = xmalloc((size_t)per_batch * ((size_t)FLAGS.key_size + 1));
	}
	for (int64_t i = 0; i < bm->num; i += per_batch) {
		int n = 0;
		for (int j = 0; j < per_batch && i + j < bm->num; j++) {
			int64_t k = seq ? i + j : rng_uniform(&t->rng, FLAGS.num);
			size_t klen = make_key(t, k);
			const void *v = next_value(t, vlen);
			if (kvs != NULL) {
				char *kp = keys + (size_t)n * ((size_t)FLAGS.key_size + 1);
				memcpy(kp, t->key, klen);
				kvs[n++] = (struct engine_kv){ kp, klen, v, vlen };
			} else {
				check(e->put(t->ctx, t->key, klen, v, vlen, bm->sync), "put");
			}
			bytes += (int64_t)(klen + vlen);
			stats_op_done(&t->stats);
		}
		if (kvs != NULL)
			check(e->write_batch(t->ctx, kvs, n, bm->sync), "write_batch");
	}
	free(keys);
	free(kvs);
	t->stats.bytes += bytes;
	t->stats.written += bytes;
}

static void write_seq(struct thread_state *t)
{
	do_write(t, 1);
}

static void write_random(struct thread_state *t)
{
	do_write(t, 0);
}

static void do_delete(struct thread_state *t, int seq)
{
	struct bench *bm = t->bm;

	for (int64_t i = 0; i < bm->num; i++) {
		int64_t k = seq ? i : rng_uniform(&t->rng, FLAGS.num);
		size_t klen = make_key(t, k);
		check(bm->eng->del(t->ctx, t->key, klen, bm->sync), "delete");
		t->stats.written += (int64_t)klen;
		stats_op_done(&t->stats);
	}
}

static void delete_seq(struct thread_state *t)
{
	do_delete(t, 1);
}

static void delete_random(struct thread_state *t)
{
	do_delete(t, 0);
}

static struct engine_iter *iter_create(struct thread_state *t)
{
	struct engine_iter *it = t->bm->eng->iter_create(t->ctx);

	if (it == NULL)
		check(-1, "iter_create");
	return it;
}

static void do_scan(struct thread_state *t, int forward)
{
	struct bench *bm = t->bm;
	const struct engine *e = bm->eng;
	struct engine_iter *it = iter_create(t);
	int64_t bytes = 0;

	if (forward)
		e->iter_seek_first(it);
	else
		e->iter_seek_last(it);
	for (int64_t i = 0; i < bm->reads && e->iter_valid(it); i++) {
		size_t klen, vlen;
		e->iter_key(it, &klen);
		e->iter_value(it, &vlen);
		bytes += (int64_t)(klen + vlen);
		stats_op_done(&t->stats);
		if (forward)
			e->iter_next(it);
		else
			e->iter_prev(it);
	}
	check(e->iter_status(it), forward ? "readseq" : "readreverse");
	e->iter_destroy(it);
	t->stats.bytes += bytes;
}

static void read_seq(struct thread_state *t)
{
	do_scan(t, 1);
}

static void read_reverse(struct thread_state *t)
{
	do_scan(t, 0);
}

/* Point lookups of keys drawn from [0, range); missing appends '.' to each,
 * which makes a key that sorts between two real ones and is never present. */
static void do_read(struct thread_state *t, int64_t range, int missing)
{
	struct bench *bm = t->bm;
	int64_t found = 0, bytes = 0;

	for (int64_t i = 0; i < bm->reads; i++) {
		size_t klen = make_key(t, rng_uniform(&t->rng, range));
		size_t vlen;
		int rc;

		if (missing)
			t->key[klen++] = '.';
		rc = bm->eng->get(t->ctx, t->key, klen, &vlen);
		check(rc, "get");
		if (rc == 0) {
			found++;
			bytes += (int64_t)(klen + vlen);
		}
		stats_op_done(&t->stats);
	}
	t->stats.found += found;
	t->stats.lookups += bm->reads;
	t->stats.bytes += bytes;
}

static void read_random(struct thread_state *t)
{
	do_read(t, FLAGS.num, 0);
}

static void read_missing(struct thread_state *t)
{
	do_read(t, FLAGS.num, 1);
}

static void read_hot(struct thread_state *t)
{
	do_read(t, (FLAGS.num + 99) / 100, 0);
}

/* As db_bench: a new iterator per seek, so iterator setup is part of the cost. */
static void seek_random(struct thread_state *t)
{
	struct bench *bm = t->bm;
	const struct engine *e = bm->eng;
	int64_t found = 0;

	for (int64_t i = 0; i < bm->reads; i++) {
		size_t klen = make_key(t, rng_uniform(&t->rng, FLAGS.num));
		struct engine_iter *it = iter_create(t);

		e->iter_seek(it, t->key, klen);
		if (e->iter_valid(it)) {
			size_t got_len;
			const void *got = e->iter_key(it, &got_len);
			if (got_len == klen && memcmp(got, t->key, klen) == 0)
				found++;
		}
		check(e->iter_status(it), "seekrandom");
		e->iter_destroy(it);
		stats_op_done(&t->stats);
	}
	t->stats.found += found;
	t->stats.lookups += bm->reads;
}

/* Thread 0 overwrites random keys as fast as it can until the readers
 * finish; only the readers' work is counted (the writer's bytes still count
 * as written, for write amplification). */
static void read_while_writing(struct thread_state *t)
{
	struct bench *bm = t->bm;
	struct shared *sh = t->shared;
	size_t vlen = (size_t)bm->value_size;
	int64_t written = 0;

	if (t->tid > 0) {
		read_random(t);
		return;
	}
	for (;;) {
		int readers_left;
		size_t klen;

		pthread_mutex_lock(&sh->mu);
		readers_left = sh->done + 1 < sh->initialized;
		pthread_mutex_unlock(&sh->mu);
		if (!readers_left)
			break;
		klen = make_key(t, rng_uniform(&t->rng, FLAGS.num));
		check(bm->eng->put(t->ctx, t->key, klen, next_value(t, vlen), vlen, 0), "put");
		written += (int64_t)(klen + vlen);
	}
	stats_start(&t->stats);
	t->stats.written = written;
}

static void compact(struct thread_state *t)
{
	check(t->bm->eng->compact(t->bm->db), "compact");
}

/* ---- running one benchmark ------------------------------------------------ */

/* Chooses which operations a comparison times: all, or a random sample. */
static void stats_sample(struct stats *s, const struct bench *bm, int tid)
{
	int64_t ops = bm->num < bm->reads ? bm->num : bm->reads;

	s->sample_all = ops < LAT_SAMPLE_MIN;
	s->lat_rng.s = UINT64_C(0x5ca1e) + (uint64_t)tid;
	s->timed = 1; /* the first operation, timed from stats_start */
}

static void *thread_body(void *arg)
{
	struct thread_state *t = arg;
	struct shared *sh = t->shared;

	check(t->bm->eng->ctx_open(t->bm->db, &t->ctx), "ctx_open");
	pthread_mutex_lock(&sh->mu);
	sh->initialized++;
	if (sh->initialized >= sh->total)
		pthread_cond_broadcast(&sh->cv);
	while (!sh->start)
		pthread_cond_wait(&sh->cv, &sh->mu);
	pthread_mutex_unlock(&sh->mu);

	stats_start(&t->stats);
	stats_sample(&t->stats, t->bm, t->tid);
	t->method(t);
	stats_stop(&t->stats);

	pthread_mutex_lock(&sh->mu);
	sh->done++;
	if (sh->done >= sh->total)
		pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	t->bm->eng->ctx_close(t->ctx);
	return NULL;
}

static void run_benchmark(struct bench *bm, int n, const char *name,
                          void (*method)(struct thread_state *))
{
	struct shared sh = { .total = n };
	struct thread_state *ts = calloc((size_t)n, sizeof(*ts));
	int rc;

	if (ts == NULL) {
		fprintf(stderr, "out of memory for %d thread states\n", n);
		exit(1);
	}
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	for (int i = 0; i < n; i++) {
		ts[i].tid = i;
		/* Unique per thread and benchmark, reproducible across runs. */
		ts[i].rng.s = FLAGS.seed + 1000 + ++bm->threads_started;
		ts[i].shared = &sh;
		ts[i].bm = bm;
		ts[i].method = method;
		ts[i].key = xmalloc((size_t)FLAGS.key_size + 2);
		rc = pthread_create(&ts[i].thread, NULL, thread_body, &ts[i]);
		if (rc != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(rc));
			exit(1);
		}
	}
	pthread_mutex_lock(&sh.mu);
	while (sh.initialized < n)
		pthread_cond_wait(&sh.cv, &sh.mu);
	sh.start = 1;
	pthread_cond_broadcast(&sh.cv);
	while (sh.done < n)
		pthread_cond_wait(&sh.cv, &sh.mu);
	pthread_mutex_unlock(&sh.mu);

	for (int i = 0; i < n; i++)
		pthread_join(ts[i].thread, NULL);
	for (int i = 1; i < n; i++)
		stats_merge(&ts[0].stats, &ts[i].stats);
	if (g_progress) {
		fprintf(stderr, "%60s\r", "");
		fflush(stderr);
	}
	bm->written += ts[0].stats.written;
	stats_report(&ts[0].stats, name);
	for (int i = 0; i < n; i++)
		free(ts[i].key);
	free(ts);
	pthread_cond_destroy(&sh.cv);
	pthread_mutex_destroy(&sh.mu);
}

static void open_db(struct bench *bm, int fresh)
{
	bm->opts.error_if_missing = !fresh && FLAGS.use_existing_db;
	check(bm->eng->open(&bm->opts, bm->path, fresh, &bm->db), "open");
}

static void close_db(struct bench *bm)
{
	check(bm->eng->close(bm->db), "close");
	bm->db = NULL;
}

static void print_property(struct bench *bm, const char *what)
{
	char *s = bm->eng->property != NULL ? bm->eng->property(bm->db, what) : NULL;

	if (s != NULL)
		printf("\n%s\n", s);
	else
		printf("\n%s: not available for %s\n", what, bm->eng->name);
	free(s);
	fflush(stdout);
}

struct workload {
	const char *name;
	void (*method)(struct thread_state *);
	int fresh_db;
};

static const struct workload WORKLOADS[] = {
	{ "fillseq", write_seq, 1 },
	{ "fillbatch", write_seq, 1 },
	{ "fillrandom", write_random, 1 },
	{ "fillsync", write_random, 1 },
	{ "fill100K", write_random, 1 },
	{ "overwrite", write_random, 0 },
	{ "readseq", read_seq, 0 },
	{ "readreverse", read_reverse, 0 },
	{ "readrandom", read_random, 0 },
	{ "readrandomsmall", read_random, 0 },
	{ "readmissing", read_missing, 0 },
	{ "readhot", read_hot, 0 },
	{ "seekrandom", seek_random, 0 },
	{ "deleteseq", delete_seq, 0 },
	{ "deleterandom", delete_random, 0 },
	{ "readwhilewriting", read_while_writing, 0 },
	{ "compact", compact, 0 },
	{ "stats", NULL, 0 },
	{ "sstables", NULL, 0 },
};

static const struct workload *find_workload(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(WORKLOADS) / sizeof(WORKLOADS[0]); i++)
		if (strlen(WORKLOADS[i].name) == len && strncmp(WORKLOADS[i].name, name, len) == 0)
			return &WORKLOADS[i];
	return NULL;
}

static void skip_workload(const char *name, const char *why)
{
	printf("%-12s : skipped (%s)\n", name, why);
	fflush(stdout);
	report(COMPARE_SKIP "\t%s\t%s\n", name, why);
}

static void run_workload(struct bench *bm, const struct workload *w)
{
	int threads = FLAGS.threads;

	bm->num = FLAGS.num;
	bm->reads = FLAGS.reads < 0 ? FLAGS.num : FLAGS.reads;
	bm->value_size = FLAGS.value_size;
	bm->entries_per_batch = 1;
	bm->sync = 0;

	if (w->method == NULL) { /* stats, sstables: reports, not timed */
		print_property(bm, w->name);
		return;
	}
	if (strcmp(w->name, "fillbatch") == 0) {
		bm->entries_per_batch = 1000;
	} else if (strcmp(w->name, "fillsync") == 0) {
		bm->num /= 1000;
		bm->sync = 1;
	} else if (strcmp(w->name, "fill100K") == 0) {
		bm->num /= 1000;
		bm->value_size = 100 * 1000;
	} else if (strcmp(w->name, "readrandomsmall") == 0) {
		bm->reads /= 1000;
	} else if (strcmp(w->name, "readwhilewriting") == 0) {
		threads++;
	} else if (strcmp(w->name, "compact") == 0 && bm->eng->compact == NULL) {
		/* Later workloads draw the same keys as on an engine that compacts. */
		bm->threads_started += (uint64_t)threads;
		skip_workload(w->name, "the engine has no compaction");
		return;
	}

	if (w->fresh_db) {
		if (FLAGS.use_existing_db) {
			skip_workload(w->name, "--use_existing_db is true");
			return;
		}
		close_db(bm);
		open_db(bm, 1);
	}
	run_benchmark(bm, threads, w->name, w->method);
}

/* ---- header --------------------------------------------------------------- */

static void print_header(const struct bench *bm)
{
	time_t now = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512], cpu_type[256] = "", cache[128] = "";
	int ncpu = 0;
	double value_after = FLAGS.value_size * FLAGS.compression_ratio;
	char config[1024];

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *sep = strchr(line, ':');
		char *val;
		size_t n;

		if (sep == NULL)
			continue;
		val = sep + 1 + strspn(sep + 1, " \t");
		n = strcspn(val, "\n");
		val[n] = '\0';
		if (strncmp(line, "processor", 9) == 0)
			ncpu++;
		else if (strncmp(line, "model name", 10) == 0)
			snprintf(cpu_type, sizeof(cpu_type), "%s", val);
		else if (strncmp(line, "cache size", 10) == 0)
			snprintf(cache, sizeof(cache), "%s", val);
	}
	if (f != NULL)
		fclose(f);
	if (ncpu == 0)
		ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	bm->eng->config(bm->db, config, sizeof(config));
	printf("shale:      version %s\n", shale_version());
	printf("Engine:     %s\n", config);
	printf("Date:       %s", ctime(&now)); /* ctime ends with a newline */
	printf("CPU:        %d * %s\n", ncpu, cpu_type[0] ? cpu_type : "unknown");
	printf("CPUCache:   %s\n", cache[0] ? cache : "unknown");
	printf("Keys:       %d bytes each\n", FLAGS.key_size);
	printf("Values:     %d bytes each (%d bytes after compression)\n", FLAGS.value_size,
	       (int)(value_after + 0.5));
	printf("Entries:    %" PRId64 "\n", FLAGS.num);
	printf("RawSize:    %.1f MB (estimated)\n",
	       (double)(FLAGS.key_size + FLAGS.value_size) * (double)FLAGS.num / 1048576.0);
	printf("FileSize:   %.1f MB (estimated)\n",
	       (FLAGS.key_size + value_after) * (double)FLAGS.num / 1048576.0);
	printf("Compression: %s\n", compression_name(FLAGS.compression));
	printf("Threads:    %d\n", FLAGS.threads);
	printf("DB:         %s\n", bm->path);
#if !defined(__OPTIMIZE__)
	printf("WARNING: Optimization is disabled: benchmarks unnecessarily slow\n");
#endif
#if !defined(NDEBUG)
	printf("WARNING: Assertions are enabled; benchmarks unnecessarily slow\n");
#endif
	printf("------------------------------------------------\n");
	fflush(stdout);
}

/* ---- main ----------------------------------------------------------------- */

/* Splits a comma-separated list; fn gets each non-empty item. Stops at and
 * returns the first non-zero return of fn. */
static int for_each_item(const char *list, int (*fn)(const char *item, size_t len, void *arg),
                         void *arg)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		int rc;
		if (len > 0 && (rc = fn(p, len, arg)) != 0)
			return rc;
		p += len + (p[len] == ',');
	}
	return 0;
}

static int check_benchmark(const char *name, size_t len, void *arg)
{
	if (find_workload(name, len) != NULL)
		return 0;
	fprintf(stderr, "%s: unknown benchmark '%.*s'\n", (const char *)arg, (int)len, name);
	return -1;
}

static int count_engine(const char *name, size_t len, void *arg)
{
	const struct engine *e;

	if (engine_lookup(name, len, &e) < 0) {
		fprintf(stderr, "shale_bench: unknown engine '%.*s' (known: %s)\n", (int)len, name,
		        ENGINE_NAMES);
		return -1;
	}
	++*(int *)arg;
	return 0;
}

static int run_one(const char *name, size_t len, void *arg)
{
	run_workload(arg, find_workload(name, len));
	return 0;
}

/* A comparison of several engines: each runs in a child of its own (compare.c). */
static int run_comparison(const char *prog, int argc, char **argv)
{
	char tmpl[] = "/tmp/shalebench-XXXXXX";
	struct compare_setup cs = {
		.engines = FLAGS.engine,
		.benchmarks = FLAGS.benchmarks,
		.db = FLAGS.db,
		.num = FLAGS.num,
		.key_size = FLAGS.key_size,
		.value_size = FLAGS.value_size,
		.compression_ratio = FLAGS.compression_ratio,
		.threads = FLAGS.threads,
	};

	if (cs.db == NULL) {
		if (mkdtemp(tmpl) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		cs.db = tmpl;
		cs.created = 1;
	}
	(void)prog;
	return compare_run(&cs, argc, argv);
}

int main(int argc, char **argv)
{
	struct bench bm = { 0 };
	char tmpl[] = "/tmp/shalebench-XXXXXX";
	char config[1024];
	int created = 0, engines = 0;
	int max_digits;
	size_t max_value = 100 * 1000;
	int64_t write_bytes0, write_bytes1, disk_bytes, peak_rss;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout, argv[0]);
			return 0;
		}
		if (parse_flag(argv[i]) != 0) {
			fprintf(stderr, "%s: bad flag '%s'\n", argv[0], argv[i]);
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (for_each_item(FLAGS.engine, count_engine, &engines) != 0 || engines == 0) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (FLAGS.benchmarks == NULL)
		FLAGS.benchmarks = engines > 1 ? COMPARISON_BENCHMARKS : DEFAULT_BENCHMARKS;
	/* Validate the whole list before touching any database. */
	if (for_each_item(FLAGS.benchmarks, check_benchmark, argv[0]) != 0) {
		usage(stderr, argv[0]);
		return 2;
	}
	max_digits = snprintf(NULL, 0, "%" PRId64, FLAGS.num - 1);
	if (max_digits > FLAGS.key_size) {
		fprintf(stderr, "%s: --key_size=%d cannot hold key %" PRId64 " (--num=%" PRId64 ")\n",
		        argv[0], FLAGS.key_size, FLAGS.num - 1, FLAGS.num);
		return 2;
	}
	if (engines > 1) {
		if (FLAGS.report_fd >= 0) {
			fprintf(stderr, "%s: --report_fd takes one engine\n", argv[0]);
			return 2;
		}
		return run_comparison(argv[0], argc, argv);
	}
	if (engine_lookup(FLAGS.engine, strlen(FLAGS.engine), &bm.eng) != 0) {
		fprintf(stderr, "%s: engine %s was not built in (configure did not find it)\n",
		        argv[0], FLAGS.engine);
		return 2;
	}

	if (FLAGS.db == NULL) {
		if (mkdtemp(tmpl) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		FLAGS.db = tmpl;
		created = 1;
	}
	bm.path = FLAGS.db;
	g_db_path = created ? FLAGS.db : NULL;
	g_progress = isatty(STDERR_FILENO);
	g_collect_lat = FLAGS.report_fd >= 0;
	hist_init_limits();
	if ((size_t)FLAGS.value_size > max_value)
		max_value = (size_t)FLAGS.value_size;
	values_init(max_value);

	bm.opts = (struct engine_opts){
		.compression = FLAGS.compression,
		.bloom_bits = FLAGS.bloom_bits,
		.cache_bytes = FLAGS.cache_size,
		.write_buffer_bytes = FLAGS.write_buffer_size,
		.max_file_bytes = FLAGS.max_file_size,
		.block_bytes = FLAGS.block_size,
		.max_open_files = FLAGS.max_open_files,
		.wal_flush_delay = FLAGS.wal_flush_delay,
		.mmap_reads = FLAGS.mmap_reads,
		.scan_ahead = FLAGS.scan_ahead,
		.l0_compaction_trigger = FLAGS.l0_compaction_trigger,
		.l0_slowdown_trigger = FLAGS.l0_slowdown_trigger,
		.l0_stop_trigger = FLAGS.l0_stop_trigger,
		.level_base_bytes = FLAGS.level_base,
		.level_multiplier = FLAGS.level_multiplier,
		.num = FLAGS.num,
		.key_bytes = FLAGS.key_size,
		.value_bytes = FLAGS.value_size,
	};

	/* Whole-run measures start before the engine is touched. */
	write_bytes0 = proc_write_bytes();
	if (rss_sampler_start() != 0) {
		fprintf(stderr, "%s: cannot start the memory sampler thread\n", argv[0]);
		return 1;
	}
	open_db(&bm, !FLAGS.use_existing_db);
	print_header(&bm);
	bm.eng->config(bm.db, config, sizeof(config));
	report(COMPARE_CONFIG "\t%s\n", config);

	for_each_item(FLAGS.benchmarks, run_one, &bm);

	close_db(&bm);
	write_bytes1 = proc_write_bytes();
	disk_bytes = dir_disk_bytes(bm.path);
	peak_rss = rss_sampler_stop();
	printf("------------------------------------------------\n");
	if (write_bytes0 >= 0 && write_bytes1 >= 0 && bm.written > 0)
		printf("WriteAmp:   %.2f (%.1f MB to storage for %.1f MB of keys and values)\n",
		       (double)(write_bytes1 - write_bytes0) / (double)bm.written,
		       (double)(write_bytes1 - write_bytes0) / 1048576.0,
		       (double)bm.written / 1048576.0);
	printf("DiskSize:   %.1f MB\n", (double)disk_bytes / 1048576.0);
	printf("PeakAnon:   %.1f MB (largest RssAnon, sampled every 100 ms)\n",
	       (double)peak_rss / 1048576.0);
	fflush(stdout);
	report(COMPARE_TOTALS "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
	       write_bytes0 >= 0 && write_bytes1 >= 0 ? write_bytes1 - write_bytes0 : -1,
	       bm.written, disk_bytes, peak_rss);

	if (created && engine_remove_tree(bm.path) != 0)
		fprintf(stderr, "%s: %s\n", argv[0], engine_errmsg());
	free(g_data);
	return 0;
}
