//! Sign-in by API token, one instance per provider that offers it (`<p>` is
//! its `provider` variable): `POST /api/v1/accounts/<p>/connect
//! {"token": "…"}` checks the token's shape, asks the provider whom it acts
//! for, discovers what it can reach, and stores the account with the token
//! sealed like a refresh token; with `"account_id"` it gives an existing
//! account a new token (the reconnect of an Expired one).
//!
//! Nothing is stored before the provider has accepted the token, and a token
//! is never echoed back, logged or put in an event.

wit_bindgen::generate!({
    path: "../../wit",
    world: "api-token-client",
    generate_all,
    with: {
        "skyport:types/types@0.2.0": skyport_functions::plugin_types,
        "skyport:account/scopes@0.2.1": skyport_functions::plugin_scopes,
    },
});

use serde_json::json;
use skyport::api_token::api_token as plugin;
use skyport_functions::api::{json_body, json_response, opt_str, segments, ApiError, Route};
use skyport_functions::config::Config;
use skyport_functions::crypto::Keys;
use skyport_functions::db;
use skyport_functions::oauth::Tokens;
use skyport_functions::plugin_types::{Error as PluginError, Session};
use skyport_functions::provider::Provider;
use skyport_functions::{accounts, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

/// The longest token taken: far above any provider's, far below a body limit.
const MAX_TOKEN: usize = 1024;

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

async fn route(req: Request) -> Result<Response, ApiError> {
    let provider = Provider::load()?;
    let path = segments(req.path());
    match (req.method(), path.as_slice()) {
        (Method::Post, ["api", "v1", "accounts", p, "connect"]) if *p == provider.id => {
            connect(&req, &provider).await
        }
        (method, _) => Err(ApiError::unrouted(None, ROUTES, method, &path)),
    }
}

/// What this function answers; `*` is the provider.
const ROUTES: &[Route] = &[("POST", "api/v1/accounts/*/connect")];

/// The shape every token must have before the plugin's own check: printable
/// ASCII without spaces, of a sane length. Names the problem and the fix.
fn well_formed(token: &str, provider: &Provider) -> Result<(), ApiError> {
    let problem = if token.is_empty() {
        Some("is empty")
    } else if token.len() > MAX_TOKEN {
        Some("is longer than any API token")
    } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Some("holds spaces, line breaks or characters no API token has")
    } else {
        None
    };
    match problem {
        Some(p) => Err(ApiError::bad_request(
            "invalid_token",
            &format!("The {} API token {p}.", provider.name),
            &format!("Copy the whole token from {} (it is shown once, when made) and send it as {{\"token\": \"…\"}}.", provider.portal),
        )),
        None => Ok(()),
    }
}

