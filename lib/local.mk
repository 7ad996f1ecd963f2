noinst_LTLIBRARIES += libshale_db.la
libshale_core_la_LIBADD += libshale_db.la
libshale_db_la_SOURCES = \
	lib/version.c
