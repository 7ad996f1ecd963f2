#!/bin/sh
# Tests of the shale command-line tool (tools/shale, shale(1)): every command
# through its exit status and output. The tool is $SHALE_TOOL (set by
# `make check`), else tools/shale under the current directory.
#
# Covered: --help of every command and bad usage; put/get/delete; scan
# ranges, prefixes, reverse, limits, keys-only, hex; load -> dump -> load ->
# dump of binary keys and values (escaped and hex) and load's refusals;
# stats; compact; checkpoint; destroy; verify on a healthy database and
# finding a flipped byte in a table, in a WAL and in the MANIFEST, and a
# missing table; repair after the MANIFEST is deleted and of a damaged
# table; the inspectors on real files, healthy and damaged; the reading
# commands on a database another process holds.
set -u

SHALE=${SHALE_TOOL:-$(pwd)/tools/shale}
if [ ! -x "$SHALE" ]; then
	echo "test_cli: $SHALE is not an executable (set SHALE_TOOL)"
	exit 99
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/shale-cli-XXXXXX") || exit 99
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

TAB=$(printf '\t')
failures=0
checks=0
current=

fail() {
	failures=$((failures + 1))
	echo "FAIL [$current]: $*"
}

# run STATUS ARGS...: runs the tool; stdout in $T/out, stderr in $T/err.
run() {
	want=$1
	shift
	checks=$((checks + 1))
	"$SHALE" "$@" >"$T/out" 2>"$T/err" </dev/null
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "shale $*: exit $got, want $want"
		sed 's/^/    stdout: /' "$T/out" | head -20
		sed 's/^/    stderr: /' "$T/err" | head -20
	fi
}

# out LINE...: stdout is exactly these lines.
out() {
	checks=$((checks + 1))
	: >"$T/want"
	for line in "$@"; do
		printf '%s\n' "$line" >>"$T/want"
	done
	if ! cmp -s "$T/want" "$T/out"; then
		fail "stdout differs (want, got):"
		diff "$T/want" "$T/out" | head -20 | sed 's/^/    /'
	fi
}

# has FILE TEXT: the file (out or err) holds TEXT (a fixed string).
has() {
	checks=$((checks + 1))
	if ! grep -F -q -- "$2" "$T/$1"; then
		fail "$1 lacks \"$2\":"
		head -20 "$T/$1" | sed 's/^/    /'
	fi
}

lacks() {
	checks=$((checks + 1))
	if grep -F -q -- "$2" "$T/$1"; then
		fail "$1 holds \"$2\""
	fi
}

empty() {
	checks=$((checks + 1))
	if [ -s "$T/$1" ]; then
		fail "$1 is not empty:"
		head -20 "$T/$1" | sed 's/^/    /'
	fi
}

same() {
	checks=$((checks + 1))
	if ! cmp -s "$1" "$2"; then
		fail "$1 and $2 differ"
		diff "$1" "$2" | head -10 | sed 's/^/    /'
	fi
}

# flip FILE OFFSET: flips the lowest bit of the byte at OFFSET.
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n')
	[ -n "$b" ] || { fail "flip: $1 has no byte at $2"; return; }
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

first_file() { # first_file DIR GLOB
	for f in "$1"/$2; do
		[ -e "$f" ] && { echo "$f"; return; }
	done
	echo "$1/none"
}

# ---------------------------------------------------------------------------
current="help"
for cmd in get put delete scan load dump stats compact checkpoint destroy repair verify \
	dump-wal dump-sst dump-manifest; do
	run 0 "$cmd" --help
	has out "usage: shale $cmd"
	has out "Options:"
	has out "Exit status:"
	empty err
	run 0 help "$cmd"
	has out "usage: shale $cmd"
done
run 0 --help
has out "usage: shale COMMAND DB"
has out "verify"
has out "\\xHH"
run 0 --version
has out "shale "

