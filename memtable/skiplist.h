/*
 * A skiplist of variable-length entries in an arena, ordered by a caller's
 * comparator. The memtable's index.
 *
 * Thread safety
 * -------------
 * Writes (skiplist_alloc + skiplist_insert) need external synchronisation:
 * one writer at a time, and whatever serialises writers (the DB's write
 * queue, a mutex) must also order one writer's inserts before the next's.
 * Reads (lookups and iterators) need no lock and may run on any number of
 * threads while a writer inserts; they only require that the list outlives
 * them. The invariants that make this work:
 *   1. Nothing is ever removed or changed once linked: an entry's bytes and
 *      its node stay put until the whole list (the arena) is destroyed.
 *   2. A node is fully built (entry bytes and its own next links) before it
 *      becomes reachable; it is published by release stores into its
 *      predecessors' links, and readers load every link with acquire, so a
 *      reader that reaches a node sees it complete.
 *   3. Links only ever change from one valid node (or NULL) to a node that
 *      was inserted between them, so a reader at any moment sees an ordered
 *      list containing at least every entry whose insert finished before the
 *      reader's load (in happens-before order).
 *
 * Memory layout: ONE arena allocation per entry. A node of height h is
 *   [link h-1] ... [link 1] [link 0] [entry bytes]
 * and a node is addressed by its level-0 link, so the entry starts right
 * after it and link i lies i slots below it (the layout of RocksDB's
 * InlineSkipList; it needs no key pointer or height field). Heights are
 * 1..SKIPLIST_MAX_HEIGHT, each level kept with probability
 * 1/SKIPLIST_BRANCHING, drawn from a per-list seeded PRNG.
 */
#ifndef SHALE_MEMTABLE_SKIPLIST_H
#define SHALE_MEMTABLE_SKIPLIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util/arena.h"
#include "lib/util/random.h"

#define SKIPLIST_MAX_HEIGHT 12
#define SKIPLIST_BRANCHING 4

/* Never defined: a node pointer is the address of the node's level-0 link. */
struct skiplist_node;
typedef _Atomic(struct skiplist_node *) skiplist_link;

/* The order. Entries are the bytes the caller wrote into skiplist_alloc's
 * space; a "key" is whatever search form the caller likes (e.g. a decoded
 * struct), so lookups need not build an entry. Both functions must agree
 * and be pure; they are called concurrently from every reader. */
struct skiplist_cmp {
	/* <0, 0, >0 as entry orders before, with or after key */
	int (*entry_key)(const void *arg, const char *entry, const void *key);
	/* the same order between two entries (used by prev) */
	int (*entries)(const void *arg, const char *a, const char *b);
	const void *arg;
};

struct skiplist {
	struct skiplist_cmp cmp;     /* immutable after init */
	struct arena *arena;         /* borrowed; writer only */
	struct rng rng;              /* writer only */
	int pending_height;          /* writer only: of the last skiplist_alloc */
	atomic_int max_height;       /* head links at and above it are NULL; read relaxed */
	/* The head: a node of full height with no entry, its level-0 link last
	 * (head_links[SKIPLIST_MAX_HEIGHT - 1]). */
	skiplist_link head_links[SKIPLIST_MAX_HEIGHT];
};

/* Initialises an empty list that allocates from arena (borrowed; it must
 * outlive the list, and only the writer may allocate from it). The list
 * must not move while in use. Nothing to destroy: the arena holds it all. */
void skiplist_init(struct skiplist *sl, struct skiplist_cmp cmp, struct arena *arena, uint64_t seed);

/* Space (8-byte aligned) for an entry of size bytes in a new, unlinked
 * node. The caller writes the entry, then links it with skiplist_insert
 * before the next skiplist_alloc. NULL when memory runs out (the list is
 * unchanged; the caller reports SHALE_ENOMEM). Writer only. */
char *skiplist_alloc(struct skiplist *sl, size_t size);

/* Links the entry returned by the last skiplist_alloc; key is the entry's
 * search form (as entry_key understands it). REQUIRES: writer only; no equal
 * entry in the list; the entry bytes are final (readers may see them as soon
 * as this is called). */
void skiplist_insert(struct skiplist *sl, char *entry, const void *key);

/* The first entry >= key, or NULL. Any thread. */
const char *skiplist_seek(const struct skiplist *sl, const void *key);

static inline skiplist_link *skiplist_node_link(const struct skiplist_node *n, int level)
{
	return (skiplist_link *)n - level;
}

static inline const char *skiplist_node_entry(const struct skiplist_node *n)
{
	return (const char *)((skiplist_link *)n + 1);
}

static inline struct skiplist_node *skiplist_head(const struct skiplist *sl)
{
	return (struct skiplist_node *)&sl->head_links[SKIPLIST_MAX_HEIGHT - 1];
}

static inline struct skiplist_node *skiplist_node_next(const struct skiplist_node *n, int level)
{
	/* acquire: pairs with the release store that published the next node,
	 * so its entry bytes and links are visible (invariant 2). */
	return atomic_load_explicit(skiplist_node_link(n, level), memory_order_acquire);
}

/* An iterator: a position in the list. Any number may run alongside the
 * writer; each is used by one thread at a time. It sees every entry whose
 * insert happened before it loads the links it walks, maybe some later ones.
 * Nothing to destroy. Entries it returns stay valid while the list lives. */
struct skiplist_iter {
	const struct skiplist *list;
	const struct skiplist_node *node; /* NULL: not valid */
};

static inline void skiplist_iter_init(struct skiplist_iter *it, const struct skiplist *sl)
{
	it->list = sl;
	it->node = NULL;
}

static inline int skiplist_iter_valid(const struct skiplist_iter *it)
{
	return it->node != NULL;
}

/* REQUIRES: valid. */
static inline const char *skiplist_iter_entry(const struct skiplist_iter *it)
{
	return skiplist_node_entry(it->node);
}

/* REQUIRES: valid. */
static inline void skiplist_iter_next(struct skiplist_iter *it)
{
	it->node = skiplist_node_next(it->node, 0);
}

/* Positions at the first entry >= key. */
void skiplist_iter_seek(struct skiplist_iter *it, const void *key);
void skiplist_iter_seek_first(struct skiplist_iter *it);
void skiplist_iter_seek_last(struct skiplist_iter *it);
/* REQUIRES: valid. There are no back links: this searches for the last
 * entry before the current one (O(log n), as LevelDB). */
void skiplist_iter_prev(struct skiplist_iter *it);

#endif
