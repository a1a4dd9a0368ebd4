//! Backup targets after their set-up: each is checked again through the data
//! plane every `storage_check_seconds` (default an hour, staggered, backed
//! off while its account cannot be reached) and on request, so a target
//! whose storage account starts refusing the platform shows `access_denied`
//! with the remedy, and `verified` again once it is fixed; and detaching one
//! forgets it while the storage account and its container stay the user's.
//!
//! A change of status and its event (`storage.access_denied`,
//! `storage.check_failed`, `storage.ready`) are written together, over the
//! status that was read.

use serde_json::{json, Value};
use skyport_functions::api::ApiError;
use skyport_functions::db::{self, get_int, get_text, int, opt_text, text};
use skyport_functions::plugin_types::Error as PluginError;
use skyport_functions::schedule::{due, next_check, put_off, seconds, tally};
use skyport_functions::{accounts, events, now, provider};
use spin_sdk::sqlite::{Connection, QueryResult};

use crate::skyport::storage::stores::{self as plugin, Access};

/// Targets checked per jobs run.
const PER_RUN: i64 = 10;

/// What a target's remedy is, by its status.
fn remedy(status: &str) -> Option<String> {
    match status {
        "access_denied" => Some(format!("Allow the platform's addresses in {} (or allow all networks); the target is checked again within the hour, or at once with Check now.", provider::network_rules())),
        "check_failed" => Some(format!("Check the {} and its {} in {}; the target is checked again within the hour, or at once with Check now.", provider::storage(), provider::container(), provider::portal())),
        _ => None,
    }
}

/// A backup target as the API shows it; `Null` when there is none.
pub fn json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let r = db.execute(
        &format!("SELECT {SHOWN} FROM backup_targets WHERE id = ?"),
        &[text(id)],
    )?;
    if r.rows.is_empty() {
        return Ok(Value::Null);
    }
    Ok(row_json(&r, 0))
}

/// What the API shows of a target, as read from `backup_targets`.
pub const SHOWN: &str = "id, account_id, storage_account_id, storage_account, container, endpoint, region, verified_at, status, status_reason, checked_at";

/// Row `i` of a query of [`SHOWN`] as the API shows it.
pub fn row_json(r: &QueryResult, i: usize) -> Value {
    let status = get_text(r, i, "status").unwrap_or_else(|| "verified".into());
    json!({
        "id": get_text(r, i, "id"), "account_id": get_text(r, i, "account_id"), "storage_account_id": get_text(r, i, "storage_account_id"),
        "storage_account": get_text(r, i, "storage_account"), "container": get_text(r, i, "container"), "endpoint": get_text(r, i, "endpoint"), "region": get_text(r, i, "region"),
        "verified_at": get_int(r, i, "verified_at"), "checked_at": get_int(r, i, "checked_at"),
        "status": status, "status_reason": get_text(r, i, "status_reason"), "remedy": remedy(&status),
    })
}

/// The organization's target `id`, or 404.
fn owned(db: &Connection, org: &str, id: &str) -> Result<(), ApiError> {
    let r = db.execute(
        "SELECT 1 AS found FROM backup_targets WHERE id = ? AND org_id = ?",
        &[text(id), text(org)],
    )?;
    if r.rows.is_empty() {
        Err(ApiError::not_found("backup target"))
    } else {
        Ok(())
    }
}

/// `GET /api/v1/storage/targets/{id}`.
pub fn get(db: &Connection, org: &str, id: &str) -> Result<Value, ApiError> {
    owned(db, org, id)?;
    json(db, id)
}

/// `POST /api/v1/storage/targets/{id}/check`: checks now and answers the
/// target as it is afterwards. A provider that cannot answer now is an
/// error of the request; the target keeps the status it had.
pub async fn check_now(db: &Connection, org: &str, id: &str) -> Result<Value, ApiError> {
    owned(db, org, id)?;
    check(db, id, seconds("storage_check_seconds", 3600)).await?;
    // Detached while it was being checked.
    match json(db, id)? {
        Value::Null => Err(ApiError::not_found("backup target")),
        t => Ok(t),
    }
}

