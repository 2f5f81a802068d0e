#!/usr/bin/env bash
# parley --version (the CMake project's version), parley help COMMAND for every command the
# general help lists, and demo arguments refused in one line before anything runs.
# Usage: version_help_demo.sh BUILD_DIR VERSION
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=$2

[ "$(parley --version)" = "parley $version" ] || fail "parley --version: $(parley --version), not parley $version"
[ "$(parley version)" = "parley $version" ] || fail "parley version"

parley help > help.txt
commands=$(awk '/^commands:/ {on=1; next} on && NF {print $1}' help.txt)
[ "$(echo "$commands" | wc -l)" -ge 19 ] || { cat help.txt; fail "parley help lists too few commands"; }
for c in $commands; do
  if [ "$c" = demo ]; then
    parley help demo > h.txt
    has h.txt "usage: parley demo bank"
    for d in bank offline; do
      parley help demo $d > h.txt
      head -1 h.txt | grep -q "^usage: parley demo $d " || { cat h.txt; fail "parley help demo $d"; }
    done
    continue
  fi
  parley help "$c" > h.txt 2> e.txt || { cat e.txt; fail "parley help $c failed"; }
  head -1 h.txt | grep -q "^usage: parley $c " || { cat h.txt; fail "parley help $c prints no usage of $c"; }
  [ ! -s e.txt ] || fail "parley help $c wrote on stderr"
  cmp -s h.txt <(parley "$c" --help) || fail "parley help $c differs from parley $c --help"
done
expect_error 2 'parley: unknown command "nonsense"' parley help nonsense

# Demo arguments: all checked first, whether or not --ops asks for the random workload.
expect_error 2 "parley demo: --sites must be between 2 and 16, not 0" parley demo bank --sites 0
expect_error 2 "parley demo: --sites must be between 2 and 16, not 17" parley demo bank --sites 17 --ops 10
expect_error 2 "parley demo: --ops must be between 0 and 1000000, not -5" parley demo bank --ops -5
expect_error 2 "parley demo: --ops must be between 0 and 1000000, not -5" parley demo bank --ops=-5
expect_error 2 "parley demo: --accounts must be between 1 and 10000, not 0" parley demo bank --accounts 0
expect_error 2 "parley demo: --partitions must be between 1 and 1000, not 0" parley demo bank --partitions 0
expect_error 2 'parley demo: --resolver wants all, lww, fww, merge, counter' parley demo bank --resolver nope
expect_error 2 "parley demo: --report wants a file name" parley demo bank --report ""
expect_error 1 "parley demo: cannot write missing-dir/r.html" parley demo bank --report missing-dir/r.html
expect_error 2 "parley demo: the required argument for option '--sites' is missing" parley demo bank --sites
expect_error 2 "parley demo: unknown demo \"bogus\"" parley demo bogus
: > afile
expect_error 2 "parley demo: --dir afile exists and is not a directory" parley demo offline --dir afile
expect_error 2 "parley demo: --dir wants a directory" parley demo offline --dir ""
[ ! -e r.html ] || fail "a refused demo wrote a report"
echo "version_help_demo: ok"
