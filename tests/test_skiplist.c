/* The skiplist: model tests against sorted arrays, the heights' branching
 * factor, and one writer beside lock-free readers (after LevelDB's
 * skiplist_test.cc; run under ThreadSanitizer too). */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/arena.h"
#include "lib/util/coding.h"
#include "lib/util/random.h"
#include "memtable/skiplist.h"
#include "tests/testutil.h"


static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- a skiplist of test entries: fixed64 key, fixed64 mix(key), then
 * 0..28 pad bytes derived from the key, so a reader can tell a complete
 * entry from a half-written one. The search form is a uint64_t. ---- */

static size_t pad_len(uint64_t key)
{
	return (size_t)(mix(key) % 29);
}

static char pad_byte(uint64_t h, size_t i)
{
	return (char)(h >> (i % 8 * 8));
}

static int t_entry_key(const void *arg, const char *e, const void *key)
{
	(void)arg;
	uint64_t a = decode_fixed64(e), b = *(const uint64_t *)key;
	return (a > b) - (a < b);
}

static int t_entries(const void *arg, const char *a, const char *b)
{
	uint64_t kb = decode_fixed64(b);
	return t_entry_key(arg, a, &kb);
}

static const struct skiplist_cmp t_cmp = { t_entry_key, t_entries, NULL };

static void t_insert(struct skiplist *sl, uint64_t key)
{
	size_t pad = pad_len(key);
	char *e = skiplist_alloc(sl, 16 + pad);
	ck_assert(e != NULL);
	ck_assert_uint_eq((uintptr_t)e % 8, 0);
	uint64_t h = mix(key);
	encode_fixed64(e, key);
	encode_fixed64(e + 8, h);
	for (size_t i = 0; i < pad; i++)
		e[16 + i] = pad_byte(h, i);
	skiplist_insert(sl, e, &key);
}

/* 1 when e is a completely written entry. */
static int t_intact(const char *e)
{
	uint64_t key = decode_fixed64(e), h = mix(key);
	if (decode_fixed64(e + 8) != h)
		return 0;
	size_t pad = pad_len(key);
	for (size_t i = 0; i < pad; i++)
		if (e[16 + i] != pad_byte(h, i))
			return 0;
	return 1;
}

static uint64_t t_key(const struct skiplist_iter *it)
{
	return decode_fixed64(skiplist_iter_entry(it));
}

START_TEST(skiplist_empty_has_no_entries)
{
	struct arena a;
	struct skiplist sl;
	arena_init(&a);
	skiplist_init(&sl, t_cmp, &a, 1);
	struct skiplist_iter it;
	skiplist_iter_init(&it, &sl);
	ck_assert(!skiplist_iter_valid(&it));
	skiplist_iter_seek_first(&it);
	ck_assert(!skiplist_iter_valid(&it));
	skiplist_iter_seek_last(&it);
	ck_assert(!skiplist_iter_valid(&it));
	uint64_t k = 0;
	skiplist_iter_seek(&it, &k);
	ck_assert(!skiplist_iter_valid(&it));
	ck_assert(skiplist_seek(&sl, &k) == NULL);
	arena_destroy(&a);
}
END_TEST

