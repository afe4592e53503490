#!/bin/bash
# The Authorization header (and URL) musrec computes equals botocore's for
# fixed inputs: botocore's real S3 client (Debian python3-botocore) is stopped
# just before sending (tests/e2e/s3_sigv4_botocore.py), with the clock fixed at
# 2026-01-01T00:00:00Z; `musrec s3 sign` gets the same method, key, query,
# extra signed headers, payload hash and time. No network is used.
# Cases: ListObjectsV2 with an encoded query, PUT with a body, a range GET,
# keys with spaces / non-ASCII / reserved characters, multipart queries; path
# and virtual addressing; with and without a session token; an explicit
# default port.
set -u
"$PY" -c 'import botocore' 2>/dev/null || { echo "python3-botocore is not installed"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
export HERE
exec "$PY" - <<'PYEOF'
import hashlib, json, os, subprocess, sys
from urllib.parse import urlsplit, unquote

HERE = os.environ["HERE"]
BIN = os.environ["MUSREC_BIN"]
cases = [
    {"name": "list-query", "op": "list_objects_v2",
     "args": {"Prefix": "runs/a b/", "ContinuationToken": "1/x==+", "MaxKeys": 7}},
    {"name": "put", "op": "put_object", "args": {"Key": "data/raw/x.bin", "Body": "hello world"}},
    {"name": "range-get", "op": "get_object", "args": {"Key": "data/raw/tracks.parquet", "Range": "bytes=100-"}},
    {"name": "head", "op": "head_object", "args": {"Key": "data/raw/interactions.parquet"}},
    {"name": "utf8-key", "op": "get_object", "args": {"Key": "data/мой трек (live) + ü.parquet"}},
    {"name": "reserved-key", "op": "get_object", "args": {"Key": "a b/c~d*e'f!g$h&i=j,k;l@m"}},
    {"name": "put-utf8", "op": "put_object", "args": {"Key": "runs/2026 01/résumé.json", "Body": "{}"}},
    {"name": "create-multipart", "op": "create_multipart_upload", "args": {"Key": "models/als model.bin"}},
    {"name": "upload-part", "op": "upload_part",
     "args": {"Key": "models/als model.bin", "UploadId": "2~abc/def+==", "PartNumber": 3, "Body": "x" * 1000}},
    {"name": "abort-multipart", "op": "abort_multipart_upload", "args": {"Key": "k", "UploadId": "u/1=="}},
]
configs = [
    ("http://127.0.0.1:9000", "us-east-1", "path", "bucket", "-"),
    ("https://storage.yandexcloud.net", "ru-central1", "virtual", "musrec-data", "-"),
    ("https://storage.yandexcloud.net", "ru-central1", "path", "musrec-data", "FQoGZXIvYXdzE+/token=="),
    ("https://s3.eu-west-1.amazonaws.com:443", "eu-west-1", "virtual", "my-bucket", "-"),
    ("http://localhost:4568", "us-east-1", "path", "Bucket.With.Dots", "tok"),
]
STRIP = {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}
failures = 0
checked = 0
for endpoint, region, addressing, bucket, token in configs:
    out = subprocess.run([sys.executable, os.path.join(HERE, "s3_sigv4_botocore.py"), endpoint, region,
                          addressing, bucket, token],
                         input="\n".join(json.dumps(c) for c in cases), capture_output=True, text=True)
    if out.returncode != 0:
        print("botocore side failed:", out.stderr)
        sys.exit(1)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
               AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               AWS_SESSION_TOKEN="" if token == "-" else token, S3_REGION=region,
               S3_ADDRESSING=addressing, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket,
               MUSREC_CONFIG="/dev/null")
    for line, case in zip(out.stdout.splitlines(), cases):
        b = json.loads(line)
        u = urlsplit(b["url"])
        key = unquote(u.path)
        # the key is the path after the bucket (path style) or the whole path (virtual)
        key = key[len("/" + bucket) + 1:] if addressing == "path" else key[1:]
        args = [BIN, "s3", "sign", "--method", b["method"], "--time", "20260101T000000Z"]
        if key:
            args += ["--key", key]
        if u.query:
            args += ["--query", "&".join(unquote(kv.split("=", 1)[0]) + "=" + unquote(kv.split("=", 1)[1] if "=" in kv else "")
                                         for kv in u.query.split("&"))]
        for k, v in b["headers"].items():
            if k not in STRIP:
                args += ["--header", f"{k}: {v}"]
        ph = b["headers"]["x-amz-content-sha256"]
        body = case["args"].get("Body")
        if body is not None:
            body = body.encode() if isinstance(body, str) else body
            # botocore signs bodies over http, and sends UNSIGNED-PAYLOAD with Content-MD5 over https
            if ph != hashlib.sha256(body).hexdigest() and not (ph == "UNSIGNED-PAYLOAD" and u.scheme == "https"):
                print(f"{case['name']}: botocore payload hash {ph} is not sha256(body)")
                failures += 1
        args += ["--payload-hash", ph]
        r = subprocess.run(args, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {case['name']} [{endpoint} {addressing}]: musrec exited {r.returncode}: {r.stderr.strip()}")
            failures += 1
            continue
        ours = dict(l.split(": ", 1) for l in r.stdout.splitlines())
        ou = urlsplit(ours["url"])
        # same scheme, host (a default port may be left out), path, and query
        # parameters in any order ("uploads" and "uploads=" are the same)
        def params(q):
            return sorted(kv if "=" in kv else kv + "=" for kv in q.split("&") if kv)
        same_url = (ou.scheme, ou.netloc, ou.path) == (u.scheme, u.netloc.replace(":443", ""), u.path) \
            and params(ou.query) == params(u.query)
        checked += 1
        if ours["authorization"] != b["authorization"] or not same_url:
            failures += 1
            print(f"FAIL {case['name']} [{endpoint} {addressing} token={token}]")
            print("  botocore url: ", b["url"])
            print("  musrec url:   ", ours["url"])
            print("  botocore auth:", b["authorization"])
            print("  musrec auth:  ", ours["authorization"])
        if "AKIDEXAMPLE" in r.stderr or "wJalrXUt" in r.stdout + r.stderr:
            failures += 1
            print(f"FAIL {case['name']}: the secret key appears in musrec's output")
print(f"{checked} requests compared with botocore, {failures} failures")
sys.exit(1 if failures or checked < len(cases) * len(configs) else 0)
PYEOF
