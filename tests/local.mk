# Check suites of the utilities and the WAL, and the integration tests. Each
# links the convenience libraries it needs so it can reach module internals.
if HAVE_CHECK
UTIL_TEST_LDADD = libshale_wal.la libshale_util.la $(CHECK_LIBS)

check_PROGRAMS += tests/test_util tests/test_env tests/test_wal tests/test_cache
tests_test_util_SOURCES = tests/test_util.c $(TEST_UTIL)
tests_test_util_CFLAGS = $(TEST_CFLAGS)
tests_test_util_LDADD = $(UTIL_TEST_LDADD)
tests_test_env_SOURCES = tests/test_env.c $(TEST_UTIL)
tests_test_env_CFLAGS = $(TEST_CFLAGS)
tests_test_env_LDADD = $(UTIL_TEST_LDADD)
tests_test_wal_SOURCES = tests/test_wal.c $(TEST_UTIL)
tests_test_wal_CFLAGS = $(TEST_CFLAGS)
tests_test_wal_LDADD = $(UTIL_TEST_LDADD)
tests_test_cache_SOURCES = tests/test_cache.c $(TEST_UTIL)
tests_test_cache_CFLAGS = $(TEST_CFLAGS)
tests_test_cache_LDADD = $(UTIL_TEST_LDADD)
TSAN_TESTS += tests/test_env tests/test_cache
endif
