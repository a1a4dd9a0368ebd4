//! Calls between the app's own components: the jobs component asks each
//! function to do its share of background work at `/internal/jobs/<name>`,
//! through the app's own address (`public_url`) — a cron-triggered run has no
//! service chaining on Spin. Each call carries a token derived from the
//! app's `token_key`, so nothing outside the app can make one; without it the
//! endpoints answer as if they did not exist.

use spin_sdk::http::{Request, Response};

use crate::api::{json_response, ApiError};
use crate::crypto::Keys;

/// The header carrying the internal token.
pub const HEADER: &str = "x-skyport-internal";

/// The act-for token of a chained call acting for an organization.
pub const ACT_HEADER: &str = "x-skyport-act-for";

/// With the act-for token: the organization a chained call acts for.
pub const ORG_HEADER: &str = "x-skyport-org";

/// How long one function's share of a jobs run may take.
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

/// Whether `req` is the jobs component's call for `name`'s share of the
/// work — checked: a call without the app's token is refused as if the
/// endpoint did not exist.
pub fn is_jobs_call(req: &Request, name: &str) -> Result<bool, ApiError> {
    if req.path().trim_end_matches('/') != format!("/internal/jobs/{name}") {
        return Ok(false);
    }
    if *req.method() != spin_sdk::http::Method::Post {
        return Err(ApiError::no_such_endpoint(None));
    }
    check(req)?;
    Ok(true)
}

/// Marks a jobs call one function instance passed to another's: that one
/// does its own share and passes it on no further.
const PASSED_ON: &str = "x-skyport-passed-on";

/// Which other providers a function's jobs share is passed on to.
pub enum Share<'a> {
    /// Every provider holding accounts (their accounts and servers are
    /// looked after whatever else they have).
    Every,
    /// Only providers whose accounts have operations of these kinds to
    /// finish, or rows in these tables ([`crate::provider::others_with_work`]).
    Work(&'a [&'a str], &'a [&'static str]),
}

/// The jobs call `req` for `name`'s share, passed on to the instances of
/// `name` that serve the other providers (`<name>-<provider>`, by service
/// chaining: each works on its own provider's rows); their answers by
/// provider. A call that was itself passed on goes no further, so
/// instances never pass it in a circle.
pub async fn other_providers_share(
    db: &spin_sdk::sqlite::Connection,
    req: &Request,
    name: &str,
    share: Share<'_>,
) -> Result<serde_json::Value, ApiError> {
    let mut out = serde_json::Map::new();
    if was_passed_on(req) {
        return Ok(out.into());
    }
    let providers = match share {
        Share::Every => crate::provider::others(db)?,
        Share::Work(kinds, tables) => crate::provider::others_with_work(db, kinds, tables)?,
    };
    for p in providers {
        let answer = match pass_on_marked(req, &format!("{name}-{p}")).await {
            Ok(r) => serde_json::from_slice(r.body())
                .unwrap_or_else(|_| serde_json::json!({ "status": *r.status() })),
            Err(e) => serde_json::json!({ "error": { "code": e.code, "message": e.message } }),
        };
        out.insert(p, answer);
    }
    Ok(out.into())
}

/// Whether `req` was passed on by another provider's instance, which does
/// the rest of the work itself. The mark is the app's internal token, so a
/// caller outside the app cannot set it.
pub fn was_passed_on(req: &Request) -> bool {
    req.header(PASSED_ON)
        .and_then(|h| h.as_str())
        .is_some_and(|t| Keys::load().is_ok_and(|k| k.is_internal(t)))
}

/// Passes `req` on to `component`, marked so that it goes no further.
pub async fn pass_on_marked(req: &Request, component: &str) -> Result<Response, ApiError> {
    let keys = Keys::load()?;
    crate::provider::pass_on_with(req, component, &[(PASSED_ON, keys.internal_token())]).await
}

/// Refuses a request to an internal endpoint that does not carry the app's
/// token — as if the endpoint did not exist.
pub fn check(req: &Request) -> Result<(), ApiError> {
    let keys = Keys::load()?;
    let given = req.header(HEADER).and_then(|h| h.as_str()).unwrap_or("");
    if keys.is_internal(given) {
        Ok(())
    } else {
        Err(ApiError::no_such_endpoint(None))
    }
}

/// Posts to the app's own `path` (under `public_url`) with the internal
/// token; returns the status and the JSON answer.
pub async fn call(path: &str) -> Result<(u16, serde_json::Value), ApiError> {
    let keys = Keys::load()?;
    let base = crate::config::public_url()?;
    let req = Request::builder()
        .method(spin_sdk::http::Method::Post)
        .uri(format!("{}{path}", base.trim_end_matches('/')))
        .header(HEADER, keys.internal_token())
        .build();
    let res: Response = spin_sdk::http::send(req).await.map_err(|e| {
        ApiError::config(
            &format!("the app's own address {base} cannot be reached ({e})"),
            "check that `public_url` is where this app is served, and allow it in the jobs component's allowed_outbound_hosts",
        )
    })?;
    let status = *res.status();
    let body = serde_json::from_slice(res.body()).unwrap_or(serde_json::Value::Null);
    Ok((status, body))
}

/// Calls the app's own API at `path` through service chaining (the
/// component `component`), acting for `org`: how an incoming hook runs its
/// action with exactly the checks a client's request gets.
pub async fn act_for(
    org: &str,
    component: &str,
    method: spin_sdk::http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value), ApiError> {
    let keys = Keys::load()?;
    let mut b = Request::builder();
    b.method(method)
        .uri(format!("http://{component}.spin.internal{path}"))
        .header(ACT_HEADER, keys.act_for_token())
        .header(ORG_HEADER, org)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b.header(*k, *v);
    }
    let req = b
        .body(body.map(|v| v.to_string()).unwrap_or_default())
        .build();
    let res: Response = spin_sdk::http::send(req).await.map_err(|e| {
        ApiError::config(
            &format!("the component `{component}` cannot be reached ({e})"),
            &format!("allow `http://{component}.spin.internal` in the events component's allowed_outbound_hosts"),
        )
    })?;
    let status = *res.status();
    Ok((
        status,
        serde_json::from_slice(res.body()).unwrap_or(serde_json::Value::Null),
    ))
}

/// The answer of an internal endpoint.
pub fn answer(v: &serde_json::Value) -> Response {
    json_response(200, v)
}
