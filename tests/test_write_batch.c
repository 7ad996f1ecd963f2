/* Write batches (after LevelDB's write_batch_test): the public shale_batch
 * API, the byte format, batch_append for group commit, batch_iterate over
 * every kind of operation, malformed representations, and batch_insert
 * into a memtable read back at each sequence. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/write_batch.h"
#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/ikey.h"
#include "memtable/memtable.h"
#include "shale.h"
#include "tests/testutil.h"

#define WHAT "000123.log"

/* ---- a handler that prints what it sees ---- */

struct printer {
	struct buf out;
	int calls;
	int fail_at; /* the call that returns an error (0: none) */
};

static void print_bytes(struct buf *b, struct slice s)
{
	for (size_t i = 0; i < s.size; i++) {
		unsigned char c = (unsigned char)s.data[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf_append_byte(b, (char)c);
		} else {
			char hex[8];
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			buf_append(b, hex, strlen(hex));
		}
	}
}

static int p_put(void *arg, struct slice key, struct slice value)
{
	struct printer *p = arg;
	if (++p->calls == p->fail_at)
		return -42;
	buf_append(&p->out, "Put(", 4);
	print_bytes(&p->out, key);
	buf_append(&p->out, ", ", 2);
	print_bytes(&p->out, value);
	buf_append(&p->out, ")", 1);
	return 0;
}

static int p_del(void *arg, struct slice key)
{
	struct printer *p = arg;
	if (++p->calls == p->fail_at)
		return -42;
	buf_append(&p->out, "Delete(", 7);
	print_bytes(&p->out, key);
	buf_append(&p->out, ")", 1);
	return 0;
}

/* Walks rep; returns batch_iterate's code and leaves the printout in *out
 * (NUL-terminated, the caller frees). */
static int walk(struct slice rep, char **out)
{
	struct printer p = { BUF_INIT, 0, 0 };
	struct batch_handler h = { p_put, p_del, &p };
	int rc = batch_iterate(rep, &h, WHAT);
	buf_append_byte(&p.out, '\0');
	*out = buf_detach(&p.out);
	return rc;
}

static void assert_walk(const shale_batch *b, const char *want)
{
	char *got;
	ck_assert_ok(walk(batch_rep(b), &got));
	ck_assert_str_eq(got, want);
	free(got);
}

/* ---- the public API ---- */

