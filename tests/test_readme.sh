#!/bin/sh
# The README's example is examples/readme_example.c, word for word, so the
# example that make check compiles and runs is the one people read.
set -eu
src=${SHALE_SRCDIR:-${srcdir:-.}}
tmp=$(mktemp "${TMPDIR:-/tmp}/shale-readme-XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM
awk '
	/^<!-- The code below is examples\/readme_example\.c/ { marked = 1; next }
	marked && !inside && /^```c$/ { inside = 1; next }
	inside && /^```$/ { exit }
	inside { print }
' "$src/README.md" >"$tmp"
if [ ! -s "$tmp" ]; then
	echo "README.md: no code block after the readme_example.c marker" >&2
	exit 1
fi
if ! diff -u "$src/examples/readme_example.c" "$tmp"; then
	echo "README.md's example and examples/readme_example.c differ (above)" >&2
	exit 1
fi
