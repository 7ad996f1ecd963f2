/*
 * Running a compaction: merge the inputs, drop what no reader can see, write
 * the outputs.
 *
 * An entry is dropped when a newer entry of the same user key is visible to
 * every live snapshot (its sequence is at or below the smallest snapshot),
 * and a deletion marker is dropped when, besides, no level below the output
 * level holds a file whose range contains its key. Outputs are cut at
 * max_file_size and where they would overlap too much of the level after
 * next. Inputs are read with every checksum verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compaction/compaction.h"
#include "lib/version/merger.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "sstable/table_builder.h"

struct output {
	uint64_t number;
	uint64_t size;
	struct buf smallest, largest;
};

struct job {
	struct compaction *c;
	const struct compaction_env *ce;
	const struct comparator *ucmp;
	const struct comparator *icmp;
	/* grandparent overlap tracking */
	int grandparent_index;
	int seen_key;
	uint64_t overlapped_bytes;
	/* base-level check: per level, how far into its files we are */
	int level_ptrs[NUM_LEVELS];
	/* outputs */
	struct output *outputs;
	int noutputs, capoutputs;
	struct wfile *file;
	struct table_builder *builder;
	char path[FNAME_MAX];
};

/* 1 when the output should end before ikey (too much overlap below). */
static int should_stop_before(struct job *j, struct slice ikey)
{
	struct compaction *c = j->c;
	while (j->grandparent_index < c->ngrandparents &&
	       comparator_compare(j->icmp, ikey, c->grandparents[j->grandparent_index]->largest) > 0) {
		if (j->seen_key)
			j->overlapped_bytes += c->grandparents[j->grandparent_index]->size;
		j->grandparent_index++;
	}
	j->seen_key = 1;
	if (j->overlapped_bytes > c->max_grandparent_overlap) {
		j->overlapped_bytes = 0;
		return 1;
	}
	return 0;
}

/* 1 when no level below the output holds a file whose range has ukey. Keys
 * arrive in order, so each level is scanned once over the whole job. */
static int is_base_level_for_key(struct job *j, struct slice ukey)
{
	struct version *v = j->c->input_version;
	for (int level = j->c->level + 2; level < NUM_LEVELS; level++) {
		struct file_meta **files = v->files[level];
		int n = v->nfiles[level];
		while (j->level_ptrs[level] < n) {
			struct file_meta *f = files[j->level_ptrs[level]];
			if (comparator_compare(j->ucmp, ukey, ikey_user_key(f->largest)) <= 0) {
				if (comparator_compare(j->ucmp, ukey, ikey_user_key(f->smallest)) >= 0)
					return 0;
				break;
			}
			j->level_ptrs[level]++;
		}
	}
	return 1;
}

static int open_output(struct job *j, struct slice first_key)
{
	if (j->noutputs == j->capoutputs) {
		int cap = j->capoutputs ? j->capoutputs * 2 : 8;
		struct output *o = realloc(j->outputs, (size_t)cap * sizeof(*o));
		if (o == NULL)
			return err_nomem("compaction outputs");
		j->outputs = o;
		j->capoutputs = cap;
	}
	uint64_t number = j->ce->new_output(j->ce->arg);
	if (number == 0)
		return err_nomem("compaction output number");
	struct output *o = &j->outputs[j->noutputs++];
	o->number = number;
	o->size = 0;
	buf_init(&o->smallest);
	buf_init(&o->largest);
	fname_table(j->path, j->ce->dbname, number);
	int rc = buf_set(&o->smallest, first_key.data, first_key.size);
	if (rc == 0)
		rc = env_open_write(j->ce->env, j->path, &j->file);
	if (rc == 0)
		rc = table_builder_create(j->ce->topt, j->file, j->path, &j->builder);
	return rc;
}

static int finish_output(struct job *j)
{
	struct output *o = &j->outputs[j->noutputs - 1];
	int rc = table_builder_finish(j->builder);
	if (rc == 0)
		rc = wfile_sync(j->file);
	o->size = table_builder_file_size(j->builder);
	table_builder_destroy(j->builder);
	j->builder = NULL;
	int crc = wfile_close(j->file);
	j->file = NULL;
	return rc ? rc : crc;
}

static void abandon(struct job *j)
{
	table_builder_destroy(j->builder);
	j->builder = NULL;
	wfile_close(j->file);
	j->file = NULL;
	for (int i = 0; i < j->noutputs; i++) {
		char path[FNAME_MAX];
		fname_table(path, j->ce->dbname, j->outputs[i].number);
		env_remove(j->ce->env, path);
		j->ce->drop_output(j->ce->arg, j->outputs[i].number);
	}
}

static struct iter *input_iterator(struct job *j)
{
	struct compaction *c = j->c;
	struct version_set *vs = c->input_version->vset;
	struct read_opts ro = { 1, 0, 0, 0 }; /* verify every checksum; do not fill the cache */
	struct iter **children = malloc(((size_t)c->ninputs[0] + 2) * sizeof(*children));
	int n = 0;
	if (children == NULL) {
		err_nomem("compaction iterator");
		return NULL;
	}
	int ok = 1;
	if (c->level == 0) {
		for (int i = 0; ok && i < c->ninputs[0]; i++) {
			struct file_meta *f = c->inputs[0][i];
			ok = (children[n] = table_cache_iter(vs->table_cache, &ro, f->number, f->size)) != NULL;
			n += ok;
		}
	} else if (c->ninputs[0] > 0) {
		ok = (children[n] = vset_concat_iter(vs, &ro, c->inputs[0], c->ninputs[0])) != NULL;
		n += ok;
	}
	if (ok && c->ninputs[1] > 0) {
		ok = (children[n] = vset_concat_iter(vs, &ro, c->inputs[1], c->ninputs[1])) != NULL;
		n += ok;
	}
	if (!ok) {
		for (int i = 0; i < n; i++)
			iter_destroy(children[i]);
		free(children);
		return NULL;
	}
	struct iter *it = merger_create(vs->icmp, children, n);
	free(children);
	return it;
}

