/* The block buffer pool: classes and charges, reuse of freed slots, empty
 * chunks going back to the system, large buffers, and threads allocating and
 * freeing each other's buffers. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/bpool.h"
#include "lib/util/error.h"
#include "lib/util/random.h"
#include "tests/testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define CHUNK ((size_t)256 << 10)

static struct bpool *p;

static void setup(void)
{
	ck_assert_ok(bpool_create(&p));
}

static void teardown(void)
{
	bpool_destroy(p);
	p = NULL;
}

START_TEST(charges_round_up_to_256_bytes)
{
	ck_assert_uint_eq(bpool_charge(p, 1), 256);
	ck_assert_uint_eq(bpool_charge(p, 256), 256);
	ck_assert_uint_eq(bpool_charge(p, 257), 512);
	ck_assert_uint_eq(bpool_charge(p, 4096), 4096);
	ck_assert_uint_eq(bpool_charge(p, 4100), 4352);
	ck_assert_uint_eq(bpool_charge(p, BPOOL_MAX_SLOT), BPOOL_MAX_SLOT);
	/* larger buffers and buffers without a pool are malloc'd: charged as asked */
	ck_assert_uint_eq(bpool_charge(p, BPOOL_MAX_SLOT + 1), BPOOL_MAX_SLOT + 1);
	ck_assert_uint_eq(bpool_charge(NULL, 4100), 4100);
}
END_TEST

/* Buffers of every size are usable whole and never overlap. */
START_TEST(buffers_are_distinct_and_whole)
{
	enum { N = 600 };
	char *buf[N];
	size_t len[N];
	struct rng r;
	rng_seed(&r, 7);
	for (int i = 0; i < N; i++) {
		len[i] = 1 + rng_uniform(&r, (uint32_t)BPOOL_MAX_SLOT + 4096);
		buf[i] = bpool_alloc(p, len[i]);
		ck_assert_ptr_nonnull(buf[i]);
		memset(buf[i], i & 0xff, len[i]);
	}
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < len[i]; j++)
			if ((unsigned char)buf[i][j] != (i & 0xff))
				ck_abort_msg("buffer %d (%zu bytes) overwritten at %zu", i, len[i], j);
	for (int i = 0; i < N; i++)
		bpool_free(p, buf[i], len[i]);
}
END_TEST

/* A freed slot is handed out again: a steady state of one free for one
 * allocation maps nothing more. */
START_TEST(freed_slots_are_reused)
{
	enum { LIVE = 200 };
	char *buf[LIVE];
	for (int i = 0; i < LIVE; i++)
		ck_assert_ptr_nonnull(buf[i] = bpool_alloc(p, 4200));
	size_t mapped = bpool_mapped(p);
	ck_assert_uint_ge(mapped, (size_t)LIVE * 4352);
	ck_assert_uint_le(mapped, (size_t)LIVE * 4352 + CHUNK);
	struct rng r;
	rng_seed(&r, 3);
	for (int round = 0; round < 20000; round++) {
		int i = (int)rng_uniform(&r, LIVE);
		char *old = buf[i];
		bpool_free(p, old, 4200);
		buf[i] = bpool_alloc(p, 4100 + rng_uniform(&r, 252)); /* same class */
		ck_assert_ptr_eq(buf[i], old);
	}
	ck_assert_uint_eq(bpool_mapped(p), mapped);
	for (int i = 0; i < LIVE; i++)
		bpool_free(p, buf[i], 4200);
}
END_TEST

/* Chunks whose slots are all free go back, but for one per class. */
START_TEST(empty_chunks_are_unmapped)
{
	enum { N = 400 }; /* 4 KiB slots: 63 per chunk, so 7 chunks */
	char *buf[N];
	for (int i = 0; i < N; i++)
		ck_assert_ptr_nonnull(buf[i] = bpool_alloc(p, 4096));
	ck_assert_uint_eq(bpool_mapped(p), 7 * CHUNK);
	char *small = bpool_alloc(p, 100);
	ck_assert_uint_eq(bpool_mapped(p), 8 * CHUNK);
	for (int i = 0; i < N; i++)
		bpool_free(p, buf[i], 4096);
	ck_assert_uint_eq(bpool_mapped(p), 2 * CHUNK);
	bpool_free(p, small, 100);
	ck_assert_uint_eq(bpool_mapped(p), 2 * CHUNK);
	/* the kept chunk serves the next allocations of its class */
	char *again = bpool_alloc(p, 4096);
	ck_assert_uint_eq(bpool_mapped(p), 2 * CHUNK);
	bpool_free(p, again, 4096);
}
END_TEST

