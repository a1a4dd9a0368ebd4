//! What a component can be granted and what can run it, one module per
//! capability, cut the way Spin's factor crates are: `variables`,
//! `key_value`, `sqlite` and `outbound_http` give a component host
//! interfaces; `http_trigger` and `cron_trigger` run it.
//!
//! Every module has the same four parts, in this order, so a newcomer adds a
//! capability by adding one module (and naming it where the lists below and
//! the two file schemas gather them):
//!
//! 1. **manifest section** — what `[component.<id>]` (or, for a trigger, its
//!    `[[trigger.<type>]]` tables) says, checked when `spin.toml` is read;
//! 2. **runtime-config section** — its tables of the runtime-config file, as
//!    written and checked (a trigger has none of its own);
//! 3. **linker setup** — the host interfaces it adds (for a trigger: the
//!    export it calls, bound once per component);
//! 4. **per-instance state** — what one run's `Store` holds for it, made
//!    fresh for every run from the component's grant.
//!
//! The interface capabilities implement [`Capability`], through which
//! `app.rs` configures, grants and links them all alike. The two file schemas
//! stay whole (`manifest.rs`, `runtime_config.rs`) because Spin refuses
//! unknown fields with their line and column, which serde gives only for one
//! `deny_unknown_fields` struct per table; each field there names the module
//! that owns it.

pub mod cron_trigger;
pub mod http_trigger;
pub mod key_value;
pub mod outbound_http;
pub mod sqlite;
pub mod variables;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use wasmtime::component::Linker;

use crate::app::App;
use crate::error::ConfigError;
use crate::manifest::{Component, RawVariable};
use crate::state::HostState;

wasmtime::component::bindgen!({
    path: "wit",
    world: "skyport:host/capabilities",
    with: {
        "fermyon:spin/key-value.store": key_value::KvStore,
        "fermyon:spin/sqlite.connection": sqlite::Connection,
        "spin:sqlite/sqlite.connection": sqlite::Connection,
    },
});

/// Where a runtime-config section was read from, for paths and messages.
pub struct RuntimeContext<'a> {
    /// The runtime-config file (or the manifest, when there is none).
    pub file: &'a Path,
    /// The directory the file's relative paths are resolved against.
    pub dir: &'a Path,
    /// Where `default` stores and databases live.
    pub state_dir: &'a Path,
}

/// What a manifest section can check against.
pub struct ManifestContext<'a> {
    /// The manifest file, for messages.
    pub file: &'a Path,
    /// The app's `[variables]`.
    pub app_variables: &'a BTreeMap<String, RawVariable>,
}

/// What a grant can draw on beside its own configuration.
pub struct GrantContext<'a> {
    /// The manifest file, for messages.
    pub manifest: &'a Path,
    /// The app variables, resolved (templated grants render against them).
    pub values: &'a Arc<variables::Values>,
}

/// What one run's state is made from.
pub struct InstanceContext<'a> {
    pub app: &'a Arc<App>,
    pub component: &'a Arc<str>,
    /// Whether the run may chain to other components (HTTP-triggered runs
    /// only, as on Spin).
    pub chaining: bool,
}

/// One capability that gives components host interfaces.
pub trait Capability {
    /// Its part of the runtime-config file, as written.
    type RuntimeSection;
    /// That part checked: what every component's grant draws on.
    type Config;
    /// What one component was granted.
    type Grant;
    /// What one run of a component holds of it.
    type Instance;

