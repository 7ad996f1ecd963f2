/* The sharded LRU cache: hits, pinning, eviction order, charges, capacity
 * changes, oversized entries, ids, sharing, re-entrant deleters and a
 * multithreaded stress test. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/cache.h"
#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/random.h"
#include "tests/testutil.h"

/* Per-shard capacity is ceil(CACHE_SIZE / 16) = 63. */
#define CACHE_SIZE 1000
#define SHARD_CAPACITY 63
#define MAX_DELETED 200000

/* The fixture's cache; keys are 4-byte encodings of ints, values are ints
 * stored in the pointer, and the deleter records what it deleted. */
static struct cache *c;
static int deleted_keys[MAX_DELETED];
static int deleted_values[MAX_DELETED];
static int ndeleted;

static void setup(void)
{
	ndeleted = 0;
	ck_assert_ok(cache_create(CACHE_SIZE, &c));
}

static void teardown(void)
{
	cache_destroy(c);
	c = NULL;
}

struct key_buf {
	char b[4];
};

static struct slice enc(int k, struct key_buf *kb)
{
	encode_fixed32(kb->b, (uint32_t)k);
	return slice_make(kb->b, sizeof(kb->b));
}

static int dec(struct slice key)
{
	ck_assert_uint_eq(key.size, 4);
	return (int)decode_fixed32(key.data);
}

static void *int_value(int v)
{
	return (void *)(intptr_t)v;
}

static int value_int(const struct cache_handle *h)
{
	return (int)(intptr_t)cache_value(h);
}

static void record_deleter(struct slice key, void *value)
{
	ck_assert_int_lt(ndeleted, MAX_DELETED);
	deleted_keys[ndeleted] = dec(key);
	deleted_values[ndeleted] = (int)(intptr_t)value;
	ndeleted++;
}

/* The value cached for k, or -1; releases the handle. */
static int lookup(int k)
{
	struct key_buf kb;
	struct cache_handle *h = cache_lookup(c, enc(k, &kb));
	if (!h)
		return -1;
	int v = value_int(h);
	cache_release(c, h);
	return v;
}

static struct cache_handle *insert_handle(int k, int v, size_t charge)
{
	struct key_buf kb;
	struct cache_handle *h = cache_insert(c, enc(k, &kb), int_value(v), charge, record_deleter);
	ck_assert_ptr_nonnull(h);
	return h;
}

static void insert(int k, int v, size_t charge)
{
	cache_release(c, insert_handle(k, v, charge));
}

static void erase(int k)
{
	struct key_buf kb;
	cache_erase(c, enc(k, &kb));
}

/* ---- basics ---- */

START_TEST(hit_and_miss)
{
	ck_assert_int_eq(lookup(100), -1);

	insert(100, 101, 1);
	ck_assert_int_eq(lookup(100), 101);
	ck_assert_int_eq(lookup(200), -1);
	ck_assert_int_eq(lookup(300), -1);

	insert(200, 201, 1);
	ck_assert_int_eq(lookup(100), 101);
	ck_assert_int_eq(lookup(200), 201);
	ck_assert_int_eq(lookup(300), -1);

	insert(100, 102, 1);
	ck_assert_int_eq(lookup(100), 102);
	ck_assert_int_eq(lookup(200), 201);
	ck_assert_int_eq(lookup(300), -1);

	ck_assert_int_eq(ndeleted, 1);
	ck_assert_int_eq(deleted_keys[0], 100);
	ck_assert_int_eq(deleted_values[0], 101);
	ck_assert_uint_eq(cache_total_charge(c), 2);
}
END_TEST

START_TEST(erase_removes_entry_once)
{
	erase(200);
	ck_assert_int_eq(ndeleted, 0);

	insert(100, 101, 1);
	insert(200, 201, 1);
	erase(100);
	ck_assert_int_eq(lookup(100), -1);
	ck_assert_int_eq(lookup(200), 201);
	ck_assert_int_eq(ndeleted, 1);
	ck_assert_int_eq(deleted_keys[0], 100);
	ck_assert_int_eq(deleted_values[0], 101);

	erase(100);
	ck_assert_int_eq(lookup(100), -1);
	ck_assert_int_eq(lookup(200), 201);
	ck_assert_int_eq(ndeleted, 1);
	ck_assert_uint_eq(cache_total_charge(c), 1);
}
END_TEST