current="usage"
run 2
has err "usage: shale COMMAND"
run 2 frobnicate db
has err "frobnicate: unknown command"
run 2 get
has err "missing arguments"
run 2 get "$T/x" a b
has err "too many arguments"
run 2 scan "$T/x" --bogus
has err "--bogus: unknown option"
run 2 get "$T/x" k --yes
has err "--yes: not an option of get"
run 2 scan "$T/x" --limit many
has err "--limit many: not a count"
run 2 scan "$T/x" --from
has err "needs an argument"
run 2 get "$T/x" 'bad\q'
has err "unknown escape"
run 2 get "$T/x" abc --hex
has err "hex"

# ---------------------------------------------------------------------------
current="put/get/delete"
db=$T/db
run 2 put "$db" k v
has err "$db"
has err "--create"
run 0 put "$db" k v --create
empty out
empty err
run 0 get "$db" k
out "v"
run 1 get "$db" absent
empty out
has err "absent: not found"
run 0 put "$db" 'bin\x00\xff\\' 'tab\there\nnl' --sync
run 0 get "$db" 'bin\x00\xff\\'
out 'tab\there\nnl'
run 0 get "$db" 62696e00ff5c --hex
out "74616209686572650a6e6c"
run 0 put "$db" 00 "" --hex
run 0 get "$db" '\x00'
out ""
run 0 put "$db" -- -dash v
run 0 get "$db" -- -dash
out "v"
run 0 delete "$db" k
empty out
run 1 get "$db" k
run 0 delete "$db" never-there
run 2 get "$T/nothing" k
has err "$T/nothing"

# ---------------------------------------------------------------------------
current="scan"
sdb=$T/scan
printf 'a\t1\nab\t2\nabc\t3\nb\t4\nba\t5\nc\t6\n\\xfe\t7\n\\xff\t8\n\\xff\\x00\t9\n\\xff\\xff\t10\n' >"$T/scan.txt"
run 0 load "$sdb" "$T/scan.txt" --create
empty err
run 0 scan "$sdb" --keys-only
out a ab abc b ba c '\xfe' '\xff' '\xff\x00' '\xff\xff'
run 0 scan "$sdb" --to b
out "a${TAB}1" "ab${TAB}2" "abc${TAB}3"
run 0 scan "$sdb" --from b --to c --keys-only
out b ba
run 0 scan "$sdb" --from ab --to b --keys-only
out ab abc
run 0 scan "$sdb" --from c --to c
out
run 0 scan "$sdb" --from d --to a
out
run 0 scan "$sdb" --prefix a --keys-only
out a ab abc
run 0 scan "$sdb" --prefix a --from ab --keys-only
out ab abc
run 0 scan "$sdb" --prefix a --to abc --keys-only
out a ab
run 0 scan "$sdb" --prefix b --from a --to z --keys-only
out b ba
run 0 scan "$sdb" --prefix a --from b --keys-only
out
run 0 scan "$sdb" --prefix '\xff' --keys-only
out '\xff' '\xff\x00' '\xff\xff'
run 0 scan "$sdb" --prefix ff --hex
out "ff${TAB}38" "ff00${TAB}39" "ffff${TAB}3130"
run 0 scan "$sdb" --prefix zz
out
run 0 scan "$sdb" --reverse --keys-only --to b
out abc ab a
run 0 scan "$sdb" --reverse --limit 2 --keys-only
out '\xff\xff' '\xff\x00'
run 0 scan "$sdb" --reverse --prefix b
out "ba${TAB}5" "b${TAB}4"
run 0 scan "$sdb" --limit 3 --from ab
out "ab${TAB}2" "abc${TAB}3" "b${TAB}4"
run 0 scan "$sdb" --limit 0
out
run 0 scan "$sdb" --from '' --to ab --keys-only
out a
run 2 scan "$T/nothing"