    /// The manifest section: checks what `[component.<id>]` says about this
    /// capability.
    fn check_manifest(component: &Component, ctx: &ManifestContext<'_>) -> Result<(), ConfigError>;

    /// The runtime-config section, checked.
    fn configure(
        section: Self::RuntimeSection,
        ctx: &RuntimeContext<'_>,
    ) -> Result<Self::Config, ConfigError>;

    /// What `component` is granted, from its manifest and the configuration.
    fn grant(
        component: &Component,
        config: &Self::Config,
        ctx: &GrantContext<'_>,
    ) -> Result<Self::Grant, ConfigError>;

    /// The linker setup.
    fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()>;

    /// The per-instance state of one run.
    fn instance(grant: &Arc<Self::Grant>, ctx: &InstanceContext<'_>) -> Self::Instance;
}

/// Runs every interface capability's manifest section on `component`.
pub fn check_manifest(component: &Component, ctx: &ManifestContext<'_>) -> Result<(), ConfigError> {
    variables::Variables::check_manifest(component, ctx)?;
    key_value::KeyValue::check_manifest(component, ctx)?;
    sqlite::Sqlite::check_manifest(component, ctx)?;
    outbound_http::OutboundHttp::check_manifest(component, ctx)?;
    Ok(())
}

/// Adds every interface capability's host interfaces to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    variables::Variables::add_to_linker(linker)?;
    key_value::KeyValue::add_to_linker(linker)?;
    sqlite::Sqlite::add_to_linker(linker)?;
    outbound_http::OutboundHttp::add_to_linker(linker)?;
    Ok(())
}

/// One run's state for the capabilities that open databases by label
/// (key-value stores, SQLite): the component, the labels its grant maps to
/// files, and the resources (stores, connections) this run has open.
pub struct Labelled {
    component: Arc<str>,
    granted: Arc<key_value::Labels>,
    pub(crate) table: wasmtime::component::ResourceTable,
}

impl Labelled {
    pub(crate) fn new(grant: &Arc<key_value::Labels>, ctx: &InstanceContext<'_>) -> Labelled {
        Labelled {
            component: ctx.component.clone(),
            granted: grant.clone(),
            table: wasmtime::component::ResourceTable::new(),
        }
    }

    /// Opens the database granted as `label`. `None` when the component was
    /// not granted it; the log then names the manifest `field` that grants it.
    pub(crate) fn open_label(
        &self,
        what: &str,
        label: &str,
        field: &str,
    ) -> Option<rusqlite::Result<rusqlite::Connection>> {
        let Some(path) = self.granted.get(label) else {
            tracing::warn!(
                component = %self.component,
                "{what} `{label}` denied: add it to `{field}` in the component's manifest"
            );
            return None;
        };
        Some(open_guest_database(path))
    }
}

/// Opens a database file the way every label uses it: WAL journal so readers
/// do not block the writer, a busy timeout so concurrent writers wait instead
/// of failing, and `NORMAL` sync, which survives a killed process.
pub(crate) fn open_database(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    open_waiting(path, BUSY_WAIT)
}

/// How long a statement waits for another connection's lock.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn open_waiting(path: &Path, wait: std::time::Duration) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(wait)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    Ok(conn)
}

/// Opens a database for one run's guest calls, as [`open_database`] but
/// answering at once when the database is busy, so that [`patiently`]
/// decides where each wait happens (the open itself waits as it does).
fn open_guest_database(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let no_wait = std::time::Duration::ZERO;
    match open_waiting(path, no_wait) {
        Err(e) if is_busy(&e) => off_the_workers(|| {
            let conn = open_waiting(path, BUSY_WAIT)?;
            conn.busy_timeout(no_wait)?;
            Ok(conn)
        }),
        other => other,
    }
}

/// Runs one statement's work, `f`, for a guest. Guests run on the async
/// workers and yield mid-transaction (every epoch tick), so a statement that
/// waited for a lock there would hold a worker while the run holding the
/// lock waits for one to finish its transaction: with as many waiters as
/// workers, every one waits until it fails with "database is locked". So
/// `f` runs first with no wait, the common case, which costs nothing more;
/// only when the database is busy does it run again, waiting up to the busy
/// timeout, off the workers. A busy statement did nothing, so running it
/// again is safe.
pub(crate) fn patiently<T>(
    conn: &rusqlite::Connection,
    mut f: impl FnMut(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    match f(conn) {
        Err(e) if is_busy(&e) => off_the_workers(|| {
            conn.busy_timeout(BUSY_WAIT)?;
            let result = f(conn);
            conn.busy_timeout(std::time::Duration::ZERO)?;
            result
        }),
        other => other,
    }
}

/// Runs `f`, which may block, with `block_in_place` on a multi-threaded
/// runtime (this worker's other tasks move to another thread meanwhile), or
/// as it is elsewhere.
fn off_the_workers<T>(f: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}
