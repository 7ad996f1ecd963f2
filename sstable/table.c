/*
 * What a table keeps in memory for its whole life: the index block and the
 * filter block (both read and checksum-verified at open), the metaindex
 * handle (for approximate offsets), the path and the open file. Data blocks
 * are read per use, through the block cache when there is one. Without a
 * user filter policy, the bloom filter block is used whenever the metaindex
 * names one, whatever bloom_bits_per_key says (that option only governs
 * what the builder writes); with one, only the block under the policy's
 * name is. A filter block holding one filter for the whole table (what
 * shale writes) is asked before the index is searched; one with a filter
 * per region of the file (LevelDB's), after, for the block found.
 *
 * Block cache keys are 16 bytes: fixed64 cache id (cache_new_id() at open,
 * unique to this table object) then fixed64 block offset; the charge is the
 * block's memory. A block enters the cache only after its checksum was
 * verified (whatever read_opts says), so a cached block is always a checked
 * one. Blocks that point into a file mapping are never cached: the cache may
 * outlive the table.
 */
#include "sstable/table.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/thread.h"
#include "sstable/block.h"
#include "sstable/filter_block.h"
#include "sstable/format.h"
#include "sstable/two_level_iter.h"

#define BLOCK_CACHE_KEY_LEN 16

struct table {
	struct table_options opt;
	struct rand_file *file;
	char *path;
	uint64_t size;
	uint64_t data_limit; /* footer offset: every block ends before it */
	uint64_t cache_id;
	struct block *index;
	struct block_handle metaindex;
	int have_filter;
	int filter_whole;                       /* one filter for every block */
	struct filter_block_reader filter;
	struct block_contents filter_contents; /* owns the filter's bytes */
};

static int read_meta_block(struct table *t, const struct block_handle *h, struct block **out)
{
	struct block_contents bc;
	int rc = format_read_block(t->file, t->path, t->data_limit, h, 1, NULL, &bc);
	if (rc == 0)
		rc = block_create(&bc, t->path, h->offset, out);
	return rc;
}

/* The handle the metaindex gives name, in *h: 1 found, 0 not there, <0
 * an error (damage). */
static int find_meta(struct table *t, const struct block *meta, const char *name, struct block_handle *h)
{
	struct block_iter mi;
	block_iter_init(&mi, meta, comparator_bytewise(), t->path);
	struct slice key = slice_from_str(name);
	iter_seek(&mi.base, key);
	int rc = mi.status;
	if (rc == 0 && iter_valid(&mi.base) && slice_equal(iter_key(&mi.base), key)) {
		struct slice v = iter_value(&mi.base);
		if (!block_handle_decode(&v, h))
			rc = err_set(SHALE_ECORRUPT, "%s: bad %s handle in metaindex at offset %llu", t->path, name,
			             (unsigned long long)t->metaindex.offset);
		else
			rc = 1;
	}
	block_iter_release(&mi);
	return rc;
}

/* Loads the filter block at h, whose filters are policy's (NULL: the bloom). */
static int load_filter_block(struct table *t, const struct block_handle *h,
                             const struct filter_policy *policy)
{
	int rc = format_read_block(t->file, t->path, t->data_limit, h, 1, NULL, &t->filter_contents);
	if (rc == 0)
		rc = filter_block_reader_init(&t->filter, t->filter_contents.data, t->opt.internal_keys, t->path,
		                              h->offset);
	if (rc == 0) {
		t->filter.policy = policy;
		t->have_filter = 1;
		t->filter_whole = filter_block_is_whole(&t->filter, h->offset);
	}
	return rc;
}

/* With a user policy, only the filter block under its own name is used: a
 * table written under another policy (or the bloom) is read unfiltered. */
static int read_policy_filter(struct table *t, const struct block *meta)
{
	const struct filter_policy *p = t->opt.filter_policy;
	const char *name = p->name(p);
	size_t n = strlen(name);
	char *key = malloc(sizeof(FILTER_META_PREFIX) + n);
	if (key == NULL)
		return err_nomem("table filter name");
	memcpy(key, FILTER_META_PREFIX, sizeof(FILTER_META_PREFIX) - 1);
	memcpy(key + sizeof(FILTER_META_PREFIX) - 1, name, n + 1);
	struct block_handle h;
	int rc = find_meta(t, meta, key, &h);
	free(key);
	if (rc <= 0)
		return rc;
	return load_filter_block(t, &h, p);
}

