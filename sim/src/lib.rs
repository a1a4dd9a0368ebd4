//! An emulator of the Microsoft identity platform, the Azure Resource Manager
//! subset Skyport uses, the Retail Prices API, a blob front door, the
//! DigitalOcean API v2 subset for Droplets, DNS and Spaces keys,
//! DigitalOcean's OAuth sign-in and the Spaces S3 data plane — one server,
//! started in-process by tests ([`Sim::spawn`]) or by `skyport sim`.
//!
//! `world` is the seed and `state` the live world; `identity`, `arm/`,
//! `prices` and `blob` serve the wire formats of reference/azure.md,
//! `digitalocean/` DigitalOcean's under `/v2/`, its OAuth authorization
//! server under `/v1/oauth/` and Spaces' S3 endpoints under
//! `/_spaces/{region}/` (dispatched before the blob paths, which an
//! underscore never starts); `admin` scripts the world; this file routes
//! requests and injects faults. `azurite` and `moto` start the real back
//! ends the blob and Spaces front doors forward to once the world names
//! them (`child` is what the two share), and `python` finds or makes the
//! venvs the tests drive independent clients from.

pub mod admin;
pub mod arm;
pub mod azurite;
pub mod blob;
pub mod child;
pub mod digitalocean;
pub mod http;
pub mod identity;
pub mod jwt;
pub mod moto;
pub mod prices;
pub mod python;
pub mod sharedkey;
pub mod state;
pub mod tls;
pub mod world;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::http::{Req, Resp};
use crate::state::{guid, Logged, State};
pub use admin::Command;
pub use world::World;

/// A running emulator.
pub struct Sim {
    state: Arc<Mutex<State>>,
    /// `http://127.0.0.1:PORT` (`https://` with TLS): the identity
    /// authority, ARM endpoint and prices host all at once.
    pub url: String,
    /// With TLS, the PEM of the authority that signed its certificate.
    pub ca_pem: Option<String>,
    _runtime: Option<std::thread::JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Creates the world's seeded resources: resource groups and DNS zones.
fn seed(state: &mut State) {
    for z in state.world.dns_zones.clone() {
        let rg_id = format!(
            "/subscriptions/{}/resourceGroups/{}",
            z.subscription, z.resource_group
        );
        if state.resource(&rg_id).is_none() {
            let body = json!({ "id": rg_id, "name": z.resource_group, "type": "Microsoft.Resources/resourceGroups", "location": z.resource_group_location, "tags": {}, "properties": { "provisioningState": "Succeeded" } });
            state.resources.insert(
                rg_id.to_ascii_lowercase(),
                state::Resource {
                    id: rg_id.clone(),
                    kind: "resourceGroups".into(),
                    subscription: z.subscription.clone(),
                    resource_group: Some(z.resource_group.clone()),
                    body,
                },
            );
        }
        let g = arm::store::Group {
            sub: z.subscription.clone(),
            rg: z.resource_group.clone(),
        };
        arm::dns::create_zone(state, &g, &z.name, None);
    }
}

impl Sim {
    /// Starts the emulator on `addr` inside the current tokio runtime.
    pub async fn start(world: World, addr: &str) -> anyhow::Result<Sim> {
        Sim::start_from(world, addr, None).await
    }

    /// [`Sim::start`], continuing from a snapshot of an earlier run.
    pub async fn start_from(
        world: World,
        addr: &str,
        snapshot: Option<state::Snapshot>,
    ) -> anyhow::Result<Sim> {
        Sim::start_with(world, addr, snapshot, None).await
    }

