#include "lib/util/logger.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "lib/util/error.h"
#include "lib/util/filename.h"

struct logger {
	pthread_mutex_t mu;
	struct wfile *file; /* guarded by mu */
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
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		return err_nomem("info log mutex");
	}
	int rc = env_open_write(e, path, &l->file);
	if (rc) {
		pthread_mutex_destroy(&l->mu);
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
	wfile_close(l->file);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void logger_printf(struct logger *l, const char *fmt, ...)
{
	if (l == NULL)
		return;
	char line[1024];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %lx ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, (long)tv.tv_usec, (unsigned long)pthread_self());
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	if (len == 0 || line[len - 1] != '\n')
		line[len++] = '\n';
	pthread_mutex_lock(&l->mu);
	/* Errors are dropped: the info log never fails a database operation. */
	if (wfile_append(l->file, line, len) == 0)
		wfile_flush(l->file);
	pthread_mutex_unlock(&l->mu);
}
