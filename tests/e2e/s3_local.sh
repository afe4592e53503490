#!/bin/bash
# musrec against a local S3 server (npm s3rver, scripts/oracle/s3rver_launch.mjs)
# on 127.0.0.1, with botocore (Debian python3-botocore) as the independent
# client that seeds the bucket and reads back what musrec uploads:
#  - s3 check / s3 ls; download of the three raw files, sha256 equal to the
#    originals; a second download skips all three (size + ETag); a changed
#    object is fetched again;
#  - the server killed (SIGKILL) in the middle of a throttled 60 MB download:
#    musrec fails clearly, no file at the final path, the .part stays; the
#    server restarted: the next download resumes with Range from the .part
#    and the result has the original sha256;
#  - upload of results/, models/, logs/ with a multipart upload of a 23 MB
#    file: botocore lists the run and reads every file back byte-identical;
#  - wrong bucket, wrong key, unknown access key: one clear sentence each;
#  - the secret key never appears in stderr, logs or `musrec config`.
set -u
command -v node >/dev/null || { echo "node is not installed"; exit 77; }
[ -d "$ORACLE_DIR/node_modules/s3rver" ] || { echo "npm s3rver is not installed (make deps)"; exit 77; }
"$PY" -c 'import botocore' 2>/dev/null || { echo "python3-botocore is not installed"; exit 77; }
T=$TEST_TMP
M=$MUSREC_BIN
SECRET='s3cr3t/Key+With=Odd%Chars'
export MUSREC_CONFIG=/dev/null MUSREC_WORKDIR=$T/ws S3_BUCKET_NAME=musrec-test S3_PREFIX=data/raw-v1
export AWS_ACCESS_KEY_ID=AKMUSRECTEST AWS_SECRET_ACCESS_KEY=$SECRET S3_REGION=us-east-1
export S3_RETRY_BASE_MS=20 S3_RETRY_MAX_MS=200 S3_CONNECT_TIMEOUT_S=2
SPID=
fail() { echo "FAIL: $*"; [ -f "$T/server.log" ] && tail -5 "$T/server.log"; exit 1; }
start_server() { # PORT THROTTLE_BYTES_PER_S
  node "$ORACLE_DIR/s3rver_launch.mjs" --dir "$T/srv" --bucket musrec-test --port "$1" --throttle "$2" \
    --access-key AKMUSRECTEST --secret-key "$SECRET" >>"$T/server.log" 2>&1 &
  SPID=$!
  for _ in $(seq 100); do
    PORT=$(grep -o '^ready [0-9]*' "$T/server.log" | tail -1 | cut -d' ' -f2)
    if [ -n "$PORT" ] && [ "$(grep -c '^ready [0-9]' "$T/server.log")" -ge "$3" ]; then break; fi
    sleep 0.1
  done
  [ "$(grep -c "^ready [0-9]" "$T/server.log")" -ge "$3" ] || fail "s3rver did not start"
  export S3_ENDPOINT_URL=http://127.0.0.1:$PORT
}
stop_server() { [ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=; }
trap stop_server EXIT
boto() { # python snippet with client `s3`
  "$PY" -c "
import botocore.session, hashlib, os, sys
s3 = botocore.session.get_session().create_client('s3', endpoint_url=os.environ['S3_ENDPOINT_URL'],
    region_name='us-east-1', aws_access_key_id='AKMUSRECTEST', aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'])
B = 'musrec-test'
$1"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

start_server 0 0 1
mkdir -p "$T/orig"
"$PY" -c "
import random
r = random.Random(7)
for name, n in [('tracks', 3_000_000), ('catalog_names', 2_000_001), ('interactions', 60_000_000)]:
    open('$T/orig/' + name + '.parquet', 'wb').write(r.randbytes(n))
"
boto "
for n in ['tracks', 'catalog_names', 'interactions']:
    s3.put_object(Bucket=B, Key='data/raw-v1/' + n + '.parquet', Body=open('$T/orig/' + n + '.parquet', 'rb'))
" || fail "botocore could not seed the bucket"

# check and ls
"$M" s3 check >"$T/check.out" 2>>"$T/stderr.log" || fail "s3 check failed: $(cat "$T/check.out")"
grep -q "credentials accepted" "$T/check.out" || fail "s3 check: $(cat "$T/check.out")"
[ "$(grep -c '^raw .*B$' "$T/check.out")" = 3 ] || fail "s3 check does not see the three raw files: $(cat "$T/check.out")"
"$M" s3 ls >"$T/ls.out" 2>>"$T/stderr.log" || fail "s3 ls failed"
[ "$(grep -c 'data/raw-v1/' "$T/ls.out")" = 3 ] || fail "s3 ls: $(cat "$T/ls.out")"
grep -q ' 60000000 .*data/raw-v1/interactions.parquet' "$T/ls.out" || fail "s3 ls sizes: $(cat "$T/ls.out")"

# download, then skip
"$M" download 2>>"$T/stderr.log" || fail "download failed: $(tail -3 "$T/stderr.log")"
for n in tracks catalog_names interactions; do
  [ "$(sha "$T/ws/data/raw/$n.parquet")" = "$(sha "$T/orig/$n.parquet")" ] || fail "$n.parquet differs from the original"
  [ -f "$T/ws/data/raw/.$n.parquet.etag" ] || fail "no ETag sidecar for $n"
  [ ! -e "$T/ws/data/raw/$n.parquet.part" ] || fail "$n.parquet.part left behind"
done
"$M" download 2>"$T/dl2.err" || fail "second download failed"
cat "$T/dl2.err" >>"$T/stderr.log"
[ "$(grep -c 'up to date, skipped' "$T/dl2.err")" = 3 ] || fail "second download did not skip: $(cat "$T/dl2.err")"
grep -q 'bytes_fetched=0' "$T/dl2.err" || fail "second download fetched bytes"

# a changed object is fetched again, the others skipped
head -c 1234567 /dev/urandom >"$T/orig/tracks.parquet"
boto "s3.put_object(Bucket=B, Key='data/raw-v1/tracks.parquet', Body=open('$T/orig/tracks.parquet', 'rb'))"
"$M" download 2>"$T/dl3.err" || fail "download after a change failed"
cat "$T/dl3.err" >>"$T/stderr.log"
grep -q 'downloaded file=tracks.parquet bytes=1234567' "$T/dl3.err" || fail "changed tracks.parquet not fetched: $(cat "$T/dl3.err")"
[ "$(grep -c 'up to date, skipped' "$T/dl3.err")" = 2 ] || fail "unchanged files not skipped"
[ "$(sha "$T/ws/data/raw/tracks.parquet")" = "$(sha "$T/orig/tracks.parquet")" ] || fail "changed tracks.parquet differs"

# kill the server in the middle of a throttled download, restart, resume
rm -f "$T/ws/data/raw/interactions.parquet" "$T/ws/data/raw/.interactions.parquet.etag"
stop_server
start_server "$PORT" 15000000 2 # about 4 s for 60 MB
S3_MAX_ATTEMPTS=2 "$M" download 2>"$T/dl4.err" &
MPID=$!
part=$T/ws/data/raw/interactions.parquet.part
for _ in $(seq 200); do
  [ -f "$part" ] && [ "$(stat -c %s "$part")" -gt 8000000 ] && break
  sleep 0.05
done
psize=$(stat -c %s "$part" 2>/dev/null || echo 0)
[ "$psize" -gt 8000000 ] || fail "the throttled download did not progress ($psize bytes)"
stop_server
wait $MPID && fail "download succeeded although the server was killed"
cat "$T/dl4.err" >>"$T/stderr.log"
grep -q 'interactions.parquet.*\(connection reset\|cannot connect\|closed early\)' "$T/dl4.err" ||
  fail "no clear error after the server died: $(tail -3 "$T/dl4.err")"
[ ! -e "$T/ws/data/raw/interactions.parquet" ] || fail "a partial file is at the final path"
psize=$(stat -c %s "$part")
[ "$psize" -gt 8000000 ] && [ "$psize" -lt 60000000 ] || fail ".part has $psize bytes"
start_server "$PORT" 0 3
"$M" download 2>"$T/dl5.err" || fail "resumed download failed: $(tail -3 "$T/dl5.err")"
cat "$T/dl5.err" >>"$T/stderr.log"
grep -q "resuming download key=data/raw-v1/interactions.parquet from_byte=$psize" "$T/dl5.err" ||
  fail "download did not resume from byte $psize: $(cat "$T/dl5.err")"
grep -q "downloaded file=interactions.parquet bytes=60000000 fetched=$((60000000 - psize)) resumed_from=$psize" "$T/dl5.err" ||
  fail "resume fetched the wrong amount: $(cat "$T/dl5.err")"
[ "$(sha "$T/ws/data/raw/interactions.parquet")" = "$(sha "$T/orig/interactions.parquet")" ] ||
  fail "resumed interactions.parquet differs from the original"
[ ! -e "$part" ] || fail ".part left after completion"

# upload with multipart; botocore reads everything back
mkdir -p "$T/ws/results/sub dir" "$T/ws/models"
echo '{"ndcg": 0.1}' >"$T/ws/results/sub dir/évaluation (v1).json"
: >"$T/ws/results/empty.txt"
head -c 23000000 /dev/urandom >"$T/ws/models/als_model.bin"
echo junk >"$T/ws/results/x.parquet.tmp-ABCDEF"
S3_MULTIPART_THRESHOLD=6000000 S3_PART_SIZE=5242880 "$M" upload --run-id "run 1" >"$T/up.out" 2>>"$T/stderr.log" ||
  fail "upload failed: $(tail -3 "$T/stderr.log")"
grep -qx 's3://musrec-test/data/raw-v1/runs/run 1/' "$T/up.out" || fail "upload printed $(cat "$T/up.out")"
grep -q 'als_model.bin?uploads' "$T/server.log" || fail "no multipart upload was made"
[ "$(grep -c 'als_model.bin?partNumber=' "$T/server.log")" = 5 ] || fail "expected 5 parts"
boto "
import pathlib
root = pathlib.Path('$T/ws')
want = {}
for d in ['results', 'models', 'logs']:
    for p in (root / d).rglob('*'):
        if p.is_file() and '.tmp-' not in p.name:
            want['data/raw-v1/runs/run 1/' + str(p.relative_to(root))] = p
got = {o['Key'] for o in s3.list_objects_v2(Bucket=B, Prefix='data/raw-v1/runs/run 1/')['Contents']}
if set(want) != got:
    sys.exit('listed %s, expected %s' % (sorted(got), sorted(want)))
for k, p in want.items():
    if 'logs_upload' in k or 'logs_main' in k: continue  # appended to after the upload
    body = s3.get_object(Bucket=B, Key=k)['Body'].read()
    if hashlib.sha256(body).hexdigest() != hashlib.sha256(p.read_bytes()).hexdigest():
        sys.exit('%s differs from %s' % (k, p))
print('botocore read back', len(want), 'files')
" || fail "uploaded run does not match"

# clear errors
S3_BUCKET_NAME=no-such-bucket "$M" download 2>"$T/e1.err" && fail "download from a missing bucket succeeded"
grep -q "bucket 'no-such-bucket' does not exist" "$T/e1.err" || fail "missing bucket: $(cat "$T/e1.err")"
S3_PREFIX=not/there "$M" download 2>"$T/e2.err" && fail "download of missing keys succeeded"
grep -q "s3://musrec-test/not/there/tracks.parquet: no such object (NoSuchKey)" "$T/e2.err" || fail "missing key: $(cat "$T/e2.err")"
AWS_ACCESS_KEY_ID=AKWRONG "$M" s3 check >/dev/null 2>"$T/e3.err" && fail "check with an unknown key succeeded"
grep -q "InvalidAccessKeyId); check AWS_ACCESS_KEY_ID" "$T/e3.err" || fail "unknown key: $(cat "$T/e3.err")"
AWS_SECRET_ACCESS_KEY= "$M" download 2>"$T/e4.err" && fail "download without a secret succeeded"
grep -q "AWS_SECRET_ACCESS_KEY is not set" "$T/e4.err" || fail "missing secret: $(cat "$T/e4.err")"
cat "$T"/e*.err >>"$T/stderr.log"

# the secret never shows
"$M" config >"$T/config.out" 2>&1
grep -q '^AWS_SECRET_ACCESS_KEY=\*\*\*\*\*\*\*\*' "$T/config.out" || fail "musrec config does not mask the secret"
if grep -rlF "$SECRET" "$T/stderr.log" "$T/config.out" "$T"/*.out "$T"/*.err "$T/ws/logs"; then
  fail "the secret key appears in the files above"
fi
echo "s3rver: download, skip, change, kill+resume, multipart upload, errors: ok"
