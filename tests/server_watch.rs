//! Servers changed outside Skyport: a VM deallocated, started again, or its
//! whole group deleted in the portal turns the server `stopped`, `running`
//! and `missing` with nobody calling the API — each with Azure's reason and
//! its event — and a missing server is then deleted cleanly.

mod support;

use serde_json::Value;
use sim::world::defaults::*;
use sim::Command;
use support::product::{server_spec, vm_of, Product, BOOTSTRAP_KEY};

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
    let (status, del) = p.api("DELETE", &path, BOOTSTRAP_KEY, "");
    assert_eq!(status, 202, "{del}");
    let done = p.wait_operation(del["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, s) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(s["status"], "deleted", "{s}");
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
