//! The HTTP front end: accept, route, run the component in a fresh instance,
//! log one line, count it.
//!
//! Each request gets its own `Store` instantiated from the component's
//! pre-built `InstancePre`; the guest runs in its own task so that a trap, a
//! limit kill or a timeout ends that request only.
//!
//! A request is bounded before an instance exists: its head must arrive within
//! [`HEADER_TIMEOUT`], its body is read in full by the host (at most
//! `max_body_bytes`, within `body_timeout_ms`), and only then does it take one
//! of the component's `max_concurrency` slots, held until the guest's task
//! ends. A client that sends slowly costs a socket and a small task, never an
//! instance.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use http_body_util::{
    combinators::UnsyncBoxBody, BodyExt, Collected, Full, LengthLimitError, Limited,
};
use hyper::body::{Body as _, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use super::routes::{Route, RouteMatch};
use crate::app::{App, Prepared, Target};
use crate::capabilities::outbound_http::Chain;
use crate::state::{Kill, Refusal};

/// The response body type.
pub type Body = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// The paths Spin answers itself, whatever the routes: `health`, `info`, and
/// 404 for the rest.
pub const WELL_KNOWN: &str = "/.well-known/spin/";

/// How long a client may take to send a request head (and how long an idle
/// keep-alive connection stays open).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP/1 connection settings of every listener.
fn http1() -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    b
}

