//! The connect function: `POST /api/v1/accounts/azure/connect` starts a
//! sign-in, `GET /oauth/azure/start` sends the popup to it,
//! `GET /oauth/azure/callback` finishes it — state checked, code redeemed,
//! subscriptions discovered — into a claim, and
//! `POST /api/v1/accounts/azure/claim` stores the account for the client that
//! started the sign-in, with that client's own API key.
//!
//! The claim is what keeps a sign-in in the organization that began it: a
//! sign-in link sent to somebody else ends in *their* browser, which holds no
//! key of the sender's organization, so nobody can claim it and its tokens are
//! discarded unused when it expires.

use serde_json::json;
use skyport_functions::api::{json_body, json_response, query, req_str, segments, ApiError, Route};
use skyport_functions::config::Config;
use skyport_functions::crypto::Keys;
use skyport_functions::db::{self, get_int, get_text, int, text};
use skyport_functions::pages::{render, Outcome};
use skyport_functions::plugin_identity::{self as identity, CallbackOutcome, TokenOutcome};
use skyport_functions::{accounts, events, oauth, orgs};
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
    match (req.method(), req.path()) {
        (Method::Post, "/api/v1/accounts/azure/connect") => start(&req),
        (Method::Post, "/api/v1/accounts/azure/claim") => claim(&req).await,
        (Method::Get, "/oauth/azure/start") => popup(&req),
        (Method::Get, "/oauth/azure/callback") => Ok(callback(&req).await),
        (method, path) => Err(ApiError::unrouted(None, ROUTES, method, &segments(path))),
    }
}

/// What this function answers (the fallback tells 405 from 404 by it).
const ROUTES: &[Route] = &[
    ("POST", "api/v1/accounts/azure/connect"),
    ("POST", "api/v1/accounts/azure/claim"),
    ("GET", "oauth/azure/start"),
    ("GET", "oauth/azure/callback"),
];

/// `POST /api/v1/accounts/azure/connect`.
fn start(req: &Request) -> Result<Response, ApiError> {
    let db = db::open()?;
    let org = orgs::authenticate(&db, req)?;
    let cfg = Config::load()?;
    let keys = Keys::load()?;
    let started = oauth::start(&db, &cfg, &keys, &org, None)?;
    Ok(json_response(
        201,
        &json!({
            "authorize_url": started.authorize_url,
            "popup_url": format!("/oauth/azure/start?state={}", started.state),
            "state": started.state,
            "expires_at": started.expires_at,
        }),
    ))
}

/// `GET /oauth/azure/start?state=…`: the popup's first stop, a redirect to sign-in.
fn popup(req: &Request) -> Result<Response, ApiError> {
    let state = query(req)
        .into_iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v)
        .unwrap_or_default();
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

fn denied() -> Outcome {
    outcome(
        "authorization_denied",
        "Authorization Denied",
        "The Microsoft sign-in was cancelled or the permissions were declined, so Skyport has no access to the account.",
        "Try again and click Accept on the permissions page. If your organization blocks it, ask an administrator.",
    )
}

fn admin_consent(cfg: &Config, tenant: &str, redirect_uri: &str, detail: &str) -> Outcome {
    let url = identity::admin_consent_url(
        &cfg.cloud,
        tenant,
        &cfg.client_id,
        redirect_uri,
        &skyport_functions::random_token(16),
    );
    let mut o = outcome(
        "admin_consent_required",
        "Admin consent required",
        &format!("Your organization lets only administrators approve apps like Skyport. {detail}"),
        "Send the admin consent link to a Global Administrator or Cloud Application Administrator. After they accept, Skyport appears in Entra ID › Enterprise Applications and you can connect again.",
    );
    o.extra = json!({ "admin_consent_url": url });
    o
}

