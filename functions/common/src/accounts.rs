//! Connected accounts: storing them with sealed tokens, what the API shows of
//! them (never a token), checking their subscriptions through the plugin, and
//! keeping their access token fresh — one refresh per account at a time.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spin_sdk::sqlite::{Connection, QueryResult};

use crate::api::ApiError;
use crate::config::Config;
use crate::crypto::Keys;
use crate::db::{get_int, get_text, int, text};
use crate::oauth::{self, TokenFailure, Tokens};
use crate::plugin_identity::TokenOutcome;
use crate::plugin_scopes as scopes;
use crate::plugin_types::{Capability, Error as PluginError, Session};

/// Refresh this long before the access token expires.
const REFRESH_EARLY: i64 = 300;
/// A refresh lease outlives a stuck refresh by this much.
const LEASE: i64 = 30;

/// A stored account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub org_id: String,
    /// The provider that holds it (the `provider` of the function instance
    /// that connected it); everything done through it goes to that provider.
    pub provider: String,
    pub tenant_id: String,
    pub user_id: String,
    pub user_name: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub tokens: String,
    pub access_expires_at: i64,
    pub subscriptions: Value,
    pub last_checked: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, org_id, provider, tenant_id, user_id, user_name, status, status_reason, tokens, access_expires_at, subscriptions, last_checked, created_at";

fn from_row(r: &QueryResult, i: usize) -> Account {
    Account {
        id: get_text(r, i, "id").unwrap_or_default(),
        org_id: get_text(r, i, "org_id").unwrap_or_default(),
        provider: get_text(r, i, "provider").unwrap_or_default(),
        tenant_id: get_text(r, i, "tenant_id").unwrap_or_default(),
        user_id: get_text(r, i, "user_id").unwrap_or_default(),
        user_name: get_text(r, i, "user_name"),
        status: get_text(r, i, "status").unwrap_or_default(),
        status_reason: get_text(r, i, "status_reason"),
        tokens: get_text(r, i, "tokens").unwrap_or_default(),
        access_expires_at: get_int(r, i, "access_expires_at").unwrap_or(0),
        subscriptions: get_text(r, i, "subscriptions")
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(json!([])),
        last_checked: get_int(r, i, "last_checked"),
        created_at: get_int(r, i, "created_at").unwrap_or(0),
    }
}

/// SQL that keeps the accounts (the row `alias`) able to act for a
/// resource in the scope `scope` (an SQL expression) whose own account is
/// gone: not being deleted, and reaching the scope by their last check.
/// Routing a request and adopting its server read the same rule, so a
/// request goes to the provider whose instance can adopt the server.
pub fn reaching(alias: &str, scope: &str) -> String {
    format!(
        "{alias}.status != 'Deleting'
           AND EXISTS (SELECT 1 FROM json_each({alias}.subscriptions) s WHERE lower(json_extract(s.value, '$.id')) = lower({scope}))"
    )
}

/// The organization's account `id`; another organization's answers 404.
pub fn load(db: &Connection, org: &str, id: &str) -> Result<Account, ApiError> {
    crate::api::check_id(id, "account")?;
    let r = db.execute(
        &format!("SELECT {COLUMNS} FROM accounts WHERE id = ? AND org_id = ?"),
        &[text(id), text(org)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("account"));
    }
    Ok(from_row(&r, 0))
}

/// One page of the organization's accounts as the API shows them (JSON
/// text each), oldest first, and the next cursor.
pub fn list(
    db: &Connection,
    org: &str,
    page: &crate::api::Page,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    // The row's stored JSON (`crate::listed`); where it has none (badges
    // not worked out yet), shown as a single read shows it.
    crate::db::page_of_json(db, "accounts", "created_at", "id", "", org, page, |id| {
        Ok(to_json(&load(db, org, id)?).to_string())
    })
}

/// The `badges` and `badges_withheld` columns (JSON arrays) for stored
/// `subscriptions`: worked out whenever the subscriptions are written, so a
/// list copies them rather than reading every subscription on each request.
pub fn badge_columns(subscriptions: &str) -> (String, String) {
    let caps: Vec<Capabilities> = serde_json::from_str(subscriptions).unwrap_or_default();
    let (badges, withheld) = badges(
        caps.iter()
            .flat_map(|s| &s.capabilities)
            .map(|c| (c.capability.as_ref(), c.available, c.reason.as_deref())),
    );
    (
        serde_json::to_string(&badges).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&withheld).unwrap_or_else(|_| "[]".into()),
    )
}

/// Migration: the badge columns of every account stored before they existed.
pub(crate) fn store_every_badge(db: &Connection) -> Result<(), ApiError> {
    let r = db.execute("SELECT id, subscriptions FROM accounts", &[])?;
    for i in 0..r.rows.len() {
        let subscriptions = get_text(&r, i, "subscriptions").unwrap_or_default();
        let (badges, withheld) = badge_columns(&subscriptions);
        db.execute(
            "UPDATE accounts SET badges = ?, badges_withheld = ? WHERE id = ?",
            &[
                text(&badges),
                text(&withheld),
                text(&get_text(&r, i, "id").unwrap_or_default()),
            ],
        )?;
    }
    Ok(())
}

