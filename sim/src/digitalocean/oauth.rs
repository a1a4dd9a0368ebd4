//! DigitalOcean's OAuth 2.0 authorization server, which DigitalOcean serves
//! at `https://cloud.digitalocean.com/v1/oauth` and the emulator beside its
//! API: `/v1/oauth/authorize` (an "Authorize Application" page where the
//! user picks a team, or denies), `/v1/oauth/token` (authorization_code,
//! with PKCE when a challenge was sent, and refresh_token), `/v1/oauth/refresh`
//! (the older documented address of the refresh) and `/v1/oauth/revoke`.
//!
//! What DigitalOcean documents, followed here: parameters may come in the
//! query string (its examples put them there) or in a form body (where
//! OAuth clients put them, with the client's credentials as HTTP Basic);
//! the token grant is `{"access_token": "doo_v1_…", "token_type": "bearer",
//! "expires_in": 2592000, "refresh_token": "dor_v1_…", "scope", "info":
//! {"name", "email", "uuid", "team_uuid", "team_name"}}`; a refresh token
//! works once, and using it ends the access token it came with; a refresh
//! needs only `grant_type` and `refresh_token` (client credentials, when
//! sent, must be right and the grant's); revoking takes the token and an
//! `Authorization: Bearer` header and answers `{}`. Errors are worded as
//! DigitalOcean's server (Doorkeeper) words them: a bad client, redirect
//! URI or scope on an "An error has occurred" page (never a redirect to an
//! address the application did not register), a denial as
//! `error=access_denied` back at the redirect URI, token errors as
//! `{"error", "error_description"}`.
//!
//! A grant is one team's: its access token authenticates `/v2/…` exactly as
//! that team's personal access token does (see [`bearer`]), but a grant
//! without the `write` scope is refused every write with a 403.

use std::collections::BTreeMap;

use http::Method;
use serde_json::{json, Value};

use super::account::account_uuid;
use super::seed::OAuthApp;
use super::store::{OAuthCode, OAuthGrant};
use crate::http::{Req, Resp};
use crate::identity::{client_credentials, escape, hidden_inputs, param, pkce_ok, respond};
use crate::state::{guid, now, Fault, State};

/// Doorkeeper's descriptions, which DigitalOcean answers with (those of
/// `invalid_grant`, `invalid_scope`, the redirect URI and `access_denied`
/// are quoted in DigitalOcean's OAuth troubleshooting guide).
const INVALID_REQUEST: &str = "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.";
const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";
const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const INVALID_REDIRECT_URI: &str = "The redirect uri included is not valid.";
const INVALID_SCOPE: &str = "The requested scope is invalid, unknown, or malformed.";
const ACCESS_DENIED: &str = "The resource owner or authorization server denied the request.";
const UNSUPPORTED_GRANT_TYPE: &str =
    "The authorization grant type is not supported by the authorization server.";
const UNSUPPORTED_RESPONSE_TYPE: &str =
    "The authorization server does not support this response type.";
const INVALID_CHALLENGE_METHOD: &str = "The code challenge method must be plain or S256.";
const CONSENT_REQUIRED: &str = "The authorization server requires end-user consent.";
const REVOKE_UNAUTHORIZED: &str = "You are not authorized to revoke this token";
const SERVER_ERROR: &str = "The authorization server encountered an unexpected condition which prevented it from fulfilling the request.";
const TEMPORARILY_UNAVAILABLE: &str = "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server.";

/// The scopes an application may ask for, in the order they are granted.
const SCOPES: &[&str] = &["read", "write"];

/// How long an authorization code may wait to be redeemed.
const CODE_SECONDS: i64 = 600;

/// The authorize parameters the consent form carries back.
const CARRIED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
];

/// Whether a request is for the authorization server: `/v1/oauth/…`. As
/// with `v2` (see [`super::is_request`]) no Azure path starts with `v1`:
/// ARM paths start with `subscriptions`, `tenants` or `providers`, identity
/// paths with a tenant (a GUID, a domain name, `common`, `organizations` or
/// `consumers`) and then `oauth2` or `v2.0`, blob paths with a storage
/// account name (three characters at least), the prices API with `api`.
pub fn is_request(segments: &[String]) -> bool {
    segments.first().is_some_and(|s| s == "v1") && segments.get(1).is_some_and(|s| s == "oauth")
}

/// Handles a request under `/v1/oauth/`; `fault` is the scripted fault that
/// matched it, if any (latency and dropped connections are the router's).
pub fn handle(state: &mut State, req: &Req, fault: Option<&Fault>) -> Resp {
    let segments = req.segments();
    let endpoint = match segments.as_slice() {
        [_, _, e] => e.as_str(),
        _ => "",
    };
    if let Some(status) = fault.and_then(|f| f.status) {
        let retry = fault.and_then(|f| f.retry_after).unwrap_or(1);
        return fault_error(status, retry, endpoint == "authorize");
    }
    let m = &req.method;
    match endpoint {
        "authorize" if *m == Method::GET || *m == Method::POST => authorize(state, req),
        "token" | "refresh" if *m == Method::POST => token(state, req),
        "revoke" if *m == Method::POST => revoke(state, req),
        _ => Resp::html(
            404,
            page(
                "Not found",
                "<h1>The page you were looking for doesn't exist.</h1>",
            ),
        ),
    }
}

