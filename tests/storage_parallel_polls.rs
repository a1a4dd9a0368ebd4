//! Ten clients polling one storage setup at once end it once: exactly one
//! backup target, and the operation's answer is the same for all of them,
//! at either provider.

mod support;

use std::time::{Duration, Instant};

use support::clouds::{self, for_each_cloud, Cloud};
use support::product::BOOTSTRAP_KEY;

for_each_cloud!(parallel_polls_make_exactly_one_backup_target);

fn parallel_polls_make_exactly_one_backup_target(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    (cloud.slow_storage)(&p, "skyportpolls1");
    let op = cloud.start_storage(&p, &account, &scope, "skyportpolls1");
    assert_eq!(
        op["status"], "running",
        "the store is still being set up: {op}"
    );
    let id = op["id"].as_str().unwrap().to_string();
    let url = format!("{}/api/v1/storage/operations/{id}", p.host.url);
    let ends: Vec<serde_json::Value> = std::thread::scope(|scope| {
        let pollers: Vec<_> = (0..10)
            .map(|_| {
                scope.spawn(|| {
                    let auth = format!("Bearer {BOOTSTRAP_KEY}");
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while Instant::now() < deadline {
                        let (status, text) =
                            support::request("GET", &url, &[("authorization", &auth)], "");
                        assert_eq!(status, 200, "{text}");
                        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                        if v["status"] != "running" {
                            assert_eq!(v["status"], "succeeded", "{v}");
                            return v;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    panic!("the setup never finished");
                })
            })
            .collect();
        pollers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Every poller that saw the end saw the same target.
    let target = &ends[0]["result"];
    assert!(ends.iter().all(|v| &v["result"] == target), "{ends:?}");
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"].as_array().unwrap().len(), 1, "{targets}");
}
