/*
 * The POSIX file layer. Every descriptor is opened O_CLOEXEC; every read and
 * write retries EINTR and loops on short transfers; writes are buffered and
 * synced with fdatasync; LOCK uses an open-file-description lock (F_OFD_SETLK),
 * which conflicts with a second lock from this process as well as from
 * another one, and with LevelDB's classic fcntl lock.
 */
#include "lib/util/env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/error.h"
#include "lib/util/thread.h"
#include "lib/util/worker.h"

#define WFILE_BUF (64 * 1024)

struct posix_env {
	struct env base;
	int mmap_reads;
	int heap; /* allocated by env_posix_create */
	/* prepares mapped logs' pages ahead of their appends (below); NULL when
	 * there is nothing to gain (one CPU, mapped I/O off, the default env) */
	struct worker *helper;
	atomic_uint_least64_t prepared; /* bytes the helper prepared (for tests) */
};

static char *dup_path(const char *path)
{
	return strdup(path);
}

/* ---- sequential files ---- */

struct posix_seq {
	struct seq_file base;
	int fd;
	char *path;
};

static int seq_read(struct seq_file *f, size_t n, char *scratch, struct slice *out)
{
	struct posix_seq *s = (struct posix_seq *)f;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(s->fd, scratch + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(errno, "read", s->path);
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out = slice_make(scratch, got);
	return 0;
}

static int seq_skip(struct seq_file *f, uint64_t n)
{
	struct posix_seq *s = (struct posix_seq *)f;
	if (lseek(s->fd, (off_t)n, SEEK_CUR) < 0)
		return err_errno(errno, "lseek", s->path);
	return 0;
}

static void seq_close(struct seq_file *f)
{
	struct posix_seq *s = (struct posix_seq *)f;
	close(s->fd);
	free(s->path);
	free(s);
}

static const struct seq_file_ops posix_seq_ops = { seq_read, seq_skip, seq_close };

static int px_open_seq(struct env *e, const char *path, struct seq_file **out)
{
	(void)e;
	*out = NULL;
	struct posix_seq *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = dup_path(path)) == NULL) {
		free(s);
		return err_nomem("sequential file");
	}
	do {
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
	} while (s->fd < 0 && errno == EINTR);
	if (s->fd < 0) {
		int rc = err_errno(errno, "open", path);
		free(s->path);
		free(s);
		return rc;
	}
	s->base.ops = &posix_seq_ops;
	*out = &s->base;
	return 0;
}

/* ---- random-access files ---- */

struct posix_rand {
	struct rand_file base;
	int fd;            /* -1 when mapped */
	char *map;
	size_t map_len;
	char *path;
};

static int rand_pread(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	struct posix_rand *r = (struct posix_rand *)f;
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(r->fd, scratch + got, n - got, (off_t)(off + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(errno, "pread", r->path);
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	*out = slice_make(scratch, got);
	return 0;
}

static int rand_mapped(struct rand_file *f, uint64_t off, size_t n, char *scratch, struct slice *out)
{
	struct posix_rand *r = (struct posix_rand *)f;
	(void)scratch;
	if (off >= r->map_len) {
		*out = slice_make(r->map, 0);
		return 0;
	}
	if (n > r->map_len - off)
		n = r->map_len - (size_t)off;
	*out = slice_make(r->map + off, n);
	return 0;
}

static void rand_prefetch(struct rand_file *f, uint64_t off, size_t n)
{
	struct posix_rand *r = (struct posix_rand *)f;
	if (off >= r->map_len)
		return;
	if (n > r->map_len - off)
		n = r->map_len - (size_t)off;
	for (size_t i = 0; i < n; i += 64)
		__builtin_prefetch(r->map + off + i);
}

static void rand_close(struct rand_file *f)
{
	struct posix_rand *r = (struct posix_rand *)f;
	if (r->map)
		munmap(r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r);
}

static const struct rand_file_ops posix_rand_ops = { rand_pread, rand_close, NULL };
static const struct rand_file_ops posix_mapped_ops = { rand_mapped, rand_close, rand_prefetch };

static int px_open_rand(struct env *e, const char *path, struct rand_file **out)
{
	struct posix_env *pe = (struct posix_env *)e;
	*out = NULL;
	struct posix_rand *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->path = dup_path(path)) == NULL) {
		free(r);
		return err_nomem("random-access file");
	}
	do {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
	} while (r->fd < 0 && errno == EINTR);
	if (r->fd < 0) {
		int rc = err_errno(errno, "open", path);
		free(r->path);
		free(r);
		return rc;
	}
	r->base.ops = &posix_rand_ops;
	if (pe->mmap_reads) {
		struct stat st;
		if (fstat(r->fd, &st) == 0 && st.st_size > 0) {
			void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, r->fd, 0);
			if (m != MAP_FAILED) {
				/* the mapping keeps the file alive; the descriptor is not needed */
				r->map = m;
				r->map_len = (size_t)st.st_size;
				close(r->fd);
				r->fd = -1;
				r->base.ops = &posix_mapped_ops;
				r->base.mapped = 1;
			}
		}
	}
	*out = &r->base;
	return 0;
}

