/*
 * The user-facing iterator: merges the memtables and tables (internal keys),
 * shows for each user key only its newest entry visible at the iterator's
 * sequence, hides deletions, and applies the bounds.
 *
 * Moving forward, the internal iterator sits on the entry being shown. Moving
 * backward, it sits just before every entry of the shown key, whose key and
 * value are then copied into saved_key/saved_value. An error from below makes
 * the iterator invalid at once; the status and message are kept.
 *
 * Recycling: building the merged internal iterator (a memtable iterator or
 * two, one per level-0 file, one per level, the merger) and tearing it down
 * cost about as much as a seek that finds its key in a filter-guided block.
 * So a shale_iter destroyed without an error leaves its tree in the DB
 * (db->park, one slot, under the mutex) while the DB still reads the same
 * memtables and version, and the next shale_iter made with the same
 * verify_checksums, fill_cache and scan_ahead takes it: every use starts with a seek,
 * which repositions every part of it (merger, children, lazy-seek state),
 * and the tree holds no sequence number (the shale_iter does). A tree that
 * no longer matches goes when the DB drops its stale read view (after each
 * flush and compaction), when an iterator is made, and at close (each time
 * freed by db_unlock, outside the mutex), so it keeps no old memtable,
 * version or file alive for long. The shale_iter struct itself (with its
 * key and value buffers, up to SPARE_BUF_MAX each) goes to a second slot,
 * db->spare_iter, exchanged atomically: the next shale_iter_create takes
 * it instead of a calloc, and the destroy frees no buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_impl.h"
#include "lib/version/merger.h"
#include "lib/util/random.h"

enum { DIR_FORWARD, DIR_REVERSE };

struct shale_iter {
	struct shale_db *db;
	struct iter *it;            /* merged internal entries */
	const struct comparator *ucmp;
	uint64_t seq;
	int direction;
	int valid;
	int status;
	char msg[ERR_MSG_MAX];
	struct buf saved_key;       /* user key: current (reverse) or skip bound (forward) */
	struct buf saved_value;     /* reverse only */
	struct buf target;          /* internal seek targets */
	/* Reverse: the internal entry a backward walk stopped on (the newest of
	 * the key before the current one), already parsed and sampled; the next
	 * walk starts from it. Cleared by every other move. */
	struct parsed_ikey held;
	int have_held;
	int has_lower, has_upper;
	struct buf lower, upper;
	struct version *version;    /* pinned; memtables are pinned by their iterators */
	int64_t bytes_until_sample; /* read sampling for read-triggered compaction */
	struct rng rng;
	/* what it was built over and with, for recycling (an iterator that
	 * only reports an error has a status, and is never parked) */
	struct memtable *mem, *imm;
	struct read_opts ro;
};

/* About every 1 MiB read (randomised), an iterator tells the version set
 * which file its position made it read for nothing (LevelDB's read sampling):
 * a range of deletion markers scanned over and over gets compacted away. */
#define READ_SAMPLE_PERIOD (1 << 20)

static void sample_charge(struct shale_iter *di, struct slice k)
{
	while (di->bytes_until_sample <= 0)
		di->bytes_until_sample += (int64_t)rng_uniform(&di->rng, 2 * READ_SAMPLE_PERIOD);
	struct seek_charge charge;
	version_read_sample(di->version, k, &charge);
	if (vset_charge_seek(&charge)) {
		mutex_lock(&di->db->vs.mu);
		vset_set_seek_target(&di->db->vs, &charge);
		cond_signal(&di->db->compact_cv);
		db_unlock(di->db);
	}
}

/* (inline: a step's share is a subtraction; the sample itself is apart) */
static inline void sample_read(struct shale_iter *di, struct slice k)
{
	di->bytes_until_sample -= (int64_t)(k.size + iter_value(di->it).size);
	if (di->bytes_until_sample <= 0)
		sample_charge(di, k);
}

/* Records an error from below (the thread's message is its message). */
static void fail(struct shale_iter *di, int code)
{
	di->valid = 0;
	if (di->status == 0) {
		di->status = code;
		err_copy(di->msg, sizeof(di->msg));
	}
}

/* Checks the internal iterator after a move; 0 on error. */
static int ok(struct shale_iter *di)
{
	int st = iter_status(di->it);
	if (st) {
		fail(di, st);
		return 0;
	}
	return 1;
}