    /// [`Sim::start_from`], serving https with `tls` when given.
    pub async fn start_with(
        world: World,
        addr: &str,
        snapshot: Option<state::Snapshot>,
        tls: Option<tls::Tls>,
    ) -> anyhow::Result<Sim> {
        world.check().map_err(anyhow::Error::msg)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr()?);
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let mut st = State::new(world, url.clone());
        seed(&mut st);
        if let Some(s) = snapshot {
            st.restore(s);
        }
        // After the restore: the DigitalOcean seed's domains live in the
        // snapshot, and one made before domains existed gains them here.
        digitalocean::domains::seed(&mut st);
        let state = Arc::new(Mutex::new(st));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handler_state = state.clone();
        let handler = Arc::new(move |req: Req| {
            let state = handler_state.clone();
            Box::pin(async move { route(state, req).await })
                as std::pin::Pin<Box<dyn std::future::Future<Output = Resp> + Send>>
        });
        tokio::spawn(async move {
            tokio::select! {
                _ = http::serve(listener, handler, acceptor) => {}
                _ = rx => {}
            }
        });
        Ok(Sim {
            state,
            url,
            ca_pem,
            _runtime: None,
            shutdown: Some(tx),
        })
    }

    /// Starts the emulator on an ephemeral 127.0.0.1 port with a runtime of
    /// its own, for synchronous tests.
    pub fn spawn(world: World) -> anyhow::Result<Sim> {
        Sim::spawn_from(world, "127.0.0.1:0", None)
    }

    /// [`Sim::spawn`] on `addr`, continuing from a snapshot of an earlier run.
    pub fn spawn_from(
        world: World,
        addr: &str,
        snapshot: Option<state::Snapshot>,
    ) -> anyhow::Result<Sim> {
        Sim::spawn_with(world, addr, snapshot, None)
    }

    /// [`Sim::spawn_from`], serving https with `tls` when given.
    pub fn spawn_with(
        world: World,
        addr: &str,
        snapshot: Option<state::Snapshot>,
        tls: Option<tls::Tls>,
    ) -> anyhow::Result<Sim> {
        let addr = addr.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("skyport-sim".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                rt.block_on(async move {
                    match Sim::start_with(world, &addr, snapshot, tls).await {
                        Ok(mut sim) => {
                            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                            let inner = sim.shutdown.take();
                            let _ = tx.send(Ok((
                                sim.state.clone(),
                                sim.url.clone(),
                                sim.ca_pem.clone(),
                                stop_tx,
                            )));
                            let _ = stop_rx.await;
                            drop(inner);
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })?;
        let (state, url, ca_pem, stop) = rx.recv()??;
        Ok(Sim {
            state,
            url,
            ca_pem,
            _runtime: Some(handle),
            shutdown: Some(stop),
        })
    }

    /// What of the live state outlives a restart (see [`state::Snapshot`]).
    pub fn snapshot(&self) -> state::Snapshot {
        lock(&self.state).snapshot()
    }

    /// Keeps the state in `path` from now on: written every `every` (to a
    /// temporary file, then renamed, so a kill never leaves half a file) for
    /// as long as the process runs. Read it back with [`Sim::spawn_from`].
    pub fn keep_in(&self, path: std::path::PathBuf, every: std::time::Duration) {
        let state = self.state.clone();
        let url = self.url.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(every);
            let snapshot = lock(&state).snapshot();
            let port = url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
            let saved = serde_json::json!({ "port": port, "snapshot": snapshot });
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, saved.to_string()).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        });
    }

    /// Changes the world.
    pub fn command(&self, command: Command) -> Result<(), String> {
        admin::apply(&mut lock(&self.state), command)
    }

    /// Every resource that exists (id, type, provisioningState).
    pub fn inventory(&self) -> Vec<serde_json::Value> {
        admin::inventory(&lock(&self.state))
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    /// Runs `f` on the live state (for assertions no command covers).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// The token endpoint of `tenant` (`common`, `organizations` or an id).
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.url)
    }

    pub fn authorize_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/authorize", self.url)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A chance in [0, 1).
fn chance() -> f64 {
    let b = uuid::Uuid::new_v4().as_u128();
    (b >> 75) as f64 / (1u64 << 53) as f64
}

