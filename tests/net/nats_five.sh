#!/usr/bin/env bash
# Five sites replicating through one nats-server: the server restarts while sites write, and a
# site is offline for a while then comes back; every site ends with every write and the same
# rows, and no transaction is applied twice.
set -euo pipefail
test=nats_five
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/nats_lib.sh"

make_sites b c d e
port=$(free_port)
url=nats://127.0.0.1:$port
start_nats n1 "$port"
for s in a b c d e; do start_site "$s" "$url"; done
for s in a b c d e; do wait_log "$s.log" "relay: connected"; done

tokens=()
id=0
round() { for s in "$@"; do id=$((id + 1)); tokens+=("$(write "$s" "$id")"); done; }
token() { local IFS=,; echo "${tokens[*]}"; }

round a b c d e
converge "$(token)" a b c d e

stop_site e  # e goes offline
round a b c d
stop_nats n1  # the server restarts while the sites write
round a b c d
start_nats n1 "$port"
for s in a b c d; do wait_log "$s.log" "reconnected to NATS"; done
round a b c d
round e  # written while offline, published when it returns
start_site e "$url"
wait_log e.log "relay: connected" 2
round a b c d e
converge "$(token)" a b c d e

rows=$("$parley" exec a.db "SELECT count(*) FROM t" --csv | tail -1)
[ "$rows" = "$id" ] || fail "a holds $rows rows, $id were written"
# Each site applied every other site's transaction once: the log holds each once.
for s in a b c d e; do
  n=$("$parley" status "$s.db" --json | grep -o '"transactions": [0-9]*' | grep -o '[0-9]*$')
  [ "$n" = "$id" ] || fail "$s's log holds $n transactions, $id were written"
done
if [ -n "${NATS_TEST_LOGS:-}" ]; then tail -n +1 ./*.log; fi
echo "$test: ok ($id writes at five sites, one server restart, one site offline and back)"
