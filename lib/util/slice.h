/*
 * A borrowed byte range. A slice never owns its bytes: every function that
 * returns one says how long the bytes stay valid.
 */
#ifndef SHALE_UTIL_SLICE_H
#define SHALE_UTIL_SLICE_H

#include <stddef.h>
#include <stdint.h>
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

/* The sign of memcmp(a, b, n) (-1, 0 or 1). Keys are mostly short and alike
 * in their first bytes (zero-padded numbers, a shared prefix): up to 32
 * bytes are compared 8 at a time in registers instead of by a call to
 * memcmp; longer runs go to memcmp. (Little-endian hosts only, as configure
 * checks: a byte swap makes the word order the byte order.) Used where a
 * search's comparisons are its cost (the memtable's skiplist: fillrandom);
 * in scans and block searches memcmp measured as well or better
 * (doc/performance.md, "What each change bought"). */
static inline int bytes_compare(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	if (n > 32) {
		int r = memcmp(p, q, n);
		return (r > 0) - (r < 0);
	}
	for (; n >= 8; n -= 8, p += 8, q += 8) {
		uint64_t x, y;
		memcpy(&x, p, 8);
		memcpy(&y, q, 8);
		if (x != y)
			return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
	}
	for (; n > 0; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
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
