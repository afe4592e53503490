#!/bin/bash
# `musrec run` end to end on a fresh work directory with generated demo data:
#  - every output listed in ARCHITECTURE.md exists and reads back: parquet in
#    our reader and in DuckDB (row counts agree), .npz in scipy, .npy in
#    numpy, models/ranker.json in Python xgboost, JSON files parse;
#  - the comparison table has popularity, als and ranked rows;
#  - the HTML report renders in headless Chromium with its charts and
#    tables, no console errors and no network requests (screenshot kept at
#    build/report-screenshot.png);
#  - an interrupted run (SIGINT, then kill -9) leaves no partial file at any
#    final path, and running again completes.
set -euo pipefail
# fewer boosting rounds: the test is about the pipeline, not the model
export RANK_ROUNDS=20
W=$TEST_TMP/w
SQL="node $ORACLE_DIR/eval_sql.mjs"
run() { "$MUSREC_BIN" --workdir "$W" --quiet "$@"; }

start=$(date +%s)
run run --demo-scale 0.003 >"$TEST_TMP/run.out"
echo "pipeline: $(( $(date +%s) - start )) s"
cat "$TEST_TMP/run.out"

PARQUETS="data/raw/tracks.parquet data/raw/catalog_names.parquet data/raw/interactions.parquet
 data/preprocessed/items.parquet data/preprocessed/tracks_catalog_clean.parquet
 data/preprocessed/events.parquet data/preprocessed/users.parquet
 data/preprocessed/train_events.parquet data/preprocessed/test_events.parquet
 results/top_popular.parquet results/popularity_track_scores.parquet results/personal_als.parquet
 results/similar.parquet results/recommendations.parquet results/models_comparison.parquet"
OTHERS="data/preprocessed/train_matrix.npz data/preprocessed/test_matrix.npz data/preprocessed/split_info.json
 models/als_model.bin models/als_user_factors.npy models/als_item_factors.npy results/similar_index.bin
 models/ranker.json models/ranker_features.json results/evaluation_popularity.json
 results/evaluation_als.json results/evaluation_ranked.json results/report.html
 logs/logs_main.json logs/logs_preprocess.json logs/logs_als.json logs/logs_evaluate.json"

check_outputs() {
  local bad=0
  for f in $PARQUETS; do
    [ -e "$W/$f" ] || { echo "missing $f"; bad=1; continue; }
    ours=$("$MUSREC_BIN" parquet scan "$W/$f" 2>/dev/null | sed -nE 's/.*"rows":([0-9]+).*/\1/p' | head -1)
    theirs=$($SQL "SELECT count(*) AS n FROM read_parquet('$W/$f')" | sed -E 's/.*"n":([0-9]+).*/\1/')
    [ -n "$theirs" ] && [ "$ours" = "$theirs" ] || { echo "$f: our reader says ${ours:-error}, DuckDB ${theirs:-error} rows"; bad=1; }
  done
  for f in $OTHERS; do [ -s "$W/$f" ] || { echo "missing $f"; bad=1; }; done
  $PY - "$W" <<'PY' || bad=1
import json, sys, numpy as np, scipy.sparse as sp, xgboost as xgb
w = sys.argv[1]
tr = sp.load_npz(f"{w}/data/preprocessed/train_matrix.npz"); te = sp.load_npz(f"{w}/data/preprocessed/test_matrix.npz")
assert tr.shape == te.shape and tr.nnz > 0 and te.nnz > 0, (tr.shape, te.shape)
u = np.load(f"{w}/models/als_user_factors.npy"); i = np.load(f"{w}/models/als_item_factors.npy")
assert u.shape[0] == tr.shape[0] and i.shape[0] == tr.shape[1] and np.isfinite(u).all() and np.isfinite(i).all()
b = xgb.Booster(); b.load_model(f"{w}/models/ranker.json")
for f in ["data/preprocessed/split_info.json", "models/ranker_features.json", "results/evaluation_als.json"]:
    json.load(open(f"{w}/{f}"))
for line in open(f"{w}/logs/logs_main.json"):
    json.loads(line)
assert open(f"{w}/results/report.html").read().rstrip().endswith("</html>")
PY
  return $bad
}
check_outputs

models=$($SQL "SELECT string_agg(DISTINCT model, ',' ORDER BY model) AS m FROM read_parquet('$W/results/models_comparison.parquet')")
echo "models compared: $models"
for m in popularity als ranked; do echo "$models" | grep -q "\b$m\b" || { echo "no $m row in models_comparison"; exit 1; }; done

# the report in a real browser
mkdir -p build
facts=$(node "$ORACLE_DIR/report_browser.mjs" "$W/results/report.html" "$PWD/build/report-screenshot.png")
echo "browser: $facts"
$PY - "$facts" <<'PY'
import json, sys
f = json.loads(sys.argv[1])
assert f["svgs"] >= 8 and f["drawn"] == f["svgs"], "charts missing or empty"
assert f["tables"] >= 6, "tables missing"
assert f["errors"] == [] and f["requests"] == [], "console errors or network requests"
assert f["scripts"] == 0 and f["external"] == 0, "report is not self-contained"
assert any({"popularity", "als", "ranked"} <= set(r) for r in f["comparisonRows"]), "comparison table lacks a model"
assert len(f["sections"]) == 3
PY

# interrupting a run: nothing partial at a final path, and a rerun completes
valid_or_absent() {
  local bad=0
  for f in $PARQUETS; do
    [ -e "$W/$f" ] || continue
    "$MUSREC_BIN" parquet scan "$W/$f" >/dev/null 2>&1 || { echo "partial file at final path: $f"; bad=1; }
  done
  for f in data/preprocessed/split_info.json models/ranker_features.json; do
    [ -e "$W/$f" ] && ! $PY -c "import json,sys; json.load(open(sys.argv[1]))" "$W/$f" 2>/dev/null && { echo "partial $f"; bad=1; }
  done
  return $bad
}
for sig in INT KILL; do
  rm -rf "$W/data/preprocessed" "$W/results" "$W/models"
  "$MUSREC_BIN" --workdir "$W" --quiet run --skip-download >/dev/null 2>&1 &
  pid=$!
  sleep 3
  kill -$sig $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  valid_or_absent
  if [ $sig = INT ]; then
    left=$(find "$W" -name '*.tmp-*' | wc -l)
    [ "$left" = 0 ] || { echo "SIGINT left $left temporary files"; find "$W" -name '*.tmp-*'; exit 1; }
  fi
  run run --resume >/dev/null
  check_outputs
done
echo "pipeline, report and interruption checks passed"
