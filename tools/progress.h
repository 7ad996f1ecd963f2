/*
 * Progress lines on stderr for long commands, only when stderr is a
 * terminal (so scripts and tests see clean output). A line is redrawn in
 * place ("\r", then erase to the end of the line) at most ten times a
 * second, and erased by progress_done.
 */
#ifndef SHALE_TOOLS_PROGRESS_H
#define SHALE_TOOLS_PROGRESS_H

#include <pthread.h>

/* Decides once whether progress is shown (stderr is a terminal). */
void progress_init(void);
int progress_enabled(void);
/* Redraws the line, unless the last redraw was under 100 ms ago. */
void progress_show(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Erases the line if one is shown. */
void progress_done(void);

/* For a call that blocks (compact, repair): a thread redraws "label: N s"
 * every second until ticker_stop. Does nothing when progress is off. */
struct ticker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *label;
	int running, stop;
};
void ticker_start(struct ticker *t, const char *label);
void ticker_stop(struct ticker *t);

#endif
