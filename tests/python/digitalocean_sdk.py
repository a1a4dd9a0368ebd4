"""DigitalOcean's official Python client, pydo, against the emulator's
DigitalOcean API: the account, regions and sizes (with page links), an SSH
key (its MD5 fingerprint, a duplicate refused), a Droplet created, polled
until active with an address, powered off by an action, destroyed; the
team's domain with DigitalOcean's name servers, and records on it created,
found by their fully qualified name, updated by PUT and PATCH, refused, and
deleted; a cloud firewall made for a tag, refused, given a Droplet and
deleted; a reserved IP made for a Droplet, assigned and unassigned by
actions, refused, and deleted; a tag made (and made again in another case),
put on a Droplet and seen in its tags, refused, taken off, and deleted.

    python digitalocean_sdk.py BASE_URL TOKEN

BASE_URL is the emulator's (pydo's `endpoint`; the paths carry /v2). Over
https, REQUESTS_CA_BUNDLE names the emulator's authority. Exits non-zero
with a message on the first mismatch; prints one JSON line on success.
"""

import base64
import hashlib
import json
import sys

import pydo
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline.policies import SansIOHTTPPolicy

# Any OpenSSH public key will do; its fingerprint is computed here, apart
# from the emulator, from the key itself.
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICuvHq1PcGNTFLADoHfaBx9edpbAWROqQCSuzEcW+APF"
    " sdk@example"
)


def fail(message, seen=None):
    print(f"digitalocean_sdk.py: {message}" + (f": {seen!r}" if seen is not None else ""), file=sys.stderr)
    sys.exit(1)


def expect(cond, message, seen=None):
    if not cond:
        fail(message, seen)


class BearerOverHttp(SansIOHTTPPolicy):
    """azure-core's bearer policy refuses plain http; over http (a manual run
    against `skyport sim` without TLS) the token is set as that policy would."""

    def __init__(self, token):
        self.token = token

    def on_request(self, request):
        request.http_request.headers["Authorization"] = f"Bearer {self.token}"


def client(base, token):
    extra = {"authentication_policy": BearerOverHttp(token)} if base.startswith("http://") else {}
    # No retries: a fault here should fail, not be retried away.
    return pydo.Client(token=token, endpoint=base, retry_total=0, **extra)


