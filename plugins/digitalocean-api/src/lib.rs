//! DigitalOcean's API v2 as Skyport's DigitalOcean plugins speak it: this
//! file sends a request with the token as bearer, reads DigitalOcean's error
//! body (`{"id","message","request_id"}`) and rate-limit headers into the
//! contract's error cases, follows `links.pages`, and checks every value
//! before it becomes part of a URL; `retry.rs` says which failures are tried
//! again within a step.
//!
//! Plugins map their `skyport:types` bindings to [`types`] (wit-bindgen's
//! `with`), so the errors made here are theirs.

wit_bindgen::generate!({ path: "../../wit", world: "types-only", generate_all });

pub mod retry;

pub use skyport::types::types;

use serde_json::Value;
use spin_sdk::http::{Method, Request, Response};

use types::{Detail, Error, Session, Throttle};

/// A droplet's, key's or action's id: DigitalOcean's are integers, so
/// anything else never reaches a URL.
pub fn numeric_id(what: &str, id: &str) -> Result<u64, Error> {
    id.parse::<u64>().map_err(|_| {
        Error::InvalidInput(detail(
            "invalid_id",
            &format!("`{id}` is not a DigitalOcean {what} id (a number)."),
            Some(what),
        ))
    })
}

/// A region or size slug: lowercase letters, digits and hyphens.
pub fn slug(what: &str, s: &str) -> Result<String, Error> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(Error::InvalidInput(detail(
            "invalid_slug",
            &format!(
                "`{s}` is not a DigitalOcean {what} slug (lowercase letters, digits and hyphens)."
            ),
            Some(what),
        )))
    }
}

/// A domain (a DNS zone's name) as DigitalOcean takes it in a path:
/// lowercase labels of letters, digits and hyphens, not starting or ending
/// with a hyphen, at least two of them, at most 253 characters.
pub fn domain(s: &str) -> Result<String, Error> {
    let name = s.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let ok = name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if ok {
        Ok(name)
    } else {
        Err(Error::InvalidInput(detail(
            "invalid_domain",
            &format!("`{s}` is not a domain name (for example example.com)."),
            Some("zone"),
        )))
    }
}

pub fn detail(code: &str, message: &str, target: Option<&str>) -> Detail {
    Detail {
        code: code.into(),
        message: message.into(),
        target: target.map(Into::into),
    }
}

