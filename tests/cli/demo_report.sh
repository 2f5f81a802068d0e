#!/usr/bin/env bash
# The HTML report of parley demo bank: the command line and version recorded, money created or
# destroyed per resolver against the expected total, lost updates and rejections charted, and
# one total column however many sites (identical per-site columns collapsed).
# Usage: demo_report.sh BUILD_DIR VERSION
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=$2

parley demo bank > two.txt
# The fixed scenario: lww and fww create money (a lost withdrawal), reject conserves it and says so.
row() { awk -v r="$1" '$1 == r' two.txt; }
[ "$(row lww | awk '{print $2, $3, $4, $5, $6}')" = "800 700 +100 1 0" ] || { cat two.txt; fail "lww row"; }
[ "$(row fww | awk '{print $2, $3, $4, $5, $6}')" = "900 700 +200 1 0" ] || { cat two.txt; fail "fww row"; }
[ "$(row merge | awk '{print $2, $3, $4, $5, $6}')" = "700 700 0 0 0" ] || { cat two.txt; fail "merge row"; }
[ "$(row counter | awk '{print $2, $3, $4, $5, $6}')" = "700 700 0 0 0" ] || { cat two.txt; fail "counter row"; }
[ "$(row reject | awk '{print $2, $3, $4, $5, $6}')" = "900 900 0 0 1" ] || { cat two.txt; fail "reject row"; }

parley demo bank --sites 16 --accounts 5 --ops 300 --partitions 3 --seed 7 --report "r 16.html" > out.txt
has out.txt "wrote r 16.html"
html="r 16.html"
has "$html" "<!doctype html>"
has "$html" "<code>parley demo bank --sites 16 --accounts 5 --ops 300 --partitions 3 --seed 7 --report 'r 16.html'</code>"
has "$html" "(parley $version)"
for title in "money created (+) or destroyed (-)" "lost updates" "rejected transactions"; do
  [ "$(grep -oF "<b>$title</b>" "$html" | wc -l)" = 2 ] ||
    fail "the chart \"$title\" is not in both sections"
done
# One bar per resolver per chart: 5 resolvers x 3 charts x 2 sections.
[ "$(grep -o '<rect ' "$html" | wc -l)" = 30 ] || fail "bars: $(grep -o '<rect ' "$html" | wc -l), not 30"
# As many columns at 16 sites as at 2: no per-site column.
headers=$(grep -o '<tr><th>resolver</th>.*' "$html" | sed 's/<\/tr>.*//' | head -1)
[ "$(echo "$headers" | grep -o '<th>' | wc -l)" = 8 ] || fail "columns: $headers"
lacks "$html" "site16"
lacks "$html" "<script"
# The terminal table collapses too: the random workload's header line has no site names.
lacks out.txt "site1 "
# A seed replays the same outcome (all but the txn/s column): the command the report records
# makes the same report.
table() { parley demo bank --sites 5 --ops 200 --seed "$1" | awk '/^Random/ {on=1} on {$NF=""; print}'; }
[ "$(table 3)" = "$(table 3)" ] || fail "the same seed gave two outcomes"
echo "demo_report: ok"
