/* Properties and approximate sizes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db/db_compact.h"
#include "lib/db/db_impl.h"

static int append(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int append(struct buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static char *finish(struct buf *b, int rc)
{
	if (rc == 0)
		rc = buf_append_byte(b, '\0');
	if (rc) {
		buf_free(b);
		return NULL;
	}
	return buf_detach(b);
}

/* REQUIRES: mu. */
static char *stats(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	struct buf b = BUF_INIT;
	struct version *v = db->vs.current;
	uint64_t user_bytes = db->stats[0].bytes_written, total_written = 0;
	int rc = append(&b, "                      Compactions into the level (level 0: flushes)\n"
	                    "Level  Files Size(MB) Time(sec) Read(MB) Write(MB) Count\n"
	                    "---------------------------------------------------------\n");
	for (int level = 0; rc == 0 && level < NUM_LEVELS; level++) {
		const struct level_stats *s = &db->stats[level];
		total_written += s->bytes_written;
		if (v->nfiles[level] == 0 && s->micros == 0 && s->count == 0)
			continue;
		rc = append(&b, "%5d %6d %8.1f %9.2f %8.1f %9.1f %5llu\n", level, v->nfiles[level],
		            (double)v->level_bytes[level] / 1048576.0, (double)s->micros / 1e6,
		            (double)s->bytes_read / 1048576.0, (double)s->bytes_written / 1048576.0,
		            (unsigned long long)s->count);
	}
	/* write amplification: table bytes written (flushes and compactions)
	 * per byte flushed from memtables */
	double wamp = user_bytes ? (double)total_written / (double)user_bytes : 0.0;
	if (rc == 0)
		rc = append(&b, "Flushed to level 0: %.1f MB in %llu flushes; written in all: %.1f MB; write amplification %.2f\n",
		            (double)user_bytes / 1048576.0, (unsigned long long)db->flushes,
		            (double)total_written / 1048576.0, wamp);
	if (rc == 0)
		rc = append(&b, "Write stalls: %.3f s in all, longest %.3f s\n", (double)db->stall_micros / 1e6,
		            (double)db->max_stall_micros / 1e6);
	if (rc == 0)
		rc = db_compact_describe(db, &b);
	return finish(&b, rc);
}

/* REQUIRES: mu. */
static char *sstables(struct shale_db *db) SHALE_REQUIRES(db->vs.mu)
{
	struct buf b = BUF_INIT;
	struct version *v = db->vs.current;
	int rc = 0;
	for (int level = 0; rc == 0 && level < NUM_LEVELS; level++) {
		rc = append(&b, "--- level %d ---\n", level);
		for (int i = 0; rc == 0 && i < v->nfiles[level]; i++) {
			const struct file_meta *f = v->files[level][i];
			struct parsed_ikey s = { { NULL, 0 }, 0, 0 }, l = s;
			int ok = ikey_parse(f->smallest, &s) && ikey_parse(f->largest, &l);
			rc = append(&b, " %llu:%llu[", (unsigned long long)f->number, (unsigned long long)f->size);
			/* keys are shown escaped: printable bytes as is, others as \xNN */
			struct slice keys[2] = { ok ? s.user_key : f->smallest, ok ? l.user_key : f->largest };
			for (int k = 0; rc == 0 && k < 2; k++) {
				for (size_t j = 0; rc == 0 && j < keys[k].size && j < 64; j++) {
					unsigned char c = (unsigned char)keys[k].data[j];
					rc = c >= 0x20 && c < 0x7f && c != '\\' ? buf_append_byte(&b, (char)c) : append(&b, "\\x%02x", c);
				}
				if (rc == 0 && keys[k].size > 64)
					rc = append(&b, "...");
				if (rc == 0 && ok)
					rc = append(&b, " @ %llu : %d", (unsigned long long)(k ? l.seq : s.seq), k ? l.type : s.type);
				if (rc == 0)
					rc = append(&b, k == 0 ? " .. " : "]\n");
			}
		}
	}
	return finish(&b, rc);
}

SHALE_EXPORT char *shale_property(shale_db *db, const char *name)
{
	if (db == NULL || name == NULL) {
		err_set(SHALE_EINVAL, "shale_property: NULL database or name");
		return NULL;
	}
	const char *p;
	if (strncmp(name, "shale.", 6) == 0)
		p = name + 6;
	else if (strncmp(name, "leveldb.", 8) == 0)
		p = name + 8;
	else
		return NULL;

	char *result = NULL;
	mutex_lock(&db->vs.mu);
	if (db_enter(db)) {
		db_unlock(db);
		return NULL;
	}
	if (strncmp(p, "num-files-at-level", 18) == 0) {
		char *end;
		const char *digits = p + 18;
		long level = strtol(digits, &end, 10);
		if (*digits >= '0' && *digits <= '9' && *end == '\0' && level >= 0 && level < NUM_LEVELS) {
			char tmp[32];
			snprintf(tmp, sizeof(tmp), "%d", db->vs.current->nfiles[level]);
			result = strdup(tmp);
		}
	} else if (strcmp(p, "stats") == 0) {
		result = stats(db);
	} else if (strcmp(p, "sstables") == 0) {
		result = sstables(db);
	} else if (strcmp(p, "approximate-memory-usage") == 0) {
		size_t total = memtable_memory_usage(db->mem) + memtable_filter_memory(db->mem);
		if (db->imm)
			total += memtable_memory_usage(db->imm) + memtable_filter_memory(db->imm);
		total += cache_total_charge(db->block_cache);
		total += table_cache_memory_usage(db->table_cache);
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%zu", total);
		result = strdup(tmp);
	}
	db_leave(db);
	db_unlock(db);
	return result;
}

SHALE_EXPORT int shale_approximate_sizes(shale_db *db, int n, const void *const *starts, const size_t *start_lens,
                                         const void *const *limits, const size_t *limit_lens, uint64_t *sizes)
{
	if (db == NULL || n < 0 || (n > 0 && (starts == NULL || start_lens == NULL || limits == NULL ||
	                                      limit_lens == NULL || sizes == NULL)))
		return err_set(SHALE_EINVAL, "shale_approximate_sizes: NULL argument");
	mutex_lock(&db->vs.mu);
	int rc = db_enter(db);
	if (rc) {
		db_unlock(db);
		return rc;
	}
	struct version *v = db->vs.current;
	version_ref(&db->vs, v);
	db_unlock(db);

	struct buf k = BUF_INIT;
	for (int i = 0; rc == 0 && i < n; i++) {
		uint64_t a = 0, b = 0;
		rc = ikey_append(&k, slice_make(starts[i], start_lens[i]), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK);
		if (rc == 0)
			a = version_approximate_offset(v, buf_slice(&k));
		buf_clear(&k);
		if (rc == 0)
			rc = ikey_append(&k, slice_make(limits[i], limit_lens[i]), IKEY_SEQ_MAX, IKEY_TYPE_FOR_SEEK);
		if (rc == 0)
			b = version_approximate_offset(v, buf_slice(&k));
		buf_clear(&k);
		sizes[i] = b > a ? b - a : 0;
	}
	buf_free(&k);
	mutex_lock(&db->vs.mu);
	version_unref(&db->vs, v);
	db_leave(db);
	db_unlock(db);
	return rc;
}
