#!/bin/bash
# `musrec serve` over real HTTP (curl, and Python's http.client for load), on
# a small work directory built here: train matrix from scipy, users, items
# and top popular from DuckDB, ALS model, personal lists and similar index
# from `musrec als` / `musrec similar`. Expected answers come from an
# independent Python version of the blend and of fold-in (numpy), reading
# the artifacts with DuckDB, scipy and numpy:
#  - a user with no personal list: popular minus what they listened to;
#  - a user with a personal list and no online history: that list;
#  - a user with both: offline, online, offline, ... deduplicated;
#  - fold-in for a user unknown to ALS after 3 events (source "foldin");
#  - every error: 400 (missing/malformed parameters, bad JSON), 404 (unknown
#    track, unknown path), 405, 413 (body over 64 KB), 414, k clamped;
#  - SIGHUP reloads (new artifacts visible) while requests run, none failing;
#  - /metrics parses as Prometheus text; SIGTERM drains and exits 0.
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
rng = np.random.default_rng(11)
nu, ni = 80, 60
pop = 1.0 / np.arange(1, ni + 1) ** 0.9
rows, cols = [], []
for u in range(nu):
    if u % 13 == 4: continue                     # known users without train history
    k = int(rng.integers(3, 20))
    items = rng.choice(ni, size=k, replace=False, p=pop / pop.sum())
    rows += [u] * k; cols += list(items)
m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(nu, ni))
m.sort_indices()
sp.save_npz(P + "/train_matrix.npz", m)
with open(T + "/users.csv", "w") as f:
    f.write("user_id,user_idx\n")
    for u in range(nu): f.write(f"{500 + 2 * u},{u}\n")
with open(T + "/items.csv", "w") as f:
    f.write("track_id|item_idx|track_name|a1|a2\n")
    for i in range(ni):
        f.write(f"{9000 + 11 * i}|{i}|Track {i} \u00e9\"q\"|Artist {i % 7}|{'Feat ' + str(i % 5) if i % 2 else ''}\n")
# top popular: listeners per item, ties by item_idx
cnt = np.asarray((m > 0).sum(axis=0)).ravel()
order = sorted(range(ni), key=lambda i: (-cnt[i], i))[:25]
with open(T + "/popular.csv", "w") as f:
    f.write("rank,track_id,item_idx,listeners,score\n")
    for r, i in enumerate(order): f.write(f"{r + 1},{9000 + 11 * i},{i},{cnt[i]},{cnt[i] / nu}\n")
EOF
sql "COPY (SELECT user_id::INTEGER AS user_id, user_idx::INTEGER AS user_idx, 1::INTEGER AS n_events, DATE '2022-01-01' AS first_day, DATE '2022-01-02' AS last_day FROM read_csv('$T/users.csv') ORDER BY user_idx) TO '$P/users.parquet' (FORMAT parquet)" \
    "COPY (SELECT track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, item_idx::INTEGER AS track_group_id, track_name::VARCHAR AS track_name, CASE WHEN coalesce(a2, '') <> '' THEN [item_idx::BIGINT % 7, 100 + item_idx::BIGINT % 5] ELSE [item_idx::BIGINT % 7] END AS artist_ids, [1::BIGINT] AS album_ids, [2::BIGINT] AS genre_ids, list_filter([a1::VARCHAR, a2::VARCHAR], x -> x IS NOT NULL AND x <> '') AS artist_names, ['pop'] AS genre_names, 0::INTEGER AS flags FROM read_csv('$T/items.csv', delim='|', quote='', all_varchar=true) ORDER BY item_idx::INTEGER) TO '$P/items.parquet' (FORMAT parquet)" \
    "COPY (SELECT rank::INTEGER AS rank, track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, listeners::BIGINT AS listeners, score::FLOAT AS score FROM read_csv('$T/popular.csv') ORDER BY rank) TO '$W/results/top_popular.parquet' (FORMAT parquet)"

