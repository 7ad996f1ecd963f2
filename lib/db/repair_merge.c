/*
 * The merge of a repair: every readable entry of the old tables and of the
 * replayed WALs, sorted by internal key (user key ascending, sequence
 * descending), so that the first entry of each user key is its newest
 * version wherever it came from. Only that entry is kept; file numbers play
 * no part in which version wins.
 *
 * A newest entry that is a deletion is kept too. The new tables alone would
 * not need it, but the old files may outlive the new MANIFEST (a crash
 * before they are removed, a removal that fails), and a second repair reads
 * them again: the deletion marker is what keeps their older versions of the
 * key hidden. Compaction drops it later, as any marker at the bottom level.
 *
 * At most max_open_files - MERGE_RESERVED_FILES sources are open at once.
 * With more, groups of them are first merged into temporary tables. Every
 * table is written as NNNNNN.dbtmp; a final one is synced and then renamed
 * to NNNNNN.ldb, so a .ldb this repair wrote is always whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/repair.h"
#include "lib/util/error.h"
#include "lib/version/merger.h"
#include "sstable/table_builder.h"
#include "sstable/table_salvage.h"

#define MERGE_RESERVED_FILES 10

int repair_add_source(struct repairer *r, const struct repair_source *s)
{
	if (r->nsources == r->capsources) {
		size_t cap = r->capsources ? 2 * r->capsources : 16;
		struct repair_source *p = realloc(r->sources, cap * sizeof(*p));
		if (p == NULL)
			return err_nomem("repair sources");
		r->sources = p;
		r->capsources = cap;
	}
	r->sources[r->nsources++] = *s;
	return 0;
}

static int add_output(struct repairer *r, uint64_t number, uint64_t size, struct slice smallest,
                      struct slice largest)
{
	if (r->noutputs == r->capoutputs) {
		size_t cap = r->capoutputs ? 2 * r->capoutputs : 16;
		struct repair_output *p = realloc(r->outputs, cap * sizeof(*p));
		if (p == NULL)
			return err_nomem("repair outputs");
		r->outputs = p;
		r->capoutputs = cap;
	}
	struct repair_output *o = &r->outputs[r->noutputs];
	o->number = number;
	o->size = size;
	buf_init(&o->smallest);
	buf_init(&o->largest);
	int rc = buf_set(&o->smallest, smallest.data, smallest.size);
	if (rc == 0)
		rc = buf_set(&o->largest, largest.data, largest.size);
	if (rc) {
		buf_free(&o->smallest);
		buf_free(&o->largest);
		return rc;
	}
	r->noutputs++;
	return 0;
}

/* The table a merge pass is writing. */
struct writer {
	struct repairer *r;
	int final;                /* an output: synced, then renamed to .ldb */
	uint64_t number;          /* 0 while no table is open */
	char tmp[FNAME_MAX];      /* NNNNNN.dbtmp being written */
	struct wfile *file;
	struct table_builder *tb;
	struct buf smallest, largest;
};

static int writer_open(struct writer *w, struct slice first_key)
{
	struct repairer *r = w->r;
	w->number = repair_new_number(r);
	fname_temp(w->tmp, r->dbname, w->number);
	/* temporaries left behind by a failure are deleted when the repair ends */
	int rc = env_open_write(r->env, w->tmp, &w->file);
	if (rc == 0)
		rc = table_builder_create(&r->topt, w->file, w->tmp, &w->tb);
	if (rc == 0)
		rc = buf_set(&w->smallest, first_key.data, first_key.size);
	return rc;
}

static int writer_add(struct writer *w, struct slice key, struct slice value)
{
	int rc = 0;
	if (w->number == 0)
		rc = writer_open(w, key);
	if (rc == 0)
		rc = table_builder_add(w->tb, key, value);
	if (rc == 0)
		rc = buf_set(&w->largest, key.data, key.size);
	return rc;
}

/* Drops the open table, if any (its file too when it is an output). */
static void writer_abandon(struct writer *w)
{
	table_builder_destroy(w->tb);
	w->tb = NULL;
	if (w->file) {
		wfile_close(w->file);
		w->file = NULL;
		if (w->final)
			env_remove(w->r->env, w->tmp);
	}
	w->number = 0;
}

