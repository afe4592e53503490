#!/bin/bash
# Every file in parquet-testing/bad_data ends in a clear error or in values,
# never in a crash: whole-file `cat`, then `cat` of each column alone (so a
# broken column cannot hide another behind its error), then `scan`. Exit
# codes >= 128 (signals) and sanitizer reports fail the test.
# sanitize: yes
set -u
B=$PARQUET_TESTING/bad_data
[ -d "$B" ] || { echo "no parquet-testing bad_data at $B"; exit 77; }
fail=0
run() { # label args...
  local label=$1; shift
  "$MUSREC_BIN" parquet "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  local rc=$?
  if [ $rc -ge 128 ] || grep -qE 'Sanitizer|runtime error' "$TEST_TMP/err"; then
    echo "CRASH  $label (exit $rc)"; head -20 "$TEST_TMP/err"; fail=1
  elif [ $rc = 0 ]; then
    echo "values $label ($(wc -l <"$TEST_TMP/out") lines)"
  else
    # A clear error is one line naming the file.
    if [ "$(wc -l <"$TEST_TMP/err")" != 1 ] || ! grep -q "$(basename "${@: -1}")\|parquet" "$TEST_TMP/err"; then
      echo "UNCLEAR $label: $(head -c 300 "$TEST_TMP/err")"; fail=1
    else
      echo "error  $label: $(head -c 200 "$TEST_TMP/err")"
    fi
  fi
}
for f in "$B"/*.parquet; do
  b=$(basename "$f")
  run "$b schema" schema "$f"
  run "$b cat" cat "$f"
  run "$b scan" scan "$f"
  for c in $("$MUSREC_BIN" parquet schema "$f" 2>/dev/null | sed -n 's/^  \([^ :]*\): .*/\1/p'); do
    run "$b cat --columns $c" cat --columns "$c" "$f"
  done
done
exit $fail
