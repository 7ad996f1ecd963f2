/*
 * The write path: the writer queue and group commit, room for writes
 * (slowdown, stop, memtable switch), and the public write functions.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_impl.h"
#include "lib/util/filename.h"

/* A group is capped at about 1 MiB, and at 128 KiB past the leader's own batch
 * when that is small, so a small write never waits behind a huge group. */
#define GROUP_MAX_BYTES (1u << 20)
#define GROUP_SMALL_BYTES (128u << 10)

/* Starts a new WAL and memtable and hands the old memtable to the flush
 * thread. REQUIRES: mu held, the caller is the leader, imm is NULL. Releases
 * mu during the I/O. */
static int switch_memtable(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	mutex_assert_held(&db->vs.mu);
	uint64_t log_number = vset_new_file_number(&db->vs);
	uint64_t table_number = vset_new_file_number(&db->vs);
	int rc = u64map_put(&db->pending_outputs, table_number, db);
	if (rc)
		return rc;
	struct wfile *old = db->log_broken ? NULL : db->logfile;
	struct wfile *broken = db->log_broken ? db->logfile : NULL;
	struct wfile *file = NULL;
	struct memtable *mem = NULL;
	char path[FNAME_MAX];
	fname_log(path, db->dbname, log_number);
	db_unlock(db);

	/* The old WAL is made durable before any write goes to the new one, so a
	 * crash can never keep a later write and lose an earlier one. A broken
	 * WAL cannot be trusted to sync; its memtable is flushed before the soft
	 * error clears instead. */
	if (old)
		rc = wfile_sync(old);
	if (rc == 0)
		rc = env_open_log(db->env, path, db->opt.write_buffer_size, &file);
	if (rc == 0)
		rc = env_sync_dir(db->env, db->dbname);
	if (rc == 0)
		rc = db_new_memtable(db, &mem);
	if (rc == 0) {
		wfile_close(old);
		wfile_close(broken);
	} else if (file) {
		wfile_close(file);
		env_remove(db->env, path);
	}

	mutex_lock(&db->vs.mu);
	if (rc) {
		u64map_remove(&db->pending_outputs, table_number);
		return rc;
	}
	db->logfile = file;
	db->logfile_number = log_number;
	db->log_broken = 0;
	atomic_store(&db->wal_dirty, 0); /* (the old WAL's buffer went with its sync) */
	wal_writer_init(&db->log, file, 0);
	db->imm = db->mem;
	db->imm_table_number = table_number;
	db->mem = mem;
	logger_printf(db->info_log, "memtable switched: new WAL %06llu, flush to %06llu.ldb",
	              (unsigned long long)log_number, (unsigned long long)table_number);
	cond_signal(&db->flush_cv);
	db_unlock(db);
	db_hook(db, HOOK_WAL_SWITCHED);
	mutex_lock(&db->vs.mu);
	return 0;
}

static uint64_t level0_files(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	return (uint64_t)db->vs.current->nfiles[0];
}

static void note_stall(struct shale_db *db, uint64_t start) SHALE_REQUIRES(db->vs.mu)
{
	uint64_t us = env_now_micros(db->env) - start;
	db->stall_micros += us;
	if (us > db->max_stall_micros)
		db->max_stall_micros = us;
}

/* Before the leader waits: writes in the WAL's buffer go to the OS (no
 * other thread hands them over while a leader holds the queue). Returns 1
 * when it released mu to do so: the caller must look again at what it was
 * about to wait for. A failure is left to the next append or sync to meet.
 * REQUIRES: mu, leader. */
static int flush_before_wait(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	if (!atomic_load(&db->wal_dirty) || db->logfile == NULL || db->log_broken)
		return 0;
	atomic_store(&db->wal_dirty, 0);
	db_unlock(db);
	if (wal_writer_flush(&db->log) != 0)
		logger_printf(db->info_log, "WAL buffer not written before a wait: %s", err_msg());
	mutex_lock(&db->vs.mu);
	return 1;
}

