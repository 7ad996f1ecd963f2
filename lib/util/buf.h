/*
 * A growable byte buffer owned by whoever embeds it. Appends report
 * SHALE_ENOMEM (with a message) when memory runs out; the buffer is then
 * unchanged.
 */
#ifndef SHALE_UTIL_BUF_H
#define SHALE_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/slice.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

static inline void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b);
/* Makes room for at least need more bytes. */
int buf_reserve(struct buf *b, size_t need);
/* Appends n bytes (inline: no call while the buffer has room, which is
 * most appends on the read path). */
static inline int buf_append(struct buf *b, const void *data, size_t n)
{
	if (n > b->cap - b->len) {
		int rc = buf_reserve(b, n);
		if (rc)
			return rc;
	}
	if (n) {
		memcpy(b->data + b->len, data, n);
		b->len += n;
	}
	return 0;
}
int buf_append_byte(struct buf *b, char c);
/* Replaces the contents with n bytes. */
static inline int buf_set(struct buf *b, const void *data, size_t n)
{
	b->len = 0;
	return buf_append(b, data, n);
}
int buf_append_fixed32(struct buf *b, uint32_t v);
int buf_append_fixed64(struct buf *b, uint64_t v);
int buf_append_varint32(struct buf *b, uint32_t v);
int buf_append_varint64(struct buf *b, uint64_t v);
/* varint32 length, then the bytes. */
int buf_append_lenprefixed(struct buf *b, const void *data, size_t n);
/* Resizes to n bytes (growing leaves the new bytes uninitialised). */
int buf_resize(struct buf *b, size_t n);

static inline void buf_clear(struct buf *b)
{
	b->len = 0;
}

static inline struct slice buf_slice(const struct buf *b)
{
	return slice_make(b->data, b->len);
}

/* Hands the bytes to the caller (who frees them with free()) and empties b. */
char *buf_detach(struct buf *b);

#endif
