#!/bin/bash
# What DuckDB writes, we read identically: one table of every type the
# pipeline meets (ints of each width, unsigned, float/double with NaN and
# infinities, strings with non-ASCII text and nulls, dates, timestamps in
# us/ns/ms, booleans, lists with null and empty lists, lists of lists, blobs)
# written by DuckDB with each codec (snappy, zstd, gzip, uncompressed) and
# both page versions (PARQUET_VERSION V1 and V2: data page v2 and DELTA_*
# encodings), plus 1-row row groups and a 1M-row row group; each file is read
# by `musrec parquet cat` and compared value by value with DuckDB's reading
# (scripts/oracle/duckdb_compare.mjs), and the 1M-row file's `scan` sums are
# compared with DuckDB's SUM/MAX (and its first 20000 rows value by value).
set -u
export NODE_PATH=$ORACLE_DIR/node_modules
SQL="node $ORACLE_DIR/eval_sql.mjs"
T=$TEST_TMP
table="CREATE TABLE t AS SELECT
  i::INTEGER AS i32, (i * 1000003)::BIGINT * 1000000007 - 4000000000000000 AS i64,
  (i % 30000 - 15000)::SMALLINT AS i16, (i % 200 - 100)::TINYINT AS i8,
  (i % 250)::UTINYINT AS u8, (i * 65537)::UINTEGER AS u32, (i::UBIGINT * 1234567890123) AS u64,
  CASE WHEN i = 5 THEN 'NaN'::FLOAT WHEN i = 6 THEN '-inf'::FLOAT ELSE (i / 3.0)::FLOAT END AS f32,
  CASE WHEN i = 7 THEN 'inf'::DOUBLE WHEN i % 97 = 0 THEN NULL ELSE i / 7.0 - 100 END AS f64,
  CASE WHEN i % 11 = 0 THEN NULL ELSE 'name ' || i || ' ёжик 🎵 \"q\" \\\\' END AS s,
  CASE WHEN i % 3 = 0 THEN 'pop' WHEN i % 3 = 1 THEN 'rock' ELSE NULL END AS genre,
  DATE '1969-12-25' + (i % 20000)::INTEGER AS d,
  TIMESTAMP '2022-01-01' + INTERVAL (i * 997) MILLISECOND AS ts_us,
  make_timestamp_ns(1600000000000000000 + i * 1000000007) AS ts_ns,
  (TIMESTAMP '1950-06-01 12:00:00' + INTERVAL (i) SECOND)::TIMESTAMP_MS AS ts_ms,
  i % 2 = 0 AS b,
  CASE WHEN i % 13 = 0 THEN NULL WHEN i % 13 = 1 THEN [] ELSE [i, i + 1, NULL] END AS l_int,
  CASE WHEN i % 17 = 0 THEN [] ELSE ['a' || i, 'b', NULL] END AS l_str,
  [[i], [], NULL, [i, i + 1]] AS ll,
  ('\\x00\\xff' || i::VARCHAR)::BLOB AS bl
  FROM range(3000) r(i)"
fail=0
# All files in one DuckDB session (node starts slowly on a loaded machine).
stmts=("$table")
for v in V1 V2; do for c in snappy zstd gzip uncompressed; do
  stmts+=("COPY t TO '$T/t_${c}_$v.parquet' (FORMAT parquet, COMPRESSION $c, PARQUET_VERSION $v, ROW_GROUP_SIZE 1000)")
done; done
# DuckDB cuts row groups per chunk it receives; a UNION ALL of one-row
# selects hands it one-row chunks, hence one-row row groups.
u="SELECT * FROM t WHERE i32 = 0"; for k in 1 2 3 4 5 6 7 8 9 10 11 12 13; do u="$u UNION ALL SELECT * FROM t WHERE i32 = $k"; done
stmts+=("COPY ($u) TO '$T/rg1.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1)")
stmts+=("COPY (SELECT i::INTEGER AS a, (i * 2654435761) % 1000003 AS b, (i % 160)::SMALLINT AS c,
        make_timestamp_ns(1640995200000000000 + (i % 365) * 86400000000000) AS ts,
        CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || (i % 1000) END AS s
      FROM range(1000000) r(i)) TO '$T/big.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
$SQL "${stmts[@]}" >/dev/null || { echo "duckdb could not write the test files"; exit 1; }

pairs=()
for f in "$T"/t_*.parquet "$T/rg1.parquet"; do
  b=$(basename "$f" .parquet)
  if ! "$MUSREC_BIN" parquet cat "$f" >"$T/$b.jsonl" 2>"$T/err"; then echo "FAIL $b: $(cat "$T/err")"; fail=1; continue; fi
  echo "$b: $("$MUSREC_BIN" parquet schema "$f" | grep -o 'encodings=[^ ]*' | tr ',' '\n' | sed 's/encodings=//' | sort -u | tr '\n' ' ')"
  pairs+=("$f" "$T/$b.jsonl")
done
node "$ORACLE_DIR/duckdb_compare.mjs" "${pairs[@]}" || fail=1
rgs=$("$MUSREC_BIN" parquet schema "$T/rg1.parquet" | sed -n 's/^row groups: //p')
[ "$rgs" = 14 ] || { echo "FAIL: expected 14 one-row row groups, DuckDB wrote $rgs"; fail=1; }

# One row group of 1M rows: scan sums against DuckDB's aggregates, and cat
# of the whole file against DuckDB row by row.
f=$T/big.parquet
rgs=$("$MUSREC_BIN" parquet schema "$f" | sed -n 's/^row groups: //p')
want=$($SQL "SELECT sum(a)::BIGINT AS a, sum(b)::BIGINT AS b, sum(c)::BIGINT AS c, epoch_ns(max(ts)) AS ts, count(s) AS s FROM '$f'")
got=$("$MUSREC_BIN" parquet scan "$f")
read -r wa wb wc wts ws <<<"$($PY -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["a"],d["b"],d["c"],d["ts"],d["s"])' "$want")"
read -r ga gb gc gts gs <<<"$($PY -c '
import json,sys
d={c["name"]:c for c in json.loads(sys.argv[1])["columns"]}
print(d["a"]["sum"],d["b"]["sum"],d["c"]["sum"],d["ts"]["max"],d["s"]["values"]-d["s"]["nulls"])' "$got")"
if [ "$wa $wb $wc $wts $ws" = "$ga $gb $gc $gts $gs" ] && [ "$rgs" = 1 ]; then echo "ok   1M-row row group: scan sums equal DuckDB's ($ga $gb $gc $gts $gs)"
else echo "MISMATCH 1M rows ($rgs row groups): duckdb $wa $wb $wc $wts $ws, ours $ga $gb $gc $gts $gs"; fail=1; fi
# Row by row for the first 20000 rows (all of them takes a minute in node).
if "$MUSREC_BIN" parquet head -n 20000 "$f" >"$T/ours.jsonl" && out=$(node "$ORACLE_DIR/duckdb_compare.mjs" "$f" "$T/ours.jsonl" --limit 20000); then
  echo "ok   1M-row row group: first 20000 rows equal DuckDB's"
else echo "MISMATCH 1M rows head: $out"; fail=1; fi
exit $fail
