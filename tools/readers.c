/*
 * The tool's file readers (readers.h): logs through the WAL reader, tables
 * block by block through the format's raw pieces (not table_open, which
 * fails on the first bad index or filter, nor table_iter, which stops at the
 * first bad block), and MANIFEST edits applied to a plain list of files.
 */
#include "tools/readers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/comparator.h"
#include "lib/util/env.h"
#include "lib/util/error.h"
#include "sstable/block.h"
#include "sstable/compress.h"
#include "sstable/filter_block.h"
#include "sstable/format.h"
#include "tools/escape.h"
#include "wal/wal_reader.h"

const char *reader_reason(int rc, const char *path)
{
	const char *m = err_msg();
	if (m == NULL || *m == '\0')
		return shale_strerror(rc);
	const char *kind = shale_strerror(rc);
	size_t kl = strlen(kind), pl = strlen(path);
	if (strncmp(m, kind, kl) == 0 && strncmp(m + kl, ": ", 2) == 0)
		m += kl + 2;
	if (strncmp(m, path, pl) == 0 && strncmp(m + pl, ": ", 2) == 0)
		m += pl + 2;
	return m;
}

/* ---- logs ---- */

struct log_damage {
	struct wal_reader *r;
	const struct log_visitor *v;
};

static void on_log_damage(void *arg, uint64_t bytes, const char *reason)
{
	struct log_damage *d = arg;
	char what[256];
	snprintf(what, sizeof(what), "%s (%llu bytes dropped)", reason, (unsigned long long)bytes);
	if (d->v->problem)
		d->v->problem(d->v->arg, wal_reader_damage_offset(d->r), what);
}

int log_walk(const char *path, const struct log_visitor *v, struct log_summary *s)
{
	struct env *env = env_posix_default();
	struct seq_file *f = NULL;
	struct log_damage d = { NULL, v };
	struct wal_reporter reporter = { on_log_damage, &d };
	memset(s, 0, sizeof(*s));
	int rc = env_file_size(env, path, &s->size);
	if (rc == 0)
		rc = env_open_seq(env, path, &f);
	if (rc == 0)
		rc = wal_reader_create(f, &reporter, 1, &d.r);
	while (rc == 0) {
		struct slice rec;
		int got = wal_reader_read(d.r, &rec);
		if (got < 0)
			rc = got;
		if (got <= 0)
			break;
		s->records++;
		if (v->record)
			v->record(v->arg, wal_reader_last_record_offset(d.r), rec);
	}
	if (rc == 0)
		s->torn_tail = wal_reader_torn_tail(d.r);
	wal_reader_destroy(d.r);
	seq_file_close(f);
	return rc;
}

/* ---- tables ---- */

const char *const table_codec_names[TABLE_CODECS] = { "none", "snappy", "lz4", "zlib", "unknown" };

static int codec_index(unsigned char type)
{
	switch (type) {
	case BLOCK_TYPE_NONE: return 0;
	case BLOCK_TYPE_SNAPPY: return 1;
	case BLOCK_TYPE_LZ4: return 2;
	case BLOCK_TYPE_ZLIB: return 3;
	default: return 4;
	}
}

void table_summary_free(struct table_summary *s)
{
	buf_free(&s->first_key);
	buf_free(&s->last_key);
}

struct twalk {
	const char *path;
	const struct table_visitor *v;
	struct table_summary *s;
	struct rand_file *file;
	uint64_t data_limit;
	struct filter_block_reader filter;
	struct block_contents filter_contents;
	uint64_t filter_offset;
	struct buf prev_key;   /* the last entry's key, across blocks */
	int have_prev;
};

