#!/bin/bash
# The whole test suite: unit tests, then every tests/e2e/*.sh script (each an
# end-to-end or oracle test: exit 0 pass, 77 skip, anything else fail).
# Ends with one line "N passed, N failed, N skipped" that CI reads.
# Environment: MUSREC_BIN, UNIT_TESTS (set by make), SANITIZE=1 to run only
# the unit tests and the fast end-to-end tests under the sanitizers.
set -u
cd "$(dirname "$0")/.."
export MUSREC_BIN=${MUSREC_BIN:-$PWD/build/musrec}
export UNIT_TESTS=${UNIT_TESTS:-$PWD/build/unit_tests}
export PARQUET_TESTING=${PARQUET_TESTING:-$(cd .. && pwd)/shared/parquet-testing}
export ORACLE_DIR=$PWD/scripts/oracle
export PY=/usr/bin/python3   # Debian's python, which has numpy, scipy, xgboost, botocore
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
passed=0 failed=0 skipped=0
failures=()

log=$(mktemp)
"$UNIT_TESTS" 2>&1 | tee "$log"
unit_line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
if [ -n "$unit_line" ]; then
  p=$(echo "$unit_line" | sed -E 's/unit: ([0-9]+) passed.*/\1/')
  f=$(echo "$unit_line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" = 0 ] || failures+=("unit tests")
else
  failed=$((failed + 1)); failures+=("unit test binary crashed")
fi
rm -f "$log"

for t in tests/e2e/*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  if [ "${SANITIZE:-0}" = 1 ] && ! grep -q '^# sanitize: yes' "$t"; then continue; fi
  start=$(date +%s)
  out=$(mktemp)
  TEST_TMP=$(mktemp -d) bash "$t" >"$out" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc = 0 ]; then
    passed=$((passed + 1)); echo "ok   $name (${secs}s)"
  elif [ $rc = 77 ]; then
    skipped=$((skipped + 1)); echo "skip $name: $(tail -1 "$out")"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name (rc $rc, ${secs}s)"; tail -30 "$out" | sed 's/^/    /'
  fi
  rm -f "$out"
done

[ ${#failures[@]} = 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