/* Finds the bloom filter block in the metaindex and loads it. A metaindex
 * without one is fine (no filter was written); entries it has that this
 * version does not use are ignored. */
static int read_filter(struct table *t, const struct block *meta)
{
	if (t->opt.filter_policy)
		return read_policy_filter(t, meta);
	struct block_handle h;
	int rc = find_meta(t, meta, FILTER_META_KEY, &h);
	if (rc <= 0)
		return rc;
	return load_filter_block(t, &h, NULL);
}

int table_open(const struct table_options *opt, struct rand_file *file, const char *path,
               uint64_t size, struct table **out)
{
	struct block *meta = NULL;
	struct table *t = NULL;
	int rc;
	*out = NULL;

	if (size < FOOTER_LEN) {
		rc = err_set(SHALE_ECORRUPT, "%s: file of %llu bytes is too short to be a table",
		             path, (unsigned long long)size);
		goto fail;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->path = strdup(path)) == NULL) {
		rc = err_nomem("table");
		goto fail;
	}
	t->opt = *opt;
	t->file = file;
	t->size = size;
	t->data_limit = size - FOOTER_LEN;

	char scratch[FOOTER_LEN];
	struct slice got;
	if ((rc = rand_file_read(file, t->data_limit, FOOTER_LEN, scratch, &got)) != 0)
		goto fail;
	if (got.size != FOOTER_LEN) {
		rc = err_set(SHALE_ECORRUPT, "%s: truncated footer at offset %llu", path,
		             (unsigned long long)t->data_limit);
		goto fail;
	}
	struct footer f;
	if ((rc = footer_decode(got.data, size, path, &f)) != 0)
		goto fail;
	t->metaindex = f.metaindex;
	if ((rc = read_meta_block(t, &f.index, &t->index)) != 0 ||
	    (rc = read_meta_block(t, &f.metaindex, &meta)) != 0 ||
	    (rc = read_filter(t, meta)) != 0)
		goto fail;
	block_destroy(meta);
	if (opt->block_cache)
		t->cache_id = cache_new_id(opt->block_cache);
	*out = t;
	return 0;
fail:
	block_destroy(meta);
	if (t) {
		t->file = NULL;
		table_close(t);
	}
	rand_file_close(file);
	return rc;
}

size_t table_memory_usage(const struct table *t)
{
	return sizeof(*t) + (t->index ? block_charge(t->index) : 0) +
	       (t->filter_contents.heap ? t->filter_contents.data.size : 0);
}

void table_close(struct table *t)
{
	if (t == NULL)
		return;
	block_destroy(t->index);
	free(t->filter_contents.heap);
	rand_file_close(t->file);
	free(t->path);
	free(t);
}

static void delete_cached_block(struct slice key, void *value)
{
	(void)key;
	block_destroy(value);
}

/* On files that take the hint (mapped ones), asks for the block's bytes
 * before the block cache is searched, so that the first touch of the block —
 * a cache and TLB miss — overlaps the cache's own misses; a scan (around)
 * also asks for the blocks beside it (about as long, whichever way it goes),
 * which its next block would otherwise miss at its first byte. Only a hint:
 * clamped to the data blocks, skipped for a handle the read will reject. */
static void prefetch_block(const struct table *t, const struct block_handle *h, int around)
{
	if (h->offset >= t->data_limit || h->size >= t->data_limit)
		return;
	uint64_t span = h->size + BLOCK_TRAILER_LEN;
	uint64_t lo = h->offset, hi = h->offset + span;
	if (around) {
		lo = h->offset >= span ? h->offset - span : 0;
		hi += span;
	}
	if (hi > t->data_limit)
		hi = t->data_limit;
	t->file->ops->prefetch(t->file, lo, (size_t)(hi - lo));
}

/* Gets the data block at h: from the cache (*ch set, release it with
 * cache_release), or read from the file (*ch NULL, the caller owns *blk,
 * unless it was then inserted in the cache). */
