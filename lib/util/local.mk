noinst_LTLIBRARIES += libshale_util.la
libshale_core_la_LIBADD += libshale_util.la
libshale_util_la_SOURCES = \
	lib/util/arena.c \
	lib/util/bpool.c \
	lib/util/buf.c \
	lib/util/cache.c \
	lib/util/coding.c \
	lib/util/comparator.c \
	lib/util/crc32c.c \
	lib/util/env.c \
	lib/util/env_posix.c \
	lib/util/error.c \
	lib/util/filename.c \
	lib/util/hash.c \
	lib/util/ikey.c \
	lib/util/iter.c \
	lib/util/logger.c \
	lib/util/random.c \
	lib/util/thread.c \
	lib/util/u64map.c \
	lib/util/worker.c

noinst_HEADERS += \
	lib/util/arena.h \
	lib/util/bpool.h \
	lib/util/buf.h \
	lib/util/cache.h \
	lib/util/coding.h \
	lib/util/comparator.h \
	lib/util/crc32c.h \
	lib/util/env.h \
	lib/util/error.h \
	lib/util/filename.h \
	lib/util/hash.h \
	lib/util/ikey.h \
	lib/util/iter.h \
	lib/util/logger.h \
	lib/util/random.h \
	lib/util/slice.h \
	lib/util/thread.h \
	lib/util/u64map.h \
	lib/util/worker.h
