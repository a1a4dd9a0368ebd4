//! Safe storage steps ride out passing failures, at either provider: a 503
//! on reading keys (Azure's listKeys, DigitalOcean's Spaces keys) and a 500
//! (then a dropped connection) on the probe are retried, and the quick
//! setup still ends with access verified and one backup target. A set-up
//! whose start meets such a failure is not lost: it answers 202 and makes
//! its store later. A set-up that fails removes the store it made, and
//! only that.

mod support;

use support::clouds::{self, for_each_cloud, Cloud};
use support::product::BOOTSTRAP_KEY;

for_each_cloud!(
    reading_keys_and_the_probe_are_retried,
    a_setup_whose_start_fails_for_a_moment_goes_on,
    a_setup_that_fails_removes_what_it_created_and_only_that,
);

fn reading_keys_and_the_probe_are_retried(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    let blips = (cloud.storage_blips)(&p);
    let op = cloud.start_storage(&p, &account, &scope, "skyportretry1");
    let op = p.wait_storage(op["id"].as_str().unwrap());
    assert_eq!(op["status"], "succeeded", "{op}");
    let failed: Vec<String> = p
        .sim
        .requests()
        .iter()
        .filter(|r| r.status >= 500)
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    for words in blips {
        assert!(
            failed.iter().any(|f| f.contains(words)),
            "the failure on {words} happened: {failed:?}"
        );
    }
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"].as_array().unwrap().len(), 1);
    assert_eq!(targets["targets"][0]["status"], "verified", "{targets}");
}

fn a_setup_whose_start_fails_for_a_moment_goes_on(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    (cloud.blip_store_creation)(&p, "skyportblip1");
    // `start_storage` asserts the 202: the request is not refused.
    let op = cloud.start_storage(&p, &account, &scope, "skyportblip1");
    let done = p.wait_storage(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(
        p.sim.requests().iter().any(|r| r.status == 503),
        "the failure happened"
    );
    assert!((cloud.holds_store)(&p, "skyportblip1"));
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"].as_array().unwrap().len(), 1, "{targets}");
}

fn a_setup_that_fails_removes_what_it_created_and_only_that(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    // A store made before, which the failed set-up must leave alone.
    let op = cloud.start_storage(&p, &account, &scope, "skyportkept2");
    assert_eq!(
        p.wait_storage(op["id"].as_str().unwrap())["status"],
        "succeeded"
    );

    // The folder cannot be made: the set-up fails after making its store.
    (cloud.fail_next_folder)(&p);
    let op = cloud.start_storage(&p, &account, &scope, "skyportdoomed1");
    let op = p.wait_storage(op["id"].as_str().unwrap());
    assert_eq!(op["status"], "failed", "{op}");
    assert!(
        op["step"].as_str().unwrap().starts_with("Creating the")
            && op["step"].as_str().unwrap().ends_with(" failed"),
        "{op}"
    );
    // The undo follows the failure in the same run, which a poll may see
    // between the two.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (cloud.holds_store)(&p, "skyportdoomed1") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        !(cloud.holds_store)(&p, "skyportdoomed1"),
        "the store it made is removed"
    );
    assert!(
        (cloud.holds_store)(&p, "skyportkept2"),
        "a store it did not make stays"
    );
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    let names: Vec<&str> = targets["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["storage_account"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["skyportkept2"], "{targets}");
}
