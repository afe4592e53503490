#!/bin/bash
# bench/serve: `musrec serve` under wrk beside nginx serving a static JSON
# file of the same size, on this machine's loopback.
#
#   wrk -c64 -d30s (one thread a core the servers do not use) against GET /recommendations?user_id=U&k=10, U rotating
#   (a Lua script) over a mix of users: warm (a personal list and 3 online
#   events: the full blend), known without events (offline only), and cold
#   (unknown to the pipeline: popular). nginx (Debian nginx-light, started
#   here on another port with its own prefix and config, 2 workers) answers
#   the same request paths with one static file as large as a typical
#   response. Prints req/s and p99 latency of both (median of RUNS runs) and
#   their ratio, then the server's RSS before and after 1M requests.
#
# The work directory: $SERVE_BENCH_WORKDIR if it holds a pipeline's
# artifacts, else a synthetic one built here once (USERS x ITEMS, ALS and
# similar index by musrec itself) and kept in /tmp/musrec-bench-serve.
# wrk, nginx and the server share the machine's cores: figures on a busy or
# shared machine are noisy; they are measurements, not a pass/fail.
set -eu
cd "$(dirname "$0")/.."
MUSREC_BIN=${MUSREC_BIN:-$PWD/build/musrec}
PY=${PY:-/usr/bin/python3}
ORACLE_DIR=$PWD/scripts/oracle
RUNS=${RUNS:-3}
DURATION=${DURATION:-30}
CONNS=${CONNS:-64}
# The load generator needs cores too: on the 2-core target, wrk on one and
# the server on the other. Sharing both cores between wrk's and the server's
# threads measured the scheduler, not the servers (p99 5.0 ms for musrec and
# 6.7 ms for nginx with 2 + 2 threads, against 2.3 and 2.9 ms with 1 + 1 at
# the same req/s). Both servers get the same THREADS.
THREADS=${THREADS:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}
WRK_THREADS=${WRK_THREADS:-$(( $(nproc) - THREADS > 0 ? $(nproc) - THREADS : 1 ))}
USERS=${USERS:-100000}
ITEMS=${ITEMS:-50000}
for tool in wrk nginx curl; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "bench/serve: $tool is not installed (apt-get install wrk nginx-light curl); skipped"; exit 0; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$MUSREC_BIN" ] || { echo "bench/serve: build musrec first (make)"; exit 1; }

W=${SERVE_BENCH_WORKDIR:-}
if [ -z "$W" ] || [ ! -f "$W/data/preprocessed/items.parquet" ]; then
  W=/tmp/musrec-bench-serve/w-$USERS-$ITEMS
  if [ ! -f "$W/.complete" ]; then
    echo "bench/serve: building a synthetic work directory ($USERS users, $ITEMS items) in $W"
    rm -rf "$W"; mkdir -p "$W/data/preprocessed" "$W/results"
    T=$(dirname "$W")
    $PY - "$W" "$T" "$USERS" "$ITEMS" <<'EOF'
import sys, numpy as np, scipy.sparse as sp
W, T, nu, ni = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(5)
pop = 1.0 / np.arange(1, ni + 1) ** 0.8; pop /= pop.sum()
n_per = np.clip(rng.lognormal(3.0, 1.0, nu).astype(int), 1, 2000)   # heavy tail, median ~20
rows = np.repeat(np.arange(nu), n_per); cols = rng.choice(ni, size=len(rows), p=pop)
m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(nu, ni)); m.data[:] = 1
m.sort_indices(); sp.save_npz(W + "/data/preprocessed/train_matrix.npz", m)
with open(T + "/users.csv", "w") as f:
    f.write("user_id,user_idx\n"); f.writelines(f"{u},{u}\n" for u in range(nu))
with open(T + "/items.csv", "w") as f:
    f.write("track_id|item_idx|name|artist\n")
    f.writelines(f"{1000000 + i}|{i}|Track number {i} (remastered)|Artist {i % 5000}\n" for i in range(ni))
cnt = np.asarray((m > 0).sum(axis=0)).ravel(); order = np.lexsort((np.arange(ni), -cnt))[:100]
with open(T + "/popular.csv", "w") as f:
    f.write("rank,track_id,item_idx,listeners,score\n")
    f.writelines(f"{r + 1},{1000000 + i},{i},{cnt[i]},{cnt[i] / nu}\n" for r, i in enumerate(order))
