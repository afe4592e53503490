#!/bin/bash
# End-to-end test of `musrec preprocess` and `musrec split` against
# independent implementations:
#  - a hand-made raw data set written by DuckDB (duplicate track ids, tracks
#    without artists/genres/albums, a dangling genre id, events of an unknown
#    track, a null, a repeated (user, track) pair, users out of order, names
#    with stray white space and control characters), in three variants of
#    the real files' looseness: INT64 ids + TIMESTAMP(ns) + __index_level_0__,
#    INT32 ids + DATE, and TIMESTAMP(ms);
#  - DuckDB SQL computes the expected events (explode, join, drop, dedupe,
#    encode by dense rank) and Python the expected items; both must equal what
#    DuckDB reads back from our files;
#  - scipy.sparse.load_npz loads both matrices and they must equal matrices
#    built in Python from train_events.parquet / test_events.parquet (read by
#    DuckDB), for --value one and count;
#  - leakage: no train event on or after the split date, none in test
#    before it; user and item codes agree across every file;
#  - bad input: missing file and column, wrong column type, empty
#    interactions, split dates that leave train or test empty: clear errors;
#  - `musrec gen --scale 0.001` data when the generator exists: the same
#    matrix and leakage checks, and the group scores in the log.
set -eu
: "${MUSREC_BIN:?}" "${PY:?}" "${TEST_TMP:?}" "${ORACLE_DIR:?}"
[ -d "$ORACLE_DIR/node_modules/@duckdb" ] || { echo "DuckDB for node not installed (make deps)"; exit 77; }
"$PY" -c 'import scipy.sparse, numpy' 2>/dev/null || { echo "python3 scipy/numpy not installed"; exit 77; }
export MUSREC_BIN TEST_TMP ORACLE_DIR
SQL="node $ORACLE_DIR/eval_sql.mjs"   # several statements, one process

make_raw() { # DIR ID_TYPE TS_TYPE
  local d=$1 idt=$2 tst=$3
  mkdir -p "$d/data/raw"
  $SQL "COPY (SELECT track_id::$idt AS track_id, albums, artists, genres FROM (VALUES
      (100, [1], [10], [1000]),
      (50,  [2], [11, 10], [1001, 9999]),
      (75,  []::BIGINT[], []::BIGINT[], []::BIGINT[]),
      (50,  [3], [12], [1000]),
      (200, [4], [13], [1000]),
      (300, [5], [14], [1001]),
      (400, [6], [15], []::BIGINT[]),
      (500, [7], [99], [1000])) t(track_id, albums, artists, genres))
    TO '$d/data/raw/tracks.parquet' (FORMAT parquet)" \
   "COPY (SELECT id::$idt AS id, type, name FROM (VALUES
      (100, 'track', '  Smells  Like Teen Spirit '),
      (50,  'track', 'Smells Like Teen Spirit (Live)'),
      (75,  'track', 'Intro'),
      (200, 'track', 'Intro'),
      (300, 'track', 'Smells Like Teen Spirit'),
      (400, 'track', 'Song' || chr(9) || chr(1) || ' (feat. Bob)'),
      (10,  'artist', 'Nirvana'),
      (11,  'artist', 'Foo'),
      (12,  'artist', 'Bar'),
      (13,  'artist', 'Baz'),
      (14,  'artist', 'Cover Band'),
      (15,  'artist', 'Qux'),
      (10,  'artist', 'Nirvana duplicate'),
      (1000, 'genre', 'rock'),
      (1001, 'genre', 'grunge'),
      (1,   'album', 'Nevermind'),
      (100, 'album', 'same id as a track')) t(id, type, name))
    TO '$d/data/raw/catalog_names.parquet' (FORMAT parquet)" \
   "COPY (SELECT user_id::INTEGER AS user_id, track_id::$idt AS track_id, track_seq::SMALLINT AS track_seq,
      started_at::$tst AS started_at, (row_number() OVER () - 1)::BIGINT AS __index_level_0__ FROM (VALUES
      (7, 100, 1, '2022-03-01'), (7, 50, 2, '2022-03-02'), (7, 300, 3, '2022-12-16'),
      (3, 75, 1, '2022-12-20'), (3, 999, 2, '2022-12-21'), (3, 100, 3, '2022-12-18'),
      (3, 100, 4, '2022-12-22'),
      (12, 200, 1, '2022-01-05'), (12, 400, 2, '2022-12-15'), (12, NULL, 3, '2022-12-15'),
      (5, 500, 1, '2022-12-17'), (5, 75, 2, '2022-12-31'),
      (7, 400, 4, '2022-12-16')) t(user_id, track_id, track_seq, started_at))
    TO '$d/data/raw/interactions.parquet' (FORMAT parquet)" >/dev/null
}

