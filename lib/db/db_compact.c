/*
 * Compaction threads, installing compactions, and shale_compact_range.
 *
 * Each of the `background_threads` threads loops: pick a compaction that
 * conflicts with none running (compaction_pick), register it, run it with
 * the mutex released, install its edit, unregister. Flushes and finished
 * compactions wake the threads (compact_cv); finished compactions wake
 * writers and compact_range (bg_cv).
 *
 * Besides size and file count, reads pick compactions (LevelDB's
 * allowed_seeks and iterator read sampling, lib/version/version.h): a file whose key
 * range keeps making reads look in more than one file is compacted.
 *
 * Errors: a background compaction's failure is the DB's background error,
 * sticky, except ENOSPC: a compaction that fails for lack of space changed
 * nothing on disk and fails no write. It is retried after a back-off shared
 * by every compaction thread (bg_retry_micros, doubling with each failure in
 * a row up to BACKOFF_MAX_FACTOR times that); meanwhile only the level-0
 * slowdown and stop triggers hold writes back (API.md, "Codes"). A manual
 * compaction (shale_compact_range) returns its error to the caller; it is
 * sticky too unless it is ENOSPC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compaction/compaction.h"
#include "lib/db/db_compact.h"
#include "lib/util/filename.h"

/* The longest back-off after ENOSPC, in multiples of bg_retry_micros. */
#define BACKOFF_MAX_FACTOR 16

struct compaction_state {
	struct compaction_registry reg;
	uint64_t trivial_moves;
	int max_running;          /* the most compactions that ran at once */
	/* after compactions failed for lack of space (mu) */
	uint64_t nospc_failures;  /* in all */
	uint64_t backoff_micros;  /* the last wait; 0 once a compaction succeeds */
	uint64_t retry_at;        /* env_now_micros before which nothing is picked */
};

int db_compact_init(struct shale_db *db)
{
	db->compactions = calloc(1, sizeof(*db->compactions));
	if (db->compactions == NULL)
		return err_nomem("compaction state");
	return 0;
}

void db_compact_free(struct shale_db *db)
{
	free(db->compactions);
	db->compactions = NULL;
}

static uint64_t new_output(void *arg)
{
	struct shale_db *db = arg;
	mutex_lock(&db->vs.mu);
	uint64_t n = vset_new_file_number(&db->vs);
	if (u64map_put(&db->pending_outputs, n, db) != 0)
		n = 0;
	db_unlock(db);
	return n;
}

static void drop_output(void *arg, uint64_t number)
{
	struct shale_db *db = arg;
	mutex_lock(&db->vs.mu);
	u64map_remove(&db->pending_outputs, number);
	db_unlock(db);
}

/* Runs c and installs it. REQUIRES: mu held; released while working. Frees c. */
static int run_compaction(struct shale_db *db, struct compaction *c) SHALE_REQUIRES(db->vs.mu)
{
	struct compaction_state *cs = db->compactions;
	int out_level = c->level + 1;
	uint64_t start = env_now_micros(db->env);
	struct compaction_stats st = { 0, 0, 0 };
	int rc;

	compaction_register(&cs->reg, c);
	if (cs->reg.count > cs->max_running)
		cs->max_running = cs->reg.count;
	if (compaction_is_trivial_move(c)) {
		struct file_meta *f = c->inputs[0][0];
		rc = edit_delete_file(&c->edit, c->level, f->number);
		if (rc == 0)
			rc = edit_add_file(&c->edit, out_level, f->number, f->size, f->smallest, f->largest);
		if (rc == 0)
			rc = vset_log_and_apply(&db->vs, &c->edit);
		if (rc == 0) {
			cs->trivial_moves++;
			logger_printf(db->info_log, "moved %06llu.ldb from level %d to %d",
			              (unsigned long long)f->number, c->level, out_level);
		}
	} else {
		struct compaction_env ce = {
			.env = db->env,
			.dbname = db->dbname,
			.topt = &db->topt,
			.vs = &db->vs,
			.info_log = db->info_log,
			.smallest_snapshot = db_smallest_snapshot(db),
			.shutting_down = &db->shutting_down,
			.new_output = new_output,
			.drop_output = drop_output,
			.arg = db,
		};
		db_unlock(db);
		db_hook(db, HOOK_COMPACTION_BEGIN);
		rc = compaction_run(c, &ce, &st);
		mutex_lock(&db->vs.mu);
		if (rc == 0)
			rc = vset_log_and_apply(&db->vs, &c->edit);
		/* Installed (or failed): the outputs are no longer pending. */
		for (size_t i = 0; i < c->edit.nadded; i++)
			u64map_remove(&db->pending_outputs, c->edit.added[i].f->number);
		if (rc == 0) {
			struct level_stats *s = &db->stats[out_level];
			s->micros += env_now_micros(db->env) - start;
			s->bytes_read += st.bytes_read;
			s->bytes_written += st.bytes_written;
			s->count++;
		}
	}
	if (rc)
		compaction_failed(&db->vs, c);
	compaction_unregister(&cs->reg, c);
	compaction_free(&db->vs, c);
	cond_broadcast(&db->bg_cv);
	cond_broadcast(&db->compact_cv);
	if (rc == 0 && db->hooks) {
		db_unlock(db);
		db_hook(db, HOOK_COMPACTION_DONE);
		mutex_lock(&db->vs.mu);
	}
	if (rc == 0)
		db_delete_obsolete_files(db, 0);
	return rc;
}

