/*
 * Little-endian fixed-width integers, varints and length-prefixed strings.
 *
 * Encoders write into caller-provided space (fixed32: 4 bytes, fixed64: 8,
 * varint32: at most 5, varint64: at most 10) and return the end. Decoders are
 * bounds-checked: they never read at or past `limit` and return NULL on
 * malformed or truncated input.
 */
#ifndef SHALE_UTIL_CODING_H
#define SHALE_UTIL_CODING_H

#include <stdint.h>
#include <string.h>
#include "lib/util/slice.h"

#define VARINT32_MAX_LEN 5
#define VARINT64_MAX_LEN 10

/* The host is little-endian (configure checks), so memcpy is the encoding. */
static inline void encode_fixed16(char *dst, uint16_t v)
{
	memcpy(dst, &v, 2);
}

static inline void encode_fixed32(char *dst, uint32_t v)
{
	memcpy(dst, &v, 4);
}

static inline void encode_fixed64(char *dst, uint64_t v)
{
	memcpy(dst, &v, 8);
}

static inline uint16_t decode_fixed16(const char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t decode_fixed32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t decode_fixed64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

char *encode_varint32(char *dst, uint32_t v);
char *encode_varint64(char *dst, uint64_t v);
int varint_length(uint64_t v);

/* Slow path of get_varint32_ptr for values of two or more bytes. */
const char *get_varint32_ptr_slow(const char *p, const char *limit, uint32_t *v);

/* Decodes a varint32 from [p, limit); returns the byte after it, or NULL. */
static inline const char *get_varint32_ptr(const char *p, const char *limit, uint32_t *v)
{
	if (p < limit) {
		uint32_t r = (unsigned char)*p;
		if ((r & 128) == 0) {
			*v = r;
			return p + 1;
		}
	}
	return get_varint32_ptr_slow(p, limit, v);
}

const char *get_varint64_ptr(const char *p, const char *limit, uint64_t *v);

/* Slice-consuming forms: on success advance *in past the value and return 1;
 * on malformed input return 0 and leave *in unspecified. */
int get_varint32(struct slice *in, uint32_t *v);
int get_varint64(struct slice *in, uint64_t *v);
int get_fixed32(struct slice *in, uint32_t *v);
int get_fixed64(struct slice *in, uint64_t *v);
/* A varint32 length then that many bytes; *out borrows from *in. */
int get_lenprefixed(struct slice *in, struct slice *out);

#endif
