#!/bin/sh
# Every citation of a documentation section in the sources and the docs,
# written as doc/NAME.md, "Section" (a comment may break it across lines),
# names a heading that exists in that file. Keeps comments from pointing at
# sections that were renamed or never written.
set -eu
src=${SHALE_SRCDIR:-${srcdir:-.}}
cd "$src"
refs=$(find include lib wal memtable sstable compaction compat tests examples benchmarks doc README.md \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.md' \) 2>/dev/null |
	while read -r f; do
		# join comment continuation lines so a citation split over two reads whole
		sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[[:space:]]*\*[[:space:]]*/ /g' -e 's/\n/ /g' "$f" |
			grep -oE 'doc/[a-z-]+\.md`?, "[^"]+"' | sed "s|^|$f: |" || true
	done)
status=0
checked=0
while IFS= read -r line; do
	[ -n "$line" ] || continue
	where=${line%%: doc/*}
	ref=${line#*: }
	doc=$(printf '%s\n' "$ref" | sed -E 's/^(doc\/[a-z-]+\.md).*/\1/')
	section=$(printf '%s\n' "$ref" | sed -E 's/^[^"]*"([^"]+)".*/\1/')
	checked=$((checked + 1))
	if [ ! -f "$doc" ]; then
		echo "$where: cites $doc, which does not exist"
		status=1
	elif ! grep -qxF -e "## $section" -e "### $section" -e "# $section" "$doc"; then
		echo "$where: cites $doc, \"$section\": no such heading"
		status=1
	fi
done <<EOF2
$refs
EOF2
echo "$checked citations checked"
exit $status
