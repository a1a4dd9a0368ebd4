//! Component `dependencies`, composed exactly as Spin 4 composes them
//! (spin-compose): the same name matching, the same package registration, the
//! same refusals with Spin's sentences, the same export lookup and subtype check.
//!
//! What a dependency does not inherit is cut off the way Spin's deny adapter
//! cuts it: every import of a capability set it was not granted (Spin's list of
//! interface names, semver-compatible versions included) is renamed into the
//! `skyport-denied` namespace, and `deny.rs` links those to host functions that
//! answer as Spin's adapter does (an "access denied" error, an empty
//! environment) and log the grant that would allow the call.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use wac_graph::types::{are_semver_compatible, ItemKind, Package, SubtypeChecker, WorldId};
use wac_graph::{CompositionGraph, NodeId};

use crate::dependencies::{matches_import, DependencyName};

/// The namespace denied capability imports are renamed into.
pub const DENIED_NAMESPACE: &str = "skyport-denied";

/// Spin's capability sets and the host interfaces each one covers (Spin 4.0.2,
/// crates/capabilities). A dependency that does not inherit a set cannot reach
/// these interfaces, at these or semver-compatible versions.
pub const CAPABILITY_INTERFACES: &[(&str, &[&str])] = &[
    ("ai_models", &["fermyon:spin/llm", "fermyon:spin/llm@2.0.0"]),
    (
        "allowed_outbound_hosts",
        &[
            "fermyon:spin/http",
            "fermyon:spin/mysql",
            "fermyon:spin/postgres",
            "fermyon:spin/redis",
            "fermyon:spin/mqtt@2.0.0",
            "fermyon:spin/mysql@2.0.0",
            "fermyon:spin/postgres@2.0.0",
            "fermyon:spin/redis@2.0.0",
            "spin:mqtt/mqtt@3.0.0",
            "spin:postgres/postgres@3.0.0",
            "spin:postgres/postgres@4.2.0",
            "spin:redis/redis@3.0.0",
            "wasi:http/outgoing-handler@0.2.6",
            "wasi:sockets/ip-name-lookup@0.2.6",
            "wasi:sockets/tcp-create-socket@0.2.6",
            "wasi:sockets/tcp@0.2.6",
            "wasi:sockets/udp-create-socket@0.2.6",
            "wasi:sockets/udp@0.2.6",
        ],
    ),
    ("environment", &["wasi:cli/environment@0.2.6"]),
    ("files", &["wasi:filesystem/preopens@0.2.6"]),
    (
        "key_value_stores",
        &[
            "fermyon:spin/key-value",
            "fermyon:spin/key-value@2.0.0",
            "spin:key-value/key-value@3.0.0",
            "wasi:keyvalue/store@0.2.0-draft2",
        ],
    ),
    (
        "sqlite_databases",
        &[
            "fermyon:spin/sqlite",
            "fermyon:spin/sqlite@2.0.0",
            "spin:sqlite/sqlite@3.1.0",
        ],
    ),
    (
        "variables",
        &[
            "fermyon:spin/config",
            "fermyon:spin/variables@2.0.0",
            "spin:variables/variables@3.0.0",
            "wasi:config/store@0.2.0-draft-2024-09-27",
        ],
    ),
];

/// Which capability set an import belongs to, if it is one Spin can deny.
pub fn capability_of(import: &str) -> Option<&'static str> {
    CAPABILITY_INTERFACES
        .iter()
        .find(|(_, names)| names.iter().any(|n| are_semver_compatible(n, import)))
        .map(|(set, _)| *set)
}

/// `fermyon:spin/variables@2.0.0` → `skyport-denied:fermyon-spin/variables@2.0.0`.
pub fn denied_name(import: &str) -> String {
    let (ns, rest) = import.split_once(':').unwrap_or(("x", import));
    let (pkg, tail) = rest.split_once('/').unwrap_or((rest, ""));
    format!("{DENIED_NAMESPACE}:{ns}-{pkg}/{tail}")
}

/// The original name of a denied import, for messages.
pub fn original_name(denied: &str) -> Option<String> {
    let rest = denied.strip_prefix(DENIED_NAMESPACE)?.strip_prefix(':')?;
    let (nspkg, tail) = rest.split_once('/')?;
    let (ns, pkg) = nspkg.split_once('-')?;
    Some(format!("{ns}:{pkg}/{tail}"))
}

