noinst_LTLIBRARIES += libshale_compaction.la
libshale_core_la_LIBADD += libshale_compaction.la
libshale_compaction_la_SOURCES = \
	compaction/compaction.c \
	compaction/compaction_job.c

noinst_HEADERS += \
	compaction/compaction.h