/* Makes sure mem has room (or switches it when force). REQUIRES: mu, leader. */
static int make_room(struct shale_db *db, int force, int recovery) SHALE_REQUIRES(db->vs.mu)
{
	mutex_assert_held(&db->vs.mu);
	int allow_delay = !force;
	for (;;) {
		if (db->bg_error && !(recovery && db->bg_soft)) {
			return db_bg_error(db);
		} else if (db->closing || atomic_load(&db->shutting_down)) {
			/* a write that raced with close (close waits for queued writers) */
			return err_set(SHALE_ECLOSED, "%s: the database is closing", db->dbname);
		} else if (allow_delay && level0_files(db) >= (uint64_t)db->opt.l0_slowdown_trigger) {
			/* Level 0 is filling: give compaction a little time, once per write,
			 * rather than stopping every writer later for a long time. */
			if (flush_before_wait(db))
				continue;
			uint64_t start = env_now_micros(db->env);
			db_unlock(db);
			env_sleep_micros(db->env, 1000);
			mutex_lock(&db->vs.mu);
			note_stall(db, start);
			allow_delay = 0;
		} else if (!force && !db->log_broken &&
		           memtable_memory_usage(db->mem) <= db->opt.write_buffer_size) {
			return 0;
		} else if (db->imm != NULL) {
			/* The previous memtable is still being flushed. */
			if (flush_before_wait(db))
				continue;
			uint64_t start = env_now_micros(db->env);
			logger_printf(db->info_log, "write waits: memtable full, flush in progress");
			cond_wait(&db->bg_cv, &db->vs.mu);
			note_stall(db, start);
		} else if (!recovery && level0_files(db) >= (uint64_t)db->opt.l0_stop_trigger) {
			/* (replacing a broken WAL adds no data: it does not wait here) */
			if (flush_before_wait(db))
				continue;
			uint64_t start = env_now_micros(db->env);
			logger_printf(db->info_log, "write waits: %llu level-0 files",
			              (unsigned long long)level0_files(db));
			cond_signal(&db->compact_cv);
			db_hook(db, HOOK_WRITER_STOPPED);
			cond_wait(&db->bg_cv, &db->vs.mu);
			note_stall(db, start);
		} else {
			if (force && memtable_count(db->mem) == 0 && !db->log_broken)
				return 0; /* nothing to flush */
			int rc = switch_memtable(db);
			if (rc) {
				db_set_bg_error(db, rc);
				if (rc == SHALE_ENOSPC)
					db->log_broken = 1; /* retried by the flush thread */
				return rc;
			}
			return 0;
		}
	}
}

/* Merges the queued batches behind the leader into one group. REQUIRES: mu.
 * Returns the batch to write and sets *last to the last member. */
static struct shale_batch *build_group(struct shale_db *db, struct writer **last, int *sync) SHALE_REQUIRES(db->vs.mu)
{
	struct writer *first = db->writers_head;
	struct shale_batch *result = first->batch;
	size_t size = result->rep.len;
	size_t max = size <= GROUP_SMALL_BYTES ? size + GROUP_SMALL_BYTES : GROUP_MAX_BYTES;
	*last = first;
	*sync = first->sync;
	for (struct writer *w = first->next; w; w = w->next) {
		if (w->batch == NULL)
			break; /* a memtable switch request goes alone */
		size += w->batch->rep.len - BATCH_HEADER;
		if (size > max)
			break;
		if (result == first->batch) {
			batch_reset(&db->group);
			if (batch_append(&db->group, first->batch) != 0)
				break;
			result = &db->group;
		}
		if (batch_append(&db->group, w->batch) != 0)
			break;
		*sync |= w->sync;
		*last = w;
	}
	return result;
}

/* After a group's record is in the WAL's buffer: hands the buffer to the OS
 * when it has waited opt.wal_flush_delay (at once with a delay of 0), or
 * notes since when it waits. 1 in *armed when the flush thread must start
 * its clock. Leader only, without mu. */
static int wal_after_append(struct shale_db *db, int *armed)
{
	uint64_t delay = db->opt.wal_flush_delay;
	*armed = 0;
	if (delay == 0)
		return wal_writer_flush(&db->log);
	uint64_t now = env_now_micros(db->env);
	if (!atomic_load_explicit(&db->wal_dirty, memory_order_relaxed)) {
		atomic_store_explicit(&db->wal_dirty_since, now, memory_order_relaxed);
		atomic_store_explicit(&db->wal_dirty, 1, memory_order_release);
		*armed = 1;
		return 0;
	}
	if (now - atomic_load_explicit(&db->wal_dirty_since, memory_order_relaxed) < delay)
		return 0;
	atomic_store_explicit(&db->wal_dirty, 0, memory_order_relaxed);
	return wal_writer_flush(&db->log);
}

