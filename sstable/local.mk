noinst_LTLIBRARIES += libshale_sstable.la
libshale_core_la_LIBADD += libshale_sstable.la
libshale_sstable_la_SOURCES = \
	sstable/block.c \
	sstable/block_builder.c \
	sstable/bloom.c \
	sstable/compress.c \
	sstable/filter_block.c \
	sstable/format.c \
	sstable/table.c \
	sstable/table_builder.c \
	sstable/table_cache.c \
	sstable/table_salvage.c \
	sstable/two_level_iter.c

noinst_HEADERS += \
	sstable/block.h \
	sstable/block_builder.h \
	sstable/bloom.h \
	sstable/compress.h \
	sstable/filter_block.h \
	sstable/filter_policy.h \
	sstable/format.h \
	sstable/table.h \
	sstable/table_builder.h \
	sstable/table_cache.h \
	sstable/table_options.h \
	sstable/table_salvage.h \
	sstable/two_level_iter.h

if HAVE_CHECK
SSTABLE_TEST_LDADD = libshale_sstable.la libshale_testing.la libshale_util.la $(CODEC_LIBS) $(CHECK_LIBS)
check_PROGRAMS += tests/test_block tests/test_filter tests/test_table tests/test_two_level_iter \
	tests/test_table_cache tests/test_table_filter
tests_test_block_SOURCES = tests/test_block.c $(TEST_UTIL)
tests_test_block_CFLAGS = $(TEST_CFLAGS)
tests_test_block_LDADD = $(SSTABLE_TEST_LDADD)
tests_test_filter_SOURCES = tests/test_filter.c $(TEST_UTIL)
tests_test_filter_CFLAGS = $(TEST_CFLAGS)
tests_test_filter_LDADD = $(SSTABLE_TEST_LDADD)
TABLE_TEST_HELPERS = tests/table_helpers.c tests/table_helpers.h
tests_test_table_SOURCES = tests/test_table.c $(TABLE_TEST_HELPERS) $(TEST_UTIL)
tests_test_table_CFLAGS = $(TEST_CFLAGS)
tests_test_table_LDADD = $(SSTABLE_TEST_LDADD)
tests_test_two_level_iter_SOURCES = tests/test_two_level_iter.c $(TEST_UTIL)
tests_test_two_level_iter_CFLAGS = $(TEST_CFLAGS)
tests_test_two_level_iter_LDADD = $(SSTABLE_TEST_LDADD)
tests_test_table_cache_SOURCES = tests/test_table_cache.c $(TABLE_TEST_HELPERS) $(TEST_UTIL)
tests_test_table_cache_CFLAGS = $(TEST_CFLAGS)
tests_test_table_cache_LDADD = $(SSTABLE_TEST_LDADD)
tests_test_table_filter_SOURCES = tests/test_table_filter.c $(TABLE_TEST_HELPERS) $(TEST_UTIL)
tests_test_table_filter_CFLAGS = $(TEST_CFLAGS)
tests_test_table_filter_LDADD = $(SSTABLE_TEST_LDADD)
TSAN_TESTS += tests/test_table_cache
if HAVE_LEVELDB
# Reads tables that Debian's real libleveldb writes (plain build only).
if !TSAN
check_PROGRAMS += tests/test_table_leveldb
tests_test_table_leveldb_SOURCES = tests/test_table_leveldb.c $(TEST_UTIL)
tests_test_table_leveldb_CFLAGS = $(TEST_CFLAGS)
tests_test_table_leveldb_LDADD = $(SSTABLE_TEST_LDADD) -lleveldb
endif
endif
endif
