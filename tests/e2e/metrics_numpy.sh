#!/bin/bash
# Cross-check of `musrec popular` and `musrec evaluate` against an
# independent numpy implementation written below, on a random case of 10,000
# warm test users, 300 cold ones and three models (popularity, als, ranked).
# The inputs are written by DuckDB (scripts/oracle/eval_sql.mjs) from CSV, so
# the musrec side reads them with its own parquet reader like real files;
# musrec's outputs are read back with DuckDB. Tolerance: 1e-9 absolute on
# every metric (both sides sum doubles, in different orders).
set -euo pipefail
W=$TEST_TMP/w
mkdir -p "$W/data/preprocessed" "$W/results" "$TEST_TMP/csv"
SQL="node $ORACLE_DIR/eval_sql.mjs"

# ---- 1. the case (numpy), as CSV ----
$PY - "$TEST_TMP/csv" <<'EOF'
import sys, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(20261129)
n_items, n_warm, n_cold, n_train_only = 3000, 10000, 300, 200
n_users = n_warm + n_cold + n_train_only
# user codes are shuffled so warm, cold and train-only users interleave
kind = rng.permutation(np.array([0] * n_warm + [1] * n_cold + [2] * n_train_only))
pop = 1.0 / np.arange(1, n_items + 1) ** 0.9          # Zipf-like popularity
pop = pop[rng.permutation(n_items)]
pop /= pop.sum()
cdf = np.cumsum(pop)
def draw(r, size):                                   # items by popularity
    return np.minimum(np.searchsorted(cdf, r.random(size) * cdf[-1]), n_items - 1)
train, test = [], []
t0 = 18993                                           # 2022-01-01
for u in range(n_users):
    hist = []
    if kind[u] != 1:
        m = int(min(1 + rng.geometric(1 / 40), 400))
        hist = np.unique(draw(rng, m))
        days = np.sort(rng.integers(t0, t0 + 349, size=len(hist)))
        rng.shuffle(hist)
        for s, (i, d) in enumerate(zip(hist, days)):
            train.append((u, i, s + 1, d))
    if kind[u] != 2:
        m = int(1 + rng.geometric(1 / 8))
        cand = np.unique(draw(rng, m + 5))
        cand = cand[~np.isin(cand, hist)][:m]
        if len(cand) == 0:
            cand = np.setdiff1d(np.arange(n_items), hist)[:1]
        if rng.random() < 0.05:                      # a repeated test pair: R_u is distinct items
            cand = np.append(cand, cand[0])
        days = np.sort(rng.integers(t0 + 349, t0 + 365, size=len(cand)))
        for s, (i, d) in enumerate(zip(cand, days)):
            test.append((u, i, len(hist) + s + 1, d))
def write_events(name, rows):
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("user_idx,item_idx,track_seq,day\n")
        for r in rows:
            f.write("%d,%d,%d,%d\n" % r)
write_events("train", train)
write_events("test", test)
with open(f"{out}/items.csv", "w") as f:
    f.write("item_idx\n")
    for i in range(n_items):
        f.write("%d\n" % i)
# two personal models: lists of 0..120 distinct items outside the user's
# train history, partly from popular items so that there are hits; some
# warm users get no list, and some train-only users get one
hist_of = {}
for u, i, s, d in train:
    hist_of.setdefault(u, []).append(i)
for name, seed in (("als", 1), ("ranked", 2)):
    r2 = np.random.default_rng(seed)
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("user_idx,item_idx,score,rank\n")
        for u in range(n_users):
            if kind[u] == 1 or r2.random() < 0.05:
                continue
            n = int(r2.integers(0, 121))
            if n == 0:
                continue
            cand = np.unique(draw(r2, 2 * n + 20) if seed == 1 else r2.integers(0, n_items, 2 * n + 20))
            cand = cand[~np.isin(cand, hist_of.get(u, []))]
            r2.shuffle(cand)
            for rank, i in enumerate(cand[:n]):
                f.write("%d,%d,%.6f,%d\n" % (u, i, 1.0 / (rank + 1), rank + 1))
EOF

