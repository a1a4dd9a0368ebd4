//! The servers' watch, part of every jobs run: each live server is looked at
//! in its provider every `server_check_seconds` (default 10 minutes,
//! staggered by server, backed off while its account cannot be reached), so
//! a VM deleted or stopped outside Skyport shows as `missing` or `stopped`
//! — and a stopped one that was started again as `running` — without anyone
//! opening the console.
//!
//! A change is believed only when two looks a minute apart agree, so a VM
//! caught mid-restart or a passing glitch does not flap the status; the
//! change and its event (`server.missing`, `server.stopped`,
//! `server.started`) are written together, and only over the status that
//! was read, so a delete that began meanwhile wins.

use serde_json::{json, Value};
use skyport_functions::api::ApiError;
use skyport_functions::db::{self, get_int, get_text, int, opt_text, text};
use skyport_functions::schedule::{due, next_check, put_off, seconds, tally};
use skyport_functions::{accounts, events, now, provider};
use spin_sdk::sqlite::Connection;

use crate::skyport::compute::compute::{self as plugin, ServerState};

/// Servers looked at per run.
const PER_RUN: i64 = 10;

/// The statuses the watch looks at and may change between.
const WATCHED: &str = "('running', 'stopped', 'missing')";

/// The status a provider's state stands for; `None` while it is changing.
fn status_of(state: ServerState) -> Option<&'static str> {
    match state {
        ServerState::Running => Some("running"),
        ServerState::Stopped | ServerState::Deallocated => Some("stopped"),
        ServerState::Missing => Some("missing"),
        ServerState::Changing => None,
    }
}

/// The event a change of status is announced with.
fn event_of(from: &str, to: &str) -> Option<&'static str> {
    match (from, to) {
        (_, "missing") => Some("server.missing"),
        (_, "stopped") => Some("server.stopped"),
        ("stopped" | "missing", "running") => Some("server.started"),
        _ => None,
    }
}

/// One run of the watch; what it did, for the jobs log.
pub async fn run(db: &Connection) -> Result<Value, ApiError> {
    let period = seconds("server_check_seconds", 600);
    let watched = format!(
        "status IN {WATCHED} AND {}",
        provider::own_rows("account_id")
    );
    let ids = due(db, "servers", &watched, now(), period, PER_RUN)?;
    Ok(tally(
        ids,
        "server",
        |id| async move { look(db, &id, period).await },
    )
    .await)
}

/// Looks at one server and records what was seen; whether its status changed.
async fn look(db: &Connection, id: &str, period: i64) -> Result<bool, ApiError> {
    let r = db.execute(
        "SELECT org_id, account_id, provider_id, status, observed, check_failures FROM servers WHERE id = ?",
        &[text(id)],
    )?;
    let (Some(org), Some(account), Some(provider_id), Some(status)) = (
        get_text(&r, 0, "org_id"),
        get_text(&r, 0, "account_id"),
        get_text(&r, 0, "provider_id"),
        get_text(&r, 0, "status"),
    ) else {
        return Ok(false);
    };
    let failures = get_int(&r, 0, "check_failures").unwrap_or(0);
    let owner = id.to_string();
    let seen = accounts::call(db, &org, &account, |s| {
        plugin::inspect_server(s, &provider_id, &owner)
    })
    .await
    .and_then(|r| r.map_err(accounts::plugin_error));
    let t = now();
    let seen = match seen {
        Ok(s) => s,
        Err(e) => {
            // The account or the provider cannot answer now: nothing is
            // concluded about the server; look again later.
            put_off(db, "servers", id, t, period, failures + 1)?;
            return Err(e);
        }
    };
    let next = next_check(t, period, 0, id);
    let Some(to) = status_of(seen.state).filter(|to| *to != status) else {
        db.execute(
            "UPDATE servers SET next_check_at = ?, check_failures = 0, observed = NULL, checked_at = ? WHERE id = ?",
            &[int(next), int(t), text(id)],
        )?;
        return Ok(false);
    };
    if get_text(&r, 0, "observed").as_deref() != Some(to) {
        // Seen once: look again in a minute (or the period, if shorter)
        // before believing it.
        db.execute(
            "UPDATE servers SET next_check_at = ?, check_failures = 0, observed = ?, checked_at = ? WHERE id = ?",
            &[int(t + period.min(60)), text(to), int(t), text(id)],
        )?;
        return Ok(false);
    }
    db::transaction(db, || {
        let reason = (to != "running").then_some(seen.detail.as_str());
        db.execute(
            "UPDATE servers SET status = ?, status_reason = ?, observed = NULL, next_check_at = ?, check_failures = 0, checked_at = ?, updated_at = ?
             WHERE id = ? AND status = ?",
            &[text(to), opt_text(reason), int(next), int(t), int(t), text(id), text(&status)],
        )?;
        if db::changes(db)? == 0 {
            return Ok(false);
        }
        if let Some(kind) = event_of(&status, to) {
            let mut data = crate::server_json(db, id)?;
            data["previous_status"] = json!(status);
            events::emit(db, &org, kind, ("server", id), data)?;
        }
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_states_map_to_statuses() {
        assert_eq!(status_of(ServerState::Running), Some("running"));
        assert_eq!(status_of(ServerState::Stopped), Some("stopped"));
        assert_eq!(status_of(ServerState::Deallocated), Some("stopped"));
        assert_eq!(status_of(ServerState::Missing), Some("missing"));
        assert_eq!(status_of(ServerState::Changing), None);
    }

    #[test]
    fn changes_are_announced_once_with_their_kind() {
        assert_eq!(event_of("running", "missing"), Some("server.missing"));
        assert_eq!(event_of("stopped", "missing"), Some("server.missing"));
        assert_eq!(event_of("running", "stopped"), Some("server.stopped"));
        assert_eq!(event_of("stopped", "running"), Some("server.started"));
        assert_eq!(event_of("missing", "running"), Some("server.started"));
        assert_eq!(event_of("running", "running"), None);
    }
}
