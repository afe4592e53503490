#!/bin/bash
# musrec gen at scale 0.01, read back by DuckDB (scripts/oracle/gen_stats.mjs)
# and by our reader (musrec parquet schema/scan): the schema pyarrow writes,
# and every fact of docs/DATASET.md scaled by 0.01, within the tolerances
# below. Also: byte-identical files at 1 and 2 threads, and bad input.
set -u
: "${MUSREC_BIN:?}" "${PY:?}" "${ORACLE_DIR:?}" "${TEST_TMP:?}"
command -v node >/dev/null || { echo "node not installed"; exit 77; }
[ -d "$ORACLE_DIR/node_modules/@duckdb/node-api" ] || { echo "npm oracles not installed (make deps)"; exit 77; }
W=$TEST_TMP/w
fail=0

"$MUSREC_BIN" --workdir "$W" --threads 2 --seed 42 -q gen --scale 0.01 || { echo "gen failed"; exit 1; }
RAW=$W/data/raw
(cd "$ORACLE_DIR" && node gen_stats.mjs "$RAW") > "$TEST_TMP/duck.json" || { echo "DuckDB could not read the files"; exit 1; }
for f in tracks catalog_names interactions _truth/track_groups; do
  "$MUSREC_BIN" parquet scan "$RAW/$f.parquet" > "$TEST_TMP/scan_$(basename $f).json" || { echo "our reader failed on $f"; exit 1; }
  "$MUSREC_BIN" parquet schema "$RAW/$f.parquet" > "$TEST_TMP/schema_$(basename $f).txt" || exit 1
done

"$PY" - "$TEST_TMP" <<'EOF' || fail=1
import json, sys
d = sys.argv[1]
s = json.load(open(f"{d}/duck.json"))
scan = {k: json.load(open(f"{d}/scan_{k}.json")) for k in ["tracks", "catalog_names", "interactions", "track_groups"]}
bad = 0
def check(name, ok, got, want):
    global bad
    print(("ok   " if ok else "FAIL ") + f"{name}: got {got}, want {want}")
    bad += not ok
def near(name, got, want, rel):
    check(name, abs(got - want) <= rel * abs(want), round(got, 4) if isinstance(got, float) else got, f"{want} +-{rel*100:g}%")
def between(name, got, lo, hi):
    check(name, lo <= got <= hi, round(got, 4) if isinstance(got, float) else got, f"[{lo}, {hi}]")
def eq(name, got, want):
    check(name, got == want, got, want)

# --- schema, as pyarrow writes it from pandas (optional fields, 3-level lists)
def cols(f): return [(c["name"], c["type"], c["converted_type"], c["repetition_type"]) for c in s[f"schema:{f}"]]
eq("tracks schema", cols("tracks.parquet"), [
    ("track_id", "INT64", None, "OPTIONAL"),
    ("albums", None, "LIST", "OPTIONAL"), ("list", None, None, "REPEATED"), ("element", "INT64", None, "REQUIRED"),
    ("artists", None, "LIST", "OPTIONAL"), ("list", None, None, "REPEATED"), ("element", "INT64", None, "REQUIRED"),
    ("genres", None, "LIST", "OPTIONAL"), ("list", None, None, "REPEATED"), ("element", "INT64", None, "REQUIRED")])
eq("catalog schema", cols("catalog_names.parquet"), [
    ("id", "INT64", None, "OPTIONAL"), ("type", "BYTE_ARRAY", "UTF8", "OPTIONAL"), ("name", "BYTE_ARRAY", "UTF8", "OPTIONAL")])
eq("interactions schema", cols("interactions.parquet"), [
    ("user_id", "INT32", None, "OPTIONAL"), ("track_id", "INT32", None, "OPTIONAL"),
    ("track_seq", "INT32", "INT_16", "OPTIONAL"), ("started_at", "INT64", None, "OPTIONAL"),
    ("__index_level_0__", "INT64", None, "OPTIONAL")])