/* buf_set for the user key of an internal key, which its 8-byte tag follows
 * in memory: a key of 8 to 16 bytes is copied as 16 bytes, a fixed size the
 * compiler copies inline, where buf_set would call memcpy once per step. */
static inline int save_ukey(struct buf *b, struct slice ukey)
{
	if (ukey.size >= 8 && ukey.size <= 16 && b->cap >= 16) {
		memcpy(b->data, ukey.data, 16);
		b->len = ukey.size;
		return 0;
	}
	return buf_set(b, ukey.data, ukey.size);
}

static void malformed(struct shale_iter *di)
{
	fail(di, err_set(SHALE_ECORRUPT, "%s: malformed internal key met by an iterator", di->db->dbname));
}

/* (inline, its rare paths apart: called once per entry a scan steps over) */
static inline int parse(struct shale_iter *di, struct parsed_ikey *p)
{
	struct slice k = iter_key(di->it);
	sample_read(di, k);
	if (!ikey_parse(k, p)) {
		malformed(di);
		return 0;
	}
	return 1;
}

static int ucmp(struct shale_iter *di, struct slice a, struct slice b)
{
	return comparator_compare(di->ucmp, a, b);
}

/* Entries met out of order: only a damaged table (keys out of order under a
 * valid checksum) or inconsistent files make that. */
static void out_of_order(struct shale_iter *di)
{
	fail(di, err_set(SHALE_ECORRUPT, "%s: keys out of order met by an iterator", di->db->dbname));
}

/* A seek that landed on the wrong side of its target: an index block or a
 * file's key range that does not match the keys (under valid checksums). */
static void missed_target(struct shale_iter *di)
{
	fail(di, err_set(SHALE_ECORRUPT, "%s: a seek landed on the wrong side of its target "
	                 "(an index or a file's key range disagrees with its keys)", di->db->dbname));
}

static int past_upper(struct shale_iter *di, struct slice ukey)
{
	return di->has_upper && ucmp(di, ukey, buf_slice(&di->upper)) >= 0;
}

static int below_lower(struct shale_iter *di, struct slice ukey)
{
	return di->has_lower && ucmp(di, ukey, buf_slice(&di->lower)) < 0;
}

/* Forward: from the current internal entry, find the first visible user
 * entry. With skipping, entries of user keys <= saved_key are hidden. */
static void find_next_user_entry(struct shale_iter *di, int skipping)
{
	struct parsed_ikey p;
	for (; iter_valid(di->it); iter_next(di->it)) {
		if (!parse(di, &p))
			return;
		if (past_upper(di, p.user_key))
			break; /* (also stops scans of deletion markers beyond the bound) */
		if (p.seq > di->seq)
			continue;
		if (skipping) {
			/* saved_key was shown or deleted: what follows sorts at or after it */
			int c = ucmp(di, p.user_key, buf_slice(&di->saved_key));
			if (c < 0) {
				out_of_order(di);
				return;
			}
			if (c == 0)
				continue;
		}
		if (p.type == IKEY_TYPE_DELETION) {
			/* hide every older entry of this key */
			if (save_ukey(&di->saved_key, p.user_key)) {
				fail(di, SHALE_ENOMEM);
				return;
			}
			skipping = 1;
			continue;
		}
		di->valid = 1;
		return;
	}
	if (ok(di))
		di->valid = 0;
}

/* Reverse: from the current internal entry, walk back collecting the newest
 * visible entry of the user key before. With after_key, saved_key holds the
 * key shown last, and every entry from here sorts before it. saved_key then
 * holds the user key of the last entry taken (a deletion's too), so that a
 * key going up, which only damage makes, is caught. */