static int load_block(struct table *t, const struct read_opts *ro, const struct block_handle *h,
                      struct block **blk, struct cache_handle **ch)
{
	struct cache *c = t->opt.block_cache;
	char key[BLOCK_CACHE_KEY_LEN];
	*blk = NULL;
	*ch = NULL;
	if (t->file->ops->prefetch)
		prefetch_block(t, h, ro->readahead);
	if (c) {
		encode_fixed64(key, t->cache_id);
		encode_fixed64(key + 8, h->offset);
		*ch = cache_lookup(c, slice_make(key, sizeof(key)));
		if (*ch) {
			*blk = cache_value(*ch);
			return 0;
		}
	}
	int fill = c && ro->fill_cache;
	struct block_contents bc;
	/* a block bound for the cache takes its buffer from the cache's pool */
	int rc = format_read_block(t->file, t->path, t->data_limit, h, ro->verify_checksums || fill,
	                           fill ? cache_pool(c) : NULL, &bc);
	if (rc == 0)
		rc = block_create(&bc, t->path, h->offset, blk);
	if (rc)
		return rc;
	if (fill && bc.cachable) {
		/* when the insert fails for memory, the block just stays private */
		*ch = cache_insert(c, slice_make(key, sizeof(key)), *blk, block_charge(*blk),
		                   delete_cached_block);
	}
	return 0;
}

static void release_block(struct table *t, struct block *blk, struct cache_handle *ch)
{
	if (ch)
		cache_release(t->opt.block_cache, ch);
	else
		block_destroy(blk);
}

static int bad_index_entry(const struct table *t)
{
	return err_set(SHALE_ECORRUPT, "%s: bad block handle in index block at offset %llu",
	               t->path, (unsigned long long)t->index->offset);
}

int table_get(struct table *t, const struct read_opts *ro, struct slice key, table_found_fn found,
              void *arg)
{
	if (t->filter_whole && !filter_block_may_match(&t->filter, 0, key))
		return 0; /* not in this table: no index search, no block */
	struct block_iter ii;
	block_iter_init(&ii, t->index, t->opt.cmp, t->path);
	iter_seek(&ii.base, key);
	int rc = ii.status;
	if (rc || !iter_valid(&ii.base))
		goto out; /* an error, or past the last block */
	struct slice v = iter_value(&ii.base);
	struct block_handle h;
	if (!block_handle_decode(&v, &h)) {
		rc = bad_index_entry(t);
		goto out;
	}
	if (t->have_filter && !t->filter_whole && !filter_block_may_match(&t->filter, h.offset, key))
		goto out;
	struct block *blk;
	struct cache_handle *ch;
	if ((rc = load_block(t, ro, &h, &blk, &ch)) != 0)
		goto out;
	struct block_iter bi;
	block_iter_init(&bi, blk, t->opt.cmp, t->path);
	iter_seek(&bi.base, key);
	if (iter_valid(&bi.base))
		found(arg, iter_key(&bi.base), iter_value(&bi.base));
	rc = bi.status;
	block_iter_release(&bi);
	release_block(t, blk, ch);
out:
	block_iter_release(&ii);
	return rc;
}

static void release_cached_cleanup(void *cache, void *handle)
{
	cache_release(cache, handle);
}

static void destroy_block_cleanup(void *blk, void *unused)
{
	(void)unused;
	block_destroy(blk);
}

