#!/bin/bash
# `musrec serve` loads only the structure of the train matrix and only the
# item side of the ALS model (serve/load.c): this checks that what it keeps
# is what requests need. Work directory built here: a train matrix with
# listen counts from scipy (deflated, as save_npz writes by default), users,
# items and top popular from DuckDB, ALS model and similar index from musrec,
# and NO offline lists, so that every known user is answered from popular
# and similar items and only the train history can remove what they heard.
# Expected answers: Python over scipy's reading of the same matrix.
#  - a known user's /recommendations/offline: popular minus their train row
#    (the test makes sure some of those rows do hold popular items);
#  - a known user's /recommendations/online after 2 events: similar items of
#    the events minus train row and events;
#  - fold-in for an unknown user: numpy's solve from the item factors;
#  - a train matrix stored (not deflated) with int64 indptr reads the same;
#  - a corrupt indices member or a matrix of another shape: serve refuses,
#    naming the file; a corrupt data member is not read, so it still starts;
#  - the per-part log lines ("artifact loaded", seconds, rss_bytes).
set -eu
: "${MUSREC_BIN:?}" "${PY:?}" "${TEST_TMP:?}" "${ORACLE_DIR:?}"
command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
$PY -c 'import numpy, scipy' 2>/dev/null || { echo "numpy/scipy not available"; exit 77; }
[ -d "$ORACLE_DIR/node_modules/@duckdb" ] || { echo "DuckDB oracle not installed (make deps)"; exit 77; }
sql() { node "$ORACLE_DIR/eval_sql.mjs" "$@"; }
W=$TEST_TMP/w
P=$W/data/preprocessed
T=$TEST_TMP
mkdir -p "$P" "$W/results"

$PY - "$P" "$T" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
P, T = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(23)
nu, ni = 70, 50
pop = 1.0 / np.arange(1, ni + 1) ** 1.1
rows, cols, vals = [], [], []
for u in range(nu):
    k = int(rng.integers(2, 15))
    items = rng.choice(ni, size=k, replace=False, p=pop / pop.sum())
    rows += [u] * k; cols += list(items); vals += list(rng.integers(1, 9, size=k).astype(np.float32))
m = sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(nu, ni))
m.sort_indices()
sp.save_npz(P + "/train_matrix.npz", m)                      # deflated members
m64 = m.copy(); m64.indptr = m64.indptr.astype(np.int64); m64.indices = m64.indices.astype(np.int64)
sp.save_npz(T + "/train_stored64.npz", m64, compressed=False)
sp.save_npz(T + "/train_other_shape.npz", sp.csr_matrix(m[:, :ni - 1]))
with open(T + "/users.csv", "w") as f:
    f.write("user_id,user_idx\n")
    for u in range(nu): f.write(f"{700 + 3 * u},{u}\n")
with open(T + "/items.csv", "w") as f:
    f.write("track_id|item_idx|track_name|artist\n")
    for i in range(ni): f.write(f"{5000 + 7 * i}|{i}|Song {i}|Band {i % 4}\n")
# top popular: the 30 most listened items, ties by item_idx
cnt = np.asarray((m > 0).sum(axis=0)).ravel()
order = sorted(range(ni), key=lambda i: (-cnt[i], i))[:30]
with open(T + "/popular.csv", "w") as f:
    f.write("rank,track_id,item_idx,listeners,score\n")
    for r, i in enumerate(order): f.write(f"{r + 1},{5000 + 7 * i},{i},{cnt[i]},{cnt[i] / nu}\n")