# ---------------------------------------------------------------------------
current="load/dump round trip"
# Every byte value in keys and values, empty keys and values, long values.
awk 'BEGIN {
	for (i = 0; i < 256; i++) {
		printf "k\\x%02x\tv", i
		for (j = 0; j < 256; j += 17) printf "\\x%02x", (i + j) % 256
		printf "\n"
	}
	printf "\tempty key\n"
	printf "empty value\t\n"
	printf "back\\\\slash\\t\\n\\r\tx\\\\\n"
	s = ""; for (i = 0; i < 3000; i++) s = s "0123456789"
	printf "long\t%s\n", s
}' >"$T/bin.txt"
run 0 load "$T/rt1" "$T/bin.txt" --create
empty err
run 0 dump "$T/rt1" "$T/d1"
empty out
run 0 load "$T/rt2" "$T/d1" --create
run 0 dump "$T/rt2" -
cp "$T/out" "$T/d2"
same "$T/d1" "$T/d2"
checks=$((checks + 1))
[ "$(wc -l <"$T/d1")" -eq 260 ] || fail "dump has $(wc -l <"$T/d1") lines, want 260"
run 0 get "$T/rt1" ''
out "empty key"
run 0 get "$T/rt1" 'empty value'
out ""
run 0 get "$T/rt1" 6b0a --hex
out "760a1b2c3d4e5f708192a3b4c5d6e7f809"
run 0 get "$T/rt1" 'back\\slash\t\n\r'
out 'x\\'
# what dump prints for bytes: plain ASCII as is, the rest escaped
grep -F -q "k\\x00${TAB}v\\x00\\x11" "$T/d1" || fail "dump line of k\\x00"
grep -F -q "k~${TAB}v~" "$T/d1" || fail "dump line of k~ (0x7e is printed as is)"
grep -F -q "k\\x7f${TAB}" "$T/d1" || fail "dump line of k\\x7f"
grep -F -q "k\\t${TAB}v\\t" "$T/d1" || fail "dump line of k\\t"
grep -F -q "k\\\\${TAB}v\\\\" "$T/d1" || fail "dump line of k\\\\"
# hex: dump --hex -> load --hex -> the same database
run 0 dump "$T/rt1" "$T/h1" --hex
run 0 load "$T/rt3" "$T/h1" --hex --create
run 0 dump "$T/rt3" "$T/d3"
same "$T/d1" "$T/d3"
checks=$((checks + 1))
grep -q "^6b00${TAB}7600112233" "$T/h1" || fail "hex dump line of k\\x00"
grep -q '[A-F]' "$T/h1" && fail "hex dump is not lowercase"
# load from standard input
checks=$((checks + 1))
"$SHALE" load "$T/rt4" - --create <"$T/d1" >"$T/out" 2>"$T/err" || fail "load from stdin"
run 0 dump "$T/rt4" "$T/d4"
same "$T/d1" "$T/d4"

current="load refusals"
printf 'a\t1\nno tab here\nc\t3\n' >"$T/bad1"
run 2 load "$T/lb" "$T/bad1" --create
has err "$T/bad1:2: no tab"
has err "1 records written before the error"
run 0 scan "$T/lb"
out "a${TAB}1"
printf 'a\t1\tx\n' >"$T/bad2"
run 2 load "$T/lb" "$T/bad2"
has err "$T/bad2:1: column 4: a second tab"
printf 'a\\q\t1\n' >"$T/bad3"
run 2 load "$T/lb" "$T/bad3"
has err "unknown escape"
printf 'a\\x4\t1\n' >"$T/bad4"
run 2 load "$T/lb" "$T/bad4"
has err "\\x not followed by two hex digits"
printf 'a\t1\r\n' >"$T/bad5"
run 2 load "$T/lb" "$T/bad5"
has err "a byte that must be escaped"
printf 'a\t1\nb\t2' >"$T/bad6"
run 2 load "$T/lb" "$T/bad6"
has err "$T/bad6:2: no newline at the end"
printf '6\t00\n' >"$T/bad7"
run 2 load "$T/lb" "$T/bad7" --hex
has err "odd number of hex digits"
run 2 load "$T/lb" "$T/no-such-file"
has err "$T/no-such-file"
run 0 scan "$T/lb"
out "a${TAB}1"

