#!/bin/bash
# The top-k engines through the commands: `musrec als` (recommend-all) and
# `musrec similar` forced onto each int8 kernel with MUSREC_TOPK
# (int8-avx2, int8-avxvnni, int8 = the best one, portable) on the same
# model must
#  - log the engine this CPU runs for that setting (from /proc/cpuinfo's
#    flags: avx2+fma, avx_vnni, avx512_vnni; a kernel the CPU lacks falls
#    back to the next one down);
#  - write byte-identical results/personal_als.parquet, similar.parquet
#    and similar_index.bin (every int8 kernel is exact);
#  - and those lists are numpy's exact top N: scores equal to the float64
#    dot product of the saved float32 factors rounded to float32 (within
#    one float ulp for the summation order), order by score then index.
set -eu
: "${MUSREC_BIN:?}" "${PY:?}" "${TEST_TMP:?}" "${ORACLE_DIR:?}"
$PY -c 'import numpy, scipy' 2>/dev/null || { echo "numpy/scipy not available"; exit 77; }
[ -d "$ORACLE_DIR/node_modules/@duckdb" ] || { echo "DuckDB oracle not installed (make deps)"; exit 77; }
sql() { node "$ORACLE_DIR/eval_sql.mjs" "$@"; }
W=$TEST_TMP/w
P=$W/data/preprocessed
mkdir -p "$P"
$PY - "$P" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
P = sys.argv[1]; rng = np.random.default_rng(11)
nu, ni = 300, 257                              # sizes that fill no block or tile exactly
pop = 1.0 / np.arange(1, ni + 1) ** 0.7
rows, cols = [], []
for u in range(nu):
    k = int(rng.integers(1, 30))
    items = rng.choice(ni, size=k, replace=False, p=pop / pop.sum())
    rows += [u] * k; cols += list(items)
m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(nu, ni))
m.sort_indices()
sp.save_npz(P + "/train_matrix.npz", m)
with open(P + "/../users.csv", "w") as f:
    f.write("user_id,user_idx\n" + "".join(f"{1000 + u},{u}\n" for u in range(nu)))
with open(P + "/../items.csv", "w") as f:
    f.write("track_id,item_idx,track_name,artist\n" + "".join(f"{50000 + i},{i},Track {i},Artist {i % 10}\n" for i in range(ni)))
EOF
sql "COPY (SELECT user_id::INTEGER AS user_id, user_idx::INTEGER AS user_idx FROM read_csv('$W/data/users.csv') ORDER BY user_idx) TO '$P/users.parquet' (FORMAT parquet)" \
    "COPY (SELECT track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, track_name::VARCHAR AS track_name, [artist::VARCHAR] AS artist_names FROM read_csv('$W/data/items.csv') ORDER BY item_idx) TO '$P/items.parquet' (FORMAT parquet)"

flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { [[ " $flags " == *" $1 "* ]]; }
a2=int8-portable; (has avx2 && has fma) && a2=int8-avx2
av=$a2; [ "$a2" = int8-avx2 ] && has avx_vnni && av=int8-avxvnni
best=$av; (has avx512f && has avx512bw && has avx512_vnni) && best=int8-vnni