/// The `grant_type` of a token request, for the request log.
pub fn grant_type(req: &Req) -> Option<String> {
    params(req).remove("grant_type")
}

/// The team a bearer token speaks for, and whether it may write, when it is
/// the current access token of a grant, not expired, of a team that exists.
pub fn bearer(state: &State, token: &str) -> Option<(String, bool)> {
    let grant = state.digitalocean.grant_by_access(token)?;
    if grant.expires <= now() {
        return None;
    }
    state.world.digitalocean.team(&grant.team)?;
    Some((grant.team.clone(), grant.can_write()))
}

/// Ends every grant `team` gave, as removing the application in the control
/// panel does.
pub fn revoke_team(state: &mut State, team: &str) {
    state
        .digitalocean
        .oauth_grants
        .retain(|_, g| g.team != team);
}

/// Expires the current access tokens of `team`'s grants now; their refresh
/// tokens still work.
pub fn expire_team(state: &mut State, team: &str) {
    let past = now() - 1;
    for g in state.digitalocean.oauth_grants.values_mut() {
        if g.team == team {
            g.expires = g.expires.min(past);
        }
    }
}

/// A page of the control panel.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} | DigitalOcean</title><style>body{{font-family:system-ui,sans-serif;max-width:480px;margin:40px auto;padding:0 16px;color:#031b4e}}\
         .box{{border:1px solid #dfe3e8;border-radius:8px;padding:24px 28px}}button{{padding:8px 20px;margin-right:8px;font-size:15px;border-radius:4px}}\
         .primary{{background:#0069ff;color:#fff;border:0}}.note{{color:#5b6987;font-size:13px}}</style></head>\
         <body><div class=\"box\"><p><strong>DigitalOcean</strong> <span class=\"note\">(Skyport DigitalOcean emulator)</span></p>{body}</div></body></html>"
    )
}

/// DigitalOcean's error page for an authorize request it cannot send back.
fn error_page(status: u16, description: &str) -> Resp {
    Resp::html(
        status,
        page(
            "An error has occurred",
            &format!(
                "<h1>An error has occurred</h1><p id=\"error\">{}</p>",
                escape(description)
            ),
        ),
    )
}

/// A token endpoint error: `{"error", "error_description"}`.
fn oauth_error(status: u16, error: &str, description: &str) -> Resp {
    Resp::json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
    .header("cache-control", "no-store")
    .header("pragma", "no-cache")
}

fn invalid_client() -> Resp {
    oauth_error(401, "invalid_client", INVALID_CLIENT)
}

fn invalid_grant() -> Resp {
    oauth_error(400, "invalid_grant", INVALID_GRANT)
}

fn invalid_request() -> Resp {
    oauth_error(400, "invalid_request", INVALID_REQUEST)
}

/// A scripted fault's answer: a page on the authorize endpoint, OAuth JSON
/// on the others.
fn fault_error(status: u16, retry_after: u32, on_page: bool) -> Resp {
    let (error, description) = match status {
        400 => ("invalid_request", INVALID_REQUEST),
        401 => ("invalid_client", INVALID_CLIENT),
        429 | 503 => ("temporarily_unavailable", TEMPORARILY_UNAVAILABLE),
        _ => ("server_error", SERVER_ERROR),
    };
    let resp = if on_page {
        error_page(status, description)
    } else {
        oauth_error(status, error, description)
    };
    if crate::sends_retry_after(status) {
        resp.header("retry-after", retry_after.to_string())
    } else {
        resp
    }
}

/// 64 random lowercase hex digits.
fn hex64() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The scopes asked for (`read` when none is), in [`SCOPES`] order, or
/// `None` when one is not a scope.
fn scopes(asked: Option<&str>) -> Option<Vec<&'static str>> {
    let words: Vec<&str> = asked.unwrap_or_default().split_whitespace().collect();
    if words.is_empty() {
        return Some(vec!["read"]);
    }
    if words.iter().any(|w| !SCOPES.contains(w)) {
        return None;
    }
    Some(
        SCOPES
            .iter()
            .copied()
            .filter(|s| words.contains(s))
            .collect(),
    )
}

/// An authorize request that passed every check.
struct Ask {
    app: OAuthApp,
    redirect_uri: String,
    state: String,
    scope: Vec<&'static str>,
    challenge: Option<(String, String)>,
}

impl Ask {
    /// Sends `fields` (and the state) back to the client's redirect URI.
    fn back(&self, fields: &[(&str, String)]) -> Resp {
        respond(&self.redirect_uri, None, fields, &self.state)
    }
}

/// Checks an authorize request, from its query (GET) or its form (POST,
/// whose hidden fields are checked as if they were new). `Err` is the
/// answer: a page while the client or its redirect URI is in doubt, and for
/// a bad scope (as DigitalOcean shows that one on its page too); other
/// errors go back to the redirect URI.
fn check(state: &State, req: &Req, form: &BTreeMap<String, String>) -> Result<Ask, Resp> {
    let p = |n: &str| param(req, form, n).filter(|v| !v.is_empty());
    let Some(app) = p("client_id").and_then(|c| state.world.digitalocean.app(&c).cloned()) else {
        return Err(error_page(400, INVALID_CLIENT));
    };
    let redirect_uri = p("redirect_uri").unwrap_or_default();
    // DigitalOcean wants the registered callback URL itself: no port or
    // path is let through, loopback or not.
    if !app.redirect_uris.contains(&redirect_uri) {
        return Err(error_page(400, INVALID_REDIRECT_URI));
    }
    let mut ask = Ask {
        app,
        redirect_uri,
        state: p("state").unwrap_or_default(),
        scope: Vec::new(),
        challenge: None,
    };
    let error = |error: &str, description: &str| {
        vec![
            ("error", error.to_string()),
            ("error_description", description.to_string()),
        ]
    };
    if p("response_type").as_deref() != Some("code") {
        return Err(ask.back(&error(
            "unsupported_response_type",
            UNSUPPORTED_RESPONSE_TYPE,
        )));
    }
    ask.scope = scopes(p("scope").as_deref()).ok_or_else(|| error_page(400, INVALID_SCOPE))?;
    if let Some(challenge) = p("code_challenge") {
        let method = p("code_challenge_method").unwrap_or_else(|| "plain".into());
        if method != "S256" && method != "plain" {
            return Err(ask.back(&error("invalid_request", INVALID_CHALLENGE_METHOD)));
        }
        ask.challenge = Some((challenge, method));
    }
    Ok(ask)
}

/// `GET|POST /v1/oauth/authorize`.
fn authorize(state: &mut State, req: &Req) -> Resp {
    let form = if req.method == Method::POST {
        req.form()
    } else {
        BTreeMap::new()
    };
    let ask = match check(state, req, &form) {
        Ok(ask) => ask,
        Err(answer) => return answer,
    };
    match form.get("decision").map(String::as_str) {
        Some("deny") => {
            return ask.back(&[
                ("error", "access_denied".into()),
                ("error_description", ACCESS_DENIED.into()),
            ])
        }
        Some("authorize") => {
            let team = form.get("team").map(String::as_str).unwrap_or_default();
            if state.world.digitalocean.team(team).is_none() {
                return error_page(400, "The team chosen is not one you belong to.");
            }
            return issue_code(state, &ask, team);
        }
        _ => {}
    }
    let prompt = param(req, &form, "prompt").unwrap_or_default();
    if prompt.split_whitespace().any(|p| p == "none") {
        // The emulator's user is always signed in; one who already
        // authorized the application (on a team, with these scopes) comes
        // straight back, anyone else needs the page.
        let known = state
            .digitalocean
            .oauth_grants
            .values()
            .filter(|g| g.client_id == ask.app.client_id)
            .filter(|g| {
                ask.scope
                    .iter()
                    .all(|s| g.scope.split(' ').any(|h| h == *s))
            })
            .max_by_key(|g| g.created_at)
            .map(|g| g.team.clone());
        return match known {
            Some(team) => issue_code(state, &ask, &team),
            None => ask.back(&[
                ("error", "consent_required".into()),
                ("error_description", CONSENT_REQUIRED.into()),
            ]),
        };
    }
    consent_page(state, req, &form, &ask)
}

/// Mints a code for `team` and sends it to the client.
fn issue_code(state: &mut State, ask: &Ask, team: &str) -> Resp {
    let code = hex64();
    let t = now();
    let codes = &mut state.digitalocean.oauth_codes;
    codes.retain(|_, c| c.expires > t);
    codes.insert(
        code.clone(),
        OAuthCode {
            client_id: ask.app.client_id.clone(),
            redirect_uri: ask.redirect_uri.clone(),
            team: team.to_string(),
            scope: ask.scope.join(" "),
            challenge: ask.challenge.clone(),
            expires: t + CODE_SECONDS,
        },
    );
    ask.back(&[("code", code)])
}

/// The "Authorize Application" page: the application, the scopes it asks
/// for, a team to grant them on, and the two buttons.
fn consent_page(state: &State, req: &Req, form: &BTreeMap<String, String>, ask: &Ask) -> Resp {
    let hidden = hidden_inputs(CARRIED, |n| param(req, form, n));
    let teams: String = state
        .world
        .digitalocean
        .teams
        .iter()
        .map(|t| {
            format!(
                "<option value=\"{}\">{}</option>",
                escape(&t.uuid),
                escape(&t.name)
            )
        })
        .collect();
    let scopes: String = ask
        .scope
        .iter()
        .map(|s| {
            let what = match *s {
                "write" => "create, change and delete the team's resources",
                _ => "view the team's resources",
            };
            format!("<li id=\"scope-{s}\"><strong>{s}</strong>: {what}</li>")
        })
        .collect();
    Resp::html(
        200,
        page(
            "Authorize Application",
            &format!(
                "<h1>Authorize Application</h1>\
                 <p><strong id=\"app\">{}</strong> would like access to your DigitalOcean account.</p>\
                 <ul id=\"scopes\">{scopes}</ul>\
                 <form method=\"post\" action=\"/v1/oauth/authorize\">{hidden}\
                 <p><label for=\"team\">Select a team</label><br><select id=\"team\" name=\"team\">{teams}</select></p>\
                 <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Cancel</button>\
                 <button type=\"submit\" class=\"primary\" name=\"decision\" value=\"authorize\" id=\"authorize\">Authorize Application</button></form>",
                escape(&ask.app.name)
            ),
        ),
    )
}

/// The parameters of a token or revoke request: its query string, and its
/// body (a form, or a JSON object of strings), the body's winning.
fn params(req: &Req) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = req.query.iter().cloned().collect();
    let json = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    if json {
        if let Some(Value::Object(body)) = req.json() {
            for (k, v) in body {
                if let Value::String(s) = v {
                    all.insert(k, s);
                }
            }
        }
    } else {
        all.extend(req.form());
    }
    all.retain(|_, v| !v.is_empty());
    all
}

