/* The memtable: versions, snapshots and deletions, binary and large entries,
 * a randomised model with two comparators, reference counting, memory
 * limits, and readers beside the writer (run under ThreadSanitizer too). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/comparator.h"
#include "lib/util/error.h"
#include "lib/util/ikey.h"
#include "lib/util/iter.h"
#include "lib/util/random.h"
#include "memtable/memtable.h"
#include "tests/testutil.h"

/* Scrambles key numbers (splitmix64's finaliser, a bijection). */
static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- memtable ---- */

static struct memtable *mt_new(const struct comparator *ucmp)
{
	struct memtable *m = NULL;
	ck_assert_ok(memtable_create(ucmp, &m));
	ck_assert(m != NULL);
	return m;
}

/* With a lookup filter of filter_bytes. */
static struct memtable *mt_new_filtered(const struct comparator *ucmp, size_t filter_bytes)
{
	struct memtable *m = NULL;
	ck_assert_ok(memtable_create_with_filter(ucmp, filter_bytes, &m));
	ck_assert(m != NULL);
	return m;
}

static void mt_put(struct memtable *m, uint64_t seq, const char *k, const char *v)
{
	ck_assert_ok(memtable_add(m, seq, IKEY_TYPE_VALUE, slice_from_str(k), slice_from_str(v)));
}

static void mt_del(struct memtable *m, uint64_t seq, const char *k)
{
	ck_assert_ok(memtable_add(m, seq, IKEY_TYPE_DELETION, slice_from_str(k), slice_make("", 0)));
}

/* Checks get(k, seq): want NULL means ABSENT, "\x01DEL" means DELETED. */
#define DELETED_MARK "\001" "DEL"
static void mt_expect(struct memtable *m, const char *k, uint64_t seq, const char *want)
{
	struct slice v = slice_make(NULL, 0);
	int rc = memtable_get(m, slice_from_str(k), seq, &v);
	if (want == NULL) {
		ck_assert_msg(rc == MEMTABLE_ABSENT, "get(%s, %" PRIu64 ") = %d, want absent", k, seq, rc);
	} else if (strcmp(want, DELETED_MARK) == 0) {
		ck_assert_msg(rc == MEMTABLE_DELETED, "get(%s, %" PRIu64 ") = %d, want deleted", k, seq, rc);
	} else {
		ck_assert_msg(rc == MEMTABLE_FOUND, "get(%s, %" PRIu64 ") = %d, want %s", k, seq, rc, want);
		ck_assert(slice_equal(v, slice_from_str(want)));
	}
}

START_TEST(memtable_versions_deletions_and_snapshots)
{
	struct memtable *m = mt_new(comparator_bytewise());
	ck_assert_uint_eq(memtable_count(m), 0);
	mt_expect(m, "k", 100, NULL);
	/* added out of sequence order on purpose */
	mt_put(m, 20, "k", "v20");
	mt_put(m, 10, "k", "v10");
	mt_del(m, 30, "k");
	mt_put(m, 40, "k", "v40");
	mt_put(m, 15, "ka", "ka15");
	mt_put(m, 5, "j", "j5");
	mt_del(m, 7, "k");
	/* "k\0" is a different key right after "k" */
	ck_assert_ok(memtable_add(m, 8, IKEY_TYPE_VALUE, slice_make("k\0", 2), slice_from_str("k0")));
	ck_assert_uint_eq(memtable_count(m), 8);

	mt_expect(m, "k", 0, NULL);
	mt_expect(m, "k", 6, NULL);
	mt_expect(m, "k", 7, DELETED_MARK);
	mt_expect(m, "k", 9, DELETED_MARK);
	mt_expect(m, "k", 10, "v10");
	mt_expect(m, "k", 19, "v10");
	mt_expect(m, "k", 20, "v20");
	mt_expect(m, "k", 29, "v20");
	mt_expect(m, "k", 30, DELETED_MARK);
	mt_expect(m, "k", 39, DELETED_MARK);
	mt_expect(m, "k", 40, "v40");
	mt_expect(m, "k", IKEY_SEQ_MAX, "v40");
	mt_expect(m, "k", UINT64_MAX, "v40");
	mt_expect(m, "ka", 14, NULL);
	mt_expect(m, "ka", 15, "ka15");
	mt_expect(m, "j", 100, "j5");
	mt_expect(m, "", 100, NULL);
	mt_expect(m, "i", 100, NULL);
	mt_expect(m, "kb", 100, NULL);
	mt_expect(m, "kaa", 100, NULL);
	struct slice v;
	ck_assert_int_eq(memtable_get(m, slice_make("k\0", 2), 8, &v), MEMTABLE_FOUND);
	ck_assert(slice_equal(v, slice_from_str("k0")));
	ck_assert_int_eq(memtable_get(m, slice_make("k\0", 2), 7, &v), MEMTABLE_ABSENT);
	memtable_unref(m);
}
END_TEST