M="$MUSREC_BIN --quiet --workdir $W --threads 2"
run() {  # MUSREC_TOPK value, expected engine
  rm -f "$W/logs/logs_als.json" "$W/logs/logs_similar.json"
  MUSREC_TOPK=$1 $M als --factors 12 --iterations 4 --top-n 15 --alpha 3
  MUSREC_TOPK=$1 $M similar --top-n 7
  local ea es
  ea=$($PY -c 'import json,sys; print(next(json.loads(l)["engine"] for l in open(sys.argv[1]) if "engine" in json.loads(l)))' "$W/logs/logs_als.json")
  es=$($PY -c 'import json,sys; print(next(json.loads(l)["engine"] for l in open(sys.argv[1]) if "engine" in json.loads(l)))' "$W/logs/logs_similar.json")
  if [ "$ea" != "$2" ] || [ "$es" != "$2" ]; then
    echo "MUSREC_TOPK=$1: engines als '$ea', similar '$es', expected '$2'"; exit 1
  fi
  mkdir -p "$TEST_TMP/$1"
  cp "$W/results/personal_als.parquet" "$W/results/similar.parquet" "$W/results/similar_index.bin" \
     "$W/models/als_user_factors.npy" "$W/models/als_item_factors.npy" "$TEST_TMP/$1/"
}
run portable int8-portable
run int8-avx2 "$a2"
run int8-avxvnni "$av"
run int8 "$best"
echo "engines: int8-avx2 -> $a2, int8-avxvnni -> $av, int8 -> $best"
for e in int8-avx2 int8-avxvnni int8; do
  cmp "$TEST_TMP/portable/als_item_factors.npy" "$TEST_TMP/$e/als_item_factors.npy" ||
    { echo "the fit differs between runs: the comparison below would be meaningless"; exit 1; }
  for f in personal_als.parquet similar.parquet similar_index.bin; do
    cmp "$TEST_TMP/portable/$f" "$TEST_TMP/$e/$f" || { echo "$f differs between portable and $e"; exit 1; }
  done
done

sql "COPY (SELECT user_idx, item_idx, score, rank FROM '$TEST_TMP/int8/personal_als.parquet') TO '$TEST_TMP/personal.csv' (HEADER)" \
    "COPY (SELECT item_idx, similar_item_idx, score, rank FROM '$TEST_TMP/int8/similar.parquet') TO '$TEST_TMP/similar.csv' (HEADER)"
$PY - "$W" "$TEST_TMP" <<'EOF'
import sys, csv, numpy as np, scipy.sparse as sp
W, T = sys.argv[1], sys.argv[2]
R = sp.load_npz(W + "/data/preprocessed/train_matrix.npz").tocsr()
X = np.load(T + "/int8/als_user_factors.npy"); Y = np.load(T + "/int8/als_item_factors.npy")
S = X.astype(np.float64) @ Y.T.astype(np.float64)
def close(ours, exact):  # ours: float32 of the double sum; exact: float64
    w = np.float32(exact)
    return ours == w or abs(ours - w) <= np.spacing(np.float32(abs(w)))
def check(name, got, rows, n, cand, score):
    bad = 0
    for q in rows:
        lst = sorted(got.get(q, []))
        sc = {i: np.float32(score(q, i)) for i in cand(q)}
        want = sorted(sc, key=lambda i: (-sc[i], i))[:n]
        if [r for r, _, _ in lst] != list(range(1, len(want) + 1)):
            print(f"{name} {q}: ranks {[r for r, _, _ in lst]}"); bad += 1; continue
        for (rk, i, s), w in zip(lst, want):
            ok = close(np.float32(s), score(q, i)) and (i == w or sc[i] == sc[w])
            if not ok:
                bad += 1
                if bad < 5: print(f"{name} {q} rank {rk}: ours {i} {s!r}, numpy {w} {score(q, w)!r}")
    assert bad == 0, f"{bad} {name} rows differ from numpy"
got = {}
for r in csv.DictReader(open(T + "/personal.csv")):
    got.setdefault(int(r["user_idx"]), []).append((int(r["rank"]), int(r["item_idx"]), float(r["score"])))
heard = lambda u: set(R.indices[R.indptr[u]:R.indptr[u + 1]])
check("user", got, range(R.shape[0]), 15, lambda u: [i for i in range(Y.shape[0]) if i not in heard(u)],
      lambda u, i: S[u, i])
# similar: cosine of the factors normalised in float32 as similar.c does
nrm = np.sqrt((Y.astype(np.float64) ** 2).sum(1))
N = (Y * np.where(nrm > 0, 1 / nrm, 0).astype(np.float32)[:, None]).astype(np.float32)
C = N.astype(np.float64) @ N.T.astype(np.float64)
sim = {}
for r in csv.DictReader(open(T + "/similar.csv")):
    sim.setdefault(int(r["item_idx"]), []).append((int(r["rank"]), int(r["similar_item_idx"]), float(r["score"])))
check("item", sim, range(Y.shape[0]), 7, lambda i: [j for j in range(Y.shape[0]) if j != i], lambda i, j: C[i, j])
print("every int8 engine wrote the same lists, equal to numpy's exact top N")
EOF
