#include "lib/util/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One message per thread: the API promises it stays valid until the next
 * failing call on that thread. */
static _Thread_local char tls_msg[ERR_MSG_MAX];

const char *err_msg(void)
{
	return tls_msg;
}

int err_set(int code, const char *fmt, ...)
{
	/* "<kind>: <what>": the kind is shale_strerror's, so messages and codes
	 * never disagree */
	int n = snprintf(tls_msg, sizeof(tls_msg), "%s: ", shale_strerror(code));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tls_msg + n, sizeof(tls_msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

int err_errno(int errnum, const char *what, const char *path)
{
	char ebuf[128];
	const char *es = strerror_r(errnum, ebuf, sizeof(ebuf));
	int code;

	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
		code = SHALE_ENOSPC;
		break;
	case ENOMEM:
		code = SHALE_ENOMEM;
		break;
	default:
		code = SHALE_EIO;
		break;
	}
	return err_set(code, "%s: %s: %s", path ? path : "(none)", what, es);
}

int err_nomem(const char *what)
{
	return err_set(SHALE_ENOMEM, "%s", what);
}

int err_restore(int code, const char *msg)
{
	if (msg != tls_msg)
		snprintf(tls_msg, sizeof(tls_msg), "%s", msg ? msg : "");
	return code;
}

void err_copy(char *buf, size_t cap)
{
	if (cap == 0)
		return;
	snprintf(buf, cap, "%s", tls_msg);
}

SHALE_EXPORT const char *shale_errmsg(void)
{
	return tls_msg;
}

SHALE_EXPORT const char *shale_strerror(int code)
{
	switch (code) {
	case SHALE_OK:       return "success";
	case SHALE_NOTFOUND: return "not found";
	case SHALE_ECORRUPT: return "corruption";
	case SHALE_EIO:      return "I/O error";
	case SHALE_EINVAL:   return "invalid argument";
	case SHALE_ENOTSUP:  return "not supported";
	case SHALE_EBUSY:    return "busy";
	case SHALE_ENOMEM:   return "out of memory";
	case SHALE_ENOSPC:   return "no space left on device";
	case SHALE_ECLOSED:  return "database is closing";
	default:             return "unknown error code";
	}
}

SHALE_EXPORT void shale_free(void *p)
{
	free(p);
}
