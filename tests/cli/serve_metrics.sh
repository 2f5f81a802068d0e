#!/usr/bin/env bash
# parley serve --metrics while a peer lags: two serves on loopback, b stopped (SIGSTOP) while a
# takes writes. a's /metrics must show b's lag in transactions and seconds grow, b's connection
# leave the up state and failed syncs count, then everything come back once b runs again.
# Scrapes with bash's /dev/tcp (no curl needed). Usage: serve_metrics.sh BUILD_DIR
set -euo pipefail
test=serve_metrics
source "$(dirname "$0")/../net/lib.sh"  # $parley, $work, $pids, cleanup, fail, port_from

# GET PATH from 127.0.0.1:$metrics; prints the status line, then the body. Reads the headers,
# then Content-Length bytes: the server keeps the connection open for more requests.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$metrics"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  local line status length=0
  IFS= read -r -t 10 status <&3 || fail "no reply to GET $1"
  while IFS= read -r -t 10 line <&3; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    case "${line,,}" in content-length:*) length=${line#*:}; length=${length// /} ;; esac
  done
  echo "${status%$'\r'}"
  [ "$length" -gt 0 ] && head -c "$length" <&3
  exec 3<&-
  return 0
}
scrape() { http_get /metrics > scrape.txt; head -1 scrape.txt | grep -q '^HTTP/1.1 200' || fail "/metrics: $(head -1 scrape.txt)"; }
# The value of the sample whose name and labels start with $1 (one sample expected).
value() { grep -F "$1" scrape.txt | grep -v '^#' | head -1 | awk '{ print $NF }'; }
# Scrapes until the awk condition $2 holds for value($1), for up to 20 s.
wait_for() {
  for _ in $(seq 100); do
    scrape
    local v; v=$(value "$1")
    if [ -n "$v" ] && awk -v v="$v" "BEGIN { exit !($2) }"; then return; fi
    sleep 0.2
  done
  fail "$1 never met $2 (last: $(value "$1"))"
}

"$parley" init a.db --name a > /dev/null
"$parley" exec a.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"
"$parley" track a.db t > /dev/null
"$parley" clone a.db b.db --name b > /dev/null

"$parley" serve b.db --listen 127.0.0.1:0 > b.log 2>&1 & pids+=($!); b_pid=$!
b_port=$(port_from b.log "serving b")
"$parley" serve a.db --listen 127.0.0.1:0 --peer "tcp://127.0.0.1:$b_port" --interval 200 --timeout 1 \
  --metrics 127.0.0.1:0 > a.log 2>&1 & pids+=($!)
metrics=$(port_from a.log "metrics on port")

# Every family has HELP and TYPE lines; other paths are 404.
scrape
for family in parley_peer_lag_seconds parley_peer_lag_transactions parley_peer_up parley_peer_state \
              parley_peer_last_sync_age_seconds parley_syncs_failed_total parley_transactions_committed_total \
              parley_transactions_applied_total parley_conflicts parley_rejections parley_log_transactions \
              parley_log_bytes parley_digest_mismatches; do
  grep -q "^# HELP $family " scrape.txt || fail "no HELP line for $family"
  grep -q "^# TYPE $family " scrape.txt || fail "no TYPE line for $family"
done
other=$(http_get /other)
[ "${other%%$'\n'*}" = "HTTP/1.1 404 Not Found" ] || fail "/other is not 404: $other"

b_peer='{peer="b",'
wait_for "parley_peer_up$b_peer" 'v == 1'
"$parley" exec a.db "INSERT INTO t VALUES (1, 'before')" 2> /dev/null
wait_for "parley_peer_lag_transactions$b_peer" 'v == 0'
wait_for "parley_transactions_committed_total" 'v == 1'

# b stops answering; a keeps writing.
kill -STOP "$b_pid"
for i in 2 3 4 5 6; do "$parley" exec a.db "INSERT INTO t VALUES ($i, 'while b is stopped')" 2> /dev/null; done
scrape
lag_tx=$(value "parley_peer_lag_transactions$b_peer")
[ "$lag_tx" = 5 ] || fail "b's lag is $lag_tx transactions, not 5"
first_lag=$(value "parley_peer_lag_seconds$b_peer")
wait_for "parley_peer_lag_seconds$b_peer" "v > $first_lag + 1.5"
wait_for "parley_peer_up$b_peer" 'v == 0'
grep -F "parley_peer_state$b_peer" scrape.txt | grep -q 'state="retrying"} 1' || fail "b is not retrying: $(grep -F parley_peer_state scrape.txt)"
wait_for "parley_syncs_failed_total$b_peer" 'v >= 1'
stopped_lag=$(value "parley_peer_lag_seconds$b_peer")
echo "while b was stopped: lag $lag_tx transactions, $stopped_lag s; syncs failed $(value "parley_syncs_failed_total$b_peer")"

# b runs again: it catches up, and the lag falls back to nothing.
kill -CONT "$b_pid"
wait_for "parley_peer_lag_transactions$b_peer" 'v == 0'
wait_for "parley_peer_lag_seconds$b_peer" 'v == 0'
wait_for "parley_peer_up$b_peer" 'v == 1'
[ "$("$parley" exec b.db "SELECT count(*) FROM t" --csv | tail -1)" = 6 ] || fail "b does not hold a's 6 rows"
echo "serve_metrics: ok"