static size_t lower_bound_u64(const uint64_t *v, size_t n, uint64_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Full scans both ways, then seeks with a random walk of next/prev from each,
 * all compared with the sorted model. */
static void check_skiplist_model(const struct skiplist *sl, const uint64_t *model, size_t n,
                                 uint64_t key_range, struct rng *r)
{
	struct skiplist_iter it;
	skiplist_iter_init(&it, sl);
	size_t i = 0;
	for (skiplist_iter_seek_first(&it); skiplist_iter_valid(&it); skiplist_iter_next(&it), i++) {
		ck_assert_uint_lt(i, n);
		ck_assert_uint_eq(t_key(&it), model[i]);
		ck_assert(t_intact(skiplist_iter_entry(&it)));
	}
	ck_assert_uint_eq(i, n);
	for (skiplist_iter_seek_last(&it); skiplist_iter_valid(&it); skiplist_iter_prev(&it)) {
		ck_assert_uint_gt(i, 0);
		i--;
		ck_assert_uint_eq(t_key(&it), model[i]);
	}
	ck_assert_uint_eq(i, 0);

	for (int s = 0; s < 100; s++) {
		uint64_t t;
		if (n > 0 && rng_one_in(r, 3))
			t = model[rng_uniform(r, n)];
		else
			t = rng_uniform(r, key_range + 2);
		size_t pos = lower_bound_u64(model, n, t);
		const char *e = skiplist_seek(sl, &t);
		skiplist_iter_seek(&it, &t);
		if (pos == n) {
			ck_assert(e == NULL);
			ck_assert(!skiplist_iter_valid(&it));
			continue;
		}
		ck_assert(e != NULL);
		ck_assert_uint_eq(decode_fixed64(e), model[pos]);
		for (int step = 0; step < 8 && skiplist_iter_valid(&it); step++) {
			ck_assert_uint_eq(t_key(&it), model[pos]);
			if (rng_one_in(r, 2)) {
				skiplist_iter_next(&it);
				pos++;
			} else {
				skiplist_iter_prev(&it);
				pos = pos == 0 ? n : pos - 1;
			}
			if (pos == n)
				ck_assert(!skiplist_iter_valid(&it));
		}
	}
}

/* Random, ascending and descending insertion orders (_i picks one). */
START_TEST(skiplist_matches_sorted_model)
{
	enum { N = 3000, CHECK_EVERY = 500, RANGE = 10000 };
	struct rng r;
	rng_seed(&r, 301 + (uint64_t)_i);
	struct arena a;
	struct skiplist sl;
	arena_init(&a);
	skiplist_init(&sl, t_cmp, &a, (uint64_t)_i);
	uint64_t *model = malloc(N * sizeof(*model));
	ck_assert(model != NULL);
	size_t n = 0;
	for (int op = 0; op < N; op++) {
		uint64_t k;
		if (_i == 0)
			k = rng_uniform(&r, RANGE);
		else if (_i == 1)
			k = (uint64_t)op * 3 + 1;
		else
			k = (uint64_t)(N - op) * 3 + 1;
		size_t pos = lower_bound_u64(model, n, k);
		if (pos < n && model[pos] == k)
			continue; /* the list holds no duplicates */
		memmove(model + pos + 1, model + pos, (n - pos) * sizeof(*model));
		model[pos] = k;
		n++;
		t_insert(&sl, k);
		if ((op + 1) % CHECK_EVERY == 0 || op < 5)
			check_skiplist_model(&sl, model, n, _i == 0 ? RANGE : (uint64_t)N * 3 + 4, &r);
	}
	check_skiplist_model(&sl, model, n, _i == 0 ? RANGE : (uint64_t)N * 3 + 4, &r);
	free(model);
	arena_destroy(&a);
}
END_TEST

START_TEST(skiplist_heights_follow_branching_factor)
{
	enum { N = 100000 };
	struct arena a;
	struct skiplist sl;
	arena_init(&a);
	skiplist_init(&sl, t_cmp, &a, 7);
	for (uint64_t k = 0; k < N; k++)
		t_insert(&sl, mix(k));
	int max = atomic_load(&sl.max_height);
	ck_assert_int_ge(max, 6);
	ck_assert_int_le(max, SKIPLIST_MAX_HEIGHT);
	/* nodes reaching level L: about N / 4^L */
	size_t count[3] = { 0, 0, 0 };
	for (int level = 0; level < 3; level++) {
		const struct skiplist_node *x = skiplist_head(&sl);
		uint64_t last = 0;
		while ((x = skiplist_node_next(x, level)) != NULL) {
			uint64_t k = decode_fixed64(skiplist_node_entry(x));
			ck_assert(count[level] == 0 || k > last);
			last = k;
			count[level]++;
		}
	}
	ck_assert_uint_eq(count[0], N);
	ck_assert_msg(count[1] > N * 22 / 100 && count[1] < N * 28 / 100, "level 1: %zu", count[1]);
	ck_assert_msg(count[2] > N * 5 / 100 && count[2] < N * 75 / 1000, "level 2: %zu", count[2]);
	arena_destroy(&a);
}
END_TEST

/* ---- one writer, several lock-free readers (after LevelDB's
 * skiplist_test.cc ConcurrentTest) ----
 *
 * Keys are (class k < CK, generation g) packed as k << 48 | g. The writer
 * inserts generations 1, 2, ... of random classes and publishes the newest
 * generation of each class with a release store after the insert. A reader
 * snapshots those generations (acquire) before a scan; every key (k, g) with
 * 1 <= g <= snapshot[k] must then be found, the scan must be strictly
 * ascending, and every entry must be complete. */

#define CK 4
#define CK_END ((uint64_t)CK << 48)

static uint64_t ck_key(uint64_t k, uint64_t g)
{
	return k << 48 | g;
}

static uint64_t ck_class(uint64_t key)
{
	return key >> 48;
}

static uint64_t ck_gen(uint64_t key)
{
	return key & ((UINT64_C(1) << 48) - 1);
}

struct conc {
	struct skiplist *sl;
	atomic_uint_least64_t gen[CK]; /* newest inserted generation per class */
	atomic_int done;               /* the writer finished */
	atomic_int readers_started;
};

struct reader {
	pthread_t thread;
	struct conc *c;
	uint64_t seed;
	uint64_t steps;
	char fail[256];
};

__attribute__((format(printf, 2, 3)))
static int reader_fail(struct reader *rd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rd->fail, sizeof(rd->fail), fmt, ap);
	va_end(ap);
	return -1;
}

