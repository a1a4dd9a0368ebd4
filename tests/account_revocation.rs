//! Deleting an account ends Skyport's access at the provider, not only its
//! copy of the tokens: a DigitalOcean account signed in by OAuth has its
//! grant revoked (RFC 7009) by the delete itself or, when DigitalOcean
//! cannot take it then, by the background jobs soon after. An API token is
//! the user's own and stays theirs to delete, and Azure, whose identity
//! platform revokes nothing on an app's request, is left to the user too:
//! both answers say what to do.

mod support;

use serde_json::{json, Value};
use sim::digitalocean::SEED_TEAM;
use sim::world::defaults::USERNAME;
use sim::{Command, World};
use support::product::{Product, BOOTSTRAP_KEY};

/// The OAuth grants DigitalOcean holds.
fn grants(p: &Product) -> usize {
    p.sim.with_state(|s| s.digitalocean.oauth_grants.len())
}

/// The statuses of the revocation requests DigitalOcean answered, in order.
fn revocations(p: &Product) -> Vec<u16> {
    p.sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/oauth/revoke"))
        .map(|r| r.status)
        .collect()
}

/// A DigitalOcean account signed in by OAuth; its id.
fn signed_in(p: &Product) -> String {
    let (html, outcome) = p.sign_in_digitalocean(None, SEED_TEAM, "authorize");
    assert_eq!(outcome, "signed_in", "{html}");
    let (status, v) = p.claim_digitalocean(&html);
    assert_eq!(status, 201, "{v}");
    v["account"]["id"].as_str().unwrap().to_string()
}

fn delete(p: &Product, id: &str) -> Value {
    let (status, v) = p.api(
        "DELETE",
        &format!("/api/v1/accounts/{id}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{v}");
    let (status, gone) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(status, 404, "{gone}");
    v
}

#[test]
fn deleting_an_account_signed_in_by_oauth_revokes_its_grant() {
    let p = Product::start_with_example(World::default());
    let id = signed_in(&p);
    assert_eq!(grants(&p), 1);

    let v = delete(&p, &id);
    assert_eq!(v["authorization_revoked"], true, "{v}");
    assert!(
        v["revoke"]
            .as_str()
            .unwrap()
            .contains("DigitalOcean has revoked the authorization"),
        "{v}"
    );
    assert_eq!(grants(&p), 0, "DigitalOcean still holds the grant");
    assert_eq!(revocations(&p), [200]);
}

#[test]
fn a_revocation_digitalocean_could_not_take_is_made_in_the_background() {
    let p = Product::with_example_and_jobs_every_second(&[]);
    let id = signed_in(&p);
    p.sim
        .command(Command::AddFault {
            fault: serde_json::from_value(
                json!({ "path": "/v1/oauth/revoke", "status": 503, "count": 1 }),
            )
            .unwrap(),
        })
        .unwrap();

    // The account goes at once; the answer tells the user how to revoke
    // it themselves, as nothing is revoked yet.
    let v = delete(&p, &id);
    assert_eq!(v["authorization_revoked"], false, "{v}");
    assert!(
        v["revoke"]
            .as_str()
            .unwrap()
            .contains("Authorized Applications"),
        "{v}"
    );
    assert_eq!(grants(&p), 1);

    // The jobs try again ten seconds later, and DigitalOcean takes it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    while grants(&p) != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the grant was never revoked: {:?}",
            revocations(&p)
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(revocations(&p), [503, 200]);
}

#[test]
fn an_api_token_and_an_azure_grant_are_left_to_the_user() {
    let p = Product::start_with_example(World::default());

    let token = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    let v = delete(&p, &token);
    assert_eq!(v["authorization_revoked"], false, "{v}");
    assert!(
        v["revoke"].as_str().unwrap().contains("API › Tokens"),
        "{v}"
    );
    // The token is the user's and still works.
    p.digitalocean("GET", "/v2/account", None);

    let azure = p.connect(BOOTSTRAP_KEY, USERNAME);
    let v = delete(&p, &azure);
    assert_eq!(v["authorization_revoked"], false, "{v}");
    assert!(
        v["revoke"]
            .as_str()
            .unwrap()
            .contains("Enterprise Applications"),
        "{v}"
    );
    assert_eq!(revocations(&p), Vec::<u16>::new());
}
