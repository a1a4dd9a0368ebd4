//! The DigitalOcean API v2 subset a Droplet provider, a DNS provider and a
//! backup-storage provider need, served under `/v2/` beside the Azure
//! endpoints: the account, regions, sizes, the base image, SSH keys,
//! Droplets and their actions, domains and their records, cloud firewalls,
//! reserved IPs and their actions, tags, and Spaces access keys. This file
//! does what every request goes through — the bearer token, the per-token
//! rate-limit headers, DigitalOcean's `{"id","message","request_id"}`
//! errors, scripted faults, page links — and routes to one file per
//! resource.
//!
//! `seed` is its part of the world (teams, tokens, their domains and limits,
//! OAuth applications, the moto server Spaces' objects may live in), `store`
//! its live state, `catalog` the regions, sizes and image; `account`,
//! `keys`, `droplets`, `actions`, `domains` (domains and their records),
//! `firewalls`, `reserved_ips`, `tags` (tags put on and taken off Droplets)
//! and `spaces_keys` (`/v2/spaces/keys`) serve the endpoints; `md5` names
//! SSH keys and makes objects' ETags.
//! `oauth` is DigitalOcean's OAuth authorization server under `/v1/oauth/`
//! (the authorize page, token, refresh and revoke): the access tokens it
//! issues authenticate here as their team's personal access tokens do, and
//! a grant without the `write` scope may only read.
//! `spaces` is the Spaces S3 data plane under `/_spaces/{region}/`, which
//! `sigv4` authenticates with the keys of `spaces_keys`: buckets are always
//! the emulator's, objects its own or, once the world names one, a real
//! moto server's.

pub mod account;
pub mod actions;
pub mod catalog;
pub mod domains;
pub mod droplets;
pub mod firewalls;
pub mod keys;
pub mod md5;
pub mod oauth;
pub mod reserved_ips;
pub mod seed;
pub mod sigv4;
pub mod spaces;
pub mod spaces_keys;
pub mod store;
pub mod tags;

use http::Method;
use serde_json::{json, Value};

use crate::http::{Req, Resp};
use crate::state::{guid, now, Fault, State};
pub use seed::{
    OAuthApp, Seed, Team, SEED_CLIENT_ID, SEED_CLIENT_SECRET, SEED_DOMAIN, SEED_EMAIL, SEED_TEAM,
    SEED_TOKEN,
};

/// Whether a request is for the DigitalOcean API: its first segment is `v2`.
/// No Azure path starts so (ARM paths start with `subscriptions`, `tenants`
/// or `providers`; identity paths with a tenant; blob paths with a storage
/// account name, which is at least three characters).
pub fn is_request(segments: &[String]) -> bool {
    segments.first().is_some_and(|s| s == "v2")
}

/// A DigitalOcean error: `{"id","message","request_id"}`, with the request id
/// also in `x-request-id` as DigitalOcean sends it.
pub fn error(status: u16, id: &str, message: &str) -> Resp {
    let request_id = guid();
    Resp::json(
        status,
        &json!({ "id": id, "message": message, "request_id": request_id }),
    )
    .header("x-request-id", request_id)
}

/// 404, as DigitalOcean words it for any missing resource.
pub fn not_found() -> Resp {
    error(
        404,
        "not_found",
        "The resource you were accessing could not be found.",
    )
}

/// 422, the answer to a request DigitalOcean understood but refuses.
pub fn unprocessable(message: &str) -> Resp {
    error(422, "unprocessable_entity", message)
}

/// The body of a POST or PUT, or the 400 DigitalOcean answers to one it cannot parse.
pub fn body(req: &Req) -> Result<Value, Resp> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(error(400, "bad_request", "error parsing request body")),
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(req: &Req) -> Option<&str> {
    let h = req.header("authorization")?;
    h.strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .map(str::trim)
}

/// The team a bearer token speaks for and whether it may write: a personal
/// access token of a team (these are all read and write here), or the live
/// access token of an OAuth grant (writing when it has the `write` scope).
fn who(state: &State, token: &str) -> Option<(String, bool)> {
    match state.world.digitalocean.team_of(token) {
        Some(team) => Some((team.uuid.clone(), true)),
        None => oauth::bearer(state, token),
    }
}

