//! Key-value: `fermyon:spin/key-value@2.0.0` over an embedded SQLite file
//! per label.
//!
//! Each `open` takes its own connection so that concurrent requests never
//! share a statement or a transaction; WAL mode keeps readers and writers
//! apart. A label the manifest does not grant answers access-denied.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rusqlite::OptionalExtension;
use serde::Deserialize;
use wasmtime::component::{HasSelf, Linker, Resource};

use super::databases::patiently;
use super::fermyon::spin::key_value::{self as wit, Error, Host, HostStore};
use super::{Capability, GrantContext, InstanceContext, ManifestContext, RuntimeContext};
use crate::error::ConfigError;
use crate::manifest::Component;
use crate::state::HostState;

/// The key-value capability.
pub struct KeyValue;

// ---------------------------------------------------------------------------
// Manifest section: `key_value_stores = ["default", …]`.
// Runtime-config section: `[key_value_store.<label>]`, `type = "spin"`.
// ---------------------------------------------------------------------------

/// One `[key_value_store.<label>]` (or `[sqlite_database.<label>]`) as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: Option<String>,
}

pub use super::databases::Labels;
use super::databases::{Database, Pooled};

/// Checks `[<section>.<label>]` tables and adds `default`: shared with SQLite,
/// whose databases are mapped the same way. A relative `path` is taken from
/// `base`, which Spin makes the runtime config's directory for key-value
/// stores and the working directory for SQLite databases.
pub(crate) fn labels(
    section: &str,
    raw: &BTreeMap<String, RawStore>,
    default_file: &str,
    base: &Path,
    ctx: &RuntimeContext<'_>,
) -> Result<Labels, ConfigError> {
    let mut labels = Labels::new();
    for (label, store) in raw {
        let field = format!("{section}.{label}");
        if store.kind != "spin" {
            return Err(ConfigError::new(
                ctx.file,
                format!("{field}.type"),
                format!("backend `{}` is not supported by skyport", store.kind),
                "use `type = \"spin\"` (an embedded SQLite file) with an optional `path`",
            ));
        }
        let file = match &store.path {
            Some(p) => base.join(p),
            None => ctx.state_dir.join(format!("{label}-{default_file}")),
        };
        labels.insert(label.clone(), Database::new(file));
    }
    labels
        .entry("default".into())
        .or_insert_with(|| Database::new(ctx.state_dir.join(default_file)));
    Ok(labels)
}

/// A component's labels (`field`, shared with SQLite) spelled as Spin spells
/// them; whether each is mapped is checked against the runtime config when
/// granted.
pub(crate) fn check_labels(
    component: &Component,
    field: &str,
    listed: &[String],
    ctx: &ManifestContext<'_>,
) -> Result<(), ConfigError> {
    for (i, label) in listed.iter().enumerate() {
        crate::ids::kebab_or_snake(label).map_err(|reason| {
            ConfigError::new(
                ctx.file,
                format!("component.{}.{field}[{i}]", component.id),
                format!("`{label}`: {reason}"),
                "use `default` or a label mapped in the runtime config",
            )
        })?;
    }
    Ok(())
}

/// The files behind the labels a component lists, each one mapped.
pub(crate) fn grant_labels(
    component: &Component,
    field: &str,
    listed: &[String],
    labels: &Labels,
    section: &str,
    kind: &str,
    ctx: &GrantContext<'_>,
) -> Result<Labels, ConfigError> {
    let mut granted = Labels::new();
    for (i, label) in listed.iter().enumerate() {
        let Some(db) = labels.get(label) else {
            return Err(ConfigError::new(
                ctx.manifest,
                format!("component.{}.{field}[{i}]", component.id),
                format!("no {kind} is labelled `{label}`"),
                format!(
                    "map it in the runtime config: `[{section}.{label}]` with `type = \"spin\"`"
                ),
            ));
        };
        granted.insert(label.clone(), db.clone());
    }
    Ok(granted)
}

