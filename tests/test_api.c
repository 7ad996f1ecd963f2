/* Public API additions: prefix iterators, batch iteration and appending,
 * the version macros, the mmap_reads option, user filter policies and
 * shale_compression_supported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shale.h"
#include "tests/dbtest.h"
#include "tests/testutil.h"

static shale_db *open_fresh(int mmap_reads)
{
	shale_options *o = dbtest_options(16 << 10, 16 << 10, 64 << 10);
	shale_options_set_mmap_reads(o, mmap_reads);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	shale_options_destroy(o);
	return db;
}

static void put(shale_db *db, const char *k, size_t kl)
{
	ck_assert_ok(shale_put(db, NULL, k, kl, "v", 1));
}

/* The keys an iterator over ro yields, forward, joined by '|' (bytes shown
 * as \xHH when not printable). */
static void collect(shale_db *db, shale_readopts *ro, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	shale_iter *it = shale_iter_create(db, ro);
	ck_assert_ptr_nonnull(it);
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it)) {
		size_t kl;
		const unsigned char *k = shale_iter_key(it, &kl);
		for (size_t i = 0; i < kl; i++)
			len += (size_t)(k[i] >= 0x20 && k[i] < 0x7f ? snprintf(out + len, cap - len, "%c", k[i])
			                                             : snprintf(out + len, cap - len, "\\x%02x", k[i]));
		len += (size_t)snprintf(out + len, cap - len, "|");
	}
	ck_assert_int_eq(shale_iter_status(it), 0);
	shale_iter_destroy(it);
}

START_TEST(prefix_iterators_see_exactly_the_prefix)
{
	shale_db *db = open_fresh(_i);
	const char *keys[] = { "a", "ab", "ab\xff", "ab\xff\xff", "abc", "abd", "ac", "b", "" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put(db, keys[i], strlen(keys[i]));
	put(db, "\xff", 1);
	put(db, "\xff\xff", 2);
	put(db, "\xff\x01", 2);
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0)); /* tables and memtable alike */
	put(db, "abz", 3);
	char got[512];
	shale_readopts *ro = shale_readopts_create();

	shale_readopts_set_prefix(ro, "ab", 2);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "ab|abc|abd|abz|ab\\xff|ab\\xff\\xff|");
	/* trailing 0xff bytes: the successor drops them */
	shale_readopts_set_prefix(ro, "ab\xff", 3);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "ab\\xff|ab\\xff\\xff|");
	/* all 0xff: no upper bound */
	shale_readopts_set_prefix(ro, "\xff", 1);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "\\xff|\\xff\\x01|\\xff\\xff|");
	/* the empty prefix: everything */
	shale_readopts_set_prefix(ro, "", 0);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "|a|ab|abc|abd|abz|ab\\xff|ab\\xff\\xff|ac|b|\\xff|\\xff\\x01|\\xff\\xff|");
	/* a later bound setter replaces the prefix's bound on its side */
	shale_readopts_set_prefix(ro, "ab", 2);
	shale_readopts_set_lower_bound(ro, "abc", 3);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "abc|abd|abz|ab\\xff|ab\\xff\\xff|");
	shale_readopts_set_upper_bound(ro, "abd", 3);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "abc|");
	/* the prefix replaces bounds set before it */
	shale_readopts_set_prefix(ro, "a", 1);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "a|ab|abc|abd|abz|ab\\xff|ab\\xff\\xff|ac|");
	/* NULL clears both */
	shale_readopts_set_prefix(ro, NULL, 0);
	collect(db, ro, got, sizeof(got));
	ck_assert_str_eq(got, "|a|ab|abc|abd|abz|ab\\xff|ab\\xff\\xff|ac|b|\\xff|\\xff\\x01|\\xff\\xff|");

	/* seeks and reverse stay inside */
	shale_readopts_set_prefix(ro, "ab", 2);
	shale_iter *it = shale_iter_create(db, ro);
	shale_iter_seek_last(it);
	ck_assert(shale_iter_valid(it));
	size_t kl;
	const char *k = shale_iter_key(it, &kl);
	ck_assert(kl == 4 && memcmp(k, "ab\xff\xff", 4) == 0);
	shale_iter_seek(it, "a", 1);
	k = shale_iter_key(it, &kl);
	ck_assert(kl == 2 && memcmp(k, "ab", 2) == 0);
	shale_iter_prev(it);
	ck_assert(!shale_iter_valid(it));
	shale_iter_seek_for_prev(it, "abzz", 4);
	k = shale_iter_key(it, &kl);
	ck_assert(kl == 3 && memcmp(k, "abz", 3) == 0);
	shale_iter_seek_for_prev(it, "b", 1);
	k = shale_iter_key(it, &kl);
	ck_assert(kl == 4 && memcmp(k, "ab\xff\xff", 4) == 0);
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);
	ck_assert_ok(shale_close(db));
}
END_TEST

