"""A tiny in-memory S3 lookalike that injects faults, for tests/e2e/s3_faults.sh.

    s3_fault_server.py LOGFILE --fault KIND --count N [--methods GET,PUT] [--objects SPEC]

Serves one bucket ("faulty") over HTTP on 127.0.0.1 (a free port, printed as
"ready PORT"): HEAD/GET objects (Range, If-Match), PUT, multipart upload
(POST ?uploads, PUT ?partNumber, POST ?uploadId, DELETE ?uploadId),
ListObjectsV2. It does not check signatures (botocore does that in
s3_sigv4_botocore.sh), only that one is present.

The first N requests whose method is in --methods (N = -1: all of them) get
the fault instead of the answer:
  500       HTTP 500 InternalError
  503       HTTP 503 SlowDown
  reset     GET: headers and half the body, then a TCP reset; others: reset
  key       403 InvalidAccessKeyId          sig    403 SignatureDoesNotMatch
  skew      403 RequestTimeTooSkewed, with a Date one hour ahead
  bucket    404 NoSuchBucket                none   no fault
  corrupt   GET: the body with its first byte flipped (ETag unchanged)
  norange   GET: Range is ignored (200 with the whole object)
  changed   GET: half the body, a reset, and the object is replaced (so the
            resumed GET with If-Match gets 412 Precondition Failed)
Every request is logged to LOGFILE as "METHOD PATH?QUERY STATUS range=R".
POST /__scenario?fault=F&count=N&methods=M switches to a new scenario and
restores the objects, so one server serves a whole test.
"""
import hashlib
import random
import socket
import struct
import sys
import threading
from email.utils import formatdate
from xml.sax.saxutils import escape as xml_escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit, parse_qsl
import time

BUCKET = "faulty"
args = sys.argv[1:]
LOG = args[0]
opts = {"--fault": "none", "--count": "0", "--methods": "GET,HEAD,PUT,POST,DELETE",
        "--objects": "data/raw/tracks.parquet:300000,data/raw/catalog_names.parquet:200001,data/raw/interactions.parquet:2000000"}
for i in range(1, len(args), 2):
    opts[args[i]] = args[i + 1]
FAULT = opts["--fault"]
remaining = int(opts["--count"])
METHODS = set(opts["--methods"].split(","))
lock = threading.Lock()
objects = {}
uploads = {}


def reset_state(fault, count, methods):
    """A fresh scenario: the fault, and the objects as at the start."""
    global FAULT, remaining, METHODS
    FAULT, remaining, METHODS = fault, int(count), set(methods.split(","))
    objects.clear()
    uploads.clear()
    for spec in opts["--objects"].split(","):
        if spec:
            k, n = spec.rsplit(":", 1)
            objects[k] = random.Random(k).randbytes(int(n))


reset_state(FAULT, remaining, opts["--methods"])


