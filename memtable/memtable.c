/*
 * The memtable: a skiplist of encoded entries in an arena.
 *
 * An entry (as LevelDB's): varint32 internal-key length, the internal key
 * (user key + fixed64 tag), varint32 value length, the value. Entries are
 * written once by the writer and trusted afterwards, so decoding them needs
 * no bounds beyond the varint's own.
 *
 * Lookups never build an entry: the skiplist compares entries with a
 * decoded search key (user key slice + tag), so get and seek copy nothing
 * and allocate nothing, whatever the key size.
 *
 * The filter (memtable_create_with_filter, bytewise keys only): a blocked
 * bloom filter of the user keys added, one 64-byte line per key, FILTER_PROBES
 * bits in it. A point lookup asks it first: a search of a full memtable is a
 * chain of dependent cache misses (about twenty nodes for 60,000 entries),
 * and most reads are of keys the memtable does not hold. The writer sets
 * the bits before it inserts the entry, with relaxed stores (it is the only
 * writer); a reader entitled to see the entry (its sequence number was
 * published after the insert, with release) sees the bits too.
 */
#include "memtable/memtable.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/arena.h"
#include "lib/util/coding.h"
#include "lib/util/error.h"
#include "lib/util/hash.h"
#include "lib/util/ikey.h"
#include "memtable/skiplist.h"

#define SKIPLIST_SEED 0xdeadbeef
#define FILTER_LINE_WORDS 8 /* 64 bytes */
#define FILTER_PROBES 6

struct memtable {
	struct skiplist list;           /* entries; writer inserts, readers lock-free */
	struct arena arena;             /* the list's nodes; writer allocates */
	const struct comparator *ucmp;  /* borrowed, immutable */
	atomic_int refs;
	atomic_uint_least64_t count;    /* stored by the writer, read relaxed */
	_Atomic uint64_t *filter;       /* nlines x 8 words, or NULL */
	size_t nlines;
};

/* The line of the filter for user key k, and its probe masks per word. */
static const _Atomic uint64_t *filter_masks(const struct memtable *m, struct slice k,
                                            uint64_t mask[FILTER_LINE_WORDS])
{
	/* one 64-bit hash: its high half picks the line, its low half the bits */
	uint64_t h = hash64(k.data, k.size);
	size_t line = (size_t)(((h >> 32) * m->nlines) >> 32);
	uint32_t x = (uint32_t)h;
	uint32_t delta = (x >> 17) | (x << 15) | 1;
	memset(mask, 0, FILTER_LINE_WORDS * sizeof(uint64_t));
	for (int i = 0; i < FILTER_PROBES; i++, x += delta)
		mask[(x >> 6) & (FILTER_LINE_WORDS - 1)] |= (uint64_t)1 << (x & 63);
	return m->filter + line * FILTER_LINE_WORDS;
}

static void filter_add(struct memtable *m, struct slice k)
{
	uint64_t mask[FILTER_LINE_WORDS];
	_Atomic uint64_t *w = (_Atomic uint64_t *)filter_masks(m, k, mask);
	for (int i = 0; i < FILTER_LINE_WORDS; i++)
		if (mask[i])
			atomic_store_explicit(&w[i], atomic_load_explicit(&w[i], memory_order_relaxed) | mask[i],
			                      memory_order_relaxed);
}

static int filter_may_match(const struct memtable *m, struct slice k)
{
	uint64_t mask[FILTER_LINE_WORDS];
	const _Atomic uint64_t *w = filter_masks(m, k, mask);
	for (int i = 0; i < FILTER_LINE_WORDS; i++)
		if ((atomic_load_explicit(&w[i], memory_order_relaxed) & mask[i]) != mask[i])
			return 0;
	return 1;
}

/* The skiplist's search form of an internal key. */
struct lookup {
	struct slice user_key;
	uint64_t tag;
};

static inline struct slice entry_ikey(const char *e)
{
	uint32_t n;
	const char *p = get_varint32_ptr(e, e + VARINT32_MAX_LEN, &n);
	return slice_make(p, n);
}

/* The value of the entry whose internal key is ik. */
static inline struct slice entry_value(struct slice ik)
{
	uint32_t n;
	const char *p = ik.data + ik.size;
	p = get_varint32_ptr(p, p + VARINT32_MAX_LEN, &n);
	return slice_make(p, n);
}

/* Entries hold well-formed internal keys (>= 8 bytes). */
static inline struct slice ik_user_key(struct slice ik)
{
	return slice_make(ik.data, ik.size - IKEY_TRAILER);
}

static inline uint64_t ik_tag(struct slice ik)
{
	return decode_fixed64(ik.data + ik.size - IKEY_TRAILER);
}

/* Larger tag (newer sequence) first. */
static inline int tag_order(uint64_t a, uint64_t b)
{
	return (a < b) - (a > b);
}