def md5_fingerprint(public_key):
    blob = base64.b64decode(public_key.split()[1])
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def main():
    if len(sys.argv) != 3:
        fail("usage: digitalocean_sdk.py BASE_URL TOKEN")
    base, token = sys.argv[1].rstrip("/"), sys.argv[2]
    do = client(base, token)

    # A token the API does not know is refused with 401.
    try:
        client(base, "dop_v1_" + "0" * 64).account.get()
        fail("an unknown token was accepted")
    except ClientAuthenticationError as e:
        expect(e.status_code == 401, "an unknown token's status", e.status_code)

    account = do.account.get()["account"]
    expect(account["status"] == "active" and account["email_verified"], "account status", account)
    expect(account["droplet_limit"] > 0 and account["team"]["name"], "account limits and team", account)

    regions = do.regions.list(per_page=200)
    slugs = {r["slug"]: r for r in regions["regions"]}
    for slug in ("nyc3", "ams3", "fra1", "sgp1"):
        expect(slug in slugs and slugs[slug]["available"], f"region {slug} listed and available", sorted(slugs))
    expect(regions["meta"]["total"] == len(regions["regions"]), "regions total", regions["meta"])
    expect("s-1vcpu-1gb" in slugs["nyc3"]["sizes"], "nyc3 offers s-1vcpu-1gb", slugs["nyc3"]["sizes"])

    # Sizes two at a time: page links as DigitalOcean gives them.
    first = do.sizes.list(per_page=2)
    pages = first["links"]["pages"]
    expect(set(pages) == {"next", "last"}, "page 1 links only forward", pages)
    expect(pages["next"].startswith(base + "/v2/sizes?") and "page=2" in pages["next"], "the next link", pages)
    second = do.sizes.list(per_page=2, page=2)
    expect(set(second["links"]["pages"]) == {"first", "prev", "next", "last"}, "page 2 links both ways", second["links"])
    sizes = {s["slug"]: s for s in do.sizes.list(per_page=200)["sizes"]}
    basic = sizes.get("s-1vcpu-1gb")
    expect(basic and basic["price_monthly"] == 6 and basic["price_hourly"] == 0.00893, "s-1vcpu-1gb's price", basic)
    expect(basic["memory"] == 1024 and basic["vcpus"] == 1 and basic["disk"] == 25, "s-1vcpu-1gb's resources", basic)

    key = do.ssh_keys.create(body={"name": "skyport-sdk", "public_key": PUBLIC_KEY})["ssh_key"]
    expect(key["fingerprint"] == md5_fingerprint(PUBLIC_KEY), "the key's MD5 fingerprint", key)
    expect(isinstance(key["id"], int), "the key's id", key)
    try:
        do.ssh_keys.create(body={"name": "again", "public_key": PUBLIC_KEY})
        fail("a duplicate key was accepted")
    except HttpResponseError as e:
        body = e.response.json()
        expect(e.status_code == 422 and body["id"] == "unprocessable_entity", "a duplicate key's status", body)
        expect(body["message"] == "SSH Key is already in use on your account", "a duplicate key's message", body)
    expect(do.ssh_keys.get(key["fingerprint"])["ssh_key"]["id"] == key["id"], "a key by its fingerprint")

    made = do.droplets.create(
        body={
            "name": "sdk-web-1",
            "region": "nyc3",
            "size": "s-1vcpu-1gb",
            "image": "ubuntu-24-04-x64",
            "ssh_keys": [key["id"]],
            "tags": ["skyport", "env:test"],
            "monitoring": True,
        }
    )
    droplet = made["droplet"]
    expect(droplet["status"] == "new" and droplet["networks"]["v4"] == [], "a new Droplet", droplet)
    create = made["links"]["actions"][0]
    expect(create["rel"] == "create" and create["href"].endswith(f"/v2/actions/{create['id']}"), "the create action link", create)

    for _ in range(20):
        droplet = do.droplets.get(droplet["id"])["droplet"]
        if droplet["status"] == "active":
            break
    else:
        fail("the Droplet never became active", droplet)
    public = [n for n in droplet["networks"]["v4"] if n["type"] == "public"]
    private = [n for n in droplet["networks"]["v4"] if n["type"] == "private"]
    expect(len(public) == 1 and len(private) == 1, "one public and one private address", droplet["networks"])
    expect(droplet["size_slug"] == "s-1vcpu-1gb" and droplet["region"]["slug"] == "nyc3", "size and region", droplet)
    expect(droplet["image"]["slug"] == "ubuntu-24-04-x64", "the image", droplet["image"])
    expect(sorted(droplet["tags"]) == ["env:test", "skyport"], "the tags", droplet["tags"])
    expect(do.actions.get(create["id"])["action"]["status"] == "completed", "the create action completed")

    tagged = do.droplets.list(tag_name="skyport")
    expect([d["id"] for d in tagged["droplets"]] == [droplet["id"]], "the Droplets tagged skyport", tagged)

    action = do.droplet_actions.post(droplet["id"], body={"type": "power_off"})["action"]
    expect(action["status"] == "in-progress" and action["type"] == "power_off", "a power_off action", action)
    expect(action["resource_id"] == droplet["id"] and action["region_slug"] == "nyc3", "the action's Droplet", action)
    for _ in range(20):
        action = do.actions.get(action["id"])["action"]
        if action["status"] != "in-progress":
            break
    expect(action["status"] == "completed" and action["completed_at"], "the power_off completed", action)
    expect(do.droplets.get(droplet["id"])["droplet"]["status"] == "off", "the Droplet is off")

    expect(do.droplets.destroy(droplet["id"]) is None, "a destroy answers no body")
    gone = do.droplets.get(droplet["id"])
    expect(gone.get("id") == "not_found", "a destroyed Droplet is not found", gone)
    do.ssh_keys.delete(key["id"])

    domain_name, records = domains(do)
    firewall, reserved_ip, reserved_actions = firewalls_and_reserved_ips(do)
    tag = tags(do)

    print(
        json.dumps(
            {
                "droplet": droplet["id"],
                "ip": public[0]["ip_address"],
                "key": key["fingerprint"],
                "domain": domain_name,
                "records": records,
                "firewall": firewall,
                "reserved_ip": reserved_ip,
                "reserved_actions": reserved_actions,
                "tag": tag,
            }
        )
    )


