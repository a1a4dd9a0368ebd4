//! Property-based fuzzing of the API's JSON bodies and of the sign-in
//! callback's query string against the real host and emulator: whatever a
//! caller sends, the answer is never a 5xx, the host never panics, and an
//! API refusal always carries the error envelope. `SKYPORT_FUZZ_CASES` sets
//! the number of cases (default 2,000; the closing run used 100,000).

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use sim::world::defaults::*;
use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

/// Pieces hostile input is made of.
const PIECES: &[&str] = &[
    "",
    "a",
    "web1",
    "eastus",
    "Standard_B2s",
    "backups",
    "rg",
    "/",
    "?",
    "#",
    "%",
    "%2F",
    "..",
    "../",
    "&",
    "=",
    "'",
    "\"",
    "<script>",
    "\0",
    "\u{7f}",
    "é",
    "🚀",
    "\u{202e}",
    " ",
    "\n",
    "https://evil.example/",
    "@",
    "*",
    "-",
    "_",
    ".",
    "0",
    "-1",
    "1e309",
    "null",
    "{",
    "[",
    "/subscriptions/",
    "/providers/Microsoft.Network/networkSecurityGroups/x",
    "?api-version=1",
];

/// The fields the API reads, and a few it does not.
const FIELDS: &[&str] = &[
    "account_id",
    "subscription_id",
    "region",
    "storage_account",
    "container",
    "resource_group",
    "zone_id",
    "name",
    "size",
    "ssh_public_key",
    "admin_username",
    "cloud_init",
    "ttl",
    "values",
    "server_id",
    "claim",
    "unknown",
    "",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|p| p.concat()),
        "\\PC{0,40}",
        (1usize..70_000).prop_map(|n| "x".repeat(n)),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// A request body: mostly objects with the API's field names, sometimes
/// other JSON, sometimes not JSON at all.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec((prop::sample::select(FIELDS), json()), 0..10).prop_map(|kv| {
            Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())
                .to_string()
                .into_bytes()
        }),
        2 => json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// Percent-encodes everything but unreserved characters.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn no_input_makes_the_api_fail_or_panic() {
    let cases: u32 = std::env::var("SKYPORT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(30))
        .build();
    let base = p.host.url.clone();
    let endpoints: Vec<(&str, String)> = vec![
        ("POST", "/api/v1/storage/setup".into()),
        ("POST", "/api/v1/servers".into()),
        ("POST", "/api/v1/dns/domains".into()),
        (
            "PUT",
            format!("/api/v1/dns/domains/{DNS_ZONE}/records/A/{{seg}}"),
        ),
        ("PUT", "/api/v1/dns/domains/{seg}/hostnames/www".into()),
        ("POST", "/api/v1/orgs".into()),
        ("POST", "/api/v1/accounts/azure/claim".into()),
        ("POST", "/api/v1/accounts/{seg}/refresh".into()),
        (
            "GET",
            format!(
                "/api/v1/accounts/{account}/subscriptions/{{seg}}/compute/sizes?region={{seg}}"
            ),
        ),
        ("GET", "/oauth/azure/callback?{query}".into()),
    ];
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..endpoints.len(),
        body(),
        text(),
        prop::collection::vec(
            (
                prop::sample::select(
                    &[
                        "state",
                        "code",
                        "error",
                        "error_description",
                        "error_subcode",
                        "x",
                    ][..],
                ),
                text(),
            ),
            0..5,
        ),
        any::<u64>(),
    );
    let count = std::sync::atomic::AtomicU64::new(0);
    runner
        .run(&strategy, |(which, body, seg, query, key)| {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (method, template) = &endpoints[which];
            let query: String = query
                .iter()
                .map(|(k, v)| format!("{k}={}", enc(v)))
                .collect::<Vec<_>>()
                .join("&");
            let path = template
                .replace("{seg}", &enc(&seg.chars().take(300).collect::<String>()))
                .replace("{query}", &query);
            let auth = format!("Bearer {BOOTSTRAP_KEY}");
            let req = agent
                .request(method, &format!("{base}{path}"))
                .set("authorization", &auth)
                .set("content-type", "application/json")
                .set("idempotency-key", &format!("fuzz-{key}"));
            let result = if *method == "GET" {
                req.call()
            } else {
                req.send_bytes(&body)
            };
            let (status, text) = match result {
                Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
                Err(e) => return Err(TestCaseError::fail(format!("{method} {path}: {e}"))),
            };
            if status >= 500 {
                return Err(TestCaseError::fail(format!(
                    "{method} {path} answered {status}: {}",
                    text.chars().take(400).collect::<String>()
                )));
            }
            // A client resolves `.`/`..` segments (also encoded ones) before
            // sending, so some paths leave every route: the host's plain 404.
            let unrouted = status == 404 && text.is_empty();
            if status >= 400 && path.starts_with("/api/") && status != 413 && !unrouted {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if !v["error"]["code"].is_string() || !v["error"]["remedy"].is_string() {
                    return Err(TestCaseError::fail(format!(
                        "{method} {path} answered {status} without the error envelope: {}",
                        text.chars().take(400).collect::<String>()
                    )));
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(!p.host.log().contains("panicked"), "the host panicked");
    println!(
        "api_fuzz: {} cases, no 5xx, no panic",
        count.load(std::sync::atomic::Ordering::Relaxed)
    );
}
