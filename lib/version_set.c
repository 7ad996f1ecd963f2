#include "lib/version_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "sstable/two_level_iter.h"
#include "wal/wal_reader.h"

/* ---- versions ---- */

static struct version *version_new(struct version_set *vs)
{
	struct version *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		err_nomem("version");
		return NULL;
	}
	v->vset = vs;
	v->prev = v->next = v;
	return v;
}

static void version_free(struct version *v)
{
	for (int level = 0; level < NUM_LEVELS; level++) {
		for (int i = 0; i < v->nfiles[level]; i++) {
			struct file_meta *f = v->files[level][i];
			if (--f->refs == 0)
				file_meta_free(f);
		}
		free(v->files[level]);
	}
	free(v);
}

void version_ref(struct version *v)
{
	mutex_assert_held(v->vset->mu);
	v->refs++;
}

void version_unref(struct version *v)
{
	if (v == NULL)
		return;
	mutex_assert_held(v->vset->mu);
	if (--v->refs == 0) {
		v->prev->next = v->next;
		v->next->prev = v->prev;
		version_free(v);
	}
}

/* Makes v current (taking a reference) and drops the old current's. */
static void install_version(struct version_set *vs, struct version *v)
{
	v->refs++;
	v->prev = vs->dummy.prev;
	v->next = &vs->dummy;
	v->prev->next = v;
	v->next->prev = v;
	struct version *old = vs->current;
	vs->current = v;
	if (old)
		version_unref(old);
}

/* ---- building a version from a base and edits ---- */

struct builder {
	struct version_set *vs;
	struct u64map files[NUM_LEVELS]; /* number -> file_meta */
	struct u64map owned;             /* metas the builder allocated (not yet in a version) */
};

static int builder_init(struct builder *b, struct version_set *vs, struct version *base)
{
	b->vs = vs;
	u64map_init(&b->owned);
	for (int level = 0; level < NUM_LEVELS; level++)
		u64map_init(&b->files[level]);
	if (base == NULL)
		return 0;
	for (int level = 0; level < NUM_LEVELS; level++)
		for (int i = 0; i < base->nfiles[level]; i++) {
			struct file_meta *f = base->files[level][i];
			int rc = u64map_put(&b->files[level], f->number, f);
			if (rc)
				return rc;
		}
	return 0;
}

static void builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->owned.cap; i++)
		if (u64map_slot_live(&b->owned.slots[i])) {
			struct file_meta *f = b->owned.slots[i].value;
			if (f->refs == 0)
				file_meta_free(f);
		}
	u64map_free(&b->owned);
	for (int level = 0; level < NUM_LEVELS; level++)
		u64map_free(&b->files[level]);
}

static int builder_apply(struct builder *b, const struct version_edit *e)
{
	for (size_t i = 0; i < e->ndeleted; i++) {
		const struct edit_deleted *d = &e->deleted[i];
		u64map_remove(&b->files[d->level], d->number);
	}
	for (size_t i = 0; i < e->nadded; i++) {
		const struct file_meta *src = e->added[i].f;
		struct file_meta *f = file_meta_new(src->number, src->size, src->smallest, src->largest);
		if (f == NULL)
			return SHALE_ENOMEM;
		/* one meta per (level, number); a re-add replaces the old record */
		int rc = u64map_put(&b->owned, (uint64_t)(uintptr_t)f, f);
		if (rc == 0)
			rc = u64map_put(&b->files[e->added[i].level], f->number, f);
		if (rc) {
			u64map_remove(&b->owned, (uint64_t)(uintptr_t)f);
			file_meta_free(f);
			return rc;
		}
	}
	return 0;
}

static int by_smallest(const void *a, const void *b, void *arg)
{
	const struct comparator *icmp = arg;
	const struct file_meta *fa = *(struct file_meta *const *)a;
	const struct file_meta *fb = *(struct file_meta *const *)b;
	int r = icmp->compare(icmp, fa->smallest, fb->smallest);
	if (r == 0)
		r = (fa->number > fb->number) - (fa->number < fb->number);
	return r;
}

static int by_number_desc(const void *a, const void *b, void *arg)
{
	(void)arg;
	const struct file_meta *fa = *(struct file_meta *const *)a;
	const struct file_meta *fb = *(struct file_meta *const *)b;
	return (fa->number < fb->number) - (fa->number > fb->number);
}