M="$MUSREC_BIN --quiet --workdir $W --threads 2"
$M als --factors 6 --iterations 5 --top-n 15 --alpha 3 --regularization 0.2
$M similar --top-n 6
sql "COPY (SELECT user_id, item_idx, score, rank FROM '$W/results/personal_als.parquet' ORDER BY user_idx, rank) TO '$T/personal.csv' (HEADER)"

# a work directory without the catalog: a clear refusal, not a crash
mkdir -p "$T/empty"
if out=$($MUSREC_BIN --workdir "$T/empty" serve --port 0 2>&1); then echo "serve started without a catalog"; exit 1; fi
echo "$out" | grep -q "items.parquet does not exist: run \`musrec preprocess\` first" || { echo "unclear message: $out"; exit 1; }
# an index of another catalog: refused, naming the file
mkdir -p "$T/stale/results" "$T/stale/data/preprocessed"
cp "$P/items.parquet" "$T/stale/data/preprocessed/"
head -c 64 "$W/results/similar_index.bin" > "$T/stale/results/similar_index.bin"
if out=$($MUSREC_BIN --workdir "$T/stale" serve --port 0 2>&1); then echo "serve accepted a truncated similar index"; exit 1; fi
echo "$out" | grep -q "similar_index.bin" || { echo "unclear message: $out"; exit 1; }
echo "clear refusals: $(echo "$out" | tail -1)"

