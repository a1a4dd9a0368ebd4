//! JSON answers and the one error shape every endpoint uses: a stable
//! machine `code`, a `message` in the guide's words, and a `remedy`.

use serde_json::{json, Value};
use spin_sdk::http::{Request, Response};

/// The largest request body an endpoint reads.
pub const MAX_BODY: usize = 64 * 1024;

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub remedy: String,
    /// Extra fields (e.g. an admin-consent link; a 405's `allow`, which is
    /// also its `Allow` header).
    pub extra: Value,
}

/// One route a function answers: a method and a path whose `*` stands for
/// one segment (`("POST", "api/v1/servers/*/retry")`). A function lists its
/// routes so a request no route takes is told apart: a path it serves with
/// another method (405 with `Allow`) or no path at all (404).
pub type Route = (&'static str, &'static str);

impl ApiError {
    pub fn new(status: u16, code: &str, message: &str, remedy: &str) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            remedy: remedy.into(),
            extra: Value::Null,
        }
    }

    /// The answer for a request none of `routes` took: 405 naming the
    /// methods its path takes, or 404 [`ApiError::no_such_endpoint`].
    pub fn unrouted(
        api: Option<&str>,
        routes: &[Route],
        method: &spin_sdk::http::Method,
        segments: &[&str],
    ) -> ApiError {
        let method = method.to_string();
        let method = method.as_str();
        let fits = |pattern: &str| {
            let parts: Vec<&str> = pattern.split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(segments).all(|(p, s)| *p == "*" || p == s)
        };
        let mut allowed: Vec<&str> = routes
            .iter()
            .filter(|(_, pattern)| fits(pattern))
            .map(|(m, _)| *m)
            .collect();
        allowed.dedup();
        if allowed.is_empty() || allowed.contains(&method) {
            return ApiError::no_such_endpoint(api);
        }
        let list = allowed.join(", ");
        ApiError::new(
            405,
            "method_not_allowed",
            &format!("This endpoint does not take {method}."),
            &format!("Use {list}."),
        )
        .with("allow", json!(list))
    }

    pub fn with(mut self, key: &str, value: Value) -> ApiError {
        if !self.extra.is_object() {
            self.extra = json!({});
        }
        self.extra[key] = value;
        self
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            401,
            "unauthenticated",
            "This request carries no valid API key.",
            "Send `Authorization: Bearer <api key>` with a key of your organization.",
        )
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            404,
            "not_found",
            &format!("No {what} with that id exists in your organization."),
            "Check the id; list what exists with GET on the collection.",
        )
    }

    /// The 404 for a path or method no route takes; `api` names the API
    /// whose README section to read (`None`: the API as a whole).
    pub fn no_such_endpoint(api: Option<&str>) -> ApiError {
        let (message, remedy) = match api {
            Some(api) => (
                format!("There is no such {api} endpoint or method."),
                format!("See the README for the {api} API."),
            ),
            None => (
                "There is no such endpoint.".to_string(),
                "See the README for the API.".to_string(),
            ),
        };
        ApiError::new(404, "no_such_endpoint", &message, &remedy)
    }

    pub fn bad_request(code: &str, message: &str, remedy: &str) -> ApiError {
        ApiError::new(400, code, message, remedy)
    }

    pub fn config(message: &str, remedy: &str) -> ApiError {
        ApiError::new(
            500,
            "misconfigured",
            &format!("Skyport is not configured: {message}."),
            remedy,
        )
    }

    pub fn internal(message: &str) -> ApiError {
        ApiError::new(
            500,
            "internal",
            message,
            "Try again; if it persists, report it with the time of the request.",
        )
    }

    /// The error object answered to clients: code, message, remedy and extras.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "code": self.code, "message": self.message, "remedy": self.remedy });
        if let Some(extra) = self.extra.as_object() {
            for (k, x) in extra {
                v[k] = x.clone();
            }
        }
        v
    }

    /// The error an object from [`ApiError::to_json`] describes, answered
    /// with `status`.
    pub fn from_json(status: u16, v: &Value) -> ApiError {
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let mut e = ApiError::new(status, &field("code"), &field("message"), &field("remedy"));
        if let Some(o) = v.as_object() {
            for (k, x) in o {
                if !["code", "message", "remedy"].contains(&k.as_str()) {
                    e = e.with(k, x.clone());
                }
            }
        }
        e
    }

    pub fn response(&self) -> Response {
        let mut r = json_response(self.status, &json!({ "error": self.to_json() }));
        if let Some(allow) = self.extra["allow"].as_str().filter(|_| self.status == 405) {
            r.set_header("allow", allow);
        }
        r
    }
}

