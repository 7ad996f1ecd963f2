/*
 * shale_repair_db: rebuilds a database from whatever of its files can be
 * read (doc/api.md, "Damage and recovery"). Under the DB's LOCK:
 *
 *  1. List the directory and lost/: every file number seen is used up.
 *  2. Read every MANIFEST, salvaging, for the comparator name (another one
 *     than the options' fails the repair with SHALE_EINVAL, before anything
 *     is written), the last sequence and the file numbers. Their lists of
 *     tables are not needed: every table in the directory is read.
 *  3. Replay every WAL, oldest first, into memtables, reading past damage
 *     from the next intact block and skipping malformed records. Each record
 *     keeps the sequence numbers its batch header gives.
 *  4. Merge every table's readable entries and the memtables into new tables
 *     (repair_merge.c): each user key's newest entry by sequence number wins,
 *     wherever it lies (a deletion marker is kept, so that old files a crash
 *     leaves behind cannot bring older versions back in a second repair). LevelDB's repair put every table in level 0 ordered
 *     by file number, so an older version in a higher-numbered table could
 *     shadow a newer one (its issue #251); here file numbers decide nothing.
 *     The new tables form one sorted run at the smallest level >= 1 whose
 *     budget holds them.
 *  5. Hard-link every damaged input into lost/, then write a MANIFEST naming
 *     the new tables, with the last sequence and the next file number past
 *     everything seen, and point CURRENT at it.
 *  6. Only then remove the inputs: a damaged one is already in lost/, one
 *     read whole is fully represented in the new tables.
 *
 * Crash safety: until CURRENT names the new MANIFEST, repair only adds files
 * (tables under fresh numbers, temporaries, links in lost/), so the old
 * state stays intact and a repair cut short at any point can simply be run
 * again. The data is written once more: repair needs free space about the
 * size of the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/repair.h"
#include "lib/util/error.h"
#include "lib/version/manifest.h"
#include "lib/version/version_edit.h"
#include "sstable/compress.h"

/* lost/NAME, else lost/NAME.1, NAME.2, ...: nothing in lost/ is replaced */
#define LOST_SUFFIX_MAX 1000

/* ---- steps 5 and 6: lost/, the MANIFEST, removing the inputs ---- */

static void lost_dir(const struct repairer *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s/" REPAIR_LOST_DIR, r->dbname);
}

/* A name in lost/ nothing has yet: the input's own, else with a suffix. */
static int free_lost_name(struct repairer *r, const char *name, char *out, size_t cap)
{
	char dir[FNAME_MAX], p[FNAME_MAX + 128];
	lost_dir(r, dir, sizeof(dir));
	for (int i = 0; i < LOST_SUFFIX_MAX; i++) {
		if (i == 0)
			snprintf(out, cap, "%s", name);
		else
			snprintf(out, cap, "%s.%d", name, i);
		snprintf(p, sizeof(p), "%s/%s", dir, out);
		if (!env_exists(r->env, p))
			return 0;
	}
	return err_set(SHALE_EIO, "%s/" REPAIR_LOST_DIR ": no free name for %s", r->dbname, name);
}

/* Hard-links every damaged input into lost/ (made if missing), durably, so
 * that no crash after CURRENT changes can lose one. Where links are
 * impossible the file is renamed there after CURRENT changes instead. */
static int link_damaged(struct repairer *r)
{
	char dir[FNAME_MAX];
	lost_dir(r, dir, sizeof(dir));
	int linked = 0, rc = 0;
	for (size_t i = 0; rc == 0 && i < r->ninputs; i++) {
		struct repair_input *in = &r->inputs[i];
		if (!in->damaged)
			continue;
		if (!env_exists(r->env, dir)) {
			rc = env_mkdir(r->env, dir);
			if (rc == 0)
				rc = env_sync_dir(r->env, r->dbname);
			if (rc)
				break;
		}
		char name[sizeof(in->lost_name)], from[FNAME_MAX + 64], to[FNAME_MAX + 128];
		rc = free_lost_name(r, in->name, name, sizeof(name));
		if (rc)
			break;
		repair_input_path(r, in, from, sizeof(from));
		snprintf(to, sizeof(to), "%s/%s", dir, name);
		rc = env_link(r->env, from, to);
		if (rc == SHALE_ENOTSUP) {
			in->move_late = 1;
			rc = 0;
		} else if (rc == 0) {
			snprintf(in->lost_name, sizeof(in->lost_name), "%s", name);
			linked = 1;
		}
	}
	if (rc == 0 && linked)
		rc = env_sync_dir(r->env, dir);
	return rc;
}

