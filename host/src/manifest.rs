//! `spin.toml` (manifest v2): the serde schema and the checks that turn it into
//! an [`App`] the runtime can trust.
//!
//! The schema mirrors Spin's field for field and refuses unknown fields, so an
//! app that `skyport up` accepts means the same thing on Spin. Checks that need
//! the runtime config or the Wasm itself live in `app.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::capabilities::cron_trigger::{self, CronTrigger};
use crate::capabilities::http_trigger::{self, HttpTrigger};
use crate::capabilities::{self, ManifestContext};
use crate::dependencies::{self, DependencyName, SourceKind};
use crate::error::{from_toml, ConfigError};

// ---------------------------------------------------------------------------
// The schema, as written in spin.toml.
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    trigger: BTreeMap<String, Vec<toml::Table>>,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApplication {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    targets: Vec<toml::Value>,
    #[serde(default)]
    trigger: BTreeMap<String, toml::Table>,
    #[serde(default)]
    tool: toml::Table,
}

/// An app-level variable: `name = { default = "…" }` or `{ required = true }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariable {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawComponentRef {
    Id(String),
    Inline(Box<RawComponent>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawComponent {
    source: RawSource,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<RawFiles>,
    #[serde(default)]
    exclude_files: Vec<String>,
    #[serde(default)]
    allowed_http_hosts: Option<Vec<String>>,
    /// The Spin environments the component targets (`spin build` checks
    /// them; running it does not).
    #[serde(default)]
    #[allow(dead_code)]
    targets: Option<Vec<toml::Value>>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    ai_models: Vec<String>,
    #[serde(default)]
    build: Option<RawBuild>,
    #[serde(default)]
    tool: toml::Table,
    #[serde(default)]
    dependencies_inherit_configuration: Option<bool>,
    #[serde(default)]
    dependencies: BTreeMap<String, RawDependency>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSource {
    Path(String),
    Remote { url: String, digest: Option<String> },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawFiles {
    Pattern(String),
    Mapping { source: String, destination: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    pub command: RawCommands,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawCommands {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawDependency {
    Version(String),
    Table(RawDependencyTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDependencyTable {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    export: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    inherit_configuration: Option<RawInherit>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawInherit {
    All(bool),
    Some(Vec<String>),
}

// ---------------------------------------------------------------------------
// The checked model.
// ---------------------------------------------------------------------------

/// A manifest that passed every check that does not need the Wasm.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file.
    pub path: PathBuf,
    /// The directory relative paths are resolved against.
    pub dir: PathBuf,
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub variables: BTreeMap<String, RawVariable>,
    /// `[[trigger.http]]`, in order.
    pub triggers: Vec<HttpTrigger>,
    /// `[[trigger.cron]]`, in order.
    pub cron: Vec<CronTrigger>,
    pub components: BTreeMap<String, Component>,
}

/// The capability sets Spin lets a dependency inherit from its parent.
pub const CAPABILITY_SETS: &[&str] = &[
    "ai_models",
    "allowed_outbound_hosts",
    "environment",
    "files",
    "key_value_stores",
    "sqlite_databases",
    "variables",
];

/// One `[component.<id>]`.
#[derive(Debug, Clone)]
pub struct Component {
    pub id: String,
    pub source: PathBuf,
    pub description: Option<String>,
    /// `variables`, as written (templates over the app's `[variables]`).
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub files: Vec<FileMount>,
    pub exclude_files: Vec<String>,
    pub allowed_outbound_hosts: Vec<String>,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    pub build: Option<RawBuild>,
    pub dependencies: Vec<Dependency>,
}

/// `files` entries: a glob relative to the app dir, or a directory mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum FileMount {
    Pattern(String),
    Mapping {
        source: PathBuf,
        destination: String,
    },
}

/// One entry of a component's `dependencies`.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The key as written: `ns:pkg/iface@ver`, `ns:pkg/iface`, `ns:pkg@ver`, `ns:pkg` or `plain-name`.
    pub import: String,
    /// The key, parsed.
    pub name: DependencyName,
    pub source: PathBuf,
    /// Which export of the dependency satisfies the import (default: the same name).
    pub export: Option<String>,
    /// The capability sets it inherits from its parent component.
    pub inherits: BTreeSet<String>,
}

impl Manifest {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                path,
                "",
                format!("cannot read the manifest: {e}"),
                "run `skyport up` in the app's directory or name the manifest with `--from FILE`",
            )
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Self::parse(path, &dir, &text)
    }

    /// Checks manifest `text` as if read from `path`, resolving paths against `dir`.
    pub fn parse(path: &Path, dir: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| from_toml(path, e, text))?;
        let err =
            |field: &str, problem: String, fix: &str| ConfigError::new(path, field, problem, fix);

        if raw.spin_manifest_version.as_integer() != Some(2)
            && raw.spin_manifest_version.as_str() != Some("2")
        {
            return Err(err(
                "spin_manifest_version",
                format!("version {} is not supported", raw.spin_manifest_version),
                "skyport reads manifest version 2; set `spin_manifest_version = 2` (run `spin doctor` to migrate a version 1 manifest)",
            ));
        }
        let _ = (
            &raw.application.authors,
            &raw.application.targets,
            &raw.application.tool,
        );

        for (trigger_type, settings) in &raw.application.trigger {
            if trigger_type != "http" {
                return Err(err(
                    &format!("application.trigger.{trigger_type}"),
                    format!("skyport has no `{trigger_type}` trigger"),
                    "skyport runs HTTP triggers only; remove this table",
                ));
            }
            http_trigger::check_settings(path, settings)?;
        }

        for (name, var) in &raw.variables {
            let field = format!("variables.{name}");
            crate::ids::lower_snake(name).map_err(|reason| {
                err(
                    &field,
                    format!("`{name}` is not a valid variable name: {reason}"),
                    "use lowercase snake_case words that start with a letter, such as `api_token`",
                )
            })?;
            if var.required && var.default.is_some() {
                return Err(err(
                    &field,
                    "a variable cannot be both `required` and have a `default`".into(),
                    "remove `default` or `required = true`",
                ));
            }
        }

        let mut components = BTreeMap::new();
        for (id, rc) in raw.component {
            let c = check_component(path, dir, &id, rc, &raw.variables)?;
            components.insert(id, c);
        }

        // Each trigger type's tables are checked by its module; an inline
        // component joins `[component.*]` under the trigger's id.
        let mut triggers = Vec::new();
        let mut cron = Vec::new();
        let trigger_ids = trigger_ids(&raw.trigger);
        for (trigger_type, tables) in raw.trigger {
            let ids = &trigger_ids[&trigger_type];
            let mut resolve = |field: &str, c: RawComponentRef, index: usize| {
                resolve_component(
                    path,
                    dir,
                    field,
                    c,
                    &ids[index],
                    &mut components,
                    &raw.variables,
                )
            };
            match trigger_type.as_str() {
                "http" => triggers = http_trigger::check(path, tables, ids, &mut resolve)?,
                "cron" => cron = cron_trigger::check(path, tables, &mut resolve)?,
                other => {
                    return Err(err(
                        &format!("trigger.{other}"),
                        format!("skyport has no `{other}` trigger"),
                        "skyport runs `[[trigger.http]]` and `[[trigger.cron]]`",
                    ))
                }
            }
        }
        if triggers.is_empty() && cron.is_empty() {
            return Err(err(
                "trigger.http",
                "the app has no triggers".into(),
                "add a `[[trigger.http]]` with a `route` and a `component` (or a `[[trigger.cron]]`)",
            ));
        }

        Ok(Manifest {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            name: raw.application.name,
            version: raw.application.version,
            description: raw.application.description,
            variables: raw.variables,
            triggers,
            cron,
            components,
        })
    }
}

/// The component a trigger names: an id of `[component.*]`, or an inline
/// component table (registered under the trigger's `id`, or a made-up one).
#[allow(clippy::too_many_arguments)]
fn resolve_component(
    path: &Path,
    dir: &Path,
    field: &str,
    c: RawComponentRef,
    trigger_id: &str,
    components: &mut BTreeMap<String, Component>,
    app_vars: &BTreeMap<String, RawVariable>,
) -> Result<String, ConfigError> {
    match c {
        RawComponentRef::Id(id) => {
            if !components.contains_key(&id) {
                let known: Vec<_> = components.keys().cloned().collect();
                return Err(ConfigError::new(
                    path,
                    format!("{field}.component"),
                    format!("no component is named `{id}`"),
                    format!("add `[component.{id}]` or use one of: {}", known.join(", ")),
                ));
            }
            Ok(id)
        }
        RawComponentRef::Inline(rc) => {
            // Spin's name for it: `<trigger id>-component`, else the first
            // free `inline-componentN`.
            let natural = format!("{trigger_id}-component");
            let id = if crate::ids::kebab(&natural).is_ok() && !components.contains_key(&natural) {
                natural
            } else {
                (1..)
                    .map(|n| format!("inline-component{n}"))
                    .find(|c| !components.contains_key(c))
                    .expect("a free name")
            };
            let c = check_component(path, dir, &id, *rc, app_vars)?;
            components.insert(id.clone(), c);
            Ok(id)
        }
    }
}

/// Every trigger's id as Spin gives it: the one written, else
/// `<component>-<type>-trigger` when free, else the first free
/// `<type>-triggerN`; by trigger type, in manifest order.
fn trigger_ids(triggers: &BTreeMap<String, Vec<toml::Table>>) -> BTreeMap<String, Vec<String>> {
    let written = |t: &toml::Table| {
        t.get("id")
            .and_then(|v| v.as_str())
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    };
    let mut taken: BTreeSet<String> = triggers.values().flatten().filter_map(written).collect();
    let mut out = BTreeMap::new();
    for (kind, tables) in triggers {
        let mut counter = 1;
        let ids = tables
            .iter()
            .map(|t| {
                if let Some(id) = written(t) {
                    return id;
                }
                if let Some(component) = t.get("component").and_then(|c| c.as_str()) {
                    let natural = format!("{component}-{kind}-trigger");
                    if taken.insert(natural.clone()) {
                        return natural;
                    }
                }
                loop {
                    let id = format!("{kind}-trigger{counter}");
                    counter += 1;
                    if taken.insert(id.clone()) {
                        return id;
                    }
                }
            })
            .collect();
        out.insert(kind.clone(), ids);
    }
    out
}

fn check_component(
    path: &Path,
    dir: &Path,
    id: &str,
    rc: RawComponent,
    app_vars: &BTreeMap<String, RawVariable>,
) -> Result<Component, ConfigError> {
    let at = |f: &str| format!("component.{id}.{f}");
    let err =
        |field: String, problem: String, fix: &str| ConfigError::new(path, field, problem, fix);

    if let Err(reason) = crate::ids::kebab(id) {
        return Err(err(
            format!("component.{id}"),
            format!("`{id}` is not a valid component id: {reason}"),
            "use kebab-case words that start with a letter, such as `my-component`",
        ));
    }
    let source = match rc.source {
        RawSource::Path(p) => dir.join(p),
        RawSource::Remote { url, digest } => {
            let _ = digest;
            return Err(err(
                at("source"),
                format!("remote source `{url}` is not fetched by skyport"),
                "download the component and give its path: `source = \"path/to/component.wasm\"`",
            ));
        }
    };
    let mut allowed_outbound_hosts = rc.allowed_outbound_hosts;
    if let Some(old) = &rc.allowed_http_hosts {
        let converted = allowed_http_hosts(old).map_err(|problem| {
            err(
                at("allowed_http_hosts"),
                problem,
                "use `allowed_outbound_hosts = [\"https://example.com\"]` (a scheme is required)",
            )
        })?;
        if !converted.is_empty() {
            tracing::warn!(
                "Use of the deprecated field `allowed_http_hosts` - to fix, replace `allowed_http_hosts` with `allowed_outbound_hosts = {converted:?}`"
            );
        }
        allowed_outbound_hosts.extend(converted);
    }
    if !rc.ai_models.is_empty() {
        return Err(err(
            at("ai_models"),
            "skyport serves no AI models".into(),
            "remove `ai_models`",
        ));
    }
    let _ = (&rc.tool, &rc.description);

    let files = rc
        .files
        .into_iter()
        .map(|f| match f {
            RawFiles::Pattern(p) => FileMount::Pattern(p),
            RawFiles::Mapping {
                source,
                destination,
            } => FileMount::Mapping {
                source: dir.join(source),
                destination,
            },
        })
        .collect();

    let dependencies = check_dependencies(
        path,
        dir,
        id,
        rc.dependencies_inherit_configuration,
        rc.dependencies,
    )?;

    let component = Component {
        id: id.to_string(),
        source,
        description: rc.description,
        variables: rc.variables,
        environment: rc.environment,
        files,
        exclude_files: rc.exclude_files,
        allowed_outbound_hosts,
        key_value_stores: rc.key_value_stores,
        sqlite_databases: rc.sqlite_databases,
        build: rc.build,
        dependencies,
    };
    capabilities::check_manifest(
        &component,
        &ManifestContext {
            file: path,
            app_variables: app_vars,
        },
    )?;
    Ok(component)
}

/// A component's `dependencies`: first the rules Spin checks before it loads
/// anything (with Spin's reasons), then what skyport can load (local paths).
fn check_dependencies(
    path: &Path,
    dir: &Path,
    id: &str,
    component_wide: Option<bool>,
    raw: BTreeMap<String, RawDependency>,
) -> Result<Vec<Dependency>, ConfigError> {
    let field = format!("component.{id}.dependencies");
    let err =
        |field: String, problem: String, fix: &str| ConfigError::new(path, field, problem, fix);

    let per_dependency = raw
        .values()
        .any(|d| matches!(d, RawDependency::Table(t) if t.inherit_configuration.is_some()));
    if component_wide.is_some() && per_dependency {
        return Err(err(
            format!("component.{id}.dependencies_inherit_configuration"),
            format!(
                "Component `{id}` specifies both `dependencies_inherit_configuration` and \
                 per-dependency `inherit_configuration`. These are mutually exclusive; use one or the other."
            ),
            "remove `dependencies_inherit_configuration` and give each dependency its `inherit_configuration`",
        ));
    }

    let mut named = Vec::new();
    for (key, dep) in &raw {
        let name: DependencyName = key.parse().map_err(|p: String| {
            err(
                format!("{field}.\"{key}\""),
                format!("`{key}` is not a dependency name: {p}"),
                "name an import such as `my:pkg/iface@1.0.0`, `my:pkg/iface`, `my:pkg` or `plain-name`",
            )
        })?;
        let (kind, export) = match dep {
            RawDependency::Version(_) => (SourceKind::Version, false),
            RawDependency::Table(t) if t.version.is_some() => (
                SourceKind::Registry {
                    has_package: t.package.is_some(),
                },
                t.export.is_some(),
            ),
            RawDependency::Table(t) => (SourceKind::Other, t.export.is_some()),
        };
        named.push((name, kind, export));
    }
    dependencies::validate(&named).map_err(|p| {
        err(
            field.clone(),
            format!("component {id:?} has invalid dependencies: {p}"),
            "give each dependency a package name, and give two dependencies of one package different interfaces or incompatible versions",
        )
    })?;

    let mut out = Vec::new();
    for ((import, dep), (name, _, _)) in raw.into_iter().zip(named) {
        let field = format!("{field}.\"{import}\"");
        let table = match dep {
            RawDependency::Version(v) => {
                return Err(err(
                    field,
                    format!("registry dependencies (`\"{v}\"`) are not fetched by skyport"),
                    "give the component's path: `{ path = \"dep.wasm\" }`",
                ))
            }
            RawDependency::Table(t) => t,
        };
        if table.url.is_some()
            || table.registry.is_some()
            || table.version.is_some()
            || table.digest.is_some()
            || table.package.is_some()
        {
            return Err(err(
                field,
                "only `path` dependencies are supported by skyport".into(),
                "download the dependency and give `{ path = \"dep.wasm\" }`",
            ));
        }
        if table.component.is_some() {
            return Err(err(
                field,
                "dependencies on app components (`component = …`) are not supported by skyport"
                    .into(),
                "give the component's path: `{ path = \"dep.wasm\" }`",
            ));
        }
        let Some(dep_path) = table.path else {
            return Err(err(
                field,
                "the dependency has no source".into(),
                "add `path = \"dep.wasm\"`",
            ));
        };
        let all = || CAPABILITY_SETS.iter().map(|s| s.to_string()).collect();
        // Spin: omitted or `false` inherits nothing, `true` everything, a list
        // the sets it names (names it does not know are ignored).
        let inherits: BTreeSet<String> = match table.inherit_configuration {
            None if component_wide == Some(true) => all(),
            None | Some(RawInherit::All(false)) => BTreeSet::new(),
            Some(RawInherit::All(true)) => all(),
            Some(RawInherit::Some(list)) => {
                for name in &list {
                    if let Err(reason) = crate::ids::kebab_or_snake(name) {
                        return Err(err(
                            format!("{field}.inherit_configuration"),
                            format!("`{name}`: {reason}"),
                            &format!("use any of: {}", CAPABILITY_SETS.join(", ")),
                        ));
                    }
                    if !CAPABILITY_SETS.contains(&name.as_str()) {
                        tracing::warn!(
                            "{}: `{field}.inherit_configuration`: `{name}` is not a capability set, so it grants nothing (as on Spin); the sets are: {}",
                            path.display(),
                            CAPABILITY_SETS.join(", ")
                        );
                    }
                }
                list.into_iter().collect()
            }
        };
        out.push(Dependency {
            import,
            name,
            source: dir.join(dep_path),
            export: table.export,
            inherits,
        });
    }
    Ok(out)
}

/// Spin's conversion of the deprecated `allowed_http_hosts` (`host`,
/// `host:port`, `http(s)://host[:port]`, `self`, `insecure:allow-all`) to
/// `allowed_outbound_hosts` entries, with Spin's reasons for bad ones.
fn allowed_http_hosts(list: &[String]) -> Result<Vec<String>, String> {
    if list.iter().any(|h| h == "insecure:allow-all") {
        return Ok(vec![
            "http://*:*".into(),
            "https://*:*".into(),
            "http://self".into(),
        ]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for text in list {
        let parsed = if text.contains("//") {
            url::Url::parse(text)
                .map_err(|e| format!("{text} isn't a valid HTTP host URL: {e}"))
                .and_then(|u| match u.scheme() {
                    "http" | "https" => Ok(u),
                    _ => Err(format!("{text} isn't a valid host or host:port string")),
                })
        } else {
            url::Url::parse(&format!("http://{text}"))
                .map_err(|_| format!("{text} isn't a valid host or host:port string"))
        };
        let entry = parsed.and_then(|u| {
            let host = u
                .host_str()
                .ok_or_else(|| format!("{text} doesn't contain a host name"))?;
            if u.path().len() > 1 {
                return Err(format!(
                    "{text} contains a path, should be host and optional port only"
                ));
            }
            Ok((host.to_string(), u.port()))
        });
        match entry {
            Ok((host, _)) if host == "self" => out.push("http://self".into()),
            Ok((host, port)) => {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                out.push(format!("http://{host}{port}"));
                out.push(format!("https://{host}{port}"));
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "One or more allowed_http_hosts entries was invalid:\n{}",
            errors.join("\n")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::http_trigger::{TriggerRoute, TriggerTarget};

    fn parse(text: &str) -> Result<Manifest, ConfigError> {
        Manifest::parse(Path::new("spin.toml"), Path::new("."), text)
    }

    const HEAD: &str = "spin_manifest_version = 2\n[application]\nname = \"t\"\n";

    #[test]
    fn minimal_manifest_parses() {
        let m = parse(&format!("{HEAD}[[trigger.http]]\nroute = \"/...\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n")).unwrap();
        assert_eq!(m.triggers.len(), 1);
        assert_eq!(m.components["a"].source, Path::new("./a.wasm"));
    }

    #[test]
    fn inline_components_get_spins_names() {
        let m = parse(&format!(
            "{HEAD}[[trigger.http]]\nroute = \"/a\"\ncomponent = {{ source = \"a.wasm\" }}\n\
             [[trigger.http]]\nid = \"web\"\nroute = \"/b\"\ncomponent = {{ source = \"b.wasm\" }}\n\
             [[trigger.http]]\nroute = \"/c\"\ncomponent = \"c\"\n\
             [[trigger.cron]]\ncron_expression = \"0 * * * * *\"\ncomponent = {{ source = \"d.wasm\" }}\n\
             [component.c]\nsource = \"c.wasm\"\n"
        ))
        .unwrap();
        let ids: Vec<_> = m.triggers.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["http-trigger1", "web", "c-http-trigger"]);
        let ids: Vec<_> = m.components.keys().map(String::as_str).collect();
        assert_eq!(
            ids,
            [
                "c",
                "cron-trigger1-component",
                "http-trigger1-component",
                "web-component"
            ]
        );
        let ids = trigger_ids(
            &toml::from_str::<RawManifest>(&format!(
                "{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n[[trigger.http]]\nroute = \"/x\"\ncomponent = \"c\"\n"
            ))
            .unwrap()
            .trigger,
        );
        assert_eq!(ids["http"], ["c-http-trigger", "http-trigger1"]);
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let e = parse(&format!(
            "{HEAD}[component.a]\nsource = \"a.wasm\"\nallowed_outbound_host = []\n"
        ))
        .unwrap_err();
        assert!(
            e.problem.contains("unknown field `allowed_outbound_host`"),
            "{e}"
        );
        assert_eq!(e.field, "line 6, column 1");
    }

    #[test]
    fn undefined_template_variable_is_refused() {
        let e = parse(&format!("{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\nvariables = {{ k = \"{{{{ nope }}}}\" }}\n")).unwrap_err();
        assert_eq!(e.field, "component.a.variables.k");
        assert!(e.problem.contains("`nope`"));
    }

    #[test]
    fn a_route_written_twice_goes_to_the_last_trigger() {
        let m = parse(&format!("{HEAD}[[trigger.http]]\nroute = \"/x\"\ncomponent = \"a\"\n[[trigger.http]]\nroute = \"/x\"\ncomponent = \"b\"\n[component.a]\nsource = \"a.wasm\"\n[component.b]\nsource = \"a.wasm\"\n")).unwrap();
        let public: Vec<_> = m
            .triggers
            .iter()
            .filter(|t| matches!(t.route, TriggerRoute::Public(_)))
            .map(|t| &t.target)
            .collect();
        assert!(
            matches!(public[..], [TriggerTarget::Component(ref c)] if c == "b"),
            "{public:?}"
        );
    }

    #[test]
    fn allowed_http_hosts_convert_as_on_spin() {
        let list =
            |l: &[&str]| allowed_http_hosts(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            list(&[
                "example.com",
                "localhost:3001",
                "https://api.example.com:8443"
            ])
            .unwrap(),
            [
                "http://example.com",
                "https://example.com",
                "http://localhost:3001",
                "https://localhost:3001",
                "http://api.example.com:8443",
                "https://api.example.com:8443",
            ]
        );
        assert!(list(&["example.com/path"])
            .unwrap_err()
            .contains("contains a path"));
        assert!(list(&["ftp://example.com"])
            .unwrap_err()
            .contains("isn't a valid host"));
    }

    #[test]
    fn dependency_inheritance_forms() {
        let m = parse(&format!(
            "{HEAD}[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n\
             [component.a.dependencies]\n\"x:y/z@1.0.0\" = {{ path = \"d.wasm\", inherit_configuration = [\"variables\"] }}\n\"x:w\" = {{ path = \"e.wasm\" }}\n"
        ))
        .unwrap();
        let deps = &m.components["a"].dependencies;
        assert_eq!(deps.len(), 2);
        let w = deps.iter().find(|d| d.import == "x:w").unwrap();
        assert!(w.inherits.is_empty());
        let z = deps.iter().find(|d| d.import == "x:y/z@1.0.0").unwrap();
        assert_eq!(z.inherits.iter().collect::<Vec<_>>(), vec!["variables"]);
    }
}