START_TEST(memtable_empty_key_and_value)
{
	struct memtable *m = mt_new(comparator_bytewise());
	mt_put(m, 1, "", "");
	mt_put(m, 2, "", "x");
	mt_del(m, 3, "");
	mt_put(m, 4, "a", "");
	mt_expect(m, "", 0, NULL);
	mt_expect(m, "", 1, "");
	mt_expect(m, "", 2, "x");
	mt_expect(m, "", 3, DELETED_MARK);
	mt_expect(m, "a", 4, "");
	/* a deletion's value is ignored */
	ck_assert_ok(memtable_add(m, 5, IKEY_TYPE_DELETION, slice_from_str("b"), slice_from_str("junk")));

	struct iter *it = memtable_iter(m);
	ck_assert(it != NULL);
	iter_seek_first(it);
	const struct { const char *uk; uint64_t seq; int type; const char *v; } want[] = {
		{ "", 3, IKEY_TYPE_DELETION, "" }, { "", 2, IKEY_TYPE_VALUE, "x" },
		{ "", 1, IKEY_TYPE_VALUE, "" },    { "a", 4, IKEY_TYPE_VALUE, "" },
		{ "b", 5, IKEY_TYPE_DELETION, "" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert(iter_valid(it));
		struct parsed_ikey p;
		ck_assert(ikey_parse(iter_key(it), &p));
		ck_assert(slice_equal(p.user_key, slice_from_str(want[i].uk)));
		ck_assert_uint_eq(p.seq, want[i].seq);
		ck_assert_int_eq(p.type, want[i].type);
		ck_assert(slice_equal(iter_value(it), slice_from_str(want[i].v)));
		iter_next(it);
	}
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), 0);
	iter_destroy(it);
	memtable_unref(m);
}
END_TEST

/* ---- the randomised memtable model ---- */

struct mentry {
	struct buf ikey;
	struct buf value;
};

static const struct comparator *g_model_cmp;

static int mentry_order(const void *a, const void *b)
{
	const struct mentry *x = a, *y = b;
	return ikey_compare(g_model_cmp, buf_slice(&x->ikey), buf_slice(&y->ikey));
}

static int reverse_compare(const struct comparator *c, struct slice a, struct slice b)
{
	(void)c;
	return slice_compare(b, a);
}

static const char *reverse_name(const struct comparator *c)
{
	(void)c;
	return "test.Reverse";
}

static const struct comparator reverse_cmp = {
	.compare = reverse_compare,
	.name = reverse_name,
	.shorten_separator = comparator_keep_separator,
	.short_successor = comparator_keep_successor,
	.bytewise = 0,
};

/* Short keys over bytes that stress ordering: NUL, 0x7f/0x80, 0xff. */
static void random_binary_key(struct rng *r, struct buf *b)
{
	static const char alphabet[] = { 0x00, 0x01, 'a', 0x7f, (char)0x80, (char)0xfe, (char)0xff };
	size_t n = rng_uniform(r, 6);
	buf_clear(b);
	for (size_t i = 0; i < n; i++)
		ck_assert_ok(buf_append_byte(b, alphabet[rng_uniform(r, sizeof(alphabet))]));
}

