#include "lib/util/logger.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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
	struct wfile *file;         /* (wmu) */
	struct buf out;             /* (wmu) the lines being written */
};

int logger_open(struct env *e, const char *dbdir, struct logger **out)
{
	char path[FNAME_MAX], old[FNAME_MAX];
	*out = NULL;
	fname_info_log(path, dbdir);
	fname_old_info_log(old, dbdir);
	if (env_exists(e, path)) {
		int rc = env_rename(e, path, old);
		if (rc)
			return rc;
	}
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
	int rc = env_open_write(e, path, &l->file);
	if (rc) {
		pthread_mutex_destroy(&l->wmu);
		pthread_mutex_destroy(&l->qmu);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void logger_close(struct logger *l)
{
	if (l == NULL)
		return;
	logger_flush(l);
	wfile_close(l->file);
	buf_free(&l->queue);
	buf_free(&l->out);
	pthread_mutex_destroy(&l->wmu);
	pthread_mutex_destroy(&l->qmu);
	free(l);
}

/* Formats "<timestamp> <thread> <text>\n" into line; returns its length. */
static size_t format_line(char *line, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static size_t format_line(char *line, size_t cap, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, cap, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %lx ", tm.tm_year + 1900, tm.tm_mon + 1,
	                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec,
	                 (unsigned long)pthread_self());
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
	va_list ap;
	va_start(ap, fmt);
	size_t len = format_line(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&l->qmu);
	if (l->queue.len + len > LOGGER_QUEUE_MAX || buf_append(&l->queue, line, len) != 0)
		l->dropped++;
	else
		atomic_store_explicit(&l->pending, 1, memory_order_release);
	pthread_mutex_unlock(&l->qmu);
}

void logger_flush(struct logger *l)
{
	if (l == NULL || !atomic_load_explicit(&l->pending, memory_order_acquire))
		return;
	pthread_mutex_lock(&l->wmu);
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

	/* Errors are dropped: the info log never fails a database operation,
	 * and never replaces the calling thread's message of a real failure. */
	char saved[ERR_MSG_MAX];
	err_copy(saved, sizeof(saved));
	int rc = l->out.len ? wfile_append(l->file, l->out.data, l->out.len) : 0;
	if (rc == 0 && dropped) {
		char note[96];
		int n = snprintf(note, sizeof(note), "(%llu info-log lines dropped: the queue was full)\n",
		                 (unsigned long long)dropped);
		rc = wfile_append(l->file, note, (size_t)n);
	}
	if (rc == 0)
		rc = wfile_flush(l->file);
	if (rc)
		err_restore(0, saved);
	l->out.len = 0;
	pthread_mutex_unlock(&l->wmu);
}