print(f"bench/serve: {m.nnz} train interactions")
EOF
    node "$ORACLE_DIR/eval_sql.mjs" \
      "COPY (SELECT user_id::INTEGER AS user_id, user_idx::INTEGER AS user_idx, 1::INTEGER AS n_events, DATE '2022-01-01' AS first_day, DATE '2022-01-02' AS last_day FROM read_csv('$T/users.csv') ORDER BY user_idx) TO '$W/data/preprocessed/users.parquet' (FORMAT parquet)" \
      "COPY (SELECT track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, item_idx::INTEGER AS track_group_id, name AS track_name, [item_idx::BIGINT % 5000] AS artist_ids, [1::BIGINT] AS album_ids, [2::BIGINT] AS genre_ids, [artist] AS artist_names, ['pop'] AS genre_names, 0::INTEGER AS flags FROM read_csv('$T/items.csv', delim='|', quote='') ORDER BY item_idx) TO '$W/data/preprocessed/items.parquet' (FORMAT parquet)" \
      "COPY (SELECT rank::INTEGER AS rank, track_id::BIGINT AS track_id, item_idx::INTEGER AS item_idx, listeners::BIGINT AS listeners, score::FLOAT AS score FROM read_csv('$T/popular.csv') ORDER BY rank) TO '$W/results/top_popular.parquet' (FORMAT parquet)" >/dev/null
    M="$MUSREC_BIN --quiet --workdir $W"
    flock /tmp/musrec-big.lock $M als --factors 32 --iterations 3 --top-n 50 --prune
    flock /tmp/musrec-big.lock $M similar --top-n 30
    touch "$W/.complete"
  fi
fi
echo "bench/serve: work directory $W"

B=$(mktemp -d /tmp/musrec-bench-serve-run.XXXXXX)
pid=""; npid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$npid" ] && kill -QUIT "$npid" 2>/dev/null || true
  rm -rf "$B"
}
trap cleanup EXIT
$MUSREC_BIN --workdir "$W" --threads "$THREADS" serve --port 0 --port-file "$B/port" --max-users 1000000 2>"$B/serve.log" &
pid=$!
for _ in $(seq 600); do [ -s "$B/port" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
[ -s "$B/port" ] || { echo "bench/serve: the server did not start"; cat "$B/serve.log"; exit 1; }
PORT=$(cat "$B/port")
grep -E 'artifacts loaded|listening' "$B/serve.log" | sed 's/^/  /'

# the user mix: 1/3 warm (personal list + 3 online events), 1/3 with a
# personal list but no events, 1/3 cold (ids the pipeline never saw)
recs=$W/results/recommendations.parquet
[ -f "$recs" ] || recs=$W/results/personal_als.parquet
node "$ORACLE_DIR/eval_sql.mjs" "COPY (SELECT user_id FROM (SELECT DISTINCT user_id FROM '$recs') USING SAMPLE 3000 ROWS (reservoir, 1)) TO '$B/known.csv' (HEADER)" >/dev/null
$PY - "$PORT" "$B/known.csv" "$B/users.lua" <<'EOF'
import sys, http.client, random, json
port, known_csv, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
pop = json.loads((c.request("GET", "/popular?k=100"), c.getresponse().read())[1])["items"]
rnd = random.Random(1)
known = [int(x) for x in open(known_csv).read().split()[1:]]
half = len(known) // 2
warm, plain = known[:half], known[half:]
for u in warm:
    for t in rnd.sample(pop, 3):
        c.request("GET", f"/events/put?user_id={u}&track_id={t['track_id']}"); r = c.getresponse(); r.read()
        assert r.status == 200, r.status
cold = [2 * 10**9 + i for i in range(half)]
ids = [x for trio in zip(warm, plain, cold) for x in trio]
with open(out, "w") as f:
    f.write("local ids = {" + ",".join(map(str, ids)) + "}\n")
EOF
cat >>"$B/users.lua" <<'EOF'
local n = #ids
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/recommendations?user_id=" .. ids[(i % n) + 1] .. "&k=10")
end
EOF
curl -s "http://127.0.0.1:$PORT/recommendations?user_id=$(sed -E 's/local ids = \{([0-9]+),.*/\1/;q' "$B/users.lua")&k=10" >"$B/sample.json"
SIZE=$(stat -c %s "$B/sample.json")
echo "  a warm user's response is $SIZE bytes: $(head -c 160 "$B/sample.json")..."

# nginx: a static file of the same size for every path (readable by the
# workers, which run as nobody when nginx starts as root)
mkdir -p "$B/nginx/logs" "$B/nginx/html"
cp "$B/sample.json" "$B/nginx/html/r.json"
chmod a+rx "$B" "$B/nginx" "$B/nginx/html"
chmod a+r "$B/nginx/html/r.json"
NPORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$B/nginx/nginx.conf" <<EOF
worker_processes $THREADS;
pid $B/nginx/nginx.pid;
error_log $B/nginx/logs/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $B/nginx/tmp_body;
  proxy_temp_path $B/nginx/tmp_proxy;
  fastcgi_temp_path $B/nginx/tmp_fcgi;
  uwsgi_temp_path $B/nginx/tmp_uwsgi;
  scgi_temp_path $B/nginx/tmp_scgi;
  types { application/json json; }
  server {
    listen 127.0.0.1:$NPORT;
    root $B/nginx/html;
    location / { default_type application/json; try_files /r.json =404; }
  }
}
EOF
"$NGINX" -p "$B/nginx" -c "$B/nginx/nginx.conf" 2>"$B/nginx/logs/stderr" &
npid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$NPORT/x" && break; sleep 0.1; done
NSIZE=$(curl -s "http://127.0.0.1:$NPORT/recommendations?user_id=1&k=10" | wc -c)
echo "  nginx on port $NPORT serves $NSIZE bytes"
[ "$NSIZE" = "$SIZE" ] || { echo "bench/serve: nginx does not serve the sample file"; cat "$B/nginx/logs/error.log"; exit 1; }

