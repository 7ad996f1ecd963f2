/*
 * The database's side of compaction: the pool of compaction threads, the
 * install of finished compactions, and shale_compact_range. (Choosing and
 * running compactions is compaction/'s work.)
 */
#ifndef SHALE_DB_DB_COMPACT_H
#define SHALE_DB_DB_COMPACT_H

#include "lib/db/db_impl.h"

int db_compact_init(struct shale_db *db);
void db_compact_free(struct shale_db *db);
int db_compact_start_threads(struct shale_db *db);
/* REQUIRES: shutting_down set; joins the threads (running compactions are
 * abandoned at their next entry). */
void db_compact_stop_threads(struct shale_db *db);
/* Compacts level's overlap with [begin, end] (user keys; NULL = open) into
 * level + 1, in pieces, in the calling thread. REQUIRES: mu (released while
 * compacting). */
int db_compact_level(struct shale_db *db, int level, const struct slice *begin, const struct slice *end)
	SHALE_REQUIRES(db->vs.mu);
/* Appends running compactions to a stats text. REQUIRES: mu. */
int db_compact_describe(struct shale_db *db, struct buf *b) SHALE_REQUIRES(db->vs.mu);

#endif
