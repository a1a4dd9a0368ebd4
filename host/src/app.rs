//! Loading an app: manifest + runtime config → components composed, compiled,
//! linked and pre-instantiated, with their grants resolved.
//!
//! Everything that can be refused is refused here, before the first request,
//! with a [`ConfigError`] naming the file, the field and the fix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::capabilities::http_trigger::routes::{Route, Router};
use crate::capabilities::http_trigger::{self, RawStaticResponse, TriggerRoute, TriggerTarget};
use crate::capabilities::key_value::KeyValue;
use crate::capabilities::outbound_http::OutboundHttp;
use crate::capabilities::sqlite::Sqlite;
use crate::capabilities::variables::{self, Variables};
use crate::capabilities::{self, cron_trigger, Capability, GrantContext};
use crate::compose::{self, DENIED_NAMESPACE};
use crate::engine::{CompileCache, Compiled, Runtime};
use crate::error::ConfigError;
use crate::manifest::Manifest;
use crate::metrics::Metrics;
use crate::runtime_config::RuntimeConfig;
use crate::state::{Grants, HostState};
use crate::{deny, files, linking};

/// How to load the app.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    /// Where `default` stores and databases live; `<app dir>/.spin` by default.
    pub state_dir: Option<PathBuf>,
    /// The compile cache; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// A path on the app listener that serves metrics, if any.
    pub metrics_path: Option<String>,
    /// PEM files of authorities outbound TLS trusts beside the runtime
    /// config's (the sandbox's emulator, when it serves https).
    pub trust: Vec<PathBuf>,
}

/// What a route leads to.
#[derive(Debug, Clone)]
pub enum Target {
    Component(String),
    Static(RawStaticResponse),
}

/// A component ready to serve requests.
pub struct Prepared {
    pub id: String,
    /// Its `wasi:http/incoming-handler`, for HTTP triggers and chaining.
    pub pre: Option<ProxyPre<HostState>>,
    /// Its `handle-cron-event`, for cron triggers.
    pub cron: Option<cron_trigger::SpinCronPre<HostState>>,
    pub grants: Arc<Grants>,
    /// One permit per instance that may run at once (`max_concurrency`).
    pub running: Arc<tokio::sync::Semaphore>,
}

/// A loaded app.
pub struct App {
    pub manifest: Manifest,
    pub router: Router<Target>,
    pub components: HashMap<String, Arc<Prepared>>,
    pub runtime: Runtime,
    pub metrics: Arc<Metrics>,
    pub metrics_path: Option<String>,
    /// One connection to every database file a component was granted, open
    /// for the app's life: runs open and close their own, and SQLite tears
    /// a WAL down when its last connection closes, so without this a run
    /// opening just then can fail `database is locked` without waiting.
    _databases: Vec<std::sync::Mutex<rusqlite::Connection>>,
}

