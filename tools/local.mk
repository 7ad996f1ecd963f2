# The shale command-line tool (shale(1)), linked against the static
# convenience library libshale_core.la: the installed binary needs no
# libshale.so at run time.
bin_PROGRAMS = tools/shale
tools_shale_SOURCES = \
	tools/shale.c \
	tools/cli.h \
	tools/cmd_admin.c \
	tools/cmd_data.c \
	tools/escape.c \
	tools/escape.h \
	tools/progress.c \
	tools/progress.h
tools_shale_LDADD = libshale_core.la $(CODEC_LIBS)