/*
 * Scan-ahead (doc/design.md, "The path of a read"). While a DB iterator scans a
 * table (read_opts: readahead set, scan_ahead on), the blocks after the one
 * it reads, in the scan's direction, are queued in a ring of AHEAD_SLOTS
 * slots and decoded (read, checksum checked, decompressed: load_block with
 * fill_cache off) by the table options' scan_worker, so that the scan
 * finds them ready. The worker is a hint, never a dependency:
 *
 * - Each slot moves EMPTY -> QUEUED (the scan fills in a handle) -> BUSY
 *   (whoever claims it with a compare-and-swap: the worker, or the scan
 *   when it reaches a slot nobody took) -> DONE or FAILED. The scan takes
 *   DONE slots' blocks in queue order and empties them. At a BUSY slot (one
 *   block being decoded on the other thread) it first decodes the QUEUED
 *   slots after it itself, one at a time while that one stays BUSY
 *   (help_ahead: a worker slower than the scan then shares the work), then
 *   waits at most AHEAD_WAIT_NS, then marks it ABANDONED and reads the
 *   block itself: a worker that lost its CPU never holds the scan up. The
 *   worker drops the block it finishes for an ABANDONED slot and empties
 *   the slot, which the queue does not reuse until then. After abandoning a
 *   slot the scan takes what is queued without waiting, then reads
 *   AHEAD_SOLO_BLOCKS blocks alone before it queues again.
 * - A slot is used only when its handle is the one the scan asks for (same
 *   offset and size), so a seek, a turn or an index the queue misread lose
 *   the decoded blocks, never an answer. FAILED (damage, memory) is not
 *   reported from the worker: the scan then reads that block itself and
 *   gets the error, with its message, on its own thread, exactly where it
 *   would have without scan-ahead.
 * - The worker is submitted once per AHEAD_BATCH newly queued slots; its run
 *   claims every QUEUED slot it finds in one pass round the ring.
 */
#define AHEAD_SLOTS 16
#define AHEAD_BATCH (AHEAD_SLOTS / 2)

/* How long a scan waits for the worker to finish the block it needs before
 * reading the block itself: about what decoding the block itself costs the
 * scan (a 2 KiB block: 1-3 us), so a slow worker (one that lost its CPU, or
 * runs on a busier one) never makes the scan slower than reading alone. */
#define AHEAD_WAIT_NS 3000
/* After such a wait the scan reads this many blocks alone before it queues
 * blocks for the worker again: a worker that lost its CPU (or shares the
 * scan's) is left alone for a while rather than waited for at every block. */
#define AHEAD_SOLO_BLOCKS 64
/* Past this much of a wait, the scan yields its CPU while it waits (the
 * worker may be waiting for that very CPU). */
#define AHEAD_YIELD_NS 1500

enum { SLOT_EMPTY, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE, SLOT_FAILED, SLOT_ABANDONED };

struct ahead_slot {
	atomic_int state;
	struct block_handle h;   /* written by the scan before QUEUED */
	struct read_opts ro;     /* the same: what the block is read with */
	struct block *blk;       /* written by the decoder before DONE */
	struct cache_handle *ch;
};

struct scan_ahead {
	struct worker_job job; /* first: the job is the scan_ahead */
	struct table *t;
	/* the scan's own (never read by the worker, which may still be decoding
	 * an abandoned block of an earlier queue when a new one starts): */
	struct read_opts ro;      /* the blocks ahead are read with these (readahead:
	                             the scan's direction) */
	struct block_iter cursor; /* the index entry of the last handle queued */
	int cursor_live;          /* cursor was initialised */
	int more;                 /* the cursor may step on */
	int off;                  /* this scan could not start one: none until a seek */
	unsigned solo;            /* blocks to read alone before queueing again */
	unsigned head, count;     /* queued slots: head, head+1, ... (mod AHEAD_SLOTS) */
	unsigned unsubmitted;     /* queued since the worker was last submitted */
	/* pacing (the scan's own): the window's way, direction, start and
	 * blocks so far (0: none begun) */
	int alone;
	int win_dir;
	unsigned win_blocks;
	uint64_t win_start;
	atomic_uint head_hint;    /* head, for the worker to start its pass at */
	struct ahead_slot slot[AHEAD_SLOTS];
};

/* The argument of a table iterator's second levels. */
struct table_scan {
	struct table *t;
	struct scan_ahead *ahead; /* NULL until its first scan */
};

static void decode_slot(struct scan_ahead *sa, struct ahead_slot *s)
{
	struct block *blk = NULL;
	struct cache_handle *ch = NULL;
	int state = SLOT_FAILED;
	if (load_block(sa->t, &s->ro, &s->h, &blk, &ch) == 0) {
		s->blk = blk;
		s->ch = ch;
		state = SLOT_DONE;
	}
	int expect = SLOT_BUSY;
	if (!atomic_compare_exchange_strong_explicit(&s->state, &expect, state, memory_order_release,
	                                             memory_order_acquire)) {
		/* the scan gave up waiting and read the block itself */
		if (state == SLOT_DONE)
			release_block(sa->t, blk, ch);
		atomic_store_explicit(&s->state, SLOT_EMPTY, memory_order_release);
	}
}

