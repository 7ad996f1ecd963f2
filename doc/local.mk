# Documentation: the libshale(3) manual page and the documents installed
# under $(docdir) (README links to doc/*.md, so they keep their folder).
dist_man3_MANS = doc/libshale.3
dist_doc_DATA = README.md NEWS LICENSE
nobase_dist_doc_DATA = doc/api.md doc/design.md doc/format.md doc/tuning.md doc/performance.md \
	doc/reliability.md doc/leveldb-compat.md

# mandoc -Tlint says nothing about the manual pages; every doc/X.md, "Section"
# citation names a real heading; the README's example is examples/readme_example.c.
SCRIPT_TESTS += tests/test_man.sh tests/test_doc_refs.sh tests/test_readme.sh

# Remove the package's own folders, once empty: the documentation's and
# libshale-leveldb's header's (the shared ones, lib/ or man3/, stay).
uninstall-hook:
	-rmdir "$(DESTDIR)$(docdir)/doc" "$(DESTDIR)$(docdir)" 2>/dev/null
	-rmdir "$(DESTDIR)$(includedir)/shale/leveldb" "$(DESTDIR)$(includedir)/shale" 2>/dev/null
