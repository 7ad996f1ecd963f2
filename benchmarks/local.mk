# Benchmarks. Each says in its header comment whether it needs internal headers.
noinst_PROGRAMS += benchmarks/wal_bench
benchmarks_wal_bench_SOURCES = benchmarks/wal_bench.c
benchmarks_wal_bench_LDADD = libshale_core.la $(CODEC_LIBS)

# memtable_bench: the memtable module alone (internal headers).
noinst_PROGRAMS += benchmarks/memtable_bench
benchmarks_memtable_bench_SOURCES = benchmarks/memtable_bench.c
benchmarks_memtable_bench_LDADD = libshale_memtable.la libshale_util.la

# shale_bench: db_bench-style benchmark of the whole engine (public header
# only), and the side-by-side comparison with the other engines configure
# found (engine_<name>.c). Nothing else links those engines' libraries.
noinst_PROGRAMS += benchmarks/shale_bench
benchmarks_shale_bench_SOURCES = benchmarks/shale_bench.c \
	benchmarks/compare.c benchmarks/compare.h \
	benchmarks/engine.c benchmarks/engine.h benchmarks/engine_shale.c \
	benchmarks/latency.c benchmarks/latency.h benchmarks/procstat.c benchmarks/procstat.h
benchmarks_shale_bench_LDADD = libshale.la $(CODEC_LIBS) -lm
if BENCH_LEVELDB
benchmarks_shale_bench_SOURCES += benchmarks/engine_leveldb.c
benchmarks_shale_bench_LDADD += -lleveldb
endif
if BENCH_ROCKSDB
benchmarks_shale_bench_SOURCES += benchmarks/engine_rocksdb.c
benchmarks_shale_bench_LDADD += -lrocksdb
endif
if BENCH_LMDB
benchmarks_shale_bench_SOURCES += benchmarks/engine_lmdb.c
benchmarks_shale_bench_LDADD += -llmdb
endif
if BENCH_WIREDTIGER
benchmarks_shale_bench_SOURCES += benchmarks/engine_wiredtiger.c
benchmarks_shale_bench_LDADD += -lwiredtiger
endif

# space_bench: bytes on disk after churn and a full compaction vs a fresh copy (public header only).
noinst_PROGRAMS += benchmarks/space_bench
benchmarks_space_bench_SOURCES = benchmarks/space_bench.c
benchmarks_space_bench_LDADD = libshale.la $(CODEC_LIBS)

# leveldb_c_bench: one workload through LevelDB's C API (fill, random
# reads, a scan), compiled once against Debian's leveldb/c.h and linked
# twice: with libleveldb and with libshale-leveldb (doc/leveldb-compat.md).
if BENCH_LEVELDB
noinst_PROGRAMS += benchmarks/leveldb_c_bench_real benchmarks/leveldb_c_bench_shale
benchmarks_leveldb_c_bench_real_SOURCES = benchmarks/leveldb_c_bench.c
benchmarks_leveldb_c_bench_real_LDADD = -lleveldb
benchmarks_leveldb_c_bench_shale_SOURCES = benchmarks/leveldb_c_bench.c
benchmarks_leveldb_c_bench_shale_LDADD = libshale-leveldb.la
endif
