/* Helpers shared by the table suites (test_table.c, test_table_cache.c): a
 * sorted model of distinct keys, table options, and checks of entries. */
#ifndef SHALE_TESTS_TABLE_HELPERS_H
#define SHALE_TESTS_TABLE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util/buf.h"
#include "lib/util/comparator.h"
#include "lib/util/env.h"
#include "lib/util/iter.h"
#include "sstable/table_options.h"
#include "tests/testutil.h"

struct kv {
	char *k, *v;
	size_t kn, vn;
};

/* Sorted distinct keys (by cmp) with their values. */
struct table_model {
	struct kv *e;
	size_t n;
	const struct comparator *cmp;
	int internal; /* keys are internal keys (user key + 8-byte tag) */
};

/* n random entries: keys up to max_key bytes over a small alphabet (so that
 * prefixes repeat) and sometimes over all bytes; values mostly small, a few
 * up to 64 KiB. Internal keys reuse user keys with distinct sequences. Fewer
 * than n when short keys keep colliding. */
void table_model_make(struct table_model *m, struct rng *r, size_t n, size_t max_key, int internal);
void table_model_free(struct table_model *m);
/* Entry i's key and value (borrowed from the model). */
struct slice mkey(const struct table_model *m, size_t i);
struct slice mval(const struct table_model *m, size_t i);
/* Index of the first key >= t. */
size_t table_model_lower_bound(const struct table_model *m, struct slice t);

/* 4 KiB blocks, restart interval 16, no compression, a 10-bit bloom filter,
 * no block cache, the model's comparator. */
void default_opts(struct table_options *o, const struct table_model *m);

/* Asserts that it is valid at model entry i. */
void check_entry(struct iter *it, const struct table_model *m, size_t i);

/* What table_get's callback saw (the buffers are the caller's to free). */
struct found {
	int called;
	struct buf key, value;
};
/* A table_found_fn filling a struct found. */
void on_found(void *arg, struct slice k, struct slice v);

/* Writes the model as table file num (.sst when sst, else .ldb) in dir
 * through env; returns its path (free it). */
char *write_table_file(struct env *env, const char *dir, uint64_t num, const struct table_options *o,
                       const struct table_model *m, int sst);

#endif
