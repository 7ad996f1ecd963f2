/*
 * Sharded LRU cache (LevelDB's ShardedLRUCache).
 *
 * The cache is NUM_SHARDS independent shards, chosen by the top bits of the
 * key's hash. Each shard has a mutex guarding a chained hash table (grown as
 * entries arrive) and two circular lists:
 *
 *   lru:    entries in the table referenced only by the cache (refs == 1),
 *           oldest first; eviction takes from the front.
 *   in_use: entries in the table also pinned by handles (refs >= 2), in no
 *           particular order.
 *
 * An entry is in the table iff in_cache is set, and then it is on exactly one
 * of the two lists. refs counts the cache's own reference (while in_cache)
 * plus one per handle. An entry leaves the table when erased, replaced,
 * evicted or pruned; it is freed when refs reaches 0, which may be later, at
 * the last cache_release. An entry whose charge exceeds its shard's capacity
 * never enters the table: its only reference is the handle insert returns.
 *
 * usage is the sum of the charges of the entries in the table, pinned ones
 * included; after an insert, a release or a capacity change the shard evicts
 * from lru until usage fits its capacity or lru is empty (so pinned entries
 * may exceed it for a while).
 *
 * Deleters run with no shard mutex held (a deleter may call back into this
 * or another cache): entries whose refs reach 0 under the lock are chained on
 * a local free list through link.next and deleted after unlocking.
 */
#include "lib/util/cache.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/bpool.h"
#include "lib/util/error.h"
#include "lib/util/hash.h"
#include "lib/util/thread.h"

#define NUM_SHARD_BITS 4
#define NUM_SHARDS (1u << NUM_SHARD_BITS)
#define INITIAL_BUCKETS 16u

/* A list link; the lists hold entries through their first member. */
struct link {
	struct link *next;
	struct link *prev;
};

/* An entry; a handle is a pointer to one. One allocation holds the key. */
struct cache_handle {
	struct link link; /* first: lru/in_use list, or a free list; shard mutex */
	struct cache_handle *next_hash; /* bucket chain; shard mutex */
	void *value;                    /* immutable */
	cache_deleter_fn deleter;       /* immutable */
	size_t charge;                  /* immutable */
	size_t key_len;                 /* immutable */
	uint32_t hash;                  /* immutable */
	uint32_t refs;                  /* shard mutex */
	bool in_cache;                  /* shard mutex */
	char key[];                     /* immutable */
};

struct shard {
	struct mutex mu;
	size_t capacity;               /* mu */
	size_t usage;                  /* mu: charges of the entries in the table */
	size_t detached;               /* mu: live entries outside the table */
	struct link lru;               /* mu: lru.next is the oldest */
	struct link in_use;            /* mu */
	struct cache_handle **buckets; /* mu */
	uint32_t nbuckets;             /* mu: a power of two */
	uint32_t elems;                /* mu */
};

struct cache {
	struct shard *shards; /* NUM_SHARDS; behind a pointer so const readers can lock */
	struct mutex cap_mu;  /* serialises cache_set_capacity across shards */
	struct bpool *pool;   /* buffers for values whose owners ask for them */
	/* Written under cap_mu; read without it, so atomic. Relaxed: it orders
	 * nothing, the shards' own capacities are read under their mutexes. */
	_Atomic size_t capacity;
	/* Relaxed: only uniqueness is needed, which fetch_add gives in any order. */
	_Atomic uint64_t last_id;
};

static inline struct slice entry_key(const struct cache_handle *e)
{
	return slice_make(e->key, e->key_len);
}

/* Normalises an empty key so that no null pointer reaches the hash. */
static uint32_t key_hash(struct slice *key)
{
	if (key->size == 0)
		key->data = "";
	return hash32(key->data, key->size, 0);
}

static size_t shard_capacity(size_t capacity)
{
	return capacity / NUM_SHARDS + (capacity % NUM_SHARDS != 0);
}

static struct shard *shard_of(const struct cache *c, uint32_t hash)
{
	return &c->shards[hash >> (32 - NUM_SHARD_BITS)];
}

/* ---- lists ---- */

