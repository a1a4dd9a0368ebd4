"""boto3 against the emulator's Spaces S3 endpoint, as a Spaces user
would drive it: path-style requests signed with a key from the keys API.

usage: spaces_s3.py ENDPOINT REGION ACCESS_KEY SECRET BUCKET [MOTO_URL]
Prints one JSON line of what it saw.
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, region, access, secret, bucket = sys.argv[1:6]
moto = sys.argv[6] if len(sys.argv) > 6 else None


def client(key, secret_key, url=endpoint, region_name=region):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=region_name,
        aws_access_key_id=key,
        aws_secret_access_key=secret_key,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 1}),
    )


def code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


s3 = client(access, secret)
seen = {}
s3.create_bucket(Bucket=bucket)
seen["again"] = code(lambda: s3.create_bucket(Bucket=bucket))
s3.put_object(Bucket=bucket, Key="backups/", Body=b"")
s3.put_object(Bucket=bucket, Key="backups/site.tar.gz", Body=b"x" * 2048)
s3.put_object(Bucket=bucket, Key="notes/read me.txt", Body=b"hello spaces", ContentType="text/plain")
seen["get"] = s3.get_object(Bucket=bucket, Key="notes/read me.txt")["Body"].read().decode()
seen["head_length"] = s3.head_object(Bucket=bucket, Key="backups/site.tar.gz")["ContentLength"]
seen["missing"] = code(lambda: s3.get_object(Bucket=bucket, Key="nothing"))
top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
seen["folders"] = [p["Prefix"] for p in top.get("CommonPrefixes", [])]
pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1})
seen["all_keys"] = [o["Key"] for page in pages for o in page.get("Contents", [])]
seen["location"] = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
seen["buckets"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
if moto:
    direct = client("moto", "moto", url=moto, region_name="us-east-1")
    seen["in_moto"] = [o["Key"] for o in direct.list_objects_v2(Bucket=bucket).get("Contents", [])]
seen["not_empty"] = code(lambda: s3.delete_bucket(Bucket=bucket))
# The last character changed, whatever it was (a secret ending in "x" made
# "x" no change at all).
wrong = secret[:-1] + ("y" if secret.endswith("x") else "x")
seen["wrong_secret"] = code(lambda: client(access, wrong).list_buckets())
seen["unknown_key"] = code(lambda: client("DO0000000000000000XX", secret).list_buckets())
for key in seen["all_keys"]:
    s3.delete_object(Bucket=bucket, Key=key)
s3.delete_bucket(Bucket=bucket)
seen["after"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
print(json.dumps(seen))
