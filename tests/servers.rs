//! Provisioning servers: the catalogue with prices, preflight refusals, a VM
//! made step by step as a persisted operation, failures cleaned up, retries
//! survived, idempotency under concurrency, a host killed mid-way, delete.
//! The last two run for both providers.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sim::state::{Fault, LroFailure};
use sim::world::defaults::*;
use sim::{Command, World};
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{server_spec, Product, BOOTSTRAP_KEY, SSH_KEY as KEY};

fn spec(account: &str, name: &str, size: &str) -> String {
    server_spec(account, name, "westeurope", size)
}

fn post(p: &Product, body: &str, key: &str) -> (u16, Value) {
    p.create_server(body, key)
}

fn wait(p: &Product, op: &str) -> Value {
    p.wait_operation(op)
}

fn count(p: &Product, kind: &str) -> usize {
    p.sim
        .inventory()
        .iter()
        .filter(|r| r["type"] == kind)
        .count()
}

fn group_exists(p: &Product, name: &str) -> bool {
    p.sim.inventory().iter().any(|r| {
        r["id"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains(&format!("/resourcegroups/skyport-{name}"))
    })
}

#[test]
fn the_catalogue_lists_regions_sizes_and_prices() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (_, r) = p.api(
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/compute/regions"),
        BOOTSTRAP_KEY,
        "",
    );
    let names: Vec<&str> = r["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &names[..6],
        [
            "eastus",
            "westus2",
            "westeurope",
            "northeurope",
            "southeastasia",
            "australiaeast"
        ]
    );
    p.sim
        .command(Command::RestrictSku {
            subscription: SUBSCRIPTION.into(),
            size: "Standard_D2s_v5".into(),
            locations: vec!["eastus".into()],
        })
        .unwrap();
    let (status, s) = p.api(
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/compute/sizes?region=eastus"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{s}");
    let sizes = s["sizes"].as_array().unwrap();
    assert!(
        !sizes.iter().any(|z| z["name"] == "Standard_D2s_v5"),
        "restricted sizes are left out"
    );
    let b2s = sizes.iter().find(|z| z["name"] == "Standard_B2s").unwrap();
    assert_eq!(b2s["vcpus"], 2);
    assert_eq!(
        b2s["hourly_price"], 0.0416,
        "the Linux on-demand meter, not a decoy"
    );
    assert_eq!(b2s["currency"], "USD");
}