#define RCHECK(rd, cond, ...)                              \
	do {                                                   \
		if (!(cond))                                       \
			return reader_fail((rd), __VA_ARGS__);         \
	} while (0)

static uint64_t ck_random_target(struct rng *r, const uint64_t *snap)
{
	switch (rng_uniform(r, 10)) {
	case 0:
		return ck_key(0, 0);
	case 1:
		return CK_END;
	case 2: {
		uint64_t k = rng_uniform(r, CK);
		return ck_key(k, rng_uniform(r, snap[k] + 2));
	}
	default:
		return ck_key(rng_uniform(r, CK), 0);
	}
}

/* No key of the snapshot lies in [pos, hi): walks the gap as LevelDB does
 * (generations are dense, so one probe per class suffices past the end). */
static int ck_check_gap(struct reader *rd, const uint64_t *snap, uint64_t pos, uint64_t hi)
{
	while (pos < hi) {
		uint64_t k = ck_class(pos), g = ck_gen(pos);
		RCHECK(rd, k < CK, "position %" PRIx64 " past the key space", pos);
		RCHECK(rd, g == 0 || g > snap[k],
		       "key (%" PRIu64 ", %" PRIu64 ") inserted before the scan began was skipped", k, g);
		pos = k < ck_class(hi) ? ck_key(k + 1, 0) : ck_key(k, g + 1);
	}
	return 0;
}

static int ck_entry(struct reader *rd, const struct skiplist_iter *it, uint64_t *key)
{
	const char *e = skiplist_iter_entry(it);
	RCHECK(rd, t_intact(e), "half-built entry %" PRIx64, decode_fixed64(e));
	*key = decode_fixed64(e);
	RCHECK(rd, ck_class(*key) < CK && ck_gen(*key) > 0, "bad key %" PRIx64, *key);
	return 0;
}

static int ck_read_forward(struct reader *rd, struct rng *r)
{
	uint64_t snap[CK];
	for (int k = 0; k < CK; k++)
		snap[k] = atomic_load_explicit(&rd->c->gen[k], memory_order_acquire);
	struct skiplist_iter it;
	skiplist_iter_init(&it, rd->c->sl);
	uint64_t pos = ck_random_target(r, snap);
	skiplist_iter_seek(&it, &pos);
	for (;;) {
		uint64_t cur = CK_END;
		if (skiplist_iter_valid(&it) && ck_entry(rd, &it, &cur) != 0)
			return -1;
		RCHECK(rd, pos <= cur, "iteration went backwards: %" PRIx64 " after %" PRIx64, cur, pos);
		if (ck_check_gap(rd, snap, pos, cur) != 0)
			return -1;
		if (!skiplist_iter_valid(&it))
			return 0;
		if (rng_one_in(r, 2)) {
			skiplist_iter_next(&it);
			pos = cur + 1;
		} else {
			uint64_t t = ck_random_target(r, snap);
			if (t > cur) {
				pos = t;
				skiplist_iter_seek(&it, &t);
			} else {
				pos = cur;
			}
		}
	}
}

