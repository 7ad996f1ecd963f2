/* A reference ordered map (bytewise keys) for model tests: a sorted array. */
#ifndef SHALE_TESTS_MODEL_H
#define SHALE_TESTS_MODEL_H

#include <stddef.h>

#include "shale.h"

struct model_entry {
	char *key, *val;
	size_t klen, vlen;
};

struct model {
	struct model_entry *e;
	size_t n, cap;
};

void model_init(struct model *m);
void model_free(struct model *m);
void model_put(struct model *m, const void *k, size_t kl, const void *v, size_t vl);
void model_del(struct model *m, const void *k, size_t kl);
/* NULL when absent. */
const struct model_entry *model_get(const struct model *m, const void *k, size_t kl);
void model_copy(struct model *dst, const struct model *src);
/* Index of the first entry >= k. */
size_t model_lower_bound(const struct model *m, const void *k, size_t kl);
int model_keycmp(const void *a, size_t al, const void *b, size_t bl);

/* Checks that the DB (through ro, may be NULL) holds exactly the model:
 * every key via get, and a full scan forward and backward. */
void model_check_db(const struct model *m, shale_db *db, const shale_readopts *ro);

#endif
