#!/bin/bash
# bench/als_quality: does ALS beat popularity? On `musrec gen --scale 0.01`
# (override with SCALE), split at 2022-12-16, ALS with the default settings
# against the most-listened train tracks; NDCG@10 and Recall@10 over warm
# test users (in train and test), each user's train tracks excluded from
# both lists. The metrics are computed by numpy here, independently of
# `musrec evaluate`.
#
# The train/test matrices come from `musrec preprocess` + `musrec split`;
# if those fail, from an independent DuckDB encoding of the raw
# interactions (ids coded in ascending order, the same split day), and the
# script says so.
set -eu
cd "$(dirname "$0")/.."
MUSREC_BIN=${MUSREC_BIN:-$PWD/build/musrec}
PY=${PY:-/usr/bin/python3}
SCALE=${SCALE:-0.01}
W=${BENCH_WORKDIR:-/tmp/musrec-bench-als-quality-$SCALE}
M="$MUSREC_BIN --workdir $W --threads ${THREADS:-2} --quiet"
P=$W/data/preprocessed
sql() { node scripts/oracle/eval_sql.mjs "$@" >/dev/null; }
[ -f "$W/data/raw/interactions.parquet" ] || $M gen --scale "$SCALE"
if ! { [ -f "$P/train_matrix.npz" ] || { $M preprocess && $M split; }; }; then
  echo "musrec preprocess/split failed: encoding the raw interactions with DuckDB instead"
  mkdir -p "$P"
  sql "CREATE TABLE ev AS SELECT user_id, track_id::BIGINT AS track_id, started_at < TIMESTAMP '2022-12-16' AS train FROM '$W/data/raw/interactions.parquet'" \
      "CREATE TABLE users AS SELECT user_id::INTEGER AS user_id, (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS user_idx FROM (SELECT DISTINCT user_id FROM ev)" \
      "CREATE TABLE items AS SELECT track_id, (row_number() OVER (ORDER BY track_id) - 1)::INTEGER AS item_idx FROM (SELECT DISTINCT track_id FROM ev)" \
      "COPY users TO '$P/users.parquet' (FORMAT parquet)" "COPY items TO '$P/items.parquet' (FORMAT parquet)" \
      "COPY (SELECT u.user_idx, i.item_idx, e.train::INTEGER AS train FROM ev e JOIN users u USING (user_id) JOIN items i USING (track_id)) TO '$W/coded.csv' (HEADER)"
  $PY - "$W" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
W = sys.argv[1]
d = np.loadtxt(W + "/coded.csv", delimiter=",", skiprows=1, dtype=np.int64)
nu, ni = d[:, 0].max() + 1, d[:, 1].max() + 1
for name, part in (("train", d[d[:, 2] == 1]), ("test", d[d[:, 2] == 0])):
    m = sp.csr_matrix((np.ones(len(part), np.float32), (part[:, 0], part[:, 1])), shape=(nu, ni))
    m.sum_duplicates(); m.sort_indices(); sp.save_npz(f"{W}/data/preprocessed/{name}_matrix.npz", m)
EOF
fi
$M als --top-n 10
sql "COPY (SELECT user_idx, item_idx, rank FROM '$W/results/personal_als.parquet' WHERE rank <= 10) TO '$W/als10.csv' (HEADER)"
$PY - "$W" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
W = sys.argv[1]
tr = sp.load_npz(W + "/data/preprocessed/train_matrix.npz").tocsr()
te = sp.load_npz(W + "/data/preprocessed/test_matrix.npz").tocsr()
als = {}
for u, i, r in np.loadtxt(W + "/als10.csv", delimiter=",", skiprows=1, dtype=np.int64, ndmin=2):
    als.setdefault(u, [None] * 10)[r - 1] = i
pop = np.argsort(-np.asarray((tr > 0).sum(axis=0)).ravel(), kind="stable")
disc = 1 / np.log2(np.arange(2, 12))
def metrics(recfn):
    nd = rc = 0.0; n = 0
    for u in range(min(tr.shape[0], te.shape[0])):
        t = set(te.indices[te.indptr[u]:te.indptr[u + 1]])
        if not t or tr.indptr[u + 1] == tr.indptr[u]: continue
        rel = np.array([1.0 if i in t else 0.0 for i in recfn(u)])
        nd += (rel * disc[:len(rel)]).sum() / disc[:min(len(t), 10)].sum(); rc += rel.sum() / len(t); n += 1
    return nd / n, rc / n, n
def poprec(u):
    heard = set(tr.indices[tr.indptr[u]:tr.indptr[u + 1]]); out = []
    for i in pop:
        if i not in heard:
            out.append(i)
            if len(out) == 10: break
    return out
na, ra, n = metrics(lambda u: als[u]); npop, rpop, _ = metrics(poprec)
print(f"warm test users: {n}")
print(f"ALS         NDCG@10 {na:.4f}  Recall@10 {ra:.4f}")
print(f"popularity  NDCG@10 {npop:.4f}  Recall@10 {rpop:.4f}")
print(f"ALS / popularity: NDCG@10 x{na / npop:.2f}, Recall@10 x{ra / rpop:.2f}")
EOF
