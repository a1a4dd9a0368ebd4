//! The connect function, one instance per provider (`<p>` below is its
//! `provider` variable): `POST /api/v1/accounts/<p>/connect` starts a
//! sign-in, `GET /oauth/<p>/start` sends the popup to it,
//! `GET /oauth/<p>/callback` finishes it — state checked, code redeemed,
//! subscriptions discovered — into a claim, and
//! `POST /api/v1/accounts/<p>/claim` stores the account for the client that
//! started the sign-in, with that client's own API key. A provider that also
//! signs in by API token names that function's instance in `token_connect`;
//! a connect bringing a token is passed on to it.
//!
//! The claim is what keeps a sign-in in the organization that began it: a
//! sign-in link sent to somebody else ends in *their* browser, which holds no
//! key of the sender's organization, so nobody can claim it and its tokens are
//! discarded unused when it expires.

use serde_json::json;
use skyport_functions::api::{
    json_body, json_response, query, query_param, req_str, segments, ApiError, Route,
};
use skyport_functions::config::Config;
use skyport_functions::crypto::Keys;
use skyport_functions::db::{self, get_int, get_text, int, text};
use skyport_functions::pages::{render, Outcome};
use skyport_functions::plugin_identity::{
    self as identity, CallbackOutcome, Principal, TokenOutcome,
};
use skyport_functions::plugin_scopes;
use skyport_functions::plugin_types::Session;
use skyport_functions::provider::Provider;
use skyport_functions::{accounts, oauth, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

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
    // Paths of another provider are that provider's instance's to answer.
    let here = match path.as_slice() {
        ["api", "v1", "accounts", p, "connect" | "claim"] | ["oauth", p, _] => *p == provider.id,
        _ => false,
    };
    match (req.method(), here.then_some(path.as_slice())) {
        (Method::Post, Some([.., "connect"])) => {
            let token_connect = skyport_functions::config::get("token_connect");
            match token_connect.as_deref().filter(|_| has_body(&req)) {
                Some(component) => skyport_functions::provider::pass_on(&req, component).await,
                None => start(&req, token_connect.is_some()),
            }
        }
        (Method::Post, Some([.., "claim"])) => claim(&req, &provider).await,
        (Method::Get, Some(["oauth", _, "start"])) => popup(&req),
        (Method::Get, Some(["oauth", _, "callback"])) => Ok(callback(&req, &provider).await),
        (Method::Get, Some(["oauth", _, "admin-consent"])) => Ok(consent_link(&req)),
        (method, _) => Err(ApiError::unrouted(None, ROUTES, method, &path)),
    }
}

/// What this function answers (the fallback tells 405 from 404 by it); `*`
/// is the provider.
const ROUTES: &[Route] = &[
    ("POST", "api/v1/accounts/*/connect"),
    ("POST", "api/v1/accounts/*/claim"),
    ("GET", "oauth/*/start"),
    ("GET", "oauth/*/callback"),
    ("GET", "oauth/*/admin-consent"),
];

/// Whether a connect brings a body. A provider that signs in both ways
/// names the component that connects by API token (its `token_connect`
/// variable): both ways share the provider's one connect route, which this
/// instance holds. Only an empty body or `{}` starts a sign-in; any other (a
/// token, a reconnect's `account_id`, or something that is not JSON) is the
/// token function's to check and answer, never a sign-in started by mistake.
fn has_body(req: &Request) -> bool {
    let body = req.body();
    let empty = body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()));
    !empty
}

/// `POST /api/v1/accounts/<p>/connect`; `also_by_token` when the provider
/// signs in by API token too.
fn start(req: &Request, also_by_token: bool) -> Result<Response, ApiError> {
    let db = db::open()?;
    let org = orgs::authenticate(&db, req)?;
    let cfg = Config::load()?;
    let keys = Keys::load()?;
    // A provider that also takes tokens may be deployed without its OAuth
    // application: that is a choice, and the token is the way in.
    if also_by_token && cfg.oauth().is_err() {
        return Err(ApiError::new(
            409,
            "sign_in_not_configured",
            &format!("Sign-in with {} is not set up on this Skyport.", cfg.provider.signin),
            &format!("Connect with an API token instead (send {{\"token\": …}} to POST /api/v1/accounts/{}/connect), or have an administrator set the OAuth application's client id and secret (the app variables spin.toml gives this function as `client_id` and `client_secret`).", cfg.provider.id),
        ));
    }
    let started = oauth::start(&db, &cfg, &keys, &org, None)?;
    Ok(json_response(
        201,
        &json!({
            "authorize_url": started.authorize_url,
            "popup_url": cfg.provider.popup_path(&started.state),
            "state": started.state,
            "expires_at": started.expires_at,
        }),
    ))
}

