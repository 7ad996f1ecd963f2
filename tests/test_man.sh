#!/bin/sh
# The manual pages pass `mandoc -Tlint` without a single message (errors,
# warnings and style notes alike). One exception: a cross-reference to
# another page of this project (shale(1), libshale(3)) is not found in the
# system's manual path until shale is installed, so that one note is
# ignored. Skipped (77) when mandoc is not installed (scripts/install-deps
# installs it).
set -eu
src=${SHALE_SRCDIR:-${srcdir:-.}}
pages=${SHALE_MAN_PAGES:-doc/libshale.3}
if ! command -v mandoc >/dev/null 2>&1; then
	echo "mandoc is not installed: skipped"
	exit 77
fi
status=0
for page in $pages; do
	out=$(mandoc -Tlint "$src/$page" 2>&1 |
		grep -v -E 'STYLE: referenced manual not found: Xr (shale 1|libshale 3)$' || true)
	if [ -n "$out" ]; then
		echo "$out"
		status=1
	fi
done
exit $status
