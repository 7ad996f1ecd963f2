/*
 * The file layer. Every byte shale reads or writes goes through a struct env,
 * so tests can swap in the fault-injecting one (env_fault.h) to fail chosen
 * operations or simulate power loss.
 *
 * Contract shared by every backend:
 *  - Functions return 0 or a negative SHALE_E* code, with the thread's message
 *    naming the file and the operation (err_errno).
 *  - A missing file is SHALE_EIO with errno ENOENT in the message; callers that
 *    need to tell "missing" apart use env_exists() first.
 *  - File objects are used by one thread at a time, except rand_file, whose
 *    read is safe from many threads at once.
 *  - close/destroy accept NULL.
 *
 * Backends: env_posix.c (the real one) and env_fault.c (a wrapper for tests).
 */
#ifndef SHALE_UTIL_ENV_H
#define SHALE_UTIL_ENV_H

#include <stddef.h>
#include <stdint.h>
#include "lib/util/buf.h"
#include "lib/util/slice.h"

struct env;
struct seq_file;
struct rand_file;
struct wfile;
struct file_lock;

/* A sequentially read file (WAL and MANIFEST replay). */
struct seq_file_ops {
	/* Reads up to n bytes into scratch; *out points at what was read (size 0
	 * at end of file). */
	int (*read)(struct seq_file *f, size_t n, char *scratch, struct slice *out);
	int (*skip)(struct seq_file *f, uint64_t n);
	void (*close)(struct seq_file *f);
};
struct seq_file {
	const struct seq_file_ops *ops;
};

/* A file read at offsets (tables). read is thread-safe. A read past the end
 * returns fewer bytes, not an error. *out may point into scratch or into a
 * mapping that lives as long as the file object. */
struct rand_file_ops {
	int (*read)(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out);
	void (*close)(struct rand_file *f);
	/* Optional (may be NULL): a hint that [off, off + n) will be read soon;
	 * a mapped file asks the CPU to fetch it. Never fails, never blocks. */
	void (*prefetch)(struct rand_file *f, uint64_t off, size_t n);
};
struct rand_file {
	const struct rand_file_ops *ops;
	/* nonzero when reads return pointers into a mapping that outlives the
	 * call (the block reader may then avoid a copy) */
	int mapped;
};

/* An appendable, buffered file. flush hands buffered bytes to the OS; sync
 * also makes them durable (fdatasync). close flushes but does not sync. */
struct wfile_ops {
	int (*append)(struct wfile *f, const char *data, size_t n);
	int (*flush)(struct wfile *f);
	int (*sync)(struct wfile *f);
	int (*close)(struct wfile *f);
};
struct wfile {
	const struct wfile_ops *ops;
};

struct env_ops {
	int (*open_seq)(struct env *e, const char *path, struct seq_file **out);
	int (*open_rand)(struct env *e, const char *path, struct rand_file **out);
	/* Creates or truncates. */
	int (*open_write)(struct env *e, const char *path, struct wfile **out);
	/* Creates or appends at the end. */
	int (*open_append)(struct env *e, const char *path, struct wfile **out);
	/* Creates or truncates a log (a WAL). A backend may append through a
	 * shared mapping (env_posix with mmap on): then every append is in the
	 * OS's page cache when it returns, flush does nothing, and a crash can
	 * leave zeros after the data, which log readers take as its end.
	 * expect: about how large the log will grow (a WAL: the write buffer),
	 * 0 if unknown; a hint for how much space to reserve ahead, never a
	 * limit. */
	int (*open_log)(struct env *e, const char *path, uint64_t expect, struct wfile **out);
	/* 1 if the path exists, 0 if not. */
	int (*exists)(struct env *e, const char *path);
	/* Names of the entries in dir (not "." or ".."); *names is a malloc'd
	 * array of malloc'd strings, freed with env_free_names(). */
	int (*list_dir)(struct env *e, const char *dir, char ***names, size_t *count);
	int (*remove)(struct env *e, const char *path);
	/* Creates a directory; an existing one is fine. */
	int (*mkdir)(struct env *e, const char *path);
	int (*rmdir)(struct env *e, const char *path);
	int (*file_size)(struct env *e, const char *path, uint64_t *size);
	/* Cuts (or extends with zeros) the file at path to size bytes. */
	int (*truncate)(struct env *e, const char *path, uint64_t size);
	/* Atomically replaces to by from. Not durable until env_sync_dir(). */
	int (*rename)(struct env *e, const char *from, const char *to);
	/* Hard link; SHALE_ENOTSUP where links are impossible (other device). */
	int (*link)(struct env *e, const char *from, const char *to);
	/* Makes the directory's entries (creates, renames, removes) durable. */
	int (*sync_dir)(struct env *e, const char *dir);
	/* Exclusive lock on path (created if missing). A second lock of the same
	 * file, from this process or another, fails with SHALE_EBUSY. */
	int (*lock)(struct env *e, const char *path, struct file_lock **out);
	int (*unlock)(struct env *e, struct file_lock *lock);
	uint64_t (*now_micros)(struct env *e);
	void (*sleep_micros)(struct env *e, uint64_t us);
	void (*destroy)(struct env *e);
};
struct env {
	const struct env_ops *ops;
};

