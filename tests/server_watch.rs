//! Servers changed outside Skyport: a VM deallocated, started again, or its
//! whole group deleted in the portal turns the server `stopped`, `running`
//! and `missing` with nobody calling the API — each with Azure's reason and
//! its event — and a missing server is then deleted cleanly; the same for a
//! droplet powered off, on, and destroyed in DigitalOcean's control panel.

mod support;

use serde_json::{json, Value};
use sim::digitalocean::SEED_TEAM;
use sim::world::defaults::*;
use sim::Command;
use std::collections::BTreeSet;
use support::product::{server_spec, vm_of, Product, BOOTSTRAP_KEY, SSH_KEY};

/// The product looking at servers every 2 s, with one running server
/// `name`: the product, the server's id and the server.
fn running_server(name: &str) -> (Product, String, Value) {
    let p = Product::with_jobs_every_second(&[("SPIN_VARIABLE_SERVER_CHECK_SECONDS", "2")]);
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (status, op) = p.create_server(
        &server_spec(&account, name, "westeurope", "Standard_B1s"),
        &format!("watch-{name}"),
    );
    assert_eq!(status, 202, "{op}");
    let server = op["server"]["id"].as_str().unwrap().to_string();
    let s = p.wait_for(&format!("/api/v1/servers/{server}"), 90, |v| {
        v["status"] != "provisioning"
    });
    assert_eq!(s["status"], "running", "{s}");
    (p, server, s)
}

/// Deletes the server at `path`: the deletion succeeds and the server
/// reads as deleted.
fn deletes(p: &Product, path: &str) {
    let (status, del) = p.api("DELETE", path, BOOTSTRAP_KEY, "");
    assert_eq!(status, 202, "{del}");
    let done = p.wait_operation(del["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, s) = p.api("GET", path, BOOTSTRAP_KEY, "");
    assert_eq!(s["status"], "deleted", "{s}");
}

#[test]
fn a_server_changed_in_the_portal_shows_it_without_a_click() {
    let (p, server, s) = running_server("watched");
    let path = format!("/api/v1/servers/{server}");
    let resources: Vec<String> = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let vm = resources
        .iter()
        .find(|r| r.contains("/virtualMachines/"))
        .unwrap()
        .clone();
    let group = resources
        .iter()
        .find(|r| !r.contains("/providers/"))
        .unwrap()
        .clone();

    // Deallocated in the portal: stopped, in Azure's words.
    p.sim
        .command(Command::SetPower {
            vm: vm.clone(),
            power: "deallocated".into(),
        })
        .unwrap();
    let s = p.wait_for(&path, 60, |v| v["status"] != "running");
    assert_eq!(s["status"], "stopped", "{s}");
    assert_eq!(s["status_reason"], "VM deallocated", "{s}");
    assert!(s["checked_at"].is_number(), "{s}");
    let stopped = p.events("server.stopped", &server);
    assert_eq!(stopped.len(), 1, "{stopped:?}");

    // Started again: running, and the reason is gone.
    p.sim
        .command(Command::SetPower {
            vm: vm.clone(),
            power: "running".into(),
        })
        .unwrap();
    let s = p.wait_for(&path, 60, |v| v["status"] != "stopped");
    assert_eq!(s["status"], "running", "{s}");
    assert!(s.get("status_reason").is_none(), "{s}");
    assert_eq!(p.events("server.started", &server).len(), 1);

    // Its group deleted in the portal: missing, and said so once.
    p.sim
        .command(Command::DeleteResource { id: group.clone() })
        .unwrap();
    let s = p.wait_for(&path, 60, |v| v["status"] != "running");
    assert_eq!(s["status"], "missing", "{s}");
    assert!(
        s["status_reason"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{s}"
    );
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(p.events("server.missing", &server).len(), 1);
    let (_, s) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(s["status"], "missing", "it stays missing: {s}");

    // Deleting a missing server deletes nothing in Azure and ends it.
    deletes(&p, &path);
    let (_, list) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    assert_eq!(list["servers"].as_array().unwrap().len(), 0, "{list}");
}

#[test]
fn a_vm_that_is_not_the_servers_counts_as_missing() {
    let (p, server, s) = running_server("replaced");
    let path = format!("/api/v1/servers/{server}");
    // Someone takes the server's tag off its VM: Skyport can no longer
    // prove the VM is the server's, so it is not taken for it.
    let vm = vm_of(&s);
    p.sim
        .command(Command::SetTags {
            id: vm,
            tags: [("owner".to_string(), "someone else".to_string())].into(),
        })
        .unwrap();
    let s = p.wait_for(&path, 60, |v| v["status"] != "running");
    assert_eq!(s["status"], "missing", "{s}");
    assert!(
        s["status_reason"]
            .as_str()
            .unwrap()
            .contains("not this server's"),
        "{s}"
    );
}

#[test]
fn a_droplet_changed_in_the_control_panel_shows_it_without_a_click() {
    let p =
        Product::with_example_and_jobs_every_second(&[("SPIN_VARIABLE_SERVER_CHECK_SECONDS", "2")]);
    let account = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    let spec = json!({ "account_id": account, "subscription_id": SEED_TEAM, "region": "nyc3", "size": "s-1vcpu-1gb", "name": "watched", "ssh_public_key": SSH_KEY });
    let (status, op) = p.create_server(&spec.to_string(), "watch-droplet");
    assert_eq!(status, 202, "{op}");
    let server = op["server"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/servers/{server}");
    let s = p.wait_for(&path, 90, |v| v["status"] != "provisioning");
    assert_eq!(s["status"], "running", "{s}");
    let droplet: u64 = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r.as_str()?.strip_prefix("droplets/")?.parse().ok())
        .unwrap_or_else(|| panic!("the server names its droplet: {s}"));
    let power = |status: &str| {
        p.sim
            .command(Command::SetDropletStatus {
                droplet,
                status: status.into(),
            })
            .unwrap();
    };

    // Powered off in the control panel: stopped, in DigitalOcean's words.
    power("off");
    let s = p.wait_for(&path, 60, |v| v["status"] != "running");
    assert_eq!(s["status"], "stopped", "{s}");
    let reason = s["status_reason"].as_str().unwrap_or_default();
    assert!(!reason.is_empty() && !reason.contains("VM"), "{s}");
    assert_eq!(p.events("server.stopped", &server).len(), 1);

    // Powered on again: running, and the reason is gone.
    power("active");
    let s = p.wait_for(&path, 60, |v| v["status"] != "stopped");
    assert_eq!(s["status"], "running", "{s}");
    assert!(s.get("status_reason").is_none(), "{s}");
    assert_eq!(p.events("server.started", &server).len(), 1);

    // Destroyed in the control panel: missing, and said so once.
    p.sim.command(Command::DestroyDroplet { droplet }).unwrap();
    let s = p.wait_for(&path, 60, |v| v["status"] != "running");
    assert_eq!(s["status"], "missing", "{s}");
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(p.events("server.missing", &server).len(), 1);

    // Deleting the missing server ends it, and the team is left holding
    // nothing Skyport made for it.
    deletes(&p, &path);
    p.digitalocean_holds_only(&BTreeSet::new());
}