check_dir() { # WORKDIR: the oracle comparisons (Python + DuckDB)
"$PY" - "$1" <<'EOF'
import json, os, subprocess, sys
import numpy as np, scipy.sparse as sp

wd = sys.argv[1]
raw, pre = f"{wd}/data/raw", f"{wd}/data/preprocessed"
fail = []

def q_many(pairs):
    path = f"{wd}/queries.json"
    json.dump(pairs, open(path, "w"))
    out = subprocess.run(["node", os.environ["ORACLE_DIR"] + "/prep_sql.mjs", path], capture_output=True, text=True)
    if out.returncode: raise SystemExit(f"DuckDB: {out.stderr}")
    return json.loads(out.stdout)

def rp(name):
    return f"read_parquet('{name}')"

split_info = json.load(open(f"{pre}/split_info.json"))
R = q_many([
  # expected events, computed by DuckDB from the raw files
  ["expected", f"""
  WITH tr AS (SELECT DISTINCT CAST(track_id AS BIGINT) track_id FROM {rp(raw + '/tracks.parquet')}),
  items AS (SELECT track_id, CAST(row_number() OVER (ORDER BY track_id) - 1 AS INTEGER) item_idx FROM tr),
  ev AS (SELECT i.user_id, CAST(i.track_id AS BIGINT) track_id, i.track_seq,
                CAST(i.started_at AS DATE) started_at FROM {rp(raw + '/interactions.parquet')} i
         WHERE i.user_id IS NOT NULL AND i.track_id IS NOT NULL AND i.started_at IS NOT NULL
           AND i.track_seq IS NOT NULL),
  known AS (SELECT ev.*, items.item_idx FROM ev JOIN items USING (track_id)
            QUALIFY row_number() OVER (PARTITION BY user_id, track_id ORDER BY started_at, track_seq) = 1),
  users AS (SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) user_idx
            FROM (SELECT DISTINCT user_id FROM known))
  SELECT k.user_id, u.user_idx, k.track_id, k.item_idx, k.track_seq, CAST(k.started_at AS VARCHAR) started_at
  FROM known k JOIN users u USING (user_id) ORDER BY user_idx, started_at, track_seq"""],
  ["ours", f"SELECT user_id, user_idx, track_id, item_idx, track_seq, CAST(started_at AS VARCHAR) started_at FROM {rp(pre + '/events.parquet')}"],
  ["schema", f"SELECT name, type, logical_type, converted_type FROM parquet_schema('{pre}/events.parquet')"],
  ["users", f"SELECT user_id, user_idx, n_events, CAST(first_day AS VARCHAR) f, CAST(last_day AS VARCHAR) l FROM {rp(pre + '/users.parquet')}"],
  ["exp_users", f"""SELECT user_id, user_idx, CAST(count(*) AS INTEGER) n_events, CAST(min(started_at) AS VARCHAR) f,
   CAST(max(started_at) AS VARCHAR) l FROM {rp(pre + '/events.parquet')} GROUP BY ALL ORDER BY user_idx"""],
  ["tracks", f"SELECT CAST(track_id AS BIGINT) track_id, albums, artists, genres FROM {rp(raw + '/tracks.parquet')}"],
  ["cat", f"SELECT CAST(id AS BIGINT) id, type, name FROM {rp(raw + '/catalog_names.parquet')}"],
  ["items", f"SELECT track_id, item_idx, track_group_id, track_name, artist_ids, album_ids, genre_ids, artist_names, genre_names, flags FROM {rp(pre + '/items.parquet')}"],
  ["cc", f"SELECT id, type, name, name_clean FROM {rp(pre + '/tracks_catalog_clean.parquet')}"],
  ["tr", f"SELECT user_id, user_idx, track_id, item_idx, CAST(started_at AS VARCHAR) d FROM {rp(pre + '/train_events.parquet')}"],
  ["te", f"SELECT user_id, user_idx, track_id, item_idx, CAST(started_at AS VARCHAR) d FROM {rp(pre + '/test_events.parquet')}"],
])
expected, ours, users, exp_users = R["expected"], R["ours"], R["users"], R["exp_users"]
tracks, cat, items, cc, tr, te = R["tracks"], R["cat"], R["items"], R["cc"], R["tr"], R["te"]
if ours != expected:
    fail.append(f"events.parquet differs from DuckDB's: ours {ours[:5]} expected {expected[:5]} ({len(ours)} vs {len(expected)} rows)")
schema = {r["name"]: r for r in R["schema"]}
for k, v in {"user_id": "INT32", "user_idx": "INT32", "track_id": "INT64", "item_idx": "INT32", "track_seq": "INT32", "started_at": "INT32"}.items():
    if schema.get(k, {}).get("type") != v: fail.append(f"events.parquet column {k} is {schema.get(k)}, expected {v}")
if schema["started_at"]["converted_type"] != "DATE": fail.append(f"started_at is not a DATE: {schema['started_at']}")
if schema["track_seq"]["converted_type"] != "INT_16": fail.append(f"track_seq is not INT(16): {schema['track_seq']}")
if users != exp_users: fail.append(f"users.parquet {users} != {exp_users}")
if [u["user_idx"] for u in users] != list(range(len(users))): fail.append("users not in user_idx order")

# items, computed in Python from the raw files read by DuckDB
def clean(s):
    s = "".join(c for c in s if c.isprintable() or c.isspace())
    return " ".join(s.split())
names = {}
for r in cat:
    key = (r["type"], r["id"])
    if key not in names or (not names[key] and clean(r["name"])): names[key] = clean(r["name"])
first = {}
for r in tracks:
    first.setdefault(r["track_id"], r)
for idx, tid in enumerate(sorted(first)):
    r, it = first[tid], items[idx]
    genres = [g for g in r["genres"] or [] if ("genre", g) in names]
    flags = (1 if not r["artists"] else 0) | (2 if not genres else 0) | (4 if not r["albums"] else 0) \
            | (8 if not names.get(("track", tid)) else 0) | (16 if len(genres) != len(r["genres"] or []) else 0)
    exp = dict(track_id=tid, item_idx=idx, track_name=names.get(("track", tid), ""), flags=flags,
               artist_ids=r["artists"] or [], album_ids=r["albums"] or [], genre_ids=genres,
               artist_names=[names.get(("artist", a), "") for a in r["artists"] or []],
               genre_names=[names[("genre", g)] for g in genres])
    for k, v in exp.items():
        if it[k] != v: fail.append(f"items.parquet track {tid} {k}: {it[k]!r}, expected {v!r}")
if len(items) != len(first): fail.append(f"{len(items)} items, expected {len(first)}")

# groups (by hand): Teen Spirit 100, its live version 50 (shared artist) and the
# cover 300 (distinctive title, two performers) share one id; "Intro" by
# unrelated artists 75 / 200 do not; dense ids in item order
g = {it["track_id"]: it["track_group_id"] for it in items}
if not (g[100] == g[50] == g[300]): fail.append(f"Teen Spirit versions not grouped: {g}")
if g[75] == g[200]: fail.append(f"unrelated 'Intro' tracks grouped: {g}")
if sorted(set(g.values())) != list(range(len(set(g.values())))): fail.append(f"group ids not dense: {g}")

# catalog: one row per (type, id), cleaned names, folded key
exp_cc = sorted(((t, i), n) for (t, i), n in names.items())
if [((r["type"], r["id"]), r["name"]) for r in cc] != exp_cc: fail.append(f"catalog differs: {cc}")
for r in cc:
    if r["name_clean"] != r["name"].lower(): fail.append(f"name_clean of {r['name']!r} is {r['name_clean']!r}")

# split: leakage, codes, matrices
info = split_info
split = info["split_date"]
if any(r["d"] >= split for r in tr): fail.append("a train event is on or after the split date")
if any(r["d"] < split for r in te): fail.append("a test event is before the split date")
if len(tr) + len(te) != len(ours): fail.append(f"train {len(tr)} + test {len(te)} != events {len(ours)}")
if (len(tr), len(te)) != (info["train_events"], info["test_events"]): fail.append(f"split_info counts {info}")
ucode = {u["user_id"]: u["user_idx"] for u in users}
icode = {it["track_id"]: it["item_idx"] for it in items}
for r in tr + te + ours:
    if ucode[r["user_id"]] != r["user_idx"] or icode[r["track_id"]] != r["item_idx"]:
        fail.append(f"codes disagree: {r}"); break
tu = {r["user_idx"] for r in tr}; su = {r["user_idx"] for r in te}
ti = {r["item_idx"] for r in tr}; si = {r["item_idx"] for r in te}
for k, v in dict(train_users=len(tu), test_users=len(su), users_in_both=len(tu & su), cold_test_users=len(su - tu),
                 items_only_in_test=len(si - ti), users=len(users), items=len(items)).items():
    if info[k] != v: fail.append(f"split_info {k} = {info[k]}, expected {v}")
value = os.environ.get("VALUE", "one")
for name, rows in (("train", tr), ("test", te)):
    m = sp.load_npz(f"{pre}/{name}_matrix.npz")
    r = [x["user_idx"] for x in rows]; c = [x["item_idx"] for x in rows]
    e = sp.csr_matrix((np.ones(len(rows), np.float32), (r, c)), shape=(len(users), len(items)))
    if value == "one": e.data[:] = 1
    if m.shape != e.shape or m.dtype != np.float32 or (m != e).nnz or not m.has_sorted_indices:
        fail.append(f"{name}_matrix.npz {m.shape} {m.dtype} differs from the matrix built from {name}_events.parquet")
for f in fail: print("FAIL", f)
sys.exit(1 if fail else 0)
EOF
}

