# Shared by the relay's shell tests (nats_*.sh), sourced after lib.sh: real nats-server
# processes on free loopback ports, started and stopped by PID, and parley serve --nats sites.

# A loopback port nothing listens on now.
free_port() {
  while true; do
    local p=$((20000 + RANDOM % 40000))
    if ! (echo > "/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# Waits until something listens on the port.
wait_port() {
  for _ in $(seq 200); do
    if (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return; fi
    sleep 0.05
  done
  fail "nothing listens on port $1"
}

declare -A nats_pid site_pid

# start_nats NAME PORT [CONFIG]: a JetStream server storing under $work/NAME.
start_nats() {
  local name=$1 port=$2 config=${3:-}
  if [ -n "$config" ]; then
    nats-server -c "$config" > "$name.nats.log" 2>&1 &
  else
    nats-server -js -a 127.0.0.1 -p "$port" -sd "$work/$name" > "$name.nats.log" 2>&1 &
  fi
  nats_pid[$name]=$!
  pids+=("${nats_pid[$name]}")
  wait_port "$port"
}

stop_nats() {
  kill "${nats_pid[$1]}"
  wait "${nats_pid[$1]}" 2>/dev/null || true
}

# start_site NAME URLS: parley serve NAME.db --nats URLS, logging to NAME.log (appended).
start_site() {
  "$parley" serve "$1.db" --nats "$2" >> "$1.log" 2>&1 &
  site_pid[$1]=$!
  pids+=("${site_pid[$1]}")
}

stop_site() {
  kill "${site_pid[$1]}"
  wait "${site_pid[$1]}" 2>/dev/null || true
}

# Waits until the log has at least N lines matching the pattern (default 1).
wait_log() {
  local want=${3:-1}
  for _ in $(seq 400); do
    if [ "$(grep -c "$2" "$1" 2>/dev/null || true)" -ge "$want" ]; then return; fi
    sleep 0.05
  done
  fail "$1 never printed \"$2\" $want times"
}

# write SITE ID: inserts row ID at SITE; prints its commit token.
write() { "$parley" exec "$1.db" "INSERT INTO t VALUES ($2, 'from $1')" --token; }

# converge TOKEN SITE...: each site holds TOKEN within 20 s and has the same rows as the first.
converge() {
  local token=$1; shift
  for s in "$@"; do
    "$parley" exec "$s.db" "SELECT 1" --after "$token" --timeout 20 > /dev/null || fail "$s did not catch up with $token"
  done
  for s in "${@:2}"; do
    "$parley" verify "$s.db" --peer "$1.db" | grep -q "same rows" || fail "$s and $1 differ"
  done
}