impl From<spin_sdk::sqlite::Error> for ApiError {
    fn from(e: spin_sdk::sqlite::Error) -> Self {
        ApiError::internal(&format!("the database failed: {e:?}"))
    }
}

/// The non-empty segments of a request path: `/api/v1/servers/` gives
/// `["api", "v1", "servers"]`, so routes match with or without a trailing slash.
pub fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

pub fn json_response(status: u16, body: &impl serde::Serialize) -> Response {
    // Straight into bytes: `to_string` goes through `fmt::Write`, a tenth
    // of a list page's CPU; the bytes are the same.
    json_bytes(status, serde_json::to_vec(body).unwrap_or_default())
}

fn json_bytes(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(body)
        .build()
}

/// An answer whose body is JSON text already.
pub fn json_text_response(status: u16, body: String) -> Response {
    json_bytes(status, body.into_bytes())
}

/// `object` written as JSON, with `members` after its own: each value is
/// JSON text copied as it is (stored JSON is not parsed to be written
/// again), and a member whose value is `None` is left out.
pub fn object_with_raw(object: &Value, members: &[(&str, Option<&str>)]) -> String {
    let mut text = serde_json::to_string(object).unwrap_or_default();
    if !text.ends_with('}') {
        return text;
    }
    text.pop();
    let size = members
        .iter()
        .map(|(k, v)| k.len() + v.map_or(0, str::len) + 4)
        .sum::<usize>();
    text.reserve(size + 1);
    for (key, value) in members {
        let Some(value) = value else { continue };
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(&Value::from(*key).to_string());
        text.push(':');
        text.push_str(value);
    }
    text.push('}');
    text
}

/// [`page_response`] for items that are JSON text already (written by the
/// query that read them): joined as they are, not parsed and written again.
pub fn page_response_json(name: &'static str, items: &[String], next: Option<String>) -> Response {
    let size = items.iter().map(|i| i.len() + 1).sum::<usize>();
    let mut body = Vec::with_capacity(size + name.len() + 96);
    body.extend_from_slice(b"{\"");
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(b"\":[");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.as_bytes());
    }
    body.extend_from_slice(b"],\"next\":");
    // A cursor is base64url: it needs no escaping, but is written as JSON all the same.
    let _ = serde_json::to_writer(&mut body, &next);
    body.push(b'}');
    json_bytes(200, body)
}

/// A 200 with one page of a list: `{"<name>": items, "next": cursor}`, the
/// items serialized as they are (typed views write straight into the bytes).
pub fn page_response<T: serde::Serialize>(
    name: &'static str,
    items: &[T],
    next: Option<String>,
) -> Response {
    struct Listing<'a, T> {
        name: &'static str,
        items: &'a [T],
        next: Option<String>,
    }
    impl<T: serde::Serialize> serde::Serialize for Listing<'_, T> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry(self.name, self.items)?;
            m.serialize_entry("next", &self.next)?;
            m.end()
        }
    }
    json_response(200, &Listing { name, items, next })
}

/// Parses a JSON body, refusing oversized or malformed ones with a 4xx.
pub fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.len() > MAX_BODY {
        return Err(ApiError::new(
            413,
            "body_too_large",
            &format!(
                "The request body is {} bytes; the limit is {MAX_BODY}.",
                body.len()
            ),
            "Send a smaller body.",
        ));
    }
    if body.is_empty() {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            &format!("The body is not valid JSON: {e}."),
            "Send a JSON object with the documented fields.",
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "malformed_json",
            "The body is JSON but not an object.",
            "Send a JSON object with the documented fields.",
        ));
    }
    Ok(value)
}

/// One page of a list: `?limit=` (1–100, default 50) and `?cursor=` (the
/// `next` of the page before). Cursors are opaque to clients; inside they are
/// the sort key of the last item, so pages stay stable while items are added.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub limit: usize,
    /// The sort key (time, id) after which this page starts.
    pub after: Option<(i64, String)>,
}

/// Reads `limit` and `cursor` from the query.
pub fn page(req: &Request) -> Result<Page, ApiError> {
    page_of(&query(req))
}

fn page_of(q: &[(String, String)]) -> Result<Page, ApiError> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = match get("limit") {
        None => 50,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_limit",
                    &format!(
                        "`limit` is `{}`; it must be a whole number from 1 to 100.",
                        v.chars().take(20).collect::<String>()
                    ),
                    "Leave it out for 50, or send ?limit=100 at most.",
                ))
            }
        },
    };
    let after = match get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "The cursor is not one this API handed out.",
                "Send the `next` value of the previous page unchanged, or no cursor for the first page.",
            )
        })?),
    };
    Ok(Page { limit, after })
}

