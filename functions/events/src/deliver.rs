//! Delivering the outbox: each delivery is one event for one endpoint,
//! signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`), tried at once and then
//! after each wait of `webhook_retry_schedule` (default 5 s, 5 min, 30 min,
//! 2 h, 5 h, 10 h, 10 h: about a day), and dead-lettered after the last;
//! a redelivery starts it over. A 2xx answer is a delivery.

use serde_json::{json, Value};
use skyport_functions::api::{cursor, ApiError, Page};
use skyport_functions::crypto::Keys;
use skyport_functions::db::{self, get_int, get_text, int, text};
use skyport_functions::events;
use spin_sdk::http::{IncomingResponse, Method, Request};
use spin_sdk::sqlite::Connection;

/// How long one attempt may hold a delivery.
const LEASE: i64 = 60;

/// Waits between attempts, in seconds.
fn schedule() -> Vec<i64> {
    spin_sdk::variables::get("webhook_retry_schedule")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![5, 300, 1800, 7200, 18000, 36000, 36000])
}

/// When to try again after `attempts` failed tries, or `None`: dead.
fn next_try(now: i64, attempts: i64, schedule: &[i64]) -> Option<i64> {
    let i = usize::try_from(attempts - 1).ok()?;
    schedule.get(i).map(|wait| now + wait)
}

/// The jobs share: every due delivery of an enabled endpoint, fairly across
/// organizations, within the run's budget. One delivery's error does not
/// stop the others.
pub async fn due(db: &Connection) -> Result<Value, ApiError> {
    let started = std::time::Instant::now();
    let now = skyport_functions::now();
    let r = db.execute(
        "SELECT id FROM (SELECT d.id, d.next_at, ROW_NUMBER() OVER (PARTITION BY d.org_id ORDER BY d.next_at, d.id) AS turn
           FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
           WHERE d.status = 'pending' AND d.next_at <= ? AND (d.lease IS NULL OR d.lease < ?) AND w.disabled_at IS NULL)
         ORDER BY turn, next_at, id LIMIT 50",
        &[int(now), int(now)],
    )?;
    let ids: Vec<String> = (0..r.rows.len())
        .filter_map(|i| get_text(&r, i, "id"))
        .collect();
    let (mut delivered, mut failed) = (0, 0);
    let mut errors = Vec::new();
    for id in &ids {
        if started.elapsed() > skyport_functions::internal::BUDGET {
            break;
        }
        match attempt(db, id).await {
            Ok(Some(true)) => delivered += 1,
            Ok(Some(false)) => failed += 1,
            Ok(None) => {}
            Err(e) => errors.push(json!({ "delivery": id, "code": e.code })),
        }
    }
    Ok(json!({ "due": ids.len(), "delivered": delivered, "failed": failed, "errors": errors }))
}

