//! A sign-in lands only in the organization whose client started it: a
//! sign-in link sent to a victim ends in a claim only the starting client can
//! redeem, with its own key, from the window it opened; a refused callback
//! never spends a legitimate sign-in; the redirect URI comes from
//! configuration, never from the Host header; the callback page cannot be
//! framed, leaks no referrer and drops the code from history. A link sent
//! to a victim captures nothing, and a refused callback spends nothing, at
//! either provider.

mod support;

use std::io::{Read, Write};

use sim::World;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

fn state_of(authorize_url: &str) -> String {
    url::Url::parse(authorize_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

for_each_cloud!(
    a_sign_in_link_sent_to_a_victim_captures_nothing,
    a_refused_callback_does_not_spend_the_sign_in
);

fn a_sign_in_link_sent_to_a_victim_captures_nothing(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let oauth = &cloud.oauth;
    // Organization B starts a connection and sends the link to a victim.
    let attacker = p.new_org("Mallory Hosting");
    let url = (oauth.start)(&p, &attacker);
    // The victim signs in and accepts, in a browser holding no key of B.
    let (html, outcome) = (oauth.consent)(&p, &url);
    assert_eq!(outcome, "signed_in", "{html}");
    assert!(
        html.contains("return to the Skyport window"),
        "the victim is told nothing was connected here: {html}"
    );
    // B holds nothing: no account, no zones.
    let (_, list) = p.api("GET", "/api/v1/accounts", &attacker, "");
    assert_eq!(list["accounts"], serde_json::json!([]), "{list}");
    // Another organization cannot redeem it either, even with the claim in hand.
    let (status, v) = oauth.claim(&p, BOOTSTRAP_KEY, &html);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("claim_not_found")),
        "{v}"
    );
    let (_, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(list["accounts"], serde_json::json!([]), "{list}");
    // A claim needs a key at all.
    let (status, _) = p.api(
        "POST",
        oauth.claim_path,
        "",
        &serde_json::json!({ "claim": Product::claim_of(&html) }).to_string(),
    );
    assert_eq!(status, 401);

    // The legitimate flow: the starting client claims with its own key, once.
    let url = (oauth.start)(&p, BOOTSTRAP_KEY);
    let (html, outcome) = (oauth.consent)(&p, &url);
    assert_eq!(outcome, "signed_in");
    let (status, v) = oauth.claim(&p, BOOTSTRAP_KEY, &html);
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["account"]["status"], "Active", "{v}");
    let (status, v) = oauth.claim(&p, BOOTSTRAP_KEY, &html);
    assert_eq!(status, 404, "a claim is single-use: {v}");
    let (_, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    let (_, list) = p.api("GET", "/api/v1/accounts", &attacker, "");
    assert_eq!(list["accounts"], serde_json::json!([]));
}

fn a_refused_callback_does_not_spend_the_sign_in(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let oauth = &cloud.oauth;
    let url = (oauth.start)(&p, BOOTSTRAP_KEY);
    let state = state_of(&url);
    let callback = |q: &str| p.callback(&format!("{}{}?{q}", p.host.url, oauth.callback_path));
    // Somebody holding the state tries to spoil it: a forged code, a forged
    // error, no code at all.
    assert_eq!(
        callback(&format!("state={state}&code=forged-code")).2,
        "token_error"
    );
    assert_eq!(
        callback(&format!(
            "state={state}&error=access_denied&error_description=no"
        ))
        .2,
        "authorization_denied"
    );
    assert_eq!(callback(&format!("state={state}")).2, "invalid_state");
    // The user's own sign-in still completes.
    let (html, outcome) = (oauth.consent)(&p, &url);
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, v) = oauth.claim(&p, BOOTSTRAP_KEY, &html);
    assert_eq!(status, 201, "{v}");
    // Once redeemed, the state is spent.
    assert_eq!(
        callback(&format!("state={state}&code=again")).2,
        "invalid_state"
    );
}

#[test]
fn the_redirect_uri_is_configuration_and_the_page_is_locked_down() {
    let p = Product::start(World::default());
    // A caller-chosen Host header changes nothing.
    let mut s = std::net::TcpStream::connect(&p.host.addr).unwrap();
    write!(
        s,
        "POST /api/v1/accounts/azure/connect HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer {BOOTSTRAP_KEY}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let expected = url::form_urlencoded::byte_serialize(
        format!("{}/oauth/azure/callback", p.host.url).as_bytes(),
    )
    .collect::<String>();
    assert!(
        answer.contains(&format!("redirect_uri={expected}")),
        "{answer}"
    );
    assert!(!answer.contains("evil.example"), "{answer}");

    // The callback page: no framing, no referrer, only its own script, and
    // the code leaves the address bar.
    let url = p.start_connect(BOOTSTRAP_KEY, None);
    let resp = ureq::get(&format!(
        "{}/oauth/azure/callback?state={}&error=access_denied",
        p.host.url,
        state_of(&url)
    ))
    .call()
    .unwrap();
    let csp = resp
        .header("content-security-policy")
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("a script nonce");
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"));
    let html = resp.into_string().unwrap();
    assert!(
        html.contains(&format!("<script nonce=\"{nonce}\">")),
        "{html}"
    );
    assert!(html.contains("history.replaceState"), "{html}");
}

#[test]
fn without_public_url_the_app_runs_and_sign_in_says_what_to_set() {
    let mut p = Product::start(World::default());
    p.opts.env.retain(|(k, _)| k != "SPIN_VARIABLE_PUBLIC_URL");
    p.restart();
    let (status, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{list}");
    let (status, e) = p.api("POST", "/api/v1/accounts/azure/connect", BOOTSTRAP_KEY, "");
    assert_eq!(status, 500, "{e}");
    assert_eq!(e["error"]["code"], "misconfigured");
    assert!(
        e["error"]["remedy"]
            .as_str()
            .unwrap()
            .contains("SPIN_VARIABLE_PUBLIC_URL"),
        "{e}"
    );
}