# ---- 2. parquet files in the pipeline's schemas (data/tables.h, data/recs.h) ----
ev() { # csv -> events parquet; raw ids: user_id = 3*user_idx + 7, track_id = 11*item_idx + 100
  echo "COPY (SELECT (3*user_idx+7)::INTEGER AS user_id, user_idx::INTEGER AS user_idx,
         (11*item_idx+100)::BIGINT AS track_id, item_idx::INTEGER AS item_idx,
         track_seq::SMALLINT AS track_seq, (DATE '1970-01-01' + day::INTEGER) AS started_at
         FROM read_csv('$TEST_TMP/csv/$1.csv') ORDER BY user_idx, started_at, track_seq)
       TO '$W/data/preprocessed/$2' (FORMAT parquet, ROW_GROUP_SIZE 100000)"
}
recs() {
  echo "COPY (SELECT (3*user_idx+7)::INTEGER AS user_id, user_idx::INTEGER AS user_idx,
         (11*item_idx+100)::BIGINT AS track_id, item_idx::INTEGER AS item_idx,
         score::FLOAT AS score, rank::INTEGER AS rank
         FROM read_csv('$TEST_TMP/csv/$1.csv') ORDER BY user_idx, rank)
       TO '$W/results/$2' (FORMAT parquet)"
}
$SQL "$(ev train train_events.parquet)" "$(ev test test_events.parquet)" \
  "COPY (SELECT (11*item_idx+100)::BIGINT AS track_id, item_idx::INTEGER AS item_idx
         FROM read_csv('$TEST_TMP/csv/items.csv') ORDER BY item_idx)
       TO '$W/data/preprocessed/items.parquet' (FORMAT parquet)" \
  "$(recs als personal_als.parquet)" "$(recs ranked recommendations.parquet)" >/dev/null

# ---- 3. musrec ----
M="$MUSREC_BIN --workdir $W --quiet"
$M popular --top-n 50
$SQL "COPY (SELECT * FROM '$W/results/top_popular.parquet') TO '$TEST_TMP/top.csv'" \
     "COPY (SELECT * FROM '$W/results/popularity_track_scores.parquet') TO '$TEST_TMP/all.csv'" >/dev/null
$M popular --half-life 30
$SQL "COPY (SELECT * FROM '$W/results/popularity_track_scores.parquet') TO '$TEST_TMP/weighted.csv'" >/dev/null
$M popular  # back to plain counts for the evaluation
$M --threads 1 evaluate --k 1,5,10,50,100 > "$TEST_TMP/table.txt"
cp "$W/results/evaluation_als.json" "$TEST_TMP/als_1thread.json"
$M --threads 2 evaluate --k 1,5,10,50,100 > "$TEST_TMP/table.txt"
$SQL "COPY (SELECT * FROM '$W/results/models_comparison.parquet') TO '$TEST_TMP/comparison.csv'" \
     "DESCRIBE SELECT * FROM '$W/results/models_comparison.parquet'" > "$TEST_TMP/comparison_schema.jsonl"
cat "$TEST_TMP/table.txt"
# a seeded sample: N users, the same users (so the same figures) for the same seed
for seed in 7 7 8; do
  $M --seed $seed evaluate --k 10 --sample-users 1000 >/dev/null
  cp "$W/results/evaluation_als.json" "$TEST_TMP/sample_$seed.json"
done
$M --threads 2 evaluate --k 1,5,10,50,100 >/dev/null  # the full evaluation back for the checks below

# ---- 4. the numpy reference, compared ----
$PY - "$TEST_TMP" "$W" <<'EOF'
import sys, json, csv, numpy as np
tmp, w = sys.argv[1], sys.argv[2]
def load(name):
    a = np.loadtxt(f"{tmp}/csv/{name}.csv", delimiter=",", skiprows=1, ndmin=2)
    return a.astype(np.int64)
train, test = load("train"), load("test")
n_items = 3000
track_id = 11 * np.arange(n_items) + 100
fails = []
def near(what, got, want, tol=1e-9):
    if not abs(got - want) <= tol:
        fails.append(f"{what}: musrec {got!r}, numpy {want!r}")

# popularity: distinct train users per item, ranked by listeners then track_id
pairs = np.unique(train[:, :2], axis=0)
listeners = np.bincount(pairs[:, 1], minlength=n_items)
train_users = len(np.unique(train[:, 0]))
order = np.lexsort((track_id, -listeners))
def read_csv(p):
    with open(p) as f:
        return list(csv.DictReader(f))