/* Produces the version; checks that levels >= 1 are disjoint. what names the
 * source for messages. */
static int builder_save(struct builder *b, struct version **out, const char *what)
{
	struct version_set *vs = b->vs;
	struct version *v = version_new(vs);
	*out = NULL;
	if (v == NULL)
		return SHALE_ENOMEM;
	for (int level = 0; level < NUM_LEVELS; level++) {
		struct u64map *m = &b->files[level];
		if (m->n == 0)
			continue;
		v->files[level] = malloc(m->n * sizeof(struct file_meta *));
		if (v->files[level] == NULL) {
			version_free(v);
			return err_nomem("version");
		}
		int n = 0;
		for (size_t i = 0; i < m->cap; i++)
			if (u64map_slot_live(&m->slots[i]))
				v->files[level][n++] = m->slots[i].value;
		qsort_r(v->files[level], (size_t)n, sizeof(struct file_meta *),
		        level == 0 ? by_number_desc : by_smallest, (void *)vs->icmp);
		v->nfiles[level] = n;
		for (int i = 0; i < n; i++) {
			struct file_meta *f = v->files[level][i];
			f->refs++;
			v->level_bytes[level] += f->size;
			if (level > 0 && i > 0 &&
			    vs->icmp->compare(vs->icmp, v->files[level][i - 1]->largest, f->smallest) >= 0) {
				int rc = err_set(SHALE_ECORRUPT,
				                 "corruption: %s: files %06llu and %06llu overlap in level %d", what,
				                 (unsigned long long)v->files[level][i - 1]->number,
				                 (unsigned long long)f->number, level);
				v->nfiles[level] = i + 1;
				version_free(v);
				return rc;
			}
		}
	}
	*out = v;
	return 0;
}

/* ---- the set ---- */

int vset_init(struct version_set *vs, const char *dbname, struct env *env,
              const struct shale_options *opt, struct table_cache *tc,
              const struct comparator *icmp, struct logger *info_log, struct mutex *mu)
{
	memset(vs, 0, sizeof(*vs));
	vs->dbname = dbname;
	vs->env = env;
	vs->opt = opt;
	vs->table_cache = tc;
	vs->icmp = icmp;
	vs->ucmp = options_comparator(opt);
	vs->info_log = info_log;
	vs->mu = mu;
	vs->next_file_number = 2;
	vs->dummy.prev = vs->dummy.next = &vs->dummy;
	vs->dummy.vset = vs;
	for (int level = 0; level < NUM_LEVELS; level++)
		buf_init(&vs->compact_pointer[level]);
	uint64_t max = opt->max_bytes_for_level_base;
	for (int level = 1; level < NUM_LEVELS; level++) {
		vs->level_max_bytes[level] = max;
		max = max > UINT64_MAX / (uint64_t)opt->level_multiplier ? UINT64_MAX : max * (uint64_t)opt->level_multiplier;
	}
	int rc = cond_init(&vs->manifest_cv);
	if (rc)
		return rc;
	struct version *v = version_new(vs);
	if (v == NULL) {
		cond_destroy(&vs->manifest_cv);
		return SHALE_ENOMEM;
	}
	mutex_lock(mu);
	install_version(vs, v);
	mutex_unlock(mu);
	return 0;
}

void vset_destroy(struct version_set *vs)
{
	if (vs->current) {
		mutex_lock(vs->mu);
		version_unref(vs->current);
		vs->current = NULL;
		mutex_unlock(vs->mu);
	}
	wfile_close(vs->manifest_file);
	vs->manifest_file = NULL;
	for (int level = 0; level < NUM_LEVELS; level++)
		buf_free(&vs->compact_pointer[level]);
	cond_destroy(&vs->manifest_cv);
}

/* ---- recovery ---- */

