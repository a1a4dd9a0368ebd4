//! Incoming hooks: an organization makes a hook (`/api/v1/hooks`) that runs
//! one action with fixed parameters — create a server, set a DNS record,
//! re-check an account — and gets its URL and signing secret (shown once).
//! `POST /hooks/{id}` signed per Standard Webhooks (timestamp within five
//! minutes) runs the action once per `webhook-id` (one whose action failed
//! for a passing reason, 5xx, may be sent again): a replay answers 409, a
//! bad signature or a stale timestamp 401, and neither acts. Every attempt is
//! logged in the activity feed.
//!
//! The action goes through the app's own API (service chaining, acting for
//! the organization), so it gets exactly the checks a client's request gets;
//! a server's Idempotency-Key is the message's `webhook-id`.

use serde_json::{json, Value};
use skyport_functions::api::{req_str, ApiError};
use skyport_functions::crypto::Keys;
use skyport_functions::db::{self, get_int, get_text, int, opt_text, text};
use skyport_functions::{events, internal};
use spin_sdk::http::{Method, Request};
use spin_sdk::sqlite::Connection;

/// How far a message's timestamp may be from now.
const TOLERANCE: i64 = 300;

/// The actions a hook can run.
pub const ACTIONS: &[&str] = &["create_server", "set_dns_record", "recheck_account"];

/// Checks an action's fixed parameters.
pub fn check_params(action: &str, p: &Value) -> Result<(), ApiError> {
    if !p.is_object() {
        return Err(ApiError::bad_request(
            "invalid_params",
            "`params` must be an object.",
            "Send the action's parameters, e.g. {\"account_id\": \"…\"}.",
        ));
    }
    let need: &[&str] = match action {
        "create_server" => &[
            "account_id",
            "subscription_id",
            "region",
            "size",
            "name",
            "ssh_public_key",
        ],
        "set_dns_record" => &["domain", "type", "name", "values"],
        "recheck_account" => &["account_id"],
        _ => {
            return Err(ApiError::bad_request(
                "unknown_action",
                &format!(
                    "`{}` is not a hook action.",
                    action.chars().take(40).collect::<String>()
                ),
                &format!("Choose one of: {}.", ACTIONS.join(", ")),
            ))
        }
    };
    for k in need {
        if p[*k].is_null() {
            return Err(ApiError::bad_request(
                "missing_params",
                &format!("The `{action}` action needs `params.{k}`."),
                &format!("Send all of: {}.", need.join(", ")),
            ));
        }
    }
    if let Some(id) = p["account_id"].as_str() {
        skyport_functions::api::check_id(id, "account")?;
    }
    if let Some(id) = p["subscription_id"].as_str() {
        skyport_functions::api::check_scope(id)?;
    }
    Ok(())
}

/// What a hook's message may change: a new server's `name`, a record's
/// `values`. Everything else is fixed when the hook is made.
fn merged(action: &str, params: &Value, message: &Value) -> Value {
    let mut p = params.clone();
    let open: &[&str] = match action {
        "create_server" => &["name"],
        "set_dns_record" => &["values"],
        _ => &[],
    };
    for k in open {
        if !message[*k].is_null() {
            p[*k] = message[*k].clone();
        }
    }
    p
}

/// Percent-encodes one path segment.
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs the action for `org`: the status and answer of the API call it made.
async fn act(
    org: &str,
    action: &str,
    p: &Value,
    message_id: &str,
) -> Result<(u16, Value), ApiError> {
    match action {
        "create_server" => {
            let body = json!({
                "account_id": p["account_id"], "subscription_id": p["subscription_id"], "region": p["region"],
                "size": p["size"], "name": p["name"], "ssh_public_key": p["ssh_public_key"],
                "admin_username": p["admin_username"], "cloud_init": p["cloud_init"],
            });
            internal::act_for(
                org,
                "servers",
                Method::Post,
                "/api/v1/servers",
                &[("idempotency-key", message_id)],
                Some(&body),
            )
            .await
        }
        "set_dns_record" => {
            let path = format!(
                "/api/v1/dns/domains/{}/records/{}/{}",
                seg(p["domain"].as_str().unwrap_or_default()),
                seg(p["type"].as_str().unwrap_or_default()),
                seg(p["name"].as_str().unwrap_or_default())
            );
            let body = json!({ "ttl": p["ttl"].as_i64().unwrap_or(300), "values": p["values"] });
            internal::act_for(
                org,
                "dns",
                Method::Put,
                &path,
                &[("idempotency-key", message_id)],
                Some(&body),
            )
            .await
        }
        _ => {
            let path = format!(
                "/api/v1/accounts/{}/refresh",
                seg(p["account_id"].as_str().unwrap_or_default())
            );
            internal::act_for(org, "accounts", Method::Post, &path, &[], None).await
        }
    }
}

