"""botocore's S3 client, stopped just before sending, for fixed inputs.

Prints one JSON line per case: the URL botocore would request, every header
it signed (name: value), the payload hash and its Authorization header. The
clock is fixed and nothing touches the network: a before-send hook captures
the prepared request and aborts the call.
Usage: s3_sigv4_botocore.py ENDPOINT REGION ADDRESSING BUCKET TOKEN|- < cases.json
"""
import datetime
import json
import sys
import types
from unittest import mock

import botocore.auth
import botocore.session
from botocore.config import Config


class Captured(Exception):
    pass


class FixedDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return cls(2026, 1, 1, 0, 0, 0)


def main():
    endpoint, region, addressing, bucket, token = sys.argv[1:6]
    session = botocore.session.get_session()
    client = session.create_client(
        "s3", endpoint_url=endpoint, region_name=region,
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        aws_session_token=None if token == "-" else token,
        config=Config(s3={"addressing_style": addressing}, signature_version="s3v4",
                      retries={"max_attempts": 1}))
    seen = {}

    def before_send(request, **kwargs):
        seen["request"] = request
        raise Captured()

    client.meta.events.register("before-send.s3", before_send)
    fake = types.SimpleNamespace(datetime=FixedDateTime)
    for line in sys.stdin:
        case = json.loads(line)
        op = getattr(client, case["op"])
        with mock.patch.object(botocore.auth, "datetime", fake):
            try:
                op(Bucket=bucket, **case["args"])
            except Captured:
                pass
        r = seen.pop("request")
        auth = r.headers["Authorization"]
        auth = auth.decode() if isinstance(auth, bytes) else auth
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        headers = {}
        for k, v in r.headers.items():
            v = v.decode() if isinstance(v, bytes) else v
            if k.lower() in signed:
                headers[k.lower()] = v
        print(json.dumps({"name": case["name"], "method": r.method, "url": r.url,
                          "headers": headers, "authorization": auth}))


main()
