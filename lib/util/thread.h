/*
 * Thin wrappers over pthreads. Locking a valid mutex cannot fail short of a
 * bug in shale, so the wrappers return nothing; creation can fail and reports.
 *
 * Lock rules are checked at compile time by clang's thread-safety analysis
 * (-Wthread-safety): struct mutex is a capability, lock/unlock acquire and
 * release it, and functions state what they need with SHALE_REQUIRES(mu) (the
 * caller holds mu) or SHALE_EXCLUDES(mu) (the caller must not: the function
 * takes it). Fields stay documented by a comment naming their guard.
 * mutex_assert_held() also checks at run time (debug builds) that the calling
 * thread holds the mutex.
 */
#ifndef SHALE_UTIL_THREAD_H
#define SHALE_UTIL_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#if defined(__clang__)
#define SHALE_TSA(x) __attribute__((x))
#else
#define SHALE_TSA(x)
#endif
#define SHALE_CAPABILITY(name) SHALE_TSA(capability(name))
#define SHALE_REQUIRES(...) SHALE_TSA(requires_capability(__VA_ARGS__))
#define SHALE_EXCLUDES(...) SHALE_TSA(locks_excluded(__VA_ARGS__))
#define SHALE_ACQUIRE(...) SHALE_TSA(acquire_capability(__VA_ARGS__))
#define SHALE_RELEASE(...) SHALE_TSA(release_capability(__VA_ARGS__))
#define SHALE_ASSERT_HELD(...) SHALE_TSA(assert_capability(__VA_ARGS__))
/* For the few functions whose locking the analysis cannot follow; each use
 * says why next to it. */
#define SHALE_NO_TSA SHALE_TSA(no_thread_safety_analysis)

struct SHALE_CAPABILITY("mutex") mutex {
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
void mutex_lock(struct mutex *mu) SHALE_ACQUIRE(mu);
void mutex_unlock(struct mutex *mu) SHALE_RELEASE(mu);

#ifndef NDEBUG
void mutex_assert_held(struct mutex *mu) SHALE_ASSERT_HELD(mu);
#else
static inline void mutex_assert_held(struct mutex *mu) SHALE_ASSERT_HELD(mu)
{
	(void)mu;
}
#endif

int cond_init(struct condvar *cv);
void cond_destroy(struct condvar *cv);
void cond_wait(struct condvar *cv, struct mutex *mu) SHALE_REQUIRES(mu);
/* Waits at most timeout_us; returns 1 when the time ran out. */
int cond_timedwait(struct condvar *cv, struct mutex *mu, uint64_t timeout_us) SHALE_REQUIRES(mu);
void cond_signal(struct condvar *cv);
void cond_broadcast(struct condvar *cv);

/* Starts fn(arg) on a new thread; returns 0 or SHALE_ENOMEM/SHALE_EIO with a
 * message naming what. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what);
void thread_join(pthread_t t);
/* CPUs the process may run on (its affinity mask; at least 1). */
int thread_cpus(void);

/* For short spins on a flag another thread sets (the scan-ahead's slots, a
 * lingering worker): a hint to the CPU that this is a spin-wait, and a
 * monotonic clock in nanoseconds to bound it with. */
static inline void thread_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}
uint64_t thread_mono_ns(void);

#endif