/* The POSIX file layer. env_posix_default() is a shared stateless instance
 * (never destroy it). env_posix_create() makes one with options: mmap_reads
 * makes rand_files map the whole file instead of using pread, and logs be
 * appended through a shared mapping instead of write(2). */
struct env *env_posix_default(void);
int env_posix_create(int mmap_reads, struct env **out);
/* Bytes of mapped logs' pages its helper thread prepared ahead of their
 * appends (env_posix.c, "mapped log files"); for tests. REQUIRES: an env of
 * env_posix_create or env_posix_default. */
uint64_t env_posix_prepared_bytes(struct env *e);

/* ---- call-through helpers ---- */
static inline int env_open_seq(struct env *e, const char *p, struct seq_file **o) { return e->ops->open_seq(e, p, o); }
static inline int env_open_rand(struct env *e, const char *p, struct rand_file **o) { return e->ops->open_rand(e, p, o); }
static inline int env_open_write(struct env *e, const char *p, struct wfile **o) { return e->ops->open_write(e, p, o); }
static inline int env_open_append(struct env *e, const char *p, struct wfile **o) { return e->ops->open_append(e, p, o); }
static inline int env_open_log(struct env *e, const char *p, uint64_t expect, struct wfile **o)
{
	return e->ops->open_log(e, p, expect, o);
}
static inline int env_exists(struct env *e, const char *p) { return e->ops->exists(e, p); }
static inline int env_list_dir(struct env *e, const char *d, char ***n, size_t *c) { return e->ops->list_dir(e, d, n, c); }
static inline int env_remove(struct env *e, const char *p) { return e->ops->remove(e, p); }
static inline int env_mkdir(struct env *e, const char *p) { return e->ops->mkdir(e, p); }
static inline int env_rmdir(struct env *e, const char *p) { return e->ops->rmdir(e, p); }
static inline int env_file_size(struct env *e, const char *p, uint64_t *s) { return e->ops->file_size(e, p, s); }
static inline int env_truncate(struct env *e, const char *p, uint64_t s) { return e->ops->truncate(e, p, s); }
static inline int env_rename(struct env *e, const char *f, const char *t) { return e->ops->rename(e, f, t); }
static inline int env_link(struct env *e, const char *f, const char *t) { return e->ops->link(e, f, t); }
static inline int env_sync_dir(struct env *e, const char *d) { return e->ops->sync_dir(e, d); }
static inline int env_lock(struct env *e, const char *p, struct file_lock **o) { return e->ops->lock(e, p, o); }
static inline int env_unlock(struct env *e, struct file_lock *l) { return e->ops->unlock(e, l); }
static inline uint64_t env_now_micros(struct env *e) { return e->ops->now_micros(e); }
static inline void env_sleep_micros(struct env *e, uint64_t us) { e->ops->sleep_micros(e, us); }
static inline void env_destroy(struct env *e) { if (e) e->ops->destroy(e); }

static inline int seq_file_read(struct seq_file *f, size_t n, char *scratch, struct slice *out) { return f->ops->read(f, n, scratch, out); }
static inline int seq_file_skip(struct seq_file *f, uint64_t n) { return f->ops->skip(f, n); }
static inline void seq_file_close(struct seq_file *f) { if (f) f->ops->close(f); }
static inline int rand_file_read(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out) { return f->ops->read(f, off, n, scratch, out); }
static inline void rand_file_close(struct rand_file *f) { if (f) f->ops->close(f); }
static inline int wfile_append(struct wfile *f, const char *d, size_t n) { return f->ops->append(f, d, n); }
static inline int wfile_flush(struct wfile *f) { return f->ops->flush(f); }
static inline int wfile_sync(struct wfile *f) { return f->ops->sync(f); }
/* Closes and frees f; returns the close's result. NULL is a no-op (0). */
static inline int wfile_close(struct wfile *f) { return f ? f->ops->close(f) : 0; }

void env_free_names(char **names, size_t count);

/* Reads a whole (small) file into b (replacing its contents). */
int env_read_file(struct env *e, const char *path, struct buf *b);
/* Writes data to path (truncating), optionally synced before close. */
int env_write_file(struct env *e, const char *path, const void *data, size_t n, int sync);
/* The directory part of path ("." when it has none) in out (cap bytes). */
void env_dirname(const char *path, char *out, size_t cap);

#endif