/* ---- writable files ---- */

struct posix_wfile {
	struct wfile base;
	int fd;
	size_t len; /* buffered bytes */
	char *path;
	char buf[WFILE_BUF];
};

static int write_all(struct posix_wfile *w, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(errno, "write", w->path);
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* fdatasync, retried after EINTR. */
static int sync_fd(int fd, const char *path)
{
	while (fdatasync(fd) != 0) {
		if (errno != EINTR)
			return err_errno(errno, "fdatasync", path);
	}
	return 0;
}

static int wf_flush_buffer(struct posix_wfile *w)
{
	int rc = write_all(w, w->buf, w->len);
	/* On failure the bytes are dropped: the caller must treat the file as
	 * broken (the WAL and MANIFEST writers make that error sticky). */
	w->len = 0;
	return rc;
}

static int wf_append(struct wfile *f, const char *data, size_t n)
{
	struct posix_wfile *w = (struct posix_wfile *)f;
	size_t room = WFILE_BUF - w->len;
	size_t take = n < room ? n : room;
	memcpy(w->buf + w->len, data, take);
	w->len += take;
	data += take;
	n -= take;
	if (n == 0)
		return 0;
	int rc = wf_flush_buffer(w);
	if (rc)
		return rc;
	if (n < WFILE_BUF) {
		memcpy(w->buf, data, n);
		w->len = n;
		return 0;
	}
	return write_all(w, data, n);
}

static int wf_flush(struct wfile *f)
{
	return wf_flush_buffer((struct posix_wfile *)f);
}

static int wf_sync(struct wfile *f)
{
	struct posix_wfile *w = (struct posix_wfile *)f;
	int rc = wf_flush_buffer(w);
	return rc ? rc : sync_fd(w->fd, w->path);
}

static int wf_close(struct wfile *f)
{
	struct posix_wfile *w = (struct posix_wfile *)f;
	int rc = wf_flush_buffer(w);
	/* close() after EINTR must not be retried on Linux: the descriptor is gone. */
	if (close(w->fd) != 0 && errno != EINTR && rc == 0)
		rc = err_errno(errno, "close", w->path);
	free(w->path);
	free(w);
	return rc;
}

static const struct wfile_ops posix_wfile_ops = { wf_append, wf_flush, wf_sync, wf_close };

static int open_writable(const char *path, int flags, struct wfile **out)
{
	*out = NULL;
	struct posix_wfile *w = malloc(sizeof(*w));
	if (w == NULL || (w->path = dup_path(path)) == NULL) {
		free(w);
		return err_nomem("writable file");
	}
	do {
		w->fd = open(path, flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	} while (w->fd < 0 && errno == EINTR);
	if (w->fd < 0) {
		int rc = err_errno(errno, "open for writing", path);
		free(w->path);
		free(w);
		return rc;
	}
	w->len = 0;
	w->base.ops = &posix_wfile_ops;
	*out = &w->base;
	return 0;
}

static int px_open_write(struct env *e, const char *path, struct wfile **out)
{
	(void)e;
	return open_writable(path, O_TRUNC, out);
}

static int px_open_append(struct env *e, const char *path, struct wfile **out)
{
	(void)e;
	return open_writable(path, O_APPEND, out);
}

/* ---- mapped log files ----
 *
 * A log appended through a shared mapping: an append is a memcpy into the
 * page cache, so it survives a crash of the process with no system call.
 * Space is reserved with fallocate a chunk at a time before it is mapped, so
 * a full disk is an ENOSPC from fallocate, never a SIGBUS on a store. close
 * cuts the file back to its data; after a crash it ends in the reserved
 * zeros, which log readers take as the end (doc/format.md, "Log files").
 *
 * A chunk is LOG_CHUNK, or less for a log expected to stay small (the
 * caller's hint: a WAL grows to about the write buffer): the smallest power
 * of two at least the hint, and never less than LOG_CHUNK_MIN (a multiple of
 * every page size, as a mapping's offset must be). Reserving, preparing and
 * at close cutting back a MiB for a log of a few KiB cost a database with a
 * tiny write buffer most of its time (the fuzz model's replay: 54 s of 68 in
 * the kernel, a quarter of it populating pages no record reached). */

#define LOG_CHUNK (1u << 20)
#define LOG_CHUNK_MIN (64u << 10)

/* Pages prepared ahead. The first store into each page of a fresh mapping
 * faults, and the kernel then allocates the page, zeroes it and marks the
 * reserved block written: about 4 us a page here, 110-150 ns of every
 * 130-byte WAL record (a tenth of a put). MADV_POPULATE_WRITE does the same
 * work for a whole range without storing anything; the env's helper thread
 * does it for the window after the one the append is in, so the writer
 * finds its pages ready (14 ns a record). A hint: a window the helper has
 * not reached is faulted by the writer as before, and a failed madvise
 * changes nothing (the space is reserved; the zeros are the file's). The
 * cost: at most a window of zeros past the data is dirty when the log is
 * synced, and is written with it. */
#define LOG_WINDOW ((size_t)128 << 10)

struct posix_log {
	struct wfile base;
	int fd;
	char *path;
	char *map;        /* the chunk being filled, or NULL */
	uint64_t map_off; /* its offset in the file */
	size_t chunk;     /* the chunk's size (LOG_CHUNK or less) */
	size_t window;    /* a window prepared ahead: LOG_WINDOW, at most a chunk */
	size_t used;      /* bytes of it written */
	int broken;       /* a chunk could not be reserved or mapped */
	/* preparing ahead (LOG_WINDOW): */
	struct worker *helper;     /* the env's, or NULL: none */
	atomic_uint_least64_t *prepared; /* the env's count */
	struct worker_job prepare; /* populates map[prep_off, + window) */
	size_t prep_off;           /* written only while prep_busy is 0 */
	size_t next_window;        /* the next window of the chunk to hand over */
	atomic_int prep_busy;      /* set by the writer, cleared by the job (2: no more) */
};

static void prepare_run(struct worker_job *job)
{
	struct posix_log *l = (struct posix_log *)((char *)job - offsetof(struct posix_log, prepare));
	int busy = 0;
#ifdef MADV_POPULATE_WRITE
	if (madvise(l->map + l->prep_off, l->window, MADV_POPULATE_WRITE) == 0)
		atomic_fetch_add_explicit(l->prepared, l->window, memory_order_relaxed);
	else if (errno == EINVAL)
		busy = 2; /* a kernel without it (before 5.14): no more windows of this chunk */
#endif
	/* release: the writer may hand over the next window once it sees 0 */
	atomic_store_explicit(&l->prep_busy, busy, memory_order_release);
}

/* Hands the helper the window after the one the append is in, if it is idle. */
static void prepare_ahead(struct posix_log *l)
{
	while (l->next_window < l->chunk && l->used >= l->next_window)
		l->next_window += l->window; /* the append got there first */
	if (l->next_window >= l->chunk || l->used + l->window < l->next_window)
		return; /* the chunk is handed over, or the append is not near yet */
	/* acquire: the job's last read of prep_off happened before its store of 0 */
	if (atomic_load_explicit(&l->prep_busy, memory_order_acquire))
		return; /* still on the last one: ask again at the next append */
	l->prep_off = l->next_window;
	atomic_store_explicit(&l->prep_busy, 1, memory_order_relaxed);
	if (worker_submit(l->helper, &l->prepare) != 0) {
		atomic_store_explicit(&l->prep_busy, 0, memory_order_relaxed);
		l->helper = NULL; /* no thread: the appends fault their pages in */
		return;
	}
	l->next_window += l->window;
}

/* Before the chunk is unmapped: no window of it is prepared any more. */
static void prepare_stop(struct posix_log *l)
{
	if (l->helper)
		worker_cancel(l->helper, &l->prepare);
	atomic_store_explicit(&l->prep_busy, 0, memory_order_relaxed);
}

static int fallocate_chunk(int fd, uint64_t off, size_t len)
{
	int r;
	do {
		r = fallocate(fd, 0, (off_t)off, (off_t)len);
	} while (r != 0 && errno == EINTR);
	return r == 0 ? 0 : errno;
}

/* Unmaps the full chunk, maps the next one (reserved already) and reserves
 * the one after it: the file always runs at least a chunk past the data,
 * so a record cut short by a crash is always followed by zeros.
 *
 * The full chunk's pages are also handed to the disk now (writeback started,
 * not waited for). The DB syncs a WAL when it switches to the next one
 * (lib/db/db_write.c); without this, that sync found the whole log dirty and
 * the writer waited 8-12 ms for it at every switch; now the disk has had a
 * chunk's time for all but the last chunk. The same bytes reach the disk
 * either way, and an error of that writeback is the sync's to report
 * (sync_file_range without its wait flags neither waits nor reports). */
static int log_next_chunk(struct posix_log *l)
{
	uint64_t off = l->map ? l->map_off + l->chunk : 0;
	if (l->map) {
		prepare_stop(l);
		munmap(l->map, l->chunk);
		l->map = NULL;
#ifdef SYNC_FILE_RANGE_WRITE
		(void)sync_file_range(l->fd, (off_t)l->map_off, (off_t)l->chunk, SYNC_FILE_RANGE_WRITE);
#endif
	}
	int err = fallocate_chunk(l->fd, off + l->chunk, l->chunk);
	if (err) {
		l->broken = 1;
		return err_errno(err, "fallocate", l->path);
	}
	void *m = mmap(NULL, l->chunk, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, (off_t)off);
	if (m == MAP_FAILED) {
		l->broken = 1;
		return err_errno(errno, "mmap", l->path);
	}
	l->map = m;
	l->map_off = off;
	l->used = 0;
	l->next_window = l->window;
	if (l->helper)
		prepare_ahead(l);
	return 0;
}

static int log_append(struct wfile *f, const char *data, size_t n)
{
	struct posix_log *l = (struct posix_log *)f;
	while (n > 0) {
		if (l->broken)
			return err_set(SHALE_EIO, "%s: an earlier append failed", l->path);
		if (l->used == l->chunk) {
			int rc = log_next_chunk(l);
			if (rc)
				return rc;
		}
		size_t take = l->chunk - l->used;
		if (take > n)
			take = n;
		memcpy(l->map + l->used, data, take);
		l->used += take;
		data += take;
		n -= take;
	}
	if (l->helper)
		prepare_ahead(l);
	return 0;
}

static int log_flush(struct wfile *f)
{
	(void)f; /* the bytes are in the page cache already */
	return 0;
}

static int log_sync(struct wfile *f)
{
	struct posix_log *l = (struct posix_log *)f;
	/* fdatasync writes back the pages stores dirtied through the mapping */
	return sync_fd(l->fd, l->path);
}

static int log_close(struct wfile *f)
{
	struct posix_log *l = (struct posix_log *)f;
	int rc = 0;
	uint64_t len = l->map_off + l->used;
	if (l->map) {
		prepare_stop(l);
		munmap(l->map, l->chunk);
	}
	/* Not synced: zeros left by a crash before the size reaches the disk
	 * are the end of the log to every reader. */
	while (ftruncate(l->fd, (off_t)len) != 0) {
		if (errno != EINTR) {
			rc = err_errno(errno, "ftruncate", l->path);
			break;
		}
	}
	if (close(l->fd) != 0 && errno != EINTR && rc == 0)
		rc = err_errno(errno, "close", l->path);
	free(l->path);
	free(l);
	return rc;
}

static const struct wfile_ops posix_log_ops = { log_append, log_flush, log_sync, log_close };

/* The chunk for a log expected to reach about `expect` bytes (0: unknown). */
static size_t log_chunk_for(uint64_t expect)
{
	if (expect == 0)
		return LOG_CHUNK;
	size_t c = LOG_CHUNK_MIN;
	while (c < LOG_CHUNK && c < expect)
		c *= 2;
	return c;
}

static int px_open_log(struct env *e, const char *path, uint64_t expect, struct wfile **out)
{
	struct posix_env *pe = (struct posix_env *)e;
	*out = NULL;
	if (!pe->mmap_reads)
		return open_writable(path, O_TRUNC, out);
	struct posix_log *l = calloc(1, sizeof(*l));
	if (l == NULL || (l->path = dup_path(path)) == NULL) {
		free(l);
		return err_nomem("log file");
	}
	l->helper = pe->helper;
	l->prepared = &pe->prepared;
	l->chunk = log_chunk_for(expect);
	l->window = l->chunk < LOG_WINDOW ? l->chunk : LOG_WINDOW;
	worker_job_init(&l->prepare, prepare_run);
	atomic_init(&l->prep_busy, 0);
	do {
		l->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	} while (l->fd < 0 && errno == EINTR);
	if (l->fd < 0) {
		int rc = err_errno(errno, "open for writing", path);
		free(l->path);
		free(l);
		return rc;
	}
	int err = fallocate_chunk(l->fd, 0, l->chunk);
	if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL) {
		/* a file system without fallocate: plain writes */
		close(l->fd);
		free(l->path);
		free(l);
		return open_writable(path, O_TRUNC, out);
	}
	int rc = err ? err_errno(err, "fallocate", path) : 0;
	if (rc == 0)
		rc = log_next_chunk(l);
	if (rc) {
		close(l->fd);
		free(l->path);
		free(l);
		return rc;
	}
	l->base.ops = &posix_log_ops;
	*out = &l->base;
	return 0;
}

/* ---- directory and file operations ---- */

static int px_exists(struct env *e, const char *path)
{
	(void)e;
	return access(path, F_OK) == 0;
}

static int px_list_dir(struct env *e, const char *dir, char ***names, size_t *count)
{
	(void)e;
	*names = NULL;
	*count = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return err_errno(errno, "opendir", dir);
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *ent;
	errno = 0;
	while ((ent = readdir(d)) != NULL) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof(*nv));
			if (nv == NULL) {
				rc = err_nomem("directory listing");
				break;
			}
			v = nv;
			cap = ncap;
		}
		if ((v[n] = strdup(ent->d_name)) == NULL) {
			rc = err_nomem("directory listing");
			break;
		}
		n++;
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = err_errno(errno, "readdir", dir);
	closedir(d);
	if (rc) {
		env_free_names(v, n);
		return rc;
	}
	*names = v;
	*count = n;
	return 0;
}

