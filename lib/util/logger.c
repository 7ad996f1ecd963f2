#include "lib/util/logger.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "lib/util/buf.h"
#include "lib/util/error.h"
#include "lib/util/filename.h"

/*
 * Two locks: qmu guards the queue and is held only to append or to take the
 * whole queue; wmu serialises the writers, so lines reach the file in the
 * order they were queued while a thread queuing a line never waits for a
 * write(2).
 */
struct logger {
	pthread_mutex_t qmu;
	struct buf queue;           /* (qmu) formatted lines not yet written */
	uint64_t dropped;           /* (qmu) lines lost to a full queue */
	atomic_int pending;         /* queue non-empty: lets logger_flush skip the locks */
	pthread_mutex_t wmu;
	struct wfile *file;         /* (wmu) the sink: a file, */
	void (*fn)(void *state, const char *line); /* (wmu) or a callback, */
	void *state;                /* or neither yet (lines wait in the queue) */
	int callback;               /* (qmu) lines are queued without their timestamp */
	struct buf out;             /* (wmu) the lines being written */
};

static int flush_once(struct logger *l);

int logger_create(struct logger **out)
{
	*out = NULL;
	struct logger *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return err_nomem("info log");
	buf_init(&l->queue);
	buf_init(&l->out);
	atomic_init(&l->pending, 0);
	if (pthread_mutex_init(&l->qmu, NULL) != 0) {
		free(l);
		return err_nomem("info log mutex");
	}
	if (pthread_mutex_init(&l->wmu, NULL) != 0) {
		pthread_mutex_destroy(&l->qmu);
		free(l);
		return err_nomem("info log mutex");
	}
	*out = l;
	return 0;
}

int logger_attach_file(struct logger *l, struct env *e, const char *dbdir)
{
	char path[FNAME_MAX], old[FNAME_MAX];
	fname_info_log(path, dbdir);
	fname_old_info_log(old, dbdir);
	if (env_exists(e, path)) {
		int rc = env_rename(e, path, old);
		if (rc)
			return rc;
	}
	struct wfile *f = NULL;
	int rc = env_open_write(e, path, &f);
	if (rc)
		return rc;
	pthread_mutex_lock(&l->wmu);
	l->file = f;
	pthread_mutex_unlock(&l->wmu);
	logger_flush(l);
	return 0;
}

void logger_attach_callback(struct logger *l, void (*fn)(void *state, const char *line), void *state)
{
	pthread_mutex_lock(&l->wmu);
	l->fn = fn;
	l->state = state;
	pthread_mutex_unlock(&l->wmu);
	pthread_mutex_lock(&l->qmu);
	l->callback = 1;
	pthread_mutex_unlock(&l->qmu);
}

int logger_open(struct env *e, const char *dbdir, struct logger **out)
{
	int rc = logger_create(out);
	if (rc == 0 && (rc = logger_attach_file(*out, e, dbdir)) != 0) {
		logger_close(*out);
		*out = NULL;
	}
	return rc;
}

void logger_close(struct logger *l)
{
	if (l == NULL)
		return;
	/* (nobody else flushes any more: wait for the lock, whoever held it) */
	while (atomic_load_explicit(&l->pending, memory_order_acquire)) {
		pthread_mutex_lock(&l->wmu);
		if (!flush_once(l))
			break;
	}
	if (l->file) {
		char saved[ERR_MSG_MAX];
		err_copy(saved, sizeof(saved));
		if (wfile_close(l->file) != 0)
			err_restore(0, saved);
	}
	buf_free(&l->queue);
	buf_free(&l->out);
	pthread_mutex_destroy(&l->wmu);
	pthread_mutex_destroy(&l->qmu);
	free(l);
}

/* Formats "<timestamp> <thread> <text>\n" (or "<text>\n" for a callback)
 * into line; returns its length. */
static size_t format_line(char *line, size_t cap, int stamp, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static size_t format_line(char *line, size_t cap, int stamp, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	int n = 0;
	if (stamp) {
		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		n = snprintf(line, cap, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %lx ", tm.tm_year + 1900, tm.tm_mon + 1,
		             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec,
		             (unsigned long)pthread_self());
	}
	int m = vsnprintf(line + n, cap - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > cap - 2)
		len = cap - 2;
	if (len == 0 || line[len - 1] != '\n')
		line[len++] = '\n';
	return len;
}

void logger_printf(struct logger *l, const char *fmt, ...)
{
	if (l == NULL)
		return;
	char line[1024];
	pthread_mutex_lock(&l->qmu);
	int stamp = !l->callback;
	pthread_mutex_unlock(&l->qmu);
	va_list ap;
	va_start(ap, fmt);
	size_t len = format_line(line, sizeof(line), stamp, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&l->qmu);
	if (l->queue.len + len > LOGGER_QUEUE_MAX || buf_append(&l->queue, line, len) != 0)
		l->dropped++;
	else
		atomic_store_explicit(&l->pending, 1, memory_order_release);
	pthread_mutex_unlock(&l->qmu);
}

/* Hands the lines in out (each ending with a newline) to the callback.
 * REQUIRES: wmu. */
static void call_back(struct logger *l)
{
	char *p = l->out.data, *end = p + l->out.len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		*nl = '\0';
		l->fn(l->state, p);
		p = nl + 1;
	}
}

void logger_flush(struct logger *l)
{
	if (l == NULL)
		return;
	/* One flusher at a time, and it goes round until the queue is empty: a
	 * thread that finds another flushing leaves its lines to it, and so does
	 * a callback that calls into the database (whose unlock flushes the log
	 * again on this very thread: waiting for wmu there would never end). */
	while (atomic_load_explicit(&l->pending, memory_order_acquire)) {
		if (pthread_mutex_trylock(&l->wmu) != 0)
			return;
		if (!flush_once(l))
			return;
	}
}

/* Writes out the queue. REQUIRES: wmu, which it releases. 0 when there is
 * no sink yet (the lines wait). */
static int flush_once(struct logger *l)
{
	if (l->file == NULL && l->fn == NULL) {
		pthread_mutex_unlock(&l->wmu); /* no sink yet: the lines wait */
		return 0;
	}
	pthread_mutex_lock(&l->qmu);
	/* take the whole queue: swap buffers, so nothing is copied */
	struct buf taken = l->queue;
	l->queue = l->out;
	l->queue.len = 0;
	l->out = taken;
	uint64_t dropped = l->dropped;
	l->dropped = 0;
	atomic_store_explicit(&l->pending, 0, memory_order_relaxed);
	pthread_mutex_unlock(&l->qmu);

	if (dropped) {
		char note[96];
		int n = snprintf(note, sizeof(note), "(%llu info-log lines dropped: the queue was full)\n",
		                 (unsigned long long)dropped);
		if (buf_append(&l->out, note, (size_t)n) != 0)
			l->out.len = 0;
	}
	if (l->fn) {
		call_back(l);
	} else if (l->out.len) {
		/* Errors are dropped: the info log never fails a database operation,
		 * and never replaces the calling thread's message of a real failure. */
		char saved[ERR_MSG_MAX];
		err_copy(saved, sizeof(saved));
		int rc = wfile_append(l->file, l->out.data, l->out.len);
		if (rc == 0)
			rc = wfile_flush(l->file);
		if (rc)
			err_restore(0, saved);
	}
	l->out.len = 0;
	pthread_mutex_unlock(&l->wmu);
	return 1;
}
