#!/bin/bash
# Parquet reader and writer against DuckDB on the interactions schema
# (user_id INT32, track_id INT32, track_seq INT16, started_at TIMESTAMP(ns)),
# 20M rows (BENCH_ROWS), snappy, written by DuckDB (generated here, cached in
# bench/out/). Prints, with 2 threads each (BENCH_THREADS), median of 3:
#   read:  our `parquet scan` of all four columns into whole-column arrays
#          vs DuckDB's SELECT sum(user_id), sum(track_id), sum(track_seq),
#          max(started_at) (whose sums must equal ours); and `scan --stream`,
#          the same decode into reused per-thread buffers;
#   write: our writer's seconds in `parquet copy` (the decoded columns written
#          again, snappy) vs DuckDB's COPY ... TO of the same table in memory;
#   memory: peak RSS of a two-column projection scan against the two arrays
#          plus one row group's chunks (compressed + decompressed) per thread.
# Wall seconds on a shared machine are noisy; CPU seconds (all threads) are
# printed beside them and are the steadier comparison. Never fails on time.
set -eu
cd "$(dirname "$0")/.."
BIN=${MUSREC_BIN:-$PWD/build/musrec}
ROWS=${BENCH_ROWS:-20000000}
TH=${BENCH_THREADS:-2}
RUNS=3
OUT=$PWD/bench/out
mkdir -p "$OUT"
export NODE_PATH=$PWD/scripts/oracle/node_modules
F=$OUT/interactions_$ROWS.parquet
exec 9>/tmp/musrec-big.lock
flock 9   # one big job at a time on this machine

if [ ! -s "$F" ]; then
  echo "generating $F ($ROWS rows, DuckDB, snappy)"
  # Shaped like the real file: users in blocks, track ids spread, track_seq a
  # per-user rank, started_at whole days of 2022 (365 distinct values).
  node scripts/oracle/eval_sql.mjs "SET threads=$TH" "COPY (SELECT
      CAST(i // 160 AS INTEGER) AS user_id,
      CAST((i * 2654435761) % 1000003 AS INTEGER) AS track_id,
      CAST(i % 160 + 1 AS SMALLINT) AS track_seq,
      make_timestamp_ns(1640995200000000000 + ((i * 7919) % 365) * 86400000000000) AS started_at
    FROM range($ROWS) r(i)) TO '$F.tmp' (FORMAT parquet, COMPRESSION snappy)" >/dev/null
  mv "$F.tmp" "$F"
fi
echo "file: $F ($(du -h "$F" | cut -f1), $("$BIN" parquet schema "$F" | sed -n 's/^row groups: //p') row groups)"

med() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { $PY_BIN -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
PY_BIN=${PY:-/usr/bin/python3}

# ---- read ----
ours_wall=() ours_cpu=()
for r in $(seq $RUNS); do
  j=$("$BIN" --threads "$TH" parquet scan "$F")
  ours_wall+=("$(field "$j" 'd["seconds"]')"); ours_cpu+=("$(field "$j" 'd["cpu_seconds"]')")
done
ours_sums=$(field "$j" '" ".join(str(c.get("sum")) for c in d["columns"][:3]) + " " + str(d["columns"][3]["max"])')
dj=$(node scripts/oracle/duckdb_time.mjs "$TH" "$RUNS" "" \
  "SELECT sum(user_id) AS a, sum(track_id) AS b, sum(track_seq) AS c, epoch_ns(max(started_at)) AS d FROM '$F'")
duck_sums=$(field "$dj" '" ".join(str(d["result"][0][k]) for k in "abcd")')
rw=$(printf '%s\n' "${ours_wall[@]}" | med); rc=$(printf '%s\n' "${ours_cpu[@]}" | med)
dw=$(field "$dj" 'd["median_seconds"]'); dc=$(field "$dj" 'd["median_cpu_seconds"]')
[ "$ours_sums" = "$duck_sums" ] && agree="sums agree" || agree="SUMS DIFFER: ours $ours_sums, duckdb $duck_sums"
printf 'read  %s rows, 4 columns, %s threads: ours %.3f s (cpu %.3f s), duckdb %.3f s (cpu %.3f s), ratio %.2fx wall, %.2fx cpu; %s\n' \
  "$ROWS" "$TH" "$rw" "$rc" "$dw" "$dc" "$(echo "$rw / $dw" | bc -l)" "$(echo "$rc / $dc" | bc -l)" "$agree"

# The same decode into one reused buffer per thread (no whole-column arrays,
# as DuckDB's aggregate works): what the arrays' fresh memory costs.
ours_s=() ours_sc=()
for r in $(seq $RUNS); do
  j=$("$BIN" --threads "$TH" parquet scan "$F" --stream)
  ours_s+=("$(field "$j" 'd["seconds"]')"); ours_sc+=("$(field "$j" 'd["cpu_seconds"]')")
done
sw=$(printf '%s\n' "${ours_s[@]}" | med); scpu=$(printf '%s\n' "${ours_sc[@]}" | med)
printf 'read  (--stream, no arrays):              ours %.3f s (cpu %.3f s), ratio %.2fx wall, %.2fx cpu\n' \
  "$sw" "$scpu" "$(echo "$sw / $dw" | bc -l)" "$(echo "$scpu / $dc" | bc -l)"

# ---- write ----
ours_w=()
for r in $(seq $RUNS); do
  j=$("$BIN" --threads "$TH" parquet copy "$F" "$OUT/ours_copy.parquet" --codec snappy)
  ours_w+=("$(field "$j" 'd["write_seconds"]')")
done
ww=$(printf '%s\n' "${ours_w[@]}" | med)
dj=$(node scripts/oracle/duckdb_time.mjs "$TH" "$RUNS" "CREATE TABLE t AS SELECT * FROM '$F'" \
  "COPY t TO '$OUT/duck_copy.parquet' (FORMAT parquet, COMPRESSION snappy)")
dw=$(field "$dj" 'd["median_seconds"]'); dc=$(field "$dj" 'd["median_cpu_seconds"]')
printf 'write %s rows, snappy, %s threads: ours %.3f s, duckdb %.3f s (cpu %.3f s), ratio %.2fx wall; files %s (ours) vs %s (duckdb)\n' \
  "$ROWS" "$TH" "$ww" "$dw" "$dc" "$(echo "$ww / $dw" | bc -l)" "$(du -h "$OUT/ours_copy.parquet" | cut -f1)" "$(du -h "$OUT/duck_copy.parquet" | cut -f1)"

# ---- memory of a projection ----
tiny=$OUT/tiny.parquet; node scripts/oracle/eval_sql.mjs "COPY (SELECT 1 AS a) TO '$tiny' (FORMAT parquet)" >/dev/null
base=$("$BIN" --threads "$TH" parquet scan "$tiny" 2>/dev/null | grep -o '"peak_rss_bytes":[0-9]*' | cut -d: -f2 || true)
j=$("$BIN" --threads "$TH" parquet scan "$F" --columns user_id,track_id)
peak=$(field "$j" 'd["peak_rss_bytes"]'); arrays=$(field "$j" 'sum(c["array_bytes"] for c in d["columns"])')
rgb=$(field "$j" 'd["max_row_group_chunk_bytes"]')
printf 'memory: 2-column projection peak RSS %.1f MB; arrays %.1f MB + one row group'"'"'s chunks %.1f MB x %s threads = %.1f MB; process baseline %.1f MB; excess %.1f MB\n' \
  "$(echo "$peak / 1048576" | bc -l)" "$(echo "$arrays / 1048576" | bc -l)" "$(echo "$rgb / 1048576" | bc -l)" "$TH" \
  "$(echo "($arrays + $rgb * $TH) / 1048576" | bc -l)" "$(echo "${base:-0} / 1048576" | bc -l)" \
  "$(echo "($peak - ${base:-0} - $arrays - $rgb * $TH) / 1048576" | bc -l)"
rm -f "$OUT/ours_copy.parquet" "$OUT/duck_copy.parquet"
