"""What the emulator's Spaces S3 endpoint refuses, as boto3 (and botocore's
own signer) see it.

usage: spaces_refusals.py ENDPOINT REGION FULL_KEY FULL_SECRET READ_KEY READ_SECRET OTHER_KEY OTHER_SECRET
The read key may read bucket-a alone; the other key is another team's.
Prints one JSON line: each case's S3 error code.
"""
import json
import re
import sys

import boto3
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

endpoint, region, full_k, full_s, read_k, read_s, other_k, other_s = sys.argv[1:9]


def client(key, secret):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


full, read, other = client(full_k, full_s), client(read_k, read_s), client(other_k, other_s)
seen = {}
full.create_bucket(Bucket="bucket-a")
full.create_bucket(Bucket="bucket-b")
full.put_object(Bucket="bucket-a", Key="kept.txt", Body=b"kept")
seen["read_lists"] = [o["Key"] for o in read.list_objects_v2(Bucket="bucket-a").get("Contents", [])]
seen["read_writes"] = code(lambda: read.put_object(Bucket="bucket-a", Key="x", Body=b"x"))
seen["read_other_bucket"] = code(lambda: read.list_objects_v2(Bucket="bucket-b"))
seen["read_makes_bucket"] = code(lambda: read.create_bucket(Bucket="bucket-c"))
seen["other_team_name"] = code(lambda: other.create_bucket(Bucket="bucket-a"))
seen["other_team_head"] = code(lambda: other.head_bucket(Bucket="bucket-a"))
seen["bad_name"] = code(lambda: full.create_bucket(Bucket="Bad_Name"))

# A body other than the one signed.
req = AWSRequest(method="PUT", url=f"{endpoint}/bucket-a/tampered", data=b"what was signed")
S3SigV4Auth(Credentials(full_k, full_s), "s3", region).add_auth(req)
r = urllib3.request("PUT", req.url, body=b"what was sent", headers=dict(req.headers.items()))
seen["tampered"] = (re.search(r"<Code>(.*?)</Code>", r.data.decode()) or [None, None])[1]
print(json.dumps(seen))
