#!/bin/bash
# Parquet write speed: musrec's writer vs DuckDB's COPY ... TO on the
# interactions benchmark file, the "write" part of bench/parquet.sh (which
# see for the method: same file, same threads, median of 3 runs in one
# process per tool, with and without fsync). Kept as its own entry point;
# it used to write synthetic data of its own and disagreed with
# bench/parquet.sh, whose write was then `parquet copy`, row group by row
# group as it read them: now both print the same measurement.
exec env BENCH_PARTS=write "$(dirname "$0")/parquet.sh" "$@"