/// What an HTTP/2 client with prior knowledge sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the connection opens with the HTTP/2 preface, read without
/// taking it (hyper reads it again); `Err` if the client has not said which
/// within [`HEADER_TIMEOUT`]. A connection that closes first is HTTP/1.
async fn http2_preface(
    stream: &tokio::net::TcpStream,
) -> Result<bool, tokio::time::error::Elapsed> {
    tokio::time::timeout(HEADER_TIMEOUT, async {
        let mut buf = [0u8; PREFACE.len()];
        let mut pause = Duration::from_millis(2);
        loop {
            let n = stream.peek(&mut buf).await.unwrap_or(0);
            if n == 0 || buf[..n] != PREFACE[..n] {
                return false;
            }
            if n == PREFACE.len() {
                return true;
            }
            // A preface that arrives in pieces: look again, less and less
            // often, so a client that stalls mid-preface costs next to no CPU.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    })
    .await
}

/// An answer with `body` and no headers.
fn bare(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r
}

/// An answer with no body and no headers, as Spin gives when no route
/// matches (404) and when a guest fails or gives no response (500).
fn empty(status: StatusCode) -> Response<Body> {
    bare(status, Bytes::new())
}

/// One of skyport's own answers (a refusal, a limit), in words.
fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = bare(status, body);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Serves `app` on `listener` until the process ends.
pub async fn serve(app: Arc<App>, listener: TcpListener) -> anyhow::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off, do not die.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            // A header timeout before the first request is a refusal; after
            // one, it is an idle keep-alive connection being closed.
            let served = Arc::new(AtomicBool::new(false));
            let service = service_fn({
                let app = app.clone();
                let served = served.clone();
                move |req| {
                    served.store(true, Ordering::Relaxed);
                    let app = app.clone();
                    async move { handle(app, req, peer).await }
                }
            });
            let head_timeout = || {
                app.metrics.refused("-", "header_timeout");
                tracing::warn!(target: "skyport::request", "{peer} sent no complete request head within {} s, connection closed refused=header_timeout", HEADER_TIMEOUT.as_secs());
            };
            // HTTP/2 cleartext (prior knowledge) as well as HTTP/1, as Spin
            // serves both; the version is read here, within the head's time.
            let served_as = match http2_preface(&stream).await {
                Err(_) => return head_timeout(),
                Ok(true) => {
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
                Ok(false) => {
                    http1()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(e) = served_as {
                if e.is_timeout() && !served.load(Ordering::Relaxed) {
                    head_timeout();
                } else {
                    tracing::warn!("Error serving HTTP connection: {e}");
                }
            }
        });
    }
}

/// Serves only the metrics, on a listener of their own.
pub async fn serve_metrics(app: Arc<App>, listener: TcpListener) -> anyhow::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<Incoming>| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(metrics_response(&app)) }
            });
            let _ = http1()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn metrics_response(app: &App) -> Response<Body> {
    let mut r = text(StatusCode::OK, app.metrics.render());
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// Answers one request. An `Err` closes the connection without an answer,
/// as Spin does for a routed request whose authority is missing or unclear.
async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Unanswered> {
    let started = Instant::now();
    let method = req.method().clone();
    let version = req.version();
    let path = req.uri().path().to_string();
    if app.metrics_path.as_deref() == Some(path.as_str()) {
        return Ok(metrics_response(&app));
    }
    if let Some(name) = path.strip_prefix(WELL_KNOWN) {
        return Ok(well_known(&app, name));
    }
    let routed = app.router.route(&path);
    if routed.is_some() {
        if let Err(e) = authority(&req) {
            tracing::warn!("Error serving HTTP connection from {peer}: {e}");
            return Err(Unanswered(e));
        }
    }
    let mut refused = None;
    let (route, component, response) = match routed {
        None => (
            "-".to_string(),
            "-".to_string(),
            empty(StatusCode::NOT_FOUND),
        ),
        Some((m, Target::Static(s))) => {
            // Only the headers the manifest lists, as Spin answers it.
            let mut r = bare(
                StatusCode::from_u16(s.status_code.unwrap_or(200)).unwrap_or(StatusCode::OK),
                s.body.clone().unwrap_or_default(),
            );
            for (k, v) in &s.headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::try_from(k.as_str()),
                    HeaderValue::try_from(v.as_str()),
                ) {
                    r.headers_mut().insert(k, v);
                }
            }
            (m.route.pattern().to_string(), "(static)".to_string(), r)
        }
        Some((m, Target::Component(id))) => {
            let prepared = app.components[id].clone();
            let response = match admit(&prepared, req).await {
                Ok((req, permit)) => run(&app, &prepared, &m, req, peer, permit).await,
                Err(r) => {
                    app.metrics.refused(id, r.label());
                    refused = Some(r.label());
                    let mut answer = refusal(r, &prepared);
                    // HTTP/2 has no Connection header; the stream just ends.
                    if version == http::Version::HTTP_2 {
                        answer.headers_mut().remove(CONNECTION);
                    }
                    answer
                }
            };
            (m.route.pattern().to_string(), id.clone(), response)
        }
    };
    let took = started.elapsed();
    let status = response.status().as_u16();
    app.metrics.request(&component, status, took);
    let ms = took.as_secs_f64() * 1000.0;
    match refused {
        None => {
            tracing::info!(target: "skyport::request", "{method} {path} route={route} component={component} status={status} duration={ms:.3}ms")
        }
        Some(r) => {
            tracing::warn!(target: "skyport::request", "{method} {path} route={route} component={component} status={status} duration={ms:.3}ms refused={r}")
        }
    }
    Ok(response)
}

/// Why a request was left without an answer.
#[derive(Debug)]
struct Unanswered(&'static str);

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Unanswered {}

/// Spin's check of a routed request's authority (its `set_req_uri`): the
/// `Host` header or the URI's, and the same one when both are given.
fn authority<B>(req: &Request<B>) -> Result<(), &'static str> {
    let header = match req.headers().get(HOST) {
        None => None,
        Some(h) => {
            let text = h.to_str().map_err(|_| "'Host' header is not valid UTF-8")?;
            Some(
                text.parse::<http::uri::Authority>()
                    .map_err(|_| "'Host' header contains an invalid authority")?,
            )
        }
    };
    match (header, req.uri().authority()) {
        (None, None) => Err("no 'Host' header present in request"),
        (Some(a), Some(b)) if a != *b => {
            Err("authority in 'Host' header does not match authority in URI")
        }
        _ => Ok(()),
    }
}

