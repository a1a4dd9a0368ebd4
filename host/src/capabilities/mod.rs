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
pub mod databases;
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