def refused_with(call, message):
    """Calls `call`, which the API must refuse with 422 and `message`."""
    try:
        call()
    except HttpResponseError as e:
        body = e.response.json()
        expect(e.status_code == 422 and body["id"] == "unprocessable_entity", "a refusal's status", body)
        expect(body["message"] == message, "a refusal's message", body)
        return
    fail(f"accepted what should be refused with {message!r}")


def domains(do):
    """The team's one domain and records made, changed and removed on it;
    returns the domain's name and the ids of the records it made."""
    listed = do.domains.list()
    expect(listed["meta"]["total"] == len(listed["domains"]) == 1, "the team's one domain", listed)
    name = listed["domains"][0]["name"]
    domain = do.domains.get(name)["domain"]
    expect(domain["name"] == name and domain["ttl"] == 1800, "the domain", domain)
    for ns in ("ns1", "ns2", "ns3"):
        expect(f"{name}. 1800 IN NS {ns}.digitalocean.com." in domain["zone_file"], f"the zone file's {ns}", domain["zone_file"])
    ns = do.domains.list_records(name, type="NS")
    expect(
        sorted(r["data"] for r in ns["domain_records"]) == [f"ns{i}.digitalocean.com" for i in (1, 2, 3)],
        "DigitalOcean's name servers",
        ns,
    )
    expect(all(r["name"] == "@" for r in ns["domain_records"]), "NS records at the apex", ns)

    www = do.domains.create_record(name, body={"type": "A", "name": "sdk-www", "data": "203.0.113.44", "ttl": 300})["domain_record"]
    expect(isinstance(www["id"], int) and www["name"] == "sdk-www" and www["ttl"] == 300, "an A record", www)
    expect(www["priority"] is None and www["port"] is None and www["weight"] is None, "unused fields are null", www)
    found = do.domains.list_records(name, type="A", name=f"sdk-www.{name}")
    expect([r["id"] for r in found["domain_records"]] == [www["id"]], "the record by its full name", found)
    expect(do.domains.list_records(name, name="sdk-www")["meta"]["total"] == 0, "a relative name finds nothing")

    # A CNAME's target goes with its trailing dot and comes back without it.
    alias = do.domains.create_record(name, body={"type": "CNAME", "name": "sdk-alias", "data": f"sdk-www.{name}."})["domain_record"]
    expect(alias["data"] == f"sdk-www.{name}" and alias["ttl"] == 1800, "a CNAME record", alias)
    refused_with(
        lambda: do.domains.create_record(name, body={"type": "CNAME", "name": "sdk-bare", "data": "example.net"}),
        "Data needs to end with a dot (.)",
    )
    refused_with(
        lambda: do.domains.create_record(name, body={"type": "TXT", "name": "sdk-alias", "data": "beside a CNAME"}),
        "CNAME records cannot share a name with other records",
    )
    refused_with(
        lambda: do.domains.create_record(name, body={"type": "TXT", "name": "sdk-ttl", "data": "short", "ttl": 5}),
        "record ttl must be greater than 30",
    )

    # PUT and PATCH each change only what they carry.
    put = do.domains.update_record(name, www["id"], body={"type": "A", "data": "203.0.113.45"})["domain_record"]
    expect(put["data"] == "203.0.113.45" and put["ttl"] == 300 and put["name"] == "sdk-www", "a PUT of the data", put)
    patched = do.domains.patch_record(name, alias["id"], body={"data": f"sdk-www.{name}.", "ttl": 60})["domain_record"]
    expect(patched["ttl"] == 60 and patched["data"] == f"sdk-www.{name}", "a PATCH of the TTL", patched)
    expect(do.domains.get_record(name, www["id"])["domain_record"]["data"] == "203.0.113.45", "the PUT kept")

    made = [www["id"], alias["id"]]
    for record in made:
        expect(do.domains.delete_record(name, record) is None, "a record delete answers no body")
    gone = do.domains.get_record(name, www["id"])
    expect(gone.get("id") == "not_found", "a deleted record is not found", gone)
    return name, made