int compaction_run(struct compaction *c, const struct compaction_env *ce, struct compaction_stats *st)
{
	struct job j;
	memset(&j, 0, sizeof(j));
	j.c = c;
	j.ce = ce;
	j.ucmp = c->input_version->vset->ucmp;
	j.icmp = c->input_version->vset->icmp;
	memset(st, 0, sizeof(*st));
	st->bytes_read = compaction_input_bytes(c, 0) + compaction_input_bytes(c, 1);

	struct buf current = BUF_INIT;
	int has_current = 0;
	uint64_t last_seq = UINT64_MAX;
	int rc = 0;
	struct iter *it = input_iterator(&j);
	if (it == NULL)
		return SHALE_ENOMEM;

	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		if (atomic_load_explicit(ce->shutting_down, memory_order_relaxed)) {
			rc = err_set(SHALE_ECLOSED, "%s: compaction abandoned at close", ce->dbname);
			break;
		}
		struct slice key = iter_key(it);
		struct parsed_ikey p;
		if (!ikey_parse(key, &p)) {
			rc = err_set(SHALE_ECORRUPT, "%s: compaction of level %d met a malformed key",
			             ce->dbname, c->level);
			break;
		}
		/* Inputs that are out of order (a table written wrong, with valid
		 * checksums) would make an output out of order: damage, reported. */
		int order = has_current ? comparator_compare(j.ucmp, p.user_key, buf_slice(&current)) : 1;
		if (order < 0 || (order == 0 && p.seq >= last_seq)) {
			rc = err_set(SHALE_ECORRUPT, "%s: compaction of level %d: input keys out of order in the tables read "
			             "(level %d: %d files from %06llu, level %d: %d files)", ce->dbname, c->level, c->level,
			             c->ninputs[0], (unsigned long long)(c->ninputs[0] ? c->inputs[0][0]->number : 0),
			             c->level + 1, c->ninputs[1]);
			break;
		}
		if (order != 0) {
			/* Outputs are cut only between user keys: every version of a
			 * key stays in one file of the output level. */
			if (j.builder && (should_stop_before(&j, key) ||
			                  table_builder_file_size(j.builder) >= c->max_output_file_size)) {
				rc = finish_output(&j);
				if (rc)
					break;
			}
			rc = buf_set(&current, p.user_key.data, p.user_key.size);
			if (rc)
				break;
			has_current = 1;
			last_seq = UINT64_MAX;
		}
		int drop = 0;
		if (last_seq <= ce->smallest_snapshot) {
			/* a newer entry of this key is visible to every snapshot */
			drop = 1;
		} else if (p.type == IKEY_TYPE_DELETION && p.seq <= ce->smallest_snapshot &&
		           is_base_level_for_key(&j, p.user_key)) {
			/* nothing older lies below, and no snapshot needs the marker */
			drop = 1;
		}
		last_seq = p.seq;
		if (drop) {
			st->entries_dropped++;
			continue;
		}
		if (j.builder == NULL && (rc = open_output(&j, key)) != 0)
			break;
		rc = table_builder_add(j.builder, key, iter_value(it));
		if (rc == 0)
			rc = buf_set(&j.outputs[j.noutputs - 1].largest, key.data, key.size);
		if (rc)
			break;
	}
	if (rc == 0)
		rc = iter_status(it); /* damage in an input fails the compaction */
	if (rc == 0 && j.builder)
		rc = finish_output(&j);
	iter_destroy(it);
	/* The outputs' directory entries are durable before the MANIFEST names them. */
	if (rc == 0 && j.noutputs > 0)
		rc = env_sync_dir(ce->env, ce->dbname);

	for (int which = 0; rc == 0 && which < 2; which++)
		for (int i = 0; rc == 0 && i < c->ninputs[which]; i++)
			rc = edit_delete_file(&c->edit, c->level + which, c->inputs[which][i]->number);
	for (int i = 0; rc == 0 && i < j.noutputs; i++) {
		struct output *o = &j.outputs[i];
		st->bytes_written += o->size;
		rc = edit_add_file(&c->edit, c->level + 1, o->number, o->size, buf_slice(&o->smallest),
		                   buf_slice(&o->largest));
	}
	if (rc)
		abandon(&j);
	else
		logger_printf(ce->info_log, "compacted %d@%d + %d@%d files => %d files, %llu bytes (%llu entries dropped)%s",
		              c->ninputs[0], c->level, c->ninputs[1], c->level + 1, j.noutputs,
		              (unsigned long long)st->bytes_written, (unsigned long long)st->entries_dropped,
		              c->seek_triggered ? "; for reads charged to a file" : "");
	for (int i = 0; i < j.noutputs; i++) {
		buf_free(&j.outputs[i].smallest);
		buf_free(&j.outputs[i].largest);
	}
	free(j.outputs);
	buf_free(&current);
	return rc;
}
