#!/bin/sh
# Purpose: write a man page for one of our commands from its own --help text, so the page can
# never disagree with the binary. Usage: manpage.sh BINARY NAME "ONE-LINE SUMMARY" OUT.gz
# The help text goes in verbatim (.nf), with roff's control characters escaped.
set -eu
bin=$1 name=$2 summary=$3 out=$4
help=$("$bin" --help 2>&1) || { echo "manpage.sh: $bin --help failed" >&2; exit 1; }
version=$("$bin" --version 2>/dev/null | head -1 | awk '{print $NF}') || true
tmp=$out.tmp
{
    printf '.TH %s 1 "" "rootlesskit-cpp %s" "User Commands"\n' "$(echo "$name" | tr a-z A-Z)" "${version:-}"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
    printf '.SH DESCRIPTION\nThe text below is what \\fB%s \\-\\-help\\fR prints.\n.PP\n.nf\n' "$name"
    # backslashes first, then lines that start with a roff control character
    printf '%s\n' "$help" | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n'
    printf '.SH SEE ALSO\n\\fBrootlesskit\\fR(1), \\fBrootlessctl\\fR(1), \\fBrootless\\-setuptool\\fR(1)\n'
    printf '.PP\nGuides and every error message with its fix: /usr/share/doc/rootlesskit-cpp/\n'
} >"$tmp"
gzip -9n -c "$tmp" >"$out"
rm -f "$tmp"
