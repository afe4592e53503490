#!/bin/bash
# `musrec als`, `musrec similar` and `musrec recommend` end to end on a small
# work directory, checked by independent tools:
#  - inputs: train_matrix.npz from scipy, users/items.parquet from DuckDB;
#  - results/personal_als.parquet (read by DuckDB) equals numpy's top N of
#    X Y^T over unheard items, computed from the .npy factors numpy loads;
#  - results/similar.parquet equals numpy's cosine top N (itself excluded),
#    and results/similar_index.bin, parsed by numpy from its documented
#    layout, holds the same neighbours;
#  - `musrec recommend` prints the same first track with its name and artist;
#  - a truncated model, an unknown user and a matrix with NaN fail clearly.
# sanitize: yes
set -eu
: "${MUSREC_BIN:?}" "${PY:?}" "${TEST_TMP:?}" "${ORACLE_DIR:?}"
$PY -c 'import numpy, scipy' 2>/dev/null || { echo "numpy/scipy not available"; exit 77; }
[ -d "$ORACLE_DIR/node_modules/@duckdb" ] || { echo "DuckDB oracle not installed (make deps)"; exit 77; }
sql() { node "$ORACLE_DIR/eval_sql.mjs" "$@"; }
W=$TEST_TMP/w
P=$W/data/preprocessed
mkdir -p "$P"
$PY - "$P" "$TEST_TMP" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
P, T = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(3)
nu, ni = 120, 90
# popularity-skewed listens so that ALS has structure to find
pop = 1.0 / np.arange(1, ni + 1) ** 0.8
rows, cols = [], []
for u in range(nu):
    if u % 17 == 5: continue                      # users without train history
    k = int(rng.integers(2, 25))
    items = rng.choice(ni, size=k, replace=False, p=pop / pop.sum())
    rows += [u] * k; cols += list(items)
m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(nu, ni))
m.sort_indices()
sp.save_npz(P + "/train_matrix.npz", m)
with open(T + "/users.csv", "w") as f:
    f.write("user_id,user_idx\n")
    for u in range(nu): f.write(f"{1000 + 3 * u},{u}\n")
with open(T + "/items.csv", "w") as f:
    f.write("track_id,item_idx,track_name,artist\n")
    for i in range(ni): f.write(f"{50000 + 7 * i},{i},Track {i},Artist {i % 10}\n")
EOF
sql "COPY (SELECT user_id::INTEGER AS user_id, user_idx::INTEGER AS user_idx FROM read_csv('$TEST_TMP/users.csv') ORDER BY user_idx) TO '$P/users.parquet' (FORMAT parquet)" \
    "COPY (SELECT track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, track_name::VARCHAR AS track_name, [artist::VARCHAR] AS artist_names FROM read_csv('$TEST_TMP/items.csv') ORDER BY item_idx) TO '$P/items.parquet' (FORMAT parquet)"

M="$MUSREC_BIN --quiet --workdir $W --threads 2"
$M als --factors 8 --iterations 6 --top-n 20 --alpha 4
$M similar --top-n 5
# the same seed gives the same model and lists with one thread
W1=$TEST_TMP/w1; mkdir -p "$W1/data"; cp -r "$W/data/preprocessed" "$W1/data/"
$MUSREC_BIN --quiet --workdir "$W1" --threads 1 als --factors 8 --iterations 6 --top-n 20 --alpha 4
cmp "$W/models/als_model.bin" "$W1/models/als_model.bin" || { echo "model differs between 1 and 2 threads"; exit 1; }
cmp "$W/results/personal_als.parquet" "$W1/results/personal_als.parquet" || { echo "lists differ between 1 and 2 threads"; exit 1; }
sql "COPY (SELECT * FROM '$W/results/personal_als.parquet') TO '$TEST_TMP/personal.csv' (HEADER)" \
    "COPY (SELECT * FROM '$W/results/similar.parquet') TO '$TEST_TMP/similar.csv' (HEADER)"
$PY - "$W" "$TEST_TMP" <<'EOF'
import sys, numpy as np, scipy.sparse as sp, csv
W, T = sys.argv[1], sys.argv[2]
R = sp.load_npz(W + "/data/preprocessed/train_matrix.npz").tocsr()
X = np.load(W + "/models/als_user_factors.npy"); Y = np.load(W + "/models/als_item_factors.npy")
assert X.dtype == np.float32 and X.shape == (120, 8) and Y.shape == (90, 8), (X.dtype, X.shape, Y.shape)
assert np.isfinite(X).all() and np.isfinite(Y).all()
S = X.astype(np.float64) @ Y.T.astype(np.float64)
rows = list(csv.DictReader(open(T + "/personal.csv")))
assert list(rows[0].keys()) == ["user_id", "user_idx", "track_id", "item_idx", "score", "rank"], rows[0].keys()
got = {}
for r in rows:
    u = int(r["user_idx"]); assert int(r["user_id"]) == 1000 + 3 * u
    i = int(r["item_idx"]); assert int(r["track_id"]) == 50000 + 7 * i
    got.setdefault(u, []).append((int(r["rank"]), i, float(r["score"])))
