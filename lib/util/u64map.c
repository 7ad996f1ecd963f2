#include "lib/util/u64map.h"

#include <stdlib.h>

#include "lib/util/error.h"

#define EMPTY UINT64_MAX
#define TOMB (UINT64_MAX - 1)

static size_t slot_of(uint64_t key, size_t cap)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 32) & (cap - 1);
}

void u64map_init(struct u64map *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
	m->used = 0;
}

void u64map_free(struct u64map *m)
{
	free(m->slots);
	u64map_init(m);
}

static int rehash(struct u64map *m, size_t cap)
{
	struct u64map_slot *s = malloc(cap * sizeof(*s));
	if (s == NULL)
		return err_nomem("hash map");
	for (size_t i = 0; i < cap; i++)
		s[i].key = EMPTY;
	for (size_t i = 0; i < m->cap; i++) {
		if (!u64map_slot_live(&m->slots[i]))
			continue;
		size_t j = slot_of(m->slots[i].key, cap);
		while (s[j].key != EMPTY)
			j = (j + 1) & (cap - 1);
		s[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = s;
	m->cap = cap;
	m->used = m->n;
	return 0;
}

static struct u64map_slot *find(const struct u64map *m, uint64_t key)
{
	if (m->cap == 0)
		return NULL;
	size_t j = slot_of(key, m->cap);
	while (m->slots[j].key != EMPTY) {
		if (m->slots[j].key == key)
			return &m->slots[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

int u64map_put(struct u64map *m, uint64_t key, void *value)
{
	struct u64map_slot *s = find(m, key);
	if (s) {
		s->value = value;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap ? m->cap : 16;
		while ((m->n + 1) * 2 > cap)
			cap *= 2;
		int rc = rehash(m, cap < 16 ? 16 : cap);
		if (rc)
			return rc;
	}
	size_t j = slot_of(key, m->cap);
	while (u64map_slot_live(&m->slots[j]))
		j = (j + 1) & (m->cap - 1);
	if (m->slots[j].key == EMPTY)
		m->used++;
	m->slots[j].key = key;
	m->slots[j].value = value;
	m->n++;
	return 0;
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
	struct u64map_slot *s = find(m, key);
	return s ? s->value : NULL;
}

int u64map_has(const struct u64map *m, uint64_t key)
{
	return find(m, key) != NULL;
}

void *u64map_remove(struct u64map *m, uint64_t key)
{
	struct u64map_slot *s = find(m, key);
	if (s == NULL)
		return NULL;
	void *v = s->value;
	s->key = TOMB;
	m->n--;
	return v;
}
