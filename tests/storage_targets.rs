//! A backup target after its set-up: network rules that start refusing the
//! platform turn it `access_denied` with the remedy and an event, with
//! nobody calling the API; fixing them turns it `verified` again; Check now
//! checks at once; and Detach forgets the target while the storage account
//! and its container stay.

mod support;

use serde_json::{json, Value};
use sim::world::defaults::*;
use support::product::{Product, BOOTSTRAP_KEY};

/// Checks target `id` now.
fn check(p: &Product, id: &str) -> (u16, Value) {
    p.api(
        "POST",
        &format!("/api/v1/storage/targets/{id}/check"),
        BOOTSTRAP_KEY,
        "",
    )
}

/// The product checking targets every 2 s, with one verified target: the
/// product and the target.
fn verified_target() -> (Product, Value) {
    let p = Product::with_jobs_every_second(&[("SPIN_VARIABLE_STORAGE_CHECK_SECONDS", "2")]);
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let done = p.set_up_storage(&account, "skyporttarget01");
    assert_eq!(done["status"], "succeeded", "{done}");
    let target = done["target"].clone();
    assert_eq!(target["status"], "verified", "{target}");
    assert_eq!(target["checked_at"], target["verified_at"], "{target}");
    (p, target)
}

#[test]
fn a_target_the_network_rules_lock_out_shows_it_and_recovers() {
    let (p, target) = verified_target();
    let id = target["id"].as_str().unwrap();
    let path = format!("/api/v1/storage/targets/{id}");

    p.set_storage_network("Deny");
    let t = p.wait_for(&path, 60, |v| v["status"] != "verified");
    assert_eq!(t["status"], "access_denied", "{t}");
    assert!(
        t["status_reason"]
            .as_str()
            .unwrap()
            .starts_with("Storage access denied"),
        "{t}"
    );
    assert!(
        t["remedy"].as_str().unwrap().contains("allow all networks"),
        "{t}"
    );
    let denied = p.events("storage.access_denied", id);
    assert_eq!(denied.len(), 1, "one event for the change: {denied:?}");

    p.set_storage_network("Allow");
    let t = p.wait_for(&path, 60, |v| v["status"] == "verified");
    assert!(t["status_reason"].is_null() && t["remedy"].is_null(), "{t}");
    assert!(t["checked_at"].as_i64().unwrap() >= target["verified_at"].as_i64().unwrap());
    assert_eq!(
        p.events("storage.ready", id).len(),
        2,
        "ready at set-up and again now"
    );
    assert_eq!(
        p.events("storage.access_denied", id).len(),
        1,
        "no event without a change"
    );
}

#[test]
fn check_now_and_detach() {
    let p = Product::without_jobs(sim::World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let done = p.set_up_storage(&account, "skyporttarget02");
    let id = done["target"]["id"].as_str().unwrap().to_string();

    p.set_storage_network("Deny");
    let (status, t) = check(&p, &id);
    assert_eq!(
        (status, t["status"].as_str()),
        (200, Some("access_denied")),
        "{t}"
    );
    p.set_storage_network("Allow");
    let (status, t) = check(&p, &id);
    assert_eq!(
        (status, t["status"].as_str()),
        (200, Some("verified")),
        "{t}"
    );

    // The storage account deleted in the portal: the check fails with why,
    // and says so once.
    let kept = p.sim.with_state(|s| {
        let key = s
            .resources
            .iter()
            .find(|(_, r)| r.kind == "Microsoft.Storage/storageAccounts")
            .map(|(k, _)| k.clone())
            .unwrap();
        s.resources.remove(&key).map(|r| (key, r)).unwrap()
    });
    let (status, t) = check(&p, &id);
    assert_eq!(
        (status, t["status"].as_str()),
        (200, Some("check_failed")),
        "{t}"
    );
    assert!(
        t["status_reason"].is_string() && t["remedy"].is_string(),
        "{t}"
    );
    assert_eq!(p.events("storage.check_failed", &id).len(), 1);
    p.sim.with_state(|s| {
        s.resources.insert(kept.0.clone(), kept.1.clone());
    });
    let (_, t) = check(&p, &id);
    assert_eq!(t["status"], "verified", "{t}");

    // Another organization sees no such target.
    let other = p.new_org("Other");
    for (m, path) in [
        ("GET", format!("/api/v1/storage/targets/{id}")),
        ("POST", format!("/api/v1/storage/targets/{id}/check")),
        ("DELETE", format!("/api/v1/storage/targets/{id}")),
    ] {
        assert_eq!(p.api(m, &path, &other, "").0, 404, "{m} {path}");
    }

    let (status, d) = p.api(
        "DELETE",
        &format!("/api/v1/storage/targets/{id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["detached"]["id"], id.as_str());
    assert_eq!(
        p.api(
            "GET",
            &format!("/api/v1/storage/targets/{id}"),
            BOOTSTRAP_KEY,
            ""
        )
        .0,
        404
    );
    assert_eq!(
        p.api(
            "DELETE",
            &format!("/api/v1/storage/targets/{id}"),
            BOOTSTRAP_KEY,
            ""
        )
        .0,
        404
    );
    let (_, list) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(list["targets"], json!([]));
    assert_eq!(p.events("storage.detached", &id).len(), 1);
    // The storage account and its container are the user's and stay.
    let (_, accounts) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}/subscriptions/{SUBSCRIPTION}/storage/accounts"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(
        accounts["storage_accounts"][0]["name"], "skyporttarget02",
        "{accounts}"
    );
    assert_eq!(
        accounts["storage_accounts"][0]["containers"],
        json!(["backups"])
    );
}
