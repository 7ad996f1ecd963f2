noinst_LTLIBRARIES += libshale_wal.la
libshale_core_la_LIBADD += libshale_wal.la
libshale_wal_la_SOURCES = \
	wal/wal_reader.c \
	wal/wal_writer.c

noinst_HEADERS += \
	wal/wal_format.h \
	wal/wal_reader.h \
	wal/wal_writer.h
