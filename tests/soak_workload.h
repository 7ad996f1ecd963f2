/*
 * The soaks' workload and checks (tests/soak.c).
 *
 * Writer t issues writes j = 0, 1, 2, ... Write (t, j) is a pure function
 * of (seed, t, j): a put, a delete or a batch of up to SOAK_MAX_SUB of them
 * on writer t's own keys ("tTT-KKKKKKKK", SOAK_KEYS of them, some hot), some
 * with sync. Every value names the write and sub-operation that made it
 * and is padded with bytes derived from them, so a value read back proves
 * exactly which write it came from.
 *
 * A writer's model is the state of its keys after a prefix of its writes:
 * per key, the id (j * SOAK_MAX_SUB + sub + 1) of the value, or 0 when
 * absent.
 */
#ifndef SHALE_TESTS_SOAK_WORKLOAD_H
#define SHALE_TESTS_SOAK_WORKLOAD_H

#include <stdint.h>

#include "shale.h"

#define SOAK_MAX_THREADS 8
#define SOAK_MAX_SUB 8
#define SOAK_KEYS 4000
#define SOAK_KEY_LEN 12
#define SOAK_VALUE_HEADER 18 /* "TT:JJJJJJJJJJJJ:S:": writer, write, sub-operation */

struct soak_op {
	int batch; /* written with shale_write (else a single put or delete) */
	int sync;
	int n;
	struct {
		int put;
		uint32_t key;
		uint32_t vlen; /* the value's length */
	} sub[SOAK_MAX_SUB];
};

void soak_op(uint64_t seed, int t, uint64_t j, struct soak_op *op);
void soak_key(int t, uint32_t k, char *out);
/* The value of sub-operation sub of write (t, j); out holds op->sub[sub].vlen bytes. */
void soak_value(uint64_t seed, int t, uint64_t j, int sub, uint32_t vlen, char *out);
/* Issues write (t, j) (scratch batch reused); returns its code. */
int soak_write(shale_db *db, uint64_t seed, int t, uint64_t j, shale_batch *b, const struct soak_op *op);
/* Applies write (t, j) to a model of SOAK_KEYS ids. */
void soak_apply(uint64_t *model, uint64_t j, const struct soak_op *op);

static inline uint64_t soak_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Parses an entry of the database and checks that it is exactly what some
 * issued write (j < issued[t]) put under that key: fails the Check test
 * otherwise. Returns the write id; *tp and *kp get the writer and key. */
uint64_t soak_entry_id(uint64_t seed, int nthreads, const uint64_t *issued, const char *k, size_t kl,
                       const char *v, size_t vl, int *tp, uint32_t *kp, const char *what);

/* What one check read and proved (added up into the soak's figures). */
struct soak_figures {
	uint64_t entries_scanned;
	uint64_t gets;
	uint64_t writes_replayed;  /* model writes compared against */
};

/* Per writer: the prefix proved at the last check and the model there. */
struct soak_writer_state {
	uint64_t base;
	uint64_t model[SOAK_KEYS];
};

/*
 * Reads the whole database (a forward scan, a backward scan, and gets of
 * about `gets` keys spread over the writers' key spaces, absent ones too;
 * all with verify_checksums on) and checks that for each writer
 * t < nthreads its keys hold the state after some prefix P of its writes
 * with must[t] <= P <= issued[t]; nothing else may be in the database. On
 * success each ws[t] moves to the largest such P. Fails the Check test
 * with a description otherwise; what names the cut in messages.
 */
void soak_check_state(shale_db *db, uint64_t seed, int nthreads, struct soak_writer_state *ws,
                      const uint64_t *must, const uint64_t *issued, uint64_t gets, const char *what,
                      struct soak_figures *fig);

/* After an open's cleanup every table file in the directory is named by a
 * live version or is being written (REQUIRES: no iterator was made since
 * the open). Returns the number of tables seen. */
int soak_check_no_orphans(shale_db *db);

#endif
