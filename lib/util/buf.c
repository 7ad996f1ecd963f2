#include "lib/util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"

void buf_free(struct buf *b)
{
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
	char *p = realloc(b->data, cap);
	if (p == NULL)
		return err_nomem("buffer");
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

int buf_append_byte(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_set(struct buf *b, const void *data, size_t n)
{
	b->len = 0;
	return buf_append(b, data, n);
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
	buf_init(b);
	return p;
}
