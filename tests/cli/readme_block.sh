#!/usr/bin/env bash
# Runs one of the README's examples exactly as written: the shell block between
# <!-- NAME:begin --> and <!-- NAME:end -->, in a fresh directory, with the built parley first
# on PATH; fails on the first command that fails, then requires EXPECTED among its output lines.
# Usage: readme_block.sh README.md BUILD_DIR NAME EXPECTED
set -euo pipefail
readme=$(realpath "$1")
build=$(realpath "$2")
name=$3
expected=$4
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

script="$work/$name.sh"
# Processes the example starts in the background end with it, even when it fails half-way.
echo "trap 'kill \$(jobs -p) 2>/dev/null || true' EXIT" > "$script"
awk -v b="<!-- $name:begin -->" -v e="<!-- $name:end -->" '$0 == b {on=1; next} $0 == e {on=0} on && !/^```/' \
  "$readme" >> "$script"
if [ "$(wc -l < "$script")" -lt 2 ]; then
  echo "readme_block: no $name block found in $readme" >&2
  exit 1
fi
cd "$work"
export PATH="$build:$PATH"
if ! bash -euo pipefail -x "$script" > out.txt; then
  cat out.txt
  exit 1
fi
cat out.txt
grep -qxF "$expected" out.txt || { echo "readme_block: the $name block printed no line \"$expected\"" >&2; exit 1; }
echo "$name: ok"
