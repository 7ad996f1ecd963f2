/* Choosing compactions: scores, candidates, expansion, reservations. */
#include "compaction/compaction.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/error.h"

/* Inputs may grow to take in more of the level when that adds no file below,
 * up to this many times the file size in all. */
#define EXPANSION_LIMIT_FILES 25
/* A trivial move or an output file stops overlapping the level after next
 * beyond this many times the file size. */
#define GRANDPARENT_OVERLAP_FILES 10

static uint64_t total_size(struct file_meta **files, int n)
{
	uint64_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += files[i]->size;
	return sum;
}

uint64_t compaction_input_bytes(const struct compaction *c, int which)
{
	return total_size(c->inputs[which], c->ninputs[which]);
}

/* The user-key range of some files (pointers into their metadata). */
static void range_of(const struct comparator *ucmp, struct file_meta **files, int n, struct slice *smallest,
                     struct slice *largest)
{
	for (int i = 0; i < n; i++) {
		struct slice s = ikey_user_key(files[i]->smallest), l = ikey_user_key(files[i]->largest);
		if (i == 0 || comparator_compare(ucmp, s, *smallest) < 0)
			*smallest = s;
		if (i == 0 || comparator_compare(ucmp, l, *largest) > 0)
			*largest = l;
	}
}

static int ranges_overlap(const struct comparator *ucmp, struct slice a0, struct slice a1, struct slice b0,
                          struct slice b1)
{
	return comparator_compare(ucmp, a1, b0) >= 0 && comparator_compare(ucmp, b1, a0) >= 0;
}

int compaction_range_reserved(const struct compaction_registry *reg, int level, struct slice smallest,
                              struct slice largest, const struct comparator *ucmp)
{
	for (const struct compaction *r = reg->running; r; r = r->next) {
		if (level != r->level && level != r->level + 1)
			continue;
		if (ranges_overlap(ucmp, smallest, largest, buf_slice(&r->smallest), buf_slice(&r->largest)))
			return 1;
	}
	return 0;
}

static int conflicts(const struct compaction_registry *reg, const struct compaction *c,
                     const struct comparator *ucmp)
{
	struct slice s = buf_slice(&c->smallest), l = buf_slice(&c->largest);
	return compaction_range_reserved(reg, c->level, s, l, ucmp) ||
	       compaction_range_reserved(reg, c->level + 1, s, l, ucmp);
}

void compaction_free(struct version_set *vs, struct compaction *c)
{
	if (c == NULL)
		return;
	version_unref(vs, c->input_version);
	free(c->inputs[0]);
	free(c->inputs[1]);
	free(c->grandparents);
	buf_free(&c->smallest);
	buf_free(&c->largest);
	edit_free(&c->edit);
	free(c);
}

static struct compaction *compaction_new(struct version_set *vs, int level) SHALE_REQUIRES(vs->mu)
{
	struct compaction *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		err_nomem("compaction");
		return NULL;
	}
	c->level = level;
	c->input_version = vs->current;
	version_ref(vs, c->input_version);
	c->max_output_file_size = vs->cfg.max_file_size;
	c->max_grandparent_overlap = GRANDPARENT_OVERLAP_FILES * (uint64_t)vs->cfg.max_file_size;
	buf_init(&c->smallest);
	buf_init(&c->largest);
	edit_init(&c->edit);
	return c;
}

/*
 * Versions of one user key may straddle two files of a level (LevelDB writes
 * such files; shale's compactions never cut inside a user key). Compacting
 * the first without the second would move the newer versions below the older
 * ones, so a file whose smallest user key equals the largest user key of the
 * inputs joins them, repeatedly. *files is a malloc'd array of *n entries.
 */
static int add_boundary_inputs(struct version_set *vs, struct file_meta **level_files, int nlevel,
                               struct file_meta ***files, int *n)
{
	if (*n == 0)
		return 0;
	const struct comparator *icmp = vs->icmp;
	struct slice largest = (*files)[0]->largest;
	for (int i = 1; i < *n; i++)
		if (comparator_compare(icmp, (*files)[i]->largest, largest) > 0)
			largest = (*files)[i]->largest;
	/* Each round takes a file whose largest key is past the last one's (the
	 * version builder rejects files whose smallest key sorts after their
	 * largest), so at most nlevel rounds; the bound is kept all the same. */
	for (int rounds = 0;; rounds++) {
		if (rounds > nlevel)
			return err_set(SHALE_ECORRUPT, "%s: boundary files of a level do not end", vs->dbname);
		/* the file with the smallest key after largest, if it shares its user key */
		struct file_meta *boundary = NULL;
		for (int i = 0; i < nlevel; i++) {
			struct file_meta *f = level_files[i];
			if (comparator_compare(icmp, f->smallest, largest) > 0 &&
			    comparator_compare(vs->ucmp, ikey_user_key(f->smallest), ikey_user_key(largest)) == 0 &&
			    (boundary == NULL || comparator_compare(icmp, f->smallest, boundary->smallest) < 0))
				boundary = f;
		}
		if (boundary == NULL)
			return 0;
		struct file_meta **grown = realloc(*files, ((size_t)*n + 1) * sizeof(**files));
		if (grown == NULL)
			return err_nomem("compaction inputs");
		grown[(*n)++] = boundary;
		*files = grown;
		largest = boundary->largest;
	}
}