START_TEST(large_buffers_and_no_pool_use_malloc)
{
	char *big = bpool_alloc(p, BPOOL_MAX_SLOT + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 1, BPOOL_MAX_SLOT + 1);
	ck_assert_uint_eq(bpool_mapped(p), 0);
	bpool_free(p, big, BPOOL_MAX_SLOT + 1);
	char *plain = bpool_alloc(NULL, 4096);
	ck_assert_ptr_nonnull(plain);
	bpool_free(NULL, plain, 4096);
	char *empty = bpool_alloc(p, 0);
	ck_assert_ptr_nonnull(empty);
	bpool_free(p, empty, 0);
	bpool_free(p, NULL, 4096);
	ck_assert_uint_eq(bpool_mapped(p), 0);
}
END_TEST

/* Threads allocate, pass buffers to each other through a shared table, and
 * free what others allocated; every buffer keeps its bytes. */
#define THREADS 4
#define SLOTS 256
#define ROUNDS 20000
static char *shared_buf[SLOTS];
static size_t shared_len[SLOTS];
static uint32_t shared_tag[SLOTS];
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static int stress_bad;

static void fill(char *b, size_t n, uint32_t tag)
{
	for (size_t i = 0; i < n; i += 64)
		b[i] = (char)(tag + i / 64);
	if ((n - 1) % 64)
		b[n - 1] = (char)~tag;
}

static int intact(const char *b, size_t n, uint32_t tag)
{
	for (size_t i = 0; i < n; i += 64)
		if (b[i] != (char)(tag + i / 64))
			return 0;
	return (n - 1) % 64 == 0 || b[n - 1] == (char)~tag;
}

static void *stress(void *arg)
{
	struct rng r;
	rng_seed(&r, (uint64_t)(uintptr_t)arg);
	for (int round = 0; round < ROUNDS; round++) {
		size_t n = 1 + rng_uniform(&r, 16384);
		uint32_t tag = (uint32_t)rng_next(&r);
		char *b = bpool_alloc(p, n);
		if (!b) {
			stress_bad = 1;
			return NULL;
		}
		fill(b, n, tag);
		int i = (int)rng_uniform(&r, SLOTS);
		pthread_mutex_lock(&shared_mu);
		char *old = shared_buf[i];
		size_t old_n = shared_len[i];
		uint32_t old_tag = shared_tag[i];
		shared_buf[i] = b;
		shared_len[i] = n;
		shared_tag[i] = tag;
		pthread_mutex_unlock(&shared_mu);
		if (old) {
			if (!intact(old, old_n, old_tag))
				stress_bad = 1;
			bpool_free(p, old, old_n);
		}
	}
	return NULL;
}

START_TEST(threads_share_buffers)
{
	pthread_t t[THREADS];
	for (uintptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress, (void *)(i + 1)), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(stress_bad, 0);
	/* live: SLOTS buffers of at most 16 KiB; a chunk or two per class more */
	ck_assert_uint_le(bpool_mapped(p), (size_t)SLOTS * 16384 + 64 * 2 * CHUNK);
	for (int i = 0; i < SLOTS; i++) {
		if (shared_buf[i]) {
			ck_assert(intact(shared_buf[i], shared_len[i], shared_tag[i]));
			bpool_free(p, shared_buf[i], shared_len[i]);
			shared_buf[i] = NULL;
		}
	}
	/* nothing live: at most one chunk kept per class */
	ck_assert_uint_le(bpool_mapped(p), 64 * CHUNK);
}
END_TEST

/* Under AddressSanitizer a freed slot, and the tail of a slot past the size
 * asked for, are poisoned: a block used after its release is reported. */
START_TEST(free_slots_are_poisoned_under_asan)
{
	char *b = bpool_alloc(p, 1000);
	ck_assert_ptr_nonnull(b);
	memset(b, 1, 1000);
#ifdef TEST_ASAN
	ck_assert(!__asan_address_is_poisoned(b + 999));
	ck_assert(__asan_address_is_poisoned(b + 1000)); /* the slot is 1024 */
	bpool_free(p, b, 1000);
	ck_assert(__asan_address_is_poisoned(b + 100));
	ck_assert(__asan_address_is_poisoned(b + 999));
#else
	bpool_free(p, b, 1000);
#endif
}
END_TEST

static Suite *bpool_suite(void)
{
	Suite *s = suite_create("bpool");
	TCase *tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, charges_round_up_to_256_bytes);
	tcase_add_test(tc, buffers_are_distinct_and_whole);
	tcase_add_test(tc, freed_slots_are_reused);
	tcase_add_test(tc, empty_chunks_are_unmapped);
	tcase_add_test(tc, large_buffers_and_no_pool_use_malloc);
	tcase_add_test(tc, free_slots_are_poisoned_under_asan);
	suite_add_tcase(s, tc);
	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, threads_share_buffers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(bpool_suite());
}