/// `POST /api/v1/accounts/<p>/connect {"token", "account_id"?}`.
async fn connect(req: &Request, provider: &Provider) -> Result<Response, ApiError> {
    let db = db::open()?;
    let org = orgs::authenticate(&db, req)?;
    let body = json_body(req.body())?;
    let token = match &body["token"] {
        serde_json::Value::String(t) => t.trim(),
        serde_json::Value::Null => {
            return Err(ApiError::bad_request(
                "missing_token",
                &format!("{} accounts connect with an API token, and the request has none.", provider.name),
                &format!("Make a token with read and write access in {} and send it as {{\"token\": \"…\"}}.", provider.portal),
            ))
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_token",
                "`token` must be a string.",
                "Send the token as {\"token\": \"…\"}.",
            ))
        }
    };
    well_formed(token, provider)?;
    if let Err(m) = plugin::check_format(token) {
        return Err(ApiError::bad_request(
            "invalid_token",
            &m,
            &format!(
                "Copy the whole token from {}, then connect again.",
                provider.portal
            ),
        ));
    }
    // A reconnect names its account: it must be this organization's and
    // this provider's before the token goes anywhere.
    let reconnect = match opt_str(&body, "account_id", 64)? {
        Some(id) => {
            let a = accounts::load(&db, &org, id)?;
            if a.provider != provider.id {
                return Err(ApiError::new(
                    409,
                    "provider_mismatch",
                    &format!("Account {id} is not a {} account, so it takes no {} token.", provider.name, provider.name),
                    &format!("Reconnect it with POST /api/v1/accounts/{id}/reconnect, or give the id of a {} account.", provider.name),
                ));
            }
            Some(a)
        }
        None => None,
    };
    let cfg = Config::load()?;
    let owner = plugin::owner_of(&cfg.cloud, token).map_err(|e| refused(e, provider))?;
    // A new token must act in the account's own scope; who in the team
    // made it does not matter, as the token, not the user, is the grant.
    if let Some(a) = &reconnect {
        if a.tenant_id != owner.id {
            db::event(
                &db,
                Some(&org),
                "reconnect_mismatch",
                &format!("account {} given a token of another owner", a.id),
            );
            return Err(ApiError::new(
                409,
                "wrong_account",
                &format!("The token acts for {} ({}), not for this account's {} ({}).", owner.name, owner.id, a.user_name.as_deref().unwrap_or(&a.tenant_id), a.tenant_id),
                "Give a token made in the same team or project as this account's, or connect the other one as a new account.",
            ));
        }
    }
    let tokens = Tokens::api_token(token);
    let subscriptions = accounts::check_all(&[Session {
        cloud: cfg.cloud.clone(),
        access_token: tokens.access_token.clone(),
    }])?;
    if subscriptions.as_array().is_none_or(|s| s.is_empty()) {
        return Err(ApiError::new(
            422,
            "no_subscriptions",
            &format!("The token reaches nothing in {} that Skyport can use.", provider.name),
            &format!("Check in {} that the token has read and write access to the {} you want to connect.", provider.portal, skyport_functions::provider::scope()),
        ));
    }
    let keys = Keys::load()?;
    let (a, new) = accounts::store_connected(
        &db,
        &keys,
        &org,
        &provider.id,
        &accounts::Owner {
            tenant: &owner.id,
            user: &owner.user,
            name: Some(&owner.name),
        },
        reconnect.as_ref().map(|a| a.id.as_str()),
        Some(&subscriptions.to_string()),
        &tokens,
    )?;
    let mut account = accounts::to_json(&a);
    if reconnect.is_some() {
        account["reconnected"] = json!(true);
    }
    Ok(json_response(
        if new { 201 } else { 200 },
        &json!({ "outcome": "connected", "account": account }),
    ))
}

/// The provider's refusal of a token, in words the user can act on.
fn refused(e: PluginError, provider: &Provider) -> ApiError {
    match e {
        PluginError::Unauthorized(d) => ApiError::bad_request(
            "token_refused",
            &format!("{} refused the API token: {}", provider.name, d.message),
            &format!("Check that the token was copied whole and is not revoked or expired in {}, or make a new one, then connect again.", provider.portal),
        ),
        PluginError::Forbidden(d) => ApiError::new(
            403,
            "token_scope",
            &format!("The API token cannot do what Skyport needs: {}", d.message),
            &format!("Make a token with read and write access in {}, then connect again.", provider.portal),
        ),
        other => accounts::plugin_error(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Provider {
        Provider::named("example".into(), |_| None)
    }

    #[test]
    fn a_token_must_be_printable_ascii_of_a_sane_length() {
        let p = provider();
        assert!(well_formed("dop_v1_abc123", &p).is_ok());
        for bad in [
            "",
            "two words",
            "line\nbreak",
            "naïve",
            &"x".repeat(MAX_TOKEN + 1),
        ] {
            let e = well_formed(bad, &p).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (400, "invalid_token"),
                "{bad:?}"
            );
            assert!(e.remedy.contains("{\"token\""), "{}", e.remedy);
        }
    }
}