# ---------------------------------------------------------------------------
current="stats/compact"
big=$T/big
pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
awk -v pad="$pad" 'BEGIN { for (i = 0; i < 60000; i++) printf "key%06d\tvalue-%06d-%s\n", i, i, pad }' >"$T/big.txt"
run 0 load "$big" "$T/big.txt" --create
empty err
run 0 stats "$big"
has out "Level"
has out "Files per level:"
has out "level 0: "
has out "level 6: "
has out "Approximate memory usage:"
run 0 compact "$big" --from key000100 --to key000200
empty out
empty err
run 0 compact "$big"
run 0 stats "$big" --files
has out "level 0: 0"
has out "Tables:"
has out "key0"
run 0 get "$big" key012345
out "value-012345-$pad"
run 2 compact "$T/nothing"
run 2 stats "$T/nothing"

current="checkpoint"
run 0 checkpoint "$big" "$T/ckpt"
empty err
run 0 dump "$big" "$T/big.d"
run 0 dump "$T/ckpt" "$T/ckpt.d"
same "$T/big.d" "$T/ckpt.d"
run 2 checkpoint "$big" "$T/ckpt"
has err "$T/ckpt"

# ---------------------------------------------------------------------------
current="verify"
run 0 verify "$big"
has out "no problems"
has out "$big: 1 MANIFEST"
run 0 verify "$db"
has out "no problems"
run 2 verify "$T/nothing"
mkdir "$T/notadb"
run 2 verify "$T/notadb"
has err "not a database"

current="verify: a flipped byte in a table"
cp -R "$big" "$T/vt"
tbl=$(first_file "$T/vt" '*.ldb')
flip "$tbl" 100
run 1 verify "$T/vt"
has out "$tbl: offset 0: data block: "
has out "checksum mismatch"
has out "1 problem"
run 1 dump-sst "$tbl"
has err "shale dump-sst: $tbl: offset 0: data block: "
has out "' @ "
run 1 dump-sst "$tbl" --stats
has out "(1 with problems)"

current="verify: a flipped byte in a WAL"
printf 'w1\tone\nw2\ttwo\nw3\tthree\n' >"$T/w.txt"
run 0 load "$T/vw" "$T/w.txt" --create
run 0 verify "$T/vw"
has out "no problems"
has out "(1 records)"
wal=$(first_file "$T/vw" '*.log')
run 0 dump-wal "$wal"
has out "--- offset 0: sequence 1, 3 operations"
has out "  put 'w2' => 'two'"
has out "--- 1 record, 3 operations, sequences 1..3"
empty err
flip "$wal" 20
run 1 verify "$T/vw"
has out "$wal: offset 0: checksum mismatch"
has out "1 problem"
run 1 dump-wal "$wal"
has err "shale dump-wal: $wal: offset 0: checksum mismatch"
run 2 dump-wal "$T/no-such.log"
has err "$T/no-such.log"

current="verify: a flipped byte in the MANIFEST"
cp -R "$big" "$T/vmf"
m=$(first_file "$T/vmf" 'MANIFEST-*')
flip "$m" 20
run 1 verify "$T/vmf"
has out "$m: offset 0: checksum mismatch"
has out "$m: note: damaged: every table and WAL in the directory is read"
lacks out "not read"
run 1 dump-manifest "$m"
has err "shale dump-manifest: $m: offset 0: checksum mismatch"

current="verify: a table the MANIFEST names is missing"
cp -R "$big" "$T/vm"
rm "$(first_file "$T/vm" '*.ldb')"
run 1 verify "$T/vm"
has out "but missing"

