/*
 * shale verify: checks every file of a database without opening it, so it
 * reports damage the database would stop at (or refuse to open over), each
 * problem with its file and offset. Uses the internal readers (readers.h).
 *
 * What is checked: CURRENT names an existing MANIFEST; every record of every
 * MANIFEST is intact and decodes; the live MANIFEST has the entries recovery
 * needs, no file whose smallest key sorts after its largest and no overlap
 * in levels >= 1; every table it names exists with the recorded size, every
 * block of it reads (checksums), its keys increase, lie within the recorded
 * range and are found by the filter; every record of every live WAL is intact
 * and decodes, and sequences never go back; a WAL cut short is damage only
 * when a later WAL holds records (otherwise the trace of a crash: a note).
 *
 * A live writer may change the files while they are read (a compaction
 * deletes tables, a new MANIFEST appears). When problems were found and
 * CURRENT or the live MANIFEST changed meanwhile, everything is read again
 * (a few times at most), so a live database is not reported damaged for
 * the files a writer replaced.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/write_batch.h"
#include "lib/util/env.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "tools/cli.h"
#include "tools/progress.h"
#include "tools/readers.h"

#define VERIFY_ATTEMPTS 5

struct finding {
	char *file;
	int is_note, has_offset;
	uint64_t offset;
	char *what;
};

struct dbfile {
	uint64_t number;
	enum file_type type;
	char *name;
};

struct verify {
	struct cli *c;
	const char *db;
	struct env *env;
	struct finding *f;
	size_t nf, capf;
	size_t problems;
	int oom;
	int check_order;
	/* the directory */
	struct dbfile *files;
	size_t nfiles;
	/* the live MANIFEST; trusted when it read without a problem (else
	 * every table and WAL in the directory is read) */
	int have_live, live_trusted;
	uint64_t live_number;
	struct manifest_state live;
	/* what was read */
	uint64_t manifests, edits, tables, entries, table_bytes, wals, wal_records;
	size_t done, todo; /* files, for the progress line */
};

static void add(struct verify *v, const char *file, int is_note, int has_offset, uint64_t offset,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add(struct verify *v, const char *file, int is_note, int has_offset, uint64_t offset,
                const char *fmt, ...)
{
	if (v->nf == v->capf) {
		size_t cap = v->capf ? 2 * v->capf : 32;
		struct finding *nf = realloc(v->f, cap * sizeof(*nf));
		if (nf == NULL) {
			v->oom = 1;
			return;
		}
		v->f = nf;
		v->capf = cap;
	}
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	struct finding *f = &v->f[v->nf];
	f->file = strdup(file);
	f->what = strdup(what);
	if (f->file == NULL || f->what == NULL) {
		free(f->file);
		free(f->what);
		v->oom = 1;
		return;
	}
	f->is_note = is_note;
	f->has_offset = has_offset;
	f->offset = offset;
	v->nf++;
	if (!is_note)
		v->problems++;
}

static void reset(struct verify *v)
{
	for (size_t i = 0; i < v->nf; i++) {
		free(v->f[i].file);
		free(v->f[i].what);
	}
	free(v->f);
	for (size_t i = 0; i < v->nfiles; i++)
		free(v->files[i].name);
	free(v->files);
	manifest_state_free(&v->live);
	struct cli *c = v->c;
	const char *db = v->db;
	memset(v, 0, sizeof(*v));
	v->c = c;
	v->db = db;
	v->env = env_posix_default();
	v->check_order = 1;
	manifest_state_init(&v->live);
}

static char *file_path(const struct verify *v, const char *name)
{
	size_t n = strlen(v->db) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", v->db, name);
	return p;
}

/* Context of the file being read, for the readers' callbacks. */
struct ctx {
	struct verify *v;
	const char *path;
	/* MANIFEST */
	int live;
	/* WAL */
	uint64_t next_seq;
};

static void on_problem(void *arg, uint64_t offset, const char *what)
{
	struct ctx *x = arg;
	add(x->v, x->path, 0, 1, offset, "%s", what);
}

static void progress(struct verify *v, const char *path)
{
	progress_show("verify: %zu/%zu files, %s", v->done, v->todo, path);
}

/* ---- the directory and CURRENT ---- */

static int by_number(const void *a, const void *b)
{
	const struct dbfile *x = a, *y = b;
	if (x->type != y->type)
		return (int)x->type - (int)y->type;
	return (x->number > y->number) - (x->number < y->number);
}

static int list_files(struct verify *v)
{
	char **names = NULL;
	size_t n = 0;
	int rc = env_list_dir(v->env, v->db, &names, &n);
	if (rc)
		return rc;
	v->files = calloc(n + 1, sizeof(*v->files));
	if (v->files == NULL)
		rc = SHALE_ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct dbfile *f = &v->files[v->nfiles];
		if (!fname_parse(names[i], &f->number, &f->type))
			continue;
		if ((f->name = strdup(names[i])) == NULL) {
			rc = SHALE_ENOMEM;
			break;
		}
		v->nfiles++;
	}
	env_free_names(names, n);
	if (rc == 0)
		qsort(v->files, v->nfiles, sizeof(*v->files), by_number);
	return rc;
}

