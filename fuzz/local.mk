# Fuzzing (issue 12). One fuzz/fuzz_<name>.c per target, each defining
# LLVMFuzzerTestOneInput:
#   wal_reader    log files (WAL and MANIFEST format), both verify modes
#   write_batch   write-batch decoding (batch_iterate, batch_check)
#   version_edit  version-edit decoding, re-encoded and decoded again
#   block         block decoding, iteration both ways, seeks
#   table         table_open, full iteration both ways, gets
#   db_open       a directory of fuzzed files opened and read whole
#   api_model     the public API driven by the input against a model
# With --enable-fuzzing (clang) they are built as libFuzzer programs
# fuzz/fuzz_<name> (scripts/fuzz runs them). In every build, make check
# builds fuzz/replay_<name> (a plain main, fuzz/replay.c) and runs it over
# fuzz/corpus/<name>/: the seeds and every input that ever crashed a target.
# fuzz/seedgen (make fuzz/seedgen; not built by default) writes the seeds.
FUZZ_COMMON = fuzz/fuzz.h fuzz/fuzz_util.c
FUZZ_LDADD = libshale_core.la $(CODEC_LIBS)
EXTRA_DIST += fuzz/corpus

EXTRA_PROGRAMS = fuzz/seedgen
fuzz_seedgen_SOURCES = fuzz/seedgen.c $(FUZZ_COMMON)
fuzz_seedgen_LDADD = $(FUZZ_LDADD)
CLEANFILES += $(EXTRA_PROGRAMS)

if FUZZING
noinst_PROGRAMS += fuzz/fuzz_wal_reader
fuzz_fuzz_wal_reader_SOURCES = fuzz/fuzz_wal_reader.c $(FUZZ_COMMON)
fuzz_fuzz_wal_reader_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_wal_reader_LDADD = $(FUZZ_LDADD)
noinst_PROGRAMS += fuzz/fuzz_write_batch
fuzz_fuzz_write_batch_SOURCES = fuzz/fuzz_write_batch.c $(FUZZ_COMMON)
fuzz_fuzz_write_batch_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_write_batch_LDADD = $(FUZZ_LDADD)
noinst_PROGRAMS += fuzz/fuzz_version_edit
fuzz_fuzz_version_edit_SOURCES = fuzz/fuzz_version_edit.c $(FUZZ_COMMON)
fuzz_fuzz_version_edit_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_version_edit_LDADD = $(FUZZ_LDADD)
noinst_PROGRAMS += fuzz/fuzz_block
fuzz_fuzz_block_SOURCES = fuzz/fuzz_block.c $(FUZZ_COMMON)
fuzz_fuzz_block_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_block_LDADD = $(FUZZ_LDADD)
noinst_PROGRAMS += fuzz/fuzz_table
fuzz_fuzz_table_SOURCES = fuzz/fuzz_table.c $(FUZZ_COMMON)
fuzz_fuzz_table_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_table_LDADD = $(FUZZ_LDADD)
noinst_PROGRAMS += fuzz/fuzz_db_open
fuzz_fuzz_db_open_SOURCES = fuzz/fuzz_db_open.c $(FUZZ_COMMON)
fuzz_fuzz_db_open_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_db_open_LDADD = $(FUZZ_LDADD)
noinst_PROGRAMS += fuzz/fuzz_api_model
fuzz_fuzz_api_model_SOURCES = fuzz/fuzz_api_model.c $(FUZZ_COMMON)
fuzz_fuzz_api_model_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_api_model_LDADD = $(FUZZ_LDADD)
endif

# The corpus replays (tests); the corpus folder is compiled in. The two
# longest first (Makefile.am: they start first under make -j).
check_PROGRAMS += fuzz/replay_api_model
fuzz_replay_api_model_SOURCES = fuzz/fuzz_api_model.c fuzz/replay.c $(FUZZ_COMMON)
fuzz_replay_api_model_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/fuzz/corpus/api_model"'
fuzz_replay_api_model_LDADD = $(FUZZ_LDADD)
check_PROGRAMS += fuzz/replay_db_open
fuzz_replay_db_open_SOURCES = fuzz/fuzz_db_open.c fuzz/replay.c $(FUZZ_COMMON)
fuzz_replay_db_open_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/fuzz/corpus/db_open"'
fuzz_replay_db_open_LDADD = $(FUZZ_LDADD)
check_PROGRAMS += fuzz/replay_wal_reader
fuzz_replay_wal_reader_SOURCES = fuzz/fuzz_wal_reader.c fuzz/replay.c $(FUZZ_COMMON)
fuzz_replay_wal_reader_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/fuzz/corpus/wal_reader"'
fuzz_replay_wal_reader_LDADD = $(FUZZ_LDADD)
check_PROGRAMS += fuzz/replay_write_batch
fuzz_replay_write_batch_SOURCES = fuzz/fuzz_write_batch.c fuzz/replay.c $(FUZZ_COMMON)
fuzz_replay_write_batch_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/fuzz/corpus/write_batch"'
fuzz_replay_write_batch_LDADD = $(FUZZ_LDADD)
check_PROGRAMS += fuzz/replay_version_edit
fuzz_replay_version_edit_SOURCES = fuzz/fuzz_version_edit.c fuzz/replay.c $(FUZZ_COMMON)
fuzz_replay_version_edit_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/fuzz/corpus/version_edit"'
fuzz_replay_version_edit_LDADD = $(FUZZ_LDADD)
check_PROGRAMS += fuzz/replay_block
fuzz_replay_block_SOURCES = fuzz/fuzz_block.c fuzz/replay.c $(FUZZ_COMMON)
fuzz_replay_block_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/fuzz/corpus/block"'
fuzz_replay_block_LDADD = $(FUZZ_LDADD)
check_PROGRAMS += fuzz/replay_table
fuzz_replay_table_SOURCES = fuzz/fuzz_table.c fuzz/replay.c $(FUZZ_COMMON)
fuzz_replay_table_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/fuzz/corpus/table"'
fuzz_replay_table_LDADD = $(FUZZ_LDADD)
