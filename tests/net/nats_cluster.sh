#!/usr/bin/env bash
# Three sites replicating through a three-server JetStream cluster (generated config, cluster
# routes, the stream kept on all three): one server is lost while the sites write; the other
# two keep the stream, the sites fail over to them, and every site ends with the same rows.
set -euo pipefail
test=nats_cluster
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/nats_lib.sh"

make_sites b c
declare -A client route
for n in n1 n2 n3; do client[$n]=$(free_port); route[$n]=$(free_port); done
for n in n1 n2 n3; do
  routes=""
  for m in n1 n2 n3; do [ "$m" = "$n" ] || routes+="nats-route://127.0.0.1:${route[$m]}, "; done
  cat > "$n.conf" <<CONF
server_name: $n
listen: 127.0.0.1:${client[$n]}
jetstream { store_dir: "$work/$n" }
cluster {
  name: parley
  listen: 127.0.0.1:${route[$n]}
  routes: [ ${routes%, } ]
}
CONF
done
for n in n1 n2 n3; do start_nats "$n" "${client[$n]}" "$n.conf"; done
urls="nats://127.0.0.1:${client[n1]},127.0.0.1:${client[n2]},127.0.0.1:${client[n3]}"
for s in a b c; do start_site "$s" "$urls"; done
for s in a b c; do wait_log "$s.log" "relay: connected"; done
grep -q "3 replicas" a.log b.log c.log || fail "the stream was not created with 3 replicas"

tokens=()
id=0
round() { for s in "$@"; do id=$((id + 1)); tokens+=("$(write "$s" "$id")"); done; }
token() { local IFS=,; echo "${tokens[*]}"; }

round a b c
converge "$(token)" a b c
stop_nats n1  # one server of three is lost for good
round a b c
round a b c
converge "$(token)" a b c
if [ -n "${NATS_TEST_LOGS:-}" ]; then tail -n +1 ./*.log; fi
echo "$test: ok ($id writes at three sites through three servers, one lost)"
