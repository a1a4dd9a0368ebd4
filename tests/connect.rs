//! Connecting an Azure account: the popup flow to Active with three badges,
//! and every way it can end otherwise. At either provider, a sign-in's
//! state is single-use and unforgeable, and an organization sees only its
//! own accounts.

mod support;

use sim::state::SignInOutcome;
use sim::world::defaults::*;
use sim::{Command, World};
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(
    state_is_single_use_and_unforgeable,
    organizations_see_only_their_own_accounts,
);

#[test]
fn connect_makes_an_active_account_with_three_badges() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (status, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "Active");
    assert_eq!(a["tenant_id"], TENANT);
    assert_eq!(
        a["badges"],
        serde_json::json!(["Compute", "Storage", "DNS"])
    );
    let sub = &a["subscriptions"][0];
    assert_eq!(sub["id"], SUBSCRIPTION);
    assert_eq!(sub["state"], "Enabled");
    assert_eq!(sub["role"], "Owner");
    assert_eq!(sub["providers"].as_array().unwrap().len(), 3);
    assert!(a["last_checked"].is_number());
    let text = a.to_string();
    assert!(
        !text.contains("eyJ") && !text.contains("refresh"),
        "no token in the API: {text}"
    );

    // The popup page tells the opener and closes.
    let url = p.start_connect(BOOTSTRAP_KEY, None);
    let (_, html, _) = p.sign_in(&url, USERNAME, "accept");
    assert!(
        html.contains("window.opener.postMessage") && html.contains("\"outcome\":\"signed_in\""),
        "{html}"
    );
    let (status, claimed) = p.claim(BOOTSTRAP_KEY, &html);
    assert_eq!(status, 200, "{claimed}");
    // Connecting the same Azure user again updates the same account.
    let (_, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(claimed["account"]["id"], id.as_str());

    // The user was renamed in the directory: the next sign-in brings the new
    // name to the same account.
    let mut ada = World::default()
        .users
        .into_iter()
        .find(|u| u.username == USERNAME)
        .unwrap();
    ada.name = "Ada King".into();
    p.sim
        .command(Command::AddUser { user: ada.clone() })
        .unwrap();
    let url = p.start_connect(BOOTSTRAP_KEY, None);
    let (_, html, _) = p.sign_in(&url, USERNAME, "accept");
    let (status, renamed) = p.claim(BOOTSTRAP_KEY, &html);
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["account"]["id"], id.as_str());
    assert_eq!(renamed["account"]["user"]["name"], "Ada King", "{renamed}");
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["user"]["name"], "Ada King", "{a}");

    // So does a reconnect of the account.
    ada.name = "Ada Lovelace".into();
    p.sim.command(Command::AddUser { user: ada }).unwrap();
    let url = p.start_connect(BOOTSTRAP_KEY, Some(&id));
    let (_, html, outcome) = p.sign_in(&url, USERNAME, "accept");
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, reconnected) = p.claim(BOOTSTRAP_KEY, &html);
    assert_eq!(status, 200, "{reconnected}");
    assert_eq!(reconnected["account"]["id"], id.as_str());
    assert_eq!(
        (
            reconnected["account"]["user"]["name"].as_str(),
            reconnected["account"]["reconnected"].as_bool()
        ),
        (Some("Ada Lovelace"), Some(true)),
        "{reconnected}"
    );
    // Every sign-in has its event; only the reconnect's (the newest) says so.
    let marks: Vec<_> = p
        .events("account.connected", &id)
        .iter()
        .map(|e| e["data"]["reconnected"].as_bool())
        .collect();
    assert_eq!(marks[0], Some(true), "{marks:?}");
    assert!(marks[1..].iter().all(Option::is_none), "{marks:?}");
}