static void find_prev_user_entry(struct shale_iter *di, int after_key)
{
	int type = IKEY_TYPE_DELETION; /* nothing found yet */
	int have_key = after_key, strict = after_key;
	struct parsed_ikey p;
	for (; iter_valid(di->it); iter_prev(di->it)) {
		int c;
		if (di->have_held) {
			/* where the last walk stopped: found before saved_key (the
			 * key it completed, shown since) by that walk already */
			p = di->held;
			di->have_held = 0;
			c = -1;
		} else {
			if (!parse(di, &p))
				return;
			c = have_key ? ucmp(di, p.user_key, buf_slice(&di->saved_key)) : -1;
		}
		if (c > 0 || (c == 0 && strict)) {
			out_of_order(di);
			return;
		}
		if (below_lower(di, p.user_key))
			break;
		if (p.seq > di->seq)
			continue;
		if (type != IKEY_TYPE_DELETION && c < 0) {
			/* an older key: the saved entry is complete; the next step
			 * back starts here */
			di->held = p;
			di->have_held = 1;
			break;
		}
		type = p.type;
		have_key = 1;
		strict = 0;
		if (type == IKEY_TYPE_DELETION) {
			if (buf_set(&di->saved_key, p.user_key.data, p.user_key.size)) {
				fail(di, SHALE_ENOMEM);
				return;
			}
			buf_clear(&di->saved_value);
		} else {
			struct slice v = iter_value(di->it);
			if (save_ukey(&di->saved_key, p.user_key) || buf_set(&di->saved_value, v.data, v.size)) {
				fail(di, SHALE_ENOMEM);
				return;
			}
		}
	}
	if (!ok(di))
		return;
	if (type == IKEY_TYPE_DELETION || below_lower(di, buf_slice(&di->saved_key))) {
		di->valid = 0;
		di->have_held = 0;
		buf_clear(&di->saved_key);
		buf_clear(&di->saved_value);
		di->direction = DIR_FORWARD;
	} else {
		di->valid = 1;
	}
}

/* Positions the internal iterator at the first entry of user key >= ukey
 * visible at the iterator's sequence. */
static int seek_internal(struct shale_iter *di, struct slice ukey)
{
	buf_clear(&di->target);
	if (ikey_append(&di->target, ukey, di->seq, IKEY_TYPE_FOR_SEEK)) {
		fail(di, SHALE_ENOMEM);
		return 0;
	}
	iter_seek(di->it, buf_slice(&di->target));
	return ok(di);
}

static void reset(struct shale_iter *di)
{
	di->valid = 0;
	di->have_held = 0;
	buf_clear(&di->saved_value);
}

SHALE_EXPORT void shale_iter_seek(shale_iter *di, const void *key, size_t klen)
{
	if (di == NULL || di->status)
		return;
	reset(di);
	di->direction = DIR_FORWARD;
	struct slice k = slice_make(key, key ? klen : 0);
	if (below_lower(di, k))
		k = buf_slice(&di->lower);
	if (past_upper(di, k))
		return;
	if (seek_internal(di, k))
		find_next_user_entry(di, 0);
	if (di->valid && ucmp(di, ikey_user_key(iter_key(di->it)), k) < 0)
		missed_target(di);
}

SHALE_EXPORT void shale_iter_seek_first(shale_iter *di)
{
	if (di == NULL || di->status)
		return;
	if (di->has_lower) {
		shale_iter_seek(di, di->lower.data, di->lower.len);
		return;
	}
	reset(di);
	di->direction = DIR_FORWARD;
	iter_seek_first(di->it);
	if (ok(di))
		find_next_user_entry(di, 0);
}

SHALE_EXPORT void shale_iter_seek_last(shale_iter *di)
{
	if (di == NULL || di->status)
		return;
	reset(di);
	di->direction = DIR_REVERSE;
	if (di->has_upper) {
		/* just before the first entry of the upper bound */
		buf_clear(&di->target);
		if (ikey_append(&di->target, buf_slice(&di->upper), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK)) {
			fail(di, SHALE_ENOMEM);
			return;
		}
		iter_seek(di->it, buf_slice(&di->target));
		if (!ok(di))
			return;
		if (iter_valid(di->it))
			iter_prev(di->it);
		else
			iter_seek_last(di->it);
	} else {
		iter_seek_last(di->it);
	}
	if (ok(di))
		find_prev_user_entry(di, 0);
}

SHALE_EXPORT void shale_iter_next(shale_iter *di)
{
	if (di == NULL || !di->valid)
		return;
	di->have_held = 0;
	if (di->direction == DIR_REVERSE) {
		/* The internal iterator is before every entry of the current key:
		 * step onto them, then skip them all. */
		di->direction = DIR_FORWARD;
		if (!iter_valid(di->it))
			iter_seek_first(di->it);
		else
			iter_next(di->it);
		if (!ok(di))
			return;
		/* saved_key holds the current key: skip it and what is hidden */
	} else {
		if (save_ukey(&di->saved_key, ikey_user_key(iter_key(di->it)))) {
			fail(di, SHALE_ENOMEM);
			return;
		}
		iter_next(di->it); /* (an error ends the walk below, which reports it) */
	}
	find_next_user_entry(di, 1);
}

