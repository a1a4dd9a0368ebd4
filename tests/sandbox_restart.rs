//! `skyport up --sandbox` keeps its emulator world (and its port) across
//! restarts, even a SIGKILL: an account connected before is still Active
//! after, and its tokens still refresh. With `--sandbox-tls` the emulator
//! serves https from an authority kept in the state directory, which the host
//! trusts, and which still verifies the emulator after a restart.

mod support;

use std::time::Duration;

use support::product::product_app;
use support::{Host, Opts};

fn sandbox(dir: &std::path::Path, port: u16, tls: bool) -> Host {
    let mut args = vec!["--sandbox".to_string()];
    if tls {
        args.push("--sandbox-tls".into());
    }
    Host::start(
        dir,
        &Opts {
            listen: Some(format!("127.0.0.1:{port}")),
            args,
            ..Opts::default()
        },
    )
}

/// Posts the emulator's sign-in form as a browser would (trusting `ca` when
/// the emulator serves https); where it sends the browser next.
fn accept(url: &str, fields: &[(String, String)], ca: Option<&str>) -> String {
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    match ca {
        Some(ca) => {
            let (status, headers, body) = support::https_request(
                "POST",
                url,
                ca,
                &[("content-type", "application/x-www-form-urlencoded")],
                &form,
            );
            assert_eq!(status, 302, "{body}");
            headers
                .into_iter()
                .find(|(k, _)| k == "location")
                .map(|(_, v)| v)
                .expect("a redirect")
        }
        None => {
            let agent = ureq::AgentBuilder::new().redirects(0).build();
            let consent = agent
                .post(url)
                .set("content-type", "application/x-www-form-urlencoded")
                .send_string(&form)
                .unwrap();
            consent.header("location").unwrap().to_string()
        }
    }
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
    restart_keeps_accounts(false);
}

#[test]
fn a_sandbox_served_over_https_is_trusted_and_stays_trusted() {
    restart_keeps_accounts(true);
}

fn restart_keeps_accounts(tls: bool) {
    let dir = product_app(|m| m.to_string());
    let port = support::free_port();
    let mut host = sandbox(dir.path(), port, tls);
    // The first lines (emulator, API key) come before "Serving"; wait for them.
    std::thread::sleep(Duration::from_millis(200));
    let state = dir.path().join(".spin");
    let key = std::fs::read_to_string(state.join("sandbox-api-key")).unwrap();
    let first_emulator = emulator_url(&host);
    let ca = tls.then(|| {
        assert!(
            first_emulator.starts_with("https://127.0.0.1:"),
            "{first_emulator}"
        );
        assert!(host.stdout().contains("Sandbox CA: "), "{}", host.stdout());
        std::fs::read_to_string(state.join("sandbox-ca.pem")).expect("the sandbox writes its CA")
    });
    #[cfg(unix)]
    for secret in ["sandbox-api-key", "sandbox-token-key"]
        .iter()
        .chain(tls.then_some(&"sandbox-ca-key.pem"))
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{secret} is readable by its owner only");
    }

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
    assert!(url.as_str().starts_with(&first_emulator), "{url}");
    let mut fields: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    fields.push(("user".into(), sim::world::defaults::USERNAME.into()));
    fields.push(("decision".into(), "accept".into()));
    let callback = accept(
        &format!("{}{}", first_emulator, url.path()),
        &fields,
        ca.as_deref(),
    );
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
    host = sandbox(dir.path(), port, tls);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        emulator_url(&host),
        first_emulator,
        "the same emulator address"
    );
    if let Some(ca) = &ca {
        // The certificate users were told to trust still verifies the
        // restarted emulator, and it was not replaced.
        let discovery = format!(
            "{first_emulator}/{}/v2.0/.well-known/openid-configuration",
            sim::world::defaults::TENANT
        );
        let (status, _, body) = support::https_request("GET", &discovery, ca, &[], "");
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            &std::fs::read_to_string(state.join("sandbox-ca.pem")).unwrap(),
            ca
        );
    }

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
