//! Two providers in one deployment, added by spin.toml alone: the real
//! spin.toml plus a second instance of every function for a provider
//! `acme` (the same plugins and emulator, its own id and words), as
//! docs/architecture.md lays out. Accounts of both are listed together;
//! a request about an acme account, made at the public routes, is answered
//! by the acme instances (service chaining), and the background work of
//! acme's rows is theirs too.

mod support;

use serde_json::Value;
use sim::world::defaults::*;
use sim::World;
use support::product::{server_spec, Product, BOOTSTRAP_KEY};

/// The functions spin.toml instantiates once per provider.
const FUNCTIONS: &[&str] = &["connect", "accounts", "servers", "storage", "dns"];

/// The real spin.toml with an `acme` instance of every function: the
/// sign-in routes of acme go to `connect-acme`, the others are private.
fn with_acme(manifest: &str) -> String {
    let mut out = manifest.to_string();
    for f in FUNCTIONS {
        let start = manifest
            .find(&format!("\n[component.{f}]\n"))
            .unwrap_or_else(|| panic!("spin.toml has no component {f}"));
        let rest = &manifest[start + 1..];
        let end = rest
            .match_indices("\n[component.")
            .map(|(i, _)| i + 1)
            .find(|i| !rest[*i..].starts_with(&format!("[component.{f}.")))
            .unwrap_or(rest.len());
        let block = rest[..end]
            .replace(&format!("[component.{f}"), &format!("[component.{f}-acme"))
            .replace("provider = \"azure\"", "provider = \"acme\"")
            .replace("provider_name = \"Azure\"", "provider_name = \"Acme\"")
            .replace(
                "provider_title = \"Microsoft Azure\"",
                "provider_title = \"Acme Cloud\"",
            );
        assert!(block.contains("provider = \"acme\""), "{block}");
        out.push('\n');
        out.push_str(&block);
        if *f != "connect" {
            out.push_str(&format!(
                "\n[[trigger.http]]\nroute = {{ private = true }}\ncomponent = \"{f}-acme\"\n"
            ));
        }
    }
    for route in [
        "/api/v1/accounts/acme/connect",
        "/api/v1/accounts/acme/claim",
        "/oauth/acme/...",
    ] {
        out.push_str(&format!(
            "\n[[trigger.http]]\nroute = \"{route}\"\ncomponent = \"connect-acme\"\n"
        ));
    }
    out
}

/// Waits (up to 40 s: the jobs run every 10) for the host's log to hold
/// `needle`.
fn logged(p: &Product, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while !p.host.log().contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "the log never held `{needle}`:\n{}",
            p.host.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Connects `user` through `provider`'s sign-in; the account.
fn connect(p: &Product, provider: &str, user: &str) -> Value {
    let (status, started) = p.api(
        "POST",
        &format!("/api/v1/accounts/{provider}/connect"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 201, "{started}");
    assert!(
        started["popup_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/oauth/{provider}/start?state=")),
        "{started}"
    );
    let url = started["authorize_url"].as_str().unwrap();
    assert!(
        url.contains(&format!("oauth%2F{provider}%2Fcallback")),
        "the sign-in comes back to {provider}'s callback: {url}"
    );
    let (status, html, outcome) = p.sign_in(url, user, "accept");
    assert_eq!((status, outcome.as_str()), (200, "signed_in"), "{html}");
    assert!(
        html.contains(&format!("\"provider\":\"{provider}\"")),
        "the popup tells the console which provider to claim at: {html}"
    );
    let claim = serde_json::json!({ "claim": Product::claim_of(&html) }).to_string();
    // A sign-in is claimed at the provider that started it, nowhere else.
    let other = if provider == "acme" { "azure" } else { "acme" };
    let (status, v) = p.api(
        "POST",
        &format!("/api/v1/accounts/{other}/claim"),
        BOOTSTRAP_KEY,
        &claim,
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("claim_not_found")),
        "{v}"
    );
    let (status, v) = p.api(
        "POST",
        &format!("/api/v1/accounts/{provider}/claim"),
        BOOTSTRAP_KEY,
        &claim,
    );
    assert_eq!(status, 201, "{v}");
    v["account"].clone()
}

