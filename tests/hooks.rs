//! Incoming hooks: a signed message (Standard Webhooks, signed here by the
//! `standardwebhooks` package from PyPI) runs the hook's action once; a bad
//! signature, a stale timestamp or a replayed webhook-id is refused and
//! acts on nothing, and every attempt shows in the activity feed. A hook
//! naming another organization's account or domain is refused when made.

mod support;

use serde_json::{json, Value};
use sim::world::defaults::*;
use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

/// Signs a message with the `standardwebhooks` package from PyPI.
fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let script = r#"
import json, sys, datetime
from standardwebhooks.webhooks import Webhook
d = json.load(sys.stdin)
ts = datetime.datetime.fromtimestamp(d["ts"], tz=datetime.timezone.utc)
print(Webhook(d["secret"]).sign(d["id"], ts, d["body"]))
"#;
    let input = json!({ "secret": secret, "id": id, "ts": timestamp, "body": body });
    support::standard_webhooks(script, &input)
        .trim()
        .to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn send(p: &Product, hook: &str, id: &str, ts: i64, signature: &str, body: &str) -> (u16, Value) {
    let ts = ts.to_string();
    let (status, text) = support::request(
        "POST",
        &format!("{}/hooks/{hook}", p.host.url),
        &[
            ("content-type", "application/json"),
            ("webhook-id", id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", signature),
        ],
        body,
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn make_hook(p: &Product, action: &str, params: Value) -> (String, String) {
    let (status, hook) = p.api(
        "POST",
        "/api/v1/hooks",
        BOOTSTRAP_KEY,
        &json!({ "action": action, "params": params }).to_string(),
    );
    assert_eq!(status, 201, "{hook}");
    assert!(hook["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/hooks/{}", hook["id"].as_str().unwrap())));
    (
        hook["id"].as_str().unwrap().to_string(),
        hook["secret"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_signed_message_acts_once_and_forgeries_act_never() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    p.choose_zone(&account);
    let (hook, secret) = make_hook(
        &p,
        "set_dns_record",
        json!({ "domain": DNS_ZONE, "type": "A", "name": "deploy", "values": ["20.0.0.1"] }),
    );

    let body = json!({ "values": ["20.0.0.9"] }).to_string();
    let t = now();
    let sig = sign(&secret, "msg_one", t, &body);
    let (status, v) = send(&p, &hook, "msg_one", t, &sig, &body);
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["status"], 200, "{v}");
    let records = || {
        let (_, r) = p.api(
            "GET",
            &format!("/api/v1/dns/domains/{DNS_ZONE}/records"),
            BOOTSTRAP_KEY,
            "",
        );
        r["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["name"] == "deploy")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(records()[0]["values"][0], "20.0.0.9");

    // The same message again: refused, nothing done.
    let (status, v) = send(&p, &hook, "msg_one", t, &sig, &body);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("replayed")),
        "{v}"
    );
    // A forged signature, and a message signed ten minutes ago.
    let other = json!({ "values": ["6.6.6.6"] }).to_string();
    let (status, v) = send(&p, &hook, "msg_two", t, &sig, &other);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("bad_signature")),
        "{v}"
    );
    let old = t - 600;
    let (status, v) = send(
        &p,
        &hook,
        "msg_three",
        old,
        &sign(&secret, "msg_three", old, &other),
        &other,
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("stale_timestamp")),
        "{v}"
    );
    let (status, v) = send(&p, &hook, "msg_four", t, "", &other);
    assert_eq!(status, 401, "{v}");
    assert_eq!(records()[0]["values"][0], "20.0.0.9", "no forgery acted");

    // Every attempt is in the activity feed.
    let (_, feed) = p.api(
        "GET",
        &format!("/api/v1/events?object={hook}"),
        BOOTSTRAP_KEY,
        "",
    );
    let kinds: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "hook.received").count(),
        1,
        "{feed}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "hook.refused").count(),
        4,
        "{feed}"
    );

    // A server hook: the message id is the Idempotency-Key, the name may vary.
    let (server_hook, server_secret) = make_hook(
        &p,
        "create_server",
        json!({ "account_id": account, "subscription_id": SUBSCRIPTION, "region": "westeurope", "size": "Standard_B1s",
                "name": "hooked", "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl hook@test" }),
    );
    let body = json!({ "name": "from-hook" }).to_string();
    let t = now();
    let (status, v) = send(
        &p,
        &server_hook,
        "msg_server",
        t,
        &sign(&server_secret, "msg_server", t, &body),
        &body,
    );
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["status"], 202, "{v}");
    assert_eq!(v["result"]["server"]["name"], "from-hook", "{v}");
    let done = p.wait_operation(v["result"]["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");

    // A recheck hook.
    let (recheck, recheck_secret) =
        make_hook(&p, "recheck_account", json!({ "account_id": account }));
    let t = now();
    let (status, v) = send(
        &p,
        &recheck,
        "msg_check",
        t,
        &sign(&recheck_secret, "msg_check", t, "{}"),
        "{}",
    );
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["result"]["status"], "Active", "{v}");

    // Unknown actions are refused when the hook is made.
    let (status, e) = p.api(
        "POST",
        "/api/v1/hooks",
        BOOTSTRAP_KEY,
        &json!({ "action": "drop_tables", "params": {} }).to_string(),
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("unknown_action")),
        "{e}"
    );
}

#[test]
fn a_hook_naming_another_organizations_account_or_domain_is_refused() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    p.choose_zone(&account);
    let theirs = p.new_org("other");
    for (action, params) in [
        ("recheck_account", json!({ "account_id": account })),
        (
            "set_dns_record",
            json!({ "domain": DNS_ZONE, "type": "A", "name": "deploy", "values": ["20.0.0.1"] }),
        ),
        (
            "create_server",
            json!({ "account_id": account, "subscription_id": SUBSCRIPTION, "region": "westeurope",
                "size": "Standard_B1s", "name": "web", "ssh_public_key": "ssh-ed25519 AAAA x" }),
        ),
    ] {
        let body = json!({ "action": action, "params": params }).to_string();
        let (status, answer) = p.api("POST", "/api/v1/hooks", &theirs, &body);
        assert_eq!(status, 404, "{action}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found", "{answer}");
        // The organization that holds them makes the same hook.
        let (status, answer) = p.api("POST", "/api/v1/hooks", BOOTSTRAP_KEY, &body);
        assert_eq!(status, 201, "{action}: {answer}");
    }
    let (_, hooks) = p.api("GET", "/api/v1/hooks", &theirs, "");
    assert_eq!(hooks["hooks"], json!([]), "{hooks}");
}
