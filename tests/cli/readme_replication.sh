#!/usr/bin/env bash
# Runs the README's "Continuous replication" example exactly as written: the shell block
# between <!-- replication:begin --> and <!-- replication:end -->, in a fresh directory, with
# the built parley first on PATH. Fails on the first command that fails.
# Usage: readme_replication.sh README.md BUILD_DIR
set -euo pipefail
readme=$(realpath "$1")
build=$(realpath "$2")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

script="$work/replication.sh"
# The example's serve processes end with the script, even when it fails half-way.
echo "trap 'kill \$(jobs -p) 2>/dev/null || true' EXIT" > "$script"
awk '/<!-- replication:begin -->/{on=1; next} /<!-- replication:end -->/{on=0} on && !/^```/' "$readme" >> "$script"
if [ "$(wc -l < "$script")" -lt 2 ]; then
  echo "readme_replication: no replication block found in $readme" >&2
  exit 1
fi
cd "$work"
export PATH="$build:$PATH"
if ! bash -euo pipefail -x "$script" > out.txt; then
  cat out.txt
  for log in *.log; do echo "== $log"; cat "$log"; done
  exit 1
fi
cat out.txt
grep -qx "written in paris" out.txt || { echo "readme_replication: berlin did not read the note" >&2; exit 1; }
echo "replication: ok"