/// Spin's own answers under [`WELL_KNOWN`]: `OK` to the health check, the
/// app's name and version as JSON, an empty 404 for any other name.
fn well_known(app: &App, name: &str) -> Response<Body> {
    match name {
        "health" => text(StatusCode::OK, "OK"),
        "info" => {
            let mut info = serde_json::Map::new();
            info.insert("name".into(), app.manifest.name.clone().into());
            if let Some(v) = &app.manifest.version {
                info.insert("version".into(), v.clone().into());
            }
            let body = serde_json::to_vec_pretty(&info).unwrap_or_default();
            let mut r = bare(StatusCode::OK, body);
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        _ => empty(StatusCode::NOT_FOUND),
    }
}

/// Bounds a request before an instance exists for it: a declared body over
/// the limit is refused unread; otherwise the whole body is read (never more
/// than the limit, within the body timeout) and a concurrency slot is taken.
async fn admit(
    prepared: &Prepared,
    req: Request<Incoming>,
) -> Result<(Request<Collected<Bytes>>, OwnedSemaphorePermit), Refusal> {
    let limits = prepared.grants.limits;
    // Content-Length, when given, is the body's exact size.
    if req.body().size_hint().lower() > limits.max_body {
        return Err(Refusal::BodySize);
    }
    // All slots taken: refuse before spending time on the body.
    if prepared.running.available_permits() == 0 {
        return Err(Refusal::Concurrency);
    }
    let (parts, body) = req.into_parts();
    let max = usize::try_from(limits.max_body).unwrap_or(usize::MAX);
    let body =
        match tokio::time::timeout(limits.body_timeout, Limited::new(body, max).collect()).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) if e.is::<LengthLimitError>() => return Err(Refusal::BodySize),
            Ok(Err(e)) => {
                tracing::debug!(component = %prepared.id, "reading the request body: {e}");
                return Err(Refusal::BodyError);
            }
            Err(_) => return Err(Refusal::BodyTimeout),
        };
    let permit = prepared
        .running
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refusal::Concurrency)?;
    Ok((Request::from_parts(parts, body), permit))
}

/// The answer to a refused request: it names the limit and the runtime-config
/// key that raises it, and closes the connection (the body may be unread).
fn refusal(r: Refusal, prepared: &Prepared) -> Response<Body> {
    let limits = prepared.grants.limits;
    let id = &prepared.id;
    let raise = |key: &str| {
        format!("raise `{key}` under [limits] or [limits.component.{id}] in the runtime config")
    };
    let mut response = match r {
        Refusal::BodySize => text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Payload Too Large: the request body is over the limit of {} bytes ({})",
                limits.max_body,
                raise("max_body_bytes")
            ),
        ),
        Refusal::BodyTimeout => text(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "Request Timeout: the request body did not arrive within {} ms ({})",
                limits.body_timeout.as_millis(),
                raise("body_timeout_ms")
            ),
        ),
        Refusal::BodyError => text(
            StatusCode::BAD_REQUEST,
            "Bad Request: the request body could not be read",
        ),
        Refusal::Concurrency => {
            let mut r = text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "Service Unavailable: component `{id}` is running its limit of {} requests at once; retry shortly ({})",
                    limits.max_concurrency,
                    raise("max_concurrency")
                ),
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    };
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Adds the headers Spin gives a guest about the route it was reached by,
/// after the request's own (a client's `spin-*` header stays, first, as on
/// Spin). `spin-full-url` names the request's `Host`, else `localhost`, and
/// `spin-base-path` is always `/`, as Spin has them. (Spin fails a request
/// whose header values are not all UTF-8 with an empty 500; skyport lets the
/// guest answer it, so that the API can say which header is wrong.)
fn spin_headers<B>(req: &mut Request<B>, m: &RouteMatch<'_>, peer: SocketAddr) {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let full_url = format!("http://{host}{path_and_query}");
    let mut add = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            req.headers_mut().append(n, v);
        }
    };
    add("spin-path-info", &m.path_info);
    add("spin-full-url", &full_url);
    add("spin-matched-route", m.route.matched_route());
    add("spin-base-path", "/");
    add("spin-raw-component-route", m.route.raw());
    add("spin-component-route", m.route.component_route());
    add("spin-client-addr", &peer.to_string());
    for (name, value) in &m.params {
        add(
            // Spin's header for `:user_id` is `spin-path-match-user-id`.
            &format!(
                "spin-path-match-{}",
                name.to_ascii_lowercase().replace('_', "-")
            ),
            value,
        );
    }
}