EOF
sql "COPY (SELECT user_id::INTEGER AS user_id, user_idx::INTEGER AS user_idx, 1::INTEGER AS n_events, DATE '2022-01-01' AS first_day, DATE '2022-01-02' AS last_day FROM read_csv('$T/users.csv') ORDER BY user_idx) TO '$P/users.parquet' (FORMAT parquet)" \
    "COPY (SELECT track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, item_idx::INTEGER AS track_group_id, track_name::VARCHAR AS track_name, [item_idx::BIGINT % 4] AS artist_ids, [1::BIGINT] AS album_ids, [2::BIGINT] AS genre_ids, [artist::VARCHAR] AS artist_names, ['pop'] AS genre_names, 0::INTEGER AS flags FROM read_csv('$T/items.csv', delim='|', quote='', all_varchar=true) ORDER BY item_idx::INTEGER) TO '$P/items.parquet' (FORMAT parquet)" \
    "COPY (SELECT rank::INTEGER AS rank, track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, listeners::BIGINT AS listeners, score::FLOAT AS score FROM read_csv('$T/popular.csv') ORDER BY rank) TO '$W/results/top_popular.parquet' (FORMAT parquet)" >/dev/null
cp "$P/train_matrix.npz" "$T/train_deflated.npz"
M="$MUSREC_BIN --quiet --workdir $W --threads 2"
$M als --factors 5 --iterations 4 --top-n 0 --alpha 2 --regularization 0.3
$M similar --top-n 8
[ ! -e "$W/results/personal_als.parquet" ] || { echo "als --top-n 0 wrote offline lists"; exit 1; }