ts = [c for c in s["schema:interactions.parquet"] if c["name"] == "started_at"][0]["logical_type"]
check("started_at is TIMESTAMP(NANOS, not UTC)", "NANOS=NanoSeconds" in ts and "isAdjustedToUTC=0" in ts, ts, "TimestampType(NANOS)")
eq("truth schema", cols("_truth/track_groups.parquet"), [("track_id", "INT64", None, "OPTIONAL"), ("true_group", "INT64", None, "OPTIONAL")])
eq("pandas index of interactions", s["pandas_index:interactions.parquet"], ["__index_level_0__"])
eq("pandas metadata present", [s[f"kv:{f}"] for f in ["tracks.parquet", "catalog_names.parquet", "interactions.parquet"]], [["pandas"]] * 3)

# --- tracks (1,000,000 rows; 18 / 15,369 / 3,687 empty lists; 48,345 dangling on 30 ids)
t = s["tracks"]
eq("tracks rows", t["n"], 10000); eq("track ids unique", t["distinct_ids"], 10000); eq("no nulls in tracks", t["nulls"], 0)
eq("min track id", t["min_id"], 26); between("max track id (spread up to ~1e8)", t["max_id"], 9e7, 1.1e8)
eq("empty albums", t["empty_albums"], round(18 * 0.01)); eq("empty artists", t["empty_artists"], round(15369 * 0.01))
eq("empty genres", t["empty_genres"], round(3687 * 0.01))
eq("tracks with dangling genres", s["dangling"]["tracks"], round(48345 * 0.01)); eq("dangling genre ids", s["dangling"]["ids"], 30)
eq("albums and artists all in the catalog", [s["refs"]["unknown_albums"], s["refs"]["unknown_artists"], s["refs"]["tracks_without_name"]], [0, 0, 0])

# --- catalog_names (658,724 / 153,581 / 166 / 1,000,000; 945,118 distinct names at scale 1)
c = s["catalog"]
eq("catalog rows per type", [c["albums"], c["artists"], c["genres"], c["tracks"]], [6587, 1536, 166, 10000])
eq("no nulls in catalog", c["nulls"], 0); eq("id unique within type", c["dup_type_id"], 0)
eq("genre names are lower-case tokens", c["genre_names_not_lower"], 0)
between("distinct name share (0.52 at scale 1, fewer collisions at 0.01)", c["distinct_names"] / c["n"], 0.50, 0.75)
between("Cyrillic names share", c["cyrillic_names"] / c["n"], 0.15, 0.6)

# --- interactions (222,629,898 rows at scale 1)
e = s["events"]
eq("users", e["users"], round(1373221 * 0.01)); eq("user ids 0..", [e["min_user"], e["max_user"]], [0, round(1374582 * 0.01)])
between("events (222.6M x 0.01, +-10%)", e["n"], 2.0e6, 2.45e6)
eq("every track listened to", [e["tracks"], s["popularity"]["unheard"]], [10000, 0])
eq("no duplicate (user, track)", e["distinct_pairs"], e["n"]); eq("no nulls in interactions", e["nulls"], 0)
eq("365 distinct days, all midnight", [e["days"], e["not_midnight"]], [365, 0])
eq("first and last day", [e["first"], e["last"]], ["2022-01-01 00:00:00", "2022-12-31 00:00:00"])
eq("index = track_seq - 1", e["index_not_seq"], 0); eq("unknown tracks in interactions", e["unknown_tracks"], 0)
u = s["per_user"]
eq("track_seq is 1..n per user", u["seq_not_permutation"], 0); eq("index restarts at 0 per user", u["index_not_restarting"], 0)
eq("track_seq follows started_at", s["seq_order"]["violations"], 0)
near("events per user mean (162 = 222.6M/1.373M)", u["mean"], 162, 0.10)
near("events per user median (54)", u["median"], 54, 0.10)
between("events per user max (16,637 at scale 1; capped at half the catalog at 0.01)", u["max"], 3000, 5000)
m = s["months"]
near("November / January volume (32.9M / 2.3M)", m[10] / m[0], 14.3, 0.2)
near("December / November volume (30.2M / 32.9M)", m[11] / m[10], 0.918, 0.08)
check("volume rises every month to November", all(m[i] < m[i + 1] for i in range(10)), m, "increasing")
sp = s["split"]
near("test events share after 2022-12-16 (13.9M / 222.6M)", sp["test_events"] / e["n"], 0.0624, 0.2)
near("train users share (1,342,566 / 1,373,221)", sp["train_users"] / e["users"], 0.978, 0.03)
near("test users share (783,525 / 1,373,221)", sp["test_users"] / e["users"], 0.571, 0.15)
between("cold test users share (30,655 / 1,373,221 = 0.022)", sp["cold_users"] / e["users"], 0.002, 0.03)
p = s["popularity"]
between("top track listeners share (0.081 at scale 1; higher in a small catalog)", p["top"] / e["users"], 0.04, 0.4)
check("heavy-tailed popularity: top > 10 x median", p["top"] > 10 * p["median"], [p["top"], p["median"]], "top > 10 median")
between("same artist on consecutive same-day events (sessions)", s["sessions"]["same_artist_next"], 0.15, 0.8)

