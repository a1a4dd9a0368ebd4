//! The DigitalOcean sign-in plugin: `skyport:identity` for DigitalOcean's
//! OAuth 2.0 server (`/v1/oauth/authorize` and `/v1/oauth/token` under the
//! `authority` base, `https://cloud.digitalocean.com`). This file is all of
//! it: the endpoints and scopes, and what DigitalOcean's errors mean.
//!
//! DigitalOcean's access tokens are opaque and act for the one team the user
//! chose when authorizing, so `principal-of` has nothing to read: the
//! platform then asks the account plugin which team the token reaches.

wit_bindgen::generate!({
    path: "../../wit",
    inline: "
        package skyport:digitalocean-identity;

        world plugin {
            export skyport:identity/identity@0.2.0;
        }
    ",
    world: "skyport:digitalocean-identity/plugin",
    generate_all,
});

use exports::skyport::identity::identity::{
    CallbackOutcome, Guest, OauthEndpoints, Principal, TokenOutcome,
};
use skyport::types::types::Cloud;

struct Plugin;

export!(Plugin);

/// `read` lists and `write` creates, changes and deletes: Skyport does both.
const SCOPES: [&str; 2] = ["read", "write"];

fn endpoint(cloud: &Cloud, name: &str) -> String {
    format!("{}/v1/oauth/{name}", cloud.authority.trim_end_matches('/'))
}

/// What a failed authorization redirect means: `access_denied` is the user's
/// Deny (or closing the page); anything else is DigitalOcean's to word.
fn callback(error: &str, description: Option<&str>) -> CallbackOutcome {
    match error {
        "access_denied" => CallbackOutcome::Denied,
        _ => CallbackOutcome::Failed(format!(
            "DigitalOcean refused the authorization: {}",
            description.filter(|d| !d.is_empty()).unwrap_or(error)
        )),
    }
}

/// What the token endpoint's `{"error","error_description"}` means.
fn token_error(status: u16, body: &str) -> TokenOutcome {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        // Not OAuth's JSON: an outage page or a proxy's answer.
        return TokenOutcome::Transient(format!(
            "DigitalOcean's sign-in service answered {status} without an OAuth error; try again shortly."
        ));
    };
    let error = v["error"].as_str().unwrap_or_default();
    let said = v["error_description"]
        .as_str()
        .filter(|d| !d.is_empty())
        .unwrap_or(error);
    match error {
        // A revoked authorization (the app removed under Settings ›
        // Applications & API), a used or rotated refresh token, or an
        // expired code: only a new sign-in brings it back.
        "invalid_grant" => TokenOutcome::GrantExpired(format!(
            "DigitalOcean no longer accepts this authorization: {said}"
        )),
        "invalid_client" | "unauthorized_client" => TokenOutcome::ClientMisconfigured(format!(
            "DigitalOcean does not accept Skyport's OAuth application: {said}"
        )),
        "temporarily_unavailable" | "server_error" => {
            TokenOutcome::Transient(format!("DigitalOcean's sign-in service: {said}"))
        }
        _ if status >= 500 || status == 429 => {
            TokenOutcome::Transient(format!("DigitalOcean's sign-in service: {said}"))
        }
        "" => TokenOutcome::Failed(format!("DigitalOcean answered {status}: {body}")),
        _ => TokenOutcome::Failed(format!("DigitalOcean: {said}")),
    }
}

impl Guest for Plugin {
    fn endpoints(cloud: Cloud, _tenant: String) -> OauthEndpoints {
        // DigitalOcean's endpoints name no tenant: the team is chosen on
        // the authorization page.
        OauthEndpoints {
            authorize_url: endpoint(&cloud, "authorize"),
            token_url: endpoint(&cloud, "token"),
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn admin_consent_url(
        cloud: Cloud,
        _tenant: String,
        _client_id: String,
        _redirect_uri: String,
        _state: String,
    ) -> String {
        // DigitalOcean has no consent on an organization's behalf: each
        // team member authorizes for a team they belong to. The platform
        // asks only after `admin-consent-required`, which never comes here.
        endpoint(&cloud, "authorize")
    }

    fn classify_callback(
        error: String,
        description: Option<String>,
        _subcode: Option<String>,
    ) -> CallbackOutcome {
        callback(&error, description.as_deref())
    }

    fn classify_token_error(status: u16, body: String) -> TokenOutcome {
        token_error(status, &body)
    }

    fn principal_of(_access_token: String) -> Option<Principal> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(authority: &str) -> Cloud {
        Cloud {
            authority: authority.into(),
            management: "https://api.digitalocean.com".into(),
            audience: "https://api.digitalocean.com".into(),
        }
    }

    #[test]
    fn endpoints_hang_under_the_authority_whatever_its_trailing_slash() {
        for base in [
            "https://cloud.digitalocean.com",
            "https://cloud.digitalocean.com/",
        ] {
            let e = Plugin::endpoints(cloud(base), "ignored".into());
            assert_eq!(
                e.authorize_url,
                "https://cloud.digitalocean.com/v1/oauth/authorize"
            );
            assert_eq!(e.token_url, "https://cloud.digitalocean.com/v1/oauth/token");
            assert_eq!(e.scopes, ["read", "write"]);
        }
    }

    #[test]
    fn a_deny_is_denied_and_anything_else_keeps_digitaloceans_words() {
        assert!(matches!(
            callback("access_denied", None),
            CallbackOutcome::Denied
        ));
        match callback("invalid_scope", Some("The requested scope is invalid.")) {
            CallbackOutcome::Failed(m) => {
                assert!(m.ends_with("The requested scope is invalid."), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn token_errors_are_told_apart() {
        let body = |e: &str| format!(r#"{{"error":"{e}","error_description":"said"}}"#);
        assert!(
            matches!(token_error(400, &body("invalid_grant")), TokenOutcome::GrantExpired(m) if m.contains("said"))
        );
        assert!(matches!(
            token_error(401, &body("invalid_client")),
            TokenOutcome::ClientMisconfigured(_)
        ));
        assert!(matches!(
            token_error(503, "<html>down</html>"),
            TokenOutcome::Transient(_)
        ));
        assert!(matches!(
            token_error(500, &body("whatever")),
            TokenOutcome::Transient(_)
        ));
        assert!(
            matches!(token_error(400, &body("invalid_request")), TokenOutcome::Failed(m) if m.contains("said"))
        );
        assert!(matches!(token_error(400, "{}"), TokenOutcome::Failed(_)));
    }
}