static int reverse_compare(void *state, const void *a, size_t alen, const void *b, size_t blen)
{
	(void)state;
	size_t n = alen < blen ? alen : blen;
	int r = memcmp(b, a, n);
	return r ? r : (blen > alen) - (blen < alen);
}

static const char *reverse_name(void *state)
{
	(void)state;
	return "test.Reverse";
}

START_TEST(prefix_iterator_with_a_custom_comparator_is_einval)
{
	shale_comparator *c = shale_comparator_create(NULL, NULL, reverse_compare, reverse_name);
	shale_options *o = dbtest_options(16 << 10, 16 << 10, 64 << 10);
	shale_options_set_comparator(o, c);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	put(db, "ab", 2);
	shale_readopts *ro = shale_readopts_create();
	shale_readopts_set_prefix(ro, "a", 1);
	shale_iter *it = shale_iter_create(db, ro);
	ck_assert_ptr_nonnull(it);
	ck_assert(!shale_iter_valid(it));
	ck_assert_int_eq(shale_iter_status(it), SHALE_EINVAL);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "prefix"));
	shale_iter_destroy(it);
	/* plain bounds replacing both of the prefix's are fine again */
	shale_readopts_set_lower_bound(ro, "b", 1);
	shale_readopts_set_upper_bound(ro, "a", 1);
	it = shale_iter_create(db, ro);
	ck_assert_int_eq(shale_iter_status(it), 0);
	shale_iter_seek_first(it);
	ck_assert(shale_iter_valid(it));
	shale_iter_destroy(it);
	shale_readopts_destroy(ro);
	ck_assert_ok(shale_close(db));
	shale_options_destroy(o);
	shale_comparator_destroy(c);
}
END_TEST

/* ---- batches ---- */

struct ops {
	char text[1024];
	size_t len;
	int null_pointers;
};

static void op_put(void *state, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct ops *o = state;
	if (key == NULL || val == NULL)
		o->null_pointers++;
	o->len += (size_t)snprintf(o->text + o->len, sizeof(o->text) - o->len, "P(%.*s=%.*s)", (int)klen,
	                           (const char *)key, (int)vlen, (const char *)val);
}

static void op_del(void *state, const void *key, size_t klen)
{
	struct ops *o = state;
	if (key == NULL)
		o->null_pointers++;
	o->len += (size_t)snprintf(o->text + o->len, sizeof(o->text) - o->len, "D(%.*s)", (int)klen,
	                           (const char *)key);
}

START_TEST(batch_iterate_and_append)
{
	shale_batch *a = shale_batch_create(), *b = shale_batch_create();
	ck_assert_ok(shale_batch_put(a, "k1", 2, "v1", 2));
	ck_assert_ok(shale_batch_delete(a, "k2", 2));
	ck_assert_ok(shale_batch_put(a, NULL, 0, NULL, 0)); /* empty key and value */
	ck_assert_ok(shale_batch_put(b, "k3", 2, "v3", 2));
	struct ops o = { "", 0, 0 };
	ck_assert_ok(shale_batch_iterate(a, &o, op_put, op_del));
	ck_assert_str_eq(o.text, "P(k1=v1)D(k2)P(=)");
	ck_assert_int_eq(o.null_pointers, 0);
	ck_assert_int_eq(shale_batch_iterate(a, &o, NULL, op_del), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_iterate(a, &o, op_put, NULL), SHALE_EINVAL);

	ck_assert_ok(shale_batch_append(a, b));
	ck_assert_uint_eq(shale_batch_count(a), 4);
	ck_assert_uint_eq(shale_batch_count(b), 1);
	memset(&o, 0, sizeof(o));
	ck_assert_ok(shale_batch_iterate(a, &o, op_put, op_del));
	ck_assert_str_eq(o.text, "P(k1=v1)D(k2)P(=)P(k3=v3)");
	memset(&o, 0, sizeof(o));
	ck_assert_ok(shale_batch_iterate(b, &o, op_put, op_del));
	ck_assert_str_eq(o.text, "P(k3=v3)");

	/* onto itself: a copy of its own operations, also when the buffer grows */
	for (int i = 0; i < 12; i++)
		ck_assert_ok(shale_batch_append(b, b));
	ck_assert_uint_eq(shale_batch_count(b), 4096);
	ck_assert_int_eq(shale_batch_append(NULL, b), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_append(a, NULL), SHALE_EINVAL);

	/* written as one, the later operation on a key wins */
	shale_db *db = open_fresh(0);
	ck_assert_ok(shale_batch_delete(a, "k1", 2));
	ck_assert_ok(shale_write(db, NULL, a));
	void *v;
	size_t vl;
	ck_assert_int_eq(shale_get(db, NULL, "k1", 2, &v, &vl), SHALE_NOTFOUND);
	ck_assert_ok(shale_get(db, NULL, "k3", 2, &v, &vl));
	ck_assert(vl == 2 && memcmp(v, "v3", 2) == 0);
	shale_free(v);
	ck_assert_ok(shale_get(db, NULL, "", 0, &v, &vl));
	ck_assert_uint_eq(vl, 0);
	shale_free(v);
	ck_assert_ok(shale_close(db));
	shale_batch_destroy(a);
	shale_batch_destroy(b);
}
END_TEST

