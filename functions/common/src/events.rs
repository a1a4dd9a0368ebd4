//! What happened, for people and for the platform: every state change that
//! matters is an event — the activity feed (`GET /api/v1/events`) reads them —
//! and, in the same transaction, one delivery per webhook endpoint of the
//! organization that subscribed to its kind (an outbox: a change is never
//! committed without its deliveries, nor delivered without its change).
//! Deliveries are signed per the Standard Webhooks specification.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use spin_sdk::sqlite::Connection;

use crate::api::ApiError;
use crate::db::{get_int, get_text, int, opt_text, text};

/// The kinds of event a webhook endpoint can subscribe to.
pub const KINDS: &[&str] = &[
    "account.connected",
    "account.expired",
    "account.deleted",
    "server.ready",
    "server.failed",
    "server.deleted",
    "server.missing",
    "server.stopped",
    "server.started",
    "server.restarted",
    "server.resized",
    "server.action_failed",
    "storage.ready",
    "storage.access_denied",
    "storage.detached",
    "storage.check_failed",
    "dns.record_changed",
];

/// Records an event for `org` about `object` (its type and id) and queues
/// one delivery per subscribed endpoint. Call it inside the transaction that
/// makes the change, so both are committed or neither.
pub fn emit(
    db: &Connection,
    org: &str,
    kind: &str,
    object: (&str, &str),
    data: Value,
) -> Result<(), ApiError> {
    let now = crate::now();
    let uid = format!("evt_{}", crate::random_token(12).replace(['-', '_'], "x"));
    db.execute(
        "INSERT INTO events (org_id, kind, detail, at, uid, object_type, object_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            text(org), text(kind), text(&summary(kind, &data)), int(now), text(&uid),
            text(object.0), text(object.1), text(&data.to_string()),
        ],
    )?;
    // Only the kinds endpoints subscribe to are delivered; the rest (a hook
    // refused, say) are for the feed, so nobody can make deliveries by
    // knocking on a hook.
    if !KINDS.contains(&kind) {
        return Ok(());
    }
    db.execute(
        "INSERT INTO deliveries (id, org_id, webhook_id, event_uid, status, attempts, next_at, created_at)
         SELECT ? || '_' || w.id, w.org_id, w.id, ?, 'pending', 0, ?, ? FROM webhooks w
         WHERE w.org_id = ? AND w.disabled_at IS NULL
           AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = ? OR value = '*')",
        &[text(&uid), text(&uid), int(now), int(now), text(org), text(kind)],
    )?;
    Ok(())
}

/// A one-line description for the activity feed.
fn summary(kind: &str, data: &Value) -> String {
    let name = data["name"]
        .as_str()
        .or(data["storage_account"].as_str())
        .or(data["fqdn"].as_str())
        .unwrap_or("");
    let why = data["error"]["message"].as_str().unwrap_or("");
    match (name.is_empty(), why.is_empty()) {
        (true, true) => kind.to_string(),
        (false, true) => format!("{kind}: {name}"),
        (true, false) => format!("{kind}: {why}"),
        (false, false) => format!("{kind}: {name}: {why}"),
    }
}

/// The body of a delivery: `{type, timestamp, data}`, as Standard Webhooks
/// suggests.
pub fn payload(db: &Connection, uid: &str) -> Result<Option<(String, Value)>, ApiError> {
    let r = db.execute(
        "SELECT kind, at, data, object_type, object_id FROM events WHERE uid = ?",
        &[text(uid)],
    )?;
    let Some(kind) = get_text(&r, 0, "kind") else {
        return Ok(None);
    };
    let at = get_int(&r, 0, "at").unwrap_or(0);
    let data: Value = get_text(&r, 0, "data")
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or(Value::Null);
    let timestamp = rfc3339(at);
    Ok(Some((
        kind.clone(),
        json!({ "type": kind, "timestamp": timestamp, "data": data,
                "object": { "type": get_text(&r, 0, "object_type"), "id": get_text(&r, 0, "object_id") } }),
    )))
}