static void problem(struct twalk *w, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct twalk *w, uint64_t offset, const char *fmt, ...)
{
	char what[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (w->v->problem)
		w->v->problem(w->v->arg, offset, what);
}

static int read_block(struct twalk *w, const struct block_handle *h, struct block **out)
{
	struct block_contents bc;
	int rc = format_read_block(w->file, w->path, w->data_limit, h, 1, NULL, &bc);
	if (rc == 0)
		rc = block_create(&bc, w->path, h->offset, out);
	return rc;
}

static int icmp(struct slice a, struct slice b)
{
	return ikey_compare(comparator_bytewise(), a, b);
}

/* A key for messages: the escaped user key and its sequence. */
static void describe_key(struct slice ik, char *out, size_t cap)
{
	struct parsed_ikey p;
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (m == NULL) {
		snprintf(out, cap, "?");
		return;
	}
	if (ikey_parse(ik, &p)) {
		fputc('\'', m);
		escape_write(m, p.user_key.data, p.user_key.size, 0);
		fprintf(m, "' @ %llu", (unsigned long long)p.seq);
	} else {
		fputc('\'', m);
		escape_write(m, ik.data, ik.size, 0);
		fputc('\'', m);
	}
	fclose(m);
	snprintf(out, cap, "%s", text ? text : "?");
	free(text);
}

/* Loads the filter the metaindex names, if any. */
static void read_meta(struct twalk *w, const struct block_handle *mh)
{
	struct block *meta = NULL;
	int rc = read_block(w, mh, &meta);
	if (rc) {
		problem(w, mh->offset, "metaindex block: %s", reader_reason(rc, w->path));
		return;
	}
	struct block_iter mi;
	block_iter_init(&mi, meta, comparator_bytewise(), w->path);
	for (iter_seek_first(&mi.base); iter_valid(&mi.base); iter_next(&mi.base)) {
		struct slice name = iter_key(&mi.base), hv = iter_value(&mi.base);
		if (name.size < 7 || memcmp(name.data, "filter.", 7) != 0)
			continue;
		struct block_handle h;
		if (!block_handle_decode(&hv, &h)) {
			problem(w, mh->offset, "metaindex block: bad handle for %.*s", (int)name.size, name.data);
			continue;
		}
		snprintf(w->s->filter_name, sizeof(w->s->filter_name), "%.*s", (int)(name.size - 7),
		         name.data + 7);
		w->s->filter_size = h.size;
		if (name.size != strlen(FILTER_META_KEY) || memcmp(name.data, FILTER_META_KEY, name.size) != 0)
			continue; /* another policy's filter: not checked */
		rc = format_read_block(w->file, w->path, w->data_limit, &h, 1, NULL, &w->filter_contents);
		if (rc == 0)
			rc = filter_block_reader_init(&w->filter, w->filter_contents.data, 1, w->path, h.offset);
		if (rc) {
			problem(w, h.offset, "filter block: %s", reader_reason(rc, w->path));
			free(w->filter_contents.heap);
			w->filter_contents.heap = NULL;
			continue;
		}
		w->s->has_filter = 1;
		w->filter_offset = h.offset;
	}
	if (mi.status)
		problem(w, mh->offset, "metaindex block: %s", reader_reason(mi.status, w->path));
	block_iter_release(&mi);
	block_destroy(meta);
}

/* Reads one data block and its entries. first and last get its first and last
 * keys (when it has entries). Returns 0, or SHALE_ENOMEM. */
static int walk_block(struct twalk *w, const struct block_handle *h, struct buf *first, struct buf *last,
                      int *nonempty)
{
	struct table_summary *s = w->s;
	struct block *b = NULL;
	char kd[300], pd[300];
	*nonempty = 0;
	char tb[1];
	struct slice t;
	if (h->size <= w->data_limit && h->offset <= w->data_limit - h->size &&
	    rand_file_read(w->file, h->offset + h->size, 1, tb, &t) == 0 && t.size == 1)
		s->blocks_by_codec[codec_index((unsigned char)t.data[0])]++;
	int rc = read_block(w, h, &b);
	if (rc == SHALE_ENOMEM)
		return rc;
	if (rc) {
		s->bad_blocks++;
		problem(w, h->offset, "data block: %s", reader_reason(rc, w->path));
		return 0;
	}
	s->data_stored += h->size;
	s->data_raw += b->size;
	int bad = 0;
	struct block_iter bi;
	block_iter_init(&bi, b, comparator_bytewise(), w->path);
	for (iter_seek_first(&bi.base); iter_valid(&bi.base); iter_next(&bi.base)) {
		struct slice k = iter_key(&bi.base), val = iter_value(&bi.base);
		struct parsed_ikey p;
		int ok = ikey_parse(k, &p);
		s->entries++;
		if (!ok) {
			s->bad_keys++;
			bad = 1;
			describe_key(k, kd, sizeof(kd));
			problem(w, h->offset, "entry at offset %u of the block: %s is not an internal key",
			        bi.current, kd);
		} else {
			s->key_bytes += p.user_key.size;
			s->value_bytes += val.size;
			if (p.type == IKEY_TYPE_VALUE)
				s->puts++;
			else
				s->deletions++;
			if (s->puts + s->deletions == 1 || p.seq < s->min_seq)
				s->min_seq = p.seq;
			if (p.seq > s->max_seq)
				s->max_seq = p.seq;
			if (w->s->has_filter && !filter_block_may_match(&w->filter, h->offset, k)) {
				bad = 1;
				describe_key(k, kd, sizeof(kd));
				problem(w, w->filter_offset,
				        "filter block: says %s is absent from the data block at offset %llu", kd,
				        (unsigned long long)h->offset);
			}
		}
		if (w->v->check_order && w->have_prev && icmp(buf_slice(&w->prev_key), k) >= 0) {
			bad = 1;
			describe_key(k, kd, sizeof(kd));
			describe_key(buf_slice(&w->prev_key), pd, sizeof(pd));
			problem(w, h->offset, "entry at offset %u of the block: key %s does not sort after %s",
			        bi.current, kd, pd);
		}
		if (w->v->entry)
			w->v->entry(w->v->arg, k, ok ? &p : NULL, val);
		if (buf_set(&w->prev_key, k.data, k.size) ||
		    (!*nonempty && buf_set(first, k.data, k.size)) || buf_set(last, k.data, k.size)) {
			rc = SHALE_ENOMEM;
			break;
		}
		w->have_prev = 1;
		if (s->entries == 1 && buf_set(&s->first_key, k.data, k.size))
			rc = SHALE_ENOMEM;
		*nonempty = 1;
	}
	if (rc == 0 && bi.status) {
		bad = 1;
		problem(w, h->offset, "data block: %s", reader_reason(bi.status, w->path));
	}
	if (bad)
		s->bad_blocks++;
	block_iter_release(&bi);
	block_destroy(b);
	return rc;
}

static int walk_index(struct twalk *w, const struct block_handle *ih)
{
	struct table_summary *s = w->s;
	struct block *index = NULL;
	struct buf prev_sep = BUF_INIT, first = BUF_INIT, last = BUF_INIT;
	int have_sep = 0, rc = read_block(w, ih, &index);
	char kd[300], pd[300];
	if (rc == SHALE_ENOMEM)
		return rc;
	if (rc) {
		problem(w, ih->offset, "index block: %s", reader_reason(rc, w->path));
		return 0;
	}
	s->readable = 1;
	uint64_t expect = 0, n = 0;
	struct block_iter ii;
	block_iter_init(&ii, index, comparator_bytewise(), w->path);
	for (iter_seek_first(&ii.base); rc == 0 && iter_valid(&ii.base); iter_next(&ii.base), n++) {
		struct slice sep = iter_key(&ii.base), hv = iter_value(&ii.base);
		struct block_handle h;
		s->data_blocks++;
		if (w->v->check_order && have_sep && icmp(buf_slice(&prev_sep), sep) >= 0) {
			describe_key(sep, kd, sizeof(kd));
			problem(w, ih->offset, "index block: entry %llu: key %s does not sort after the one before",
			        (unsigned long long)n, kd);
		}
		if (!block_handle_decode(&hv, &h)) {
			s->bad_blocks++;
			problem(w, ih->offset, "index block: entry %llu: bad block handle", (unsigned long long)n);
			continue;
		}
		if (h.offset != expect)
			problem(w, h.offset, "data block starts at offset %llu, not where the one before ended (%llu)",
			        (unsigned long long)h.offset, (unsigned long long)expect);
		expect = h.offset + h.size + BLOCK_TRAILER_LEN;
		int nonempty;
		rc = walk_block(w, &h, &first, &last, &nonempty);
		if (rc == 0 && nonempty && w->v->check_order) {
			/* the separator lies between the block's last key and the next block's first */
			if (icmp(buf_slice(&last), sep) > 0) {
				describe_key(sep, kd, sizeof(kd));
				describe_key(buf_slice(&last), pd, sizeof(pd));
				problem(w, ih->offset, "index block: entry %llu: key %s sorts before %s, the last key "
				        "of the data block at offset %llu", (unsigned long long)n, kd, pd,
				        (unsigned long long)h.offset);
			}
			if (have_sep && icmp(buf_slice(&prev_sep), buf_slice(&first)) >= 0) {
				describe_key(buf_slice(&prev_sep), kd, sizeof(kd));
				describe_key(buf_slice(&first), pd, sizeof(pd));
				problem(w, ih->offset, "index block: entry %llu: key %s does not sort before %s, the "
				        "first key of the data block at offset %llu", (unsigned long long)n - 1, kd, pd,
				        (unsigned long long)h.offset);
			}
		}
		if (rc == 0 && (rc = buf_set(&prev_sep, sep.data, sep.size)) == 0)
			have_sep = 1;
	}
	if (rc == 0 && ii.status)
		problem(w, ih->offset, "index block: %s", reader_reason(ii.status, w->path));
	if (rc == 0 && w->have_prev)
		rc = buf_set(&s->last_key, w->prev_key.data, w->prev_key.len);
	block_iter_release(&ii);
	block_destroy(index);
	buf_free(&prev_sep);
	buf_free(&first);
	buf_free(&last);
	return rc;
}

int table_walk(const char *path, const struct table_visitor *v, struct table_summary *s)
{
	struct env *env = env_posix_default();
	struct twalk w;
	memset(&w, 0, sizeof(w));
	memset(s, 0, sizeof(*s));
	w.path = path;
	w.v = v;
	w.s = s;
	int rc = env_file_size(env, path, &s->size);
	if (rc == 0)
		rc = env_open_rand(env, path, &w.file);
	if (rc)
		return rc;
	if (s->size < FOOTER_LEN) {
		problem(&w, 0, "file of %llu bytes is too short to be a table", (unsigned long long)s->size);
		goto out;
	}
	w.data_limit = s->size - FOOTER_LEN;
	char scratch[FOOTER_LEN];
	struct slice got;
	struct footer f;
	if ((rc = rand_file_read(w.file, w.data_limit, FOOTER_LEN, scratch, &got)) != 0)
		goto out;
	if (got.size != FOOTER_LEN) {
		problem(&w, w.data_limit, "footer: cut short");
		goto out;
	}
	int frc = footer_decode(got.data, s->size, path, &f);
	if (frc) {
		problem(&w, w.data_limit, "footer: %s", reader_reason(frc, path));
		goto out;
	}
	s->index_size = f.index.size;
	s->metaindex_size = f.metaindex.size;
	read_meta(&w, &f.metaindex);
	rc = walk_index(&w, &f.index);
out:
	free(w.filter_contents.heap);
	buf_free(&w.prev_key);
	rand_file_close(w.file);
	return rc;
}

/* ---- MANIFEST state ---- */

void manifest_state_init(struct manifest_state *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->comparator);
}

