/*
 * The public API driven by a byte string, checked against a model.
 *
 * The input is a sequence of operations on a real database in a temporary
 * directory, with options small enough that flushes and compactions happen
 * all the time (a 4 KiB write buffer, 1 KiB blocks, 4 KiB files, a 4 KiB
 * level-1 budget), and on a sorted array of (key, value) that is the model:
 * put, delete, batch, get, full iteration forward and backward (with
 * bounds), seek and seek_for_prev followed by steps both ways, snapshots
 * (created, read, released), reopen and compact_range. Every answer must be
 * the model's; a snapshot's answers must be the model's as of the snapshot.
 * No call on this healthy database may fail.
 *
 * Input: two option bytes, then operations (opcode byte, then operands).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "shale.h"

#define MAX_OPS 200
#define MAX_SNAPSHOTS 4
#define NUM_FIXED_KEYS 48

/* ---- the model: a sorted array of refcounted byte strings ---- */

struct blob {
	int refs;
	size_t n;
	char data[];
};

static struct blob *blob_new(const void *p, size_t n)
{
	struct blob *b = malloc(sizeof(*b) + (n ? n : 1));
	fuzz_check(b != NULL, "memory");
	b->refs = 1;
	b->n = n;
	if (n)
		memcpy(b->data, p, n);
	return b;
}

static struct blob *blob_ref(struct blob *b)
{
	b->refs++;
	return b;
}

static void blob_unref(struct blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}

static int cmp_bytes(const void *a, size_t an, const void *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int r = m ? memcmp(a, b, m) : 0;
	return r ? r : (an > bn) - (an < bn);
}

struct kv {
	struct blob *k, *v;
};

struct model {
	struct kv *e;
	size_t n, cap;
};

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		blob_unref(m->e[i].k);
		blob_unref(m->e[i].v);
	}
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static void model_copy(struct model *dst, const struct model *src)
{
	dst->n = dst->cap = src->n;
	dst->e = malloc((src->n ? src->n : 1) * sizeof(*dst->e));
	fuzz_check(dst->e != NULL, "memory");
	for (size_t i = 0; i < src->n; i++) {
		dst->e[i].k = blob_ref(src->e[i].k);
		dst->e[i].v = blob_ref(src->e[i].v);
	}
}

/* Index of the first key >= (k, kn). */
static size_t model_lower(const struct model *m, const void *k, size_t kn)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_bytes(m->e[mid].k->data, m->e[mid].k->n, k, kn) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int model_has(const struct model *m, size_t i, const void *k, size_t kn)
{
	return i < m->n && cmp_bytes(m->e[i].k->data, m->e[i].k->n, k, kn) == 0;
}

static void model_put(struct model *m, const void *k, size_t kn, const void *v, size_t vn)
{
	size_t i = model_lower(m, k, kn);
	if (model_has(m, i, k, kn)) {
		blob_unref(m->e[i].v);
		m->e[i].v = blob_new(v, vn);
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->e = realloc(m->e, m->cap * sizeof(*m->e));
		fuzz_check(m->e != NULL, "memory");
	}
	memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
	m->e[i].k = blob_new(k, kn);
	m->e[i].v = blob_new(v, vn);
	m->n++;
}

static void model_del(struct model *m, const void *k, size_t kn)
{
	size_t i = model_lower(m, k, kn);
	if (!model_has(m, i, k, kn))
		return;
	blob_unref(m->e[i].k);
	blob_unref(m->e[i].v);
	memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(*m->e));
	m->n--;
}

/* ---- keys and values from the input ---- */

static char fixed_keys[NUM_FIXED_KEYS][2100];
static size_t fixed_lens[NUM_FIXED_KEYS];

static void init_keys(void)
{
	static const char *const shorts[] = { "", "\0", "\0\0", "a", "aa", "aaa", "ab", "abc", "b",
		                              "ba", "bb", "\x7f", "\x80", "\xff", "\xff\xff", "\x00\xff" };
	static const size_t short_lens[] = { 0, 1, 2, 1, 2, 3, 2, 3, 1, 2, 2, 1, 1, 1, 2, 2 };
	size_t i = 0;
	for (; i < 16; i++) {
		memcpy(fixed_keys[i], shorts[i], short_lens[i]);
		fixed_lens[i] = short_lens[i];
	}
	for (int j = 0; j < 24; j++, i++)
		fixed_lens[i] = (size_t)snprintf(fixed_keys[i], sizeof(fixed_keys[i]), "key%03d", j * 7);
	static const size_t longs[] = { 64, 65, 200, 1000, 2000, 2048, 8, 9 };
	for (int j = 0; j < 8; j++, i++) {
		memset(fixed_keys[i], j < 6 ? 'L' : 'k', longs[j]);
		if (j % 2)
			fixed_keys[i][longs[j] - 1] = 'x';
		fixed_lens[i] = longs[j];
	}
}

