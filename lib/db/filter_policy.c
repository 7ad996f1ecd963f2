/*
 * The public filter policy: user callbacks behind the table layer's
 * struct filter_policy (sstable/filter_policy.h). The callbacks see what the
 * public API promises everywhere: keys and filters as valid pointers, even
 * when empty; the filter create_filter returns is malloc'd and freed here.
 */
#include "lib/db/options.h"

#include <stdlib.h>

#include "lib/util/error.h"

/* A valid pointer for empty keys and filters, which may be NULL inside. */
static const char empty[1] = "";

static const char *policy_name(const struct filter_policy *p)
{
	const shale_filter_policy *up = (const shale_filter_policy *)p;
	const char *n = up->name(up->state);
	return n ? n : "";
}

static int policy_create(const struct filter_policy *p, const struct slice *keys, size_t n,
                         struct buf *dst)
{
	const shale_filter_policy *up = (const shale_filter_policy *)p;
	const void **ptrs = malloc(n * sizeof(*ptrs));
	size_t *lens = malloc(n * sizeof(*lens));
	int rc = 0;
	if (ptrs == NULL || lens == NULL) {
		rc = err_nomem("filter keys");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ptrs[i] = keys[i].data ? keys[i].data : empty;
		lens[i] = keys[i].size;
	}
	void *filter = NULL;
	size_t flen = 0;
	if (up->create_filter(up->state, ptrs, lens, n, &filter, &flen) != 0) {
		free(filter);
		rc = err_set(SHALE_ENOMEM, "filter policy %s: create_filter failed", policy_name(p));
		goto out;
	}
	if (filter == NULL && flen > 0) {
		rc = err_set(SHALE_ENOMEM, "filter policy %s: create_filter returned no filter of %zu bytes",
		             policy_name(p), flen);
		goto out;
	}
	rc = buf_append(dst, filter, flen);
	free(filter);
out:
	free(ptrs);
	free(lens);
	return rc;
}

static int policy_may_match(const struct filter_policy *p, struct slice key, struct slice filter)
{
	const shale_filter_policy *up = (const shale_filter_policy *)p;
	return up->key_may_match(up->state, key.data ? key.data : empty, key.size,
	                         filter.data ? filter.data : empty, filter.size) != 0;
}

SHALE_EXPORT shale_filter_policy *shale_filter_policy_create(void *state, void (*destructor)(void *),
    int (*create_filter)(void *, const void *const *, const size_t *, size_t, void **, size_t *),
    int (*key_may_match)(void *, const void *, size_t, const void *, size_t),
    const char *(*name)(void *))
{
	if (create_filter == NULL || key_may_match == NULL || name == NULL) {
		err_set(SHALE_EINVAL, "shale_filter_policy_create needs create_filter, key_may_match and name");
		return NULL;
	}
	shale_filter_policy *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		err_nomem("filter policy");
		return NULL;
	}
	p->base.name = policy_name;
	p->base.create_filter = policy_create;
	p->base.key_may_match = policy_may_match;
	p->state = state;
	p->destructor = destructor;
	p->create_filter = create_filter;
	p->key_may_match = key_may_match;
	p->name = name;
	return p;
}

SHALE_EXPORT void shale_filter_policy_destroy(shale_filter_policy *p)
{
	if (p == NULL)
		return;
	if (p->destructor)
		p->destructor(p->state);
	free(p);
}
