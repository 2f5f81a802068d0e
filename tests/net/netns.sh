#!/usr/bin/env bash
# Network faults between separate network stacks (opt-in; needs root and `ip netns`): N sites,
# each `parley serve` in its own network namespace joined to a bridge by a veth pair, synced in
# a ring. While random writes land at every site, the script takes random sites' links down
# for 0.5-3 s (packets vanish: no RST, no FIN, the peers only see silence) and up again. Then
# every link comes up and all sites must converge: same rows everywhere, balances summing to
# 5000, every serve alive, and sync failures logged (so the faults were hit).
# (tc netem would add loss and latency; the kernels this was written on lack it.)
#
# Usage: sudo netns.sh BUILD_DIR      Environment: NETNS_SEED, NETNS_SITES (3), NETNS_SECONDS (20)
# Exits 77 (skipped) without root or ip netns.
set -uo pipefail
build=$(realpath "${1:?usage: netns.sh BUILD_DIR}")
parley=$build/parley
seed=${NETNS_SEED:-$(( $(date +%s%N) % 1000000000 ))}
sites=${NETNS_SITES:-3}
seconds=${NETNS_SECONDS:-20}
accounts=5
[ "$(id -u)" = 0 ] || { echo "netns: needs root (skipped)"; exit 77; }
tag=$(( $$ % 10000 ))
if ! ip netns add "pf$tag-probe" 2>/dev/null; then echo "netns: ip netns does not work here (skipped)"; exit 77; fi
ip netns del "pf$tag-probe"
export PARLEY_SECRET=582b1ff9e35f61b26782d6ae17000a3fd6c2352fa6e05553c0111cd64e859498
RANDOM=$seed
work=$(mktemp -d "${TMPDIR:-/tmp}/netns.XXXXXX")
bridge=pfbr$tag
subnet=10.231.$(( tag % 250 ))
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ((i = 0; i < sites; i++)); do ip link del "pfv$tag$i" 2>/dev/null; ip netns del "pf$tag-$i" 2>/dev/null; done
  ip link del "$bridge" 2>/dev/null
  [ "${NETNS_KEEP:-0}" = 1 ] && echo "netns: kept $work" || rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "netns FAILED (seed $seed; replay: NETNS_SEED=$seed NETNS_SITES=$sites $0 $build): $*" >&2
  for f in "$work"/*.log; do echo "--- $(basename "$f")" >&2; tail -10 "$f" >&2; done
  exit 1
}
db() { echo "$work/s$1.db"; }

echo "netns: seed $seed, $sites sites in namespaces on bridge $bridge, ${seconds} s of link flaps"
ip link add "$bridge" type bridge && ip link set "$bridge" up || fail "cannot create bridge $bridge"
for ((i = 0; i < sites; i++)); do
  ns=pf$tag-$i
  ip netns add "$ns" && ip link add "pfv$tag$i" type veth peer name "pfp$tag$i" &&
    ip link set "pfp$tag$i" netns "$ns" && ip link set "pfv$tag$i" master "$bridge" && ip link set "pfv$tag$i" up &&
    ip -n "$ns" link set lo up && ip -n "$ns" addr add "$subnet.$((i + 1))/24" dev "pfp$tag$i" &&
    ip -n "$ns" link set "pfp$tag$i" up || fail "cannot set up namespace $ns"
done

"$parley" init "$(db 0)" --name s0 > /dev/null || fail init
"$parley" exec "$(db 0)" "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)" || fail create
"$parley" exec "$(db 0)" "INSERT INTO accounts VALUES (1, 1000), (2, 1000), (3, 1000), (4, 1000), (5, 1000)" > /dev/null || fail insert
"$parley" track "$(db 0)" accounts --column balance=merge > /dev/null || fail track
for ((i = 1; i < sites; i++)); do "$parley" clone "$(db 0)" "$(db $i)" --name "s$i" > /dev/null || fail clone; done

for ((i = 0; i < sites; i++)); do
  ip netns exec "pf$tag-$i" "$parley" serve "$(db $i)" --listen "$subnet.$((i + 1)):7000" \
    --peer "tcp://$subnet.$(( (i + 1) % sites + 1 )):7000" --interval 200 --timeout 2 > "$work/serve$i.log" 2>&1 &
  pids+=($!); serves[$i]=$!
done
sleep 1

flaps=0 writes=0
until=$(( SECONDS + seconds )); next_flap=$SECONDS
declare -A down_until
while (( SECONDS < until )); do
  site=$(( RANDOM % sites )) a=$(( RANDOM % accounts + 1 )) b=$(( RANDOM % accounts + 1 )) amount=$(( RANDOM % 50 + 1 ))
  "$parley" exec "$(db $site)" "UPDATE accounts SET balance = balance - $amount WHERE id = $a;
    UPDATE accounts SET balance = balance + $amount WHERE id = $b" > /dev/null 2>&1 && writes=$((writes + 1))
  for i in "${!down_until[@]}"; do
    if (( SECONDS >= down_until[$i] )); then ip link set "pfv$tag$i" up; unset "down_until[$i]"; fi
  done
  if (( SECONDS >= next_flap )); then
    i=$(( RANDOM % sites ))
    ip link set "pfv$tag$i" down && flaps=$((flaps + 1)) && down_until[$i]=$(( SECONDS + 1 + RANDOM % 3 ))
    next_flap=$(( SECONDS + 1 + RANDOM % 2 ))
  fi
done
for ((i = 0; i < sites; i++)); do ip link set "pfv$tag$i" up; done

started=$SECONDS
while true; do
  same=1
  for ((i = 0; i < sites; i++)); do "$parley" exec "$(db $i)" "SELECT * FROM accounts ORDER BY id" --csv > "$work/dump$i.txt" 2>/dev/null || same=0; done
  for ((i = 1; i < sites; i++)); do cmp -s "$work/dump0.txt" "$work/dump$i.txt" || same=0; done
  (( same )) && break
  (( SECONDS - started < 40 )) || fail "sites still differ 40 s after the links came up"
  sleep 0.5
done
converged=$(( SECONDS - started ))
for ((i = 0; i < sites; i++)); do kill -0 "${serves[$i]}" 2>/dev/null || fail "serve s$i died"; done
total=$(awk -F, 'NR > 1 { s += $2 } END { print s + 0 }' "$work/dump0.txt")
[ "$total" = 5000 ] || fail "the balances add up to $total, not 5000"
failed=$(cat "$work"/serve*.log | grep -c failed)
(( failed > 0 && flaps > 0 )) || fail "no sync failed ($flaps link flaps): the faults were never hit"
echo "netns: seed $seed ok: $writes writes, $flaps link flaps, $failed failed syncs logged, converged $converged s after the links came up, divergences 0"
