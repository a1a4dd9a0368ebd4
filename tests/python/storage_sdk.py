"""azure-mgmt-storage and azure-storage-blob against the emulator over https.

The management SDK checks a name, creates a StorageV2 account with its own
poller, reads its keys and makes two containers; then blob_sdk_check.py
drives the account's blob endpoint with azure-storage-blob and the key.
Prints the checks, then one JSON line.
"""

import json
import os
import runpy
import time

from azure.core.credentials import AccessToken
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage import models as sm

from emulator_signin import HOST, application, sign_in

_, _, token = sign_in(application())


class Credential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken(token["access_token"], int(time.time()) + int(token["expires_in"]))


options = dict(base_url=HOST, credential_scopes=["https://management.azure.com/.default"], polling_interval=0)
subscription = os.environ["SUBSCRIPTION"]
group, name = "sdk-storage", "skyportsdk1"
ResourceManagementClient(Credential(), subscription, **options).resource_groups.create_or_update(group, {"location": "westeurope"})

storage = StorageManagementClient(Credential(), subscription, **options)
free = storage.storage_accounts.check_name_availability(sm.StorageAccountCheckNameAvailabilityParameters(name=name))
assert free.name_available, free
bad = storage.storage_accounts.check_name_availability(sm.StorageAccountCheckNameAvailabilityParameters(name="Not-Valid"))
assert not bad.name_available and bad.reason == "AccountNameInvalid", bad
account = storage.storage_accounts.begin_create(group, name, sm.StorageAccountCreateParameters(
    sku=sm.Sku(name="Standard_LRS"), kind="StorageV2", location="westeurope",
)).result()
assert account.provisioning_state == "Succeeded", account
taken = storage.storage_accounts.check_name_availability(sm.StorageAccountCheckNameAvailabilityParameters(name=name))
assert not taken.name_available and taken.reason == "AlreadyExists", taken
keys = storage.storage_accounts.list_keys(group, name).keys_property
assert len(keys) == 2 and keys[0].key_name == "key1", keys
for container in ["alpha", "beta"]:
    storage.blob_containers.create(group, name, container, sm.BlobContainer())
listed = sorted(c.name for c in storage.blob_containers.list(group, name))
assert listed == ["alpha", "beta"], listed

os.environ.update(ACCOUNT_URL=account.primary_endpoints.blob.rstrip("/"), ACCOUNT=name, KEY=keys[0].value)
try:
    runpy.run_path(os.path.join(os.path.dirname(__file__), "blob_sdk_check.py"), run_name="__main__")
except SystemExit as done:
    assert not done.code, "the blob checks failed"

print(json.dumps({"account": name, "blob": account.primary_endpoints.blob, "containers": listed}))