/* The smallest level >= 1 whose budget holds total bytes (the last level
 * when none does). */
static int pick_level(const struct repairer *r, uint64_t total)
{
	uint64_t budget = r->opt->max_bytes_for_level_base;
	uint64_t mult = (uint64_t)r->opt->level_multiplier;
	int level = 1;
	while (level < NUM_LEVELS - 1 && total > budget) {
		budget = budget > UINT64_MAX / mult ? UINT64_MAX : budget * mult;
		level++;
	}
	return level;
}

/* Writes the new MANIFEST and points CURRENT at it. *manifest is its number. */
static int install(struct repairer *r, int level, uint64_t *manifest_out)
{
	struct version_edit e;
	struct buf rec = BUF_INIT;
	uint64_t manifest = repair_new_number(r);
	*manifest_out = manifest;
	uint64_t log = repair_new_number(r); /* no WAL has it: every old one is obsolete */
	edit_init(&e);
	int rc = edit_set_comparator(&e, r->ucmp->name(r->ucmp));
	edit_set_log_number(&e, log);
	edit_set_next_file(&e, r->next_number);
	edit_set_last_sequence(&e, r->max_seq);
	for (size_t i = 0; rc == 0 && i < r->noutputs; i++) {
		const struct repair_output *o = &r->outputs[i];
		rc = edit_add_file(&e, level, o->number, o->size, buf_slice(&o->smallest), buf_slice(&o->largest));
	}
	if (rc == 0)
		rc = edit_encode(&e, &rec);
	if (rc == 0)
		rc = manifest_create(r->env, r->dbname, manifest, buf_slice(&rec));
	if (rc == 0)
		logger_printf(r->log, "repair: wrote MANIFEST-%06llu: %zu tables at level %d, last sequence %llu, next file %llu",
		              (unsigned long long)manifest, r->noutputs, level, (unsigned long long)r->max_seq,
		              (unsigned long long)r->next_number);
	edit_free(&e);
	buf_free(&rec);
	return rc;
}

/* After CURRENT changed: damaged inputs leave for lost/ (where their links
 * already are), the others are removed. Returns an error only when a damaged
 * file could not be set aside (opening the DB would then delete it). */
static int remove_inputs(struct repairer *r)
{
	char dir[FNAME_MAX];
	lost_dir(r, dir, sizeof(dir));
	int rc = 0, moved = 0;
	for (size_t i = 0; i < r->ninputs; i++) {
		struct repair_input *in = &r->inputs[i];
		char path[FNAME_MAX + 64];
		repair_input_path(r, in, path, sizeof(path));
		if (in->damaged && in->lost_name[0] == '\0') {
			char name[sizeof(in->lost_name)], to[FNAME_MAX + 128];
			int mrc = free_lost_name(r, in->name, name, sizeof(name));
			if (mrc == 0) {
				snprintf(to, sizeof(to), "%s/%s", dir, name);
				mrc = env_rename(r->env, path, to);
			}
			if (mrc == 0) {
				snprintf(in->lost_name, sizeof(in->lost_name), "%s", name);
				moved = 1;
			} else if (rc == 0) {
				rc = mrc;
			}
			continue;
		}
		if (env_remove(r->env, path) != 0)
			logger_printf(r->log, "repair: could not remove %s: %s", in->name, err_msg());
	}
	if (moved && rc == 0)
		rc = env_sync_dir(r->env, dir);
	return rc;
}

/* Removes every temporary in the directory: this repair's, and any an
 * earlier one left (nothing else writes here while the LOCK is held). */