/// One attempt at a delivery, if nobody else is making one and its endpoint
/// is enabled: `Some(true)` when the endpoint took it.
///
/// The attempt is counted, and the next one scheduled, before anything is
/// sent: an attempt that never returns (the instance killed by a limit, the
/// host by a crash) still counts, so no delivery is tried forever.
pub async fn attempt(db: &Connection, id: &str) -> Result<Option<bool>, ApiError> {
    let now = skyport_functions::now();
    let r = db.execute(
        "SELECT d.event_uid, d.attempts, w.id AS webhook, w.url, w.secret, w.previous_secret, w.previous_until, w.disabled_at
         FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ? AND d.status = 'pending'",
        &[text(id)],
    )?;
    let (Some(uid), Some(webhook), Some(url), Some(sealed)) = (
        get_text(&r, 0, "event_uid"),
        get_text(&r, 0, "webhook"),
        get_text(&r, 0, "url"),
        get_text(&r, 0, "secret"),
    ) else {
        return Ok(None);
    };
    if get_int(&r, 0, "disabled_at").is_some() {
        return Ok(None);
    }
    let schedule = schedule();
    let attempts = get_int(&r, 0, "attempts").unwrap_or(0) + 1;
    if attempts > schedule.len() as i64 + 1 {
        // Its last attempt never came back: it is dead.
        db.execute(
            "UPDATE deliveries SET status = 'dead', next_at = NULL, lease = NULL, last_error = COALESCE(last_error, 'the last attempt did not finish') WHERE id = ? AND status = 'pending'",
            &[text(id)],
        )?;
        return Ok(Some(false));
    }
    // Should this attempt not return, the delivery is tried again (or found
    // dead) after its next wait; the last one is looked at once more later.
    let next = next_try(now, attempts, &schedule).unwrap_or(now + 2 * LEASE);
    db.execute(
        "UPDATE deliveries SET lease = ?, attempts = ?, next_at = ? WHERE id = ? AND status = 'pending' AND attempts = ? AND (lease IS NULL OR lease < ?)",
        &[int(now + LEASE), int(attempts), int(next), text(id), int(attempts - 1), int(now)],
    )?;
    if db::changes(db)? != 1 {
        return Ok(None);
    }
    let keys = Keys::load()?;
    let open = |s: &str| -> Result<String, ApiError> {
        String::from_utf8(keys.open(s, &webhook)?)
            .map_err(|_| ApiError::internal("a webhook secret is damaged"))
    };
    let mut secrets = vec![open(&sealed)?];
    if let (Some(prev), Some(until)) = (
        get_text(&r, 0, "previous_secret"),
        get_int(&r, 0, "previous_until"),
    ) {
        if until > now {
            secrets.push(open(&prev)?);
        }
    }
    let Some((_, body)) = events::payload(db, &uid)? else {
        return Ok(None);
    };
    let body = body.to_string();
    let signatures: Vec<String> = secrets
        .iter()
        .filter_map(|s| events::signature(s, &uid, now, &body))
        .collect();
    let req = Request::builder()
        .method(Method::Post)
        .uri(url.as_str())
        .header("content-type", "application/json")
        // A declared length, not chunks: the simplest receivers read it.
        .header("content-length", body.len().to_string())
        .header("user-agent", "Skyport-Webhooks/1")
        .header("webhook-id", uid.as_str())
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(body)
        .build();
    // Only the status is read: an endpoint's answer body, however large or
    // slow, is never taken in.
    let outcome: Result<u16, String> = match spin_sdk::http::send::<_, IncomingResponse>(req).await
    {
        Ok(resp) if (200..300).contains(&resp.status()) => Ok(resp.status()),
        Ok(resp) => Err(format!("the endpoint answered {}", resp.status())),
        Err(e) => Err(format!("the endpoint could not be reached: {e}")),
    };
    let done = skyport_functions::now();
    match outcome {
        Ok(status) => {
            db.execute(
                "UPDATE deliveries SET status = 'delivered', last_status = ?, last_error = NULL, delivered_at = ?, next_at = NULL, lease = NULL WHERE id = ?",
                &[int(status.into()), int(done), text(id)],
            )?;
            Ok(Some(true))
        }
        Err(why) => {
            let status = why
                .strip_prefix("the endpoint answered ")
                .and_then(|s| s.parse::<i64>().ok());
            let last = next_try(done, attempts, &schedule).is_none();
            db.execute(
                "UPDATE deliveries SET status = ?, last_status = ?, last_error = ?, next_at = ?, lease = NULL WHERE id = ?",
                &[
                    text(if last { "dead" } else { "pending" }),
                    status.map(int).unwrap_or(spin_sdk::sqlite::Value::Null),
                    text(&why),
                    if last { spin_sdk::sqlite::Value::Null } else { int(next) },
                    text(id),
                ],
            )?;
            Ok(Some(false))
        }
    }
}