static size_t mentry_lower_bound(const struct mentry *v, size_t n, struct slice target)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ikey_compare(g_model_cmp, buf_slice(&v[mid].ikey), target) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void check_iter_at(struct iter *it, const struct mentry *v, size_t n, size_t pos)
{
	if (pos >= n) {
		ck_assert(!iter_valid(it));
		return;
	}
	ck_assert(iter_valid(it));
	ck_assert(slice_equal(iter_key(it), buf_slice(&v[pos].ikey)));
	ck_assert(slice_equal(iter_value(it), buf_slice(&v[pos].value)));
}

/* _i: 0 bytewise, 1 a reversing (non-bytewise) comparator */
START_TEST(memtable_binary_keys_match_model)
{
	enum { N = 1500 };
	/* 0, 1: bytewise and reverse order; 2, 3: the same asked through a
	 * lookup filter (a small one, lines shared; reverse gets none) */
	const struct comparator *ucmp = _i % 2 == 0 ? comparator_bytewise() : &reverse_cmp;
	g_model_cmp = ucmp;
	struct rng r;
	rng_seed(&r, 4242 + (uint64_t)_i);
	struct memtable *m = _i < 2 ? mt_new(ucmp) : mt_new_filtered(ucmp, 1024);
	ck_assert_uint_eq(memtable_filter_memory(m), _i == 2 ? 1024 : 0);
	struct mentry *model = calloc(N, sizeof(*model));
	ck_assert(model != NULL);
	/* sequences 1..N in a random order */
	uint64_t *seqs = malloc(N * sizeof(*seqs));
	ck_assert(seqs != NULL);
	for (size_t i = 0; i < N; i++)
		seqs[i] = i + 1;
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = rng_uniform(&r, i + 1);
		uint64_t t = seqs[i];
		seqs[i] = seqs[j];
		seqs[j] = t;
	}
	struct buf key = BUF_INIT, val = BUF_INIT;
	for (size_t i = 0; i < N; i++) {
		random_binary_key(&r, &key);
		int type = rng_one_in(&r, 4) ? IKEY_TYPE_DELETION : IKEY_TYPE_VALUE;
		buf_clear(&val);
		if (type == IKEY_TYPE_VALUE) {
			ck_assert_ok(buf_resize(&val, rng_uniform(&r, 40)));
			tu_random_bytes(&r, val.data, val.len);
		}
		ck_assert_ok(memtable_add(m, seqs[i], type, buf_slice(&key), buf_slice(&val)));
		buf_init(&model[i].ikey);
		buf_init(&model[i].value);
		ck_assert_ok(ikey_append(&model[i].ikey, buf_slice(&key), seqs[i], type));
		ck_assert_ok(buf_set(&model[i].value, val.data, val.len));
	}
	ck_assert_uint_eq(memtable_count(m), N);
	qsort(model, N, sizeof(*model), mentry_order);

	/* gets: the model's newest entry at or below the snapshot */
	for (int q = 0; q < 3000; q++) {
		random_binary_key(&r, &key);
		uint64_t snap = rng_one_in(&r, 10) ? UINT64_MAX : rng_uniform(&r, N + 2);
		struct buf target = BUF_INIT;
		ck_assert_ok(ikey_append(&target, buf_slice(&key), snap > IKEY_SEQ_MAX ? IKEY_SEQ_MAX : snap,
		                         IKEY_TYPE_FOR_SEEK));
		size_t pos = mentry_lower_bound(model, N, buf_slice(&target));
		buf_free(&target);
		struct parsed_ikey p;
		int want = MEMTABLE_ABSENT;
		if (pos < N) {
			ck_assert(ikey_parse(buf_slice(&model[pos].ikey), &p));
			if (comparator_compare(ucmp, p.user_key, buf_slice(&key)) == 0)
				want = p.type == IKEY_TYPE_VALUE ? MEMTABLE_FOUND : MEMTABLE_DELETED;
		}
		struct slice v;
		ck_assert_int_eq(memtable_get(m, buf_slice(&key), snap, &v), want);
		if (want == MEMTABLE_FOUND)
			ck_assert(slice_equal(v, buf_slice(&model[pos].value)));
	}

	struct iter *it = memtable_iter(m);
	ck_assert(it != NULL);
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it), i++)
		check_iter_at(it, model, N, i);
	ck_assert_uint_eq(i, N);
	for (iter_seek_last(it); iter_valid(it); iter_prev(it))
		check_iter_at(it, model, N, --i);
	ck_assert_uint_eq(i, 0);
	/* seeks on internal-key targets, then a random walk */
	for (int q = 0; q < 500; q++) {
		random_binary_key(&r, &key);
		struct buf target = BUF_INIT;
		if (rng_one_in(&r, 20)) {
			/* shorter than a tag: orders as ikey_compare says */
			ck_assert_ok(buf_set(&target, key.data, key.len < 7 ? key.len : 7));
		} else {
			ck_assert_ok(ikey_append(&target, buf_slice(&key), rng_uniform(&r, N + 2),
			                         (int)rng_uniform(&r, 2)));
		}
		size_t pos = mentry_lower_bound(model, N, buf_slice(&target));
		iter_seek(it, buf_slice(&target));
		buf_free(&target);
		for (int step = 0; step < 6; step++) {
			check_iter_at(it, model, N, pos);
			if (pos >= N)
				break;
			if (rng_one_in(&r, 2)) {
				iter_next(it);
				pos++;
			} else {
				iter_prev(it);
				pos = pos == 0 ? N : pos - 1;
			}
		}
	}
	ck_assert_int_eq(iter_status(it), 0);
	iter_destroy(it);

	for (size_t j = 0; j < N; j++) {
		buf_free(&model[j].ikey);
		buf_free(&model[j].value);
	}
	free(model);
	free(seqs);
	buf_free(&key);
	buf_free(&val);
	memtable_unref(m);
}
END_TEST

