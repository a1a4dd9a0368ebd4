//! Ten clients polling one storage setup at once end it once: exactly one
//! backup target, and the operation's answer is the same for all of them.

mod support;

use sim::world::defaults::*;
use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

#[test]
fn parallel_polls_make_exactly_one_backup_target() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let op = p.start_storage(&account, "skyportpolls1", serde_json::Value::Null);
    assert_eq!(
        op["status"], "running",
        "the account is still being created: {op}"
    );
    let id = op["id"].as_str().unwrap().to_string();
    let url = format!("{}/api/v1/storage/operations/{id}", p.host.url);
    std::thread::scope(|scope| {
        for _ in 0..10 {
            scope.spawn(|| {
                let auth = format!("Bearer {BOOTSTRAP_KEY}");
                for _ in 0..40 {
                    let (status, text) =
                        support::request("GET", &url, &[("authorization", &auth)], "");
                    assert_eq!(status, 200, "{text}");
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    if v["status"] != "running" {
                        assert_eq!(v["status"], "succeeded", "{v}");
                        return;
                    }
                }
                panic!("the setup never finished");
            });
        }
    });
    let (_, targets) = p.api("GET", "/api/v1/storage/targets", BOOTSTRAP_KEY, "");
    assert_eq!(targets["targets"].as_array().unwrap().len(), 1, "{targets}");
}
