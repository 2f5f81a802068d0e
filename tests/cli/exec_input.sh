#!/usr/bin/env bash
# parley exec with SQL from a file (--file) or standard input (-): no size limit, each
# statement's rows printed in order (table, CSV, JSON), one atomic batch unless --autocommit.
# Usage: exec_input.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

parley init s.db --name s > /dev/null
parley exec s.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"
parley track s.db t > /dev/null

# Every statement's rows, in order, from a file.
cat > two.sql <<'SQL'
INSERT INTO t VALUES (1, 'one');
SELECT id, v FROM t;
INSERT INTO t VALUES (2, 'two');
SELECT count(*) AS n FROM t;
SQL
parley exec s.db --file two.sql > out.txt 2> err.txt
[ "$(grep -c '^(1 row)$' out.txt)" = 2 ] || { cat out.txt; fail "two tables expected"; }
has out.txt "1   one"
[ "$(grep -A2 '^n$' out.txt | tail -1)" = 2 ] || { cat out.txt; fail "the second SELECT's count"; }
has err.txt "token: "

# From standard input, as CSV and as JSON (one array per statement).
printf 'SELECT 1 AS a; SELECT 2 AS b, %s AS c;\n' "'x'" | parley exec s.db - --csv > csv.txt
[ "$(cat csv.txt)" = "$(printf 'a\n1\n\nb,c\n2,x')" ] || { cat csv.txt; fail "CSV of two statements"; }
printf 'SELECT 1 AS a; SELECT 2 AS b;\n' | parley exec s.db --file - --json > json.txt
[ "$(cat json.txt)" = "$(printf '[{"a": 1}]\n[{"b": 2}]')" ] || { cat json.txt; fail "JSON of two statements"; }

# No size limit on one statement (the kernel caps one argument at 128 KB) or on the text.
python3 -c "print(\"INSERT INTO t VALUES (3, '\" + 'x' * 300000 + \"');\")" > big.sql
parley exec s.db --file big.sql 2> /dev/null
[ "$(parley exec s.db "SELECT length(v) FROM t WHERE id = 3" --csv | tail -1)" = 300000 ] || fail "300 KB value"
python3 -c "
for i in range(10, 20010): print(f\"INSERT INTO t VALUES ({i}, 'v{i}');\")" > many.sql
txns() { parley status s.db --json | python3 -c "import json,sys; print(json.load(sys.stdin)['log']['transactions'])"; }
before=$(txns)
# --autocommit: one transaction per statement, as the sqlite3 shell
parley exec s.db --autocommit - < many.sql 2> err.txt
has err.txt "token: "
[ $(($(txns) - before)) = 20000 ] || fail "--autocommit of 20,000 INSERTs: $(($(txns) - before)) transactions"
seq_before=$(txns)

# One atomic batch by default: a failing statement leaves nothing of the text.
printf "INSERT INTO t VALUES (50000, 'a');\nINSERT INTO t VALUES (50001, 'b');\nINSERT INTO nope VALUES (1);\n" > bad.sql
expect_error 1 "parley exec: no such table: nope" parley exec s.db --file bad.sql
[ "$(parley exec s.db "SELECT count(*) FROM t WHERE id >= 50000" --csv | tail -1)" = 0 ] || fail "atomic batch left rows"
# --autocommit keeps what committed before the error, and says so.
parley exec s.db --autocommit --file bad.sql > /dev/null 2> err.txt && fail "the bad file succeeded"
has err.txt "(the statements before the error committed)"
[ "$(parley exec s.db "SELECT count(*) FROM t WHERE id >= 50000" --csv | tail -1)" = 2 ] || fail "--autocommit rows"
seq_after=$(txns)
[ $((seq_after - seq_before)) = 2 ] || fail "--autocommit: $seq_before -> $seq_after transactions, not 2 more"

# Bad input: one line, and nothing run.
expect_error 2 "parley exec: missing SQL: give it as an argument, with --file FILE, or - for standard input" parley exec s.db
expect_error 2 "parley exec: give the SQL as an argument or with --file, not both" parley exec s.db "SELECT 1" --file two.sql
expect_error 1 "parley exec: cannot read missing.sql: No such file or directory" parley exec s.db --file missing.sql
: > empty.sql
expect_error 1 "parley exec: empty.sql holds no SQL" parley exec s.db --file empty.sql
echo "exec_input: ok"
