#!/usr/bin/env bash
# Runs the README's walkthrough exactly as written: the shell block between the markers
# <!-- walkthrough:begin --> and <!-- walkthrough:end -->, in a fresh directory, with the
# built parley first on PATH. Fails on the first command that fails.
# Usage: readme_walkthrough.sh README.md BUILD_DIR
set -euo pipefail
readme=$(realpath "$1")
build=$(realpath "$2")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

script="$work/walkthrough.sh"
awk '/<!-- walkthrough:begin -->/{on=1; next} /<!-- walkthrough:end -->/{on=0} on && !/^```/' "$readme" > "$script"
if [ ! -s "$script" ]; then
  echo "readme_walkthrough: no walkthrough block found in $readme" >&2
  exit 1
fi
cd "$work"
export PATH="$build:$PATH"
bash -euo pipefail -x "$script"
echo "walkthrough: ok"
