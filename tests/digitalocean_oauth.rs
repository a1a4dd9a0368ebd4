//! A DigitalOcean account connected by OAuth: the sign-in on DigitalOcean's
//! authorization page for a chosen team, the account claimed by the client
//! that started it, its opaque token refreshed when it expires, a revoked
//! authorization turning the account Expired until it is reconnected — and a
//! token given to the same connect route still connecting by token.

mod support;

use serde_json::{json, Value};
use sim::digitalocean::{SEED_DOMAIN, SEED_TEAM, SEED_TOKEN};
use sim::World;
use support::product::{with_example, Product, BOOTSTRAP_KEY};

fn account(p: &Product, id: &str) -> Value {
    let (status, v) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{v}");
    v
}

/// The account's DNS zones (the team's domains), as the API lists them.
fn zones(p: &Product, id: &str) -> String {
    let (status, v) = p.api(
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{SEED_TEAM}/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{v}");
    v.to_string()
}

/// Token requests the emulator answered at DigitalOcean's token endpoint,
/// by grant type.
fn token_grants(p: &Product, grant: &str) -> usize {
    p.sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/oauth/token"))
        .filter(|r| r.grant.as_deref() == Some(grant) && r.status == 200)
        .count()
}

#[test]
fn a_team_connected_by_oauth_refreshes_expires_and_reconnects() {
    let p = Product::start_with_example(World::default());

    // Deny first: nothing is connected, and the page says so.
    let (_, outcome) = p.sign_in_digitalocean(None, SEED_TEAM, "deny");
    assert_eq!(outcome, "authorization_denied");

    let (html, outcome) = p.sign_in_digitalocean(None, SEED_TEAM, "authorize");
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, v) = p.claim_digitalocean(&html);
    assert_eq!(status, 201, "{v}");
    let a = &v["account"];
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["provider"], "digitalocean", "{a}");
    assert_eq!(a["status"], "Active", "{a}");
    assert_eq!(a["tenant_id"], SEED_TEAM, "{a}");
    assert_eq!(a["badges"], json!(["Compute", "Storage", "DNS"]), "{a}");
    assert_eq!(token_grants(&p, "authorization_code"), 1);

    // The OAuth token reaches the team's domains.
    assert!(zones(&p, &id).contains(SEED_DOMAIN));

    // Expired at DigitalOcean: the next use refreshes it, once, silently.
    p.sim
        .command(sim::admin::Command::ExpireDigitalOceanAccessTokens {
            team: SEED_TEAM.into(),
        })
        .unwrap();
    let (status, v) = p.refresh(&id);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "Active", "{v}");
    assert_eq!(token_grants(&p, "refresh_token"), 1);
    assert!(
        zones(&p, &id).contains(SEED_DOMAIN),
        "the refreshed token works"
    );

    // The customer removes Skyport under Authorized Applications: the
    // refresh is refused, and the account is Expired in DigitalOcean's words.
    p.sim
        .command(sim::admin::Command::RevokeDigitalOceanGrants {
            team: SEED_TEAM.into(),
        })
        .unwrap();
    let (status, v) = p.refresh(&id);
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "account_expired", "{v}");
    let a = account(&p, &id);
    assert_eq!(a["status"], "Expired", "{a}");
    assert!(
        a["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("DigitalOcean")),
        "{a}"
    );

    // Reconnected through the same page, it is the same account again.
    let (html, outcome) = p.sign_in_digitalocean(Some(&id), SEED_TEAM, "authorize");
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, v) = p.claim_digitalocean(&html);
    assert!(status == 200 || status == 201, "{status} {v}");
    assert_eq!(v["account"]["id"], id.as_str(), "{v}");
    assert_eq!(account(&p, &id)["status"], "Active");

    // The team is the account whichever way it signs in: its token given
    // at the same route finds the same account.
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        BOOTSTRAP_KEY,
        &json!({ "token": SEED_TOKEN }).to_string(),
    );
    assert_eq!(
        (status, v["account"]["id"].as_str()),
        (200, Some(id.as_str())),
        "{v}"
    );
}

#[test]
fn the_connect_route_takes_a_token_and_never_starts_a_sign_in_by_mistake() {
    let p = Product::start_with_example(World::default());
    // A body with a token goes to the sign-in by token.
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        BOOTSTRAP_KEY,
        &json!({ "token": SEED_TOKEN }).to_string(),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["outcome"], "connected", "{v}");
    assert_eq!(v["account"]["provider"], "digitalocean", "{v}");
    // A malformed token is still refused before anything is sent.
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        BOOTSTRAP_KEY,
        &json!({ "token": "dop_v1_short" }).to_string(),
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("invalid_token")),
        "{v}"
    );
    // A body that is neither empty nor a token never starts a sign-in: a
    // reconnect's account without its token, or something that is not JSON.
    for (body, code) in [
        (
            json!({ "account_id": "acc_x" }).to_string(),
            "missing_token",
        ),
        ("{\"token\": ".to_string(), "malformed_json"),
    ] {
        let (status, v) = p.api(
            "POST",
            "/api/v1/accounts/digitalocean/connect",
            BOOTSTRAP_KEY,
            &body,
        );
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    // Without an API key nothing is started, whichever way.
    for body in ["", r#"{"token": "x"}"#] {
        let (status, v) = p.api("POST", "/api/v1/accounts/digitalocean/connect", "", body);
        assert_eq!(status, 401, "{body}: {v}");
    }
}

#[test]
fn without_its_oauth_application_the_sign_in_says_to_use_a_token() {
    // The example's lines with the API pointed at the emulator, and the
    // OAuth application's variables left empty.
    let mut p = Product::start_with_manifest(World::default(), with_example);
    p.opts
        .env
        .push(("SPIN_VARIABLE_DIGITALOCEAN_API".into(), p.sim.url.clone()));
    p.restart();
    for body in ["", "{}"] {
        let (status, v) = p.api(
            "POST",
            "/api/v1/accounts/digitalocean/connect",
            BOOTSTRAP_KEY,
            body,
        );
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (409, Some("sign_in_not_configured")),
            "{v}"
        );
        assert!(
            v["error"]["remedy"].as_str().unwrap().contains("token"),
            "{v}"
        );
    }
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        BOOTSTRAP_KEY,
        &json!({ "token": SEED_TOKEN }).to_string(),
    );
    assert_eq!(status, 201, "a token still connects: {v}");
}
