/*
 * The MANIFEST: building versions from edits, recovery (CURRENT and the
 * MANIFEST it names), and logging edits (manifest.h).
 */
#include "lib/version/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/error.h"
#include "lib/util/filename.h"
#include "wal/wal_reader.h"

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

static int builder_apply(struct builder *b, const struct version_edit *e, const char *what)
{
	for (size_t i = 0; i < e->ndeleted; i++) {
		const struct edit_deleted *d = &e->deleted[i];
		u64map_remove(&b->files[d->level], d->number);
	}
	for (size_t i = 0; i < e->nadded; i++) {
		const struct file_meta *src = e->added[i].f;
		/* Reads, compactions and the boundary expansion rely on it. */
		if (comparator_compare(b->vs->icmp, src->smallest, src->largest) > 0)
			return err_set(SHALE_ECORRUPT, "%s: file %06llu at level %d: smallest key sorts after largest",
			               what, (unsigned long long)src->number, e->added[i].level);
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
	int r = comparator_compare(icmp, fa->smallest, fb->smallest);
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

/* Frees a version the builder has not handed out: it holds no references
 * yet, so its files (some owned by the builder) are left alone. */
static void discard_unsaved(struct version *v)
{
	for (int level = 0; level < NUM_LEVELS; level++) {
		free(v->files[level]);
		v->files[level] = NULL;
		v->nfiles[level] = 0;
	}
	version_free(v);
}

/* Produces the version; checks that levels >= 1 are disjoint. what names the
 * source for messages. References are taken only once every check passed,
 * so a failure leaves every file as the builder had it. */
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
			discard_unsaved(v);
			return err_nomem("version");
		}
		int n = 0;
		for (size_t i = 0; i < m->cap; i++)
			if (u64map_slot_live(&m->slots[i]))
				v->files[level][n++] = m->slots[i].value;
		qsort_r(v->files[level], (size_t)n, sizeof(struct file_meta *),
		        level == 0 ? by_number_desc : by_smallest, (void *)vs->icmp);
		v->nfiles[level] = n;
		for (int i = 1; level > 0 && i < n; i++) {
			struct file_meta *prev = v->files[level][i - 1], *f = v->files[level][i];
			if (comparator_compare(vs->icmp, prev->largest, f->smallest) >= 0) {
				int rc = err_set(SHALE_ECORRUPT, "%s: files %06llu and %06llu overlap in level %d", what,
				                 (unsigned long long)prev->number, (unsigned long long)f->number, level);
				discard_unsaved(v);
				return rc;
			}
		}
	}
	for (int level = 0; level < NUM_LEVELS; level++)
		for (int i = 0; i < v->nfiles[level]; i++) {
			v->files[level][i]->refs++;
			v->level_bytes[level] += v->files[level][i]->size;
		}
	*out = v;
	return 0;
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
		return err_set(SHALE_ECORRUPT, "%s: does not hold a MANIFEST name and a newline", path);
	}
	size_t len = b.len - 1;
	memcpy(name, b.data, len);
	name[len] = '\0';
	buf_free(&b);
	if (strlen(name) != len || !fname_parse(name, &num, &type) || type != FILE_MANIFEST)
		return err_set(SHALE_ECORRUPT, "%s: names \"%s\", not a MANIFEST", path, name);
	fname_manifest(manifest_path, vs->dbname, num);
	*number = num;
	if (!env_exists(vs->env, manifest_path))
		return err_set(SHALE_ECORRUPT, "%s names %s, which does not exist", path, manifest_path);
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
			rc = err_set(SHALE_ECORRUPT, "%s: %s", mpath, rep.reason);
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
				             "%s: the database uses comparator \"%.*s\", the options give \"%s\"",
				             vs->dbname, (int)e.comparator.len, e.comparator.data, want);
				goto out;
			}
		}
		rc = builder_apply(&b, &e, mpath);
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
		rc = err_set(SHALE_ECORRUPT, "%s: no next-file-number entry", mpath);
	else if (!have_log)
		rc = err_set(SHALE_ECORRUPT, "%s: no log-number entry", mpath);
	else if (!have_seq)
		rc = err_set(SHALE_ECORRUPT, "%s: no last-sequence entry", mpath);
	else if (last_seq > IKEY_SEQ_MAX)
		rc = err_set(SHALE_ECORRUPT, "%s: last sequence %llu out of range", mpath,
		             (unsigned long long)last_seq);
	if (rc)
		goto out;
	if (!have_prev)
		prev_log = 0;

	mutex_lock(&vs->mu);
	rc = builder_save(&b, &v, mpath);
	if (rc == 0) {
		vset_install_version(vs, v);
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
	mutex_unlock(&vs->mu);

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
	mutex_assert_held(&vs->mu);
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

/* Points CURRENT at MANIFEST-number; *renamed tells whether CURRENT was
 * replaced (then only the directory sync may have failed). */
static int set_current(struct env *env, const char *dbname, uint64_t number, int *renamed)
{
	char tmp[FNAME_MAX], cur[FNAME_MAX], contents[64];
	*renamed = 0;
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
	*renamed = 1;
	return env_sync_dir(env, dbname);
}

int manifest_set_current(struct env *env, const char *dbname, uint64_t number)
{
	int renamed;
	return set_current(env, dbname, number, &renamed);
}

int manifest_create(struct env *env, const char *dir, uint64_t number, struct slice record)
{
	char path[FNAME_MAX];
	struct wfile *f = NULL;
	int renamed = 0;
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
		rc = env_sync_dir(env, dir); /* the MANIFEST's name before CURRENT's (as above) */
	if (rc == 0)
		rc = set_current(env, dir, number, &renamed);
	/* once CURRENT names it, the MANIFEST stays even if the directory sync
	 * failed: CURRENT may already be durable */
	if (rc && !renamed)
		env_remove(env, path);
	return rc;
}

int vset_log_and_apply(struct version_set *vs, struct version_edit *edit)
{
	mutex_assert_held(&vs->mu);
	while (vs->manifest_busy)
		cond_wait(&vs->manifest_cv, &vs->mu);
	vs->manifest_busy = 1;

	struct version *v = NULL;
	struct version_edit snap;
	struct buf snap_rec = BUF_INIT, rec = BUF_INIT;
	struct builder b;
	int rc;
	int new_manifest = vs->manifest_file == NULL || vs->manifest_broken ||
	                   vs->manifest_size >= vs->cfg.max_manifest_size;
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
		rc = builder_apply(&b, edit, "version edit");
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
	mutex_unlock(&vs->mu);

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
	/* The new MANIFEST's name is durable before CURRENT names it: where
	 * directory operations reach the disk out of order, CURRENT could
	 * otherwise survive a power cut that the MANIFEST's entry does not. */
	if (rc == 0 && new_manifest)
		rc = env_sync_dir(vs->env, vs->dbname);
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

	mutex_lock(&vs->mu);
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
		vset_install_version(vs, v);
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