#[test]
fn two_providers_serve_their_own_accounts_side_by_side() {
    let mut world = World::default();
    world.apps[0]
        .redirect_uris
        .push("http://127.0.0.1:3000/oauth/acme/callback".into());
    let p = Product::start_with_manifest(world, with_acme);

    // The same user signed in through each provider is two accounts, each
    // recording its provider.
    let azure = connect(&p, "azure", USERNAME);
    let acme = connect(&p, "acme", USERNAME);
    assert_eq!(
        (azure["provider"].as_str(), acme["provider"].as_str()),
        (Some("azure"), Some("acme"))
    );
    assert_ne!(azure["id"], acme["id"]);
    let (_, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    let mut providers: Vec<&str> = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["provider"].as_str().unwrap())
        .collect();
    providers.sort();
    assert_eq!(providers, ["acme", "azure"], "{list}");

    // A request about the acme account, at the public route, is answered by
    // accounts-acme, in acme's words.
    let acme_id = acme["id"].as_str().unwrap();
    let (status, a) = p.api(
        "POST",
        &format!("/api/v1/accounts/{acme_id}/refresh"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{a}");
    logged(
        &p,
        &format!("chained /api/v1/accounts/{acme_id}/refresh component=accounts-acme status=200"),
    );

    // Servers of both, provisioning at the same time; each is made, polled
    // and finished by its provider's servers instance.
    let azure_id = azure["id"].as_str().unwrap();
    let (s1, op1) = p.create_server(
        &server_spec(azure_id, "web-azure", "westeurope", "Standard_B2s"),
        "side-1",
    );
    let (s2, op2) = p.create_server(
        &server_spec(acme_id, "web-acme", "westeurope", "Standard_B2s"),
        "side-2",
    );
    assert_eq!((s1, s2), (202, 202), "{op1} {op2}");
    let op2_id = op2["id"].as_str().unwrap();
    let (done1, done2) = (
        p.wait_operation(op1["id"].as_str().unwrap()),
        p.wait_operation(op2_id),
    );
    assert_eq!(
        (done1["status"].as_str(), done2["status"].as_str()),
        (Some("succeeded"), Some("succeeded")),
        "{done1} {done2}"
    );
    let log = p.host.log();
    assert!(
        log.contains("chained /api/v1/servers component=servers-acme status=202"),
        "the acme server was created by servers-acme:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "chained /api/v1/operations/{op2_id} component=servers-acme"
        )),
        "the acme operation was polled by servers-acme"
    );
    let (_, servers) = p.api("GET", "/api/v1/servers", BOOTSTRAP_KEY, "");
    assert_eq!(servers["servers"].as_array().unwrap().len(), 2, "{servers}");

    // The server the path names decides, whatever account a body names.
    let acme_server = servers["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "web-acme")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = serde_json::json!({ "account_id": azure_id }).to_string();
    let (status, sizes) = p.api(
        "GET",
        &format!("/api/v1/servers/{acme_server}/sizes"),
        BOOTSTRAP_KEY,
        &body,
    );
    assert_eq!(status, 200, "{sizes}");
    logged(
        &p,
        &format!("chained /api/v1/servers/{acme_server}/sizes component=servers-acme status=200"),
    );

    // A provider that is not deployed is named in the answer, not served
    // by another provider's plugins.
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/nowhere/connect",
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 404, "{v}");

    // The background share of the acme rows is passed on to the acme
    // instances, and only theirs: a jobs run answers per provider.
    logged(
        &p,
        "chained /internal/jobs/servers component=servers-acme status=200",
    );
    logged(
        &p,
        "chained /internal/jobs/accounts component=accounts-acme status=200",
    );
}

#[test]
fn an_account_is_only_ever_served_by_its_own_provider() {
    let mut world = World::default();
    world.apps[0]
        .redirect_uris
        .push("http://127.0.0.1:3000/oauth/acme/callback".into());
    let mut p = Product::start_with_manifest(world, with_acme);
    let acme = connect(&p, "acme", USERNAME);
    let id = acme["id"].as_str().unwrap().to_string();

    // Another organization naming the account is answered as for an
    // account that does not exist, and not passed on.
    let other = p.new_org("Globex");
    let (status, v) = p.api(
        "POST",
        &format!("/api/v1/accounts/{id}/refresh"),
        &other,
        "",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    assert!(!p
        .host
        .log()
        .contains(&format!("chained /api/v1/accounts/{id}/refresh")));

    // The acme instances taken out of spin.toml: the account is still
    // listed, and a request about it names the missing component instead
    // of being served by Azure's plugins.
    let manifest = std::fs::read_to_string(support::root().join("spin.toml"))
        .unwrap()
        .replace(
            "target/wasm32-wasip2/wasm",
            &support::product::product_wasm_dir().display().to_string(),
        );
    p.dir.write("spin.toml", &manifest);
    p.restart();
    let (_, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(list["accounts"][0]["provider"], "acme", "{list}");
    let (status, v) = p.refresh(&id);
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "provider_not_served", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`accounts-acme`"),
        "{v}"
    );
    let (status, v) = p.create_server(
        &server_spec(&id, "web-1", "westeurope", "Standard_B2s"),
        "gone-1",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (503, Some("provider_not_served")),
        "{v}"
    );
    assert!(p
        .sim
        .inventory()
        .iter()
        .all(|r| r["type"] != "Microsoft.Compute/virtualMachines"));
}