for name, n in (("top", 50), ("all", n_items)):
    rows = read_csv(f"{tmp}/{name}.csv")
    if len(rows) != n:
        fails.append(f"{name}: {len(rows)} rows, expected {n}")
    for r, row in enumerate(rows[:n]):
        i = order[r]
        if (int(row["rank"]), int(row["item_idx"]), int(row["track_id"]), int(row["listeners"])) != (r + 1, i, track_id[i], listeners[i]):
            fails.append(f"{name} rank {r + 1}: musrec {row}, numpy item {i} track {track_id[i]} listeners {listeners[i]}")
            break
        near(f"{name} score at rank {r + 1}", float(row["score"]), listeners[i] / listeners.max(), 1e-6)
# recency-weighted: each listener counts 2^(-age/30), age from the last train day, first listen
last = train[:, 3].max()
_, firsts = np.unique(train[:, :2], axis=0, return_index=True)   # rows are in day order per user
wl = np.zeros(n_items)
np.add.at(wl, train[firsts, 1], 2.0 ** (-(last - train[firsts, 3]) / 30.0))
for row in read_csv(f"{tmp}/weighted.csv"):
    i = int(row["item_idx"])
    near(f"weighted listeners of item {i}", float(row["listeners"]), wl[i], 1e-8)
worder = np.lexsort((track_id, -wl))
wrank = [int(r["item_idx"]) for r in read_csv(f"{tmp}/weighted.csv")]
# ties in float sums are the one place an order may differ; compare where weights differ clearly
for r in range(n_items - 1):
    if wrank[r] != worder[r] and abs(wl[wrank[r]] - wl[worder[r]]) > 1e-9:
        fails.append(f"weighted rank {r + 1}: musrec item {wrank[r]}, numpy {worder[r]}")
        break

# users
hist = {}
for u, i in pairs:
    hist.setdefault(u, []).append(i)
rel = {}
for u, i, s, d in test:
    rel.setdefault(u, set()).add(i)
warm = sorted(u for u in rel if u in hist)
cold = sorted(u for u in rel if u not in hist)
K = [1, 5, 10, 50, 100]

def metrics(lists, users):
    """Every metric at every K of the list, the definitions of docs/evaluation.md:
    per user, running sums over the list positions, read off at each K."""
    acc = {k: np.zeros(6) for k in K}
    seen = {k: set() for k in K}
    nov = {k: [0.0, 0] for k in K}
    for u in users:
        L = np.asarray(lists.get(u, [])[:max(K)], dtype=np.int64)
        Ru = np.array(sorted(rel[u]))
        n = len(L)
        r = np.isin(L, Ru).astype(float)
        pos = np.arange(1, n + 1)
        cum = np.cumsum(r)                                # hits in the first i
        ap = np.cumsum(r * cum / pos)                     # Σ Precision@i · rel_i
        dcg = np.cumsum(r / np.log2(pos + 1))
        si = np.cumsum(-np.log2(np.maximum(listeners[L], 1) / train_users))
        first = int(np.argmax(r)) + 1 if r.any() else 0
        for k in K:
            m = min(k, n)
            h = cum[m - 1] if m else 0.0
            idcg = (1.0 / np.log2(np.arange(2, min(k, len(Ru)) + 2))).sum()
            acc[k] += (h / k, h / len(Ru), 1.0 if h > 0 else 0.0, 1.0 / first if 0 < first <= k else 0.0,
                       (ap[m - 1] if m else 0.0) / min(k, len(Ru)), (dcg[m - 1] if m else 0.0) / idcg)
            seen[k].update(L[:k].tolist())
            nov[k][0] += si[m - 1] if m else 0.0
            nov[k][1] += m
    out = {}
    for k in K:
        a = acc[k] / len(users)
        out[k] = dict(precision=a[0], recall=a[1], hit_rate=a[2], mrr=a[3], map=a[4], ndcg=a[5],
                      coverage=len(seen[k]) / n_items, novelty=nov[k][0] / nov[k][1] if nov[k][1] else 0.0)
    return out