/// Picks the fault that applies to a request, spending its count.
fn take_fault(state: &mut State, req: &Req) -> Option<state::Fault> {
    let path = req.path.to_ascii_lowercase();
    let i = state.faults.iter().position(|f| {
        (f.path == "*" || path.contains(&f.path.to_ascii_lowercase()))
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(req.method.as_str()))
            && f.count != Some(0)
    })?;
    if let Some(p) = state.faults[i].probability {
        let draw = match state.fault_rng.as_mut() {
            Some(x) => {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                (*x >> 11) as f64 / (1u64 << 53) as f64
            }
            None => chance(),
        };
        if draw >= p {
            return None;
        }
    }
    let f = state.faults[i].clone();
    if let Some(c) = state.faults[i].count.as_mut() {
        *c -= 1;
    }
    Some(f)
}

/// `/{tenant}/oauth2/v2.0/…` and `/{tenant}/v2.0/…`: the second and third
/// segments together, so a blob container named `oauth2` is not taken for one.
fn is_identity(segments: &[String]) -> bool {
    let at = |i: usize| segments.get(i).map(|s| s.to_ascii_lowercase());
    match at(1).as_deref() {
        Some("oauth2") => at(2).as_deref() == Some("v2.0"),
        Some("v2.0") => true,
        _ => false,
    }
}

/// Whether ARM (or the identity platform) sends `Retry-After` with `status`:
/// throttling (429) and unavailability (503) only. Long-running-operation
/// polls carry it too, but those are answered by `arm::lro`, not by faults.
pub fn sends_retry_after(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// Which service a faulted request was for: each answers in its own format.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    Identity,
    Blob,
    Arm,
    /// Answers its faults itself, with its rate-limit headers.
    DigitalOcean,
    /// Answers its faults itself, in S3's XML.
    Spaces,
}