/// A dependency ready to compose.
pub struct Dep<'a> {
    pub name: &'a DependencyName,
    pub bytes: Vec<u8>,
    /// The export that satisfies the import, when it is not the import's own name.
    pub export: Option<&'a str>,
    /// The capability sets it inherits from its parent component.
    pub inherits: &'a BTreeSet<String>,
}

/// Why composition failed: Spin's `ComposeError`, with Spin's wording.
#[derive(Debug)]
pub enum ComposeError {
    UnmatchedDependencyName {
        component_id: String,
        dependency_name: String,
        imports: Vec<String>,
    },
    DependencyConflicts {
        component_id: String,
        conflicts: Vec<(String, Vec<String>)>,
    },
    MissingExport {
        dependency_name: String,
        export_name: String,
        import_name: String,
        exports: Vec<String>,
    },
    /// "an error occurred when preparing dependencies", and its cause.
    Prepare(String),
    Encode(String),
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComposeError::UnmatchedDependencyName {
                component_id,
                dependency_name,
                ..
            } => write!(
                f,
                "dependency '{dependency_name}' doesn't match any imports of component '{component_id}'"
            ),
            ComposeError::DependencyConflicts {
                component_id,
                conflicts,
            } => {
                let list: Vec<String> = conflicts
                    .iter()
                    .map(|(import, names)| {
                        format!(
                            "import '{import}' satisfied by dependencies: '{}'",
                            names.join(", ")
                        )
                    })
                    .collect();
                write!(
                    f,
                    "component '{component_id}' has dependency conflicts: {}",
                    list.join("; ")
                )
            }
            ComposeError::MissingExport {
                dependency_name,
                export_name,
                import_name,
                ..
            } => write!(
                f,
                "dependency '{dependency_name}' doesn't export '{export_name}' to satisfy import '{import_name}'"
            ),
            ComposeError::Prepare(cause) => {
                write!(f, "an error occurred when preparing dependencies: {cause}")
            }
            ComposeError::Encode(cause) => write!(f, "failed to encode composition graph: {cause}"),
        }
    }
}