run_case() { # NAME ID_TYPE TS_TYPE
  local d="$TEST_TMP/$1"
  make_raw "$d" "$2" "$3"
  "$MUSREC_BIN" --workdir "$d" --quiet preprocess
  "$MUSREC_BIN" --workdir "$d" --quiet split --split-date 2022-12-16
  check_dir "$d" || { echo "FAIL in case $1"; exit 1; }
  echo "case $1: ok"
}
run_case int64_ns BIGINT TIMESTAMP_NS
run_case int32_date INTEGER DATE
run_case int64_ms BIGINT TIMESTAMP_MS

# the log records every drop
d="$TEST_TMP/int64_ns"
"$PY" - "$d/logs/logs_preprocess.json" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
f = {}
for l in lines: f.update(l)
want = dict(duplicate_track_id_dropped=1, duplicate_type_id_dropped=1, dangling_genre_ids_dropped=1,
            unknown_track_dropped=1, null_dropped=1, duplicate_user_track_dropped=1, flag_no_artist=1,
            flag_no_genre=2, flag_no_album=1, flag_no_name=1, events=10, users=4, items=7)
bad = {k: (f.get(k), v) for k, v in want.items() if f.get(k) != v}
if bad: print("FAIL log fields (got, want):", bad); sys.exit(1)
EOF

