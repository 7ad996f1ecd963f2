/* procstat.c: /proc readings for the comparison (see procstat.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include "config.h"

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "benchmarks/procstat.h"

/* The value of the first line of file that starts with field (which ends in
 * ':'), times scale; -1 when absent. */
static int64_t proc_field(const char *file, const char *field, int64_t scale)
{
	FILE *f = fopen(file, "r");
	char line[256];
	size_t n = strlen(field);
	int64_t v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, n) == 0) {
			long long x;
			if (sscanf(line + n, "%lld", &x) == 1)
				v = (int64_t)x * scale;
			break;
		}
	}
	fclose(f);
	return v;
}

int64_t proc_write_bytes(void)
{
	return proc_field("/proc/self/io", "write_bytes:", 1);
}

int64_t proc_rss_anon_bytes(void)
{
	return proc_field("/proc/self/status", "RssAnon:", 1024); /* in kB */
}

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int stop;     /* guarded by mu */
	int64_t peak; /* guarded by mu */
} g_sampler = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* REQUIRES: g_sampler.mu held. */
static void sample_locked(void)
{
	int64_t v = proc_rss_anon_bytes();

	if (v > g_sampler.peak)
		g_sampler.peak = v;
}

static void *sampler_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_sampler.mu);
	while (!g_sampler.stop) {
		struct timespec until;

		sample_locked();
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_nsec -= 1000 * 1000 * 1000;
			until.tv_sec++;
		}
		while (!g_sampler.stop &&
		       pthread_cond_timedwait(&g_sampler.cv, &g_sampler.mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&g_sampler.mu);
	return NULL;
}

int rss_sampler_start(void)
{
	g_sampler.stop = 0;
	g_sampler.peak = -1;
	return pthread_create(&g_sampler.thread, NULL, sampler_main, NULL) == 0 ? 0 : -1;
}

int64_t rss_sampler_stop(void)
{
	int64_t peak;

	pthread_mutex_lock(&g_sampler.mu);
	sample_locked();
	g_sampler.stop = 1;
	pthread_cond_signal(&g_sampler.cv);
	pthread_mutex_unlock(&g_sampler.mu);
	pthread_join(g_sampler.thread, NULL);
	pthread_mutex_lock(&g_sampler.mu);
	peak = g_sampler.peak;
	pthread_mutex_unlock(&g_sampler.mu);
	return peak;
}

static int64_t g_du; /* the sum dir_disk_bytes is adding up; nftw has no context */

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F || flag == FTW_D || flag == FTW_DP)
		g_du += (int64_t)st->st_blocks * 512;
	return 0;
}

int64_t dir_disk_bytes(const char *path)
{
	g_du = 0;
	if (nftw(path, add_entry, 16, FTW_PHYS) != 0)
		return -1;
	return g_du;
}