START_TEST(empty_key_is_a_key)
{
	struct cache_handle *h = cache_insert(c, slice_make(NULL, 0), int_value(7), 1, NULL);
	ck_assert_ptr_nonnull(h);
	cache_release(c, h);
	h = cache_lookup(c, slice_make("", 0));
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(value_int(h), 7);
	cache_release(c, h);
	cache_erase(c, slice_make(NULL, 0));
	ck_assert_ptr_null(cache_lookup(c, slice_make(NULL, 0)));
	cache_release(c, NULL);
}
END_TEST

START_TEST(entries_pinned_survive_replace_and_erase)
{
	insert(100, 101, 1);
	struct cache_handle *h1 = cache_lookup(c, enc(100, &(struct key_buf){ 0 }));
	ck_assert_int_eq(value_int(h1), 101);

	insert(100, 102, 1);
	struct cache_handle *h2 = cache_lookup(c, enc(100, &(struct key_buf){ 0 }));
	ck_assert_int_eq(value_int(h2), 102);
	ck_assert_int_eq(ndeleted, 0);
	ck_assert_int_eq(value_int(h1), 101);

	cache_release(c, h1);
	ck_assert_int_eq(ndeleted, 1);
	ck_assert_int_eq(deleted_keys[0], 100);
	ck_assert_int_eq(deleted_values[0], 101);

	erase(100);
	ck_assert_int_eq(lookup(100), -1);
	ck_assert_int_eq(ndeleted, 1);
	ck_assert_int_eq(value_int(h2), 102);

	cache_release(c, h2);
	ck_assert_int_eq(ndeleted, 2);
	ck_assert_int_eq(deleted_keys[1], 100);
	ck_assert_int_eq(deleted_values[1], 102);
}
END_TEST

START_TEST(pinned_entry_survives_eviction_freed_once)
{
	struct cache_handle *h = insert_handle(5, 55, 1);
	struct cache_handle *h2 = cache_lookup(c, enc(5, &(struct key_buf){ 0 }));
	ck_assert_ptr_eq(h, h2);
	/* Far more than the capacity: everything unpinned gets evicted. */
	for (int i = 0; i < 4 * CACHE_SIZE; i++)
		insert(1000 + i, 2000 + i, 1);
	ck_assert_int_eq(lookup(5), 55);
	ck_assert_int_eq(value_int(h), 55);
	for (int i = 0; i < ndeleted; i++)
		ck_assert_int_ne(deleted_keys[i], 5);
	cache_release(c, h);
	ck_assert_int_eq(value_int(h2), 55);
	erase(5);
	int before = ndeleted;
	cache_release(c, h2);
	ck_assert_int_eq(ndeleted, before + 1);
	ck_assert_int_eq(deleted_keys[before], 5);
	ck_assert_int_eq(deleted_values[before], 55);
	cache_destroy(c);
	c = NULL;
	int fives = 0;
	for (int i = 0; i < ndeleted; i++)
		fives += deleted_keys[i] == 5;
	ck_assert_int_eq(fives, 1);
	ck_assert_int_eq(ndeleted, 1 + 4 * CACHE_SIZE);
}
END_TEST

START_TEST(destroy_runs_every_deleter_once)
{
	enum { N = 3 * CACHE_SIZE };
	static int seen[N];
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++)
		insert(i, i, 1);
	erase(7);
	insert(8, 8, 1); /* replaces 8; the old entry is deleted, the new one is counted too */
	cache_destroy(c);
	c = NULL;
	ck_assert_int_eq(ndeleted, N + 1);
	for (int i = 0; i < ndeleted; i++) {
		ck_assert_int_eq(deleted_keys[i], deleted_values[i]);
		seen[deleted_keys[i]]++;
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(seen[i], i == 8 ? 2 : 1);
}
END_TEST

/* ---- LRU and charges ---- */

