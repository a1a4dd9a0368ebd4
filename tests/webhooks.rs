//! Webhooks out: an organization's endpoint receives the events it
//! subscribed to, signed per Standard Webhooks — checked here by an
//! independent implementation (the `standardwebhooks` package from PyPI) —
//! is retried while it is down, dead-lettered when it stays down, and can be
//! redelivered; the activity feed shows the same events; a destination in a
//! blocked network is never reached.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sim::world::defaults::*;
use support::clouds::{for_each_cloud, Cloud};
use support::product::{server_spec, Product, BOOTSTRAP_KEY};

/// What a receiver got: each request's headers and body.
type Received = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

/// A webhook receiver on 127.0.0.1: keeps every request (headers and
/// body) and answers with the status it is set to.
struct Receiver {
    port: u16,
    answer: Arc<AtomicU16>,
    got: Received,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = Arc::new(AtomicU16::new(200));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (a, g) = (answer.clone(), got.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut seen = Vec::new();
                let mut buf = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i + 4);
                    }
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break None,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                };
                let Some(head_end) = head_end else { continue };
                let head = String::from_utf8_lossy(&seen[..head_end]).to_string();
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while seen.len() < head_end + len {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = String::from_utf8_lossy(&seen[head_end..]).to_string();
                let status = a.load(Ordering::SeqCst);
                if status == 200 {
                    g.lock().unwrap().push((headers, body));
                }
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver { port, answer, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/skyport", self.port)
    }

    /// Waits until a delivery of event type `kind` arrived; returns it.
    fn wait_for(&self, kind: &str, secs: u64) -> (Vec<(String, String)>, String) {
        self.wait_or(kind, secs, String::new)
    }

    /// [`Receiver::wait_for`], saying `why()` if it never comes.
    fn wait_or(
        &self,
        kind: &str,
        secs: u64,
        why: impl Fn() -> String,
    ) -> (Vec<(String, String)>, String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(hit) = self.got.lock().unwrap().iter().find(|(_, b)| {
                serde_json::from_str::<Value>(b)
                    .map(|v| v["type"] == kind)
                    .unwrap_or(false)
            }) {
                return hit.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no `{kind}` delivery arrived\n{}",
                why()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Verifies deliveries with the `standardwebhooks` package: one verdict
/// ("ok" or the error) per delivery.
fn verify(secret: &str, deliveries: &[(Vec<(String, String)>, String)]) -> Vec<String> {
    let input = json!({
        "secret": secret,
        "deliveries": deliveries.iter().map(|(h, b)| json!({ "headers": h.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(), "body": b })).collect::<Vec<_>>(),
    });
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
data = json.load(sys.stdin)
wh = Webhook(data["secret"])
for d in data["deliveries"]:
    try:
        wh.verify(d["body"], d["headers"])
        print("ok")
    except Exception as e:
        print("refused: %s" % e)
"#;
    support::standard_webhooks(script, &input)
        .lines()
        .map(str::to_string)
        .collect()
}

fn product() -> Product {
    Product::with_jobs_every_second(&[("SPIN_VARIABLE_WEBHOOK_RETRY_SCHEDULE", "1,1,1")])
}

fn deliveries(p: &Product, webhook: &str) -> Vec<Value> {
    let (status, v) = p.api(
        "GET",
        &format!("/api/v1/webhooks/{webhook}/deliveries"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{v}");
    v["deliveries"].as_array().unwrap().clone()
}

/// Waits until the newest delivery of `kind` has `status`.
fn wait_delivery(p: &Product, webhook: &str, kind: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let list = deliveries(p, webhook);
        if let Some(d) = list.iter().find(|d| d["event_type"] == kind) {
            if d["status"] == status {
                return d.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} delivery became {status}: {list:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

for_each_cloud!(a_servers_life_reaches_the_platform_signed);

/// What the platform hears of an account and a server, whichever provider
/// they are at: connected, ready and deleted, each signed.
fn a_servers_life_reaches_the_platform_signed(cloud: &Cloud) {
    let receiver = Receiver::start();
    let p = Product::with_example_and_jobs_every_second(&[(
        "SPIN_VARIABLE_WEBHOOK_RETRY_SCHEDULE",
        "1,1,1",
    )]);
    let (status, hook) = p.api(
        "POST",
        "/api/v1/webhooks",
        BOOTSTRAP_KEY,
        &json!({ "url": receiver.url(), "events": ["account.connected", "server.ready", "server.deleted"] }).to_string(),
    );
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    let (account, scope) = (cloud.connect)(&p);
    let done = cloud.provision(&p, &account, &scope, "hooked");
    let server = done["server_id"].as_str().unwrap().to_string();
    assert_eq!(p.delete_server(&server)["status"], "succeeded");
    let connected = receiver.wait_for("account.connected", 30);
    let ready = receiver.wait_for("server.ready", 30);
    let deleted = receiver.wait_for("server.deleted", 30);
    for (kind, (_, body)) in [("server.ready", &ready), ("server.deleted", &deleted)] {
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["data"]["id"], server.as_str(), "{kind}: {body}");
    }
    let verdicts = verify(&secret, &[connected, ready, deleted]);
    assert_eq!(verdicts, ["ok", "ok", "ok"], "{}", cloud.name);
}

#[test]
fn events_are_delivered_signed_retried_and_redelivered() {
    let receiver = Receiver::start();
    let p = product();
    let (status, hook) = p.api(
        "POST",
        "/api/v1/webhooks",
        BOOTSTRAP_KEY,
        &json!({ "url": receiver.url(), "events": ["account.connected", "server.ready", "dns.record_changed"], "description": "platform" }).to_string(),
    );
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let id = hook["id"].as_str().unwrap().to_string();
    // The secret is shown once.
    let (_, again) = p.api("GET", &format!("/api/v1/webhooks/{id}"), BOOTSTRAP_KEY, "");
    assert!(again.get("secret").is_none(), "{again}");
    // Unknown event types and bad URLs are refused.
    let (status, e) = p.api(
        "POST",
        "/api/v1/webhooks",
        BOOTSTRAP_KEY,
        &json!({ "url": receiver.url(), "events": ["server.exploded"] }).to_string(),
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("unknown_event_type"))
    );

    // Events happen; the jobs run delivers them.
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (_, op) = p.create_server(
        &server_spec(&account, "hooked", "westeurope", "Standard_B1s"),
        "wh-1",
    );
    assert_eq!(
        p.wait_operation(op["id"].as_str().unwrap())["status"],
        "succeeded"
    );
    let connected = receiver.wait_or("account.connected", 30, || {
        format!(
            "{:?}\n{}\n{}",
            deliveries(&p, &id),
            p.host.stdout(),
            p.host.log()
        )
    });
    let ready = receiver.wait_for("server.ready", 30);
    let body: Value = serde_json::from_str(&ready.1).unwrap();
    assert_eq!(body["data"]["name"], "hooked");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    let header =
        |h: &Vec<(String, String)>, k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert!(header(&ready.0, "webhook-id").unwrap().starts_with("evt_"));
    assert!(header(&ready.0, "webhook-signature")
        .unwrap()
        .starts_with("v1,"));
    // An independent implementation accepts the signatures, and refuses a
    // tampered body.
    let tampered = (ready.0.clone(), ready.1.replace("hooked", "hacked"));
    let verdicts = verify(&secret, &[connected, ready, tampered]);
    assert_eq!(verdicts[0], "ok", "{verdicts:?}");
    assert_eq!(verdicts[1], "ok", "{verdicts:?}");
    assert!(verdicts[2].starts_with("refused"), "{verdicts:?}");

    // The activity feed has the same events.
    let (status, feed) = p.api("GET", "/api/v1/events?kind=server", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{feed}");
    assert!(
        feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "server.ready"),
        "{feed}"
    );

    // The receiver is down: the delivery is retried, and arrives once it is back.
    p.choose_zone(&account);
    receiver.answer.store(503, Ordering::SeqCst);
    let (status, r) = p.api(
        "PUT",
        &format!("/api/v1/dns/domains/{DNS_ZONE}/records/A/hook1"),
        BOOTSTRAP_KEY,
        &json!({ "ttl": 60, "values": ["20.1.1.1"] }).to_string(),
    );
    assert_eq!(status, 200, "{r}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = deliveries(&p, &id);
        let d = list
            .iter()
            .find(|d| d["event_type"] == "dns.record_changed");
        if d.is_some_and(|d| d["attempts"].as_i64().unwrap_or(0) >= 2) {
            assert_eq!(d.unwrap()["last_status"], 503, "{list:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no retries: {list:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    receiver.answer.store(200, Ordering::SeqCst);
    let d = wait_delivery(&p, &id, "dns.record_changed", "delivered");
    assert!(d["attempts"].as_i64().unwrap() >= 3, "{d}");
    receiver.wait_for("dns.record_changed", 5);

    // Down for good: dead-lettered after the last retry, then redelivered.
    receiver.answer.store(500, Ordering::SeqCst);
    let (status, r) = p.api(
        "PUT",
        &format!("/api/v1/dns/domains/{DNS_ZONE}/records/A/hook2"),
        BOOTSTRAP_KEY,
        &json!({ "ttl": 60, "values": ["20.2.2.2"] }).to_string(),
    );
    assert_eq!(status, 200, "{r}");
    let deadline = Instant::now() + Duration::from_secs(40);
    let dead = loop {
        let list = deliveries(&p, &id);
        if let Some(d) = list
            .iter()
            .find(|d| d["status"] == "dead" && d["event_type"] == "dns.record_changed")
        {
            break d.clone();
        }
        assert!(Instant::now() < deadline, "never dead-lettered: {list:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(dead["attempts"], 4, "once and three retries: {dead}");
    receiver.answer.store(200, Ordering::SeqCst);
    let (status, again) = p.api(
        "POST",
        &format!(
            "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
            dead["id"].as_str().unwrap()
        ),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "delivered", "{again}");

    // A test event, on demand.
    let (status, t) = p.api(
        "POST",
        &format!("/api/v1/webhooks/{id}/test"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["status"], "delivered", "{t}");
    receiver.wait_for("webhook.test", 5);

    // Every body that arrived is what docs/openapi.json's `webhooks` says
    // (a JSON Schema validator from PyPI judges).
    let bodies: Vec<String> = receiver
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b.clone())
        .collect();
    let verdicts = as_described(&bodies);
    for kind in [
        "account.connected",
        "server.ready",
        "dns.record_changed",
        "webhook.test",
    ] {
        assert!(
            verdicts.contains(&format!("{kind}: ok")),
            "{kind}: {verdicts:?}"
        );
    }
    assert!(verdicts.iter().all(|v| v.ends_with(": ok")), "{verdicts:?}");
}

/// Checks delivered bodies against the API description's `webhooks`:
/// "<type>: ok" or what is wrong, one line per body.
fn as_described(bodies: &[String]) -> Vec<String> {
    let script = r#"
import json, sys
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
given = json.load(sys.stdin)
doc = given["doc"]
registry = Registry().with_resource("urn:skyport", Resource.from_contents(doc, default_specification=DRAFT202012))
for body in given["bodies"]:
    event = json.loads(body)
    kind = event.get("type")
    if kind not in doc["webhooks"]:
        print(f"{kind}: not among the described webhooks")
        continue
    pointer = "/webhooks/" + kind + "/post/requestBody/content/application~1json/schema"
    check = Draft202012Validator({"$ref": "urn:skyport#" + pointer}, registry=registry)
    wrong = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in check.iter_errors(event)]
    print(f"{kind}: " + ("ok" if not wrong else "; ".join(wrong)))
"#;
    let input = json!({ "doc": support::api_description(), "bodies": bodies });
    support::run_python(&support::schemathesis_python(), script, &input)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_destination_in_a_blocked_network_is_never_reached() {
    let receiver = Receiver::start();
    let mut p = product();
    let rc = p.dir.write(
        "runtime-config.toml",
        "[outbound_networking]\nblock_networks = [\"private\"]\n",
    );
    p.opts.runtime_config = Some(rc);
    p.restart();
    for url in [
        receiver.url(),
        // A name that resolves to a private address is refused the same way.
        format!("http://localhost:{}/hooks", receiver.port),
    ] {
        let (status, hook) = p.api(
            "POST",
            "/api/v1/webhooks",
            BOOTSTRAP_KEY,
            &json!({ "url": url, "events": ["*"] }).to_string(),
        );
        assert_eq!(status, 201, "{hook}");
        let (status, t) = p.api(
            "POST",
            &format!("/api/v1/webhooks/{}/test", hook["id"].as_str().unwrap()),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 200, "{t}");
        assert_eq!(
            t["status"], "pending",
            "it will be retried, never delivered: {t}"
        );
        assert!(
            t["last_error"]
                .as_str()
                .unwrap()
                .contains("DestinationIpProhibited"),
            "{t}"
        );
    }
    assert!(receiver.got.lock().unwrap().is_empty());
}

/// A change to an endpoint is all or nothing: a refused field leaves every
/// other field as it was.
#[test]
fn an_endpoint_changes_all_at_once_or_not_at_all() {
    let p = Product::start(sim::World::default());
    let (status, hook) = p.api(
        "POST",
        "/api/v1/webhooks",
        BOOTSTRAP_KEY,
        &json!({ "url": "https://hooks.example.com/a", "events": ["server.ready"] }).to_string(),
    );
    assert_eq!(status, 201, "{hook}");
    let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    for (body, code) in [
        (
            json!({ "url": "https://hooks.example.com/b", "events": ["no.such"] }),
            "unknown_event_type",
        ),
        (
            json!({ "description": "paused", "enabled": "no" }),
            "invalid_field",
        ),
    ] {
        let (status, e) = p.api("PATCH", &path, BOOTSTRAP_KEY, &body.to_string());
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (400, Some(code)),
            "{e}"
        );
    }
    let (_, same) = p.api("GET", &path, BOOTSTRAP_KEY, "");
    assert_eq!(same["url"], "https://hooks.example.com/a", "{same}");
    assert_eq!(same["events"], json!(["server.ready"]));
    assert_eq!(same["enabled"], true);
    assert_ne!(same["description"], "paused");

    let (status, changed) = p.api(
        "PATCH",
        &path,
        BOOTSTRAP_KEY,
        &json!({ "url": "https://hooks.example.com/b", "enabled": false, "description": "paused" })
            .to_string(),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["url"], "https://hooks.example.com/b");
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["description"], "paused");
    assert_eq!(
        changed["events"],
        json!(["server.ready"]),
        "unsent fields stay"
    );
}