/// What badges need of a stored subscription: its capabilities.
#[derive(Deserialize, Default)]
struct Capabilities<'a> {
    #[serde(default, borrow)]
    capabilities: Vec<CapabilityStatus<'a>>,
}

#[derive(Deserialize)]
struct CapabilityStatus<'a> {
    #[serde(borrow)]
    capability: Cow<'a, str>,
    #[serde(default)]
    available: bool,
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
}

/// A badge withheld, and why.
#[derive(Serialize)]
pub struct Withheld {
    capability: &'static str,
    reason: String,
}

/// The badges some subscription of the account earns (Compute, Storage,
/// DNS), and the others with the first reason given for them; from every
/// subscription's `(capability, available, reason)`.
fn badges<'a>(
    statuses: impl Iterator<Item = (&'a str, bool, Option<&'a str>)> + Clone,
) -> (Vec<&'static str>, Vec<Withheld>) {
    let mut badges = Vec::new();
    let mut withheld = Vec::new();
    for name in ["Compute", "Storage", "DNS"] {
        let mut of = statuses.clone().filter(|(c, _, _)| *c == name);
        if of.clone().any(|(_, available, _)| available) {
            badges.push(name);
        } else {
            let reason = of
                .find_map(|(_, _, reason)| reason)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    format!(
                        "No {} of this account can serve it.",
                        crate::provider::scope()
                    )
                });
            withheld.push(Withheld {
                capability: name,
                reason,
            });
        }
    }
    (badges, withheld)
}

/// What the API shows of an account: status, tenant, subscriptions and
/// badges — never a token. Fields in name order, as every other answer's.
#[derive(Serialize)]
pub struct Shown<'a> {
    badges: Vec<&'static str>,
    badges_withheld: Vec<Withheld>,
    created_at: i64,
    id: String,
    last_checked: Option<i64>,
    provider: String,
    status: String,
    status_reason: Option<String>,
    subscriptions: &'a [Value],
    tenant_id: String,
    user: User,
}

#[derive(Serialize)]
struct User {
    id: String,
    name: Option<String>,
}

impl<'a> Shown<'a> {
    fn of(
        a: &Account,
        subscriptions: &'a [Value],
        badges: Vec<&'static str>,
        withheld: Vec<Withheld>,
    ) -> Self {
        Shown {
            // An account that is not Active earns none, whatever its subscriptions.
            badges: if a.status == "Active" {
                badges
            } else {
                Vec::new()
            },
            badges_withheld: withheld,
            created_at: a.created_at,
            id: a.id.clone(),
            last_checked: a.last_checked,
            provider: a.provider.clone(),
            status: a.status.clone(),
            status_reason: a.status_reason.clone(),
            subscriptions,
            tenant_id: a.tenant_id.clone(),
            user: User {
                id: a.user_id.clone(),
                name: a.user_name.clone(),
            },
        }
    }
}

fn capability_name(c: Capability) -> &'static str {
    match c {
        Capability::Compute => "Compute",
        Capability::Storage => "Storage",
        Capability::Dns => "DNS",
    }
}

/// What the API shows of an account (see [`Shown`]).
pub fn to_json(a: &Account) -> Value {
    let subs = a
        .subscriptions
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (badges, withheld) = badges(
        subs.iter()
            .filter_map(|s| s["capabilities"].as_array())
            .flatten()
            .map(|c| {
                (
                    c["capability"].as_str().unwrap_or_default(),
                    c["available"] == true,
                    c["reason"].as_str(),
                )
            }),
    );
    serde_json::to_value(Shown::of(a, subs, badges, withheld)).unwrap_or(Value::Null)
}

/// Whether a plugin error passes (throttled, unavailable): an operation's
/// step that meets one is tried again later rather than failed.
pub fn transient(e: &PluginError) -> bool {
    matches!(e, PluginError::Throttled(_) | PluginError::Unavailable(_))
}