impl Capability for KeyValue {
    type RuntimeSection = BTreeMap<String, RawStore>;
    type Config = Labels;
    type Grant = Labels;
    type Instance = Instance;

    fn check_manifest(component: &Component, ctx: &ManifestContext<'_>) -> Result<(), ConfigError> {
        check_labels(
            component,
            "key_value_stores",
            &component.key_value_stores,
            ctx,
        )
    }

    fn configure(
        section: BTreeMap<String, RawStore>,
        ctx: &RuntimeContext<'_>,
    ) -> Result<Labels, ConfigError> {
        labels(
            "key_value_store",
            &section,
            "sqlite_key_value.db",
            ctx.dir,
            ctx,
        )
    }

    fn grant(
        component: &Component,
        config: &Labels,
        ctx: &GrantContext<'_>,
    ) -> Result<Labels, ConfigError> {
        grant_labels(
            component,
            "key_value_stores",
            &component.key_value_stores,
            config,
            "key_value_store",
            "key-value store",
            ctx,
        )
    }

    fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
        wit::add_to_linker::<_, HasSelf<Instance>>(linker, |s: &mut HostState| &mut s.key_value)
    }

    fn instance(grant: &Arc<Labels>, ctx: &InstanceContext<'_>) -> Instance {
        Instance::new(grant, ctx)
    }
}

// ---------------------------------------------------------------------------
// Per-instance state: the granted labels and this run's open stores.
// ---------------------------------------------------------------------------

pub type Instance = super::databases::Labelled;

/// An open store: its label and the connection it has for this run.
pub struct KvStore {
    label: String,
    conn: Pooled,
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl Instance {
    fn kv(&mut self, store: &Resource<KvStore>) -> Result<&KvStore, Error> {
        self.table.get(store).map_err(other)
    }
}

impl Host for Instance {}

impl HostStore for Instance {
    fn open(&mut self, label: String) -> Result<Resource<KvStore>, Error> {
        let (conn, db) = self
            .open_label("key-value store", &label, "key_value_stores")
            .ok_or(Error::AccessDenied)?
            .map_err(other)?;
        // Once per file for the host's life, not once per run.
        if !db.key_value_ready.load(Ordering::Relaxed) {
            patiently(&conn, |c| {
                c.execute_batch(
                    "CREATE TABLE IF NOT EXISTS spin_key_value (
                         store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                         PRIMARY KEY (store, key))",
                )
            })
            .map_err(other)?;
            db.key_value_ready.store(true, Ordering::Relaxed);
        }
        self.table.push(KvStore { label, conn }).map_err(other)
    }

    fn get(&mut self, store: Resource<KvStore>, key: String) -> Result<Option<Vec<u8>>, Error> {
        let s = self.kv(&store)?;
        patiently(&s.conn, |c| {
            c.query_row(
                "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                (&s.label, &key),
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(other)
    }

    fn set(&mut self, store: Resource<KvStore>, key: String, value: Vec<u8>) -> Result<(), Error> {
        let s = self.kv(&store)?;
        patiently(&s.conn, |c| {
            c.execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                (&s.label, &key, &value),
            )
        })
        .map(|_| ())
        .map_err(other)
    }

    fn delete(&mut self, store: Resource<KvStore>, key: String) -> Result<(), Error> {
        let s = self.kv(&store)?;
        patiently(&s.conn, |c| {
            c.execute(
                "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
                (&s.label, &key),
            )
        })
        .map(|_| ())
        .map_err(other)
    }

    fn exists(&mut self, store: Resource<KvStore>, key: String) -> Result<bool, Error> {
        Ok(self.get(store, key)?.is_some())
    }

    fn get_keys(&mut self, store: Resource<KvStore>) -> Result<Vec<String>, Error> {
        let s = self.kv(&store)?;
        patiently(&s.conn, |c| {
            let mut stmt =
                c.prepare("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let keys = stmt.query_map([&s.label], |r| r.get(0))?;
            keys.collect::<Result<Vec<String>, _>>()
        })
        .map_err(other)
    }

    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}
