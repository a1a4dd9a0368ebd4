//! Tokens refresh by themselves, one refresh per account at a time, and a
//! dead grant turns the account Expired until it is reconnected; a passing
//! failure of the token endpoint expires nothing — at either provider.
//! Twenty requests at once refresh once (DigitalOcean rotates its refresh
//! tokens, so a second refresh would spend a dead one). Microsoft's own
//! case: a password change, and a reconnect as somebody else refused.

mod support;

use sim::state::Revocation;
use sim::world::defaults::*;
use sim::world::User;
use sim::{Command, World};
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(
    an_expiring_token_is_refreshed_silently,
    twenty_concurrent_requests_cause_exactly_one_refresh,
    an_expired_account_is_restored_by_reconnecting,
    a_transient_failure_does_not_expire_the_account,
);

fn an_expiring_token_is_refreshed_silently(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let id = (cloud.oauth.connect_expiring)(&p);
    let refreshes = cloud.oauth.refreshes;
    let before = refreshes(&p);
    let (status, a) = p.refresh(&id);
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "Active");
    assert_eq!(refreshes(&p), before + 1);
    // The new token is fresh: no further refresh.
    p.refresh(&id);
    assert_eq!(refreshes(&p), before + 1);
}

fn an_expired_account_is_restored_by_reconnecting(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let id = (cloud.oauth.connect_expiring)(&p);
    (cloud.oauth.end_grant)(&p);
    let refused = p.refresh(&id);
    let a = p.expired(&id, refused);
    assert_eq!(a["badges"], serde_json::json!([]));

    // Reconnecting as the same user restores the same account.
    let url = (cloud.oauth.reconnect)(&p, BOOTSTRAP_KEY, &id);
    let (html, outcome) = (cloud.oauth.consent)(&p, &url);
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, claimed) = cloud.oauth.claim(&p, BOOTSTRAP_KEY, &html);
    assert_eq!(status, 200, "{claimed}");
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(
        (a["id"].as_str(), a["status"].as_str()),
        (Some(id.as_str()), Some("Active")),
        "{a}"
    );
    assert_eq!(
        a["badges"],
        serde_json::json!(["Compute", "Storage", "DNS"])
    );
}

fn twenty_concurrent_requests_cause_exactly_one_refresh(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let id = (cloud.oauth.connect_expiring)(&p);
    let before = (cloud.oauth.refreshes)(&p);
    let url = format!("{}/api/v1/accounts/{id}/refresh", p.host.url);
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                support::request(
                    "POST",
                    &url,
                    &[("authorization", &format!("Bearer {BOOTSTRAP_KEY}"))],
                    "",
                )
                .0
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        (cloud.oauth.refreshes)(&p) - before,
        1,
        "one refresh for twenty requests"
    );
    // And the grant is alive: the account is still Active after it.
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Active", "{a}");
}

#[test]
fn a_password_change_expires_the_account_until_reconnected() {
    let mut w = World::default();
    w.users.push(User {
        id: "6c1c0f4a-6b9e-4d52-9b3a-51d2a7c9e004".into(),
        name: "Other User".into(),
        username: "other@contoso.onmicrosoft.com".into(),
        tenant: TENANT.into(),
        guest_of: vec![],
    });
    w.role_assignments.push(sim::world::RoleAssignment {
        user: "other@contoso.onmicrosoft.com".into(),
        subscription: SUBSCRIPTION.into(),
        role: "Owner".into(),
    });
    let p = Product::start(w);
    let id = (clouds::AZURE.oauth.connect_expiring)(&p);
    p.sim
        .command(Command::Revoke {
            user: USERNAME.into(),
            reason: Revocation::PasswordChange,
        })
        .unwrap();
    let refused = p.refresh(&id);
    let a = p.expired(&id, refused);
    assert!(
        a["status_reason"].as_str().unwrap().contains("password"),
        "{a}"
    );
    assert_eq!(a["badges"], serde_json::json!([]));

    // Reconnecting as somebody else is refused; as the same user it restores the account.
    let url = p.start_connect(BOOTSTRAP_KEY, Some(&id));
    let (_, html, outcome) = p.sign_in(&url, "other@contoso.onmicrosoft.com", "accept");
    assert_eq!(outcome, "wrong_account", "{html}");
    let url = p.start_connect(BOOTSTRAP_KEY, Some(&id));
    let (_, html, outcome) = p.sign_in(&url, USERNAME, "accept");
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, claimed) = p.claim(BOOTSTRAP_KEY, &html);
    assert_eq!(status, 200, "{claimed}");
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(
        (a["id"].as_str(), a["status"].as_str()),
        (Some(id.as_str()), Some("Active"))
    );
    assert_eq!(
        a["badges"],
        serde_json::json!(["Compute", "Storage", "DNS"])
    );
}

fn a_transient_failure_does_not_expire_the_account(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let id = (cloud.oauth.connect_expiring)(&p);
    p.sim
        .command(Command::AddFault {
            fault: sim::state::Fault {
                path: cloud.oauth.token_path.into(),
                method: None,
                status: Some(503),
                count: Some(1),
                probability: None,
                latency_ms: None,
                drop_connection: false,
                retry_after: Some(1),
            },
        })
        .unwrap();
    let (status, e) = p.refresh(&id);
    assert_eq!(status, 503, "{e}");
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Active");
    let (status, _) = p.refresh(&id);
    assert_eq!(status, 200);
}
