#!/usr/bin/env bash
# Sites by name wherever an id is accepted (export --for, forget, --after), the vector as
# status prints it accepted by --since, export --force, and file exchanges recorded as syncs.
# Usage: site_names.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

parley init ny.db --name new-york > /dev/null
parley exec ny.db "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)"
parley track ny.db kv > /dev/null
parley clone ny.db london.db --name london > /dev/null
parley clone ny.db tokyo.db --name tokyo > /dev/null
parley exec ny.db "INSERT INTO kv VALUES (1, 'a')" 2> /dev/null
parley exec london.db "INSERT INTO kv VALUES (2, 'b')" 2> /dev/null

# Before any exchange, status says "never" for london at new-york.
parley status ny.db > st.txt
has st.txt "never"

# A file exchange is a sync: the import records its origin, by name.
parley export ny.db --out ny.pcs > /dev/null
parley import london.db ny.pcs > /dev/null
parley status london.db --json > st.json
python3 - st.json <<'PY' || fail "london's status after the import"
import json, sys
peers = {p["site"]: p for p in json.load(open(sys.argv[1]))["peers"]}
ny = [p for p in peers.values() if p.get("last_sync_ms")]
assert len(ny) == 1, peers
PY

# export --for takes the name the import recorded; refuses this site itself.
parley export london.db --for new-york --out for-ny.pcs > out.txt
has out.txt "wrote 1 transactions"
parley import ny.db for-ny.pcs > /dev/null
# ...and the export counted as a sync with new-york at london, the import at new-york.
parley status ny.db --json | python3 -c "
import json, sys
assert any(p.get('last_sync_ms') for p in json.load(sys.stdin)['peers'])" || fail "ny's status after importing"
expect_error 2 "parley export: --for names this site itself" parley export london.db --for london --out x.pcs
expect_error 1 'parley export: no site this site knows is named "paris"' parley export london.db --for paris --out x.pcs
expect_error 2 "parley export: --for wants a site's name, its id" parley export london.db --for ab --out x.pcs

# --since takes the vector exactly as status prints it (short ids), braces and all.
vector=$(parley status london.db | awk '$1 == "vector" {sub(/^vector +/, ""); print}')
parley exec ny.db "INSERT INTO kv VALUES (3, 'c')" 2> /dev/null
parley export ny.db --since "$vector" --out since.pcs > out.txt
has out.txt "wrote 1 transactions"
# ...or with names in it, and the token form still works.
ny_short=$(parley status ny.db --json | python3 -c "import json,sys; print(json.load(sys.stdin)['site'][:8])")
ny_vector=$(parley status ny.db | awk '$1 == "vector" {sub(/^vector +/, ""); print}')
named=$(echo "$ny_vector" | sed "s/$ny_short/new-york/")  # {new-york:3, 1a2b3c4d:1}
[ "$named" != "$ny_vector" ] || fail "no $ny_short in $ny_vector"
parley export ny.db --since "$named" --out none.pcs > out.txt
has out.txt "wrote 0 transactions"
expect_error 2 "parley export: bad token \"{abcd}\": expected SITEID:SEQ" parley export ny.db --since "{abcd}" --out y.pcs
expect_error 2 "parley export: bad token \"{paris:3}\"" parley export ny.db --since "{paris:3}" --out y.pcs

# export refuses to overwrite without --force, with a hint; --force replaces the file.
expect_error 1 "parley export: since.pcs already exists; --force overwrites it" parley export ny.db --out since.pcs
before=$(cksum < since.pcs)
parley export ny.db --out since.pcs --force > out.txt
has out.txt "to since.pcs"
[ "$(cksum < since.pcs)" != "$before" ] || fail "--force left the old file"
[ ! -e since.pcs.new ] || fail "--force left its temporary file"
parley import tokyo.db since.pcs > /dev/null

# --after takes a vector as status prints it too.
parley exec tokyo.db "SELECT count(*) AS n FROM kv" --csv --after "$vector" --timeout 2 > out.txt
has out.txt "3"

# forget takes a name (tokyo learned new-york's from the file it imported).
parley forget tokyo.db new-york > out.txt
has out.txt "forgot site"
expect_error 1 "parley forget: a site cannot forget itself" parley forget ny.db new-york
echo "site_names: ok"
