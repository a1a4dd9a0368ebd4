//! A fault matrix with a fixed seed: throttling, server errors, dropped
//! connections and latency injected at a probability on each class of ARM
//! call while ten servers, five storage setups and ten DNS writes run. Every
//! operation ends succeeded, or failed with a code, message and remedy; a
//! failed operation leaves nothing behind; nothing is made twice.

mod support;

use serde_json::{json, Value};
use sim::world::defaults::*;
use sim::{Command, World};
use support::product::{ended_with_reason, fault, server_spec, Product, BOOTSTRAP_KEY};

#[test]
fn every_operation_ends_cleanly_under_faults() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    for quota in ["cores", "standardBSFamily"] {
        p.sim
            .command(Command::SetQuota {
                subscription: SUBSCRIPTION.into(),
                name: quota.into(),
                location: None,
                limit: 1000,
            })
            .unwrap();
    }
    let zone_id = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{DNS_RESOURCE_GROUP}/providers/Microsoft.Network/dnszones/{DNS_ZONE}");
    let (status, d) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": account, "zone_id": zone_id }).to_string(),
    );
    assert_eq!(status, 201, "{d}");

    p.sim
        .command(Command::SeedFaults { seed: 20261126 })
        .unwrap();
    for f in [
        fault("/virtualnetworks/", Some(429), false, None, 0.6),
        fault("/publicipaddresses/", Some(503), false, None, 0.3),
        fault("/networkinterfaces/", Some(500), false, None, 0.6),
        fault("/networksecuritygroups/", None, true, None, 0.3),
        fault("/virtualmachines/", None, false, Some(40), 0.5),
        fault("/storageaccounts/", Some(503), false, None, 0.5),
        fault("/dnszones/", Some(429), false, None, 0.3),
    ] {
        p.sim.command(f).unwrap();
    }

    let mut server_ops = Vec::new();
    for i in 0..10 {
        let (status, op) = p.create_server(
            &server_spec(&account, &format!("fm{i}"), "eastus", "Standard_B1s"),
            &format!("fm-{i}"),
        );
        assert!(status == 202 || (400..600).contains(&status), "{op}");
        if status == 202 {
            server_ops.push((
                op["id"].as_str().unwrap().to_string(),
                op["server"]["id"].as_str().unwrap().to_string(),
            ));
        } else {
            assert!(op["error"]["remedy"].is_string(), "{op}");
        }
    }
    let mut storage_ops = Vec::new();
    for i in 0..5 {
        let body = json!({ "account_id": account, "subscription_id": SUBSCRIPTION, "region": "westeurope", "storage_account": format!("skyportfm{i}"), "container": "backups", "resource_group": format!("skyport-fm{i}") });
        let (status, op) = p.api(
            "POST",
            "/api/v1/storage/setup",
            BOOTSTRAP_KEY,
            &body.to_string(),
        );
        if status == 202 {
            storage_ops.push((
                op["id"].as_str().unwrap().to_string(),
                format!("skyportfm{i}"),
            ));
        } else {
            assert!(
                (400..600).contains(&status) && op["error"]["remedy"].is_string(),
                "{op}"
            );
        }
    }
    let mut dns_ok = 0;
    for i in 0..10 {
        let (status, r) = p.api(
            "PUT",
            &format!("/api/v1/dns/domains/{DNS_ZONE}/records/A/fm{i}"),
            BOOTSTRAP_KEY,
            &json!({ "ttl": 300, "values": [format!("203.0.113.{i}")] }).to_string(),
        );
        if status == 200 {
            dns_ok += 1;
        } else if status == 202 {
            // Azure kept throttling: the change is an operation that ends later.
            let done = p.wait_dns(r["id"].as_str().unwrap());
            ended_with_reason(&done);
            if done["status"] == "succeeded" {
                dns_ok += 1;
            }
        } else {
            assert!(
                r["error"]["remedy"].is_string(),
                "a DNS write failed without a remedy: {r}"
            );
        }
    }

    // Every operation ends, with its reason when it failed.
    let mut servers_ok = Vec::new();
    for (op, server) in &server_ops {
        let done = p.wait_operation(op);
        ended_with_reason(&done);
        if done["status"] == "succeeded" {
            servers_ok.push(server.clone());
        }
    }
    let mut storage_ok = Vec::new();
    for (op, name) in &storage_ops {
        let v = p.wait_storage(op);
        ended_with_reason(&v);
        if v["status"] == "succeeded" {
            storage_ok.push(name.clone());
        }
    }

    // Nothing left by a failed operation, nothing made twice.
    p.sim.command(Command::ClearFaults).unwrap();
    let inventory = p.sim.inventory();
    let live = |r: &&Value| r["provisioningState"] != "Deleting";
    let vms: Vec<&Value> = inventory
        .iter()
        .filter(|r| r["type"] == "Microsoft.Compute/virtualMachines")
        .filter(live)
        .collect();
    assert_eq!(
        vms.len(),
        servers_ok.len(),
        "one VM per server that succeeded"
    );
    for g in inventory
        .iter()
        .filter(|r| r["type"] == "resourceGroups")
        .filter(live)
    {
        if let Some(owner) = g["tags"]["skyport-server"].as_str() {
            assert!(
                servers_ok.iter().any(|s| s == owner),
                "a failed server left its group: {g}"
            );
        }
    }
    let accounts: Vec<&Value> = inventory
        .iter()
        .filter(|r| r["type"] == "Microsoft.Storage/storageAccounts")
        .filter(live)
        .filter(|r| {
            r["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("skyportfm")
        })
        .collect();
    assert_eq!(
        accounts.len(),
        storage_ok.len(),
        "a failed setup left its account: {accounts:?}"
    );
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(
        targets["targets"].as_array().unwrap().len(),
        storage_ok.len()
    );
    println!(
        "fault_matrix: servers {}/{} succeeded, storage {}/{} succeeded, DNS writes {}/10 succeeded, 0 left behind, 0 duplicates",
        servers_ok.len(),
        server_ops.len(),
        storage_ok.len(),
        storage_ops.len(),
        dns_ok
    );
}