# count values: the same events give the same matrices (no repeated pairs survive preprocess)
"$MUSREC_BIN" --workdir "$d" --quiet split --value count
VALUE=count check_dir "$d"
# decay: values are 2^-(age/half-life) with age from the last day of each part
"$MUSREC_BIN" --workdir "$d" --quiet split --value decay --half-life 10
"$PY" - "$d" <<'EOF'
import json, os, subprocess, sys
import numpy as np, scipy.sparse as sp
wd = sys.argv[1]; pre = f"{wd}/data/preprocessed"
out = subprocess.run(["node", os.environ["ORACLE_DIR"] + "/eval_sql.mjs",
    f"SELECT user_idx, item_idx, CAST(started_at - DATE '1970-01-01' AS INTEGER) d FROM read_parquet('{pre}/train_events.parquet')"],
    capture_output=True, text=True, check=True).stdout
rows = [json.loads(l) for l in out.splitlines()]
ref = max(r["d"] for r in rows)
m = sp.load_npz(f"{pre}/train_matrix.npz").tocoo()
got = {(int(a), int(b)): float(v) for a, b, v in zip(m.row, m.col, m.data)}
for r in rows:
    w = 2.0 ** (-(ref - r["d"]) / 10)
    if abs(got[(r["user_idx"], r["item_idx"])] - w) > 1e-6 * max(1, w):
        print("FAIL decay value", r, got[(r["user_idx"], r["item_idx"])], w); sys.exit(1)