/// The guide's wording for a plugin error, as an API error.
pub fn plugin_error(e: PluginError) -> ApiError {
    let name = crate::provider::name;
    let scope = crate::provider::scope;
    match e {
        PluginError::Unauthorized(d) => ApiError::new(
            401,
            "provider_unauthorized",
            &format!("{} refused the access token: {}", name(), d.message),
            "Refresh the account; if it persists, reconnect it.",
        ),
        PluginError::Forbidden(d) => ApiError::new(
            403,
            "authorization_denied",
            &format!("Authorization Denied: {}", d.message),
            &format!(
                "Ask an administrator to give you {}, then refresh the account.",
                crate::provider::roles()
            ),
        ),
        PluginError::NotRegistered(d) => ApiError::new(
            409,
            "provider_not_registered",
            &format!(
                "The {} is not registered for {}.",
                scope(),
                d.target.clone().unwrap_or_default()
            ),
            &format!(
                "Register the resource provider ({}), or use the register endpoint.",
                crate::provider::registration()
            ),
        )
        .with("namespace", json!(d.target)),
        PluginError::QuotaExceeded(d) => ApiError::new(
            409,
            "quota_exceeded",
            &d.message,
            &format!(
                "Check quotas ({}), request an increase, or try another region or size.",
                crate::provider::quotas()
            ),
        ),
        PluginError::SkuNotAvailable(d) => ApiError::new(
            409,
            "size_not_available",
            &d.message,
            "Try another region or VM size.",
        ),
        PluginError::Throttled(t) => ApiError::new(
            503,
            "throttled",
            &format!("{} is throttling requests: {}", name(), t.detail.message),
            &format!("Try again in {} seconds.", t.retry_after_seconds),
        ),
        PluginError::NotFound(d) => ApiError::new(
            404,
            "provider_not_found",
            &d.message,
            &format!("Check that the {} or resource still exists.", scope()),
        ),
        PluginError::Conflict(d) => {
            ApiError::new(409, "conflict", &d.message, "Reload and try again.")
        }
        PluginError::InvalidInput(d) => {
            ApiError::new(400, "invalid_input", &d.message, "Correct the request.")
        }
        PluginError::Unavailable(d) => ApiError::new(
            503,
            "provider_unavailable",
            &format!("{} could not be reached: {}", name(), d.message),
            "Try again in a minute.",
        ),
        PluginError::Other(d) => ApiError::new(
            502,
            "provider_error",
            &format!("{}: {}", d.code, d.message),
            "Try again; if it persists, report it.",
        ),
    }
}

/// Lists the user's subscriptions (in every tenant the token can reach) and
/// checks each one's prerequisites.
pub async fn discover(cfg: &Config, tokens: &Tokens, home_tenant: &str) -> Result<Value, ApiError> {
    let session = Session {
        cloud: cfg.cloud.clone(),
        access_token: tokens.access_token.clone(),
    };
    let mut sessions = vec![session.clone()];
    // Other tenants' subscriptions need a token from their own authority
    // (an API token has no refresh token and reaches its one scope only).
    if let Some((Ok(tenants), rt)) = tokens
        .refresh_token
        .as_deref()
        .map(|rt| (scopes::list_directories(&session), rt))
    {
        for t in tenants.into_iter().filter(|t| t.id != home_tenant) {
            if let Ok(other) = oauth::refresh(cfg, rt, &t.id).await {
                sessions.push(Session {
                    cloud: cfg.cloud.clone(),
                    access_token: other.access_token,
                });
            }
        }
    }
    check_all(&sessions)
}

