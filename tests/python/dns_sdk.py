"""azure-mgmt-dns against the emulator over https: a zone, record sets with
ETags (If-Match and If-None-Match as the SDK sends them), listing and
deleting. Prints one JSON line.
"""

import json
import os

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns import models as dm
from azure.mgmt.resource.resources import ResourceManagementClient

from emulator_signin import management

credential, options = management()
subscription = os.environ["SUBSCRIPTION"]
group, zone = "sdk-dns", "sdk-example.com"
ResourceManagementClient(credential, subscription, **options).resource_groups.create_or_update(group, {"location": "westeurope"})
dns = DnsManagementClient(credential, subscription, **options)

made = dns.zones.create_or_update(group, zone, dm.Zone(location="global"))
assert made.name == zone and made.name_servers, made

first = dns.record_sets.create_or_update(group, zone, "www", "A", dm.RecordSet(ttl=300, a_records=[dm.ARecord(ipv4_address="203.0.113.10")]))
assert first.etag and first.fqdn == f"www.{zone}.", first
# Creating again with If-None-Match: * is refused: it exists.
try:
    dns.record_sets.create_or_update(group, zone, "www", "A", dm.RecordSet(ttl=300, a_records=[dm.ARecord(ipv4_address="203.0.113.11")]), if_none_match="*")
    raise AssertionError("If-None-Match: * overwrote a record set")
except HttpResponseError as e:
    assert e.status_code == 412 and e.error.code == "PreconditionFailed", (e.status_code, e.error)
# Updating with its ETag works and changes the ETag; the old one is then refused.
second = dns.record_sets.create_or_update(group, zone, "www", "A", dm.RecordSet(ttl=60, a_records=[dm.ARecord(ipv4_address="203.0.113.12")]), if_match=first.etag)
assert second.etag != first.etag and second.ttl == 60, second
try:
    dns.record_sets.create_or_update(group, zone, "www", "A", dm.RecordSet(ttl=30, a_records=[dm.ARecord(ipv4_address="203.0.113.13")]), if_match=first.etag)
    raise AssertionError("a stale If-Match overwrote a record set")
except HttpResponseError as e:
    assert e.status_code == 412, e.status_code

dns.record_sets.create_or_update(group, zone, "@", "TXT", dm.RecordSet(ttl=300, txt_records=[dm.TxtRecord(value=["v=spf1 -all"])]))
names = sorted((r.name, r.type.split("/")[-1]) for r in dns.record_sets.list_by_dns_zone(group, zone))
assert ("www", "A") in names and ("@", "TXT") in names and ("@", "NS") in names, names

dns.record_sets.delete(group, zone, "www", "A", if_match=second.etag)
try:
    dns.record_sets.get(group, zone, "www", "A")
    raise AssertionError("the record set is still there")
except ResourceNotFoundError:
    pass
dns.zones.begin_delete(group, zone).result()

print(json.dumps({"records": names}))
