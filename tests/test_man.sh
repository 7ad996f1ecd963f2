#!/bin/sh
# Lints the man page shale(1) with mandoc (Debian's package mandoc) at its
# strictest level (-W style) and fails on any message, but one: a reference
# to libshale(3), which lives outside this page and need not be installed
# where the test runs ("referenced manual not found" is about the system's
# manual path, not about the page). Skipped (77) when mandoc is absent;
# scripts/install-deps installs it.
set -u
page=${SHALE_MAN:-$(dirname "$0")/../tools/shale.1}
if ! command -v mandoc >/dev/null 2>&1; then
	echo "test_man: mandoc not found: skipped (scripts/install-deps installs it)"
	exit 77
fi
if [ ! -f "$page" ]; then
	echo "test_man: $page: no such file"
	exit 99
fi
out=$(mandoc -Tlint -W style "$page" 2>&1 | grep -v 'STYLE: referenced manual not found: Xr libshale 3')
if [ -n "$out" ]; then
	echo "test_man: mandoc -Tlint reports on $page:"
	echo "$out"
	exit 1
fi
# The page renders, and says what the tool's help says about escaping.
text=$(mandoc -Tmarkdown "$page")
for want in 'ESCAPING' 'EXIT STATUS' 'BSD 3-Clause' 'The shale authors' 'dump-manifest'; do
	case $text in
	*"$want"*) ;;
	*)
		echo "test_man: the rendered page lacks \"$want\""
		exit 1
		;;
	esac
done
echo "test_man: $page is clean"