static const struct dbfile *find(const struct verify *v, enum file_type type, uint64_t number)
{
	for (size_t i = 0; i < v->nfiles; i++)
		if (v->files[i].type == type && v->files[i].number == number)
			return &v->files[i];
	return NULL;
}

/* Reads CURRENT into *seen (malloc'd, NULL when absent); sets the live
 * MANIFEST's number when CURRENT names one that exists. */
static void check_current(struct verify *v, char **seen)
{
	char *path = file_path(v, "CURRENT");
	struct buf b = BUF_INIT;
	*seen = NULL;
	if (path == NULL) {
		v->oom = 1;
		return;
	}
	if (!env_exists(v->env, path)) {
		add(v, path, 0, 0, 0, "missing: the database cannot be opened (shale repair rebuilds it)");
		goto out;
	}
	int rc = env_read_file(v->env, path, &b);
	if (rc) {
		add(v, path, 0, 0, 0, "%s", reader_reason(rc, path));
		goto out;
	}
	if ((*seen = malloc(b.len + 1)) == NULL) {
		v->oom = 1;
		goto out;
	}
	memcpy(*seen, b.data, b.len);
	(*seen)[b.len] = '\0';
	uint64_t num;
	enum file_type type;
	if (b.len < 2 || b.data[b.len - 1] != '\n' || memchr(b.data, '\0', b.len) != NULL) {
		add(v, path, 0, 0, 0, "does not hold a MANIFEST name and a newline");
		goto out;
	}
	(*seen)[b.len - 1] = '\0';
	if (!fname_parse(*seen, &num, &type) || type != FILE_MANIFEST) {
		add(v, path, 0, 0, 0, "names \"%s\", not a MANIFEST", *seen);
	} else if (find(v, FILE_MANIFEST, num) == NULL) {
		add(v, path, 0, 0, 0, "names %s, which does not exist", *seen);
	} else {
		v->have_live = 1;
		v->live_number = num;
	}
	(*seen)[b.len - 1] = '\n';
out:
	buf_free(&b);
	free(path);
}

/* ---- MANIFESTs ---- */

static void on_edit(void *arg, uint64_t offset, struct slice rec)
{
	struct ctx *x = arg;
	struct verify *v = x->v;
	struct version_edit e;
	edit_init(&e);
	v->edits++;
	int rc = edit_decode(&e, rec, x->path);
	if (rc) {
		add(v, x->path, 0, 1, offset, "edit: %s", reader_reason(rc, x->path));
	} else if (x->live) {
		for (size_t i = 0; i < e.nadded; i++) {
			const struct file_meta *f = e.added[i].f;
			if (ikey_compare(comparator_bytewise(), f->smallest, f->largest) > 0 && v->check_order)
				add(v, x->path, 0, 1, offset,
				    "edit adds table %06llu at level %d whose smallest key sorts after its largest",
				    (unsigned long long)f->number, e.added[i].level);
		}
		if (e.has_comparator && !(e.comparator.len == strlen("leveldb.BytewiseComparator") &&
		                          memcmp(e.comparator.data, "leveldb.BytewiseComparator", e.comparator.len) == 0)) {
			if (v->check_order)
				add(v, x->path, 1, 1, offset,
				    "the database uses comparator \"%.*s\": key order is not checked",
				    (int)e.comparator.len, e.comparator.data);
			v->check_order = 0;
		}
		if (manifest_state_apply(&v->live, &e))
			v->oom = 1;
	}
	edit_free(&e);
}