/* Completes a candidate whose inputs[0] is set: boundary files, the
 * overlapping files below, expansion, grandparents, and its range. */
static int setup_other_inputs(struct version_set *vs, struct compaction *c)
{
	const struct comparator *ucmp = vs->ucmp;
	struct version *v = c->input_version;
	int level = c->level;
	struct slice smallest, largest;
	int rc = 0;
	if (level > 0)
		rc = add_boundary_inputs(vs, v->files[level], v->nfiles[level], &c->inputs[0], &c->ninputs[0]);
	if (rc)
		return rc;
	range_of(ucmp, c->inputs[0], c->ninputs[0], &smallest, &largest);
	rc = version_overlapping_inputs(v, level + 1, &smallest, &largest, &c->inputs[1], &c->ninputs[1]);
	if (rc == 0)
		rc = add_boundary_inputs(vs, v->files[level + 1], v->nfiles[level + 1], &c->inputs[1], &c->ninputs[1]);
	if (rc)
		return rc;

	/* the range of everything */
	struct slice all0 = smallest, all1 = largest;
	if (c->ninputs[1] > 0) {
		struct slice s1, l1;
		range_of(ucmp, c->inputs[1], c->ninputs[1], &s1, &l1);
		if (comparator_compare(ucmp, s1, all0) < 0)
			all0 = s1;
		if (comparator_compare(ucmp, l1, all1) > 0)
			all1 = l1;

		/* Take in more of this level when it adds nothing below. */
		struct file_meta **exp0 = NULL;
		int nexp0 = 0;
		rc = version_overlapping_inputs(v, level, &all0, &all1, &exp0, &nexp0);
		if (rc == 0 && level > 0)
			rc = add_boundary_inputs(vs, v->files[level], v->nfiles[level], &exp0, &nexp0);
		if (rc) {
			free(exp0);
			return rc;
		}
		uint64_t limit = EXPANSION_LIMIT_FILES * (uint64_t)vs->cfg.max_file_size;
		if (nexp0 > c->ninputs[0] &&
		    total_size(exp0, nexp0) + compaction_input_bytes(c, 1) < limit) {
			struct slice ns, nl;
			range_of(ucmp, exp0, nexp0, &ns, &nl);
			struct file_meta **exp1 = NULL;
			int nexp1 = 0;
			rc = version_overlapping_inputs(v, level + 1, &ns, &nl, &exp1, &nexp1);
			if (rc == 0)
				rc = add_boundary_inputs(vs, v->files[level + 1], v->nfiles[level + 1], &exp1, &nexp1);
			if (rc) {
				free(exp1);
				free(exp0);
				return rc;
			}
			if (nexp1 == c->ninputs[1]) {
				free(c->inputs[0]);
				c->inputs[0] = exp0;
				c->ninputs[0] = nexp0;
				exp0 = NULL;
				smallest = ns;
				largest = nl;
				if (comparator_compare(ucmp, ns, all0) < 0)
					all0 = ns;
				if (comparator_compare(ucmp, nl, all1) > 0)
					all1 = nl;
			}
			free(exp1);
		}
		free(exp0);
	}
	if (level + 2 < NUM_LEVELS) {
		rc = version_overlapping_inputs(v, level + 2, &all0, &all1, &c->grandparents, &c->ngrandparents);
		if (rc)
			return rc;
	}
	rc = buf_set(&c->smallest, all0.data, all0.size);
	if (rc == 0)
		rc = buf_set(&c->largest, all1.data, all1.size);
	return rc;
}

/* Sets the compact pointer: the next compaction of this level starts after
 * the largest key compacted now (also when this one fails). */