START_TEST(batch_count_clear_and_argument_checks)
{
	shale_batch *b = shale_batch_create();
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(shale_batch_count(b), 0);
	ck_assert_uint_eq(batch_rep(b).size, BATCH_HEADER);
	assert_walk(b, "");
	ck_assert_ok(shale_batch_put(b, "foo", 3, "bar", 3));
	ck_assert_ok(shale_batch_delete(b, "box", 3));
	ck_assert_ok(shale_batch_put(b, "baz", 3, "boo", 3));
	ck_assert_uint_eq(shale_batch_count(b), 3);
	assert_walk(b, "Put(foo, bar)Delete(box)Put(baz, boo)");

	shale_batch_clear(b);
	ck_assert_uint_eq(shale_batch_count(b), 0);
	ck_assert_uint_eq(batch_rep(b).size, BATCH_HEADER);
	assert_walk(b, "");
	ck_assert_ok(shale_batch_put(b, "again", 5, "1", 1));
	assert_walk(b, "Put(again, 1)");

	/* bad arguments change nothing */
	ck_assert_int_eq(shale_batch_put(NULL, "k", 1, "v", 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_put(b, NULL, 1, "v", 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_put(b, "k", 1, NULL, 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_delete(NULL, "k", 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_delete(b, NULL, 1), SHALE_EINVAL);
#if SIZE_MAX > UINT32_MAX
	/* lengths past 32 bits are refused before anything is read */
	ck_assert_int_eq(shale_batch_put(b, "k", (size_t)UINT32_MAX + 1, "v", 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_put(b, "k", 1, "v", (size_t)UINT32_MAX + 1), SHALE_EINVAL);
	ck_assert_int_eq(shale_batch_delete(b, "k", (size_t)UINT32_MAX + 1), SHALE_EINVAL);
#endif
	ck_assert_uint_eq(shale_batch_count(b), 1);
	assert_walk(b, "Put(again, 1)");
	/* NULL with length 0 is an empty key or value */
	ck_assert_ok(shale_batch_put(b, NULL, 0, NULL, 0));
	ck_assert_ok(shale_batch_delete(b, NULL, 0));
	assert_walk(b, "Put(again, 1)Put(, )Delete()");

	ck_assert_uint_eq(shale_batch_count(NULL), 0);
	shale_batch_clear(NULL);
	shale_batch_destroy(NULL);
	shale_batch_destroy(b);
}
END_TEST

/* The bytes: fixed64 sequence, fixed32 count, then type, varint length,
 * bytes (LevelDB's WriteBatch format). */
START_TEST(batch_rep_has_the_leveldb_layout)
{
	shale_batch *b = shale_batch_create();
	ck_assert_ok(shale_batch_put(b, "k", 1, "vv", 2));
	ck_assert_ok(shale_batch_delete(b, "", 0));
	batch_set_sequence(b, 0x0102030405060708ull);
	static const char want[] = "\x08\x07\x06\x05\x04\x03\x02\x01" /* sequence */
	                           "\x02\x00\x00\x00"                 /* count */
	                           "\x01\x01k\x02vv"                  /* put */
	                           "\x00\x00";                        /* delete of "" */
	struct slice rep = batch_rep(b);
	ck_assert_uint_eq(rep.size, sizeof(want) - 1);
	ck_assert(memcmp(rep.data, want, rep.size) == 0);
	ck_assert_uint_eq(batch_rep_sequence(rep), 0x0102030405060708ull);
	ck_assert_uint_eq(batch_rep_count(rep), 2);
	/* a long key takes a two-byte length */
	char key[200];
	memset(key, 'x', sizeof(key));
	shale_batch_clear(b);
	ck_assert_ok(shale_batch_delete(b, key, sizeof(key)));
	rep = batch_rep(b);
	ck_assert_uint_eq(rep.size, BATCH_HEADER + 1 + 2 + sizeof(key));
	ck_assert_int_eq(rep.data[BATCH_HEADER + 1], (char)0xc8);
	ck_assert_int_eq(rep.data[BATCH_HEADER + 2], 0x01);
	shale_batch_destroy(b);
}
END_TEST

START_TEST(batch_iterate_sees_empty_and_binary_keys_and_values)
{
	shale_batch *b = shale_batch_create();
	ck_assert_ok(shale_batch_put(b, "", 0, "", 0));
	ck_assert_ok(shale_batch_put(b, "k", 1, "", 0));
	ck_assert_ok(shale_batch_delete(b, "", 0));
	ck_assert_ok(shale_batch_put(b, "", 0, "v", 1));
	ck_assert_ok(shale_batch_put(b, "a\0b", 3, "\xff\0", 2));
	ck_assert_ok(shale_batch_delete(b, "\0", 1));
	char big[1000];
	memset(big, 'B', sizeof(big));
	ck_assert_ok(shale_batch_put(b, "big", 3, big, sizeof(big)));
	ck_assert_uint_eq(shale_batch_count(b), 7);
	char *got;
	ck_assert_ok(walk(batch_rep(b), &got));
	char want[1200];
	snprintf(want, sizeof(want), "Put(, )Put(k, )Delete()Put(, v)Put(a\\x00b, \\xff\\x00)Delete(\\x00)Put(big, %.*s)",
	         (int)sizeof(big), big);
	ck_assert_str_eq(got, want);
	free(got);

	/* a handler's error stops the walk and is returned */
	struct printer p = { BUF_INIT, 0, 3 };
	struct batch_handler h = { p_put, p_del, &p };
	ck_assert_int_eq(batch_iterate(batch_rep(b), &h, WHAT), -42);
	ck_assert_int_eq(p.calls, 3);
	buf_free(&p.out);
	shale_batch_destroy(b);
}
END_TEST

/* Group commit: a leader appends the followers' batches to its own. */
START_TEST(batch_append_concatenates_operations)
{
	shale_batch *dst = shale_batch_create(), *src = shale_batch_create(), *empty = shale_batch_create();
	batch_set_sequence(dst, 77);
	batch_set_sequence(src, 999);
	ck_assert_ok(shale_batch_put(dst, "a", 1, "1", 1));
	ck_assert_ok(batch_append(dst, empty));
	ck_assert_uint_eq(shale_batch_count(dst), 1);
	assert_walk(dst, "Put(a, 1)");

	ck_assert_ok(shale_batch_delete(src, "b", 1));
	ck_assert_ok(shale_batch_put(src, "c", 1, "3", 1));
	ck_assert_ok(batch_append(dst, src));
	ck_assert_uint_eq(shale_batch_count(dst), 3);
	assert_walk(dst, "Put(a, 1)Delete(b)Put(c, 3)");
	/* the destination keeps its own sequence; the source is unchanged */
	ck_assert_uint_eq(batch_rep_sequence(batch_rep(dst)), 77);
	ck_assert_uint_eq(shale_batch_count(src), 2);
	assert_walk(src, "Delete(b)Put(c, 3)");

	/* into an empty batch, and twice the same */
	ck_assert_ok(batch_append(empty, src));
	ck_assert_ok(batch_append(empty, src));
	ck_assert_uint_eq(shale_batch_count(empty), 4);
	assert_walk(empty, "Delete(b)Put(c, 3)Delete(b)Put(c, 3)");
	shale_batch_destroy(dst);
	shale_batch_destroy(src);
	shale_batch_destroy(empty);
}
END_TEST

/* ---- malformed representations ---- */

static void assert_bad(const char *bytes, size_t n, const char *msg_part, const char *label)
{
	char *copy = malloc(n ? n : 1); /* exact size: ASan sees reads past the end */
	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, bytes, n);
	char *got;
	int rc = walk(slice_make(copy, n), &got);
	free(got);
	free(copy);
	tu_assert(rc == SHALE_ECORRUPT, "%s: batch_iterate gave %d, want SHALE_ECORRUPT", label, rc);
	tu_assert(strstr(err_msg(), WHAT) != NULL, "%s: message does not name the source: %s", label, err_msg());
	tu_assert(msg_part == NULL || strstr(err_msg(), msg_part) != NULL, "%s: message lacks \"%s\": %s", label,
	          msg_part, err_msg());
}

/* A header (sequence 1) with the given count, then body. */
static void rep_with(struct buf *b, uint32_t count, const char *body, size_t n)
{
	buf_clear(b);
	ck_assert_ok(buf_append_fixed64(b, 1));
	ck_assert_ok(buf_append_fixed32(b, count));
	ck_assert_ok(buf_append(b, body, n));
}

#define BAD_BODY(count, body, part)                                  \
	do {                                                             \
		rep_with(&r, count, body, sizeof(body) - 1);                 \
		assert_bad(r.data, r.len, part, #count " " #body);           \
	} while (0)

START_TEST(malformed_batches_are_corruption)
{
	struct buf r = BUF_INIT;
	/* shorter than the header */
	assert_bad("", 0, "shorter than its header", "empty");
	assert_bad("\0\0\0\0\0\0\0\0\0\0\0", 11, "shorter than its header", "11 bytes");
	/* the count disagrees with the operations */
	BAD_BODY(1, "", "holds 0 operations, header says 1");
	BAD_BODY(3, "\x01\x01k\x01v\x00\x01k", "holds 2 operations, header says 3");
	BAD_BODY(1, "\x01\x01k\x01v\x00\x01k", "holds 2 operations, header says 1");
	BAD_BODY(0, "\x00\x01k", "holds 1 operations, header says 0");
	/* unknown operation types */
	BAD_BODY(1, "\x02\x01k", "unknown operation 2");
	BAD_BODY(2, "\x01\x01k\x01v\xff", "unknown operation 255");
	/* lengths cut short or past the end */
	BAD_BODY(1, "\x01", "bad put record");
	BAD_BODY(1, "\x01\x05" "ab", "bad put record");
	BAD_BODY(1, "\x01\x01k", "bad put record");
	BAD_BODY(1, "\x01\x01k\x05" "ab", "bad put record");
	BAD_BODY(1, "\x01\x01k\x80", "bad put record");
	BAD_BODY(1, "\x01\xff\xff\xff\xff\x0f" "k", "bad put record");
	BAD_BODY(1, "\x01\xff\xff\xff\xff\x1f" "k", "bad put record");
	BAD_BODY(1, "\x00", "bad delete record");
	BAD_BODY(1, "\x00\x02k", "bad delete record");
	BAD_BODY(1, "\x00\x80", "bad delete record");
	/* the good ones these were cut from */
	char *got;
	rep_with(&r, 2, "\x01\x01k\x01v\x00\x01k", 8);
	ck_assert_ok(walk(buf_slice(&r), &got));
	ck_assert_str_eq(got, "Put(k, v)Delete(k)");
	free(got);
	rep_with(&r, 0, "", 0);
	ck_assert_ok(walk(buf_slice(&r), &got));
	free(got);

	/* every cut of a good batch */
	shale_batch *b = shale_batch_create();
	ck_assert_ok(shale_batch_put(b, "key", 3, "value", 5));
	ck_assert_ok(shale_batch_delete(b, "gone", 4));
	ck_assert_ok(shale_batch_put(b, "", 0, "", 0));
	struct slice rep = batch_rep(b);
	for (size_t n = 0; n < rep.size; n++) {
		char label[32];
		snprintf(label, sizeof(label), "cut to %zu", n);
		assert_bad(rep.data, n, NULL, label);
	}

	/* random batches, damaged at random: an answer or SHALE_ECORRUPT, never
	 * a read past the end */
	struct rng g;
	rng_seed(&g, 0xba7c);
	char body[64];
	int good = 0;
	for (int round = 0; round < 20000; round++) {
		shale_batch_clear(b);
		int ops = (int)rng_uniform(&g, 5);
		for (int i = 0; i < ops; i++) {
			size_t kn = (size_t)rng_uniform(&g, 5), vn = (size_t)rng_uniform(&g, 5);
			tu_random_bytes(&g, body, kn + vn);
			if (rng_one_in(&g, 3))
				ck_assert_ok(shale_batch_delete(b, body, kn));
			else
				ck_assert_ok(shale_batch_put(b, body, kn, body + kn, vn));
		}
		struct slice good_rep = batch_rep(b);
		buf_clear(&r);
		ck_assert_ok(buf_append(&r, good_rep.data, good_rep.size));
		if (rng_one_in(&g, 2))
			r.data[rng_uniform(&g, r.len)] = (char)(rng_one_in(&g, 2) ? rng_uniform(&g, 4) : rng_next(&g));
		if (rng_one_in(&g, 4))
			r.len = (size_t)rng_uniform(&g, r.len + 1);
		char *copy = malloc(r.len ? r.len : 1);
		if (r.len)
			memcpy(copy, r.data, r.len);
		int rc = walk(slice_make(copy, r.len), &got);
		free(got);
		free(copy);
		tu_assert(rc == 0 || rc == SHALE_ECORRUPT, "round %d: %d", round, rc);
		tu_assert(rc == 0 || strstr(err_msg(), WHAT) != NULL, "round %d: %s", round, err_msg());
		good += rc == 0;
	}
	ck_assert_int_gt(good, 1000);
	shale_batch_destroy(b);
	buf_free(&r);
}
END_TEST

/* ---- into a memtable ---- */

static const char *get(struct memtable *m, const char *k, uint64_t seq)
{
	struct slice v;
	int rc = memtable_get(m, slice_from_str(k), seq, &v);
	if (rc == MEMTABLE_ABSENT)
		return "(absent)";
	if (rc == MEMTABLE_DELETED)
		return "(deleted)";
	ck_assert_int_eq(rc, MEMTABLE_FOUND);
	static char out[64];
	snprintf(out, sizeof(out), "%.*s", (int)v.size, v.data);
	return out;
}

START_TEST(batch_insert_gives_consecutive_sequences)
{
	struct memtable *m;
	ck_assert_ok(memtable_create(comparator_bytewise(), &m));
	shale_batch *b = shale_batch_create();
	ck_assert_ok(shale_batch_put(b, "a", 1, "1", 1));
	ck_assert_ok(shale_batch_put(b, "b", 1, "2", 1));
	ck_assert_ok(shale_batch_delete(b, "a", 1));
	ck_assert_ok(shale_batch_put(b, "a", 1, "3", 1));
	ck_assert_ok(shale_batch_put(b, "", 0, "empty", 5));
	batch_set_sequence(b, 100);
	ck_assert_ok(batch_insert(batch_rep(b), m, WHAT));
	ck_assert_uint_eq(memtable_count(m), 5);

	ck_assert_str_eq(get(m, "a", 99), "(absent)");
	ck_assert_str_eq(get(m, "a", 100), "1");
	ck_assert_str_eq(get(m, "a", 101), "1");
	ck_assert_str_eq(get(m, "a", 102), "(deleted)");
	ck_assert_str_eq(get(m, "a", 103), "3");
	ck_assert_str_eq(get(m, "a", IKEY_SEQ_MAX), "3");
	ck_assert_str_eq(get(m, "b", 100), "(absent)");
	ck_assert_str_eq(get(m, "b", 101), "2");
	ck_assert_str_eq(get(m, "", 103), "(absent)");
	ck_assert_str_eq(get(m, "", 104), "empty");

	/* the entries in order: user key, then newest first */
	static const struct {
		const char *k;
		uint64_t seq;
		int type;
	} want[] = { { "", 104, IKEY_TYPE_VALUE }, { "a", 103, IKEY_TYPE_VALUE }, { "a", 102, IKEY_TYPE_DELETION },
		     { "a", 100, IKEY_TYPE_VALUE }, { "b", 101, IKEY_TYPE_VALUE } };
	struct iter *it = memtable_iter(m);
	size_t i = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it), i++) {
		ck_assert_uint_lt(i, 5);
		struct parsed_ikey p;
		ck_assert(ikey_parse(iter_key(it), &p));
		ck_assert(slice_equal(p.user_key, slice_from_str(want[i].k)));
		ck_assert_uint_eq(p.seq, want[i].seq);
		ck_assert_int_eq(p.type, want[i].type);
	}
	ck_assert_uint_eq(i, 5);
	iter_destroy(it);

	/* a second batch continues at its own sequence */
	shale_batch_clear(b);
	ck_assert_ok(shale_batch_delete(b, "b", 1));
	batch_set_sequence(b, 105);
	ck_assert_ok(batch_insert(batch_rep(b), m, WHAT));
	ck_assert_str_eq(get(m, "b", 104), "2");
	ck_assert_str_eq(get(m, "b", 105), "(deleted)");

	/* a malformed one is refused naming its source */
	static const char bad[] = "\x01\0\0\0\0\0\0\0\x01\0\0\0\x07";
	ck_assert_int_eq(batch_insert(slice_make(bad, sizeof(bad) - 1), m, WHAT), SHALE_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err_msg(), WHAT));
	ck_assert_int_eq(batch_insert(slice_make(bad, 5), m, WHAT), SHALE_ECORRUPT);
	ck_assert_uint_eq(memtable_count(m), 6);

	shale_batch_destroy(b);
	memtable_unref(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("write_batch");
	TCase *tc = tcase_create("write_batch");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, batch_count_clear_and_argument_checks);
	tcase_add_test(tc, batch_rep_has_the_leveldb_layout);
	tcase_add_test(tc, batch_iterate_sees_empty_and_binary_keys_and_values);
	tcase_add_test(tc, batch_append_concatenates_operations);
	tcase_add_test(tc, malformed_batches_are_corruption);
	tcase_add_test(tc, batch_insert_gives_consecutive_sequences);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