/// The cursor that continues after the item with this sort key.
pub fn cursor(at: i64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.as_bytes())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (at, id) = text.split_once(':')?;
    // Room for the longest sort key handed out: a record type and a
    // 253-character name.
    if id.is_empty() || id.len() > 300 {
        return None;
    }
    Some((at.parse().ok()?, id.to_string()))
}

fn wrong_type(field: &str, expected: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_field",
        &format!("`{field}` must be {expected}."),
        &format!("Send `{field}` as {expected}, or leave it out where it is optional."),
    )
    .with("field", json!(field))
}

/// A string field: `None` when absent or null; a 400 naming the field when it
/// has another type, is longer than `max` characters or holds control characters.
pub fn opt_str<'a>(body: &'a Value, field: &str, max: usize) -> Result<Option<&'a str>, ApiError> {
    match &body[field] {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(Some(s.as_str()))
        }
        Value::String(_) => Err(wrong_type(
            field,
            &format!("a string of at most {max} characters without control characters"),
        )),
        _ => Err(wrong_type(field, "a string")),
    }
}

/// A required, non-empty string field (see [`opt_str`]).
pub fn req_str<'a>(body: &'a Value, field: &str, max: usize) -> Result<&'a str, ApiError> {
    opt_str(body, field, max)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_fields",
                &format!("`{field}` is required."),
                &format!("Send `{field}` as a non-empty string."),
            )
            .with("field", json!(field))
        })
}

/// An integer field within `min..=max`; `None` when absent or null.
pub fn opt_int(body: &Value, field: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    match &body[field] {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
            _ => Err(wrong_type(
                field,
                &format!("a whole number from {min} to {max}"),
            )),
        },
        _ => Err(wrong_type(
            field,
            &format!("a whole number from {min} to {max}"),
        )),
    }
}

/// A list of strings (each at most `max` characters); `None` when absent or null.
pub fn opt_str_list(
    body: &Value,
    field: &str,
    max: usize,
) -> Result<Option<Vec<String>>, ApiError> {
    match &body[field] {
        Value::Null => Ok(None),
        Value::Array(items) if items.len() <= 100 => items
            .iter()
            .map(|v| match v {
                Value::String(s)
                    if s.chars().count() <= max && !s.chars().any(char::is_control) =>
                {
                    Ok(s.clone())
                }
                _ => Err(wrong_type(
                    field,
                    &format!("a list of at most 100 strings of at most {max} characters"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(wrong_type(
            field,
            &format!("a list of at most 100 strings of at most {max} characters"),
        )),
    }
}

/// Checks that an id looks like one the API hands out.
pub fn check_id(id: &str, what: &str) -> Result<(), ApiError> {
    let ok = id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "malformed_id",
            &format!("`{id}` is not a valid {what} id."),
            "Use an id returned by the API.",
        ))
    }
}

/// A provider's scope id as the API takes it (`subscription_id`: a
/// subscription's GUID, a team's uuid, a project's name): 1–64
/// ASCII letters, digits, hyphens, underscores and dots, never a path
/// separator, a query or `..`. The plugin checks its own provider's shape
/// again before the id becomes part of a URL.
pub fn check_scope(id: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "malformed_id",
            &format!("`{id}` is not a valid {} id.", crate::provider::scope()),
            &format!("Use one of the {} ids the account lists (its `subscriptions`, in GET /api/v1/accounts/<account id>).", crate::provider::scope()),
        ))
    }
}

/// The first value of the query parameter `name`, decoded.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    query(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn query(req: &Request) -> Vec<(String, String)> {
    req.query()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decodes a query component (`+` is a space).
pub fn decode(s: &str) -> String {
    percent_decode(s, true)
}