static int advance_pointer(struct version_set *vs, struct compaction *c) SHALE_REQUIRES(vs->mu)
{
	struct file_meta **in = c->inputs[0];
	struct slice largest = in[0]->largest;
	for (int i = 1; i < c->ninputs[0]; i++)
		if (comparator_compare(vs->icmp, in[i]->largest, largest) > 0)
			largest = in[i]->largest;
	int rc = buf_set(&vs->compact_pointer[c->level], largest.data, largest.size);
	if (rc == 0)
		rc = edit_set_compact_pointer(&c->edit, c->level, largest);
	return rc;
}

/* Builds the candidate seeded by file `seed` of level; NULL *out when it
 * conflicts with a running compaction. */
static int candidate(struct version_set *vs, const struct compaction_registry *reg, int level,
                     struct file_meta *seed, struct compaction **out)
	SHALE_REQUIRES(vs->mu)
{
	*out = NULL;
	struct compaction *c = compaction_new(vs, level);
	if (c == NULL)
		return SHALE_ENOMEM;
	int rc;
	if (level == 0) {
		/* every level-0 file that overlaps the seed, transitively */
		struct slice s = ikey_user_key(seed->smallest), l = ikey_user_key(seed->largest);
		rc = version_overlapping_inputs(c->input_version, 0, &s, &l, &c->inputs[0], &c->ninputs[0]);
	} else {
		c->inputs[0] = malloc(sizeof(struct file_meta *));
		rc = c->inputs[0] ? 0 : err_nomem("compaction");
		if (rc == 0) {
			c->inputs[0][0] = seed;
			c->ninputs[0] = 1;
		}
	}
	if (rc == 0)
		rc = setup_other_inputs(vs, c);
	if (rc || conflicts(reg, c, vs->ucmp)) {
		compaction_free(vs, c);
		return rc;
	}
	*out = c;
	return 0;
}

struct by_ratio {
	struct file_meta *f;
	double ratio; /* next-level bytes overlapped per byte of the file */
	int index;    /* position in the level (ties: key order) */
};