static int claim(struct ahead_slot *s)
{
	int expect = SLOT_QUEUED;
	return atomic_compare_exchange_strong_explicit(&s->state, &expect, SLOT_BUSY, memory_order_acquire,
	                                               memory_order_relaxed);
}

/* The slot's state once it is no longer BUSY, or BUSY after AHEAD_WAIT_NS. */
static int wait_for_slot(struct ahead_slot *s)
{
	uint64_t start = 0;
	for (unsigned spins = 1;; spins++) {
		int state = atomic_load_explicit(&s->state, memory_order_acquire);
		if (state != SLOT_BUSY)
			return state;
		if (spins % 64 == 0) {
			uint64_t now = thread_mono_ns();
			if (start == 0)
				start = now;
			else if (now - start > AHEAD_WAIT_NS)
				return state;
			else if (now - start > AHEAD_YIELD_NS)
				sched_yield();
		}
		thread_cpu_relax();
	}
}

/* worker_job.run: one pass round the ring from the scan's head. */
static void ahead_run(struct worker_job *job)
{
	struct scan_ahead *sa = (struct scan_ahead *)job;
	unsigned start = atomic_load_explicit(&sa->head_hint, memory_order_relaxed);
	for (unsigned k = 0; k < AHEAD_SLOTS; k++) {
		struct ahead_slot *s = &sa->slot[(start + k) % AHEAD_SLOTS];
		if (claim(s))
			decode_slot(sa, s);
	}
}

/* Drops the queue: the worker's run is cancelled (or waited for), decoded
 * blocks released. The scan_ahead is then the scan's alone. */
static void ahead_reset(struct scan_ahead *sa)
{
	worker_cancel(sa->t->opt.scan_worker, &sa->job);
	for (unsigned i = 0; i < AHEAD_SLOTS; i++) {
		struct ahead_slot *s = &sa->slot[i];
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == SLOT_DONE)
			release_block(sa->t, s->blk, s->ch);
		atomic_store_explicit(&s->state, SLOT_EMPTY, memory_order_relaxed);
	}
	sa->count = 0;
	sa->unsubmitted = 0;
}

static void ahead_free(void *arg, void *unused)
{
	struct table_scan *sc = arg;
	(void)unused;
	if (sc->ahead) {
		ahead_reset(sc->ahead);
		if (sc->ahead->cursor_live)
			block_iter_release(&sc->ahead->cursor);
		free(sc->ahead);
	}
	free(sc);
}

/* Queues the handles after the cursor's, up to a full ring, and submits the
 * worker once a batch is waiting. */
static void ahead_fill(struct scan_ahead *sa)
{
	while (sa->more && sa->count < AHEAD_SLOTS) {
		struct ahead_slot *s = &sa->slot[(sa->head + sa->count) % AHEAD_SLOTS];
		if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_EMPTY)
			break; /* abandoned, and the worker has not let go of it yet */
		if (sa->ro.readahead > 0)
			iter_next(&sa->cursor.base);
		else
			iter_prev(&sa->cursor.base);
		struct block_handle h;
		struct slice v;
		if (!iter_valid(&sa->cursor.base) || (v = iter_value(&sa->cursor.base), !block_handle_decode(&v, &h))) {
			sa->more = 0; /* the end, or damage the scan will meet itself */
			break;
		}
		s->h = h;
		s->ro = sa->ro;
		atomic_store_explicit(&s->state, SLOT_QUEUED, memory_order_release);
		sa->count++;
		sa->unsubmitted++;
	}
	if (sa->unsubmitted >= AHEAD_BATCH || (sa->unsubmitted && !sa->more)) {
		sa->unsubmitted = 0;
		if (worker_submit(sa->t->opt.scan_worker, &sa->job) != 0)
			sa->off = 1; /* no worker thread: the scan reads alone */
	}
}

