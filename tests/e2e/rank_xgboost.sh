#!/bin/bash
# The re-ranker against independent checks, on a small generated data set:
#  - Python xgboost (Debian python3-xgboost) loads models/ranker.json and
#    predicts the scores musrec computed for the held-out feature matrix,
#    to 1e-5;
#  - leakage: changing the items of the label window (keeping its users)
#    leaves every feature identical (features use only the fit part), while
#    the model sees the changed labels; removing the test files changes
#    nothing (rank never reads them);
#  - ranked beats ALS on NDCG@10 in `musrec evaluate`;
#  - bad input: an empty label window is a clear error naming the window.
set -euo pipefail
W=$TEST_TMP/w
SQL="node $ORACLE_DIR/eval_sql.mjs"
m() { "$MUSREC_BIN" --workdir "$W" --quiet "$@"; }
fast="--rounds 30"

m gen --scale 0.003 >/dev/null
m run --skip-download --to similar >/dev/null 2>&1
m rank $fast --dump-features "$TEST_TMP/d1"
test -s "$W/models/ranker.json" && test -s "$W/results/recommendations.parquet"

$PY - "$W/models/ranker.json" "$TEST_TMP/d1" <<'PY'
import sys, numpy as np, xgboost as xgb
b = xgb.Booster(); b.load_model(sys.argv[1])
X = np.load(sys.argv[2] + "/features.npy"); s = np.load(sys.argv[2] + "/scores.npy").ravel()
p = b.predict(xgb.DMatrix(X, feature_names=b.feature_names))
d = np.abs(p - s).max()
print(f"xgboost python vs musrec: {len(s)} rows, max |diff| {d:.2e}")
assert X.shape[0] == len(s) > 100 and d <= 1e-5, d
PY

# leakage: shift the items of label-window events (same users, other tracks)
label_start=$($PY -c "
import json, datetime; s = json.load(open('$W/data/preprocessed/split_info.json'))['split_date']
print(datetime.date.fromisoformat(s) - datetime.timedelta(days=14))")
n_items=$($SQL "SELECT count(*) AS n FROM read_parquet('$W/data/preprocessed/items.parquet')" | sed -E 's/.*"n":([0-9]+).*/\1/')
T=$W/data/preprocessed/train_events.parquet
cp "$T" "$TEST_TMP/train_orig.parquet"
$SQL "COPY (SELECT user_id, user_idx, track_id,
         CASE WHEN started_at >= DATE '$label_start' THEN CAST((item_idx + 7) % $n_items AS INTEGER) ELSE item_idx END AS item_idx,
         track_seq, started_at
       FROM read_parquet('$TEST_TMP/train_orig.parquet') ORDER BY user_idx, started_at, track_seq)
     TO '$TEST_TMP/train_shifted.parquet' (FORMAT parquet)" >/dev/null
cp "$TEST_TMP/train_shifted.parquet" "$T"
mv "$W/data/preprocessed/test_events.parquet" "$W/data/preprocessed/test_matrix.npz" "$TEST_TMP/"
m rank $fast --dump-features "$TEST_TMP/d2"
cmp "$TEST_TMP/d1/features.npy" "$TEST_TMP/d2/features.npy" || { echo "features changed when only label-window items changed"; exit 1; }
cmp -s "$TEST_TMP/d1/scores.npy" "$TEST_TMP/d2/scores.npy" && { echo "scores did not change with the labels: labels are not from the label window"; exit 1; }
echo "leakage: features identical, labels moved with the label window"
cp "$TEST_TMP/train_orig.parquet" "$T"
mv "$TEST_TMP/test_events.parquet" "$TEST_TMP/test_matrix.npz" "$W/data/preprocessed/"

# an empty label window
$SQL "COPY (SELECT * FROM read_parquet('$TEST_TMP/train_orig.parquet') WHERE started_at < DATE '$label_start'
       ORDER BY user_idx, started_at, track_seq) TO '$T' (FORMAT parquet)" >/dev/null
if m rank $fast 2>"$TEST_TMP/err"; then echo "rank succeeded with an empty label window"; exit 1; fi
grep -q "label window $label_start" "$TEST_TMP/err" || { echo "unclear error:"; cat "$TEST_TMP/err"; exit 1; }
cat "$TEST_TMP/err"
cp "$TEST_TMP/train_orig.parquet" "$T"

# the sampled fit-part ALS: 200 training users, 300 users in the ALS fit in
# all, its own iteration count; early stopping keeps at most the rounds trained
m rank --rounds 40 --patience 10 --max-train-users 200 --fit-users 300 --fit-iterations 3 >/dev/null
$PY - "$W/logs/logs_rank.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
run = lines[max(i for i, m in enumerate(lines) if m.get("msg") == "start"):]
fit = [m for m in run if m.get("msg") == "fit-part ALS"][-1]
assert fit["users"] == 300 and fit["iterations"] == 3, fit
boost = [m for m in run if m.get("msg") == "boosting"]
assert len(boost) == 2 and all(b["rounds_kept"] <= b["rounds_trained"] <= 40 for b in boost), boost
check = [m for m in run if m.get("msg") == "flat forest check"][-1]
assert check["max_abs_diff"] <= 1e-6 and check["used"] == "yes", check
print("sampled fit:", fit["users"], "users,", fit["events"], "events; rounds kept",
      [(b["objective"], b["rounds_kept"], b["rounds_trained"]) for b in boost])
PY

# quality: ranked beats ALS on NDCG@10
m rank --rounds 80 >/dev/null
m evaluate >/dev/null
read als ranked < <($SQL "SELECT max(CASE WHEN model='als' THEN ndcg END) AS a, max(CASE WHEN model='ranked' THEN ndcg END) AS r
                          FROM read_parquet('$W/results/models_comparison.parquet') WHERE k = 10" |
                    $PY -c "import json,sys; d=json.loads(sys.stdin.read()); print(d['a'], d['r'])")
echo "NDCG@10: als $als, ranked $ranked"
$PY -c "import sys; sys.exit(0 if $ranked > $als else 1)" || { echo "ranked does not beat ALS"; exit 1; }