struct key {
	const char *p;
	size_t n;
	char buf[32];
};

static void read_key(struct fuzz_in *in, struct key *k)
{
	unsigned b = fuzz_u8(in);
	if (b < 200) {
		k->p = fixed_keys[b % NUM_FIXED_KEYS];
		k->n = fixed_lens[b % NUM_FIXED_KEYS];
		return;
	}
	size_t want = fuzz_u8(in) % 24, got;
	const uint8_t *p = fuzz_bytes(in, want, &got);
	memcpy(k->buf, p, got);
	k->p = k->buf;
	k->n = got;
}

static char value_buf[16384];

/* A value whose bytes say which operation wrote it. */
static size_t make_value(struct fuzz_in *in, unsigned op)
{
	unsigned b = fuzz_u8(in);
	size_t n = b < 128 ? b % 32 : b < 240 ? (size_t)(b - 128) * 16 : (size_t)(b - 239) * 1024;
	if (n > sizeof(value_buf))
		n = sizeof(value_buf);
	for (size_t i = 0; i < n; i++)
		value_buf[i] = (char)(op * 131 + i * 7 + (i >> 8));
	if (n >= 4)
		memcpy(value_buf, &op, 4);
	return n;
}

/* ---- the database side ---- */

struct state {
	shale_db *db;
	shale_options *opt;
	shale_writeopts *wo;
	const char *dir;
	struct model m;
	const shale_snapshot *snap[MAX_SNAPSHOTS];
	struct model snap_model[MAX_SNAPSHOTS];
	int nsnap;
};

static void ok(int rc, const char *what)
{
	fuzz_check(rc == 0, "%s: %d: %s", what, rc, shale_errmsg());
}

static void check_get(struct state *s, const shale_readopts *ro, const struct model *m, const struct key *k)
{
	void *v = NULL;
	size_t vn = 0;
	int rc = shale_get(s->db, ro, k->p, k->n, &v, &vn);
	size_t i = model_lower(m, k->p, k->n);
	if (model_has(m, i, k->p, k->n)) {
		fuzz_check(rc == 0, "get: %d (%s), the model has the key", rc, shale_errmsg());
		fuzz_check(v != NULL && cmp_bytes(v, vn, m->e[i].v->data, m->e[i].v->n) == 0, "get: wrong value");
	} else {
		fuzz_check(rc == SHALE_NOTFOUND, "get: %d (%s), the model lacks the key", rc, shale_errmsg());
		fuzz_check(v == NULL && vn == 0, "not found but a value");
	}
	shale_free(v);
}

/* The iterator is at model entry i (or, when i is out of [lo, hi), invalid). */
static void at(shale_iter *it, const struct model *m, size_t i, size_t lo, size_t hi, const char *what)
{
	fuzz_check(shale_iter_status(it) == 0, "%s: iterator status %d: %s", what, shale_iter_status(it), shale_errmsg());
	if (i < lo || i >= hi) {
		fuzz_check(!shale_iter_valid(it), "%s: valid past the end", what);
		return;
	}
	fuzz_check(shale_iter_valid(it), "%s: invalid, expected entry %zu of %zu", what, i, m->n);
	size_t kn, vn;
	const void *k = shale_iter_key(it, &kn);
	const void *v = shale_iter_value(it, &vn);
	fuzz_check(cmp_bytes(k, kn, m->e[i].k->data, m->e[i].k->n) == 0, "%s: wrong key at %zu", what, i);
	fuzz_check(cmp_bytes(v, vn, m->e[i].v->data, m->e[i].v->n) == 0, "%s: wrong value at %zu", what, i);
}

