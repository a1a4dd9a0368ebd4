//! A fault matrix on DigitalOcean's API: throttling, server errors, dropped
//! connections and latency injected at a probability (seeded, but which
//! request draws which depends on the order requests arrive, so runs
//! differ; what is checked holds for any)
//! on droplets, their actions, keys, firewalls, reserved IPs, tags and
//! domains, and two reservations refused outright, while six droplets are
//! created and six records written. Every operation ends succeeded, or
//! failed with a code, message and remedy; a failed creation leaves nothing
//! behind; nothing is made twice.

mod support;

use std::collections::BTreeSet;

use serde_json::json;
use sim::digitalocean::{SEED_DOMAIN, SEED_TEAM};
use sim::state::Fault;
use sim::{Command, World};
use support::product::{ended_with_reason, fault, Product, BOOTSTRAP_KEY, SSH_KEY};

#[test]
fn every_operation_on_digitalocean_ends_cleanly_under_faults() {
    // Each server holds a reserved IP: the team may have all of them.
    let mut w = World::default();
    w.digitalocean.teams[0].reserved_ip_limit = 10;
    let p = Product::start_with_example(w);
    let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    let (status, d) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": account, "zone_id": SEED_DOMAIN }).to_string(),
    );
    assert_eq!(status, 201, "{d}");

    p.sim
        .command(Command::SeedFaults { seed: 20261128 })
        .unwrap();
    // Two reservations refused outright, first (the emulator applies the
    // first rule a request matches): those creations fail, and their undo
    // must take away the droplet, firewall and key they made.
    p.sim
        .command(Command::AddFault {
            fault: Fault {
                path: "/v2/reserved_ips".into(),
                method: Some("POST".into()),
                status: Some(422),
                count: Some(2),
                probability: None,
                latency_ms: None,
                drop_connection: false,
                retry_after: None,
            },
        })
        .unwrap();
    for f in [
        fault("/v2/droplets", Some(429), false, None, 0.2),
        fault("/v2/actions/", None, true, None, 0.15),
        fault("/v2/account/keys", Some(500), false, None, 0.2),
        fault("/v2/firewalls", Some(429), false, None, 0.25),
        fault("/v2/reserved_ips", Some(503), false, None, 0.25),
        fault("/v2/tags", None, false, Some(40), 0.5),
        fault("/v2/domains/", Some(429), false, None, 0.2),
    ] {
        p.sim.command(f).unwrap();
    }

    let mut server_ops = Vec::new();
    for i in 0..6 {
        let spec = json!({ "account_id": account, "subscription_id": SEED_TEAM, "region": "nyc3", "size": "s-1vcpu-1gb", "name": format!("fd{i}"), "ssh_public_key": SSH_KEY });
        let (status, op) = p.create_server(&spec.to_string(), &format!("fd-{i}"));
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
    let mut dns_ok = 0;
    for i in 0..6 {
        let (status, r) = p.api(
            "PUT",
            &format!("/api/v1/dns/domains/{SEED_DOMAIN}/records/A/fd{i}"),
            BOOTSTRAP_KEY,
            &json!({ "ttl": 300, "values": [format!("203.0.113.{}", 20 + i)] }).to_string(),
        );
        match status {
            200 => dns_ok += 1,
            202 => {
                // DigitalOcean kept throttling: the change ends later.
                let done = p.wait_dns(r["id"].as_str().unwrap());
                ended_with_reason(&done);
                if done["status"] == "succeeded" {
                    dns_ok += 1;
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
            // In DigitalOcean's words: droplets and teams, not Azure's.
            let said = format!("{} {}", done["error"]["message"], done["error"]["remedy"]);
            assert!(said.contains("Droplet creation failed"), "{said}");
            assert!(
                !said.contains("VM") && !said.contains("subscription"),
                "{said}"
            );
        }
    }
    assert!(
        servers_ok.len() < server_ops.len(),
        "the refused reservations fail their creations"
    );

    // Nothing left by a failed creation, nothing made twice; each record
    // written is there once.
    p.sim.command(Command::ClearFaults).unwrap();
    let ok: BTreeSet<&str> = servers_ok.iter().map(String::as_str).collect();
    let held = p.digitalocean_holds_only(&ok);
    let records = p.digitalocean(
        "GET",
        &format!("/v2/domains/{SEED_DOMAIN}/records?type=A&per_page=200"),
        None,
    );
    let written: Vec<&str> = records["domain_records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .filter(|n| n.starts_with("fd"))
        .collect();
    let distinct: BTreeSet<&str> = written.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        written.len(),
        "a record made twice: {written:?}"
    );
    assert_eq!(written.len(), dns_ok, "one record per write that succeeded");
    println!(
        "digitalocean_faults: servers {}/{} succeeded, DNS writes {dns_ok}/6 succeeded, {held}",
        servers_ok.len(),
        server_ops.len(),
    );
}
