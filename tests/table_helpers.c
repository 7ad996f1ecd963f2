/* Helpers shared by the table suites (table_helpers.h). */
#include "tests/table_helpers.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/filename.h"
#include "lib/util/ikey.h"
#include "sstable/table_builder.h"
#include "shale.h"

static const struct comparator *sort_cmp;

static int kv_sort(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	return comparator_compare(sort_cmp, slice_make(x->k, x->kn), slice_make(y->k, y->kn));
}

static struct ikey_comparator icmp;

static const struct comparator *internal_cmp(void)
{
	ikey_comparator_init(&icmp, comparator_bytewise());
	return &icmp.base;
}

void table_model_make(struct table_model *m, struct rng *r, size_t n, size_t max_key, int internal)
{
	m->internal = internal;
	m->cmp = internal ? internal_cmp() : comparator_bytewise();
	m->e = calloc(n ? n : 1, sizeof(*m->e));
	ck_assert_ptr_nonnull(m->e);
	size_t user_max = internal ? max_key - 8 : max_key;
	size_t w = 0;
	/* short keys collide: top up until there are n distinct ones */
	for (int round = 0; round < 20 && w < n; round++) {
		for (size_t i = w; i < n; i++) {
			struct kv *e = &m->e[i];
			if (internal && i > 0 && rng_one_in(r, 4)) {
				/* another version of an earlier user key */
				struct kv *o = &m->e[rng_uniform(r, i)];
				e->kn = o->kn;
				e->k = malloc(e->kn);
				memcpy(e->k, o->k, e->kn - 8);
			} else {
				size_t un = (size_t)rng_skewed(r, 9);
				if (un > user_max)
					un = user_max;
				e->kn = un + (internal ? 8 : 0);
				e->k = malloc(e->kn + 1);
				int wide = rng_one_in(r, 3);
				for (size_t j = 0; j < un; j++)
					e->k[j] = wide ? (char)rng_next(r) : (char)("ab\x80\xff"[rng_uniform(r, 4)]);
			}
			if (internal)
				encode_fixed64(e->k + e->kn - 8, ikey_pack_tag(rng_next(r) & IKEY_SEQ_MAX,
				                                               (int)rng_uniform(r, 2)));
			e->vn = rng_one_in(r, 1000) ? (size_t)rng_uniform(r, 65537) : (size_t)rng_skewed(r, 7);
			e->v = malloc(e->vn + 1);
			tu_random_bytes(r, e->v, e->vn);
		}
		sort_cmp = m->cmp;
		qsort(m->e, n, sizeof(*m->e), kv_sort);
		w = 0;
		for (size_t i = 0; i < n; i++) {
			if (w > 0 && kv_sort(&m->e[w - 1], &m->e[i]) == 0) {
				free(m->e[i].k);
				free(m->e[i].v);
				continue;
			}
			m->e[w++] = m->e[i];
		}
	}
	m->n = w;
}

void table_model_free(struct table_model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].k);
		free(m->e[i].v);
	}
	free(m->e);
}

struct slice mkey(const struct table_model *m, size_t i)
{
	return slice_make(m->e[i].k, m->e[i].kn);
}

struct slice mval(const struct table_model *m, size_t i)
{
	return slice_make(m->e[i].v, m->e[i].vn);
}

size_t table_model_lower_bound(const struct table_model *m, struct slice t)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (comparator_compare(m->cmp, mkey(m, mid), t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void default_opts(struct table_options *o, const struct table_model *m)
{
	memset(o, 0, sizeof(*o));
	o->cmp = m->cmp;
	o->internal_keys = m->internal;
	o->block_size = 4096;
	o->restart_interval = 16;
	o->compression = SHALE_COMPRESSION_NONE;
	o->bloom_bits_per_key = 10;
	o->block_cache = NULL;
}

void check_entry(struct iter *it, const struct table_model *m, size_t i)
{
	ck_assert_msg(iter_valid(it), "expected entry %zu of %zu (status %d: %s)", i, m->n,
	              iter_status(it), shale_errmsg());
	ck_assert_msg(slice_equal(iter_key(it), mkey(m, i)), "key %zu differs", i);
	ck_assert_msg(slice_equal(iter_value(it), mval(m, i)), "value %zu differs", i);
}

void on_found(void *arg, struct slice k, struct slice v)
{
	struct found *f = arg;
	f->called++;
	ck_assert_ok(buf_set(&f->key, k.data, k.size));
	ck_assert_ok(buf_set(&f->value, v.data, v.size));
}

char *write_table_file(struct env *env, const char *dir, uint64_t num,
                              const struct table_options *o, const struct table_model *m, int sst)
{
	char path[FNAME_MAX];
	if (sst)
		fname_sst(path, dir, num);
	else
		fname_table(path, dir, num);
	struct wfile *wf;
	ck_assert_ok(env_open_write(env, path, &wf));
	struct table_builder *b;
	ck_assert_ok(table_builder_create(o, wf, path, &b));
	for (size_t i = 0; i < m->n; i++)
		ck_assert_ok(table_builder_add(b, mkey(m, i), mval(m, i)));
	ck_assert_ok(table_builder_finish(b));
	uint64_t size = table_builder_file_size(b);
	table_builder_destroy(b);
	ck_assert_ok(wfile_close(wf));
	uint64_t disk;
	ck_assert_ok(env_file_size(env, path, &disk));
	ck_assert_uint_eq(disk, size);
	return strdup(path);
}
