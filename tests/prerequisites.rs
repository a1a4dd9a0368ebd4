//! Prerequisites are checked, not assumed: no subscriptions, a Reader-only
//! user, an unregistered provider that the API registers.

mod support;

use sim::world::defaults::*;
use sim::world::{RoleAssignment, User};
use sim::{Command, World};
use support::product::{Product, BOOTSTRAP_KEY};

fn world_with_users() -> World {
    let mut w = World::default();
    w.users.push(User {
        id: "4a1c0f4a-6b9e-4d52-9b3a-51d2a7c9e002".into(),
        name: "Nobody Special".into(),
        username: "nosubs@contoso.onmicrosoft.com".into(),
        tenant: TENANT.into(),
        guest_of: vec![],
    });
    w.users.push(User {
        id: "5b1c0f4a-6b9e-4d52-9b3a-51d2a7c9e003".into(),
        name: "Rita Reader".into(),
        username: "reader@contoso.onmicrosoft.com".into(),
        tenant: TENANT.into(),
        guest_of: vec![],
    });
    w.role_assignments.push(RoleAssignment {
        user: "reader@contoso.onmicrosoft.com".into(),
        subscription: SUBSCRIPTION.into(),
        role: "Reader".into(),
    });
    w
}

#[test]
fn a_user_without_subscriptions_is_told_so() {
    let p = Product::start(world_with_users());
    let url = p.start_connect(BOOTSTRAP_KEY, None);
    let (_, html, outcome) = p.sign_in(&url, "nosubs@contoso.onmicrosoft.com", "accept");
    assert_eq!(outcome, "no_subscriptions");
    assert!(
        html.contains("No subscriptions found") && html.contains("Owner or Contributor"),
        "{html}"
    );
}

#[test]
fn a_reader_gets_no_badges_and_the_reason() {
    let p = Product::start(world_with_users());
    let id = p.connect(BOOTSTRAP_KEY, "reader@contoso.onmicrosoft.com");
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Active");
    assert_eq!(a["badges"], serde_json::json!([]));
    assert_eq!(a["subscriptions"][0]["role"], "Reader");
    let withheld = a["badges_withheld"].as_array().unwrap();
    assert_eq!(withheld.len(), 3);
    assert!(
        withheld[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Owner or Contributor"),
        "{a}"
    );
}

#[test]
fn an_unregistered_provider_is_named_and_can_be_registered() {
    let mut w = World::default();
    w.settings.registration_polls = 1;
    let p = Product::start(w);
    p.sim
        .command(Command::SetProvider {
            subscription: SUBSCRIPTION.into(),
            namespace: "Microsoft.Compute".into(),
            state: "NotRegistered".into(),
        })
        .unwrap();
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["badges"], serde_json::json!(["Storage", "DNS"]));
    let compute = a["badges_withheld"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["capability"] == "Compute")
        .unwrap()
        .clone();
    assert!(
        compute["reason"]
            .as_str()
            .unwrap()
            .contains("Microsoft.Compute is not registered"),
        "{compute}"
    );

    let (status, r) = p.api("POST", &format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Compute/register"), BOOTSTRAP_KEY, "");
    assert_eq!(status, 202, "{r}");
    // Registration completes over polls; the next check shows the badge.
    let (_, a) = p.refresh(&id);
    assert_eq!(
        a["badges"],
        serde_json::json!(["Compute", "Storage", "DNS"]),
        "{a}"
    );
}
