/*
 * A borrowed byte range. A slice never owns its bytes: every function that
 * returns one says how long the bytes stay valid.
 */
#ifndef SHALE_UTIL_SLICE_H
#define SHALE_UTIL_SLICE_H

#include <stddef.h>
#include <string.h>

struct slice {
	const char *data;
	size_t size;
};

static inline struct slice slice_make(const void *data, size_t size)
{
	struct slice s = { (const char *)data, size };
	return s;
}

static inline struct slice slice_from_str(const char *s)
{
	return slice_make(s, strlen(s));
}

/* Bytewise order, a shorter prefix first (memcmp then length). */
static inline int slice_compare(struct slice a, struct slice b)
{
	size_t n = a.size < b.size ? a.size : b.size;
	int r = n ? memcmp(a.data, b.data, n) : 0;
	if (r == 0)
		r = (a.size > b.size) - (a.size < b.size);
	return r;
}

static inline int slice_equal(struct slice a, struct slice b)
{
	return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

static inline int slice_starts_with(struct slice s, struct slice prefix)
{
	return s.size >= prefix.size &&
	       (prefix.size == 0 || memcmp(s.data, prefix.data, prefix.size) == 0);
}

#endif
