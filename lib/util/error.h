/*
 * Error codes and the thread-local detailed message.
 *
 * Every failure path calls err_set()/err_errno() at the point of failure with
 * the file name and what was wrong, and passes the returned code up unchanged.
 * The message lives in a thread-local buffer; shale_errmsg() returns it.
 */
#ifndef SHALE_UTIL_ERROR_H
#define SHALE_UTIL_ERROR_H

#include <stddef.h>
#include "shale.h"

#define ERR_MSG_MAX 512

/* Sets the calling thread's message to "<kind>: <formatted>", the kind being
 * shale_strerror(code), and returns code (a SHALE_E* value). The format
 * starts with what failed, usually the file: "%s: bad block handle". */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps an errno value to a code (ENOSPC/EDQUOT -> SHALE_ENOSPC, ENOMEM ->
 * SHALE_ENOMEM, anything else -> SHALE_EIO), sets "<kind>: <path>: <what>:
 * <strerror>" and returns the code. */
int err_errno(int errnum, const char *what, const char *path);
/* Sets the out-of-memory message naming what was being allocated. */
int err_nomem(const char *what);
/* The calling thread's message ("" when none was set). */
const char *err_msg(void);
/* Replaces the calling thread's message with msg (used to hand a message from
 * a background thread or an iterator to the caller) and returns code. */
int err_restore(int code, const char *msg);
/* Copies the calling thread's message into buf (NUL-terminated, truncated). */
void err_copy(char *buf, size_t cap);

#endif
