/* The background worker: jobs run in submission order on one thread, a
 * queued job can be taken back, cancelling waits for a run in progress, a
 * job submitted while it runs runs again, a worker never given a job
 * starts no thread, and a lingering worker takes the next job without
 * going to sleep. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/thread.h"
#include "lib/util/worker.h"
#include "shale.h"
#include "tests/testutil.h"

/* A job that records its runs; a gated one waits at the gate first. */
struct tjob {
	struct worker_job job; /* first */
	int id;
	int gated;
};

static struct mutex mu;
static struct condvar cv;
static int order[16]; /* (mu) ids in the order their runs ended */
static int runs;      /* (mu) */
static int started;   /* (mu) runs of gated jobs that reached the gate */
static int gate_open; /* (mu) */

static void setup(void)
{
	ck_assert_ok(mutex_init(&mu));
	ck_assert_ok(cond_init(&cv));
	runs = started = gate_open = 0;
}

static void teardown(void)
{
	cond_destroy(&cv);
	mutex_destroy(&mu);
}

static void tjob_run(struct worker_job *job)
{
	struct tjob *t = (struct tjob *)job;
	mutex_lock(&mu);
	if (t->gated) {
		started++;
		cond_broadcast(&cv);
		while (!gate_open)
			cond_wait(&cv, &mu);
	}
	if (runs < 16)
		order[runs] = t->id;
	runs++;
	cond_broadcast(&cv);
	mutex_unlock(&mu);
}

static void tjob_init(struct tjob *t, int id, int gated)
{
	worker_job_init(&t->job, tjob_run);
	t->id = id;
	t->gated = gated;
}

static void wait_for(int *counter, int n)
{
	mutex_lock(&mu);
	while (*counter < n)
		cond_wait(&cv, &mu);
	mutex_unlock(&mu);
}

static void open_gate(void)
{
	mutex_lock(&mu);
	gate_open = 1;
	cond_broadcast(&cv);
	mutex_unlock(&mu);
}

/* A worker whose thread is held by gated job a (id), running. */
static struct worker *worker_held_by(struct tjob *a, int id)
{
	struct worker *w;
	ck_assert_ok(worker_create(&w));
	tjob_init(a, id, 1);
	ck_assert_int_eq(worker_submit(w, &a->job), 0);
	wait_for(&started, 1);
	return w;
}

START_TEST(jobs_run_in_submission_order)
{
	struct worker *w;
	ck_assert_ok(worker_create(&w));
	struct tjob j[5];
	ck_assert(!worker_has_thread(w));
	for (int i = 0; i < 5; i++) {
		tjob_init(&j[i], i, 0);
		ck_assert_int_eq(worker_submit(w, &j[i].job), 0);
	}
	wait_for(&runs, 5);
	ck_assert(worker_has_thread(w));
	for (int i = 0; i < 5; i++) {
		worker_cancel(w, &j[i].job); /* idle already: returns at once */
		ck_assert_int_eq(order[i], i);
	}
	worker_destroy(w);
	ck_assert_int_eq(runs, 5);
}
END_TEST

START_TEST(a_queued_job_is_taken_back)
{
	struct tjob a, b, c, d;
	struct worker *w = worker_held_by(&a, 1); /* the others stay queued */
	tjob_init(&b, 2, 0);
	tjob_init(&c, 3, 0);
	tjob_init(&d, 4, 0);
	ck_assert_int_eq(worker_submit(w, &b.job), 0);
	ck_assert_int_eq(worker_submit(w, &b.job), 0); /* queued once only */
	ck_assert_int_eq(worker_submit(w, &c.job), 0);
	ck_assert_int_eq(worker_submit(w, &d.job), 0);
	worker_cancel(w, &b.job); /* the head of the queue */
	worker_cancel(w, &d.job); /* its tail */
	open_gate();
	wait_for(&runs, 2);
	worker_cancel(w, &c.job);
	worker_cancel(w, &a.job);
	worker_destroy(w);
	ck_assert_int_eq(runs, 2);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 3);
}
END_TEST

struct canceller {
	struct worker *w;
	struct tjob *job;
	int runs_seen;
};

