/*
 * The salvage iterator walks the index block entry by entry and each data
 * block it names, one block in memory at a time. Invariant: while valid, it
 * stands on an entry of the current block that passed every check, and prev
 * holds a copy of that entry's key, so the next entry yielded (from this
 * block or a later one) is compared against the last one yielded.
 */
#include "sstable/table_salvage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/error.h"
#include "lib/util/ikey.h"
#include "sstable/block.h"
#include "sstable/format.h"

struct salvage {
	struct iter base;
	struct table_options opt;
	struct rand_file *file;
	char *path;
	uint64_t data_limit;       /* footer offset: every block ends before it */
	struct block *index;
	struct block_iter ii;      /* over the index block */
	struct block *data;        /* the current data block, or NULL */
	struct block_iter bi;      /* over data while it is set */
	int status;                /* sticky: a failure that is not damage */
	int have_prev;
	struct buf prev;           /* the last key yielded */
	struct table_salvage_report *report;
};

/* Damage is reported and stepped over; anything else stops the iterator. */
static int is_damage(int rc)
{
	return rc == SHALE_ECORRUPT || rc == SHALE_EIO;
}

/* Counts one damaged block; the thread's message says why. */
static void damaged(struct salvage *s)
{
	s->report->blocks_damaged++;
	if (s->report->first_damage[0] == '\0')
		snprintf(s->report->first_damage, sizeof(s->report->first_damage), "%s", err_msg());
}

static void close_block(struct salvage *s)
{
	if (s->data) {
		block_iter_release(&s->bi);
		block_destroy(s->data);
		s->data = NULL;
	}
}

static void fail(struct salvage *s, int rc)
{
	s->status = rc;
	s->base.valid = 0;
	close_block(s);
}

/* After the index iterator moved: an index that stops decoding loses the
 * rest of its entries (one damage). Returns 0 when the iterator failed. */
static int check_index(struct salvage *s)
{
	int rc = s->ii.status;
	if (rc == 0)
		return 1;
	if (!is_damage(rc)) {
		fail(s, rc);
		return 0;
	}
	damaged(s);
	/* block_iter errors are sticky: the index is now invalid */
	return 1;
}

/* Opens the next readable data block the index names, positioned at its
 * first entry. 0 when the index is exhausted or the iterator failed. */
static int open_next_block(struct salvage *s)
{
	while (iter_valid(&s->ii.base)) {
		struct slice v = iter_value(&s->ii.base); /* points into the index block */
		struct block_handle h;
		int ok = block_handle_decode(&v, &h);
		iter_next(&s->ii.base);
		if (!check_index(s))
			return 0;
		if (!ok) {
			err_set(SHALE_ECORRUPT, "%s: bad block handle in index block at offset %llu", s->path,
			        (unsigned long long)s->index->offset);
			damaged(s);
			continue;
		}
		struct block_contents bc;
		int rc = format_read_block(s->file, s->path, s->data_limit, &h, 1, NULL, &bc);
		if (rc == 0)
			rc = block_create(&bc, s->path, h.offset, &s->data);
		if (rc) {
			s->data = NULL;
			if (!is_damage(rc)) {
				fail(s, rc);
				return 0;
			}
			damaged(s);
			continue;
		}
		block_iter_init(&s->bi, s->data, s->opt.cmp, s->path);
		iter_seek_first(&s->bi.base);
		return 1;
	}
	return 0;
}

/* From the current block's current entry on, moves to the first entry that
 * can be yielded, opening later blocks as needed. */
static void settle(struct salvage *s)
{
	for (;;) {
		if (s->data == NULL && !open_next_block(s)) {
			s->base.valid = 0;
			return;
		}
		if (iter_valid(&s->bi.base)) {
			struct slice k = iter_key(&s->bi.base);
			struct parsed_ikey pk;
			if (s->opt.internal_keys && !ikey_parse(k, &pk)) {
				err_set(SHALE_ECORRUPT, "%s: malformed internal key in block at offset %llu",
				        s->path, (unsigned long long)s->data->offset);
			} else if (s->have_prev && comparator_compare(s->opt.cmp, buf_slice(&s->prev), k) >= 0) {
				err_set(SHALE_ECORRUPT, "%s: key out of order in block at offset %llu", s->path,
				        (unsigned long long)s->data->offset);
			} else {
				int rc = buf_set(&s->prev, k.data, k.size);
				if (rc) {
					fail(s, rc);
					return;
				}
				s->have_prev = 1;
				s->base.valid = 1;
				s->base.key = k;
				s->base.value = iter_value(&s->bi.base);
				s->report->entries++;
				s->report->bytes += k.size + s->base.value.size;
				return;
			}
			/* the entry ends its block; the ones before it were kept */
			damaged(s);
			close_block(s);
			continue;
		}
		int rc = s->bi.status;
		if (rc && !is_damage(rc)) {
			fail(s, rc);
			return;
		}
		if (rc)
			damaged(s);
		else
			s->report->blocks_kept++;
		close_block(s);
	}
}