/* Finishes the open table, if any. *number is the table's (0 if none). */
static int writer_finish(struct writer *w, uint64_t *number)
{
	struct repairer *r = w->r;
	*number = 0;
	if (w->number == 0)
		return 0;
	int rc = table_builder_finish(w->tb);
	uint64_t size = table_builder_file_size(w->tb);
	if (rc == 0 && w->final)
		rc = wfile_sync(w->file);
	table_builder_destroy(w->tb);
	w->tb = NULL;
	int crc = wfile_close(w->file);
	w->file = NULL;
	if (rc == 0)
		rc = crc;
	if (rc == 0 && w->final) {
		char path[FNAME_MAX];
		fname_table(path, r->dbname, w->number);
		rc = env_rename(r->env, w->tmp, path);
		if (rc == 0)
			rc = add_output(r, w->number, size, buf_slice(&w->smallest), buf_slice(&w->largest));
		if (rc)
			env_remove(r->env, w->tmp);
	}
	if (rc == 0)
		*number = w->number;
	w->number = 0;
	return rc;
}

/* An iterator over one source. For an old table that cannot be read at all
 * (its footer or index is damaged) the input is marked and *it is NULL. */
static int source_open(struct repairer *r, struct repair_source *s, struct table_salvage_report *rep,
                       struct iter **it)
{
	*it = NULL;
	if (s->kind == REPAIR_SRC_MEM) {
		*it = memtable_iter(s->mem);
		return *it ? 0 : SHALE_ENOMEM;
	}
	char path[FNAME_MAX + 64];
	if (s->kind == REPAIR_SRC_TABLE)
		snprintf(path, sizeof(path), "%s/%s", r->dbname, s->in->name);
	else
		fname_temp(path, r->dbname, s->number);
	uint64_t size;
	struct rand_file *f = NULL;
	int rc = env_file_size(r->env, path, &size);
	if (rc == 0)
		rc = env_open_rand(r->env, path, &f);
	if (rc)
		return rc; /* not the file's damage: the repair stops */
	rc = table_salvage_open(&r->topt, f, path, size, rep, it);
	if (rc && s->kind == REPAIR_SRC_TABLE && (rc == SHALE_ECORRUPT || rc == SHALE_EIO)) {
		s->in->damaged = 1;
		s->in->unreadable = 1;
		snprintf(s->in->reason, sizeof(s->in->reason), "%s", err_msg());
		return 0;
	}
	return rc;
}

/* After a pass: what the salvage reads of old tables found goes to their
 * inputs; a temporary of this repair must have read back whole. */
static int take_reports(struct repair_source *srcs, const struct table_salvage_report *reps, size_t n,
                        const char *dbname)
{
	for (size_t i = 0; i < n; i++) {
		const struct table_salvage_report *rep = &reps[i];
		if (srcs[i].kind == REPAIR_SRC_TEMP && rep->blocks_damaged)
			return err_set(SHALE_ECORRUPT, "%s: a table written by this repair reads back damaged: %s",
			               dbname, rep->first_damage);
		if (srcs[i].kind != REPAIR_SRC_TABLE)
			continue;
		struct repair_input *in = srcs[i].in;
		in->kept += rep->entries;
		in->kept_bytes += rep->bytes;
		in->dropped += rep->blocks_damaged;
		if (rep->blocks_damaged) {
			in->damaged = 1;
			if (in->reason[0] == '\0')
				snprintf(in->reason, sizeof(in->reason), "%s", rep->first_damage);
		}
	}
	return 0;
}

/* Merges srcs[0..n) into one run of each user key's newest entry. final:
 * the run is written as outputs cut at max_file_size; otherwise it becomes
 * one temporary (*temp, 0 when empty). */