/// `POST /hooks/{id}`: the status and answer for the sender.
pub async fn receive(db: &Connection, id: &str, req: &Request) -> Result<(u16, Value), ApiError> {
    let r = db.execute(
        "SELECT org_id, action, params, secret, disabled_at FROM hooks WHERE id = ?",
        &[text(id)],
    )?;
    let (Some(org), Some(action), Some(params), Some(sealed)) = (
        get_text(&r, 0, "org_id"),
        get_text(&r, 0, "action"),
        get_text(&r, 0, "params"),
        get_text(&r, 0, "secret"),
    ) else {
        return Err(ApiError::not_found("hook"));
    };
    if get_int(&r, 0, "disabled_at").is_some() {
        return Err(ApiError::not_found("hook"));
    }
    let header = |k: &str| {
        req.header(k)
            .and_then(|h| h.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (msg_id, ts, sig) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let body = String::from_utf8_lossy(req.body()).to_string();
    let refuse = |status: u16, code: &str, why: &str| -> Result<(u16, Value), ApiError> {
        events::emit(
            db,
            &org,
            "hook.refused",
            ("hook", id),
            json!({ "hook_id": id, "message_id": msg_id.chars().take(100).collect::<String>(), "error": { "code": code, "message": why } }),
        )?;
        Err(ApiError::new(status, code, &format!("The hook message was refused: {why}."), "Sign it per Standard Webhooks with the hook's secret, with a current timestamp and a new webhook-id."))
    };
    if msg_id.is_empty() || msg_id.len() > 200 || ts.is_empty() || sig.is_empty() {
        return refuse(
            401,
            "signature_missing",
            "it lacks webhook-id, webhook-timestamp or webhook-signature",
        );
    }
    let secret = String::from_utf8(Keys::load()?.open(&sealed, id)?)
        .map_err(|_| ApiError::internal("a hook secret is damaged"))?;
    if let Err(why) = events::verify(&secret, &msg_id, &ts, &sig, &body, TOLERANCE) {
        let code = if why.contains("timestamp") {
            "stale_timestamp"
        } else {
            "bad_signature"
        };
        return refuse(401, code, why);
    }
    // Each message once: the first insert wins; a replay does nothing. A
    // message whose action never finished (the instance died on it) may be
    // sent again after a minute: its action is idempotent under its id.
    let now = skyport_functions::now();
    db.execute(
        "INSERT INTO hook_messages (hook_id, message_id, received_at) VALUES (?, ?, ?)
         ON CONFLICT (hook_id, message_id) DO UPDATE SET received_at = excluded.received_at
         WHERE hook_messages.status IS NULL AND hook_messages.received_at < ?",
        &[text(id), text(&msg_id), int(now), int(now - 60)],
    )?;
    if db::changes(db)? != 1 {
        return refuse(409, "replayed", "this webhook-id was already received");
    }
    let message: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let params: Value = serde_json::from_str(&params).unwrap_or(Value::Null);
    let p = merged(&action, &params, &message);
    let (status, answer) = match act(&org, &action, &p, &msg_id).await {
        Ok(x) => x,
        Err(e) => (e.status, json!({ "error": e.to_json() })),
    };
    if status >= 500 {
        // The action could not be done now (busy, unreachable): the sender's
        // retry of this message may run it, rather than be refused as a replay.
        db.execute(
            "DELETE FROM hook_messages WHERE hook_id = ? AND message_id = ?",
            &[text(id), text(&msg_id)],
        )?;
    } else {
        db.execute(
            "UPDATE hook_messages SET status = ?, outcome = ? WHERE hook_id = ? AND message_id = ?",
            &[
                int(status.into()),
                text(&answer.to_string()),
                text(id),
                text(&msg_id),
            ],
        )?;
    }
    events::emit(
        db,
        &org,
        "hook.received",
        ("hook", id),
        json!({ "hook_id": id, "message_id": msg_id, "action": action, "status": status, "answer": answer }),
    )?;
    Ok((
        status,
        json!({ "hook_id": id, "message_id": msg_id, "action": action, "status": status, "result": answer }),
    ))
}

/// A hook as its organization sees it (never the secret), with its URL.
pub fn json_of(db: &Connection, org: &str, id: &str) -> Result<Value, ApiError> {
    let r = db.execute(
        "SELECT id, action, params, description, created_at, disabled_at FROM hooks WHERE id = ? AND org_id = ?",
        &[text(id), text(org)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("hook"));
    }
    let base = skyport_functions::config::public_url().unwrap_or_default();
    let recent = db.execute(
        "SELECT message_id, received_at, status FROM hook_messages WHERE hook_id = ? ORDER BY received_at DESC LIMIT 10",
        &[text(id)],
    )?;
    Ok(json!({
        "id": id, "action": get_text(&r, 0, "action"),
        "params": get_text(&r, 0, "params").and_then(|p| serde_json::from_str::<Value>(&p).ok()),
        "description": get_text(&r, 0, "description"), "created_at": get_int(&r, 0, "created_at"),
        "enabled": get_int(&r, 0, "disabled_at").is_none(),
        "url": format!("{}/hooks/{id}", base.trim_end_matches('/')),
        "recent_messages": (0..recent.rows.len()).map(|i| json!({
            "message_id": get_text(&recent, i, "message_id"), "received_at": get_int(&recent, i, "received_at"), "status": get_int(&recent, i, "status"),
        })).collect::<Vec<_>>(),
    }))
}

/// Refuses a hook naming an account or DNS domain that is not the
/// organization's: run, its action would only ever answer 404, so it is
/// answered now, by the same lookups the action makes. (Either may go
/// later; the run then says so.)
fn check_owned(db: &Connection, org: &str, p: &Value) -> Result<(), ApiError> {
    if let Some(id) = p["account_id"].as_str() {
        skyport_functions::accounts::load(db, org, id)?;
    }
    if let Some(domain) = p["domain"].as_str() {
        skyport_functions::domains::chosen(db, org, domain)?;
    }
    Ok(())
}

/// `POST /api/v1/hooks`: a new hook, with its secret (shown once).
pub fn create(db: &Connection, org: &str, b: &Value) -> Result<Value, ApiError> {
    let action = req_str(b, "action", 40)?;
    check_params(action, &b["params"])?;
    check_owned(db, org, &b["params"])?;
    let description = skyport_functions::api::opt_str(b, "description", 200)?;
    let id = skyport_functions::new_id();
    let secret = events::new_secret();
    let sealed = Keys::load()?.seal(secret.as_bytes(), &id);
    db.execute(
        "INSERT INTO hooks (id, org_id, action, params, description, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        &[text(&id), text(org), text(action), text(&b["params"].to_string()), opt_text(description), text(&sealed), int(skyport_functions::now())],
    )?;
    let mut v = json_of(db, org, &id)?;
    v["secret"] = json!(secret);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_checked_and_only_open_fields_change() {
        let id = "0b9d6c2e-1f3a-4c5b-8d7e-9a0b1c2d3e4f";
        assert!(check_params("recheck_account", &json!({ "account_id": id })).is_ok());
        assert!(check_params("recheck_account", &json!({})).is_err());
        assert!(check_params("launch_missiles", &json!({})).is_err());
        assert!(check_params("recheck_account", &json!({ "account_id": "../x" })).is_err());
        let fixed =
            json!({ "domain": "example.com", "type": "A", "name": "www", "values": ["1.1.1.1"] });
        let m = merged(
            "set_dns_record",
            &fixed,
            &json!({ "values": ["2.2.2.2"], "domain": "evil.com" }),
        );
        assert_eq!(m["values"][0], "2.2.2.2");
        assert_eq!(m["domain"], "example.com", "fixed parameters stay fixed");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
