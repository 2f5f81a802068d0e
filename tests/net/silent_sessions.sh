#!/usr/bin/env bash
# Peers that go silent in the middle of a session (parley-faultproxy --hang freezes connections
# after login) must not use up a serve process's file descriptors, and a serve that does run out
# of them must keep serving once they are freed. Regression test for two bugs: the server kept
# every silent session (and its socket) for good, and the first failed accept ("Too many open
# files") stopped its server thread for good while the process kept running.
# Usage: silent_sessions.sh BUILD_DIR
set -euo pipefail
test=silent_sessions
source "$(dirname "$0")/lib.sh"
sockets() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }

make_sites c

# c serves with few file descriptors, so silent sessions exhaust them quickly. Every sync comes
# through the proxy, from one address: let all of them in to log in at once.
(ulimit -n 24; exec "$parley" serve c.db --listen 127.0.0.1:0 --timeout 0.5 --logins-per-source 64 > serve.log 2>&1) & pids+=($!)
serve=${pids[-1]}
port=$(port_from serve.log "serving c")
"$proxy" --listen 127.0.0.1:0 --target "127.0.0.1:$port" --hang 0.15 --seed 9 > proxy.log 2>&1 & pids+=($!)
silent=$(port_from proxy.log "listening on port")

for i in $(seq 60); do "$parley" exec a.db "INSERT INTO t VALUES ($i, 'x')" 2> /dev/null; done
for wave in 1 2 3; do  # 12 syncs at a time: more silent sessions than c has descriptors
  syncs=()
  for i in $(seq 12); do "$parley" sync a.db "tcp://127.0.0.1:$silent" --timeout 0.3 > /dev/null 2>&1 & syncs+=($!); done
  for pid in "${syncs[@]}"; do wait "$pid" || true; done
done
hangs=$(grep -c "hang" proxy.log || true)
(( hangs >= 20 )) || fail "the proxy froze only $hangs connections"
grep -q "accepting a connection failed" serve.log || fail "serve never ran out of descriptors (the test needs it to)"
kill -0 "$serve" || fail "serve died"

# Within kIdleTimeouts (4) x 0.5 s of silence the server drops them all.
sleep 3
left=$(sockets "$serve")
(( left <= 3 )) || fail "serve still holds $left sockets 3 s after its peers went silent"
grep -q "dropped a peer that sent nothing for 2000 ms" serve.log || fail "serve never dropped a silent peer"

# And it still serves: a direct sync goes through.
"$parley" sync a.db "tcp://127.0.0.1:$port" --timeout 5 > sync.out 2> sync.err || fail "direct sync: $(cat sync.err)"
"$parley" exec c.db "SELECT count(*) FROM t" --csv | tail -1 | grep -qx 60 || fail "c does not hold a's 60 rows"
echo "silent_sessions: ok ($hangs connections frozen; serve dropped them, $left sockets left, and kept serving)"
