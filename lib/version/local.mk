# The version layer: versions, the MANIFEST, version edits and the merging
# iterator. Depends on lib/util, wal, sstable; knows nothing of the database.
noinst_LTLIBRARIES += libshale_version.la
libshale_core_la_LIBADD += libshale_version.la
libshale_version_la_SOURCES = \
	lib/version/manifest.c \
	lib/version/merger.c \
	lib/version/version.c \
	lib/version/version_edit.c

noinst_HEADERS += \
	lib/version/manifest.h \
	lib/version/merger.h \
	lib/version/version.h \
	lib/version/version_edit.h

if HAVE_CHECK
check_PROGRAMS += tests/test_version tests/test_merger
tests_test_version_SOURCES = tests/test_version.c $(TEST_UTIL)
tests_test_version_CFLAGS = $(TEST_CFLAGS)
tests_test_version_LDADD = $(TEST_LDADD)
tests_test_merger_SOURCES = tests/test_merger.c $(TEST_UTIL)
tests_test_merger_CFLAGS = $(TEST_CFLAGS)
tests_test_merger_LDADD = $(TEST_LDADD)
endif