/// One call to the API at `path` (which starts with `/v2/`), tried again
/// within the step when [`retry::wait`] says so.
pub fn call(
    session: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, Error> {
    let verb = method.to_string();
    calls(session, method, &verb, path, body)
}

/// [`call`] for a POST that may be repeated whatever became of an earlier
/// try (one that makes a short-lived thing found again by its name, such as
/// a temporary Spaces key): a server error or a lost answer is tried again
/// as for a PUT.
pub fn call_repeatable(
    session: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, Error> {
    calls(session, method, "PUT", path, body)
}

/// [`call`], retried by the rules for `verb`.
fn calls(
    session: &Session,
    method: Method,
    verb: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, Error> {
    let mut tried = 1;
    loop {
        let (error, failure) = match try_once(session, method.clone(), path, body.clone()) {
            Ok(v) => return Ok(v),
            Err(failed) => failed,
        };
        match retry::wait(verb, failure, tried) {
            Some(pause) => std::thread::sleep(pause),
            None => return Err(error),
        }
        tried += 1;
    }
}

/// One try: the answer, or the error with what the retry rules need.
fn try_once(
    session: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, (Error, retry::Failure)> {
    let base = session.cloud.management.trim_end_matches('/');
    let mut b = Request::builder();
    b.method(method)
        .uri(format!("{base}{path}"))
        .header("authorization", format!("Bearer {}", session.access_token))
        .header("accept", "application/json");
    if let Some(body) = body {
        b.header("content-type", "application/json")
            .body(body.to_string());
    }
    let r: Response = spin_sdk::http::run(spin_sdk::http::send(b.build())).map_err(|e| {
        let error = Error::Unavailable(detail(
            "unreachable",
            &format!("DigitalOcean could not be reached: {e:?}"),
            None,
        ));
        (error, retry::Failure::Unreachable)
    })?;
    let status = *r.status();
    let text = String::from_utf8_lossy(r.body());
    if (200..300).contains(&status) {
        return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
    }
    let number = |name: &str| {
        r.header(name)
            .and_then(|v| v.as_str())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    // A burst refusal says when to come back (`retry-after`); the hourly
    // window says when it resets (`ratelimit-reset`, an epoch second).
    let now = now();
    let back = number("retry-after")
        .map(|s| now + s)
        .or(number("ratelimit-reset"));
    let asked = back.map(|at| at.saturating_sub(now));
    Err((
        classify(status, &text, back, now),
        retry::Failure::Status(status, asked),
    ))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whom a token acts for, from `GET /v2/account`: its team, or the user
/// alone for an account without one.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// The team's uuid (the account's for one without a team): the scope.
    pub id: String,
    pub name: String,
    /// Who the token belongs to: the account's email, else its uuid.
    pub user: String,
    /// The account's status (`active`, `warning`, `locked`).
    pub status: String,
    /// How many droplets it may have at once.
    pub droplet_limit: u64,
    /// How many reserved IPs it may hold (`floating_ip_limit`, the
    /// field's name from before reserved IPs were renamed).
    pub reserved_ip_limit: u64,
}

/// The team the session's token acts in.
pub fn team(session: &Session) -> Result<Team, Error> {
    Ok(team_of(&call(session, Method::Get, "/v2/account", None)?))
}

fn team_of(v: &Value) -> Team {
    let a = &v["account"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let or = |a: String, b: String| if a.is_empty() { b } else { a };
    let id = or(text(&a["team"]["uuid"]), text(&a["uuid"]));
    Team {
        name: or(text(&a["team"]["name"]), text(&a["email"])),
        user: or(or(text(&a["email"]), text(&a["uuid"])), id.clone()),
        id,
        status: text(&a["status"]),
        droplet_limit: a["droplet_limit"].as_u64().unwrap_or(u64::MAX),
        reserved_ip_limit: a["floating_ip_limit"].as_u64().unwrap_or(u64::MAX),
    }
}

/// The team the session's token acts in, which must be `scope`: a scope
/// the token does not reach is not found.
pub fn team_in(session: &Session, scope: &str) -> Result<Team, Error> {
    let team = team(session)?;
    if team.id == scope {
        Ok(team)
    } else {
        Err(Error::NotFound(detail(
            "not_found",
            &format!(
                "The token does not act in `{scope}`; it acts in its own team, `{}`.",
                team.id
            ),
            Some("subscription"),
        )))
    }
}

/// Reads an error answer into the contract's cases.
pub fn classify(status: u16, body: &str, ratelimit_reset: Option<u64>, now: u64) -> Error {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let id = v["id"].as_str().unwrap_or("error");
    let message = v["message"]
        .as_str()
        .map_or_else(|| format!("HTTP {status}"), str::to_string);
    let d = detail(id, &message, None);
    match status {
        401 => Error::Unauthorized(d),
        403 => Error::Forbidden(d),
        404 => Error::NotFound(d),
        409 => Error::Conflict(d),
        422 if message.to_ascii_lowercase().contains("limit") => Error::QuotaExceeded(d),
        400 | 422 => Error::InvalidInput(d),
        429 => Error::Throttled(Throttle {
            retry_after_seconds: ratelimit_reset
                .map_or(60, |r| r.saturating_sub(now).clamp(1, 3600) as u32),
            detail: d,
        }),
        500..=599 => Error::Unavailable(d),
        _ => Error::Other(d),
    }
}

/// Every page of a list (`links.pages.next` until there is none). At most
/// five pages of 200 are read; a list longer than that is an error rather
/// than a silent cut, since what is missing could be what the caller looks
/// for.
pub fn list(session: &Session, path: &str, key: &str) -> Result<Vec<Value>, Error> {
    const PAGES: usize = 5;
    let mut out = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    for page in 1..=PAGES {
        let v = call(
            session,
            Method::Get,
            &format!("{path}{sep}per_page=200&page={page}"),
            None,
        )?;
        out.extend(v[key].as_array().cloned().unwrap_or_default());
        if v["links"]["pages"]["next"].as_str().is_none() {
            return Ok(out);
        }
    }
    Err(Error::Other(detail(
        "too_many",
        &format!(
            "DigitalOcean lists more than {} {key}; Skyport reads at most that many.",
            PAGES * 200
        ),
        Some(key),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_read_from_digitaloceans_body() {
        let e = classify(
            401,
            r#"{"id":"Unauthorized","message":"Unable to authenticate you","request_id":"x"}"#,
            None,
            0,
        );
        assert!(matches!(e, Error::Unauthorized(d) if d.message == "Unable to authenticate you"));
        let e = classify(
            422,
            r#"{"id":"unprocessable_entity","message":"creating this/these droplet(s) will exceed your droplet limit"}"#,
            None,
            0,
        );
        assert!(matches!(e, Error::QuotaExceeded(_)));
        let e = classify(
            422,
            r#"{"id":"unprocessable_entity","message":"Name is invalid"}"#,
            None,
            0,
        );
        assert!(matches!(e, Error::InvalidInput(_)));
        let e = classify(
            429,
            r#"{"id":"too_many_requests","message":"API Rate limit exceeded."}"#,
            Some(1_030),
            1_000,
        );
        assert!(matches!(e, Error::Throttled(t) if t.retry_after_seconds == 30));
        assert!(
            matches!(classify(503, "not json", None, 0), Error::Unavailable(d) if d.message == "HTTP 503")
        );
    }

    #[test]
    fn the_scope_is_the_team_or_else_the_user() {
        let t = team_of(&serde_json::json!({ "account": {
            "uuid": "u1", "email": "sammy@example.com", "status": "active", "droplet_limit": 25, "floating_ip_limit": 3,
            "team": { "uuid": "t1", "name": "Ocean" } } }));
        assert_eq!(
            t,
            Team {
                id: "t1".into(),
                name: "Ocean".into(),
                user: "sammy@example.com".into(),
                status: "active".into(),
                droplet_limit: 25,
                reserved_ip_limit: 3
            }
        );
        let t = team_of(
            &serde_json::json!({ "account": { "uuid": "u1", "email": "", "status": "locked" } }),
        );
        assert_eq!(
            (t.id.as_str(), t.name.as_str(), t.user.as_str()),
            ("u1", "", "u1")
        );
    }

    #[test]
    fn only_numbers_and_slugs_reach_a_url() {
        assert_eq!(numeric_id("droplet", "3164444").unwrap(), 3164444);
        for bad in ["", "12/../keys", "-1", "1 2"] {
            assert!(numeric_id("droplet", bad).is_err(), "{bad}");
        }
        assert_eq!(slug("region", "nyc3").unwrap(), "nyc3");
        assert_eq!(domain("Sammy-Apps.com.").unwrap(), "sammy-apps.com");
        for bad in [
            "",
            "com",
            "a..b",
            "-a.com",
            "a-.com",
            "a.com/records",
            "a.com?x",
            "a b.com",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(domain(bad).is_err(), "{bad}");
        }
        for bad in ["", "NYC3", "nyc3?x=1", "a/b", &"a".repeat(65)] {
            assert!(slug("region", bad).is_err(), "{bad}");
        }
    }
}