START_TEST(lru_keeps_recently_used)
{
	insert(100, 101, 1);
	insert(200, 201, 1);
	insert(300, 301, 1);
	struct cache_handle *h = cache_lookup(c, enc(300, &(struct key_buf){ 0 }));

	/* Frequently used 100 stays; unused 200 is evicted; pinned 300 stays. */
	for (int i = 0; i < CACHE_SIZE + 100; i++) {
		insert(1000 + i, 2000 + i, 1);
		ck_assert_int_eq(lookup(1000 + i), 2000 + i);
		ck_assert_int_eq(lookup(100), 101);
	}
	ck_assert_int_eq(lookup(100), 101);
	ck_assert_int_eq(lookup(200), -1);
	ck_assert_int_eq(lookup(300), 301);
	cache_release(c, h);
	/* Most of the oldest inserts are gone (shards fill unevenly, so not all);
	 * the newest all remain. */
	int early = 0;
	for (int i = 0; i < 100; i++)
		early += lookup(1000 + i) != -1;
	ck_assert_int_lt(early, 50);
	for (int i = CACHE_SIZE; i < CACHE_SIZE + 100; i++)
		ck_assert_int_eq(lookup(1000 + i), 2000 + i);
}
END_TEST

START_TEST(use_may_exceed_capacity_while_pinned)
{
	enum { N = CACHE_SIZE + 100 };
	static struct cache_handle *h[N];
	for (int i = 0; i < N; i++)
		h[i] = insert_handle(1000 + i, 2000 + i, 1);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(lookup(1000 + i), 2000 + i);
	ck_assert_uint_eq(cache_total_charge(c), N);
	ck_assert_int_eq(ndeleted, 0);
	for (int i = 0; i < N; i++)
		cache_release(c, h[i]);
	/* Released entries beyond their shard's share are evicted at release. */
	ck_assert_uint_le(cache_total_charge(c), 16 * SHARD_CAPACITY);
	ck_assert_int_eq(ndeleted + (int)cache_total_charge(c), N);
}
END_TEST

START_TEST(heavy_entries_stay_within_capacity)
{
	/* Alternating light and heavy entries, twice the capacity in total. */
	const int light = 1, heavy = 10;
	int added = 0, index = 0;
	while (added < 2 * CACHE_SIZE) {
		int weight = (index & 1) ? light : heavy;
		insert(index, 1000 + index, (size_t)weight);
		added += weight;
		index++;
		ck_assert_uint_le(cache_total_charge(c), 16 * SHARD_CAPACITY);
	}
	int cached = 0;
	for (int i = 0; i < index; i++) {
		int weight = (i & 1) ? light : heavy;
		int r = lookup(i);
		if (r >= 0) {
			cached += weight;
			ck_assert_int_eq(r, 1000 + i);
		}
	}
	ck_assert_int_le(cached, CACHE_SIZE + CACHE_SIZE / 10);
	ck_assert_uint_eq((size_t)cached, cache_total_charge(c));
}
END_TEST

/* Random inserts, lookups, erases and pins against a reference map: a hit
 * always returns the latest value inserted for the key, an erased key always
 * misses, and the charge stays within capacity plus what handles pin. */
