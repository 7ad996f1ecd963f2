#include "lib/util/thread.h"

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/error.h"

int mutex_init(struct mutex *mu)
{
	int rc = pthread_mutex_init(&mu->m, NULL);
	if (rc)
		return err_errno(rc, "pthread_mutex_init", NULL);
#ifndef NDEBUG
	atomic_init(&mu->held, 0);
#endif
	return 0;
}

void mutex_destroy(struct mutex *mu)
{
	pthread_mutex_destroy(&mu->m);
}

/* (the analysis cannot see into pthreads) */
void mutex_lock(struct mutex *mu) SHALE_NO_TSA
{
	int rc = pthread_mutex_lock(&mu->m);
	assert(rc == 0);
	(void)rc;
#ifndef NDEBUG
	atomic_store_explicit(&mu->owner, pthread_self(), memory_order_relaxed);
	atomic_store_explicit(&mu->held, 1, memory_order_relaxed);
#endif
}

void mutex_unlock(struct mutex *mu) SHALE_NO_TSA
{
#ifndef NDEBUG
	atomic_store_explicit(&mu->held, 0, memory_order_relaxed);
#endif
	int rc = pthread_mutex_unlock(&mu->m);
	assert(rc == 0);
	(void)rc;
}

#ifndef NDEBUG
void mutex_assert_held(struct mutex *mu) SHALE_NO_TSA
{
	assert(atomic_load_explicit(&mu->held, memory_order_relaxed));
	assert(pthread_equal(atomic_load_explicit(&mu->owner, memory_order_relaxed), pthread_self()));
}
#endif

int cond_init(struct condvar *cv)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc == 0)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&cv->c, &attr);
	pthread_condattr_destroy(&attr);
	if (rc)
		return err_errno(rc, "pthread_cond_init", NULL);
	return 0;
}

void cond_destroy(struct condvar *cv)
{
	pthread_cond_destroy(&cv->c);
}

void cond_wait(struct condvar *cv, struct mutex *mu)
{
#ifndef NDEBUG
	atomic_store_explicit(&mu->held, 0, memory_order_relaxed);
#endif
	pthread_cond_wait(&cv->c, &mu->m);
#ifndef NDEBUG
	atomic_store_explicit(&mu->owner, pthread_self(), memory_order_relaxed);
	atomic_store_explicit(&mu->held, 1, memory_order_relaxed);
#endif
}

uint64_t thread_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cond_timedwait(struct condvar *cv, struct mutex *mu, uint64_t timeout_us)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (timeout_us % 1000000) * 1000;
	ts.tv_sec += (time_t)(timeout_us / 1000000 + ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
#ifndef NDEBUG
	atomic_store_explicit(&mu->held, 0, memory_order_relaxed);
#endif
	int rc = pthread_cond_timedwait(&cv->c, &mu->m, &ts);
#ifndef NDEBUG
	atomic_store_explicit(&mu->owner, pthread_self(), memory_order_relaxed);
	atomic_store_explicit(&mu->held, 1, memory_order_relaxed);
#endif
	return rc == ETIMEDOUT;
}

void cond_signal(struct condvar *cv)
{
	pthread_cond_signal(&cv->c);
}

void cond_broadcast(struct condvar *cv)
{
	pthread_cond_broadcast(&cv->c);
}

int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what)
{
	int rc = pthread_create(t, NULL, fn, arg);
	if (rc == EAGAIN)
		return err_set(SHALE_ENOMEM, "cannot start thread for %s", what);
	if (rc)
		return err_errno(rc, "pthread_create", what);
	return 0;
}

int thread_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		int n = CPU_COUNT(&set);
		if (n > 0)
			return n;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

void thread_join(pthread_t t)
{
	pthread_join(t, NULL);
}
