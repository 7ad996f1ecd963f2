/*
 * The info log: the database's human-readable LOG file. Opening rotates an
 * existing LOG to LOG.old. Each line starts with a local timestamp
 * (YYYY/MM/DD-HH:MM:SS.uuuuuu) and the thread id. Thread-safe. Failures to
 * write the info log are ignored: it is a diagnostic, never a reason to fail
 * a database operation. A NULL logger accepts and drops everything.
 */
#ifndef SHALE_UTIL_LOGGER_H
#define SHALE_UTIL_LOGGER_H

#include "lib/util/env.h"

struct logger;

/* Opens dbdir/LOG (after renaming an old one to LOG.old). */
int logger_open(struct env *e, const char *dbdir, struct logger **out);
void logger_close(struct logger *l);
void logger_printf(struct logger *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