static int read_current(struct version_set *vs, char *manifest_path, uint64_t *number)
{
	char path[FNAME_MAX];
	struct buf b = BUF_INIT;
	fname_current(path, vs->dbname);
	int rc = env_read_file(vs->env, path, &b);
	if (rc) {
		buf_free(&b);
		return rc;
	}
	uint64_t num;
	enum file_type type;
	char name[64];
	if (b.len == 0 || b.data[b.len - 1] != '\n' || b.len > sizeof(name)) {
		buf_free(&b);
		return err_set(SHALE_ECORRUPT, "corruption: %s: does not hold a MANIFEST name and a newline", path);
	}
	size_t len = b.len - 1;
	memcpy(name, b.data, len);
	name[len] = '\0';
	buf_free(&b);
	if (strlen(name) != len || !fname_parse(name, &num, &type) || type != FILE_MANIFEST)
		return err_set(SHALE_ECORRUPT, "corruption: %s: names \"%s\", not a MANIFEST", path, name);
	fname_manifest(manifest_path, vs->dbname, num);
	*number = num;
	if (!env_exists(vs->env, manifest_path))
		return err_set(SHALE_ECORRUPT, "corruption: %s names %s, which does not exist", path, manifest_path);
	return 0;
}

int vset_recover(struct version_set *vs)
{
	char mpath[FNAME_MAX];
	uint64_t manifest_number = 0;
	int rc = read_current(vs, mpath, &manifest_number);
	if (rc)
		return rc;

	struct seq_file *f = NULL;
	struct wal_reader *r = NULL;
	struct builder b;
	struct version_edit e;
	struct wal_first_damage rep = { 0, "" };
	struct wal_reporter reporter = { wal_first_damage_report, &rep };
	int have_log = 0, have_prev = 0, have_next = 0, have_seq = 0;
	uint64_t log_number = 0, prev_log = 0, next_file = 0, last_seq = 0;
	struct version *v = NULL;

	edit_init(&e);
	rc = builder_init(&b, vs, NULL);
	if (rc)
		goto out;
	rc = env_open_seq(vs->env, mpath, &f);
	if (rc)
		goto out;
	rc = wal_reader_create(f, &reporter, 1, &r);
	if (rc)
		goto out;
	for (;;) {
		struct slice record;
		rc = wal_reader_read(r, &record);
		if (rep.damaged) {
			rc = err_set(SHALE_ECORRUPT, "corruption: %s: %s", mpath, rep.reason);
			goto out;
		}
		if (rc <= 0)
			break;
		edit_clear(&e);
		rc = edit_decode(&e, record, mpath);
		if (rc)
			goto out;
		if (e.has_comparator) {
			const char *want = vs->ucmp->name(vs->ucmp);
			if (e.comparator.len != strlen(want) || memcmp(e.comparator.data, want, e.comparator.len) != 0) {
				rc = err_set(SHALE_EINVAL,
				             "invalid argument: %s: the database uses comparator \"%.*s\", the options give \"%s\"",
				             vs->dbname, (int)e.comparator.len, e.comparator.data, want);
				goto out;
			}
		}
		rc = builder_apply(&b, &e);
		if (rc)
			goto out;
		for (size_t i = 0; i < e.npointers; i++) {
			rc = buf_set(&vs->compact_pointer[e.pointers[i].level], e.pointers[i].key.data,
			             e.pointers[i].key.len);
			if (rc)
				goto out;
		}
		if (e.has_log_number) {
			have_log = 1;
			log_number = e.log_number;
		}
		if (e.has_prev_log_number) {
			have_prev = 1;
			prev_log = e.prev_log_number;
		}
		if (e.has_next_file_number) {
			have_next = 1;
			next_file = e.next_file_number;
		}
		if (e.has_last_sequence) {
			have_seq = 1;
			last_seq = e.last_sequence;
		}
	}
	if (rc < 0)
		goto out;
	rc = 0;
	if (!have_next)
		rc = err_set(SHALE_ECORRUPT, "corruption: %s: no next-file-number entry", mpath);
	else if (!have_log)
		rc = err_set(SHALE_ECORRUPT, "corruption: %s: no log-number entry", mpath);
	else if (!have_seq)
		rc = err_set(SHALE_ECORRUPT, "corruption: %s: no last-sequence entry", mpath);
	else if (last_seq > IKEY_SEQ_MAX)
		rc = err_set(SHALE_ECORRUPT, "corruption: %s: last sequence %llu out of range", mpath,
		             (unsigned long long)last_seq);
	if (rc)
		goto out;
	if (!have_prev)
		prev_log = 0;

	mutex_lock(vs->mu);
	rc = builder_save(&b, &v, mpath);
	if (rc == 0) {
		install_version(vs, v);
		vs->next_file_number = next_file;
		vs->log_number = log_number;
		vs->prev_log_number = prev_log;
		vs->last_sequence = last_seq;
		vset_mark_file_number_used(vs, log_number);
		vset_mark_file_number_used(vs, prev_log);
		vset_mark_file_number_used(vs, manifest_number);
		for (int level = 0; level < NUM_LEVELS; level++)
			for (int i = 0; i < v->nfiles[level]; i++)
				vset_mark_file_number_used(vs, v->files[level][i]->number);
		/* The live MANIFEST stays CURRENT's until the first log_and_apply
		 * writes a fresh one holding a snapshot. */
		vs->manifest_file_number = manifest_number;
	}
	mutex_unlock(vs->mu);

out:
	/* (recovery runs before any other thread: the metas the new version
	 * took have refs > 0 and stay) */
	builder_free(&b);
	wal_reader_destroy(r);
	seq_file_close(f);
	edit_free(&e);
	return rc;
}