static int entry_vs_lookup(const void *arg, const char *entry, const void *key)
{
	const struct memtable *m = arg;
	const struct lookup *k = key;
	struct slice ik = entry_ikey(entry);
	int r = m->ucmp->compare(m->ucmp, ik_user_key(ik), k->user_key);
	return r != 0 ? r : tag_order(ik_tag(ik), k->tag);
}

/* entry_vs_lookup with the bytewise comparator inlined (the common case);
 * the keys' bytes compared in registers (bytes_compare), not by memcmp. */
static int entry_vs_lookup_bytewise(const void *arg, const char *entry, const void *key)
{
	(void)arg;
	const struct lookup *k = key;
	struct slice ik = entry_ikey(entry);
	struct slice a = ik_user_key(ik), b = k->user_key;
	int r = bytes_compare(a.data, b.data, a.size < b.size ? a.size : b.size);
	if (r == 0)
		r = (a.size > b.size) - (a.size < b.size);
	return r != 0 ? r : tag_order(ik_tag(ik), k->tag);
}

static int entry_vs_entry(const void *arg, const char *a, const char *b)
{
	const struct memtable *m = arg;
	struct slice ia = entry_ikey(a), ib = entry_ikey(b);
	int r = comparator_compare(m->ucmp, ik_user_key(ia), ik_user_key(ib));
	return r != 0 ? r : tag_order(ik_tag(ia), ik_tag(ib));
}

int memtable_create(const struct comparator *ucmp, struct memtable **out)
{
	return memtable_create_with_filter(ucmp, 0, out);
}

int memtable_create_with_filter(const struct comparator *ucmp, size_t filter_bytes, struct memtable **out)
{
	struct memtable *m = malloc(sizeof(*m));
	if (m == NULL) {
		*out = NULL;
		return err_nomem("memtable");
	}
	m->filter = NULL;
	m->nlines = 0;
	if (filter_bytes > 0 && ucmp->bytewise) {
		/* (a custom order may call different bytes equal: no filter) */
		size_t nlines = filter_bytes / (FILTER_LINE_WORDS * sizeof(uint64_t));
		m->nlines = nlines ? nlines : 1;
		m->filter = calloc(m->nlines * FILTER_LINE_WORDS, sizeof(uint64_t));
		if (m->filter == NULL) {
			free(m);
			*out = NULL;
			return err_nomem("memtable filter");
		}
	}
	m->ucmp = ucmp;
	arena_init(&m->arena);
	struct skiplist_cmp cmp = {
		ucmp->bytewise ? entry_vs_lookup_bytewise : entry_vs_lookup,
		entry_vs_entry,
		m,
	};
	skiplist_init(&m->list, cmp, &m->arena, SKIPLIST_SEED);
	atomic_init(&m->refs, 1);
	atomic_init(&m->count, 0);
	*out = m;
	return 0;
}

void memtable_ref(struct memtable *m)
{
	/* relaxed: a new reference is made from one already held, which keeps
	 * the memtable alive; nothing else needs ordering here. */
	int old = atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	(void)old;
	assert(old > 0);
}

void memtable_unref(struct memtable *m)
{
	if (m == NULL)
		return;
	/* acq_rel: release makes this holder's reads and writes happen before
	 * the free; the thread that drops the last reference acquires every
	 * other holder's release, so it frees after all of them. */
	int old = atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel);
	assert(old > 0);
	if (old == 1) {
		arena_destroy(&m->arena);
		free((void *)m->filter);
		free(m);
	}
}

int memtable_add(struct memtable *m, uint64_t seq, int type, struct slice key, struct slice value)
{
	assert(seq <= IKEY_SEQ_MAX);
	assert(type == IKEY_TYPE_VALUE || type == IKEY_TYPE_DELETION);
	if (type == IKEY_TYPE_DELETION)
		value = slice_make(NULL, 0);
	if (key.size > UINT32_MAX - IKEY_TRAILER || value.size > UINT32_MAX)
		return err_set(SHALE_EINVAL, "entry too large (key %zu bytes, value %zu bytes)",
		               key.size, value.size);

	uint32_t ik_len = (uint32_t)key.size + IKEY_TRAILER;
	uint32_t v_len = (uint32_t)value.size;
	/* no overflow: both lengths fit in 32 bits and size_t is wider */
	size_t size = (size_t)varint_length(ik_len) + ik_len + (size_t)varint_length(v_len) + v_len;
	char *e = skiplist_alloc(&m->list, size);
	if (e == NULL)
		return err_nomem("memtable entry");

	char *p = encode_varint32(e, ik_len);
	struct lookup k = { slice_make(p, key.size), ikey_pack_tag(seq, type) };
	if (key.size)
		memcpy(p, key.data, key.size);
	p += key.size;
	encode_fixed64(p, k.tag);
	p += IKEY_TRAILER;
	p = encode_varint32(p, v_len);
	if (v_len)
		memcpy(p, value.data, v_len);
	assert(p + v_len == e + size);

	if (m->filter)
		filter_add(m, key); /* before the entry can be seen */
	skiplist_insert(&m->list, e, &k);
	/* relaxed: the count is advisory; only this (serialised) writer stores it */
	uint64_t c = atomic_load_explicit(&m->count, memory_order_relaxed);
	atomic_store_explicit(&m->count, c + 1, memory_order_relaxed);
	return 0;
}