static int write_queued(struct shale_db *db, int sync, struct shale_batch *batch, int recovery, int flush_wal)
	SHALE_EXCLUDES(db->vs.mu);

int db_write(struct shale_db *db, int sync, struct shale_batch *batch, int recovery)
{
	return write_queued(db, sync, batch, recovery, 0);
}

int db_wal_flush(struct shale_db *db)
{
	return write_queued(db, 0, NULL, 1, 1);
}

static int write_queued(struct shale_db *db, int sync, struct shale_batch *batch, int recovery, int flush_wal)
{
	struct writer w;
	w.batch = batch;
	w.flush_wal = flush_wal;
	w.sync = sync;
	w.recovery = recovery;
	w.done = 0;
	w.status = 0;
	w.msg[0] = '\0';
	w.next = NULL;
	int rc = cond_init(&w.cv);
	if (rc)
		return rc;

	mutex_lock(&db->vs.mu);
	if (db->closing && !recovery) {
		db_unlock(db);
		cond_destroy(&w.cv);
		return err_set(SHALE_ECLOSED, "%s: the database is closing", db->dbname);
	}
	/* A caller's write is a call close waits for until its very end: after
	 * it leaves the queue it still touches the DB (db_unlock's log flush).
	 * Internal writes (recovery, the flush thread) are joined by close. */
	int counted = !recovery;
	if (counted)
		db->active_calls++;
	if (flush_wal && db->writers_head != NULL) {
		/* A leader is at work: it hands the buffer over itself, by its clock
		 * or before it waits. Never queue behind it: it may be waiting for
		 * the flush thread, which asks this. */
		db_unlock(db);
		cond_destroy(&w.cv);
		if (counted)
			db_leave_unlocked(db);
		return 0;
	}
	if (db->writers_tail)
		db->writers_tail->next = &w;
	else
		db->writers_head = &w;
	db->writers_tail = &w;
	db_hook(db, HOOK_WRITER_QUEUED);
	while (!w.done && db->writers_head != &w)
		cond_wait(&w.cv, &db->vs.mu);
	if (w.done) {
		db_unlock(db);
		cond_destroy(&w.cv);
		rc = w.status ? err_restore(w.status, w.msg) : 0;
		if (counted)
			db_leave_unlocked(db);
		return rc;
	}

	/* This writer leads. */
	if (db->hooks) {
		db_unlock(db);
		db_hook(db, HOOK_LEADER_BEFORE_GROUP);
		mutex_lock(&db->vs.mu);
	}
	struct writer *last = &w;
	if (flush_wal) {
		/* (a WAL that failed is left alone: its replacement is under way) */
		if (atomic_load(&db->wal_dirty) && db->logfile && !db->log_broken) {
			atomic_store(&db->wal_dirty, 0);
			db_unlock(db);
			rc = wal_writer_flush(&db->log);
			mutex_lock(&db->vs.mu);
			if (rc) {
				db->log_broken = 1;
				db_set_bg_error(db, rc);
			}
		}
	} else {
		rc = make_room(db, batch == NULL, recovery);
	}
	if (rc == 0 && batch != NULL) {
		int group_sync;
		struct shale_batch *group = build_group(db, &last, &group_sync);
		uint64_t seq = db->vs.last_sequence + 1;
		uint32_t count = batch_rep_count(batch_rep(group));
		batch_set_sequence(group, seq);
		db_unlock(db);

		/* Only the leader touches the WAL and inserts into mem: mu is not needed. */
		struct slice rep = batch_rep(group);
		int armed = 0;
		rc = wal_writer_add(&db->log, rep.data, rep.size);
		if (rc == 0 && group_sync) {
			atomic_store_explicit(&db->wal_dirty, 0, memory_order_relaxed);
			rc = wal_writer_sync(&db->log); /* (hands the buffer to the OS first) */
		} else if (rc == 0) {
			rc = wal_after_append(db, &armed);
		}
		int wal_failed = rc != 0;
		if (rc == 0)
			rc = batch_insert(rep, db->mem, "write batch");

		mutex_lock(&db->vs.mu);
		if (wal_failed) {
			/* Nothing more goes to this WAL; the error is sticky (ENOSPC until
			 * a background retry replaces the WAL). The group's sequences are
			 * used up all the same: its record may be on disk, and no later
			 * write may reuse them. Nothing was inserted, so publishing them
			 * shows readers nothing new. */
			db->log_broken = 1;
			db->vs.last_sequence = seq + count - 1;
			db_set_bg_error(db, rc);
		} else if (rc == 0) {
			/* Published after the inserts: readers never see half a group. */
			db->vs.last_sequence = seq + count - 1;
			if (armed)
				cond_signal(&db->flush_cv); /* its clock for the WAL's buffer */
		} else {
			/* Out of memory half way through the inserts: the part inserted
			 * stays invisible (its sequences are never published) and the
			 * WAL holds the whole group for the next open. */
			db_set_bg_error(db, rc);
		}
		if (group == &db->group)
			batch_reset(&db->group);
	}

	/* Wake the members with the group's result. */
	char msg[ERR_MSG_MAX];
	if (rc)
		err_copy(msg, sizeof(msg));
	for (;;) {
		struct writer *ready = db->writers_head;
		db->writers_head = ready->next;
		if (db->writers_head == NULL)
			db->writers_tail = NULL;
		if (ready != &w) {
			ready->status = rc;
			if (rc)
				memcpy(ready->msg, msg, sizeof(msg));
			ready->done = 1;
			cond_signal(&ready->cv);
		}
		if (ready == last)
			break;
	}
	if (db->writers_head)
		cond_signal(&db->writers_head->cv);
	else if (db->closing)
		cond_broadcast(&db->bg_cv);
	db_unlock(db);
	cond_destroy(&w.cv);
	rc = rc ? err_restore(rc, msg) : 0;
	if (counted)
		db_leave_unlocked(db);
	return rc;
}