/// The route every chained request matches, parsed once.
static CHAINED: std::sync::LazyLock<Route> =
    std::sync::LazyLock::new(|| Route::parse("/...").expect("a valid route"));

/// Service chaining: runs `http://<id>.spin.internal/...` requests against
/// component `id` in-process, matched as Spin matches them: by `/...`, not
/// by the routes the component has from outside.
pub(crate) fn chain(app: &Arc<App>) -> Chain {
    let weak = Arc::downgrade(app);
    Arc::new(move |id: &str, req: Request<WasiBody>| {
        let weak = weak.clone();
        let id = id.to_string();
        Box::pin(async move {
            let app = weak
                .upgrade()
                .ok_or(wasmtime_wasi_http::Error::DestinationUnavailable)?;
            // Spin grants `*.spin.internal` for the app's components only.
            let prepared = app
                .components
                .get(&id)
                .cloned()
                .ok_or(wasmtime_wasi_http::Error::HttpRequestDenied)?;
            let path = req.uri().path().to_string();
            // As Spin's `RouteMatch::synthetic`: whatever routes the callee
            // has, a chained request matches `/...` with the whole path as
            // its path info, from client address 0.0.0.0:0, and a full URL
            // on `localhost` unless the caller set a Host.
            let m = RouteMatch {
                route: &CHAINED,
                path_info: path.clone(),
                params: Vec::new(),
            };
            let started = Instant::now();
            // The body comes from a running guest: it is streamed, cut off
            // with an error past the limit, and a full component answers 503.
            let max = prepared.grants.limits.max_body;
            let admitted = if req.body().size_hint().lower() > max {
                Err(Refusal::BodySize)
            } else {
                prepared
                    .running
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| Refusal::Concurrency)
            };
            let mut refused = None;
            let response = match admitted {
                Ok(permit) => {
                    let req = req.map(|body| {
                        Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX)).map_err(
                            move |e| match e.downcast::<wasmtime_wasi_http::Error>() {
                                Ok(e) => *e,
                                Err(_) => wasmtime_wasi_http::Error::HttpRequestBodySize(Some(max)),
                            },
                        )
                    });
                    let peer = SocketAddr::from(([0, 0, 0, 0], 0));
                    run(&app, &prepared, &m, req, peer, permit).await
                }
                Err(r) => {
                    app.metrics.refused(&id, r.label());
                    refused = Some(r.label());
                    refusal(r, &prepared)
                }
            };
            let status = response.status().as_u16();
            app.metrics.request(&id, status, started.elapsed());
            match refused {
                None => {
                    tracing::info!(target: "skyport::request", "chained {path} component={id} status={status}")
                }
                Some(r) => {
                    tracing::warn!(target: "skyport::request", "chained {path} component={id} status={status} refused={r}")
                }
            }
            Ok(response)
        })
    })
}

