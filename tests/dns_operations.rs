//! A DNS change is an operation like any other: when Azure keeps throttling
//! it, the request answers 202 with the operation, which finishes later
//! instead of being lost; a replayed Idempotency-Key answers with the same
//! change, and a write resumed after it was already made is not a conflict.

mod support;

use serde_json::json;
use sim::state::Fault;
use sim::world::defaults::*;
use sim::{Command, World};
use support::product::{Product, BOOTSTRAP_KEY};

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

#[test]
fn a_throttled_dns_change_finishes_later_and_once() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (_, zones) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}/subscriptions/{SUBSCRIPTION}/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    let (status, d) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": account, "zone_id": zones["zones"][0]["id"] }).to_string(),
    );
    assert_eq!(status, 201, "{d}");

    // Azure throttles every record write for a while.
    p.sim
        .command(Command::AddFault {
            fault: Fault {
                path: "/A/api".into(),
                method: Some("PUT".into()),
                status: Some(429),
                count: None,
                probability: None,
                latency_ms: None,
                drop_connection: false,
                retry_after: Some(0),
            },
        })
        .unwrap();
    let path = format!("/api/v1/dns/domains/{DNS_ZONE}/records/A/api");
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

    // Azure recovers; the change goes through at the next try.
    p.sim.command(Command::ClearFaults).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let done = loop {
        let (status, v) = p.api(
            "GET",
            &format!("/api/v1/dns/operations/{id}"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 200, "{v}");
        if v["status"] != "running" {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "never finished: {v}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
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
