"""Drives the emulator's blob store with Microsoft's azure-storage-blob.

Run by storage_sdk.py once azure-mgmt-storage has made the account and its
containers `alpha` and `beta`; reads ACCOUNT_URL, ACCOUNT, KEY and AUTH, the
way the client is made: `key` (the name and key given), `connection-string`
(as the portal shows it), or `bare-key` (only the key: the SDK takes the
account name from the endpoint's path, as it does for local endpoints).
Prints one line per check and `N passed, N failed` at the end.
"""

import os
import sys
import traceback

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

URL = os.environ["ACCOUNT_URL"]
ACCOUNT = os.environ["ACCOUNT"]
KEY = os.environ["KEY"]

AUTH = os.environ.get("AUTH", "key")

if AUTH == "key":
    service = BlobServiceClient(URL, credential={"account_name": ACCOUNT, "account_key": KEY})
elif AUTH == "connection-string":
    scheme = URL.split(":", 1)[0]
    service = BlobServiceClient.from_connection_string(
        f"DefaultEndpointsProtocol={scheme};AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={URL};"
    )
elif AUTH == "bare-key":
    service = BlobServiceClient(URL, credential=KEY)
else:
    raise SystemExit(f"unknown AUTH {AUTH!r}: use key, connection-string or bare-key")
assert service.account_name == ACCOUNT, (service.account_name, ACCOUNT)
container = service.get_container_client("alpha")
TEXT = b"0123456789abcdefghij"

results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
            print(f"ok   {name}")
        except Exception as e:  # noqa: BLE001 - report every failure
            results.append((name, e))
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            traceback.print_exc(limit=3)
        return fn

    return wrap


@check("upload_blob")
def _():
    r = container.get_blob_client("dir/data.txt").upload_blob(
        TEXT, content_settings=ContentSettings(content_type="text/plain")
    )
    assert r["etag"] and r["last_modified"], r


@check("upload_blob refuses to overwrite by default")
def _():
    try:
        container.upload_blob("dir/data.txt", b"again")
    except ResourceExistsError:
        return
    raise AssertionError("no ResourceExistsError")


@check("download_blob whole")
def _():
    data = container.download_blob("dir/data.txt").readall()
    assert data == TEXT, data


@check("download_blob ranged (offset/length)")
def _():
    d = container.download_blob("dir/data.txt", offset=2, length=4)
    assert d.readall() == b"2345"
    assert d.size == 4, d.size
    # The SDK reports the downloaded size; the total is in Content-Range.
    assert d.properties.content_range == "bytes 2-5/20", d.properties.content_range


@check("download_blob in small chunks (many ranged GETs)")
def _():
    blob = service.get_blob_client("alpha", "chunked.bin")
    payload = bytes(range(256)) * 40
    blob.upload_blob(payload, overwrite=True)
    small = BlobServiceClient(
        URL,
        credential={"account_name": ACCOUNT, "account_key": KEY},
        max_single_get_size=1024,
        max_chunk_get_size=1024,
    )
    got = small.get_blob_client("alpha", "chunked.bin").download_blob().readall()
    assert got == payload, len(got)


@check("download_blob of an empty blob")
def _():
    blob = service.get_blob_client("alpha", "empty")
    blob.upload_blob(b"", overwrite=True)
    assert blob.download_blob().readall() == b""


@check("download_blob past the end raises InvalidRange")
def _():
    try:
        container.download_blob("dir/data.txt", offset=50, length=5).readall()
    except HttpResponseError as e:
        assert e.status_code == 416, e.status_code
        assert e.error_code == "InvalidRange", e.error_code
        return
    raise AssertionError("no error")


@check("get_blob_properties")
def _():
    p = service.get_blob_client("alpha", "dir/data.txt").get_blob_properties()
    assert p.size == 20, p.size
    assert p.blob_type == "BlockBlob", p.blob_type
    assert p.etag, p.etag
    assert p.last_modified is not None
    assert p.creation_time is not None
    assert p.content_settings.content_type == "text/plain", p.content_settings.content_type


@check("get_blob_properties of a missing blob")
def _():
    try:
        service.get_blob_client("alpha", "nope").get_blob_properties()
    except ResourceNotFoundError:
        return
    raise AssertionError("no ResourceNotFoundError")


@check("blob exists")
def _():
    assert service.get_blob_client("alpha", "dir/data.txt").exists()
    assert not service.get_blob_client("alpha", "nope").exists()


@check("list_blobs")
def _():
    names = [b.name for b in container.list_blobs()]
    assert names == ["chunked.bin", "dir/data.txt", "empty"], names
    sized = {b.name: b.size for b in container.list_blobs(name_starts_with="dir/")}
    assert sized == {"dir/data.txt": 20}, sized


@check("list_containers")
def _():
    names = [c.name for c in service.list_containers()]
    assert names == ["alpha", "beta"], names
    first = next(iter(service.list_containers(name_starts_with="be")))
    assert first.name == "beta" and first.last_modified is not None, first


@check("list_containers paged")
def _():
    pages = service.list_containers(results_per_page=1).by_page()
    names = [c.name for page in pages for c in page]
    assert names == ["alpha", "beta"], names


@check("get_container_properties")
def _():
    p = container.get_container_properties()
    assert p.name == "alpha", p.name


@check("delete_blob")
def _():
    container.delete_blob("dir/data.txt")
    assert not service.get_blob_client("alpha", "dir/data.txt").exists()


failed = sum(1 for _, e in results if e is not None)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
