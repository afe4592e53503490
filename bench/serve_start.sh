#!/bin/bash
# bench/serve_start: how long `musrec serve` takes to load its artifacts and
# how much memory it holds once it listens, beside the time numpy/scipy take
# to read the same train matrix (scipy.sparse.load_npz, the peer for the
# largest part).
#
#   SERVE_BENCH_WORKDIR  a work directory with a pipeline's artifacts
#                        (default /tmp/loadfast-1: scale 1). Only read;
#                        logs/ in it must be writable.
#   RUNS                 start-ups to time (median printed), default 3
#   COLD=1               drop the page cache before each run (needs root;
#                        without it the files come from the page cache, which
#                        is the usual case for a restart or a SIGHUP reload)
#
# Per run: the server is started with --port 0 --port-file, the time from
# exec to the port file (start-up, including listening) is taken, then
# VmRSS and VmHWM (peak) from /proc, then SIGTERM. The per-part seconds and
# RSS come from the server's own log (logs/logs_serve.json, "artifact
# loaded"). Takes /tmp/musrec-big.lock (scale-1 loads need GBs). Timings on a
# shared machine are noisy: these are measurements, not pass/fail.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${SERVE_START_LOCKED:-}" ]; then
  SERVE_START_LOCKED=1 exec flock /tmp/musrec-big.lock "$PWD/bench/serve_start.sh" "$@"
fi
MUSREC_BIN=${MUSREC_BIN:-$PWD/build/musrec}
PY=${PY:-/usr/bin/python3}
W=${SERVE_BENCH_WORKDIR:-/tmp/loadfast-1}
RUNS=${RUNS:-3}
[ -x "$MUSREC_BIN" ] || { echo "bench/serve_start: build musrec first (make)"; exit 1; }
[ -f "$W/data/preprocessed/items.parquet" ] || { echo "bench/serve_start: $W has no pipeline artifacts"; exit 1; }
T=$(mktemp -d /tmp/serve-start.XXXXXX)
trap 'rm -rf "$T"' EXIT

times=() rss=() hwm=()
for r in $(seq 1 "$RUNS"); do
  [ "${COLD:-0}" = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
  rm -f "$T/port"
  t0=$(date +%s.%N)
  "$MUSREC_BIN" --quiet --workdir "$W" serve --port 0 --port-file "$T/port" >"$T/out" 2>&1 &
  pid=$!
  while [ ! -s "$T/port" ]; do
    kill -0 $pid 2>/dev/null || { echo "bench/serve_start: the server exited:"; cat "$T/out"; exit 1; }
    sleep 0.05
  done
  t1=$(date +%s.%N)
  times+=("$(echo "$t1 - $t0" | bc)")
  rss+=("$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)")
  hwm+=("$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)")
  kill -TERM $pid; wait $pid || true
  echo "run $r: start-up ${times[-1]} s, RSS $((rss[-1] / 1024)) MB, peak $((hwm[-1] / 1024)) MB"
done
echo "per part (last run, from logs/logs_serve.json):"
$PY - "$W/logs/logs_serve.json" "$T/npz_secs" <<'EOF'
import sys, json
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
last = max(i for i, d in enumerate(lines) if d.get("msg") == "start")
for d in lines[last:]:
    if d.get("msg") == "artifact loaded":
        print("  %-45s %7.2f s  RSS after %6.0f MB" % ("/".join(d["path"].split("/")[-2:]), d["seconds"], d.get("rss_bytes", 0) / 2**20))
        if d["path"].endswith("train_matrix.npz"): open(sys.argv[2], "w").write("%.3f" % d["seconds"])
EOF
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
MED_T=$(median "${times[@]}"); MED_RSS=$(median "${rss[@]}"); MED_HWM=$(median "${hwm[@]}")
echo "musrec serve start-up: median ${MED_T} s, RSS $((MED_RSS / 1024)) MB, peak $((MED_HWM / 1024)) MB ($RUNS runs, $W)"
npz="$W/data/preprocessed/train_matrix.npz"
if [ -f "$npz" ]; then
  pt=()
  for r in $(seq 1 "$RUNS"); do
    pt+=("$($PY -c 'import sys, time, scipy.sparse as sp
t = time.perf_counter(); m = sp.load_npz(sys.argv[1]); print("%.3f" % (time.perf_counter() - t))' "$npz")")
  done
  pm=$(median "${pt[@]}")
  if [ -s "$T/npz_secs" ]; then
    echo "peer: scipy.sparse.load_npz(train_matrix.npz) median ${pm} s (every member); musrec's train_matrix.npz part $(cat "$T/npz_secs") s (structure and checks, values skipped), ratio $(echo "scale=2; $(cat "$T/npz_secs") / $pm" | bc)"
  fi
fi
