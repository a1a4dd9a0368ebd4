//! What an existing server can be asked to do: start, stop (its machine
//! released, so compute stops billing), restart and resize — each an
//! operation of the one engine, planned by the compute plugin, which acts
//! only on the machine it can prove is this server's.
//!
//! One piece of work runs on a server at a time: the same action asked for
//! again answers the running operation, anything else answers 409
//! `server_busy`. While an action runs the server shows it (`stopping`, …);
//! when it ends, the status, the event and the operation change together.

use serde_json::{json, Value};
use skyport_functions::api::{
    check_id, json_body, json_response, json_text_response, req_str, ApiError,
};
use skyport_functions::db::{self, get_text, int, opt_text, text};
use skyport_functions::ops::{self, Ended, NewOp, Op};
use skyport_functions::plugin_types::Error as PluginError;
use skyport_functions::{accounts, events, now, provider};
use spin_sdk::http::{Request, Response};
use spin_sdk::sqlite::Connection;

use crate::skyport::compute::compute::{self as plugin, PowerAction, Size};
use crate::{account_for, operation_json, priced_sizes, progress, server_json};

/// The operations of this module.
pub const KINDS: [&str; 4] = ["start", "stop", "restart", "resize"];

/// The statuses an action may begin from.
fn allowed_from(kind: &str) -> &'static [&'static str] {
    match kind {
        "start" => &["stopped"],
        "stop" | "restart" => &["running"],
        "resize" => &["running", "stopped"],
        _ => &[],
    }
}

/// The status a server shows while `kind` runs.
fn during(kind: &str) -> &'static str {
    match kind {
        "start" => "starting",
        "stop" => "stopping",
        "restart" => "restarting",
        _ => "resizing",
    }
}

/// How a failure of `kind` begins, for people; `None` for other kinds.
pub fn failed_words(kind: &str) -> Option<&'static str> {
    match kind {
        "start" => Some("Starting the server failed"),
        "stop" => Some("Stopping the server failed"),
        "restart" => Some("Restarting the server failed"),
        "resize" => Some("Resizing the server failed"),
        "delete" => Some("Deleting the server failed"),
        _ => None,
    }
}

/// The event announcing that `kind` succeeded.
fn event_of(kind: &str) -> &'static str {
    match kind {
        "start" => "server.started",
        "stop" => "server.stopped",
        "restart" => "server.restarted",
        _ => "server.resized",
    }
}

/// The server as an action needs it.
struct Target {
    account: String,
    sub: String,
    provider_id: String,
    status: String,
    size: String,
    region: String,
}

fn target(db: &Connection, org: &str, id: &str) -> Result<Target, ApiError> {
    check_id(id, "server")?;
    let r = db.execute(
        "SELECT account_id, subscription_id, provider_id, status, size, region FROM servers WHERE id = ? AND org_id = ?",
        &[text(id), text(org)],
    )?;
    let status = get_text(&r, 0, "status").unwrap_or_default();
    if r.rows.is_empty() || status == "deleted" || status == "retried" {
        return Err(ApiError::not_found("server"));
    }
    let field = |k: &str| get_text(&r, 0, k).unwrap_or_default();
    Ok(Target {
        account: field("account_id"),
        sub: field("subscription_id"),
        provider_id: field("provider_id"),
        status,
        size: field("size"),
        region: field("region"),
    })
}

/// One piece of work on a server at a time: `Ok(Some(op))` when the running
/// operation is the very one asked for again (`is_same` by its kind and
/// data), 409 `server_busy` when other work runs, `Ok(None)` when none does.
pub fn one_at_a_time(
    db: &Connection,
    id: &str,
    is_same: impl Fn(&str, &Value) -> bool,
) -> Result<Option<String>, ApiError> {
    match running(db, id)? {
        Some((op, kind, data)) if is_same(&kind, &data) => Ok(Some(op)),
        Some((op, kind, _)) => Err(busy(&op, &kind)),
        None => Ok(None),
    }
}