static void *cancel_thread(void *arg)
{
	struct canceller *c = arg;
	worker_cancel(c->w, &c->job->job);
	mutex_lock(&mu);
	c->runs_seen = runs;
	mutex_unlock(&mu);
	return NULL;
}

/* Whether the cancel comes while the job waits at its gate or after, it
 * returns only once the run has ended. */
START_TEST(cancel_waits_for_the_run_in_progress)
{
	struct tjob a;
	struct worker *w = worker_held_by(&a, 1);
	struct canceller c = { w, &a, -1 };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, cancel_thread, &c), 0);
	open_gate();
	pthread_join(t, NULL);
	ck_assert_int_eq(c.runs_seen, 1);
	worker_destroy(w);
}
END_TEST

START_TEST(a_job_submitted_while_it_runs_runs_again)
{
	struct tjob a;
	struct worker *w = worker_held_by(&a, 7);
	ck_assert_int_eq(worker_submit(w, &a.job), 0);
	open_gate();
	wait_for(&runs, 2);
	worker_cancel(w, &a.job);
	worker_destroy(w);
	ck_assert_int_eq(runs, 2);
	ck_assert_int_eq(started, 2);
}
END_TEST

/* Lingering long (a minute: the test never waits that long) the thread
 * takes each next job without sleeping, also after a cancel emptied the
 * queue; without linger it sleeps after each job and a submit wakes it. */
START_TEST(a_lingering_worker_takes_the_next_job_awake)
{
	struct tjob a, b, c, d;
	struct worker *w;
	ck_assert_ok(worker_create(&w));
	worker_set_linger(w, 60ull * 1000000000u);
	tjob_init(&a, 1, 1);
	tjob_init(&b, 2, 0);
	tjob_init(&c, 3, 0);
	tjob_init(&d, 4, 0);
	ck_assert_int_eq(worker_submit(w, &a.job), 0);
	wait_for(&started, 1);
	ck_assert_int_eq(worker_submit(w, &b.job), 0);
	worker_cancel(w, &b.job); /* the queue is empty again */
	open_gate();
	wait_for(&runs, 1);
	ck_assert_int_eq(worker_submit(w, &c.job), 0);
	wait_for(&runs, 2);
	ck_assert_int_eq(worker_submit(w, &d.job), 0);
	wait_for(&runs, 3);
	ck_assert_uint_eq(worker_sleeps(w), 0);
	worker_cancel(w, &a.job);
	worker_cancel(w, &c.job);
	worker_cancel(w, &d.job);
	worker_destroy(w); /* stops a lingering thread */
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 3);
	ck_assert_int_eq(order[2], 4);
}
END_TEST

START_TEST(a_worker_without_linger_sleeps_and_is_woken)
{
	struct tjob a, b;
	struct worker *w;
	ck_assert_ok(worker_create(&w));
	tjob_init(&a, 1, 0);
	tjob_init(&b, 2, 0);
	ck_assert_int_eq(worker_submit(w, &a.job), 0);
	wait_for(&runs, 1);
	while (worker_sleeps(w) == 0)
		sched_yield(); /* (the test's timeout ends a thread that never sleeps) */
	ck_assert_int_eq(worker_submit(w, &b.job), 0);
	wait_for(&runs, 2);
	ck_assert_int_eq(order[1], 2);
	worker_cancel(w, &a.job);
	worker_cancel(w, &b.job);
	worker_destroy(w);
}
END_TEST

START_TEST(an_unused_worker_is_destroyed_cleanly)
{
	struct worker *w;
	ck_assert_ok(worker_create(&w));
	ck_assert(!worker_has_thread(w));
	worker_destroy(w);
	worker_destroy(NULL);
}
END_TEST

static Suite *worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("jobs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, jobs_run_in_submission_order);
	tcase_add_test(tc, a_queued_job_is_taken_back);
	tcase_add_test(tc, a_lingering_worker_takes_the_next_job_awake);
	tcase_add_test(tc, a_worker_without_linger_sleeps_and_is_woken);
	tcase_add_test(tc, cancel_waits_for_the_run_in_progress);
	tcase_add_test(tc, a_job_submitted_while_it_runs_runs_again);
	tcase_add_test(tc, an_unused_worker_is_destroyed_cleanly);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(worker_suite());
}
