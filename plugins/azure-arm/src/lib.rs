//! A small Azure Resource Manager client shared by the Azure plugins: `error`
//! reads ARM's error envelope, `retry` decides what to retry and how long to
//! wait, `rbac` evaluates effective permissions, `aad` classifies identity
//! errors, `power` reads a VM's power state, `retail` reads the public price
//! list, `names` checks every value
//! before it becomes part of a URL, and this file sends requests and follows
//! `nextLink`.
//!
//! It is transport-agnostic — plugins send through wasi:http, unit tests
//! through a scripted fake — so every rule here is tested natively.

pub mod aad;
pub mod blob;
#[cfg(feature = "spin")]
pub mod contract;
pub mod error;
pub mod names;
pub mod power;
pub mod rbac;
pub mod retail;
pub mod retry;
#[cfg(feature = "spin")]
pub mod spin_transport;

use std::time::Duration;

use serde_json::Value;

pub use error::ArmError;
pub use retry::RetryPolicy;

/// Percent-encodes a value for a URL's query (RFC 3986 unreserved
/// characters stay as they are).
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An HTTP request as the client builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// An HTTP response.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Sends requests; `Err` is a failure to get any response (connect, DNS, denied).
pub trait Transport {
    fn send(&self, request: &Request) -> Result<Response, String>;
    /// Waits before a retry or a poll.
    fn sleep(&self, duration: Duration);
}

/// An ARM client for one access token.
pub struct Arm<'a, T: Transport> {
    pub base: &'a str,
    pub token: &'a str,
    pub transport: &'a T,
    pub retry: RetryPolicy,
}

/// Appends `api-version` unless the URL carries one (as nextLinks do).
fn with_api_version(url: &str, api_version: &str) -> String {
    if url.contains("api-version=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&api-version={api_version}")
    } else {
        format!("{url}?api-version={api_version}")
    }
}

impl<'a, T: Transport> Arm<'a, T> {
    pub fn new(base: &'a str, token: &'a str, transport: &'a T) -> Self {
        Arm {
            base: base.trim_end_matches('/'),
            token,
            transport,
            retry: RetryPolicy::default(),
        }
    }

    /// The URL for `path` (relative to the base, or an absolute link ARM
    /// gave: a `nextLink` or an operation to poll). A path any segment could
    /// bend, or an absolute URL outside the base, is refused unsent.
    fn url(&self, path: &str, api_version: &str) -> Result<String, ArmError> {
        let relative = if path.starts_with("http://") || path.starts_with("https://") {
            path.strip_prefix(self.base)
                .filter(|rest| rest.starts_with('/'))
                .ok_or_else(|| {
                    ArmError::invalid_url(&format!(
                        "the link {path:?} does not lead to the management endpoint"
                    ))
                })?
        } else {
            path
        };
        if !names::path_is_safe(relative) {
            return Err(ArmError::invalid_url(&format!(
                "the path {:?} has a segment that would change the resource or query it names",
                relative.chars().take(200).collect::<String>()
            )));
        }
        Ok(with_api_version(
            &format!("{}{relative}", self.base),
            api_version,
        ))
    }

    /// Sends one request with the retry policy; non-2xx answers become [`ArmError`].
    pub fn send(
        &self,
        method: &'static str,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Response, ArmError> {
        self.send_with(method, path, api_version, body, &[])
    }

    /// [`Arm::send`] with extra headers (e.g. `If-Match`).
    pub fn send_with(
        &self,
        method: &'static str,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Result<Response, ArmError> {
        self.send_retried_as(method, method, path, api_version, body, extra)
    }