/// `GET /oauth/<p>/start?state=…`: the popup's first stop, a redirect to sign-in.
fn popup(req: &Request) -> Result<Response, ApiError> {
    let state = query_param(req, "state").unwrap_or_default();
    let db = db::open()?;
    let r = db.execute(
        "SELECT authorize_url, expires_at, used_at FROM pending WHERE state = ?",
        &[text(&state)],
    )?;
    let usable = get_int(&r, 0, "expires_at").is_some_and(|e| e > skyport_functions::now())
        && get_int(&r, 0, "used_at").is_none();
    match get_text(&r, 0, "authorize_url").filter(|_| usable) {
        Some(url) => Ok(Response::builder()
            .status(302)
            .header("location", url)
            .header("cache-control", "no-store")
            .build()),
        None => Ok(render(&invalid_state(
            "This sign-in link is not valid or has expired.",
        ))),
    }
}

fn invalid_state(message: &str) -> Outcome {
    Outcome {
        code: "invalid_state",
        title: "Sign-in link not valid".into(),
        message: message.into(),
        remedy: "Start again from Settings › Cloud Accounts › Add Account.".into(),
        account_id: None,
        extra: json!({}),
    }
}

fn outcome(code: &'static str, title: &str, message: &str, remedy: &str) -> Outcome {
    Outcome {
        code,
        title: title.into(),
        message: message.into(),
        remedy: remedy.into(),
        account_id: None,
        extra: json!({}),
    }
}

fn denied(provider: &Provider) -> Outcome {
    outcome(
        "authorization_denied",
        "Authorization Denied",
        &format!("The {} sign-in was cancelled or the permissions were declined, so Skyport has no access to the account.", provider.signin),
        "Try again and click Accept on the permissions page. If your organization blocks it, ask an administrator.",
    )
}

/// Where an administrator's consent is asked for: the tenant's own
/// admin-consent page when the directory is known (a reconnect), otherwise
/// the console asks the user for their organization's domain and
/// `/oauth/<p>/admin-consent` makes the link from it.
fn admin_consent(cfg: &Config, tenant: Option<&str>, detail: &str) -> Result<Outcome, ApiError> {
    let mut o = outcome(
        "admin_consent_required",
        "Admin consent required",
        &format!("Your organization lets only administrators approve apps like Skyport. {detail}"),
        &format!("Send the admin consent link to a Global Administrator or Cloud Application Administrator of your organization. After they accept, Skyport appears in {} › Enterprise Applications and you can connect again.", cfg.provider.directory),
    );
    o.extra = match tenant {
        Some(t) => json!({ "admin_consent_url": consent_url(cfg, t)?, "tenant_id": t }),
        // The form leads to the identity platform's own host.
        None => {
            json!({ "admin_consent_link": format!("/oauth/{}/admin-consent", cfg.provider.id), "form_action": origin(&cfg.cloud.authority) })
        }
    };
    Ok(o)
}

/// Marks the state of an admin-consent link: the administrator's answer
/// comes back with it (the provider's error answer carries nothing else that
/// says what it answers).
const CONSENT_STATE: &str = "adminconsent.";

fn consent_url(cfg: &Config, tenant: &str) -> Result<String, ApiError> {
    let redirect_uri = format!(
        "{}{}",
        skyport_functions::config::public_url()?,
        cfg.provider.callback_path()
    );
    Ok(identity::admin_consent_url(
        &cfg.cloud,
        tenant,
        &cfg.client_id,
        &redirect_uri,
        &format!("{CONSENT_STATE}{}", skyport_functions::random_token(16)),
    ))
}