/// Whether a request changes something: the methods a read-only token may
/// not use.
fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// The 403 a read-only token gets for a write. DigitalOcean's documentation
/// does not quote it; this is the body its API is seen answering (e.g. by
/// doctl users) when a token lacks the scope.
fn forbidden() -> Resp {
    error(
        403,
        "Forbidden",
        "You are not authorized to perform this operation",
    )
}

/// Counts a request against its token's hourly window: `Ok(remaining, reset)`,
/// or `Err(reset)` when the window is full. Each request expires an hour
/// after it was made, so the reset time is when the oldest one expires.
fn spend(state: &mut State, token: &str) -> Result<(u32, i64), i64> {
    let limit = state.world.digitalocean.rate_limit;
    let t = now();
    let window = state
        .digitalocean
        .windows
        .entry(token.to_string())
        .or_default();
    while window.front().is_some_and(|&at| at <= t - 3600) {
        window.pop_front();
    }
    if window.len() >= limit as usize {
        return Err(window.front().copied().unwrap_or(t) + 3600);
    }
    window.push_back(t);
    let oldest = window.front().copied().unwrap_or(t);
    Ok((limit - window.len() as u32, oldest + 3600))
}

/// `ratelimit-*` headers, which DigitalOcean sends on every response.
fn rate_headers(resp: Resp, limit: u32, remaining: u32, reset: i64) -> Resp {
    resp.header("ratelimit-limit", limit.to_string())
        .header("ratelimit-remaining", remaining.to_string())
        .header("ratelimit-reset", reset.to_string())
}

/// The 429 DigitalOcean answers when the limit (or the per-minute burst
/// limit, which alone sends `retry-after`) is reached.
fn throttled(limit: u32, reset: i64, retry_after: u32) -> Resp {
    let resp = error(429, "too_many_requests", "API Rate limit exceeded.")
        .header("retry-after", retry_after.to_string());
    rate_headers(resp, limit, 0, reset)
}

/// A scripted fault's answer in DigitalOcean's words.
fn fault_error(status: u16, retry_after: u32) -> Resp {
    let (id, message) = match status {
        400 => ("bad_request", "error parsing request body"),
        401 => ("Unauthorized", "Unable to authenticate you"),
        403 => (
            "forbidden",
            "You do not have access for the attempted action.",
        ),
        404 => (
            "not_found",
            "The resource you were accessing could not be found.",
        ),
        409 => (
            "conflict",
            "The request conflicts with the current state of the resource.",
        ),
        422 => ("unprocessable_entity", "request payload validation failed"),
        503 => (
            "service_unavailable",
            "The service is temporarily unavailable. Please try again later.",
        ),
        _ => ("server_error", "Unexpected server-side error"),
    };
    let resp = error(status, id, message);
    if crate::sends_retry_after(status) {
        resp.header("retry-after", retry_after.to_string())
    } else {
        resp
    }
}

/// Handles a request under `/v2/`; `fault` is the scripted fault that
/// matched it, if any (latency and dropped connections are the router's).
pub fn handle(state: &mut State, req: &Req, fault: Option<&Fault>) -> Resp {
    let token = bearer(req).unwrap_or_default().to_string();
    let limit = state.world.digitalocean.rate_limit;
    if let Some(status) = fault.and_then(|f| f.status) {
        let retry = fault.and_then(|f| f.retry_after).unwrap_or(1);
        if status == 429 {
            let reset = state
                .digitalocean
                .windows
                .get(&token)
                .and_then(|w| w.front().copied())
                .unwrap_or_else(now)
                + 3600;
            return throttled(limit, reset, retry);
        }
        let resp = fault_error(status, retry);
        return match spend(state, &token) {
            Ok((remaining, reset)) => rate_headers(resp, limit, remaining, reset),
            Err(reset) => throttled(limit, reset, 1),
        };
    }
    let (remaining, reset) = match spend(state, &token) {
        Ok(r) => r,
        Err(reset) => return throttled(limit, reset, 1),
    };
    let resp = match who(state, &token) {
        Some((_, false)) if is_write(&req.method) => forbidden(),
        Some((team, _)) => route(state, &team, req),
        None => error(401, "Unauthorized", "Unable to authenticate you"),
    };
    let resp = if resp.get_header("x-request-id").is_none() {
        resp.header("x-request-id", guid())
    } else {
        resp
    };
    rate_headers(resp, limit, remaining, reset)
}

