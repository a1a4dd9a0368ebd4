//! A backup target after its set-up, at either provider: a store that
//! starts refusing the platform (Azure's network rules denying, a Space
//! refusing writes) turns the target `access_denied` or `check_failed` with
//! the provider's remedy and an event, with nobody calling the API; fixing
//! it turns the target `verified` again; Check now checks at once; and
//! Detach forgets the target while the store and its folder stay.

mod support;

use serde_json::{json, Value};
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{jobs_yearly, Product, BOOTSTRAP_KEY};

for_each_cloud!(
    a_target_its_store_locks_out_shows_it_and_recovers,
    check_now_and_detach,
);

/// Checks target `id` now.
fn check(p: &Product, id: &str) -> (u16, Value) {
    p.api(
        "POST",
        &format!("/api/v1/storage/targets/{id}/check"),
        BOOTSTRAP_KEY,
        "",
    )
}

/// Sets up the store `name` through a connected account: the account, its
/// scope and the verified target.
fn verified_target(p: &Product, cloud: &Cloud, name: &str) -> (String, String, Value) {
    let (account, scope) = (cloud.connect)(p);
    let op = cloud.start_storage(p, &account, &scope, name);
    let done = p.wait_storage(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let (status, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{targets}");
    let target = targets["targets"][0].clone();
    assert_eq!(target["status"], "verified", "{target}");
    assert_eq!(target["checked_at"], target["verified_at"], "{target}");
    (account, scope, target)
}

fn a_target_its_store_locks_out_shows_it_and_recovers(cloud: &Cloud) {
    let p = Product::with_example_and_jobs_every_second(&[(
        "SPIN_VARIABLE_STORAGE_CHECK_SECONDS",
        "2",
    )]);
    let name = "skyporttarget01";
    let (_, _, target) = verified_target(&p, cloud, name);
    let id = target["id"].as_str().unwrap();
    let path = format!("/api/v1/storage/targets/{id}");
    let out = &cloud.locked_out;

    (cloud.lock_out_storage)(&p, name, true);
    let t = p.wait_for(&path, 60, |v| v["status"] != "verified");
    assert_eq!(t["status"], out.status, "{t}");
    assert!(
        t["status_reason"].as_str().unwrap().starts_with(out.reason),
        "{t}"
    );
    assert!(t["remedy"].as_str().unwrap().contains(out.remedy), "{t}");
    let events = p.events(out.event, id);
    assert_eq!(events.len(), 1, "one event for the change: {events:?}");

    (cloud.lock_out_storage)(&p, name, false);
    let t = p.wait_for(&path, 60, |v| v["status"] == "verified");
    assert!(t["status_reason"].is_null() && t["remedy"].is_null(), "{t}");
    assert!(t["checked_at"].as_i64().unwrap() >= target["verified_at"].as_i64().unwrap());
    assert_eq!(
        p.events("storage.ready", id).len(),
        2,
        "ready at set-up and again now"
    );
    assert_eq!(
        p.events(out.event, id).len(),
        1,
        "no event without a change"
    );
}

fn check_now_and_detach(cloud: &Cloud) {
    let p = clouds::start(jobs_yearly);
    let name = "skyporttarget02";
    let (account, scope, target) = verified_target(&p, cloud, name);
    let id = target["id"].as_str().unwrap().to_string();

    (cloud.lock_out_storage)(&p, name, true);
    let (status, t) = check(&p, &id);
    assert_eq!(
        (status, t["status"].as_str()),
        (200, Some(cloud.locked_out.status)),
        "{t}"
    );
    (cloud.lock_out_storage)(&p, name, false);
    let (status, t) = check(&p, &id);
    assert_eq!(
        (status, t["status"].as_str()),
        (200, Some("verified")),
        "{t}"
    );

    // The store deleted in the portal: the check fails with why, and says
    // so once.
    let failed_before = p.events("storage.check_failed", &id).len();
    let put_back = (cloud.remove_store)(&p, name);
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
    assert_eq!(
        p.events("storage.check_failed", &id).len(),
        failed_before + 1
    );
    put_back(&p);
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

    let target_path = format!("/api/v1/storage/targets/{id}");
    let (status, d) = p.api("DELETE", &target_path, BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["detached"]["id"], id.as_str());
    assert_eq!(p.api("GET", &target_path, BOOTSTRAP_KEY, "").0, 404);
    assert_eq!(p.api("DELETE", &target_path, BOOTSTRAP_KEY, "").0, 404);
    let (_, list) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(list["targets"], json!([]));
    assert_eq!(p.events("storage.detached", &id).len(), 1);
    // The store and its folder are the user's and stay.
    let store = cloud.store(&p, &account, &scope, name);
    assert_eq!(store["containers"], json!(["backups"]), "{store}");
}
