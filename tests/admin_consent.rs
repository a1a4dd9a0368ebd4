//! An organization that lets only administrators approve apps: the sign-in
//! ends in "Admin consent required", the user names their organization, the
//! link made from it is that organization's own admin-consent page, the
//! administrator accepts, and the next sign-in connects.

mod support;

use sim::world::defaults::*;
use sim::Command;
use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

/// The administrator's `decision` on the admin-consent page `consent`
/// (its query carried over): where the identity platform sends the browser.
fn decide(p: &Product, consent: &url::Url, decision: &str) -> String {
    let mut fields: Vec<(String, String)> = consent.query_pairs().into_owned().collect();
    fields.push(("decision".into(), decision.into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let back = agent
        .post(&format!("{}{}", p.sim.url, consent.path()))
        .send_form(&pairs)
        .unwrap();
    assert_eq!(back.status(), 302);
    back.header("location").unwrap().to_string()
}

/// A GET that does not follow redirects: (status, location or body).
fn no_follow(url: &str) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = r.status();
    match r.header("location") {
        Some(l) => (status, l.to_string()),
        None => (status, r.into_string().unwrap()),
    }
}

#[test]
fn an_administrator_consents_for_the_organization_the_user_names() {
    let p = Product::start(World::default());
    p.sim
        .command(Command::RequireAdminConsent {
            tenant: TENANT.into(),
            required: true,
        })
        .unwrap();

    // A first sign-in: the directory is not known, so the page asks for it
    // instead of offering a link to no organization in particular.
    let url = p.start_connect(BOOTSTRAP_KEY, None);
    let (_, html, outcome) = p.sign_in(&url, USERNAME, "accept");
    assert_eq!(outcome, "admin_consent_required", "{html}");
    assert!(
        html.contains("\"admin_consent_link\":\"/oauth/azure/admin-consent\"")
            && html.contains("action=\"/oauth/azure/admin-consent\""),
        "{html}"
    );
    assert!(
        !html.contains("organizations/v2.0/adminconsent"),
        "no link to a generic authority: {html}"
    );

    // What is not a directory is refused on our side and never reaches
    // Microsoft.
    for bad in ["organizations", "contoso", "contoso.com/../common", ""] {
        let (status, body) = no_follow(&format!(
            "{}/oauth/azure/admin-consent?tenant={}",
            p.host.url,
            urlencoding(bad)
        ));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("invalid_tenant") && body.contains("tenant ID"));
    }

    // The user's work email names the directory; the link is its own page.
    let (status, location) = no_follow(&format!(
        "{}/oauth/azure/admin-consent?tenant=ada%40contoso.onmicrosoft.com",
        p.host.url
    ));
    assert_eq!(status, 302, "{location}");
    let consent = url::Url::parse(&location).unwrap();
    assert_eq!(consent.path(), "/contoso.onmicrosoft.com/v2.0/adminconsent");
    let q: Vec<(String, String)> = consent.query_pairs().into_owned().collect();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        get("redirect_uri"),
        Some(format!("{}/oauth/azure/callback", p.host.url))
    );

    // The administrator accepts on Microsoft's page; the answer comes back
    // to Skyport, which acknowledges it.
    let (status, page) = no_follow(&location);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Accept for your organization"), "{page}");
    let back = decide(&p, &consent, "accept");
    assert!(back.contains("admin_consent=True"), "{back}");
    let (status, html, outcome) = p.callback(&back);
    assert_eq!(
        (status, outcome.as_str()),
        (200, "admin_consent_granted"),
        "{html}"
    );
    assert!(html.contains("Add Account"), "{html}");

    // Now the user's own sign-in connects.
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Active", "{a}");
}

#[test]
fn a_reconnect_links_straight_to_the_accounts_own_directory() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    p.sim
        .command(Command::RequireAdminConsent {
            tenant: TENANT.into(),
            required: true,
        })
        .unwrap();
    let url = p.start_connect(BOOTSTRAP_KEY, Some(&id));
    let (_, html, outcome) = p.sign_in(&url, USERNAME, "accept");
    assert_eq!(outcome, "admin_consent_required", "{html}");
    assert!(
        html.contains(&format!(
            "/{TENANT}/v2.0/adminconsent?client_id={CLIENT_ID}"
        )),
        "the account's own tenant: {html}"
    );
}

#[test]
fn a_declined_consent_says_so() {
    let p = Product::start(World::default());
    let (_, location) = no_follow(&format!(
        "{}/oauth/azure/admin-consent?tenant={TENANT}",
        p.host.url
    ));
    let consent = url::Url::parse(&location).unwrap();
    assert_eq!(consent.path(), format!("/{TENANT}/v2.0/adminconsent"));
    let back = decide(&p, &consent, "deny");
    // Microsoft's error answer names only the error and the state.
    assert!(!back.contains("admin_consent"), "{back}");
    let (status, html, outcome) = p.callback(&back);
    assert_eq!(
        (status, outcome.as_str()),
        (200, "admin_consent_declined"),
        "{html}"
    );
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
