//! A DNS change is an operation like any other, at either provider: when
//! the provider keeps throttling it, the request answers 202 with the
//! operation, which finishes later instead of being lost; a replayed
//! Idempotency-Key answers with the same change, and a write resumed after
//! it was already made is not a conflict.

mod support;

use serde_json::json;
use sim::Command;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(a_throttled_dns_change_finishes_later_and_once);

fn put(p: &Product, path: &str, body: &str, key: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {BOOTSTRAP_KEY}");
    let (status, text) = support::request(
        "PUT",
        &format!("{}{path}", p.host.url),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("idempotency-key", key),
            ("if-none-match", "*"),
        ],
        body,
    );
    (status, serde_json::from_str(&text).unwrap())
}

fn a_throttled_dns_change_finishes_later_and_once(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);
    let zone = cloud.choose_domain(&p, &account, &scope);

    // The provider throttles every record write for a while.
    (cloud.throttle_record_writes)(&p, &zone, "api");
    let path = format!("/api/v1/dns/domains/{zone}/records/A/api");
    let body = json!({ "ttl": 60, "values": ["20.9.9.9"] }).to_string();
    let (status, op) = put(&p, &path, &body, "dns-1");
    assert_eq!(status, 202, "{op}");
    assert_eq!(op["status"], "running");
    assert_eq!(op["kind"], "dns_record");
    assert_eq!(op["last_error"]["code"], "throttled", "{op}");
    let id = op["id"].as_str().unwrap().to_string();
    // The same key is the same change, still waiting.
    let (status, again) = put(&p, &path, &body, "dns-1");
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["id"], op["id"]);

    // The provider recovers; the change goes through at the next try.
    p.sim.command(Command::ClearFaults).unwrap();
    let done = p.wait_dns(&id);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["values"][0], "20.9.9.9");
    // A replay now answers with the written record, not a conflict.
    let (status, r) = put(&p, &path, &body, "dns-1");
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["values"][0], "20.9.9.9");
    assert_eq!(r["operation_id"], id.as_str());
    // A new key for the same create-only write is refused: it exists now.
    let (status, e) = put(&p, &path, &body, "dns-2");
    assert_eq!(status, 412, "{e}");
    assert_eq!(e["error"]["code"], "record_changed");
}
