# The shale command-line tool (shale(1)). It is linked against the static
# convenience library libshale_core.la rather than the shared libshale: verify
# and the inspectors use internal readers whose symbols libshale does not
# export, and one copy of the library keeps one thread-local error message
# (shale_errmsg) for the public calls and the internal readers alike. The
# installed binary thus needs no libshale.so at run time.
bin_PROGRAMS = tools/shale
tools_shale_SOURCES = \
	tools/shale.c \
	tools/cli.h \
	tools/cmd_admin.c \
	tools/cmd_data.c \
	tools/cmd_inspect.c \
	tools/cmd_verify.c \
	tools/escape.c \
	tools/escape.h \
	tools/progress.c \
	tools/progress.h \
	tools/readers.c \
	tools/readers.h
tools_shale_LDADD = libshale_core.la $(CODEC_LIBS)

dist_man1_MANS = tools/shale.1

if HAVE_CHECK
# The tool's file readers on tables holding what the builder never writes.
check_PROGRAMS += tests/test_tool_readers
tests_test_tool_readers_SOURCES = tests/test_tool_readers.c tools/readers.c tools/readers.h \
	tools/escape.c tools/escape.h $(TEST_UTIL)
tests_test_tool_readers_CFLAGS = $(TEST_CFLAGS)
tests_test_tool_readers_LDADD = $(TEST_LDADD)
endif

# The tool's tests drive the built binary (SHALE_TOOL, set in Makefile.am's
# AM_TESTS_ENVIRONMENT); tests/test_man.sh lints its page with the others.
SCRIPT_TESTS += tests/test_cli.sh