/// The scheme, host and port of a URL (for a CSP source list); empty when
/// it has none a CSP could name.
fn origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let host = rest.split('/').next().unwrap_or_default();
    let fine = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    };
    if (scheme == "https" || scheme == "http") && fine(host) {
        format!("{scheme}://{host}")
    } else {
        String::new()
    }
}

/// A directory an administrator can consent for: its tenant id (a GUID) or
/// one of its verified domains. `common`, `organizations` and `consumers`
/// name no one directory, so they are refused, as is anything that is not a
/// domain name and could bend the URL it becomes part of (or an address
/// with more than one `@`).
fn directory(value: &str) -> Option<String> {
    let v = value.trim().trim_start_matches('@').to_ascii_lowercase();
    // An email address's domain; a value with more than one `@` is no
    // address, and is not guessed at.
    let v = match v.split_once('@') {
        None => v,
        Some((_, domain)) if !domain.contains('@') => domain.to_string(),
        Some(_) => return None,
    };
    let guid = {
        let parts: Vec<&str> = v.split('-').collect();
        parts.len() == 5
            && parts
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
    };
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let domain = v.len() <= 253 && v.split('.').count() >= 2 && v.split('.').all(label);
    (guid || domain).then_some(v)
}

/// `GET /oauth/<p>/admin-consent?tenant=…`: the admin-consent page of the
/// directory the user names (a domain, an email address or a tenant id).
fn consent_link(req: &Request) -> Response {
    let given = query_param(req, "tenant").unwrap_or_default();
    let cfg = match Config::load() {
        Ok(c) => c,
        Err(e) => return e.response(),
    };
    match directory(&given).map(|t| consent_url(&cfg, &t)) {
        Some(Ok(url)) => Response::builder()
            .status(302)
            .header("location", url)
            .header("cache-control", "no-store")
            .build(),
        Some(Err(e)) => render(&outcome("error", "Connection failed", &e.message, &e.remedy)),
        None => render(&outcome(
            "invalid_tenant",
            "Organization not recognised",
            &format!(
                "“{}” is not a domain or tenant ID of an organization.",
                given.chars().take(80).collect::<String>()
            ),
            &format!("Enter your organization's domain (the part after @ in your work email, e.g. contoso.com) or its tenant ID from {} › Overview.", cfg.provider.directory),
        )),
    }
}

/// The administrator's answer to an admin-consent request. It grants
/// Skyport nothing by itself (and its `tenant` is not trusted for anything):
/// the user connects again, and that sign-in now succeeds.
fn consented(error: Option<String>, provider: &Provider) -> Outcome {
    match error {
        None => outcome(
            "admin_consent_granted",
            "Admin consent granted",
            "An administrator approved Skyport for the organization.",
            &format!("Return to Skyport and click Add Account › {} to connect.", provider.title),
        ),
        Some(_) => outcome(
            "admin_consent_declined",
            "Admin consent declined",
            "The administrator did not approve Skyport for the organization, so nobody in it can connect yet.",
            "Ask the administrator to open the admin consent link again and click Accept.",
        ),
    }
}

/// `GET /oauth/<p>/callback`: always answers with the popup page.
async fn callback(req: &Request, provider: &Provider) -> Response {
    match finish(req, provider).await {
        Ok(o) => render(&o),
        Err(e) => render(&outcome(
            "error",
            "Connection failed",
            &e.message,
            &e.remedy,
        )),
    }
}

/// How long a finished sign-in waits for its client's claim.
const CLAIM_TTL: i64 = 300;