/// RFC 3339 in UTC for seconds since the epoch.
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A new signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    format!("whsec_{}", B64.encode(crate::random_bytes(24)))
}

/// The `webhook-signature` value for one secret: `v1,<base64 HMAC-SHA256>`
/// over `<id>.<timestamp>.<body>`, keyed with the secret's decoded bytes.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// Verifies Standard Webhooks headers against `secret`: the timestamp within
/// `tolerance` seconds of now, and one of the space-separated signatures
/// matching. `Err` says what is wrong.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &str,
    tolerance: i64,
) -> Result<(), &'static str> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "the timestamp is not a number")?;
    if (crate::now() - ts).abs() > tolerance {
        return Err("the timestamp is too old or in the future");
    }
    let expected = signature(secret, id, ts, body).ok_or("the secret is not valid")?;
    if signatures
        .split(' ')
        .any(|s| crate::orgs::constant_time_eq(s.as_bytes(), expected.as_bytes()))
    {
        Ok(())
    } else {
        Err("no signature matches")
    }
}

/// The organization's events, newest first, after the cursor `before` (an
/// event id), filtered by kind and object id.
pub fn list(
    db: &Connection,
    org: &str,
    kind: Option<&str>,
    object: Option<&str>,
    before: Option<i64>,
    limit: usize,
) -> Result<(Vec<Value>, Option<i64>), ApiError> {
    let r = db.execute(
        "SELECT id, uid, kind, detail, at, object_type, object_id, data FROM events
         WHERE org_id = ? AND (? IS NULL OR kind = ? OR substr(kind, 1, length(?) + 1) = ? || '.') AND (? IS NULL OR object_id = ?) AND (? IS NULL OR id < ?)
         ORDER BY id DESC LIMIT ?",
        &[
            text(org), opt_text(kind), opt_text(kind), opt_text(kind), opt_text(kind), opt_text(object), opt_text(object),
            before.map(int).unwrap_or(spin_sdk::sqlite::Value::Null), before.map(int).unwrap_or(spin_sdk::sqlite::Value::Null),
            int(limit as i64 + 1),
        ],
    )?;
    let mut out: Vec<(i64, Value)> = (0..r.rows.len())
        .map(|i| {
            let data = get_text(&r, i, "data").and_then(|d| serde_json::from_str::<Value>(&d).ok());
            (
                get_int(&r, i, "id").unwrap_or(0),
                json!({
                    "id": get_text(&r, i, "uid").unwrap_or_else(|| format!("evt_legacy_{}", get_int(&r, i, "id").unwrap_or(0))),
                    "kind": get_text(&r, i, "kind"), "summary": get_text(&r, i, "detail"),
                    "at": get_int(&r, i, "at"), "timestamp": rfc3339(get_int(&r, i, "at").unwrap_or(0)),
                    "object": { "type": get_text(&r, i, "object_type"), "id": get_text(&r, i, "object_id") },
                    "data": data,
                }),
            )
        })
        .collect();
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|(id, _)| *id)
    } else {
        None
    };
    Ok((out.into_iter().map(|(_, v)| v).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The specification's published example.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        let sig = signature(secret, id, 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verification_checks_time_and_signature() {
        let secret = new_secret();
        let now = crate::now();
        let sig = signature(&secret, "msg_1", now, "{}").unwrap();
        assert!(verify(&secret, "msg_1", &now.to_string(), &sig, "{}", 300).is_ok());
        let both = format!("v1,AAAA {sig}");
        assert!(verify(&secret, "msg_1", &now.to_string(), &both, "{}", 300).is_ok());
        assert_eq!(
            verify(&secret, "msg_1", &(now - 301).to_string(), &sig, "{}", 300),
            Err("the timestamp is too old or in the future")
        );
        assert_eq!(
            verify(&secret, "msg_1", &now.to_string(), &sig, "{ }", 300),
            Err("no signature matches")
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1614265330), "2021-02-25T15:02:10Z");
        assert_eq!(rfc3339(1795700000), "2026-11-26T13:33:20Z");
    }
}
