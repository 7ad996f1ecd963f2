#include "tools/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int enabled;
static int shown;
static double last_draw;
static pthread_mutex_t draw_mu = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(void)
{
	enabled = isatty(STDERR_FILENO);
}

int progress_enabled(void)
{
	return enabled;
}

static void draw(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void draw(const char *fmt, va_list ap)
{
	fputs("\r", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr);
	fflush(stderr);
	shown = 1;
}

void progress_show(const char *fmt, ...)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&draw_mu);
	double t = now_s();
	if (!shown || t - last_draw >= 0.1) {
		last_draw = t;
		va_list ap;
		va_start(ap, fmt);
		draw(fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&draw_mu);
}

void progress_done(void)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&draw_mu);
	if (shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		shown = 0;
	}
	pthread_mutex_unlock(&draw_mu);
}

static void *tick(void *arg)
{
	struct ticker *t = arg;
	double start = now_s();
	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		progress_show("%s: %.0f s", t->label, now_s() - start);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&t->cv, &t->mu, &until);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

void ticker_start(struct ticker *t, const char *label)
{
	t->running = 0;
	t->stop = 0;
	t->label = label;
	if (!enabled)
		return;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (pthread_create(&t->thread, NULL, tick, t) == 0) {
		t->running = 1;
	} else {
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
	}
}

void ticker_stop(struct ticker *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	t->running = 0;
	progress_done();
}
