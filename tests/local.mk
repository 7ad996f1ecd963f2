# Check suites of the utilities and the WAL, and the integration tests. Each
# links the convenience libraries it needs so it can reach module internals.
if HAVE_CHECK
UTIL_TEST_LDADD = libshale_wal.la libshale_testing.la libshale_util.la $(CHECK_LIBS)

check_PROGRAMS += tests/test_util tests/test_env tests/test_wal tests/test_cache tests/test_bpool tests/test_worker
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
tests_test_bpool_SOURCES = tests/test_bpool.c $(TEST_UTIL)
tests_test_bpool_CFLAGS = $(TEST_CFLAGS)
tests_test_bpool_LDADD = $(UTIL_TEST_LDADD)
tests_test_worker_SOURCES = tests/test_worker.c $(TEST_UTIL)
tests_test_worker_CFLAGS = $(TEST_CFLAGS)
tests_test_worker_LDADD = $(UTIL_TEST_LDADD)
TSAN_TESTS += tests/test_env tests/test_cache tests/test_bpool tests/test_worker

# Integration tests of the database through the public API (and internals
# where a test needs a seam: the fault env, test hooks).
DB_TEST_SOURCES = tests/dbtest.c tests/dbtest.h tests/model.c tests/model.h $(TEST_UTIL)
# The rendezvous kit for the database's test hooks (threads held at hook points).
HOOKS_TEST_SOURCES = tests/hooks.c tests/hooks.h
check_PROGRAMS += tests/test_db
tests_test_db_SOURCES = tests/test_db.c $(DB_TEST_SOURCES)
tests_test_db_CFLAGS = $(TEST_CFLAGS)
tests_test_db_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test_db_crash
tests_test_db_crash_SOURCES = tests/test_db_crash.c $(DB_TEST_SOURCES)
tests_test_db_crash_CFLAGS = $(TEST_CFLAGS)
tests_test_db_crash_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test_db_errors
tests_test_db_errors_SOURCES = tests/test_db_errors.c $(HOOKS_TEST_SOURCES) $(DB_TEST_SOURCES)
tests_test_db_errors_CFLAGS = $(TEST_CFLAGS)
tests_test_db_errors_LDADD = $(TEST_LDADD)
TSAN_TESTS += tests/test_db_errors
check_PROGRAMS += tests/test_db_threads
tests_test_db_threads_SOURCES = tests/test_db_threads.c $(HOOKS_TEST_SOURCES) $(DB_TEST_SOURCES)
tests_test_db_threads_CFLAGS = $(TEST_CFLAGS)
tests_test_db_threads_LDADD = $(TEST_LDADD)
TSAN_TESTS += tests/test_db_threads
check_PROGRAMS += tests/test_db_wal
tests_test_db_wal_SOURCES = tests/test_db_wal.c $(DB_TEST_SOURCES)
tests_test_db_wal_CFLAGS = $(TEST_CFLAGS)
tests_test_db_wal_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test_api
tests_test_api_SOURCES = tests/test_api.c $(DB_TEST_SOURCES)
tests_test_api_CFLAGS = $(TEST_CFLAGS)
tests_test_api_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test_readonly
tests_test_readonly_SOURCES = tests/test_readonly.c $(DB_TEST_SOURCES)
tests_test_readonly_CFLAGS = $(TEST_CFLAGS)
tests_test_readonly_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test_db_faults
tests_test_db_faults_SOURCES = tests/test_db_faults.c $(HOOKS_TEST_SOURCES) $(DB_TEST_SOURCES)
tests_test_db_faults_CFLAGS = $(TEST_CFLAGS)
tests_test_db_faults_LDADD = $(TEST_LDADD)
TSAN_TESTS += tests/test_db_faults
check_PROGRAMS += tests/test_damage
tests_test_damage_SOURCES = tests/test_damage.c $(DB_TEST_SOURCES)
tests_test_damage_CFLAGS = $(TEST_CFLAGS)
tests_test_damage_LDADD = $(TEST_LDADD)
# The soaks (tests/soak.c): power cuts and SIGKILLs at random points of long
# workloads; short by default, long with flags (scripts/soak).
check_PROGRAMS += tests/soak
tests_soak_SOURCES = tests/soak.c tests/soak_workload.c tests/soak_workload.h $(TEST_UTIL)
tests_soak_CFLAGS = $(TEST_CFLAGS)
tests_soak_LDADD = $(TEST_LDADD)
TSAN_TESTS += tests/soak
check_PROGRAMS += tests/test_compaction
tests_test_compaction_SOURCES = tests/test_compaction.c $(DB_TEST_SOURCES)
tests_test_compaction_CFLAGS = $(TEST_CFLAGS)
tests_test_compaction_LDADD = $(TEST_LDADD)
check_PROGRAMS += tests/test_repair
tests_test_repair_SOURCES = tests/test_repair.c $(DB_TEST_SOURCES)
tests_test_repair_CFLAGS = $(TEST_CFLAGS)
tests_test_repair_LDADD = $(TEST_LDADD)
if HAVE_LEVELDB
if !TSAN
# Against Debian's real libleveldb (plain and ASan builds; CI runs it in the plain one).
check_PROGRAMS += tests/test_leveldb_interop
tests_test_leveldb_interop_SOURCES = tests/test_leveldb_interop.c $(DB_TEST_SOURCES)
tests_test_leveldb_interop_CFLAGS = $(TEST_CFLAGS)
tests_test_leveldb_interop_LDADD = $(TEST_LDADD) -lleveldb
endif
endif
endif