port_file=$T/port
$MUSREC_BIN --workdir "$W" --threads 2 serve --port 0 --port-file "$port_file" --drain-seconds 5 2>"$T/serve.log" &
pid=$!
cleanup() { kill -9 "$pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$port_file" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
[ -s "$port_file" ] || { echo "server did not start:"; cat "$T/serve.log"; exit 1; }
B=http://127.0.0.1:$(cat "$port_file")
grep -q '"startup_seconds"\|startup_seconds=' "$T/serve.log" "$W/logs/logs_serve.json" || { echo "start-up time not logged"; exit 1; }
grep -q 'rss_bytes' "$W/logs/logs_serve.json" || { echo "RSS not logged"; exit 1; }

# get NAME URL: body to $T/NAME.json, status to $T/NAME.status
get() { curl -s -o "$T/$1.json" -w '%{http_code}' "$B$2" >"$T/$1.status"; }
post() { curl -s -o "$T/$1.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "$B/events" >"$T/$1.status"; }

# the three classic cases and fold-in
known=$(awk -F, 'NR==2{print $1}' "$T/personal.csv")          # a user with a personal list
both=$(awk -F, 'NR>1 && $1!='"$known"'{print $1; exit}' "$T/personal.csv")
get health /health
get a_cold '/recommendations?user_id=77777&k=8'
get b_known "/recommendations?user_id=$known&k=6"
# user 'both' listens to three tracks; user 88888 (unknown) to two: no fold-in yet
read -r t1 t2 t3 < <($PY -c "import csv; r=list(csv.DictReader(open('$T/popular.csv'))); print(r[3]['track_id'], r[7]['track_id'], r[12]['track_id'])")
post e1 "{\"user_id\": $both, \"track_id\": $t1}"
get e2 "/events/put?user_id=$both&track_id=$t2"
post e3 "{\"user_id\": $both, \"track_id\": $t3}"
get e4 "/events/put?user_id=88888&track_id=$t1"
get e5 "/events/put?user_id=88888&track_id=$t2"
get c_both "/recommendations?user_id=$both&k=10"
get c_both_off "/recommendations/offline?user_id=$both&k=10"
get c_both_on "/recommendations/online?user_id=$both&k=10"
get a_cold_hist '/recommendations?user_id=88888&k=8'
get a_cold_hist_off '/recommendations/offline?user_id=88888&k=8'
get events_both "/events?user_id=$both&k=2"
get f_before '/recommendations/offline?user_id=88888&k=5'
get e6 "/events/put?user_id=88888&track_id=$t3"
get f_after '/recommendations/offline?user_id=88888&k=5'
get f_blend '/recommendations?user_id=88888&k=5'
get sim "/similar?track_id=$t1&k=4"
get pop '/popular?k=3'
get k0 '/popular?k=0'
get kbig '/popular?k=99999999999999999999'
get kneg "/recommendations?user_id=$known&k=-4"

$PY - "$W" "$T" "$known" "$both" "$t1 $t2 $t3" <<'EOF'
import sys, json, csv, numpy as np, scipy.sparse as sp, struct
W, T, known, both = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seeds_t = [int(x) for x in sys.argv[5].split()]
def load(name):
    st = int(open(f"{T}/{name}.status").read())
    return st, json.load(open(f"{T}/{name}.json"))
R = sp.load_npz(W + "/data/preprocessed/train_matrix.npz").tocsr()
uid = {500 + 2 * u: u for u in range(80)}
tid = lambda i: 9000 + 11 * i
iid = lambda t: (t - 9000) // 11
pop = [int(r["item_idx"]) for r in csv.DictReader(open(T + "/popular.csv"))]
popscore = {int(r["item_idx"]): float(r["score"]) for r in csv.DictReader(open(T + "/popular.csv"))}
pers = {}
for r in csv.DictReader(open(T + "/personal.csv")):
    pers.setdefault(int(r["user_id"]), []).append((int(r["item_idx"]), float(r["score"])))
b = open(W + "/results/similar_index.bin", "rb").read()
n = struct.unpack("<i", b[24:28])[0]
rec = np.frombuffer(b[64:], dtype=np.dtype([("idx", "<i4", (n,)), ("score", "<f4", (n,))]))
def heard(user, store):
    h = set(store)
    if user in uid: u = uid[user]; h |= set(R.indices[R.indptr[u]:R.indptr[u + 1]].tolist())
    return h
def offline(user, store, k):
    h = heard(user, store)
    if user in pers: return [(i, s, "offline") for i, s in pers[user] if i not in h][:k]
    return [(i, popscore[i], "popular") for i in pop if i not in h][:k]
def online(user, store, k):
    seeds = []
    for i in store:                              # newest first
        if i not in seeds: seeds.append(i)
    seeds = seeds[:3]; h = heard(user, store); best = {}
    for sd in seeds:
        for j, s in zip(rec["idx"][sd], rec["score"][sd]):
            if j < 0 or j in h: continue
            best[j] = max(best.get(j, -np.inf), float(s))
    return [(j, s, "online") for j, s in sorted(best.items(), key=lambda x: (-x[1], x[0]))][:k]
def blend(a, b, k):
    out, seen, i, j, turn = [], set(), 0, 0, 0
    while len(out) < k and (i < len(a) or j < len(b)):
        x = None
        if (turn == 0 and i < len(a)) or j >= len(b):
            while i < len(a) and x is None:
                if a[i][0] not in seen: x = a[i]
                i += 1
        else:
            while j < len(b) and x is None:
                if b[j][0] not in seen: x = b[j]
                j += 1
        turn ^= 1
        if x is not None: seen.add(x[0]); out.append(x)
    return out
names = {}
for line in open(T + "/items.csv").read().splitlines()[1:]:
    f = line.split("|"); names[int(f[1])] = (f[2], [a for a in f[3:5] if a])
fails = []
def check(name, want, k):
    st, got = load(name)
    if st != 200: fails.append(f"{name}: status {st}: {got}"); return
    if got.get("k") != k: fails.append(f"{name}: k is {got.get('k')}, expected {k}")
    items = got["items"]
    gi = [(iid(x["track_id"]), x["source"]) for x in items]
    wi = [(i, src) for i, _, src in want]
    if gi != wi: fails.append(f"{name}: got {gi}, expected {wi}"); return
    for x, (i, s, src) in zip(items, want):
        if abs(x["score"] - s) > 1e-5 * (1 + abs(s)): fails.append(f"{name}: track {x['track_id']} score {x['score']} != {s}")
        if (x["name"], x["artists"]) != names[i]: fails.append(f"{name}: track {x['track_id']} name/artists {x['name']!r} {x['artists']!r} != {names[i]!r}")
st, h = load("health")
assert st == 200 and h["items"] == 60 and h["users"] == 80 and h["offline_source"] == "personal_als" and h["similar"] and h["foldin"], h
store_both = [iid(t) for t in reversed(seeds_t)]         # newest first
store_cold = [iid(t) for t in reversed(seeds_t[:2])]
check("a_cold", offline(77777, [], 8), 8)
assert all(x["source"] == "popular" for x in load("a_cold")[1]["items"])
check("b_known", offline(known, [], 6), 6)
check("kneg", offline(known, [], 1), 1)
check("c_both_off", offline(both, store_both, 10), 10)
check("c_both_on", online(both, store_both, 10), 10)
check("c_both", blend(offline(both, store_both, 10), online(both, store_both, 10), 10), 10)
srcs = [x["source"] for x in load("c_both")[1]["items"]]
assert srcs[:2] == ["offline", "online"], srcs
check("a_cold_hist_off", offline(88888, store_cold, 8), 8)
check("a_cold_hist", blend(offline(88888, store_cold, 8), online(88888, store_cold, 8), 8), 8)
check("f_before", offline(88888, store_cold, 5), 5)
# fold-in: numpy's solve of (YtY + Yu^T (Cu - I) Yu + lambda I) x = Yu^T Cu p
Y = np.load(W + "/models/als_item_factors.npy").astype(np.float64)
lam, alpha = 0.2, 3.0
store3 = [iid(t) for t in reversed(seeds_t)]
A = Y.T @ Y + lam * np.eye(Y.shape[1]); bb = np.zeros(Y.shape[1])
for i in set(store3):
    A += alpha * np.outer(Y[i], Y[i]); bb += (1 + alpha) * Y[i]
x = np.linalg.solve(A, bb)
sc = Y @ x
cand = sorted((i for i in range(60) if i not in set(store3)), key=lambda i: (-sc[i], i))[:5]
check("f_after", [(i, sc[i], "foldin") for i in cand], 5)
st, fb = load("f_blend")
assert [x["source"] for x in fb["items"]][:2] == ["foldin", "online"], fb
st, ev = load("events_both")
assert st == 200 and [e["track_id"] for e in ev["events"]] == [seeds_t[2], seeds_t[1]], ev
st, sim = load("sim")
wi = [j for j in rec["idx"][iid(seeds_t[0])] if j >= 0][:4]
assert st == 200 and [iid(x["track_id"]) for x in sim["items"]] == wi and all(x["source"] == "similar" for x in sim["items"]), sim
st, p = load("pop"); assert [iid(x["track_id"]) for x in p["items"]] == pop[:3], p
st, p = load("k0"); assert p["k"] == 1 and len(p["items"]) == 1, p
st, p = load("kbig"); assert p["k"] == 1000 and len(p["items"]) == 25, p
for e in ["e1", "e2", "e3", "e4", "e5", "e6"]: assert load(e)[0] == 200, (e, load(e))
if fails:
    print("\n".join(fails)); sys.exit(1)
print("blend, popular, offline, online, fold-in, events and similar match the Python oracle")
EOF

# every error: status and a JSON body naming the problem
expect() { # STATUS NEEDLE CURL-ARGS...
  local want=$1 needle=$2; shift 2
  local code; code=$(curl -s -o "$T/err.json" -w '%{http_code}' "$@")
  if [ "$code" != "$want" ] || ! grep -q -- "$needle" "$T/err.json" || ! $PY -c "import json,sys; d=json.load(open('$T/err.json')); assert $want < 400 or d['status'] == $want" 2>/dev/null; then
    echo "curl $*: got $code $(head -c 300 "$T/err.json"), expected $want with '$needle'"; exit 1
  fi
}
expect 400 'missing parameter user_id' "$B/recommendations?k=3"
expect 400 'parameter user_id must be an integer' "$B/recommendations?user_id=12ab"
expect 400 'parameter k must be an integer' "$B/recommendations/online?user_id=1&k=ten"
expect 400 'parameter user_id is empty' "$B/events?user_id="
expect 400 'percent-escape' "$B/popular?k=%G1"
expect 400 'given twice' "$B/recommendations?user_id=1&user_id=2"
expect 400 'missing parameter track_id' "$B/similar?k=3"
expect 400 'not valid JSON' -H 'Content-Type: application/json' --data-binary '{"user_id": 1,' "$B/events"
expect 400 'track_id must be a number' -H 'Content-Type: application/json' --data-binary '{"user_id": 1, "track_id": "x"}' "$B/events"
expect 400 'must be an integer' -H 'Content-Type: application/json' --data-binary '{"user_id": 1.5, "track_id": 9000}' "$B/events"
expect 404 'unknown track_id 12345' "$B/similar?track_id=12345"
expect 404 'unknown track_id 9001' "$B/events/put?user_id=1&track_id=9001"
expect 404 'unknown track_id 9001' -H 'Content-Type: application/json' --data-binary '{"user_id": 1, "track_id": 9001}' "$B/events"
expect 404 'no endpoint /recommend' "$B/recommend?user_id=1"
expect 405 'method DELETE is not allowed' -X DELETE "$B/events"
head -c 70000 /dev/zero | tr '\0' ' ' > "$T/big.json"
expect 413 'larger than 65536' -H 'Content-Type: application/json' --data-binary @"$T/big.json" "$B/events"
# the same without a Content-Length (chunked): read up to the limit, then refused
expect 413 'larger than 65536' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.json" "$B/events"
long=$(head -c 5000 /dev/zero | tr '\0' 'a')
expect 414 'more than 4096' "$B/popular?x=$long"
# after all that the server is alive and the 64 KB body did not break it
expect 200 '"status":"ok"' "$B/health"

# /metrics: Prometheus text format, counting what happened
curl -s "$B/metrics" >"$T/metrics.txt"
$PY - "$T/metrics.txt" <<'EOF'
import sys, re
text = open(sys.argv[1]).read()
try:
    from prometheus_client.parser import text_string_to_metric_families
    fam = {f.name: f for f in text_string_to_metric_families(text)}
    req = {(s.labels["endpoint"], s.labels["method"], s.labels["status"]): s.value for s in fam["musrec_http_requests"].samples}
    users = [s.value for s in fam["musrec_event_store_users"].samples][0]
    how = "prometheus_client"
except ImportError:
    req = {}
    for m in re.finditer(r'^musrec_http_requests_total\{method="(\w+)",endpoint="([^"]+)",status="(\w+)"\} (\d+)$', text, re.M):
        req[(m[2], m[1], m[3])] = float(m[4])
    users = float(re.search(r"^musrec_event_store_users (\S+)$", text, re.M)[1])
    how = "regular expressions (python3-prometheus-client not installed)"
assert req[("/recommendations", "GET", "200")] >= 5, req
assert req[("/events", "POST", "200")] == 2 and req[("/events/put", "GET", "200")] == 4, req
assert req[("/similar", "GET", "404")] == 1 and req[("/events", "POST", "413")] == 2, req
assert users == 2, users
assert "musrec_http_request_duration_seconds_bucket{" in text and 'le="+Inf"' in text
print("metrics parse with", how)
EOF

# SIGHUP under load: 4 keep-alive clients run while the artifacts reload 3
# times; the last reload brings a changed popular list, which must show
cp "$T/popular.csv" "$T/popular2.csv"
$PY - "$T/popular2.csv" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
head, rows = lines[0], lines[1:]
rows[0], rows[1] = rows[1], rows[0]       # swap the top two (renumber the ranks)
rows = [",".join([str(r + 1)] + row.split(",")[1:]) for r, row in enumerate(rows)]
open(sys.argv[1], "w").write("\n".join([head] + rows) + "\n")
EOF
$PY - "$B" "$T/load.out" "$known" <<'EOF' &
import sys, threading, http.client, time
base, out, known = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = base.split("//")[1].split(":")
stop = time.time() + 4.0; bad = []; done = [0]
def worker(n):
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    while time.time() < stop:
        try:
            c.request("GET", f"/recommendations?user_id={known if n % 2 else 4242}&k=10")
            r = c.getresponse(); body = r.read()
            if r.status != 200 or not body.startswith(b'{"user_id"'): bad.append((r.status, body[:100]))
            done[0] += 1
        except Exception as e:
            bad.append(repr(e)); c = http.client.HTTPConnection(host, int(port), timeout=10)
th = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
[t.start() for t in th]; [t.join() for t in th]
open(out, "w").write(f"{done[0]} {len(bad)} {bad[:3]}\n")
EOF
loader=$!
sleep 0.5
kill -HUP $pid; sleep 0.6
kill -HUP $pid; sleep 0.6
sql "COPY (SELECT rank::INTEGER AS rank, track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, listeners::BIGINT AS listeners, score::FLOAT AS score FROM read_csv('$T/popular2.csv') ORDER BY rank) TO '$W/results/top_popular.parquet' (FORMAT parquet)"
kill -HUP $pid
wait $loader
read -r done bad rest < "$T/load.out"
echo "during 3 reloads: $done requests, $bad failed $rest"
[ "$bad" = 0 ] && [ "$done" -gt 100 ] || { echo "requests failed or too few during reloads"; exit 1; }
for _ in $(seq 50); do grep -q 'reloads_total{result="ok"} 3' <(curl -s "$B/metrics") && break; sleep 0.1; done
curl -s "$B/metrics" | grep -q 'musrec_reloads_total{result="ok"} 3' || { echo "3 reloads not counted"; curl -s "$B/metrics" | grep reload; exit 1; }
want=$($PY -c "import csv; print(list(csv.DictReader(open('$T/popular2.csv')))[0]['track_id'])")
curl -s "$B/popular?k=1" | grep -q "\"track_id\":$want," || { echo "reload did not bring the new popular list"; exit 1; }
# the event store survived the reloads
curl -s "$B/events?user_id=$both&k=1" | grep -q "\"track_id\":$t3," || { echo "events lost on reload"; exit 1; }
# a broken artifact: the reload fails, the old artifacts keep serving
echo garbage > "$W/results/top_popular.parquet"
kill -HUP $pid
for _ in $(seq 50); do curl -s "$B/metrics" | grep -q 'reloads_total{result="error"} 1' && break; sleep 0.1; done
curl -s "$B/metrics" | grep -q 'musrec_reloads_total{result="error"} 1' || { echo "failed reload not counted"; exit 1; }
curl -s "$B/popular?k=1" | grep -q "\"track_id\":$want," || { echo "old artifacts lost after a failed reload"; exit 1; }

# SIGTERM drains: a request whose body is still arriving when the signal
# comes is answered (with Connection: close), new connections are refused,
# then the server exits 0
$PY - "$B" "$pid" "$t1" <<'EOF'
import sys, socket, os, signal, time
base, pid, track = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host, port = base.split("//")[1].split(":")
body = ('{"user_id": 31337, "track_id": %s}' % track).encode()
s = socket.create_connection((host, int(port)))
s.sendall(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
try:
    socket.create_connection((host, int(port)), timeout=2).close()
    sys.exit("a new connection was accepted while draining")
except OSError:
    pass
s.sendall(body[10:])
resp = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    resp += chunk
head = resp.split(b"\r\n\r\n")[0].decode().lower()
assert head.startswith("http/1.1 200"), resp[:300]
assert "connection: close" in head, head
assert b'"events":1' in resp, resp
print("the request in flight during SIGTERM was answered:", resp.split(b"\r\n\r\n")[1].decode().strip())
EOF
rc=0; wait $pid || rc=$?
trap - EXIT
[ $rc = 0 ] || { echo "serve exited $rc after SIGTERM"; tail -5 "$T/serve.log"; exit 1; }
grep -q '"msg":"stopped"' "$W/logs/logs_serve.json" || { echo "no 'stopped' log line"; exit 1; }
echo "serve_http: all checks passed"
