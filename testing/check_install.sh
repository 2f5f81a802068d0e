#!/bin/sh
# Installs the built parley into a fresh prefix, then configures, builds and runs the
# out-of-tree project in testing/consumer against it (find_package(parley), parley::testing).
# Usage: testing/check_install.sh BUILD_DIR
set -eu
build=$(cd "${1:?usage: check_install.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
echo "installed package works: find_package(parley), parley::testing, from $work/prefix"
