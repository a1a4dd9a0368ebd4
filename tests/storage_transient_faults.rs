//! Safe storage steps ride out passing failures: a 503 on listKeys and a 500
//! (then a dropped connection) on the probe blob are retried, and the quick
//! setup still ends with access verified and one backup target.

mod support;

use serde_json::json;
use sim::state::Fault;
use sim::world::defaults::*;
use sim::{Command, World};
use support::product::{Product, BOOTSTRAP_KEY};

fn once(path: &str, method: &str, status: Option<u16>, drop_connection: bool) -> Command {
    Command::AddFault {
        fault: Fault {
            path: path.into(),
            method: Some(method.into()),
            status,
            count: Some(1),
            probability: None,
            latency_ms: None,
            drop_connection,
            retry_after: None,
        },
    }
}

#[test]
fn list_keys_and_the_probe_blob_are_retried() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    p.sim
        .command(once("/listKeys", "POST", Some(503), false))
        .unwrap();
    p.sim
        .command(once("skyport-access-check", "PUT", Some(500), false))
        .unwrap();
    p.sim
        .command(once("skyport-access-check", "GET", None, true))
        .unwrap();
    let op = p.set_up_storage(&account, "skyportretry1");
    assert_eq!(op["status"], "succeeded", "{op}");
    let failed: Vec<String> = p
        .sim
        .requests()
        .iter()
        .filter(|r| r.status >= 500)
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert!(
        failed.iter().any(|f| f.contains("listKeys")),
        "the 503 happened: {failed:?}"
    );
    assert!(
        failed.iter().any(|f| f.contains("skyport-access-check")),
        "the 500 happened: {failed:?}"
    );
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"].as_array().unwrap().len(), 1);
}

#[test]
fn a_setup_that_fails_removes_what_it_created_and_only_that() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    // The container cannot be made: the setup fails after creating the account.
    p.sim
        .command(once(
            "/blobServices/default/containers/",
            "PUT",
            Some(400),
            false,
        ))
        .unwrap();
    let op = p.start_storage(
        &account,
        "skyportdoomed1",
        json!({ "resource_group": "skyport-doomed" }),
    );
    let op = p.wait_storage(op["id"].as_str().unwrap());
    assert_eq!(op["status"], "failed", "{op}");
    assert_eq!(op["step"], "Creating the container failed", "{op}");
    let inventory = p.sim.inventory();
    assert!(
        !inventory.iter().any(|r| r["name"] == "skyportdoomed1"),
        "the account it made is removed: {inventory:?}"
    );
    assert!(
        !inventory
            .iter()
            .any(|r| r["name"] == "skyport-doomed" && r["provisioningState"] != "Deleting"),
        "the group it made is removed (or being deleted): {inventory:?}"
    );
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"], json!([]));
}