/// The sizes the server's machine can change to, from its plugin.
async fn sizes_of(
    db: &Connection,
    org: &str,
    account: &str,
    t: &Target,
    id: &str,
) -> Result<Vec<Size>, ApiError> {
    let owner = id.to_string();
    accounts::call(db, org, account, |s| {
        plugin::resize_sizes(s, &t.provider_id, &owner)
    })
    .await?
    .map_err(plugin_error)
}

/// The operation running on the server, if any: its id, kind and data.
fn running(db: &Connection, id: &str) -> Result<Option<(String, String, Value)>, ApiError> {
    let r = db.execute(
        "SELECT id, kind, data FROM operations WHERE subject_id = ? AND status = 'running' ORDER BY created_at LIMIT 1",
        &[text(id)],
    )?;
    Ok(match (get_text(&r, 0, "id"), get_text(&r, 0, "kind")) {
        (Some(op), Some(kind)) => {
            let data = get_text(&r, 0, "data")
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or(Value::Null);
            Some((op, kind, data))
        }
        _ => None,
    })
}

/// The refusal while other work runs on the server.
fn busy(op: &str, kind: &str) -> ApiError {
    let what = match kind {
        "create" => "still being created",
        "cleanup" => "still being cleaned up after a failed creation",
        "delete" => "being deleted",
        "start" => "being started",
        "stop" => "being stopped",
        "restart" => "being restarted",
        _ => "being resized",
    };
    ApiError::new(
        409,
        "server_busy",
        &format!("The server is {what}."),
        "Wait until that finishes (follow the operation), then try again.",
    )
    .with("operation_id", json!(op))
}

/// The refusal when the server's status changed between reading it and
/// writing the new one.
pub fn changed_meanwhile() -> ApiError {
    ApiError::new(
        409,
        "invalid_server_state",
        "The server changed while the request was being made.",
        "Reload the server and try again.",
    )
}

/// Whether a running operation is the very action asked for again.
fn same_action(kind: &str, size: Option<&str>, running_kind: &str, data: &Value) -> bool {
    running_kind == kind
        && size.is_none_or(|s| {
            data["size"]
                .as_str()
                .is_some_and(|d| d.eq_ignore_ascii_case(s))
        })
}

/// `POST /api/v1/servers/{id}/{start|stop|restart|resize}`.
pub async fn request(
    db: &Connection,
    org: &str,
    id: &str,
    kind: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let size = if kind == "resize" {
        let b = json_body(req.body())?;
        Some(req_str(&b, "size", 64)?.to_string())
    } else {
        None
    };
    let t = target(db, org, id)?;
    let asked = size.as_deref();
    if let Some(op) = one_at_a_time(db, id, |running, data| {
        same_action(kind, asked, running, data)
    })? {
        return Ok(json_text_response(202, operation_json(db, &op)?));
    }
    check_state(kind, &t.status)?;
    if let Some(size) = &size {
        if size.eq_ignore_ascii_case(&t.size) {
            return Err(ApiError::bad_request(
                "invalid_size",
                &format!("The server already is {}.", t.size),
                "Choose another size from the server's sizes.",
            )
            .with("field", json!("size")));
        }
    }
    let account = account_for(db, org, id, &t.account, &t.sub)?;
    let owner = id.to_string();
    let size = match size {
        Some(asked) => {
            let sizes = sizes_of(db, org, &account, &t, id).await?;
            // The size as the provider spells it, whatever case was sent.
            let Some(known) = sizes.iter().find(|z| z.name.eq_ignore_ascii_case(&asked)) else {
                return Err(ApiError::bad_request(
                    "invalid_size",
                    &format!("`{asked}` is not a size this server can change to."),
                    "Choose one of the server's sizes (GET /api/v1/servers/{id}/sizes).",
                )
                .with("field", json!("size")));
            };
            Some(known.name.clone())
        }
        None => None,
    };
    let planned = accounts::call(db, org, &account, |s| match (kind, &size) {
        ("resize", Some(size)) => plugin::resize_server(s, &t.provider_id, &owner, size),
        _ => plugin::power_server(s, &t.provider_id, &owner, power_action(kind)),
    })
    .await?
    .map_err(plugin_error)?;
    let op_id = skyport_functions::new_id();
    // The operation and the server's new status appear together, and only
    // if nothing else began on the server meanwhile.
    let answer = db::transaction(db, || {
        let asked = size.as_deref();
        if let Some(op) = one_at_a_time(db, id, |running, data| {
            same_action(kind, asked, running, data)
        })? {
            return Ok(op);
        }
        db.execute(
            "UPDATE servers SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
            &[text(during(kind)), int(now()), text(id), text(&t.status)],
        )?;
        if db::changes(db)? != 1 {
            return Err(changed_meanwhile());
        }
        let new = NewOp {
            id: &op_id,
            org,
            kind,
            subject: id,
            account: &account,
            data: json!({ "from": t.status, "size": size, "from_size": t.size }),
        };
        ops::insert(db, &new, &progress(&planned))?;
        Ok(op_id.clone())
    })?;
    Ok(json_text_response(202, operation_json(db, &answer)?))
}