EOF
echo "values: ok"

# bad input: each a clear error naming the file, column or date
expect_err() { # WORKDIR NEEDLE CMD...
  local wd=$1 needle=$2; shift 2
  if "$MUSREC_BIN" --workdir "$wd" --quiet "$@" 2>"$TEST_TMP/err.txt"; then echo "FAIL: '$*' succeeded"; exit 1; fi
  grep -qF -- "$needle" "$TEST_TMP/err.txt" || { echo "FAIL: '$*' error lacks '$needle':"; cat "$TEST_TMP/err.txt"; exit 1; }
}
for i in 1 2 3 4 5 6; do mkdir -p "$TEST_TMP/bad$i/data"; cp -r "$d/data/raw" "$TEST_TMP/bad$i/data/"; done
I="$d/data/raw/interactions.parquet"
$SQL "COPY (SELECT user_id, track_id, track_seq FROM read_parquet('$I')) TO '$TEST_TMP/bad2/data/raw/interactions.parquet' (FORMAT parquet)" \
     "COPY (SELECT user_id, track_id, track_seq, CAST(started_at AS VARCHAR) started_at FROM read_parquet('$I')) TO '$TEST_TMP/bad3/data/raw/interactions.parquet' (FORMAT parquet)" \
     "COPY (SELECT CAST(track_id AS DOUBLE) track_id, albums, artists, genres FROM read_parquet('$d/data/raw/tracks.parquet')) TO '$TEST_TMP/bad4/data/raw/tracks.parquet' (FORMAT parquet)" \
     "COPY (SELECT * FROM read_parquet('$I') LIMIT 0) TO '$TEST_TMP/bad5/data/raw/interactions.parquet' (FORMAT parquet)" \
     "COPY (SELECT user_id, 123456 AS track_id, track_seq, started_at FROM read_parquet('$I')) TO '$TEST_TMP/bad6/data/raw/interactions.parquet' (FORMAT parquet)" >/dev/null
expect_err "$d" "2023-02-01" split --split-date 2023-02-01
expect_err "$d" "test set empty" split --split-date 2023-02-01
expect_err "$d" "train set empty" split --split-date 2021-01-01
expect_err "$d" "2022-13-45" split --split-date 2022-13-45
rm "$TEST_TMP/bad1/data/raw/tracks.parquet"
expect_err "$TEST_TMP/bad1" "data/raw/tracks.parquet does not exist" preprocess
expect_err "$TEST_TMP/bad2" "interactions.parquet" preprocess
expect_err "$TEST_TMP/bad2" "started_at" preprocess
expect_err "$TEST_TMP/bad3" "column started_at is BYTE_ARRAY STRING, expected DATE or TIMESTAMP" preprocess
expect_err "$TEST_TMP/bad4" "column track_id is DOUBLE" preprocess
expect_err "$TEST_TMP/bad5" "interactions.parquet has no rows" preprocess
expect_err "$TEST_TMP/bad6" "none of the" preprocess
for i in 1 2 3 4 5 6; do
  [ ! -e "$TEST_TMP/bad$i/data/preprocessed/events.parquet" ] || { echo "FAIL: a failed preprocess left events.parquet"; exit 1; }
