//! The events function: the activity feed (`/api/v1/events`), the
//! organization's webhook endpoints (`/api/v1/webhooks`: register, list,
//! change, delete, rotate the secret, send a test, the delivery log and
//! redelivery), and — as its share of each jobs run — delivery of the outbox:
//! signed per Standard Webhooks, retried with backoff for about a day, then
//! dead-lettered until redelivered. Incoming hooks (`/api/v1/hooks`,
//! `POST /hooks/{id}`) run one action per signed message (`hooks`).

mod deliver;
mod hooks;

use serde_json::{json, Value};
use skyport_functions::api::{
    check_id, cursor, json_body, json_response, opt_str, page, page_response, query, req_str,
    segments, ApiError, Route,
};
use skyport_functions::crypto::Keys;
use skyport_functions::db::{self, get_int, get_text, int, opt_text, text};
use skyport_functions::{events, internal, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::sqlite::{Connection, QueryResult};

/// An event kind (`server.ready`) or family (`server`) to filter by: lower
/// case words with `_`, one dot at most.
fn check_kind_filter(kind: &str) -> Result<(), ApiError> {
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let ok = kind.len() <= 64
        && match kind.split_once('.') {
            Some((family, name)) => word(family) && word(name),
            None => word(kind),
        };
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_kind",
            "`kind` is not an event kind (`server.ready`) or family (`server`).",
            "Send a kind as the events list shows it, or a family such as `server`.",
        ))
    }
}

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

/// Checks a destination: an absolute http(s) URL with a host and no
/// credentials. (Which addresses it may reach is the host's
/// `block_networks`, checked when it is called.)
fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = |why: &str| {
        ApiError::bad_request(
            "invalid_url",
            &format!("The webhook URL {why}."),
            "Send an absolute https URL such as `https://platform.example.com/hooks/skyport`.",
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with https:// (or http://)"))?;
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("is too long or contains spaces"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("must not carry credentials"));
    }
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority);
    if host
        .to_ascii_lowercase()
        .trim_end_matches('.')
        .ends_with(".spin.internal")
    {
        return Err(bad("names one of the app's own components"));
    }
    Ok(())
}

