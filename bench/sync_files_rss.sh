#!/usr/bin/env bash
# bench/sync_files_rss.sh: the peak RSS of `parley sync a.db b.db` (two site files, one
# process) when one site lacks ROWS row changes of the other, in TXNS transactions, and of
# `parley import b.db FILE` of the same changes, exported from a.db by the first PARLEY.
# Each PARLEY binary given syncs (and imports into) its own copy of the same pair, so figures
# compare side by side.
#
# Usage: bench/sync_files_rss.sh [--rows N] [--txns N] [--dir D] PARLEY [PARLEY ...]
#   --rows N   row changes to sync (default 500000)
#   --txns N   transactions they come in (default 500)
#   --dir D    where the sites go (default: a temporary directory, removed after)
#   --reuse    take the a.db and b.db an earlier run left in --dir D
# The sites and the file are made with the first PARLEY. Prints two lines per binary:
#   "<binary>: <sync's summary>; <ROWS> row changes in <TXNS> transactions, wall <s>, max RSS <MB> MB"
#   "<binary>: <import's summary>; ..., wall <s>, max RSS <MB> MB"
set -euo pipefail

rows=500000 txns=500 dir="" reuse=""
while (($#)); do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --txns) txns="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --reuse) reuse=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "sync_files_rss.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
(($# >= 1)) || { echo "usage: bench/sync_files_rss.sh [--rows N] [--txns N] [--dir D] PARLEY [PARLEY ...]" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "sync_files_rss.sh: needs /usr/bin/time (GNU time)" >&2; exit 2; }
if [[ -z "$dir" ]]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
maker="$1"
per=$((rows / txns))

# a.db holds every change; b.db is a clone made before them.
make_sites() {
rm -f "$dir"/a.db* "$dir"/b.db* "$dir/make.log"
"$maker" init "$dir/a.db" --name a
"$maker" exec "$dir/a.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL, s TEXT)"
"$maker" track "$dir/a.db" t
"$maker" clone "$dir/a.db" "$dir/b.db" --name b
for ((i = 0; i < txns; i++)); do
  "$maker" exec "$dir/a.db" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $per)
    INSERT INTO t SELECT $i * $per + x, x, printf('row %d of transaction %d', x, $i) FROM c"
done
}
# Commit tokens and messages go to make.log; a failure says where it stopped.
if [[ -z "$reuse" || ! -f "$dir/a.db" || ! -f "$dir/b.db" ]]; then
  make_sites >> "$dir/make.log" 2>&1 || { echo "sync_files_rss.sh: making the sites failed: $(tail -1 "$dir/make.log")" >&2; exit 1; }
fi

if [[ -z "$reuse" || ! -f "$dir/changes.pcs" ]]; then
  rm -f "$dir/changes.pcs"
  "$maker" export "$dir/a.db" --out "$dir/changes.pcs" --since "$("$maker" status "$dir/b.db" --json |
    sed -n 's/.*"vector": "\([^"]*\)".*/\1/p')" > /dev/null
fi

# Runs "$@" under GNU time; prints its first line of output, wall time and peak RSS.
measured() {
  /usr/bin/time -v "$@" > "$dir/out" 2> "$dir/time" ||
    { echo "sync_files_rss.sh: $* failed: $(grep -v '^\s' "$dir/time" | head -1)" >&2; exit 1; }
  kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time")
  echo "$1: $(head -1 "$dir/out"); $rows row changes in $txns transactions, wall $wall, max RSS $((kb / 1024)) MB"
}

for parley in "$@"; do
  cp "$dir/a.db" "$dir/run-a.db"
  cp "$dir/b.db" "$dir/run-b.db"
  measured "$parley" sync "$dir/run-b.db" "$dir/run-a.db"
  rm -f "$dir"/run-a.db* "$dir"/run-b.db*
  cp "$dir/b.db" "$dir/run-b.db"
  measured "$parley" import "$dir/run-b.db" "$dir/changes.pcs"
  rm -f "$dir"/run-b.db*
done
