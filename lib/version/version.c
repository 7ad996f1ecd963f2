/*
 * Versions: references and the live list, the set's lifetime, and reading a
 * version (gets, read sampling, the file-run iterator, overlap queries).
 * Building versions from edits and the MANIFEST are manifest.c's.
 */
#include "lib/version/version.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "sstable/two_level_iter.h"

/* ---- versions ---- */

struct version *version_new(struct version_set *vs)
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

void version_free(struct version *v)
{
	for (int level = 0; level < NUM_LEVELS; level++) {
		for (int i = 0; i < v->nfiles[level]; i++) {
			struct file_meta *f = v->files[level][i];
			if (--f->refs == 0) {
				table_cache_unpin(v->vset->table_cache, atomic_load_explicit(&f->pinned, memory_order_acquire));
				file_meta_free(f);
			}
		}
		free(v->files[level]);
	}
	free(v);
}

void version_ref(struct version_set *vs, struct version *v)
{
	mutex_assert_held(&vs->mu);
	v->refs++;
}

void version_unref(struct version_set *vs, struct version *v)
{
	if (v == NULL)
		return;
	mutex_assert_held(&vs->mu);
	if (--v->refs == 0) {
		v->prev->next = v->next;
		v->next->prev = v->prev;
		version_free(v);
	}
}

void vset_install_version(struct version_set *vs, struct version *v)
{
	v->refs++;
	v->prev = vs->dummy.prev;
	v->next = &vs->dummy;
	v->prev->next = v;
	v->next->prev = v;
	struct version *old = vs->current;
	vs->current = v;
	if (old)
		version_unref(vs, old);
}

/* ---- the set ---- */

int vset_init(struct version_set *vs, const char *dbname, struct env *env, const struct vset_config *cfg,
              struct table_cache *tc, const struct comparator *icmp, const struct comparator *ucmp,
              struct logger *info_log)
{
	memset(vs, 0, sizeof(*vs));
	vs->dbname = dbname;
	vs->env = env;
	vs->cfg = *cfg;
	vs->table_cache = tc;
	vs->icmp = icmp;
	vs->ucmp = ucmp;
	vs->info_log = info_log;
	vs->next_file_number = 2;
	vs->dummy.prev = vs->dummy.next = &vs->dummy;
	vs->dummy.vset = vs;
	for (int level = 0; level < NUM_LEVELS; level++)
		buf_init(&vs->compact_pointer[level]);
	uint64_t max = cfg->max_bytes_for_level_base;
	uint64_t mult = cfg->level_multiplier > 1 ? (uint64_t)cfg->level_multiplier : 1;
	for (int level = 1; level < NUM_LEVELS; level++) {
		vs->level_max_bytes[level] = max;
		max = max > UINT64_MAX / mult ? UINT64_MAX : max * mult;
	}
	struct version *v = NULL;
	int rc = mutex_init(&vs->mu);
	if (rc)
		goto zero;
	rc = cond_init(&vs->manifest_cv);
	if (rc)
		goto destroy_mu;
	v = version_new(vs);
	if (v == NULL) {
		rc = SHALE_ENOMEM;
		goto destroy_cv;
	}
	/* (no other thread knows the set yet; the lock satisfies the callee's contract) */
	mutex_lock(&vs->mu);
	vset_install_version(vs, v);
	mutex_unlock(&vs->mu);
	vs->initialised = 1;
	return 0;

destroy_cv:
	cond_destroy(&vs->manifest_cv);
destroy_mu:
	mutex_destroy(&vs->mu);
zero:
	memset(vs, 0, sizeof(*vs));
	return rc;
}

void vset_destroy(struct version_set *vs)
{
	if (!vs->initialised)
		return;
	mutex_lock(&vs->mu);
	version_unref(vs, vs->current);
	vs->current = NULL;
	mutex_unlock(&vs->mu);
	wfile_close(vs->manifest_file);
	vs->manifest_file = NULL;
	for (int level = 0; level < NUM_LEVELS; level++)
		buf_free(&vs->compact_pointer[level]);
	cond_destroy(&vs->manifest_cv);
	mutex_destroy(&vs->mu);
	vs->initialised = 0;
}

int vset_add_live_files(struct version_set *vs, struct u64map *live)
{
	mutex_assert_held(&vs->mu);
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
		if (comparator_compare(vs->icmp, files[mid]->largest, ikey) < 0)
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
	int blocks;  /* data blocks the tables searched so far had to read */
};