static int ck_read_backward(struct reader *rd, struct rng *r)
{
	uint64_t snap[CK];
	for (int k = 0; k < CK; k++)
		snap[k] = atomic_load_explicit(&rd->c->gen[k], memory_order_acquire);
	struct skiplist_iter it;
	skiplist_iter_init(&it, rd->c->sl);
	uint64_t hi = CK_END; /* everything at or above hi was checked */
	if (rng_one_in(r, 2)) {
		skiplist_iter_seek_last(&it);
	} else {
		uint64_t t = ck_random_target(r, snap);
		skiplist_iter_seek(&it, &t);
		uint64_t cur = CK_END;
		if (skiplist_iter_valid(&it) && ck_entry(rd, &it, &cur) != 0)
			return -1;
		RCHECK(rd, cur >= t, "seek landed before its target");
		if (ck_check_gap(rd, snap, t, cur) != 0)
			return -1;
		hi = cur;
		if (!skiplist_iter_valid(&it))
			skiplist_iter_seek_last(&it);
		else
			skiplist_iter_prev(&it);
	}
	for (;;) {
		uint64_t cur = 0;
		if (skiplist_iter_valid(&it) && ck_entry(rd, &it, &cur) != 0)
			return -1;
		uint64_t lo = skiplist_iter_valid(&it) ? cur + 1 : 0;
		RCHECK(rd, !skiplist_iter_valid(&it) || cur < hi,
		       "prev did not go back: %" PRIx64 " then %" PRIx64, hi, cur);
		if (ck_check_gap(rd, snap, lo, hi) != 0)
			return -1;
		if (!skiplist_iter_valid(&it))
			return 0;
		hi = cur;
		skiplist_iter_prev(&it);
	}
}

static void *ck_reader_main(void *arg)
{
	struct reader *rd = arg;
	struct rng r;
	rng_seed(&r, rd->seed);
	atomic_fetch_add(&rd->c->readers_started, 1);
	/* at least a few steps, then until the writer is done: the writer's
	 * fixed insert count bounds the run */
	while (rd->steps < 4 || !atomic_load_explicit(&rd->c->done, memory_order_acquire)) {
		int rc = rng_one_in(&r, 4) ? ck_read_backward(rd, &r) : ck_read_forward(rd, &r);
		if (rc != 0)
			break;
		rd->steps++;
	}
	return NULL;
}

START_TEST(skiplist_one_writer_many_readers)
{
	enum { ROUNDS = 40, INSERTS = 3000, READERS = 3 };
	struct rng wr;
	rng_seed(&wr, 99);
	uint64_t total_steps = 0;
	for (int round = 0; round < ROUNDS; round++) {
		struct arena a;
		struct skiplist sl;
		arena_init(&a);
		skiplist_init(&sl, t_cmp, &a, (uint64_t)round);
		struct conc c;
		c.sl = &sl;
		for (int k = 0; k < CK; k++)
			atomic_init(&c.gen[k], 0);
		atomic_init(&c.done, 0);
		atomic_init(&c.readers_started, 0);
		struct reader rd[READERS];
		for (int i = 0; i < READERS; i++) {
			rd[i].c = &c;
			rd[i].seed = (uint64_t)round * 1000 + (uint64_t)i;
			rd[i].steps = 0;
			rd[i].fail[0] = '\0';
			ck_assert_int_eq(pthread_create(&rd[i].thread, NULL, ck_reader_main, &rd[i]), 0);
		}
		/* let the readers get going so they overlap the inserts (speed, not
		 * correctness: the checks hold however the threads interleave) */
		while (atomic_load(&c.readers_started) < READERS)
			sched_yield();
		for (int i = 0; i < INSERTS; i++) {
			uint64_t k = rng_uniform(&wr, CK);
			uint64_t g = atomic_load_explicit(&c.gen[k], memory_order_relaxed) + 1;
			t_insert(&sl, ck_key(k, g));
			/* release: a reader that sees g also sees the insert */
			atomic_store_explicit(&c.gen[k], g, memory_order_release);
		}
		atomic_store_explicit(&c.done, 1, memory_order_release);
		for (int i = 0; i < READERS; i++) {
			pthread_join(rd[i].thread, NULL);
			ck_assert_msg(rd[i].fail[0] == '\0', "round %d reader %d: %s", round, i, rd[i].fail);
			total_steps += rd[i].steps;
		}
		arena_destroy(&a);
	}
	ck_assert_uint_ge(total_steps, (uint64_t)ROUNDS * READERS * 4);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("skiplist");
	TCase *tc = tcase_create("skiplist");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, skiplist_empty_has_no_entries);
	tcase_add_loop_test(tc, skiplist_matches_sorted_model, 0, 3);
	tcase_add_test(tc, skiplist_heights_follow_branching_factor);
	suite_add_tcase(s, tc);

	tc = tcase_create("skiplist_concurrent");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, skiplist_one_writer_many_readers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
