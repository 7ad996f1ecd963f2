/*
 * A rendezvous kit for the database's test hooks (lib/db/db_hooks.h): the
 * test counts the threads that reach each hook point, holds some of them
 * there until it releases them, and waits for arrivals, so that threads meet
 * at known points and never at sleeps.
 *
 * Per hook point the kit keeps:
 *   reached      every arrival since the last reset;
 *   held         the arrivals that were held (hooks_hold arms it);
 *   released     held arrivals 1..released may go on;
 *   max_waiting  the most arrivals held there at once.
 * The k-th held arrival waits until released >= k.
 *
 * Usage: a kit is a static object initialised with HOOKS_INITIALIZER; pass
 * &kit.db to options_set_test_hooks (borrowed: the kit must outlive the
 * database). Every function takes the kit's own mutex, never the database's.
 * HOOK_WRITER_QUEUED runs with the DB mutex held: count it, never hold it.
 */
#ifndef SHALE_TESTS_HOOKS_H
#define SHALE_TESTS_HOOKS_H

#include <limits.h>
#include <pthread.h>

#include "lib/db/db_hooks.h"

/* Hook points the kit can track (db_hooks.h numbers them from 0). */
#define HOOKS_MAX_POINTS 16
/* For hooks_hold: hold every arrival until hooks_release_all. */
#define HOOKS_EVERY INT_MAX

struct hook_point_state {
	int reached;
	int to_hold; /* arrivals still to hold */
	int held;
	int released;
	int waiting; /* held now */
	int max_waiting;
};

struct hooks {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* broadcast on every arrival and release */
	struct hook_point_state at[HOOKS_MAX_POINTS];
	struct db_test_hooks db; /* { hooks_at, the kit } */
};

/* The callback the database calls (arg is the kit). */
void hooks_at(void *arg, enum db_hook_point p);

#define HOOKS_INITIALIZER(kit) \
	{ PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0, 0, 0, 0, 0, 0 } }, { hooks_at, &(kit) } }

/* Zeroes every counter. REQUIRES: no thread is held. */
void hooks_reset(struct hooks *h);
/* The next n arrivals at p are held (added to any still armed); n may be
 * HOOKS_EVERY. */
void hooks_hold(struct hooks *h, enum db_hook_point p, int n);
/* Held arrivals 1..n at p (counted since the reset) may go on. */
void hooks_release(struct hooks *h, enum db_hook_point p, int n);
/* Every held arrival at p goes on, and no more are held. */
void hooks_release_all(struct hooks *h, enum db_hook_point p);
/* Wait until p was reached n times / n arrivals at p were held. */
void hooks_wait_reached(struct hooks *h, enum db_hook_point p, int n);
void hooks_wait_held(struct hooks *h, enum db_hook_point p, int n);
/* The counters now. */
int hooks_reached(struct hooks *h, enum db_hook_point p);
int hooks_held(struct hooks *h, enum db_hook_point p);
int hooks_max_waiting(struct hooks *h, enum db_hook_point p);

#endif