fn route(state: &mut State, team: &str, req: &Req) -> Resp {
    let segments = req.segments();
    let s: Vec<&str> = segments.iter().skip(1).map(String::as_str).collect();
    let m = &req.method;
    let id = |i: usize| s.get(i).and_then(|v| v.parse::<u64>().ok());
    match s.as_slice() {
        ["account"] if *m == Method::GET => account::get(state, team),
        ["account", "keys"] if *m == Method::GET => keys::list(state, team, req),
        ["account", "keys"] if *m == Method::POST => keys::create(state, team, req),
        ["account", "keys", k] if *m == Method::GET => keys::get(state, team, k),
        ["account", "keys", k] if *m == Method::PUT => keys::update(state, team, k, req),
        ["account", "keys", k] if *m == Method::DELETE => keys::delete(state, team, k),
        ["spaces", "keys"] if *m == Method::GET => spaces_keys::list(state, team, req),
        ["spaces", "keys"] if *m == Method::POST => spaces_keys::create(state, team, req),
        ["spaces", "keys", k] if *m == Method::GET => spaces_keys::get(state, team, k),
        ["spaces", "keys", k] if *m == Method::DELETE => spaces_keys::delete(state, team, k),
        ["regions"] if *m == Method::GET => {
            let all: Vec<Value> = catalog::REGIONS.iter().map(catalog::region_json).collect();
            paged(state, req, "regions", all)
        }
        ["sizes"] if *m == Method::GET => {
            let all: Vec<Value> = catalog::SIZES.iter().map(catalog::size_json).collect();
            paged(state, req, "sizes", all)
        }
        ["images"] if *m == Method::GET => paged(state, req, "images", vec![catalog::image_json()]),
        ["images", image] if *m == Method::GET => {
            if catalog::is_image(&Value::String(image.to_string())) {
                Resp::json(200, &json!({ "image": catalog::image_json() }))
            } else {
                not_found()
            }
        }
        ["droplets"] if *m == Method::GET => droplets::list(state, team, req),
        ["droplets"] if *m == Method::POST => droplets::create(state, team, req),
        ["droplets"] if *m == Method::DELETE => droplets::delete_by_tag(state, team, req),
        ["droplets", _] if *m == Method::GET => match id(1) {
            Some(d) => droplets::get(state, team, d),
            None => not_found(),
        },
        ["droplets", _] if *m == Method::DELETE => match id(1) {
            Some(d) => droplets::delete(state, team, d),
            None => not_found(),
        },
        ["droplets", _, "actions"] if *m == Method::GET => match id(1) {
            Some(d) => actions::list_for(state, team, d, req),
            None => not_found(),
        },
        ["droplets", _, "actions"] if *m == Method::POST => match id(1) {
            Some(d) => actions::post(state, team, d, req),
            None => not_found(),
        },
        ["droplets", _, "actions", _] if *m == Method::GET => match (id(1), id(3)) {
            (Some(d), Some(a)) => actions::get(state, team, Some(d), a),
            _ => not_found(),
        },
        ["droplets", _, "firewalls"] if *m == Method::GET => match id(1) {
            Some(d) => firewalls::list_for_droplet(state, team, d, req),
            None => not_found(),
        },
        ["firewalls"] if *m == Method::GET => firewalls::list(state, team, req),
        ["firewalls"] if *m == Method::POST => firewalls::create(state, team, req),
        ["firewalls", f] if *m == Method::GET => firewalls::get(state, team, f),
        ["firewalls", f] if *m == Method::PUT => firewalls::update(state, team, f, req),
        ["firewalls", f] if *m == Method::DELETE => firewalls::delete(state, team, f),
        ["firewalls", f, part] if *m == Method::POST || *m == Method::DELETE => {
            let change = if *m == Method::POST {
                firewalls::Change::Add
            } else {
                firewalls::Change::Remove
            };
            match *part {
                "droplets" => firewalls::droplets(state, team, f, change, req),
                "tags" => firewalls::tags_of(state, team, f, change, req),
                "rules" => firewalls::rules_of(state, team, f, change, req),
                _ => not_found(),
            }
        }
        ["reserved_ips"] if *m == Method::GET => reserved_ips::list(state, team, req),
        ["reserved_ips"] if *m == Method::POST => reserved_ips::create(state, team, req),
        ["reserved_ips", ip] if *m == Method::GET => reserved_ips::get(state, team, ip),
        ["reserved_ips", ip] if *m == Method::DELETE => reserved_ips::delete(state, team, ip),
        ["reserved_ips", ip, "actions"] if *m == Method::GET => {
            reserved_ips::list_actions(state, team, ip, req)
        }
        ["reserved_ips", ip, "actions"] if *m == Method::POST => {
            reserved_ips::act(state, team, ip, req)
        }
        ["reserved_ips", ip, "actions", _] if *m == Method::GET => match id(3) {
            Some(a) => reserved_ips::get_action(state, team, ip, a),
            None => not_found(),
        },
        ["tags"] if *m == Method::GET => tags::list(state, team, req),
        ["tags"] if *m == Method::POST => tags::create(state, team, req),
        ["tags", t] if *m == Method::GET => tags::get(state, team, t),
        ["tags", t] if *m == Method::DELETE => tags::delete(state, team, t),
        ["tags", t, "resources"] if *m == Method::POST => {
            tags::resources(state, team, t, firewalls::Change::Add, req)
        }
        ["tags", t, "resources"] if *m == Method::DELETE => {
            tags::resources(state, team, t, firewalls::Change::Remove, req)
        }
        ["domains"] if *m == Method::GET => domains::list(state, team, req),
        ["domains"] if *m == Method::POST => domains::create(state, team, req),
        ["domains", d] if *m == Method::GET => domains::get(state, team, d),
        ["domains", d] if *m == Method::DELETE => domains::delete(state, team, d),
        ["domains", d, "records"] if *m == Method::GET => {
            domains::list_records(state, team, d, req)
        }
        ["domains", d, "records"] if *m == Method::POST => {
            domains::create_record(state, team, d, req)
        }
        ["domains", d, "records", _] => match id(3) {
            Some(r) if *m == Method::GET => domains::get_record(state, team, d, r),
            Some(r) if *m == Method::PUT || *m == Method::PATCH => {
                domains::update(state, team, d, r, req)
            }
            Some(r) if *m == Method::DELETE => domains::delete_record(state, team, d, r),
            _ => not_found(),
        },
        ["actions"] if *m == Method::GET => actions::list(state, team, req),
        ["actions", _] if *m == Method::GET => match id(1) {
            Some(a) => actions::get(state, team, None, a),
            None => not_found(),
        },
        _ => not_found(),
    }
}