with_hist = [u for u in range(120) if R.indptr[u + 1] > R.indptr[u]]
assert sorted(got) == with_hist, "users with lists differ from users with history"
bad = 0
for u in with_hist:
    lst = sorted(got[u]); heard = set(R.indices[R.indptr[u]:R.indptr[u + 1]])
    assert [x[0] for x in lst] == list(range(1, len(lst) + 1)), f"ranks of user {u}"
    cand = [i for i in range(90) if i not in heard]
    want = sorted(cand, key=lambda i: (-S[u, i], i))[:20]
    assert len(lst) == len(want), (u, len(lst), len(want))
    for (rk, i, s), w in zip(lst, want):
        assert i not in heard, f"user {u} got a heard item {i}"
        if abs(s - S[u, w]) > 1e-4 * (1 + abs(S[u, w])) or (i != w and abs(S[u, i] - S[u, w]) > 1e-5):
            bad += 1
            if bad < 5: print(f"user {u} rank {rk}: ours item {i} score {s}, numpy item {w} score {S[u, w]}")
assert bad == 0, f"{bad} personal_als rows differ from numpy"
# similar items: cosine
N = Y / np.maximum(np.linalg.norm(Y, axis=1, keepdims=True), 1e-30)
C = N.astype(np.float64) @ N.T.astype(np.float64)
sim = {}
for r in csv.DictReader(open(T + "/similar.csv")):
    i = int(r["item_idx"]); j = int(r["similar_item_idx"])
    assert int(r["track_id"]) == 50000 + 7 * i and int(r["similar_track_id"]) == 50000 + 7 * j
    sim.setdefault(i, []).append((int(r["rank"]), j, float(r["score"])))
assert sorted(sim) == list(range(90))
for i in range(90):
    lst = sorted(sim[i]); want = sorted([j for j in range(90) if j != i], key=lambda j: (-C[i, j], j))[:5]
    for (rk, j, s), w in zip(lst, want):
        assert j != i
        assert abs(s - C[i, w]) < 1e-4 and (j == w or abs(C[i, j] - C[i, w]) < 1e-5), (i, rk, j, s, w, C[i, w])
# the index, by its documented layout
b = open(W + "/results/similar_index.bin", "rb").read()
assert b[:8] == b"MRSIM\0\0\0"
ver, hs = np.frombuffer(b[8:16], "<u4"); n_items = np.frombuffer(b[16:24], "<i8")[0]; n = np.frombuffer(b[24:28], "<i4")[0]
assert (ver, hs, n_items, n) == (1, 64, 90, 5), (ver, hs, n_items, n)
rec = np.frombuffer(b[64:], dtype=np.dtype([("idx", "<i4", (n,)), ("score", "<f4", (n,))]))
assert len(rec) == 90
for i in range(90):
    lst = sorted(sim[i])
    assert list(rec["idx"][i]) == [j for _, j, _ in lst], i
    assert np.allclose(rec["score"][i], [s for _, _, s in lst], rtol=1e-6)
print("personal_als, similar.parquet and similar_index.bin match numpy")
EOF

# approximate similar items probing every cluster gives the exact lists, and logs its recall
cp "$W/results/similar_index.bin" "$TEST_TMP/exact_index.bin"
$M similar --top-n 5 --approx --nlist 9 --nprobe 9
$PY - "$W/results/similar_index.bin" "$TEST_TMP/exact_index.bin" <<'EOF'
import sys, numpy as np
dt = np.dtype([("idx", "<i4", (5,)), ("score", "<f4", (5,))])
a = np.frombuffer(open(sys.argv[1], "rb").read()[64:], dt); e = np.frombuffer(open(sys.argv[2], "rb").read()[64:], dt)
# scores equal to float rounding (different sgemm blockings); items equal unless two scores nearly tie
assert np.abs(a["score"] - e["score"]).max() < 1e-5, "approx with every cluster probed differs from exact"
s = e["score"]; tie = np.zeros_like(s, bool); tie[:, 1:] |= np.abs(s[:, 1:] - s[:, :-1]) < 1e-5; tie[:, :-1] |= tie[:, 1:].copy()
assert ((a["idx"] == e["idx"]) | tie).all(), "approx with every cluster probed lists other items"
EOF
grep -q '"recall_vs_exact":1' "$W/logs/logs_similar.json" || { echo "recall not logged as 1"; exit 1; }
cp "$TEST_TMP/exact_index.bin" "$W/results/similar_index.bin"