static void get_found(void *arg, struct slice key, struct slice value)
{
	struct get_state *s = arg;
	struct parsed_ikey p;
	s->blocks++;
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
	*rc = table_cache_get_pinned(vs->table_cache, ro, f->number, f->size, &f->pinned, ikey, get_found, s);
	if (*rc)
		return 1;
	switch (s->state) {
	case GET_NOTFOUND:
		return 0;
	case GET_CORRUPT:
		*rc = err_set(SHALE_ECORRUPT, "%s/%06llu.ldb: malformed internal key",
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
	mutex_assert_held(&vs->mu);
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
	struct get_state s = { ucmp, user_key, GET_NOTFOUND, NULL, 0, 0 };
	char small[256];
	char *kbuf = user_key.size + 8 <= sizeof(small) ? small : malloc(user_key.size + 8);
	int rc = 0;

	if (kbuf == NULL)
		return err_nomem("lookup key");
	if (user_key.size)
		memcpy(kbuf, user_key.data, user_key.size);
	encode_fixed64(kbuf + user_key.size, ikey_pack_tag(seq, IKEY_TYPE_FOR_SEEK));
	struct slice ikey = slice_make(kbuf, user_key.size + 8);

	/* A file costs a seek for nothing when it had to read a data block
	 * (its filter let the key through) and a later file held the answer:
	 * the first such file is charged (read-triggered compaction). Files
	 * their filters rule out cost next to nothing and are not charged. */
	int done = 0;
	struct seek_charge wasted = { NULL, 0 };
	charge->f = NULL;
	/* level 0: every file whose range holds the key, newest first */
	for (int i = 0; !done && i < v->nfiles[0]; i++) {
		struct file_meta *f = v->files[0][i];
		if (comparator_compare(ucmp, user_key, ikey_user_key(f->smallest)) < 0 ||
		    comparator_compare(ucmp, user_key, ikey_user_key(f->largest)) > 0)
			continue;
		int before = s.blocks;
		done = search_file(vs, ro, f, ikey, &s, &rc);
		if (!done && s.blocks > before && wasted.f == NULL) {
			wasted.f = f;
			wasted.level = 0;
		}
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
		int before = s.blocks;
		done = search_file(vs, ro, f, ikey, &s, &rc);
		if (!done && s.blocks > before && wasted.f == NULL) {
			wasted.f = f;
			wasted.level = level;
		}
	}
	/* (the answer was found, or a deletion, in a later file) */
	if (done && wasted.f)
		*charge = wasted;
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
	struct version_set *vs;
	const struct comparator *icmp;
	struct file_meta **files;
	int n;
	int index; /* n when not valid */
	char value[16];
};

static void fi_set(struct file_iter *fi, int index)
{
	fi->index = index < 0 || index >= fi->n ? fi->n : index;
	fi->base.valid = fi->index < fi->n;
	if (fi->base.valid) {
		encode_fixed64(fi->value, fi->files[fi->index]->number);
		encode_fixed64(fi->value + 8, fi->files[fi->index]->size);
		fi->base.key = fi->files[fi->index]->largest;
		fi->base.value = slice_make(fi->value, 16);
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
		if (comparator_compare(fi->icmp, fi->files[mid]->largest, target) < 0)
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
	.seek_first = fi_seek_first,
	.seek_last = fi_seek_last,
	.seek = fi_seek,
	.next = fi_next,
	.prev = fi_prev,
	.status = fi_status,
	.destroy = fi_destroy,
};

/* second_level_fn of a level: the file the file iterator is on (value is its
 * number and size), read through the file's pinned table (the version that
 * lists the file outlives the iterator: the iterator's owner holds it). */
static struct iter *open_file(void *arg, const struct read_opts *ro, struct slice value, struct iter *reuse)
{
	struct file_iter *fi = arg;
	struct version_set *vs = fi->vs;
	if (value.size != 16 || fi->index >= fi->n) {
		iter_destroy(reuse);
		err_set(SHALE_ECORRUPT, "%s: bad file entry in a level iterator", vs->dbname);
		return iter_empty(SHALE_ECORRUPT);
	}
	/* the table iterator of the file left becomes this file's: the block
	 * it holds belongs to a table the version pins, alive as long as the
	 * iterator's owner holds the version */
	struct file_meta *f = fi->files[fi->index];
	return table_cache_iter_pinned_reuse(vs->table_cache, ro, f->number, f->size, &f->pinned, reuse);
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
	fi->vs = vs;
	fi->icmp = vs->icmp;
	fi->files = files;
	fi->n = n;
	fi->index = n;
	return two_level_iter_create(&fi->base, open_file, fi, ro, 0);
}

int version_add_iterators(struct version *v, const struct read_opts *ro, struct iter **its, int *n)
{
	struct version_set *vs = v->vset;
	for (int i = 0; i < v->nfiles[0]; i++) {
		struct file_meta *f = v->files[0][i];
		struct iter *it = table_cache_iter_pinned(vs->table_cache, ro, f->number, f->size, &f->pinned);
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
			if (comparator_compare(vs->icmp, f->largest, ikey) <= 0) {
				result += f->size;
			} else if (comparator_compare(vs->icmp, f->smallest, ikey) > 0) {
				if (level > 0)
					break; /* sorted: later files start later */
			} else {
				result += table_cache_approximate_offset(vs->table_cache, f->number, f->size, ikey);
			}
		}
	}
	return result;
}
