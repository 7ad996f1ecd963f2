/*
 * Skiplist search and insert. The thread-safety invariants are in skiplist.h;
 * the comments here say why each memory order is enough.
 */
#include "memtable/skiplist.h"

#include <assert.h>
#include <stdint.h>

_Static_assert(sizeof(skiplist_link) == sizeof(void *), "a link is one pointer");
_Static_assert(SKIPLIST_BRANCHING == 4, "random_height draws two bits per level");

void skiplist_init(struct skiplist *sl, struct skiplist_cmp cmp, struct arena *arena, uint64_t seed)
{
	sl->cmp = cmp;
	sl->arena = arena;
	rng_seed(&sl->rng, seed);
	sl->pending_height = 0;
	atomic_init(&sl->max_height, 1);
	for (int i = 0; i < SKIPLIST_MAX_HEIGHT; i++)
		atomic_init(&sl->head_links[i], NULL);
}

/* 1 with probability 3/4, 2 with 3/16, ...: each further level with
 * probability 1/4. The high half of an xorshift64* output is its best part
 * and holds enough bits for every level. */
static int random_height(struct rng *r)
{
	uint64_t bits = rng_next(r) >> 32;
	int h = 1;
	while (h < SKIPLIST_MAX_HEIGHT && (bits & (SKIPLIST_BRANCHING - 1)) == 0) {
		h++;
		bits >>= 2;
	}
	return h;
}

char *skiplist_alloc(struct skiplist *sl, size_t size)
{
	int h = random_height(&sl->rng);
	size_t links = (size_t)h * sizeof(skiplist_link);
	if (size > SIZE_MAX - links)
		return NULL;
	char *p = arena_alloc_aligned(sl->arena, links + size);
	if (p == NULL)
		return NULL;
	sl->pending_height = h;
	/* the entry follows the level-0 link, the last of the h links */
	return p + links;
}

static inline int node_before_key(const struct skiplist *sl, const struct skiplist_node *n,
                                  const void *key)
{
	return sl->cmp.entry_key(sl->cmp.arg, skiplist_node_entry(n), key) < 0;
}

static inline int read_height(const struct skiplist *sl)
{
	/* relaxed: max_height orders no other memory. A reader that sees an old
	 * value starts lower than it could, which only costs time. One that sees
	 * a new value before the head's new links finds NULL there (head links
	 * start NULL and change only by release stores of complete nodes) and
	 * simply moves down a level. */
	return atomic_load_explicit(&((struct skiplist *)sl)->max_height, memory_order_relaxed);
}

/* The first node >= key (NULL at the end); with prev, also each level's last
 * node < key. */
static struct skiplist_node *find_ge(const struct skiplist *sl, const void *key,
                                     struct skiplist_node **prev)
{
	struct skiplist_node *x = skiplist_head(sl);
	/* a node already found >= key at a higher level: skip comparing it again */
	struct skiplist_node *last_bigger = NULL;
	int level = read_height(sl) - 1;
	for (;;) {
		struct skiplist_node *next = skiplist_node_next(x, level);
		/* The next step is either right (next's own link) or down (x's
		 * link a level lower, in a line already here): start fetching the
		 * node down there now, while next is compared, instead of after. */
		if (level > 0)
			__builtin_prefetch(atomic_load_explicit(skiplist_node_link(x, level - 1), memory_order_relaxed));
		if (next != NULL && next != last_bigger && node_before_key(sl, next, key)) {
			x = next;
		} else {
			if (prev != NULL)
				prev[level] = x;
			if (level == 0)
				return next;
			last_bigger = next;
			level--;
		}
	}
}

/* The last node whose entry orders before entry (NULL if none). */
static struct skiplist_node *find_lt(const struct skiplist *sl, const char *entry)
{
	struct skiplist_node *head = skiplist_head(sl);
	struct skiplist_node *x = head;
	struct skiplist_node *last_bigger = NULL;
	int level = read_height(sl) - 1;
	for (;;) {
		struct skiplist_node *next = skiplist_node_next(x, level);
		if (next != NULL && next != last_bigger &&
		    sl->cmp.entries(sl->cmp.arg, skiplist_node_entry(next), entry) < 0) {
			x = next;
		} else {
			if (level == 0)
				return x == head ? NULL : x;
			last_bigger = next;
			level--;
		}
	}
}

static struct skiplist_node *find_last(const struct skiplist *sl)
{
	struct skiplist_node *head = skiplist_head(sl);
	struct skiplist_node *x = head;
	int level = read_height(sl) - 1;
	for (;;) {
		struct skiplist_node *next = skiplist_node_next(x, level);
		if (next != NULL) {
			x = next;
		} else {
			if (level == 0)
				return x == head ? NULL : x;
			level--;
		}
	}
}

void skiplist_insert(struct skiplist *sl, char *entry, const void *key)
{
	struct skiplist_node *prev[SKIPLIST_MAX_HEIGHT];
	struct skiplist_node *n = (struct skiplist_node *)(entry - sizeof(skiplist_link));
	int h = sl->pending_height;
	assert(h >= 1 && h <= SKIPLIST_MAX_HEIGHT);
	sl->pending_height = 0;

	/* The writer's own loads in find_ge are acquire too (shared code); relaxed
	 * would do, as no other thread stores links. */
	struct skiplist_node *x = find_ge(sl, key, prev);
	(void)x;
	assert(x == NULL || sl->cmp.entry_key(sl->cmp.arg, skiplist_node_entry(x), key) != 0);

	int max = read_height(sl);
	if (h > max) {
		for (int i = max; i < h; i++)
			prev[i] = skiplist_head(sl);
		/* relaxed: see read_height */
		atomic_store_explicit(&sl->max_height, h, memory_order_relaxed);
	}

	/* Build the node completely while no other thread can reach it: a plain
	 * (atomic_init) store is enough. The writer is the only thread that
	 * stores links, so relaxed loads of its predecessors' links see the
	 * latest values. */
	for (int i = 0; i < h; i++) {
		struct skiplist_node *succ =
			atomic_load_explicit(skiplist_node_link(prev[i], i), memory_order_relaxed);
		atomic_init(skiplist_node_link(n, i), succ);
	}
	/* Publish, bottom level first, so that once a reader can reach n at any
	 * level, a walk along level 0 finds it too. release: every earlier write of this
	 * thread (the entry bytes, n's links above) happens before any read by a
	 * thread whose acquire load returns n. */
	for (int i = 0; i < h; i++)
		atomic_store_explicit(skiplist_node_link(prev[i], i), n, memory_order_release);
}

const char *skiplist_seek(const struct skiplist *sl, const void *key)
{
	struct skiplist_node *n = find_ge(sl, key, NULL);
	return n != NULL ? skiplist_node_entry(n) : NULL;
}

void skiplist_iter_seek(struct skiplist_iter *it, const void *key)
{
	it->node = find_ge(it->list, key, NULL);
}

void skiplist_iter_seek_first(struct skiplist_iter *it)
{
	it->node = skiplist_node_next(skiplist_head(it->list), 0);
}

void skiplist_iter_seek_last(struct skiplist_iter *it)
{
	it->node = find_last(it->list);
}

void skiplist_iter_prev(struct skiplist_iter *it)
{
	assert(it->node != NULL);
	it->node = find_lt(it->list, skiplist_node_entry(it->node));
}