/* Starts a queue after the block at h (blk, just loaded by the scan): the
 * cursor finds h's index entry by the block's first key (index keys
 * separate blocks: the first entry >= a block's first key is the block's
 * own), checked against h. */
static void ahead_start(struct scan_ahead *sa, const struct read_opts *ro, const struct block_handle *h,
                        const struct block *blk)
{
	struct table *t = sa->t;
	struct block_iter bi;
	block_iter_init(&bi, blk, t->opt.cmp, t->path);
	iter_seek_first(&bi.base);
	if (sa->cursor_live)
		block_iter_release(&sa->cursor);
	block_iter_init(&sa->cursor, t->index, t->opt.cmp, t->path);
	sa->cursor_live = 1;
	struct block_handle at;
	struct slice v;
	if (iter_valid(&bi.base))
		iter_seek(&sa->cursor.base, iter_key(&bi.base));
	block_iter_release(&bi);
	if (!iter_valid(&sa->cursor.base) || (v = iter_value(&sa->cursor.base), !block_handle_decode(&v, &at)) ||
	    at.offset != h->offset || at.size != h->size) {
		sa->off = 1;
		return;
	}
	sa->ro = *ro;
	sa->more = 1;
	ahead_fill(sa);
}

/* While the worker decodes the block the scan needs next, the scan decodes
 * the first block queued after it that nobody has claimed, rather than
 * wait: when the worker is slower than the scan (its CPU is busy with
 * something else, or decoding costs more than stepping), the two then
 * share the decoding instead of the scan waiting at every block and
 * falling back to reading alone. 1 when it decoded one (the caller asks
 * again while the block it needs is still being decoded: at most the
 * queue's length). */
static int help_ahead(struct scan_ahead *sa)
{
	for (unsigned k = 1; k < sa->count; k++) {
		struct ahead_slot *n = &sa->slot[(sa->head + k) % AHEAD_SLOTS];
		if (atomic_load_explicit(&n->state, memory_order_relaxed) == SLOT_QUEUED && claim(n)) {
			decode_slot(sa, n);
			return 1;
		}
	}
	return 0;
}

/*
 * Pacing (table_options' scan_pace). A scan times its blocks in windows of
 * SCAN_PACE_WINDOW, from the load of a window's first block to that of the
 * next window's: what a block costs the scan's thread, its steps through the
 * block's entries included, waits for the worker and blocks it decoded
 * itself too. Each window goes one way: ahead (blocks queued for the worker)
 * or alone (the scan decodes every block; what is queued is still taken).
 * The database keeps a running average of each way by direction, and a
 * window goes the faster way, but for one window in SCAN_PACE_PROBE which
 * goes the other, and a way not yet measured goes first. A window's figure
 * counts at most four times the average it joins, so a scan its caller
 * paused does not decide alone. The clock read costs one call a block
 * (a vDSO read, tens of nanoseconds, against 1-3 us a block).
 */
static int pace_choose(struct scan_pace *p, int dir)
{
	uint64_t ahead = atomic_load_explicit(&p->ns[dir][0], memory_order_relaxed);
	uint64_t alone = atomic_load_explicit(&p->ns[dir][1], memory_order_relaxed);
	if (ahead == 0)
		return 0;
	if (alone == 0)
		return 1;
	int faster = alone < ahead;
	unsigned w = atomic_fetch_add_explicit(&p->windows, 1, memory_order_relaxed);
	return w % SCAN_PACE_PROBE == SCAN_PACE_PROBE - 1 ? !faster : faster;
}

static void pace_record(struct scan_pace *p, int dir, int way, uint64_t ns)
{
	uint64_t old = atomic_load_explicit(&p->ns[dir][way], memory_order_relaxed);
	if (old && ns > 4 * old)
		ns = 4 * old;
	uint64_t avg = old ? old - old / 4 + ns / 4 : ns;
	atomic_store_explicit(&p->ns[dir][way], avg ? avg : 1, memory_order_relaxed);
}

/* At each block a scan loads (readahead: its direction): ends a window
 * when it is full, and chooses the way of the one it begins. */
