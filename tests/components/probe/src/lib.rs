//! The probe: one HTTP component the host tests point many routes at.
//!
//! `?op=` picks what it does — echo the request as Spin presents it, call out,
//! read a variable, use key-value or SQLite, or misbehave (loop, hog memory) —
//! so each scenario needs only a manifest, not a component of its own.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

fn query(req: &Request) -> Vec<(String, String)> {
    req.query()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ok(body: impl Into<String>) -> Response {
    Response::new(200, body.into())
}

fn fail(status: u16, body: impl Into<String>) -> Response {
    Response::new(status, body.into())
}

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let q = query(&req);
    let arg = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Ok(match arg("op").as_str() {
        "" | "echo" => {
            let mut headers = serde_json::Map::new();
            // A header given more than once shows its values in order.
            for (k, v) in req.headers() {
                let (k, v) = (k.to_string(), String::from_utf8_lossy(v.as_bytes()));
                let joined = match headers.get(&k).and_then(|e| e.as_str()) {
                    Some(earlier) => format!("{earlier}, {v}"),
                    None => v.into_owned(),
                };
                headers.insert(k, joined.into());
            }
            let method = format!("{:?}", req.method());
            let body = serde_json::json!({
                "method": method,
                "path": req.path(),
                "query": req.query(),
                "headers": headers,
                "body_len": req.body().len(),
            });
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(body.to_string())
                .build()
        }
        "fetch" => {
            let outbound = Request::new(Method::Get, arg("url"));
            match spin_sdk::http::send::<_, Response>(outbound).await {
                Ok(r) => ok(format!(
                    "{} {}",
                    r.status(),
                    String::from_utf8_lossy(r.body())
                )),
                Err(e) => fail(502, format!("{e:?}")),
            }
        }
        "var" => match spin_sdk::variables::get(&arg("name")) {
            Ok(v) => ok(v),
            Err(e) => fail(500, format!("{e:?}")),
        },
        "env" => ok(std::env::var(arg("name")).unwrap_or_else(|_| "<unset>".into())),
        "file" => match std::fs::read_to_string(arg("path")) {
            Ok(s) => ok(s),
            Err(e) => fail(404, e.to_string()),
        },
        "kv-set" => match spin_sdk::key_value::Store::open(&arg("store")) {
            Ok(s) => match s.set(&arg("key"), arg("value").as_bytes()) {
                Ok(()) => ok("stored"),
                Err(e) => fail(500, format!("{e:?}")),
            },
            Err(e) => fail(403, format!("{e:?}")),
        },
        "kv-get" => match spin_sdk::key_value::Store::open(&arg("store")) {
            Ok(s) => match s.get(&arg("key")) {
                Ok(Some(v)) => ok(String::from_utf8_lossy(&v).into_owned()),
                Ok(None) => fail(404, "no such key"),
                Err(e) => fail(500, format!("{e:?}")),
            },
            Err(e) => fail(403, format!("{e:?}")),
        },
        "sql" => {
            use spin_sdk::sqlite::{Connection, Value};
            match Connection::open(&arg("db")) {
                Ok(c) => match c.execute(&arg("q"), &[]) {
                    Ok(r) => {
                        let rows: Vec<Vec<String>> = r
                            .rows
                            .iter()
                            .map(|row| {
                                row.values
                                    .iter()
                                    .map(|v| match v {
                                        Value::Integer(n) => n.to_string(),
                                        Value::Real(f) => f.to_string(),
                                        Value::Text(t) => t.clone(),
                                        Value::Blob(b) => format!("{} bytes", b.len()),
                                        Value::Null => "null".into(),
                                    })
                                    .collect()
                            })
                            .collect();
                        ok(serde_json::json!({ "columns": r.columns, "rows": rows }).to_string())
                    }
                    Err(e) => fail(500, format!("{e:?}")),
                },
                Err(e) => fail(403, format!("{e:?}")),
            }
        }
        "loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "hog" => {
            let mut keep: Vec<Vec<u8>> = Vec::new();
            loop {
                keep.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&keep);
            }
        }
        "hello" => ok("Hello, Skyport!"),
        "trap" => panic!("the probe was asked to trap"),
        other => fail(400, format!("unknown op `{other}`")),
    })
}
