//! The emulator's HTTP plumbing: a buffered request, a response builder, and
//! the accept loop. Handlers are plain functions from [`Req`] to [`Resp`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A request with its body read.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
}

impl Req {
    /// A query parameter, matched case-insensitively as ARM does.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as `application/x-www-form-urlencoded` fields.
    pub fn form(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// The body as JSON, or `None` when it is empty or malformed.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Path segments, percent-decoded.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// Percent-decodes a path segment or query part as storage services read
/// them: `%XX` becomes its byte, anything else (a `+` too, and a `%` not
/// followed by two hex digits) stays as it is.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// A response under construction.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Close the connection without answering (fault injection).
    pub drop_connection: bool,
}

impl Resp {
    pub fn new(status: u16) -> Resp {
        Resp {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: Vec::new(),
            body: Bytes::new(),
            drop_connection: false,
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Resp {
        Resp::new(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(value.to_string())
    }

    pub fn html(status: u16, text: String) -> Resp {
        Resp::new(status)
            .header("content-type", "text/html; charset=utf-8")
            .body(text)
    }

    pub fn text(status: u16, text: impl Into<String>) -> Resp {
        Resp::new(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.into())
    }

    pub fn redirect(location: &str) -> Resp {
        Resp::new(302).header("location", location)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Resp {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Resp {
        self.body = body.into();
        self
    }

    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Serves `handler` on `listener` until the task is dropped.
pub async fn serve<H>(
    listener: TcpListener,
    handler: Arc<H>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) where
    H: Fn(Req) -> std::pin::Pin<Box<dyn std::future::Future<Output = Resp> + Send>>
        + Send
        + Sync
        + 'static,
{
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let raw_query = parts.uri.query().unwrap_or("").to_string();
                    let req = Req {
                        query: url::form_urlencoded::parse(raw_query.as_bytes())
                            .into_owned()
                            .collect(),
                        raw_query,
                        method: parts.method,
                        path: parts.uri.path().to_string(),
                        headers: parts.headers,
                        body,
                        peer,
                    };
                    // A handler that panics answers 500 instead of dropping the connection.
                    let resp = match tokio::spawn(handler(req)).await {
                        Ok(resp) => resp,
                        Err(e) => Resp::json(
                            500,
                            &serde_json::json!({ "error": { "code": "InternalServerError", "message": format!("the emulator failed: {e}") } }),
                        ),
                    };
                    if resp.drop_connection {
                        return Err(std::io::Error::other(
                            "connection dropped by fault injection",
                        ));
                    }
                    let mut out = hyper::Response::new(Full::new(resp.body));
                    *out.status_mut() = resp.status;
                    for (k, v) in resp.headers {
                        if let (Ok(k), Ok(v)) =
                            (http::HeaderName::try_from(k), HeaderValue::try_from(v))
                        {
                            out.headers_mut().append(k, v);
                        }
                    }
                    Ok::<_, std::io::Error>(out)
                }
            });
            let http = hyper::server::conn::http1::Builder::new();
            match &tls {
                // A client that fails the handshake (an untrusted
                // authority, plain http) just loses its connection.
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
            }
        });
    }
}