/// Percent-decodes one path segment (`+` stays a `+`): clients send a
/// record name `@` as `%40`.
pub fn path_segment(s: &str) -> String {
    percent_decode(s, false)
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < b.len() => match std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_members_follow_the_object_s_own() {
        let v = json!({ "id": "op\"1", "progress": { "of": 2 } });
        let text = object_with_raw(
            &v,
            &[
                ("result", Some(r#"{"ip": "10.0.0.4"}"#)),
                ("left out", None),
                ("server", Some("null")),
            ],
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back,
            json!({ "id": "op\"1", "progress": { "of": 2 }, "result": { "ip": "10.0.0.4" }, "server": null })
        );
        assert_eq!(
            object_with_raw(&json!({}), &[("a", Some("1"))]),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn segments_ignore_leading_trailing_and_doubled_slashes() {
        assert_eq!(segments("/api/v1/servers/"), ["api", "v1", "servers"]);
        assert_eq!(segments("//api//v1"), ["api", "v1"]);
        assert!(segments("/").is_empty());
    }

    #[test]
    fn pages_read_limit_and_cursor() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            page_of(&q(&[])).unwrap(),
            Page {
                limit: 50,
                after: None
            }
        );
        let c = cursor(1700000000, "abc-1");
        let p = page_of(&q(&[("limit", "2"), ("cursor", &c)])).unwrap();
        assert_eq!(
            p,
            Page {
                limit: 2,
                after: Some((1700000000, "abc-1".into()))
            }
        );
        // The longest record set's key (type and a 253-character name).
        let long = format!("CNAME/{}", "a".repeat(253));
        let p = page_of(&q(&[("cursor", &cursor(0, &long))])).unwrap();
        assert_eq!(p.after, Some((0, long)));
        for bad in ["0", "101", "x", "-1"] {
            assert_eq!(
                page_of(&q(&[("limit", bad)])).unwrap_err().code,
                "invalid_limit"
            );
        }
        for bad in ["not-base64!", "bm9jb2xvbg", &cursor(1, "")] {
            assert_eq!(
                page_of(&q(&[("cursor", bad)])).unwrap_err().code,
                "invalid_cursor"
            );
        }
    }

    #[test]
    fn fields_are_typed() {
        let b =
            json!({ "name": "web", "ttl": "300", "n": 5, "values": ["a", 1], "ctl": "a\u{0}b" });
        assert_eq!(req_str(&b, "name", 10).unwrap(), "web");
        assert_eq!(
            req_str(&b, "absent", 10).unwrap_err().code,
            "missing_fields"
        );
        assert_eq!(opt_str(&b, "n", 10).unwrap_err().code, "invalid_field");
        assert_eq!(opt_str(&b, "ctl", 10).unwrap_err().code, "invalid_field");
        assert_eq!(opt_str(&b, "name", 2).unwrap_err().code, "invalid_field");
        let e = opt_int(&b, "ttl", 1, 100).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (400, "invalid_field"));
        assert_eq!(e.extra["field"], "ttl");
        assert_eq!(opt_int(&b, "n", 1, 10).unwrap(), Some(5));
        assert!(opt_int(&b, "n", 6, 10).is_err());
        assert_eq!(opt_int(&b, "absent", 1, 10).unwrap(), None);
        assert!(opt_str_list(&b, "values", 10).is_err());
        assert!(json_body(b"[1]").is_err());
        assert!(json_body(b"{}").is_ok());
    }

    #[test]
    fn path_segments_decode_percent_but_not_plus() {
        assert_eq!(path_segment("%40"), "@");
        assert_eq!(path_segment("a+b%2Ac"), "a+b*c");
        assert_eq!(decode("a+b"), "a b");
        assert_eq!(path_segment("100%"), "100%");
    }

    #[test]
    fn a_served_path_with_another_method_is_405_with_allow() {
        const ROUTES: &[Route] = &[
            ("GET", "api/v1/servers"),
            ("POST", "api/v1/servers"),
            ("GET", "api/v1/servers/*"),
            ("DELETE", "api/v1/servers/*"),
        ];
        let e = ApiError::unrouted(
            Some("servers"),
            ROUTES,
            &spin_sdk::http::Method::Put,
            &["api", "v1", "servers", "x"],
        );
        assert_eq!((e.status, e.code.as_str()), (405, "method_not_allowed"));
        assert_eq!(e.extra["allow"], "GET, DELETE");
        assert_eq!(e.remedy, "Use GET, DELETE.");
        let e = ApiError::unrouted(
            Some("servers"),
            ROUTES,
            &spin_sdk::http::Method::Get,
            &["api", "v1", "servers", "x", "y"],
        );
        assert_eq!((e.status, e.code.as_str()), (404, "no_such_endpoint"));
        assert!(e.extra.get("allow").is_none());
    }

    #[test]
    fn no_such_endpoint_names_the_api_to_read_about() {
        let e = ApiError::no_such_endpoint(Some("DNS"));
        assert_eq!(e.status, 404);
        assert_eq!(e.code, "no_such_endpoint");
        assert_eq!(e.message, "There is no such DNS endpoint or method.");
        assert_eq!(e.remedy, "See the README for the DNS API.");
        let e = ApiError::no_such_endpoint(None);
        assert_eq!(e.message, "There is no such endpoint.");
        assert_eq!(e.remedy, "See the README for the API.");
    }
}
