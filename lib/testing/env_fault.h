/*
 * A fault-injecting file layer for tests, wrapping another env (normally the
 * POSIX one). It can
 *  - fail chosen operations: by rule (operation mask, path substring, skip N,
 *    fail M) or by a hook that decides per call;
 *  - simulate power loss: fault_env_freeze() marks the moment the power goes;
 *    from then on the process keeps running as a ghost whose changes never
 *    reach the disk (mutations "succeed" and are dropped). fault_env_crash()
 *    then makes the disk look as it would after the power came back.
 *
 * Model of durability: file data is durable once the file is synced; a
 * directory entry (create, remove, rename, link, mkdir) once its directory is
 * synced. Files that existed before the wrapper saw them count as fully
 * durable. What a crash keeps of the rest is the crash model's choice
 * (fault_env_set_crash_model):
 *  - directory changes not yet durable: none of them (FAULT_DIR_ROLLBACK, the
 *    default), the oldest few of each directory (FAULT_DIR_PREFIX), or any
 *    subset (FAULT_DIR_SUBSET: directory operations reaching the disk out of
 *    order, POSIX's weakest promise). A rename is one change (atomic: `to`
 *    names either its old or its new inode); a change that persists gives
 *    its names the inodes it gave them when it ran.
 *  - file data not yet synced: lost (FAULT_DATA_LOST, the default), or a
 *    random prefix of it kept (FAULT_DATA_PREFIX, a torn write).
 *  - a sync that fails (an injected fault) loses the data it should have
 *    made durable, as a kernel that drops the dirty pages after a failed
 *    fsync may: a crash turns those bytes to zeros even when a later sync of
 *    the file succeeded (until then the process still reads them).
 * Removed files are kept under a hidden name (".fault-trash-N"), and inodes
 * placed by pending changes under ".fault-op-N" (neither ever listed), until
 * their directory is synced, so that a crash can bring them back.
 */
#ifndef SHALE_TESTING_ENV_FAULT_H
#define SHALE_TESTING_ENV_FAULT_H

#include <stdint.h>
#include "lib/util/env.h"

/* Operations (bit masks). */
#define FAULT_OPEN_READ  (1u << 0)  /* open_seq, open_rand */
#define FAULT_READ       (1u << 1)  /* seq/rand reads */
#define FAULT_OPEN_WRITE (1u << 2)  /* open_write, open_append */
#define FAULT_APPEND     (1u << 3)  /* wfile append */
#define FAULT_FLUSH      (1u << 4)  /* wfile flush (and the flush in close) */
#define FAULT_SYNC       (1u << 5)  /* wfile sync */
#define FAULT_SYNC_DIR   (1u << 6)
#define FAULT_RENAME     (1u << 7)
#define FAULT_REMOVE     (1u << 8)  /* remove, rmdir */
#define FAULT_LINK       (1u << 9)
#define FAULT_MKDIR      (1u << 10)
#define FAULT_LIST       (1u << 11)
#define FAULT_LOCK       (1u << 12)
#define FAULT_ALL_OPS    ((1u << 13) - 1)
#define FAULT_OP_COUNT   13

/* What a failed operation does. */
#define FAULT_NONE        0
#define FAULT_EIO         1 /* fails with EIO, nothing done */
#define FAULT_ENOSPC      2 /* fails with ENOSPC, nothing done */
#define FAULT_SHORT_WRITE 3 /* append: half the bytes are written, then EIO */

struct fault_rule {
	unsigned ops;              /* mask of FAULT_* operations */
	const char *path_contains; /* only paths containing this; NULL = any */
	int skip;                  /* let this many matching operations through first */
	int count;                 /* then fail this many; -1 = every one after */
	int kind;                  /* FAULT_EIO, FAULT_ENOSPC, FAULT_SHORT_WRITE */
};

/* Decides per call; returns FAULT_NONE or a fault kind. It runs without the
 * env's lock held and may call fault_env_freeze(). seq counts every operation
 * the env has seen (from 0). */
typedef int (*fault_hook_fn)(void *arg, struct env *e, unsigned op, const char *path, uint64_t seq);

/* Wraps base (not owned; it must outlive the fault env). */
int fault_env_create(struct env *base, struct env **out);
/* Adds a rule (copied); returns 0 or SHALE_ENOMEM. */
int fault_env_add_rule(struct env *e, const struct fault_rule *rule);
void fault_env_clear_rules(struct env *e);
void fault_env_set_hook(struct env *e, fault_hook_fn hook, void *arg);
#define FAULT_DIR_ROLLBACK 0
#define FAULT_DIR_PREFIX 1
#define FAULT_DIR_SUBSET 2
#define FAULT_DATA_LOST 0
#define FAULT_DATA_PREFIX 1

/* How the next crashes treat what was not durable (see above); seed fixes
 * the random choices. */
void fault_env_set_crash_model(struct env *e, int dir_model, int data_model, uint64_t seed);

/* The power goes now (see above). */
void fault_env_freeze(struct env *e);
int fault_env_frozen(struct env *e);
/* The power comes back: applies the losses and unfreezes. Files still open
 * from before stay ghosts. Returns 0 or the error of a base operation. */
int fault_env_crash(struct env *e);
/* Operations seen so far, of any kind (the hook's seq of the next one). */
uint64_t fault_env_op_count(struct env *e);
/* Operations seen of one kind (op is a single FAULT_* bit), optionally only
 * on paths containing path_contains. */
uint64_t fault_env_count(struct env *e, unsigned op, const char *path_contains);
/* Zeroes the counters of fault_env_count. */
void fault_env_reset_counts(struct env *e);

#endif