fn config_err(
    file: &Path,
    field: impl Into<String>,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> anyhow::Error {
    ConfigError::new(file, field, problem, fix).into()
}

impl App {
    pub fn load(opts: &LoadOptions) -> anyhow::Result<App> {
        let manifest = Manifest::load(&opts.manifest)?;
        let mf = manifest.path.clone();
        let state_dir = opts
            .state_dir
            .clone()
            .unwrap_or_else(|| manifest.dir.join(".spin"));
        std::fs::create_dir_all(&state_dir).map_err(|e| {
            config_err(
                &mf,
                "",
                format!(
                    "cannot create the state directory {}: {e}",
                    state_dir.display()
                ),
                "make the app directory writable or pass `--state-dir`",
            )
        })?;
        let mut rc = match &opts.runtime_config {
            Some(p) => RuntimeConfig::load(p, &state_dir)?,
            None => RuntimeConfig::defaults(&state_dir),
        };
        for pem in &opts.trust {
            rc.outbound_http.tls = rc.outbound_http.tls.adding(pem).map_err(|problem| {
                config_err(
                    pem,
                    "",
                    problem,
                    "remove the file to have the sandbox make a new authority",
                )
            })?;
        }
        if let Some(p) = &opts.runtime_config {
            for id in rc.limited_components() {
                if !manifest.components.contains_key(id) {
                    return Err(config_err(
                        p,
                        format!("limits.component.{id}"),
                        format!("the app has no component `{id}`"),
                        "use a component id from the manifest",
                    ));
                }
            }
        }

        let values = variables::resolve_app(&manifest.variables, &rc.variables).map_err(|missing| {
            let name = &missing[0];
            config_err(
                &mf,
                format!("variables.{name}"),
                format!("required variable `{name}` has no value"),
                format!("set SPIN_VARIABLE_{}=… in the environment, or give it a value in a runtime-config variables provider", name.to_ascii_uppercase()),
            )
        })?;
        let values = Arc::new(values);
        let grant_ctx = GrantContext {
            manifest: &mf,
            values: &values,
        };

        let max_memory = manifest
            .components
            .keys()
            .map(|id| rc.limits(id).memory)
            .max()
            .unwrap_or(128 << 20);
        let runtime = Runtime::new(max_memory)?;
        let cache = CompileCache::new(opts.cache_dir.clone());
        let metrics = Arc::new(Metrics::default());

        let mut components = HashMap::new();
        let mut database_files = std::collections::BTreeSet::new();
        for (id, c) in &manifest.components {
            let field = |f: &str| format!("component.{id}.{f}");
            // Each capability's grant, from the manifest and the runtime config.
            let variables = Variables::grant(c, &rc.variables, &grant_ctx)?;
            let key_value = KeyValue::grant(c, &rc.key_value, &grant_ctx)?;
            let sqlite = Sqlite::grant(c, &rc.sqlite, &grant_ctx)?;
            let outbound = OutboundHttp::grant(c, &rc.outbound_http, &grant_ctx)?;
            database_files.extend(
                key_value
                    .values()
                    .chain(sqlite.values())
                    .map(|db| db.path.clone()),
            );
            let mounts = files::prepare(
                &manifest.dir,
                &c.files,
                &c.exclude_files,
                &state_dir.join("files").join(id),
            )
            .map_err(|p| {
                config_err(
                    &mf,
                    field("files"),
                    p,
                    "list files that exist under the app directory",
                )
            })?;

            let (component, linker) =
                load_component(&mf, id, c, &runtime, &cache, &metrics, &field)?;
            let instance_pre = linker
                .instantiate_pre(&component)
                .map_err(|e| unsatisfied(&mf, id, &runtime, &component, e))?;
            // A component answers the triggers that name it: an HTTP
            // trigger (or, with no trigger, service chaining) needs the
            // wasi:http handler, a cron trigger `handle-cron-event`.
            let cron_target = manifest.cron.iter().any(|t| t.component == *id);
            let http_target = !cron_target
                || manifest
                    .triggers
                    .iter()
                    .any(|t| matches!(&t.target, TriggerTarget::Component(c) if c == id));
            let bound = |e: (String, String)| config_err(&mf, field("source"), e.0, e.1);
            let pre = http_trigger::bind(instance_pre.clone(), http_target).map_err(bound)?;
            let cron = cron_trigger::bind(instance_pre, cron_target).map_err(bound)?;
            let limits = rc.limits(id);
            let grants = Arc::new(Grants {
                component: id.as_str().into(),
                variables: Arc::new(variables),
                key_value: Arc::new(key_value),
                sqlite: Arc::new(sqlite),
                outbound_http: Arc::new(outbound),
                environment: c
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                mounts,
                limits,
            });
            components.insert(
                id.clone(),
                Arc::new(Prepared {
                    id: id.clone(),
                    pre,
                    cron,
                    grants,
                    running: Arc::new(tokio::sync::Semaphore::new(limits.max_concurrency)),
                }),
            );
        }

        let mut routes: Vec<(Route, Target)> = Vec::new();
        for t in &manifest.triggers {
            let target = match &t.target {
                TriggerTarget::Component(id) => Target::Component(id.clone()),
                TriggerTarget::Static(s) => Target::Static(s.clone()),
            };
            if let TriggerRoute::Public(r) = &t.route {
                routes.push((r.clone(), target));
            }
        }
        // The metrics path shadows wildcard routes; an exact route on it is a conflict.
        if let Some(path) = &opts.metrics_path {
            if let Some((r, _)) = routes.iter().find(|(r, _)| r.pattern() == path.as_str()) {
                return Err(config_err(
                    &mf,
                    "trigger.http",
                    format!("route `{}` is also the metrics path", r.raw()),
                    "pass another `--metrics` path or an address",
                ));
            }
        }

        let mut databases = Vec::new();
        for file in &database_files {
            // As Spin does, a store's directory is made if it is missing.
            if let Some(parent) = file.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let conn = capabilities::databases::open_database(file).map_err(|e| {
                config_err(
                    &mf,
                    "",
                    format!("cannot open the database {}: {e}", file.display()),
                    "make its directory writable, or map the label to another `path` in the runtime config",
                )
            })?;
            databases.push(std::sync::Mutex::new(conn));
        }

        Ok(App {
            manifest,
            router: Router::new(routes),
            components,
            runtime,
            metrics,
            metrics_path: opts.metrics_path.clone(),
            _databases: databases,
        })
    }
}

/// Reads, compiles and links component `id`: with its dependencies linked
/// on demand (`linking.rs`) when their calls can pass through the host,
/// composed into it as Spin composes them otherwise.
fn load_component(
    mf: &Path,
    id: &str,
    c: &crate::manifest::Component,
    runtime: &Runtime,
    cache: &CompileCache,
    metrics: &Arc<Metrics>,
    field: &dyn Fn(&str) -> String,
) -> anyhow::Result<(Component, Linker<HostState>)> {
    let bytes = read_source(mf, &field("source"), &c.source)?;
    // One log line per compiled piece (the component, each dependency):
    // whether it came from the compile cache, and how long it took.
    let compile = |bytes: &[u8], source: &Path| {
        let started = Instant::now();
        let (component, how) =
            cache.load(&runtime.engine, bytes).map_err(|e| {
                config_err(
                mf,
                field("source"),
                format!("`{}` is not a valid Wasm component: {e:#}", source.display()),
                "build it for wasm32-wasip2 as a component (cargo build --target wasm32-wasip2)",
            )
            })?;
        tracing::info!(
            component = %id,
            source = %source.display(),
            "{} in {:.0?}",
            if how == Compiled::FromCache { "loaded from the compile cache" } else { "compiled" },
            started.elapsed()
        );
        anyhow::Ok(component)
    };
    if c.dependencies.is_empty() {
        let component = compile(&bytes, &c.source)?;
        let linker = linker_for(runtime, &component, id)?;
        return Ok((component, linker));
    }
    let mut deps = Vec::new();
    for d in &c.dependencies {
        let dep_field = field(&format!("dependencies.\"{}\"", d.import));
        deps.push(compose::Dep {
            name: &d.name,
            bytes: read_source(mf, &dep_field, &d.source)?,
            export: d.export.as_deref(),
            inherits: &d.inherits,
        });
    }
    let refused = |e: compose::ComposeError| {
        config_err(
            mf,
            field("dependencies"),
            format!("failed to resolve dependencies for component {id:?}: {e}"),
            e.fix(),
        )
    };
    let resolved = compose::resolve(id, &bytes, &deps).map_err(refused)?;
    let main = compile(&bytes, &c.source)?;
    if !linking::passable(&runtime.engine, &main, &resolved.links) {
        let composed = resolved.compose().map_err(refused)?;
        let component = compile(&composed, &c.source)?;
        let linker = linker_for(runtime, &component, id)?;
        return Ok((component, linker));
    }
    let mut dependencies = Vec::new();
    for planned in &compose::separately(&deps).map_err(refused)? {
        let source = &c.dependencies[planned.index].source;
        let component = compile(&planned.bytes, source)?;
        let pre = linker_for(runtime, &component, id)?
            .instantiate_pre(&component)
            .map_err(|e| {
                config_err(
                    mf,
                    field("dependencies"),
                    format!("dependency '{}' cannot be linked: {e:#}", planned.name),
                    "build the dependency against wasi 0.2 and the interfaces skyport provides",
                )
            })?;
        dependencies.push(Arc::new(linking::Dependency {
            parent: id.to_string(),
            name: planned.name.clone(),
            component,
            pre,
            metrics: metrics.clone(),
        }));
    }
    let mut linker = linker_for(runtime, &main, id)?;
    linking::add_to_linker(
        &mut linker,
        &runtime.engine,
        &main,
        &resolved.links,
        &dependencies,
    )
    .map_err(|e| {
        config_err(
            mf,
            field("dependencies"),
            format!("the dependencies of component {id:?} cannot be linked: {e:#}"),
            "check that each dependency exports what its key names, with the types the component imports",
        )
    })?;
    Ok((main, linker))
}

fn read_source(manifest: &Path, field: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let problem = if e.kind() == std::io::ErrorKind::NotFound {
            format!("file `{}` does not exist", path.display())
        } else {
            format!("cannot read `{}`: {e}", path.display())
        };
        config_err(
            manifest,
            field,
            problem,
            "build the component first (`skyport build`) or correct the path",
        )
    })
}