START_TEST(memtable_big_keys_and_1mib_values)
{
	enum { KEY = 70 * 1024, VAL = 1 << 20, VERSIONS = 4 };
	struct rng r;
	rng_seed(&r, 5);
	struct memtable *m = mt_new(comparator_bytewise());
	char *key = malloc(KEY);
	char *val[VERSIONS];
	ck_assert(key != NULL);
	tu_random_bytes(&r, key, KEY);
	for (int v = 0; v < VERSIONS; v++) {
		val[v] = malloc(VAL);
		ck_assert(val[v] != NULL);
		tu_random_bytes(&r, val[v], VAL);
		ck_assert_ok(memtable_add(m, (uint64_t)v + 1, IKEY_TYPE_VALUE, slice_make(key, KEY),
		                          slice_make(val[v], VAL)));
	}
	/* a neighbour that differs only in the last byte, and a prefix */
	char last = key[KEY - 1];
	key[KEY - 1] = (char)(last ^ 1);
	ck_assert_ok(memtable_add(m, 9, IKEY_TYPE_VALUE, slice_make(key, KEY), slice_from_str("n")));
	key[KEY - 1] = last;
	ck_assert_ok(memtable_add(m, 10, IKEY_TYPE_VALUE, slice_make(key, KEY - 1), slice_from_str("p")));
	ck_assert_uint_ge(memtable_memory_usage(m), (size_t)VERSIONS * (VAL + KEY));

	for (int v = 0; v < VERSIONS; v++) {
		struct slice got;
		ck_assert_int_eq(memtable_get(m, slice_make(key, KEY), (uint64_t)v + 1, &got), MEMTABLE_FOUND);
		ck_assert_uint_eq(got.size, VAL);
		ck_assert(memcmp(got.data, val[v], VAL) == 0);
	}
	struct slice got;
	ck_assert_int_eq(memtable_get(m, slice_make(key, KEY), 0, &got), MEMTABLE_ABSENT);
	ck_assert_int_eq(memtable_get(m, slice_make(key, KEY - 1), 100, &got), MEMTABLE_FOUND);
	ck_assert(slice_equal(got, slice_from_str("p")));

	/* a big seek target (no fixed-size buffer to overflow) */
	struct buf target = BUF_INIT;
	ck_assert_ok(ikey_append(&target, slice_make(key, KEY), 2, IKEY_TYPE_FOR_SEEK));
	struct iter *it = memtable_iter(m);
	ck_assert(it != NULL);
	iter_seek(it, buf_slice(&target));
	ck_assert(iter_valid(it));
	struct parsed_ikey p;
	ck_assert(ikey_parse(iter_key(it), &p));
	ck_assert_uint_eq(p.seq, 2);
	ck_assert(slice_equal(p.user_key, slice_make(key, KEY)));
	ck_assert(slice_equal(iter_value(it), slice_make(val[1], VAL)));
	iter_prev(it);
	ck_assert(iter_valid(it));
	ck_assert(ikey_parse(iter_key(it), &p));
	ck_assert_uint_eq(p.seq, 3);
	iter_destroy(it);
	buf_free(&target);

	for (int v = 0; v < VERSIONS; v++)
		free(val[v]);
	free(key);
	memtable_unref(m);
}
END_TEST