/* ---- MANIFEST writing ---- */

int vset_snapshot_edit(struct version_set *vs, struct version_edit *e)
{
	mutex_assert_held(vs->mu);
	int rc = edit_set_comparator(e, vs->ucmp->name(vs->ucmp));
	for (int level = 0; rc == 0 && level < NUM_LEVELS; level++)
		if (vs->compact_pointer[level].len > 0)
			rc = edit_set_compact_pointer(e, level, buf_slice(&vs->compact_pointer[level]));
	for (int level = 0; rc == 0 && level < NUM_LEVELS; level++)
		for (int i = 0; rc == 0 && i < vs->current->nfiles[level]; i++) {
			const struct file_meta *f = vs->current->files[level][i];
			rc = edit_add_file(e, level, f->number, f->size, f->smallest, f->largest);
		}
	edit_set_log_number(e, vs->log_number);
	edit_set_prev_log_number(e, vs->prev_log_number);
	edit_set_next_file(e, vs->next_file_number);
	edit_set_last_sequence(e, vs->last_sequence);
	return rc;
}

int manifest_set_current(struct env *env, const char *dbname, uint64_t number)
{
	char tmp[FNAME_MAX], cur[FNAME_MAX], contents[64];
	fname_temp(tmp, dbname, number);
	fname_current(cur, dbname);
	int n = snprintf(contents, sizeof(contents), "MANIFEST-%06llu\n", (unsigned long long)number);
	int rc = env_write_file(env, tmp, contents, (size_t)n, 1);
	if (rc)
		return rc;
	rc = env_rename(env, tmp, cur);
	if (rc) {
		env_remove(env, tmp);
		return rc;
	}
	return env_sync_dir(env, dbname);
}

int manifest_create(struct env *env, const char *dir, uint64_t number, struct slice record)
{
	char path[FNAME_MAX];
	struct wfile *f = NULL;
	fname_manifest(path, dir, number);
	int rc = env_open_write(env, path, &f);
	if (rc)
		return rc;
	struct wal_writer w;
	wal_writer_init(&w, f, 0);
	rc = wal_writer_add(&w, record.data, record.size);
	if (rc == 0)
		rc = wal_writer_sync(&w);
	int crc = wfile_close(f);
	if (rc == 0)
		rc = crc;
	if (rc == 0)
		rc = manifest_set_current(env, dir, number);
	if (rc)
		env_remove(env, path);
	return rc;
}