/* A compaction failed for lack of space: no compaction is picked for a
 * while, a longer while after each failure in a row. REQUIRES: mu. */
static void back_off(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	struct compaction_state *cs = db->compactions;
	uint64_t base = db->opt.bg_retry_micros ? db->opt.bg_retry_micros : 1;
	if (cs->backoff_micros == 0)
		cs->backoff_micros = base;
	else if (cs->backoff_micros < base * BACKOFF_MAX_FACTOR)
		cs->backoff_micros *= 2;
	cs->nospc_failures++;
	cs->retry_at = env_now_micros(db->env) + cs->backoff_micros;
	logger_printf(db->info_log, "compaction failed for lack of space (%s); retried in %.3f s", err_msg(),
	              (double)cs->backoff_micros / 1e6);
	db_unlock(db);
	db_hook(db, HOOK_BG_RETRY);
	mutex_lock(&db->vs.mu);
}

static void *compact_main(void *arg)
{
	struct shale_db *db = arg;
	/* Foreground work first (shale_options_set_compaction_nice). The nice
	 * value is per thread on Linux; a refusal only leaves it as it was. */
	if (db->opt.compaction_nice > 0) {
		id_t self = (id_t)syscall(SYS_gettid);
		errno = 0;
		int cur = getpriority(PRIO_PROCESS, self);
		if (errno == 0)
			(void)setpriority(PRIO_PROCESS, self, cur + db->opt.compaction_nice);
	}
	struct compaction_state *cs = db->compactions;
	mutex_lock(&db->vs.mu);
	while (!atomic_load(&db->shutting_down)) {
		if (db->bg_error && !db->bg_soft) {
			cond_wait(&db->compact_cv, &db->vs.mu);
			continue;
		}
		uint64_t now = env_now_micros(db->env);
		if (cs->retry_at > now) {
			/* backing off after ENOSPC; close wakes it */
			cond_timedwait(&db->compact_cv, &db->vs.mu, cs->retry_at - now);
			continue;
		}
		if (db->manual_compactions > 0) {
			/* shale_compact_range has the levels to itself (see there) */
			cond_wait(&db->compact_cv, &db->vs.mu);
			continue;
		}
		struct compaction *c = NULL;
		int rc = compaction_pick(&db->vs, &db->compactions->reg, &c);
		if (rc == 0 && c == NULL) {
			cond_wait(&db->compact_cv, &db->vs.mu);
			continue;
		}
		if (rc == 0)
			rc = run_compaction(db, c);
		if (rc == 0) {
			cs->backoff_micros = 0;
			db_clear_soft_error(db);
		} else if (rc == SHALE_ENOSPC) {
			back_off(db);
		} else if (rc != SHALE_ECLOSED || !atomic_load(&db->shutting_down)) {
			db_set_bg_error(db, rc);
		}
	}
	db_unlock(db);
	return NULL;
}

int db_compact_start_threads(struct shale_db *db)
{
	int n = db->opt.background_threads;
	db->compact_threads = calloc((size_t)n, sizeof(pthread_t));
	if (db->compact_threads == NULL)
		return err_nomem("compaction threads");
	for (int i = 0; i < n; i++) {
		int rc = thread_start(&db->compact_threads[i], compact_main, db, "compaction");
		if (rc)
			return rc;
		db->ncompact_threads++;
	}
	return 0;
}

