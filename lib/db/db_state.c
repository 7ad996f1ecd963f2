/*
 * The state every part of the database shares: the background error (sticky,
 * or soft for ENOSPC), the calls in progress that close waits for, the wait
 * before retrying background work, and the oldest snapshot.
 */
#include "lib/db/db_impl.h"

void db_set_bg_error(struct shale_db *db, int code)
{
	mutex_assert_held(&db->vs.mu);
	if (db->bg_error && !db->bg_soft)
		return; /* the first hard error stays */
	db->bg_error = code;
	db->bg_soft = code == SHALE_ENOSPC;
	err_copy(db->bg_msg, sizeof(db->bg_msg));
	logger_printf(db->info_log, "background error (%s): %s", db->bg_soft ? "retried" : "sticky", db->bg_msg);
	cond_broadcast(&db->bg_cv);
	if (db->bg_soft)
		cond_signal(&db->flush_cv); /* the flush thread runs the retry */
}

void db_clear_soft_error(struct shale_db *db)
{
	mutex_assert_held(&db->vs.mu);
	/* Not while a broken WAL's data is only in memory: until its memtable
	 * (mem while the WAL is broken, imm after the switch) is in a table, a
	 * later write must not reach the disk before it. */
	if (db->bg_error && db->bg_soft && !db->log_broken && db->imm == NULL) {
		logger_printf(db->info_log, "background error cleared by a successful retry");
		db->bg_error = 0;
		db->bg_soft = 0;
		db->bg_msg[0] = '\0';
		cond_broadcast(&db->bg_cv);
	}
}

int db_bg_error(struct shale_db *db)
{
	mutex_assert_held(&db->vs.mu);
	if (db->bg_error)
		return err_restore(db->bg_error, db->bg_msg);
	return 0;
}

int db_enter(struct shale_db *db)
{
	mutex_assert_held(&db->vs.mu);
	if (db->closing)
		return err_set(SHALE_ECLOSED, "%s: the database is closing", db->dbname);
	db->active_calls++;
	return 0;
}

void db_leave(struct shale_db *db)
{
	mutex_assert_held(&db->vs.mu);
	if (--db->active_calls == 0 && db->closing)
		cond_broadcast(&db->bg_cv);
}

void db_retry_wait(struct shale_db *db, struct condvar *cv)
{
	db_unlock(db);
	db_hook(db, HOOK_BG_RETRY);
	mutex_lock(&db->vs.mu);
	if (!atomic_load(&db->shutting_down))
		cond_timedwait(cv, &db->vs.mu, db->opt.bg_retry_micros);
}

uint64_t db_smallest_snapshot(struct shale_db *db)
{
	mutex_assert_held(&db->vs.mu);
	if (db->snapshots.next != &db->snapshots)
		return db->snapshots.next->seq;
	return db->vs.last_sequence;
}

void db_leave_unlocked(struct shale_db *db)
{
	/* (seq_cst: a close that sets closing and then finds active_calls > 0
	 * waits; whoever takes active_calls to 0 after that sees closing) */
	if (atomic_fetch_sub(&db->active_calls, 1) == 1 && atomic_load(&db->closing)) {
		mutex_lock(&db->vs.mu);
		cond_broadcast(&db->bg_cv);
		/* not db_unlock: once mu is released close may free the DB, so
		 * nothing of it is touched after (close writes the log out) */
		mutex_unlock(&db->vs.mu);
	}
}

int db_check_writable(struct shale_db *db, const char *fn)
{
	if (db == NULL)
		return err_set(SHALE_EINVAL, "%s: NULL database", fn);
	if (db->opt.read_only)
		return err_set(SHALE_EINVAL, "%s: %s is open read-only", fn, db->dbname);
	return 0;
}
