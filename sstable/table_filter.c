#include "sstable/table_filter.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"

/* A 64-bit hash after MurmurHash2-64A's scheme (multiply, xor-shift). */
uint64_t table_filter_hash(struct slice key)
{
	const uint64_t m = 0xc6a4a7935bd1e995ull;
	const int r = 47;
	uint64_t h = 0x5bd1e9955bd1e995ull ^ ((uint64_t)key.size * m);
	const unsigned char *p = (const unsigned char *)key.data;
	size_t n = key.size;
	while (n >= 8) {
		uint64_t k = decode_fixed64((const char *)p);
		k *= m;
		k ^= k >> r;
		k *= m;
		h ^= k;
		h *= m;
		p += 8;
		n -= 8;
	}
	if (n > 0) {
		uint64_t k = 0;
		for (size_t i = 0; i < n; i++)
			k |= (uint64_t)p[i] << (8 * i);
		h ^= k;
		h *= m;
	}
	h ^= h >> r;
	h *= m;
	h ^= h >> r;
	return h;
}

void table_filter_builder_init(struct table_filter_builder *b, int bits_per_key)
{
	b->bits_per_key = bits_per_key;
	b->hashes = NULL;
	b->n = b->cap = 0;
}

/*
 * The hashes of a table's keys grow to megabytes and go away with each
 * table. Taken from malloc, such blocks make glibc raise its threshold for
 * mapping large blocks, after which every large block stays in the heap and
 * the process keeps memory it freed. So they are mapped here directly
 * (mremap grows them), except under AddressSanitizer, which watches malloc.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FILTER_MMAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FILTER_MMAP 0
#endif
#endif
#ifndef FILTER_MMAP
#define FILTER_MMAP 1
#endif

static uint64_t *hashes_grow(uint64_t *old, size_t old_cap, size_t cap)
{
	if (!FILTER_MMAP)
		return realloc(old, cap * sizeof(*old));
	void *p = old ? mremap(old, old_cap * sizeof(*old), cap * sizeof(*old), MREMAP_MAYMOVE)
	              : mmap(NULL, cap * sizeof(*old), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void table_filter_builder_free(struct table_filter_builder *b)
{
	if (b->hashes) {
		if (FILTER_MMAP)
			munmap(b->hashes, b->cap * sizeof(*b->hashes));
		else
			free(b->hashes);
	}
	b->hashes = NULL;
	b->n = b->cap = 0;
}

int table_filter_builder_add(struct table_filter_builder *b, struct slice user_key)
{
	uint64_t h = table_filter_hash(user_key);
	if (b->n > 0 && b->hashes[b->n - 1] == h)
		return 0; /* versions of one key arrive together */
	if (b->n == b->cap) {
		/* (a page of hashes first: a mapping is whole pages anyway) */
		size_t cap = b->cap ? b->cap * 2 : 512;
		uint64_t *g = hashes_grow(b->hashes, b->cap, cap);
		if (g == NULL)
			return err_nomem("table filter");
		b->hashes = g;
		b->cap = cap;
	}
	b->hashes[b->n++] = h;
	return 0;
}

static int num_probes(int bits_per_key)
{
	int k = (int)(bits_per_key * 0.69);
	return k < 1 ? 1 : k > 30 ? 30 : k;
}

int table_filter_builder_finish(struct table_filter_builder *b, struct buf *dst)
{
	uint64_t bits = (uint64_t)b->n * (uint64_t)b->bits_per_key;
	uint64_t nlines = (bits + TABLE_FILTER_LINE * 8 - 1) / (TABLE_FILTER_LINE * 8);
	if (nlines == 0)
		nlines = 1;
	if (nlines > UINT32_MAX / TABLE_FILTER_LINE)
		return err_nomem("table filter too large");
	size_t start = dst->len, len = (size_t)nlines * TABLE_FILTER_LINE;
	int rc = buf_reserve(dst, len + 6);
	if (rc)
		return rc;
	memset(dst->data + start, 0, len);
	dst->len += len;
	struct table_filter f = { (const unsigned char *)dst->data + start, (uint32_t)nlines,
		                      num_probes(b->bits_per_key) };
	unsigned char *bytes = (unsigned char *)dst->data + start;
	for (size_t i = 0; i < b->n; i++) {
		uint64_t h = b->hashes[i];
		uint64_t line = ((h >> 32) * nlines) >> 32;
		unsigned char *p = bytes + line * TABLE_FILTER_LINE;
		uint32_t x = (uint32_t)h, delta = (x >> 17) | (x << 15) | 1;
		for (int j = 0; j < f.k; j++) {
			uint32_t bit = x & (TABLE_FILTER_LINE * 8 - 1);
			p[bit >> 3] |= (unsigned char)(1u << (bit & 7));
			x += delta;
		}
	}
	buf_append_fixed32(dst, (uint32_t)nlines);
	buf_append_byte(dst, (char)f.k);
	buf_append_byte(dst, TABLE_FILTER_FORMAT);
	return 0;
}

int table_filter_init(struct table_filter *f, struct slice contents)
{
	if (contents.size < 6 || (unsigned char)contents.data[contents.size - 1] != TABLE_FILTER_FORMAT)
		return 0;
	uint32_t nlines = decode_fixed32(contents.data + contents.size - 6);
	int k = (unsigned char)contents.data[contents.size - 2];
	if (nlines == 0 || k < 1 || k > 30 || (uint64_t)nlines * TABLE_FILTER_LINE != contents.size - 6)
		return 0;
	f->bits = (const unsigned char *)contents.data;
	f->nlines = nlines;
	f->k = k;
	return 1;
}
