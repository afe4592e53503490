#!/bin/bash
# bench/als: ALS fit, recommend-all (top 100 per user) and similar-all (top
# 10 per item), 64 factors, 15 iterations, 2 threads, with peak RSS.
#
#   bench/als.sh             scale 0.1 (about 20M non-zeros)
#   SCALE=1 bench/als.sh     scale 1 (about 209M non-zeros, 1M items): under
#                            flock /tmp/musrec-big.lock; targets fit <= 10 min,
#                            recommend-all <= 10 min, similar-all <= 5 min,
#                            peak RSS <= 12 GB
#   BENCH_WORKDIR=DIR        work directory (default /tmp/musrec-bench-als-SCALE);
#                            put (or symlink) an existing data/preprocessed/
#                            there to skip gen/preprocess/split
#   MUSREC_TOPK=fp32         score with the fp32 sgemm path instead of the
#                            int8 one (both exact; see docs/als.md);
#                            int8-avx2, int8-avxvnni force those int8 kernels
#                            (what AVX2-only and Alder Lake-class CPUs run)
#
# Recommend-all and similar-all report the top-k engine that ran (int8-vnni
# on AVX-512 VNNI CPUs, int8-avxvnni, int8-avx2, fp32) and the share of
# user-item (item-item) pairs it rescored exactly.
#
# Data: the train matrix of `musrec gen --scale S` + preprocess + split when
# those commands exist; otherwise a synthetic power-law matrix of the same
# size (bench/als_synth.c: log-normal row lengths, power-law popularity).
#
# The peer is the CPU ALS of the Python library implicit, which cannot be
# installed here (no PyPI access), so there is no peer figure. As a fair
# reference for the scoring part, numpy's float32 matmul (the same OpenBLAS
# sgemm) of a block of user factors against the item factors gives the
# throughput ceiling of a scan that computes every score and selects
# nothing. The machine is shared with other jobs: timings are noisy.
set -eu
cd "$(dirname "$0")/.."
MUSREC_BIN=${MUSREC_BIN:-$PWD/build/musrec}
SCALE=${SCALE:-0.1}
THREADS=${THREADS:-2}
PY=${PY:-/usr/bin/python3}
LOCK=/tmp/musrec-big.lock
# MUSREC_LOCK_HELD=1: the caller already holds the lock (one flock around
# the whole run, so nothing else runs between fit and similar)
FLOCK="flock $LOCK"; [ -n "${MUSREC_LOCK_HELD:-}" ] && FLOCK=""
case "$SCALE" in
  1|1.0) USERS=1342566; ITEMS=1000000; NNZ=208700000 ;;
  *)     USERS=$(awk "BEGIN{printf \"%d\", 1342566*$SCALE}"); ITEMS=$(awk "BEGIN{printf \"%d\", 1000000*$SCALE}")
         NNZ=$(awk "BEGIN{printf \"%d\", 208700000*$SCALE}") ;;
esac
echo "bench/als: scale $SCALE, 64 factors, 15 iterations, $THREADS threads (shared machine: timings are noisy)"
echo "peer: implicit (Python, CPU ALS) cannot be installed here (no PyPI access): no peer figure"

have_pipeline() { "$MUSREC_BIN" --help 2>/dev/null | grep -q "^  gen " && "$MUSREC_BIN" --help | grep -q "^  split "; }

W=${BENCH_WORKDIR:-/tmp/musrec-bench-als-$SCALE}
M="$MUSREC_BIN --workdir $W --threads $THREADS --quiet"
pipeline=0
if have_pipeline; then
  if [ -f "$W/data/preprocessed/train_matrix.npz" ]; then pipeline=1
  else
    echo "generating scale $SCALE data in $W (once)"
    if $FLOCK sh -c "$M gen --scale $SCALE && $M preprocess && $M split"; then pipeline=1
    else echo "gen/preprocess/split failed: falling back to the synthetic matrix"; fi
  fi
fi
if [ $pipeline = 1 ]; then
  $M npz info "$W/data/preprocessed/train_matrix.npz"
  rm -f "$W/logs/logs_als.json" "$W/logs/logs_similar.json"
  $FLOCK /usr/bin/time -f "%M" -o /tmp/bench-als-rss.$$ $M als --factors 64 --iterations 15
  $FLOCK /usr/bin/time -f "%M" -o /tmp/bench-sim-rss.$$ $M similar --top-n 10
  $PY - "$W/logs/logs_als.json" "$W/logs/logs_similar.json" /tmp/bench-als-rss.$$ /tmp/bench-sim-rss.$$ <<'EOF'
import json, sys
def msgs(p): return [json.loads(l) for l in open(p)]
a = msgs(sys.argv[1]); s = msgs(sys.argv[2])
fit = next(m["seconds"] for m in a if m["msg"] == "fitted")
rec = next(m["seconds"] for m in a if m["msg"] == "recommended")
sc = next((m for m in a if m["msg"] == "scored"), {})
sm = next(m for m in s if m["msg"] == "similar items")
rss_a = int(open(sys.argv[3]).read().split()[-1]) * 1024
rss_s = int(open(sys.argv[4]).read().split()[-1]) * 1024
print(f"fit: {fit:.1f} s")
print(f"recommend-all top-100: {rec:.1f} s (engine {sc.get('engine', '?')}, "
      f"pairs scored {sc.get('fraction', float('nan')):.3f}, rescored exactly {sc.get('rescored_fraction', float('nan')):.2e})")
print(f"similar-all top-10: {sm['seconds']:.1f} s (engine {sm.get('engine', '?')}, "
      f"rescored exactly {sm.get('rescored_fraction', float('nan')):.2e})")
print(f"peak RSS: {max(rss_a, rss_s)/1e9:.2f} GB (als {rss_a/1e9:.2f}, similar {rss_s/1e9:.2f})")
EOF
  rm -f /tmp/bench-als-rss.$$ /tmp/bench-sim-rss.$$
else
  echo "synthetic power-law matrix $USERS x $ITEMS, ~$NNZ non-zeros"
  make -s build/libmusrec.a
  cc -O2 -fopenmp -Isrc $(pkg-config --cflags openblas) bench/als_synth.c build/libmusrec.a \
     $(pkg-config --libs openblas) -lm -o build/als_synth
  full=1; [ "$SCALE" = 1 ] && full=0
  $FLOCK build/als_synth "$USERS" "$ITEMS" "$NNZ" 64 15 "$THREADS" $full
fi

echo "reference: numpy float32 matmul of 4096 users x $ITEMS items x 64 (score everything, select nothing):"
OPENBLAS_NUM_THREADS=$THREADS $PY - "$ITEMS" "$USERS" <<'EOF'
import sys, time, numpy as np
ni = int(sys.argv[1]); nu = int(sys.argv[2]); rng = np.random.default_rng(0)
Y = rng.standard_normal((ni, 64), dtype=np.float32); X = rng.standard_normal((4096, 64), dtype=np.float32)
ts = []
for _ in range(3):
    t = time.perf_counter()
    for i in range(0, ni, 65536): X @ Y[i:i + 65536].T
    ts.append(time.perf_counter() - t)
t = sorted(ts)[1]
r = 4096 * ni / t
print(f"  numpy: {r / 1e9:.2f} G scores/s ({2 * 64 * r / 1e9:.0f} GFLOPS), median of 3")
print(f"  at that rate: all {nu} users x {ni} items {nu * ni / r:.0f} s, all items x items {ni * ni / r:.0f} s "
      f"(half that with the symmetry), before any selection")
EOF