/// Lists the subscriptions each session reaches and checks each one's
/// prerequisites. Sign-in by API token calls this alone (one session, no
/// other tenants), so its component never links the OAuth client.
pub fn check_all(sessions: &[Session]) -> Result<Value, ApiError> {
    let mut out = Vec::new();
    for s in sessions {
        for sub in scopes::list_scopes(s).map_err(plugin_error)? {
            let checked = scopes::check(s, &sub.id).map_err(plugin_error)?;
            out.push(json!({
                "id": sub.id,
                "name": sub.name,
                "tenant_id": sub.directory_id,
                "state": sub.state,
                "role": checked.role,
                "can_write": checked.can_write,
                "providers": checked.services.iter().map(|p| json!({ "namespace": p.name, "state": p.state })).collect::<Vec<_>>(),
                "capabilities": checked.capabilities.iter().map(|c| json!({ "capability": capability_name(c.capability), "available": c.available, "reason": c.reason })).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(Value::Array(out))
}

/// Seals and stores new tokens, and clears the refresh lease.
pub fn store_tokens(
    db: &Connection,
    keys: &Keys,
    id: &str,
    tokens: &Tokens,
) -> Result<(), ApiError> {
    let sealed = keys.seal(
        serde_json::to_string(tokens).unwrap_or_default().as_bytes(),
        id,
    );
    db.execute(
        "UPDATE accounts SET tokens = ?, access_expires_at = ?, refreshed_at = ?, refresh_lock = NULL, updated_at = ? WHERE id = ?",
        &[text(&sealed), int(tokens.expires_at), int(crate::now()), int(crate::now()), text(id)],
    )?;
    Ok(())
}

/// Removes `org`'s account `id`, in the caller's transaction: its grant
/// owed a revocation at the provider ([`crate::revocations`]), the sign-ins
/// still waiting to reconnect it dropped, and `account.deleted` recorded
/// with `data`. The one way an account goes, whether deleted at once or
/// with its last server.
pub fn remove(db: &Connection, org: &str, id: &str, data: Value) -> Result<(), ApiError> {
    crate::revocations::owe(db, id)?;
    db.execute(
        "DELETE FROM accounts WHERE id = ? AND org_id = ?",
        &[text(id), text(org)],
    )?;
    db.execute("DELETE FROM pending WHERE account_id = ?", &[text(id)])?;
    crate::events::emit(db, org, "account.deleted", ("account", id), data)
}

/// Who connected an account: the provider's directory (or team) and user,
/// and the user's name when the provider gave one.
pub struct Owner<'a> {
    pub tenant: &'a str,
    pub user: &'a str,
    pub name: Option<&'a str>,
}

/// Stores a connection as an Active account of `provider` with its tokens and
/// records `account.connected`, all in one transaction: onto `known` when the
/// caller reconnects that account (its own owner's sign-in, which the caller
/// has checked; the event then says `reconnected`), else onto the account the
/// same owner of the same provider already has (looked up under the write
/// lock, so two connects at once make one account), else as a new one.
/// `subscriptions` are the checked ones; `None` keeps those stored (a
/// reconnect that re-checks them after). The owner's name, when the sign-in
/// carried one, replaces the stored one. Returns the account as stored and
/// whether it is new.
#[allow(clippy::too_many_arguments)]
pub fn store_connected(
    db: &Connection,
    keys: &Keys,
    org: &str,
    provider: &str,
    owner: &Owner<'_>,
    known: Option<&str>,
    subscriptions: Option<&str>,
    tokens: &Tokens,
) -> Result<(Account, bool), ApiError> {
    let checked = subscriptions.map(|s| (s, badge_columns(s)));
    let (subscriptions, badges, withheld) = match &checked {
        Some((s, (b, w))) => (Some(*s), Some(b.as_str()), Some(w.as_str())),
        None => (None, None, None),
    };
    let opt = crate::db::opt_text;
    crate::db::transaction(db, || {
        let existing = match known {
            Some(id) => Some(id.to_string()),
            None => {
                let r = db.execute(
                    "SELECT id FROM accounts WHERE org_id = ? AND provider = ? AND tenant_id = ? AND user_id = ?",
                    &[text(org), text(provider), text(owner.tenant), text(owner.user)],
                )?;
                get_text(&r, 0, "id")
            }
        };
        let now = crate::now();
        let new = existing.is_none();
        let id = existing.unwrap_or_else(crate::new_id);
        if new {
            db.execute(
                "INSERT INTO accounts (id, org_id, provider, tenant_id, user_id, user_name, status, tokens, access_expires_at, subscriptions, badges, badges_withheld, last_checked, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, 'Active', '', 0, ?, ?, ?, ?, ?, ?)",
                &[text(&id), text(org), text(provider), text(owner.tenant), text(owner.user), opt(owner.name), text(subscriptions.unwrap_or("[]")), text(badges.unwrap_or("[]")), text(withheld.unwrap_or("[]")), int(now), int(now), int(now)],
            )?;
        } else {
            // Nothing but its deletion moves an account out of Deleting; a
            // sign-in that carried no name keeps the one stored, and one
            // that checked no subscriptions the ones stored.
            db.execute(
                "UPDATE accounts SET status = CASE status WHEN 'Deleting' THEN status ELSE 'Active' END, status_reason = CASE status WHEN 'Deleting' THEN status_reason END,
                 user_name = COALESCE(?1, user_name), subscriptions = COALESCE(?2, subscriptions), badges = COALESCE(?3, badges), badges_withheld = COALESCE(?4, badges_withheld),
                 last_checked = CASE WHEN ?2 IS NULL THEN last_checked ELSE ?5 END, updated_at = ?5 WHERE id = ?6",
                &[opt(owner.name), opt(subscriptions), opt(badges), opt(withheld), int(now), text(&id)],
            )?;
        }
        store_tokens(db, keys, &id, tokens)?;
        let stored = load(db, org, &id)?;
        let mut data = to_json(&stored);
        if known.is_some() {
            data["reconnected"] = json!(true);
        }
        crate::events::emit(db, org, "account.connected", ("account", &id), data)?;
        Ok((stored, new))
    })
}

/// The account's tokens, opened only by an instance of the account's own
/// provider: every call to a provider with them starts here.
pub fn open_tokens(keys: &Keys, a: &Account) -> Result<Tokens, ApiError> {
    crate::provider::check_own(&a.provider)?;
    let plain = keys.open(&a.tokens, &a.id)?;
    serde_json::from_slice(&plain).map_err(|_| ApiError::internal("stored tokens are damaged"))
}

fn set_status(
    db: &Connection,
    id: &str,
    status: &str,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    if status != "Expired" {
        // Nothing but the deletion itself moves an account out of Deleting.
        db.execute(
            "UPDATE accounts SET status = CASE status WHEN 'Deleting' THEN status ELSE ?1 END, status_reason = CASE status WHEN 'Deleting' THEN status_reason ELSE ?2 END, refresh_lock = NULL, updated_at = ?3 WHERE id = ?4",
            &[text(status), crate::db::opt_text(reason), int(crate::now()), text(id)],
        )?;
        return Ok(());
    }
    expire(db, id, reason.unwrap_or_default(), None).map(|_| ())
}

/// Turns the account Expired for `reason` — with `held`, only while its
/// sealed tokens are still those and that lease is still its — and records
/// `account.expired`; `true` when it did. An account being deleted stays
/// Deleting (its deletion must still end), with the reason noted.
fn expire(
    db: &Connection,
    id: &str,
    reason: &str,
    held: Option<(&str, Lease)>,
) -> Result<bool, ApiError> {
    let (tokens, lease) = match held {
        Some((t, l)) => (crate::db::opt_text(Some(t)), int(l.until)),
        None => (crate::db::opt_text(None), crate::db::opt_text(None)),
    };
    let reason = (!reason.is_empty()).then_some(reason);
    db.execute(
        "UPDATE accounts SET status_reason = ? WHERE id = ? AND status = 'Deleting'",
        &[crate::db::opt_text(reason), text(id)],
    )?;
    // Turning Expired is news for the platform: the event goes with it.
    crate::db::transaction(db, || {
        db.execute(
            "UPDATE accounts SET status = 'Expired', status_reason = ?1, refresh_lock = NULL, updated_at = ?2 WHERE id = ?3 AND status NOT IN ('Expired', 'Deleting') AND (?4 IS NULL OR tokens = ?4) AND (?5 IS NULL OR refresh_lock = ?5)",
            &[crate::db::opt_text(reason), int(crate::now()), text(id), tokens.clone(), lease.clone()],
        )?;
        let expired = crate::db::changes(db)? == 1;
        if expired {
            let r = db.execute(
                &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?"),
                &[text(id)],
            )?;
            let a = from_row(&r, 0);
            crate::events::emit(
                db,
                &a.org_id,
                "account.expired",
                ("account", id),
                to_json(&a),
            )?;
        }
        Ok(expired)
    })
}

fn expired_error(reason: &str) -> ApiError {
    ApiError::new(
        409,
        "account_expired",
        &format!(
            "Expired: the {} authorization for this account is no longer valid ({reason}).",
            crate::provider::name()
        ),
        "Reconnect the account (the Reconnect button, or POST /api/v1/accounts/{id}/reconnect) and sign in again as the same user.",
    )
}

/// Why an account that signs in by API token is Expired: the provider
/// stopped taking its token, and only a new one brings it back.
const TOKEN_REFUSED: &str =
    "the API token was refused: revoked, expired or without a scope it needs";

fn token_expired_error(reason: &str) -> ApiError {
    ApiError::new(
        409,
        "account_expired",
        &format!(
            "Expired: the {} API token for this account is no longer valid ({reason}).",
            crate::provider::name()
        ),
        &format!(
            "Create a new token with read and write access in {}, then reconnect the account with it (Reconnect, or POST /api/v1/accounts/{}/connect with {{\"token\": …, \"account_id\": …}}).",
            crate::provider::portal(),
            crate::provider::id()
        ),
    )
}

/// A valid access token for the account, refreshing it when it is about to
/// expire. Concurrent callers share one refresh: the first takes a lease in
/// the database, the others wait for its result.
pub async fn access_token(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    id: &str,
) -> Result<Tokens, ApiError> {
    let deadline = crate::now() + LEASE + 5;
    loop {
        let r = db.execute(
            &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?"),
            &[text(id)],
        )?;
        if r.rows.is_empty() {
            return Err(ApiError::not_found("account"));
        }
        let mut a = from_row(&r, 0);
        if a.status == "Expired" {
            let reason = a.status_reason.as_deref();
            // Tokens that cannot be opened are an OAuth account's (a token
            // account's tokens are the token itself).
            let api_token = open_tokens(keys, &a).is_ok_and(|t| t.api_token);
            return Err(if api_token {
                token_expired_error(reason.unwrap_or(TOKEN_REFUSED))
            } else {
                expired_error(reason.unwrap_or("the grant was revoked"))
            });
        }
        let tokens = open_tokens(keys, &a)?;
        // After a key rotation, re-seal with the current key on first use.
        if !keys.is_current(&a.tokens) {
            let sealed = keys.seal(
                serde_json::to_string(&tokens)
                    .unwrap_or_default()
                    .as_bytes(),
                &a.id,
            );
            // Not under a refresh's lease: its answer is written over the
            // tokens it read, and a re-seal would make it lose them.
            let now = crate::now();
            db.execute(
                "UPDATE accounts SET tokens = ? WHERE id = ? AND tokens = ? AND (refresh_lock IS NULL OR refresh_lock < ?)",
                &[text(&sealed), text(&a.id), text(&a.tokens), int(now)],
            )?;
            if crate::db::changes(db)? == 1 {
                a.tokens = sealed;
            }
        }
        let now = crate::now();
        if a.access_expires_at - REFRESH_EARLY > now {
            return Ok(tokens);
        }
        // Take the lease, or wait for whoever holds it. The lease is taken
        // only while the tokens are still the ones read: a refresh that ended
        // between the read and here has cleared the lease, and taking it then
        // would refresh a second time with what that refresh replaced.
        if let Some(lease) = take_lease(db, id, Some(&a.tokens), now)? {
            return refresh_now(db, cfg, keys, &a, &tokens, lease).await;
        }
        if crate::now() > deadline {
            return Err(ApiError::new(
                503,
                "refresh_in_progress",
                "Another request is refreshing this account's token and has not finished.",
                "Try again in a few seconds.",
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Uses the refresh token now, whatever the access token's expiry: the
/// background keep-alive and health check. A refresh already under way
/// elsewhere counts as this one; a passing failure leaves the stored tokens
/// as they were (the access token keeps working until it expires).
pub async fn force_refresh(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    id: &str,
) -> Result<(), ApiError> {
    let Some(lease) = take_lease(db, id, None, crate::now())? else {
        return Ok(());
    };
    let r = db.execute(
        &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?"),
        &[text(id)],
    )?;
    let a = from_row(&r, 0);
    let tokens = match open_tokens(keys, &a) {
        Ok(t) if !t.api_token => t,
        // An API token has nothing to keep alive: the health check that
        // follows is what finds out whether the provider still takes it.
        other => {
            release_lease(db, id, lease)?;
            return other.map(|_| ());
        }
    };
    refresh_now(db, cfg, keys, &a, &tokens, lease)
        .await
        .map(|_| ())
}

/// A refresh lease held: the `refresh_lock` value written (its end), and
/// how it was had.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Lease {
    until: i64,
    /// Taken over from a refresh whose lease ran out: that refresh may still
    /// be waiting for its answer, with the same refresh token.
    taken_over: bool,
}

/// Frees the lease, if it is still this one.
fn release_lease(db: &Connection, id: &str, lease: Lease) -> Result<(), ApiError> {
    db.execute(
        "UPDATE accounts SET refresh_lock = NULL WHERE id = ? AND refresh_lock = ?",
        &[text(id), int(lease.until)],
    )?;
    Ok(())
}

/// Takes the refresh lease: with `read`, for a use of the account (one
/// being deleted still needs its tokens) while its sealed tokens are still
/// the ones read; without, for the keep-alive of an Active one.
fn take_lease(
    db: &Connection,
    id: &str,
    read: Option<&str>,
    now: i64,
) -> Result<Option<Lease>, ApiError> {
    let until = now + LEASE;
    for (taken_over, held) in [(false, "refresh_lock IS NULL"), (true, "refresh_lock < ?3")] {
        db.execute(
            &format!("UPDATE accounts SET refresh_lock = ?1 WHERE id = ?2 AND CASE WHEN ?4 IS NULL THEN status = 'Active' ELSE status != 'Expired' AND tokens = ?4 END AND {held}"),
            &[int(until), text(id), int(now), crate::db::opt_text(read)],
        )?;
        if crate::db::changes(db)? == 1 {
            return Ok(Some(Lease { until, taken_over }));
        }
    }
    Ok(None)
}

/// Refreshes the tokens `a` was read with. Providers that rotate refresh
/// tokens honour each one once, so the answer is written only over the
/// tokens it was read with, and a refused grant expires the account only
/// when nothing else may have used the token meanwhile.
async fn refresh_now(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    a: &Account,
    tokens: &Tokens,
    lease: Lease,
) -> Result<Tokens, ApiError> {
    // An API token has nothing to refresh it with, and its stored expiry is
    // NEVER, so the clock does not bring it here; should an expiry stored
    // otherwise do so, it is kept as it is (with NEVER again): only the
    // provider's refusals expire it (`refused_twice`).
    if tokens.api_token {
        store_tokens(db, keys, &a.id, tokens)?;
        return Ok(tokens.clone());
    }
    // An instance without its OAuth settings cannot refresh: say so, rather
    // than as a passing failure.
    cfg.oauth()?;
    let Some(rt) = tokens.refresh_token.as_deref() else {
        set_status(
            db,
            &a.id,
            "Expired",
            Some("no refresh token was granted (offline_access)"),
        )?;
        return Err(expired_error("no refresh token"));
    };
    match oauth::refresh(cfg, rt, &a.tenant_id).await {
        Ok(new) => {
            // Over anything else (a reconnect's new grant) the answer is
            // only used for this request.
            store_over(db, keys, a, &new)?;
            Ok(new)
        }
        Err(TokenFailure::Provider(TokenOutcome::GrantExpired(reason)))
        | Err(TokenFailure::Provider(TokenOutcome::AdminConsentRequired(reason))) => {
            // Tokens stored since the read are someone else's newer ones.
            if let Some(newer) = newer_tokens(db, keys, a)? {
                return Ok(newer);
            }
            // A refresh whose lease ran out may have spent this refresh
            // token a moment ago: refused now, it says nothing of the grant.
            // Otherwise the account expires only while this refresh still
            // holds the lease over the tokens it read.
            let expired =
                !lease.taken_over && expire(db, &a.id, &reason, Some((&a.tokens, lease)))?;
            if expired || a.status == "Deleting" {
                return Err(expired_error(&reason));
            }
            release_lease(db, &a.id, lease)?;
            Err(ApiError::new(
                503,
                "refresh_in_progress",
                "Another request was refreshing this account's token and may have just renewed it.",
                "Try again in a few seconds.",
            ))
        }
        Err(other) => {
            // Transient or configuration failures leave the account as it was.
            release_lease(db, &a.id, lease)?;
            let detail = match other {
                TokenFailure::Provider(TokenOutcome::ClientMisconfigured(m)) => {
                    return Err(ApiError::config(
                        &format!("{} rejected the app registration ({m})", cfg.provider.name),
                        "check the client id and secret spin.toml gives this function (its `client_id` and `client_secret` variables)",
                    ))
                }
                TokenFailure::Provider(TokenOutcome::Transient(m))
                | TokenFailure::Provider(TokenOutcome::Failed(m))
                | TokenFailure::Unreachable(m) => m,
                TokenFailure::Provider(_) => String::new(),
            };
            Err(ApiError::new(
                503,
                "token_refresh_failed",
                &format!("The token could not be refreshed right now: {detail}"),
                "Try again in a minute.",
            ))
        }
    }
}

/// Seals and stores tokens from a refresh of `a`'s tokens, over those
/// alone; `false` when others were stored meanwhile.
fn store_over(db: &Connection, keys: &Keys, a: &Account, new: &Tokens) -> Result<bool, ApiError> {
    let sealed = keys.seal(
        serde_json::to_string(new).unwrap_or_default().as_bytes(),
        &a.id,
    );
    let now = crate::now();
    db.execute(
        // The grant answered, so it is alive: an Expired set meanwhile by a
        // refresh that was refused the token this one had just spent is
        // undone (never a deletion's Deleting).
        "UPDATE accounts SET tokens = ?, access_expires_at = ?, refreshed_at = ?, refresh_lock = NULL, updated_at = ?,
           status = CASE status WHEN 'Expired' THEN 'Active' ELSE status END,
           status_reason = CASE status WHEN 'Expired' THEN NULL ELSE status_reason END
         WHERE id = ? AND tokens = ?",
        &[text(&sealed), int(new.expires_at), int(now), int(now), text(&a.id), text(&a.tokens)],
    )?;
    Ok(crate::db::changes(db)? == 1)
}

/// The account's tokens, when they are no longer the ones `a` was read with.
fn newer_tokens(db: &Connection, keys: &Keys, a: &Account) -> Result<Option<Tokens>, ApiError> {
    let r = db.execute(
        &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?"),
        &[text(&a.id)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("account"));
    }
    let now = from_row(&r, 0);
    if now.tokens == a.tokens || now.status == "Expired" {
        return Ok(None);
    }
    open_tokens(keys, &now).map(Some)
}

/// Marks the stored access token stale, unless another request already replaced it.
fn invalidate(db: &Connection, id: &str, sealed: &str) -> Result<(), ApiError> {
    db.execute(
        "UPDATE accounts SET access_expires_at = 0 WHERE id = ? AND tokens = ?",
        &[text(id), text(sealed)],
    )?;
    Ok(())
}

/// Re-checks the account's subscriptions now (the refresh icon). A token the provider
/// refuses (revoked or expired early) is refreshed and the check retried once.
pub async fn recheck(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    a: &Account,
) -> Result<Account, ApiError> {
    let tokens = access_token(db, cfg, keys, &a.id).await?;
    let subs = match discover(cfg, &tokens, &a.tenant_id).await {
        Err(e) if e.code == "provider_unauthorized" => {
            let fresh = renewed(db, cfg, keys, &a.org_id, &a.id, &tokens.access_token).await?;
            match discover(cfg, &fresh, &a.tenant_id).await {
                Err(e) if e.code == "provider_unauthorized" => {
                    refused_twice(db, keys, &a.org_id, &a.id, &fresh.access_token)?;
                    return Err(e);
                }
                other => other?,
            }
        }
        other => other?,
    };
    let subs = subs.to_string();
    let (badges, withheld) = badge_columns(&subs);
    db.execute(
        // An account being deleted with its servers stays Deleting: the
        // servers function removes it with its last server only then.
        "UPDATE accounts SET subscriptions = ?, badges = ?, badges_withheld = ?, last_checked = ?, status = CASE status WHEN 'Deleting' THEN status ELSE 'Active' END, status_reason = CASE status WHEN 'Deleting' THEN status_reason END, updated_at = ? WHERE id = ?",
        &[text(&subs), text(&badges), text(&withheld), int(crate::now()), int(crate::now()), text(&a.id)],
    )?;
    load(db, &a.org_id, &a.id)
}

/// Fresh tokens after the provider refused `refused` although it had not
/// expired by its own clock (revoked or rotated early): the stored token is
/// marked stale unless another request already replaced it, then refreshed
/// once. A dead grant turns the account Expired here (409 `account_expired`).
async fn renewed(
    db: &Connection,
    cfg: &Config,
    keys: &Keys,
    org: &str,
    id: &str,
    refused: &str,
) -> Result<Tokens, ApiError> {
    let current = load(db, org, id)?;
    let tokens = open_tokens(keys, &current)?;
    // An API token cannot be renewed: the caller asks once more with the
    // same one, since one refusal may be the provider's passing fault, and
    // a second refusal expires it (`refused_twice`).
    if tokens.api_token {
        return Ok(tokens);
    }
    if tokens.access_token == refused {
        invalidate(db, id, &current.tokens)?;
    }
    access_token(db, cfg, keys, id).await
}

/// After a second refusal of the same API token in a row: the account turns
/// Expired (409 `account_expired`, asking for a new token). OAuth accounts
/// were already refreshed by `renewed`, so nothing changes for them here.
fn refused_twice(
    db: &Connection,
    keys: &Keys,
    org: &str,
    id: &str,
    refused: &str,
) -> Result<(), ApiError> {
    let current = load(db, org, id)?;
    match open_tokens(keys, &current) {
        Ok(t) if t.api_token && t.access_token == refused => {
            set_status(db, id, "Expired", Some(TOKEN_REFUSED))?;
            Err(token_expired_error(TOKEN_REFUSED))
        }
        _ => Ok(()),
    }
}

/// A session for one call of a provider plugin: the cloud's endpoints and a
/// fresh access token for the organization's account.
pub async fn session(db: &Connection, org: &str, account_id: &str) -> Result<Session, ApiError> {
    let (cfg, keys) = (Config::load()?, Keys::load()?);
    let a = load(db, org, account_id)?;
    let tokens = access_token(db, &cfg, &keys, &a.id).await?;
    Ok(Session {
        cloud: cfg.cloud,
        access_token: tokens.access_token,
    })
}

/// A new session for the account after the provider refused `stale`'s token.
pub async fn renew(
    db: &Connection,
    org: &str,
    account_id: &str,
    stale: &Session,
) -> Result<Session, ApiError> {
    let (cfg, keys) = (Config::load()?, Keys::load()?);
    let tokens = renewed(db, &cfg, &keys, org, account_id, &stale.access_token).await?;
    Ok(Session {
        cloud: cfg.cloud,
        access_token: tokens.access_token,
    })
}

/// Calls a provider plugin for the account; when the provider refuses a token
/// that had not expired by its own clock, refreshes it once and calls once
/// more, so an early-revoked token recovers without anybody clicking Refresh.
/// An API token is asked once more as it is, and a second refusal turns
/// the account Expired. The outer error is Skyport's (no session, an
/// Expired account); the inner result is the plugin's answer, for the caller
/// to word.
pub async fn call<T>(
    db: &Connection,
    org: &str,
    account_id: &str,
    f: impl Fn(&Session) -> Result<T, PluginError>,
) -> Result<Result<T, PluginError>, ApiError> {
    let s = session(db, org, account_id).await?;
    match f(&s) {
        Err(PluginError::Unauthorized(_)) => {
            let fresh = renew(db, org, account_id, &s).await?;
            let again = f(&fresh);
            if matches!(again, Err(PluginError::Unauthorized(_))) {
                refused_twice(db, &Keys::load()?, org, account_id, &fresh.access_token)?;
            }
            Ok(again)
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(status: &str, subscriptions: Value) -> Account {
        Account {
            id: "a1".into(),
            org_id: "o1".into(),
            provider: "acme".into(),
            tenant_id: "t1".into(),
            user_id: "u1".into(),
            user_name: Some("Ada \"the first\"".into()),
            status: status.into(),
            status_reason: None,
            tokens: String::new(),
            access_expires_at: 0,
            subscriptions,
            last_checked: Some(7),
            created_at: 5,
        }
    }

    fn subscriptions() -> Value {
        json!([
            { "id": "s1", "name": "Prod", "capabilities": [
                { "capability": "Compute", "available": false, "reason": "Register \u{201c}Acme.Compute\u{201d}." },
                { "capability": "Storage", "available": true, "reason": null },
            ]},
            { "id": "s2", "capabilities": [
                { "capability": "Compute", "available": true, "reason": null },
            ]},
        ])
    }

    #[test]
    fn the_stored_badges_are_those_a_read_shows() {
        let a = account("Active", subscriptions());
        let (badges, withheld) = badge_columns(&a.subscriptions.to_string());
        let v = to_json(&a);
        assert_eq!(badges, v["badges"].to_string());
        assert_eq!(withheld, v["badges_withheld"].to_string());
    }

    #[test]
    fn badges_need_one_subscription_and_an_active_account() {
        let v = to_json(&account("Active", subscriptions()));
        assert_eq!(v["badges"], json!(["Compute", "Storage"]));
        assert_eq!(
            v["badges_withheld"],
            json!([{ "capability": "DNS", "reason": "No subscription of this account can serve it." }])
        );
        let v = to_json(&account("Expired", subscriptions()));
        assert_eq!(v["badges"], json!([]));
        assert_eq!(v["subscriptions"], subscriptions());
    }

    #[test]
    fn stored_subscriptions_that_are_not_a_list_earn_no_badge() {
        for stored in ["", "{}", "not json", "[1, 2"] {
            let (badges, withheld) = badge_columns(stored);
            assert_eq!(badges, "[]", "{stored}");
            let withheld: Value = serde_json::from_str(&withheld).unwrap();
            assert_eq!(withheld.as_array().unwrap().len(), 3, "{stored}");
        }
    }
}
