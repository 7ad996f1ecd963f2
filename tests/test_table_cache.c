/* The table cache: .ldb and legacy .sst files, tables pinned by iterators
 * through eviction and removal, the bound on open files, pins for point
 * reads, and concurrent readers with constant eviction (run under
 * ThreadSanitizer too). */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/cache.h"
#include "lib/util/env.h"
#include "lib/testing/env_fault.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "lib/util/worker.h"
#include "sstable/compress.h"
#include "sstable/table_cache.h"
#include "shale.h"
#include "tests/table_helpers.h"
#include "tests/testutil.h"

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

START_TEST(table_cache_opens_ldb_and_sst_and_pins_tables)
{
	char *dir = tu_mkdtemp("table-cache");
	struct env *fe;
	ck_assert_ok(fault_env_create(env_posix_default(), &fe));
	struct rng r;
	rng_seed(&r, 61);
	struct table_model m[6];
	uint64_t sizes[6];
	struct table_options o;
	for (int i = 0; i < 6; i++) {
		table_model_make(&m[i], &r, 300, 30, 1);
		default_opts(&o, &m[i]);
		char *p = write_table_file(fe, dir, (uint64_t)i + 1, &o, &m[i], i == 5);
		ck_assert_ok(env_file_size(fe, p, &sizes[i]));
		free(p);
	}
	struct cache *bc;
	ck_assert_ok(cache_create(64 << 10, &bc));
	o.block_cache = bc;
	struct table_cache *tc;
	ck_assert_ok(table_cache_create(fe, dir, &o, 100, &tc));
	struct read_opts ro = { 1, 1, 0, 0 };
	struct found f = { 0, BUF_INIT, BUF_INIT };
	for (int i = 0; i < 6; i++) {
		for (size_t j = 0; j < m[i].n; j += 13) {
			f.called = 0;
			ck_assert_ok(table_cache_get(tc, &ro, (uint64_t)i + 1, sizes[i], mkey(&m[i], j),
			                             on_found, &f));
			ck_assert_int_eq(f.called, 1);
			ck_assert(slice_equal(buf_slice(&f.value), mval(&m[i], j)));
		}
		ck_assert_uint_gt(table_cache_approximate_offset(tc, (uint64_t)i + 1, sizes[i],
		                                                 mkey(&m[i], m[i].n - 1)),
		                  0);
	}
	/* each file was opened once (the .sst after one failed .ldb attempt) */
	ck_assert_uint_eq(fault_env_count(fe, FAULT_OPEN_READ, ".ldb"), 6);
	ck_assert_uint_eq(fault_env_count(fe, FAULT_OPEN_READ, ".sst"), 1);

	/* an iterator pins its table through eviction and removal of the file */
	struct iter *it = table_cache_iter(tc, &ro, 2, sizes[1]);
	iter_seek_first(it);
	check_entry(it, &m[1], 0);
	table_cache_evict(tc, 2);
	char path[FNAME_MAX];
	fname_table(path, dir, 2);
	ck_assert_ok(env_remove(fe, path));
	size_t n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		check_entry(it, &m[1], n++);
	ck_assert_uint_eq(n, m[1].n);
	iter_destroy(it);
	/* the evicted, removed file now fails to open, naming it */
	ck_assert_int_eq(table_cache_get(tc, &ro, 2, sizes[1], mkey(&m[1], 0), on_found, &f),
	                 SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(err_msg(), "000002"));
	it = table_cache_iter(tc, &ro, 2, sizes[1]);
	ck_assert_ptr_nonnull(it);
	iter_seek_first(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	iter_destroy(it);
	ck_assert_uint_eq(table_cache_approximate_offset(tc, 2, sizes[1], mkey(&m[1], 0)), 0);
	/* a wrong size (a damaged MANIFEST) is corruption */
	table_cache_evict(tc, 3);
	ck_assert_int_eq(table_cache_get(tc, &ro, 3, sizes[2] + 1, mkey(&m[2], 0), on_found, &f),
	                 SHALE_ECORRUPT);

	table_cache_destroy(tc);
	cache_destroy(bc);
	for (int i = 0; i < 6; i++)
		table_model_free(&m[i]);
	buf_free(&f.key);
	buf_free(&f.value);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* A directory of `files` tables numbered 1.., each of the same 20 keys of m
 * (made from seed), through a fault env (*fe) that counts opens; *size is
 * each file's size. */
static char *same_tables(const char *name, uint64_t seed, uint64_t files, struct env **fe,
                         struct table_model *m, struct table_options *o, uint64_t *size)
{
	char *dir = tu_mkdtemp(name);
	ck_assert_ok(fault_env_create(env_posix_default(), fe));
	struct rng r;
	rng_seed(&r, seed);
	table_model_make(m, &r, 20, 10, 0);
	default_opts(o, m);
	for (uint64_t i = 1; i <= files; i++) {
		char *p = write_table_file(*fe, dir, i, o, m, 0);
		ck_assert_ok(env_file_size(*fe, p, size));
		free(p);
	}
	return dir;
}

START_TEST(table_cache_bounds_open_files)
{
	enum { FILES = 64 };
	struct env *fe;
	struct table_model m;
	struct table_options o;
	uint64_t size = 0;
	char *dir = same_tables("table-cache-lru", 71, FILES, &fe, &m, &o, &size);
	int base = count_fds();
	struct table_cache *tc;
	/* capacity 16: one table per shard of the cache */
	ck_assert_ok(table_cache_create(fe, dir, &o, 16, &tc));
	struct read_opts ro = { 1, 1, 0, 0 };
	struct found f = { 0, BUF_INIT, BUF_INIT };
	fault_env_reset_counts(fe);
	for (int round = 0; round < 2; round++) {
		for (uint64_t i = 1; i <= FILES; i++) {
			f.called = 0;
			ck_assert_ok(table_cache_get(tc, &ro, i, size, mkey(&m, 3), on_found, &f));
			ck_assert_int_eq(f.called, 1);
		}
		/* least recently used tables were closed along the way */
		int open_now = count_fds() - base;
		ck_assert_msg(open_now <= 16, "%d table files open", open_now);
	}
	/* most of the second round had to reopen */
	ck_assert_uint_ge(fault_env_count(fe, FAULT_OPEN_READ, NULL), FILES + FILES / 2);
	table_cache_destroy(tc);
	ck_assert_int_eq(count_fds(), base);
	buf_free(&f.key);
	buf_free(&f.value);
	table_model_free(&m);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Point reads pin tables in their slots, at most half the capacity: a
 * pinned table is read with no lookup, survives eviction (its file stays
 * open, nothing reopens it) and closes at unpin. */
START_TEST(table_cache_pins_point_reads)
{
	enum { FILES = 8 };
	struct env *fe;
	struct table_model m;
	struct table_options o;
	uint64_t size = 0;
	char *dir = same_tables("table-cache-pin", 73, FILES, &fe, &m, &o, &size);
	int base = count_fds();
	struct table_cache *tc;
	ck_assert_ok(table_cache_create(fe, dir, &o, FILES, &tc));
	struct read_opts ro = { 1, 1, 0, 0 };
	struct found f = { 0, BUF_INIT, BUF_INIT };
	_Atomic(struct cache_handle *) slot[FILES];
	for (int i = 0; i < FILES; i++)
		atomic_init(&slot[i], NULL);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < FILES; i++) {
			f.called = 0;
			ck_assert_ok(table_cache_get_pinned(tc, &ro, (uint64_t)i + 1, size, &slot[i], mkey(&m, 5),
			                                    on_found, &f));
			ck_assert_int_eq(f.called, 1);
			ck_assert(slice_equal(buf_slice(&f.value), mval(&m, 5)));
			/* the first half of the capacity is pinned, the rest is not */
			ck_assert_int_eq(atomic_load(&slot[i]) != NULL, i < FILES / 2);
		}
	ck_assert_int_eq(table_cache_pinned(tc), FILES / 2);
	int open_now = count_fds() - base; /* the pinned, and what the LRU kept */
	ck_assert_int_ge(open_now, FILES / 2);

	/* evicted (its file about to be deleted): still read through the slot,
	 * with no open and the descriptor kept */
	table_cache_evict(tc, 1);
	fault_env_reset_counts(fe);
	f.called = 0;
	ck_assert_ok(table_cache_get_pinned(tc, &ro, 1, size, &slot[0], mkey(&m, 7), on_found, &f));
	ck_assert_int_eq(f.called, 1);
	ck_assert_uint_eq(fault_env_count(fe, FAULT_OPEN_READ, NULL), 0);
	ck_assert_int_eq(count_fds() - base, open_now);
	/* unpinned: the evicted table closes at once */
	table_cache_unpin(tc, atomic_exchange(&slot[0], NULL));
	ck_assert_int_eq(table_cache_pinned(tc), FILES / 2 - 1);
	ck_assert_int_eq(count_fds() - base, open_now - 1);
	/* and a free place in the pins goes to the next reader */
	f.called = 0;
	ck_assert_ok(table_cache_get_pinned(tc, &ro, FILES, size, &slot[FILES - 1], mkey(&m, 7), on_found, &f));
	ck_assert_int_eq(f.called, 1);
	ck_assert_ptr_nonnull(atomic_load(&slot[FILES - 1]));
	ck_assert_int_eq(table_cache_pinned(tc), FILES / 2);
	table_cache_unpin(tc, NULL); /* (nothing) */
	for (int i = 0; i < FILES; i++)
		table_cache_unpin(tc, atomic_exchange(&slot[i], NULL));
	ck_assert_int_eq(table_cache_pinned(tc), 0);
	table_cache_destroy(tc);
	ck_assert_int_eq(count_fds(), base);
	buf_free(&f.key);
	buf_free(&f.value);
	table_model_free(&m);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Iterators read through the pin slot too: the first pins (within half the
 * capacity), later ones open nothing and look nothing up, even after the
 * table left the cache; past the pin limit an iterator holds its own
 * reference, released when it is destroyed. */
/* An iterator holding the last reference to its table (evicted from the
 * cache) and scanning with blocks queued for the scan worker: destroying it
 * stops the queue before the table is closed (ASan and TSan watch the
 * table's memory and the worker). */
START_TEST(table_cache_iterator_stops_scan_ahead_before_releasing_its_table)
{
	char *dir = tu_mkdtemp("table-cache-ahead");
	struct env *fe;
	ck_assert_ok(fault_env_create(env_posix_default(), &fe));
	struct rng r;
	rng_seed(&r, 83);
	struct table_model m;
	table_model_make(&m, &r, 3000, 24, 1);
	struct table_options o;
	default_opts(&o, &m);
	o.block_size = 256;
	ck_assert_ok(worker_create(&o.scan_worker));
	char *p = write_table_file(fe, dir, 1, &o, &m, 0);
	uint64_t size;
	ck_assert_ok(env_file_size(fe, p, &size));
	free(p);
	struct table_cache *tc;
	ck_assert_ok(table_cache_create(fe, dir, &o, 10, &tc));
	struct read_opts ro = { 1, 0, 0, 1 };
	for (int round = 0; round < 20; round++) {
		struct iter *it = table_cache_iter(tc, &ro, 1, size);
		ck_assert_ptr_nonnull(it);
		size_t n = 0, stop = 200 + (size_t)round * 100;
		for (iter_seek_first(it); iter_valid(it) && n < stop; iter_next(it), n++)
			ck_assert(slice_equal(iter_key(it), mkey(&m, n)));
		ck_assert_ok(iter_status(it));
		table_cache_evict(tc, 1); /* the iterator's reference is the last */
		iter_destroy(it);
	}
	table_cache_destroy(tc);
	worker_destroy(o.scan_worker);
	table_model_free(&m);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(table_cache_iterators_read_through_pins)
{
	enum { FILES = 4 };
	struct env *fe;
	struct table_model m;
	struct table_options o;
	uint64_t size = 0;
	char *dir = same_tables("table-cache-pin-iter", 74, FILES, &fe, &m, &o, &size);
	struct table_cache *tc;
	ck_assert_ok(table_cache_create(fe, dir, &o, FILES, &tc));
	struct read_opts ro = { 1, 1, 0, 0 };
	_Atomic(struct cache_handle *) slot[FILES];
	for (int i = 0; i < FILES; i++)
		atomic_init(&slot[i], NULL);
	for (int i = 0; i < FILES; i++) {
		struct iter *it = table_cache_iter_pinned(tc, &ro, (uint64_t)i + 1, size, &slot[i]);
		ck_assert_ptr_nonnull(it);
		size_t n = 0;
		for (iter_seek_first(it); iter_valid(it); iter_next(it), n++)
			ck_assert(slice_equal(iter_key(it), mkey(&m, n)));
		ck_assert_ok(iter_status(it));
		ck_assert_uint_eq(n, m.n);
		iter_destroy(it);
		ck_assert_int_eq(atomic_load(&slot[i]) != NULL, i < FILES / 2);
	}
	ck_assert_int_eq(table_cache_pinned(tc), FILES / 2);
	/* evicted from the cache: still read through the slot, nothing opened */
	table_cache_evict(tc, 1);
	fault_env_reset_counts(fe);
	struct iter *it = table_cache_iter_pinned(tc, &ro, 1, size, &slot[0]);
	iter_seek(it, mkey(&m, 9));
	ck_assert(iter_valid(it) && slice_equal(iter_key(it), mkey(&m, 9)));
	/* past the limit: its own reference, and a missing file is its error */
	struct iter *own = table_cache_iter_pinned(tc, &ro, FILES, size, &slot[FILES - 1]);
	ck_assert_ptr_null(atomic_load(&slot[FILES - 1]));
	iter_seek_last(own);
	ck_assert(iter_valid(own) && slice_equal(iter_key(own), mkey(&m, m.n - 1)));
	_Atomic(struct cache_handle *) none;
	atomic_init(&none, NULL);
	struct iter *missing = table_cache_iter_pinned(tc, &ro, 99, size, &none);
	ck_assert_int_eq(iter_status(missing), SHALE_EIO);
	ck_assert_uint_eq(fault_env_count(fe, FAULT_OPEN_READ, NULL), 1); /* 99 (FILES is cached) */
	iter_destroy(missing);
	iter_destroy(own);
	iter_destroy(it);
	for (int i = 0; i < FILES; i++)
		table_cache_unpin(tc, atomic_exchange(&slot[i], NULL));
	ck_assert_int_eq(table_cache_pinned(tc), 0);
	table_cache_destroy(tc);
	table_model_free(&m);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* A level moving from file to file hands over the table iterator it leaves
 * (table_cache_iter_pinned_reuse): one that table_iter made and that holds
 * nothing else is pointed at the next table in its own memory, and then
 * reads that table only, even where the two tables' block handles are the
 * same; any other is destroyed and a new one made. */
START_TEST(table_cache_pinned_iterators_are_reused_for_the_next_file)
{
	char *dir = tu_mkdtemp("table-cache-reuse");
	struct env *fe;
	ck_assert_ok(fault_env_create(env_posix_default(), &fe));
	struct rng r;
	rng_seed(&r, 83);
	struct table_model a, b;
	table_model_make(&a, &r, 400, 12, 0);
	/* b: a's keys, and values of a's lengths with other bytes (no
	 * compression): the same blocks at the same offsets */
	b = a;
	b.e = malloc(a.n * sizeof(*b.e));
	ck_assert_ptr_nonnull(b.e);
	for (size_t i = 0; i < a.n; i++) {
		b.e[i].kn = a.e[i].kn;
		b.e[i].vn = a.e[i].vn;
		b.e[i].k = malloc(a.e[i].kn + 1);
		b.e[i].v = malloc(a.e[i].vn + 1);
		ck_assert(b.e[i].k && b.e[i].v);
		memcpy(b.e[i].k, a.e[i].k, a.e[i].kn);
		for (size_t j = 0; j < a.e[i].vn; j++)
			b.e[i].v[j] = (char)(a.e[i].v[j] ^ 0x55);
	}
	struct table_options o;
	default_opts(&o, &a);
	uint64_t size[2];
	for (int f = 0; f < 2; f++) {
		char *p = write_table_file(fe, dir, (uint64_t)f + 1, &o, f ? &b : &a, 0);
		ck_assert_ok(env_file_size(fe, p, &size[f]));
		free(p);
	}
	ck_assert_uint_eq(size[0], size[1]);
	struct table_cache *tc;
	ck_assert_ok(table_cache_create(fe, dir, &o, 10, &tc));
	struct read_opts ro = { 1, 1, 0, 0 };
	_Atomic(struct cache_handle *) slot[2], none;
	atomic_init(&slot[0], NULL);
	atomic_init(&slot[1], NULL);
	atomic_init(&none, NULL);

	size_t mid = a.n / 2;
	struct iter *it = table_cache_iter_pinned_reuse(tc, &ro, 1, size[0], &slot[0], NULL);
	iter_seek(it, mkey(&a, mid));
	check_entry(it, &a, mid);
	/* to file 2, in the same memory: b's values, not a's */
	struct iter *it2 = table_cache_iter_pinned_reuse(tc, &ro, 2, size[1], &slot[1], it);
	ck_assert_ptr_eq(it2, it);
	ck_assert(!iter_valid(it2));
	iter_seek(it2, mkey(&b, mid));
	check_entry(it2, &b, mid);
	size_t n = 0;
	for (iter_seek_first(it2); iter_valid(it2); iter_next(it2), n++)
		check_entry(it2, &b, n);
	ck_assert_uint_eq(n, b.n);
	for (iter_seek_last(it2); iter_valid(it2); iter_prev(it2))
		check_entry(it2, &b, --n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ok(iter_status(it2));
	/* and back, left while it stands on an entry */
	iter_seek(it2, mkey(&b, 3));
	it = table_cache_iter_pinned_reuse(tc, &ro, 1, size[0], &slot[0], it2);
	ck_assert_ptr_eq(it, it2);
	iter_seek_last(it);
	check_entry(it, &a, a.n - 1);
	iter_seek(it, mkey(&a, 3));
	check_entry(it, &a, 3);

	/* one holding a table reference of its own is destroyed, not reused */
	struct iter *own = table_cache_iter(tc, &ro, 2, size[1]);
	iter_seek(own, mkey(&b, 5));
	check_entry(own, &b, 5);
	struct iter *fresh = table_cache_iter_pinned_reuse(tc, &ro, 1, size[0], &slot[0], own);
	iter_seek(fresh, mkey(&a, 5));
	check_entry(fresh, &a, 5);
	/* a file that cannot be opened: the one handed over is destroyed */
	struct iter *missing = table_cache_iter_pinned_reuse(tc, &ro, 99, size[0], &none, fresh);
	ck_assert_int_eq(iter_status(missing), SHALE_EIO);
	iter_destroy(missing);
	iter_destroy(it);
	for (int f = 0; f < 2; f++)
		table_cache_unpin(tc, atomic_exchange(&slot[f], NULL));
	table_cache_destroy(tc);
	table_model_free(&a);
	table_model_free(&b);
	env_destroy(fe);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- threads (run under ThreadSanitizer) ---- */

enum { MT_FILES = 6, MT_THREADS = 4 };

struct mt_shared {
	struct table_cache *tc;
	struct table_model *m;
	uint64_t *sizes;
	int failures;
	uint64_t seed;
	_Atomic(struct cache_handle *) pins[MT_FILES]; /* raced for by the readers */
};

struct mt_arg {
	struct mt_shared *s;
	int id;
	int failures;
};

static void *mt_reader(void *p)
{
	struct mt_arg *a = p;
	struct mt_shared *s = a->s;
	struct rng r;
	rng_seed(&r, s->seed + (uint64_t)a->id);
	struct read_opts ro = { 1, 1, 0, 0 };
	struct found f = { 0, BUF_INIT, BUF_INIT };
	for (int op = 0; op < 2500; op++) {
		int file = (int)rng_uniform(&r, MT_FILES);
		struct table_model *m = &s->m[file];
		size_t j = rng_uniform(&r, m->n);
		if (rng_one_in(&r, 2)) {
			f.called = 0;
			int rc = rng_one_in(&r, 2)
			             ? table_cache_get(s->tc, &ro, (uint64_t)file + 1, s->sizes[file], mkey(m, j), on_found, &f)
			             : table_cache_get_pinned(s->tc, &ro, (uint64_t)file + 1, s->sizes[file], &s->pins[file],
			                                      mkey(m, j), on_found, &f);
			if (rc || f.called != 1 || !slice_equal(buf_slice(&f.value), mval(m, j)))
				a->failures++;
		} else {
			struct iter *it = table_cache_iter(s->tc, &ro, (uint64_t)file + 1, s->sizes[file]);
			iter_seek(it, mkey(m, j));
			for (int k = 0; k < 30 && j + (size_t)k < m->n; k++, iter_next(it)) {
				if (!iter_valid(it) || !slice_equal(iter_key(it), mkey(m, j + (size_t)k)) ||
				    !slice_equal(iter_value(it), mval(m, j + (size_t)k))) {
					a->failures++;
					break;
				}
			}
			if (iter_status(it))
				a->failures++;
			iter_destroy(it);
		}
		if (rng_one_in(&r, 50))
			table_cache_evict(s->tc, (uint64_t)rng_uniform(&r, MT_FILES) + 1);
	}
	buf_free(&f.key);
	buf_free(&f.value);
	return NULL;
}

START_TEST(table_cache_concurrent_readers)
{
	char *dir = tu_mkdtemp("table-mt");
	struct env *env = env_posix_default();
	struct rng r;
	rng_seed(&r, 81);
	struct table_model m[MT_FILES];
	uint64_t sizes[MT_FILES];
	struct table_options o;
	for (int i = 0; i < MT_FILES; i++) {
		table_model_make(&m[i], &r, 1500, 40, 1);
		default_opts(&o, &m[i]);
		o.block_size = 1024;
		o.compression = i % 2 ? SHALE_COMPRESSION_SNAPPY : SHALE_COMPRESSION_NONE;
		unsigned char type;
		if (compress_type_for(o.compression, &type))
			o.compression = SHALE_COMPRESSION_NONE;
		char *p = write_table_file(env, dir, (uint64_t)i + 1, &o, &m[i], 0);
		ck_assert_ok(env_file_size(env, p, &sizes[i]));
		free(p);
	}
	struct cache *bc;
	ck_assert_ok(cache_create(32 << 10, &bc)); /* small: constant eviction */
	o.block_cache = bc;
	struct table_cache *tc;
	ck_assert_ok(table_cache_create(env, dir, &o, 3, &tc));
	struct mt_shared s = { tc, m, sizes, 0, 1234, { NULL } };
	for (int i = 0; i < MT_FILES; i++)
		atomic_init(&s.pins[i], NULL);
	struct mt_arg args[MT_THREADS];
	pthread_t th[MT_THREADS];
	for (int i = 0; i < MT_THREADS; i++) {
		args[i].s = &s;
		args[i].id = i;
		args[i].failures = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, mt_reader, &args[i]), 0);
	}
	for (int i = 0; i < MT_THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	/* capacity 3: one pin at most, whoever won it */
	int pinned = 0;
	for (int i = 0; i < MT_FILES; i++) {
		struct cache_handle *h = atomic_exchange(&s.pins[i], NULL);
		pinned += h != NULL;
		table_cache_unpin(tc, h);
	}
	ck_assert_int_eq(pinned, 1);
	ck_assert_int_eq(table_cache_pinned(tc), 0);
	table_cache_destroy(tc);
	cache_destroy(bc);
	for (int i = 0; i < MT_FILES; i++)
		table_model_free(&m[i]);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("table_cache");
	TCase *tcc = tcase_create("table_cache");
	tcase_set_timeout(tcc, 60);
	tcase_add_test(tcc, table_cache_opens_ldb_and_sst_and_pins_tables);
	tcase_add_test(tcc, table_cache_bounds_open_files);
	tcase_add_test(tcc, table_cache_pins_point_reads);
	tcase_add_test(tcc, table_cache_iterators_read_through_pins);
	tcase_add_test(tcc, table_cache_pinned_iterators_are_reused_for_the_next_file);
	tcase_add_test(tcc, table_cache_iterator_stops_scan_ahead_before_releasing_its_table);
	tcase_add_test(tcc, table_cache_concurrent_readers);
	suite_add_tcase(s, tcc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
