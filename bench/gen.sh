#!/bin/bash
# `musrec gen` wall time, CPU time and peak RSS at scale 0.1 (median of 3 runs)
# and at scale 1 (one run, under the big-job lock; ~0.9 GB written to a
# directory under /tmp that is deleted afterwards). Targets at scale 1: at
# most 10 minutes on 2 cores and 8 GB peak RSS.
# Peer: DuckDB re-writing the generated interactions.parquet (COPY ... TO,
# snappy, 2 threads): the cost of just writing that many rows as parquet.
# Timings on a shared machine are noisy. Usage: bench/gen.sh [SCALE...]
# (default "0.1 1"); GEN_BENCH_THREADS (default 2).
set -eu
cd "$(dirname "$0")/.."
BIN=${MUSREC_BIN:-$PWD/build/musrec}
[ -x "$BIN" ] || make -s build/musrec
threads=${GEN_BENCH_THREADS:-2}
scales=${*:-0.1 1}
tmp=$(mktemp -d /tmp/musrec-gen-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ORACLE=$PWD/scripts/oracle

one_run() { # scale -> "wall cpu rss_mb bytes events"
  rm -rf "$tmp/raw"
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$BIN" --workdir "$tmp/w" --threads "$threads" -q \
    gen --scale "$1" --out "$tmp/raw" >/dev/null
  read -r wall user sys rss_kb < "$tmp/time"
  bytes=$(du -sb "$tmp/raw" | cut -f1)
  events=$(grep "\"msg\":\"done\"" "$tmp/w/logs/logs_gen.json" | tail -1 | sed -E 's/.*"events":([0-9]+).*/\1/')
  echo "$wall $(echo "$user + $sys" | bc) $((rss_kb / 1024)) $bytes $events"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-6s %10s %10s %10s %12s %12s %14s\n" scale wall_s cpu_s rss_MB bytes events duckdb_copy_s
for s in $scales; do
  runs=3
  lock=""
  if awk -v s="$s" 'BEGIN{exit !(s >= 0.5)}'; then runs=1; lock="flock /tmp/musrec-big.lock"; fi
  : > "$tmp/runs"
  for i in $(seq $runs); do
    if [ -n "$lock" ]; then
      $lock bash -c "$(declare -f one_run); BIN='$BIN' tmp='$tmp' threads='$threads'; one_run $s" >> "$tmp/runs"
    else
      one_run "$s" >> "$tmp/runs"
    fi
  done
  wall=$(cut -d' ' -f1 "$tmp/runs" | median)
  cpu=$(cut -d' ' -f2 "$tmp/runs" | median)
  rss=$(cut -d' ' -f3 "$tmp/runs" | sort -n | tail -1)
  bytes=$(tail -1 "$tmp/runs" | cut -d' ' -f4)
  events=$(tail -1 "$tmp/runs" | cut -d' ' -f5)
  # the peer: DuckDB writing the same rows
  peer=$( { ${lock:-} /usr/bin/time -f "%e" node -e "
    import('$ORACLE/node_modules/@duckdb/node-api/lib/index.js').then(async ({DuckDBInstance}) => {
      const db = await DuckDBInstance.create(':memory:', {threads: '$threads'});
      const c = await db.connect();
      await c.run(\"COPY (SELECT * FROM '$tmp/raw/interactions.parquet') TO '$tmp/copy.parquet' (FORMAT parquet, COMPRESSION snappy)\");
    });" ; } 2>&1 | tail -1)
  rm -f "$tmp/copy.parquet"
  printf "%-6s %10s %10s %10s %12s %12s %14s\n" "$s" "$wall" "$cpu" "$rss" "$bytes" "$events" "$peer"
  rm -rf "$tmp/raw" "$tmp/w"
done
