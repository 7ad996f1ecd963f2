/*
 * The queue is a singly linked list of jobs (head, tail) under mu. When the
 * queue empties the thread lingers, polling `pending` for up to linger_ns
 * (worker_set_linger), then sleeps on work_cv until a job comes; done_cv
 * wakes worker_cancel when a job's run ends.
 */
#include "lib/util/worker.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/error.h"
#include "lib/util/thread.h"

struct worker {
	struct mutex mu;
	struct condvar work_cv;
	struct condvar done_cv;
	struct worker_job *head, *tail; /* (mu) */
	int started;                    /* (mu) the thread runs */
	int failed;                     /* (mu) it could not be started */
	int stop;                       /* (mu) worker_destroy asks it to end */
	/* 1 while a job is queued or stop is set: what the lingering thread
	 * polls without the mutex (written under mu) */
	atomic_int pending;
	atomic_uint_least64_t linger_ns;
	atomic_ulong sleeps; /* waits on work_cv (worker_sleeps) */
	pthread_t thread;
};

/* Polls for a job (or stop) for up to linger_ns, without the mutex. */
static void linger(struct worker *w)
{
	uint64_t limit = atomic_load_explicit(&w->linger_ns, memory_order_relaxed);
	if (limit == 0)
		return;
	uint64_t start = thread_mono_ns();
	for (unsigned spins = 1; !atomic_load_explicit(&w->pending, memory_order_acquire); spins++) {
		if (spins % 64 == 0 && thread_mono_ns() - start > limit)
			return;
		thread_cpu_relax();
	}
}

int worker_create(struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return err_nomem("background worker");
	int rc = mutex_init(&w->mu);
	if (rc) {
		free(w);
		return rc;
	}
	if ((rc = cond_init(&w->work_cv)) != 0) {
		mutex_destroy(&w->mu);
		free(w);
		return rc;
	}
	if ((rc = cond_init(&w->done_cv)) != 0) {
		cond_destroy(&w->work_cv);
		mutex_destroy(&w->mu);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	mutex_lock(&w->mu);
	for (;;) {
		if (w->head == NULL && !w->stop) {
			mutex_unlock(&w->mu);
			linger(w);
			mutex_lock(&w->mu);
		}
		while (w->head == NULL && !w->stop) {
			atomic_fetch_add_explicit(&w->sleeps, 1, memory_order_relaxed);
			cond_wait(&w->work_cv, &w->mu);
		}
		if (w->head == NULL)
			break;
		struct worker_job *job = w->head;
		w->head = job->next;
		if (w->head == NULL) {
			w->tail = NULL;
			atomic_store_explicit(&w->pending, w->stop, memory_order_relaxed);
		}
		job->next = NULL;
		job->queued = 0;
		job->running = 1;
		mutex_unlock(&w->mu);
		job->run(job);
		mutex_lock(&w->mu);
		job->running = 0;
		cond_broadcast(&w->done_cv);
	}
	mutex_unlock(&w->mu);
	return NULL;
}

void worker_destroy(struct worker *w)
{
	if (w == NULL)
		return;
	mutex_lock(&w->mu);
	w->stop = 1;
	atomic_store_explicit(&w->pending, 1, memory_order_release);
	cond_signal(&w->work_cv);
	int started = w->started;
	mutex_unlock(&w->mu);
	if (started)
		thread_join(w->thread);
	cond_destroy(&w->done_cv);
	cond_destroy(&w->work_cv);
	mutex_destroy(&w->mu);
	free(w);
}

int worker_submit(struct worker *w, struct worker_job *job)
{
	int rc = 0;
	mutex_lock(&w->mu);
	if (!w->started && !w->failed) {
		/* a failure here is the submitter's to absorb, not to report:
		 * keep its thread's message as it was */
		char saved[ERR_MSG_MAX];
		err_copy(saved, sizeof(saved));
		if (thread_start(&w->thread, worker_main, w, "background worker") == 0)
			w->started = 1;
		else
			w->failed = 1;
		err_restore(0, saved);
	}
	if (!w->started) {
		rc = -1;
	} else if (!job->queued) {
		job->queued = 1;
		job->next = NULL;
		if (w->tail)
			w->tail->next = job;
		else
			w->head = job;
		w->tail = job;
		atomic_store_explicit(&w->pending, 1, memory_order_release);
		cond_signal(&w->work_cv);
	}
	mutex_unlock(&w->mu);
	return rc;
}

void worker_set_linger(struct worker *w, uint64_t ns)
{
	atomic_store_explicit(&w->linger_ns, ns, memory_order_relaxed);
}

unsigned long worker_sleeps(struct worker *w)
{
	return atomic_load_explicit(&w->sleeps, memory_order_relaxed);
}

int worker_has_thread(struct worker *w)
{
	mutex_lock(&w->mu);
	int started = w->started;
	mutex_unlock(&w->mu);
	return started;
}

void worker_cancel(struct worker *w, struct worker_job *job)
{
	mutex_lock(&w->mu);
	if (job->queued) {
		struct worker_job **pp = &w->head, *prev = NULL;
		while (*pp != job) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = job->next;
		if (w->tail == job)
			w->tail = prev;
		if (w->head == NULL)
			atomic_store_explicit(&w->pending, w->stop, memory_order_relaxed);
		job->next = NULL;
		job->queued = 0;
	}
	while (job->running)
		cond_wait(&w->done_cv, &w->mu);
	mutex_unlock(&w->mu);
}
