# libshale-leveldb: LevelDB 1.23's C API (compat/leveldb/c.h) on shale's
# public API, for programs written against leveldb/c.h
# (doc/leveldb-compat.md). It links libshale (no second copy of the engine)
# and, like it, exports only its own prefix, leveldb_*, from the shared
# library (-export-symbols-regex) and the static one
# (scripts/localize-static, as for libshale.a). Its header installs where
# it cannot clash with LevelDB's: $(includedir)/shale/leveldb/c.h.
lib_LTLIBRARIES += libshale-leveldb.la
libshale_leveldb_la_SOURCES = \
	compat/c_batch.c \
	compat/c_db.c \
	compat/c_error.c \
	compat/c_internal.h \
	compat/c_iter.c \
	compat/c_options.c
libshale_leveldb_la_LIBADD = libshale.la
libshale_leveldb_la_LDFLAGS = -version-info $(SHALE_LT_VERSION) -export-symbols-regex '^leveldb_' -no-undefined

shaleleveldbincludedir = $(includedir)/shale/leveldb
shaleleveldbinclude_HEADERS = compat/leveldb/c.h
pkgconfig_DATA += shale-leveldb.pc
EXTRA_DIST += shale-leveldb.pc.in

libshale-leveldb-static.stamp: libshale-leveldb.la $(top_srcdir)/scripts/localize-static
	$(AM_V_GEN)$(SHELL) $(top_srcdir)/scripts/localize-static .libs/libshale-leveldb.a \
		'$(LD)' '$(OBJCOPY)' '$(AR)' '$(RANLIB)' '$(NM)' leveldb_ && touch $@
CLEANFILES += libshale-leveldb-static.stamp

# Only leveldb_* leaves either library; shale-leveldb.pc links statically.
SCRIPT_TESTS += tests/test_leveldb_static_link.sh
