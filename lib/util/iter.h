/*
 * The internal iterator interface, implemented by memtables, blocks, tables,
 * the merging iterator and the DB iterator.
 *
 * Contract: key()/value() may be called only while valid(); the slices they
 * return are borrowed until the iterator moves or is destroyed. An iterator
 * that meets an error becomes invalid and status() returns the code; the
 * thread's message was set where the error happened. seek(target) positions
 * at the first entry >= target. Used by one thread at a time.
 *
 * Cleanups registered with iter_register_cleanup run, newest first, when the
 * iterator is destroyed (they release what the iterator pins: a memtable, a
 * version, a cached block).
 *
 * Published cursors: every iterator keeps its answers in struct iter's
 * valid, key and value, current after every positioning call and after an
 * error (key and value meaningful only while valid), so that asking costs a
 * load, not a call. A step through a level (merger, level, table, block)
 * then makes one indirect call per layer (the move), and each layer reads
 * the one below it with plain loads (doc/performance.md, "What each change
 * bought").
 */
#ifndef SHALE_UTIL_ITER_H
#define SHALE_UTIL_ITER_H

#include "lib/util/slice.h"

struct iter;

struct iter_ops {
	void (*seek_first)(struct iter *it);
	void (*seek_last)(struct iter *it);
	void (*seek)(struct iter *it, struct slice target);
	void (*next)(struct iter *it);
	void (*prev)(struct iter *it);
	int (*status)(const struct iter *it);
	/* frees the implementation's own state (cleanups already ran) */
	void (*destroy)(struct iter *it);
	/* Optional (NULL: iter_seek_probe seeks). For iterators over internal
	 * keys (lib/util/ikey.h): returns 1 after seeking to target as seek
	 * does, or 0, without reading a data block, when a filter shows that
	 * the iterator holds no entry with target's user key; the iterator is
	 * then not positioned (valid() is 0) until the next positioning call.
	 * Its first entry >= target has a larger user key (internal keys order
	 * by user key first), which is what lets a merging iterator over
	 * several sources leave such children unsought while another child
	 * holds the user key itself (lib/version/merger.h, "Lazy seeks"). */
	int (*seek_probe)(struct iter *it, struct slice target);
};

typedef void (*iter_cleanup_fn)(void *a, void *b);

struct iter_cleanup {
	iter_cleanup_fn fn;
	void *a, *b;
	struct iter_cleanup *next;
};

struct iter {
	const struct iter_ops *ops;
	/* the published cursor (above) */
	int valid;
	struct slice key, value;
	struct iter_cleanup cleanup; /* first one inline; fn NULL when unused */
};

static inline void iter_init(struct iter *it, const struct iter_ops *ops)
{
	it->ops = ops;
	it->valid = 0;
	it->key = slice_make("", 0);
	it->value = slice_make("", 0);
	it->cleanup.fn = NULL;
	it->cleanup.next = NULL;
}

static inline int iter_valid(const struct iter *it)
{
	return it->valid;
}
static inline void iter_seek_first(struct iter *it) { it->ops->seek_first(it); }
static inline void iter_seek_last(struct iter *it) { it->ops->seek_last(it); }
static inline void iter_seek(struct iter *it, struct slice t) { it->ops->seek(it, t); }
static inline int iter_seek_probe(struct iter *it, struct slice t)
{
	if (it->ops->seek_probe)
		return it->ops->seek_probe(it, t);
	it->ops->seek(it, t);
	return 1;
}
static inline void iter_next(struct iter *it) { it->ops->next(it); }
static inline void iter_prev(struct iter *it) { it->ops->prev(it); }
static inline struct slice iter_key(const struct iter *it)
{
	return it->key;
}
static inline struct slice iter_value(const struct iter *it)
{
	return it->value;
}
static inline int iter_status(const struct iter *it) { return it->ops->status(it); }

/* Returns 0, or SHALE_ENOMEM without registering (the caller still owns
 * what fn would have released). */
int iter_register_cleanup(struct iter *it, iter_cleanup_fn fn, void *a, void *b);
/* The same, but fn runs after every cleanup registered so far and every one
 * registered later with iter_register_cleanup: for releasing what the
 * iterator's own cleanups still use (a table cache's reference to the
 * table a table iterator reads, which its scan-ahead stops with first). */
int iter_register_cleanup_last(struct iter *it, iter_cleanup_fn fn, void *a, void *b);
/* Runs the cleanups registered so far and forgets them (an implementation
 * recycling an iterator's memory for a new position starts clean). */
void iter_run_cleanups(struct iter *it);
/* Runs the cleanups, then the implementation's destroy. NULL is a no-op. */
void iter_destroy(struct iter *it);

/* An iterator over nothing, with the given status (0 = just empty). NULL when
 * memory runs out. The thread's message is the caller's business. */
struct iter *iter_empty(int status);

#endif
