#!/bin/bash
# Round trip of musrec's parquet writer through two independent readers:
# tests/pqwrite_fixture.c writes files covering every writer type (flat and
# LIST, required and optional), nulls, empty and null lists, 0 and 1 rows,
# several row groups and pages, long strings, non-ASCII text, dictionary and
# PLAIN fallback, page CRCs, and each codec, with a JSON file of the values
# beside each; scripts/oracle/pq_roundtrip_check.mjs reads every file with
# DuckDB and hyparquet, compares row by row, and checks each row group's
# statistics (DuckDB parquet_metadata) against the true min/max/null count.
# Under SANITIZE=1 the fixture links the ASan/UBSan build of the library.
# sanitize: yes
set -eu
LIB=build/libmusrec.a SANFLAGS=
if [ "${SANITIZE:-0}" = 1 ]; then
  LIB=build-san/libmusrec.a
  SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
fi
[ -f "$LIB" ] || { echo "no $LIB: run make first"; exit 1; }
command -v node >/dev/null || { echo "node is not installed"; exit 77; }
[ -d "$ORACLE_DIR/node_modules/@duckdb/node-api" ] || { echo "npm oracles missing: make deps"; exit 77; }
PKGS="openblas libzstd liblz4 snappy zlib libcurl libmicrohttpd libcjson"
cc -std=gnu11 -O1 -g -fopenmp -Wall -Wextra -Werror $SANFLAGS -Isrc tests/pqwrite_fixture.c "$LIB" \
   $(pkg-config --libs $PKGS) -lxgboost -lm -o "$TEST_TMP/fixture"
mkdir -p "$TEST_TMP/files"
"$TEST_TMP/fixture" "$TEST_TMP/files"
# nothing but the finished files: no temporary file left behind
if ls "$TEST_TMP/files" | grep -q '\.tmp-'; then echo "temporary files left: $(ls "$TEST_TMP/files" | grep '\.tmp-')"; exit 1; fi
node "$ORACLE_DIR/pq_roundtrip_check.mjs" "$TEST_TMP/files"
