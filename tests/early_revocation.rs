//! A token Azure refuses before it expires by its own clock (revoked or
//! rotated early) recovers without a click: every function refreshes it once
//! and retries once; a dead grant turns the account Expired at once and the
//! call answers 409 `account_expired` with the Reconnect remedy.

mod support;

use sim::admin::Command;
use sim::state::Revocation;
use sim::world::defaults::*;
use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

#[test]
fn an_early_revoked_token_is_refreshed_and_the_call_retried() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let zones = format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/dns/zones");
    let regions = format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/compute/regions");
    let storage = format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/storage/accounts");
    for (i, path) in [&zones, &regions, &storage].into_iter().enumerate() {
        let before = p.refresh_grants();
        p.sim.command(Command::ExpireAccessTokens).unwrap();
        let (status, v) = p.api("GET", path, BOOTSTRAP_KEY, "");
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(p.refresh_grants(), before + 1, "{path}: one refresh");
        // The next call uses the new token: no refresh.
        let (status, _) = p.api("GET", path, BOOTSTRAP_KEY, "");
        assert_eq!(status, 200);
        assert_eq!(p.refresh_grants(), before + 1, "call {i}");
    }
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Active");
}

#[test]
fn a_dead_grant_turns_the_account_expired_at_once() {
    let p = Product::start(World::default());
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    p.sim
        .command(Command::Revoke {
            user: USERNAME.into(),
            reason: Revocation::PasswordChange,
        })
        .unwrap();
    p.sim.command(Command::ExpireAccessTokens).unwrap();
    let (status, e) = p.api(
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "account_expired");
    assert!(
        e["error"]["remedy"].as_str().unwrap().contains("Reconnect"),
        "{e}"
    );
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Expired", "no click needed: {a}");
}
