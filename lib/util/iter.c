#include "lib/util/iter.h"

#include <stdlib.h>

#include "lib/util/error.h"

int iter_register_cleanup(struct iter *it, iter_cleanup_fn fn, void *a, void *b)
{
	struct iter_cleanup *c;
	if (it->cleanup.fn == NULL) {
		c = &it->cleanup;
	} else {
		c = malloc(sizeof(*c));
		if (c == NULL)
			return err_nomem("iterator cleanup");
		c->next = it->cleanup.next;
		it->cleanup.next = c;
	}
	c->fn = fn;
	c->a = a;
	c->b = b;
	return 0;
}

int iter_register_cleanup_last(struct iter *it, iter_cleanup_fn fn, void *a, void *b)
{
	if (it->cleanup.fn != NULL) {
		/* the inline one runs last: it moves to the end of the list and
		 * fn takes its place */
		struct iter_cleanup *c = malloc(sizeof(*c));
		if (c == NULL)
			return err_nomem("iterator cleanup");
		*c = it->cleanup;
		c->next = NULL;
		struct iter_cleanup **tail = &it->cleanup.next;
		while (*tail)
			tail = &(*tail)->next;
		*tail = c; /* (the list still hangs off the inline slot's next) */
	}
	it->cleanup.fn = fn;
	it->cleanup.a = a;
	it->cleanup.b = b;
	return 0;
}

void iter_run_cleanups(struct iter *it)
{
	if (it->cleanup.fn == NULL)
		return;
	/* newest first: the heap-allocated ones, then the inline one */
	struct iter_cleanup *c = it->cleanup.next;
	while (c) {
		struct iter_cleanup *next = c->next;
		c->fn(c->a, c->b);
		free(c);
		c = next;
	}
	it->cleanup.fn(it->cleanup.a, it->cleanup.b);
	it->cleanup.fn = NULL;
	it->cleanup.next = NULL;
}

void iter_destroy(struct iter *it)
{
	if (it == NULL)
		return;
	iter_run_cleanups(it);
	it->ops->destroy(it);
}

struct empty_iter {
	struct iter base;
	int status;
};

static void e_nop(struct iter *it) { (void)it; }
static void e_seek(struct iter *it, struct slice t) { (void)it; (void)t; }
static int e_status(const struct iter *it) { return ((const struct empty_iter *)it)->status; }
static void e_destroy(struct iter *it) { free(it); }

/* (never valid: iter_init published that) */
static const struct iter_ops empty_ops = {
	.seek_first = e_nop,
	.seek_last = e_nop,
	.seek = e_seek,
	.next = e_nop,
	.prev = e_nop,
	.status = e_status,
	.destroy = e_destroy,
};

struct iter *iter_empty(int status)
{
	struct empty_iter *e = malloc(sizeof(*e));
	if (e == NULL) {
		err_nomem("iterator");
		return NULL;
	}
	iter_init(&e->base, &empty_ops);
	e->status = status;
	return &e->base;
}
