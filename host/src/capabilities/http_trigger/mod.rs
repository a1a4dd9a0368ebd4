//! The HTTP trigger: `[[trigger.http]]` routes (and `{ private = true }`
//! components reached only by service chaining) served by a hyper listener
//! that runs each request in a fresh instance. `routes.rs` matches paths as
//! Spin does; `serve.rs` is the listener, the limits and the chaining.

pub mod routes;
pub mod serve;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use wasmtime::component::InstancePre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::error::ConfigError;
use crate::manifest::RawComponentRef;
use crate::state::HostState;
use routes::Route;

// ---------------------------------------------------------------------------
// Manifest section: `[application.trigger.http] base` and `[[trigger.http]]`.
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    /// Read with every trigger's id by the manifest (`trigger_ids`), which
    /// makes one up when it is missing.
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<String>,
    route: RawRoute,
    #[serde(default)]
    component: Option<RawComponentRef>,
    #[serde(default)]
    executor: Option<RawExecutor>,
    #[serde(default)]
    static_response: Option<RawStaticResponse>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    #[serde(rename = "type")]
    kind: String,
}

/// `static_response = { status_code, headers, body }`: answered by the host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStaticResponse {
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
}

/// One checked `[[trigger.http]]`.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// Its id as Spin gives it: written, or `<component>-http-trigger`,
    /// `http-triggerN`.
    pub id: String,
    pub route: TriggerRoute,
    pub target: TriggerTarget,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TriggerRoute {
    Public(Route),
    Private,
}

#[derive(Debug, Clone)]
pub enum TriggerTarget {
    Component(String),
    Static(RawStaticResponse),
}

/// `[application.trigger.http]`: only Spin's deprecated `base`, which Spin
/// accepts as `/` (with a warning) and refuses otherwise, with its words.
pub(crate) fn check_settings(file: &Path, settings: &toml::Table) -> Result<(), ConfigError> {
    for (key, value) in settings {
        match (key.as_str(), value.as_str()) {
            ("base", Some("/")) => tracing::warn!(
                "This application has the deprecated trigger 'base' set to the default value '/'. This may be an error in the future!"
            ),
            ("base", Some(_)) => {
                return Err(ConfigError::new(
                    file,
                    "application.trigger.http.base",
                    "This application is using the deprecated trigger 'base' field. The base must be prepended to each [[trigger.http]]'s 'route'.",
                    "remove `base` and write it at the start of every route (`base = \"/api\"` and `route = \"/users\"` become `route = \"/api/users\"`)",
                ))
            }
            _ => {
                return Err(ConfigError::new(
                    file,
                    format!("application.trigger.http.{key}"),
                    "unknown HTTP trigger setting",
                    "remove it: `[application.trigger.http]` takes no settings",
                ))
            }
        }
    }
    Ok(())
}

/// Resolves a trigger's `component` (an id, or an inline table registered
/// under the name Spin gives it) into a component id: `(field, component,
/// index of the trigger among its type's)`.
pub(crate) type Resolve<'a> =
    dyn FnMut(&str, RawComponentRef, usize) -> Result<String, ConfigError> + 'a;

