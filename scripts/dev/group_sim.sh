#!/bin/bash
# Builds and runs scripts/dev/group_sim.c (see its header): group_sim.sh SCALE [SEED] [STRIDE] [OUT.tsv]
set -e
cd "$(dirname "$0")/../.."
make -s build/musrec
PKGS="openblas libzstd liblz4 snappy zlib libcurl libmicrohttpd libcjson libcrypto"
if [ ! build/group_sim -nt scripts/dev/group_sim.c ] || [ build/libmusrec.a -nt build/group_sim ]; then
  cc -O2 -g -std=gnu11 -Wall -Wextra -fopenmp -Isrc -o build/group_sim scripts/dev/group_sim.c build/libmusrec.a \
    $(pkg-config --libs $PKGS) -lxgboost -lm
fi
exec build/group_sim "$@"
