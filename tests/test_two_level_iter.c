/* The generic two-level iterator: an index iterator whose values open child
 * iterators; empty children are skipped in both directions and an erroring
 * child stops it for good; scan resistance applies per table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/comparator.h"
#include "lib/util/error.h"
#include "sstable/block.h"
#include "sstable/block_builder.h"
#include "sstable/two_level_iter.h"
#include "shale.h"
#include "tests/testutil.h"

struct child {
	struct block *b; /* NULL: an error child */
};

static struct iter *child_iter(void *arg, const struct read_opts *ro, struct slice v, struct iter *reuse)
{
	(void)ro;
	struct child *c = arg;
	struct block_iter *space = block_iter_recycle(reuse);
	ck_assert_uint_eq(v.size, 1);
	struct child *me = &c[(unsigned char)v.data[0]];
	if (me->b == NULL) {
		if (space)
			iter_destroy(&space->base);
		return iter_empty(err_set(SHALE_EIO, "io error: child %d unreadable", v.data[0]));
	}
	return block_iter_reuse(space, me->b, comparator_bytewise(), "child");
}

/* The block bb holds, in a heap buffer of its own (bb is freed). */
static struct block *finish_block(struct block_builder *bb)
{
	struct slice raw;
	ck_assert_ok(block_builder_finish(bb, &raw));
	struct block_contents bc = { .heap = malloc(raw.size), .cachable = 1 };
	memcpy(bc.heap, raw.data, raw.size);
	bc.data = slice_make(bc.heap, raw.size);
	block_builder_free(bb);
	struct block *b;
	ck_assert_ok(block_create(&bc, "t", 0, &b));
	return b;
}

static struct block *block_of(const char *const *keys, size_t n, int interval)
{
	struct block_builder bb;
	block_builder_init(&bb, interval);
	for (size_t i = 0; i < n; i++)
		ck_assert_ok(block_builder_add(&bb, slice_from_str(keys[i]), slice_from_str(keys[i])));
	return finish_block(&bb);
}

static struct iter *two_level_fixture(struct child *children, struct block **index_block)
{
	static const char *const a[] = { "a1", "a2", "a3" };
	static const char *const d[] = { "d1", "d2" };
	children[0].b = block_of(a, 3, 2);
	children[1].b = block_of(NULL, 0, 1); /* empty */
	children[2].b = NULL;                 /* error */
	children[3].b = block_of(d, 2, 1);
	children[4].b = block_of(NULL, 0, 1); /* empty */
	struct block_builder bb;
	block_builder_init(&bb, 1);
	static const char *const ik[] = { "a3", "b", "c", "d2", "e" };
	for (char i = 0; i < 5; i++)
		ck_assert_ok(block_builder_add(&bb, slice_from_str(ik[(int)i]), slice_make(&i, 1)));
	*index_block = finish_block(&bb);
	struct read_opts ro = { 1, 1, 0, 0 };
	return two_level_iter_create(block_iter_create(*index_block, comparator_bytewise(), "t"),
	                             child_iter, children, &ro, 0);
}

static void free_fixture(struct iter *it, struct child *children, struct block *index_block)
{
	iter_destroy(it);
	block_destroy(index_block);
	for (int i = 0; i < 5; i++)
		block_destroy(children[i].b);
}

static int key_is(struct iter *it, const char *k)
{
	return iter_valid(it) && slice_equal(iter_key(it), slice_from_str(k));
}

START_TEST(two_level_stops_at_error_and_skips_empty)
{
	struct child c[5];
	struct block *ib;
	/* forward: a1 a2 a3, the empty child skipped, then the error: stop */
	struct iter *it = two_level_fixture(c, &ib);
	iter_seek_first(it);
	ck_assert(key_is(it, "a1"));
	iter_next(it);
	iter_next(it);
	ck_assert(key_is(it, "a3"));
	iter_next(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	ck_assert_ptr_nonnull(strstr(err_msg(), "child 2"));
	/* sticky: it never resumes past the damage */
	iter_seek(it, slice_from_str("d1"));
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	free_fixture(it, c, ib);

	/* backward: the empty last child skipped, d2 d1, then the error */
	it = two_level_fixture(c, &ib);
	iter_seek_last(it);
	ck_assert(key_is(it, "d2"));
	iter_prev(it);
	ck_assert(key_is(it, "d1"));
	iter_prev(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	free_fixture(it, c, ib);

	/* seeks */
	it = two_level_fixture(c, &ib);
	iter_seek(it, slice_from_str("a2"));
	ck_assert(key_is(it, "a2"));
	iter_seek(it, slice_from_str("d"));
	ck_assert(key_is(it, "d1"));
	iter_seek(it, slice_from_str("a"));
	ck_assert(key_is(it, "a1"));
	iter_prev(it);
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), 0);
	iter_seek(it, slice_from_str("d3"));
	ck_assert(!iter_valid(it)); /* lands in the empty child, then the end */
	ck_assert_int_eq(iter_status(it), 0);
	iter_seek(it, slice_from_str("zz"));
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), 0);
	iter_seek(it, slice_from_str("a4")); /* lands before the empty child: then the error */
	ck_assert(!iter_valid(it));
	ck_assert_int_eq(iter_status(it), SHALE_EIO);
	free_fixture(it, c, ib);
}
END_TEST

