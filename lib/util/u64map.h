/*
 * An open-addressing hash map from uint64_t keys to pointers (file numbers to
 * file metadata, sets of file numbers). Not thread-safe. The keys UINT64_MAX
 * and UINT64_MAX - 1 are reserved (they mark empty and deleted slots).
 */
#ifndef SHALE_UTIL_U64MAP_H
#define SHALE_UTIL_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map_slot {
	uint64_t key; /* UINT64_MAX: empty */
	void *value;
};

struct u64map {
	struct u64map_slot *slots;
	size_t cap;  /* power of two, or 0 */
	size_t n;    /* live entries */
	size_t used; /* live + tombstones */
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
/* Inserts or replaces. Returns 0 or SHALE_ENOMEM (map unchanged). */
int u64map_put(struct u64map *m, uint64_t key, void *value);
/* The value, or NULL when absent (store non-NULL values to tell them apart;
 * u64map_has tells presence for sets). */
void *u64map_get(const struct u64map *m, uint64_t key);
int u64map_has(const struct u64map *m, uint64_t key);
/* Removes key; returns its value or NULL. */
void *u64map_remove(struct u64map *m, uint64_t key);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (u64map_slot_live(&m->slots[i])) ... */
static inline int u64map_slot_live(const struct u64map_slot *s)
{
	return s->key != UINT64_MAX && s->key != UINT64_MAX - 1;
}

#endif
