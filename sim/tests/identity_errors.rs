//! Every identity failure the product must handle, with the wire shapes of
//! the real identity platform.

mod support;

use sim::state::{Revocation, SignInOutcome};
use sim::world::defaults::*;
use sim::Command;
use support::*;

fn assert_token_error(r: &Reply, status: u16, error: &str, code: u32) {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"], error, "{v}");
    assert_eq!(v["error_codes"][0], code, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}:")),
        "{v}"
    );
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(v[k].is_string(), "{k} missing: {v}");
    }
}

#[test]
fn pages_for_unknown_apps_and_mismatched_redirects() {
    let sim = start();
    let r = call("GET", &format!("{}?client_id=00000000-0000-0000-0000-000000000000&response_type=code&redirect_uri=x&scope=openid", sim.authorize_url("common")), &[], None);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("AADSTS700016"), "{}", r.body);
    let r = call(
        "GET",
        &format!(
            "{}?client_id={CLIENT_ID}&response_type=code&redirect_uri={}&scope=openid",
            sim.authorize_url("common"),
            sim::http::enc("https://evil.example/cb")
        ),
        &[],
        None,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("AADSTS50011"),
        "no redirect on a mismatched URI: {}",
        r.body
    );
    assert!(r.header("location").is_none());
}

#[test]
fn deny_and_scripted_deny_return_access_denied_with_cancel() {
    let sim = start();
    let (_, challenge) = pkce();
    let r = authorize(&sim, "common", USERNAME, "deny", &challenge, "st");
    assert_eq!(r.param("error").as_deref(), Some("access_denied"));
    assert_eq!(r.param("error_subcode").as_deref(), Some("cancel"));
    assert_eq!(r.param("state").as_deref(), Some("st"));
    assert!(r.param("code").is_none());
    sim.command(Command::NextSignIn {
        outcome: SignInOutcome::Deny,
    })
    .unwrap();
    let r = authorize(&sim, "common", USERNAME, "accept", &challenge, "st");
    assert_eq!(r.param("error").as_deref(), Some("access_denied"));
    assert!(r
        .param("error_description")
        .unwrap()
        .starts_with("AADSTS65004"));
}

#[test]
fn admin_consent_required_until_an_admin_consents() {
    let sim = start();
    sim.command(Command::RequireAdminConsent {
        tenant: TENANT.into(),
        required: true,
    })
    .unwrap();
    let (_, challenge) = pkce();
    let r = authorize(&sim, "common", USERNAME, "accept", &challenge, "st");
    assert_eq!(
        r.status, 200,
        "Microsoft shows its 'Need admin approval' page"
    );
    assert!(
        r.body.contains("Need admin approval") && r.body.contains("AADSTS90094"),
        "{}",
        r.body
    );
    let back = r
        .body
        .split("id=\"return\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let params: Vec<(String, String)> = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("error").as_deref(), Some("access_denied"));
    assert!(get("error_description").unwrap().starts_with("AADSTS90094"));

    // The admin consents for the tenant; the user can then sign in.
    let page = call(
        "GET",
        &format!(
            "{}/{TENANT}/v2.0/adminconsent?client_id={CLIENT_ID}&redirect_uri={}&state=a",
            sim.url,
            sim::http::enc(REDIRECT)
        ),
        &[],
        None,
    );
    assert_eq!(page.status, 200);
    let r = form(
        &format!("{}/{TENANT}/v2.0/adminconsent", sim.url),
        &[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("state", "a"),
            ("decision", "accept"),
            ("scope", "https://management.azure.com/user_impersonation"),
        ],
    );
    assert_eq!(r.param("admin_consent").as_deref(), Some("True"));
    assert_eq!(r.param("tenant").as_deref(), Some(TENANT));
    let r = authorize(&sim, "common", USERNAME, "accept", &challenge, "st");
    assert!(r.param("code").is_some(), "{}", r.body);
}

#[test]
fn code_redemption_errors() {
    let sim = start();
    let (verifier, challenge) = pkce();
    let code = authorize(&sim, "common", USERNAME, "accept", &challenge, "s")
        .param("code")
        .unwrap();
    let redeem = |code: &str, verifier: &str, secret: &str| {
        form(
            &sim.token_url("common"),
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", secret),
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
    };
    assert_token_error(
        &redeem(&code, "wrong-verifier", CLIENT_SECRET),
        400,
        "invalid_grant",
        501481,
    );
    assert_token_error(
        &redeem(&code, &verifier, "not-the-secret"),
        401,
        "invalid_client",
        7000215,
    );
    let r = form(
        &sim.token_url("common"),
        &[
            ("client_id", CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    );
    assert_token_error(&r, 401, "invalid_client", 7000218);
    assert_eq!(redeem(&code, &verifier, CLIENT_SECRET).status, 200);
    assert_token_error(
        &redeem(&code, &verifier, CLIENT_SECRET),
        400,
        "invalid_grant",
        54005,
    );

    // An expired code (codes live ten minutes).
    let code = authorize(&sim, "common", USERNAME, "accept", &challenge, "s")
        .param("code")
        .unwrap();
    sim.with_state(|s| s.codes.get_mut(&code).unwrap().expires = sim::state::now() - 1);
    assert_token_error(
        &redeem(&code, &verifier, CLIENT_SECRET),
        400,
        "invalid_grant",
        70008,
    );
    let r = form(
        &sim.token_url("common"),
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "password"),
        ],
    );
    assert_token_error(&r, 400, "unsupported_grant_type", 70003);
}

#[test]
fn revoked_grants_fail_refresh_with_the_reason() {
    for (reason, code) in [
        (Revocation::PasswordChange, 50173),
        (Revocation::MfaRequired, 50076),
        (Revocation::MfaRegistration, 50079),
        (Revocation::Expired, 700082),
        (Revocation::MfaExpired, 50078),
        (Revocation::SignInFrequency, 70043),
        (Revocation::ConditionalAccess, 53003),
    ] {
        let sim = start();
        let t = sign_in(&sim, USERNAME);
        sim.command(Command::Revoke {
            user: USERNAME.into(),
            reason,
        })
        .unwrap();
        let r = form(
            &sim.token_url("common"),
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ],
        );
        assert_token_error(&r, 400, "invalid_grant", code);
        // Signing in again gives a grant that works.
        let fresh = sign_in(&sim, USERNAME);
        let r = form(
            &sim.token_url("common"),
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("grant_type", "refresh_token"),
                ("refresh_token", fresh["refresh_token"].as_str().unwrap()),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
}