int vset_log_and_apply(struct version_set *vs, struct version_edit *edit)
{
	mutex_assert_held(vs->mu);
	while (vs->manifest_busy)
		cond_wait(&vs->manifest_cv, vs->mu);
	vs->manifest_busy = 1;

	struct version *v = NULL;
	struct version_edit snap;
	struct buf snap_rec = BUF_INIT, rec = BUF_INIT;
	struct builder b;
	int rc;
	int new_manifest = vs->manifest_file == NULL || vs->manifest_broken ||
	                   vs->manifest_size >= vs->opt->max_manifest_size;
	uint64_t manifest_number = vs->manifest_file_number;

	edit_init(&snap);
	if (!edit->has_log_number)
		edit_set_log_number(edit, vs->log_number);
	if (!edit->has_prev_log_number)
		edit_set_prev_log_number(edit, vs->prev_log_number);
	if (new_manifest)
		manifest_number = vset_new_file_number(vs);
	edit_set_next_file(edit, vs->next_file_number);
	edit_set_last_sequence(edit, vs->last_sequence);

	rc = builder_init(&b, vs, vs->current);
	if (rc == 0)
		rc = builder_apply(&b, edit);
	if (rc == 0)
		rc = builder_save(&b, &v, "version edit");
	builder_free(&b);
	if (rc == 0 && new_manifest)
		rc = vset_snapshot_edit(vs, &snap);
	if (rc == 0 && new_manifest)
		rc = edit_encode(&snap, &snap_rec);
	if (rc == 0)
		rc = edit_encode(edit, &rec);
	if (rc) {
		if (v)
			version_free(v);
		goto done;
	}

	/* The MANIFEST is written without the mutex; manifest_busy keeps other
	 * edits out until this one is installed. */
	struct wfile *old_file = vs->manifest_file;
	struct wfile *file = old_file;
	struct wal_writer w = vs->manifest_log;
	char mpath[FNAME_MAX];
	int current_renamed = 0;
	fname_manifest(mpath, vs->dbname, manifest_number);
	mutex_unlock(vs->mu);

	if (new_manifest) {
		file = NULL;
		rc = env_open_write(vs->env, mpath, &file);
		if (rc == 0) {
			wal_writer_init(&w, file, 0);
			rc = wal_writer_add(&w, snap_rec.data, snap_rec.len);
		}
	}
	if (rc == 0)
		rc = wal_writer_add(&w, rec.data, rec.len);
	if (rc == 0)
		rc = wal_writer_sync(&w);
	if (rc == 0 && new_manifest) {
		rc = manifest_set_current(vs->env, vs->dbname, manifest_number);
		current_renamed = 1;
	}
	if (rc && new_manifest && file) {
		wfile_close(file);
		file = NULL;
		/* Never remove a MANIFEST that CURRENT may already name. */
		if (!current_renamed)
			env_remove(vs->env, mpath);
	}
	if (rc == 0 && new_manifest && old_file)
		wfile_close(old_file);

	mutex_lock(vs->mu);
	if (rc == 0) {
		if (new_manifest) {
			vs->manifest_file = file;
			vs->manifest_file_number = manifest_number;
			vs->manifest_size = snap_rec.len;
			logger_printf(vs->info_log, "MANIFEST-%06llu started", (unsigned long long)manifest_number);
		}
		vs->manifest_log = w;
		vs->manifest_size += rec.len;
		vs->manifest_broken = 0;
		install_version(vs, v);
		vs->log_number = edit->log_number;
		vs->prev_log_number = edit->prev_log_number;
		/* (compact pointers in edits were set in memory when the compaction
		 * was picked: installs in another order must not move them back) */
	} else {
		version_free(v);
		/* The record may or may not be on disk: the next edit starts a new
		 * MANIFEST, and nothing is deleted until one is written. */
		vs->manifest_broken = 1;
		if (!new_manifest) {
			wfile_close(vs->manifest_file);
			vs->manifest_file = NULL;
		}
		logger_printf(vs->info_log, "MANIFEST write failed: %s", err_msg());
	}
done:
	edit_free(&snap);
	buf_free(&snap_rec);
	buf_free(&rec);
	vs->manifest_busy = 0;
	cond_broadcast(&vs->manifest_cv);
	return rc;
}

int vset_add_live_files(struct version_set *vs, struct u64map *live)
{
	mutex_assert_held(vs->mu);
	for (struct version *v = vs->dummy.next; v != &vs->dummy; v = v->next)
		for (int level = 0; level < NUM_LEVELS; level++)
			for (int i = 0; i < v->nfiles[level]; i++) {
				int rc = u64map_put(live, v->files[level][i]->number, v->files[level][i]);
				if (rc)
					return rc;
			}
	return 0;
}

/* ---- reading ---- */