/// `DELETE /api/v1/storage/targets/{id}`: the platform stops using it. The
/// storage account and its container are not touched: they are the user's.
pub fn detach(db: &Connection, org: &str, id: &str) -> Result<Value, ApiError> {
    owned(db, org, id)?;
    let target = json(db, id)?;
    db::transaction(db, || {
        db.execute(
            "DELETE FROM backup_targets WHERE id = ? AND org_id = ?",
            &[text(id), text(org)],
        )?;
        // Another request detached it first: that one answers for it.
        if db::changes(db)? != 1 {
            return Err(ApiError::not_found("backup target"));
        }
        events::emit(
            db,
            org,
            "storage.detached",
            ("backup_target", id),
            target.clone(),
        )
    })?;
    Ok(target)
}

/// One run of the checks, part of every jobs run; what it did, for the log.
pub async fn run(db: &Connection) -> Result<Value, ApiError> {
    let period = seconds("storage_check_seconds", 3600);
    let ids = due(
        db,
        "backup_targets",
        &skyport_functions::provider::own_rows("account_id"),
        now(),
        period,
        PER_RUN,
    )?;
    Ok(tally(ids, "backup_target", |id| async move {
        check(db, &id, period).await
    })
    .await)
}

/// The status an access check gives a target, with why when it did not
/// pass. A storage account or container that is gone, a role taken away or
/// a lock fails the check; a provider or account that cannot answer now
/// concludes nothing (the error).
fn outcome(
    seen: Result<Access, PluginError>,
) -> Result<(&'static str, Option<String>), PluginError> {
    Ok(match seen {
        Ok(Access::Verified) => ("verified", None),
        Ok(Access::NetworkDenied(d)) => (
            "access_denied",
            Some(format!("Storage access denied: {d}.")),
        ),
        Ok(Access::Failed(d)) => (
            "check_failed",
            Some(format!("The access check failed: {d}.")),
        ),
        Err(PluginError::NotFound(d) | PluginError::Conflict(d)) => {
            ("check_failed", Some(d.message))
        }
        Err(PluginError::Forbidden(d)) => (
            "check_failed",
            Some(format!(
                "Skyport may no longer use this {}: {}",
                provider::storage(),
                d.message
            )),
        ),
        Err(e) => return Err(e),
    })
}

/// Checks one target through the data plane and records the outcome;
/// whether its status changed.
async fn check(db: &Connection, id: &str, period: i64) -> Result<bool, ApiError> {
    let r = db.execute(
        "SELECT org_id, account_id, storage_account_id, container, status, check_failures FROM backup_targets WHERE id = ?",
        &[text(id)],
    )?;
    let (Some(org), Some(account), Some(storage), Some(container), Some(status)) = (
        get_text(&r, 0, "org_id"),
        get_text(&r, 0, "account_id"),
        get_text(&r, 0, "storage_account_id"),
        get_text(&r, 0, "container"),
        get_text(&r, 0, "status"),
    ) else {
        return Ok(false);
    };
    let failures = get_int(&r, 0, "check_failures").unwrap_or(0);
    let seen = accounts::call(db, &org, &account, |s| {
        plugin::verify_access(s, &storage, &container)
    })
    .await;
    let t = now();
    let (to, reason) = match seen.and_then(|r| outcome(r).map_err(accounts::plugin_error)) {
        Ok(seen) => seen,
        Err(e) => {
            put_off(db, "backup_targets", id, t, period, failures + 1)?;
            return Err(e);
        }
    };
    let next = next_check(t, period, 0, id);
    db::transaction(db, || {
        db.execute(
            "UPDATE backup_targets SET status = ?, status_reason = ?, checked_at = ?, next_check_at = ?, check_failures = 0
             WHERE id = ? AND status = ?",
            &[text(to), opt_text(reason.as_deref()), int(t), int(next), text(id), text(&status)],
        )?;
        let changed = db::changes(db)? == 1 && to != status;
        if changed {
            let kind = match to {
                "verified" => "storage.ready",
                "access_denied" => "storage.access_denied",
                _ => "storage.check_failed",
            };
            events::emit(db, &org, kind, ("backup_target", id), json(db, id)?)?;
        }
        Ok(changed)
    })
}