static struct cache_handle *entry_of(struct link *l)
{
	return (struct cache_handle *)l; /* link is the first member */
}

static void list_init(struct link *head)
{
	head->next = head;
	head->prev = head;
}

static bool list_empty(const struct link *head)
{
	return head->next == head;
}

static void list_remove(struct cache_handle *e)
{
	e->link.next->prev = e->link.prev;
	e->link.prev->next = e->link.next;
	e->link.next = e->link.prev = NULL;
}

/* Appends e as the newest entry of the list at head. */
static void list_append(struct link *head, struct cache_handle *e)
{
	e->link.next = head;
	e->link.prev = head->prev;
	e->link.prev->next = &e->link;
	head->prev = &e->link;
}

/* Pushes e (on no list) onto a free list. */
static void freelist_push(struct link **freelist, struct cache_handle *e)
{
	e->link.next = *freelist;
	*freelist = &e->link;
}

/* ---- hash table ---- */

/* The link that points at the entry with this key, or at the NULL ending its
 * chain. REQUIRES: s->mu held. */
static struct cache_handle **table_find(struct shard *s, struct slice key, uint32_t hash)
{
	mutex_assert_held(&s->mu);
	struct cache_handle **p = &s->buckets[hash & (s->nbuckets - 1)];
	while (*p && ((*p)->hash != hash || !slice_equal(key, entry_key(*p))))
		p = &(*p)->next_hash;
	return p;
}

/* Doubles the bucket array; on allocation failure keeps the old one (chains
 * only get longer, lookups stay correct). REQUIRES: s->mu held. */
