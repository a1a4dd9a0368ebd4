//! A token the provider refuses before it expires by its own clock (revoked
//! or rotated early) recovers without a click: every function refreshes it
//! once and retries once; a dead grant turns the account Expired at once and
//! the call answers 409 `account_expired` with the Reconnect remedy — for
//! an Azure account and a DigitalOcean one signed in by OAuth.

mod support;

use support::clouds::{self, for_each_cloud, Cloud};
use support::product::BOOTSTRAP_KEY;

for_each_cloud!(
    an_early_revoked_token_is_refreshed_and_the_call_retried,
    a_dead_grant_turns_the_account_expired_at_once,
);

fn an_early_revoked_token_is_refreshed_and_the_call_retried(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (id, scope) = (cloud.oauth.connect)(&p);
    let under = format!("/api/v1/accounts/{id}/subscriptions/{scope}");
    let refreshes = cloud.oauth.refreshes;
    for what in ["dns/zones", "compute/regions", "storage/accounts"] {
        let path = format!("{under}/{what}");
        let before = refreshes(&p);
        (cloud.oauth.expire_access_tokens)(&p);
        let (status, v) = p.api("GET", &path, BOOTSTRAP_KEY, "");
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(refreshes(&p), before + 1, "{path}: one refresh");
        // The next call uses the new token: no refresh.
        let (status, v) = p.api("GET", &path, BOOTSTRAP_KEY, "");
        assert_eq!(status, 200, "{v}");
        assert_eq!(refreshes(&p), before + 1, "{path} again");
    }
    let (_, a) = p.api("GET", &format!("/api/v1/accounts/{id}"), BOOTSTRAP_KEY, "");
    assert_eq!(a["status"], "Active");
}

fn a_dead_grant_turns_the_account_expired_at_once(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (id, scope) = (cloud.oauth.connect)(&p);
    (cloud.oauth.end_grant)(&p);
    (cloud.oauth.expire_access_tokens)(&p);
    // The call itself turns the account Expired: no click needed.
    let refused = p.api(
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{scope}/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    p.expired(&id, refused);
}