/// `?page=` and `?per_page=` as DigitalOcean reads them: 20 a page by
/// default, at most 200, pages counted from 1.
pub fn page_of(req: &Req) -> (usize, usize) {
    let num = |name: &str| req.q(name).and_then(|v| v.trim().parse::<i64>().ok());
    let per_page = num("per_page").map_or(20, |n| n.clamp(1, 200) as usize);
    let page = num("page").map_or(1, |n| n.max(1) as usize);
    (page, per_page)
}

/// Cuts `items` to the requested page. Returns the page, the `links` object
/// (`pages` holds `first`/`prev` and `next`/`last` only where they apply, as
/// absolute URLs carrying the request's other parameters) and the total.
pub fn paginate<T>(state: &State, req: &Req, items: Vec<T>) -> (Vec<T>, Value, usize) {
    let (page, per_page) = page_of(req);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let shown: Vec<T> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let url = |p: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("page", &p.to_string());
        for (k, v) in &req.query {
            if k != "page" {
                q.append_pair(k, v);
            }
        }
        format!("{}{}?{}", state.base_url, req.path, q.finish())
    };
    let mut pages = serde_json::Map::new();
    if page > 1 {
        pages.insert("first".into(), Value::String(url(1)));
        pages.insert("prev".into(), Value::String(url(page - 1)));
    }
    if page < last {
        pages.insert("next".into(), Value::String(url(page + 1)));
        pages.insert("last".into(), Value::String(url(last)));
    }
    let links = if pages.is_empty() {
        json!({})
    } else {
        json!({ "pages": pages })
    };
    (shown, links, total)
}

/// A paged collection response: `{<key>: [...], "links": {...}, "meta": {"total": n}}`.
pub fn collection(key: &str, items: Vec<Value>, links: Value, total: usize) -> Resp {
    Resp::json(
        200,
        &json!({ key: items, "links": links, "meta": { "total": total } }),
    )
}

fn paged(state: &State, req: &Req, key: &str, items: Vec<Value>) -> Resp {
    let (shown, links, total) = paginate(state, req, items);
    collection(key, shown, links, total)
}

/// A time as DigitalOcean writes them: ISO 8601 to the second, in UTC.
pub fn timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
