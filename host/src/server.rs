//! The HTTP front end: accept, route, run the component in a fresh instance,
//! log one line, count it.
//!
//! Each request gets its own `Store` instantiated from the component's
//! pre-built `InstancePre`; the guest runs in its own task so that a trap, a
//! limit kill or a timeout ends that request only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpView};

use crate::app::{App, Prepared, Target};
use crate::outbound::{Chain, OutboundHooks};
use crate::routes::{Route, RouteMatch};
use crate::state::{HostState, Kill, MemoryLimiter};

/// The response body type.
pub type Body = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// The path Spin reserves for its health check.
const HEALTH: &str = "/.well-known/spin/health";

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Serves `app` on `listener` until the process ends.
pub async fn serve(app: Arc<App>, listener: TcpListener) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
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
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(handle(app, req, peer, local).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("connection from {peer}: {e}");
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
            let _ = hyper::server::conn::http1::Builder::new()
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

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
    local: SocketAddr,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if app.metrics_path.as_deref() == Some(path.as_str()) {
        return metrics_response(&app);
    }
    if path == HEALTH {
        return text(StatusCode::OK, "OK");
    }
    let (route, component, response) = match app.router.route(&path) {
        None => (
            "-".to_string(),
            "-".to_string(),
            text(StatusCode::NOT_FOUND, "Not Found"),
        ),
        Some((m, Target::Static(s))) => {
            let mut r = text(
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
            let response = run(&app, &prepared, &m, req, peer, local).await;
            (m.route.pattern().to_string(), id.clone(), response)
        }
    };
    let took = started.elapsed();
    let status = response.status().as_u16();
    app.metrics.request(&component, status, took);
    tracing::info!(target: "skyport::request", "{method} {path} route={route} component={component} status={status} duration={:.3}ms", took.as_secs_f64() * 1000.0);
    response
}

/// Adds the headers Spin gives a guest about the route it was reached by.
fn spin_headers<B>(
    req: &mut Request<B>,
    m: &RouteMatch<'_>,
    base: &str,
    peer: SocketAddr,
    local: SocketAddr,
) {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| local.to_string());
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let full_url = format!("http://{host}{path_and_query}");
    let mut set = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            req.headers_mut().insert(n, v);
        }
    };
    set("spin-full-url", &full_url);
    set("spin-path-info", &m.path_info);
    set("spin-matched-route", m.route.pattern());
    set("spin-component-route", m.route.component_route());
    set("spin-raw-component-route", m.route.raw());
    set("spin-base-path", base);
    set("spin-client-addr", &peer.to_string());
    for (name, value) in &m.params {
        set(
            &format!("spin-path-match-{}", name.to_ascii_lowercase()),
            value,
        );
    }
    // wasi:http needs an authority; HTTP/1.0 clients may send no Host.
    if req.uri().authority().is_none() && !req.headers().contains_key(HOST) {
        if let Ok(v) = HeaderValue::try_from(local.to_string()) {
            req.headers_mut().insert(HOST, v);
        }
    }
}

/// Service chaining: runs `http://<id>.spin.internal/...` requests against
/// component `id` in-process, with the route it would have from outside (or
/// a catch-all route for a private component).
fn chain(app: &Arc<App>) -> Chain {
    let weak = Arc::downgrade(app);
    Arc::new(move |id: &str, req: Request<WasiBody>| {
        let weak = weak.clone();
        let id = id.to_string();
        Box::pin(async move {
            let app = weak
                .upgrade()
                .ok_or(wasmtime_wasi_http::Error::DestinationUnavailable)?;
            let prepared = app
                .components
                .get(&id)
                .cloned()
                .ok_or(wasmtime_wasi_http::Error::DestinationNotFound)?;
            let path = req.uri().path().to_string();
            let private = Route::parse("/", "/...").expect("a valid route");
            let own = app
                .router
                .route(&path)
                .filter(|(_, t)| matches!(t, Target::Component(c) if *c == id));
            let m = match own {
                Some((m, _)) => m,
                None => private_match(&private, &path),
            };
            let local: SocketAddr = ([127, 0, 0, 1], 0).into();
            let started = Instant::now();
            let response = run(&app, &prepared, &m, req, local, local).await;
            app.metrics
                .request(&id, response.status().as_u16(), started.elapsed());
            tracing::info!(target: "skyport::request", "chained {path} component={id} status={}", response.status().as_u16());
            Ok(response)
        })
    })
}

fn private_match<'a>(route: &'a Route, path: &str) -> RouteMatch<'a> {
    RouteMatch {
        route,
        path_info: path.to_string(),
        params: Vec::new(),
    }
}

fn new_store(app: &Arc<App>, prepared: &Prepared) -> anyhow::Result<Store<HostState>> {
    let grants = prepared.grants.clone();
    let mut wasi = WasiCtxBuilder::new();
    wasi.envs(&grants.environment)
        .inherit_stdout()
        .inherit_stderr();
    // Network access goes through wasi:http and its allow-list only.
    wasi.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    for (host_dir, guest) in &grants.mounts {
        wasi.preopened_dir(host_dir, guest, FsPerms::ReadOnly)?;
    }
    let limits = grants.limits;
    let state = HostState {
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        hooks: OutboundHooks {
            component: prepared.id.as_str().into(),
            allow: grants.allowed_hosts.clone(),
            metrics: app.metrics.clone(),
            timeouts: app.timeouts,
            chain: chain(app),
        },
        grants,
        memory: MemoryLimiter {
            max: limits.memory,
            exceeded: false,
        },
        cpu_used: std::time::Duration::ZERO,
        cpu_mark: None,
        killed: None,
    };
    let mut store = Store::new(&app.runtime.engine, state);
    store.limiter(|s| &mut s.memory);
    // The callback runs only while Wasm executes. Each call adds the thread's
    // CPU time spent since the previous call on the same thread, so time spent
    // waiting on I/O or descheduled on a busy machine is not charged.
    let budget = limits.cpu_time;
    let cpu_ms = budget.as_millis();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut ctx| {
        let s = ctx.data_mut();
        let now = (std::thread::current().id(), crate::cpu::thread_time());
        if let Some((thread, at)) = s.cpu_mark {
            if thread == now.0 {
                s.cpu_used += now.1.saturating_sub(at);
            }
        }
        s.cpu_mark = Some(now);
        if s.cpu_used > budget {
            s.killed = Some(Kill::CpuTime);
            wasmtime::bail!("CPU time limit of {cpu_ms} ms exceeded (raise `cpu_time_ms` under [limits] in the runtime config)");
        }
        Ok(UpdateDeadline::Yield(1))
    });
    Ok(store)
}

async fn run<B>(
    app: &Arc<App>,
    prepared: &Arc<Prepared>,
    m: &RouteMatch<'_>,
    mut req: Request<B>,
    peer: SocketAddr,
    local: SocketAddr,
) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    spin_headers(&mut req, m, &app.manifest.base, peer, local);
    let id = prepared.id.clone();
    let mut store = match new_store(app, prepared) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(component = %id, "cannot prepare the instance: {e:#}");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
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
    let pre = prepared.pre.clone();
    let metrics = app.metrics.clone();
    let task_id = id.clone();
    let task = tokio::spawn(async move {
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
            text(StatusCode::BAD_GATEWAY, format!("Bad Gateway: {code:?}"))
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
            None => text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        },
    }
}
