#!/usr/bin/env bash
# Progress lines on a terminal: sync (file to file and TCP), import, export and clone (file
# and TCP) draw "WHAT: receiving NN% N of M transactions, R rows, B MB ..." on a pseudo-terminal
# (script(1) gives the command one), redraw by time (PARLEY_PROGRESS_MS; 200 ms by default),
# and erase the line before their own output; piped, they print nothing extra.
# Usage: progress_pty.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v script > /dev/null || { echo "progress_pty: script(1) (util-linux) is not installed: skipped"; exit 77; }
export PARLEY_SECRET=$(parley secret)

# on_tty FILE COMMAND...: runs COMMAND on a pseudo-terminal, everything it wrote into FILE.
on_tty() {
  local file=$1
  shift
  script -qfec "$(printf '%q ' "$@")" /dev/null > "$file" < /dev/null
  tr -d '\r' < "$file" > /dev/null  # readable
}
draws() { grep -o $'\r\e\[K[a-z]*: [a-z]*' "$1" | wc -l; }

parley init a.db --name a > /dev/null
parley exec a.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"
parley track a.db t > /dev/null
parley clone a.db b.db --name b > /dev/null
parley clone a.db c.db --name c > /dev/null
python3 -c "
for i in range(20000): print(f\"INSERT INTO t VALUES ({i}, '{'x' * 200}');\")" > load.sql
parley exec a.db --autocommit --file load.sql 2> /dev/null

# File to file, a draw per chunk (period 0): percent and totals known from the vectors.
PARLEY_PROGRESS_MS=0 on_tty sync.tty parley sync b.db a.db
has sync.tty $'\r\e[Ksync: receiving'
has sync.tty "of 20000 transactions"
has sync.tty "100% 20000 of 20000 transactions, 20000 rows"
has sync.tty $'\r\e[Ksynced b with a: sent 0 transactions, received 20000'  # erased, then the summary
[ "$(draws sync.tty)" -ge 3 ] || { cat -v sync.tty; fail "a 4 MB sync drew fewer than 3 lines at period 0"; }

# Export and import: sending, then receiving against the file's size.
PARLEY_PROGRESS_MS=0 on_tty export.tty parley export a.db --out all.pcs
has export.tty "export: sending 100% 20000 of 20000 transactions"
PARLEY_PROGRESS_MS=0 on_tty import.tty parley import c.db all.pcs
has import.tty "import: receiving 100% 20000 of 20000 transactions, 20000 rows"
has import.tty " MB of "

# Clone from a file: the copy's bytes against the database's size.
PARLEY_PROGRESS_MS=0 on_tty clone.tty parley clone a.db d.db --name d
has clone.tty "clone: copying 100%"

# Over TCP: the sync, and a clone (snapshot bytes, then its first sync).
parley serve a.db --listen 127.0.0.1:0 > serve.log 2>&1 &
for _ in $(seq 100); do grep -q "on port" serve.log && break; sleep 0.1; done
port=$(sed -n 's/.* on port \([0-9]*\).*/\1/p' serve.log | head -1)
[ -n "$port" ] || { cat serve.log; fail "serve did not start"; }
parley exec a.db "UPDATE t SET v = 'y' || v" 2> /dev/null  # one transaction of 20,000 rows
PARLEY_PROGRESS_MS=0 on_tty tcp.tty parley sync b.db "tcp://127.0.0.1:$port"
has tcp.tty "sync: receiving"
has tcp.tty "of 1 transactions"
PARLEY_PROGRESS_MS=0 on_tty tcpclone.tty parley clone "tcp://127.0.0.1:$port" f.db --name f
has tcpclone.tty "clone: copying"

# Rate-limited by time, not by count: with the default period (200 ms) a sync draws at most
# one line per 200 ms it runs, however many chunks arrive.
rm -f g.db*
parley clone c.db g.db --name g > /dev/null
start=$(date +%s%N)
on_tty slow.tty parley sync g.db a.db
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(draws slow.tty)" -le $((ms / 200 + 1)) ] || { cat -v slow.tty; fail "$(draws slow.tty) draws in $ms ms"; }
PARLEY_PROGRESS_MS=0 on_tty fast.tty parley sync b.db a.db > /dev/null  # nothing new: no draw at all
[ "$(draws fast.tty)" = 0 ] || fail "a sync with nothing to move drew a progress line"

# Not a terminal: nothing extra, whatever the period. And PARLEY_PROGRESS=0 on a terminal.
rm -f h.db*
parley clone b.db h.db --name h > /dev/null
PARLEY_PROGRESS_MS=0 parley sync h.db a.db > piped.out 2> piped.err
! grep -q $'\r' piped.out piped.err || fail "piped: a carriage return"
[ ! -s piped.err ] || { cat piped.err; fail "piped: stderr not empty"; }
[ "$(wc -l < piped.out)" = 1 ] || fail "piped: more than the summary line"
PARLEY_PROGRESS_MS=0 parley export a.db --out again.pcs 2> piped.err > /dev/null
[ ! -s piped.err ] || fail "piped export: stderr not empty"
PARLEY_PROGRESS_MS=0 parley import h.db again.pcs 2> piped.err > /dev/null
[ ! -s piped.err ] || fail "piped import: stderr not empty"
rm -f i.db*
PARLEY_PROGRESS=0 PARLEY_PROGRESS_MS=0 on_tty off.tty parley clone a.db i.db --name i
[ "$(draws off.tty)" = 0 ] || fail "PARLEY_PROGRESS=0 drew on a terminal"
echo "progress_pty: ok"