    /// A POST that only reads (`listKeys`, `checkNameAvailability`): retried
    /// on server errors like a GET, since repeating it changes nothing.
    pub fn post_read(
        &self,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, ArmError> {
        let resp = self.send_retried_as("POST", "GET", path, api_version, body, &[])?;
        Ok(resp.json().unwrap_or(Value::Null))
    }

    fn send_retried_as(
        &self,
        method: &'static str,
        retry_as: &str,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Result<Response, ArmError> {
        let request = Request {
            method,
            url: self.url(path, api_version)?,
            headers: {
                let mut h = vec![
                    (
                        "authorization".to_string(),
                        format!("Bearer {}", self.token),
                    ),
                    ("accept".to_string(), "application/json".to_string()),
                ];
                if body.is_some() {
                    h.push(("content-type".to_string(), "application/json".to_string()));
                }
                h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                h
            },
            body: body.map(|b| b.to_string().into_bytes()),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.transport.send(&request);
            let failure = match outcome {
                Ok(resp) if (200..300).contains(&resp.status) => return Ok(resp),
                Ok(resp) => ArmError::from_response(&resp),
                Err(e) => ArmError::transport(&e),
            };
            match self.retry.wait(retry_as, &failure, attempt) {
                Some(wait) => self.transport.sleep(wait),
                None => return Err(failure),
            }
        }
    }

    /// GET and parse JSON.
    pub fn get(&self, path: &str, api_version: &str) -> Result<Value, ArmError> {
        let resp = self.send("GET", path, api_version, None)?;
        Ok(resp.json().unwrap_or(Value::Null))
    }

    /// GET a resource that may not exist: `None` for a 404.
    pub fn find(&self, path: &str, api_version: &str) -> Result<Option<Value>, ArmError> {
        match self.get(path, api_version) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUTs `body` at `path` only where nothing is there yet: a resource
    /// that exists (one the customer made, or chose) is read and left as it
    /// is, never written over with Skyport's settings. `true` when it was
    /// created.
    pub fn create_unless_present(
        &self,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<bool, ArmError> {
        if self.find(path, api_version)?.is_some() {
            return Ok(false);
        }
        self.send("PUT", path, api_version, Some(body))?;
        Ok(true)
    }

    /// GETs every page of a list, following `nextLink`.
    pub fn list(&self, path: &str, api_version: &str) -> Result<Vec<Value>, ArmError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(url) = next {
            pages += 1;
            if pages > 1000 {
                return Err(ArmError::other(
                    "TooManyPages",
                    "the list did not end after 1000 pages",
                ));
            }
            let page = self.get(&url, api_version)?;
            items.extend(page["value"].as_array().cloned().unwrap_or_default());
            next = page["nextLink"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        Ok(items)
    }

    /// POST with an optional JSON body.
    pub fn post(
        &self,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, ArmError> {
        let resp = self.send("POST", path, api_version, body)?;
        Ok(resp.json().unwrap_or(Value::Null))
    }
}

#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::cell::RefCell;

    /// Answers requests from a script and records them and the sleeps.
    pub struct Fake {
        pub script: RefCell<Vec<Result<Response, String>>>,
        pub seen: RefCell<Vec<Request>>,
        pub slept: RefCell<Vec<Duration>>,
    }

    impl Fake {
        pub fn new(script: Vec<Result<Response, String>>) -> Fake {
            Fake {
                script: RefCell::new(script),
                seen: RefCell::new(Vec::new()),
                slept: RefCell::new(Vec::new()),
            }
        }
    }

    pub fn json(status: u16, body: &str) -> Result<Response, String> {
        Ok(Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        })
    }

    impl Transport for Fake {
        fn send(&self, request: &Request) -> Result<Response, String> {
            self.seen.borrow_mut().push(request.clone());
            self.script.borrow_mut().remove(0)
        }
        fn sleep(&self, d: Duration) {
            self.slept.borrow_mut().push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::*;
    use super::*;

    #[test]
    fn lists_follow_next_link_and_keep_its_api_version() {
        let t = Fake::new(vec![
            json(
                200,
                r#"{"value":[1,2],"nextLink":"https://m.example/subscriptions?api-version=2022-12-01&$skiptoken=2"}"#,
            ),
            json(200, r#"{"value":[3]}"#),
        ]);
        let arm = Arm::new("https://m.example", "tok", &t);
        assert_eq!(
            arm.list("/subscriptions", "2022-12-01").unwrap(),
            vec![Value::from(1), Value::from(2), Value::from(3)]
        );
        let seen = t.seen.borrow();
        assert_eq!(
            seen[0].url,
            "https://m.example/subscriptions?api-version=2022-12-01"
        );
        assert_eq!(
            seen[1].url,
            "https://m.example/subscriptions?api-version=2022-12-01&$skiptoken=2"
        );
        assert!(seen[0]
            .headers
            .contains(&("authorization".into(), "Bearer tok".into())));
    }

    #[test]
    fn throttling_is_retried_after_the_asked_delay() {
        let t = Fake::new(vec![
            Ok(Response {
                status: 429,
                headers: vec![("Retry-After".into(), "3".into())],
                body: br#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#.to_vec(),
            }),
            json(200, r#"{"ok":true}"#),
        ]);
        let arm = Arm::new("https://m.example", "tok", &t);
        assert_eq!(arm.get("/x", "v").unwrap()["ok"], true);
        assert_eq!(*t.slept.borrow(), vec![Duration::from_secs(3)]);
    }

    #[test]
    fn client_errors_are_not_retried() {
        let t = Fake::new(vec![json(
            403,
            r#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#,
        )]);
        let arm = Arm::new("https://m.example", "tok", &t);
        let e = arm.get("/x", "v").unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (403, "AuthorizationFailed"));
        assert!(t.slept.borrow().is_empty());
    }

    #[test]
    fn a_path_a_segment_would_bend_is_never_sent() {
        let t = Fake::new(vec![]);
        let arm = Arm::new("https://m.example", "tok", &t);
        for path in [
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/web9-nsg?api-version=2024-05-01#",
            "/subscriptions/s/resourceGroups/../x",
            "/subscriptions/s/resourceGroups/rg%2Fx",
            "https://evil.example/subscriptions/s",
            "https://m.example.evil/subscriptions/s",
            "/subscriptions/s/resourceGroups/a b",
        ] {
            let e = arm.get(path, "v").unwrap_err();
            assert_eq!(e.code, "InvalidRequestUrl", "{path}");
            assert_eq!(e.kind(), error::Kind::InvalidInput);
        }
        assert!(t.seen.borrow().is_empty(), "nothing reached the transport");
    }

    #[test]
    fn a_read_only_post_is_retried_on_server_errors() {
        let t = Fake::new(vec![
            json(
                503,
                r#"{"error":{"code":"ServiceUnavailable","message":"busy"}}"#,
            ),
            json(200, r#"{"keys":[{"value":"k"}]}"#),
        ]);
        let arm = Arm::new("https://m.example", "tok", &t);
        assert_eq!(
            arm.post_read("/x/listKeys", "v", None).unwrap()["keys"][0]["value"],
            "k"
        );
        assert_eq!(t.seen.borrow().len(), 2);
        assert_eq!(t.seen.borrow()[1].method, "POST");
        // An ordinary POST is not repeated after a server error.
        let t = Fake::new(vec![json(
            503,
            r#"{"error":{"code":"ServiceUnavailable"}}"#,
        )]);
        let arm = Arm::new("https://m.example", "tok", &t);
        assert!(arm.post("/x/register", "v", None).is_err());
        assert_eq!(t.seen.borrow().len(), 1);
    }

    #[test]
    fn an_existing_resource_is_read_and_never_put_again() {
        let t = Fake::new(vec![json(
            200,
            r#"{"name":"theirs","properties":{"publicAccess":"Blob"}}"#,
        )]);
        let arm = Arm::new("https://m.example", "tok", &t);
        let mine = serde_json::json!({ "properties": { "publicAccess": "None" } });
        assert!(!arm.create_unless_present("/c/theirs", "v", &mine).unwrap());
        let seen = t.seen.borrow();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "GET");
    }

    #[test]
    fn a_missing_resource_is_created_and_a_failed_read_creates_nothing() {
        let t = Fake::new(vec![
            json(
                404,
                r#"{"error":{"code":"ContainerNotFound","message":"no"}}"#,
            ),
            json(201, r#"{"name":"mine"}"#),
            json(
                403,
                r#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#,
            ),
        ]);
        let arm = Arm::new("https://m.example", "tok", &t);
        let mine = serde_json::json!({ "properties": { "publicAccess": "None" } });
        assert!(arm.create_unless_present("/c/mine", "v", &mine).unwrap());
        assert_eq!(
            arm.create_unless_present("/c/other", "v", &mine)
                .unwrap_err()
                .status,
            403
        );
        let methods: Vec<_> = t.seen.borrow().iter().map(|r| r.method).collect();
        assert_eq!(methods, ["GET", "PUT", "GET"]);
        assert_eq!(
            t.seen.borrow()[1].body.as_deref(),
            Some(mine.to_string().as_bytes())
        );
    }

    #[test]
    fn find_answers_none_for_a_missing_resource_only() {
        let t = Fake::new(vec![
            json(
                404,
                r#"{"error":{"code":"ResourceGroupNotFound","message":"no"}}"#,
            ),
            json(200, r#"{"name":"rg"}"#),
            json(
                403,
                r#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#,
            ),
        ]);
        let arm = Arm::new("https://m.example", "tok", &t);
        assert_eq!(arm.find("/x", "v").unwrap(), None);
        assert_eq!(arm.find("/x", "v").unwrap().unwrap()["name"], "rg");
        assert_eq!(arm.find("/x", "v").unwrap_err().status, 403);
    }
}