START_TEST(version_macros_match_the_library)
{
	char want[64];
	snprintf(want, sizeof(want), "%d.%d.%d", SHALE_VERSION_MAJOR, SHALE_VERSION_MINOR, SHALE_VERSION_PATCH);
	ck_assert_str_eq(want, SHALE_VERSION_STRING);
	ck_assert_str_eq(shale_version(), SHALE_VERSION_STRING);
}
END_TEST

/* The same answers through mmap reads and preads. */
START_TEST(mmap_and_pread_reads_agree)
{
	for (int mode = 0; mode < 2; mode++) {
		shale_db *db = open_fresh(mode);
		if (mode == 0) {
			for (int i = 0; i < 3000; i++) {
				char k[16];
				int kl = snprintf(k, sizeof(k), "k%05d", i);
				ck_assert_ok(shale_put(db, NULL, k, (size_t)kl, k, (size_t)kl));
			}
			ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
		}
		for (int i = 0; i < 3000; i += 7) {
			char k[16];
			int kl = snprintf(k, sizeof(k), "k%05d", i);
			void *v;
			size_t vl;
			ck_assert_ok(shale_get(db, NULL, k, (size_t)kl, &v, &vl));
			ck_assert(vl == (size_t)kl && memcmp(v, k, vl) == 0);
			shale_free(v);
		}
		ck_assert_ok(shale_close(db));
	}
}
END_TEST

/* ---- user filter policies ---- */

/* A filter that lists each key's first byte (an exact set for the test's
 * keys, which differ in their first byte). "no" makes every answer a miss. */
struct first_byte_policy {
	const char *name;
	int say_no, fail;
	int creates, matches, destroyed, null_pointers;
};

static int fb_create(void *state, const void *const *keys, const size_t *klens, size_t n, void **filter,
                     size_t *flen)
{
	struct first_byte_policy *p = state;
	p->creates++;
	if (p->fail)
		return -1;
	char *f = malloc(n);
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < n; i++) {
		if (keys[i] == NULL)
			p->null_pointers++;
		f[i] = klens[i] ? *(const char *)keys[i] : '\0';
	}
	*filter = f;
	*flen = n;
	return 0;
}

static int fb_match(void *state, const void *key, size_t klen, const void *filter, size_t flen)
{
	struct first_byte_policy *p = state;
	p->matches++;
	if (key == NULL || filter == NULL)
		p->null_pointers++;
	if (p->say_no)
		return 0;
	return memchr(filter, klen ? *(const char *)key : '\0', flen) != NULL;
}

static const char *fb_name(void *state)
{
	return ((struct first_byte_policy *)state)->name;
}

static void fb_destroy(void *state)
{
	((struct first_byte_policy *)state)->destroyed++;
}

static shale_db *open_with_policy(shale_filter_policy *fp)
{
	shale_options *o = dbtest_options(16 << 10, 16 << 10, 64 << 10);
	shale_options_set_filter_policy(o, fp);
	shale_db *db = NULL;
	ck_assert_ok(shale_open(dbtest_path, o, &db));
	shale_options_destroy(o);
	return db;
}

static int get_found(shale_db *db, const char *k)
{
	void *v;
	size_t vl;
	int rc = shale_get(db, NULL, k, strlen(k), &v, &vl);
	ck_assert(rc == SHALE_OK || rc == SHALE_NOTFOUND);
	shale_free(v);
	return rc == SHALE_OK;
}

