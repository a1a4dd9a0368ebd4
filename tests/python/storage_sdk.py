"""azure-mgmt-storage and azure-storage-blob against the emulator over https.

The management SDK checks a name, creates a StorageV2 account with its own
poller, reads its keys and makes two containers; then blob_sdk_check.py
drives the account's blob endpoint with azure-storage-blob, once for each way
of giving it the key (name and key, connection string, the key alone), each on
an account of its own.
Prints the checks, then one JSON line.
"""

import json
import os
import runpy

from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage import models as sm

from emulator_signin import management

credential, options = management()
subscription = os.environ["SUBSCRIPTION"]
group = "sdk-storage"
ResourceManagementClient(credential, subscription, **options).resource_groups.create_or_update(group, {"location": "westeurope"})
storage = StorageManagementClient(credential, subscription, **options)
bad = storage.storage_accounts.check_name_availability(sm.StorageAccountCheckNameAvailabilityParameters(name="Not-Valid"))
assert not bad.name_available and bad.reason == "AccountNameInvalid", bad


def make_account(name):
    free = storage.storage_accounts.check_name_availability(sm.StorageAccountCheckNameAvailabilityParameters(name=name))
    assert free.name_available, free
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
    return account, keys[0].value, listed


# The blob checks once per way of making the client, each on its own account.
seen = {}
for n, auth in enumerate(["key", "connection-string", "bare-key"], start=1):
    name = f"skyportsdk{n}"
    account, key, listed = make_account(name)
    print(f"-- azure-storage-blob with {auth} on {account.primary_endpoints.blob}")
    os.environ.update(ACCOUNT_URL=account.primary_endpoints.blob.rstrip("/"), ACCOUNT=name, KEY=key, AUTH=auth)
    try:
        runpy.run_path(os.path.join(os.path.dirname(__file__), "blob_sdk_check.py"), run_name="__main__")
    except SystemExit as done:
        assert not done.code, f"the blob checks failed with {auth}"
    seen[auth] = {"account": name, "blob": account.primary_endpoints.blob, "containers": listed}

print(json.dumps(seen))