SHALE_EXPORT void shale_iter_prev(shale_iter *di)
{
	if (di == NULL || !di->valid)
		return;
	if (di->direction == DIR_FORWARD) {
		/* The internal iterator is on the current entry: walk back past every
		 * entry of the current key. */
		struct slice u = ikey_user_key(iter_key(di->it));
		if (buf_set(&di->saved_key, u.data, u.size)) {
			fail(di, SHALE_ENOMEM);
			return;
		}
		for (;;) {
			iter_prev(di->it);
			if (!ok(di))
				return;
			if (!iter_valid(di->it)) {
				di->valid = 0;
				buf_clear(&di->saved_key);
				buf_clear(&di->saved_value);
				return;
			}
			int c = ucmp(di, ikey_user_key(iter_key(di->it)), buf_slice(&di->saved_key));
			if (c < 0)
				break;
			if (c > 0) {
				out_of_order(di);
				return;
			}
		}
		di->direction = DIR_REVERSE;
	}
	find_prev_user_entry(di, 1);
}

SHALE_EXPORT void shale_iter_seek_for_prev(shale_iter *di, const void *key, size_t klen)
{
	if (di == NULL || di->status)
		return;
	struct slice k = slice_make(key, key ? klen : 0);
	if (past_upper(di, k)) {
		shale_iter_seek_last(di);
		return;
	}
	shale_iter_seek(di, key, klen);
	if (di->status)
		return;
	if (!di->valid) {
		if (below_lower(di, k))
			return;
		shale_iter_seek_last(di);
	} else {
		size_t n;
		const void *cur = shale_iter_key(di, &n);
		if (ucmp(di, slice_make(cur, n), k) > 0)
			shale_iter_prev(di);
	}
	if (di->valid) {
		size_t n;
		const void *cur = shale_iter_key(di, &n);
		if (ucmp(di, slice_make(cur, n), k) > 0)
			missed_target(di);
	}
}

SHALE_EXPORT int shale_iter_valid(const shale_iter *di)
{
	return di != NULL && di->valid;
}

SHALE_EXPORT const void *shale_iter_key(const shale_iter *di, size_t *klen)
{
	if (di == NULL || !di->valid) {
		if (klen)
			*klen = 0;
		return NULL;
	}
	struct slice k = di->direction == DIR_FORWARD ? ikey_user_key(iter_key(di->it)) : buf_slice(&di->saved_key);
	if (klen)
		*klen = k.size;
	return k.data;
}

SHALE_EXPORT const void *shale_iter_value(const shale_iter *di, size_t *vlen)
{
	if (di == NULL || !di->valid) {
		if (vlen)
			*vlen = 0;
		return NULL;
	}
	struct slice v = di->direction == DIR_FORWARD ? iter_value(di->it) : buf_slice(&di->saved_value);
	if (vlen)
		*vlen = v.size;
	return v.data;
}

SHALE_EXPORT int shale_iter_status(const shale_iter *di)
{
	if (di == NULL)
		return err_set(SHALE_EINVAL, "shale_iter_status: NULL iterator");
	if (di->status)
		return err_restore(di->status, di->msg);
	return 0;
}

static void iter_free(struct shale_iter *di)
{
	if (di == NULL)
		return;
	buf_free(&di->saved_key);
	buf_free(&di->saved_value);
	buf_free(&di->target);
	buf_free(&di->lower);
	buf_free(&di->upper);
	free(di);
}

/* A recycled struct keeps each of its buffers up to this capacity (a walk
 * back over a large value leaves a copy of it behind, not worth keeping). */
#define SPARE_BUF_MAX 4096

/* Puts di's memory in the DB's spare slot for the next shale_iter_create,
 * and frees the struct that was there. Called while di still counts as a
 * live iterator, so the DB cannot close meanwhile; di is not touched after
 * (another thread may take it at once). */
static void give_spare(struct shale_db *db, struct shale_iter *di)
{
	struct buf *b[] = { &di->saved_key, &di->saved_value, &di->target, &di->lower, &di->upper };
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (b[i]->cap > SPARE_BUF_MAX)
			buf_free(b[i]);
	iter_free(atomic_exchange_explicit(&db->spare_iter, di, memory_order_acq_rel));
}

