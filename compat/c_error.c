/*
 * Error messages in LevelDB's form. LevelDB's messages start with the kind
 * of status ("Corruption: ", "IO error: ", ...), and programs test those
 * prefixes; shale's start with its own kind word ("corruption: ", "I/O
 * error: ", ...) and then name the file or option. The message given is
 * LevelDB's kind, then shale's message with its kind word dropped (it would
 * only repeat the kind), except "out of memory", which LevelDB has no kind
 * for and which is kept after "IO error: ".
 *
 * LevelDB reports a file the operating system says does not exist (ENOENT)
 * as "NotFound: "; shale reports it as SHALE_EIO with the system's text
 * last, which is how it is recognised here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/c_internal.h"

static const char *kind_of(int code)
{
	switch (code) {
	case SHALE_NOTFOUND:
		return "NotFound: ";
	case SHALE_ECORRUPT:
		return "Corruption: ";
	case SHALE_EINVAL:
		return "Invalid argument: ";
	case SHALE_ENOTSUP:
		return "Not implemented: ";
	default: /* EIO, EBUSY, ENOSPC, ENOMEM, ECLOSED */
		return "IO error: ";
	}
}

/* 1 when msg ends with the system's text for ENOENT. */
static int says_no_such_file(const char *msg)
{
	char buf[128];
	const char *text = strerror_r(ENOENT, buf, sizeof(buf));
	size_t n = strlen(msg), t = strlen(text);
	return n > t + 2 && strcmp(msg + n - t, text) == 0 && memcmp(msg + n - t - 2, ": ", 2) == 0;
}

static void store(char **errptr, const char *kind, const char *msg)
{
	size_t kl = strlen(kind), ml = strlen(msg);
	char *m = malloc(kl + ml + 1);
	if (m != NULL) {
		memcpy(m, kind, kl);
		memcpy(m + kl, msg, ml + 1);
	} else {
		m = strdup("IO error: out of memory"); /* (NULL only when not even that fits) */
	}
	free(*errptr);
	*errptr = m;
}

void compat_error(char **errptr, int code)
{
	compat_error_msg(errptr, code, shale_errmsg());
}

void compat_error_msg(char **errptr, int code, const char *msg)
{
	if (errptr == NULL)
		return;
	const char *kind = kind_of(code);
	if (code == SHALE_EIO && says_no_such_file(msg))
		kind = kind_of(SHALE_NOTFOUND);
	if (code != SHALE_ENOMEM) {
		const char *word = shale_strerror(code);
		size_t wl = strlen(word);
		if (strncmp(msg, word, wl) == 0 && msg[wl] == ':' && msg[wl + 1] == ' ')
			msg += wl + 2;
	}
	store(errptr, kind, msg);
}

void compat_errorf(char **errptr, int code, const char *fmt, ...)
{
	if (errptr == NULL)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	store(errptr, kind_of(code), msg);
}