int memtable_get(struct memtable *m, struct slice key, uint64_t seq, struct slice *value)
{
	if (seq > IKEY_SEQ_MAX)
		seq = IKEY_SEQ_MAX;
	if (m->filter && !filter_may_match(m, key))
		return MEMTABLE_ABSENT;
	struct lookup k = { key, ikey_pack_tag(seq, IKEY_TYPE_FOR_SEEK) };
	/* the first entry >= (key, seq): the newest for key with sequence <= seq,
	 * if key has one */
	const char *e = skiplist_seek(&m->list, &k);
	if (e == NULL)
		return MEMTABLE_ABSENT;
	struct slice ik = entry_ikey(e);
	if (comparator_compare(m->ucmp, ik_user_key(ik), key) != 0)
		return MEMTABLE_ABSENT;
	if ((ik_tag(ik) & 0xff) == IKEY_TYPE_DELETION)
		return MEMTABLE_DELETED;
	*value = entry_value(ik);
	return MEMTABLE_FOUND;
}

size_t memtable_memory_usage(const struct memtable *m)
{
	/* the arena, and the memtable itself (an empty one is not free) */
	return sizeof(*m) + arena_memory_usage(&m->arena);
}

size_t memtable_filter_memory(const struct memtable *m)
{
	return m->nlines * FILTER_LINE_WORDS * sizeof(uint64_t);
}

uint64_t memtable_count(const struct memtable *m)
{
	return atomic_load_explicit(&((struct memtable *)m)->count, memory_order_relaxed);
}

/* ---- iterator ---- */

struct memtable_iter {
	struct iter base;
	struct skiplist_iter pos;
	struct memtable *m;  /* a reference, dropped by destroy */
};

static inline struct skiplist_iter *pos_of(struct iter *it)
{
	return &((struct memtable_iter *)it)->pos;
}

/* Publishes the cursor (lib/util/iter.h) after a positioning call. */
static void publish(struct iter *it)
{
	it->valid = skiplist_iter_valid(pos_of(it));
	if (it->valid) {
		struct slice k = entry_ikey(skiplist_iter_entry(pos_of(it)));
		it->key = k;
		it->value = entry_value(k);
	}
}

static void mi_seek_first(struct iter *it)
{
	skiplist_iter_seek_first(pos_of(it));
	publish(it);
}

static void mi_seek_last(struct iter *it)
{
	skiplist_iter_seek_last(pos_of(it));
	publish(it);
}

/* target is an internal key; one shorter than the tag orders as ikey_compare
 * says (its bytes the user key, tag 0). */
static void mi_seek(struct iter *it, struct slice target)
{
	struct lookup k = { ikey_user_key(target), ikey_tag(target) };
	skiplist_iter_seek(pos_of(it), &k);
	publish(it);
}

/* A key the filter has never seen has no entry here: no skiplist search. */
static int mi_seek_probe(struct iter *it, struct slice target)
{
	const struct memtable *m = ((const struct memtable_iter *)it)->m;
	if (m->filter && target.size >= IKEY_TRAILER && !filter_may_match(m, ikey_user_key(target))) {
		pos_of(it)->node = NULL;
		it->valid = 0;
		return 0;
	}
	mi_seek(it, target);
	return 1;
}

static void mi_next(struct iter *it)
{
	skiplist_iter_next(pos_of(it));
	publish(it);
}

static void mi_prev(struct iter *it)
{
	skiplist_iter_prev(pos_of(it));
	publish(it);
}

static int mi_status(const struct iter *it)
{
	(void)it;
	return 0;
}

static void mi_destroy(struct iter *it)
{
	struct memtable_iter *mi = (struct memtable_iter *)it;
	memtable_unref(mi->m);
	free(mi);
}

static const struct iter_ops memtable_iter_ops = {
	/* valid, key, value: published */
	.seek_first = mi_seek_first,
	.seek_last = mi_seek_last,
	.seek = mi_seek,
	.next = mi_next,
	.prev = mi_prev,
	.status = mi_status,
	.destroy = mi_destroy,
	.seek_probe = mi_seek_probe,
};

struct iter *memtable_iter(struct memtable *m)
{
	struct memtable_iter *mi = malloc(sizeof(*mi));
	if (mi == NULL) {
		err_nomem("memtable iterator");
		return NULL;
	}
	iter_init(&mi->base, &memtable_iter_ops);
	skiplist_iter_init(&mi->pos, &m->list);
	memtable_ref(m);
	mi->m = m;
	return &mi->base;
}
