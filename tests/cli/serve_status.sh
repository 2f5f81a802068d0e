#!/usr/bin/env bash
# parley status of a site that parley serve replicates, and serve's log: each peer's name,
# address and connection state as serve saw it (streaming, retrying), its last error, the
# report marked stale once serve stops or dies; log lines with a UTC timestamp and a level (or
# JSON), and no line for an idle round. Usage: serve_status.sh BUILD_DIR
set -euo pipefail
test=serve_status
source "$(dirname "$0")/../net/lib.sh"  # $parley, $work, $pids, cleanup, fail, port_from
# Runs `parley status SITE [--json]` until its output has a line matching PATTERN (grep -E), for up to 15 s.
status_until() {
  local site=$1 pattern=$2; shift 2
  for _ in $(seq 150); do
    "$parley" status "$site" "$@" > status.out
    grep -qE "$pattern" status.out && return
    sleep 0.1
  done
  fail "status $site $* never matched $pattern: $(cat status.out)"
}

"$parley" init a.db --name a > /dev/null
"$parley" exec a.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"
"$parley" track a.db t > /dev/null
"$parley" clone a.db b.db --name b > /dev/null

# Never served: status says so.
"$parley" status a.db | grep -q '^serve    never ran on this file' || fail "a fresh site's status: $("$parley" status a.db)"
"$parley" status a.db --json | grep -q '"serve": null, "peers": \[' || fail "a fresh site's status --json"

# Bad flags: one line, exit 2 or 1.
set +e
"$parley" serve a.db --listen 127.0.0.1:0 --log-format xml > bad.out 2> bad.err; code=$?
set -e
[ "$code" = 2 ] && [ "$(wc -l < bad.err)" = 1 ] && grep -q '^parley serve: --log-format wants text or json, got "xml"$' bad.err ||
  fail "--log-format xml: exit $code, $(cat bad.err)"

"$parley" serve b.db --listen 127.0.0.1:0 --log-format json > b.log 2>&1 & pids+=($!); b_pid=$!
b_port=$(port_from b.log "serving b")
set +e
"$parley" serve a.db --listen 127.0.0.1:0 --metrics "127.0.0.1:$b_port" > bad.out 2> bad.err; code=$?
set -e
[ "$code" = 1 ] && [ "$(wc -l < bad.err)" = 1 ] && grep -q "^parley serve: cannot serve metrics on 127.0.0.1:$b_port: " bad.err ||
  fail "--metrics on a port in use: exit $code, $(cat bad.err)"

"$parley" serve a.db --listen 127.0.0.1:0 --peer "tcp://127.0.0.1:$b_port" --interval 100 --timeout 1 > a.log 2>&1 &
pids+=($!); a_pid=$!

# a's status: b by name, its address, streaming; b's status: a syncs into it.
status_until a.db "^b +127\.0\.0\.1:$b_port +streaming for "
grep -qE "^serve    running: pid $a_pid on .*, listening on 127\.0\.0\.1:0, reported " status.out || fail "a's serve line: $(cat status.out)"
status_until a.db "\"name\": \"b\", \"address\": \"127.0.0.1:$b_port\", \"state\": \"streaming\"" --json
grep -q '"serve": {"running": true, "pid": '"$a_pid"',' status.out || fail "a's status --json serve: $(cat status.out)"
status_until b.db '^a +- +synced '

# Idle rounds are not logged; a write is, once.
sleep 1.5
if grep -q "synced with\|sent 0" a.log b.log; then fail "idle rounds were logged"; fi
"$parley" exec a.db "INSERT INTO t VALUES (1, 'one')" 2> /dev/null
for _ in $(seq 100); do grep -q "synced with b" a.log && break; sleep 0.05; done
sleep 0.5
[ "$(grep -c "synced with b (tcp://127.0.0.1:$b_port): sent 1 transactions, received 0" a.log)" = 1 ] ||
  fail "a's write was not logged exactly once"
[ "$(grep -c "synced with" a.log)" = 1 ] || fail "a logged more than the one sync that moved something"

# Every line: an ISO 8601 UTC timestamp and a level; JSON lines with time, level, message.
iso='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
if grep -vqE "^$iso (INFO |WARN |ERROR) " a.log; then fail "a text log line without timestamp and level: $(grep -vE "^$iso " a.log | head -1)"; fi
if grep -vqE "^\{\"time\": \"$iso\", \"level\": \"(info|warn|error)\"(, \"peer\": \"[^\"]*\")?, \"message\": \".*\"\}$" b.log; then
  fail "a JSON log line of another shape"
fi
grep -q '"level": "info", "message": "serving b on port ' b.log || fail "b's first JSON line"
# Lines about one peer name it in "peer", the server's own lines too.
grep -q '"level": "info", "peer": "a", "message": "streaming to a"' b.log || fail "b's JSON line of a's stream has no peer"
grep -q '"peer": "a", "message": "synced with a: sent 0, received 1, 0 conflicts"' b.log ||
  fail "b's JSON line of a's sync has no peer"

# b stops answering: a's status says retrying, with the last error.
kill -STOP "$b_pid"
status_until a.db "^b +127\.0\.0\.1:$b_port +retrying for "
grep -qE "^last error from b \([0-9.]+ s ago\): " status.out || fail "no last error line: $(cat status.out)"
grep -qE "WARN  .*(no reply|failed)" a.log || fail "a logged no warning about b"
kill -CONT "$b_pid"
status_until a.db "^b +127\.0\.0\.1:$b_port +streaming for "

# serve stops: status says so, and shows the peers as offline.
kill -TERM "$a_pid"; wait "$a_pid" || true
grep -qE "^$iso INFO  stopped$" a.log || fail "a did not log stopped"
"$parley" status a.db > status.out
grep -qE '^serve    NOT RUNNING \(serve stopped [0-9.]+ s ago\)' status.out || fail "after SIGTERM: $(cat status.out)"
grep -qE "^b +127\.0\.0\.1:$b_port +offline \(was streaming\) " status.out || fail "after SIGTERM, b: $(cat status.out)"
"$parley" status a.db --json | grep -q '"running": false, ' || fail "after SIGTERM, --json still says running"
"$parley" status a.db --json | grep -q '"state": "offline", "reported_state": "streaming"' || fail "after SIGTERM, --json b"

# serve killed outright: status finds the process gone.
"$parley" serve a.db --listen 127.0.0.1:0 --peer "tcp://127.0.0.1:$b_port" > a2.log 2>&1 & pids+=($!); a2_pid=$!
status_until a.db "^serve    running: pid $a2_pid "
kill -KILL "$a2_pid"; wait "$a2_pid" 2>/dev/null || true
status_until a.db "^serve    NOT RUNNING \(serve \(pid $a2_pid\) is not running; it last reported "
echo "serve_status: ok"
