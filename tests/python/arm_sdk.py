"""Microsoft's management SDKs against the emulator over https.

azure-mgmt-resource (with -resource-subscriptions), -network and -compute, with MSAL's token and the SDKs'
own pollers and retry policy: a throttled (429) and an unavailable (503) read
retried after Retry-After, a 400 not retried;
a network, an interface and a VM made; the VM read with its
instance view, deallocated, started, powered off, restarted, its available sizes
listed and resized; the group's
resources listed; everything deleted. Prints one JSON line of what it saw.
"""

import json
import os
import time

import requests

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as cm
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as net
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from emulator_signin import HOST, management

credential, options = management()
subscription = os.environ["SUBSCRIPTION"]
group, region = "sdk-rg", "westeurope"

subscriptions = [s.subscription_id for s in SubscriptionClient(credential, **options).subscriptions.list()]
assert subscription in subscriptions, subscriptions

resources = ResourceManagementClient(credential, subscription, **options)
made = resources.resource_groups.create_or_update(group, {"location": region})
assert made.name == group and made.properties.provisioning_state == "Succeeded", made

# Throttled twice: the SDK's retry policy waits as told and gets through.
fault = {"path": f"/resourcegroups/{group}", "method": "GET", "status": 429, "count": 2, "retry_after": 1}
added = requests.post(f"{HOST}/_sim/commands", json={"action": "add_fault", "fault": fault})
assert added.status_code == 204, added.text
started = time.monotonic()
assert resources.resource_groups.get(group).name == group
throttled = [r for r in requests.get(f"{HOST}/_sim/requests").json()["value"]
             if r["method"] == "GET" and r["path"].lower().endswith(f"/resourcegroups/{group}") and r["status"] == 429]
assert len(throttled) == 2, throttled
assert time.monotonic() - started >= 2, "the SDK did not wait for Retry-After"


def requests_to(path, status):
    return [r for r in requests.get(f"{HOST}/_sim/requests").json()["value"]
            if r["method"] == "GET" and r["path"].lower().endswith(path) and r["status"] == status]


# Unavailable once (503 with Retry-After): retried after the wait, as ARM asks.
fault = {"path": f"/resourcegroups/{group}", "method": "GET", "status": 503, "count": 1, "retry_after": 1}
assert requests.post(f"{HOST}/_sim/commands", json={"action": "add_fault", "fault": fault}).status_code == 204
started = time.monotonic()
assert resources.resource_groups.get(group).name == group
assert len(requests_to(f"/resourcegroups/{group}", 503)) == 1
assert time.monotonic() - started >= 1, "the SDK did not wait for Retry-After on 503"

# A 400 is the caller's mistake: ARM sends no Retry-After and the SDK does
# not retry; its error carries ARM's code.
fault = {"path": f"/resourcegroups/{group}", "method": "GET", "status": 400, "count": 1, "retry_after": 5}
assert requests.post(f"{HOST}/_sim/commands", json={"action": "add_fault", "fault": fault}).status_code == 204
try:
    resources.resource_groups.get(group)
    raise AssertionError("a 400 was not raised")
except HttpResponseError as e:
    assert e.status_code == 400 and e.error.code == "BadRequest", e
    assert "retry-after" not in {k.lower() for k in e.response.headers}, e.response.headers
assert len(requests_to(f"/resourcegroups/{group}", 400)) == 1, "the SDK retried a 400"

network = NetworkManagementClient(credential, subscription, **options)
# The SDKs' own models, so their serialization is what is tested.
vnet = network.virtual_networks.begin_create_or_update(group, "sdk-vnet", net.VirtualNetwork(
    location=region,
    address_space=net.AddressSpace(address_prefixes=["10.1.0.0/16"]),
    subnets=[net.Subnet(name="default", address_prefix="10.1.0.0/24")],
)).result()
assert vnet.provisioning_state == "Succeeded", vnet
nic = network.network_interfaces.begin_create_or_update(group, "sdk-nic", net.NetworkInterface(
    location=region,
    ip_configurations=[net.NetworkInterfaceIPConfiguration(name="ipconfig1", subnet=net.Subnet(id=vnet.subnets[0].id))],
)).result()

compute = ComputeManagementClient(credential, subscription, **options)
vm = compute.virtual_machines.begin_create_or_update(group, "sdk-vm", cm.VirtualMachine(
    location=region,
    hardware_profile=cm.HardwareProfile(vm_size="Standard_B1s"),
    storage_profile=cm.StorageProfile(
        image_reference=cm.ImageReference(publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"),
        os_disk=cm.OSDisk(create_option="FromImage", delete_option="Delete"),
    ),
    os_profile=cm.OSProfile(
        computer_name="sdk-vm",
        admin_username="azureuser",
        linux_configuration=cm.LinuxConfiguration(
            disable_password_authentication=True,
            ssh=cm.SshConfiguration(public_keys=[cm.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys", key_data=os.environ["SSH_KEY"])]),
        ),
    ),
    network_profile=cm.NetworkProfile(network_interfaces=[cm.NetworkInterfaceReference(id=nic.id, delete_option="Delete")]),
)).result()
assert vm.provisioning_state == "Succeeded", vm


def power():
    view = compute.virtual_machines.instance_view(group, "sdk-vm")
    return [s.code for s in view.statuses if s.code.startswith("PowerState/")]


expanded = compute.virtual_machines.get(group, "sdk-vm", expand="instanceView")
assert expanded.instance_view.computer_name == "sdk-vm", expanded.instance_view
assert power() == ["PowerState/running"], power()
seen = {}
for name, action, state in [
    ("deallocate", compute.virtual_machines.begin_deallocate, "PowerState/deallocated"),
    ("start", compute.virtual_machines.begin_start, "PowerState/running"),
    ("power_off", compute.virtual_machines.begin_power_off, "PowerState/stopped"),
    ("restart", compute.virtual_machines.begin_restart, "PowerState/running"),
]:
    action(group, "sdk-vm").result()
    seen[name] = power()
    assert seen[name] == [state], (name, seen[name])

# The sizes the VM can be resized to, as the SDK lists them.
available = [z.name for z in compute.virtual_machines.list_available_sizes(group, "sdk-vm")]
assert "Standard_B2s" in available, available
seen["available_sizes"] = len(available)

# Resized with the SDK's update (a PATCH), as the portal does it.
resized = compute.virtual_machines.begin_update(group, "sdk-vm", cm.VirtualMachineUpdate(
    hardware_profile=cm.HardwareProfile(vm_size="Standard_B2s"),
)).result()
assert resized.hardware_profile.vm_size == "Standard_B2s", resized.hardware_profile
assert compute.virtual_machines.get(group, "sdk-vm").hardware_profile.vm_size == "Standard_B2s"

listed = sorted(r.name for r in resources.resources.list_by_resource_group(group))
assert "sdk-vm" in listed and "sdk-vnet" in listed, listed

compute.virtual_machines.begin_delete(group, "sdk-vm").result()
try:
    compute.virtual_machines.get(group, "sdk-vm")
    raise AssertionError("the VM is still there")
except ResourceNotFoundError as e:
    assert e.error.code == "ResourceNotFound", e.error
resources.resource_groups.begin_delete(group).result()
assert not resources.resource_groups.check_existence(group)

print(json.dumps({"power": seen, "listed": listed, "throttled": len(throttled)}))
