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
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tls_msg, sizeof(tls_msg), fmt, ap);
	va_end(ap);
	return code;
}

int err_errno(int errnum, const char *what, const char *path)
{
	char ebuf[128];
	const char *es = strerror_r(errnum, ebuf, sizeof(ebuf));
	int code;
	const char *kind;

	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
		code = SHALE_ENOSPC;
		kind = "no space";
		break;
	case ENOMEM:
		code = SHALE_ENOMEM;
		kind = "out of memory";
		break;
	default:
		code = SHALE_EIO;
		kind = "io error";
		break;
	}
	return err_set(code, "%s: %s: %s: %s", kind, path ? path : "(none)", what, es);
}

int err_nomem(const char *what)
{
	return err_set(SHALE_ENOMEM, "out of memory: %s", what);
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
	case SHALE_EBUSY:    return "busy (locked or in use)";
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