static void mfile_free(struct manifest_file *f)
{
	buf_free(&f->smallest);
	buf_free(&f->largest);
}

void manifest_state_free(struct manifest_state *m)
{
	for (size_t i = 0; i < m->nfiles; i++)
		mfile_free(&m->files[i]);
	free(m->files);
	buf_free(&m->comparator);
	manifest_state_init(m);
}

static struct manifest_file *find_file(struct manifest_state *m, int level, uint64_t number)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (m->files[i].level == level && m->files[i].number == number)
			return &m->files[i];
	return NULL;
}

int manifest_state_apply(struct manifest_state *m, const struct version_edit *e)
{
	m->edits++;
	if (e->has_comparator) {
		m->has_comparator = 1;
		if (buf_set(&m->comparator, e->comparator.data, e->comparator.len))
			return SHALE_ENOMEM;
	}
	if (e->has_log_number) {
		m->has_log_number = 1;
		m->log_number = e->log_number;
	}
	if (e->has_prev_log_number) {
		m->has_prev_log_number = 1;
		m->prev_log_number = e->prev_log_number;
	}
	if (e->has_next_file_number) {
		m->has_next_file = 1;
		m->next_file = e->next_file_number;
	}
	if (e->has_last_sequence) {
		m->has_last_sequence = 1;
		m->last_sequence = e->last_sequence;
	}
	for (size_t i = 0; i < e->ndeleted; i++) {
		struct manifest_file *f = find_file(m, e->deleted[i].level, e->deleted[i].number);
		if (f) {
			mfile_free(f);
			*f = m->files[--m->nfiles];
		}
	}
	for (size_t i = 0; i < e->nadded; i++) {
		const struct file_meta *src = e->added[i].f;
		struct manifest_file *f = find_file(m, e->added[i].level, src->number);
		if (f == NULL) {
			if (m->nfiles == m->cap) {
				size_t cap = m->cap ? 2 * m->cap : 16;
				struct manifest_file *nf = realloc(m->files, cap * sizeof(*nf));
				if (nf == NULL)
					return SHALE_ENOMEM;
				m->files = nf;
				m->cap = cap;
			}
			f = &m->files[m->nfiles++];
			memset(f, 0, sizeof(*f));
		}
		f->level = e->added[i].level;
		f->number = src->number;
		f->size = src->size;
		if (buf_set(&f->smallest, src->smallest.data, src->smallest.size) ||
		    buf_set(&f->largest, src->largest.data, src->largest.size))
			return SHALE_ENOMEM;
	}
	return 0;
}

static int by_level_smallest(const void *a, const void *b)
{
	const struct manifest_file *x = a, *y = b;
	if (x->level != y->level)
		return x->level - y->level;
	int r = icmp(buf_slice(&x->smallest), buf_slice(&y->smallest));
	return r ? r : (x->number > y->number) - (x->number < y->number);
}

void manifest_state_sort(struct manifest_state *m)
{
	if (m->nfiles)
		qsort(m->files, m->nfiles, sizeof(*m->files), by_level_smallest);
}

/* ---- printing ---- */

void print_quoted(FILE *f, struct slice s, int hex)
{
	fputc('\'', f);
	escape_write(f, s.data, s.size, hex);
	fputc('\'', f);
}

void print_ikey(FILE *f, struct slice ik, int hex)
{
	struct parsed_ikey p;
	if (ikey_parse(ik, &p)) {
		print_quoted(f, p.user_key, hex);
		fprintf(f, " @ %llu : %s", (unsigned long long)p.seq, p.type == IKEY_TYPE_VALUE ? "put" : "del");
	} else {
		print_quoted(f, ik, hex);
		fputs(" (not an internal key)", f);
	}
}