START_TEST(random_ops_match_reference)
{
	enum { KEYS = 500, OPS = 200000, HELD = 16 };
	static int model[KEYS]; /* latest value, or -1 when erased */
	struct cache_handle *held[HELD] = { 0 };
	struct rng r;
	rng_seed(&r, 301);
	for (int k = 0; k < KEYS; k++)
		model[k] = -1;
	cache_set_capacity(c, 160);
	int next_value = 1, inserts = 0;
	for (int op = 0; op < OPS; op++) {
		int k = (int)rng_uniform(&r, KEYS);
		int slot = (int)rng_uniform(&r, HELD);
		uint64_t what = rng_uniform(&r, 100);
		struct key_buf kb;
		if (what < 40) {
			size_t charge = 1 + rng_uniform(&r, 4);
			if (rng_one_in(&r, 50))
				charge = 11; /* larger than a shard's 10 */
			struct cache_handle *h = insert_handle(k, next_value, charge);
			model[k] = charge <= 10 ? next_value : -1;
			next_value++;
			inserts++;
			cache_release(c, held[slot]);
			held[slot] = h;
		} else if (what < 85) {
			struct cache_handle *h = cache_lookup(c, enc(k, &kb));
			if (model[k] < 0) {
				ck_assert_ptr_null(h);
			} else if (h == NULL) {
				model[k] = -1; /* evicted */
			} else {
				ck_assert_int_eq(value_int(h), model[k]);
				if (rng_one_in(&r, 2)) {
					cache_release(c, held[slot]);
					held[slot] = h;
				} else {
					cache_release(c, h);
				}
			}
		} else if (what < 95) {
			cache_erase(c, enc(k, &kb));
			model[k] = -1;
		} else {
			cache_release(c, held[slot]);
			held[slot] = NULL;
		}
		/* Each handle pins at most the largest charge, 11. */
		ck_assert_uint_le(cache_total_charge(c), 160 + 11 * HELD);
	}
	for (int i = 0; i < HELD; i++)
		cache_release(c, held[i]);
	ck_assert_uint_le(cache_total_charge(c), 160);
	cache_destroy(c);
	c = NULL;
	ck_assert_int_eq(ndeleted, inserts);
}
END_TEST

/* ---- capacity ---- */

START_TEST(shrinking_capacity_evicts)
{
	ck_assert_uint_eq(cache_capacity(c), CACHE_SIZE);
	for (int i = 0; i < CACHE_SIZE; i++)
		insert(i, i, 1);
	size_t full = cache_total_charge(c);
	ck_assert_uint_gt(full, CACHE_SIZE / 2);
	struct cache_handle *h = cache_lookup(c, enc(CACHE_SIZE - 1, &(struct key_buf){ 0 }));
	ck_assert_ptr_nonnull(h);

	cache_set_capacity(c, 160);
	ck_assert_uint_eq(cache_capacity(c), 160);
	ck_assert_uint_le(cache_total_charge(c), 160 + 1);
	ck_assert_int_eq(ndeleted + (int)cache_total_charge(c), CACHE_SIZE);

	/* Down to nothing: only the pinned entry is left, until released. */
	cache_set_capacity(c, 0);
	ck_assert_uint_eq(cache_total_charge(c), 1);
	ck_assert_int_eq(value_int(h), CACHE_SIZE - 1);
	cache_release(c, h);
	ck_assert_uint_eq(cache_total_charge(c), 0);
	ck_assert_int_eq(ndeleted, CACHE_SIZE);

	/* Growing again keeps entries again. */
	cache_set_capacity(c, 2 * CACHE_SIZE);
	insert(1, 11, 1);
	ck_assert_int_eq(lookup(1), 11);
	ck_assert_uint_eq(cache_total_charge(c), 1);
}
END_TEST

START_TEST(oversized_entry_handed_back_never_kept)
{
	/* Exactly a shard's share is kept... */
	insert(1, 11, SHARD_CAPACITY);
	ck_assert_int_eq(lookup(1), 11);
	ck_assert_uint_eq(cache_total_charge(c), SHARD_CAPACITY);

	/* ...one more is handed back alone. */
	struct cache_handle *h = insert_handle(2, 22, SHARD_CAPACITY + 1);
	ck_assert_int_eq(value_int(h), 22);
	ck_assert_int_eq(lookup(2), -1);
	ck_assert_uint_eq(cache_total_charge(c), SHARD_CAPACITY);
	ck_assert_int_eq(ndeleted, 0);
	cache_release(c, h);
	ck_assert_int_eq(ndeleted, 1);
	ck_assert_int_eq(deleted_keys[0], 2);
	ck_assert_int_eq(deleted_values[0], 22);

	/* Larger than the whole cache too. */
	cache_release(c, insert_handle(3, 33, 10 * CACHE_SIZE));
	ck_assert_int_eq(ndeleted, 2);
	ck_assert_int_eq(lookup(3), -1);

	/* An oversized replacement removes the old value: no stale hits. */
	struct cache_handle *old = cache_lookup(c, enc(1, &(struct key_buf){ 0 }));
	h = insert_handle(1, 12, SHARD_CAPACITY + 1);
	ck_assert_int_eq(lookup(1), -1);
	ck_assert_uint_eq(cache_total_charge(c), 0);
	ck_assert_int_eq(value_int(old), 11);
	cache_release(c, old);
	ck_assert_int_eq(ndeleted, 3);
	ck_assert_int_eq(deleted_values[2], 11);
	cache_release(c, h);
	ck_assert_int_eq(ndeleted, 4);
	ck_assert_int_eq(deleted_values[3], 12);
}
END_TEST