/* ---- public ---- */

SHALE_EXPORT int shale_write(shale_db *db, const shale_writeopts *wo, shale_batch *batch)
{
	int rc = db_check_writable(db, "shale_write");
	if (rc)
		return rc;
	if (batch == NULL)
		return err_set(SHALE_EINVAL, "shale_write: NULL batch");
	return db_write(db, wo ? wo->sync : 0, batch, 0);
}

/* A single put or delete builds its batch on the stack when it is small. */
static int write_one(shale_db *db, const shale_writeopts *wo, int type, const void *key, size_t klen,
                     const void *val, size_t vlen)
{
	if (klen > BATCH_KEY_MAX || vlen > BATCH_VALUE_MAX)
		return err_set(SHALE_EINVAL, "key of %zu bytes or value of %zu bytes (at most %zu and %zu)", klen, vlen,
		               BATCH_KEY_MAX, BATCH_VALUE_MAX);
	char small[512];
	size_t need = BATCH_HEADER + 1 + 10 + klen + vlen;
	struct shale_batch b;
	if (need <= sizeof(small)) {
		b.rep.data = small;
		b.rep.cap = sizeof(small);
		b.rep.len = 0;
	} else {
		buf_init(&b.rep);
		if (buf_reserve(&b.rep, need))
			return SHALE_ENOMEM;
	}
	char header[BATCH_HEADER] = { 0 };
	encode_fixed32(header + 8, 1);
	buf_append(&b.rep, header, BATCH_HEADER);
	buf_append_byte(&b.rep, (char)type);
	buf_append_lenprefixed(&b.rep, key, klen);
	if (type == IKEY_TYPE_VALUE)
		buf_append_lenprefixed(&b.rep, val, vlen);
	int rc = db_write(db, wo ? wo->sync : 0, &b, 0);
	if (b.rep.data != small)
		buf_free(&b.rep);
	return rc;
}

SHALE_EXPORT int shale_put(shale_db *db, const shale_writeopts *wo, const void *key, size_t klen,
                           const void *val, size_t vlen)
{
	int rc = db_check_writable(db, "shale_put");
	if (rc)
		return rc;
	if ((key == NULL && klen) || (val == NULL && vlen))
		return err_set(SHALE_EINVAL, "shale_put: NULL key or value with a length");
	return write_one(db, wo, IKEY_TYPE_VALUE, key, klen, val, vlen);
}

SHALE_EXPORT int shale_delete(shale_db *db, const shale_writeopts *wo, const void *key, size_t klen)
{
	int rc = db_check_writable(db, "shale_delete");
	if (rc)
		return rc;
	if (key == NULL && klen)
		return err_set(SHALE_EINVAL, "shale_delete: NULL key with a length");
	return write_one(db, wo, IKEY_TYPE_DELETION, key, klen, NULL, 0);
}
