#include "lib/version/version_edit.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"

enum edit_tag {
	TAG_COMPARATOR = 1,
	TAG_LOG_NUMBER = 2,
	TAG_NEXT_FILE_NUMBER = 3,
	TAG_LAST_SEQUENCE = 4,
	TAG_COMPACT_POINTER = 5,
	TAG_DELETED_FILE = 6,
	TAG_NEW_FILE = 7,
	/* 8 was LevelDB's large-value reference, long gone */
	TAG_PREV_LOG_NUMBER = 9,
};

struct file_meta *file_meta_new(uint64_t number, uint64_t size, struct slice smallest, struct slice largest)
{
	struct file_meta *f = malloc(sizeof(*f) + smallest.size + largest.size + 1);
	if (f == NULL) {
		err_nomem("file metadata");
		return NULL;
	}
	char *p = (char *)(f + 1);
	memcpy(p, smallest.data, smallest.size);
	memcpy(p + smallest.size, largest.data, largest.size);
	f->refs = 0;
	f->number = number;
	f->size = size;
	f->smallest = slice_make(p, smallest.size);
	f->largest = slice_make(p + smallest.size, largest.size);
	/* As LevelDB reasons: a seek costs about as much as compacting 16 KiB
	 * (one seek ~ 10 ms ~ 1 MB of I/O ~ 40 KB of compaction work, rounded
	 * down), with at least 100 seeks allowed for a small file. */
	uint64_t seeks = size / 16384;
	atomic_init(&f->allowed_seeks, seeks < 100 ? 100 : seeks > INT32_MAX ? INT32_MAX : (int)seeks);
	atomic_init(&f->pinned, NULL);
	return f;
}

void file_meta_free(struct file_meta *f)
{
	free(f);
}

void edit_init(struct version_edit *e)
{
	memset(e, 0, sizeof(*e));
	buf_init(&e->comparator);
}

void edit_clear(struct version_edit *e)
{
	buf_free(&e->comparator);
	for (size_t i = 0; i < e->npointers; i++)
		buf_free(&e->pointers[i].key);
	free(e->pointers);
	free(e->deleted);
	for (size_t i = 0; i < e->nadded; i++)
		if (e->added[i].f && e->added[i].f->refs == 0)
			file_meta_free(e->added[i].f);
	free(e->added);
	edit_init(e);
}

void edit_free(struct version_edit *e)
{
	edit_clear(e);
}

int edit_set_comparator(struct version_edit *e, const char *name)
{
	e->has_comparator = 1;
	return buf_set(&e->comparator, name, strlen(name));
}

int edit_set_compact_pointer(struct version_edit *e, int level, struct slice key)
{
	struct edit_pointer *p = realloc(e->pointers, (e->npointers + 1) * sizeof(*p));
	if (p == NULL)
		return err_nomem("version edit");
	e->pointers = p;
	p = &e->pointers[e->npointers];
	p->level = level;
	buf_init(&p->key);
	if (buf_set(&p->key, key.data, key.size))
		return SHALE_ENOMEM;
	e->npointers++;
	return 0;
}

int edit_add_meta(struct version_edit *e, int level, struct file_meta *f)
{
	if (e->nadded == e->capadded) {
		size_t cap = e->capadded ? e->capadded * 2 : 8;
		struct edit_file *a = realloc(e->added, cap * sizeof(*a));
		if (a == NULL)
			return err_nomem("version edit");
		e->added = a;
		e->capadded = cap;
	}
	e->added[e->nadded].level = level;
	e->added[e->nadded].f = f;
	e->nadded++;
	return 0;
}

int edit_add_file(struct version_edit *e, int level, uint64_t number, uint64_t size,
                  struct slice smallest, struct slice largest)
{
	struct file_meta *f = file_meta_new(number, size, smallest, largest);
	if (f == NULL)
		return SHALE_ENOMEM;
	int rc = edit_add_meta(e, level, f);
	if (rc)
		file_meta_free(f);
	return rc;
}

int edit_delete_file(struct version_edit *e, int level, uint64_t number)
{
	if (e->ndeleted == e->capdeleted) {
		size_t cap = e->capdeleted ? e->capdeleted * 2 : 8;
		struct edit_deleted *d = realloc(e->deleted, cap * sizeof(*d));
		if (d == NULL)
			return err_nomem("version edit");
		e->deleted = d;
		e->capdeleted = cap;
	}
	e->deleted[e->ndeleted].level = level;
	e->deleted[e->ndeleted].number = number;
	e->ndeleted++;
	return 0;
}