/// A `webhook.test` event for one endpoint only; returns its delivery.
pub fn test_event(db: &Connection, org: &str, webhook: &str) -> Result<String, ApiError> {
    let now = skyport_functions::now();
    let uid = format!(
        "evt_test_{}",
        skyport_functions::random_token(9).replace(['-', '_'], "x")
    );
    let delivery = format!("{uid}_{webhook}");
    db::transaction(db, || {
        db.execute(
            "INSERT INTO events (org_id, kind, detail, at, uid, object_type, object_id, data) VALUES (?, 'webhook.test', ?, ?, ?, 'webhook', ?, ?)",
            &[text(org), text("webhook.test: a test delivery"), int(now), text(&uid), text(webhook), text(&json!({ "webhook_id": webhook, "message": "This is a test event from Skyport." }).to_string())],
        )?;
        db.execute(
            "INSERT INTO deliveries (id, org_id, webhook_id, event_uid, status, attempts, next_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
            &[text(&delivery), text(org), text(webhook), text(&uid), int(now), int(now)],
        )?;
        Ok(())
    })?;
    Ok(delivery)
}

pub fn delivery_json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let r = db.execute(
        "SELECT d.id, d.event_uid, e.kind, d.status, d.attempts, d.next_at, d.last_status, d.last_error, d.created_at, d.delivered_at
         FROM deliveries d LEFT JOIN events e ON e.uid = d.event_uid WHERE d.id = ?",
        &[text(id)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("delivery"));
    }
    Ok(row_json(&r, 0))
}

fn row_json(r: &spin_sdk::sqlite::QueryResult, i: usize) -> Value {
    json!({
        "id": get_text(r, i, "id"), "event_id": get_text(r, i, "event_uid"), "event_type": get_text(r, i, "kind"),
        "status": get_text(r, i, "status"), "attempts": get_int(r, i, "attempts"), "next_attempt_at": get_int(r, i, "next_at"),
        "last_status": get_int(r, i, "last_status"), "last_error": get_text(r, i, "last_error"),
        "created_at": get_int(r, i, "created_at"), "delivered_at": get_int(r, i, "delivered_at"),
    })
}

/// An endpoint's deliveries, newest first, a page at a time.
pub fn log(
    db: &Connection,
    webhook: &str,
    page: &Page,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let (cond, mut values) = match &page.after {
        None => (String::new(), Vec::new()),
        Some((at, id)) => (
            " AND (d.created_at < ? OR (d.created_at = ? AND d.id < ?))".to_string(),
            vec![int(*at), int(*at), text(id)],
        ),
    };
    let mut params = vec![text(webhook)];
    params.append(&mut values);
    params.push(int(page.limit as i64 + 1));
    let r = db.execute(
        &format!(
            "SELECT d.id, d.event_uid, e.kind, d.status, d.attempts, d.next_at, d.last_status, d.last_error, d.created_at, d.delivered_at
             FROM deliveries d LEFT JOIN events e ON e.uid = d.event_uid WHERE d.webhook_id = ?{cond}
             ORDER BY d.created_at DESC, d.id DESC LIMIT ?"
        ),
        &params,
    )?;
    let mut rows: Vec<Value> = (0..r.rows.len()).map(|i| row_json(&r, i)).collect();
    let next = if rows.len() > page.limit {
        rows.truncate(page.limit);
        rows.last().map(|v| {
            cursor(
                v["created_at"].as_i64().unwrap_or(0),
                v["id"].as_str().unwrap_or_default(),
            )
        })
    } else {
        None
    };
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let s = [5, 300, 1800];
        assert_eq!(next_try(100, 1, &s), Some(105));
        assert_eq!(next_try(100, 3, &s), Some(1900));
        assert_eq!(next_try(100, 4, &s), None, "dead after the last wait");
        let total: i64 = [5, 300, 1800, 7200, 18000, 36000, 36000].iter().sum();
        assert!(
            (24 * 3600..30 * 3600).contains(&total),
            "about a day: {total}"
        );
    }
}
