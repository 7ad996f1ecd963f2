/*
 * Write batches: the public shale_batch and the byte format shared with the
 * WAL (doc/format.md, "Write batch"): fixed64 first sequence, fixed32 count,
 * then per operation a type byte (1 value, 0 deletion), the length-prefixed
 * key and, for values, the length-prefixed value.
 */
#ifndef SHALE_DB_WRITE_BATCH_H
#define SHALE_DB_WRITE_BATCH_H

#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/coding.h"
#include "memtable/memtable.h"
#include "shale.h"

#define BATCH_HEADER 12
/* The largest key and value: an internal key (key + 8) and a value must
 * each fit the varint32 lengths of memtable entries and table blocks. */
#define BATCH_KEY_MAX ((size_t)UINT32_MAX - 8)
#define BATCH_VALUE_MAX ((size_t)UINT32_MAX)

struct shale_batch {
	struct buf rep; /* always at least BATCH_HEADER bytes */
};

int batch_init(struct shale_batch *b);
void batch_free(struct shale_batch *b);
void batch_reset(struct shale_batch *b);

static inline uint32_t batch_rep_count(struct slice rep) { return decode_fixed32(rep.data + 8); }
static inline uint64_t batch_rep_sequence(struct slice rep) { return decode_fixed64(rep.data); }
static inline void batch_set_sequence(struct shale_batch *b, uint64_t seq) { encode_fixed64(b->rep.data, seq); }
static inline struct slice batch_rep(const struct shale_batch *b) { return buf_slice(&b->rep); }

/* Appends src's operations to dst (group commit). */
int batch_append(struct shale_batch *dst, const struct shale_batch *src);

struct batch_handler {
	int (*put)(void *arg, struct slice key, struct slice value);
	int (*del)(void *arg, struct slice key);
	void *arg;
};

/* Walks a batch's operations in order. SHALE_ECORRUPT (message naming what)
 * when the bytes are malformed or the count does not match; a handler's
 * nonzero return stops the walk and is returned. what names the source in
 * messages (e.g. the WAL file). */
int batch_iterate(struct slice rep, const struct batch_handler *h, const char *what);

/* Checks a batch read from a file (a WAL record) before anything of it is
 * applied: well formed, keys not over BATCH_KEY_MAX, and its sequences
 * [first, first + count) within the 56 bits of an internal key. SHALE_ECORRUPT
 * naming what otherwise. */
int batch_check(struct slice rep, const char *what, uint64_t *first, uint64_t *count);
/* SHALE_ECORRUPT unless a record starting at sequence first may follow one
 * that ended at next (sequences never go back). */
int batch_check_follows(uint64_t first, uint64_t next, const char *what);

/* Inserts every operation into mem with consecutive sequences from the
 * batch's own. REQUIRES: the caller is mem's only writer; the batch passed
 * batch_check, or was built by this process. */
int batch_insert(struct slice rep, struct memtable *mem, const char *what);

#endif