START_TEST(zero_capacity_keeps_nothing)
{
	struct cache *z;
	ck_assert_ok(cache_create(0, &z));
	ck_assert_uint_eq(cache_capacity(z), 0);
	struct key_buf kb;
	for (int i = 0; i < 100; i++) {
		struct cache_handle *h =
			cache_insert(z, enc(i, &kb), int_value(i), (size_t)(i % 2), record_deleter);
		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(value_int(h), i);
		ck_assert_ptr_null(cache_lookup(z, enc(i, &kb)));
		ck_assert_uint_eq(cache_total_charge(z), 0);
		cache_release(z, h);
		ck_assert_int_eq(ndeleted, i + 1);
	}
	cache_destroy(z);
	ck_assert_int_eq(ndeleted, 100);
}
END_TEST

START_TEST(prune_drops_unpinned)
{
	insert(1, 100, 1);
	insert(2, 200, 1);
	struct cache_handle *h = cache_lookup(c, enc(1, &(struct key_buf){ 0 }));
	ck_assert_ptr_nonnull(h);
	cache_prune(c);
	cache_release(c, h);
	ck_assert_int_eq(lookup(1), 100);
	ck_assert_int_eq(lookup(2), -1);
	ck_assert_int_eq(ndeleted, 1);
	ck_assert_int_eq(deleted_keys[0], 2);
	cache_prune(c);
	ck_assert_int_eq(lookup(1), -1);
	ck_assert_uint_eq(cache_total_charge(c), 0);
	ck_assert_int_eq(ndeleted, 2);
}
END_TEST

START_TEST(failed_insert_leaves_value_to_caller)
{
	/* A key too large to allocate: NULL, no deleter, a message. */
	err_set(0, "%s", "");
	struct cache_handle *h =
		cache_insert(c, slice_make("x", SIZE_MAX), int_value(1), 1, record_deleter);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(ndeleted, 0);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "out of memory"));
	ck_assert_uint_eq(cache_total_charge(c), 0);
}
END_TEST