# LevelDB's C API (leveldb/c.h), doc/leveldb-compat.md. One test source,
# tests/test_leveldb_c_api.c, built twice: against libshale-leveldb with
# compat/leveldb/c.h (in every build: it needs no LevelDB), and against
# Debian's real libleveldb with its own header; both pass the same checks.
if HAVE_CHECK
check_PROGRAMS += tests/test_leveldb_c_api_shale
tests_test_leveldb_c_api_shale_SOURCES = tests/test_leveldb_c_api.c
tests_test_leveldb_c_api_shale_CPPFLAGS = -I$(top_srcdir)/compat $(AM_CPPFLAGS)
tests_test_leveldb_c_api_shale_CFLAGS = $(TEST_CFLAGS)
tests_test_leveldb_c_api_shale_LDADD = libshale-leveldb.la $(CHECK_LIBS)
if HAVE_LEVELDB
if !TSAN
check_PROGRAMS += tests/test_leveldb_c_api_real
tests_test_leveldb_c_api_real_SOURCES = tests/test_leveldb_c_api.c
tests_test_leveldb_c_api_real_CFLAGS = $(TEST_CFLAGS)
tests_test_leveldb_c_api_real_LDADD = -lleveldb $(CHECK_LIBS)
endif
endif
endif

# tests/leveldb_c_prog.c, a program of LevelDB's C API alone, is compiled
# once against Debian's leveldb/c.h (no per-program flags: one object) and
# linked twice, with libleveldb and with libshale-leveldb; each binary is a
# test that passes when it exits 0.
if HAVE_LEVELDB
if !TSAN
check_PROGRAMS += tests/leveldb_c_prog_real tests/leveldb_c_prog_shale
tests_leveldb_c_prog_real_SOURCES = tests/leveldb_c_prog.c
tests_leveldb_c_prog_real_LDADD = -lleveldb
tests_leveldb_c_prog_shale_SOURCES = tests/leveldb_c_prog.c
tests_leveldb_c_prog_shale_LDADD = libshale-leveldb.la
endif
endif

# tests/leveldb_c_interop.c, compiled once and linked twice as above;
# tests/test_leveldb_compat.sh runs each on the other's databases. (Not
# check_PROGRAMS, each of which make check runs as a test: these take
# arguments, so they are built with the rest.)
if HAVE_LEVELDB
if !TSAN
noinst_PROGRAMS += tests/leveldb_c_interop_real tests/leveldb_c_interop_shale
tests_leveldb_c_interop_real_SOURCES = tests/leveldb_c_interop.c
tests_leveldb_c_interop_real_LDADD = -lleveldb
tests_leveldb_c_interop_shale_SOURCES = tests/leveldb_c_interop.c
tests_leveldb_c_interop_shale_LDADD = libshale-leveldb.la
TESTS += tests/test_leveldb_compat.sh
endif
endif
EXTRA_DIST += tests/test_leveldb_compat.sh