void db_compact_stop_threads(struct shale_db *db)
{
	for (int i = 0; i < db->ncompact_threads; i++)
		thread_join(db->compact_threads[i]);
	db->ncompact_threads = 0;
	free(db->compact_threads);
	db->compact_threads = NULL;
}

int db_compact_describe(struct shale_db *db, struct buf *b)
{
	char line[192];
	struct compaction_state *cs = db->compactions;
	int n = snprintf(line, sizeof(line),
	                 "Compactions running: %d (at most %d at once); trivial moves: %llu; "
	                 "failed for lack of space: %llu (back-off %.3f s)\n",
	                 cs->reg.count, cs->max_running, (unsigned long long)cs->trivial_moves,
	                 (unsigned long long)cs->nospc_failures, (double)cs->backoff_micros / 1e6);
	return buf_append(b, line, (size_t)n);
}

int db_compact_level(struct shale_db *db, int level, const struct slice *begin, const struct slice *end)
{
	mutex_assert_held(&db->vs.mu);
	struct buf from = BUF_INIT;
	int has_from = begin != NULL;
	int rc = has_from ? buf_set(&from, begin->data, begin->size) : 0;
	while (rc == 0) {
		if (atomic_load(&db->shutting_down)) {
			rc = err_set(SHALE_ECLOSED, "%s: the database is closing", db->dbname);
			break;
		}
		if ((rc = db_bg_error(db)) != 0)
			break;
		struct slice b = buf_slice(&from);
		struct compaction *c = NULL;
		int conflict = 0;
		rc = compaction_pick_range(&db->vs, &db->compactions->reg, level, has_from ? &b : NULL, end, &c,
		                           &conflict);
		if (rc)
			break;
		if (conflict) {
			cond_wait(&db->bg_cv, &db->vs.mu);
			continue;
		}
		if (c == NULL)
			break; /* nothing of the range left in this level */
		/* the next piece starts after the largest key of this one */
		struct slice largest = ikey_user_key(c->inputs[0][0]->largest);
		for (int i = 1; i < c->ninputs[0]; i++) {
			struct slice l = ikey_user_key(c->inputs[0][i]->largest);
			if (comparator_compare(db->ucmp, l, largest) > 0)
				largest = l;
		}
		rc = buf_set(&from, largest.data, largest.size);
		has_from = 1;
		int single_round = level == 0;
		if (rc == 0)
			rc = run_compaction(db, c);
		else
			compaction_free(&db->vs, c);
		if (rc && rc != SHALE_ENOSPC && rc != SHALE_ECLOSED)
			db_set_bg_error(db, rc); /* a failed MANIFEST write or damage: sticky */
		if (single_round)
			break;
	}
	buf_free(&from);
	return rc;
}

SHALE_EXPORT int shale_compact_range(shale_db *db, const void *begin, size_t blen, const void *end, size_t elen)
{
	int rc = db_check_writable(db, "shale_compact_range");
	if (rc)
		return rc;
	struct slice b = slice_make(begin, blen), e = slice_make(end, elen);
	const struct slice *bp = begin ? &b : NULL, *ep = end ? &e : NULL;
	mutex_lock(&db->vs.mu);
	rc = db_enter(db);
	db_unlock(db);
	if (rc)
		return rc;
	rc = db_flush_memtable(db);
	mutex_lock(&db->vs.mu);
	/* The levels are compacted top down, each once: a background compaction
	 * moving data into a level this call has passed would leave it there.
	 * So background picks pause (as RocksDB's exclusive manual compaction)
	 * and the ones running finish first. Flushes go on. */
	db->manual_compactions++;
	while (rc == 0 && db->compactions->reg.count > 0 && !atomic_load(&db->shutting_down))
		cond_wait(&db->bg_cv, &db->vs.mu);
	int max_level = 1;
	for (int level = 1; level < NUM_LEVELS; level++)
		if (version_overlap_in_level(db->vs.current, level, bp, ep))
			max_level = level;
	for (int level = 0; rc == 0 && level < max_level; level++)
		rc = db_compact_level(db, level, bp, ep);
	db->manual_compactions--;
	cond_broadcast(&db->compact_cv);
	/* and the space is back when it returns: a deletion pass another
	 * thread is running goes round again for this call's inputs */
	while (db->deleting && !atomic_load(&db->shutting_down))
		cond_wait(&db->bg_cv, &db->vs.mu);
	db_leave(db);
	db_unlock(db);
	return rc;
}
