#!/bin/bash
# Retries and failure messages against a fault-injecting S3 lookalike
# (tests/e2e/s3_fault_server.py, Python stdlib): 500s, 503 SlowDown and
# connection resets in the middle of a body are retried (the server's log
# counts the attempts) and the download completes byte-identical, resuming
# after a reset with Range; permanent faults end in one clear sentence after
# S3_MAX_ATTEMPTS attempts with no file at the final path; a multipart upload
# survives faulty parts and is aborted when a part keeps failing; 403/404
# answers and clock skew map to their own sentences; an object replaced in
# the middle of a download (If-Match -> 412) is fetched again from the start;
# bytes whose MD5 differs from the ETag are rejected.
# sanitize: yes
set -u
T=$TEST_TMP
M=$MUSREC_BIN
HERE=$(cd "$(dirname "$0")" && pwd)
export MUSREC_CONFIG=/dev/null S3_BUCKET_NAME=faulty S3_PREFIX=data/raw S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKFAULT AWS_SECRET_ACCESS_KEY='fault-secret-XYZ' S3_ADDRESSING=path
export S3_RETRY_BASE_MS=5 S3_RETRY_MAX_MS=50 S3_MAX_ATTEMPTS=4 S3_CONNECT_TIMEOUT_S=2 S3_STALL_TIMEOUT_S=5
SPID=
n=0
fail() { echo "FAIL ($CASE): $*"; [ -f "$LOG" ] && tail -8 "$LOG"; exit 1; }
stop() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=; }
trap stop EXIT
server() { # CASE FAULT COUNT METHODS: a new scenario on the one fault server
  CASE=$1
  n=$((n + 1))
  LOG=$T/server-$n.log
  export MUSREC_WORKDIR=$T/ws-$n
  if [ -z "$SPID" ]; then
    "$PY" "$HERE/s3_fault_server.py" "$T/server.log" >"$T/ready" 2>"$T/server.err" &
    SPID=$!
    for _ in $(seq 200); do grep -q '^ready' "$T/ready" && break; sleep 0.05; done
    PORT=$(cut -d' ' -f2 "$T/ready")
    [ -n "$PORT" ] || fail "fault server did not start: $(cat "$T/server.err")"
    export S3_ENDPOINT_URL=http://127.0.0.1:$PORT
  fi
  curl -sf -X POST "http://127.0.0.1:$PORT/__scenario?fault=$2&count=$3&methods=${4:-GET,HEAD,PUT,POST,DELETE}" ||
    fail "cannot set the scenario"
  : >"$T/server.log"
  ln -sf "$T/server.log" "$LOG"
}
# sha256 of the bytes the server makes for each key (and of the replaced tracks object)
"$PY" -c "import random, hashlib
for k, n in [('tracks', 300000), ('catalog_names', 200001), ('interactions', 2000000)]:
    key = 'data/raw/%s.parquet' % k
    print(k, hashlib.sha256(random.Random(key).randbytes(n)).hexdigest())
    print(k + '-v2', hashlib.sha256(random.Random(key + 'v2').randbytes(n + 17)).hexdigest())
" >"$T/expected.sha"
expected_sha() { grep "^$1 " "$T/expected.sha" | cut -d' ' -f2; }
check_files() {
  for f in tracks catalog_names interactions; do
    [ "$(sha256sum "$MUSREC_WORKDIR/data/raw/$f.parquet" | cut -d' ' -f1)" = "$(expected_sha $f)" ] ||
      fail "$f.parquet differs from the served bytes"
  done
}
count() { grep -c "$1" "$LOG"; }

