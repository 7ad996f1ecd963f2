#include "tests/model.h"

#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

int model_keycmp(const void *a, size_t al, const void *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int r = n ? memcmp(a, b, n) : 0;
	if (r == 0)
		r = (al > bl) - (al < bl);
	return r;
}

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].key);
		free(m->e[i].val);
	}
	free(m->e);
	model_init(m);
}

size_t model_lower_bound(const struct model *m, const void *k, size_t kl)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (model_keycmp(m->e[mid].key, m->e[mid].klen, k, kl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static char *dup(const void *p, size_t n)
{
	char *d = malloc(n ? n : 1);
	tu_assert(d != NULL, "out of memory");
	if (n)
		memcpy(d, p, n);
	return d;
}

void model_put(struct model *m, const void *k, size_t kl, const void *v, size_t vl)
{
	size_t i = model_lower_bound(m, k, kl);
	if (i < m->n && model_keycmp(m->e[i].key, m->e[i].klen, k, kl) == 0) {
		free(m->e[i].val);
		m->e[i].val = dup(v, vl);
		m->e[i].vlen = vl;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->e = realloc(m->e, m->cap * sizeof(*m->e));
		tu_assert(m->e != NULL, "out of memory");
	}
	memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
	m->e[i].key = dup(k, kl);
	m->e[i].klen = kl;
	m->e[i].val = dup(v, vl);
	m->e[i].vlen = vl;
	m->n++;
}

void model_del(struct model *m, const void *k, size_t kl)
{
	size_t i = model_lower_bound(m, k, kl);
	if (i < m->n && model_keycmp(m->e[i].key, m->e[i].klen, k, kl) == 0) {
		free(m->e[i].key);
		free(m->e[i].val);
		memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(*m->e));
		m->n--;
	}
}

const struct model_entry *model_get(const struct model *m, const void *k, size_t kl)
{
	size_t i = model_lower_bound(m, k, kl);
	if (i < m->n && model_keycmp(m->e[i].key, m->e[i].klen, k, kl) == 0)
		return &m->e[i];
	return NULL;
}

void model_copy(struct model *dst, const struct model *src)
{
	model_init(dst);
	for (size_t i = 0; i < src->n; i++)
		model_put(dst, src->e[i].key, src->e[i].klen, src->e[i].val, src->e[i].vlen);
}

void model_check_db(const struct model *m, shale_db *db, const shale_readopts *ro)
{
	for (size_t i = 0; i < m->n; i++) {
		void *v;
		size_t vl;
		int rc = shale_get(db, ro, m->e[i].key, m->e[i].klen, &v, &vl);
		tu_assert(rc == 0, "get of model key %zu: %d %s", i, rc, shale_errmsg());
		tu_assert(vl == m->e[i].vlen && (vl == 0 || memcmp(v, m->e[i].val, vl) == 0),
		          "get of model key %zu: wrong value", i);
		shale_free(v);
	}
	shale_iter *it = shale_iter_create(db, ro);
	tu_assert(it != NULL, "iterator: %s", shale_errmsg());
	size_t i = 0;
	for (shale_iter_seek_first(it); shale_iter_valid(it); shale_iter_next(it), i++) {
		tu_assert(i < m->n, "scan yields more entries than the model's %zu", m->n);
		size_t kl, vl;
		const void *k = shale_iter_key(it, &kl);
		const void *v = shale_iter_value(it, &vl);
		tu_assert(model_keycmp(k, kl, m->e[i].key, m->e[i].klen) == 0, "scan key %zu differs", i);
		tu_assert(vl == m->e[i].vlen && (vl == 0 || memcmp(v, m->e[i].val, vl) == 0),
		          "scan value %zu differs", i);
	}
	tu_assert(shale_iter_status(it) == 0, "scan: %s", shale_errmsg());
	tu_assert(i == m->n, "scan yields %zu entries, the model %zu", i, m->n);
	i = m->n;
	for (shale_iter_seek_last(it); shale_iter_valid(it); shale_iter_prev(it)) {
		tu_assert(i > 0, "reverse scan yields more entries than the model");
		i--;
		size_t kl, vl;
		const void *k = shale_iter_key(it, &kl);
		shale_iter_value(it, &vl);
		tu_assert(model_keycmp(k, kl, m->e[i].key, m->e[i].klen) == 0, "reverse scan key %zu differs", i);
		tu_assert(vl == m->e[i].vlen, "reverse scan value %zu differs", i);
	}
	tu_assert(shale_iter_status(it) == 0, "reverse scan: %s", shale_errmsg());
	tu_assert(i == 0, "reverse scan misses %zu entries", i);
	shale_iter_destroy(it);
}