/* The live version's own consistency (what recovery checks). */
static void check_live_state(struct verify *v, const char *path)
{
	struct manifest_state *m = &v->live;
	if (!m->has_next_file)
		add(v, path, 0, 0, 0, "no next-file-number entry");
	if (!m->has_log_number)
		add(v, path, 0, 0, 0, "no log-number entry");
	if (!m->has_last_sequence)
		add(v, path, 0, 0, 0, "no last-sequence entry");
	else if (m->last_sequence > IKEY_SEQ_MAX)
		add(v, path, 0, 0, 0, "last sequence %llu out of range", (unsigned long long)m->last_sequence);
	manifest_state_sort(m);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		if (m->has_next_file && f->number >= m->next_file)
			add(v, path, 0, 0, 0, "table %06llu at level %d is not below the next file number %llu",
			    (unsigned long long)f->number, f->level, (unsigned long long)m->next_file);
		if (i == 0 || !v->check_order || f->level == 0)
			continue;
		const struct manifest_file *p = &m->files[i - 1];
		if (p->level == f->level &&
		    ikey_compare(comparator_bytewise(), buf_slice(&p->largest), buf_slice(&f->smallest)) >= 0)
			add(v, path, 0, 0, 0, "tables %06llu and %06llu overlap in level %d",
			    (unsigned long long)p->number, (unsigned long long)f->number, f->level);
	}
}

static void verify_manifests(struct verify *v, uint64_t *live_size)
{
	*live_size = 0;
	for (size_t i = 0; i < v->nfiles && !v->oom; i++) {
		const struct dbfile *df = &v->files[i];
		if (df->type != FILE_MANIFEST)
			continue;
		char *path = file_path(v, df->name);
		if (path == NULL) {
			v->oom = 1;
			break;
		}
		struct ctx x = { v, path, v->have_live && df->number == v->live_number, 0 };
		struct log_visitor lv = { on_edit, on_problem, &x };
		struct log_summary s;
		size_t problems_before = v->problems;
		progress(v, path);
		int rc = log_walk(path, &lv, &s);
		v->manifests++;
		v->done++;
		if (rc)
			add(v, path, 0, 0, 0, "%s", reader_reason(rc, path));
		else if (s.torn_tail)
			add(v, path, 1, 1, s.size - s.torn_tail,
			    "ends with a record cut short (%llu bytes): the trace of a crash, not damage",
			    (unsigned long long)s.torn_tail);
		if (x.live) {
			*live_size = s.size;
			if (rc == 0)
				check_live_state(v, path);
			v->live_trusted = v->problems == problems_before;
			if (!v->live_trusted)
				add(v, path, 1, 0, 0, "damaged: every table and WAL in the directory is read");
		} else if (v->have_live) {
			add(v, path, 1, 0, 0, "not the MANIFEST that CURRENT names");
		}
		free(path);
	}
}

/* ---- tables ---- */

static void key_text(struct slice ik, char *out, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (m) {
		print_ikey(m, ik, 0);
		fclose(m);
	}
	snprintf(out, cap, "%s", text ? text : "?");
	free(text);
}

/* Reads one table; mf is its MANIFEST record (NULL when there is no live
 * MANIFEST to hold it against). */
static void verify_table(struct verify *v, const char *path, const struct manifest_file *mf)
{
	struct ctx x = { v, path, 0, 0 };
	struct table_visitor tv = { NULL, on_problem, &x, v->check_order };
	struct table_summary s;
	progress(v, path);
	int rc = table_walk(path, &tv, &s);
	v->done++;
	if (rc) {
		if (rc == SHALE_ENOMEM)
			v->oom = 1;
		add(v, path, 0, 0, 0, "%s", reader_reason(rc, path));
		table_summary_free(&s);
		return;
	}
	v->tables++;
	v->entries += s.entries;
	v->table_bytes += s.size;
	if (mf) {
		char name[32], a[300], b[300];
		snprintf(name, sizeof(name), "MANIFEST-%06llu", (unsigned long long)v->live_number);
		if (s.size != mf->size)
			add(v, path, 0, 0, 0, "is %llu bytes, %s records %llu", (unsigned long long)s.size, name,
			    (unsigned long long)mf->size);
		if (s.entries > 0 && v->check_order &&
		    ikey_compare(comparator_bytewise(), buf_slice(&s.first_key), buf_slice(&mf->smallest)) < 0) {
			key_text(buf_slice(&s.first_key), a, sizeof(a));
			key_text(buf_slice(&mf->smallest), b, sizeof(b));
			add(v, path, 0, 0, 0, "first key %s sorts before the smallest key %s records, %s", a, name, b);
		}
		if (s.entries > 0 && v->check_order &&
		    ikey_compare(comparator_bytewise(), buf_slice(&s.last_key), buf_slice(&mf->largest)) > 0) {
			key_text(buf_slice(&s.last_key), a, sizeof(a));
			key_text(buf_slice(&mf->largest), b, sizeof(b));
			add(v, path, 0, 0, 0, "last key %s sorts after the largest key %s records, %s", a, name, b);
		}
	}
	table_summary_free(&s);
}