static int px_remove(struct env *e, const char *path)
{
	(void)e;
	if (unlink(path) != 0)
		return err_errno(errno, "unlink", path);
	return 0;
}

static int px_mkdir(struct env *e, const char *path)
{
	(void)e;
	if (mkdir(path, 0755) != 0) {
		struct stat st;
		if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		return err_errno(errno, "mkdir", path);
	}
	return 0;
}

static int px_rmdir(struct env *e, const char *path)
{
	(void)e;
	if (rmdir(path) != 0)
		return err_errno(errno, "rmdir", path);
	return 0;
}

static int px_file_size(struct env *e, const char *path, uint64_t *size)
{
	(void)e;
	struct stat st;
	if (stat(path, &st) != 0) {
		*size = 0;
		return err_errno(errno, "stat", path);
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int px_truncate(struct env *e, const char *path, uint64_t size)
{
	(void)e;
	int r;
	do {
		r = truncate(path, (off_t)size);
	} while (r != 0 && errno == EINTR);
	if (r != 0)
		return err_errno(errno, "truncate", path);
	return 0;
}

static int px_rename(struct env *e, const char *from, const char *to)
{
	(void)e;
	if (rename(from, to) != 0)
		return err_errno(errno, "rename", from);
	return 0;
}

static int px_link(struct env *e, const char *from, const char *to)
{
	(void)e;
	if (link(from, to) != 0) {
		if (errno == EXDEV || errno == EPERM || errno == EMLINK)
			return err_set(SHALE_ENOTSUP, "cannot hard-link %s to %s: %s",
			               from, to, strerror(errno));
		return err_errno(errno, "link", from);
	}
	return 0;
}

static int px_sync_dir(struct env *e, const char *dir)
{
	(void)e;
	int fd;
	do {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return err_errno(errno, "open directory", dir);
	int rc = 0;
	while (fsync(fd) != 0) {
		if (errno != EINTR) {
			rc = err_errno(errno, "fsync directory", dir);
			break;
		}
	}
	close(fd);
	return rc;
}

struct file_lock {
	int fd;
	char *path;
};

static int px_lock(struct env *e, const char *path, struct file_lock **out)
{
	(void)e;
	*out = NULL;
	struct file_lock *l = malloc(sizeof(*l));
	if (l == NULL || (l->path = dup_path(path)) == NULL) {
		free(l);
		return err_nomem("lock");
	}
	do {
		l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	} while (l->fd < 0 && errno == EINTR);
	if (l->fd < 0) {
		int rc = err_errno(errno, "open lock file", path);
		free(l->path);
		free(l);
		return rc;
	}
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	int r;
	do {
		r = fcntl(l->fd, F_OFD_SETLK, &fl);
	} while (r != 0 && errno == EINTR);
	if (r != 0) {
		int rc;
		if (errno == EAGAIN || errno == EACCES)
			rc = err_set(SHALE_EBUSY, "%s: the database is locked by another process or handle", path);
		else
			rc = err_errno(errno, "lock", path);
		close(l->fd);
		free(l->path);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static int px_unlock(struct env *e, struct file_lock *l)
{
	(void)e;
	if (l == NULL)
		return 0;
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	int rc = 0;
	if (fcntl(l->fd, F_OFD_SETLK, &fl) != 0)
		rc = err_errno(errno, "unlock", l->path);
	close(l->fd); /* closing the description releases the lock in any case */
	free(l->path);
	free(l);
	return rc;
}

static uint64_t px_now_micros(struct env *e)
{
	(void)e;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void px_sleep_micros(struct env *e, uint64_t us)
{
	(void)e;
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void px_destroy(struct env *e)
{
	struct posix_env *pe = (struct posix_env *)e;
	if (pe->heap) {
		worker_destroy(pe->helper); /* (every log is closed: no job queued) */
		free(pe);
	}
}

static const struct env_ops posix_ops = {
	.open_seq = px_open_seq,
	.open_rand = px_open_rand,
	.open_write = px_open_write,
	.open_append = px_open_append,
	.open_log = px_open_log,
	.exists = px_exists,
	.list_dir = px_list_dir,
	.remove = px_remove,
	.mkdir = px_mkdir,
	.rmdir = px_rmdir,
	.file_size = px_file_size,
	.truncate = px_truncate,
	.rename = px_rename,
	.link = px_link,
	.sync_dir = px_sync_dir,
	.lock = px_lock,
	.unlock = px_unlock,
	.now_micros = px_now_micros,
	.sleep_micros = px_sleep_micros,
	.destroy = px_destroy,
};

/* Stateless and never written: sharing it is sharing constants, not state. */
static struct posix_env default_env = { { &posix_ops }, 0, 0, NULL, 0 };

struct env *env_posix_default(void)
{
	return &default_env.base;
}

uint64_t env_posix_prepared_bytes(struct env *e)
{
	return atomic_load_explicit(&((struct posix_env *)e)->prepared, memory_order_relaxed);
}

int env_posix_create(int mmap_reads, struct env **out)
{
	struct posix_env *pe = malloc(sizeof(*pe));
	*out = NULL;
	if (pe == NULL)
		return err_nomem("posix env");
	pe->base.ops = &posix_ops;
	pe->mmap_reads = mmap_reads;
	pe->heap = 1;
	pe->helper = NULL;
	atomic_init(&pe->prepared, 0);
#ifdef MADV_POPULATE_WRITE
	/* (its thread starts with the first window handed over) */
	if (mmap_reads && thread_cpus() >= 2 && worker_create(&pe->helper) != 0) {
		free(pe);
		return err_nomem("posix env");
	}
#endif
	*out = &pe->base;
	return 0;
}