async fn finish(req: &Request, provider: &Provider) -> Result<Outcome, ApiError> {
    let q = query(req);
    let param = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let db = db::open()?;
    let now = skyport_functions::now();
    // Sign-ins nobody claimed in time: their tokens are discarded unused.
    db.execute("DELETE FROM claims WHERE expires_at < ?", &[int(now)])?;
    let Some(state) = param("state") else {
        db::event(&db, None, "state_missing", "a callback without state");
        return Ok(invalid_state(&format!(
            "The answer from {} carried no state.",
            provider.signin
        )));
    };
    // An administrator's answer to an admin-consent link carries a state
    // Skyport never stored: it is only acknowledged.
    if param("admin_consent").is_some() || state.starts_with(CONSENT_STATE) {
        return Ok(consented(param("error"), provider));
    }
    // A sign-in comes back to the provider that started it (rows from
    // before providers were recorded name none).
    let r = db.execute("SELECT org_id, account_id, verifier, redirect_uri, expires_at, used_at FROM pending WHERE state = ? AND coalesce(provider, ?) = ?", &[text(&state), text(&provider.id), text(&provider.id)])?;
    let Some(org) = get_text(&r, 0, "org_id") else {
        db::event(
            &db,
            None,
            "state_unknown",
            "a callback with an unknown state",
        );
        return Ok(invalid_state("This sign-in is not one Skyport started."));
    };
    if get_int(&r, 0, "used_at").is_some() {
        db::event(
            &db,
            Some(&org),
            "state_reused",
            "a callback replayed a used state",
        );
        return Ok(invalid_state("This sign-in was already used."));
    }
    if get_int(&r, 0, "expires_at").unwrap_or(0) < now {
        db::event(
            &db,
            Some(&org),
            "state_expired",
            "a callback after the state expired",
        );
        return Ok(invalid_state("The sign-in took longer than ten minutes."));
    }
    let account_id = get_text(&r, 0, "account_id");
    let redirect_uri = get_text(&r, 0, "redirect_uri").unwrap_or_default();
    let cfg = Config::load()?;
    let keys = Keys::load()?;
    // A reconnect knows its directory, so its admin-consent link can name it.
    let tenant = match &account_id {
        Some(a) => get_text(
            &db.execute(
                "SELECT tenant_id FROM accounts WHERE id = ? AND org_id = ?",
                &[text(a), text(&org)],
            )?,
            0,
            "tenant_id",
        ),
        None => None,
    };

    // An error or a code that does not redeem leaves the state as it was:
    // whoever holds a state cannot spoil the sign-in it belongs to.
    if let Some(error) = param("error") {
        return Ok(
            match identity::classify_callback(
                &error,
                param("error_description").as_deref(),
                param("error_subcode").as_deref(),
            ) {
                CallbackOutcome::Denied => denied(provider),
                CallbackOutcome::AdminConsentRequired => {
                    admin_consent(&cfg, tenant.as_deref(), "")?
                }
                CallbackOutcome::Failed(m) => outcome(
                    "sign_in_failed",
                    "Sign-in failed",
                    &m,
                    "Try again; if it persists, check the app registration.",
                ),
            },
        );
    }
    let Some(code) = param("code") else {
        return Ok(invalid_state(&format!(
            "The answer from {} carried no code.",
            provider.signin
        )));
    };
    let verifier =
        String::from_utf8(keys.open(&get_text(&r, 0, "verifier").unwrap_or_default(), &state)?)
            .unwrap_or_default();
    let tokens = match oauth::exchange(&cfg, &code, &verifier, &redirect_uri).await {
        Ok(t) => t,
        Err(oauth::TokenFailure::Provider(TokenOutcome::AdminConsentRequired(m))) => return admin_consent(&cfg, tenant.as_deref(), &m),
        Err(oauth::TokenFailure::Provider(TokenOutcome::ClientMisconfigured(m))) => {
            return Ok(outcome("token_error", "Connection failed", &format!("{} rejected Skyport's app registration: {m}", provider.name), "An administrator of this Skyport must check the client id and secret (the variables spin.toml gives this function as `client_id` and `client_secret`)."))
        }
        Err(oauth::TokenFailure::Provider(TokenOutcome::GrantExpired(m) | TokenOutcome::Failed(m) | TokenOutcome::Transient(m))) | Err(oauth::TokenFailure::Unreachable(m)) => {
            db::event(&db, Some(&org), "code_refused", "a callback whose code did not redeem");
            return Ok(outcome("token_error", "Connection failed", &format!("The sign-in could not be completed: {m}"), "Start again from Add Account."))
        }
    };
    // The code redeemed: now the state is spent, once, even against a
    // concurrent replay.
    db.execute(
        "UPDATE pending SET used_at = ? WHERE state = ? AND used_at IS NULL",
        &[int(now), text(&state)],
    )?;
    if db::changes(&db)? != 1 {
        db::event(
            &db,
            Some(&org),
            "state_reused",
            "a concurrent replay of a state",
        );
        return Ok(invalid_state("This sign-in was already used."));
    }
    let who = match principal(&cfg, &tokens) {
        Ok(Some(who)) => who,
        Ok(None) => {
            return Ok(outcome(
                "token_error",
                "Connection failed",
                "The access token does not say who signed in.",
                "Start again from Add Account.",
            ))
        }
        Err(e) => {
            return Ok(outcome(
                "token_error",
                "Connection failed",
                &format!(
                    "{} did not say whom the sign-in is for: {}",
                    provider.name, e.message
                ),
                "Start again from Add Account in a minute.",
            ))
        }
    };

    let mut subscriptions = serde_json::Value::Array(Vec::new());
    if let Some(id) = &account_id {
        let a = accounts::load(&db, &org, id)?;
        // A reconnect comes back to the account's own provider (a sign-in
        // from before providers were recorded names none).
        if a.provider != provider.id {
            return Ok(invalid_state("This sign-in is not one Skyport started."));
        }
        if a.tenant_id != who.tenant_id || a.user_id != who.user_id {
            db::event(
                &db,
                Some(&org),
                "reconnect_mismatch",
                &format!("account {id} reconnected as another user"),
            );
            let mut o = outcome(
                "wrong_account",
                "Different account",
                &format!("You signed in as a different user or directory than this account's ({}).", a.user_name.as_deref().unwrap_or(&a.user_id)),
                &format!("Reconnect signed in as the same {} user, or add the other user as a new account.", provider.signin),
            );
            o.account_id = Some(id.clone());
            return Ok(o);
        }
    } else {
        subscriptions = accounts::discover(&cfg, &tokens, &who.tenant_id).await?;
        if subscriptions.as_array().is_none_or(|s| s.is_empty()) {
            let scope = skyport_functions::provider::scope();
            return Ok(outcome(
                "no_subscriptions",
                &format!("No {scope}s found"),
                &format!("This {} account has no {} {scope} Skyport can use.", provider.signin, provider.name),
                &format!("Check that you signed in with the right account and hold {}, or create a {scope}, then connect again.", skyport_functions::provider::roles()),
            ));
        }
    }
    let claim = skyport_functions::random_token(32);
    let sealed = keys.seal(&serde_json::to_vec(&tokens).unwrap_or_default(), &claim);
    db.execute(
        "INSERT INTO claims (id, org_id, provider, account_id, tokens, tenant_id, user_id, user_name, subscriptions, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[text(&claim), text(&org), text(&provider.id), db::opt_text(account_id.as_deref()), text(&sealed), text(&who.tenant_id), text(&who.user_id), db::opt_text(who.name.as_deref()), text(&subscriptions.to_string()), int(now), int(now + CLAIM_TTL)],
    )?;
    let mut o = outcome(
        "signed_in",
        "Signed in",
        "Skyport is finishing the connection in the window that started it.",
        "If this window stays open, return to the Skyport window where you clicked Add Account; a sign-in started anywhere else is not connected.",
    );
    o.account_id = account_id;
    o.extra = json!({ "claim": claim, "expires_at": now + CLAIM_TTL });
    Ok(o)
}

