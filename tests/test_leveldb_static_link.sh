#!/bin/sh
# libshale-leveldb exports only leveldb_* symbols, from the shared library
# (-export-symbols-regex) and the static one (scripts/localize-static), and
# shale-leveldb.pc gives what a link needs:
#  1. nm lists no global symbol that is not leveldb_* in libshale-leveldb.so
#     or libshale-leveldb.a;
#  2. a program written for leveldb/c.h that defines names libshale-leveldb
#     and libshale use inside (compat_error, compat_options_resolve,
#     mutex_lock) links against libshale-leveldb.a and libshale.a, and runs;
#  3. the same program links with what `pkg-config --static` gives from the
#     build's shale-leveldb.pc (which Requires: shale), the static archives
#     named in place of -lshale-leveldb and -lshale, and its Cflags find
#     shale's leveldb/c.h.
# Skipped (77) without a static library (--disable-static).
set -eu
build=${SHALE_BUILDDIR:?run by make check}
src=${SHALE_SRCDIR:?run by make check}
nm=${SHALE_NM:-nm}

so="$build/.libs/libshale-leveldb.so"
if [ -f "$so" ]; then
	leaked=$($nm -D --defined-only "$so" | awk 'NF >= 3 && $3 !~ /^leveldb_/ { print $3 }')
	if [ -n "$leaked" ]; then
		echo "libshale-leveldb.so exports symbols that are not leveldb_*:" $leaked
		exit 1
	fi
	echo "libshale-leveldb.so exports only leveldb_* symbols ($($nm -D --defined-only "$so" | grep -c ' leveldb_'))"
fi
lib="$build/.libs/libshale-leveldb.a"
if [ ! -f "$lib" ]; then
	echo "no static library (configured with --disable-static?): skipped"
	exit 77
fi
leaked=$($nm -g --defined-only "$lib" | awk 'NF >= 3 && $3 !~ /^leveldb_/ { print $3 }')
if [ -n "$leaked" ]; then
	echo "libshale-leveldb.a exports symbols that are not leveldb_*:" $leaked
	exit 1
fi
echo "libshale-leveldb.a exports only leveldb_* symbols"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shale-ldbstatic-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cat >"$tmp/clash.c" <<'PROGRAM'
/* Names the libraries use inside, defined here with other meanings. */
#include <leveldb/c.h>
#include <stdio.h>
#include <string.h>
#ifndef SHALE_LEVELDB_C_H
#error this is not shale's leveldb/c.h
#endif

int compat_error(int x);
int compat_options_resolve(int x);
int mutex_lock(int x);

int compat_error(int x) { return x + 1; }
int compat_options_resolve(int x) { return x * 2; }
int mutex_lock(int x) { return x - 1; }

int main(int argc, char **argv)
{
	char *err = NULL;
	size_t n = 0;
	if (argc != 2 || compat_error(1) != 2 || compat_options_resolve(3) != 6 || mutex_lock(5) != 4)
		return 2;
	leveldb_options_t *o = leveldb_options_create();
	leveldb_options_set_create_if_missing(o, 1);
	leveldb_t *db = leveldb_open(o, argv[1], &err);
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	if (db != NULL)
		leveldb_put(db, wo, "k", 1, "v", 1, &err);
	char *v = err ? NULL : leveldb_get(db, ro, "k", 1, &n, &err);
	if (v == NULL || n != 1 || memcmp(v, "v", 1) != 0) {
		fprintf(stderr, "%s\n", err ? err : "wrong value");
		return 1;
	}
	leveldb_free(v);
	leveldb_close(db);
	leveldb_destroy_db(o, argv[1], &err);
	if (err) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	leveldb_options_destroy(o);
	leveldb_writeoptions_destroy(wo);
	leveldb_readoptions_destroy(ro);
	printf("a program with its own compat_error and mutex_lock runs on libshale-leveldb.a (API %d.%d)\n",
	       leveldb_major_version(), leveldb_minor_version());
	return 0;
}
PROGRAM

# shellcheck disable=SC2086 # the flags are lists
${SHALE_CC:-cc} $SHALE_CFLAGS -I"$src/compat" -o "$tmp/clash" "$tmp/clash.c" "$lib" "$build/.libs/libshale.a" \
	$SHALE_LDFLAGS $SHALE_STATIC_LIBS
"$tmp/clash" "$tmp/db"

if ! command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1; then
	echo "pkg-config is not installed: the shale-leveldb.pc check is skipped"
	exit 0
fi
# An include folder laid out as make install lays it out.
mkdir -p "$tmp/include/shale/leveldb"
cp "$src/include/shale.h" "$tmp/include/"
cp "$src/compat/leveldb/c.h" "$tmp/include/shale/leveldb/"
flags=$(PKG_CONFIG_PATH="$build" "${PKG_CONFIG:-pkg-config}" --static --cflags --libs \
	--define-variable=includedir="$tmp/include" --define-variable=libdir="$build/.libs" shale-leveldb)
echo "pkg-config --static --cflags --libs shale-leveldb: $flags"
for want in -lshale-leveldb -lshale "-I$tmp/include/shale"; do
	case " $flags " in
	*" $want "*) ;;
	*) echo "shale-leveldb.pc: no $want"; exit 1 ;;
	esac
done
flags=$(printf '%s\n' "$flags" | sed -e 's/\(^\| \)-lshale-leveldb\( \|$\)/\1-l:libshale-leveldb.a\2/' \
	-e 's/\(^\| \)-lshale\( \|$\)/\1-l:libshale.a\2/')
# shellcheck disable=SC2086
${SHALE_CC:-cc} $SHALE_CFLAGS -o "$tmp/clash-pc" "$tmp/clash.c" $flags $SHALE_LDFLAGS
"$tmp/clash-pc" "$tmp/db2"