static void remove_temporaries(struct repairer *r)
{
	char **names = NULL;
	size_t n = 0;
	if (env_list_dir(r->env, r->dbname, &names, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t num;
		enum file_type type;
		if (fname_parse(names[i], &num, &type) && type == FILE_TEMP) {
			char p[FNAME_MAX + 256];
			snprintf(p, sizeof(p), "%s/%s", r->dbname, names[i]);
			env_remove(r->env, p);
		}
	}
	env_free_names(names, n);
}

/* 1 when CURRENT names MANIFEST-number (a failed install got that far). */
static int current_names(struct repairer *r, uint64_t number)
{
	char path[FNAME_MAX], want[64];
	struct buf b = BUF_INIT;
	fname_current(path, r->dbname);
	int n = snprintf(want, sizeof(want), "MANIFEST-%06llu\n", (unsigned long long)number);
	int same = env_read_file(r->env, path, &b) == 0 && b.len == (size_t)n && memcmp(b.data, want, b.len) == 0;
	buf_free(&b);
	return same;
}

/* Removes the tables a failed repair wrote (before CURRENT changed). */
static void remove_outputs(struct repairer *r)
{
	for (size_t i = 0; i < r->noutputs; i++) {
		char p[FNAME_MAX];
		fname_table(p, r->dbname, r->outputs[i].number);
		env_remove(r->env, p);
	}
}

/* ---- the report ---- */

static void report_input(struct repairer *r, const struct repair_input *in)
{
	const char *what = in->type == FILE_MANIFEST ? "edits" : in->type == FILE_LOG ? "records" : "entries";
	if (in->unreadable)
		logger_printf(r->log, "repair: %s: cannot be read at all: %s", in->name, in->reason);
	else
		logger_printf(r->log, "repair: %s: kept %llu %s (%llu bytes)%s", in->name,
		              (unsigned long long)in->kept, what, (unsigned long long)in->kept_bytes,
		              in->damaged ? "" : "; read whole");
	if (in->damaged && !in->unreadable) {
		if (in->type == FILE_TABLE)
			logger_printf(r->log, "repair: %s: %llu damaged blocks dropped, the first: %s", in->name,
			              (unsigned long long)in->dropped, in->reason);
		else
			logger_printf(r->log, "repair: %s: %llu damaged spots (%llu bytes dropped), the first: %s",
			              in->name, (unsigned long long)in->dropped,
			              (unsigned long long)in->dropped_bytes, in->reason);
	}
}

/* ---- the whole ---- */

static int run(struct repairer *r)
{
	int rc = repair_scan(r);
	if (rc)
		return rc;
	/* steps 2 and 3 */
	for (size_t i = 0; rc == 0 && i < r->ninputs; i++)
		if (r->inputs[i].type == FILE_MANIFEST)
			rc = repair_read_manifest(r, &r->inputs[i]);
	for (size_t i = 0; rc == 0 && i < r->ninputs; i++)
		if (r->inputs[i].type == FILE_LOG)
			rc = repair_replay_wal(r, &r->inputs[i]);
	if (rc == 0 && r->mem) {
		struct repair_source s = { REPAIR_SRC_MEM, NULL, r->mem, 0 };
		rc = repair_add_source(r, &s);
		if (rc == 0)
			r->mem = NULL; /* the reference moved to the source */
	}
	/* step 4 */
	for (size_t i = 0; rc == 0 && i < r->ninputs; i++) {
		if (r->inputs[i].type == FILE_TABLE) {
			struct repair_source s = { REPAIR_SRC_TABLE, &r->inputs[i], NULL, 0 };
			rc = repair_add_source(r, &s);
		}
	}
	if (rc == 0)
		rc = repair_merge_all(r);
	for (size_t i = 0; i < r->ninputs; i++)
		report_input(r, &r->inputs[i]);
	logger_flush(r->log);
	if (rc == 0 && r->noutputs > 0)
		rc = env_sync_dir(r->env, r->dbname); /* the new tables' names */
	/* step 5 */
	if (rc == 0)
		rc = link_damaged(r);
	uint64_t total = 0;
	for (size_t i = 0; i < r->noutputs; i++)
		total += r->outputs[i].size;
	int level = pick_level(r, total);
	uint64_t manifest = 0;
	if (rc == 0)
		rc = install(r, level, &manifest);
	if (rc) {
		/* The old files stay. The new tables go, unless CURRENT names the
		 * new MANIFEST already (only its directory sync failed). */
		char msg[ERR_MSG_MAX];
		err_copy(msg, sizeof(msg));
		if (manifest == 0 || !current_names(r, manifest))
			remove_outputs(r);
		remove_temporaries(r);
		return err_restore(rc, msg);
	}
	/* step 6: the new state is durable; the old files can go */
	rc = remove_inputs(r);
	remove_temporaries(r);
	if (env_sync_dir(r->env, r->dbname) != 0)
		logger_printf(r->log, "repair: syncing %s after removing the old files: %s", r->dbname, err_msg());

	size_t set_aside = 0;
	for (size_t i = 0; i < r->ninputs; i++) {
		const struct repair_input *in = &r->inputs[i];
		if (in->damaged) {
			set_aside++;
			if (in->lost_name[0])
				logger_printf(r->log, "repair: %s set aside as " REPAIR_LOST_DIR "/%s", in->name, in->lost_name);
			else
				logger_printf(r->log, "repair: %s could not be set aside in " REPAIR_LOST_DIR "/", in->name);
		}
	}
	logger_printf(r->log,
	              "repair: done: %llu entries (%llu deletion markers; %llu bytes) in %zu tables (%llu bytes) "
	              "at level %d; %llu older versions dropped; %d merge passes before the last; "
	              "%zu files set aside in " REPAIR_LOST_DIR "/",
	              (unsigned long long)r->out_entries, (unsigned long long)r->deleted,
	              (unsigned long long)r->out_bytes, r->noutputs, (unsigned long long)total, level,
	              (unsigned long long)r->shadowed, r->merge_passes, set_aside);
	return rc;
}

static void repairer_free(struct repairer *r)
{
	for (size_t i = 0; i < r->nsources; i++)
		if (r->sources[i].kind == REPAIR_SRC_MEM)
			memtable_unref(r->sources[i].mem);
	free(r->sources);
	memtable_unref(r->mem);
	for (size_t i = 0; i < r->noutputs; i++) {
		buf_free(&r->outputs[i].smallest);
		buf_free(&r->outputs[i].largest);
	}
	free(r->outputs);
	free(r->inputs);
}

/* 1 when dir holds a CURRENT, a MANIFEST, a WAL or a table. */
static int holds_database(struct env *env, const char *dir, int *found)
{
	char **names = NULL;
	size_t n = 0;
	*found = 0;
	int rc = env_list_dir(env, dir, &names, &n);
	for (size_t i = 0; rc == 0 && i < n && !*found; i++) {
		uint64_t num;
		enum file_type type;
		if (fname_parse(names[i], &num, &type) && (type == FILE_CURRENT || repair_is_input_type(type)))
			*found = 1;
	}
	env_free_names(names, n);
	return rc;
}

SHALE_EXPORT int shale_repair_db(const char *path, const shale_options *opt)
{
	if (path == NULL || path[0] == '\0')
		return err_set(SHALE_EINVAL, "shale_repair_db: empty path");
	if (strlen(path) >= DBPATH_MAX)
		return err_set(SHALE_EINVAL, "shale_repair_db: path longer than %d bytes", DBPATH_MAX - 1);
	struct shale_options o;
	int rc;
	if (opt) {
		if ((rc = options_validate(opt)) != 0)
			return rc;
		o = *opt;
	} else {
		options_init_defaults(&o);
	}
	unsigned char block_type;
	if ((rc = compress_type_for(o.compression, &block_type)) != 0)
		return rc;
	struct env *env = o.env ? o.env : env_posix_default();
	if (!env_exists(env, path))
		return err_set(SHALE_EINVAL, "%s: does not exist", path);
	/* before taking the LOCK, which would create a file */
	int found;
	if ((rc = holds_database(env, path, &found)) != 0)
		return rc;
	if (!found)
		return err_set(SHALE_EINVAL, "%s: holds no database files (CURRENT, MANIFEST, WAL or table)", path);
	char lockpath[FNAME_MAX];
	struct file_lock *lock = NULL;
	fname_lock(lockpath, path);
	if ((rc = env_lock(env, lockpath, &lock)) != 0)
		return rc;

	struct repairer r;
	memset(&r, 0, sizeof(r));
	r.dbname = path;
	r.env = env;
	r.opt = &o;
	r.ucmp = options_comparator(&o);
	ikey_comparator_init(&r.icmp, r.ucmp);
	r.topt.cmp = &r.icmp.base;
	r.topt.internal_keys = 1;
	r.topt.block_size = o.block_size;
	r.topt.restart_interval = o.restart_interval;
	r.topt.compression = o.compression;
	r.topt.bloom_bits_per_key = o.bloom_bits_per_key;
	r.topt.table_filter = 1;
	r.topt.filter_policy = options_filter_policy(&o);
	r.topt.block_cache = NULL;
	r.next_number = 1;
	/* The info log the options ask for (the LOG file by default). It is a
	 * diagnostic: without one the repair still runs. */
	if (o.info_log_mode == INFO_LOG_CALLBACK) {
		if (logger_create(&r.log) == 0)
			logger_attach_callback(r.log, o.info_log_fn, o.info_log_state);
		else
			r.log = NULL;
	} else if (o.info_log_mode != INFO_LOG_NONE && logger_open(env, path, &r.log) != 0) {
		r.log = NULL;
	}
	logger_printf(r.log, "repair of %s (shale %s)", path, shale_version());
	rc = run(&r);
	char msg[ERR_MSG_MAX];
	err_copy(msg, sizeof(msg));
	if (rc)
		logger_printf(r.log, "repair failed: %s", msg);
	repairer_free(&r);
	logger_close(r.log);
	env_unlock(env, lock);
	return rc ? err_restore(rc, msg) : 0;
}
