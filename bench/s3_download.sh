#!/bin/bash
# Download throughput from a local S3 server (npm s3rver on 127.0.0.1):
# `musrec download` (three files, 16 + 16 + 224 MiB, in parallel, the big one
# as 4 parallel ranges, MD5 verified against the ETag; and again with one
# stream, one file at a time) beside two peers fetching the same three
# objects one after the other: curl's own SigV4 (`curl --aws-sigv4`) and
# botocore (get_object streamed to a file). Loopback only, so this measures
# client overhead plus s3rver's own speed (node, which is likely the limit);
# on a shared machine timings are noisy: medians of 3 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
M=${MUSREC_BIN:-$PWD/build/musrec}
ORACLE_DIR=$PWD/scripts/oracle
T=$(mktemp -d)
SPID=
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$T"' EXIT
node "$ORACLE_DIR/s3rver_launch.mjs" --dir "$T/srv" --bucket bench --access-key AKBENCH --secret-key SKBENCH >"$T/server.log" 2>&1 &
SPID=$!
for _ in $(seq 200); do grep -q '^ready' "$T/server.log" && break; sleep 0.05; done
PORT=$(grep -o '^ready [0-9]*' "$T/server.log" | cut -d' ' -f2)
export MUSREC_CONFIG=/dev/null S3_ENDPOINT_URL=http://127.0.0.1:$PORT S3_BUCKET_NAME=bench S3_PREFIX=raw
export AWS_ACCESS_KEY_ID=AKBENCH AWS_SECRET_ACCESS_KEY=SKBENCH S3_REGION=us-east-1
mkdir -p "$T/orig"
head -c $((16 << 20)) /dev/urandom >"$T/orig/tracks.parquet"
head -c $((16 << 20)) /dev/urandom >"$T/orig/catalog_names.parquet"
head -c $((224 << 20)) /dev/urandom >"$T/orig/interactions.parquet"
$PY -c "
import botocore.session, os
s3 = botocore.session.get_session().create_client('s3', endpoint_url=os.environ['S3_ENDPOINT_URL'], region_name='us-east-1',
    aws_access_key_id='AKBENCH', aws_secret_access_key='SKBENCH')
for n in ['tracks', 'catalog_names', 'interactions']:
    s3.put_object(Bucket='bench', Key='raw/%s.parquet' % n, Body=open('$T/orig/%s.parquet' % n, 'rb'))
"
BYTES=$(( (16 + 16 + 224) << 20 ))
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
ours=() seqs=() curls=() botos=()
for i in 1 2 3; do
  rm -rf "$T/ws"
  ours+=("$(t "$M" --workdir "$T/ws" --quiet download)")
  rm -rf "$T/ws1"
  seqs+=("$(t env S3_CONCURRENCY=1 S3_DOWNLOAD_SPLIT=0 "$M" --workdir "$T/ws1" --quiet download)")
  curls+=("$(t bash -c "for n in tracks catalog_names interactions; do curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user AKBENCH:SKBENCH -H x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 -o $T/c_\$n \$S3_ENDPOINT_URL/bench/raw/\$n.parquet || exit 1; done")")
  botos+=("$(t $PY -c "
import botocore.session, os, shutil
s3 = botocore.session.get_session().create_client('s3', endpoint_url=os.environ['S3_ENDPOINT_URL'], region_name='us-east-1',
    aws_access_key_id='AKBENCH', aws_secret_access_key='SKBENCH')
for n in ['tracks', 'catalog_names', 'interactions']:
    with open('$T/b_' + n, 'wb') as f:
        shutil.copyfileobj(s3.get_object(Bucket='bench', Key='raw/%s.parquet' % n)['Body'], f, 1 << 20)
")")
done
for f in "$T/ws/data/raw/interactions.parquet" "$T/c_interactions" "$T/b_interactions"; do cmp -s "$f" "$T/orig/interactions.parquet" || { echo "$f differs from the original"; exit 1; }; done
mo=$(printf '%s\n' "${ours[@]}" | median); ms=$(printf '%s\n' "${seqs[@]}" | median); mc=$(printf '%s\n' "${curls[@]}" | median); mb=$(printf '%s\n' "${botos[@]}" | median)
rate() { echo "scale=1; $BYTES / 1048576 / $1" | bc; }
echo "s3 download, 256 MiB in 3 objects from s3rver on loopback (median of 3):"
printf '  %-38s %6.2f s  %6s MiB/s\n' "musrec download (parallel, MD5)" "$mo" "$(rate "$mo")"
printf '  %-38s %6.2f s  %6s MiB/s\n' "musrec, one file at a time, 1 stream" "$ms" "$(rate "$ms")"
printf '  %-38s %6.2f s  %6s MiB/s  (musrec %.2fx)\n' "curl --aws-sigv4 (sequential)" "$mc" "$(rate "$mc")" "$(echo "$mc / $mo" | bc -l)"
printf '  %-38s %6.2f s  %6s MiB/s  (musrec %.2fx)\n' "botocore get_object (sequential)" "$mb" "$(rate "$mb")" "$(echo "$mb / $mo" | bc -l)"
echo "  (a shared machine: noisy; s3rver itself is probably the bottleneck)"