static void table_grow(struct shard *s)
{
	if (s->nbuckets > UINT32_MAX / 2)
		return;
	uint32_t n = s->nbuckets * 2;
	struct cache_handle **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (uint32_t i = 0; i < s->nbuckets; i++) {
		struct cache_handle *e = s->buckets[i];
		while (e) {
			struct cache_handle *next = e->next_hash;
			struct cache_handle **p = &b[e->hash & (n - 1)];
			e->next_hash = *p;
			*p = e;
			e = next;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

/* Inserts e, returning the entry it displaces (now out of the table) or NULL.
 * REQUIRES: s->mu held. */
static struct cache_handle *table_insert(struct shard *s, struct cache_handle *e)
{
	struct cache_handle **p = table_find(s, entry_key(e), e->hash);
	struct cache_handle *old = *p;
	e->next_hash = old ? old->next_hash : NULL;
	*p = e;
	if (!old && ++s->elems > s->nbuckets)
		table_grow(s);
	return old;
}

/* REQUIRES: s->mu held. */
static struct cache_handle *table_remove(struct shard *s, struct slice key, uint32_t hash)
{
	struct cache_handle **p = table_find(s, key, hash);
	struct cache_handle *e = *p;
	if (e) {
		*p = e->next_hash;
		s->elems--;
	}
	return e;
}

/* ---- reference counting (REQUIRES: s->mu held) ---- */

static void ref(struct shard *s, struct cache_handle *e)
{
	mutex_assert_held(&s->mu);
	if (e->in_cache && e->refs == 1) {
		list_remove(e);
		list_append(&s->in_use, e);
	}
	e->refs++;
}

/* Drops a reference; an entry reaching 0 is pushed on *freelist. */
static void unref(struct shard *s, struct cache_handle *e, struct link **freelist)
{
	mutex_assert_held(&s->mu);
	assert(e->refs > 0);
	e->refs--;
	if (e->refs == 0) {
		assert(!e->in_cache);
		assert(s->detached > 0);
		s->detached--;
		freelist_push(freelist, e);
	} else if (e->in_cache && e->refs == 1) {
		list_remove(e);
		list_append(&s->lru, e);
	}
}

/* Finishes taking e (already out of the table) out of the cache and drops
 * the cache's reference. */
static void finish_erase(struct shard *s, struct cache_handle *e, struct link **freelist)
{
	assert(e->in_cache);
	list_remove(e);
	e->in_cache = false;
	s->usage -= e->charge;
	s->detached++;
	unref(s, e, freelist);
}

/* Evicts the oldest unpinned entries until usage fits the capacity.
 * REQUIRES: s->mu held. */
static void evict(struct shard *s, struct link **freelist)
{
	mutex_assert_held(&s->mu);
	while (s->usage > s->capacity && !list_empty(&s->lru)) {
		struct cache_handle *old = entry_of(s->lru.next);
		assert(old->refs == 1);
		struct cache_handle *removed = table_remove(s, entry_key(old), old->hash);
		assert(removed == old);
		(void)removed;
		finish_erase(s, old, freelist);
	}
}

static void delete_entry(struct cache_handle *e)
{
	if (e->deleter)
		e->deleter(entry_key(e), e->value);
	free(e);
}

/* Deletes the entries of a free list. REQUIRES: no shard mutex held. */
static void free_entries(struct link *l)
{
	while (l) {
		struct link *next = l->next;
		delete_entry(entry_of(l));
		l = next;
	}
}

/* ---- shards ---- */

static int shard_init(struct shard *s, size_t capacity)
{
	s->capacity = capacity;
	s->usage = 0;
	s->detached = 0;
	list_init(&s->lru);
	list_init(&s->in_use);
	s->nbuckets = INITIAL_BUCKETS;
	s->elems = 0;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		return err_nomem("cache hash table");
	int rc = mutex_init(&s->mu);
	if (rc) {
		free(s->buckets);
		s->buckets = NULL;
	}
	return rc;
}

/* Frees every entry. REQUIRES: no handle outstanding. */
static void shard_destroy(struct shard *s)
{
	assert(list_empty(&s->in_use));
	assert(s->detached == 0);
	struct link *l = s->lru.next;
	while (l != &s->lru) {
		struct link *next = l->next;
		assert(entry_of(l)->in_cache && entry_of(l)->refs == 1);
		delete_entry(entry_of(l));
		l = next;
	}
	free(s->buckets);
	mutex_destroy(&s->mu);
}

/* ---- API ---- */

int cache_create(size_t capacity, struct cache **out)
{
	int rc;
	unsigned i = 0;
	struct cache *c = malloc(sizeof(*c));
	*out = NULL;
	if (!c)
		return err_nomem("cache");
	c->shards = calloc(NUM_SHARDS, sizeof(*c->shards));
	if (!c->shards) {
		rc = err_nomem("cache shards");
		goto free_cache;
	}
	rc = bpool_create(&c->pool);
	if (rc)
		goto free_shards;
	rc = mutex_init(&c->cap_mu);
	if (rc)
		goto destroy_pool;
	for (; i < NUM_SHARDS; i++) {
		rc = shard_init(&c->shards[i], shard_capacity(capacity));
		if (rc)
			goto destroy_shards;
	}
	atomic_init(&c->capacity, capacity);
	atomic_init(&c->last_id, 0);
	*out = c;
	return 0;

destroy_shards:
	while (i > 0)
		shard_destroy(&c->shards[--i]);
	mutex_destroy(&c->cap_mu);
destroy_pool:
	bpool_destroy(c->pool);
free_shards:
	free(c->shards);
free_cache:
	free(c);
	return rc;
}

void cache_destroy(struct cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < NUM_SHARDS; i++)
		shard_destroy(&c->shards[i]);
	bpool_destroy(c->pool); /* after the deleters, which free into it */
	mutex_destroy(&c->cap_mu);
	free(c->shards);
	free(c);
}

struct bpool *cache_pool(struct cache *c)
{
	return c->pool;
}

struct cache_handle *cache_insert(struct cache *c, struct slice key, void *value, size_t charge,
                                  cache_deleter_fn deleter)
{
	if (key.size > SIZE_MAX - sizeof(struct cache_handle)) {
		err_nomem("cache entry");
		return NULL;
	}
	struct cache_handle *e = malloc(sizeof(*e) + key.size);
	if (!e) {
		err_nomem("cache entry");
		return NULL;
	}
	e->value = value;
	e->deleter = deleter;
	e->link.next = e->link.prev = NULL;
	e->next_hash = NULL;
	e->charge = charge;
	e->key_len = key.size;
	if (key.size)
		memcpy(e->key, key.data, key.size);
	e->hash = hash32(e->key, key.size, 0);
	e->refs = 1; /* the returned handle */
	e->in_cache = false;

	struct shard *s = shard_of(c, e->hash);
	struct link *freelist = NULL;
	mutex_lock(&s->mu);
	if (charge <= s->capacity && s->capacity > 0) {
		e->refs++; /* the cache's */
		e->in_cache = true;
		list_append(&s->in_use, e);
		s->usage += charge;
		struct cache_handle *old = table_insert(s, e);
		if (old)
			finish_erase(s, old, &freelist);
		evict(s, &freelist);
	} else {
		/* Never kept; a replaced key must still not show its old value. */
		struct cache_handle *old = table_remove(s, entry_key(e), e->hash);
		if (old)
			finish_erase(s, old, &freelist);
		s->detached++;
	}
	mutex_unlock(&s->mu);
	free_entries(freelist);
	return e;
}

struct cache_handle *cache_lookup(struct cache *c, struct slice key)
{
	uint32_t hash = key_hash(&key);
	struct shard *s = shard_of(c, hash);
	mutex_lock(&s->mu);
	struct cache_handle *e = *table_find(s, key, hash);
	if (e)
		ref(s, e);
	mutex_unlock(&s->mu);
	return e;
}

void cache_release(struct cache *c, struct cache_handle *h)
{
	if (!h)
		return;
	struct shard *s = shard_of(c, h->hash);
	struct link *freelist = NULL;
	mutex_lock(&s->mu);
	unref(s, h, &freelist);
	/* The entry may have just become evictable after a capacity shrink. */
	evict(s, &freelist);
	mutex_unlock(&s->mu);
	free_entries(freelist);
}

void *cache_value(const struct cache_handle *h)
{
	return h->value;
}

void cache_erase(struct cache *c, struct slice key)
{
	uint32_t hash = key_hash(&key);
	struct shard *s = shard_of(c, hash);
	struct link *freelist = NULL;
	mutex_lock(&s->mu);
	struct cache_handle *e = table_remove(s, key, hash);
	if (e)
		finish_erase(s, e, &freelist);
	mutex_unlock(&s->mu);
	free_entries(freelist);
}

uint64_t cache_new_id(struct cache *c)
{
	return atomic_fetch_add_explicit(&c->last_id, 1, memory_order_relaxed) + 1;
}

void cache_set_capacity(struct cache *c, size_t capacity)
{
	struct link *freelist = NULL;
	mutex_lock(&c->cap_mu);
	atomic_store_explicit(&c->capacity, capacity, memory_order_relaxed);
	for (unsigned i = 0; i < NUM_SHARDS; i++) {
		struct shard *s = &c->shards[i];
		mutex_lock(&s->mu);
		s->capacity = shard_capacity(capacity);
		evict(s, &freelist);
		mutex_unlock(&s->mu);
	}
	mutex_unlock(&c->cap_mu);
	free_entries(freelist);
}

size_t cache_capacity(const struct cache *c)
{
	return atomic_load_explicit(&c->capacity, memory_order_relaxed);
}

size_t cache_total_charge(const struct cache *c)
{
	size_t total = 0;
	for (unsigned i = 0; i < NUM_SHARDS; i++) {
		struct shard *s = &c->shards[i];
		mutex_lock(&s->mu);
		total += s->usage;
		mutex_unlock(&s->mu);
	}
	return total;
}

void cache_prune(struct cache *c)
{
	for (unsigned i = 0; i < NUM_SHARDS; i++) {
		struct shard *s = &c->shards[i];
		struct link *freelist = NULL;
		mutex_lock(&s->mu);
		while (!list_empty(&s->lru)) {
			struct cache_handle *e = entry_of(s->lru.next);
			struct cache_handle *removed = table_remove(s, entry_key(e), e->hash);
			assert(removed == e);
			(void)removed;
			finish_erase(s, e, &freelist);
		}
		mutex_unlock(&s->mu);
		free_entries(freelist);
	}
}