impl ComposeError {
    /// What to change in the manifest (or the dependency) to get past it.
    pub fn fix(&self) -> String {
        match self {
            ComposeError::UnmatchedDependencyName { imports, .. } => format!(
                "name an import of the component, exactly (versions must be equal); it imports: {}",
                list(imports)
            ),
            ComposeError::DependencyConflicts { .. } => {
                "give each import one dependency: name the interface in the keys".into()
            }
            ComposeError::MissingExport {
                dependency_name,
                exports,
                ..
            } if !dependency_name.contains('/') => format!(
                "a package-level key matches every import of that package, type-only interfaces \
                 included; key the dependency by interface (`ns:pkg/iface@version`) for each \
                 interface it exports: {}",
                list(exports)
            ),
            ComposeError::MissingExport { exports, .. } => format!(
                "make the dependency export the import's interface, or set `export` to one of its exports: {}",
                list(exports)
            ),
            ComposeError::Prepare(cause) if cause.contains("already been registered") => {
                "Spin registers each dependency under its package (`ns:pkg`), so a component can \
                 take one dependency per package: put the interfaces in packages of their own, or \
                 take them all from one dependency with a package-level key"
                    .into()
            }
            ComposeError::Prepare(_) | ComposeError::Encode(_) => {
                "check that each dependency is a component exporting what its key names, with the types the importing component expects".into()
            }
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

struct DependencyInfo {
    name: String,
    instance: NodeId,
    world: WorldId,
    export: Option<String>,
}

/// What resolving a component's dependencies found, with every refusal Spin
/// makes already made: ready to [compose](Resolved::compose), or to link on
/// demand (`linking.rs`) with the dependencies built [`separately`].
pub struct Resolved {
    graph: CompositionGraph,
    main_world: WorldId,
    main_instance: NodeId,
    infos: Vec<DependencyInfo>,
    /// Each import a dependency satisfies: (import, dependency, its export),
    /// the dependency by its place in Spin's order (as [`separately`] lists them).
    pub links: Vec<(String, usize, String)>,
}

/// Matches the dependencies to the component's imports and checks them, as
/// Spin does before it composes: the same order, refusals and sentences.
pub fn resolve(id: &str, main: &[u8], deps: &[Dep<'_>]) -> Result<Resolved, ComposeError> {
    let mut graph = CompositionGraph::new();
    let (main_world, main_instance) = register(&mut graph, id, main)?;
    let imports: Vec<String> = graph.types()[main_world].imports.keys().cloned().collect();

    let mut infos: Vec<DependencyInfo> = Vec::new();
    let mut mappings: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (_, dep) in in_spins_order(deps) {
        let mut matched = Vec::new();
        for import in &imports {
            if matches_import(dep.name, import).map_err(ComposeError::Prepare)? {
                matched.push(import.clone());
            }
        }
        if matched.is_empty() {
            return Err(ComposeError::UnmatchedDependencyName {
                component_id: id.to_string(),
                dependency_name: dep.name.to_string(),
                imports: imports
                    .iter()
                    .filter(|i| !i.starts_with("wasi:"))
                    .cloned()
                    .collect(),
            });
        }
        infos.push(register_dependency(&mut graph, dep)?);
        for import in matched {
            mappings.entry(import).or_default().push(infos.len() - 1);
        }
    }

    let conflicts: Vec<(String, Vec<String>)> = mappings
        .iter()
        .filter(|(_, users)| users.len() > 1)
        .map(|(import, users)| {
            (
                import.clone(),
                users.iter().map(|&u| infos[u].name.clone()).collect(),
            )
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(ComposeError::DependencyConflicts {
            component_id: id.to_string(),
            conflicts,
        });
    }

    let mut cache = HashSet::new();
    let mut checker = SubtypeChecker::new(&mut cache);
    let mut links = Vec::new();
    for (import, users) in mappings {
        let info = &infos[users[0]];
        let export = info.export.clone().unwrap_or_else(|| import.clone());
        let dep_exports = &graph.types()[info.world].exports;
        let Some(export_ty) = dep_exports.get(&export).copied() else {
            return Err(ComposeError::MissingExport {
                dependency_name: info.name.clone(),
                export_name: export,
                import_name: import,
                exports: dep_exports.keys().cloned().collect(),
            });
        };
        let import_ty: ItemKind = graph.types()[main_world].imports[&import];
        checker
            .is_subtype(export_ty, graph.types(), import_ty, graph.types())
            .map_err(|e| {
                ComposeError::Prepare(format!(
                    "dependency '{}' exports '{export}' which is not compatible with import '{import}': {e:#}",
                    info.name
                ))
            })?;
        links.push((import, users[0], export));
    }
    Ok(Resolved {
        graph,
        main_world,
        main_instance,
        infos,
        links,
    })
}

impl Resolved {
    /// The component composed with its dependencies, as Spin composes it.
    pub fn compose(self) -> Result<Vec<u8>, ComposeError> {
        let Resolved {
            mut graph,
            main_world,
            main_instance,
            infos,
            links,
        } = self;
        let mut arguments = Vec::new();
        for (import, dep, export) in links {
            let node = graph
                .alias_instance_export(infos[dep].instance, &export)
                .map_err(|e| ComposeError::Prepare(e.to_string()))?;
            arguments.push((import, node));
        }
        for (import, node) in arguments {
            graph
                .set_instantiation_argument(main_instance, &import, node)
                .map_err(|e| ComposeError::Prepare(e.to_string()))?;
        }
        export_all(&mut graph, main_world, main_instance)?;
        graph
            .encode(Default::default())
            .map_err(|e| ComposeError::Encode(format!("{e:#}")))
    }
}

/// A dependency built to be instantiated on its own (see `linking.rs`).
pub struct PlannedDependency {
    /// Its position in the `deps` given to [`separately`].
    pub index: usize,
    /// The manifest's key, for messages.
    pub name: String,
    /// The dependency with its denied imports renamed, as in the composition.
    pub bytes: Vec<u8>,
}

/// Each dependency as a component of its own, cut off from what it does not
/// inherit as in the composition, in Spin's order (the order of
/// [`Resolved::links`]' indices).
pub fn separately(deps: &[Dep<'_>]) -> Result<Vec<PlannedDependency>, ComposeError> {
    let mut dependencies = Vec::new();
    for (index, dep) in in_spins_order(deps) {
        let mut graph = CompositionGraph::new();
        let info = register_dependency(&mut graph, dep)?;
        export_all(&mut graph, info.world, info.instance)?;
        let bytes = graph
            .encode(Default::default())
            .map_err(|e| ComposeError::Encode(format!("{e:#}")))?;
        dependencies.push(PlannedDependency {
            index,
            name: info.name,
            bytes,
        });
    }
    Ok(dependencies)
}

/// The dependencies with their positions, in the order Spin composes them
/// (it keeps them in a map sorted by name).
fn in_spins_order<'a, 'd>(deps: &'a [Dep<'d>]) -> Vec<(usize, &'a Dep<'d>)> {
    let mut ordered: Vec<(usize, &Dep<'_>)> = deps.iter().enumerate().collect();
    ordered.sort_by(|a, b| a.1.name.cmp(b.1.name));
    ordered
}

/// Exports everything `instance` (of `world`) exports, under the same names.
fn export_all(
    graph: &mut CompositionGraph,
    world: WorldId,
    instance: NodeId,
) -> Result<(), ComposeError> {
    let exports: Vec<String> = graph.types()[world].exports.keys().cloned().collect();
    for export in exports {
        let node = graph
            .alias_instance_export(instance, &export)
            .map_err(|e| ComposeError::Prepare(e.to_string()))?;
        graph
            .export(node, &export)
            .map_err(|e| ComposeError::Prepare(e.to_string()))?;
    }
    Ok(())
}

/// Registers a component under `name` and instantiates it.
fn register(
    graph: &mut CompositionGraph,
    name: &str,
    bytes: &[u8],
) -> Result<(WorldId, NodeId), ComposeError> {
    let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut())
        .map_err(|e| ComposeError::Prepare(format!("{e:#}")))?;
    let world = package.ty();
    let id = graph
        .register_package(package)
        .map_err(|e| ComposeError::Prepare(e.to_string()))?;
    Ok((world, graph.instantiate(id)))
}

/// Registers a dependency under its package name (`ns:pkg`, or the plain
/// name), as Spin does, and denies what it does not inherit.
fn register_dependency(
    graph: &mut CompositionGraph,
    dep: &Dep<'_>,
) -> Result<DependencyInfo, ComposeError> {
    let package = match dep.name {
        DependencyName::Package(p) => p.package(),
        DependencyName::Plain(p) => p.clone(),
    };
    let (world, instance) = register(graph, &package, &dep.bytes)?;
    let dep_imports: Vec<(String, ItemKind)> = graph.types()[world]
        .imports
        .iter()
        .map(|(n, k)| (n.clone(), *k))
        .collect();
    for (name, kind) in dep_imports {
        let Some(set) = capability_of(&name) else {
            continue;
        };
        if dep.inherits.contains(set) {
            continue;
        }
        let denied = denied_name(&name);
        let existing = graph
            .imports()
            .find(|(n, _, _)| *n == denied)
            .and_then(|(_, _, node)| node);
        let node = match existing {
            Some(node) => node,
            None => graph.import(denied, kind).map_err(|e| {
                ComposeError::Prepare(format!("cannot deny `{name}` to '{}': {e}", dep.name))
            })?,
        };
        graph
            .set_instantiation_argument(instance, &name, node)
            .map_err(|e| {
                ComposeError::Prepare(format!("cannot deny `{name}` to '{}': {e}", dep.name))
            })?;
    }
    Ok(DependencyInfo {
        name: dep.name.to_string(),
        instance,
        world,
        export: dep.export.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_names_round_trip() {
        let d = denied_name("fermyon:spin/variables@2.0.0");
        assert_eq!(d, "skyport-denied:fermyon-spin/variables@2.0.0");
        assert_eq!(
            original_name(&d).as_deref(),
            Some("fermyon:spin/variables@2.0.0")
        );
    }

    #[test]
    fn capabilities_are_spins_interfaces() {
        // Semver-compatible versions of a listed interface are covered.
        assert_eq!(
            capability_of("wasi:http/outgoing-handler@0.2.0"),
            Some("allowed_outbound_hosts")
        );
        assert_eq!(capability_of("wasi:http/types@0.2.6"), None);
        // Spin leaves these to the host even for a non-inheriting dependency.
        assert_eq!(capability_of("wasi:sockets/network@0.2.6"), None);
        assert_eq!(capability_of("wasi:http/outgoing-handler@0.3.0"), None);
        assert_eq!(
            capability_of("fermyon:spin/key-value@2.0.0"),
            Some("key_value_stores")
        );
        assert_eq!(
            capability_of("wasi:cli/environment@0.2.3"),
            Some("environment")
        );
        assert_eq!(capability_of("wasi:cli/stdout@0.2.0"), None);
    }
}