#[test]
fn deny_and_admin_consent_are_reported_with_their_remedy() {
    let p = Product::start(World::default());
    let url = p.start_connect(BOOTSTRAP_KEY, None);
    let (_, html, outcome) = p.sign_in(&url, USERNAME, "deny");
    assert_eq!(outcome, "authorization_denied");
    assert!(
        html.contains("Authorization Denied") && html.contains("click Accept"),
        "{html}"
    );

    p.sim
        .command(Command::NextSignIn {
            outcome: SignInOutcome::AdminConsentRequired,
        })
        .unwrap();
    let url = p.start_connect(BOOTSTRAP_KEY, None);
    let (_, html, outcome) = p.sign_in(&url, USERNAME, "accept");
    assert_eq!(outcome, "admin_consent_required");
    assert!(
        html.contains("Admin consent required") && html.contains("Enterprise Applications"),
        "{html}"
    );
    assert!(
        html.contains("action=\"/oauth/azure/admin-consent\""),
        "the admin-consent form: {html}"
    );
    let (_, list) = p.api("GET", "/api/v1/accounts", BOOTSTRAP_KEY, "");
    assert_eq!(
        list["accounts"].as_array().unwrap().len(),
        0,
        "nothing was connected"
    );
}

fn state_is_single_use_and_unforgeable(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let url = (cloud.oauth.start)(&p, BOOTSTRAP_KEY);
    // Capture the callback URL without opening it, to replay it.
    let callback = (cloud.oauth.sent_back)(&p, &url);
    assert_eq!(p.callback(&callback).2, "signed_in");
    let (status, html, outcome) = p.callback(&callback);
    assert_eq!((status, outcome.as_str()), (400, "invalid_state"), "{html}");
    assert!(html.contains("already used"));
    let forged = format!(
        "{}{}?code=abc&state=forged-state",
        p.host.url, cloud.oauth.callback_path
    );
    assert_eq!(p.callback(&forged).2, "invalid_state");
    // Both refusals are recorded.
    let db = p.dir.path().join(".spin").join("sqlite_db.db");
    let bytes = std::fs::read(&db).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("state_reused")
            || std::fs::read(db.with_extension("db-wal"))
                .map(|w| String::from_utf8_lossy(&w).contains("state_reused"))
                .unwrap_or(false)
    );
}

fn organizations_see_only_their_own_accounts(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (id, scope) = (cloud.connect)(&p);
    let other = p.new_org("Other Co");
    let (status, list) = p.api("GET", "/api/v1/accounts", &other, "");
    assert_eq!(status, 200);
    assert_eq!(list["accounts"], serde_json::json!([]));
    for (method, path) in [
        ("GET", format!("/api/v1/accounts/{id}")),
        ("POST", format!("/api/v1/accounts/{id}/refresh")),
        (
            "GET",
            format!("/api/v1/accounts/{id}/subscriptions/{scope}/compute/regions"),
        ),
        (
            "GET",
            format!("/api/v1/accounts/{id}/subscriptions/{scope}/dns/zones"),
        ),
        (
            "GET",
            format!("/api/v1/accounts/{id}/subscriptions/{scope}/storage/accounts"),
        ),
        ("GET", format!("/api/v1/costs?account_id={id}")),
        ("DELETE", format!("/api/v1/accounts/{id}")),
    ] {
        let (status, v) = p.api(method, &path, &other, "");
        assert_eq!(status, 404, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "not_found");
    }
    let (status, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!((status, a["status"].as_str()), (200, Some("Active")), "{a}");
    let (status, v) = p.api("GET", "/api/v1/accounts", "not-a-key", "");
    assert_eq!(status, 401);
    assert!(v["error"]["remedy"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
}

#[test]
fn bad_input_gets_a_4xx_with_code_message_and_remedy() {
    let p = Product::start(World::default());
    let (status, v) = p.api("GET", "/api/v1/accounts/not-an-id", BOOTSTRAP_KEY, "");
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "malformed_id");
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(70_000));
    let (status, v) = p.api("POST", "/api/v1/orgs", BOOTSTRAP_KEY, &big);
    assert_eq!(status, 413, "{v}");
    let (status, v) = p.api("POST", "/api/v1/orgs", BOOTSTRAP_KEY, "{not json");
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "malformed_json");
    let (status, _) = p.api("PUT", "/api/v1/accounts/azure/connect", BOOTSTRAP_KEY, "");
    assert_eq!(status, 405);
    assert!(v["error"]["message"].is_string() && v["error"]["remedy"].is_string());
}
