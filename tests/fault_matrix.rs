//! A fault matrix, at either provider: throttling, server errors, dropped
//! connections and latency injected at a probability (seeded; which request
//! draws which depends on the order requests arrive, so runs differ, and
//! what is checked holds for any) on each class of call while servers,
//! storage set-ups and DNS writes run — and, at DigitalOcean, two
//! reservations refused outright. Every operation ends succeeded, or failed
//! with a code, message and remedy in the provider's words; a failed
//! operation leaves nothing behind; nothing is made twice; each record
//! written is there.

mod support;

use std::collections::BTreeSet;

use serde_json::json;
use sim::Command;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{ended_with_reason, BOOTSTRAP_KEY};

for_each_cloud!(every_operation_ends_cleanly_under_faults);

fn every_operation_ends_cleanly_under_faults(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    (cloud.lift_limits)(&p);
    let zone = cloud.choose_domain(&p, &account, &scope);
    (cloud.fault_matrix)(&p);

    let mut server_ops = Vec::new();
    for i in 0..8 {
        let name = format!("fm{i}");
        let (status, op) = p.create_server(
            &cloud.server_spec(&account, &scope, &name),
            &format!("fm-{i}"),
        );
        if status == 202 {
            server_ops.push((
                op["id"].as_str().unwrap().to_string(),
                op["server"]["id"].as_str().unwrap().to_string(),
            ));
        } else {
            assert!(
                (400..600).contains(&status) && op["error"]["remedy"].is_string(),
                "{op}"
            );
        }
    }
    let mut storage_ops = Vec::new();
    for i in 0..4 {
        let name = format!("skyportfm{i}");
        let body = json!({ "account_id": account, "subscription_id": scope, "region": cloud.storage_region,
            "storage_account": name, "container": "backups", "resource_group": format!("skyport-fm{i}") });
        let (status, op) = p.api(
            "POST",
            "/api/v1/storage/setup",
            BOOTSTRAP_KEY,
            &body.to_string(),
        );
        if status == 202 {
            storage_ops.push((op["id"].as_str().unwrap().to_string(), name));
        } else {
            assert!(
                (400..600).contains(&status) && op["error"]["remedy"].is_string(),
                "{op}"
            );
        }
    }
    let mut records_ok = Vec::new();
    for i in 0..8 {
        let name = format!("fm{i}");
        let (status, r) = p.api(
            "PUT",
            &format!("/api/v1/dns/domains/{zone}/records/A/{name}"),
            BOOTSTRAP_KEY,
            &json!({ "ttl": 300, "values": [format!("203.0.113.{}", 20 + i)] }).to_string(),
        );
        match status {
            200 => records_ok.push(name),
            202 => {
                // The provider kept throttling: the change ends later.
                let done = p.wait_dns(r["id"].as_str().unwrap());
                ended_with_reason(&done);
                if done["status"] == "succeeded" {
                    records_ok.push(name);
                }
            }
            _ => assert!(
                r["error"]["remedy"].is_string(),
                "a DNS write failed without a remedy: {r}"
            ),
        }
    }

    // Every operation ends, with its reason when it failed.
    let mut servers_ok = Vec::new();
    for (op, server) in &server_ops {
        let done = p.wait_operation(op);
        ended_with_reason(&done);
        if done["status"] == "succeeded" {
            servers_ok.push(server.clone());
        } else {
            let said = format!("{} {}", done["error"]["message"], done["error"]["remedy"]);
            assert!(said.contains(cloud.failures_say), "{said}");
            for word in cloud.failures_never_say {
                assert!(!said.contains(word), "{said}");
            }
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

    // Nothing left by a failed operation, nothing made twice; each record
    // written is there.
    p.sim.command(Command::ClearFaults).unwrap();
    let ok: BTreeSet<&str> = servers_ok.iter().map(String::as_str).collect();
    (cloud.holds_only)(&p, &ok);
    // A failed set-up's undo follows its failure, which a poll may see
    // between the two.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let left = || {
        storage_ops
            .iter()
            .filter(|(_, name)| !storage_ok.contains(name) && (cloud.holds_store)(&p, name))
            .count()
    };
    while left() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(left(), 0, "a failed set-up left its store");
    for name in &storage_ok {
        assert!((cloud.holds_store)(&p, name), "{name} is gone");
    }
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(
        targets["targets"].as_array().unwrap().len(),
        storage_ok.len(),
        "{targets}"
    );
    for name in &records_ok {
        assert!(
            (cloud.has_record)(&p, &zone, "A", name),
            "{name} is not there"
        );
    }
    println!(
        "fault_matrix ({}): servers {}/{} succeeded, storage {}/{} succeeded, DNS writes {}/8 succeeded, 0 left behind, 0 duplicates",
        cloud.name,
        servers_ok.len(),
        server_ops.len(),
        storage_ok.len(),
        storage_ops.len(),
        records_ok.len()
    );
}
