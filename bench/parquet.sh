#!/bin/bash
# Parquet reader and writer against DuckDB, side by side, on one file in the
# interactions schema (user_id INT32, track_id INT32, track_seq INT16,
# started_at TIMESTAMP(ns)): 20M rows (BENCH_ROWS), snappy, written by DuckDB
# (generated here once, cached in bench/out/). 2 threads each
# (BENCH_THREADS). Never fails on time.
#
# Both tools are timed the same way: RUNS (5) runs in one warm process, the
# median reported; DuckDB's runs reuse its buffers and thread pool, ours
# reuse nothing but the process (each run allocates its arrays afresh). The
# first run of each is printed too: on this VM the first touch of memory a
# process has never used costs about 2.5 ms per MB (the host backs guest
# pages lazily, perf shows it as the stores into fresh arrays), which the
# first run of a materialising reader pays and an aggregate does not. The
# read part prints that floor on its own (bench/touch.c: a fresh process
# faulting in memory of the arrays' size, decoding nothing).
#
#   read:   ours: `musrec parquet scan --repeat RUNS`, all four columns
#           decoded into whole-column arrays (as the pipeline holds them),
#           then summed for the check; DuckDB: SELECT sum(user_id),
#           sum(track_id), sum(track_seq), max(started_at) (the sums must
#           agree). Also `scan --stream`: the same decode into reused
#           per-thread buffers, DuckDB's way of working.
#   write:  ours: bench/pqwrite.c writes the file's columns, read into
#           arrays beforehand, with our writer (defaults: 1M-row row
#           groups, dictionaries when they pay); DuckDB: COPY of the same
#           table from memory (its defaults: 122880-row row groups; ours
#           is also shown with that row-group size). Our
#           writer fsyncs its atomic output, DuckDB's COPY does not: the
#           table shows both "as each tool does it" and with the sync
#           counted on both sides or on neither (ours minus its close, which
#           is the flush + fsync + rename; DuckDB plus an fsync of its file).
#   memory: peak RSS of a two-column projection scan against the two arrays
#           plus one row group's chunks (compressed + decompressed) per
#           thread.
# Wall seconds on a shared machine are noisy; CPU seconds (all threads) are
# printed beside them. BENCH_PARTS (default "read write memory") selects
# parts; bench/pqwrite.sh is this script with BENCH_PARTS=write.
set -eu
cd "$(dirname "$0")/.."
BIN=${MUSREC_BIN:-$PWD/build/musrec}
ROWS=${BENCH_ROWS:-20000000}
TH=${BENCH_THREADS:-2}
RUNS=${BENCH_RUNS:-5}
PARTS=${BENCH_PARTS:-read write memory}
OUT=$PWD/bench/out
PY_BIN=${PY:-/usr/bin/python3}
mkdir -p "$OUT"
export NODE_PATH=$PWD/scripts/oracle/node_modules
F=$OUT/interactions_$ROWS.parquet
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# the write driver, against the library the binary was built from
PKGS="openblas libzstd liblz4 snappy zlib libcurl libmicrohttpd libcjson"
if has read; then
  cc -std=gnu11 -O2 -fopenmp bench/touch.c -o "$OUT/touch"
fi
if has write; then
  make -s build/libmusrec.a
  cc -std=gnu11 -O2 -fopenmp -Isrc bench/pqwrite.c build/libmusrec.a $(pkg-config --libs $PKGS) \
     -lxgboost -lm -o "$OUT/pqwrite"
fi

# one big job at a time on this machine (small runs, under 5M rows, skip
# it; BENCH_LOCK=0 skips it too: the whole benchmark takes about 1 GB and
# 15 s of CPU, so it may run beside a long job that holds the lock)
if [ "$ROWS" -ge 5000000 ] && [ "${BENCH_LOCK:-1}" != 0 ]; then exec 9>/tmp/musrec-big.lock; flock 9; fi

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
echo "file: $F ($(du -h "$F" | cut -f1), $("$BIN" parquet schema "$F" | sed -n 's/^row groups: //p') row groups); $TH threads; median of $RUNS runs in one process per tool; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

py() { $PY_BIN -c "import json,sys,statistics as st; $1" "${@:2}"; }
# median and first of a field over JSON lines on stdin
lines_med() { py 'L=[json.loads(l) for l in sys.stdin if l.strip()]; v=[d[sys.argv[1]] for d in L]; print(st.median_low(v), v[0])' "$1"; }
ratio() { echo "$1 / $2" | bc -l; }
row() { # label ours_wall ours_cpu duck_wall duck_cpu
  printf '%-30s %8.3f %8.3f   %8.3f %8.3f   %6.2fx %6.2fx\n' "$1" "$2" "$3" "$4" "$5" "$(ratio "$2" "$4")" "$(ratio "$3" "$5")"
}
printf '%-30s %8s %8s   %8s %8s   %7s %7s\n' "" "ours s" "cpu s" "duckdb s" "cpu s" "wall" "cpu"

