#!/bin/sh
# libshale.a exposes only shale_* symbols, as libshale.so does
# (scripts/localize-static), and shale.pc gives what a static link needs:
#  1. nm lists no global symbol in libshale.a that is not shale_*;
#  2. a program that defines mutex_lock, hash32 and cache_create of its own
#     (shale has internal functions of those names, with other signatures)
#     links against libshale.a, calls its own functions and shale's, and runs;
#  3. the same program links with the flags `pkg-config --static` gives from
#     the build's shale.pc (libshale.a named in place of -lshale).
# Skipped (77) without a static library (--disable-static).
set -eu
build=${SHALE_BUILDDIR:?run by make check}
src=${SHALE_SRCDIR:?run by make check}
lib="$build/.libs/libshale.a"
if [ ! -f "$lib" ]; then
	echo "no static library (configured with --disable-static?): skipped"
	exit 77
fi

leaked=$(${SHALE_NM:-nm} -g --defined-only "$lib" | awk 'NF >= 3 && $3 !~ /^shale_/ { print $3 }')
if [ -n "$leaked" ]; then
	echo "libshale.a exports symbols that are not shale_*:" $leaked
	exit 1
fi
echo "libshale.a exports only shale_* symbols"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shale-static-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cat >"$tmp/clash.c" <<'PROGRAM'
/* Names shale uses inside, defined here with other meanings. */
#include <stdio.h>
#include <string.h>
#include <shale.h>

int mutex_lock(int x);
unsigned hash32(const char *s);
void *cache_create(void);

int mutex_lock(int x) { return x + 1; }
unsigned hash32(const char *s) { unsigned h = 7; while (*s) h = h * 31 + (unsigned char)*s++; return h; }
void *cache_create(void) { static int c = 5; return &c; }

int main(int argc, char **argv)
{
	if (argc != 2 || mutex_lock(41) != 42 || hash32("a") != 7u * 31 + 'a' || *(int *)cache_create() != 5)
		return 2;
	shale_options *o = shale_options_create();
	shale_db *db;
	void *v = NULL;
	size_t n = 0;
	if (o == NULL)
		return 3;
	shale_options_set_create_if_missing(o, 1);
	if (shale_open(argv[1], o, &db) != SHALE_OK || shale_put(db, NULL, "k", 1, "v", 1) != SHALE_OK ||
	    shale_get(db, NULL, "k", 1, &v, &n) != SHALE_OK || n != 1 || memcmp(v, "v", 1) != 0) {
		fprintf(stderr, "%s\n", shale_errmsg());
		return 1;
	}
	shale_free(v);
	if (shale_close(db) != SHALE_OK || shale_destroy_db(argv[1], NULL) != SHALE_OK) {
		fprintf(stderr, "%s\n", shale_errmsg());
		return 1;
	}
	shale_options_destroy(o);
	printf("a program with its own mutex_lock, hash32 and cache_create runs on libshale.a\n");
	return 0;
}
PROGRAM

# shellcheck disable=SC2086 # the flags are lists
${SHALE_CC:-cc} $SHALE_CFLAGS -I"$src/include" -o "$tmp/clash" "$tmp/clash.c" "$lib" \
	$SHALE_LDFLAGS $SHALE_STATIC_LIBS
"$tmp/clash" "$tmp/db"

if ! command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1; then
	echo "pkg-config is not installed: the shale.pc check is skipped"
	exit 0
fi
flags=$(PKG_CONFIG_PATH="$build" "${PKG_CONFIG:-pkg-config}" --static --cflags --libs \
	--define-variable=includedir="$src/include" --define-variable=libdir="$build/.libs" shale)
echo "pkg-config --static --cflags --libs shale: $flags"
case " $flags " in
*" -lshale "*) ;;
*) echo "shale.pc: no -lshale"; exit 1 ;;
esac
flags=$(printf '%s\n' "$flags" | sed 's/\(^\| \)-lshale\( \|$\)/\1-l:libshale.a\2/')
# shellcheck disable=SC2086
${SHALE_CC:-cc} $SHALE_CFLAGS -o "$tmp/clash-pc" "$tmp/clash.c" $flags $SHALE_LDFLAGS
"$tmp/clash-pc" "$tmp/db2"