/* The spare struct, cleared as calloc would leave it but for the buffers,
 * which keep their memory; NULL when the slot is empty. */
static struct shale_iter *take_spare(struct shale_db *db)
{
	struct shale_iter *di = atomic_exchange_explicit(&db->spare_iter, NULL, memory_order_acq_rel);
	if (di == NULL)
		return NULL;
	struct buf b[] = { di->saved_key, di->saved_value, di->target, di->lower, di->upper };
	memset(di, 0, sizeof(*di));
	di->saved_key = b[0];
	di->saved_value = b[1];
	di->target = b[2];
	di->lower = b[3];
	di->upper = b[4];
	buf_clear(&di->saved_key);
	buf_clear(&di->saved_value);
	buf_clear(&di->target);
	buf_clear(&di->lower);
	buf_clear(&di->upper);
	return di;
}

void db_free_spare_iter(struct shale_db *db)
{
	iter_free(atomic_exchange_explicit(&db->spare_iter, NULL, memory_order_acq_rel));
}

/* Gives back a version reference and the iterator's place among the live ones. */
static void detach(struct shale_db *db, struct version *v) SHALE_EXCLUDES(db->vs.mu)
{
	mutex_lock(&db->vs.mu);
	if (v)
		version_unref(&db->vs, v);
	db->live_iters--;
	db_unlock(db);
}

/* Releases what the iterator holds of the DB (none for one made while it closed). */
static void iter_detach(struct shale_iter *di)
{
	if (di->db == NULL)
		return;
	detach(di->db, di->version);
	di->db = NULL;
}

/* The tree was built over what the DB reads now. */
static int park_current(const struct iter_park *pk, const struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	return pk->mem == db->mem && pk->imm == db->imm && pk->version == db->vs.current;
}

void db_drop_parked_iter(struct shale_db *db, int only_stale)
{
	struct iter_park *pk = &db->park;
	if (pk->it == NULL || (only_stale && park_current(pk, db)))
		return;
	if (db->doomed_park.it == NULL) {
		db->doomed_park = *pk; /* freed by db_unlock */
	} else {
		/* (a second tree before an unlock: rare, freed here) */
		iter_destroy(pk->it);
		version_unref(&db->vs, pk->version);
	}
	pk->it = NULL;
	pk->version = NULL;
}

/* Leaves the tree in the DB's slot when it is free and the tree still
 * matches what the DB reads (1), taking the place of detach. */
static int park(struct shale_db *db, const struct iter_park *pk) SHALE_EXCLUDES(db->vs.mu)
{
	mutex_lock(&db->vs.mu);
	int parked = !db->closing && db->park.it == NULL && park_current(pk, db);
	if (parked) {
		db->park = *pk;
		db->live_iters--;
	}
	db_unlock(db);
	return parked;
}

SHALE_EXPORT void shale_iter_destroy(shale_iter *di)
{
	if (di == NULL)
		return;
	struct shale_db *db = di->db;
	if (db == NULL) {
		/* made while the DB closed, or over bad options: nothing of a DB */
		iter_destroy(di->it);
		iter_free(di);
		return;
	}
	/* the tree and what it holds, then the struct to the spare slot */
	struct iter_park pk = { di->it, di->version, di->mem, di->imm, di->ro };
	int status = di->status;
	give_spare(db, di);
	if (!(status == 0 && park(db, &pk))) {
		iter_destroy(pk.it);
		detach(db, pk.version);
	}
}

/* An iterator that only reports err (after a failure to build the real one). */
static shale_iter *failed_iter(struct shale_iter *di, int code)
{
	di->it = NULL;
	di->valid = 0;
	di->status = code;
	err_copy(di->msg, sizeof(di->msg));
	di->it = iter_empty(code);
	if (di->it == NULL) {
		iter_detach(di);
		iter_free(di);
		return NULL;
	}
	return di;
}