/// Checks the `[[trigger.http]]` tables; `ids` are their ids as Spin gives
/// them (written, or made up when not).
pub(crate) fn check(
    file: &Path,
    tables: Vec<toml::Table>,
    ids: &[String],
    resolve: &mut Resolve<'_>,
) -> Result<Vec<HttpTrigger>, ConfigError> {
    let err = |field: &str, problem: String, fix: &str| ConfigError::new(file, field, problem, fix);
    let mut triggers = Vec::new();
    let mut routes_seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (index, table) in tables.into_iter().enumerate() {
        let field = format!("trigger.http[{index}]");
        let rt: RawHttpTrigger = table.try_into().map_err(|e: toml::de::Error| {
            err(
                &field,
                e.message().trim().to_string(),
                "the fields are `route`, `component`, `executor`, `static_response` and `id`",
            )
        })?;
        if let Some(exec) = &rt.executor {
            // `spin` is Spin's other name for the `http` executor.
            if exec.kind != "http" && exec.kind != "spin" {
                return Err(err(
                    &format!("{field}.executor"),
                    format!("executor `{}` is not supported", exec.kind),
                    "use `executor = { type = \"http\" }` (the default) with a wasi:http component",
                ));
            }
        }
        let route = match rt.route {
            RawRoute::Path(p) => {
                let r = Route::parse(&p).map_err(|problem| {
                    err(&format!("{field}.route"), problem, "write a route such as `/api/...`, `/users/:id` or `/health`")
                })?;
                // As on Spin, a route written twice goes to the last trigger
                // that writes it; the earlier one is logged and unreachable.
                if let Some(prev) = routes_seen.insert(p.clone(), triggers.len()) {
                    duplicates.push((prev, p.clone()));
                }
                TriggerRoute::Public(r)
            }
            RawRoute::Private { private: true } => TriggerRoute::Private,
            RawRoute::Private { private: false } => {
                return Err(err(
                    &format!("{field}.route"),
                    "`{ private = false }` is not a route".into(),
                    "give a path such as `/api/...`, or `{ private = true }` for a component reachable only by service chaining",
                ))
            }
        };
        let target = match (rt.component, rt.static_response) {
            (Some(_), Some(_)) => {
                return Err(err(
                    &field,
                    "a trigger has either `component` or `static_response`, not both".into(),
                    "remove one of them",
                ))
            }
            (None, None) => {
                return Err(err(
                    &field,
                    "missing field `component`".into(),
                    "name the component this route runs: `component = \"my-component\"`",
                ))
            }
            (None, Some(s)) => TriggerTarget::Static(s),
            (Some(c), None) => TriggerTarget::Component(resolve(&field, c, index)?),
        };
        triggers.push(HttpTrigger {
            id: ids[index].clone(),
            route,
            target,
        });
    }
    if !duplicates.is_empty() {
        tracing::error!("The following component routes are duplicates and will never be used:");
    }
    for (replaced, route) in duplicates {
        let effective = routes_seen[&route];
        tracing::error!(
            "  {}: {route} (duplicate of {})",
            triggers[replaced].lookup_key(),
            triggers[effective].lookup_key()
        );
        triggers[replaced].route = TriggerRoute::Private;
    }
    let reserved = triggers.iter().any(
        |t| matches!(&t.route, TriggerRoute::Public(r) if r.raw().starts_with(serve::WELL_KNOWN)),
    );
    if reserved {
        tracing::error!(
            "Routes under {} are handled by the Spin runtime and will never be reached",
            serve::WELL_KNOWN
        );
    }
    Ok(triggers)
}

impl HttpTrigger {
    /// What Spin names the trigger by in its logs: the component it runs,
    /// else (a static response) its id.
    fn lookup_key(&self) -> &str {
        match &self.target {
            TriggerTarget::Component(c) => c,
            TriggerTarget::Static(_) => &self.id,
        }
    }
}

// ---------------------------------------------------------------------------
// Runtime-config section: none of its own; `[limits]` bounds every run,
// whatever triggers it.
//
// Linker setup: the export it calls, `wasi:http/incoming-handler@0.2.x`,
// bound once per component.
// ---------------------------------------------------------------------------

/// The component's HTTP handler; an error when `required` (an HTTP trigger
/// or service chaining runs it) and it has none.
pub(crate) fn bind(
    pre: InstancePre<HostState>,
    required: bool,
) -> Result<Option<ProxyPre<HostState>>, (String, String)> {
    match ProxyPre::new(pre) {
        Ok(p) => Ok(Some(p)),
        Err(_) if !required => Ok(None),
        Err(_) => Err((
            "the component does not export `wasi:http/incoming-handler@0.2.x`".into(),
            "build it as an HTTP component (spin-sdk's `#[http_component]`)".into(),
        )),
    }
}

// ---------------------------------------------------------------------------
// Per-instance state: the wasi:http context of the request's `Store`, and
// service chaining in the outbound hooks (HTTP-triggered runs only, as on
// Spin) — see `instance.rs` and `outbound_http`.
// ---------------------------------------------------------------------------
