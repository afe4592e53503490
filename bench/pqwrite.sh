#!/bin/bash
# Parquet write speed: musrec's writer vs DuckDB's COPY ... TO, both writing
# the same 20M-row interactions-schema table (user_id INT32, track_id INT32,
# track_seq INT16, started_at TIMESTAMP(ns)) from memory with snappy and 2
# threads. Prints the median wall time of each and the ratio (target <= 1.0).
# Timings on a shared machine are noisy; both sides also print CPU seconds.
# Environment: PQW_ROWS (default 20000000), PQW_RUNS (3), PQW_CODEC (snappy).
set -eu
cd "$(dirname "$0")/.."
rows=${PQW_ROWS:-20000000} runs=${PQW_RUNS:-3} codec=${PQW_CODEC:-snappy}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s build/libmusrec.a
PKGS="openblas libzstd liblz4 snappy zlib libcurl libmicrohttpd libcjson"
cc -std=gnu11 -O2 -fopenmp -Isrc bench/pqwrite.c build/libmusrec.a $(pkg-config --libs $PKGS) \
   -lxgboost -lm -o "$tmp/pqwrite"
# one big job at a time on the shared machine (about 1 GB of RAM each side);
# small runs (PQW_ROWS under 5M) skip the lock
lock="flock /tmp/musrec-big.lock"
[ "$rows" -ge 5000000 ] || lock=
read -r ours ours_cpu < <($lock "$tmp/pqwrite" "$tmp/ours.parquet" "$rows" "$runs" "$codec" 2)
read -r duck duck_cpu < <(cd scripts/oracle && $lock node pq_copy_bench.mjs "$tmp/duck.parquet" "$rows" "$runs" "$codec" 2)
printf "%-34s %10s %10s %7s\n" "parquet write, $rows rows, $codec" musrec duckdb ratio
printf "%-34s %9ss %9ss %7.2f\n" "wall (median of $runs)" "$ours" "$duck" "$(echo "$ours / $duck" | bc -l)"
printf "%-34s %9ss %9ss %7.2f\n" "cpu, all threads (median)" "$ours_cpu" "$duck_cpu" "$(echo "$ours_cpu / $duck_cpu" | bc -l)"
printf "%-34s %9sMB %8sMB\n" "file size" "$(( $(stat -c %s "$tmp/ours.parquet") / 1000000 ))" \
       "$(( $(stat -c %s "$tmp/duck.parquet") / 1000000 ))"
echo "(musrec's time includes the fsync and rename of its atomic output; DuckDB's COPY does not fsync)"