/// A plugin's refusal, with the remedy for a VM that is not the server's.
fn plugin_error(e: PluginError) -> ApiError {
    let not_owned = matches!(&e, PluginError::Conflict(d) if d.code == "VirtualMachineNotOwned");
    let mut e = accounts::plugin_error(e);
    if not_owned {
        e.remedy = format!("Skyport acts only on the {} it made for this server, and the one in its place was replaced or re-tagged outside Skyport: manage it in {}, or delete the server here.", provider::machine(), provider::portal());
    }
    e
}

fn power_action(kind: &str) -> PowerAction {
    match kind {
        "start" => PowerAction::Start,
        "stop" => PowerAction::Stop,
        _ => PowerAction::Restart,
    }
}

/// Refuses an action the server's status does not allow.
fn check_state(kind: &str, status: &str) -> Result<(), ApiError> {
    if allowed_from(kind).contains(&status) {
        return Ok(());
    }
    let (message, remedy) = match (kind, status) {
        ("start", "running") => ("The server is already running.", "Nothing to do."),
        ("stop", "stopped") => ("The server is already stopped.", "Nothing to do."),
        ("start", _) => (
            "Only a stopped server can be started.",
            "Wait until the server is stopped.",
        ),
        (_, "stopped") => ("The server is stopped.", "Start it first."),
        (_, "missing") => (
            "The server's virtual machine is gone.",
            "Delete the server to remove what is left of it.",
        ),
        _ => (
            "The server is not running.",
            "Wait until it is running (or stopped, to resize it).",
        ),
    };
    Err(ApiError::new(409, "invalid_server_state", message, remedy).with("status", json!(status)))
}

/// `GET /api/v1/servers/{id}/sizes`: what the server can be resized to,
/// with prices.
pub async fn sizes(db: &Connection, org: &str, id: &str) -> Result<Response, ApiError> {
    let t = target(db, org, id)?;
    check_state("resize", &t.status)?;
    let account = account_for(db, org, id, &t.account, &t.sub)?;
    let sizes = sizes_of(db, org, &account, &t, id).await?;
    let sizes = priced_sizes(db, org, &account, &sizes, &t.region).await;
    Ok(json_response(
        200,
        &json!({ "server_id": id, "current": t.size, "region": t.region, "sizes": sizes }),
    ))
}

