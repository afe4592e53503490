#!/bin/bash
# bench/prep.sh: time and peak RSS of `musrec preprocess` and `musrec split`
# beside DuckDB doing the equivalent work on the same files, in one script.
#
#   bench/prep.sh [SCALE...]          default: 0.1 1
#   RUNS=3 bench/prep.sh 0.1          median of RUNS runs (default 1)
#   BENCH_DIR=/tmp/musrec-bench       where generated data sets live (kept)
#   THREADS=2                         threads for both musrec and DuckDB
#
# DuckDB's "preprocess": dedupe the catalog per (type, id) with trimmed and
# lower-cased names, explode the track lists and join the artist and genre
# names (dropping dangling genre ids), encode users and tracks by dense
# rank, join the events to both codes (dropping unknown tracks), order by
# (user, day, track_seq) and write events, items, users and the clean
# catalog to parquet. Its "split": read events.parquet, write the train and
# test parts and, as the stand-in for the two .npz matrices, the sorted
# distinct (user_idx, item_idx) pairs of each part. musrec does strictly more
# (Unicode folding, track groups, per-drop counts, scipy matrices).
# Scale 1 needs ~10 GB of RAM for each side and runs under
# flock /tmp/musrec-big.lock. The machine is shared: wall times are noisy, so
# user+sys CPU seconds are printed too.
set -eu
cd "$(dirname "$0")/.."
MUSREC=${MUSREC_BIN:-$PWD/build/musrec}
ORACLE=$PWD/scripts/oracle
BENCH_DIR=${BENCH_DIR:-/tmp/musrec-bench}
RUNS=${RUNS:-1}
THREADS=${THREADS:-2}
SCALES=${*:-0.1 1}
[ -x "$MUSREC" ] || { echo "build first: make"; exit 1; }
[ -d "$ORACLE/node_modules/@duckdb" ] || { echo "make deps first (DuckDB for node)"; exit 1; }
"$MUSREC" gen --help >/dev/null 2>&1 || { echo "musrec gen is not available"; exit 1; }

# timed CMD...: prints "wall user+sys maxrss_kb"
timed() {
  local f; f=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$f" "$@" >/dev/null 2>"$f.err" || { cat "$f.err" >&2; rm -f "$f" "$f.err"; return 1; }
  awk '{printf "%.2f %.2f %d\n", $1, $2 + $3, $4}' "$f"
  rm -f "$f" "$f.err"
}
median() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

duck_prep_sql() { # RAW OUT
  local raw=$1 out=$2
  cat <<EOF
[[null, "SET threads=$THREADS"], [null, "SET memory_limit='12GB'"],
 [null, "SET preserve_insertion_order=false"],
 [null, "CREATE TABLE cat AS SELECT id, type, trim(regexp_replace(name, '\\\\s+', ' ', 'g')) AS name, lower(trim(regexp_replace(name, '\\\\s+', ' ', 'g'))) AS name_clean FROM (SELECT *, row_number() OVER (PARTITION BY type, id) rn FROM read_parquet('$raw/catalog_names.parquet')) WHERE rn = 1"],
 [null, "COPY (SELECT * FROM cat ORDER BY type, id) TO '$out/tracks_catalog_clean.parquet' (FORMAT parquet)"],
 [null, "CREATE TABLE tr AS SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY track_id) rn FROM read_parquet('$raw/tracks.parquet')) WHERE rn = 1"],
 [null, "CREATE TABLE items AS SELECT CAST(track_id AS BIGINT) track_id, CAST(row_number() OVER (ORDER BY track_id) - 1 AS INTEGER) item_idx, albums, artists, genres FROM tr"],
 [null, "CREATE TABLE art AS SELECT i.item_idx, list(a.artist ORDER BY a.pos) artist_ids, list(coalesce(c.name, '') ORDER BY a.pos) artist_names FROM items i, LATERAL (SELECT unnest(i.artists) artist, generate_subscripts(i.artists, 1) pos) a LEFT JOIN cat c ON c.type = 'artist' AND c.id = a.artist GROUP BY i.item_idx"],
 [null, "CREATE TABLE gen AS SELECT i.item_idx, list(g.genre ORDER BY g.pos) genre_ids, list(c.name ORDER BY g.pos) genre_names FROM items i, LATERAL (SELECT unnest(i.genres) genre, generate_subscripts(i.genres, 1) pos) g JOIN cat c ON c.type = 'genre' AND c.id = g.genre GROUP BY i.item_idx"],
 [null, "COPY (SELECT i.track_id, i.item_idx, coalesce(t.name, '') track_name, coalesce(a.artist_ids, []) artist_ids, i.albums album_ids, coalesce(g.genre_ids, []) genre_ids, coalesce(a.artist_names, []) artist_names, coalesce(g.genre_names, []) genre_names FROM items i LEFT JOIN art a USING (item_idx) LEFT JOIN gen g USING (item_idx) LEFT JOIN cat t ON t.type = 'track' AND t.id = i.track_id ORDER BY i.item_idx) TO '$out/items.parquet' (FORMAT parquet)"],
 [null, "CREATE TABLE ev AS SELECT i.user_id, it.item_idx, CAST(i.track_id AS BIGINT) track_id, CAST(i.track_seq AS SMALLINT) track_seq, CAST(i.started_at AS DATE) started_at FROM read_parquet('$raw/interactions.parquet') i JOIN items it ON it.track_id = i.track_id"],
 [null, "CREATE TABLE users AS SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) user_idx FROM (SELECT DISTINCT user_id FROM ev)"],
 [null, "COPY (SELECT e.user_id, u.user_idx, e.track_id, e.item_idx, e.track_seq, e.started_at FROM ev e JOIN users u USING (user_id) ORDER BY u.user_idx, e.started_at, e.track_seq) TO '$out/events.parquet' (FORMAT parquet)"],
 [null, "COPY (SELECT u.user_id, u.user_idx, CAST(count(*) AS INTEGER) n_events, min(e.started_at) first_day, max(e.started_at) last_day FROM ev e JOIN users u USING (user_id) GROUP BY ALL ORDER BY u.user_idx) TO '$out/users.parquet' (FORMAT parquet)"]]
EOF
}

