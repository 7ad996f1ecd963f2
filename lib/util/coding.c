#include "lib/util/coding.h"

char *encode_varint32(char *dst, uint32_t v)
{
	unsigned char *p = (unsigned char *)dst;
	while (v >= 128) {
		*p++ = (unsigned char)(v | 128);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return (char *)p;
}

char *encode_varint64(char *dst, uint64_t v)
{
	unsigned char *p = (unsigned char *)dst;
	while (v >= 128) {
		*p++ = (unsigned char)(v | 128);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return (char *)p;
}

int varint_length(uint64_t v)
{
	int len = 1;
	while (v >= 128) {
		v >>= 7;
		len++;
	}
	return len;
}

const char *get_varint32_ptr_slow(const char *p, const char *limit, uint32_t *v)
{
	uint32_t result = 0;
	for (uint32_t shift = 0; shift <= 28 && p < limit; shift += 7) {
		uint32_t byte = (unsigned char)*p++;
		if (shift == 28 && byte > 15)
			return NULL; /* more than 32 bits */
		if (byte & 128) {
			result |= (byte & 127) << shift;
		} else {
			result |= byte << shift;
			*v = result;
			return p;
		}
	}
	return NULL;
}

const char *get_varint64_ptr(const char *p, const char *limit, uint64_t *v)
{
	uint64_t result = 0;
	for (uint32_t shift = 0; shift <= 63 && p < limit; shift += 7) {
		uint64_t byte = (unsigned char)*p++;
		if (shift == 63 && byte > 1)
			return NULL; /* more than 64 bits */
		if (byte & 128) {
			result |= (byte & 127) << shift;
		} else {
			result |= byte << shift;
			*v = result;
			return p;
		}
	}
	return NULL;
}

int get_varint32(struct slice *in, uint32_t *v)
{
	const char *p = get_varint32_ptr(in->data, in->data + in->size, v);
	if (p == NULL)
		return 0;
	in->size -= (size_t)(p - in->data);
	in->data = p;
	return 1;
}

int get_varint64(struct slice *in, uint64_t *v)
{
	const char *p = get_varint64_ptr(in->data, in->data + in->size, v);
	if (p == NULL)
		return 0;
	in->size -= (size_t)(p - in->data);
	in->data = p;
	return 1;
}

int get_fixed32(struct slice *in, uint32_t *v)
{
	if (in->size < 4)
		return 0;
	*v = decode_fixed32(in->data);
	in->data += 4;
	in->size -= 4;
	return 1;
}

int get_fixed64(struct slice *in, uint64_t *v)
{
	if (in->size < 8)
		return 0;
	*v = decode_fixed64(in->data);
	in->data += 8;
	in->size -= 8;
	return 1;
}

int get_lenprefixed(struct slice *in, struct slice *out)
{
	uint32_t len;
	if (!get_varint32(in, &len) || len > in->size)
		return 0;
	*out = slice_make(in->data, len);
	in->data += len;
	in->size -= len;
	return 1;
}