# --- versions of one song and the truth
g = s["truth"]; ti = s["titles"]
eq("truth rows, all known tracks", [g["n"], g["unknown_tracks"], g["group_not_a_track"]], [10000, 0, 0])
between("share of tracks that are versions", ti["versions"] / g["n"], 0.02, 0.08)
check("each kind of version is named as catalogs do", min(ti["remix"], ti["live"], ti["acoustic"], ti["feat"]) > 0,
      {k: ti[k] for k in ["remix", "live", "acoustic", "feat", "radio_edit", "same_title"]}, "all > 0")
check("covers and re-releases share the exact title", ti["same_title"] > 0, ti["same_title"], "> 0")
check("one title, several songs (grouping by title alone is wrong)", ti["titles_shared_by_groups"] > 50, ti["titles_shared_by_groups"], "> 50")

# --- our reader reads the same data as DuckDB
def col(f, name): return [x for x in scan[f]["columns"] if x["name"] == name][0]
eq("our reader: interactions rows", scan["interactions"]["rows"], e["n"])
eq("our reader: sums of user_id, track_id, track_seq, index",
   [col("interactions", n)["sum"] for n in ["user_id", "track_id", "track_seq", "__index_level_0__"]],
   [e["sum_user"], e["sum_track"], e["sum_seq"], e["sum_index"]])
ts_sum = int(e["sum_ts_mod64"]); ts_sum = ts_sum - (1 << 64) if ts_sum >= (1 << 63) else ts_sum
eq("our reader: started_at sum (mod 2^64)", col("interactions", "started_at")["sum"], ts_sum)
eq("our reader: tracks rows and track_id sum", [scan["tracks"]["rows"], col("tracks", "track_id")["sum"]], [t["n"], t["sum_id"]])
eq("our reader: catalog rows", scan["catalog_names"]["rows"], c["n"])
eq("our reader: no nulls", sum(x["nulls"] for f in scan for x in scan[f]["columns"]), 0)
sys.exit(1 if bad else 0)
EOF
grep -q "track_seq: INT32 INT(16, signed)" "$TEST_TMP/schema_interactions.txt" || { echo "FAIL our reader: track_seq is not INT(16)"; fail=1; }
grep -q "started_at: INT64 TIMESTAMP(NANOS, utc=0)" "$TEST_TMP/schema_interactions.txt" || { echo "FAIL our reader: started_at is not TIMESTAMP(NANOS)"; fail=1; }

# --- the same seed gives byte-identical files at 1 and 2 threads
"$MUSREC_BIN" --workdir "$TEST_TMP/w1" --threads 1 --seed 42 -q gen --scale 0.01 --row-group-rows 300000 || fail=1
"$MUSREC_BIN" --threads 2 --seed 42 -q gen --scale 0.01 --row-group-rows 300000 --out "$TEST_TMP/w2raw" || fail=1
for f in tracks.parquet catalog_names.parquet interactions.parquet _truth/track_groups.parquet; do
  cmp -s "$TEST_TMP/w1/data/raw/$f" "$TEST_TMP/w2raw/$f" && echo "ok   identical at 1 and 2 threads: $f" \
    || { echo "FAIL $f differs between 1 and 2 threads"; fail=1; }