/* Iteration ops: bounds from the input, then a walk or seeks with steps. */
static void iterate(struct state *s, struct fuzz_in *in, shale_readopts *ro, const struct model *m, unsigned kind)
{
	unsigned bounds = fuzz_u8(in);
	struct key lower, upper;
	size_t lo = 0, hi = m->n;
	if (bounds & 1) {
		read_key(in, &lower);
		shale_readopts_set_lower_bound(ro, lower.p, lower.n);
		lo = model_lower(m, lower.p, lower.n);
	}
	if (bounds & 2) {
		read_key(in, &upper);
		shale_readopts_set_upper_bound(ro, upper.p, upper.n);
		hi = model_lower(m, upper.p, upper.n);
	}
	if (hi < lo)
		hi = lo; /* an empty range */
	shale_iter *it = shale_iter_create(s->db, ro);
	fuzz_check(it != NULL, "iterator: %s", shale_errmsg());
	switch (kind % 4) {
	case 0:
		shale_iter_seek_first(it);
		for (size_t i = lo; i < hi; i++) {
			at(it, m, i, lo, hi, "forward");
			shale_iter_next(it);
		}
		at(it, m, hi, lo, hi, "forward end");
		break;
	case 1:
		shale_iter_seek_last(it);
		for (size_t i = hi; i > lo; i--) {
			at(it, m, i - 1, lo, hi, "backward");
			shale_iter_prev(it);
		}
		at(it, m, hi, lo, hi, "backward end");
		break;
	default: {
		struct key k;
		read_key(in, &k);
		size_t i;
		if (kind % 4 == 2) {
			shale_iter_seek(it, k.p, k.n);
			i = model_lower(m, k.p, k.n);
			if (i < lo)
				i = lo;
		} else {
			shale_iter_seek_for_prev(it, k.p, k.n);
			size_t j = model_lower(m, k.p, k.n);
			i = model_has(m, j, k.p, k.n) ? j : j - 1; /* (wraps to SIZE_MAX when j == 0) */
			if (i != (size_t)-1 && i >= hi)
				i = hi - 1;
		}
		at(it, m, i, lo, hi, "seek");
		unsigned steps = fuzz_u8(in);
		for (int n = 0; n < 8 && shale_iter_valid(it); n++, steps >>= 1) {
			if (steps & 1) {
				shale_iter_next(it);
				i++;
			} else {
				shale_iter_prev(it);
				i--;
			}
			at(it, m, i, lo, hi, steps & 1 ? "next" : "prev");
		}
		break;
	}
	}
	shale_iter_destroy(it);
	shale_readopts_set_lower_bound(ro, NULL, 0);
	shale_readopts_set_upper_bound(ro, NULL, 0);
}

static void db_open(struct state *s)
{
	ok(shale_open(s->dir, s->opt, &s->db), "open");
}

static void release_snapshots(struct state *s, int close_releases)
{
	for (int i = 0; i < s->nsnap; i++) {
		if (!close_releases)
			shale_snapshot_release(s->db, s->snap[i]);
		model_free(&s->snap_model[i]);
	}
	s->nsnap = 0;
}

