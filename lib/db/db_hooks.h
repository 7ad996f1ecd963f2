/*
 * Test hooks: points where a test can hold or observe a database thread.
 * The shipped library only carries a pointer to them (NULL unless a test
 * sets one through options_set_test_hooks) and calls nothing else.
 */
#ifndef SHALE_DB_DB_HOOKS_H
#define SHALE_DB_DB_HOOKS_H

enum db_hook_point {
	HOOK_WRITER_QUEUED,        /* a writer joined the queue (DB mutex held; do not block) */
	HOOK_LEADER_BEFORE_GROUP,  /* a leader is about to gather its group (no lock held) */
	HOOK_WAL_SWITCHED,         /* a memtable switch installed a new WAL (no lock held) */
	HOOK_FLUSH_BEGIN,          /* the flush thread starts writing a table (no lock held) */
	HOOK_FLUSH_DONE,           /* a flush was installed (no lock held) */
	HOOK_COMPACTION_BEGIN,     /* a compaction starts its merge (no lock held) */
	HOOK_COMPACTION_DONE,      /* a compaction was installed (no lock held) */
	HOOK_BG_RETRY,             /* a background thread is about to wait before retrying after ENOSPC (no lock held) */
	HOOK_WRITER_STOPPED,       /* a writer is about to wait at level 0's stop trigger (DB mutex held; do not block) */
	HOOK_STALE_FREED,          /* a stale read view or parked iterator tree is about to be freed (no lock held) */
};

struct db_test_hooks {
	void (*at)(void *arg, enum db_hook_point point);
	void *arg;
};

#endif
