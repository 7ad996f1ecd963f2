/*
 * The info log: the database's human-readable LOG file, or a callback. In a
 * file each line starts with a local timestamp (YYYY/MM/DD-HH:MM:SS.uuuuuu)
 * and the thread id; attaching the file rotates an existing LOG to LOG.old.
 * A callback gets the text alone. A logger created without a sink queues
 * lines until one is attached (the database attaches the LOG of a new
 * database only once its creation succeeded, so a failed open leaves no file).
 *
 * logger_printf never does I/O: it formats the line and queues it, so it may
 * be called under any lock (the database mutex included). Queued lines reach
 * the file at logger_flush, which the database calls each time it releases
 * its mutex, and at logger_close. The queue is bounded (LOGGER_QUEUE_MAX);
 * lines past it are counted and the count is logged instead.
 *
 * Thread-safe. Failures to write the info log are ignored: it is a
 * diagnostic, never a reason to fail a database operation. A NULL logger
 * accepts and drops everything.
 */
#ifndef SHALE_UTIL_LOGGER_H
#define SHALE_UTIL_LOGGER_H

#include "lib/util/env.h"

#define LOGGER_QUEUE_MAX (256u << 10)

struct logger;

/* A logger with no sink yet. */
int logger_create(struct logger **out);
/* Sends lines to dbdir/LOG (after renaming an old one to LOG.old), the
 * queued ones first. */
int logger_attach_file(struct logger *l, struct env *e, const char *dbdir);
/* Sends lines to fn(state, line) (line without its newline). */
void logger_attach_callback(struct logger *l, void (*fn)(void *state, const char *line), void *state);
/* logger_create + logger_attach_file. */
int logger_open(struct env *e, const char *dbdir, struct logger **out);
/* Writes what is queued, then closes. NULL ok. */
void logger_close(struct logger *l);
/* Queues one line (a newline is added when missing). */
void logger_printf(struct logger *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes the queued lines, in order. Call without locks that must not wait on I/O. */
void logger_flush(struct logger *l);

#endif