START_TEST(filter_policy_is_used_only_under_its_own_name)
{
	struct first_byte_policy st = { "test.FirstByte", 0, 0, 0, 0, 0, 0 };
	struct first_byte_policy other = { "test.Other", 1, 0, 0, 0, 0, 0 };
	ck_assert_ptr_null(shale_filter_policy_create(&st, NULL, NULL, fb_match, fb_name));
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "invalid argument"));
	ck_assert_ptr_null(shale_filter_policy_create(&st, NULL, fb_create, NULL, fb_name));
	ck_assert_ptr_null(shale_filter_policy_create(&st, NULL, fb_create, fb_match, NULL));
	shale_filter_policy *fp = shale_filter_policy_create(&st, fb_destroy, fb_create, fb_match, fb_name);
	shale_filter_policy *op = shale_filter_policy_create(&other, fb_destroy, fb_create, fb_match, fb_name);
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(op);

	shale_db *db = open_with_policy(fp);
	ck_assert_ok(shale_put(db, NULL, "apple", 5, "1", 1));
	ck_assert_ok(shale_put(db, NULL, "", 0, "empty", 5));
	ck_assert_ok(shale_put(db, NULL, "kiwi", 4, "2", 1));
	ck_assert_ok(shale_compact_range(db, NULL, 0, NULL, 0));
	ck_assert_int_gt(st.creates, 0);
	ck_assert(get_found(db, "apple") && get_found(db, "") && get_found(db, "kiwi"));
	ck_assert(!get_found(db, "banana"));
	ck_assert_int_gt(st.matches, 0);
	/* the filter is believed: a "no" hides keys that are in the tables */
	st.say_no = 1;
	ck_assert(!get_found(db, "apple") && !get_found(db, "kiwi"));
	/* (iterators read every block: no filter there) */
	shale_iter *it = shale_iter_create(db, NULL);
	shale_iter_seek(it, "apple", 5);
	ck_assert(shale_iter_valid(it));
	shale_iter_destroy(it);
	st.say_no = 0;
	ck_assert_ok(shale_close(db));
	ck_assert_int_eq(st.null_pointers, 0);

	/* reopened under another name: the filters are not asked */
	db = open_with_policy(op);
	ck_assert(get_found(db, "apple") && get_found(db, "kiwi"));
	ck_assert_int_eq(other.matches, 0);
	ck_assert_ok(shale_close(db));
	/* nor by the built-in bloom's readers */
	db = open_with_policy(NULL);
	ck_assert(get_found(db, "apple") && get_found(db, "kiwi"));
	ck_assert_ok(shale_close(db));

	shale_filter_policy_destroy(fp);
	shale_filter_policy_destroy(op);
	shale_filter_policy_destroy(NULL);
	ck_assert_int_eq(st.destroyed, 1);
	ck_assert_int_eq(other.destroyed, 1);
}
END_TEST

START_TEST(filter_policy_failure_fails_the_flush)
{
	struct first_byte_policy st = { "test.Failing", 0, 1, 0, 0, 0, 0 };
	shale_filter_policy *fp = shale_filter_policy_create(&st, NULL, fb_create, fb_match, fb_name);
	shale_db *db = open_with_policy(fp);
	ck_assert_ok(shale_put(db, NULL, "apple", 5, "1", 1));
	ck_assert_int_eq(shale_compact_range(db, NULL, 0, NULL, 0), SHALE_ENOMEM);
	ck_assert_ptr_nonnull(strstr(shale_errmsg(), "test.Failing"));
	/* the data is still there, in the memtable and the log */
	ck_assert(get_found(db, "apple"));
	ck_assert_ok(shale_close(db));
	st.fail = 0;
	db = open_with_policy(fp);
	ck_assert(get_found(db, "apple"));
	ck_assert_ok(shale_close(db));
	shale_filter_policy_destroy(fp);
}
END_TEST

START_TEST(compression_supported_says_what_open_accepts)
{
	ck_assert_int_eq(shale_compression_supported(SHALE_COMPRESSION_NONE), 1);
	ck_assert_int_eq(shale_compression_supported(-1), 0);
	ck_assert_int_eq(shale_compression_supported(4), 0);
	for (int type = SHALE_COMPRESSION_NONE; type <= SHALE_COMPRESSION_ZLIB; type++) {
		shale_options *o = dbtest_options(16 << 10, 16 << 10, 64 << 10);
		shale_options_set_compression(o, type);
		shale_db *db = NULL;
		int rc = shale_open(dbtest_path, o, &db);
		ck_assert_int_eq(rc, shale_compression_supported(type) ? SHALE_OK : SHALE_ENOTSUP);
		ck_assert_ok(shale_close(db));
		shale_options_destroy(o);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");
	tcase_add_checked_fixture(tc, dbtest_setup, dbtest_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, prefix_iterators_see_exactly_the_prefix, 0, 2);
	tcase_add_test(tc, prefix_iterator_with_a_custom_comparator_is_einval);
	tcase_add_test(tc, batch_iterate_and_append);
	tcase_add_test(tc, version_macros_match_the_library);
	tcase_add_test(tc, mmap_and_pread_reads_agree);
	tcase_add_test(tc, filter_policy_is_used_only_under_its_own_name);
	tcase_add_test(tc, filter_policy_failure_fails_the_flush);
	tcase_add_test(tc, compression_supported_says_what_open_accepts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
