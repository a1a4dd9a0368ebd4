//! Shared by the emulator's scenario tests: an HTTP client that does not
//! follow redirects, the sign-in dance, and ARM calls with a bearer token.
#![allow(dead_code)]

use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sim::world::defaults::*;
use sim::{Sim, World};

pub const API: &str = "api-version=2024-07-01";
pub const REDIRECT: &str = "http://localhost:3000/oauth/azure/callback";

/// A response: status, headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query parameters of a redirect's Location.
    pub fn redirect_params(&self) -> Vec<(String, String)> {
        let loc = self
            .header("location")
            .unwrap_or_else(|| panic!("no redirect ({}): {}", self.status, self.body));
        let url = url::Url::parse(loc).unwrap();
        url.query_pairs().into_owned().collect()
    }

    pub fn param(&self, name: &str) -> Option<String> {
        self.redirect_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(20))
        .build()
}

pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut req = agent().request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .flat_map(|n| {
            resp.all(&n)
                .into_iter()
                .map(|v| (n.clone(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    Reply {
        status,
        headers,
        body: resp.into_string().unwrap_or_default(),
    }
}

pub fn form(url: &str, fields: &[(&str, &str)]) -> Reply {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    call(
        "POST",
        url,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&body),
    )
}

pub fn start() -> Sim {
    Sim::spawn(World::default()).expect("the emulator starts")
}

pub fn start_with(world: World) -> Sim {
    Sim::spawn(world).expect("the emulator starts")
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub const SCOPE: &str =
    "https://management.azure.com/user_impersonation offline_access openid profile";

/// Drives the consent page: returns the redirect (or page) the decision leads to.
pub fn authorize(
    sim: &Sim,
    tenant: &str,
    user: &str,
    decision: &str,
    challenge: &str,
    state: &str,
) -> Reply {
    let q = [
        ("client_id", CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPE),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q)
        .finish();
    let page = call(
        "GET",
        &format!("{}?{query}", sim.authorize_url(tenant)),
        &[],
        None,
    );
    assert_eq!(page.status, 200, "consent page: {}", page.body);
    let mut fields: Vec<(&str, &str)> = q.to_vec();
    fields.push(("user", user));
    fields.push(("decision", decision));
    form(&sim.authorize_url(tenant), &fields)
}

/// Signs in as `user` and redeems the code; returns the token response.
pub fn sign_in(sim: &Sim, user: &str) -> Value {
    let (verifier, challenge) = pkce();
    let r = authorize(sim, "common", user, "accept", &challenge, "s1");
    assert_eq!(r.status, 302, "{}", r.body);
    let code = r.param("code").expect("a code");
    let t = form(
        &sim.token_url("common"),
        &[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(t.status, 200, "{}", t.body);
    t.json()
}

/// An access token for the default user.
pub fn token(sim: &Sim) -> String {
    sign_in(sim, USERNAME)["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An ARM call with a bearer token; `path` may carry its own query.
pub fn arm(sim: &Sim, token: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", sim.url)
    };
    let url = if url.contains("api-version=") {
        url
    } else if url.contains('?') {
        format!("{url}&{API}")
    } else {
        format!("{url}?{API}")
    };
    let auth = format!("Bearer {token}");
    let text = body.map(|b| b.to_string());
    let mut headers = vec![("authorization", auth.as_str())];
    if text.is_some() {
        headers.push(("content-type", "application/json"));
    }
    call(method, &url, &headers, text.as_deref())
}

/// The default subscription's path.
pub fn sub() -> String {
    format!("/subscriptions/{SUBSCRIPTION}")
}

pub fn rg(name: &str) -> String {
    format!("{}/resourceGroups/{name}", sub())
}

/// Polls an operation until it is no longer in progress; returns the last reply.
pub fn wait(sim: &Sim, token: &str, reply: &Reply) -> Reply {
    let (url, status_style) = match (
        reply.header("azure-asyncoperation"),
        reply.header("location"),
    ) {
        (Some(u), _) => (u.to_string(), true),
        (None, Some(u)) => (u.to_string(), false),
        _ => panic!(
            "no operation to wait for ({}): {}",
            reply.status, reply.body
        ),
    };
    for _ in 0..50 {
        let r = arm(sim, token, "GET", &url, None);
        let done = if status_style {
            r.json()["status"] != "InProgress"
        } else {
            r.status != 202
        };
        if done {
            return r;
        }
    }
    panic!("operation never finished: {url}")
}

/// A blob data-plane request signed with SharedKey, as a client would send it.
pub fn blob(
    method: &str,
    url: &str,
    account: &str,
    key: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let parsed = url::Url::parse(url).unwrap();
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut headers: Vec<(String, String)> = vec![
        ("x-ms-date".into(), date),
        ("x-ms-version".into(), "2025-01-05".into()),
    ];
    for (k, v) in extra {
        headers.push((k.to_string(), v.to_string()));
    }
    if !body.is_empty() {
        headers.push(("content-length".into(), body.len().to_string()));
    }
    let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let sts = sim::sharedkey::string_to_sign(method, &headers, account, parsed.path(), &query);
    let sig = sim::sharedkey::sign(key, &sts).unwrap();
    headers.push(("authorization".into(), format!("SharedKey {account}:{sig}")));
    let hs: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(k, _)| k != "content-length")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    call(
        method,
        url,
        &hs,
        if body.is_empty() && method != "PUT" {
            None
        } else {
            Some(body)
        },
    )
}

/// The Python of the venv `target/<dir>` (made by .ci/run with the same
/// pins), or made here from PyPI.
pub fn venv_python(dir: &str, module: &str, pins: &[&str]) -> std::path::PathBuf {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    sim::python::venv(&root, dir, module, pins).unwrap_or_else(|e| panic!("{e}"))
}