done
cmp -s "$RAW/tracks.parquet" "$TEST_TMP/w1/data/raw/tracks.parquet" && cmp -s "$RAW/catalog_names.parquet" "$TEST_TMP/w1/data/raw/catalog_names.parquet" \
  || { echo "FAIL catalog differs between two runs with seed 42"; fail=1; }
"$MUSREC_BIN" --threads 2 --seed 43 -q gen --scale 0.01 --out "$TEST_TMP/w3raw" || fail=1
cmp -s "$RAW/interactions.parquet" "$TEST_TMP/w3raw/interactions.parquet" && { echo "FAIL seed 43 gave the same events"; fail=1; }

# --- bad input: one clear error each, nothing written
expect() { # expect CODE PATTERN cmd...
  local code=$1 pat=$2; shift 2
  local out; out=$("$@" 2>&1); local rc=$?
  if [ $rc = "$code" ] && grep -q -- "$pat" <<<"$out"; then echo "ok   rc $rc: $(head -1 <<<"$out")"
  else echo "FAIL expected rc $code and '$pat', got rc $rc: $out"; fail=1; fi
}
expect 2 "expected a number, got 'abc'" "$MUSREC_BIN" --workdir "$TEST_TMP/b" gen --scale abc
expect 2 "between 0.001 and 10" "$MUSREC_BIN" --workdir "$TEST_TMP/b" gen --scale 0
expect 2 "got -2" "$MUSREC_BIN" --workdir "$TEST_TMP/b" gen --scale -2
expect 2 "between 0.001 and 10" "$MUSREC_BIN" --workdir "$TEST_TMP/b" gen --scale nan
[ -e "$TEST_TMP/b/data" ] && { echo "FAIL bad --scale created data/"; fail=1; }
expect 1 "pass --force to overwrite" "$MUSREC_BIN" --workdir "$W" -q gen --scale 0.001
[ "$(cd "$ORACLE_DIR" && node eval_sql.mjs "SELECT count(*) AS n FROM '$RAW/tracks.parquet'")" = '{"n":10000}' ] \
  || { echo "FAIL refused run touched tracks.parquet"; fail=1; }
mkdir -p "$TEST_TMP/ro" && chmod 555 "$TEST_TMP/ro"
if [ "$(id -u)" != 0 ]; then expect 1 "ro" "$MUSREC_BIN" -q gen --scale 0.001 --out "$TEST_TMP/ro/raw"; fi
expect 1 "/proc/nope" "$MUSREC_BIN" -q --workdir "$TEST_TMP/b2" gen --scale 0.001 --out /proc/nope/raw
"$MUSREC_BIN" --workdir "$W" -q gen --scale 0.001 --force || { echo "FAIL --force"; fail=1; }
[ "$(cd "$ORACLE_DIR" && node eval_sql.mjs "SELECT count(*) AS n FROM '$RAW/tracks.parquet'")" = '{"n":1000}' ] \
  || { echo "FAIL --force did not replace tracks.parquet"; fail=1; }
ls -A "$RAW" | grep -q gen-tmp && { echo "FAIL staging directory left behind"; fail=1; }
# a disk too small: a 4 MB tmpfs in a private mount namespace (where allowed)
mkdir -p "$TEST_TMP/small"
if unshare -m true 2>/dev/null; then
  out=$(unshare -m sh -c "mount -t tmpfs -o size=4m tmpfs '$TEST_TMP/small' || exit 77
    '$MUSREC_BIN' -q --workdir '$TEST_TMP/b3' gen --scale 0.01 --out '$TEST_TMP/small/raw'; echo rc=\$?
    echo files=\$(ls -A '$TEST_TMP/small/raw' 2>/dev/null | wc -l)" 2>&1); urc=$?
  if [ $urc = 77 ]; then echo "skip full disk: cannot mount a tmpfs here"
  elif grep -q "not enough disk space.*needs about" <<<"$out" && grep -q "rc=1" <<<"$out" && grep -q "files=0" <<<"$out"; then
    echo "ok   full disk: $(head -1 <<<"$out")"
  else echo "FAIL full disk: $out"; fail=1; fi
else
  echo "skip full disk: no private mount namespace here"
fi
exit $fail
