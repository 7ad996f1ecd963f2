noinst_LTLIBRARIES += libshale_memtable.la
libshale_core_la_LIBADD += libshale_memtable.la
libshale_memtable_la_SOURCES = \
	memtable/memtable.c \
	memtable/skiplist.c

noinst_HEADERS += \
	memtable/memtable.h \
	memtable/skiplist.h

if HAVE_CHECK
MEMTABLE_TEST_LDADD = libshale_memtable.la libshale_util.la $(CHECK_LIBS)
check_PROGRAMS += tests/test_skiplist tests/test_memtable
tests_test_skiplist_SOURCES = tests/test_skiplist.c $(TEST_UTIL)
tests_test_skiplist_CFLAGS = $(TEST_CFLAGS)
tests_test_skiplist_LDADD = $(MEMTABLE_TEST_LDADD)
tests_test_memtable_SOURCES = tests/test_memtable.c $(TEST_UTIL)
tests_test_memtable_CFLAGS = $(TEST_CFLAGS)
tests_test_memtable_LDADD = $(MEMTABLE_TEST_LDADD)
TSAN_TESTS += tests/test_skiplist tests/test_memtable
endif
