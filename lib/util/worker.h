/*
 * A background worker: one thread, started by the first job submitted,
 * running jobs one at a time in the order they were submitted.
 *
 * It runs work its submitter could also do itself and does not wait for:
 * a table scan's decoding of the blocks ahead of it (sstable/table.c,
 * doc/design.md, "The path of a read"). So a job is a hint: when the thread cannot be
 * started, worker_submit says so and the job is never run; its owner then
 * does the work itself. Jobs are embedded in their owner's memory and never
 * allocated here.
 *
 * A job is idle, queued, running, or running and queued again (submitted
 * while it ran: it runs once more). worker_cancel returns it to idle, taking
 * it off the queue and waiting for a run in progress to end; an owner
 * cancels before it frees the job. worker_destroy needs every job idle.
 */
#ifndef SHALE_UTIL_WORKER_H
#define SHALE_UTIL_WORKER_H

#include <stdint.h>

struct worker;

struct worker_job {
	void (*run)(struct worker_job *job); /* set by the owner */
	/* the worker's (guarded by its mutex): */
	struct worker_job *next;
	int queued;
	int running;
};

/* A worker with no thread yet. 0, or SHALE_ENOMEM. */
int worker_create(struct worker **out);
/* Stops the thread (after the job it is running) and frees the worker.
 * No job may be queued. NULL is a no-op. */
void worker_destroy(struct worker *w);

static inline void worker_job_init(struct worker_job *job, void (*run)(struct worker_job *))
{
	job->run = run;
	job->next = 0;
	job->queued = 0;
	job->running = 0;
}

/* Queues job unless it is queued already. 0, or nonzero when the worker has
 * no thread and could not start one (it does not try again; the thread's
 * message is left as it was). */
int worker_submit(struct worker *w, struct worker_job *job);
/* After its queue empties, the thread polls it for up to ns nanoseconds
 * (spinning on its CPU) before it sleeps; 0 (the default): it sleeps at
 * once. For a submitter that sends work every few microseconds and cannot
 * afford a sleeping thread's wake-up: a futex call on its own side and, on a
 * virtual machine whose other vCPU went idle, tens of microseconds before
 * the thread runs. */
void worker_set_linger(struct worker *w, uint64_t ns);
/* How many times the thread has gone to sleep waiting for a job (for tests). */
unsigned long worker_sleeps(struct worker *w);
/* Whether the worker's thread was started (for tests). */
int worker_has_thread(struct worker *w);
/* Takes job off the queue and waits for a run of it in progress to end:
 * on return it is idle and will not run unless submitted again. */
void worker_cancel(struct worker *w, struct worker_job *job);

#endif
