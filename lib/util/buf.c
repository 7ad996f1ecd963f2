#include "lib/util/buf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"

/*
 * A buffer that grows to BUF_MAP_MIN bytes or more is mapped directly
 * (mmap, then mremap to grow): the table builder's index and filters reach
 * hundreds of kilobytes for every table, and such blocks freed through
 * malloc make glibc raise its own threshold for mapping, after which large
 * blocks stay in the heap and the process keeps memory it freed (RSS grows
 * by megabytes with several background threads). The rule is one: data is
 * mapped exactly when cap >= BUF_MAP_MIN. Under AddressSanitizer, which
 * watches malloc, nothing is mapped.
 */
#if defined(__SANITIZE_ADDRESS__)
#define BUF_MAP_MIN SIZE_MAX
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUF_MAP_MIN SIZE_MAX
#endif
#endif
#ifndef BUF_MAP_MIN
#define BUF_MAP_MIN ((size_t)128 << 10)
#endif

static int mapped(const struct buf *b)
{
	return b->data != NULL && b->cap >= BUF_MAP_MIN;
}

void buf_free(struct buf *b)
{
	if (mapped(b))
		munmap(b->data, b->cap);
	else
		free(b->data);
	buf_init(b);
}

int buf_reserve(struct buf *b, size_t need)
{
	if (need <= b->cap - b->len)
		return 0;
	if (need > SIZE_MAX / 2 - b->len)
		return err_nomem("buffer too large");
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + need)
		cap *= 2;
	char *p;
	if (cap < BUF_MAP_MIN) {
		p = realloc(b->data, cap);
	} else if (mapped(b)) {
		void *m = mremap(b->data, b->cap, cap, MREMAP_MAYMOVE);
		p = m == MAP_FAILED ? NULL : m;
	} else {
		void *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p = m == MAP_FAILED ? NULL : m;
		if (p != NULL) {
			if (b->len)
				memcpy(p, b->data, b->len);
			free(b->data);
		}
	}
	if (p == NULL)
		return err_nomem("buffer");
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append_byte(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_resize(struct buf *b, size_t n)
{
	if (n > b->len) {
		int rc = buf_reserve(b, n - b->len);
		if (rc)
			return rc;
	}
	b->len = n;
	return 0;
}

int buf_append_fixed32(struct buf *b, uint32_t v)
{
	char tmp[4];
	encode_fixed32(tmp, v);
	return buf_append(b, tmp, 4);
}

int buf_append_fixed64(struct buf *b, uint64_t v)
{
	char tmp[8];
	encode_fixed64(tmp, v);
	return buf_append(b, tmp, 8);
}

int buf_append_varint32(struct buf *b, uint32_t v)
{
	char tmp[5];
	char *end = encode_varint32(tmp, v);
	return buf_append(b, tmp, (size_t)(end - tmp));
}

int buf_append_varint64(struct buf *b, uint64_t v)
{
	char tmp[10];
	char *end = encode_varint64(tmp, v);
	return buf_append(b, tmp, (size_t)(end - tmp));
}

int buf_append_lenprefixed(struct buf *b, const void *data, size_t n)
{
	if (n > UINT32_MAX)
		return err_set(SHALE_EINVAL, "length-prefixed string of %zu bytes exceeds 4 GiB", n);
	int rc = buf_reserve(b, n + 5);
	if (rc)
		return rc;
	buf_append_varint32(b, (uint32_t)n);
	return buf_append(b, data, n);
}

char *buf_detach(struct buf *b)
{
	char *p = b->data;
	if (mapped(b)) {
		/* the caller frees with free(): a copy from malloc (NULL if none) */
		p = malloc(b->len ? b->len : 1);
		if (p != NULL && b->len)
			memcpy(p, b->data, b->len);
		munmap(b->data, b->cap);
	}
	buf_init(b);
	return p;
}
