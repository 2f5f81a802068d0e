# Shared by the small tests/net scripts: sourced after `set -euo pipefail` with the test's name
# in $test and the build directory in $1. Sets $parley, $proxy and a scratch directory ($work,
# the current directory from then on, removed at exit with every process listed in $pids).
build=$(realpath "$1")
parley=$build/parley
proxy=$build/tests/net/parley-faultproxy
work=$(mktemp -d "${TMPDIR:-/tmp}/$test.XXXXXX")
pids=()
# A process a test stopped (SIGSTOP) is continued first, so that it can end.
cleanup() { for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
            wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# Fails the test with its reason and the last lines of every log.
fail() { echo "$test FAILED: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -40 "$f" >&2; done; exit 1; }
export PARLEY_SECRET=$(printf %s "$test" | sha256sum | cut -c1-64)
cd "$work"

# Waits until a log file has a line matching a pattern; prints the port that line names.
port_from() {
  for _ in $(seq 200); do
    if grep -q "$2" "$1" 2>/dev/null; then grep "$2" "$1" | head -1 | grep -o 'port [0-9]*' | grep -o '[0-9]*'; return; fi
    sleep 0.05
  done
  fail "$1 never printed \"$2\""
}

# Site a.db with a tracked table t(id, v), and a clone of it per further name given.
make_sites() {
  "$parley" init a.db --name a > /dev/null
  "$parley" exec a.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"
  "$parley" track a.db t > /dev/null
  for name in "$@"; do "$parley" clone a.db "$name.db" --name "$name" > /dev/null; done
}
