/* Helpers shared by the fuzz targets (fuzz.h). */
#include "fuzz/fuzz.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/coding.h"
#include "lib/util/comparator.h"
#include "lib/util/crc32c.h"
#include "sstable/block.h"
#include "sstable/compress.h"
#include "sstable/format.h"
#include "wal/wal_format.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: fuzz check failed: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "fuzz: out of memory\n");
		abort();
	}
	return p;
}

int fuzz_verbose(void)
{
	static int v = -1;
	if (v < 0)
		v = getenv("SHALE_FUZZ_VERBOSE") != NULL;
	return v;
}

/* ---- input ---- */

unsigned fuzz_u8(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

unsigned fuzz_u16(struct fuzz_in *in)
{
	unsigned lo = fuzz_u8(in);
	return lo | fuzz_u8(in) << 8;
}

const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;
	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/* ---- files over memory ---- */

struct mem_seq {
	struct seq_file base;
	const char *data;
	size_t n, pos;
};

static int ms_read(struct seq_file *f, size_t n, char *scratch, struct slice *out)
{
	struct mem_seq *m = (struct mem_seq *)f;
	size_t left = m->n - m->pos;
	if (n > left)
		n = left;
	if (n)
		memcpy(scratch, m->data + m->pos, n);
	m->pos += n;
	*out = slice_make(scratch, n);
	return 0;
}

static int ms_skip(struct seq_file *f, uint64_t n)
{
	struct mem_seq *m = (struct mem_seq *)f;
	m->pos = n > m->n - m->pos ? m->n : m->pos + (size_t)n;
	return 0;
}

static void ms_close(struct seq_file *f)
{
	free(f);
}

static const struct seq_file_ops mem_seq_ops = { ms_read, ms_skip, ms_close };

struct seq_file *fuzz_seq_file(const void *data, size_t n)
{
	struct mem_seq *m = xmalloc(sizeof(*m));
	m->base.ops = &mem_seq_ops;
	m->data = data;
	m->n = n;
	m->pos = 0;
	return &m->base;
}

struct mem_rand {
	struct rand_file base;
	const char *data;
	size_t n;
};

static int mr_read(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	struct mem_rand *m = (struct mem_rand *)f;
	if (off >= m->n) {
		*out = slice_make(scratch ? scratch : m->data, 0);
		return 0;
	}
	if (n > m->n - off)
		n = m->n - (size_t)off;
	if (m->base.mapped) {
		*out = slice_make(m->data + off, n);
	} else {
		memcpy(scratch, m->data + off, n);
		*out = slice_make(scratch, n);
	}
	return 0;
}

static void mr_close(struct rand_file *f)
{
	free(f);
}

static const struct rand_file_ops mem_rand_ops = { mr_read, mr_close, NULL };

struct rand_file *fuzz_rand_file(const void *data, size_t n, int mapped)
{
	struct mem_rand *m = xmalloc(sizeof(*m));
	m->base.ops = &mem_rand_ops;
	m->base.mapped = mapped;
	m->data = data;
	m->n = n;
	return &m->base;
}

/* ---- checksum fixing ---- */

void fuzz_fix_log_crcs(uint8_t *data, size_t n)
{
	for (size_t block = 0; block < n; block += WAL_BLOCK_SIZE) {
		size_t end = n - block < WAL_BLOCK_SIZE ? n : block + WAL_BLOCK_SIZE;
		size_t pos = block;
		while (end - pos >= WAL_HEADER_SIZE) {
			char *h = (char *)data + pos;
			size_t len = decode_fixed16(h + 4);
			unsigned type = (unsigned char)h[6];
			if ((type == WAL_ZERO && len == 0) || WAL_HEADER_SIZE + len > end - pos)
				break;
			encode_fixed32(h, crc32c_mask(crc32c_value(h + 6, 1 + len)));
			pos += WAL_HEADER_SIZE + len;
		}
	}
}

/* Fixes the trailer of the block at h; 1 when h is in range. */
static int fix_block(uint8_t *data, uint64_t limit, const struct block_handle *h)
{
	if (h->size > limit || h->offset > limit - h->size || limit - h->size - h->offset < BLOCK_TRAILER_LEN)
		return 0;
	char *b = (char *)data + h->offset;
	size_t sz = (size_t)h->size;
	encode_fixed32(b + sz + 1, crc32c_mask(crc32c_value(b, sz + 1)));
	return 1;
}

/* Fixes the blocks named by the values of the (uncompressed) block at h. */
static void fix_named_blocks(uint8_t *data, uint64_t limit, const struct block_handle *h)
{
	if (!fix_block(data, limit, h) || data[h->offset + h->size] != BLOCK_TYPE_NONE)
		return;
	struct block_contents bc = { .data = slice_make(data + h->offset, (size_t)h->size) };
	struct block *b;
	if (block_create(&bc, "fuzz", h->offset, &b) != 0)
		return;
	struct iter *it = block_iter_create(b, comparator_bytewise(), "fuzz");
	if (it) {
		for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
			struct slice v = iter_value(it);
			struct block_handle child;
			if (block_handle_decode(&v, &child))
				fix_block(data, limit, &child);
		}
		iter_destroy(it);
	}
	block_destroy(b);
}

void fuzz_fix_table_crcs(uint8_t *data, size_t n)
{
	if (n < FOOTER_LEN)
		return;
	uint64_t limit = n - FOOTER_LEN;
	struct slice in = slice_make(data + limit, FOOTER_LEN - 8);
	struct footer f;
	if (!block_handle_decode(&in, &f.metaindex) || !block_handle_decode(&in, &f.index))
		return;
	fix_named_blocks(data, limit, &f.metaindex);
	fix_named_blocks(data, limit, &f.index);
}

/* ---- directories ---- */

static char base_dir[1024];
static char db_dir[1100];

static void rmtree(const char *path, int keep_top)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char child[2048];
			snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
			rmtree(child, 0);
		}
		closedir(d);
	}
	if (!keep_top)
		rmdir(path);
}

static void remove_base(void)
{
	if (base_dir[0])
		rmtree(base_dir, 0);
}

const char *fuzz_dir(void)
{
	if (base_dir[0] == '\0') {
		/* SHALE_FUZZ_TMPDIR first: scripts/check replays the corpus in
		 * memory even in the build whose other tests use the disk */
		const char *tmp = getenv("SHALE_FUZZ_TMPDIR");
		if (tmp == NULL || *tmp == '\0')
			tmp = getenv("TMPDIR");
		struct stat st;
		if (tmp == NULL || *tmp == '\0')
			tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
		snprintf(base_dir, sizeof(base_dir), "%s/shale-fuzz-XXXXXX", tmp);
		if (mkdtemp(base_dir) == NULL) {
			perror(base_dir);
			abort();
		}
		atexit(remove_base);
		snprintf(db_dir, sizeof(db_dir), "%s/db", base_dir);
	}
	fuzz_clear_dir();
	if (mkdir(db_dir, 0755) != 0) {
		perror(db_dir);
		abort();
	}
	return db_dir;
}

void fuzz_clear_dir(void)
{
	if (db_dir[0])
		rmtree(db_dir, 0);
}

void fuzz_write_file(const char *name, const void *data, size_t n)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", db_dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

struct slice fuzz_dup(struct slice s)
{
	char *p = malloc(s.size ? s.size : 1);
	fuzz_check(p != NULL, "memory");
	if (s.size)
		memcpy(p, s.data, s.size);
	return slice_make(p, s.size);
}