#[test]
fn a_server_comes_up_step_by_step_and_is_deleted() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (status, op) = post(&p, &spec(&id, "web1", "Standard_B2s"), "key-1");
    assert_eq!(status, 202, "{op}");
    assert_eq!(op["progress"]["of"], 7);
    let done = wait(&p, op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let server = &done["server"];
    assert_eq!(server["status"], "running");
    assert!(
        server["public_ip"]
            .as_str()
            .unwrap()
            .parse::<std::net::Ipv4Addr>()
            .is_ok(),
        "{server}"
    );

    let vm = p
        .sim
        .with_state(|s| {
            s.resources
                .values()
                .find(|r| r.kind == "Microsoft.Compute/virtualMachines")
                .map(|r| r.body.clone())
        })
        .unwrap();
    assert_eq!(vm["location"], "westeurope");
    assert_eq!(
        vm["properties"]["hardwareProfile"]["vmSize"],
        "Standard_B2s"
    );
    assert_eq!(
        vm["properties"]["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"],
        true
    );
    assert_eq!(
        vm["properties"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["keyData"],
        KEY
    );
    assert_eq!(
        vm["properties"]["storageProfile"]["imageReference"]["publisher"],
        "Canonical"
    );
    let nsg = p
        .sim
        .with_state(|s| {
            s.resources
                .values()
                .find(|r| r.kind == "Microsoft.Network/networkSecurityGroups")
                .map(|r| r.body.clone())
        })
        .unwrap();
    let ports: Vec<&str> = nsg["properties"]["securityRules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["destinationPortRange"].as_str().unwrap())
        .collect();
    assert_eq!(ports, ["22", "80", "443"]);
    let pip = p
        .sim
        .with_state(|s| {
            s.resources
                .values()
                .find(|r| r.kind == "Microsoft.Network/publicIPAddresses")
                .map(|r| r.body.clone())
        })
        .unwrap();
    assert_eq!(
        (
            pip["sku"]["name"].as_str(),
            pip["properties"]["publicIPAllocationMethod"].as_str()
        ),
        (Some("Standard"), Some("Static"))
    );

    // One call gives the server a hostname in the organization's zone.
    let zone_id = p
        .api(
            "GET",
            &format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/dns/zones"),
            BOOTSTRAP_KEY,
            "",
        )
        .1["zones"][0]["id"]
        .clone();
    p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": id, "zone_id": zone_id }).to_string(),
    );
    let sid = server["id"].as_str().unwrap();
    let auth = format!("Bearer {BOOTSTRAP_KEY}");
    let (status, text) = support::request(
        "PUT",
        &format!(
            "{}/api/v1/dns/domains/{DNS_ZONE}/hostnames/web1",
            p.host.url
        ),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &json!({ "server_id": sid }).to_string(),
    );
    assert_eq!(status, 200, "{text}");
    let record: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(record["values"][0], server["public_ip"]);
    assert_eq!(record["fqdn"], format!("web1.{DNS_ZONE}"));

    let (status, del) = p.api(
        "DELETE",
        &format!("/api/v1/servers/{sid}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{del}");
    // Asked again, it is the same deletion, not a second one.
    let (status, again) = p.api(
        "DELETE",
        &format!("/api/v1/servers/{sid}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["id"], del["id"]);
    let gone = wait(&p, del["id"].as_str().unwrap());
    assert_eq!(gone["status"], "succeeded", "{gone}");
    assert!(
        !group_exists(&p, "web1"),
        "everything was removed: {:?}",
        p.sim.inventory()
    );
    assert_eq!(
        p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "").1["servers"],
        json!([])
    );
}

#[test]
fn preflight_refuses_before_any_write() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    p.sim
        .command(Command::SetQuota {
            subscription: SUBSCRIPTION.into(),
            name: "standardBSFamily".into(),
            location: Some("westeurope".into()),
            limit: 1,
        })
        .unwrap();
    let (status, e) = post(&p, &spec(&id, "q1", "Standard_B2s"), "q");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("quota_exceeded")),
        "{e}"
    );
    assert!(e["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("Usage + quotas"));

    p.sim
        .command(Command::RestrictSku {
            subscription: SUBSCRIPTION.into(),
            size: "Standard_F2s_v2".into(),
            locations: vec!["westeurope".into()],
        })
        .unwrap();
    let (status, e) = post(&p, &spec(&id, "s1", "Standard_F2s_v2"), "s");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("size_not_available")),
        "{e}"
    );
    assert!(e["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("another region"));

    p.sim
        .command(Command::SetProvider {
            subscription: SUBSCRIPTION.into(),
            namespace: "Microsoft.Compute".into(),
            state: "NotRegistered".into(),
        })
        .unwrap();
    let (status, e) = post(&p, &spec(&id, "r1", "Standard_B1s"), "r");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("provider_not_registered")),
        "{e}"
    );
    assert!(e["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("Register Microsoft.Compute"));

    assert_eq!(
        count(&p, "resourceGroups"),
        1,
        "only the DNS zone's group exists: {:?}",
        p.sim.inventory()
    );
    let (status, e) = post(&p, &json!({ "account_id": id }).to_string(), "x");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("missing_fields"))
    );
}

#[test]
fn throttling_and_server_errors_are_survived() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let fault = |path: &str, status| Fault {
        path: path.into(),
        method: Some("PUT".into()),
        status: Some(status),
        count: Some(1),
        probability: None,
        latency_ms: None,
        drop_connection: false,
        retry_after: Some(0),
    };
    p.sim
        .command(Command::AddFault {
            fault: fault("/virtualNetworks/", 429),
        })
        .unwrap();
    p.sim
        .command(Command::AddFault {
            fault: fault("/publicIPAddresses/", 503),
        })
        .unwrap();
    let (_, op) = post(&p, &spec(&id, "sturdy", "Standard_B1s"), "k");
    let done = wait(&p, op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let throttled = p
        .sim
        .requests()
        .iter()
        .filter(|r| r.status == 429 || r.status == 503)
        .count();
    assert_eq!(throttled, 2, "both faults were met and retried");
    assert_eq!(count(&p, "Microsoft.Compute/virtualMachines"), 1);
}

