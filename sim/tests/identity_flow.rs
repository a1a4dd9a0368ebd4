//! The authorization code flow with PKCE, end to end, as a client drives it.

mod support;

use sim::world::defaults::*;
use support::*;

#[test]
fn code_pkce_flow_issues_tokens_with_the_claims_arm_needs() {
    let sim = start();
    // The consent page lists the permissions asked for and has Accept and Deny.
    let (verifier, challenge) = pkce();
    let q = format!(
        "client_id={CLIENT_ID}&response_type=code&redirect_uri={}&scope={}&state=xyz&code_challenge={challenge}&code_challenge_method=S256",
        sim::http::enc(REDIRECT),
        sim::http::enc(SCOPE)
    );
    let page = call(
        "GET",
        &format!("{}?{q}", sim.authorize_url("common")),
        &[],
        None,
    );
    assert_eq!(page.status, 200);
    for text in [
        "Access Azure Service Management as you",
        "Maintain access to data you have given it access to",
        "id=\"accept\"",
        "id=\"deny\"",
        USERNAME,
    ] {
        assert!(page.body.contains(text), "consent page lacks {text}");
    }

    let r = authorize(&sim, "common", USERNAME, "accept", &challenge, "xyz");
    assert_eq!(r.status, 302);
    assert!(r.header("location").unwrap().starts_with(REDIRECT));
    assert_eq!(r.param("state").as_deref(), Some("xyz"));
    let code = r.param("code").unwrap();

    let t = form(
        &sim.token_url("common"),
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(t.status, 200, "{}", t.body);
    let v = t.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(
        v["scope"],
        "https://management.azure.com/user_impersonation"
    );
    assert!(
        v["expires_in"].is_number() && v["ext_expires_in"].is_number(),
        "v2 returns numbers: {v}"
    );
    for k in ["access_token", "refresh_token", "id_token"] {
        assert!(v[k].is_string(), "{k} missing: {v}");
    }
    let claims = sim::jwt::peek(v["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["oid"], USER);
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["scp"], "user_impersonation");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    let id = sim::jwt::peek(v["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id["aud"], CLIENT_ID);
    assert_eq!(id["preferred_username"], USERNAME);

    // The access token works at ARM.
    let subs = arm(
        &sim,
        v["access_token"].as_str().unwrap(),
        "GET",
        "/subscriptions",
        None,
    );
    assert_eq!(subs.status, 200);
    assert_eq!(subs.json()["value"][0]["subscriptionId"], SUBSCRIPTION);
}

#[test]
fn refresh_returns_a_new_refresh_token_and_a_fresh_access_token() {
    let sim = start();
    let first = sign_in(&sim, USERNAME);
    let rt = first["refresh_token"].as_str().unwrap();
    let r = form(
        &sim.token_url("common"),
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let second = r.json();
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "refresh rotates the refresh token"
    );
    assert_ne!(second["access_token"], first["access_token"]);
    // Client auth by HTTP Basic works too, and against the tenant's own authority.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{CLIENT_ID}:{}", sim::http::enc(CLIENT_SECRET)),
    );
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        sim::http::enc(second["refresh_token"].as_str().unwrap())
    );
    let r = call(
        "POST",
        &sim.token_url(TENANT),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &format!("Basic {basic}")),
        ],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let grants: Vec<_> = sim.requests().into_iter().filter_map(|l| l.grant).collect();
    assert_eq!(
        grants,
        vec!["authorization_code", "refresh_token", "refresh_token"]
    );
}

#[test]
fn response_modes_and_loopback_ports() {
    let sim = start();
    let (_, challenge) = pkce();
    // Any port on a registered loopback redirect URI is accepted.
    let redirect = "http://localhost:49152/oauth/azure/callback";
    let q = [
        ("client_id", CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", redirect),
        ("scope", SCOPE),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("response_mode", "form_post"),
        ("user", USERNAME),
        ("decision", "accept"),
    ];
    let r = form(&sim.authorize_url("organizations"), &q);
    assert_eq!(
        r.status, 200,
        "form_post answers with an auto-submitting form"
    );
    assert!(
        r.body.contains(&format!("action=\"{redirect}\"")) && r.body.contains("name=\"code\""),
        "{}",
        r.body
    );
}