START_TEST(memtable_iterator_outlives_callers_unref)
{
	struct memtable *m = mt_new(comparator_bytewise());
	char k[16], v[16];
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "key%03d", i);
		snprintf(v, sizeof(v), "val%03d", i);
		mt_put(m, (uint64_t)i + 1, k, v);
	}
	struct iter *a = memtable_iter(m);
	struct iter *b = memtable_iter(m);
	ck_assert(a != NULL && b != NULL);
	memtable_ref(m);
	memtable_unref(m);
	memtable_unref(m); /* the caller's reference: the iterators keep it alive */
	iter_destroy(b);
	int i = 0;
	for (iter_seek_first(a); iter_valid(a); iter_next(a), i++) {
		snprintf(k, sizeof(k), "key%03d", i);
		snprintf(v, sizeof(v), "val%03d", i);
		ck_assert(slice_equal(ikey_user_key(iter_key(a)), slice_from_str(k)));
		ck_assert(slice_equal(iter_value(a), slice_from_str(v)));
	}
	ck_assert_int_eq(i, 100);
	iter_destroy(a); /* frees the memtable (ASan would report a leak otherwise) */
	memtable_unref(NULL);
	iter_destroy(NULL);
}
END_TEST

START_TEST(memtable_count_and_memory_usage_grow)
{
	struct memtable *m = mt_new(comparator_bytewise());
	size_t before = memtable_memory_usage(m);
	char k[32];
	char v[100];
	memset(v, 'v', sizeof(v));
	for (int i = 0; i < 10000; i++) {
		snprintf(k, sizeof(k), "%016d", i);
		ck_assert_ok(memtable_add(m, (uint64_t)i + 1, IKEY_TYPE_VALUE, slice_from_str(k), slice_make(v, sizeof(v))));
		ck_assert_uint_eq(memtable_count(m), (uint64_t)i + 1);
	}
	size_t after = memtable_memory_usage(m);
	ck_assert_uint_ge(after - before, 10000u * (16 + 8 + 100));
	/* one allocation per entry and little slack: under 2x the payload */
	ck_assert_uint_lt(after - before, 10000u * (16 + 8 + 100) * 2);
	memtable_unref(m);
}
END_TEST

/* A comparator under which keys differing in ASCII case are equal. */
static int nocase_compare(const struct comparator *c, struct slice a, struct slice b)
{
	(void)c;
	size_t n = a.size < b.size ? a.size : b.size;
	for (size_t i = 0; i < n; i++) {
		int x = a.data[i] >= 'A' && a.data[i] <= 'Z' ? a.data[i] + 32 : a.data[i];
		int y = b.data[i] >= 'A' && b.data[i] <= 'Z' ? b.data[i] + 32 : b.data[i];
		if (x != y)
			return x < y ? -1 : 1;
	}
	return (a.size > b.size) - (a.size < b.size);
}
static const char *nocase_name(const struct comparator *c)
{
	(void)c;
	return "test.NoCase";
}
static const struct comparator nocase_cmp = { nocase_compare, nocase_name, comparator_keep_separator,
	                                      comparator_keep_successor, 0, 0 };

/* The lookup filter: every key added is found through it (full-size filter,
 * 20,000 keys), absent keys are answered absent, and its memory is counted
 * apart from the entries'. A comparator other than bytewise gets no filter:
 * keys it calls equal may differ in bytes. */