/// `GET /oauth/azure/callback`: always answers with the popup page.
async fn callback(req: &Request) -> Response {
    match finish(req).await {
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

async fn finish(req: &Request) -> Result<Outcome, ApiError> {
    let q = query(req);
    let param = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let db = db::open()?;
    let now = skyport_functions::now();
    // Sign-ins nobody claimed in time: their tokens are discarded unused.
    db.execute("DELETE FROM claims WHERE expires_at < ?", &[int(now)])?;
    let Some(state) = param("state") else {
        db::event(&db, None, "state_missing", "a callback without state");
        return Ok(invalid_state("The answer from Microsoft carried no state."));
    };
    let r = db.execute("SELECT org_id, account_id, verifier, redirect_uri, expires_at, used_at FROM pending WHERE state = ?", &[text(&state)])?;
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

    // An error or a code that does not redeem leaves the state as it was:
    // whoever holds a state cannot spoil the sign-in it belongs to.
    if let Some(error) = param("error") {
        return Ok(
            match identity::classify_callback(
                &error,
                param("error_description").as_deref(),
                param("error_subcode").as_deref(),
            ) {
                CallbackOutcome::Denied => denied(),
                CallbackOutcome::AdminConsentRequired => {
                    admin_consent(&cfg, &cfg.tenant, &redirect_uri, "")
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
        return Ok(invalid_state("The answer from Microsoft carried no code."));
    };
    let verifier =
        String::from_utf8(keys.open(&get_text(&r, 0, "verifier").unwrap_or_default(), &state)?)
            .unwrap_or_default();
    let tokens = match oauth::exchange(&cfg, &code, &verifier, &redirect_uri).await {
        Ok(t) => t,
        Err(oauth::TokenFailure::Provider(TokenOutcome::AdminConsentRequired(m))) => return Ok(admin_consent(&cfg, &cfg.tenant, &redirect_uri, &m)),
        Err(oauth::TokenFailure::Provider(TokenOutcome::ClientMisconfigured(m))) => {
            return Ok(outcome("token_error", "Connection failed", &format!("Azure rejected Skyport's app registration: {m}"), "An administrator of this Skyport must check the client id and secret (the azure_client_id and azure_client_secret variables)."))
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
    let Some(who) = identity::principal_of(&tokens.access_token) else {
        return Ok(outcome(
            "token_error",
            "Connection failed",
            "The access token does not say who signed in.",
            "Start again from Add Account.",
        ));
    };

    let mut subscriptions = serde_json::Value::Array(Vec::new());
    if let Some(id) = &account_id {
        let a = accounts::load(&db, &org, id)?;
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
                "Reconnect signed in as the same Microsoft user, or add the other user as a new account.",
            );
            o.account_id = Some(id.clone());
            return Ok(o);
        }
    } else {
        subscriptions = accounts::discover(&cfg, &tokens, &who.tenant_id).await?;
        if subscriptions.as_array().is_none_or(|s| s.is_empty()) {
            return Ok(outcome(
                "no_subscriptions",
                "No subscriptions found",
                "This Microsoft account has no Azure subscription Skyport can use.",
                "Check that you signed in with the right account, that you hold the Owner or Contributor role on a subscription (Subscriptions › Access control (IAM)), or create a subscription, then connect again.",
            ));
        }
    }
    let claim = skyport_functions::random_token(32);
    let sealed = keys.seal(&serde_json::to_vec(&tokens).unwrap_or_default(), &claim);
    db.execute(
        "INSERT INTO claims (id, org_id, account_id, tokens, tenant_id, user_id, user_name, subscriptions, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[text(&claim), text(&org), db::opt_text(account_id.as_deref()), text(&sealed), text(&who.tenant_id), text(&who.user_id), db::opt_text(who.name.as_deref()), text(&subscriptions.to_string()), int(now), int(now + CLAIM_TTL)],
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

/// `POST /api/v1/accounts/azure/claim {"claim": "…"}`: the client that
/// started a sign-in stores its account. Only that client's organization can
/// claim it, once, within five minutes.
async fn claim(req: &Request) -> Result<Response, ApiError> {
    let db = db::open()?;
    let org = orgs::authenticate(&db, req)?;
    let body = json_body(req.body())?;
    let claim = req_str(&body, "claim", 128)?;
    let now = skyport_functions::now();
    db.execute("DELETE FROM claims WHERE expires_at < ?", &[int(now)])?;
    let r = db.execute(
        "SELECT org_id, account_id, tokens, tenant_id, user_id, user_name, subscriptions FROM claims WHERE id = ?",
        &[text(claim)],
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

    if let Some(id) = get_text(&r, 0, "account_id") {
        let a = accounts::load(&db, &org, &id)?;
        db::transaction(&db, || {
            accounts::reactivate(&db, &keys, &id, &tokens)?;
            let mut data = accounts::to_json(&accounts::load(&db, &org, &id)?);
            data["reconnected"] = json!(true);
            events::emit(&db, &org, "account.connected", ("account", &id), data)
        })?;
        let a = accounts::recheck(&db, &cfg, &keys, &a).await?;
        return Ok(json_response(
            200,
            &json!({ "outcome": "connected", "account": accounts::to_json(&a) }),
        ));
    }
    let (tenant, user) = (
        get_text(&r, 0, "tenant_id").unwrap_or_default(),
        get_text(&r, 0, "user_id").unwrap_or_default(),
    );
    let subscriptions = get_text(&r, 0, "subscriptions").unwrap_or_else(|| "[]".into());
    // The same Azure user connected again updates the account it already has.
    let existing = db.execute(
        "SELECT id FROM accounts WHERE org_id = ? AND tenant_id = ? AND user_id = ?",
        &[text(&org), text(&tenant), text(&user)],
    )?;
    let id = get_text(&existing, 0, "id").unwrap_or_else(skyport_functions::new_id);
    // The account, its tokens and the event appear together.
    db::transaction(&db, || {
        store_claimed(
            &db,
            &keys,
            &org,
            &id,
            &r,
            existing.rows.is_empty(),
            &subscriptions,
            &tokens,
            now,
        )
    })?;
    let a = accounts::load(&db, &org, &id)?;
    Ok(json_response(
        if existing.rows.is_empty() { 201 } else { 200 },
        &json!({ "outcome": "connected", "account": accounts::to_json(&a) }),
    ))
}

/// Writes a claimed sign-in as a new account, or onto the one the same Azure
/// user already has, and records `account.connected`.
#[allow(clippy::too_many_arguments)]
fn store_claimed(
    db: &spin_sdk::sqlite::Connection,
    keys: &Keys,
    org: &str,
    id: &str,
    r: &spin_sdk::sqlite::QueryResult,
    new: bool,
    subscriptions: &str,
    tokens: &oauth::Tokens,
    now: i64,
) -> Result<(), ApiError> {
    let (tenant, user) = (
        get_text(r, 0, "tenant_id").unwrap_or_default(),
        get_text(r, 0, "user_id").unwrap_or_default(),
    );
    if new {
        db.execute(
            "INSERT INTO accounts (id, org_id, provider, tenant_id, user_id, user_name, status, tokens, access_expires_at, subscriptions, last_checked, created_at, updated_at)
             VALUES (?, ?, 'azure', ?, ?, ?, 'Active', '', 0, ?, ?, ?, ?)",
            &[text(id), text(org), text(&tenant), text(&user), db::opt_text(get_text(r, 0, "user_name").as_deref()), text(subscriptions), int(now), int(now), int(now)],
        )?;
    } else {
        db.execute("UPDATE accounts SET status = 'Active', status_reason = NULL, subscriptions = ?, last_checked = ?, updated_at = ? WHERE id = ?", &[text(subscriptions), int(now), int(now), text(id)])?;
    }
    accounts::store_tokens(db, keys, id, tokens)?;
    let data = accounts::to_json(&accounts::load(db, org, id)?);
    events::emit(db, org, "account.connected", ("account", id), data)
}