if has read; then
  # Each first run starts 3 s after the last big free, so the memory freed
  # by the process before is back with the host (free page reporting waits
  # 2 s) and no run inherits another's already-backed pages.
  sleep 3
  scan=$("$BIN" --threads "$TH" parquet scan "$F" --repeat "$RUNS")
  read -r ow ow1 < <(echo "$scan" | lines_med seconds)
  read -r oc oc1 < <(echo "$scan" | lines_med cpu_seconds)
  ours_sums=$(echo "$scan" | tail -1 | py 'd=json.loads(sys.stdin.read()); c=d["columns"]; print(*[c[i]["sum"] for i in range(3)], c[3]["max"])')
  dj=$(node scripts/oracle/duckdb_time.mjs "$TH" "$RUNS" "" \
    "SELECT sum(user_id) AS a, sum(track_id) AS b, sum(track_seq) AS c, epoch_ns(max(started_at)) AS d FROM '$F'")
  read -r dw dc dw1 duck_sums < <(echo "$dj" | py 'd=json.loads(sys.stdin.read()); r=d["result"][0]; print(d["median_seconds"], d["median_cpu_seconds"], d["runs"][0], *[r[k] for k in "abcd"])')
  [ "$ours_sums" = "$duck_sums" ] && agree="sums agree" || agree="SUMS DIFFER: ours $ours_sums, duckdb $duck_sums"
  row "read, arrays (median)" "$ow" "$oc" "$dw" "$dc"
  printf '%-30s %8.3f %8.3f   %8.3f %8s   %6.2fx\n' "read, arrays (first run)" "$ow1" "$oc1" "$dw1" "-" "$(ratio "$ow1" "$dw1")"
  sscan=$("$BIN" --threads "$TH" parquet scan "$F" --stream --repeat "$RUNS")
  read -r sw sw1 < <(echo "$sscan" | lines_med seconds)
  read -r sc sc1 < <(echo "$sscan" | lines_med cpu_seconds)
  row "read, --stream (median)" "$sw" "$sc" "$dw" "$dc"
  abytes=$(echo "$scan" | tail -1 | py 'd=json.loads(sys.stdin.read()); print(sum(c.get("array_bytes", 0) for c in d["columns"]))')
  sleep 3
  tw=$("$OUT/touch" "$abytes" "$TH" | py 'print(json.loads(sys.stdin.read())["seconds"])')
  printf '%-30s %8.3f   (a fresh process faulting in the arrays'"'"' %d MB, decoding nothing)\n' "first touch of the arrays" "$tw" "$((abytes / 1000000))"
  echo "  read check: $agree"
fi

if has write; then
  oj=$("$OUT/pqwrite" "$F" "$OUT/ours_copy.parquet" "$RUNS" snappy "$TH")
  dj=$(node scripts/oracle/pq_copy_bench.mjs "$F" "$OUT/duck_copy.parquet" "$RUNS" snappy "$TH")
  read -r ow oc ocl orow org ob < <(echo "$oj" | py 'd=json.loads(sys.stdin.read()); print(d["median_seconds"], d["median_cpu_seconds"], d["median_close_seconds"], d["rows"], d["row_groups"], d["bytes"])')
  read -r dw dc dfs drow drg db < <(echo "$dj" | py 'd=json.loads(sys.stdin.read()); print(d["median_seconds"], d["median_cpu_seconds"], d["median_fsync_seconds"], d["rows"], d["row_groups"], d["bytes"])')
  row "write, as each does it" "$ow" "$oc" "$dw" "$dc"
  row "write, both fsync" "$ow" "$oc" "$(echo "$dw + $dfs" | bc -l)" "$dc"
  row "write, neither fsyncs" "$(echo "$ow - $ocl" | bc -l)" "$oc" "$dw" "$dc"
  # ours again with DuckDB's row-group size, as each does it
  oj2=$("$OUT/pqwrite" "$F" "$OUT/ours_copy.parquet" "$RUNS" snappy "$TH" 122880)
  read -r ow2 oc2 < <(echo "$oj2" | py 'd=json.loads(sys.stdin.read()); print(d["median_seconds"], d["median_cpu_seconds"])')
  row "write, 122880-row groups" "$ow2" "$oc2" "$dw" "$dc"
  echo "  write: ours $orow rows in $org row groups, $((ob / 1000000)) MB, close (flush+fsync+rename) $ocl s;" \
       "duckdb $drow rows in $drg row groups, $((db / 1000000)) MB, fsync $dfs s"
  rm -f "$OUT/ours_copy.parquet" "$OUT/duck_copy.parquet"
fi

if has memory; then
  tiny=$OUT/tiny.parquet; node scripts/oracle/eval_sql.mjs "COPY (SELECT 1 AS a) TO '$tiny' (FORMAT parquet)" >/dev/null
  base=$("$BIN" --threads "$TH" parquet scan "$tiny" 2>/dev/null | grep -o '"peak_rss_bytes":[0-9]*' | cut -d: -f2 || true)
  j=$("$BIN" --threads "$TH" parquet scan "$F" --columns user_id,track_id)
  read -r peak arrays rgb < <(echo "$j" | py 'd=json.loads(sys.stdin.read()); print(d["peak_rss_bytes"], sum(c["array_bytes"] for c in d["columns"]), d["max_row_group_chunk_bytes"])')
  printf 'memory: 2-column projection peak RSS %.1f MB; arrays %.1f MB + one row group'"'"'s chunks %.1f MB x %s threads = %.1f MB; process baseline %.1f MB; excess %.1f MB\n' \
    "$(echo "$peak / 1048576" | bc -l)" "$(echo "$arrays / 1048576" | bc -l)" "$(echo "$rgb / 1048576" | bc -l)" "$TH" \
    "$(echo "($arrays + $rgb * $TH) / 1048576" | bc -l)" "$(echo "${base:-0} / 1048576" | bc -l)" \
    "$(echo "($peak - ${base:-0} - $arrays - $rgb * $TH) / 1048576" | bc -l)"
fi