duck_split_sql() { # DIR
  local d=$1
  cat <<EOF
[[null, "SET threads=$THREADS"], [null, "SET memory_limit='12GB'"],
 [null, "CREATE TABLE ev AS SELECT * FROM read_parquet('$d/events.parquet')"],
 [null, "COPY (SELECT * FROM ev WHERE started_at < DATE '2022-12-16') TO '$d/train_events.parquet' (FORMAT parquet)"],
 [null, "COPY (SELECT * FROM ev WHERE started_at >= DATE '2022-12-16') TO '$d/test_events.parquet' (FORMAT parquet)"],
 [null, "COPY (SELECT DISTINCT user_idx, item_idx, 1.0::FLOAT v FROM ev WHERE started_at < DATE '2022-12-16' ORDER BY 1, 2) TO '$d/train_pairs.parquet' (FORMAT parquet)"],
 [null, "COPY (SELECT DISTINCT user_idx, item_idx, 1.0::FLOAT v FROM ev WHERE started_at >= DATE '2022-12-16' ORDER BY 1, 2) TO '$d/test_pairs.parquet' (FORMAT parquet)"]]
EOF
}

bench_scale() {
  local scale=$1 wd="$BENCH_DIR/scale-$1"
  if [ ! -s "$wd/data/raw/interactions.parquet" ]; then
    echo "generating scale $scale into $wd ..."
    "$MUSREC" --workdir "$wd" --quiet gen --scale "$scale" --force
  fi
  local duck="$wd/duckdb" mp="" ms="" dp="" ds=""
  mkdir -p "$duck"
  for r in $(seq "$RUNS"); do
    mp+=$(timed "$MUSREC" --workdir "$wd" --threads "$THREADS" --quiet preprocess)$'\n'
    ms+=$(timed "$MUSREC" --workdir "$wd" --threads "$THREADS" --quiet split)$'\n'
    duck_prep_sql "$wd/data/raw" "$duck" > "$duck/prep.json"
    rm -f "$duck"/*.parquet
    dp+=$(timed node "$ORACLE/prep_sql.mjs" "$duck/prep.json")$'\n'
    duck_split_sql "$duck" > "$duck/split.json"
    ds+=$(timed node "$ORACLE/prep_sql.mjs" "$duck/split.json")$'\n'
  done
  local events; events=$(grep -o '"events": [0-9]*' "$wd/data/preprocessed/split_info.json" | grep -o '[0-9]*')
  printf '\nscale %s: %s events, %d thread(s), median of %d run(s)\n' "$scale" "$events" "$THREADS" "$RUNS"
  printf '%-12s %-8s %10s %10s %10s\n' step tool "wall s" "cpu s" "peak RSS"
  for step in preprocess split; do
    local m d
    if [ $step = preprocess ]; then m=$(printf '%s' "$mp" | median); d=$(printf '%s' "$dp" | median)
    else m=$(printf '%s' "$ms" | median); d=$(printf '%s' "$ds" | median); fi
    set -- $m; local mw=$1 mc=$2 mr=$3
    set -- $d; local dw=$1 dc=$2 dr=$3
    printf '%-12s %-8s %10s %10s %7.2f GB\n' $step musrec "$mw" "$mc" "$(echo "$mr / 1048576" | bc -l)"
    printf '%-12s %-8s %10s %10s %7.2f GB\n' $step duckdb "$dw" "$dc" "$(echo "$dr / 1048576" | bc -l)"
    printf '%-12s %-8s %10.2fx wall  %6.2fx cpu (musrec / duckdb)\n' $step ratio "$(echo "$mw / $dw" | bc -l)" "$(echo "$mc / $dc" | bc -l)"
  done
}

for s in $SCALES; do
  if awk "BEGIN {exit !($s >= 0.5)}"; then
    flock /tmp/musrec-big.lock bash -c "$(declare -f timed median duck_prep_sql duck_split_sql bench_scale); MUSREC='$MUSREC' ORACLE='$ORACLE' BENCH_DIR='$BENCH_DIR' RUNS=$RUNS THREADS=$THREADS; bench_scale $s"
  else
    bench_scale "$s"
  fi
done
