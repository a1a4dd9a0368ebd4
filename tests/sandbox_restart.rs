//! `skyport up --sandbox` keeps its emulator world (and its port) across
//! restarts, even a SIGKILL: an account connected before is still Active
//! after, and its tokens still refresh.

mod support;

use std::time::Duration;

use support::product::product_app;
use support::{Host, Opts};

fn sandbox(dir: &std::path::Path, port: u16) -> Host {
    Host::start(
        dir,
        &Opts {
            listen: Some(format!("127.0.0.1:{port}")),
            args: vec!["--sandbox".into()],
            ..Opts::default()
        },
    )
}

fn emulator_url(host: &Host) -> String {
    let out = host.stdout();
    out.lines()
        .find_map(|l| l.strip_prefix("Sandbox: the Azure emulator serves "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the sandbox names its emulator")
        .to_string()
}

#[test]
fn a_restarted_sandbox_keeps_its_accounts_active() {
    let dir = product_app(|m| m.to_string());
    let port = support::free_port();
    let mut host = sandbox(dir.path(), port);
    // The first lines (emulator, API key) come before "Serving"; wait for them.
    std::thread::sleep(Duration::from_millis(200));
    let key = std::fs::read_to_string(dir.path().join(".spin").join("sandbox-api-key")).unwrap();
    let first_emulator = emulator_url(&host);

    // Connect an account through the sandbox's emulator, by hand.
    let auth = format!("Bearer {}", key.trim());
    let (status, started) = support::request(
        "POST",
        &format!("{}/api/v1/accounts/azure/connect", host.url),
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(status, 201, "{started}");
    let started: serde_json::Value = serde_json::from_str(&started).unwrap();
    let url = url::Url::parse(started["authorize_url"].as_str().unwrap()).unwrap();
    let mut fields: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    fields.push(("user".into(), sim::world::defaults::USERNAME.into()));
    fields.push(("decision".into(), "accept".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let consent = agent
        .post(&format!("{}{}", first_emulator, url.path()))
        .send_form(&pairs)
        .unwrap();
    let callback = consent.header("location").unwrap().to_string();
    let (_, page) = support::get(&callback);
    let claim = support::product::Product::claim_of(&page);
    let (status, claimed) = support::request(
        "POST",
        &format!("{}/api/v1/accounts/azure/claim", host.url),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &serde_json::json!({ "claim": claim }).to_string(),
    );
    assert_eq!(status, 201, "{claimed}");
    let id = serde_json::from_str::<serde_json::Value>(&claimed).unwrap()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The world is kept every second; then the host is killed and started again.
    std::thread::sleep(Duration::from_millis(2500));
    let _ = host.child.kill();
    let _ = host.child.wait();
    host = sandbox(dir.path(), port);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        emulator_url(&host),
        first_emulator,
        "the same emulator address"
    );

    // Re-checking calls the emulator with the kept tokens: still Active.
    let (status, account) = support::request(
        "POST",
        &format!("{}/api/v1/accounts/{id}/refresh", host.url),
        &[("authorization", &auth)],
        "",
    );
    assert_eq!(status, 200, "{account}");
    let account: serde_json::Value = serde_json::from_str(&account).unwrap();
    assert_eq!(account["status"], "Active", "{account}");
}