int version_find_file(const struct version_set *vs, struct file_meta **files, int n, struct slice ikey)
{
	int lo = 0, hi = n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (vs->icmp->compare(vs->icmp, files[mid]->largest, ikey) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum { GET_NOTFOUND, GET_FOUND, GET_DELETED, GET_CORRUPT, GET_NOMEM };

struct get_state {
	const struct comparator *ucmp;
	struct slice ukey;
	int state;
	void *val;
	size_t vlen;
};

static void get_found(void *arg, struct slice key, struct slice value)
{
	struct get_state *s = arg;
	struct parsed_ikey p;
	if (!ikey_parse(key, &p)) {
		s->state = GET_CORRUPT;
		return;
	}
	if (comparator_compare(s->ucmp, p.user_key, s->ukey) != 0)
		return;
	if (p.type == IKEY_TYPE_DELETION) {
		s->state = GET_DELETED;
		return;
	}
	s->val = malloc(value.size ? value.size : 1);
	if (s->val == NULL) {
		s->state = GET_NOMEM;
		return;
	}
	memcpy(s->val, value.data, value.size);
	s->vlen = value.size;
	s->state = GET_FOUND;
}

/* Searches one file; returns 1 when the search is over (found, deleted or
 * an error in *rc), 0 to go on. */
static int search_file(struct version_set *vs, const struct read_opts *ro, struct file_meta *f,
                       struct slice ikey, struct get_state *s, int *rc)
{
	*rc = table_cache_get(vs->table_cache, ro, f->number, f->size, ikey, get_found, s);
	if (*rc)
		return 1;
	switch (s->state) {
	case GET_NOTFOUND:
		return 0;
	case GET_CORRUPT:
		*rc = err_set(SHALE_ECORRUPT, "corruption: %s/%06llu.ldb: malformed internal key",
		              vs->dbname, (unsigned long long)f->number);
		return 1;
	case GET_NOMEM:
		*rc = err_nomem("value");
		return 1;
	default:
		return 1;
	}
}

int vset_charge_seek(const struct seek_charge *charge)
{
	/* every charge past the allowance may name the file, in case another
	 * target was waiting when it ran out */
	return charge->f && atomic_fetch_sub_explicit(&charge->f->allowed_seeks, 1, memory_order_relaxed) <= 1;
}

void vset_set_seek_target(struct version_set *vs, const struct seek_charge *charge)
{
	mutex_assert_held(vs->mu);
	if (vs->seek_file_number == 0) {
		vs->seek_file_number = charge->f->number;
		vs->seek_level = charge->level;
	}
}

void version_read_sample(struct version *v, struct slice ikey, struct seek_charge *charge)
{
	struct version_set *vs = v->vset;
	struct slice ukey = ikey_user_key(ikey);
	int matches = 0;
	charge->f = NULL;
	for (int level = 0; level < NUM_LEVELS && matches < 2; level++) {
		int n = v->nfiles[level];
		/* level 0: every file; sorted levels: the one file that could hold it */
		int i = level == 0 ? 0 : version_find_file(vs, v->files[level], n, ikey);
		int end = level == 0 ? n : (i < n ? i + 1 : i);
		for (; i < end && matches < 2; i++) {
			struct file_meta *f = v->files[level][i];
			if (comparator_compare(vs->ucmp, ukey, ikey_user_key(f->smallest)) < 0 ||
			    comparator_compare(vs->ucmp, ukey, ikey_user_key(f->largest)) > 0)
				continue;
			if (matches++ == 0) {
				charge->f = f;
				charge->level = level;
			}
		}
	}
	if (matches < 2)
		charge->f = NULL;
}

int version_get(struct version *v, const struct read_opts *ro, struct slice user_key, uint64_t seq,
                void **valp, size_t *vlenp, struct seek_charge *charge)
{
	struct version_set *vs = v->vset;
	const struct comparator *ucmp = vs->ucmp;
	struct get_state s = { ucmp, user_key, GET_NOTFOUND, NULL, 0 };
	char small[256];
	char *kbuf = user_key.size + 8 <= sizeof(small) ? small : malloc(user_key.size + 8);
	int rc = 0;

	if (kbuf == NULL)
		return err_nomem("lookup key");
	if (user_key.size)
		memcpy(kbuf, user_key.data, user_key.size);
	encode_fixed64(kbuf + user_key.size, ikey_pack_tag(seq, IKEY_TYPE_FOR_SEEK));
	struct slice ikey = slice_make(kbuf, user_key.size + 8);

	int done = 0, files_read = 0;
	charge->f = NULL;
	/* level 0: every file whose range holds the key, newest first */
	for (int i = 0; !done && i < v->nfiles[0]; i++) {
		struct file_meta *f = v->files[0][i];
		if (comparator_compare(ucmp, user_key, ikey_user_key(f->smallest)) < 0 ||
		    comparator_compare(ucmp, user_key, ikey_user_key(f->largest)) > 0)
			continue;
		if (files_read++ == 0) {
			charge->f = f;
			charge->level = 0;
		}
		done = search_file(vs, ro, f, ikey, &s, &rc);
	}
	for (int level = 1; !done && level < NUM_LEVELS; level++) {
		int n = v->nfiles[level];
		if (n == 0)
			continue;
		int idx = version_find_file(vs, v->files[level], n, ikey);
		if (idx >= n)
			continue;
		struct file_meta *f = v->files[level][idx];
		if (comparator_compare(ucmp, user_key, ikey_user_key(f->smallest)) < 0)
			continue;
		if (files_read++ == 0) {
			charge->f = f;
			charge->level = level;
		}
		done = search_file(vs, ro, f, ikey, &s, &rc);
	}
	/* The first file read cost a seek for nothing when another was read too. */
	if (files_read < 2)
		charge->f = NULL;
	if (kbuf != small)
		free(kbuf);
	if (rc == 0 && s.state == GET_FOUND) {
		*valp = s.val;
		*vlenp = s.vlen;
		return SHALE_OK;
	}
	free(s.val);
	return rc ? rc : SHALE_NOTFOUND;
}

/* ---- iterating a sorted run of files ---- */

struct file_iter {
	struct iter base;
	const struct comparator *icmp;
	struct file_meta **files;
	int n;
	int index; /* n when not valid */
	char value[16];
};

static int fi_valid(const struct iter *it)
{
	const struct file_iter *fi = (const struct file_iter *)it;
	return fi->index < fi->n;
}

static void fi_set(struct file_iter *fi, int index)
{
	fi->index = index < 0 || index >= fi->n ? fi->n : index;
	if (fi->index < fi->n) {
		encode_fixed64(fi->value, fi->files[fi->index]->number);
		encode_fixed64(fi->value + 8, fi->files[fi->index]->size);
	}
}

static void fi_seek_first(struct iter *it) { fi_set((struct file_iter *)it, 0); }

static void fi_seek_last(struct iter *it)
{
	struct file_iter *fi = (struct file_iter *)it;
	fi_set(fi, fi->n - 1);
}

static void fi_seek(struct iter *it, struct slice target)
{
	struct file_iter *fi = (struct file_iter *)it;
	int lo = 0, hi = fi->n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (fi->icmp->compare(fi->icmp, fi->files[mid]->largest, target) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	fi_set(fi, lo);
}

static void fi_next(struct iter *it)
{
	struct file_iter *fi = (struct file_iter *)it;
	fi_set(fi, fi->index + 1);
}

static void fi_prev(struct iter *it)
{
	struct file_iter *fi = (struct file_iter *)it;
	fi_set(fi, fi->index - 1);
}

static struct slice fi_key(const struct iter *it)
{
	const struct file_iter *fi = (const struct file_iter *)it;
	return fi->files[fi->index]->largest;
}

static struct slice fi_value(const struct iter *it)
{
	const struct file_iter *fi = (const struct file_iter *)it;
	return slice_make(fi->value, 16);
}

static int fi_status(const struct iter *it)
{
	(void)it;
	return 0;
}

static void fi_destroy(struct iter *it)
{
	free(it);
}

static const struct iter_ops file_iter_ops = {
	fi_valid, fi_seek_first, fi_seek_last, fi_seek, fi_next, fi_prev, fi_key, fi_value, fi_status, fi_destroy,
};

static struct iter *open_file(void *arg, const struct read_opts *ro, struct slice value)
{
	struct version_set *vs = arg;
	if (value.size != 16) {
		err_set(SHALE_ECORRUPT, "corruption: %s: bad file entry in a level iterator", vs->dbname);
		return iter_empty(SHALE_ECORRUPT);
	}
	return table_cache_iter(vs->table_cache, ro, decode_fixed64(value.data), decode_fixed64(value.data + 8));
}

struct iter *vset_concat_iter(struct version_set *vs, const struct read_opts *ro,
                              struct file_meta **files, int n)
{
	struct file_iter *fi = malloc(sizeof(*fi));
	if (fi == NULL) {
		err_nomem("level iterator");
		return NULL;
	}
	iter_init(&fi->base, &file_iter_ops);
	fi->icmp = vs->icmp;
	fi->files = files;
	fi->n = n;
	fi->index = n;
	return two_level_iter_create(&fi->base, open_file, vs, ro);
}

int version_add_iterators(struct version *v, const struct read_opts *ro, struct iter **its, int *n)
{
	struct version_set *vs = v->vset;
	for (int i = 0; i < v->nfiles[0]; i++) {
		struct file_meta *f = v->files[0][i];
		struct iter *it = table_cache_iter(vs->table_cache, ro, f->number, f->size);
		if (it == NULL)
			return SHALE_ENOMEM;
		its[(*n)++] = it;
	}
	for (int level = 1; level < NUM_LEVELS; level++) {
		if (v->nfiles[level] == 0)
			continue;
		struct iter *it = vset_concat_iter(vs, ro, v->files[level], v->nfiles[level]);
		if (it == NULL)
			return SHALE_ENOMEM;
		its[(*n)++] = it;
	}
	return 0;
}

/* ---- ranges ---- */

int version_overlapping_inputs(struct version *v, int level, const struct slice *begin,
                               const struct slice *end, struct file_meta ***out, int *n)
{
	const struct comparator *ucmp = v->vset->ucmp;
	struct slice b = begin ? *begin : slice_make("", 0), e = end ? *end : slice_make("", 0);
	int has_b = begin != NULL, has_e = end != NULL;
	struct file_meta **res = malloc(((size_t)v->nfiles[level] + 1) * sizeof(*res));
	*out = NULL;
	*n = 0;
	if (res == NULL)
		return err_nomem("overlapping inputs");
	int count = 0;
	for (int i = 0; i < v->nfiles[level];) {
		struct file_meta *f = v->files[level][i++];
		struct slice fs = ikey_user_key(f->smallest), fl = ikey_user_key(f->largest);
		if (has_b && comparator_compare(ucmp, fl, b) < 0)
			continue;
		if (has_e && comparator_compare(ucmp, fs, e) > 0)
			continue;
		res[count++] = f;
		if (level == 0) {
			/* level-0 files overlap each other: widen the range and start over */
			if (has_b && comparator_compare(ucmp, fs, b) < 0) {
				b = fs;
				count = 0;
				i = 0;
			} else if (has_e && comparator_compare(ucmp, fl, e) > 0) {
				e = fl;
				count = 0;
				i = 0;
			}
		}
	}
	*out = res;
	*n = count;
	return 0;
}

int version_overlap_in_level(struct version *v, int level, const struct slice *smallest,
                             const struct slice *largest)
{
	const struct comparator *ucmp = v->vset->ucmp;
	for (int i = 0; i < v->nfiles[level]; i++) {
		struct file_meta *f = v->files[level][i];
		if (smallest && comparator_compare(ucmp, ikey_user_key(f->largest), *smallest) < 0)
			continue;
		if (largest && comparator_compare(ucmp, ikey_user_key(f->smallest), *largest) > 0)
			continue;
		return 1;
	}
	return 0;
}

uint64_t version_approximate_offset(struct version *v, struct slice ikey)
{
	struct version_set *vs = v->vset;
	uint64_t result = 0;
	for (int level = 0; level < NUM_LEVELS; level++) {
		for (int i = 0; i < v->nfiles[level]; i++) {
			struct file_meta *f = v->files[level][i];
			if (vs->icmp->compare(vs->icmp, f->largest, ikey) <= 0) {
				result += f->size;
			} else if (vs->icmp->compare(vs->icmp, f->smallest, ikey) > 0) {
				if (level > 0)
					break; /* sorted: later files start later */
			} else {
				result += table_cache_approximate_offset(vs->table_cache, f->number, f->size, ikey);
			}
		}
	}
	return result;
}
