//! The accounts' share of a jobs run: keep every account's grant alive and
//! find out about dead ones without anybody clicking Refresh.
//!
//! - An account with work in progress gets its access token refreshed before
//!   it expires, so the operation's next step does not wait on a refresh.
//! - Every refresh token is used at least every `token_keepalive_seconds`
//!   (default 6 days): providers end a refresh token unused for long (90 days is common), and
//!   some tenants sooner; Skyport promises tokens that refresh by themselves.
//! - Every Active account's health is re-checked every
//!   `health_check_seconds` (default 6 hours), staggered by account so the
//!   checks spread out, with backoff after errors: its refresh token is used
//!   and its subscriptions and roles read again, so a revoked grant turns the
//!   account Expired then.
//! - A deleted account's grant is revoked at its provider, where the
//!   deletion could not (`revocations`).
//!
//! Each run is bounded and takes organizations in turn.

use serde_json::{json, Value};
use skyport_functions::api::ApiError;
use skyport_functions::config::Config;
use skyport_functions::crypto::Keys;
use skyport_functions::db::{get_int, get_text, int, text};
use skyport_functions::provider::own_accounts;
use skyport_functions::schedule::{due, fair, put_off, seconds};
use skyport_functions::{accounts, now, revocations};
use spin_sdk::sqlite::Connection;

/// Accounts looked at per run, for each kind of upkeep.
const PER_RUN: i64 = 20;

/// One run of the accounts' upkeep; what it did, for the jobs log.
pub async fn run(db: &Connection) -> Result<Value, ApiError> {
    let (cfg, keys) = (Config::load()?, Keys::load()?);
    let t = now();
    let keepalive = seconds("token_keepalive_seconds", 6 * 24 * 3600);
    let period = seconds("health_check_seconds", 6 * 3600);
    let mut out =
        json!({ "refreshed": 0, "kept_alive": 0, "checked": 0, "expired": 0, "errors": [] });
    let mut errors = Vec::new();

    // Access tokens of accounts with work in progress, before they expire.
    let busy = fair(
        db,
        &format!("FROM accounts t WHERE t.status = 'Active' AND t.access_expires_at < ? AND {}
           AND EXISTS (SELECT 1 FROM operations o WHERE o.account_id = t.id AND o.status = 'running')", own_accounts("t")),
        &[int(t + 600)],
        PER_RUN,
    )?;
    for id in busy {
        match accounts::access_token(db, &cfg, &keys, &id).await {
            Ok(_) => out["refreshed"] = json!(out["refreshed"].as_i64().unwrap_or(0) + 1),
            Err(e) => errors.push(json!({ "account": id, "code": e.code })),
        }
    }

    // Refresh tokens not used for a while: use them now. An API token has
    // none (its expiry is NEVER): the health checks below are its upkeep.
    let idle = fair(
        db,
        &format!("FROM accounts t WHERE t.status = 'Active' AND COALESCE(t.refreshed_at, t.created_at) < ? AND t.access_expires_at < ? AND {}", own_accounts("t")),
        &[int(t - keepalive), int(skyport_functions::oauth::NEVER)],
        PER_RUN,
    )?;
    for id in idle {
        match accounts::force_refresh(db, &cfg, &keys, &id).await {
            Ok(()) => out["kept_alive"] = json!(out["kept_alive"].as_i64().unwrap_or(0) + 1),
            Err(e) => {
                if e.code == "account_expired" {
                    out["expired"] = json!(out["expired"].as_i64().unwrap_or(0) + 1);
                } else {
                    // A passing failure: try again in ten minutes, not at
                    // every run.
                    db.execute(
                        "UPDATE accounts SET refreshed_at = ? WHERE id = ?",
                        &[int(t - keepalive + 600), text(&id)],
                    )?;
                }
                errors.push(json!({ "account": id, "code": e.code }));
            }
        }
    }

    // Health checks that are due; a first one is placed in the period.
    let active = format!("status = 'Active' AND {}", own_accounts(""));
    for id in due(db, "accounts", &active, t, period, PER_RUN)? {
        let r = db.execute(
            "SELECT org_id, check_failures FROM accounts WHERE id = ?",
            &[text(&id)],
        )?;
        let (Some(org), failures) = (
            get_text(&r, 0, "org_id"),
            get_int(&r, 0, "check_failures").unwrap_or(0),
        ) else {
            continue;
        };
        // The check uses the refresh token, not just the access token: a
        // revoked grant keeps its access token working until it expires,
        // and only the refresh tells.
        let checked = match accounts::load(db, &org, &id) {
            Ok(a) => match accounts::force_refresh(db, &cfg, &keys, &id).await {
                Ok(()) => accounts::recheck(db, &cfg, &keys, &a).await.map(|_| ()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let failures = match &checked {
            Ok(()) => 0,
            Err(e) if e.code == "account_expired" => {
                out["expired"] = json!(out["expired"].as_i64().unwrap_or(0) + 1);
                0
            }
            Err(e) => {
                errors.push(json!({ "account": id, "code": e.code }));
                failures + 1
            }
        };
        out["checked"] = json!(out["checked"].as_i64().unwrap_or(0) + 1);
        put_off(db, "accounts", &id, now(), period, failures)?;
    }

    // Deleted accounts' grants, revoked at the provider.
    out["revoked"] = json!(revocations::settle_due(db, &cfg, &keys, PER_RUN).await?);
    out["errors"] = json!(errors);
    Ok(out)
}