static void run(struct state *s, struct fuzz_in *in, shale_readopts *ro)
{
	for (unsigned op = 0; op < MAX_OPS && in->n > 0; op++) {
		unsigned code = fuzz_u8(in);
		shale_readopts_set_verify_checksums(ro, !(code & 0x80));
		shale_readopts_set_fill_cache(ro, !(code & 0x40));
		shale_readopts_set_scan_ahead(ro, !(code & 0x20));
		struct key k;
		switch (code % 16) {
		case 0: case 1: case 2: {
			read_key(in, &k);
			size_t vn = make_value(in, op);
			ok(shale_put(s->db, s->wo, k.p, k.n, value_buf, vn), "put");
			model_put(&s->m, k.p, k.n, value_buf, vn);
			break;
		}
		case 3:
			read_key(in, &k);
			ok(shale_delete(s->db, s->wo, k.p, k.n), "delete");
			model_del(&s->m, k.p, k.n);
			break;
		case 4: {
			shale_batch *b = shale_batch_create();
			fuzz_check(b != NULL, "memory");
			struct model after;
			model_copy(&after, &s->m);
			unsigned n = fuzz_u8(in) % 10;
			for (unsigned i = 0; i < n; i++) {
				int del = fuzz_u8(in) & 1;
				read_key(in, &k);
				if (del) {
					ok(shale_batch_delete(b, k.p, k.n), "batch delete");
					model_del(&after, k.p, k.n);
				} else {
					size_t vn = make_value(in, op * 16 + i);
					ok(shale_batch_put(b, k.p, k.n, value_buf, vn), "batch put");
					model_put(&after, k.p, k.n, value_buf, vn);
				}
			}
			fuzz_check(shale_batch_count(b) == n, "batch count");
			ok(shale_write(s->db, s->wo, b), "write");
			model_free(&s->m);
			s->m = after;
			shale_batch_destroy(b);
			break;
		}
		case 5: case 6:
			read_key(in, &k);
			check_get(s, ro, &s->m, &k);
			break;
		case 7: case 8: case 9: case 10:
			iterate(s, in, ro, &s->m, code % 16 - 7);
			break;
		case 11:
			if (s->nsnap < MAX_SNAPSHOTS) {
				const shale_snapshot *snap = shale_snapshot_create(s->db);
				fuzz_check(snap != NULL, "snapshot: %s", shale_errmsg());
				s->snap[s->nsnap] = snap;
				model_copy(&s->snap_model[s->nsnap], &s->m);
				s->nsnap++;
			}
			break;
		case 12: {
			unsigned which = fuzz_u8(in);
			if (s->nsnap == 0)
				break;
			int i = (int)(which % (unsigned)s->nsnap);
			shale_readopts_set_snapshot(ro, s->snap[i]);
			if (which & 0x80) {
				read_key(in, &k);
				check_get(s, ro, &s->snap_model[i], &k);
			} else {
				iterate(s, in, ro, &s->snap_model[i], which >> 4);
			}
			shale_readopts_set_snapshot(ro, NULL);
			break;
		}
		case 13: {
			unsigned which = fuzz_u8(in);
			if (s->nsnap == 0)
				break;
			int i = (int)(which % (unsigned)s->nsnap);
			shale_snapshot_release(s->db, s->snap[i]);
			model_free(&s->snap_model[i]);
			s->nsnap--;
			s->snap[i] = s->snap[s->nsnap];
			s->snap_model[i] = s->snap_model[s->nsnap];
			break;
		}
		case 14:
			/* close releases the snapshots still held */
			release_snapshots(s, fuzz_u8(in) & 1);
			ok(shale_close(s->db), "close");
			s->db = NULL;
			db_open(s);
			break;
		default: {
			unsigned which = fuzz_u8(in);
			struct key b, e;
			read_key(in, &b);
			read_key(in, &e);
			ok(shale_compact_range(s->db, which & 1 ? b.p : NULL, b.n, which & 2 ? e.p : NULL, e.n),
			   "compact_range");
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		init_keys();
		init = 1;
	}
	struct fuzz_in in = { data, size };
	unsigned o1 = fuzz_u8(&in), o2 = fuzz_u8(&in);
	struct state s;
	memset(&s, 0, sizeof(s));
	s.dir = fuzz_dir();
	shale_cache *cache = shale_cache_create_lru(o2 & 1 ? 8192 : 65536);
	s.opt = shale_options_create();
	s.wo = shale_writeopts_create();
	shale_readopts *ro = shale_readopts_create();
	fuzz_check(cache && s.opt && s.wo && ro, "memory");
	shale_options_set_create_if_missing(s.opt, 1);
	shale_options_set_write_buffer_size(s.opt, 4096);
	shale_options_set_block_size(s.opt, 1024);
	shale_options_set_max_file_size(s.opt, 4096);
	shale_options_set_max_bytes_for_level_base(s.opt, 4096);
	shale_options_set_level_multiplier(s.opt, 2);
	/* a codec this build lacks would only fail the open: none instead */
	int codec = (int)(o1 & 3);
	shale_options_set_compression(s.opt, shale_compression_supported(codec) ? codec : SHALE_COMPRESSION_NONE);
	shale_options_set_bloom_bits_per_key(s.opt, o1 & 4 ? 10 : 0);
	shale_options_set_background_threads(s.opt, o1 & 8 ? 2 : 1);
	shale_options_set_block_restart_interval(s.opt, (int)(o1 >> 4) + 1);
	shale_options_set_l0_compaction_trigger(s.opt, o2 & 2 ? 2 : 4);
	shale_options_set_cache(s.opt, cache);
	shale_options_set_paranoid_checks(s.opt, (o2 & 4) != 0);
	db_open(&s);
	run(&s, &in, ro);
	/* a last reopen: everything must have survived it */
	release_snapshots(&s, 0);
	ok(shale_close(s.db), "close");
	db_open(&s);
	iterate(&s, &(struct fuzz_in){ (const uint8_t *)"", 0 }, ro, &s.m, 0);
	ok(shale_close(s.db), "close");
	model_free(&s.m);
	shale_readopts_destroy(ro);
	shale_writeopts_destroy(s.wo);
	shale_options_destroy(s.opt);
	shale_cache_destroy(cache);
	fuzz_clear_dir();
	return 0;
}
