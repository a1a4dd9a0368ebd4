//! ARM's authentication and authorization answers.

mod support;

use sim::world::defaults::*;
use sim::Command;
use support::*;

#[test]
fn tokens_are_checked() {
    let sim = start();
    let r = call(
        "GET",
        &format!("{}/subscriptions?{API}", sim.url),
        &[],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "AuthenticationFailed");
    let r = arm(&sim, "not.a.token", "GET", "/subscriptions", None);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "InvalidAuthenticationToken");
    // A token signed some other way (HS256 with a key of the forger's
    // choosing, the classic algorithm confusion), and a genuine token with
    // its claims changed: both refused.
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let claims = serde_json::json!({"aud": "https://management.azure.com", "tid": TENANT, "oid": USER, "exp": sim::state::now() + 600});
    let forged = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64(&claims.to_string()),
        b64("signature")
    );
    assert_eq!(
        arm(&sim, &forged, "GET", "/subscriptions", None).json()["error"]["code"],
        "InvalidAuthenticationToken"
    );
    let token = token(&sim);
    let parts: Vec<&str> = token.split('.').collect();
    let mut changed = sim::jwt::peek(&token).unwrap();
    changed["oid"] = serde_json::json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(&changed.to_string()), parts[2]);
    assert_eq!(
        arm(&sim, &tampered, "GET", "/subscriptions", None).json()["error"]["code"],
        "InvalidAuthenticationToken"
    );

    assert_eq!(arm(&sim, &token, "GET", "/subscriptions", None).status, 200);
    sim.command(Command::ExpireAccessTokens).unwrap();
    let r = arm(&sim, &token, "GET", "/subscriptions", None);
    assert_eq!(r.status, 401);
    let e = r.json();
    assert_eq!(e["error"]["code"], "ExpiredAuthenticationToken");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The access token expiry UTC time"),
        "{e}"
    );
}

#[test]
fn api_version_is_mandatory() {
    let sim = start();
    let token = token(&sim);
    let r = call(
        "GET",
        &format!("{}/subscriptions", sim.url),
        &[("authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "MissingApiVersionParameter");
}

#[test]
fn roles_decide_what_a_caller_may_do() {
    let sim = start();
    let token = token(&sim);
    let body = serde_json::json!({ "location": "eastus" });
    assert_eq!(
        arm(&sim, &token, "PUT", &rg("owner-rg"), Some(&body)).status,
        201
    );

    sim.command(Command::SetRole {
        user: USERNAME.into(),
        subscription: SUBSCRIPTION.into(),
        role: Some("Reader".into()),
    })
    .unwrap();
    assert_eq!(
        arm(&sim, &token, "GET", &rg("owner-rg"), None).status,
        200,
        "a Reader reads"
    );
    let r = arm(&sim, &token, "PUT", &rg("reader-rg"), Some(&body));
    assert_eq!(r.status, 403);
    let e = r.json();
    assert_eq!(e["error"]["code"], "AuthorizationFailed");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("with object id '{USER}'")),
        "{message}"
    );
    assert!(
        message.contains("'Microsoft.Resources/subscriptions/resourceGroups/write'"),
        "{message}"
    );
    assert!(
        message.contains(&format!("over scope '/subscriptions/{SUBSCRIPTION}'")),
        "{message}"
    );
    let p = arm(
        &sim,
        &token,
        "GET",
        &format!("{}/providers/Microsoft.Authorization/permissions", sub()),
        None,
    )
    .json();
    assert_eq!(p["value"][0]["actions"][0], "*/read");

    sim.command(Command::SetRole {
        user: USERNAME.into(),
        subscription: SUBSCRIPTION.into(),
        role: None,
    })
    .unwrap();
    assert_eq!(arm(&sim, &token, "GET", &rg("owner-rg"), None).status, 403);
    assert_eq!(
        arm(&sim, &token, "GET", "/subscriptions", None).json()["value"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "no role, no subscription listed"
    );
    let p = arm(
        &sim,
        &token,
        "GET",
        &format!("{}/providers/Microsoft.Authorization/permissions", sub()),
        None,
    );
    assert_eq!(p.status, 200);
    assert_eq!(p.json()["value"], serde_json::json!([]));
}

#[test]
fn disabled_subscriptions_are_read_only() {
    let sim = start();
    let token = token(&sim);
    sim.command(Command::SetSubscriptionState {
        subscription: SUBSCRIPTION.into(),
        state: "Disabled".into(),
    })
    .unwrap();
    assert_eq!(
        arm(&sim, &token, "GET", &sub(), None).json()["state"],
        "Disabled"
    );
    let r = arm(
        &sim,
        &token,
        "PUT",
        &rg("x"),
        Some(&serde_json::json!({ "location": "eastus" })),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"]["code"], "ReadOnlyDisabledSubscription");
}