# 1. two 500s, then success
server "500 x2" 500 2 GET
"$M" download 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
check_files
[ "$(count ' 500 ')" = 2 ] || fail "expected 2 answers 500"
grep -q 'retries=2' "$T/err" || fail "musrec did not count 2 retries: $(grep done "$T/err")"
[ "$(grep -c 'retrying.*cause="\?HTTP 500 InternalError' "$T/err")" = 2 ] || fail "retries not logged: $(cat "$T/err")"

# 2. three 503 SlowDown on every kind of request, then success
server "503 SlowDown x3" 503 3
"$M" download 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
check_files
[ "$(count ' 503 ')" = 3 ] || fail "expected 3 answers 503"
[ "$(grep -c 'retrying.*HTTP 503' "$T/err")" = 3 ] || fail "503s not named in the retry log"

# 3. connection reset in the middle of two bodies: resumed with Range from where it broke
server "reset x2" reset 2 GET
"$M" download --concurrency 1 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
check_files
[ "$(count ' reset ')" = 2 ] || fail "expected 2 resets"
# (a reset may drop bytes in flight, so the exact offsets vary)
grep -Eq 'GET /faulty/data/raw/tracks.parquet reset range=bytes=[1-9][0-9]*-' "$LOG" && grep -Eq 'GET /faulty/data/raw/tracks.parquet 206 range=bytes=[1-9][0-9]*-' "$LOG" ||
  fail "the retries after resets did not resume past byte 0"
grep -q 'connection reset or closed early' "$T/err" || fail "the reset is not named: $(cat "$T/err")"

# 4. permanent 503: a clear error after S3_MAX_ATTEMPTS, nothing at the final path
server "permanent 503" 503 -1 GET
"$M" download 2>"$T/err" && fail "download succeeded against a failing server"
grep -q 'failed after 4 attempts: HTTP 503 SlowDown' "$T/err" || fail "no clear final error: $(tail -2 "$T/err")"
[ "$(grep -c 'GET /faulty/data/raw/tracks.parquet ' "$LOG")" = 4 ] || fail "expected exactly 4 attempts for tracks.parquet"
ls "$MUSREC_WORKDIR/data/raw/"*.parquet 2>/dev/null && fail "a file exists at a final path"

# 5. permanent resets: same, a partial file stays only as .part
server "permanent reset" reset -1 GET
"$M" download 2>"$T/err" && fail "download succeeded against a resetting server"
grep -q 'failed after 4 attempts: connection reset or closed early' "$T/err" || fail "no clear final error: $(tail -2 "$T/err")"
ls "$MUSREC_WORKDIR/data/raw/"*.parquet 2>/dev/null && fail "a file exists at a final path"
[ -s "$MUSREC_WORKDIR/data/raw/interactions.parquet.part" ] || fail "no .part kept for a later resume"
# that one-stream .part is picked up by a download in parallel ranges
have=$(stat -c %s "$MUSREC_WORKDIR/data/raw/interactions.parquet.part")
ws=$MUSREC_WORKDIR
server "one-stream .part resumed as ranges" none 0
export MUSREC_WORKDIR=$ws
S3_DOWNLOAD_SPLIT=1000000 "$M" download --concurrency 4 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
grep -q "resuming download key=data/raw/interactions.parquet from_byte=$have bytes=2000000 ranges=4" "$T/err" ||
  fail "the .part of $have bytes was not resumed as ranges: $(grep interactions "$T/err")"
check_files

# 6. the object changes between HEAD and GET: If-Match fails, download restarts and gets the new bytes
server "object changed" changed 1 GET
mkdir -p "$MUSREC_WORKDIR/data/raw"
"$M" download --concurrency 1 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
grep -q 'object changed, restarting the download' "$T/err" || fail "no restart after a change: $(cat "$T/err")"
[ "$(count ' 412 ')" = 1 ] || fail "expected one 412 Precondition Failed"
[ "$(sha256sum "$MUSREC_WORKDIR/data/raw/tracks.parquet" | cut -d' ' -f1)" = "$(expected_sha tracks-v2)" ] ||
  fail "tracks.parquet is not the replaced object"

# 6b. bytes that do not match the ETag (MD5) never reach the final path
server "corrupt body" corrupt 1 GET
"$M" download --concurrency 1 2>"$T/err" && fail "a corrupt download succeeded"
grep -q "GET s3://faulty/data/raw/tracks.parquet: the downloaded bytes have MD5 [0-9a-f]* but the ETag is [0-9a-f]*; removed the partial file" "$T/err" ||
  fail "corruption not reported: $(tail -2 "$T/err")"
[ ! -e "$MUSREC_WORKDIR/data/raw/tracks.parquet" ] && [ ! -e "$MUSREC_WORKDIR/data/raw/tracks.parquet.part" ] ||
  fail "corrupt bytes were kept"
"$M" download 2>"$T/err" || fail "the download after a corrupt one failed: $(tail -2 "$T/err")"
check_files

# 6c. big objects as parallel ranges (S3_DOWNLOAD_SPLIT): interactions.parquet
# (2,000,000 bytes) in 4 ranges of 500,000, through resets
server "ranges with resets" reset 3 GET
S3_DOWNLOAD_SPLIT=1000000 "$M" download --concurrency 4 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
check_files
for a in 0 500000 1000000 1500000; do
  grep -Eq "GET /faulty/data/raw/interactions.parquet (206|reset) range=bytes=$a-$((a + 499999))" "$LOG" ||
    fail "no range request starting at $a"
done
[ "$(count ' reset ')" = 3 ] || fail "expected 3 resets"
# permanent failure with ranges: the state of every range is kept, and resumed later
server "ranges, permanent reset" reset -1 GET
S3_DOWNLOAD_SPLIT=1000000 "$M" download --concurrency 4 2>"$T/err" && fail "download succeeded against a resetting server"
[ ! -e "$MUSREC_WORKDIR/data/raw/interactions.parquet" ] || fail "a file exists at the final path"
grep -c '^seg ' "$MUSREC_WORKDIR/data/raw/.interactions.parquet.part.etag" | grep -qx 4 || fail "no range state kept"
done_before=$(awk '/^seg /{s += $4} END {print s + 0}' "$MUSREC_WORKDIR/data/raw/.interactions.parquet.part.etag")
[ "$done_before" -gt 0 ] || fail "no bytes recorded in the range state"
ws=$MUSREC_WORKDIR
server "ranges, resumed" none 0
export MUSREC_WORKDIR=$ws
S3_DOWNLOAD_SPLIT=1000000 "$M" download --concurrency 4 2>"$T/err" || fail "resumed ranged download failed: $(tail -2 "$T/err")"
grep -q "resuming download key=data/raw/interactions.parquet from_byte=$done_before bytes=2000000 ranges=4" "$T/err" ||
  fail "ranges not resumed from $done_before: $(grep interactions "$T/err")"
check_files
[ ! -e "$MUSREC_WORKDIR/data/raw/.interactions.parquet.part.etag" ] || fail "range state left after completion"
# a server that ignores Range: one stream instead
server "no Range support" norange -1 GET
S3_DOWNLOAD_SPLIT=1000000 "$M" download --concurrency 4 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
grep -q 'the server ignores Range requests; downloading as one stream' "$T/err" || fail "no fallback: $(cat "$T/err")"
check_files
# the object changes under the ranges: restart, new bytes
server "ranges, object changed" changed 1 GET
mkdir -p "$MUSREC_WORKDIR/data/raw"
S3_DOWNLOAD_SPLIT=100000 "$M" download --concurrency 4 2>"$T/err" || fail "download failed: $(tail -2 "$T/err")"
grep -q 'object changed, restarting the download' "$T/err" || fail "no restart after a change: $(cat "$T/err")"
# whichever file's range got the fault was replaced
f=$(grep ' reset ' "$LOG" | sed -E 's|.*/data/raw/([a-z_]*)\.parquet.*|\1|')
[ -n "$f" ] && [ "$(count ' 412 ')" -ge 1 ] || fail "no replaced object / no 412"
[ "$(sha256sum "$MUSREC_WORKDIR/data/raw/$f.parquet" | cut -d' ' -f1)" = "$(expected_sha $f-v2)" ] ||
  fail "$f.parquet is not the replaced object"

# 7. uploads: a multipart upload through faulty parts, then a part that keeps failing is aborted
server "upload with faults" 500 3 PUT,POST
mkdir -p "$MUSREC_WORKDIR/models" "$MUSREC_WORKDIR/results"
"$PY" -c "import random; open('$MUSREC_WORKDIR/models/m.bin', 'wb').write(random.Random(1).randbytes(12_000_000))"
echo '{"a": 1}' >"$MUSREC_WORKDIR/results/r.json"
S3_MULTIPART_THRESHOLD=5242880 S3_PART_SIZE=5242880 "$M" upload --run-id r1 >/dev/null 2>"$T/err" ||
  fail "upload failed: $(tail -2 "$T/err")"
want=$(sha256sum "$MUSREC_WORKDIR/models/m.bin" | cut -d' ' -f1)
grep -q "stored data/raw/runs/r1/models/m.bin sha256=$want parts=3" "$LOG" || fail "the multipart object is not the file"
[ "$(count ' 500 ')" = 3 ] || fail "expected 3 faults"
server "upload, permanent fault" 500 -1 PUT
mkdir -p "$MUSREC_WORKDIR/models"
"$PY" -c "import random; open('$MUSREC_WORKDIR/models/m.bin', 'wb').write(random.Random(1).randbytes(12_000_000))"
S3_MULTIPART_THRESHOLD=5242880 S3_PART_SIZE=5242880 "$M" upload --run-id r2 >/dev/null 2>"$T/err" &&
  fail "upload succeeded against a failing server"
grep -q 'UploadPart s3://faulty/data/raw/runs/r2/models/m.bin part 1/3 failed after 4 attempts: HTTP 500 InternalError' "$T/err" ||
  fail "no clear upload error: $(tail -3 "$T/err")"
grep -q '^DELETE /faulty/data/raw/runs/r2/models/m.bin?uploadId=' "$LOG" || fail "the multipart upload was not aborted"

# 8. one clear sentence per kind of refusal
server "InvalidAccessKeyId" key -1
"$M" s3 check >/dev/null 2>"$T/err" && fail "check succeeded"
grep -q 'does not know this access key (HTTP 403 InvalidAccessKeyId); check AWS_ACCESS_KEY_ID' "$T/err" || fail "$(cat "$T/err")"
server "SignatureDoesNotMatch" sig -1
"$M" s3 check >/dev/null 2>"$T/err" && fail "check succeeded"
grep -q 'signature does not match (HTTP 403 SignatureDoesNotMatch); check AWS_SECRET_ACCESS_KEY' "$T/err" || fail "$(cat "$T/err")"
server "RequestTimeTooSkewed" skew -1
"$M" download 2>"$T/err" && fail "download succeeded"
grep -Eq "clock is 3[56][0-9]{2} s behind the server's \(RequestTimeTooSkewed\)" "$T/err" || fail "$(cat "$T/err")"
server "NoSuchBucket" bucket -1
"$M" s3 check >/dev/null 2>"$T/err" && fail "check succeeded"
grep -q "bucket 'faulty' does not exist" "$T/err" || fail "$(cat "$T/err")"
CASE="DNS"
S3_ENDPOINT_URL=http://no-such-host.invalid "$M" s3 check >/dev/null 2>"$T/err" && fail "check succeeded"
grep -q 'cannot resolve the host of http://no-such-host.invalid (DNS' "$T/err" || fail "$(cat "$T/err")"
CASE="TLS"
S3_ENDPOINT_URL=https://127.0.0.1:$PORT S3_MAX_ATTEMPTS=1 "$M" s3 check >/dev/null 2>"$T/err" && fail "check succeeded"
grep -q 'TLS with https://127.0.0.1:[0-9]* failed' "$T/err" || fail "$(cat "$T/err")"

# 9. listings follow continuation tokens (pages of 2) and decode XML entities
server "listing" none 0
"$M" upload --run-id 'a&b<c>' >/dev/null 2>"$T/err" || fail "upload (of logs/ only) failed"
"$PY" - "$PORT" <<'PYEOF' || fail "could not add keys"
import sys, urllib.request
for k in ["odd/a&b<c>'d\"e.json", "odd/r\u00e9sum\u00e9 \u0442\u0440\u0435\u043a.txt"]:
    req = urllib.request.Request("http://127.0.0.1:%s/faulty/%s" % (sys.argv[1], urllib.request.quote(k)), data=b"x", method="PUT",
                                 headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"})
    urllib.request.urlopen(req).read()
PYEOF
"$M" s3 ls "" >"$T/ls.out" 2>"$T/err" || fail "s3 ls failed: $(cat "$T/err")"
[ "$(wc -l <"$T/ls.out")" = 6 ] || fail "s3 ls did not follow the pages: $(cat "$T/ls.out")"
grep -q "odd/a&b<c>'d\"e.json\$" "$T/ls.out" || fail "entities not decoded: $(cat "$T/ls.out")"
grep -q 'odd/résumé трек.txt$' "$T/ls.out" || fail "UTF-8 key not listed: $(cat "$T/ls.out")"
[ "$(grep -c 'GET /faulty?' "$LOG")" = 3 ] || fail "expected 3 list pages"
"$M" s3 ls --max 3 "" >"$T/ls.out" 2>"$T/err" || fail "s3 ls --max failed"
[ "$(wc -l <"$T/ls.out")" = 3 ] || fail "s3 ls --max 3 listed $(wc -l <"$T/ls.out")"

CASE="secrets"
if grep -rlF 'fault-secret-XYZ' "$T"; then fail "the secret key appears in the files above"; fi
echo "all fault cases passed"
