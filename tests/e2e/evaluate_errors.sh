#!/bin/bash
# Bad input to `musrec popular` and `musrec evaluate`: each a clear error
# (exit status and the sentence checked), and no output left behind.
# sanitize: yes
set -uo pipefail
W=$TEST_TMP/w
P=$W/data/preprocessed
mkdir -p "$P" "$W/results"
SQL="node $ORACLE_DIR/eval_sql.mjs"
M="$MUSREC_BIN --workdir $W --quiet"
fail=0
expect() { # expect STATUS NEEDLE -- command...
  local want=$1 needle=$2
  shift 3
  local out rc
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" != "$want" ] || ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: $* -> status $rc (want $want), stderr: $out (want '$needle')"
    fail=1
  else
    echo "ok: $* -> $rc: $(grep -F -- "$needle" <<<"$out" | head -1)"
  fi
}

expect 1 "test_events.parquet does not exist" -- $M evaluate
expect 1 "train_events.parquet" -- $M popular
expect 2 "K must be between 1 and 100000, got 0" -- $M evaluate --k 0
expect 2 "bad K list '5,,10'" -- $M evaluate --k 5,,10
expect 2 "--sample-users must be 0" -- $M evaluate --sample-users -1
expect 2 "--top-n must be at least 1" -- $M popular --top-n 0

# a tiny valid data set: 3 users, 5 items; user 2 is cold
events() { # name, VALUES rows (user_idx, item_idx, day)
  echo "COPY (SELECT (u + 100)::INTEGER AS user_id, u::INTEGER AS user_idx, (i + 1000)::BIGINT AS track_id,
         i::INTEGER AS item_idx, 1::SMALLINT AS track_seq, (DATE '2022-12-01' + d::INTEGER) AS started_at
         FROM (VALUES $2) t(u, i, d) ORDER BY u, d) TO '$P/$1' (FORMAT parquet)"
}
recs() { # file, VALUES rows (user_idx, item_idx, rank)
  echo "COPY (SELECT (u + 100)::INTEGER AS user_id, u::INTEGER AS user_idx, (i + 1000)::BIGINT AS track_id,
         i::INTEGER AS item_idx, (1.0 / r)::FLOAT AS score, r::INTEGER AS rank
         FROM (VALUES $2) t(u, i, r) ORDER BY u, r) TO '$W/results/$1' (FORMAT parquet)"
}
$SQL "$(events train_events.parquet '(0,0,1),(0,1,2),(1,1,1),(1,2,3)')" \
     "$(events test_events.parquet '(0,3,20),(1,0,21),(2,4,22)')" \
     "COPY (SELECT (i + 1000)::BIGINT AS track_id, i::INTEGER AS item_idx FROM range(5) t(i))
      TO '$P/items.parquet' (FORMAT parquet)" >/dev/null || { echo "duckdb failed"; exit 1; }

expect 1 "no recommendations to evaluate" -- $M evaluate
[ -e "$W/results/models_comparison.parquet" ] && { echo "FAIL: models_comparison.parquet written after an error"; fail=1; }
$M popular || { echo "FAIL: popular"; fail=1; }
out=$($M evaluate 2>&1) || { echo "FAIL: evaluate with popularity only: $out"; fail=1; }
grep -q "popularity_cold" <<<"$out" || { echo "FAIL: no popularity_cold row: $out"; fail=1; }
out=$($MUSREC_BIN --workdir "$W" evaluate 2>&1 >/dev/null)
grep -q "skipped: no recommendations.*model=als" <<<"$out" ||
  { echo "FAIL: the missing als model is not reported as skipped: $out"; fail=1; }
rm -f "$W/results/models_comparison.parquet"

$SQL "$(recs personal_als.parquet '(0,2,1),(0,3,2),(7,1,1)')" >/dev/null
expect 1 "user_idx 7, an unknown user" -- $M evaluate
$SQL "$(recs personal_als.parquet '(0,2,1),(0,9,2)')" >/dev/null
expect 1 "item_idx 9, an unknown item" -- $M evaluate
$SQL "$(recs personal_als.parquet '(0,2,1),(0,3,2),(1,3,1),(1,4,2),(1,3,3)')" >/dev/null
expect 1 "user 101: item 3 appears twice in the recommendation list (ranks 1 and 3)" -- $M evaluate
[ -e "$W/results/models_comparison.parquet" ] && { echo "FAIL: models_comparison.parquet written after an error"; fail=1; }
ls "$W/results" | grep -q tmp && { echo "FAIL: temporary files left: $(ls "$W/results")"; fail=1; }

# item 1 is in the train history of user 0: counted and warned about, not an error
$SQL "$(recs personal_als.parquet '(0,1,1),(0,3,2),(1,3,1)')" >/dev/null
out=$($MUSREC_BIN --workdir "$W" evaluate --k 1,2 2>&1 >/dev/null) || { echo "FAIL: a valid als file is rejected: $out"; fail=1; }
grep -q "train history.*model=als items=1" <<<"$out" || { echo "FAIL: no warning for a train item: $out"; fail=1; }
grep -q '"train_items_recommended": 1,' "$W/results/evaluation_als.json" ||
  { echo "FAIL: train_items_recommended is not 1"; fail=1; }
# user 0: L = [1, 3], R = {3}: precision@2 = 1/2, mrr@2 = 1/2; user 1: L = [3], R = {0}: 0
grep -q '"k": 2, "precision": 0.25, "recall": 0.5, "map": 0.25, "ndcg": 0.31546487678572877, "hit_rate": 0.5, "mrr": 0.25' \
  "$W/results/evaluation_als.json" || { echo "FAIL: als metrics at K=2: $(grep '"k": 2' "$W/results/evaluation_als.json")"; fail=1; }
exit $fail