SHALE_EXPORT shale_iter *shale_iter_create(shale_db *db, const shale_readopts *ro)
{
	if (db == NULL) {
		err_set(SHALE_EINVAL, "shale_iter_create: NULL database");
		return NULL;
	}
	struct shale_iter *di = take_spare(db);
	if (di == NULL) {
		if ((di = calloc(1, sizeof(*di))) == NULL) {
			err_nomem("iterator");
			return NULL;
		}
		buf_init(&di->saved_key);
		buf_init(&di->saved_value);
		buf_init(&di->target);
		buf_init(&di->lower);
		buf_init(&di->upper);
	}
	di->db = db;
	di->ucmp = db->ucmp;
	rng_seed(&di->rng, atomic_fetch_add_explicit(&db->iter_seed, 1, memory_order_relaxed));
	di->bytes_until_sample = (int64_t)rng_uniform(&di->rng, 2 * READ_SAMPLE_PERIOD);
	if (ro && (ro->lower_failed || ro->upper_failed)) {
		/* (the setter ran out of memory copying the bound) */
		di->db = NULL;
		return failed_iter(di, err_nomem("iterator bound"));
	}
	if (ro && (ro->prefix_lower || ro->prefix_upper) && !db->ucmp->bytewise) {
		/* a prefix is a range only in bytewise order */
		di->db = NULL;
		return failed_iter(di, err_set(SHALE_EINVAL, "%s: a prefix iterator needs the bytewise comparator, not \"%s\"",
		                               db->dbname, db->ucmp->name(db->ucmp)));
	}
	if (ro && ro->has_lower) {
		di->has_lower = 1;
		if (buf_set(&di->lower, ro->lower.data, ro->lower.len)) {
			iter_free(di);
			return NULL;
		}
	}
	if (ro && ro->has_upper) {
		di->has_upper = 1;
		if (buf_set(&di->upper, ro->upper.data, ro->upper.len)) {
			iter_free(di);
			return NULL;
		}
	}
	struct read_opts rop = { ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1, 0, ro ? ro->scan_ahead : 1 };

	mutex_lock(&db->vs.mu);
	if (db->closing) {
		/* Close is past its check for live iterators: this one must not
		 * hold on to the DB. It only reports the error. */
		db_unlock(db);
		di->db = NULL;
		return failed_iter(di, err_set(SHALE_ECLOSED, "%s: the database is closing", db->dbname));
	}
	db->live_iters++;
	di->seq = ro && ro->snapshot ? ro->snapshot->seq : db->vs.last_sequence;
	struct memtable *mem = db->mem, *imm = db->imm;
	struct version *v = db->vs.current;
	di->mem = mem;
	di->imm = imm;
	di->ro = rop;
	struct iter_park *pk = &db->park;
	if (pk->it && park_current(pk, db) && pk->ro.verify_checksums == rop.verify_checksums &&
	    pk->ro.fill_cache == rop.fill_cache && pk->ro.scan_ahead == rop.scan_ahead) {
		/* the tree and its version reference pass to this iterator */
		di->it = pk->it;
		di->version = pk->version;
		pk->it = NULL;
		pk->version = NULL;
		db_unlock(db);
		return di;
	}
	db_drop_parked_iter(db, 0); /* (freed by db_unlock, outside the mutex) */
	version_ref(&db->vs, v);
	di->version = v;
	/* memtable_iter takes its own reference; these keep them alive until then */
	memtable_ref(mem);
	if (imm)
		memtable_ref(imm);
	db_unlock(db);

	int n = 0, rc = 0;
	struct iter **children = malloc(((size_t)v->nfiles[0] + NUM_LEVELS + 2) * sizeof(*children));
	if (children == NULL)
		rc = err_nomem("iterator");
	if (rc == 0 && (children[n] = memtable_iter(mem)) != NULL)
		n++;
	else if (rc == 0)
		rc = SHALE_ENOMEM;
	if (rc == 0 && imm) {
		if ((children[n] = memtable_iter(imm)) != NULL)
			n++;
		else
			rc = SHALE_ENOMEM;
	}
	if (rc == 0)
		rc = version_add_iterators(v, &rop, children, &n);
	memtable_unref(mem);
	memtable_unref(imm);
	if (rc) {
		for (int i = 0; i < n; i++)
			iter_destroy(children[i]);
		free(children);
		return failed_iter(di, rc);
	}
	di->it = merger_create(&db->icmp.base, children, n);
	free(children);
	if (di->it == NULL)
		return failed_iter(di, SHALE_ENOMEM);
	merger_lazy_seeks(di->it, db->ucmp);
	return di;
}