#[test]
fn a_failed_step_reports_its_code_and_cleans_up() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    p.sim.command(Command::FailNextOperation { failure: LroFailure { path: "virtualMachines/doomed".into(), code: "AllocationFailed".into(), message: "Allocation failed. We do not have sufficient capacity for the requested VM size in this region.".into() } }).unwrap();
    let (_, op) = post(&p, &spec(&id, "doomed", "Standard_B1s"), "d");
    let done = wait(&p, op["id"].as_str().unwrap());
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["provider_code"], "AllocationFailed");
    assert_eq!(
        done["error"]["step"], "Creating the virtual machine",
        "the failure names the step that failed"
    );
    assert!(done["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("another region or size"));
    assert_eq!(done["cleanup"]["status"], "succeeded", "{done}");
    // The failed server says why, in the list too.
    let (_, list) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    let failed = &list["servers"][0];
    assert_eq!(failed["status"], "failed", "{list}");
    assert_eq!(
        failed["error"]["provider_code"], "AllocationFailed",
        "{list}"
    );
    assert!(
        !group_exists(&p, "doomed"),
        "nothing is left behind: {:?}",
        p.sim.inventory()
    );
}

for_each_cloud!(
    one_idempotency_key_makes_one_server_even_concurrently,
    a_host_killed_mid_operation_finishes_it_after_restart
);

fn one_idempotency_key_makes_one_server_even_concurrently(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (id, scope) = (cloud.connect)(&p);
    let body = cloud.server_spec(&id, &scope, "once");
    let url = format!("{}/api/v1/servers", p.host.url);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || {
                let auth = format!("Bearer {BOOTSTRAP_KEY}");
                let (status, text) = support::request(
                    "POST",
                    &url,
                    &[
                        ("authorization", &auth),
                        ("content-type", "application/json"),
                        ("idempotency-key", "same-key"),
                    ],
                    &body,
                );
                (
                    status,
                    serde_json::from_str::<Value>(&text).unwrap_or(json!(text)),
                )
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ids: BTreeSet<String> = results
        .iter()
        .map(|(s, v)| {
            assert_eq!(*s, 202, "{v}");
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every request got the same operation");
    let op = ids.into_iter().next().unwrap();
    let done = wait(&p, &op);
    assert_eq!(done["status"], "succeeded");
    let (status, again) = post(&p, &body, "same-key");
    assert_eq!((status, again["id"].as_str()), (202, Some(op.as_str())));
    let (status, _) = post(&p, &cloud.server_spec(&id, &scope, "other"), "same-key");
    assert_eq!(status, 422, "a key reused for another request is refused");
    (cloud.holds_only)(&p, &BTreeSet::from([done["server_id"].as_str().unwrap()]));
}

fn a_host_killed_mid_operation_finishes_it_after_restart(cloud: &Cloud) {
    let mut p = clouds::start(str::to_string);
    let (id, scope) = (cloud.connect)(&p);
    let (_, op) = post(&p, &cloud.server_spec(&id, &scope, "phoenix"), "p");
    let op = op["id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        p.api(
            "GET",
            &format!("/api/v1/operations/{op}"),
            BOOTSTRAP_KEY,
            "",
        );
    }
    let (_, mid) = p.api(
        "GET",
        &format!("/api/v1/operations/{op}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(mid["status"], "running", "still mid-way: {mid}");
    assert!(
        mid["progress"]["step"].as_u64() > Some(1),
        "some steps done: {mid}"
    );
    p.restart(); // the old host is killed (SIGKILL), not stopped gracefully
    let done = wait(&p, &op);
    assert_eq!(done["status"], "succeeded", "{done}");
    (cloud.holds_only)(&p, &BTreeSet::from([done["server_id"].as_str().unwrap()]));
}
