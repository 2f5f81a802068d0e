#!/usr/bin/env bash
# Network faults between real processes: N `parley serve` processes on loopback, connected in a
# ring or a full mesh, with parley-faultproxy on some links (drops, truncations, stalls, delays,
# link cuts). While the faults fire, random writes land at every site through `parley exec`
# (a second process on the same SQLite file as serve). Then the proxies heal and, after a quiet
# period, every site must hold the same rows, the money must add up, every serve process must
# still be alive and stop cleanly, and the logs must show that faults were hit and syncs failed
# (so the test cannot pass vacuously).
#
# Usage: netfault.sh BUILD_DIR ring|mesh
# Environment (all optional):
#   NETFAULT_SEED=S           replay a run (printed at the start and on failure)
#   NETFAULT_SITES=N          sites (default 3 for a ring, 4 for a mesh; 2..8)
#   NETFAULT_FAULT_SECONDS=T  how long writes and faults run (default 10)
#   NETFAULT_SETTLE_SECONDS=T how long the healed sites may take to converge (default 30)
#   NETFAULT_ROUNDS=R         runs, with seeds S, S+1, ... (default 1)
#   NETFAULT_WRITERS=W        concurrent writers (parley exec processes), default 2
#   NETFAULT_HANG=P           probability per piece that a proxy freezes a connection for good
#                             (default 0.01; serve must give up on it after its --timeout)
#   NETFAULT_KEEP=1           keep the working directory (logs, site files)
set -uo pipefail

build=$(realpath "${1:?usage: netfault.sh BUILD_DIR ring|mesh}")
topology=${2:?usage: netfault.sh BUILD_DIR ring|mesh}
case $topology in ring) default_sites=3 ;; mesh) default_sites=4 ;; *) echo "netfault: topology must be ring or mesh, got $topology" >&2; exit 2 ;; esac
parley=$build/parley
proxy=$build/tests/net/parley-faultproxy
for b in "$parley" "$proxy"; do [ -x "$b" ] || { echo "netfault: $b is not built" >&2; exit 2; }; done

seed=${NETFAULT_SEED:-$(( $(date +%s%N) % 1000000000 ))}
sites=${NETFAULT_SITES:-$default_sites}
fault_seconds=${NETFAULT_FAULT_SECONDS:-10}
settle_seconds=${NETFAULT_SETTLE_SECONDS:-30}
rounds=${NETFAULT_ROUNDS:-1}
hang=${NETFAULT_HANG:-0.01}
writers=${NETFAULT_WRITERS:-2}
accounts=5
interval_ms=200
[ "$sites" -ge 2 ] && [ "$sites" -le 8 ] || { echo "netfault: NETFAULT_SITES must be 2..8" >&2; exit 2; }
export PARLEY_SECRET=a8c6a700dca90cf0677ea57ef328670e71fc3a938ebd2c4a37cf9047c8c5d0c2