def pop_list(u, k=100):
    h = set(hist.get(u, ()))
    out = []
    for i in order:
        if i not in h:
            out.append(int(i))
            if len(out) == k:
                break
    return out

def read_recs(name):
    d = {}
    for u, i, sc, rk in np.loadtxt(f"{tmp}/csv/{name}.csv", delimiter=",", skiprows=1, ndmin=2):
        d.setdefault(int(u), []).append(int(i))
    return d

models = {
    "popularity": ({u: pop_list(u) for u in warm}, warm),
    "popularity_cold": ({u: pop_list(u) for u in cold}, cold),
    "als": (read_recs("als"), warm),
    "ranked": (read_recs("ranked"), warm),
}
expected = {m: metrics(l, us) for m, (l, us) in models.items()}
names = ["precision", "recall", "map", "ndcg", "hit_rate", "mrr", "coverage", "novelty"]

for m in ("popularity", "als", "ranked"):
    js = json.load(open(f"{w}/results/evaluation_{m}.json"))
    if js["model"] != m or js["k"] != K or js["users"] != len(warm):
        fails.append(f"{m}.json header: model {js['model']}, k {js['k']}, users {js['users']} (expected {len(warm)})")
    if js["cold_test_users"] != len(cold) or js["warm_test_users"] != len(warm):
        fails.append(f"{m}.json: cold/warm users {js['cold_test_users']}/{js['warm_test_users']}, expected {len(cold)}/{len(warm)}")
    sections = [(m, js["metrics"])] + ([("popularity_cold", js["cold"]["metrics"])] if m == "popularity" else [])
    for label, ms in sections:
        for e in ms:
            for n in names:
                near(f"{label} {n}@{e['k']}", e[n], expected[label][e["k"]][n])
als_missing = sum(1 for u in warm if u not in models["als"][0])
js = json.load(open(f"{w}/results/evaluation_als.json"))
if js["users_without_recommendations"] != als_missing:
    fails.append(f"als users_without_recommendations {js['users_without_recommendations']}, expected {als_missing}")
if json.load(open(f"{tmp}/als_1thread.json"))["metrics"] != js["metrics"]:
    fails.append("evaluation_als.json metrics differ between 1 and 2 threads")

s7, s7b, s8 = (json.load(open(f"{tmp}/sample_{x}.json")) for x in ("7", "7", "8"))
if s7["users"] != 1000 or s7["sample_users"] != 1000 or s7["warm_test_users"] != len(warm):
    fails.append(f"sample: users {s7['users']}, sample_users {s7['sample_users']}, warm {s7['warm_test_users']}")
if s7["metrics"] != s7b["metrics"] or s7["metrics"] == s8["metrics"]:
    fails.append("sample: the same seed must give the same users, another seed other users")

# models_comparison.parquet, read by DuckDB
schema = {r["column_name"]: r["column_type"] for r in map(json.loads, open(f"{tmp}/comparison_schema.jsonl"))}
want_schema = {"model": "VARCHAR", "k": "INTEGER", "users": "BIGINT", **{n: "DOUBLE" for n in names}}
if schema != want_schema:
    fails.append(f"models_comparison schema {schema}, expected {want_schema}")
rows = read_csv(f"{tmp}/comparison.csv")
if len(rows) != 4 * len(K):
    fails.append(f"models_comparison has {len(rows)} rows, expected {4 * len(K)}")
for row in rows:
    m, k = row["model"], int(row["k"])
    users = len(cold) if m == "popularity_cold" else len(warm)
    if int(row["users"]) != users:
        fails.append(f"models_comparison {m}@{k}: users {row['users']}, expected {users}")
    for n in names:
        near(f"models_comparison {m} {n}@{k}", float(row[n]), expected[m][k][n])

print(f"numpy: {len(warm)} warm, {len(cold)} cold users; ndcg@10 popularity {expected['popularity'][10]['ndcg']:.6f}, "
      f"als {expected['als'][10]['ndcg']:.6f}, ranked {expected['ranked'][10]['ndcg']:.6f}")
if fails:
    print("\n".join(fails[:30]))
    print(f"{len(fails)} mismatches")
    sys.exit(1)
print("musrec and numpy agree on every metric (1e-9)")
EOF