START_TEST(many_keys_grow_the_table)
{
	enum { N = 100000 };
	cache_set_capacity(c, SIZE_MAX);
	for (int i = 0; i < N; i++)
		insert(i, i ^ 0x5a5a, 1);
	ck_assert_uint_eq(cache_total_charge(c), N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(lookup(i), i ^ 0x5a5a);
	for (int i = 0; i < N; i += 2)
		erase(i);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(lookup(i), (i & 1) ? i ^ 0x5a5a : -1);
	ck_assert_uint_eq(cache_total_charge(c), N / 2);
	ck_assert_int_eq(ndeleted, N / 2);
}
END_TEST

/* ---- ids and sharing ---- */

#define ID_THREADS 4
#define IDS_PER_THREAD 20000

struct id_arg {
	struct cache *cache;
	uint64_t ids[IDS_PER_THREAD];
};

static void *take_ids(void *p)
{
	struct id_arg *a = p;
	for (int i = 0; i < IDS_PER_THREAD; i++)
		a->ids[i] = cache_new_id(a->cache);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

START_TEST(new_id_unique_across_threads)
{
	uint64_t a = cache_new_id(c);
	uint64_t b = cache_new_id(c);
	ck_assert_uint_eq(a, 1);
	ck_assert_uint_ne(a, b);

	static struct id_arg args[ID_THREADS];
	pthread_t t[ID_THREADS];
	for (int i = 0; i < ID_THREADS; i++) {
		args[i].cache = c;
		ck_assert_int_eq(pthread_create(&t[i], NULL, take_ids, &args[i]), 0);
	}
	for (int i = 0; i < ID_THREADS; i++)
		pthread_join(t[i], NULL);
	static uint64_t all[ID_THREADS * IDS_PER_THREAD];
	for (int i = 0; i < ID_THREADS; i++)
		memcpy(all + i * IDS_PER_THREAD, args[i].ids, sizeof(args[i].ids));
	qsort(all, ID_THREADS * IDS_PER_THREAD, sizeof(all[0]), cmp_u64);
	for (int i = 0; i < ID_THREADS * IDS_PER_THREAD; i++) {
		ck_assert_uint_gt(all[i], b);
		if (i > 0)
			ck_assert_uint_ne(all[i], all[i - 1]);
	}
}
END_TEST

struct block_key {
	char b[16];
};

/* A table's block key: its cache id then the block offset, as the table
 * reader builds them. */
static struct slice block_key(uint64_t id, uint64_t offset, struct block_key *kb)
{
	encode_fixed64(kb->b, id);
	encode_fixed64(kb->b + 8, offset);
	return slice_make(kb->b, sizeof(kb->b));
}

static void block_deleter(struct slice key, void *value)
{
	(void)key;
	free(value);
	ndeleted++;
}

START_TEST(two_databases_sharing_a_cache_do_not_collide)
{
	/* Each "database" opens a table with file number 5: same offsets, but
	 * different ids from the shared cache. */
	uint64_t id_a = cache_new_id(c), id_b = cache_new_id(c);
	ck_assert_uint_ne(id_a, id_b);
	struct block_key kb;
	for (uint64_t off = 0; off < 64 * 4096; off += 4096) {
		uint64_t *va = malloc(sizeof(*va)), *vb = malloc(sizeof(*vb));
		ck_assert(va && vb);
		*va = 0xA0000000 + off;
		*vb = 0xB0000000 + off;
		cache_release(c, cache_insert(c, block_key(id_a, off, &kb), va, 1, block_deleter));
		cache_release(c, cache_insert(c, block_key(id_b, off, &kb), vb, 1, block_deleter));
	}
	for (uint64_t off = 0; off < 64 * 4096; off += 4096) {
		struct cache_handle *ha = cache_lookup(c, block_key(id_a, off, &kb));
		struct cache_handle *hb = cache_lookup(c, block_key(id_b, off, &kb));
		ck_assert(ha && hb);
		ck_assert_uint_eq(*(uint64_t *)cache_value(ha), 0xA0000000 + off);
		ck_assert_uint_eq(*(uint64_t *)cache_value(hb), 0xB0000000 + off);
		cache_release(c, ha);
		cache_release(c, hb);
	}
	/* Database A evicting its table leaves B's blocks alone. */
	for (uint64_t off = 0; off < 64 * 4096; off += 4096)
		cache_erase(c, block_key(id_a, off, &kb));
	ck_assert_int_eq(ndeleted, 64);
	for (uint64_t off = 0; off < 64 * 4096; off += 4096) {
		ck_assert_ptr_null(cache_lookup(c, block_key(id_a, off, &kb)));
		struct cache_handle *hb = cache_lookup(c, block_key(id_b, off, &kb));
		ck_assert_ptr_nonnull(hb);
		ck_assert_uint_eq(*(uint64_t *)cache_value(hb), 0xB0000000 + off);
		cache_release(c, hb);
	}
	cache_destroy(c);
	c = NULL;
	ck_assert_int_eq(ndeleted, 128);
}
END_TEST

/* ---- deleters may call into the cache ---- */

static struct cache_handle *reenter_handle; /* released by the deleter */
static int reenter_calls;

static void reentrant_deleter(struct slice key, void *value)
{
	reenter_calls++;
	/* Same key, hence same shard: deadlocks if the shard mutex were held.
	 * The entry itself has left the table; a replacement may be there. */
	struct cache_handle *h = cache_lookup(c, key);
	if (h) {
		ck_assert_ptr_ne(cache_value(h), value);
		cache_release(c, h);
	}
	cache_release(c, cache_insert(c, slice_from_str("other"), int_value(9), 1, NULL));
	if (reenter_handle) {
		h = reenter_handle;
		reenter_handle = NULL;
		cache_release(c, h);
	}
}

static void insert_reentrant(const char *key, int v)
{
	cache_release(c, cache_insert(c, slice_from_str(key), int_value(v), 1, reentrant_deleter));
}

START_TEST(deleter_may_call_into_the_cache)
{
	reenter_calls = 0;

	/* From an erase; the deleter releases another handle too. */
	insert(3, 33, 1);
	reenter_handle = cache_lookup(c, enc(3, &(struct key_buf){ 0 }));
	insert_reentrant("k", 1);
	cache_erase(c, slice_from_str("k"));
	ck_assert_int_eq(reenter_calls, 1);
	ck_assert_ptr_null(reenter_handle);
	struct cache_handle *h = cache_lookup(c, slice_from_str("other"));
	ck_assert_ptr_nonnull(h);
	cache_release(c, h);

	/* From the last release of an erased entry. */
	h = cache_insert(c, slice_from_str("k"), int_value(2), 1, reentrant_deleter);
	cache_erase(c, slice_from_str("k"));
	ck_assert_int_eq(reenter_calls, 1);
	cache_release(c, h);
	ck_assert_int_eq(reenter_calls, 2);

	/* From a replacing insert. */
	insert_reentrant("k", 3);
	insert_reentrant("k", 4);
	ck_assert_int_eq(reenter_calls, 3);

	/* From eviction by a capacity change, and from a prune. */
	cache_set_capacity(c, 0);
	ck_assert_int_eq(reenter_calls, 4);
	cache_set_capacity(c, CACHE_SIZE);
	insert_reentrant("k", 5);
	cache_prune(c);
	ck_assert_int_eq(reenter_calls, 5);
	cache_prune(c); /* "other", inserted by the deleter after its shard was pruned */

	/* From eviction by an insert. */
	cache_set_capacity(c, 16);
	insert_reentrant("k", 6);
	for (int i = 0; i < 2000 && reenter_calls == 5; i++)
		insert(i, i, 1);
	ck_assert_int_eq(reenter_calls, 6);
}
END_TEST

/* ---- threads ---- */

#define STRESS_THREADS 8
#define STRESS_OPS 60000
#define STRESS_KEYS 2000
#define STRESS_HELD 8
#define STRESS_CAPACITY 800

struct stress_value {
	uint32_t key;
	uint32_t magic;
};

#define STRESS_MAGIC 0x5eed5eedu

static atomic_long stress_inserts;
static atomic_long stress_deletes;
static atomic_long stress_errors;

static void stress_deleter(struct slice key, void *value)
{
	struct stress_value *v = value;
	if (key.size != 4 || decode_fixed32(key.data) != v->key || v->magic != STRESS_MAGIC)
		atomic_fetch_add(&stress_errors, 1);
	v->magic = 0;
	free(v);
	atomic_fetch_add(&stress_deletes, 1);
}

static void stress_check(struct cache_handle *h, uint32_t key)
{
	const struct stress_value *v = cache_value(h);
	if (v->key != key || v->magic != STRESS_MAGIC)
		atomic_fetch_add(&stress_errors, 1);
}

struct stress_arg {
	struct cache *cache;
	int seed;
};

static void *stress_thread(void *p)
{
	struct stress_arg *a = p;
	struct cache *sc = a->cache;
	struct cache_handle *held[STRESS_HELD] = { 0 };
	uint32_t held_key[STRESS_HELD] = { 0 };
	struct rng r;
	rng_seed(&r, (uint64_t)a->seed);
	for (int op = 0; op < STRESS_OPS; op++) {
		uint32_t k = (uint32_t)rng_uniform(&r, STRESS_KEYS);
		int slot = (int)rng_uniform(&r, STRESS_HELD);
		uint64_t what = rng_uniform(&r, 1000);
		struct key_buf kb;
		struct slice key = enc((int)k, &kb);
		struct cache_handle *h = NULL;
		if (what < 350) {
			struct stress_value *v = malloc(sizeof(*v));
			if (!v) {
				atomic_fetch_add(&stress_errors, 1);
				break;
			}
			v->key = k;
			v->magic = STRESS_MAGIC;
			size_t charge = 1 + rng_uniform(&r, 8);
			if (rng_one_in(&r, 100))
				charge = STRESS_CAPACITY; /* over a shard's share */
			h = cache_insert(sc, key, v, charge, stress_deleter);
			if (!h) {
				free(v);
				atomic_fetch_add(&stress_errors, 1);
				continue;
			}
			atomic_fetch_add(&stress_inserts, 1);
		} else if (what < 850) {
			h = cache_lookup(sc, key);
		} else if (what < 950) {
			cache_erase(sc, key);
		} else if (what < 990) {
			for (int i = 0; i < STRESS_HELD; i++) {
				if (held[i])
					stress_check(held[i], held_key[i]);
				cache_release(sc, held[i]);
				held[i] = NULL;
			}
		} else if (what < 995) {
			cache_prune(sc);
		} else {
			cache_set_capacity(sc, STRESS_CAPACITY / 2 + rng_uniform(&r, STRESS_CAPACITY));
		}
		if (!h)
			continue;
		stress_check(h, k);
		if (rng_one_in(&r, 2)) {
			if (held[slot])
				stress_check(held[slot], held_key[slot]);
			cache_release(sc, held[slot]);
			held[slot] = h;
			held_key[slot] = k;
		} else {
			cache_release(sc, h);
		}
	}
	for (int i = 0; i < STRESS_HELD; i++) {
		if (held[i])
			stress_check(held[i], held_key[i]);
		cache_release(sc, held[i]);
	}
	return NULL;
}

START_TEST(threads_stress_values_match_keys_and_all_freed)
{
	struct cache *sc;
	ck_assert_ok(cache_create(STRESS_CAPACITY, &sc));
	atomic_store(&stress_inserts, 0);
	atomic_store(&stress_deletes, 0);
	atomic_store(&stress_errors, 0);
	struct stress_arg args[STRESS_THREADS];
	pthread_t t[STRESS_THREADS];
	for (int i = 0; i < STRESS_THREADS; i++) {
		args[i].cache = sc;
		args[i].seed = 1000 + i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress_thread, &args[i]), 0);
	}
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(atomic_load(&stress_errors), 0);
	ck_assert_uint_le(cache_total_charge(sc), cache_capacity(sc));
	ck_assert_int_gt(atomic_load(&stress_inserts), 0);
	ck_assert_int_le(atomic_load(&stress_deletes), atomic_load(&stress_inserts));
	cache_destroy(sc);
	ck_assert_int_eq(atomic_load(&stress_deletes), atomic_load(&stress_inserts));
	ck_assert_int_eq(atomic_load(&stress_errors), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("basics");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hit_and_miss);
	tcase_add_test(tc, erase_removes_entry_once);
	tcase_add_test(tc, empty_key_is_a_key);
	tcase_add_test(tc, entries_pinned_survive_replace_and_erase);
	tcase_add_test(tc, pinned_entry_survives_eviction_freed_once);
	tcase_add_test(tc, destroy_runs_every_deleter_once);
	tcase_add_test(tc, failed_insert_leaves_value_to_caller);
	suite_add_tcase(s, tc);

	tc = tcase_create("eviction");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, lru_keeps_recently_used);
	tcase_add_test(tc, use_may_exceed_capacity_while_pinned);
	tcase_add_test(tc, heavy_entries_stay_within_capacity);
	tcase_add_test(tc, random_ops_match_reference);
	tcase_add_test(tc, shrinking_capacity_evicts);
	tcase_add_test(tc, oversized_entry_handed_back_never_kept);
	tcase_add_test(tc, zero_capacity_keeps_nothing);
	tcase_add_test(tc, prune_drops_unpinned);
	tcase_add_test(tc, many_keys_grow_the_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("sharing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, new_id_unique_across_threads);
	tcase_add_test(tc, two_databases_sharing_a_cache_do_not_collide);
	tcase_add_test(tc, deleter_may_call_into_the_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, threads_stress_values_match_keys_and_all_freed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
