#include "lib/version/merger.h"

#include <assert.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/error.h"
#include "lib/util/ikey.h"

enum { FORWARD, REVERSE };

struct key_prefix {
	uint64_t hi, lo;
};

struct merger {
	struct iter base;
	const struct comparator *cmp;
	int n;
	struct iter **child;
	/* key[c]: child c's current key while it is in the heap, taken when it
	 * moved, so that heap comparisons and the published key make no call
	 * into the children (valid until the child moves: the iterator
	 * contract) */
	struct slice *key;
	/* pre[c]: the first 16 bytes of key[c]'s user key, zero-padded, as two
	 * big-endian words (prefixed: bytewise or internal-bytewise order only):
	 * keys whose prefixes differ are ordered by them, in two integer
	 * comparisons instead of a call into memcmp (see take_prefix) */
	struct key_prefix *pre;
	int prefixed;
	int *heap;      /* indices of valid children; top = current */
	int size;
	/* heap position (1 or 2) of the runner-up, the top's smaller child, or
	 * -1 when unknown: while the top child keeps yielding keys before it, a
	 * step costs one comparison and leaves the rest of the heap alone */
	int second;
	int direction;
	int status;
	/* Lazy seeks (merger_lazy_seeks): ucmp, or NULL when off. After a seek,
	 * pending[c] marks a child left unsought while the top of the heap has
	 * the target's user key: one that showed it holds no entry with that
	 * user key (its first entry >= target has a larger one), or one after
	 * a child that holds it (an older source: its entries of that user key
	 * have smaller sequence numbers). Either way its first entry >= target
	 * comes after the top. The first move seeks them (resolve). */
	const struct comparator *ucmp;
	unsigned char *pending;
	int npending;
	struct buf target; /* the seek's target while children are pending */
};

/* Takes the prefix of child c's key k. Two user keys whose first 16
 * bytes, zero-padded, differ are in the order of those 16 bytes read as a
 * big-endian number: at the first byte that differs either both keys have
 * a byte, or the shorter one has ended (its padding 0 against the other's
 * nonzero byte) and a prefix sorts first. Only equal prefixes (versions of
 * one user key, or keys that share 16 bytes) need the comparator; an
 * internal key's order is its user key's first. In a scan over several
 * sources nearly every comparison is between different keys, and no longer
 * calls memcmp (doc/performance.md, "What each change bought"). */
static inline void take_prefix(struct merger *m, int c, struct slice k)
{
	if (!m->prefixed)
		return;
	size_t u = k.size;
	if (!m->cmp->bytewise && u >= IKEY_TRAILER)
		u -= IKEY_TRAILER; /* (a shorter internal key, damage, is all user key) */
	uint64_t w[2] = { 0, 0 };
	if (u >= 16)
		memcpy(w, k.data, 16); /* (a fixed size: two loads, no call) */
	else if (u)
		memcpy(w, k.data, u);
	/* (little-endian hosts only, as configure checks) */
	m->pre[c].hi = __builtin_bswap64(w[0]);
	m->pre[c].lo = __builtin_bswap64(w[1]);
}

/* The order of a's and b's keys by their prefixes (-1 or 1), or 0 when the
 * prefixes are equal or not kept. */
static inline int prefix_order(const struct merger *m, int a, int b)
{
	if (!m->prefixed)
		return 0;
	if (m->pre[a].hi != m->pre[b].hi)
		return m->pre[a].hi < m->pre[b].hi ? -1 : 1;
	if (m->pre[a].lo != m->pre[b].lo)
		return m->pre[a].lo < m->pre[b].lo ? -1 : 1;
	return 0;
}

/* In the forward heap a sorts before b when its key is smaller; in the reverse
 * heap when larger. Ties go to the lower child index (the newer source). */
static int before(const struct merger *m, int a, int b)
{
	int r = prefix_order(m, a, b);
	if (r == 0)
		r = comparator_compare(m->cmp, m->key[a], m->key[b]);
	if (m->direction == REVERSE)
		r = -r;
	return r < 0 || (r == 0 && a < b);
}

