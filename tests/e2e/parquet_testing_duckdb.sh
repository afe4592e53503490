#!/bin/bash
# Every file of the Apache parquet-testing data set, read by `musrec parquet
# cat` and by DuckDB (scripts/oracle/duckdb_compare.mjs), must give the same
# rows value by value, or fail with the expected "unsupported" message. The
# expectation list below is explicit so that a regression (or a new file in
# parquet-testing) fails this test. A page with a corrupt CRC must fail too
# (made here from a file with valid CRCs, since this copy of parquet-testing
# lacks the *-corrupt-checksum files).
set -u
D=$PARQUET_TESTING/data
[ -d "$D" ] || { echo "no parquet-testing data at $D"; exit 77; }
export NODE_PATH=$ORACLE_DIR/node_modules
CMP="node $ORACLE_DIR/duckdb_compare.mjs"

# file | expectation
#   ok                  rows equal DuckDB's
#   ok:ARGS             equal, with extra compare arguments
#   twin:FILE           DuckDB cannot read it; equal DuckDB's reading of FILE
#   unsupported:TEXT    our cat fails with a message containing TEXT
#   error:TEXT          our cat fails (corrupt data) with TEXT
expect=$(cat <<'LIST'
alltypes_dictionary.parquet|ok
alltypes_plain.parquet|ok
alltypes_plain.snappy.parquet|ok
alltypes_tiny_pages.parquet|ok
binary.parquet|ok
byte_stream_split.zstd.parquet|ok
concatenated_gzip_members.parquet|ok
datapage_v1-snappy-compressed-checksum.parquet|ok
datapage_v2.snappy.parquet|ok
delta_binary_packed.parquet|ok
delta_byte_array.parquet|ok
delta_length_byte_array.parquet|ok
dict-page-offset-zero.parquet|ok
# DuckDB has no Hadoop LZ4; the three LZ4 files hold the same rows.
hadoop_lz4_compressed.parquet|twin:lz4_raw_compressed.parquet
non_hadoop_lz4_compressed.parquet|twin:lz4_raw_compressed.parquet
int32_with_null_pages.parquet|ok
# Row 5 is a year-11464668 timestamp: DuckDB's int64 microseconds wrap, ours
# prints the true date (cat reads INT96 raw).
int96_from_spark.parquet|ok:--ignore-row 5
list_columns.parquet|ok
lz4_raw_compressed.parquet|ok
nested_lists.snappy.parquet|ok
nonnullable.impala.parquet|unsupported:column 'Int_Map.map.key' is a MAP
null_list.parquet|ok
nullable.impala.parquet|unsupported:column 'int_map.map.key' is a MAP
nulls.snappy.parquet|unsupported:column 'b_struct.b_c_int' is a STRUCT
old_list_structure.parquet|ok
plain-dict-uncompressed-checksum.parquet|ok
repeated_no_annotation.parquet|unsupported:column 'phoneNumbers.phone.number' is a STRUCT
repeated_primitive_no_list.parquet|unsupported:column 'group_of_lists.Int32_list_in_group' is a STRUCT
rle-dict-snappy-checksum.parquet|ok
rle_boolean_encoding.parquet|ok
single_nan.parquet|ok
# Files of newer parquet-testing checkouts, when present:
datapage_v1-uncompressed-checksum.parquet|ok
datapage_v1-corrupt-checksum.parquet|error:CRC32
rle-dict-uncompressed-corrupt-checksum.parquet|error:CRC32
LIST
)

declare -A want
while IFS='|' read -r f e; do
  [ -z "$f" ] || [ "${f:0:1}" = "#" ] && continue
  want[$f]=$e
done <<< "$expect"

fail=0
printf '%-48s %s\n' FILE RESULT
# Files whose rows go to DuckDB are compared in one node run at the end
# (node starts slowly on a loaded machine): pairs of parquet file and ours.
pairs=() labels=()
check() { # name path expectation
  local b=$1 f=$2 e=$3 out=$TEST_TMP/$1.jsonl err=$TEST_TMP/err.txt res
  if "$MUSREC_BIN" parquet cat "$f" >"$out" 2>"$err"; then rc=0; else rc=$?; fi
  if [ $rc -ge 128 ]; then res="CRASH (exit $rc)"; fail=1
  elif [ $rc != 0 ]; then
    msg=$(head -c 300 "$err")
    case "$e" in
      unsupported:*|error:*)
        if grep -qF -- "${e#*:}" "$err"; then res="${e%%:*}(${msg##*: })"; else res="WRONG ERROR: $msg"; fail=1; fi ;;
      *) res="FAILED: $msg"; fail=1 ;;
    esac
  else
    case "$e" in
      ok) pairs+=("$f" "$out"); labels+=("$b"); return ;;
      twin:*) pairs+=("$D/${e#twin:}" "$out"); labels+=("$b (same rows as ${e#twin:})"); return ;;
      ok:*)
        if c=$($CMP "$f" "$out" ${e#ok:} 2>&1); then res="ok (${e#ok:})"; else res="MISMATCH: $c"; fail=1; fi ;;
      *) res="UNEXPECTED SUCCESS (expected $e)"; fail=1 ;;
    esac
  fi
  printf '%-48s %s\n' "$b" "$res"
}

for f in "$D"/*.parquet; do
  b=$(basename "$f")
  e=${want[$b]:-}
  if [ -z "$e" ]; then printf '%-48s %s\n' "$b" "NOT IN THE EXPECTATION LIST"; fail=1; continue; fi
  check "$b" "$f" "$e"
done
if [ ${#pairs[@]} -gt 0 ]; then
  mapfile -t results < <($CMP "${pairs[@]}" 2>&1; echo "exit $?")
  # One line per pair ("ok FILE" or "MISMATCH FILE: ..."), in order.
  k=0
  for line in "${results[@]}"; do
    case "$line" in
      "ok "*) printf '%-48s %s\n' "${labels[$k]%% *}" "ok${labels[$k]#"${labels[$k]%% *}"}"; k=$((k + 1)) ;;
      MISMATCH*) printf '%-48s %s\n' "${labels[$k]%% *}" "$line"; k=$((k + 1)); fail=1 ;;
      "exit 0") ;;
      "exit "*) fail=1 ;;
      *) echo "    $line" ;;
    esac
  done
  [ $k = $((${#pairs[@]} / 2)) ] || { echo "the comparison reported $k of $((${#pairs[@]} / 2)) files"; fail=1; }
fi

# A corrupt page must fail its CRC check: flip one byte inside the first data
# page of a file whose pages carry CRCs (the byte is in the last 16 bytes of
# the first page, well before the footer).
src=$D/datapage_v1-snappy-compressed-checksum.parquet
if [ -f "$src" ]; then
  cp "$src" "$TEST_TMP/corrupt.parquet"; chmod u+w "$TEST_TMP/corrupt.parquet"
  $PY - "$TEST_TMP/corrupt.parquet" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[200] ^= 0x55   # inside column a's first page (pages start at byte 4)
open(p, 'wb').write(b)
PY
  check corrupt-crc "$TEST_TMP/corrupt.parquet" "error:fails its CRC32 check"
fi
exit $fail