static int cmp_by_ratio(const void *a, const void *b)
{
	const struct by_ratio *x = a, *y = b;
	if (x->ratio != y->ratio)
		return x->ratio < y->ratio ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Tries the files of one level, cheapest first, for a candidate that
 * conflicts with nothing running. */
static int pick_in_level(struct version_set *vs, const struct compaction_registry *reg, int level,
                         struct compaction **out)
	SHALE_REQUIRES(vs->mu)
{
	struct version *v = vs->current;
	int n = v->nfiles[level];
	*out = NULL;
	if (level == 0) {
		/* oldest first (level 0 is kept newest first) */
		for (int i = n - 1; i >= 0; i--) {
			int rc = candidate(vs, reg, 0, v->files[0][i], out);
			if (rc || *out)
				return rc;
		}
		return 0;
	}
	/* The files that cost least to push down first: the fewest bytes of the
	 * next level rewritten per byte moved (RocksDB's "min overlapping
	 * ratio"; LevelDB takes them round robin, which rewrites more). Both
	 * levels are sorted and disjoint, so one pass finds every overlap. */
	struct file_meta **next = v->files[level + 1];
	int m = v->nfiles[level + 1];
	struct by_ratio *order = malloc((size_t)n * sizeof(*order));
	if (order == NULL)
		return err_nomem("compaction candidates");
	for (int i = 0, j = 0; i < n; i++) {
		struct file_meta *f = v->files[level][i];
		struct slice fs = ikey_user_key(f->smallest), fl = ikey_user_key(f->largest);
		while (j < m && comparator_compare(vs->ucmp, ikey_user_key(next[j]->largest), fs) < 0)
			j++;
		uint64_t overlap = 0;
		for (int k = j; k < m && comparator_compare(vs->ucmp, ikey_user_key(next[k]->smallest), fl) <= 0; k++)
			overlap += next[k]->size;
		order[i].f = f;
		order[i].ratio = (double)overlap / (double)(f->size ? f->size : 1);
		order[i].index = i;
	}
	qsort(order, (size_t)n, sizeof(*order), cmp_by_ratio);
	int rc = 0;
	for (int k = 0; k < n && rc == 0 && *out == NULL; k++) {
		struct file_meta *f = order[k].f;
		if (compaction_range_reserved(reg, level, ikey_user_key(f->smallest), ikey_user_key(f->largest), vs->ucmp))
			continue;
		rc = candidate(vs, reg, level, f, out);
	}
	free(order);
	return rc;
}

/* Read-triggered: the file reads have charged too often, if it is still
 * there and free. */
static int pick_for_seeks(struct version_set *vs, const struct compaction_registry *reg, struct compaction **out)
	SHALE_REQUIRES(vs->mu)
{
	struct version *v = vs->current;
	int level = vs->seek_level;
	*out = NULL;
	if (vs->seek_file_number == 0 || level >= NUM_LEVELS - 1)
		return 0;
	struct file_meta *f = NULL;
	for (int i = 0; i < v->nfiles[level] && f == NULL; i++)
		if (v->files[level][i]->number == vs->seek_file_number)
			f = v->files[level][i];
	if (f == NULL) {
		vs->seek_file_number = 0; /* compacted away meanwhile */
		return 0;
	}
	int rc = candidate(vs, reg, level, f, out);
	if (rc == 0 && *out) {
		/* the target is restored if this compaction fails (compaction_failed) */
		vs->seek_file_number = 0;
		(*out)->seek_triggered = 1;
		(*out)->seek_file_number = f->number;
		rc = advance_pointer(vs, *out);
		if (rc) {
			compaction_free(vs, *out);
			*out = NULL;
		}
	}
	return rc; /* a conflict leaves the target for later */
}

int compaction_pick(struct version_set *vs, const struct compaction_registry *reg, struct compaction **out)
{
	mutex_assert_held(&vs->mu);
	struct version *v = vs->current;
	double score[NUM_LEVELS - 1];
	*out = NULL;
	score[0] = (double)v->nfiles[0] / (double)vs->cfg.l0_compaction_trigger;
	for (int level = 1; level < NUM_LEVELS - 1; level++)
		score[level] = (double)v->level_bytes[level] / (double)vs->level_max_bytes[level];

	/* highest score first; each level at most once */
	int tried[NUM_LEVELS - 1] = { 0 };
	for (;;) {
		int best = -1;
		for (int level = 0; level < NUM_LEVELS - 1; level++)
			if (!tried[level] && score[level] >= 1.0 && (best < 0 || score[level] > score[best]))
				best = level;
		if (best < 0)
			return pick_for_seeks(vs, reg, out);
		tried[best] = 1;
		int rc = pick_in_level(vs, reg, best, out);
		if (rc)
			return rc;
		if (*out) {
			rc = advance_pointer(vs, *out);
			if (rc) {
				compaction_free(vs, *out);
				*out = NULL;
			}
			return rc;
		}
	}
}

int compaction_pick_range(struct version_set *vs, const struct compaction_registry *reg, int level,
                          const struct slice *begin, const struct slice *end, struct compaction **out,
                          int *conflict)
{
	mutex_assert_held(&vs->mu);
	*out = NULL;
	*conflict = 0;
	struct compaction *c = compaction_new(vs, level);
	if (c == NULL)
		return SHALE_ENOMEM;
	c->manual = 1;
	int rc = version_overlapping_inputs(c->input_version, level, begin, end, &c->inputs[0], &c->ninputs[0]);
	if (rc == 0 && c->ninputs[0] == 0) {
		compaction_free(vs, c);
		return 0;
	}
	if (rc == 0 && level > 0) {
		/* A large range goes in pieces of about one output file. */
		uint64_t limit = vs->cfg.max_file_size, sum = 0;
		for (int i = 0; i < c->ninputs[0]; i++) {
			sum += c->inputs[0][i]->size;
			if (sum >= limit) {
				c->ninputs[0] = i + 1;
				break;
			}
		}
	}
	if (rc == 0)
		rc = setup_other_inputs(vs, c);
	if (rc == 0 && conflicts(reg, c, vs->ucmp)) {
		*conflict = 1;
		compaction_free(vs, c);
		return 0;
	}
	if (rc == 0)
		rc = advance_pointer(vs, c);
	if (rc) {
		compaction_free(vs, c);
		return rc;
	}
	*out = c;
	return 0;
}

void compaction_failed(struct version_set *vs, const struct compaction *c)
{
	mutex_assert_held(&vs->mu);
	if (c->seek_triggered && vs->seek_file_number == 0) {
		vs->seek_file_number = c->seek_file_number;
		vs->seek_level = c->level;
	}
}

void compaction_register(struct compaction_registry *reg, struct compaction *c)
{
	c->next = reg->running;
	reg->running = c;
	reg->count++;
}

void compaction_unregister(struct compaction_registry *reg, struct compaction *c)
{
	for (struct compaction **p = &reg->running; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			reg->count--;
			return;
		}
	}
}

int compaction_is_trivial_move(const struct compaction *c)
{
	return !c->manual && c->ninputs[0] == 1 && c->ninputs[1] == 0 &&
	       total_size(c->grandparents, c->ngrandparents) <= c->max_grandparent_overlap;
}