static const struct manifest_file *live_record(const struct verify *v, uint64_t number)
{
	for (size_t j = 0; v->have_live && j < v->live.nfiles; j++)
		if (v->live.files[j].number == number)
			return &v->live.files[j];
	return NULL;
}

static void verify_tables(struct verify *v)
{
	int trusted = v->have_live && v->live_trusted;
	if (trusted) {
		for (size_t i = 0; i < v->live.nfiles && !v->oom; i++) {
			const struct manifest_file *mf = &v->live.files[i];
			const struct dbfile *df = find(v, FILE_TABLE, mf->number);
			char name[64];
			snprintf(name, sizeof(name), "%06llu.ldb", (unsigned long long)mf->number);
			char *path = file_path(v, df ? df->name : name);
			if (path == NULL) {
				v->oom = 1;
				break;
			}
			if (df == NULL)
				add(v, path, 0, 0, 0, "named by MANIFEST-%06llu at level %d, but missing",
				    (unsigned long long)v->live_number, mf->level);
			else
				verify_table(v, path, mf);
			free(path);
		}
	}
	for (size_t i = 0; i < v->nfiles && !v->oom; i++) {
		const struct dbfile *df = &v->files[i];
		if (df->type != FILE_TABLE)
			continue;
		char *path = file_path(v, df->name);
		if (path == NULL) {
			v->oom = 1;
			break;
		}
		const struct manifest_file *mf = live_record(v, df->number);
		if (!trusted)
			verify_table(v, path, mf);
		else if (mf == NULL)
			add(v, path, 1, 0, 0, "not named by MANIFEST-%06llu (a leftover, or a table being written): not read",
			    (unsigned long long)v->live_number);
		free(path);
	}
}

/* ---- WALs ---- */

static void on_wal_record(void *arg, uint64_t offset, struct slice rec)
{
	struct ctx *x = arg;
	uint64_t first, count;
	x->v->wal_records++;
	int rc = batch_check(rec, x->path, &first, &count);
	if (rc == 0 && (rc = batch_check_follows(first, x->next_seq, x->path)) == 0)
		x->next_seq = first + count;
	if (rc)
		add(x->v, x->path, 0, 1, offset, "record: %s", reader_reason(rc, x->path));
}