/// The application a token or revoke request authenticates as, by
/// `client_id` and `client_secret` parameters or HTTP Basic: `Ok(None)` when
/// it sends no credentials, `Err` (`invalid_client`) when they are wrong.
fn client(
    state: &State,
    req: &Req,
    p: &BTreeMap<String, String>,
) -> Result<Option<OAuthApp>, Resp> {
    match client_credentials(req, p) {
        (None, None) => Ok(None),
        (Some(id), Some(secret)) => match state.world.digitalocean.app(&id) {
            Some(app) if app.client_secret == secret => Ok(Some(app.clone())),
            _ => Err(invalid_client()),
        },
        _ => Err(invalid_client()),
    }
}

/// `POST /v1/oauth/token` (and `/v1/oauth/refresh`).
fn token(state: &mut State, req: &Req) -> Resp {
    let p = params(req);
    let client = match client(state, req, &p) {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    match p.get("grant_type").map(String::as_str) {
        None => invalid_request(),
        Some("authorization_code") => redeem(state, &p, client),
        Some("refresh_token") => refresh(state, &p, client),
        Some(_) => oauth_error(400, "unsupported_grant_type", UNSUPPORTED_GRANT_TYPE),
    }
}

/// grant_type=authorization_code: the client must authenticate, and the
/// code be its, unexpired, unused, for the same redirect URI, and answered
/// by the PKCE verifier when it was asked with a challenge.
fn redeem(state: &mut State, p: &BTreeMap<String, String>, client: Option<OAuthApp>) -> Resp {
    let code_value = p.get("code").cloned().unwrap_or_default();
    let code = state.digitalocean.oauth_codes.get(&code_value).cloned();
    let verifier = p.get("code_verifier");
    let needs_verifier = code.as_ref().is_some_and(|c| c.challenge.is_some());
    if (needs_verifier && verifier.is_none()) || !p.contains_key("redirect_uri") {
        return invalid_request();
    }
    let Some(client) = client else {
        return invalid_client();
    };
    let Some(code) = code.filter(|c| c.client_id == client.client_id && c.expires > now()) else {
        return invalid_grant();
    };
    if p.get("redirect_uri") != Some(&code.redirect_uri) {
        return invalid_grant();
    }
    if let (Some(challenge), Some(verifier)) = (&code.challenge, verifier) {
        if !pkce_ok(challenge, verifier) {
            return invalid_grant();
        }
    }
    state.digitalocean.oauth_codes.remove(&code_value);
    let grant = OAuthGrant {
        id: guid(),
        client_id: code.client_id,
        team: code.team,
        scope: code.scope,
        created_at: now(),
        access_token: String::new(),
        expires: 0,
        refresh_token: String::new(),
    };
    mint(state, grant)
}

/// grant_type=refresh_token: the grant's current refresh token, once.
fn refresh(state: &mut State, p: &BTreeMap<String, String>, client: Option<OAuthApp>) -> Resp {
    let Some(token) = p.get("refresh_token") else {
        return invalid_request();
    };
    let Some(grant) = state.digitalocean.grant_by_refresh(token).cloned() else {
        return invalid_grant();
    };
    let theirs = client.is_none_or(|c| c.client_id == grant.client_id);
    if !theirs || state.world.digitalocean.team(&grant.team).is_none() {
        return invalid_grant();
    }
    mint(state, grant)
}

/// Gives `grant` a new access token and refresh token (the old ones stop
/// working) and answers with DigitalOcean's token grant.
fn mint(state: &mut State, mut grant: OAuthGrant) -> Resp {
    let lifetime = state.world.digitalocean.oauth_token_seconds;
    grant.access_token = format!("doo_v1_{}", hex64());
    grant.refresh_token = format!("dor_v1_{}", hex64());
    grant.expires = now() + lifetime;
    let info = match state.world.digitalocean.team(&grant.team) {
        // The seed knows a team's email, not its user's name: the email's
        // local part stands for it.
        Some(t) => json!({
            "name": t.email.split('@').next().unwrap_or_default(),
            "email": t.email,
            "uuid": account_uuid(&t.email),
            "team_uuid": t.uuid,
            "team_name": t.name,
        }),
        None => json!({}),
    };
    let body = json!({
        "access_token": grant.access_token,
        "token_type": "bearer",
        "expires_in": lifetime,
        "refresh_token": grant.refresh_token,
        "scope": grant.scope,
        "info": info,
    });
    state
        .digitalocean
        .oauth_grants
        .insert(grant.id.clone(), grant);
    Resp::json(200, &body)
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
}

/// `POST /v1/oauth/revoke`: `token` is an access or a refresh token;
/// revoking it ends its grant. The request is authorized by the grant's
/// current access token, expired or not, as `Authorization: Bearer` (as
/// DigitalOcean documents it),
/// or by the grant's client credentials (as RFC 7009 has it); a token that
/// is no grant's is answered `{}` all the same, as RFC 7009 asks.
fn revoke(state: &mut State, req: &Req) -> Resp {
    let p = params(req);
    let client = match client(state, req, &p) {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    let token = p.get("token").cloned().unwrap_or_default();
    let live = &state.digitalocean;
    let grant = live
        .grant_by_access(&token)
        .or_else(|| live.grant_by_refresh(&token))
        .cloned();
    if let Some(grant) = grant {
        let bearer = req
            .header("authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        let by_bearer = bearer == Some(grant.access_token.as_str());
        let by_client = client.is_some_and(|c| c.client_id == grant.client_id);
        if !by_bearer && !by_client {
            return oauth_error(403, "unauthorized_client", REVOKE_UNAUTHORIZED);
        }
        state.digitalocean.oauth_grants.remove(&grant.id);
    }
    Resp::json(200, &json!({}))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use base64::Engine;
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::digitalocean::{SEED_CLIENT_ID, SEED_CLIENT_SECRET, SEED_EMAIL, SEED_TEAM};
    use crate::World;

    const CALLBACK: &str = "http://127.0.0.1:8080/oauth/digitalocean/callback";

    /// An emulator without a listener: requests go through the router.
    struct Emu {
        state: Arc<Mutex<State>>,
        rt: tokio::runtime::Runtime,
    }

    /// An answer, read.
    struct Got {
        status: u16,
        location: Option<String>,
        body: String,
    }

    impl Got {
        fn json(&self) -> Value {
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
        }

        /// A query parameter of the redirect.
        fn param(&self, name: &str) -> Option<String> {
            let loc = self.location.as_deref().expect("a redirect");
            url::Url::parse(loc)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        }
    }

    fn unescape(s: &str) -> String {
        s.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// The `value`s after each `marker` (up to the next quote), unescaped.
    fn values_after(html: &str, marker: &str) -> Vec<String> {
        html.split(marker)
            .skip(1)
            .map(|rest| unescape(rest.split('"').next().unwrap()))
            .collect()
    }

    /// The consent form's hidden fields.
    fn hidden_fields(html: &str) -> Vec<(String, String)> {
        html.split("<input type=\"hidden\" name=\"")
            .skip(1)
            .map(|rest| {
                let (name, rest) = rest.split_once("\" value=\"").unwrap();
                (name.to_string(), unescape(rest.split('"').next().unwrap()))
            })
            .collect()
    }

    fn form_body(fields: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish()
    }

    fn basic(id: &str, secret: &str) -> String {
        let raw = format!("{id}:{secret}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    fn challenge_of(verifier: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier))
    }

    impl Emu {
        fn new() -> Emu {
            Emu::with(World::default())
        }

        /// The emulator with `world`, its first application's callback
        /// registered as `CALLBACK`.
        fn with(mut world: World) -> Emu {
            if let Some(app) = world.digitalocean.apps.first_mut() {
                app.redirect_uris.push(CALLBACK.into());
            }
            let state = State::new(world, "http://127.0.0.1:1".into());
            Emu {
                state: Arc::new(Mutex::new(state)),
                rt: tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            }
        }

        fn send(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Got {
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let mut map = http::HeaderMap::new();
            for (k, v) in headers {
                map.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    http::HeaderValue::from_str(v).unwrap(),
                );
            }
            let req = Req {
                method: method.parse().unwrap(),
                path: path.to_string(),
                query: url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect(),
                raw_query: query.to_string(),
                headers: map,
                body: bytes::Bytes::from(body.to_string()),
                peer: "127.0.0.1:9".parse().unwrap(),
            };
            let resp = self.rt.block_on(crate::route(self.state.clone(), req));
            Got {
                status: resp.status.as_u16(),
                location: resp.get_header("location").map(str::to_string),
                body: String::from_utf8_lossy(&resp.body).into_owned(),
            }
        }

        fn post_form(&self, path: &str, headers: &[(&str, &str)], fields: &[(&str, &str)]) -> Got {
            let mut h = headers.to_vec();
            h.push(("content-type", "application/x-www-form-urlencoded"));
            self.send("POST", path, &h, &form_body(fields))
        }

        fn api(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Got {
            let auth = format!("Bearer {token}");
            let mut headers = vec![("authorization", auth.as_str())];
            if body.is_some() {
                headers.push(("content-type", "application/json"));
            }
            let text = body.map(|b| b.to_string()).unwrap_or_default();
            self.send(method, path, &headers, &text)
        }

        fn command(&self, c: crate::Command) {
            crate::admin::apply(&mut self.state.lock().unwrap(), c).unwrap();
        }

        /// The authorize page for `extra` parameters on top of the seed
        /// app's, checked to be the consent page.
        fn consent(&self, extra: &[(&str, &str)]) -> String {
            let mut q = vec![
                ("client_id", SEED_CLIENT_ID),
                ("redirect_uri", CALLBACK),
                ("response_type", "code"),
                ("state", "st-1"),
            ];
            q.extend_from_slice(extra);
            let got = self.send(
                "GET",
                &format!("/v1/oauth/authorize?{}", form_body(&q)),
                &[],
                "",
            );
            assert_eq!(got.status, 200, "{}", got.body);
            assert!(got.body.contains("Authorize Application"));
            got.body
        }

        /// Signs in to the seed team with the scopes of `extra`, and returns the code.
        fn code(&self, extra: &[(&str, &str)]) -> String {
            let page = self.consent(extra);
            let mut fields = hidden_fields(&page);
            fields.push(("team".into(), SEED_TEAM.into()));
            fields.push(("decision".into(), "authorize".into()));
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let got = self.post_form("/v1/oauth/authorize", &[], &f);
            assert_eq!(got.status, 302, "{}", got.body);
            assert!(got.location.as_deref().unwrap().starts_with(CALLBACK));
            assert_eq!(got.param("state").as_deref(), Some("st-1"));
            got.param("code").expect("a code")
        }

        /// Redeems a code as an OAuth client library does: form body, Basic auth.
        fn redeem(&self, code: &str, extra: &[(&str, &str)]) -> Got {
            let mut f = vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
            ];
            f.extend_from_slice(extra);
            let auth = basic(SEED_CLIENT_ID, SEED_CLIENT_SECRET);
            self.post_form("/v1/oauth/token", &[("authorization", &auth)], &f)
        }

        /// A refresh as DigitalOcean documents it: parameters in the query.
        fn refresh(&self, refresh_token: &str) -> Got {
            let q = form_body(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ]);
            self.send("POST", &format!("/v1/oauth/token?{q}"), &[], "")
        }

        /// Authorizes the seed team and redeems the code: the token grant.
        fn connect(&self, extra: &[(&str, &str)]) -> Value {
            let code = self.code(extra);
            let got = self.redeem(&code, &[]);
            assert_eq!(got.status, 200, "{}", got.body);
            got.json()
        }
    }

    fn assert_oauth_error(got: &Got, status: u16, error: &str) {
        assert_eq!(got.status, status, "{}", got.body);
        assert_eq!(got.json()["error"], error, "{}", got.body);
        assert!(got.json()["error_description"].is_string());
    }

    fn assert_unauthorized(got: &Got) {
        assert_eq!(got.status, 401, "{}", got.body);
        assert_eq!(got.json()["message"], "Unable to authenticate you");
    }

    fn hex_after(s: &str, prefix: &str) -> bool {
        s.strip_prefix(prefix).is_some_and(|h| {
            h.len() == 64
                && h.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
    }

    #[test]
    fn authorize_token_and_account_round_trip() {
        let emu = Emu::new();
        let page = emu.consent(&[("scope", "read write")]);
        assert!(page.contains("Skyport"));
        assert_eq!(values_after(&page, "<option value=\""), vec![SEED_TEAM]);
        assert!(page.contains("<form method=\"post\" action=\"/v1/oauth/authorize\">"));
        assert!(page.contains("name=\"decision\" value=\"authorize\""));
        assert!(page.contains("name=\"decision\" value=\"deny\""));
        let hidden = hidden_fields(&page);
        assert!(hidden.contains(&("redirect_uri".into(), CALLBACK.into())));
        assert!(hidden.contains(&("scope".into(), "read write".into())));

        let grant = emu.connect(&[("scope", "read write")]);
        let access = grant["access_token"].as_str().unwrap();
        assert!(hex_after(access, "doo_v1_"), "{grant}");
        assert!(hex_after(
            grant["refresh_token"].as_str().unwrap(),
            "dor_v1_"
        ));
        assert_eq!(grant["token_type"], "bearer");
        assert_eq!(grant["expires_in"], 2_592_000);
        assert_eq!(grant["scope"], "read write");
        assert_eq!(grant["info"]["email"], SEED_EMAIL);
        assert_eq!(grant["info"]["uuid"], account_uuid(SEED_EMAIL));
        assert_eq!(grant["info"]["name"], "sammy");
        assert_eq!(grant["info"]["team_uuid"], SEED_TEAM);

        let account = emu.api(access, "GET", "/v2/account", None);
        assert_eq!(account.status, 200, "{}", account.body);
        assert_eq!(account.json()["account"]["team"]["uuid"], SEED_TEAM);
        assert_eq!(account.json()["account"]["uuid"], grant["info"]["uuid"]);
        let tag = emu.api(access, "POST", "/v2/tags", Some(json!({ "name": "oauth" })));
        assert_eq!(tag.status, 201, "{}", tag.body);

        // DigitalOcean's own style: every parameter in the query string.
        let code = emu.code(&[]);
        let q = form_body(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", SEED_CLIENT_ID),
            ("client_secret", SEED_CLIENT_SECRET),
            ("redirect_uri", CALLBACK),
        ]);
        let got = emu.send("POST", &format!("/v1/oauth/token?{q}"), &[], "");
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["scope"], "read");
        let log = emu.state.lock().unwrap().log.clone();
        assert!(log
            .iter()
            .any(|l| l.grant.as_deref() == Some("authorization_code")));
    }

    #[test]
    fn wrong_client_secret_is_invalid_client() {
        let emu = Emu::new();
        let code = emu.code(&[]);
        let auth = basic(SEED_CLIENT_ID, "not-the-secret");
        let got = emu.post_form(
            "/v1/oauth/token",
            &[("authorization", &auth)],
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        );
        assert_oauth_error(&got, 401, "invalid_client");
        let got = emu.redeem(&code, &[]);
        assert_eq!(got.status, 200, "the code outlives a refused attempt");
        let got = emu.post_form(
            "/v1/oauth/token",
            &[],
            &[("grant_type", "password"), ("username", "sammy")],
        );
        assert_oauth_error(&got, 400, "unsupported_grant_type");
    }

    #[test]
    fn pkce_verifier_must_answer_the_challenge() {
        let emu = Emu::new();
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";
        let challenge = challenge_of(verifier);
        let code = emu.code(&[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        assert_oauth_error(&emu.redeem(&code, &[]), 400, "invalid_request");
        let wrong = emu.redeem(
            &code,
            &[(
                "code_verifier",
                "another-verifier-of-enough-length-000000000",
            )],
        );
        assert_oauth_error(&wrong, 400, "invalid_grant");
        assert_eq!(
            wrong.json()["error_description"],
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
        );
        let right = emu.redeem(&code, &[("code_verifier", verifier)]);
        assert_eq!(right.status, 200, "{}", right.body);
    }

    #[test]
    fn an_unregistered_redirect_or_client_gets_a_page_not_a_redirect() {
        let emu = Emu::new();
        for (client, redirect) in [
            (
                SEED_CLIENT_ID,
                "https://evil.example/oauth/digitalocean/callback",
            ),
            (SEED_CLIENT_ID, "http://127.0.0.1:8080/elsewhere"),
            ("0000", CALLBACK),
        ] {
            let q = form_body(&[
                ("client_id", client),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("state", "s"),
            ]);
            let got = emu.send("GET", &format!("/v1/oauth/authorize?{q}"), &[], "");
            assert_eq!(got.status, 400, "{}", got.body);
            assert!(got.location.is_none());
            assert!(got.body.contains("An error has occurred"));
            // A POST with tampered hidden fields is checked as anew.
            let got = emu.post_form(
                "/v1/oauth/authorize",
                &[],
                &[
                    ("client_id", client),
                    ("redirect_uri", redirect),
                    ("response_type", "code"),
                    ("team", SEED_TEAM),
                    ("decision", "authorize"),
                ],
            );
            assert_eq!(got.status, 400);
            assert!(got.location.is_none());
        }
        let got = emu.send(
            "GET",
            &format!(
                "/v1/oauth/authorize?{}",
                form_body(&[
                    ("client_id", SEED_CLIENT_ID),
                    (
                        "redirect_uri",
                        "http://localhost:51234/oauth/digitalocean/callback"
                    ),
                    ("response_type", "code"),
                ])
            ),
            &[],
            "",
        );
        assert_eq!(
            got.status, 400,
            "the callback must be the registered one, port and all"
        );

        // The token request must repeat the authorize request's redirect URI.
        let code = emu.code(&[]);
        let auth = basic(SEED_CLIENT_ID, SEED_CLIENT_SECRET);
        let got = emu.post_form(
            "/v1/oauth/token",
            &[("authorization", &auth)],
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                (
                    "redirect_uri",
                    "http://127.0.0.1:9999/oauth/digitalocean/callback",
                ),
            ],
        );
        assert_oauth_error(&got, 400, "invalid_grant");
    }

    #[test]
    fn bad_requests_denials_and_scopes() {
        let emu = Emu::new();
        let base = [
            ("client_id", SEED_CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("state", "st-9"),
        ];
        let get = |extra: &[(&str, &str)]| {
            let mut q = base.to_vec();
            q.extend_from_slice(extra);
            emu.send(
                "GET",
                &format!("/v1/oauth/authorize?{}", form_body(&q)),
                &[],
                "",
            )
        };
        let got = get(&[("response_type", "token")]);
        assert_eq!(got.status, 302);
        assert_eq!(
            got.param("error").as_deref(),
            Some("unsupported_response_type")
        );
        assert_eq!(got.param("state").as_deref(), Some("st-9"));
        let got = get(&[("response_type", "code"), ("scope", "read admin")]);
        assert_eq!(got.status, 400);
        assert!(got.body.contains(INVALID_SCOPE));
        let got = get(&[
            ("response_type", "code"),
            ("code_challenge", "abc"),
            ("code_challenge_method", "S512"),
        ]);
        assert_eq!(got.param("error").as_deref(), Some("invalid_request"));

        let mut deny = base.to_vec();
        deny.extend([("response_type", "code"), ("decision", "deny")]);
        let got = emu.post_form("/v1/oauth/authorize", &[], &deny);
        assert_eq!(got.status, 302);
        assert_eq!(got.param("error").as_deref(), Some("access_denied"));
        assert_eq!(
            got.param("error_description").as_deref(),
            Some(ACCESS_DENIED)
        );
        assert_eq!(got.param("state").as_deref(), Some("st-9"));
        assert_eq!(got.param("code"), None);

        // prompt=none: consent first, then straight back with a code.
        let got = get(&[("response_type", "code"), ("prompt", "none")]);
        assert_eq!(got.param("error").as_deref(), Some("consent_required"));
        emu.connect(&[("scope", "read write")]);
        let got = get(&[("response_type", "code"), ("prompt", "none")]);
        let code = got.param("code").expect("a code without the page");
        assert_eq!(emu.redeem(&code, &[]).json()["scope"], "read");
    }

    #[test]
    fn a_code_is_single_use() {
        let emu = Emu::new();
        let code = emu.code(&[]);
        assert_eq!(emu.redeem(&code, &[]).status, 200);
        assert_oauth_error(&emu.redeem(&code, &[]), 400, "invalid_grant");
        assert_oauth_error(&emu.redeem("no-such-code", &[]), 400, "invalid_grant");
    }

    #[test]
    fn refresh_rotates_both_tokens_and_keeps_the_grant() {
        let emu = Emu::new();
        let first = emu.connect(&[("scope", "read write")]);
        let old_access = first["access_token"].as_str().unwrap();
        let old_refresh = first["refresh_token"].as_str().unwrap();
        let got = emu.refresh(old_refresh);
        assert_eq!(got.status, 200, "{}", got.body);
        let second = got.json();
        let access = second["access_token"].as_str().unwrap();
        let refresh = second["refresh_token"].as_str().unwrap();
        assert_ne!(access, old_access);
        assert_ne!(refresh, old_refresh);
        assert_eq!(second["scope"], "read write");
        assert_eq!(second["info"], first["info"]);
        assert_eq!(emu.state.lock().unwrap().digitalocean.oauth_grants.len(), 1);

        assert_oauth_error(&emu.refresh(old_refresh), 400, "invalid_grant");
        assert_unauthorized(&emu.api(old_access, "GET", "/v2/account", None));
        assert_eq!(emu.api(access, "GET", "/v2/account", None).status, 200);

        // A client that authenticates must be the grant's.
        let auth = basic(SEED_CLIENT_ID, "wrong");
        let got = emu.post_form(
            "/v1/oauth/token",
            &[("authorization", &auth)],
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        );
        assert_oauth_error(&got, 401, "invalid_client");
        let auth = basic(SEED_CLIENT_ID, SEED_CLIENT_SECRET);
        let got = emu.post_form(
            "/v1/oauth/refresh",
            &[("authorization", &auth)],
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        );
        assert_eq!(got.status, 200, "{}", got.body);
    }

    #[test]
    fn revoking_ends_the_grant() {
        let emu = Emu::new();
        let grant = emu.connect(&[]);
        let access = grant["access_token"].as_str().unwrap();
        let refresh = grant["refresh_token"].as_str().unwrap();

        let got = emu.post_form("/v1/oauth/revoke", &[], &[("token", access)]);
        assert_oauth_error(&got, 403, "unauthorized_client");
        let bearer = format!("Bearer {access}");
        let got = emu.send(
            "POST",
            &format!("/v1/oauth/revoke?{}", form_body(&[("token", refresh)])),
            &[("authorization", &bearer)],
            "",
        );
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json(), json!({}));
        assert_unauthorized(&emu.api(access, "GET", "/v2/account", None));
        assert_oauth_error(&emu.refresh(refresh), 400, "invalid_grant");
        let again = emu.post_form("/v1/oauth/revoke", &[], &[("token", access)]);
        assert_eq!(again.status, 200, "an unknown token is revoked already");

        // Removing the application in the control panel.
        let grant = emu.connect(&[]);
        emu.command(crate::Command::RevokeDigitalOceanGrants {
            team: SEED_TEAM.into(),
        });
        let refresh = grant["refresh_token"].as_str().unwrap();
        assert_oauth_error(&emu.refresh(refresh), 400, "invalid_grant");
        let access = grant["access_token"].as_str().unwrap();
        assert_unauthorized(&emu.api(access, "GET", "/v2/account", None));
    }

    #[test]
    fn a_read_grant_cannot_write() {
        let emu = Emu::new();
        let grant = emu.connect(&[]);
        assert_eq!(grant["scope"], "read");
        let access = grant["access_token"].as_str().unwrap();
        assert_eq!(emu.api(access, "GET", "/v2/droplets", None).status, 200);
        for (method, path) in [
            ("POST", "/v2/tags"),
            ("DELETE", "/v2/tags/x"),
            ("PUT", "/v2/firewalls/x"),
        ] {
            let got = emu.api(access, method, path, Some(json!({ "name": "oauth" })));
            assert_eq!(got.status, 403, "{method} {path}: {}", got.body);
            assert_eq!(got.json()["id"], "Forbidden");
            assert_eq!(
                got.json()["message"],
                "You are not authorized to perform this operation"
            );
        }
    }

    #[test]
    fn an_expired_access_token_is_refused_and_refreshed() {
        let mut world = World::default();
        world.digitalocean.oauth_token_seconds = 3600;
        let emu = Emu::with(world);
        let grant = emu.connect(&[]);
        assert_eq!(grant["expires_in"], 3600);
        let access = grant["access_token"].as_str().unwrap();
        assert_eq!(emu.api(access, "GET", "/v2/account", None).status, 200);
        emu.command(crate::Command::ExpireDigitalOceanAccessTokens {
            team: SEED_TEAM.into(),
        });
        assert_unauthorized(&emu.api(access, "GET", "/v2/account", None));
        let got = emu.refresh(grant["refresh_token"].as_str().unwrap());
        assert_eq!(got.status, 200, "{}", got.body);
        let fresh = got.json()["access_token"].as_str().unwrap().to_string();
        assert_eq!(emu.api(&fresh, "GET", "/v2/account", None).status, 200);
    }

    #[test]
    fn oauth_paths_are_not_azure_paths() {
        let seg = |p: &str| -> Vec<String> {
            p.split('/')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        assert!(is_request(&seg("/v1/oauth/token")));
        assert!(!is_request(&seg("/common/oauth2/v2.0/token")));
        assert!(!is_request(&seg("/v1")));
        assert!(!is_request(&seg("/v2/account")));
    }

    #[test]
    fn the_seed_refuses_a_client_id_twice() {
        let mut seed = crate::digitalocean::Seed::default();
        seed.check().unwrap();
        let twin = seed.apps[0].clone();
        seed.apps.push(twin);
        assert!(seed.check().unwrap_err().contains("two OAuth applications"));
    }
}
