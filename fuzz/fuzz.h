/*
 * Shared by the fuzz targets (fuzz_<name>.c), the corpus replayer
 * (replay.c) and the seed generator (seedgen.c).
 *
 * Each target defines LLVMFuzzerTestOneInput. Built with --enable-fuzzing it links libFuzzer;
 * otherwise replay.c's main runs a corpus through it. A target reports a
 * finding by crashing: fuzz_check() aborts with a message, and the
 * sanitizers catch the rest. The library itself never aborts, so every
 * abort is either a target's oracle or a bug.
 *
 * The helpers here are test code: they may abort, print and exit.
 */
#ifndef SHALE_FUZZ_FUZZ_H
#define SHALE_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util/env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the message when cond is false (a finding). */
#define fuzz_check(cond, ...)                                        \
	do {                                                             \
		if (!(cond))                                                 \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);       \
	} while (0)
void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

/* Nonzero when $SHALE_FUZZ_VERBOSE is set: targets then say on stderr
 * what happened to each input (for looking at a corpus, not for fuzzing). */
int fuzz_verbose(void);

/* Consumes an input front to back; reads past the end give zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};
unsigned fuzz_u8(struct fuzz_in *in);
unsigned fuzz_u16(struct fuzz_in *in);
/* Up to max bytes (fewer at the end): a pointer into the input. */
const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got);

/* Files over memory (data borrowed; it must outlive the file). A mapped rand_file returns pointers into
 * data, as a memory-mapped file does. Abort when memory runs out. */
struct seq_file *fuzz_seq_file(const void *data, size_t n);
struct rand_file *fuzz_rand_file(const void *data, size_t n, int mapped);

/* Rewrites the masked CRC of every fragment header that a log reader
 * would reach with its length intact (so mutations reach what the CRC
 * guards). */
void fuzz_fix_log_crcs(uint8_t *data, size_t n);
/* Rewrites the block trailer CRCs of a table: the footer's metaindex and
 * index blocks, the blocks the (uncompressed) index and metaindex name. */
void fuzz_fix_table_crcs(uint8_t *data, size_t n);

/* A fresh empty directory for this input (the same path every time,
 * emptied), below a per-process directory under $TMPDIR (else /dev/shm,
 * else /tmp) that is removed at exit. */
/* A malloc'd copy of s (an empty slice's data may be NULL). */
struct slice fuzz_dup(struct slice s);
const char *fuzz_dir(void);
/* Removes fuzz_dir() and everything in it. */
void fuzz_clear_dir(void);
/* Writes name in fuzz_dir() (replacing it). */
void fuzz_write_file(const char *name, const void *data, size_t n);

#endif
