#!/usr/bin/env bash
# The relay together with TCP: a serves with --nats and --listen, b reaches only a (TCP, --peer),
# c only the relay (--nats). What c writes reaches b through a; what b writes reaches a over TCP
# and c through a, which publishes only its own: c holds what a wrote after b's write until it
# has b's, and says what it waits for.
set -euo pipefail
test=nats_mixed
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/nats_lib.sh"

make_sites b c
port=$(free_port)
url=nats://127.0.0.1:$port
start_nats n1 "$port"
tcp=$(free_port)
"$parley" serve a.db --nats "$url" --listen "127.0.0.1:$tcp" --interval 200 >> a.log 2>&1 &
pids+=($!)
wait_port "$tcp"
"$parley" serve b.db --peer "tcp://127.0.0.1:$tcp" --listen "127.0.0.1:$(free_port)" --interval 200 >> b.log 2>&1 &
pids+=($!)
start_site c "$url"
for s in a c; do wait_log "$s.log" "relay: connected"; done

from_c=$(write c 1)
"$parley" exec b.db "SELECT 1" --after "$from_c" --timeout 20 > /dev/null || fail "b never saw c's write (through a)"
from_a=$(write a 2)
"$parley" exec b.db "SELECT 1" --after "$from_a" --timeout 20 > /dev/null || fail "b never saw a's write"
"$parley" exec c.db "SELECT 1" --after "$from_a" --timeout 20 > /dev/null || fail "c never saw a's write"
from_b=$(write b 3)
"$parley" exec a.db "SELECT 1" --after "$from_b" --timeout 20 > /dev/null || fail "a never saw b's write"
after_b=$(write a 4)  # depends on b's write, which c cannot get from the relay
wait_log c.log "need .*'s transaction 1, and the stream holds none"
rows=$("$parley" exec c.db "SELECT count(*) FROM t" --csv | tail -1)
[ "$rows" = 2 ] || fail "c holds $rows rows, expected 2 (its own and a's first; a's second waits for b's)"
"$parley" verify b.db --peer a.db | grep -q "same rows" || fail "a and b differ"
if [ -n "${NATS_TEST_LOGS:-}" ]; then tail -n +1 ./*.log; fi
echo "$test: ok (relay and TCP in one serve; what a relay-only site cannot get is held and reported)"