# ---------------------------------------------------------------------------
current="inspectors"
run 0 put "$T/vi" 'a\x01' 'b' --create
run 0 compact "$T/vi"
tbl=$(first_file "$T/vi" '*.ldb')
run 0 dump-sst "$tbl"
out "'a\\x01' @ 1 : put => 'b'"
run 0 dump-sst "$tbl" --hex
out "'6101' @ 1 : put => '62'"
run 0 delete "$T/vi" 'a\x01'
run 0 dump-wal "$(first_file "$T/vi" '*.log')"
has out "  del 'a\x01'"
run 0 dump-sst "$(first_file "$big" '*.ldb')" --stats
has out "entries: "
has out "data blocks: "
has out "compression ratio: "
has out "filter: leveldb.BuiltinBloomFilter2"
has out "smallest key: 'key"
run 0 dump-manifest "$(first_file "$big" 'MANIFEST-*')"
has out "--- offset 0: edit 1"
has out "comparator: leveldb.BytewiseComparator"
has out "add: level "
has out "--- the version "
run 0 dump-manifest "$(first_file "$T/vi" 'MANIFEST-*')"
has out "last sequence: "
run 1 dump-manifest "$wal"
has err "offset 0: "
run 2 dump-sst "$T"
has err "not a regular file"

# ---------------------------------------------------------------------------
current="repair after the MANIFEST is deleted"
cp -R "$big" "$T/rp"
run 0 dump "$T/rp" "$T/rp.before"
rm "$T/rp"/MANIFEST-*
run 1 verify "$T/rp"
has out "CURRENT: names MANIFEST-"
run 2 get "$T/rp" key000001
run 0 repair "$T/rp"
has out "repair of $T/rp"
has out "repaired $T/rp: nothing set aside"
run 0 dump "$T/rp" "$T/rp.after"
same "$T/rp.before" "$T/rp.after"
run 0 verify "$T/rp"
has out "no problems"

current="repair of a damaged table"
cp -R "$big" "$T/rt"
tbl=$(first_file "$T/rt" '*.ldb')
flip "$tbl" 100
run 0 repair "$T/rt"
has out "set aside in $T/rt/lost:"
has out "  $(basename "$tbl")"
checks=$((checks + 1))
[ -f "$T/rt/lost/$(basename "$tbl")" ] || fail "lost/ lacks the damaged table"
run 0 verify "$T/rt"
has out "no problems"
run 2 repair "$T/nothing"

# ---------------------------------------------------------------------------
current="a database another process holds"
live=$T/live
mkfifo "$T/fifo" || fail "mkfifo"
"$SHALE" load "$live" "$T/fifo" --create >"$T/holder.out" 2>&1 &
holder=$!
exec 3>"$T/fifo"
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "live%04d\tv%d\n", i, i }' >&3
tries=0
until "$SHALE" get "$live" live0999 >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ "$tries" -gt 300 ]; then
		fail "the holder's first batch never showed"
		break
	fi
	sleep 0.1
done
run 0 get "$live" live0500
out "v500"
run 0 scan "$live" --prefix live099 --keys-only
out live0990 live0991 live0992 live0993 live0994 live0995 live0996 live0997 live0998 live0999
run 0 dump "$live" -
checks=$((checks + 1))
[ "$(wc -l <"$T/out")" -eq 1000 ] || fail "dump of the live database: $(wc -l <"$T/out") lines"
run 0 stats "$live"
has out "Files per level:"
run 0 verify "$live"
has out "no problems"
run 0 dump-wal "$(first_file "$live" '*.log')"
has out "put 'live0999' => 'v999'"
run 0 dump-manifest "$(first_file "$live" 'MANIFEST-*')"
run 2 put "$live" x y
has err "$live"
run 2 checkpoint "$live" "$T/live-ckpt"
run 2 destroy "$live" --yes
exec 3>&-
checks=$((checks + 1))
wait "$holder" || fail "the holder (load from a FIFO) failed: $(cat "$T/holder.out")"
holder=
run 0 get "$live" live0001
out "v1"

# ---------------------------------------------------------------------------
current="destroy"
run 2 destroy "$live"
has err "give --yes"
checks=$((checks + 1))
[ -f "$live/CURRENT" ] || fail "destroy without --yes removed files"
run 0 destroy "$live" --yes
checks=$((checks + 1))
[ -e "$live" ] && fail "destroy left $live"
run 2 destroy "$live" --yes
run 2 destroy "$T/notadb" --yes
has err "not a database"
checks=$((checks + 1))
[ -d "$T/notadb" ] || fail "destroy removed a directory that is not a database"

echo "test_cli: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
