#!/bin/sh
# Installs the built parley into a fresh prefix, then configures, builds and runs the
# out-of-tree project in testing/consumer against it, as a user's project would: C++ only
# (project(x CXX)), no C++ standard set by hand, find_package(parley 0.1) through the version
# file; and runs the installed bin/parley.
# Usage: testing/check_install.sh BUILD_DIR
set -eu
build=$(cd "${1:?usage: check_install.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "check_install: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in lib/cmake/parley/parleyConfig.cmake lib/cmake/parley/parleyConfigVersion.cmake bin/parley; do
  [ -e "$work/prefix/$f" ] || fail "the install lacks $f"
done
version=$("$work/prefix/bin/parley" --version) || fail "the installed bin/parley --version failed"
echo "installed: $version"
# Without C and without CMAKE_CXX_STANDARD (the consumer sets neither).
grep -q 'project([a-z_]* CXX)' "$here/consumer/CMakeLists.txt" || fail "the consumer is meant to enable C++ only"
if grep -q CMAKE_CXX_STANDARD "$here/consumer/CMakeLists.txt"; then fail "the consumer is meant not to set the C++ standard"; fi
cmake -S "$here/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "configuring the consumer failed"; }
cmake --build "$work/consumer" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "building the consumer failed"; }
"$work/consumer/stock_check"
# A version the package is not compatible with is refused by the version file.
mkdir "$work/too-new"
sed 's/find_package(parley 0.1 REQUIRED)/find_package(parley 99.0 QUIET)\nif(parley_FOUND)\n  message(FATAL_ERROR "parley 99.0 accepted")\nendif()\nreturn()/' \
  "$here/consumer/CMakeLists.txt" >"$work/too-new/CMakeLists.txt"
cmake -S "$work/too-new" -B "$work/too-new/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/too-new.log" 2>&1 ||
  { cat "$work/too-new.log"; fail "find_package(parley 99.0) was not refused"; }
echo "installed package works: find_package(parley 0.1) from a C++-only project, parley::testing, parley::sync, bin/parley, from $work/prefix"
