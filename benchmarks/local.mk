# Benchmarks. Each says in its header comment whether it needs internal headers.
noinst_PROGRAMS += benchmarks/wal_bench
benchmarks_wal_bench_SOURCES = benchmarks/wal_bench.c
benchmarks_wal_bench_LDADD = libshale_core.la $(CODEC_LIBS)