def etag(b):
    return hashlib.md5(b).hexdigest()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def take_fault(self):
        global remaining
        with lock:
            if FAULT == "none" or self.command not in METHODS or remaining == 0:
                return None
            if remaining > 0:
                remaining -= 1
            return FAULT

    def send_xml(self, status, body, extra=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def error(self, status, code, msg="", extra=None):
        self.send_xml(status, f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                              f"<Message>{msg}</Message><RequestId>r1</RequestId></Error>", extra)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def handle_one(self):
        u = urlsplit(self.path)
        q = dict(parse_qsl(u.query, keep_blank_values=True))
        parts = unquote(u.path).lstrip("/").split("/", 1)
        bucket, key = parts[0], parts[1] if len(parts) > 1 else None
        body = b""
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            body = self.rfile.read(n)
        rng = self.headers.get("Range", "")
        fault = self.take_fault()
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 Credential="):
            self.error(403, "AccessDenied", "no signature")
            return 403
        if fault == "500":
            self.error(500, "InternalError", "We encountered an internal error.")
            return 500
        if fault == "503":
            self.error(503, "SlowDown", "Please reduce your request rate.")
            return 503
        if fault == "key":
            self.error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
            return 403
        if fault == "sig":
            self.error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
            return 403
        if fault == "skew":
            self.error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.",
                       {"Date": formatdate(time.time() + 3600, usegmt=True)})
            return 403
        if fault == "bucket" or bucket != BUCKET:
            self.error(404, "NoSuchBucket", "The specified bucket does not exist.")
            return 404
        if fault == "reset" and not (self.command == "GET" and key in objects):
            self.reset()
            return "reset"
        if key is None:
            if self.command != "GET":
                self.error(405, "MethodNotAllowed")
                return 405
            # pages of two keys, so clients must follow continuation tokens
            prefix = q.get("prefix", "")
            keys = [k for k in sorted(objects) if k.startswith(prefix)]
            start = int(q.get("continuation-token", "0") or 0)
            page = keys[start:start + 2]
            more = start + 2 < len(keys)
            items = "".join(f"<Contents><Key>{xml_escape(k)}</Key><Size>{len(objects[k])}</Size>"
                            f"<ETag>&quot;{etag(objects[k])}&quot;</ETag>"
                            f"<LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>" for k in page)
            token = f"<NextContinuationToken>{start + 2}</NextContinuationToken>" if more else ""
            self.send_xml(200, f"<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                               f"<Name>{BUCKET}</Name><Prefix>{xml_escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>"
                               f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>{items}{token}</ListBucketResult>")
            return 200
        if self.command in ("GET", "HEAD"):
            if key not in objects:
                self.error(404, "NoSuchKey", "The specified key does not exist.")
                return 404
            data = objects[key]
            im = self.headers.get("If-Match")
            if im and im.strip('"') != etag(data):
                self.error(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold.")
                return 412
            start = 0
            if rng.startswith("bytes=") and self.command == "GET" and fault != "norange":
                a, _, b = rng[6:].partition("-")
                start = int(a)
                end = int(b) if b else len(data) - 1
                chunk = data[start:end + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{len(data)}")
            else:
                chunk = data
                self.send_response(200)
            self.send_header("Content-Length", str(len(chunk)))
            self.send_header("ETag", f'"{etag(data)}"')
            self.end_headers()
            if self.command == "HEAD":
                return 200
            if fault == "changed":
                objects[key] = random.Random(key + "v2").randbytes(len(data) + 17)
            if fault in ("reset", "changed"):
                self.wfile.write(chunk[:len(chunk) // 2])
                self.wfile.flush()
                self.reset()
                return "reset"
            if fault == "corrupt":
                chunk = bytes([chunk[0] ^ 1]) + chunk[1:]
            self.wfile.write(chunk)
            return 206 if rng else 200
        if self.command == "PUT":
            if "uploadId" in q:
                up = uploads.get(q["uploadId"])
                if up is None:
                    self.error(404, "NoSuchUpload")
                    return 404
                up[int(q["partNumber"])] = body
                self.send_response(200)
                self.send_header("ETag", f'"{etag(body)}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 200
            objects[key] = body
            log(f"stored {key} sha256={hashlib.sha256(body).hexdigest()} parts=0")
            self.send_response(200)
            self.send_header("ETag", f'"{etag(body)}"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 200
        if self.command == "POST" and "uploads" in q:
            uid = f"up{len(uploads) + 1}"
            uploads[uid] = {}
            self.send_xml(200, f"<InitiateMultipartUploadResult><Bucket>{BUCKET}</Bucket><Key>{key}</Key>"
                               f"<UploadId>{uid}</UploadId></InitiateMultipartUploadResult>")
            return 200
        if self.command == "POST" and "uploadId" in q:
            up = uploads.pop(q["uploadId"], None)
            if up is None:
                self.error(404, "NoSuchUpload")
                return 404
            objects[key] = b"".join(up[i] for i in sorted(up))
            log(f"stored {key} sha256={hashlib.sha256(objects[key]).hexdigest()} parts={len(up)}")
            self.send_xml(200, f"<CompleteMultipartUploadResult><Key>{key}</Key><ETag>&quot;x-{len(up)}&quot;</ETag>"
                               f"</CompleteMultipartUploadResult>")
            return 200
        if self.command == "DELETE":
            if "uploadId" in q:
                uploads.pop(q["uploadId"], None)
            else:
                objects.pop(key, None)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 204
        self.error(400, "InvalidRequest")
        return 400

    def run(self):
        if self.path.startswith("/__scenario?"):
            # test control: POST /__scenario?fault=F&count=N&methods=M
            q = dict(parse_qsl(urlsplit(self.path).query))
            with lock:
                reset_state(q["fault"], q["count"], q.get("methods", "GET,HEAD,PUT,POST,DELETE"))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        st = self.handle_one()
        log(f"{self.command} {self.path} {st} range={self.headers.get('Range', '-')}")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = run


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(f"ready {srv.server_address[1]}", flush=True)
srv.serve_forever()