static int merge_pass(struct repairer *r, struct repair_source *srcs, size_t n, int final, uint64_t *temp)
{
	struct iter **its = calloc(n ? n : 1, sizeof(*its));
	struct table_salvage_report *reps = calloc(n ? n : 1, sizeof(*reps));
	struct iter *m = NULL;
	struct writer w = { r, final, 0, "", NULL, NULL, BUF_INIT, BUF_INIT };
	struct buf last = BUF_INIT;
	int have_last = 0, nits = 0, rc = 0;
	uint64_t number = 0;

	if (its == NULL || reps == NULL) {
		rc = err_nomem("repair merge");
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct iter *it;
		rc = source_open(r, &srcs[i], &reps[i], &it);
		if (rc == 0 && it)
			its[nits++] = it;
	}
	if (rc) {
		for (int i = 0; i < nits; i++)
			iter_destroy(its[i]);
		goto out;
	}
	m = merger_create(&r->icmp.base, its, nits);
	if (m == NULL) {
		rc = err_nomem("repair merge");
		goto out;
	}
	for (iter_seek_first(m); iter_valid(m); iter_next(m)) {
		struct slice k = iter_key(m), v = iter_value(m);
		struct parsed_ikey pk;
		if (!ikey_parse(k, &pk)) {
			/* the salvage iterator and the memtable yield none */
			rc = err_set(SHALE_ECORRUPT, "%s: malformed internal key in the repair merge", r->dbname);
			break;
		}
		if (pk.seq > r->max_seq)
			r->max_seq = pk.seq;
		if (have_last && comparator_compare(r->ucmp, pk.user_key, buf_slice(&last)) == 0) {
			r->shadowed++;
			continue;
		}
		if ((rc = buf_set(&last, pk.user_key.data, pk.user_key.size)) != 0)
			break;
		have_last = 1;
		if (final && w.number && table_builder_file_size(w.tb) >= r->opt->max_file_size)
			rc = writer_finish(&w, &number);
		if (rc == 0)
			rc = writer_add(&w, k, v);
		if (rc)
			break;
		if (final) {
			r->out_entries++;
			r->out_bytes += k.size + v.size;
			r->deleted += pk.type == IKEY_TYPE_DELETION;
		}
	}
	if (rc == 0)
		rc = iter_status(m);
	/* the reports are final once the iterators are gone */
	iter_destroy(m);
	m = NULL;
	if (rc == 0)
		rc = take_reports(srcs, reps, n, r->dbname);
	if (rc == 0)
		rc = writer_finish(&w, &number);
	if (rc == 0 && !final)
		*temp = number;
	/* temporaries this pass read are not needed any more */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (srcs[i].kind == REPAIR_SRC_TEMP) {
			char path[FNAME_MAX];
			fname_temp(path, r->dbname, srcs[i].number);
			env_remove(r->env, path); /* else it goes when the repair ends */
		}
	}
out:
	iter_destroy(m);
	if (rc)
		writer_abandon(&w);
	buf_free(&w.smallest);
	buf_free(&w.largest);
	buf_free(&last);
	free(its);
	free(reps);
	return rc;
}

int repair_spill_memtable(struct repairer *r, struct memtable *mem)
{
	struct repair_source s = { REPAIR_SRC_MEM, NULL, mem, 0 };
	uint64_t temp = 0;
	int rc = merge_pass(r, &s, 1, 0, &temp);
	if (rc == 0 && temp) {
		struct repair_source t = { REPAIR_SRC_TEMP, NULL, NULL, temp };
		rc = repair_add_source(r, &t);
	}
	return rc;
}

static void release_sources(struct repair_source *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].kind == REPAIR_SRC_MEM)
			memtable_unref(s[i].mem);
}

int repair_merge_all(struct repairer *r)
{
	/* options_validate keeps max_open_files >= 20: at least 10 wide */
	size_t width = (size_t)r->opt->max_open_files - MERGE_RESERVED_FILES;
	int rc = 0;
	while (rc == 0 && r->nsources > width) {
		uint64_t temp = 0;
		rc = merge_pass(r, r->sources, width, 0, &temp);
		if (rc)
			break;
		release_sources(r->sources, width);
		memmove(r->sources, r->sources + width, (r->nsources - width) * sizeof(*r->sources));
		r->nsources -= width;
		r->merge_passes++;
		if (temp) {
			struct repair_source t = { REPAIR_SRC_TEMP, NULL, NULL, temp };
			rc = repair_add_source(r, &t);
		}
	}
	if (rc == 0)
		rc = merge_pass(r, r->sources, r->nsources, 1, NULL);
	release_sources(r->sources, r->nsources);
	r->nsources = 0;
	return rc;
}