int edit_encode(const struct version_edit *e, struct buf *out)
{
	int rc = 0;
	buf_clear(out);
	if (e->has_comparator) {
		rc |= buf_append_varint32(out, TAG_COMPARATOR);
		rc |= buf_append_lenprefixed(out, e->comparator.data, e->comparator.len);
	}
	if (e->has_log_number) {
		rc |= buf_append_varint32(out, TAG_LOG_NUMBER);
		rc |= buf_append_varint64(out, e->log_number);
	}
	if (e->has_prev_log_number) {
		rc |= buf_append_varint32(out, TAG_PREV_LOG_NUMBER);
		rc |= buf_append_varint64(out, e->prev_log_number);
	}
	if (e->has_next_file_number) {
		rc |= buf_append_varint32(out, TAG_NEXT_FILE_NUMBER);
		rc |= buf_append_varint64(out, e->next_file_number);
	}
	if (e->has_last_sequence) {
		rc |= buf_append_varint32(out, TAG_LAST_SEQUENCE);
		rc |= buf_append_varint64(out, e->last_sequence);
	}
	for (size_t i = 0; i < e->npointers; i++) {
		rc |= buf_append_varint32(out, TAG_COMPACT_POINTER);
		rc |= buf_append_varint32(out, (uint32_t)e->pointers[i].level);
		rc |= buf_append_lenprefixed(out, e->pointers[i].key.data, e->pointers[i].key.len);
	}
	for (size_t i = 0; i < e->ndeleted; i++) {
		rc |= buf_append_varint32(out, TAG_DELETED_FILE);
		rc |= buf_append_varint32(out, (uint32_t)e->deleted[i].level);
		rc |= buf_append_varint64(out, e->deleted[i].number);
	}
	for (size_t i = 0; i < e->nadded; i++) {
		const struct file_meta *f = e->added[i].f;
		rc |= buf_append_varint32(out, TAG_NEW_FILE);
		rc |= buf_append_varint32(out, (uint32_t)e->added[i].level);
		rc |= buf_append_varint64(out, f->number);
		rc |= buf_append_varint64(out, f->size);
		rc |= buf_append_lenprefixed(out, f->smallest.data, f->smallest.size);
		rc |= buf_append_lenprefixed(out, f->largest.data, f->largest.size);
	}
	return rc ? SHALE_ENOMEM : 0;
}

static int get_level(struct slice *in, int *level)
{
	uint32_t v;
	if (!get_varint32(in, &v) || v >= NUM_LEVELS)
		return 0;
	*level = (int)v;
	return 1;
}

int edit_decode(struct version_edit *e, struct slice in, const char *what)
{
	const char *bad = NULL;
	uint32_t tag;
	int rc = 0;

	while (bad == NULL && rc == 0 && in.size > 0) {
		if (!get_varint32(&in, &tag)) {
			bad = "tag";
			break;
		}
		int level;
		uint64_t number, size;
		struct slice s1, s2;
		switch (tag) {
		case TAG_COMPARATOR:
			if (!get_lenprefixed(&in, &s1))
				bad = "comparator name";
			else {
				e->has_comparator = 1;
				rc = buf_set(&e->comparator, s1.data, s1.size);
			}
			break;
		case TAG_LOG_NUMBER:
			if (!get_varint64(&in, &e->log_number))
				bad = "log number";
			e->has_log_number = 1;
			break;
		case TAG_PREV_LOG_NUMBER:
			if (!get_varint64(&in, &e->prev_log_number))
				bad = "previous log number";
			e->has_prev_log_number = 1;
			break;
		case TAG_NEXT_FILE_NUMBER:
			if (!get_varint64(&in, &e->next_file_number))
				bad = "next file number";
			e->has_next_file_number = 1;
			break;
		case TAG_LAST_SEQUENCE:
			if (!get_varint64(&in, &e->last_sequence))
				bad = "last sequence number";
			e->has_last_sequence = 1;
			break;
		case TAG_COMPACT_POINTER:
			if (!get_level(&in, &level) || !get_lenprefixed(&in, &s1))
				bad = "compaction pointer";
			else
				rc = edit_set_compact_pointer(e, level, s1);
			break;
		case TAG_DELETED_FILE:
			if (!get_level(&in, &level) || !get_varint64(&in, &number))
				bad = "deleted file";
			else
				rc = edit_delete_file(e, level, number);
			break;
		case TAG_NEW_FILE:
			if (!get_level(&in, &level) || !get_varint64(&in, &number) || !get_varint64(&in, &size) ||
			    !get_lenprefixed(&in, &s1) || !get_lenprefixed(&in, &s2))
				bad = "new-file entry";
			else
				rc = edit_add_file(e, level, number, size, s1, s2);
			break;
		default:
			bad = "unknown tag";
			break;
		}
	}
	if (rc)
		return rc;
	if (bad)
		return err_set(SHALE_ECORRUPT, "%s: bad version edit: %s", what, bad);
	return 0;
}