static void pace_block(struct scan_ahead *sa, int readahead)
{
	struct scan_pace *p = sa->t->opt.scan_pace;
	if (p == NULL || sa->off)
		return; /* (off: the scan reads alone whatever the window says) */
	int dir = readahead < 0;
	uint64_t now = p->clock ? p->clock() : thread_mono_ns();
	if (sa->win_blocks && sa->win_dir == dir) {
		if (sa->win_blocks++ < SCAN_PACE_WINDOW)
			return;
		pace_record(p, dir, sa->alone, (now - sa->win_start) / SCAN_PACE_WINDOW);
	}
	sa->win_dir = dir;
	sa->win_blocks = 1;
	sa->win_start = now;
	sa->alone = pace_choose(p, dir);
}

/* In a scan, the block at h from the queue (1: *blk and *ch set as by
 * load_block), or 0: the caller loads it. Either way the queue then runs on
 * from h (started, when there was none). */
static int ahead_take(struct table_scan *sc, const struct read_opts *ro, const struct block_handle *h,
                      struct block **blk, struct cache_handle **ch)
{
	struct scan_ahead *sa = sc->ahead;
	if (sa == NULL) {
		if ((sa = calloc(1, sizeof(*sa))) == NULL)
			return 0; /* no scan-ahead: nothing is lost */
		worker_job_init(&sa->job, ahead_run);
		sa->t = sc->t;
		sc->ahead = sa;
	}
	pace_block(sa, ro->readahead);
	if (sa->count == 0)
		return 0; /* (what is queued is taken even when off or solo) */
	struct ahead_slot *s = &sa->slot[sa->head];
	if (sa->ro.readahead != ro->readahead || s->h.offset != h->offset || s->h.size != h->size ||
	    sa->ro.verify_checksums != ro->verify_checksums) {
		ahead_reset(sa);
		return 0;
	}
	int state = atomic_load_explicit(&s->state, memory_order_acquire);
	if (state == SLOT_QUEUED) {
		if (claim(s)) {
			decode_slot(sa, s); /* the worker is behind: do it here */
			state = atomic_load_explicit(&s->state, memory_order_acquire);
		} else {
			state = SLOT_BUSY; /* the worker claimed it meanwhile */
		}
	}
	while (state == SLOT_BUSY && !sa->solo && !sa->off && help_ahead(sa))
		state = atomic_load_explicit(&s->state, memory_order_acquire);
	if (state == SLOT_BUSY && (sa->solo || sa->off || (state = wait_for_slot(s)) == SLOT_BUSY)) {
		int expect = SLOT_BUSY;
		if (atomic_compare_exchange_strong_explicit(&s->state, &expect, SLOT_ABANDONED,
		                                            memory_order_acq_rel, memory_order_acquire)) {
			state = SLOT_ABANDONED; /* the caller reads it; the worker empties the slot */
			sa->solo = AHEAD_SOLO_BLOCKS;
		} else {
			state = expect; /* finished meanwhile */
		}
	}
	int took = state == SLOT_DONE;
	if (took) {
		*blk = s->blk;
		*ch = s->ch;
	}
	if (state != SLOT_ABANDONED)
		atomic_store_explicit(&s->state, SLOT_EMPTY, memory_order_relaxed);
	sa->head = (sa->head + 1) % AHEAD_SLOTS;
	sa->count--;
	atomic_store_explicit(&sa->head_hint, sa->head, memory_order_relaxed);
	if (!sa->off && !sa->solo && !sa->alone)
		ahead_fill(sa);
	if (sa->count) {
		/* the next block, when decoded already, was written in the
		 * worker's cache: ask for its lines now, all at once, rather
		 * than one miss at a time as the scan reaches them */
		struct ahead_slot *n = &sa->slot[sa->head];
		if (atomic_load_explicit(&n->state, memory_order_acquire) == SLOT_DONE) {
			const struct block *nb = n->blk;
			for (size_t i = 0; i < nb->size; i += 64)
				__builtin_prefetch(nb->data + i);
		}
	}
	return took;
}

/* second_level_fn of the table's two-level iterator (arg: its table_scan):
 * the block iterator a scan leaves is pointed at the next block, its
 * buffers kept. */
