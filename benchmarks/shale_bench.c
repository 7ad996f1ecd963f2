/*
 * shale_bench: a db_bench-style benchmark of the whole engine, after LevelDB's
 * benchmarks/db_bench.cc (same workloads, keys, values and report format),
 * written in C. It uses ONLY the public header <shale.h>: it measures what an
 * application sees, and links libshale.la like one.
 *
 *   shale_bench [--benchmarks=fillseq,readrandom,...] [--num=N] ...
 *   (shale_bench --help lists every flag)
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
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <shale.h>

#define DEFAULT_BENCHMARKS                                                   \
	"fillseq,fillsync,fillrandom,overwrite,readrandom,readrandom,"       \
	"readseq,readreverse,compact,readrandom,readseq,readreverse,"        \
	"seekrandom,readmissing,deleterandom,stats,fillbatch,fill100K"

#define KEY_SIZE_MAX 65536
#define MAX_THREADS 1024

/* ---- flags ---------------------------------------------------------------- */

static struct {
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
	int histogram;
	uint64_t seed;
} FLAGS = {
	.benchmarks = DEFAULT_BENCHMARKS,
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
	    "  --benchmarks=LIST       comma-separated, run in order (default:\n"
	    "                          " DEFAULT_BENCHMARKS ")\n"
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

/* Exits with status 1 when rc is a failure (SHALE_NOTFOUND is not one). */
static void check(int rc, const char *what)
{
	const char *msg;

	if (rc >= 0)
		return;
	msg = shale_errmsg(); /* already names the kind of failure */
	fprintf(stderr, "%s: %s\n", what, msg[0] ? msg : shale_strerror(rc));
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
	int64_t found, lookups; /* "(found of lookups found)" when lookups > 0 */
	struct hist hist;
	char msg[64];
};

static int g_progress; /* stderr is a terminal: show "... finished N ops" */

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
	s->done += o->done;
	s->bytes += o->bytes;
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
		s->last_op = now;
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

static void stats_report(struct stats *s, const char *name)
{
	char extra[160] = "";
	size_t n = 0;

	if (s->done < 1) /* a benchmark without single ops (compact) counts as one */
		s->done = 1;
	if (s->bytes > 0) {
		double elapsed = (s->finish - s->start) * 1e-6;
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " %6.1f MB/s",
		                      (double)s->bytes / 1048576.0 / elapsed);
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
}

/* ---- the benchmark state -------------------------------------------------- */

struct bench {
	shale_db *db;
	shale_options *opt;
	shale_writeopts *wo;
	shale_readopts *ro;
	shale_cache *cache;
	const char *path;
	int64_t num;           /* entries for this benchmark */
	int64_t reads;         /* reads per thread for this benchmark */
	int value_size;        /* for this benchmark */
	int entries_per_batch; /* for this benchmark */
	uint64_t threads_started;
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
	shale_batch *batch = NULL;
	size_t vlen = (size_t)bm->value_size;
	int64_t bytes = 0;

	num_message(t);
	if (bm->entries_per_batch > 1 && (batch = shale_batch_create()) == NULL)
		check(SHALE_ENOMEM, "shale_batch_create");
	for (int64_t i = 0; i < bm->num; i += bm->entries_per_batch) {
		if (batch != NULL)
			shale_batch_clear(batch);
		for (int j = 0; j < bm->entries_per_batch && i + j < bm->num; j++) {
			int64_t k = seq ? i + j : rng_uniform(&t->rng, FLAGS.num);
			size_t klen = make_key(t, k);
			const void *v = next_value(t, vlen);
			if (batch != NULL)
				check(shale_batch_put(batch, t->key, klen, v, vlen), "shale_batch_put");
			else
				check(shale_put(bm->db, bm->wo, t->key, klen, v, vlen), "shale_put");
			bytes += (int64_t)(klen + vlen);
			stats_op_done(&t->stats);
		}
		if (batch != NULL)
			check(shale_write(bm->db, bm->wo, batch), "shale_write");
	}
	shale_batch_destroy(batch);
	t->stats.bytes += bytes;
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
		check(shale_delete(bm->db, bm->wo, t->key, make_key(t, k)), "shale_delete");
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

static void do_scan(struct thread_state *t, int forward)
{
	struct bench *bm = t->bm;
	shale_iter *it = shale_iter_create(bm->db, bm->ro);
	int64_t bytes = 0;

	if (it == NULL)
		check(SHALE_ENOMEM, "shale_iter_create");
	if (forward)
		shale_iter_seek_first(it);
	else
		shale_iter_seek_last(it);
	for (int64_t i = 0; i < bm->reads && shale_iter_valid(it); i++) {
		size_t klen, vlen;
		shale_iter_key(it, &klen);
		shale_iter_value(it, &vlen);
		bytes += (int64_t)(klen + vlen);
		stats_op_done(&t->stats);
		if (forward)
			shale_iter_next(it);
		else
			shale_iter_prev(it);
	}
	check(shale_iter_status(it), forward ? "readseq" : "readreverse");
	shale_iter_destroy(it);
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
		void *val;
		size_t vlen;
		int rc;

		if (missing)
			t->key[klen++] = '.';
		rc = shale_get(bm->db, bm->ro, t->key, klen, &val, &vlen);
		check(rc, "shale_get");
		if (rc == SHALE_OK) {
			found++;
			bytes += (int64_t)(klen + vlen);
			shale_free(val);
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
	int64_t found = 0;

	for (int64_t i = 0; i < bm->reads; i++) {
		size_t klen = make_key(t, rng_uniform(&t->rng, FLAGS.num));
		shale_iter *it = shale_iter_create(bm->db, bm->ro);
		if (it == NULL)
			check(SHALE_ENOMEM, "shale_iter_create");
		shale_iter_seek(it, t->key, klen);
		if (shale_iter_valid(it)) {
			size_t got_len;
			const void *got = shale_iter_key(it, &got_len);
			if (got_len == klen && memcmp(got, t->key, klen) == 0)
				found++;
		}
		check(shale_iter_status(it), "seekrandom");
		shale_iter_destroy(it);
		stats_op_done(&t->stats);
	}
	t->stats.found += found;
	t->stats.lookups += bm->reads;
}

/* Thread 0 overwrites random keys until the readers finish; only the
 * readers' work is counted. */
static void read_while_writing(struct thread_state *t)
{
	struct bench *bm = t->bm;
	struct shared *sh = t->shared;

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
		check(shale_put(bm->db, bm->wo, t->key, klen,
		                next_value(t, (size_t)bm->value_size), (size_t)bm->value_size),
		      "shale_put");
	}
	stats_start(&t->stats);
}

static void compact(struct thread_state *t)
{
	check(shale_compact_range(t->bm->db, NULL, 0, NULL, 0), "shale_compact_range");
}

/* ---- running one benchmark ------------------------------------------------ */

static void *thread_body(void *arg)
{
	struct thread_state *t = arg;
	struct shared *sh = t->shared;

	pthread_mutex_lock(&sh->mu);
	sh->initialized++;
	if (sh->initialized >= sh->total)
		pthread_cond_broadcast(&sh->cv);
	while (!sh->start)
		pthread_cond_wait(&sh->cv, &sh->mu);
	pthread_mutex_unlock(&sh->mu);

	stats_start(&t->stats);
	t->method(t);
	stats_stop(&t->stats);

	pthread_mutex_lock(&sh->mu);
	sh->done++;
	if (sh->done >= sh->total)
		pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	return NULL;
}

static void run_benchmark(struct bench *bm, int n, const char *name,
                          void (*method)(struct thread_state *))
{
	struct shared sh = { .total = n };
	struct thread_state *ts = calloc((size_t)n, sizeof(*ts));
	int rc;

	if (ts == NULL)
		check(SHALE_ENOMEM, "thread states");
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
	stats_report(&ts[0].stats, name);
	for (int i = 0; i < n; i++)
		free(ts[i].key);
	free(ts);
	pthread_cond_destroy(&sh.cv);
	pthread_mutex_destroy(&sh.mu);
}

static void open_db(struct bench *bm)
{
	shale_options_set_create_if_missing(bm->opt, !FLAGS.use_existing_db);
	check(shale_open(bm->path, bm->opt, &bm->db), "shale_open");
}

static void close_db(struct bench *bm)
{
	check(shale_close(bm->db), "shale_close");
	bm->db = NULL;
}

static void print_property(struct bench *bm, const char *name)
{
	char *s = shale_property(bm->db, name);

	printf("\n%s\n", s ? s : "(failed)");
	shale_free(s);
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

static void run_workload(struct bench *bm, const struct workload *w)
{
	int threads = FLAGS.threads;
	shale_writeopts *sync_wo = NULL;
	shale_writeopts *saved_wo = bm->wo;

	bm->num = FLAGS.num;
	bm->reads = FLAGS.reads < 0 ? FLAGS.num : FLAGS.reads;
	bm->value_size = FLAGS.value_size;
	bm->entries_per_batch = 1;

	if (strcmp(w->name, "stats") == 0) {
		print_property(bm, "shale.stats");
		return;
	}
	if (strcmp(w->name, "sstables") == 0) {
		print_property(bm, "shale.sstables");
		return;
	}
	if (strcmp(w->name, "fillbatch") == 0) {
		bm->entries_per_batch = 1000;
	} else if (strcmp(w->name, "fillsync") == 0) {
		bm->num /= 1000;
		if ((sync_wo = shale_writeopts_create()) == NULL)
			check(SHALE_ENOMEM, "shale_writeopts_create");
		shale_writeopts_set_sync(sync_wo, 1);
		bm->wo = sync_wo;
	} else if (strcmp(w->name, "fill100K") == 0) {
		bm->num /= 1000;
		bm->value_size = 100 * 1000;
	} else if (strcmp(w->name, "readrandomsmall") == 0) {
		bm->reads /= 1000;
	} else if (strcmp(w->name, "readwhilewriting") == 0) {
		threads++;
	}

	if (w->fresh_db) {
		if (FLAGS.use_existing_db) {
			printf("%-12s : skipped (--use_existing_db is true)\n", w->name);
			shale_writeopts_destroy(sync_wo);
			bm->wo = saved_wo;
			return;
		}
		close_db(bm);
		check(shale_destroy_db(bm->path, bm->opt), "shale_destroy_db");
		open_db(bm);
	}
	run_benchmark(bm, threads, w->name, w->method);
	bm->wo = saved_wo;
	shale_writeopts_destroy(sync_wo);
}

/* ---- header --------------------------------------------------------------- */

static void print_header(const struct bench *bm)
{
	time_t now = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512], cpu_type[256] = "", cache[128] = "";
	int ncpu = 0;
	double value_after = FLAGS.value_size * FLAGS.compression_ratio;

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

	printf("shale:      version %s\n", shale_version());
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench bm = { 0 };
	char tmpl[] = "/tmp/shalebench-XXXXXX";
	int created = 0;
	int max_digits;
	size_t max_value = 100 * 1000;

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
	/* Validate the whole list before touching any database. */
	for (const char *p = FLAGS.benchmarks; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 0 && find_workload(p, len) == NULL) {
			fprintf(stderr, "%s: unknown benchmark '%.*s'\n", argv[0], (int)len, p);
			usage(stderr, argv[0]);
			return 2;
		}
		p += len + (p[len] == ',');
	}
	max_digits = snprintf(NULL, 0, "%" PRId64, FLAGS.num - 1);
	if (max_digits > FLAGS.key_size) {
		fprintf(stderr, "%s: --key_size=%d cannot hold key %" PRId64 " (--num=%" PRId64 ")\n",
		        argv[0], FLAGS.key_size, FLAGS.num - 1, FLAGS.num);
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
	hist_init_limits();
	if ((size_t)FLAGS.value_size > max_value)
		max_value = (size_t)FLAGS.value_size;
	values_init(max_value);

	if ((bm.opt = shale_options_create()) == NULL || (bm.wo = shale_writeopts_create()) == NULL ||
	    (bm.ro = shale_readopts_create()) == NULL)
		check(SHALE_ENOMEM, "creating options");
	shale_options_set_compression(bm.opt, FLAGS.compression);
	shale_options_set_bloom_bits_per_key(bm.opt, FLAGS.bloom_bits);
	if (FLAGS.cache_size > 0) {
		if ((bm.cache = shale_cache_create_lru((size_t)FLAGS.cache_size)) == NULL)
			check(SHALE_ENOMEM, "shale_cache_create_lru");
		shale_options_set_cache(bm.opt, bm.cache);
	}
	if (FLAGS.write_buffer_size > 0)
		shale_options_set_write_buffer_size(bm.opt, (size_t)FLAGS.write_buffer_size);
	if (FLAGS.max_file_size > 0)
		shale_options_set_max_file_size(bm.opt, (size_t)FLAGS.max_file_size);
	if (FLAGS.block_size > 0)
		shale_options_set_block_size(bm.opt, (size_t)FLAGS.block_size);
	if (FLAGS.max_open_files > 0)
		shale_options_set_max_open_files(bm.opt, (int)FLAGS.max_open_files);

	print_header(&bm);
	if (!FLAGS.use_existing_db)
		check(shale_destroy_db(bm.path, bm.opt), "shale_destroy_db");
	open_db(&bm);

	for (const char *p = FLAGS.benchmarks; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 0)
			run_workload(&bm, find_workload(p, len));
		p += len + (p[len] == ',');
	}

	close_db(&bm);
	if (created) {
		check(shale_destroy_db(bm.path, bm.opt), "shale_destroy_db");
		nftw(bm.path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); /* anything left */
	}
	shale_cache_destroy(bm.cache);
	shale_readopts_destroy(bm.ro);
	shale_writeopts_destroy(bm.wo);
	shale_options_destroy(bm.opt);
	free(g_data);
	return 0;
}