done
expect_err "$TEST_TMP/nothing" "events.parquet does not exist" split
echo "bad input: ok"

# generated data, when the generator is there
if "$MUSREC_BIN" gen --help >/dev/null 2>&1; then
  g="$TEST_TMP/gen"
  "$MUSREC_BIN" --workdir "$g" --quiet gen --scale 0.001
  "$MUSREC_BIN" --workdir "$g" preprocess 2>&1 | grep -E "precision|events encoded" || true
  # a regression guard on the grouping (docs/preprocess.md has the figures
  # per scale; at 0.001 it is about 0.96 / 0.93)
  "$PY" - "$g/logs/logs_preprocess.json" <<'PYEOF'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if "pairwise_precision" in l][-1]
p, r = s["pairwise_precision"], s["pairwise_recall"]
print(f"track groups on generated data: precision {p:.3f}, recall {r:.3f}")
sys.exit(0 if p >= 0.90 and r >= 0.85 else 1)
PYEOF
  "$MUSREC_BIN" --workdir "$g" --quiet split
  "$PY" - "$g" <<'EOF'
import json, os, subprocess, sys
import numpy as np, scipy.sparse as sp
wd = sys.argv[1]; pre = f"{wd}/data/preprocessed"
info = json.load(open(f"{pre}/split_info.json"))
path = f"{wd}/queries.json"
qs = [["nu", f"SELECT count(*) n FROM read_parquet('{pre}/users.parquet')"],
      ["ni", f"SELECT count(*) n FROM read_parquet('{pre}/items.parquet')"],
      ["codes", f"""SELECT count(*) n FROM read_parquet('{pre}/events.parquet') e
   LEFT JOIN read_parquet('{pre}/users.parquet') u ON e.user_idx = u.user_idx
   LEFT JOIN read_parquet('{pre}/items.parquet') i ON e.item_idx = i.item_idx
   WHERE u.user_id IS DISTINCT FROM e.user_id OR i.track_id IS DISTINCT FROM e.track_id"""]]
for name, cmp in (("train", "<"), ("test", ">=")):
    qs.append([name + "_bad", f"SELECT count(*) n FROM read_parquet('{pre}/{name}_events.parquet') WHERE NOT (started_at {cmp} DATE '{info['split_date']}')"])
    qs.append([name, f"SELECT user_idx u, item_idx i FROM read_parquet('{pre}/{name}_events.parquet')"])
json.dump(qs, open(path, "w"))
out = subprocess.run(["node", os.environ["ORACLE_DIR"] + "/prep_sql.mjs", path], capture_output=True, text=True, check=True).stdout
R = json.loads(out)
nu, ni = R["nu"][0]["n"], R["ni"][0]["n"]
fail = []
for name in ("train", "test"):
    if R[name + "_bad"][0]["n"]: fail.append(f"{R[name + '_bad'][0]['n']} {name} events on the wrong side of {info['split_date']}")
    rows = R[name]
    e = sp.csr_matrix((np.ones(len(rows), np.float32), ([r["u"] for r in rows], [r["i"] for r in rows])), shape=(nu, ni))
    e.data[:] = 1
    m = sp.load_npz(f"{pre}/{name}_matrix.npz")
    if m.shape != (nu, ni) or (m != e).nnz: fail.append(f"{name}_matrix.npz differs from {name}_events.parquet")
if R["codes"][0]["n"]: fail.append(f"{R['codes'][0]['n']} events whose codes disagree with users/items")
for f in fail: print("FAIL", f)
print(f"generated: {info['train_events']} train / {info['test_events']} test events, {nu} users, {ni} items")
sys.exit(1 if fail else 0)
EOF
  echo "generated data: ok"
else
  echo "musrec gen not available yet: generated-data part skipped"
fi
echo "prep_split: ok"