fn fault_response(f: &state::Fault, service: Service) -> Option<Resp> {
    if f.drop_connection {
        let mut r = Resp::new(500);
        r.drop_connection = true;
        return Some(r);
    }
    if matches!(service, Service::DigitalOcean | Service::Spaces) {
        return None;
    }
    let status = f.status?;
    let retry = f.retry_after.unwrap_or(1);
    let resp = if service == Service::Blob {
        // The Blob service's XML error, not ARM's JSON envelope.
        let (code, message) = match status {
            429 | 503 => (
                "ServerBusy",
                "The server is currently unable to receive requests. Please retry your request.",
            ),
            400 => ("InvalidInput", "One of the request inputs is not valid."),
            403 => (
                "AuthorizationFailure",
                "This request is not authorized to perform this operation.",
            ),
            404 => ("ResourceNotFound", "The specified resource does not exist."),
            500..=599 => (
                "InternalError",
                "The server encountered an internal error. Please retry the request.",
            ),
            _ => ("InvalidInput", "One of the request inputs is not valid."),
        };
        blob::xml_error(status, code, message, "")
    } else if service == Service::Identity {
        identity::token_error(
            status,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        )
    } else if status == 429 {
        arm::errors::arm_error(429, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type - 'Read_ObservationWindow_00:05:00'. For more information, see - https://aka.ms/srpthrottlinglimits")
            .header("x-ms-ratelimit-remaining-subscription-reads", "0")
            .header("x-ms-ratelimit-remaining-subscription-writes", "0")
    } else {
        let (code, message) = match status {
            400 => ("BadRequest", "The request is invalid."),
            401 => ("AuthenticationFailed", "Authentication failed."),
            403 => ("AuthorizationFailed", "The client does not have authorization to perform this action."),
            404 => ("ResourceNotFound", "The resource was not found."),
            409 => ("Conflict", "The request conflicts with the current state of the resource."),
            502 => ("BadGateway", "The server received an invalid response from an upstream server. Please retry the request."),
            503 => ("ServiceUnavailable", "The server encountered a temporary error. Please retry the request."),
            504 => ("GatewayTimeout", "The gateway did not receive a response within the specified time period."),
            _ => ("InternalServerError", "The server encountered a temporary error. Please retry the request."),
        };
        arm::errors::arm_error(status, code, message)
    };
    Some(if sends_retry_after(status) {
        resp.header("retry-after", retry.to_string())
    } else {
        resp
    })
}

async fn route(state: Arc<Mutex<State>>, req: Req) -> Resp {
    let segments = req.segments();
    if segments.first().map(String::as_str) == Some("_sim") {
        return admin::handle(&mut lock(&state), &req);
    }
    let fault = take_fault(&mut lock(&state), &req);
    if let Some(ms) = fault.as_ref().and_then(|f| f.latency_ms) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let do_oauth = digitalocean::oauth::is_request(&segments);
    let spaces_path = digitalocean::spaces::is_request(&segments);
    let do_path = do_oauth || spaces_path || digitalocean::is_request(&segments);
    let identity_path = !do_path && is_identity(&segments);
    let blob_path = !do_path && !identity_path && blob::is_blob_request(&lock(&state), &req);
    let service = if spaces_path {
        Service::Spaces
    } else if do_path {
        Service::DigitalOcean
    } else if identity_path {
        Service::Identity
    } else if blob_path {
        Service::Blob
    } else {
        Service::Arm
    };
    let mut resp = match fault.as_ref().and_then(|f| fault_response(f, service)) {
        Some(r) => r,
        None if spaces_path => {
            let plan = digitalocean::spaces::plan(&mut lock(&state), &req, fault.as_ref());
            match plan {
                digitalocean::spaces::Plan::Answer(r) => r,
                digitalocean::spaces::Plan::Forward(f) => {
                    let answer = digitalocean::spaces::forward(&f).await;
                    digitalocean::spaces::after(&mut lock(&state), &req, f.then, answer)
                }
            }
        }
        None if do_oauth => digitalocean::oauth::handle(&mut lock(&state), &req, fault.as_ref()),
        None if do_path => digitalocean::handle(&mut lock(&state), &req, fault.as_ref()),
        None => {
            let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
            let l: Vec<&str> = lower.iter().map(String::as_str).collect();
            match l.as_slice() {
                _ if blob_path => {
                    let plan = blob::plan(&mut lock(&state), &req);
                    match plan {
                        blob::Plan::Answer(r) => r,
                        blob::Plan::Forward {
                            url,
                            headers,
                            method,
                            body,
                            container,
                        } => {
                            if let Some((base, path)) = container {
                                blob::ensure_container(&base, &path).await;
                            }
                            blob::forward(&url, headers, method, body).await
                        }
                    }
                }
                [_, "oauth2", "v2.0", "authorize"] => {
                    identity::authorize(&mut lock(&state), &segments[0], &req)
                }
                [_, "oauth2", "v2.0", "token"] => {
                    identity::token(&mut lock(&state), &segments[0], &req)
                }
                [_, "v2.0", "adminconsent"] => {
                    identity::admin_consent(&mut lock(&state), &segments[0], &req)
                }
                [_, "v2.0", ".well-known", "openid-configuration"] => {
                    identity::openid_configuration(&lock(&state), &segments[0])
                }
                [_, "discovery", "v2.0", "keys"] | ["common", "discovery", "keys"] => {
                    Resp::json(200, &jwt::jwks(&lock(&state).key))
                }
                ["api", "retail", "prices"] => prices::handle(&lock(&state), &req),
                [] => Resp::json(
                    200,
                    &json!({ "emulator": "skyport-sim", "authority": lock(&state).base_url, "admin": "/_sim/world" }),
                ),
                _ => arm::handle(&mut lock(&state), &req),
            }
        }
    };
    if !identity_path && !do_path {
        let correlation = req
            .header("x-ms-correlation-request-id")
            .map(str::to_string)
            .unwrap_or_else(guid);
        resp = resp
            .header("x-ms-request-id", guid())
            .header("x-ms-correlation-request-id", correlation)
            .header("x-ms-routing-request-id", format!("WESTEUROPE:{}", guid()));
    }
    let last = segments.last().map(String::as_str);
    let grant = if identity_path && last == Some("token") {
        Some(req.form().get("grant_type").cloned().unwrap_or_default())
    } else if do_oauth && matches!(last, Some("token" | "refresh")) {
        Some(digitalocean::oauth::grant_type(&req).unwrap_or_default())
    } else {
        None
    };
    lock(&state).log.push(Logged {
        method: req.method.to_string(),
        path: req.path.clone(),
        status: resp.status.as_u16(),
        grant,
    });
    resp
}
