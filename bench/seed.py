#!/usr/bin/env python3
"""Fills an organization of a running `skyport up --sandbox` through the
product's own API, as users would: accounts connected by signing in on the
emulator's page (one emulator user per account, made with the emulator's
admin commands), then servers created with POST /api/v1/servers.

    bench/seed.py --app URL --emulator URL --key API_KEY [--accounts N] [--servers N]

Prints one JSON line: the accounts and servers made, one finished operation
(the first server's create, polled to its end), and the seconds it took.
Standard library only. Servers are spread over the guide's six regions, one
creation at a time per region, as the product admits them.
"""

import argparse
import concurrent.futures as cf
import html
import json
import time
import urllib.error
import urllib.parse
import urllib.request

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBSCRIPTION = "8d2c1e44-1f3b-4c55-a3f2-6c1b9a0e7d10"
FIRST_USER = "ada@contoso.onmicrosoft.com"
REGIONS = ["eastus", "westus2", "westeurope", "northeurope", "southeastasia", "australiaeast"]
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0c2t5cG9ydA== bench@skyport"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(method, url, body=None, headers=None, form=False):
    """(status, headers, text) of one request; errors are answers too."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(req, timeout=60) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class Seeder:
    def __init__(self, app, emulator, key):
        self.app, self.emulator = app.rstrip("/"), emulator.rstrip("/")
        self.auth = {"authorization": f"Bearer {key}"}

    def api(self, method, path, body=None, headers=None, expect=(200, 201, 202)):
        status, _, text = call(method, self.app + path, body, {**self.auth, **(headers or {})})
        if status not in expect:
            raise SystemExit(f"{method} {path}: {status} {text}")
        return json.loads(text) if text else None

    def command(self, body):
        status, _, text = call("POST", f"{self.emulator}/_sim/commands", body)
        if status != 204:
            raise SystemExit(f"emulator command {body['action']}: {status} {text}")

    def user(self, i):
        """The emulator user account `i` signs in as (made, and made Owner, past the first)."""
        if i == 0:
            return FIRST_USER
        name = f"bench{i}@contoso.onmicrosoft.com"
        oid = f"00000000-0000-4000-8000-{i:012d}"
        self.command({"action": "add_user", "user": {"id": oid, "name": f"Bench {i}", "username": name, "tenant": TENANT}})
        self.command({"action": "set_role", "user": oid, "subscription": SUBSCRIPTION, "role": "Owner"})
        return name

    def connect(self, i):
        username = self.user(i)
        started = self.api("POST", "/api/v1/accounts/azure/connect")
        authorize = started["authorize_url"]
        status, _, _ = call("GET", authorize)
        assert status == 200, status
        parts = urllib.parse.urlsplit(authorize)
        fields = dict(urllib.parse.parse_qsl(parts.query), user=username, decision="accept")
        status, headers, text = call("POST", f"{parts.scheme}://{parts.netloc}{parts.path}", fields, form=True)
        if status != 302:
            raise SystemExit(f"sign-in as {username}: {status} {text}")
        status, _, page = call("GET", headers["Location"])
        claim = html.unescape(page.split('data-claim="', 1)[1].split('"', 1)[0])
        answer = self.api("POST", "/api/v1/accounts/azure/claim", {"claim": claim})
        return answer["account"]["id"]

    def server(self, account, i, region):
        spec = {"account_id": account, "subscription_id": SUBSCRIPTION, "region": region,
                "size": "Standard_B1s", "name": f"bench-{i}", "ssh_public_key": SSH_KEY}
        for _ in range(100):
            status, _, text = call("POST", self.app + "/api/v1/servers", spec,
                                   {**self.auth, "idempotency-key": f"bench-server-{i}"})
            if status == 202:
                return json.loads(text)
            # Another creation in the region is still being admitted.
            if status == 503:
                time.sleep(0.05)
                continue
            raise SystemExit(f"server bench-{i}: {status} {text}")
        raise SystemExit(f"server bench-{i} was never admitted")

    def finish(self, operation):
        """Polls an operation (each poll moves it on) until it ends."""
        deadline = time.time() + 300
        while time.time() < deadline:
            op = self.api("GET", f"/api/v1/operations/{operation}")
            if op["status"] != "running":
                return op
            time.sleep(0.05)
        raise SystemExit(f"operation {operation} did not finish in 5 minutes")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--app", required=True)
    p.add_argument("--emulator", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--accounts", type=int, default=1)
    p.add_argument("--servers", type=int, default=1)
    p.add_argument("--workers", type=int, default=8)
    a = p.parse_args()
    s = Seeder(a.app, a.emulator, a.key)
    began = time.time()

    # Room for every server in the emulator's quotas.
    for quota in ["cores", "virtualMachines", "standardBSFamily"]:
        s.command({"action": "set_quota", "subscription": SUBSCRIPTION, "name": quota, "limit": 10 * a.servers + 100})

    accounts = [s.connect(0)]
    # Emulator users are made one at a time; the sign-ins then run in parallel.
    with cf.ThreadPoolExecutor(a.workers) as pool:
        accounts += list(pool.map(s.connect, range(1, a.accounts)))

    first = s.server(accounts[0], 0, REGIONS[0]) if a.servers else None
    done = s.finish(first["id"]) if first else None

    def region_share(r):
        made = 0
        for i in range(1 + r, a.servers, len(REGIONS)):
            s.server(accounts[i % len(accounts)], i, REGIONS[r])
            made += 1
        return made

    with cf.ThreadPoolExecutor(len(REGIONS)) as pool:
        made = sum(pool.map(region_share, range(len(REGIONS))))

    print(json.dumps({
        "accounts": len(accounts),
        "servers": made + (1 if first else 0),
        "finished_operation": done and done["id"],
        "operation_status": done and done["status"],
        "seconds": round(time.time() - began, 1),
    }))


if __name__ == "__main__":
    main()