async fn run<B>(
    app: &Arc<App>,
    prepared: &Arc<Prepared>,
    m: &RouteMatch<'_>,
    mut req: Request<B>,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    spin_headers(&mut req, m, peer);
    let id = prepared.id.clone();
    let mut store = match crate::instance::new_store(app, prepared, true) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(component = %id, "cannot prepare the instance: {e:#}");
            return empty(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let setup = (|| {
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(tx)?;
        anyhow::Ok((incoming, out))
    })();
    let (incoming, out) = match setup {
        Ok(x) => x,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("Bad Request: {e}")),
    };

    let timeout = prepared.grants.limits.timeout;
    let Some(pre) = prepared.pre.clone() else {
        tracing::warn!(component = %id, "the component has no HTTP handler (it is a cron component)");
        return text(
            StatusCode::NOT_FOUND,
            "Not Found: the component does not handle HTTP requests",
        );
    };
    let metrics = app.metrics.clone();
    let task_id = id.clone();
    let task = tokio::spawn(async move {
        // The slot is the component's until the guest is done, body included.
        let _slot = permit;
        let run = async {
            let t0 = Instant::now();
            let proxy = pre.instantiate_async(&mut store).await?;
            metrics.instantiated(&task_id, t0.elapsed());
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, out)
                .await
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                let s = store.data();
                let kill = s.killed.or(s.memory.exceeded.then_some(Kill::Memory));
                Err((e, kill))
            }
            Err(_) => Err((wasmtime::Error::msg(format!("request timeout of {} ms exceeded (raise `timeout_ms` under [limits] in the runtime config)", timeout.as_millis())), Some(Kill::Timeout))),
        }
    });

    let report = {
        let app = app.clone();
        let id = id.clone();
        move |result: Result<
            Result<(), (wasmtime::Error, Option<Kill>)>,
            tokio::task::JoinError,
        >|
              -> Option<Kill> {
            match result {
                Ok(Ok(())) => None,
                Ok(Err((e, kill))) => {
                    if let Some(k) = kill {
                        app.metrics.limit_kill(&id, k.label());
                        tracing::warn!(component = %id, limit = %k.label(), "request stopped: {}", e.root_cause());
                    } else {
                        tracing::error!(component = %id, "guest failed: {e:?}");
                    }
                    kill
                }
                Err(join) => {
                    tracing::error!(component = %id, "guest task failed: {join}");
                    None
                }
            }
        }
    };

    match rx.await {
        Ok(Ok(response)) => {
            // The guest may still be streaming the body; report how it ends.
            tokio::spawn(async move {
                report(task.await);
            });
            response
        }
        Ok(Err(code)) => {
            tokio::spawn(async move {
                report(task.await);
            });
            tracing::warn!(component = %id, "guest answered with error code {code:?}");
            // Spin takes an error code for a failed guest: 500, no body.
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
        Err(_) => match report(task.await) {
            Some(Kill::Timeout) => text(
                StatusCode::GATEWAY_TIMEOUT,
                "Gateway Timeout: the component did not answer in time",
            ),
            Some(Kill::Memory) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error: the component exceeded its memory limit",
            ),
            Some(Kill::CpuTime) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error: the component exceeded its CPU time limit",
            ),
            None => empty(StatusCode::INTERNAL_SERVER_ERROR),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &[u8])]) -> Request<()> {
        let mut b = Request::builder().uri("/api/x?y=1");
        for (k, v) in headers {
            b = b.header(*k, HeaderValue::from_bytes(v).unwrap());
        }
        b.body(()).unwrap()
    }

    #[test]
    fn spin_headers_follow_the_requests_own_as_on_spin() {
        let route = Route::parse("/api/...").unwrap();
        let m = RouteMatch {
            route: &route,
            path_info: "/x".into(),
            params: Vec::new(),
        };
        let peer: SocketAddr = ([10, 0, 0, 1], 5).into();
        let mut req = request(&[("spin-client-addr", b"1.2.3.4"), ("host", b"a.test")]);
        spin_headers(&mut req, &m, peer);
        let all: Vec<_> = req.headers().get_all("spin-client-addr").iter().collect();
        assert_eq!(all, ["1.2.3.4", "10.0.0.1:5"]);
        let h = |n: &str| req.headers()[n].to_str().unwrap().to_string();
        assert_eq!(h("spin-full-url"), "http://a.test/api/x?y=1");
        assert_eq!(h("spin-path-info"), "/x");
        assert_eq!(h("spin-component-route"), "/api");
        // Without a Host, the full URL is on `localhost`, as Spin writes it.
        let mut req = request(&[]);
        spin_headers(&mut req, &m, peer);
        assert_eq!(req.headers()["spin-full-url"], "http://localhost/api/x?y=1");
    }

    #[test]
    fn authority_is_checked_as_spin_checks_it() {
        let with = |uri: &str, host: Option<&str>| {
            let mut b = Request::builder().uri(uri);
            if let Some(h) = host {
                b = b.header(HOST, h);
            }
            authority(&b.body(()).unwrap())
        };
        assert!(with("/x", Some("a.test")).is_ok());
        assert!(with("http://a.test/x", None).is_ok());
        assert!(with("http://a.test/x", Some("a.test")).is_ok());
        assert_eq!(with("/x", None), Err("no 'Host' header present in request"));
        assert_eq!(
            with("http://a.test/x", Some("b.test")),
            Err("authority in 'Host' header does not match authority in URI")
        );
        assert_eq!(
            with("/x", Some("a b")),
            Err("'Host' header contains an invalid authority")
        );
    }
}