static void sv_seek_first(struct iter *base)
{
	struct salvage *s = (struct salvage *)base;
	close_block(s);
	s->base.valid = 0;
	if (s->status)
		return;
	s->have_prev = 0;
	struct table_salvage_report *r = s->report;
	r->blocks_kept = r->blocks_damaged = r->entries = r->bytes = 0;
	r->first_damage[0] = '\0';
	/* a fresh index iterator: its errors are sticky */
	block_iter_release(&s->ii);
	block_iter_init(&s->ii, s->index, s->opt.cmp, s->path);
	iter_seek_first(&s->ii.base);
	if (check_index(s))
		settle(s);
}

static void sv_next(struct iter *base)
{
	struct salvage *s = (struct salvage *)base;
	if (!s->base.valid)
		return;
	iter_next(&s->bi.base);
	settle(s);
}

static void sv_unsupported(struct salvage *s)
{
	fail(s, err_set(SHALE_EINVAL, "%s: a salvage iterator only reads forward", s->path));
}

static void sv_seek_last(struct iter *base)
{
	sv_unsupported((struct salvage *)base);
}

static void sv_seek(struct iter *base, struct slice target)
{
	(void)target;
	sv_unsupported((struct salvage *)base);
}

static void sv_prev(struct iter *base)
{
	sv_unsupported((struct salvage *)base);
}

static int sv_status(const struct iter *base)
{
	return ((const struct salvage *)base)->status;
}

static void sv_destroy(struct iter *base)
{
	struct salvage *s = (struct salvage *)base;
	close_block(s);
	block_iter_release(&s->ii);
	block_destroy(s->index);
	buf_free(&s->prev);
	rand_file_close(s->file);
	free(s->path);
	free(s);
}

static const struct iter_ops salvage_ops = {
	.seek_first = sv_seek_first,
	.seek_last = sv_seek_last,
	.seek = sv_seek,
	.next = sv_next,
	.prev = sv_prev,
	.status = sv_status,
	.destroy = sv_destroy,
};

int table_salvage_open(const struct table_options *opt, struct rand_file *file, const char *path,
                       uint64_t size, struct table_salvage_report *report, struct iter **out)
{
	struct salvage *s = NULL;
	int rc;
	*out = NULL;
	memset(report, 0, sizeof(*report));
	if (size < FOOTER_LEN) {
		rc = err_set(SHALE_ECORRUPT, "%s: file of %llu bytes is too short to be a table", path,
		             (unsigned long long)size);
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		rc = err_nomem("salvage iterator");
		goto fail;
	}
	s->opt = *opt;
	s->data_limit = size - FOOTER_LEN;
	s->report = report;
	buf_init(&s->prev);

	char scratch[FOOTER_LEN];
	struct slice got;
	if ((rc = rand_file_read(file, s->data_limit, FOOTER_LEN, scratch, &got)) != 0)
		goto fail;
	if (got.size != FOOTER_LEN) {
		rc = err_set(SHALE_ECORRUPT, "%s: truncated footer at offset %llu", path,
		             (unsigned long long)s->data_limit);
		goto fail;
	}
	struct footer f;
	if ((rc = footer_decode(got.data, size, path, &f)) != 0)
		goto fail;
	struct block_contents bc;
	if ((rc = format_read_block(file, path, s->data_limit, &f.index, 1, NULL, &bc)) != 0 ||
	    (rc = block_create(&bc, path, f.index.offset, &s->index)) != 0)
		goto fail;
	s->file = file;
	block_iter_init(&s->ii, s->index, s->opt.cmp, s->path);
	iter_init(&s->base, &salvage_ops);
	*out = &s->base;
	return 0;
fail:
	if (s) {
		block_destroy(s->index);
		free(s->path);
		free(s);
	}
	rand_file_close(file);
	return rc;
}