/* Scan resistance lives in the table's iterator, not the level's: a level
 * of OUTER tables of INNER one-key blocks each, scanned whole, gives every
 * table's first SCAN_RUN_BLOCKS blocks fill_cache on and the rest off, however
 * many tables the scan has passed; a seek back into the open table caches
 * again. */
#define OUTER 12
#define INNER 10
static struct block *nest_blocks[OUTER][INNER];
static struct block *nest_index[OUTER];
static int nest_fill[OUTER][INNER]; /* fill_cache each block was opened with; -1: never */

static struct iter *nest_block(void *arg, const struct read_opts *ro, struct slice v, struct iter *reuse)
{
	iter_destroy(reuse);
	int o = (int)(intptr_t)arg;
	ck_assert_uint_eq(v.size, 1);
	int i = (unsigned char)v.data[0];
	nest_fill[o][i] = ro->fill_cache;
	return block_iter_create(nest_blocks[o][i], comparator_bytewise(), "block");
}

static struct iter *nest_table(void *arg, const struct read_opts *ro, struct slice v, struct iter *reuse)
{
	(void)arg;
	iter_destroy(reuse);
	ck_assert_uint_eq(v.size, 1);
	int o = (unsigned char)v.data[0];
	return two_level_iter_over_block(nest_index[o], comparator_bytewise(), "index", nest_block,
	                                 (void *)(intptr_t)o, ro, 1);
}

/* A block of the keys given, each its own value, values the byte index. */
static struct block *index_of(char keys[][8], int n)
{
	struct block_builder bb;
	block_builder_init(&bb, 1);
	for (char i = 0; i < n; i++)
		ck_assert_ok(block_builder_add(&bb, slice_from_str(keys[(int)i]), slice_make(&i, 1)));
	return finish_block(&bb);
}

START_TEST(scan_resistance_is_per_table)
{
	char outer_keys[OUTER][8];
	for (int o = 0; o < OUTER; o++) {
		char inner_keys[INNER][8];
		for (int i = 0; i < INNER; i++) {
			snprintf(inner_keys[i], sizeof(inner_keys[i]), "%02d%02d", o, i);
			const char *k = inner_keys[i];
			nest_blocks[o][i] = block_of(&k, 1, 1);
		}
		nest_index[o] = index_of(inner_keys, INNER);
		snprintf(outer_keys[o], sizeof(outer_keys[o]), "%02d99", o);
	}
	struct block *level_index = index_of(outer_keys, OUTER);
	struct read_opts ro = { 1, 1, 0, 0 };
	struct iter *it = two_level_iter_create(block_iter_create(level_index, comparator_bytewise(), "level"),
	                                        nest_table, NULL, &ro, 0);
	memset(nest_fill, -1, sizeof(nest_fill));
	int n = 0;
	for (iter_seek_first(it); iter_valid(it); iter_next(it))
		n++;
	ck_assert_int_eq(iter_status(it), 0);
	ck_assert_int_eq(n, OUTER * INNER);
	for (int o = 0; o < OUTER; o++)
		for (int i = 0; i < INNER; i++)
			ck_assert_msg(nest_fill[o][i] == (i < SCAN_RUN_BLOCKS),
			              "table %d block %d opened with fill_cache %d", o, i, nest_fill[o][i]);

	/* scan into the last table past its first blocks, then seek back into it
	 * (the level keeps that table's iterator open): cached again */
	iter_seek(it, slice_from_str("1000"));
	while (iter_valid(it) && memcmp(iter_key(it).data, "1109", 4) != 0)
		iter_next(it);
	ck_assert(iter_valid(it));
	ck_assert_int_eq(nest_fill[11][8], 0);
	iter_seek(it, slice_from_str("1108"));
	ck_assert(iter_valid(it));
	ck_assert_int_eq(nest_fill[11][8], 1);
	iter_destroy(it);

	block_destroy(level_index);
	for (int o = 0; o < OUTER; o++) {
		block_destroy(nest_index[o]);
		for (int i = 0; i < INNER; i++)
			block_destroy(nest_blocks[o][i]);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("two_level_iter");
	TCase *tc = tcase_create("two_level_iter");
	tcase_add_test(tc, two_level_stops_at_error_and_skips_empty);
	tcase_add_test(tc, scan_resistance_is_per_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
