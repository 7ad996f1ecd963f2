# Example programs: small, complete, the public header only, linked against
# libshale as an application would be. make check builds and runs each one
# (a fresh database in a temporary directory, removed at the end), so they
# never rot; readme_example.c is also the README's example, word for word
# (tests/test_readme.sh checks that).
SHALE_EXAMPLES = \
	examples/readme_example \
	examples/put_get_delete \
	examples/batch \
	examples/scans \
	examples/snapshot_thread \
	examples/comparator
check_PROGRAMS += $(SHALE_EXAMPLES)
examples_readme_example_SOURCES = examples/readme_example.c
examples_readme_example_LDADD = libshale.la
examples_put_get_delete_SOURCES = examples/put_get_delete.c
examples_put_get_delete_LDADD = libshale.la
examples_batch_SOURCES = examples/batch.c
examples_batch_LDADD = libshale.la
examples_scans_SOURCES = examples/scans.c
examples_scans_LDADD = libshale.la
examples_snapshot_thread_SOURCES = examples/snapshot_thread.c
examples_snapshot_thread_LDADD = libshale.la
examples_snapshot_thread_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_CFLAGS)
examples_comparator_SOURCES = examples/comparator.c
examples_comparator_LDADD = libshale.la
# A reader and a writer thread: worth running under ThreadSanitizer too.
TSAN_TESTS += examples/snapshot_thread