START_TEST(memtable_filter_answers_absent_keys_alone)
{
	struct memtable *m = mt_new_filtered(comparator_bytewise(), 128 << 10);
	ck_assert_uint_eq(memtable_filter_memory(m), 128 << 10);
	size_t empty = memtable_memory_usage(m);
	ck_assert_uint_lt(empty, 128 << 10); /* (the filter is not in the entries' count) */
	char k[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "key%08d", i * 2);
		mt_put(m, (uint64_t)i + 1, k, k);
	}
	for (int i = 0; i < 40000; i++) {
		snprintf(k, sizeof(k), "key%08d", i);
		mt_expect(m, k, IKEY_SEQ_MAX, i % 2 ? NULL : k);
	}
	memtable_unref(m);

	m = mt_new_filtered(&nocase_cmp, 128 << 10);
	ck_assert_uint_eq(memtable_filter_memory(m), 0);
	mt_put(m, 1, "Apple", "1");
	mt_expect(m, "aPPLE", 1, "1");
	mt_expect(m, "pear", 1, NULL);
	memtable_unref(m);
}
END_TEST

START_TEST(memtable_oversized_entry_rejected_unchanged)
{
	struct memtable *m = mt_new(comparator_bytewise());
	mt_put(m, 1, "a", "1");
	/* sizes are checked before any byte is read */
	static const char tiny[1];
	int rc = memtable_add(m, 2, IKEY_TYPE_VALUE, slice_make(tiny, (size_t)UINT32_MAX), slice_make("", 0));
	ck_assert_int_eq(rc, SHALE_EINVAL);
	ck_assert(strstr(shale_errmsg(), "too large") != NULL);
	rc = memtable_add(m, 3, IKEY_TYPE_VALUE, slice_from_str("b"), slice_make(tiny, (size_t)UINT32_MAX + 1));
	ck_assert_int_eq(rc, SHALE_EINVAL);
	ck_assert_uint_eq(memtable_count(m), 1);
	mt_expect(m, "a", 10, "1");
	mt_expect(m, "b", 10, NULL);
	memtable_unref(m);
}
END_TEST

/* In a child whose address space is capped: 64 MiB values until the arena's
 * malloc fails. Returns 0 when the failure was clean. */
static int enomem_child(void)
{
	enum { VAL = 64 << 20 };
	char *val = malloc(VAL);
	if (val == NULL)
		return 10;
	memset(val, 'x', VAL);
	struct memtable *m = NULL;
	if (memtable_create(comparator_bytewise(), &m) != 0)
		return 11;
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	if (f == NULL || fscanf(f, "%lu", &pages) != 1)
		return 12;
	fclose(f);
	struct rlimit lim;
	lim.rlim_cur = lim.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (200u << 20);
	if (setrlimit(RLIMIT_AS, &lim) != 0)
		return 13;
	uint64_t added = 0;
	int rc = 0;
	for (uint64_t i = 0; i < 64 && rc == 0; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%02" PRIu64, i);
		rc = memtable_add(m, i + 1, IKEY_TYPE_VALUE, slice_from_str(k), slice_make(val, VAL));
		if (rc == 0)
			added++;
	}
	if (rc != SHALE_ENOMEM)
		return 14;
	if (added == 0 || memtable_count(m) != added)
		return 15;
	if (strstr(shale_errmsg(), "memtable") == NULL)
		return 16;
	struct slice v;
	if (memtable_get(m, slice_from_str("k00"), 100, &v) != MEMTABLE_FOUND || v.size != VAL)
		return 17;
	char k[16];
	snprintf(k, sizeof(k), "k%02" PRIu64, added);
	if (memtable_get(m, slice_from_str(k), 100, &v) != MEMTABLE_ABSENT)
		return 18;
	/* still usable for small entries */
	if (memtable_add(m, 1000, IKEY_TYPE_VALUE, slice_from_str("small"), slice_from_str("s")) != 0)
		return 19;
	memtable_unref(m);
	free(val);
	return 0;
}

START_TEST(memtable_add_reports_enomem_and_stays_usable)
{
	if (TU_SANITIZED)
		return; /* sanitizers need address space an RLIMIT_AS would take away */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(enomem_child());
	int st = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_msg(WEXITSTATUS(st) == 0, "child check %d failed", WEXITSTATUS(st));
}
END_TEST

/* ---- memtable: readers beside the writer ----
 * Op i (sequence i + 1) writes key j = i % MC_KEYS: a deletion when
 * i % 7 == 3, else value "v<i>" padded by i % 60 bytes. A reader at snapshot
 * s can compute the expected answer for any key. */