# recommend: the first ALS track of a user with history, with name and artist
u=$(awk -F, 'NR==2{print $1}' "$TEST_TMP/personal.csv")
t=$(awk -F, 'NR==2{print $3}' "$TEST_TMP/personal.csv")
out=$($M recommend --user "$u" --k 3 --model als)
echo "$out"
echo "$out" | awk 'NR==3{print $2}' | grep -qx "$t" || { echo "recommend: first track is not $t"; exit 1; }
i=$(( (t - 50000) / 7 ))
echo "$out" | grep -q "Track $i - Artist $((i % 10))" || { echo "recommend: name/artist missing"; exit 1; }

# --model ranked reads results/recommendations.parquet (same format as personal_als)
cp "$W/results/personal_als.parquet" "$W/results/recommendations.parquet"
$M recommend --user "$u" --k 2 --model ranked | awk 'NR==3{print $2}' | grep -qx "$t" || { echo "recommend ranked: first track is not $t"; exit 1; }
# --model popular: top_popular.parquet (rank, track_id, item_idx, listeners, score) minus the user's train tracks
$PY - "$W" "$TEST_TMP" "$u" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
W, T, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
R = sp.load_npz(W + "/data/preprocessed/train_matrix.npz").tocsr()
cnt = np.asarray((R > 0).sum(axis=0)).ravel(); order = np.argsort(-cnt, kind="stable")
with open(T + "/pop.csv", "w") as f:
    f.write("rank,track_id,item_idx,listeners,score\n")
    for r, i in enumerate(order): f.write(f"{r + 1},{50000 + 7 * i},{i},{cnt[i]},{cnt[i] / R.shape[0]}\n")
u = (uid - 1000) // 3; heard = set(R.indices[R.indptr[u]:R.indptr[u + 1]])
print(next(50000 + 7 * i for i in order if i not in heard), file=open(T + "/pop_first", "w"))
EOF
sql "COPY (SELECT rank::INTEGER AS rank, track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, listeners::BIGINT AS listeners, score::DOUBLE AS score FROM read_csv('$TEST_TMP/pop.csv') ORDER BY rank) TO '$W/results/top_popular.parquet' (FORMAT parquet)"
$M recommend --user "$u" --k 2 --model popular | awk 'NR==3{print $2}' | grep -qx "$(cat "$TEST_TMP/pop_first")" || { echo "recommend popular: wrong first track"; exit 1; }

# --loss with the exact solver: logged every iteration, finite, never increasing
$M als --factors 8 --iterations 5 --top-n 0 --alpha 4 --solver cholesky --loss
$PY - "$W/logs/logs_als.json" <<'EOF'
import json, sys, math
runs, cur = [], None
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["msg"] == "fitting": cur = []; runs.append(cur)
    if m["msg"] == "iteration" and "loss" in m: cur.append(m["loss"])
loss = runs[-1]
assert len(loss) == 5 and all(math.isfinite(x) for x in loss), loss
assert all(b <= a * (1 + 1e-6) for a, b in zip(loss, loss[1:])), loss
print("cholesky loss per iteration:", " ".join(f"{x:.4f}" for x in loss))
EOF

# clear errors
if out=$($M recommend --user 7 2>&1); then echo "unknown user accepted"; exit 1; fi
echo "$out" | grep -q "user 7 is not in" || { echo "unclear message: $out"; exit 1; }
cp "$W/models/als_model.bin" "$TEST_TMP/model.bak"
head -c 2000 "$TEST_TMP/model.bak" > "$W/models/als_model.bin"
if out=$($M similar 2>&1); then echo "truncated model accepted"; exit 1; fi
echo "$out" | grep -q "truncated" || { echo "unclear message: $out"; exit 1; }
$PY - "$W/data/preprocessed/train_matrix.npz" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
m = sp.load_npz(sys.argv[1]).tocsr(); m.data[5] = np.nan; sp.save_npz(sys.argv[1], m)
EOF
if out=$($M als --iterations 1 2>&1); then echo "NaN input accepted"; exit 1; fi
echo "$out" | grep -q "value nan at entry 5" || { echo "unclear message: $out"; exit 1; }
echo "als pipeline ok"