/// Whom new tokens act for. A token that says so itself (a JWT) is read by
/// the identity plugin; an opaque one acts for the one tenant the provider
/// says it reaches (a token bound at sign-in to one team or project),
/// which is then both its directory and its user.
fn principal(cfg: &Config, tokens: &oauth::Tokens) -> Result<Option<Principal>, ApiError> {
    if let Some(who) = identity::principal_of(&tokens.access_token) {
        return Ok(Some(who));
    }
    let session = Session {
        cloud: cfg.cloud.clone(),
        access_token: tokens.access_token.clone(),
    };
    let tenants = plugin_scopes::list_directories(&session).map_err(accounts::plugin_error)?;
    Ok(match tenants.as_slice() {
        [one] => Some(Principal {
            tenant_id: one.id.clone(),
            user_id: one.id.clone(),
            name: Some(one.name.clone()),
        }),
        _ => None,
    })
}

/// `POST /api/v1/accounts/<p>/claim {"claim": "…"}`: the client that
/// started a sign-in stores its account. Only that client's organization can
/// claim it, once, within five minutes, at the provider it signed in with.
async fn claim(req: &Request, provider: &Provider) -> Result<Response, ApiError> {
    let db = db::open()?;
    let org = orgs::authenticate(&db, req)?;
    let body = json_body(req.body())?;
    let claim = req_str(&body, "claim", 128)?;
    let now = skyport_functions::now();
    db.execute("DELETE FROM claims WHERE expires_at < ?", &[int(now)])?;
    let r = db.execute(
        "SELECT org_id, account_id, tokens, tenant_id, user_id, user_name, subscriptions FROM claims WHERE id = ? AND coalesce(provider, ?) = ?",
        &[text(claim), text(&provider.id), text(&provider.id)],
    )?;
    let not_found = || {
        ApiError::new(
            404,
            "claim_not_found",
            "No finished sign-in with that claim is waiting for your organization.",
            "Claims expire five minutes after the sign-in and can be used once, by the organization that started it: start again with Add Account.",
        )
    };
    if get_text(&r, 0, "org_id").as_deref() != Some(org.as_str()) {
        if !r.rows.is_empty() {
            db::event(
                &db,
                Some(&org),
                "claim_refused",
                "a claim of a sign-in another organization started",
            );
        }
        return Err(not_found());
    }
    // Single use: the row goes, tokens and all, before anything is stored.
    db.execute(
        "DELETE FROM claims WHERE id = ? AND org_id = ?",
        &[text(claim), text(&org)],
    )?;
    if db::changes(&db)? != 1 {
        return Err(not_found());
    }
    let keys = Keys::load()?;
    let cfg = Config::load()?;
    let sealed = get_text(&r, 0, "tokens").unwrap_or_default();
    let tokens: oauth::Tokens = serde_json::from_slice(&keys.open(&sealed, claim)?)
        .map_err(|_| ApiError::internal("a claim's tokens could not be read"))?;

    let known = get_text(&r, 0, "account_id");
    if let Some(id) = &known {
        if accounts::load(&db, &org, id)?.provider != provider.id {
            return Err(not_found());
        }
    }
    let (tenant, user, name) = (
        get_text(&r, 0, "tenant_id").unwrap_or_default(),
        get_text(&r, 0, "user_id").unwrap_or_default(),
        get_text(&r, 0, "user_name"),
    );
    // A reconnect keeps the account's subscriptions until it re-checks
    // them below; a new sign-in brings them checked. The same user of the
    // same provider connected again updates the account it already has.
    let subscriptions = get_text(&r, 0, "subscriptions").unwrap_or_else(|| "[]".into());
    let (mut a, new) = accounts::store_connected(
        &db,
        &keys,
        &org,
        &provider.id,
        &accounts::Owner {
            tenant: &tenant,
            user: &user,
            name: name.as_deref(),
        },
        known.as_deref(),
        known.is_none().then_some(subscriptions.as_str()),
        &tokens,
    )?;
    let account = if known.is_some() {
        a = accounts::recheck(&db, &cfg, &keys, &a).await?;
        let mut v = accounts::to_json(&a);
        v["reconnected"] = json!(true);
        v
    } else {
        accounts::to_json(&a)
    };
    Ok(json_response(
        if new { 201 } else { 200 },
        &json!({ "outcome": "connected", "account": account }),
    ))
}

#[cfg(test)]
mod tests {
    use super::directory;

    #[test]
    fn a_directory_is_a_domain_an_email_or_a_tenant_id() {
        assert_eq!(directory(" Contoso.com ").as_deref(), Some("contoso.com"));
        assert_eq!(
            directory("ada@contoso.example.net").as_deref(),
            Some("contoso.example.net")
        );
        assert_eq!(
            directory("72F988BF-86F1-41AF-91AB-2D7CD011DB47").as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        for bad in [
            "",
            "organizations",
            "common",
            "consumers",
            "contoso",
            "contoso.com/../common",
            "contoso.com?x=1",
            "-a.com",
            "a..com",
            "con toso.com",
            "a@b@c.com",
        ] {
            assert_eq!(directory(bad), None, "{bad}");
        }
    }
}