#define MC_KEYS 500
#define MC_OPS 100000

struct mc {
	struct memtable *m;
	atomic_uint_least64_t published; /* sequences <= this are in the memtable */
	atomic_int done;
};

struct mc_reader {
	pthread_t thread;
	struct mc *c;
	uint64_t seed;
	uint64_t steps;
	char fail[256];
};

static void mc_key(uint64_t j, char *out /* [8] */)
{
	/* big-endian of a bijective mix: unordered relative to j */
	uint64_t h = mix(j);
	for (int b = 0; b < 8; b++)
		out[b] = (char)(h >> (56 - 8 * b));
}

static size_t mc_value(uint64_t i, char *out /* [96] */)
{
	int n = snprintf(out, 32, "v%" PRIu64, i);
	size_t pad = (size_t)(i % 60);
	memset(out + n, (int)('a' + i % 26), pad);
	return (size_t)n + pad;
}

__attribute__((format(printf, 2, 3)))
static int mc_fail(struct mc_reader *rd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rd->fail, sizeof(rd->fail), fmt, ap);
	va_end(ap);
	return -1;
}

#define MCHECK(rd, cond, ...)                              \
	do {                                                   \
		if (!(cond))                                       \
			return mc_fail((rd), __VA_ARGS__);             \
	} while (0)

static int mc_check_get(struct mc_reader *rd, struct rng *r, uint64_t pub)
{
	uint64_t j = rng_uniform(r, MC_KEYS);
	uint64_t snap = rng_one_in(r, 2) ? pub : rng_uniform(r, pub + 1);
	char k[8], want[96];
	mc_key(j, k);
	struct slice v;
	int rc = memtable_get(rd->c->m, slice_make(k, 8), snap, &v);
	/* the newest op i <= snap - 1 with i % MC_KEYS == j */
	if (snap == 0 || snap - 1 < j) {
		MCHECK(rd, rc == MEMTABLE_ABSENT, "key %" PRIu64 " at %" PRIu64 ": %d, want absent", j, snap, rc);
		return 0;
	}
	uint64_t i = j + (snap - 1 - j) / MC_KEYS * MC_KEYS;
	if (i % 7 == 3) {
		MCHECK(rd, rc == MEMTABLE_DELETED, "key %" PRIu64 " at %" PRIu64 ": %d, want deleted", j, snap, rc);
		return 0;
	}
	MCHECK(rd, rc == MEMTABLE_FOUND, "key %" PRIu64 " at %" PRIu64 ": %d, want found", j, snap, rc);
	size_t n = mc_value(i, want);
	MCHECK(rd, slice_equal(v, slice_make(want, n)), "key %" PRIu64 " at %" PRIu64 ": wrong value", j, snap);
	return 0;
}

