#!/bin/bash
# Ranking metrics for 1,000,000 users with lists of 100 at K = 5,10,50,100
# over a 1M-item catalog (precision, recall, MAP, NDCG, hit rate, MRR,
# coverage, novelty): musrec's metrics engine (src/eval/metrics.c, OpenMP,
# 2 threads and 1) beside a vectorised numpy implementation of the same
# definitions on the same case (one thread, in chunks of 100k users).
# Target: ≤ 10 s on 2 cores for musrec. The case is synthesised by
# bench/eval_bench.c (generation is not timed). Timings on a shared machine
# are noisy: medians of 3 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
N=${EVAL_BENCH_USERS:-1000000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
make -s build/libmusrec.a
PKGS="openblas libzstd liblz4 snappy zlib libcurl libmicrohttpd libcjson"
cc -O2 -std=gnu11 -fopenmp -Isrc -o "$OUT/eval_bench" bench/eval_bench.c build/libmusrec.a \
  $(pkg-config --libs $PKGS) -lxgboost -lm

run() { # threads -> median seconds
  OMP_NUM_THREADS=$1 flock /tmp/musrec-big.lock "$OUT/eval_bench" "$N" 3 ${2:-} > "$OUT/t$1.jsonl"
  $PY -c "import json,sys,statistics as s; r=[json.loads(l) for l in open('$OUT/t$1.jsonl')]; print('%.3f %s %s' % (s.median(x['seconds'] for x in r), r[0]['ndcg@10'], r[0]['map@100']))"
}
read t2 ndcg map < <(run 2 "$OUT")
read t1 _ _ < <(run 1)

# the numpy peer on the same case
read tn nndcg nmap < <(flock /tmp/musrec-big.lock $PY - "$OUT" "$N" <<'PYEOF'
import sys, time, numpy as np
d, n = sys.argv[1], int(sys.argv[2])
roff = np.fromfile(f"{d}/roff.bin", dtype=np.int64)
rel = np.fromfile(f"{d}/rel.bin", dtype=np.int32)
rec = np.fromfile(f"{d}/rec.bin", dtype=np.int32).reshape(n, 100)
listeners = np.fromfile(f"{d}/listeners.bin", dtype=np.int64)
n_items, train_users, Ks = len(listeners), 1000000, [5, 10, 50, 100]
def once():
    t = time.perf_counter()
    selfinfo = -np.log2(np.maximum(listeners, 1) / train_users)
    disc = 1 / np.log2(np.arange(2, 102))
    idcg = np.concatenate([[0], np.cumsum(disc)])
    sums = {k: np.zeros(7) for k in Ks}
    first = np.full(n_items, 101)
    nr_all = np.diff(roff)
    for a in range(0, n, 100000):
        b = min(n, a + 100000)
        L = rec[a:b]
        nr = nr_all[a:b]
        ru = np.repeat(np.arange(a, b, dtype=np.int64), nr)
        keys = ru * n_items + rel[roff[a]:roff[b]]
        q = np.arange(a, b, dtype=np.int64)[:, None] * n_items + L
        pos = np.searchsorted(keys, q)
        r = keys[np.minimum(pos, len(keys) - 1)] == q
        cum = r.cumsum(1)
        np.minimum.at(first, L.ravel(), np.tile(np.arange(1, 101), b - a))
        for k in Ks:
            h = cum[:, k - 1]
            m = np.minimum(k, nr)
            fh = np.where(r[:, :k].any(1), r[:, :k].argmax(1) + 1, 0)
            sums[k] += [ (h / k).sum(), (h / nr).sum(),
                (((cum[:, :k] / np.arange(1, k + 1)) * r[:, :k]).sum(1) / m).sum(),
                ((r[:, :k] * disc[:k]).sum(1) / idcg[m]).sum(), (h > 0).sum(),
                np.where(fh > 0, 1 / np.maximum(fh, 1), 0).sum(), selfinfo[L[:, :k]].sum() ]
    res = {k: dict(ndcg=sums[k][3] / n, map=sums[k][2] / n, coverage=(first <= k).sum() / n_items) for k in Ks}
    return time.perf_counter() - t, res
times = []
for _ in range(3):
    t, res = once()
    times.append(t)
print("%.3f %.9f %.9f" % (sorted(times)[1], res[10]["ndcg"], res[100]["map"]))
PYEOF
)
echo "eval: metrics of $N users, lists of 100, K = 5,10,50,100, 1M items (median of 3)"
printf "  musrec, 2 threads   %7.3f s   (target <= 10 s)\n" "$t2"
printf "  musrec, 1 thread    %7.3f s\n" "$t1"
printf "  numpy, vectorised   %7.3f s   (musrec 2 threads is %.1fx faster)\n" "$tn" "$($PY -c "print($tn/$t2)")"
echo "  same numbers: ndcg@10 musrec $ndcg numpy $nndcg; map@100 musrec $map numpy $nmap"