static struct iter *data_block_iter(void *arg, const struct read_opts *ro, struct slice index_value,
                                    struct iter *reuse)
{
	struct table_scan *sc = arg;
	struct table *t = sc->t;
	struct block_iter *space = block_iter_recycle(reuse);
	struct block_handle h;
	int rc;
	if (!block_handle_decode(&index_value, &h)) {
		rc = bad_index_entry(t);
		goto fail;
	}
	struct block *blk;
	struct cache_handle *ch;
	int ahead = ro->readahead && ro->scan_ahead && t->opt.scan_worker;
	if (ahead && ahead_take(sc, ro, &h, &blk, &ch)) {
		/* from the queue */
	} else {
		struct scan_ahead *sa = sc->ahead;
		if (!ahead && sa && (sa->count || sa->off || sa->solo)) {
			ahead_reset(sa); /* a seek ended the scan */
			sa->off = 0;
			sa->solo = 0;
		}
		if (!ahead && sa)
			sa->win_blocks = 0; /* (its window too) */
		if ((rc = load_block(t, ro, &h, &blk, &ch)) != 0)
			goto fail;
		if (ahead && sa && !sa->off && sa->count == 0) {
			if (sa->solo)
				sa->solo--;
			else if (!sa->alone)
				ahead_start(sa, ro, &h, blk);
		}
	}
	struct iter *it = block_iter_reuse(space, blk, t->opt.cmp, t->path);
	if (it == NULL) {
		release_block(t, blk, ch);
		return NULL;
	}
	if (ch)
		rc = iter_register_cleanup(it, release_cached_cleanup, t->opt.block_cache, ch);
	else
		rc = iter_register_cleanup(it, destroy_block_cleanup, blk, NULL);
	if (rc) {
		iter_destroy(it);
		release_block(t, blk, ch);
		return NULL;
	}
	return it;
fail:
	if (space)
		iter_destroy(&space->base);
	return iter_empty(rc);
}

/* two_level_probe_fn: only a whole-table filter speaks for every block */
static int table_may_hold(void *arg, struct slice target)
{
	const struct table_scan *sc = arg;
	const struct table *t = sc->t;
	return !t->filter_whole || filter_block_may_match(&t->filter, 0, target);
}

struct iter *table_iter(struct table *t, const struct read_opts *ro)
{
	struct table_scan *sc = malloc(sizeof(*sc));
	if (sc == NULL) {
		err_nomem("table iterator");
		return NULL;
	}
	sc->t = t;
	sc->ahead = NULL;
	struct iter *it = two_level_iter_over_block(t->index, t->opt.cmp, t->path, data_block_iter, sc, ro, 1);
	if (it == NULL) {
		free(sc);
		return NULL;
	}
	if (iter_register_cleanup(it, ahead_free, sc, NULL) != 0) {
		iter_destroy(it);
		free(sc);
		return NULL;
	}
	if (t->opt.internal_keys)
		two_level_iter_set_probe(it, table_may_hold);
	return it;
}

struct iter *table_iter_reuse(struct table *t, const struct read_opts *ro, struct iter *reuse)
{
	/* table_iter's own cleanup, alone: nothing of a caller's to run */
	if (reuse && reuse->cleanup.fn == ahead_free && reuse->cleanup.next == NULL) {
		struct table_scan *sc = reuse->cleanup.a;
		if (sc->ahead == NULL &&
		    two_level_iter_rebind(reuse, data_block_iter, t->index, t->opt.cmp, t->path, ro)) {
			sc->t = t;
			two_level_iter_set_probe(reuse, t->opt.internal_keys ? table_may_hold : NULL);
			return reuse;
		}
	}
	iter_destroy(reuse);
	return table_iter(t, ro);
}

uint64_t table_approximate_offset(struct table *t, struct slice key)
{
	struct block_iter ii;
	block_iter_init(&ii, t->index, t->opt.cmp, t->path);
	iter_seek(&ii.base, key);
	uint64_t off = t->metaindex.offset;
	if (iter_valid(&ii.base)) {
		struct slice v = iter_value(&ii.base);
		struct block_handle h;
		if (block_handle_decode(&v, &h))
			off = h.offset;
	}
	block_iter_release(&ii);
	return off;
}