def completed(do, ip, action):
    """Reads a reserved IP's action until it is no longer in progress."""
    for _ in range(20):
        action = do.reserved_ips_actions.get(ip, action["id"])["action"]
        if action["status"] != "in-progress":
            return action
    fail("a reserved IP action never completed", action)


def firewalls_and_reserved_ips(do):
    """A firewall for a tag and a reserved IP for a Droplet, made, changed and
    removed; returns the firewall's id, the address and its actions' ids."""
    made = do.droplets.create(
        body={"name": "sdk-edge-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "tags": ["sdk-edge"]}
    )
    droplet = made["droplet"]
    for _ in range(20):
        if do.droplets.get(droplet["id"])["droplet"]["status"] == "active":
            break
    else:
        fail("the edge Droplet never became active")

    rule = {"protocol": "tcp", "ports": "443", "sources": {"addresses": ["0.0.0.0/0", "::/0"]}}
    body = {
        "name": "sdk-edge-fw",
        "inbound_rules": [rule, {"protocol": "icmp", "sources": {"tags": ["sdk-edge"]}}],
        "outbound_rules": [{"protocol": "udp", "ports": "all", "destinations": {"addresses": ["0.0.0.0/0"]}}],
        "tags": ["sdk-edge"],
    }
    fw = do.firewalls.create(body=body)["firewall"]
    expect(fw["status"] == "waiting" and fw["name"] == "sdk-edge-fw", "a new firewall", fw)
    expect(fw["inbound_rules"][1]["ports"] == "0" and fw["outbound_rules"][0]["ports"] == "0", "all ports kept as 0", fw)
    refused_with(
        lambda: do.firewalls.create(body={**body, "name": "sdk-bad-ports", "inbound_rules": [{**rule, "ports": "70000"}]}),
        "You must specify a valid range for ports.",
    )
    applied = do.droplets.list_firewalls(droplet["id"])
    expect([f["id"] for f in applied["firewalls"]] == [fw["id"]], "the firewall applies by tag", applied)
    expect(do.firewalls.assign_droplets(fw["id"], body={"droplet_ids": [droplet["id"]]}) is None, "assigning answers no body")
    got = do.firewalls.get(fw["id"])["firewall"]
    expect(got["droplet_ids"] == [droplet["id"]] and got["tags"] == ["sdk-edge"], "the firewall's Droplets and tags", got)
    listed = do.firewalls.list()
    expect(fw["id"] in [f["id"] for f in listed["firewalls"]], "the firewall listed", listed)

    made = do.reserved_ips.create(body={"droplet_id": droplet["id"]})
    ip = made["reserved_ip"]["ip"]
    expect(made["reserved_ip"]["droplet"] is None and made["reserved_ip"]["locked"], "an address being assigned", made)
    assign = made["links"]["actions"][0]
    expect(assign["rel"] == "assign_ip" and made["links"]["droplets"][0]["id"] == droplet["id"], "the create's links", made["links"])
    assign = completed(do, ip, assign)
    expect(assign["type"] == "assign_ip" and assign["resource_type"] == "reserved_ip", "the assign action", assign)
    expect(assign["status"] == "completed", "the assign completed", assign)
    got = do.reserved_ips.get(ip)["reserved_ip"]
    expect(got["droplet"]["id"] == droplet["id"] and got["region"]["slug"] == "nyc3", "the address assigned", got)
    expect(ip in [r["ip"] for r in do.reserved_ips.list()["reserved_ips"]], "the address listed")
    refused_with(
        lambda: do.reserved_ips.create(body={"droplet_id": droplet["id"], "region": "nyc3"}),
        "Cannot specify Droplet and region, they are mutually exclusive.",
    )
    unassign = do.reserved_ips_actions.post(ip, body={"type": "unassign"})["action"]
    expect(unassign["type"] == "unassign_ip" and unassign["status"] == "in-progress", "the unassign action", unassign)
    expect(completed(do, ip, unassign)["status"] == "completed", "the unassign completed")
    expect(do.reserved_ips.get(ip)["reserved_ip"]["droplet"] is None, "the address unassigned")

    expect(do.reserved_ips.delete(ip) is None, "a reserved IP delete answers no body")
    expect(do.reserved_ips.get(ip).get("id") == "not_found", "a deleted address is not found")
    expect(do.firewalls.delete(fw["id"]) is None, "a firewall delete answers no body")
    expect(do.firewalls.get(fw["id"]).get("id") == "not_found", "a deleted firewall is not found")
    do.droplets.destroy(droplet["id"])
    return fw["id"], ip, [assign["id"], unassign["id"]]


def tags(do):
    """A tag made, made again in another case, refused a bad name, put on a
    Droplet (seen in its tags and its tag_name list), refused a numeric id
    and an unknown tag, taken off, and deleted; returns the tag's name."""
    made = do.tags.create(body={"name": "SDK-Tag"})["tag"]
    expect(made["name"] == "SDK-Tag" and made["resources"]["count"] == 0, "a new tag", made)
    expect(made["resources"]["droplets"] == {"count": 0}, "a new tag's Droplets", made)
    again = do.tags.create(body={"name": "sdk-tag"})["tag"]
    expect(again["name"] == "SDK-Tag", "a tag made again keeps its first spelling", again)
    # pydo hands back a refused create's body rather than raising.
    bad = do.tags.create(body={"name": "sdk tag"})
    expect(
        bad.get("error") == 'Error validating resource tag: "tag-name \\"sdk tag\\" contains invalid characters"',
        "a bad name's refusal",
        bad,
    )

    made = do.droplets.create(body={"name": "sdk-tagged-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"})
    droplet = made["droplet"]
    one = {"resources": [{"resource_id": str(droplet["id"]), "resource_type": "droplet"}]}
    expect(do.tags.assign_resources("SDK-Tag", body=one) is None, "tagging answers no body")
    expect(do.droplets.get(droplet["id"])["droplet"]["tags"] == ["SDK-Tag"], "the Droplet's tags")
    listed = do.droplets.list(tag_name="SDK-Tag")
    expect([d["id"] for d in listed["droplets"]] == [droplet["id"]], "the Droplets tagged SDK-Tag", listed)
    got = do.tags.get("SDK-Tag")["tag"]
    expect(got["resources"]["count"] == 1, "the tag's count", got)
    expect(got["resources"]["droplets"]["last_tagged_uri"].endswith(f"/v2/droplets/{droplet['id']}"), "the last tagged", got)
    expect("SDK-Tag" in [t["name"] for t in do.tags.list()["tags"]], "the tag listed")

    try:
        do.tags.assign_resources("SDK-Tag", body={"resources": [{"resource_id": droplet["id"], "resource_type": "droplet"}]})
        fail("a numeric resource_id was accepted")
    except HttpResponseError as e:
        body = e.response.json()
        expect(e.status_code == 400 and body["id"] == "parameter_missing", "a numeric id's refusal", body)
    missing = do.tags.assign_resources("sdk-missing", body=one)
    expect(missing.get("id") == "not_found", "tagging with an unknown tag", missing)

    expect(do.tags.unassign_resources("SDK-Tag", body=one) is None, "untagging answers no body")
    expect(do.droplets.get(droplet["id"])["droplet"]["tags"] == [], "the Droplet untagged")
    expect(do.tags.assign_resources("SDK-Tag", body=one) is None, "tagging again")
    expect(do.tags.delete("SDK-Tag") is None, "a tag delete answers no body")
    expect(do.tags.get("SDK-Tag").get("id") == "not_found", "a deleted tag is not found")
    expect(do.droplets.get(droplet["id"])["droplet"]["tags"] == [], "a deleted tag leaves its Droplets")
    do.droplets.destroy(droplet["id"])
    return got["name"]


if __name__ == "__main__":
    try:
        main()
    except HttpResponseError as e:
        # A call the emulator refused where it should have answered.
        fail(f"unexpected HTTP {e.status_code} from {e.response.request.method} {e.response.request.url}", e.response.text())
    except Exception as e:  # noqa: BLE001 - any other failure, said plainly
        fail(f"unexpected {type(e).__name__}", str(e))
