#!/bin/sh
# One database, written and read in turn by Debian's real libleveldb and by
# libshale-leveldb, through one program of LevelDB's C API linked to each
# (tests/leveldb_c_interop.c): real LevelDB writes (tables in several
# levels, snappy, a filter) and shale checks every key and both scans; shale
# writes more and LevelDB checks; LevelDB again, then shale; and a database
# shale created, checked by LevelDB. With the bloom filter and with a custom
# filter policy, whose blocks each library must find under the policy's
# name in the other's tables.
set -eu
build=${SHALE_BUILDDIR:?run by make check}
real="$build/tests/leveldb_c_interop_real"
shale="$build/tests/leveldb_c_interop_shale"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shale-ldbcompat-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

run() { # who command dir phase policy
	who=$1
	shift
	echo "--- $who $*"
	if [ "$who" = leveldb ]; then "$real" "$@"; else "$shale" "$@"; fi
}

for policy in bloom custom; do
	db="$tmp/from-leveldb-$policy"
	run leveldb write "$db" 1 $policy
	run shale check "$db" 1 $policy
	run shale write "$db" 2 $policy
	run leveldb check "$db" 2 $policy
	run leveldb write "$db" 3 $policy
	run shale check "$db" 3 $policy

	db="$tmp/from-shale-$policy"
	run shale write "$db" 1 $policy
	run leveldb check "$db" 1 $policy
done
echo "LevelDB and libshale-leveldb read each other's databases"