/* A short scan: strictly ascending internal keys, each entry consistent. */
static int mc_check_scan(struct mc_reader *rd, struct rng *r, struct iter *it)
{
	char k[8], want[96];
	mc_key(rng_uniform(r, MC_KEYS), k);
	struct buf target = BUF_INIT, prev = BUF_INIT;
	int rc = -1;
	if (ikey_append(&target, slice_make(k, 8), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK) != 0) {
		mc_fail(rd, "out of memory");
		goto out;
	}
	iter_seek(it, buf_slice(&target));
	for (int n = 0; n < 50 && iter_valid(it); n++, iter_next(it)) {
		struct parsed_ikey p;
		struct slice key = iter_key(it);
		if (!ikey_parse(key, &p) || p.seq == 0 || p.seq > MC_OPS || p.user_key.size != 8) {
			mc_fail(rd, "bad internal key");
			goto out;
		}
		uint64_t i = p.seq - 1;
		mc_key(i % MC_KEYS, k);
		int is_del = i % 7 == 3;
		size_t wn = is_del ? 0 : mc_value(i, want);
		if (memcmp(p.user_key.data, k, 8) != 0 ||
		    p.type != (is_del ? IKEY_TYPE_DELETION : IKEY_TYPE_VALUE) ||
		    !slice_equal(iter_value(it), slice_make(want, wn))) {
			mc_fail(rd, "entry of sequence %" PRIu64 " is inconsistent", p.seq);
			goto out;
		}
		if (prev.len && ikey_compare(comparator_bytewise(), buf_slice(&prev), key) >= 0) {
			mc_fail(rd, "scan not strictly ascending at sequence %" PRIu64, p.seq);
			goto out;
		}
		if (buf_set(&prev, key.data, key.size) != 0) {
			mc_fail(rd, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&target);
	buf_free(&prev);
	return rc;
}

static void *mc_reader_main(void *arg)
{
	struct mc_reader *rd = arg;
	struct rng r;
	rng_seed(&r, rd->seed);
	struct iter *it = memtable_iter(rd->c->m);
	if (it == NULL) {
		mc_fail(rd, "no iterator");
		goto out;
	}
	while (rd->steps < 100 || !atomic_load_explicit(&rd->c->done, memory_order_acquire)) {
		/* acquire: pairs with the writer's release after each add */
		uint64_t pub = atomic_load_explicit(&rd->c->published, memory_order_acquire);
		int rc = rng_one_in(&r, 32) ? mc_check_scan(rd, &r, it) : mc_check_get(rd, &r, pub);
		if (rc != 0)
			break;
		rd->steps++;
	}
	iter_destroy(it);
out:
	/* the reader's own reference: it may be the last one */
	memtable_unref(rd->c->m);
	return NULL;
}

START_TEST(memtable_readers_beside_writer)
{
	enum { READERS = 3 };
	struct mc c;
	c.m = mt_new_filtered(comparator_bytewise(), 4096); /* readers ask the filter the writer fills */
	atomic_init(&c.published, 0);
	atomic_init(&c.done, 0);
	struct mc_reader rd[READERS];
	for (int i = 0; i < READERS; i++) {
		rd[i].c = &c;
		rd[i].seed = 77 + (uint64_t)i;
		rd[i].steps = 0;
		rd[i].fail[0] = '\0';
		memtable_ref(c.m);
		ck_assert_int_eq(pthread_create(&rd[i].thread, NULL, mc_reader_main, &rd[i]), 0);
	}
	char k[8], v[96];
	for (uint64_t i = 0; i < MC_OPS; i++) {
		mc_key(i % MC_KEYS, k);
		if (i % 7 == 3) {
			ck_assert_ok(memtable_add(c.m, i + 1, IKEY_TYPE_DELETION, slice_make(k, 8), slice_make("", 0)));
		} else {
			size_t n = mc_value(i, v);
			ck_assert_ok(memtable_add(c.m, i + 1, IKEY_TYPE_VALUE, slice_make(k, 8), slice_make(v, n)));
		}
		/* release: a reader that sees i + 1 sees the entry */
		atomic_store_explicit(&c.published, i + 1, memory_order_release);
	}
	atomic_store_explicit(&c.done, 1, memory_order_release);
	ck_assert_uint_eq(memtable_count(c.m), MC_OPS);
	memtable_unref(c.m); /* the readers still hold theirs */
	for (int i = 0; i < READERS; i++) {
		pthread_join(rd[i].thread, NULL);
		ck_assert_msg(rd[i].fail[0] == '\0', "reader %d: %s", i, rd[i].fail);
		ck_assert_uint_ge(rd[i].steps, 100);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("memtable");
	TCase *tc = tcase_create("memtable");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, memtable_versions_deletions_and_snapshots);
	tcase_add_test(tc, memtable_empty_key_and_value);
	tcase_add_loop_test(tc, memtable_binary_keys_match_model, 0, 4);
	tcase_add_test(tc, memtable_filter_answers_absent_keys_alone);
	tcase_add_test(tc, memtable_big_keys_and_1mib_values);
	tcase_add_test(tc, memtable_iterator_outlives_callers_unref);
	tcase_add_test(tc, memtable_count_and_memory_usage_grow);
	tcase_add_test(tc, memtable_oversized_entry_rejected_unchanged);
	tcase_add_test(tc, memtable_add_reports_enomem_and_stays_usable);
	suite_add_tcase(s, tc);

	tc = tcase_create("memtable_concurrent");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, memtable_readers_beside_writer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
