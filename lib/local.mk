noinst_LTLIBRARIES += libshale_db.la
libshale_core_la_LIBADD += libshale_db.la
libshale_db_la_SOURCES = \
	lib/checkpoint.c \
	lib/db_compact.c \
	lib/db_files.c \
	lib/db_flush.c \
	lib/db_iter.c \
	lib/db_open.c \
	lib/db_props.c \
	lib/db_read.c \
	lib/db_write.c \
	lib/merger.c \
	lib/options.c \
	lib/version.c \
	lib/version_edit.c \
	lib/version_set.c \
	lib/write_batch.c

noinst_HEADERS += \
	lib/db_compact.h \
	lib/db_impl.h \
	lib/merger.h \
	lib/options.h \
	lib/version_edit.h \
	lib/version_set.h \
	lib/write_batch.h