fn linker_for(
    runtime: &Runtime,
    component: &Component,
    id: &str,
) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(&runtime.engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    capabilities::add_to_linker(&mut linker)?;
    deny::add_denied_stubs(&mut linker, &runtime.engine, component, id)?;
    // Interfaces that only define types (records, variants) carry nothing to
    // link; an empty instance satisfies them.
    for (name, item) in component.component_type().imports(&runtime.engine) {
        if type_only(runtime, &item.ty)
            && !name.starts_with("wasi:")
            && !name.starts_with("fermyon:")
            && !name.starts_with("spin:")
        {
            linker.instance(name)?;
        }
    }
    Ok(linker)
}

/// Interfaces the host provides, for naming what an app imports that it does not.
const PROVIDED: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
    "wasi:http/types@0.2",
    "wasi:http/outgoing-handler@0.2",
    "fermyon:spin/variables@2.0.0",
    "fermyon:spin/key-value@2.0.0",
    "fermyon:spin/sqlite@2.0.0",
    "spin:sqlite/sqlite@3.0.0",
    DENIED_NAMESPACE,
];

/// Whether a component import is an interface that only defines types.
fn type_only(runtime: &Runtime, item: &wasmtime::component::types::ComponentItem) -> bool {
    match item {
        wasmtime::component::types::ComponentItem::ComponentInstance(i) => i
            .exports(&runtime.engine)
            .all(|(_, e)| matches!(e.ty, wasmtime::component::types::ComponentItem::Type(_))),
        _ => false,
    }
}

fn unsatisfied(
    mf: &Path,
    id: &str,
    runtime: &Runtime,
    component: &Component,
    err: wasmtime::Error,
) -> anyhow::Error {
    let missing: Vec<String> = component
        .component_type()
        .imports(&runtime.engine)
        .filter(|(_, item)| !type_only(runtime, &item.ty))
        .map(|(name, _)| name.to_string())
        .filter(|name| !PROVIDED.iter().any(|p| name.starts_with(p)))
        .collect();
    if missing.is_empty() {
        return config_err(
            mf,
            format!("component.{id}"),
            format!("the component cannot be linked: {err:#}"),
            "rebuild it against wasi 0.2 and spin-sdk 5.x interfaces",
        );
    }
    config_err(
        mf,
        format!("component.{id}.dependencies"),
        format!(
            "the component imports {}, which skyport does not provide and no dependency satisfies",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "add `[component.{id}.dependencies]` with `\"{}\" = {{ path = \"….wasm\" }}`",
            missing[0]
        ),
    )
}