static void sift_down(struct merger *m, int i)
{
	int x = m->heap[i];
	for (;;) {
		int l = 2 * i + 1;
		if (l >= m->size)
			break;
		int c = l;
		if (l + 1 < m->size && before(m, m->heap[l + 1], m->heap[l]))
			c = l + 1;
		if (!before(m, m->heap[c], x))
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	m->heap[i] = x;
}

/* Checks the child's status; on error the merger is done. */
static int child_ok(struct merger *m, int c)
{
	int st = iter_status(m->child[c]);
	if (st) {
		m->status = st;
		m->size = 0;
		return 0;
	}
	return 1;
}

static void build_heap(struct merger *m, int direction)
{
	m->direction = direction;
	m->size = 0;
	m->second = -1;
	for (int c = 0; c < m->n; c++) {
		if (m->npending && m->pending[c])
			continue;
		if (!child_ok(m, c))
			return;
		if (iter_valid(m->child[c])) {
			m->key[c] = iter_key(m->child[c]);
			take_prefix(m, c, m->key[c]);
			m->heap[m->size++] = c;
		}
	}
	for (int i = m->size / 2 - 1; i >= 0; i--)
		sift_down(m, i);
}

static void clear_pending(struct merger *m)
{
	if (m->npending) {
		memset(m->pending, 0, (size_t)m->n);
		m->npending = 0;
	}
}

/* Seeks the pending children to the target and rebuilds the heap; the top
 * stays where it was. Returns 0 when the merger is invalid after. */
static int resolve(struct merger *m)
{
	struct slice target = buf_slice(&m->target);
	for (int c = 0; c < m->n; c++)
		if (m->pending[c])
			iter_seek(m->child[c], target);
	clear_pending(m);
	build_heap(m, FORWARD);
	return m->size > 0;
}

static void do_seek_first(struct iter *it)
{
	struct merger *m = (struct merger *)it;
	m->status = 0;
	clear_pending(m);
	for (int c = 0; c < m->n; c++)
		iter_seek_first(m->child[c]);
	build_heap(m, FORWARD);
}

static void do_seek_last(struct iter *it)
{
	struct merger *m = (struct merger *)it;
	m->status = 0;
	clear_pending(m);
	for (int c = 0; c < m->n; c++)
		iter_seek_last(m->child[c]);
	build_heap(m, REVERSE);
}

static void do_seek(struct iter *it, struct slice target)
{
	struct merger *m = (struct merger *)it;
	m->status = 0;
	clear_pending(m);
	if (m->ucmp == NULL || m->n < 2 || target.size < IKEY_TRAILER ||
	    buf_set(&m->target, target.data, target.size) != 0) {
		for (int c = 0; c < m->n; c++)
			iter_seek(m->child[c], target);
		build_heap(m, FORWARD);
		return;
	}
	/* Once a child's first entry >= target has target's user key, the
	 * children after it are older sources: their entries of that user key
	 * have smaller sequence numbers and sort after it, so they are left
	 * pending without asking their filters (whose answer for a key that
	 * was overwritten is yes, at the cost of a data block). */
	int held = 0;
	for (int c = 0; c < m->n; c++) {
		if (held || !iter_seek_probe(m->child[c], target)) {
			m->pending[c] = 1;
			m->npending++;
		} else if (iter_valid(m->child[c]) &&
		           comparator_compare(m->ucmp, ikey_user_key(iter_key(m->child[c])),
		                              ikey_user_key(target)) == 0) {
			held = 1;
		}
	}
	build_heap(m, FORWARD);
	if (m->npending == 0)
		return;
	if (m->status) {
		clear_pending(m);
		return;
	}
	/* Another child holds the user key: the pending ones can wait. */
	if (m->size > 0 && comparator_compare(m->ucmp, ikey_user_key(m->key[m->heap[0]]),
	                                      ikey_user_key(target)) == 0)
		return;
	resolve(m);
}

/* After moving the top child: re-heap or drop it. */
static void fix_top(struct merger *m)
{
	int c = m->heap[0];
	/* (a valid child has status 0: the iterator contract) */
	if (!iter_valid(m->child[c])) {
		if (!child_ok(m, c))
			return;
		m->heap[0] = m->heap[--m->size];
		if (m->size == 0)
			return;
	} else {
		struct slice k = iter_key(m->child[c]);
		m->key[c] = k;
		/* alone in the heap: no comparison until build_heap, which takes
		 * every prefix again (a child only joins the heap there) */
		if (m->size == 1)
			return;
		take_prefix(m, c, k);
		if (m->second < 0)
			m->second = m->size > 2 && before(m, m->heap[2], m->heap[1]) ? 2 : 1;
		/* (the prefixes decide nearly every step of a scan: inline) */
		int r = prefix_order(m, c, m->heap[m->second]);
		if (r != 0 ? (m->direction == REVERSE ? r > 0 : r < 0) : before(m, c, m->heap[m->second]))
			return; /* still first: the heap below is unchanged */
	}
	m->second = -1;
	sift_down(m, 0);
}

static void do_next(struct iter *it)
{
	struct merger *m = (struct merger *)it;
	if (m->npending && !resolve(m))
		return;
	int cur = m->heap[0];
	if (m->direction != FORWARD) {
		/* Put every other child at its first key after the current one. */
		struct slice key = m->key[cur];
		for (int c = 0; c < m->n; c++) {
			if (c == cur)
				continue;
			iter_seek(m->child[c], key);
			if (iter_valid(m->child[c]) && comparator_compare(m->cmp, key, iter_key(m->child[c])) == 0)
				iter_next(m->child[c]);
			if (!child_ok(m, c))
				return;
		}
		iter_next(m->child[cur]);
		build_heap(m, FORWARD);
		return;
	}
	iter_next(m->child[cur]);
	fix_top(m);
}

static void do_prev(struct iter *it)
{
	struct merger *m = (struct merger *)it;
	clear_pending(m); /* the turn below seeks every child but the top */
	int cur = m->heap[0];
	if (m->direction != REVERSE) {
		/* Put every other child at its last key before the current one. */
		struct slice key = m->key[cur];
		for (int c = 0; c < m->n; c++) {
			if (c == cur)
				continue;
			iter_seek(m->child[c], key);
			if (iter_valid(m->child[c]))
				iter_prev(m->child[c]);
			else if (iter_status(m->child[c]) == 0)
				iter_seek_last(m->child[c]);
			if (!child_ok(m, c))
				return;
		}
		iter_prev(m->child[cur]);
		build_heap(m, REVERSE);
		return;
	}
	iter_prev(m->child[cur]);
	fix_top(m);
}

/* Publishes the cursor (lib/util/iter.h) after a positioning call: the
 * top child's key, taken when it moved, and its value. */
static void publish(struct merger *m)
{
	m->base.valid = m->size > 0;
	if (m->base.valid) {
		int c = m->heap[0];
		m->base.key = m->key[c];
		m->base.value = iter_value(m->child[c]);
	}
}

static void mg_seek_first(struct iter *it)
{
	do_seek_first(it);
	publish((struct merger *)it);
}

static void mg_seek_last(struct iter *it)
{
	do_seek_last(it);
	publish((struct merger *)it);
}

static void mg_seek(struct iter *it, struct slice target)
{
	do_seek(it, target);
	publish((struct merger *)it);
}

static void mg_next(struct iter *it)
{
	do_next(it);
	publish((struct merger *)it);
}

static void mg_prev(struct iter *it)
{
	do_prev(it);
	publish((struct merger *)it);
}

static int mg_status(const struct iter *it)
{
	return ((const struct merger *)it)->status;
}

static void mg_destroy(struct iter *it)
{
	struct merger *m = (struct merger *)it;
	for (int c = 0; c < m->n; c++)
		iter_destroy(m->child[c]);
	buf_free(&m->target);
	free(m);
}

static const struct iter_ops merger_ops = {
	/* valid, key, value: published */
	.seek_first = mg_seek_first,
	.seek_last = mg_seek_last,
	.seek = mg_seek,
	.next = mg_next,
	.prev = mg_prev,
	.status = mg_status,
	.destroy = mg_destroy,
};

struct iter *merger_create(const struct comparator *cmp, struct iter **children, int n)
{
	/* one allocation: the merger, then its key prefixes, keys, children and
	 * heap */
	size_t slots = (size_t)n + 1;
	struct merger *m = malloc(sizeof(*m) + slots * (sizeof(struct key_prefix) + sizeof(struct slice) +
	                                                sizeof(struct iter *) + sizeof(int) + 1));
	if (m == NULL) {
		for (int c = 0; c < n; c++)
			iter_destroy(children[c]);
		err_nomem("merging iterator");
		return NULL;
	}
	_Static_assert(sizeof(struct merger) % alignof(struct key_prefix) == 0 &&
	               sizeof(struct key_prefix) % alignof(struct slice) == 0 &&
	               sizeof(struct slice) % alignof(struct iter *) == 0 &&
	               sizeof(struct iter *) % alignof(int) == 0, "merger layout");
	iter_init(&m->base, &merger_ops);
	m->cmp = cmp;
	m->n = n;
	m->prefixed = cmp->bytewise || cmp->ikey_bytewise;
	m->pre = (struct key_prefix *)(m + 1);
	m->key = (struct slice *)(m->pre + slots);
	m->child = (struct iter **)(m->key + slots);
	m->heap = (int *)(m->child + slots);
	m->pending = (unsigned char *)(m->heap + slots);
	memset(m->pending, 0, slots);
	m->npending = 0;
	m->ucmp = NULL;
	buf_init(&m->target);
	m->size = 0;
	m->second = -1;
	m->direction = FORWARD;
	m->status = 0;
	for (int c = 0; c < n; c++) {
		m->child[c] = children[c];
		m->key[c] = slice_make("", 0);
		m->pre[c] = (struct key_prefix){ 0, 0 };
	}
	return &m->base;
}

void merger_lazy_seeks(struct iter *it, const struct comparator *ucmp)
{
	assert(it->ops == &merger_ops);
	((struct merger *)it)->ucmp = ucmp;
}
