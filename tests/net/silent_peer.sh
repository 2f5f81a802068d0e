#!/usr/bin/env bash
# A peer that goes silent without closing its connection (parley-faultproxy --hang 1 freezes
# every connection at its first byte) must cost a sync no more than --timeout, and must not hold
# up serve's syncs with its other peers. Regression test: serve had no --timeout, so one silent
# peer held every other peer's replication up for 30 s per round.
# Usage: silent_peer.sh BUILD_DIR
set -euo pipefail
test=silent_peer
source "$(dirname "$0")/lib.sh"

make_sites b c

"$parley" serve c.db --listen 127.0.0.1:0 > serve-c.log 2>&1 & pids+=($!)
c_port=$(port_from serve-c.log "serving c")
"$proxy" --listen 127.0.0.1:0 --target "127.0.0.1:$c_port" --hang 1 > proxy.log 2>&1 & pids+=($!)
silent=$(port_from proxy.log "listening on port")
"$parley" serve b.db --listen 127.0.0.1:0 > serve-b.log 2>&1 & pids+=($!)
b_port=$(port_from serve-b.log "serving b")

# A bad --timeout is one line and exit 2.
set +e
"$parley" sync a.db "tcp://127.0.0.1:$b_port" --timeout 0 > /dev/null 2> bad.err; code=$?
set -e
[ "$code" = 2 ] && [ "$(wc -l < bad.err)" = 1 ] && grep -q "^parley sync: --timeout must be" bad.err ||
  fail "--timeout 0: exit $code, stderr: $(cat bad.err)"

# sync gives up on the silent peer after its timeout, with one line saying so.
start=$(date +%s%N)
set +e
"$parley" sync a.db "tcp://127.0.0.1:$silent" --timeout 0.5 > /dev/null 2> sync.err; code=$?
set -e
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$code" = 1 ] && grep -q "no reply within 500 ms" sync.err || fail "sync with a silent peer: exit $code, stderr: $(cat sync.err)"
(( elapsed_ms < 5000 )) || fail "sync with a silent peer took $elapsed_ms ms with --timeout 0.5"

# serve with a silent peer listed first still replicates to its other peer within seconds.
"$parley" serve a.db --listen 127.0.0.1:0 --peer "tcp://127.0.0.1:$silent" --peer "tcp://127.0.0.1:$b_port" \
  --interval 100 --timeout 0.5 > serve-a.log 2>&1 & pids+=($!)
port_from serve-a.log "serving a" > /dev/null
token=$("$parley" exec a.db "INSERT INTO t VALUES (1, 'hello')" --token)
"$parley" exec b.db "SELECT v FROM t" --after "$token" --timeout 10 --csv > b.out 2> b.err ||
  fail "b never received a's write while a's other peer was silent: $(cat b.err)"
grep -q hello b.out || fail "b holds $(cat b.out)"
# b may get the write from a's live stream before a's full sync with the silent peer times out.
for _ in $(seq 300); do grep -q "no reply within 500 ms" serve-a.log && break; sleep 0.05; done
grep -q "no reply within 500 ms" serve-a.log || fail "serve a never timed out on its silent peer"
grep -q "hang" proxy.log || fail "the proxy never froze a connection"
kill -0 "${pids[@]}" || fail "a process died"
echo "silent_peer: ok (sync gave up after $elapsed_ms ms; serve kept replicating to its other peer)"
