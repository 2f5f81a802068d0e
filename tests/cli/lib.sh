# Helpers for the CLI shell tests (tests/cli/*.sh): sourced after `set -euo pipefail`, with
# $1 the build directory. Each test runs in a fresh directory with the built parley on PATH.
build=$(realpath "$1")
export PATH="$build:$PATH"
unset PARLEY_SECRET PARLEY_PROGRESS PARLEY_PROGRESS_MS
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_error EXIT_CODE PREFIX COMMAND...: the command fails with EXIT_CODE, prints nothing
# on stdout and exactly one line on stderr, starting with PREFIX.
expect_error() {
  local want=$1 prefix=$2 code=0
  shift 2
  "$@" > err.out 2> err.txt || code=$?
  [ "$code" = "$want" ] || { cat err.txt; fail "$* exited $code, not $want"; }
  [ ! -s err.out ] || { cat err.out; fail "$* printed on stdout"; }
  [ "$(wc -l < err.txt)" = 1 ] || { cat err.txt; fail "$* did not print exactly one line on stderr"; }
  case "$(cat err.txt)" in
    "$prefix"*) ;;
    *) fail "$*: stderr \"$(cat err.txt)\" does not start with \"$prefix\"" ;;
  esac
}

# has FILE TEXT: FILE contains TEXT (a fixed string).
has() { grep -qF -- "$2" "$1" || { cat "$1"; fail "$1 lacks \"$2\""; }; }
lacks() { ! grep -qF -- "$2" "$1" || { cat "$1"; fail "$1 has \"$2\""; }; }