rss() { awk '/VmRSS/{print $2 * 1024}' /proc/$pid/status; }
total_requests() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^musrec_http_requests_total/{s += $2} END {print s + 0}'; }
# CPU seconds (user + system) of a process and its children threads/processes
cpu_of() { local t=0 p; for p in "$@"; do t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{print t + ($14 + $15) / hz}' /proc/$p/stat 2>/dev/null || echo "$t"); done; echo "$t"; }
nginx_pids() { echo "$npid $(pgrep -P "$npid" | tr '\n' ' ')"; }
# one wrk run -> "req_per_s p99_ms non2xx cpu_us_per_request"
run_wrk() { # SECONDS PORT PIDS...
  local secs=$1 port=$2; shift 2
  local c0; c0=$(cpu_of "$@")
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"$secs"s --latency -s "$B/users.lua" "http://127.0.0.1:$port" >"$B/wrk.out" 2>&1
  local c1; c1=$(cpu_of "$@")
  awk -v cpu="$(echo "$c0 $c1" | awk '{print $2 - $1}')" '
       /requests in/{n=$1} /Requests\/sec/{rps=$2} /^ *99%/{v=$2; u=v; gsub(/[0-9.]/,"",u); sub(/[a-z]+$/,"",v);
       ms = u=="us" ? v/1000 : u=="s" ? v*1000 : v; p99=ms}
       /Non-2xx/{bad=$NF} END {printf "%s %s %s %.1f\n", rps, p99, bad+0, n ? cpu * 1e6 / n : 0}' "$B/wrk.out"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_wrk 3 "$PORT" "$pid" >/dev/null  # warm-up
RSS0=$(rss); N0=$(total_requests)
: >"$B/ours"; : >"$B/theirs"
for r in $(seq "$RUNS"); do
  read -r a b bad cpu_a < <(run_wrk "$DURATION" "$PORT" "$pid"); echo "$a $b $cpu_a" >>"$B/ours"
  [ "$bad" = 0 ] || { echo "bench/serve: $bad non-2xx answers from musrec"; exit 1; }
  read -r c d _ cpu_c < <(run_wrk "$DURATION" "$NPORT" $(nginx_pids)); echo "$c $d $cpu_c" >>"$B/theirs"
  echo "  run $r: musrec $a req/s p99 $b ms ${cpu_a} us CPU/req | nginx $c req/s p99 $d ms ${cpu_c} us CPU/req"
done
ours_rps=$(awk '{print $1}' "$B/ours" | median); ours_p99=$(awk '{print $2}' "$B/ours" | median)
ng_rps=$(awk '{print $1}' "$B/theirs" | median); ng_p99=$(awk '{print $2}' "$B/theirs" | median)
ours_cpu=$(awk '{print $3}' "$B/ours" | median); ng_cpu=$(awk '{print $3}' "$B/theirs" | median)
# RSS: after the warm-up, after the runs above (at least 1M requests), and
# after one more million: the last step shows whether anything leaks
N1=$(total_requests)
while [ $((N1 - N0)) -lt 1000000 ]; do run_wrk 10 "$PORT" "$pid" >/dev/null; N1=$(total_requests); done
RSS1=$(rss)
N2=$N1
while [ $((N2 - N1)) -lt 1000000 ]; do run_wrk 10 "$PORT" "$pid" >/dev/null; N2=$(total_requests); done
RSS2=$(rss)
printf '\n%-34s %12s %10s %14s\n' "GET /recommendations?k=10" "req/s" "p99 ms" "CPU us/req"
printf '%-34s %12.0f %10.2f %14.1f\n' "musrec serve ($THREADS threads)" "$ours_rps" "$ours_p99" "$ours_cpu"
printf '%-34s %12.0f %10.2f %14.1f\n' "nginx static file ($THREADS workers)" "$ng_rps" "$ng_p99" "$ng_cpu"
printf '%-34s %11.0f%%\n' "musrec / nginx" "$(echo "$ours_rps $ng_rps" | awk '{print 100 * $1 / $2}')"
mb() { echo "$1" | awk '{printf "%.1f", $1 / 1048576}'; }
echo "RSS of musrec serve: $(mb "$RSS0") MB after warm-up, $(mb "$RSS1") MB after $((N1 - N0)) requests, $(mb "$RSS2") MB after $((N2 - N1)) more ($(echo "$RSS1 $RSS2" | awk '{printf "%+.2f", ($2 - $1) / 1048576}') MB)"
echo "(wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s, median of $RUNS runs; wrk, nginx and musrec share $(nproc) cores; a shared machine makes these noisy)"
