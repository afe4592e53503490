#!/bin/bash
# bench/topk: the top-k engine path by path (fp32 sgemm full scan and norm
# pruning; int8 full and pruned on each kernel the CPU runs: AVX2, AVX-512
# VNNI; similar-all on each path) on the ALS factors of a work directory,
# for a subset of users and items (bench/topk_model.c). Prints seconds,
# pairs per second, the share of pairs rescored exactly, checks the int8
# lists against the fp32 ones and the int8 kernels against each other.
#
#   bench/topk.sh WORKDIR [USERS [ITEMS_FOR_SIMILAR]]     default 6144 50000
#   TRAIN=- bench/topk.sh ...    no exclusions (skips loading the train matrix)
#   TOPK_PATHS=fp32,int8-avx2,int8-avxvnni,int8-vnni   any subset of the paths
#   TOPK_SKIP=recommend,similar,full      skip parts (full: recommend's full scans)
#
# Recommend-all work is users x items: extrapolate linearly to all users
# (minus the int8 set-up, a sort, copy and quantisation of the items, about
# 2-4 s for 1M items). Similar-all grows with the square of the items. The
# machine is shared: timings are noisy. Runs under the big-job lock.
set -eu
cd "$(dirname "$0")/.."
W=${1:-}
if [ -z "$W" ] || [ ! -f "$W/models/als_item_factors.npy" ]; then
  echo "bench/topk: usage bench/topk.sh WORKDIR [USERS [ITEMS]] with WORKDIR/models/als_*_factors.npy (skipped)"
  exit 0
fi
USERS=${2:-6144}
ITEMS=${3:-50000}
THREADS=${THREADS:-2}
TRAIN=${TRAIN:-$W/data/preprocessed/train_matrix.npz}
make -s build/libmusrec.a
cc -O2 -fopenmp -Isrc $(pkg-config --cflags openblas) bench/topk_model.c build/libmusrec.a \
   $(pkg-config --libs openblas libzstd liblz4 snappy zlib libcurl libmicrohttpd libcjson libcrypto) -lxgboost -lm \
   -o build/topk_model
echo "bench/topk: $W, $USERS users, similar over $ITEMS items, $THREADS threads (shared machine: timings are noisy)"
OMP_NUM_THREADS=$THREADS flock /tmp/musrec-big.lock build/topk_model "$W/models/als_user_factors.npy" \
  "$W/models/als_item_factors.npy" "$TRAIN" "$USERS" "$ITEMS"
