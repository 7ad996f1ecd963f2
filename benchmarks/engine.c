/* engine.c: the table of engines and the helpers every engine file shares. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "benchmarks/engine.h"

const char *const ENGINE_NAMES = "shale,leveldb,rocksdb,lmdb,wiredtiger";

static const struct {
	const char *name;
	const struct engine *engine; /* NULL: configure did not find it */
} ENGINES[] = {
	{ "shale", &engine_shale },
#ifdef HAVE_LEVELDB
	{ "leveldb", &engine_leveldb },
#else
	{ "leveldb", NULL },
#endif
#ifdef HAVE_ROCKSDB
	{ "rocksdb", &engine_rocksdb },
#else
	{ "rocksdb", NULL },
#endif
#ifdef HAVE_LMDB
	{ "lmdb", &engine_lmdb },
#else
	{ "lmdb", NULL },
#endif
#ifdef HAVE_WIREDTIGER
	{ "wiredtiger", &engine_wiredtiger },
#else
	{ "wiredtiger", NULL },
#endif
};

int engine_lookup(const char *name, size_t len, const struct engine **ep)
{
	for (size_t i = 0; i < sizeof(ENGINES) / sizeof(ENGINES[0]); i++) {
		if (strlen(ENGINES[i].name) == len && strncmp(ENGINES[i].name, name, len) == 0) {
			*ep = ENGINES[i].engine;
			return ENGINES[i].engine != NULL ? 0 : 1;
		}
	}
	*ep = NULL;
	return -1;
}

static _Thread_local char t_errmsg[512];

void engine_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t_errmsg, sizeof(t_errmsg), fmt, ap);
	va_end(ap);
}

const char *engine_errmsg(void)
{
	return t_errmsg[0] ? t_errmsg : "unknown error";
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT) {
		engine_set_error("remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int engine_remove_tree(const char *path)
{
	t_errmsg[0] = '\0'; /* remove_entry sets it when it fails */
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		if (errno == ENOENT)
			return 0;
		if (t_errmsg[0] == '\0')
			engine_set_error("removing %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
