#!/bin/sh
# The manual pages (shale(1), libshale(3)) pass `mandoc -Tlint -W style`, its
# strictest level, without a single message. One exception: a cross-reference
# to another page of this project is not found in the system's manual path
# until shale is installed, so that one note is ignored. shale(1) also
# renders and says what the tool's help says. Skipped (77) when mandoc is not
# installed (scripts/install-deps installs it).
set -eu
src=${SHALE_SRCDIR:-${srcdir:-.}}
pages=${SHALE_MAN_PAGES:-tools/shale.1 doc/libshale.3}
if ! command -v mandoc >/dev/null 2>&1; then
	echo "mandoc is not installed: skipped"
	exit 77
fi
status=0
for page in $pages; do
	out=$(mandoc -Tlint -W style "$src/$page" 2>&1 |
		grep -v -E 'STYLE: referenced manual not found: Xr (shale 1|libshale 3)( \([0-9]+ times\))?$' || true)
	if [ -n "$out" ]; then
		echo "test_man: mandoc -Tlint reports on $page:"
		echo "$out"
		status=1
	fi
done
text=$(mandoc -Tmarkdown "$src/tools/shale.1")
for want in 'ESCAPING' 'EXIT STATUS' 'BSD 3-Clause' 'The shale authors' 'dump-manifest'; do
	case $text in
	*"$want"*) ;;
	*)
		echo "test_man: the rendered shale(1) lacks \"$want\""
		status=1
		;;
	esac
done
exit $status