/// Checks a list of event kinds (`*` for all).
fn check_kinds(v: &Value) -> Result<Vec<String>, ApiError> {
    let list = v.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_events",
            "`events` must be a non-empty list of event types.",
            &format!(
                "Choose from: {} (or \"*\" for all).",
                events::KINDS.join(", ")
            ),
        )
    })?;
    let mut out = Vec::new();
    for k in list {
        let k = k.as_str().unwrap_or_default();
        if k != "*" && !events::KINDS.contains(&k) {
            return Err(ApiError::bad_request(
                "unknown_event_type",
                &format!(
                    "`{}` is not an event type.",
                    k.chars().take(60).collect::<String>()
                ),
                &format!(
                    "Choose from: {} (or \"*\" for all).",
                    events::KINDS.join(", ")
                ),
            ));
        }
        out.push(k.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn webhook_json(db: &Connection, org: &str, id: &str) -> Result<Value, ApiError> {
    let r = db.execute(
        &format!("SELECT {WEBHOOK} FROM webhooks WHERE id = ? AND org_id = ?"),
        &[text(id), text(org)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("webhook"));
    }
    Ok(webhook_row(&r, 0))
}

/// The columns a webhook is shown from (its secret is not one).
const WEBHOOK: &str = "id, url, events, description, created_at, updated_at, disabled_at";

/// Row `i` of a query of [`WEBHOOK`] as clients see it.
fn webhook_row(r: &QueryResult, i: usize) -> Value {
    json!({
        "id": get_text(r, i, "id"), "url": get_text(r, i, "url"),
        "events": get_text(r, i, "events").and_then(|e| serde_json::from_str::<Value>(&e).ok()),
        "description": get_text(r, i, "description"), "created_at": get_int(r, i, "created_at"),
        "updated_at": get_int(r, i, "updated_at"), "enabled": get_int(r, i, "disabled_at").is_none(),
    })
}

/// What this function answers (the fallback tells 405 from 404 by it).
const ROUTES: &[Route] = &[
    ("GET", "api/v1/events"),
    ("GET", "api/v1/webhooks"),
    ("POST", "api/v1/webhooks"),
    ("GET", "api/v1/webhooks/*"),
    ("PATCH", "api/v1/webhooks/*"),
    ("DELETE", "api/v1/webhooks/*"),
    ("POST", "api/v1/webhooks/*/rotate-secret"),
    ("POST", "api/v1/webhooks/*/test"),
    ("GET", "api/v1/webhooks/*/deliveries"),
    ("POST", "api/v1/webhooks/*/deliveries/*/redeliver"),
    ("GET", "api/v1/hooks"),
    ("POST", "api/v1/hooks"),
    ("GET", "api/v1/hooks/*"),
    ("DELETE", "api/v1/hooks/*"),
    ("POST", "hooks/*"),
];

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let db = db::open()?;
    if internal::is_jobs_call(&req, "events")? {
        // The jobs component's turn: deliver what is due.
        return Ok(internal::answer(&deliver::due(&db).await?));
    }
    if let (Method::Post, ["hooks", id]) = (req.method().clone(), segments.as_slice()) {
        // A signed message from outside: no API key, the signature is the proof.
        check_id(id, "hook")?;
        let (status, v) = hooks::receive(&db, id, &req).await?;
        return Ok(json_response(if status < 300 { 202 } else { status }, &v));
    }
    let org = orgs::authenticate(&db, &req)?;
    let now = skyport_functions::now();
    match (req.method().clone(), segments.as_slice()) {
        (Method::Get, ["api", "v1", "events"]) => {
            let q = query(&req);
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let page = page(&req)?;
            let kind = get("kind");
            if let Some(k) = &kind {
                check_kind_filter(k)?;
            }
            let (list, next) = events::list(
                &db,
                &org,
                kind.as_deref(),
                get("object").as_deref(),
                page.after.as_ref().map(|(id, _)| *id),
                page.limit,
            )?;
            Ok(page_response(
                "events",
                &list,
                next.map(|id| cursor(id, "e")),
            ))
        }
        (Method::Post, ["api", "v1", "webhooks"]) => {
            let b = json_body(req.body())?;
            let url = req_str(&b, "url", 2048)?.to_string();
            check_url(&url)?;
            let kinds = check_kinds(&b["events"])?;
            let description = opt_str(&b, "description", 200)?;
            let id = skyport_functions::new_id();
            let secret = events::new_secret();
            let sealed = Keys::load()?.seal(secret.as_bytes(), &id);
            db.execute(
                "INSERT INTO webhooks (id, org_id, url, events, description, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                &[text(&id), text(&org), text(&url), text(&json!(kinds).to_string()), opt_text(description), text(&sealed), int(now), int(now)],
            )?;
            let mut v = webhook_json(&db, &org, &id)?;
            // Shown once: only its seal is kept.
            v["secret"] = json!(secret);
            Ok(json_response(201, &v))
        }
        (Method::Get, ["api", "v1", "webhooks"]) => {
            let (r, next) = db::page_rows(
                &db,
                "webhooks",
                WEBHOOK,
                "created_at",
                "id",
                "",
                &org,
                &page(&req)?,
            )?;
            let list: Vec<Value> = (0..r.rows.len()).map(|i| webhook_row(&r, i)).collect();
            Ok(page_response("webhooks", &list, next))
        }
        (Method::Get, ["api", "v1", "webhooks", id]) => {
            check_id(id, "webhook")?;
            Ok(json_response(200, &webhook_json(&db, &org, id)?))
        }
        (Method::Patch, ["api", "v1", "webhooks", id]) => {
            check_id(id, "webhook")?;
            webhook_json(&db, &org, id)?;
            let b = json_body(req.body())?;
            // Every field is checked before anything is written, and all is
            // written at once: a refused field changes nothing.
            let url = opt_str(&b, "url", 2048)?;
            if let Some(url) = url {
                check_url(url)?;
            }
            let kinds = match b["events"].is_null() {
                true => None,
                false => Some(json!(check_kinds(&b["events"])?).to_string()),
            };
            let description = opt_str(&b, "description", 200)?;
            let enabled = match &b["enabled"] {
                Value::Bool(e) => Some(*e),
                Value::Null => None,
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_field",
                        "`enabled` must be true or false.",
                        "Send {\"enabled\": false} to pause deliveries.",
                    )
                    .with("field", json!("enabled")))
                }
            };
            db::transaction(&db, || {
                db.execute(
                    "UPDATE webhooks SET url = COALESCE(?, url), events = COALESCE(?, events),
                       description = COALESCE(?, description), updated_at = ? WHERE id = ?",
                    &[
                        opt_text(url),
                        opt_text(kinds.as_deref()),
                        opt_text(description),
                        int(now),
                        text(id),
                    ],
                )?;
                match enabled {
                    Some(true) => db.execute(
                        "UPDATE webhooks SET disabled_at = NULL WHERE id = ?",
                        &[text(id)],
                    )?,
                    Some(false) => db.execute(
                        "UPDATE webhooks SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
                        &[int(now), text(id)],
                    )?,
                    None => return Ok(()),
                };
                Ok(())
            })?;
            Ok(json_response(200, &webhook_json(&db, &org, id)?))
        }
        (Method::Delete, ["api", "v1", "webhooks", id]) => {
            check_id(id, "webhook")?;
            webhook_json(&db, &org, id)?;
            db::transaction(&db, || {
                db.execute("DELETE FROM deliveries WHERE webhook_id = ?", &[text(id)])?;
                db.execute(
                    "DELETE FROM webhooks WHERE id = ? AND org_id = ?",
                    &[text(id), text(&org)],
                )?;
                Ok(())
            })?;
            Ok(json_response(200, &json!({ "deleted": id })))
        }
        (Method::Post, ["api", "v1", "webhooks", id, "rotate-secret"]) => {
            check_id(id, "webhook")?;
            webhook_json(&db, &org, id)?;
            let secret = events::new_secret();
            let keys = Keys::load()?;
            // The old secret keeps signing alongside the new one for a day,
            // so a receiver can switch without missing a delivery.
            db.execute(
                "UPDATE webhooks SET previous_secret = secret, previous_until = ?, secret = ?, updated_at = ? WHERE id = ?",
                &[int(now + 24 * 3600), text(&keys.seal(secret.as_bytes(), id)), int(now), text(id)],
            )?;
            let mut v = webhook_json(&db, &org, id)?;
            v["secret"] = json!(secret);
            v["previous_secret_valid_until"] = json!(now + 24 * 3600);
            Ok(json_response(200, &v))
        }
        (Method::Post, ["api", "v1", "webhooks", id, "test"]) => {
            check_id(id, "webhook")?;
            webhook_json(&db, &org, id)?;
            let delivery = deliver::test_event(&db, &org, id)?;
            deliver::attempt(&db, &delivery).await?;
            Ok(json_response(200, &deliver::delivery_json(&db, &delivery)?))
        }
        (Method::Get, ["api", "v1", "webhooks", id, "deliveries"]) => {
            check_id(id, "webhook")?;
            webhook_json(&db, &org, id)?;
            let page = page(&req)?;
            let (list, next) = deliver::log(&db, id, &page)?;
            Ok(page_response("deliveries", &list, next))
        }
        (Method::Post, ["api", "v1", "webhooks", id, "deliveries", delivery, "redeliver"]) => {
            check_id(id, "webhook")?;
            webhook_json(&db, &org, id)?;
            if delivery.len() > 200 {
                return Err(ApiError::not_found("delivery"));
            }
            db.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = ?, lease = NULL WHERE id = ? AND webhook_id = ? AND status IN ('dead', 'delivered')",
                &[int(now), text(delivery), text(id)],
            )?;
            if db::changes(&db)? != 1 {
                let r = db.execute(
                    "SELECT status FROM deliveries WHERE id = ? AND webhook_id = ?",
                    &[text(delivery), text(id)],
                )?;
                return match get_text(&r, 0, "status") {
                    None => Err(ApiError::not_found("delivery")),
                    Some(_) => Err(ApiError::new(
                        409,
                        "delivery_pending",
                        "This delivery is still being tried.",
                        "Wait until it is delivered or dead-lettered.",
                    )),
                };
            }
            deliver::attempt(&db, delivery).await?;
            Ok(json_response(200, &deliver::delivery_json(&db, delivery)?))
        }
        (Method::Post, ["api", "v1", "hooks"]) => {
            let b = json_body(req.body())?;
            Ok(json_response(201, &hooks::create(&db, &org, &b)?))
        }
        (Method::Get, ["api", "v1", "hooks"]) => {
            let (ids, next) =
                db::page_of_keys(&db, "hooks", "created_at", "id", "", &org, &page(&req)?)?;
            let list = ids
                .iter()
                .map(|i| hooks::json_of(&db, &org, i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(page_response("hooks", &list, next))
        }
        (Method::Get, ["api", "v1", "hooks", id]) => {
            check_id(id, "hook")?;
            Ok(json_response(200, &hooks::json_of(&db, &org, id)?))
        }
        (Method::Delete, ["api", "v1", "hooks", id]) => {
            check_id(id, "hook")?;
            hooks::json_of(&db, &org, id)?;
            db::transaction(&db, || {
                db.execute("DELETE FROM hook_messages WHERE hook_id = ?", &[text(id)])?;
                db.execute(
                    "DELETE FROM hooks WHERE id = ? AND org_id = ?",
                    &[text(id), text(&org)],
                )?;
                Ok(())
            })?;
            Ok(json_response(200, &json!({ "deleted": id })))
        }
        (method, segments) => Err(ApiError::unrouted(
            Some("events and webhooks"),
            ROUTES,
            &method,
            segments,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_filters_are_kinds_or_families() {
        for ok in [
            "server",
            "server.ready",
            "storage.access_denied",
            "state_missing",
        ] {
            assert!(check_kind_filter(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "%",
            "server.%",
            ".",
            "server.",
            "a.b.c",
            "Server",
            "server ready",
        ] {
            assert!(check_kind_filter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_and_kinds_are_checked() {
        assert!(check_url("https://platform.example.com/hooks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("https://user:pw@example.com/").is_err());
        assert!(check_url("https:///path").is_err());
        assert!(check_url("https://exa mple.com").is_err());
        assert!(check_url("http://servers.spin.internal/api/v1/servers").is_err());
        assert!(check_url("http://DNS.spin.internal.:80/").is_err());
        assert_eq!(
            check_kinds(&json!(["server.ready", "server.ready", "*"])).unwrap(),
            vec!["*", "server.ready"]
        );
        assert!(check_kinds(&json!([])).is_err());
        assert!(check_kinds(&json!(["server.exploded"])).is_err());
    }
}