pid=
cleanup() { [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true; }
trap cleanup EXIT
start() { # start the server on $W; sets pid and B
  rm -f "$T/port"
  $MUSREC_BIN --workdir "$W" --threads 2 serve --port 0 --port-file "$T/port" 2>"$T/serve.log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$T/port" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  [ -s "$T/port" ] || { echo "server did not start:"; cat "$T/serve.log"; exit 1; }
  B=http://127.0.0.1:$(cat "$T/port")
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }
# ask NAME: every known user's offline list, one user's online list after
# two events, and an unknown user's fold-in after three
ask() {
  local tag=$1
  for u in $(seq 0 69); do
    curl -s "$B/recommendations/offline?user_id=$((700 + 3 * u))&k=20" >"$T/$tag.off.$u.json"
  done
  curl -s "$B/events/put?user_id=706&track_id=5000" >/dev/null         # user_idx 2, item 0
  curl -s "$B/events/put?user_id=706&track_id=5007" >/dev/null         # item 1
  curl -s "$B/recommendations/online?user_id=706&k=20" >"$T/$tag.on.json"
  for t in 5000 5007 5014; do curl -s "$B/events/put?user_id=99999&track_id=$t" >/dev/null; done
  curl -s "$B/recommendations/offline?user_id=99999&k=10" >"$T/$tag.fold.json"
}
check() { $PY - "$W" "$T" "$1" <<'EOF'
import sys, json, csv, struct, numpy as np, scipy.sparse as sp
W, T, tag = sys.argv[1], sys.argv[2], sys.argv[3]
R = sp.load_npz(T + "/train_deflated.npz").tocsr()        # the matrix as generated
iid = lambda t: (t - 5000) // 7
pop = [int(r["item_idx"]) for r in csv.DictReader(open(T + "/popular.csv"))]
fails, filtered = [], 0
for u in range(70):
    got = json.load(open(f"{T}/{tag}.off.{u}.json"))
    heard = set(R.indices[R.indptr[u]:R.indptr[u + 1]].tolist())
    want = [i for i in pop if i not in heard][:20]
    filtered += sum(1 for i in pop[:20] if i in heard)
    gi = [iid(x["track_id"]) for x in got["items"]]
    if gi != want or any(x["source"] != "popular" for x in got["items"]):
        fails.append(f"user_idx {u}: offline {gi}, expected popular minus heard {want}")
if filtered < 20: fails.append(f"only {filtered} heard tracks among the users' top-20 popular: the test proves little")
b = open(W + "/results/similar_index.bin", "rb").read()
n = struct.unpack("<i", b[24:28])[0]
rec = np.frombuffer(b[64:], dtype=np.dtype([("idx", "<i4", (n,)), ("score", "<f4", (n,))]))
heard = set(R.indices[R.indptr[2]:R.indptr[3]].tolist()) | {0, 1}
best = {}
for sd in [1, 0]:
    for j, s in zip(rec["idx"][sd], rec["score"][sd]):
        if j >= 0 and j not in heard: best[j] = max(best.get(j, -np.inf), float(s))
want = [j for j, s in sorted(best.items(), key=lambda x: (-x[1], x[0]))][:20]
sim_heard = sum(1 for sd in [0, 1] for j in rec["idx"][sd] if j >= 0 and j in heard - {0, 1})
got = [iid(x["track_id"]) for x in json.load(open(f"{T}/{tag}.on.json"))["items"]]
if got != want: fails.append(f"online list of user_idx 2: {got}, expected {want}")
if sim_heard == 0: fails.append("no similar item of the events is in user_idx 2's train row: the online check proves little")
Y = np.load(W + "/models/als_item_factors.npy").astype(np.float64)
lam, alpha = 0.3, 2.0
A = Y.T @ Y + lam * np.eye(Y.shape[1]); bb = np.zeros(Y.shape[1])
for i in [0, 1, 2]: A += alpha * np.outer(Y[i], Y[i]); bb += (1 + alpha) * Y[i]
sc = Y @ np.linalg.solve(A, bb)
want = sorted((i for i in range(50) if i not in (0, 1, 2)), key=lambda i: (-sc[i], i))[:10]
fj = json.load(open(f"{T}/{tag}.fold.json"))["items"]
got = [iid(x["track_id"]) for x in fj]
if got != want or any(x["source"] != "foldin" for x in fj): fails.append(f"fold-in: {got}, expected {want}")
for x, i in zip(fj, want):
    if abs(x["score"] - sc[i]) > 1e-4 * (1 + abs(sc[i])): fails.append(f"fold-in score of {i}: {x['score']} != {sc[i]}")
if fails: print(f"[{tag}]", "\n".join(fails)); sys.exit(1)
print(f"[{tag}] offline (popular minus {filtered} heard), online and fold-in match the Python oracle")
EOF
}

start
ask deflated
grep '"artifact loaded"' "$W/logs/logs_serve.json" | grep 'train_matrix.npz' | grep -q '"rss_bytes"' ||
  { echo "no per-part log line with rss_bytes for the train matrix"; exit 1; }
grep '"artifact loaded"' "$W/logs/logs_serve.json" | grep -q 'als_model.bin' || { echo "no log line for the ALS model"; exit 1; }
stop
check deflated

# the same matrix stored, int64 indices and indptr
cp "$T/train_stored64.npz" "$P/train_matrix.npz"
start; ask stored64; stop
check stored64

# a flipped byte in the values: not read, so the service starts and answers
# the same; in the indices: refused, naming the file
flip() { # NPZ MEMBER OUT: OUT is NPZ with one byte flipped inside MEMBER's array values
  $PY - "$@" <<'EOF'
import sys, struct, zipfile
src, member, out = sys.argv[1:4]
b = bytearray(open(src, "rb").read())
off = zipfile.ZipFile(src).getinfo(member).header_offset
nl, xl = struct.unpack("<HH", b[off + 26:off + 30])
ds = off + 30 + nl + xl                                   # the member's .npy bytes
assert b[ds:ds + 6] == b"\x93NUMPY" and b[ds + 6] == 1
at = ds + 10 + struct.unpack("<H", b[ds + 8:ds + 10])[0] + 3
b[at] ^= 0x20; open(out, "wb").write(b)
EOF
}
flip "$P/train_matrix.npz" data.npy "$T/bad_data.npz"
flip "$P/train_matrix.npz" indices.npy "$T/bad_indices.npz"
cp "$T/bad_data.npz" "$P/train_matrix.npz"
start; ask bad_data; stop
check bad_data
for bad in "bad_indices:CRC|column index is outside" "train_other_shape:stale matrix"; do
  cp "$T/${bad%%:*}.npz" "$P/train_matrix.npz"
  if out=$($MUSREC_BIN --workdir "$W" serve --port 0 2>&1); then echo "serve started with $bad"; exit 1; fi
  echo "$out" | grep -q "train_matrix.npz" && echo "$out" | grep -Eq "${bad#*:}" ||
    { echo "unclear refusal of ${bad%%:*}: $out"; exit 1; }
done
cp "$T/train_deflated.npz" "$P/train_matrix.npz"
echo "serve_heard: all checks passed"
