/* The rendezvous kit for test hooks (hooks.h). */
#include "tests/hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct hook_point_state *point(struct hooks *h, enum db_hook_point p)
{
	if ((unsigned)p >= HOOKS_MAX_POINTS) {
		/* a new hook point past the kit's table: grow HOOKS_MAX_POINTS */
		fprintf(stderr, "tests/hooks.c: hook point %d out of range\n", (int)p);
		abort();
	}
	return &h->at[p];
}

void hooks_at(void *arg, enum db_hook_point p)
{
	struct hooks *h = arg;
	pthread_mutex_lock(&h->mu);
	struct hook_point_state *s = point(h, p);
	s->reached++;
	if (s->to_hold > 0) {
		if (s->to_hold != HOOKS_EVERY)
			s->to_hold--;
		int me = ++s->held;
		if (++s->waiting > s->max_waiting)
			s->max_waiting = s->waiting;
		pthread_cond_broadcast(&h->cv);
		while (s->released < me)
			pthread_cond_wait(&h->cv, &h->mu);
		s->waiting--;
	}
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void hooks_reset(struct hooks *h)
{
	pthread_mutex_lock(&h->mu);
	memset(h->at, 0, sizeof(h->at));
	pthread_mutex_unlock(&h->mu);
}

void hooks_hold(struct hooks *h, enum db_hook_point p, int n)
{
	pthread_mutex_lock(&h->mu);
	struct hook_point_state *s = point(h, p);
	if (n == HOOKS_EVERY || s->to_hold == HOOKS_EVERY)
		s->to_hold = HOOKS_EVERY;
	else
		s->to_hold += n;
	pthread_mutex_unlock(&h->mu);
}

void hooks_release(struct hooks *h, enum db_hook_point p, int n)
{
	pthread_mutex_lock(&h->mu);
	point(h, p)->released = n;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void hooks_release_all(struct hooks *h, enum db_hook_point p)
{
	pthread_mutex_lock(&h->mu);
	struct hook_point_state *s = point(h, p);
	s->to_hold = 0;
	s->released = s->held;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void hooks_wait_reached(struct hooks *h, enum db_hook_point p, int n)
{
	pthread_mutex_lock(&h->mu);
	while (point(h, p)->reached < n)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

void hooks_wait_held(struct hooks *h, enum db_hook_point p, int n)
{
	pthread_mutex_lock(&h->mu);
	while (point(h, p)->held < n)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

int hooks_reached(struct hooks *h, enum db_hook_point p)
{
	pthread_mutex_lock(&h->mu);
	int n = point(h, p)->reached;
	pthread_mutex_unlock(&h->mu);
	return n;
}

int hooks_held(struct hooks *h, enum db_hook_point p)
{
	pthread_mutex_lock(&h->mu);
	int n = point(h, p)->held;
	pthread_mutex_unlock(&h->mu);
	return n;
}

int hooks_max_waiting(struct hooks *h, enum db_hook_point p)
{
	pthread_mutex_lock(&h->mu);
	int n = point(h, p)->max_waiting;
	pthread_mutex_unlock(&h->mu);
	return n;
}
