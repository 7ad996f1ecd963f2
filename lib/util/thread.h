/*
 * Thin wrappers over pthreads. Locking a valid mutex cannot fail short of a
 * bug in shale, so the wrappers return nothing; creation can fail and reports.
 *
 * mutex_assert_held() checks (in debug builds) that the calling thread holds
 * the mutex: functions that require a lock call it at the top.
 */
#ifndef SHALE_UTIL_THREAD_H
#define SHALE_UTIL_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct mutex {
	pthread_mutex_t m;
#ifndef NDEBUG
	_Atomic(pthread_t) owner; /* valid while held (debug only) */
	atomic_int held;
#endif
};

struct condvar {
	pthread_cond_t c;
};

int mutex_init(struct mutex *mu);
void mutex_destroy(struct mutex *mu);
void mutex_lock(struct mutex *mu);
void mutex_unlock(struct mutex *mu);

#ifndef NDEBUG
void mutex_assert_held(struct mutex *mu);
#else
static inline void mutex_assert_held(struct mutex *mu)
{
	(void)mu;
}
#endif

int cond_init(struct condvar *cv);
void cond_destroy(struct condvar *cv);
void cond_wait(struct condvar *cv, struct mutex *mu);
/* Waits at most timeout_us; returns 1 when the time ran out. */
int cond_timedwait(struct condvar *cv, struct mutex *mu, uint64_t timeout_us);
void cond_signal(struct condvar *cv);
void cond_broadcast(struct condvar *cv);

/* Starts fn(arg) on a new thread; returns 0 or SHALE_ENOMEM/SHALE_EIO with a
 * message naming what. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what);
void thread_join(pthread_t t);

#endif