pids=()   # every process this script started, stopped by id on exit
work=""
fail() {
  echo "netfault $topology FAILED (seed $seed; replay: NETFAULT_SEED=$seed NETFAULT_SITES=$sites" \
       "NETFAULT_FAULT_SECONDS=$fault_seconds $0 $build $topology): $*" >&2
  for f in "$work"/*.log; do echo "--- $(basename "$f") (last 15 lines)" >&2; tail -15 "$f" >&2; done
  NETFAULT_KEEP=1
  exit 1
}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$work" ]; then
    if [ "${NETFAULT_KEEP:-0}" = 1 ]; then echo "netfault: kept $work" >&2; else rm -rf "$work"; fi
  fi
}
trap cleanup EXIT

# A loopback port nobody listens on (the kernel's choice would need the port before the peers
# that name it start, so: random, then checked), below the kernel's range for outgoing
# connections' ports so that none of those takes it meanwhile.
used_ports=" "
free_port() {
  local low=20000 high
  high=$(awk '{ print $1 - 1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)
  (( high > low + 1000 )) || { low=40000; high=60000; }
  while true; do
    local p=$(( low + ($(od -An -N2 -tu2 /dev/urandom) % (high - low)) ))
    [[ $used_ports == *" $p "* ]] && continue
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then used_ports+="$p "; echo "$p"; return; fi
  done
}

db() { echo "$work/s$1.db"; }

make_sites() {
  "$parley" init "$(db 0)" --name s0 > /dev/null || fail "init"
  "$parley" exec "$(db 0)" "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)" || fail "create"
  "$parley" exec "$(db 0)" "CREATE TABLE notes(k INTEGER PRIMARY KEY, v TEXT, site TEXT)" || fail "create"
  local rows="" i
  for ((i = 1; i <= accounts; i++)); do rows+="${rows:+,}($i, 1000)"; done
  "$parley" exec "$(db 0)" "INSERT INTO accounts VALUES $rows" > /dev/null || fail "insert"
  "$parley" track "$(db 0)" accounts --column "balance=$balance_resolver" > /dev/null || fail "track accounts"
  "$parley" track "$(db 0)" notes > /dev/null || fail "track notes"
  for ((i = 1; i < sites; i++)); do "$parley" clone "$(db 0)" "$(db $i)" --name "s$i" > /dev/null || fail "clone s$i"; done
}

# Links: "i j" = site i's serve syncs with site j (both directions). Ring: i -> i+1. Mesh: i -> j>i.
links() {
  local i j
  if [ "$topology" = ring ]; then
    for ((i = 0; i < sites; i++)); do echo "$i $(( (i + 1) % sites ))"; done
  else
    for ((i = 0; i < sites; i++)); do for ((j = i + 1; j < sites; j++)); do echo "$i $j"; done; done
  fi
}

# Waits until a process's log has a line matching a pattern: 0 when it does, 1 when the
# process exited first (its log says why); fails the run after 10 s.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3 n
  for ((n = 0; n < 200; n++)); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  fail "$(basename "$file") never printed \"$pattern\""
}

# Starts the serve processes, then the proxies, on ports chosen just before; 1 when another
# process took one of those ports meanwhile (the caller retries with new ones).
start_network() {
  local i j n=0 proxy_args=()
  for ((i = 0; i < sites; i++)); do serve_port[$i]=$(free_port); peers[$i]=""; done
  while read -r i j; do
    # Every link but (on average) one in four goes through a proxy; the first always does.
    if (( n == 0 || RANDOM % 4 != 0 )); then
      local port; port=$(free_port)
      proxy_args+=("--listen 127.0.0.1:$port --target 127.0.0.1:${serve_port[$j]} --seed $((seed * 100 + n))
        --drop 0.03 --truncate 0.02 --stall 0.03 --stall-ms $(( 500 + RANDOM % 2500 )) --hang $hang
        --delay-ms $(( RANDOM % 50 )) --cut-every-ms $(( 1500 + RANDOM % 3000 )) --cut-ms $(( 300 + RANDOM % 1500 ))")
      peers[$i]+=" --peer tcp://127.0.0.1:$port"
    else
      peers[$i]+=" --peer tcp://127.0.0.1:${serve_port[$j]}"
    fi
    n=$((n + 1))
  done < <(links)
  for ((i = 0; i < sites; i++)); do
    # shellcheck disable=SC2086
    "$parley" serve "$(db $i)" --listen "127.0.0.1:${serve_port[$i]}" ${peers[$i]} --interval $interval_ms --timeout 2 \
      > "$work/serve$i.log" 2>&1 &
    pids+=($!); serves[$i]=$!
  done
  for ((n = 0; n < ${#proxy_args[@]}; n++)); do
    # shellcheck disable=SC2086
    "$proxy" ${proxy_args[$n]} > "$work/proxy$n.log" 2>&1 &
    pids+=($!); proxies+=($!)
  done
  for ((i = 0; i < sites; i++)); do wait_for_line "$work/serve$i.log" "serving s$i" "${serves[$i]}" || return 1; done
  for ((n = 0; n < ${#proxies[@]}; n++)); do
    wait_for_line "$work/proxy$n.log" "listening on port" "${proxies[$n]}" || return 1
  done
}

# Starts the network, with new ports when another process took one first (up to 3 times).
start_network_retrying() {
  local attempt pid
  for attempt in 1 2 3; do
    start_network && return 0
    local why; why=$(grep -h -m1 "in use\|cannot listen" "$work"/serve*.log "$work"/proxy*.log | head -1)
    (( attempt < 3 )) || fail "could not start the network: $why"
    echo "netfault: a port was taken meanwhile ($why); retrying with others"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    pids=() proxies=()
    rm -f "$work"/serve*.log "$work"/proxy*.log
  done
}

# One random write at a random site: a transfer between two accounts (conserves money), or an
# upsert or delete of a note (lww, row existence conflicts).
random_write() {
  local site=$(( RANDOM % sites )) op=$(( RANDOM % 10 )) sql
  local a=$(( RANDOM % accounts + 1 )) b=$(( RANDOM % accounts + 1 )) amount=$(( RANDOM % 50 + 1 )) k=$(( RANDOM % 20 ))
  if (( op < 6 )); then
    sql="UPDATE accounts SET balance = balance - $amount WHERE id = $a; UPDATE accounts SET balance = balance + $amount WHERE id = $b"
  elif (( op < 9 )); then
    sql="INSERT INTO notes VALUES ($k, 'v$RANDOM', 's$site') ON CONFLICT(k) DO UPDATE SET v = excluded.v, site = excluded.site"
  else
    sql="DELETE FROM notes WHERE k = $k"
  fi
  if "$parley" exec "$(db $site)" "$sql" > /dev/null 2>> "$work/exec-errors$writer.log"; then writes_ok=$((writes_ok + 1))
  else writes_failed=$((writes_failed + 1)); fi
}

# $writers writers at once, each with a seed of its own, for fault_seconds; sums their counts.
write_concurrently() {
  local w until=$(( SECONDS + fault_seconds )) writer_pids=()
  for ((w = 0; w < writers; w++)); do
    (
      writer=$w
      RANDOM=$(( seed * 31 + w + 1 ))
      writes_ok=0 writes_failed=0
      while (( SECONDS < until )); do random_write; done
      echo "$writes_ok $writes_failed" > "$work/writer$w.counts"
    ) &
    writer_pids+=($!)
  done
  for w in "${writer_pids[@]}"; do wait "$w"; done
  writes_ok=$(cat "$work"/writer*.counts | awk '{ s += $1 } END { print s + 0 }')
  writes_failed=$(cat "$work"/writer*.counts | awk '{ s += $2 } END { print s + 0 }')
}

dump() {
  "$parley" exec "$(db $1)" "SELECT * FROM accounts ORDER BY id" --csv &&
    "$parley" exec "$(db $1)" "SELECT * FROM notes ORDER BY k" --csv
}

# 0 when every site holds the same rows; the dumps are left in $work/dump*.txt.
all_identical() {
  local i
  for ((i = 0; i < sites; i++)); do dump $i > "$work/dump$i.txt" 2>> "$work/dump-errors.log" || return 1; done
  for ((i = 1; i < sites; i++)); do cmp -s "$work/dump0.txt" "$work/dump$i.txt" || return 1; done
}

check_alive() {
  local i
  for ((i = 0; i < sites; i++)); do kill -0 "${serves[$i]}" 2>/dev/null || fail "serve s$i died"; done
  for p in "${proxies[@]}"; do kill -0 "$p" 2>/dev/null || fail "a fault proxy died"; done
}

converge() {
  local started=$SECONDS
  while ! all_identical; do
    (( SECONDS - started < settle_seconds )) || fail "sites still differ ${settle_seconds} s after healing: $(diff "$work/dump0.txt" "$work/dump1.txt" | head -5 | tr '\n' ' ')"
    sleep 0.5
  done
  converged_after=$(( SECONDS - started ))
  sleep $(( 3 * interval_ms / 1000 + 1 ))  # a quiet period: still identical after more sync rounds
  all_identical || fail "sites diverged again during the quiet period"
}

check_money() {
  local i total
  for ((i = 0; i < sites; i++)); do
    total=$(awk -F, 'NR > 1 && NF == 2 && $1 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }' <(
      "$parley" exec "$(db $i)" "SELECT id, balance FROM accounts" --csv))
    [ "$total" -eq $(( accounts * 1000 )) ] || fail "s$i holds $total in total, not $(( accounts * 1000 ))"
  done
}

stop_all() {
  local i p
  slowest_stop_ms=0
  for ((i = 0; i < sites; i++)); do
    local t0; t0=$(date +%s%N)
    kill -TERM "${serves[$i]}"
    wait "${serves[$i]}" || fail "serve s$i exited with status $? when asked to stop"
    grep -q '^stopped$' "$work/serve$i.log" || fail "serve s$i did not stop cleanly"
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    (( ms > slowest_stop_ms )) && slowest_stop_ms=$ms
  done
  for p in "${proxies[@]}"; do kill -TERM "$p"; wait "$p" || fail "a fault proxy exited with status $?"; done
}

# Sums one field of every proxy's last totals line.
proxy_total() { for f in "$work"/proxy*.log; do grep '^totals:' "$f" | tail -1; done | grep -o "$1=[0-9]*" | awk -F= '{ s += $2 } END { print s + 0 }'; }

one_round() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/netfault.XXXXXX")
  RANDOM=$seed
  balance_resolver=$( (( RANDOM % 2 )) && echo merge || echo counter)
  echo "netfault $topology: seed $seed, $sites sites, $writers writers, balance=$balance_resolver, ${fault_seconds} s of faults"
  local t0=$SECONDS
  make_sites
  pids=() proxies=()
  start_network_retrying
  local setup=$(( SECONDS - t0 ))
  write_concurrently
  check_alive
  for p in "${proxies[@]}"; do kill -USR1 "$p"; done
  converge
  check_alive
  check_money
  local t1=$SECONDS
  stop_all
  local stopping=$(( SECONDS - t1 ))
  local faults=$(( $(proxy_total drops) + $(proxy_total truncates) + $(proxy_total stalls) + $(proxy_total cuts) ))
  local failed_syncs; failed_syncs=$(cat "$work"/serve*.log | grep -c "failed")
  (( faults > 0 )) || fail "no fault was injected"
  (( failed_syncs > 0 )) || fail "no sync failed: the faults were never hit"
  (( writes_ok > 0 )) || fail "no write succeeded"
  echo "netfault $topology: seed $seed ok: $writes_ok writes ($writes_failed failed), faults injected: drops=$(proxy_total drops)" \
       "truncates=$(proxy_total truncates) stalls=$(proxy_total stalls) hangs=$(proxy_total hangs) cuts=$(proxy_total cuts) refused=$(proxy_total refused)," \
       "failed syncs logged=$failed_syncs, converged ${converged_after} s after healing, divergences 0" \
       "(setup ${setup} s, stop ${stopping} s, slowest serve stop ${slowest_stop_ms} ms)"
  if cat "$work"/exec-errors*.log 2>/dev/null | grep -qv '^token: '; then
    echo "exec errors:"; cat "$work"/exec-errors*.log | grep -v '^token: ' | sort | uniq -c | head -5
  fi
  pids=(); proxies=()
  if [ "${NETFAULT_KEEP:-0}" = 1 ]; then echo "netfault: kept $work"; else rm -rf "$work"; fi
  work=""
}

declare -a serve_port peers serves proxies
for ((round = 0; round < rounds; round++)); do
  one_round
  seed=$((seed + 1))
done
