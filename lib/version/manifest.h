/*
 * The MANIFEST: the log of version edits that CURRENT names (doc/format.md,
 * "MANIFEST"), and the builder that turns a base version plus edits into a
 * new version.
 *
 * Writing: every change goes through vset_log_and_apply, one at a time, in
 * the order logged, with the database mutex released while the MANIFEST is
 * written (manifest_busy keeps other edits out meanwhile). A fresh MANIFEST
 * holding a snapshot of the whole version is started at the first edit after
 * an open, after a failed write, and past cfg.max_manifest_size; its name is
 * made durable (directory synced) before CURRENT is pointed at it.
 */
#ifndef SHALE_VERSION_MANIFEST_H
#define SHALE_VERSION_MANIFEST_H

#include <stdint.h>

#include "lib/util/env.h"
#include "lib/util/slice.h"
#include "lib/version/version.h"
#include "lib/version/version_edit.h"

/* Reads CURRENT and the MANIFEST it names and installs the version they
 * describe. Checks the comparator name, the presence of the log number, the
 * next file number and the last sequence, and level invariants. Takes mu to
 * install the result. */
int vset_recover(struct version_set *vs) SHALE_EXCLUDES(vs->mu);

/* Applies edit to the current version, logs it to the MANIFEST (creating a
 * fresh MANIFEST holding a snapshot, and pointing CURRENT at it, when there is
 * none yet, the last write failed, or it grew past max_manifest_size), and
 * installs the result as current. Fills in the log numbers, next file number
 * and last sequence the edit leaves unset. Releases mu while writing. On
 * failure the current version is unchanged. */
int vset_log_and_apply(struct version_set *vs, struct version_edit *edit) SHALE_REQUIRES(vs->mu);

/* Encodes the current state as one edit (a MANIFEST snapshot). */
int vset_snapshot_edit(struct version_set *vs, struct version_edit *e) SHALE_REQUIRES(vs->mu);

/* Points <dir>/CURRENT at MANIFEST-number: temp file, sync, rename,
 * directory sync. REQUIRES: the MANIFEST's directory entry is durable. */
int manifest_set_current(struct env *env, const char *dir, uint64_t number);
/* Writes <dir>/MANIFEST-number holding one record, synced, makes its name
 * durable and points CURRENT at it (a new database, a checkpoint). */
int manifest_create(struct env *env, const char *dir, uint64_t number, struct slice record);

#endif