static void verify_wals(struct verify *v)
{
	size_t n = 0;
	const struct dbfile **logs = calloc(v->nfiles + 1, sizeof(*logs));
	uint64_t *records = calloc(v->nfiles + 1, sizeof(*records));
	struct log_summary *sums = calloc(v->nfiles + 1, sizeof(*sums));
	char **paths = calloc(v->nfiles + 1, sizeof(*paths));
	if (logs == NULL || records == NULL || sums == NULL || paths == NULL) {
		v->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < v->nfiles; i++) {
		const struct dbfile *df = &v->files[i];
		if (df->type != FILE_LOG)
			continue;
		char *path = file_path(v, df->name);
		if (path == NULL) {
			v->oom = 1;
			goto out;
		}
		int live = !v->have_live || !v->live_trusted || df->number >= v->live.log_number ||
		           (v->live.has_prev_log_number && v->live.prev_log_number != 0 &&
		            df->number == v->live.prev_log_number);
		if (!live) {
			add(v, path, 1, 0, 0, "older than the log number MANIFEST-%06llu records (%llu): obsolete, not read",
			    (unsigned long long)v->live_number, (unsigned long long)v->live.log_number);
			free(path);
			continue;
		}
		paths[n] = path;
		logs[n++] = df;
	}
	uint64_t next_seq = 0;
	for (size_t i = 0; i < n && !v->oom; i++) {
		struct ctx x = { v, paths[i], 0, next_seq };
		struct log_visitor lv = { on_wal_record, on_problem, &x };
		uint64_t before = v->wal_records;
		progress(v, paths[i]);
		int rc = log_walk(paths[i], &lv, &sums[i]);
		v->done++;
		v->wals++;
		next_seq = x.next_seq;
		records[i] = v->wal_records - before;
		if (rc)
			add(v, paths[i], 0, 0, 0, "%s", reader_reason(rc, paths[i]));
	}
	for (size_t i = 0; i < n; i++) {
		if (sums[i].torn_tail == 0)
			continue;
		size_t later = i + 1;
		while (later < n && records[later] == 0)
			later++;
		uint64_t at = sums[i].size - sums[i].torn_tail;
		if (later < n)
			add(v, paths[i], 0, 1, at, "ends with a record cut short (%llu bytes) but %s follows with records",
			    (unsigned long long)sums[i].torn_tail, logs[later]->name);
		else
			add(v, paths[i], 1, 1, at,
			    "ends with a record cut short (%llu bytes): the trace of a crash (or a write in progress), not damage",
			    (unsigned long long)sums[i].torn_tail);
	}
out:
	for (size_t i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
	free(logs);
	free(records);
	free(sums);
}

/* ---- the command ---- */

static int has_db_files(const struct verify *v)
{
	for (size_t i = 0; i < v->nfiles; i++)
		if (v->files[i].type == FILE_CURRENT || v->files[i].type == FILE_MANIFEST ||
		    v->files[i].type == FILE_LOG || v->files[i].type == FILE_TABLE)
			return 1;
	return 0;
}

/* One pass. *current and *live_size say what CURRENT held and how large the
 * live MANIFEST was, to tell whether a writer changed them meanwhile. */
static int verify_once(struct verify *v, char **current, uint64_t *live_size)
{
	int rc = list_files(v);
	if (rc) {
		if (rc == SHALE_ENOMEM)
			v->oom = 1;
		else
			cli_lib_error(v->c, v->db, rc);
		return CLI_ERROR;
	}
	if (!has_db_files(v)) {
		cli_msg(v->c, "%s: not a database (no CURRENT, MANIFEST, WAL or table)", v->db);
		return CLI_ERROR;
	}
	for (size_t i = 0; i < v->nfiles; i++)
		v->todo += v->files[i].type == FILE_MANIFEST || v->files[i].type == FILE_LOG ||
		           v->files[i].type == FILE_TABLE;
	check_current(v, current);
	verify_manifests(v, live_size);
	verify_tables(v);
	verify_wals(v);
	return CLI_OK;
}

/* 1 when CURRENT or the live MANIFEST is not as the pass saw it. */
static int changed(struct verify *v, const char *current, uint64_t live_size)
{
	char *path = file_path(v, "CURRENT");
	struct buf b = BUF_INIT;
	int differs = 1;
	if (path && env_read_file(v->env, path, &b) == 0 && current && b.len == strlen(current) &&
	    memcmp(b.data, current, b.len) == 0) {
		char name[64];
		uint64_t size;
		snprintf(name, sizeof(name), "MANIFEST-%06llu", (unsigned long long)v->live_number);
		free(path);
		path = file_path(v, name);
		differs = !(path && v->have_live && env_file_size(v->env, path, &size) == 0 && size == live_size);
	}
	buf_free(&b);
	free(path);
	return differs;
}

int cmd_verify(struct cli *c)
{
	struct verify v;
	memset(&v, 0, sizeof(v));
	v.c = c;
	v.db = c->args[0];
	reset(&v);
	int status = CLI_OK;
	for (int attempt = 1;; attempt++) {
		char *current = NULL;
		uint64_t live_size = 0;
		status = verify_once(&v, &current, &live_size);
		int again = status == CLI_OK && !v.oom && v.problems > 0 && attempt < VERIFY_ATTEMPTS &&
		            current != NULL && changed(&v, current, live_size);
		free(current);
		if (!again)
			break;
		reset(&v);
	}
	progress_done();
	if (v.oom) {
		cli_msg(c, "out of memory");
		status = CLI_ERROR;
	}
	if (status == CLI_OK) {
		for (size_t i = 0; i < v.nf; i++) {
			const struct finding *f = &v.f[i];
			printf("%s: ", f->file);
			if (f->has_offset)
				printf("offset %llu: ", (unsigned long long)f->offset);
			printf("%s%s\n", f->is_note ? "note: " : "", f->what);
		}
		printf("%s: %llu MANIFEST%s (%llu edits), %llu table%s (%llu entries, %llu bytes), "
		       "%llu WAL%s (%llu records): ",
		       v.db, (unsigned long long)v.manifests, v.manifests == 1 ? "" : "s",
		       (unsigned long long)v.edits, (unsigned long long)v.tables, v.tables == 1 ? "" : "s",
		       (unsigned long long)v.entries, (unsigned long long)v.table_bytes,
		       (unsigned long long)v.wals, v.wals == 1 ? "" : "s", (unsigned long long)v.wal_records);
		if (v.problems)
			printf("%zu problem%s\n", v.problems, v.problems == 1 ? "" : "s");
		else
			printf("no problems\n");
		status = v.problems ? CLI_FAIL : CLI_OK;
		if (cli_flush_stdout(c))
			status = CLI_ERROR;
	}
	reset(&v);
	return status;
}
