# The database: open/recovery, writes, reads, iterators, flushes, the
# compaction threads, checkpoints, repair, and the public options and batches.
noinst_LTLIBRARIES += libshale_db.la
libshale_core_la_LIBADD += libshale_db.la
libshale_db_la_SOURCES = \
	lib/db/checkpoint.c \
	lib/db/db_compact.c \
	lib/db/db_files.c \
	lib/db/db_flush.c \
	lib/db/db_iter.c \
	lib/db/db_open.c \
	lib/db/db_props.c \
	lib/db/db_read.c \
	lib/db/db_recover.c \
	lib/db/db_state.c \
	lib/db/db_unlock.c \
	lib/db/db_write.c \
	lib/db/filter_policy.c \
	lib/db/options.c \
	lib/db/repair.c \
	lib/db/repair_merge.c \
	lib/db/repair_read.c \
	lib/db/shale_version.c \
	lib/db/write_batch.c

noinst_HEADERS += \
	lib/db/db_compact.h \
	lib/db/db_hooks.h \
	lib/db/db_impl.h \
	lib/db/options.h \
	lib/db/repair.h \
	lib/db/write_batch.h

if HAVE_CHECK
check_PROGRAMS += tests/test_write_batch
tests_test_write_batch_SOURCES = tests/test_write_batch.c $(TEST_UTIL)
tests_test_write_batch_CFLAGS = $(TEST_CFLAGS)
tests_test_write_batch_LDADD = $(TEST_LDADD)
endif