/// The server's status, event and size once an action ended, in the
/// engine's transaction. A failure puts the status back as it was.
pub fn ended(db: &Connection, op: &Op, how: Ended<'_>) -> Result<(), ApiError> {
    let t = now();
    let from = op.data["from"].as_str().unwrap_or("running").to_string();
    match how {
        Ended::Succeeded(_) => {
            let (status, reason) = match op.kind.as_str() {
                "stop" => ("stopped", Some("Stopped and deallocated from Skyport")),
                // A resized server keeps its status and why it has it.
                "resize" => (from.as_str(), None),
                _ => ("running", None),
            };
            let size = op.data["size"].as_str();
            // Only over the action's own status: nothing else may have
            // begun on the server meanwhile, but if something did, it wins.
            db.execute(
                "UPDATE servers SET status = ?, status_reason = CASE WHEN ? = 'resize' THEN status_reason ELSE ? END,
                   size = COALESCE(?, size), observed = NULL, checked_at = ?, updated_at = ?
                 WHERE id = ? AND status = ?",
                &[text(status), text(&op.kind), opt_text(reason), opt_text(size), int(t), int(t), text(&op.subject), text(during(&op.kind))],
            )?;
            if db::changes(db)? != 1 {
                return Ok(());
            }
            let mut data = server_json(db, &op.subject)?;
            data["previous_status"] = json!(from);
            if op.kind == "resize" {
                data["previous_size"] = op.data["from_size"].clone();
            }
            events::emit(
                db,
                &op.org,
                event_of(&op.kind),
                ("server", &op.subject),
                data,
            )
        }
        Ended::Failed(e) => failed(db, op, &from, during(&op.kind), e),
    }
}

/// An action or a deletion that failed: the server back at `from` (if it
/// still shows `during`, the status the work gave it — else something newer
/// won), looked at again soon, since the provider may have changed the
/// machine before it refused (or it is gone), and `server.action_failed`
/// announced with the work's kind and error.
pub fn failed(
    db: &Connection,
    op: &Op,
    from: &str,
    during: &str,
    e: &ApiError,
) -> Result<(), ApiError> {
    let t = now();
    db.execute(
        "UPDATE servers SET status = ?, observed = NULL, next_check_at = ?, updated_at = ? WHERE id = ? AND status = ?",
        &[text(from), int(t), int(t), text(&op.subject), text(during)],
    )?;
    if db::changes(db)? != 1 {
        return Ok(());
    }
    let mut data = server_json(db, &op.subject)?;
    data["action"] = json!(op.kind);
    data["error"] = e.to_json();
    events::emit(
        db,
        &op.org,
        "server.action_failed",
        ("server", &op.subject),
        data,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_starts_only_where_it_makes_sense() {
        assert!(check_state("start", "stopped").is_ok());
        assert!(check_state("stop", "running").is_ok());
        assert!(check_state("restart", "running").is_ok());
        assert!(check_state("resize", "stopped").is_ok());
        assert!(check_state("resize", "running").is_ok());
        for (kind, status) in [
            ("start", "running"),
            ("stop", "stopped"),
            ("restart", "stopped"),
            ("stop", "provisioning"),
            ("resize", "missing"),
            ("start", "failed"),
        ] {
            let e = check_state(kind, status).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (409, "invalid_server_state"),
                "{kind} from {status}"
            );
        }
    }

    #[test]
    fn the_same_action_asked_again_is_the_running_one() {
        let data = json!({ "size": "Standard_B2s" });
        assert!(same_action("stop", None, "stop", &json!({})));
        assert!(!same_action("start", None, "stop", &json!({})));
        assert!(same_action("resize", Some("standard_b2s"), "resize", &data));
        assert!(!same_action(
            "resize",
            Some("Standard_D2s_v5"),
            "resize",
            &data
        ));
    }

    #[test]
    fn every_action_has_its_words_and_event() {
        for kind in KINDS {
            assert!(failed_words(kind).is_some());
            assert!(events::KINDS.contains(&event_of(kind)), "{kind}");
            assert_ne!(during(kind), "");
        }
        assert!(events::KINDS.contains(&"server.action_failed"));
        assert_eq!(failed_words("create"), None);
    }
}
