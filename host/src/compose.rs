//! Component `dependencies`, composed the way Spin composes them: each
//! dependency is instantiated inside the importing component with wac-graph,
//! and what it does not inherit is cut off from the host.
//!
//! Spin wraps a non-inheriting dependency in a "deny adapter". Skyport gets the
//! same effect by renaming each ungranted capability import of the dependency
//! into the `skyport-denied` namespace; the host links every such import to a
//! function that traps with a message naming the grant to add (`deny.rs`).

use std::collections::BTreeSet;

use wac_graph::types::{ItemKind, Package};
use wac_graph::{CompositionGraph, EncodeOptions};

/// The namespace denied capability imports are renamed into.
pub const DENIED_NAMESPACE: &str = "skyport-denied";

/// Which capability set (Spin's names) an import belongs to, if it is one.
pub fn capability_of(import: &str) -> Option<&'static str> {
    const SETS: &[(&str, &[&str])] = &[
        (
            "allowed_outbound_hosts",
            &[
                "wasi:http/outgoing-handler",
                "wasi:http/client",
                "wasi:sockets/",
                "fermyon:spin/http",
                "fermyon:spin/redis",
                "fermyon:spin/mysql",
                "fermyon:spin/postgres",
                "fermyon:spin/mqtt",
                "spin:postgres/",
                "spin:mqtt/",
                "spin:redis/",
            ],
        ),
        (
            "key_value_stores",
            &[
                "fermyon:spin/key-value",
                "spin:key-value/",
                "wasi:keyvalue/",
            ],
        ),
        ("sqlite_databases", &["fermyon:spin/sqlite", "spin:sqlite/"]),
        (
            "variables",
            &["fermyon:spin/variables", "spin:variables/", "wasi:config/"],
        ),
        ("environment", &["wasi:cli/environment"]),
        ("files", &["wasi:filesystem/"]),
        ("ai_models", &["fermyon:spin/llm", "spin:llm/"]),
    ];
    SETS.iter()
        .find(|(_, prefixes)| prefixes.iter().any(|p| import.starts_with(p)))
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
    /// The manifest key: `ns:pkg/iface@ver`, `ns:pkg/iface`, `ns:pkg@ver` or `ns:pkg`.
    pub key: &'a str,
    pub bytes: Vec<u8>,
    pub export: Option<&'a str>,
    pub inherits: &'a BTreeSet<String>,
}

/// Splits `ns:pkg/iface@1.2.3` into (`ns:pkg`, `Some(iface)`, `Some("1.2.3")`).
fn split_name(name: &str) -> (&str, Option<&str>, Option<&str>) {
    let (unversioned, version) = match name.split_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (name, None),
    };
    match unversioned.split_once('/') {
        Some((pkg, iface)) => (pkg, Some(iface), version),
        None => (unversioned, None, version),
    }
}

/// Semver compatibility as the component model uses it: same major, or for
/// 0.x the same minor, or for 0.0.x the same patch.
fn compatible(a: &str, b: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> {
        v.split(['.', '-'])
            .take(3)
            .map(|p| p.parse().unwrap_or(u64::MAX))
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    match (a.as_slice(), b.as_slice()) {
        ([0, 0, x], [0, 0, y]) => x == y,
        ([0, x, _], [0, y, _]) => x == y,
        ([x, ..], [y, ..]) => x == y,
        _ => false,
    }
}

/// Whether a dependency key satisfies an import name.
fn key_matches(key: &str, import: &str) -> bool {
    let (kpkg, kiface, kver) = split_name(key);
    let (ipkg, iiface, iver) = split_name(import);
    if kpkg != ipkg || iiface.is_none() {
        return false;
    }
    if kiface.is_some() && kiface != iiface {
        return false;
    }
    match (kver, iver) {
        (None, _) => true,
        (Some(k), Some(i)) => k == i || compatible(k, i),
        (Some(_), None) => false,
    }
}

/// Whether two interface names name the same interface at compatible versions.
fn same_interface(a: &str, b: &str) -> bool {
    let (ap, ai, av) = split_name(a);
    let (bp, bi, bv) = split_name(b);
    ap == bp
        && ai == bi
        && match (av, bv) {
            (Some(x), Some(y)) => x == y || compatible(x, y),
            (None, None) => true,
            _ => false,
        }
}

/// The export names of a component, read without a composition graph.
fn exports_of(bytes: &[u8]) -> Vec<String> {
    let mut types = wac_graph::types::Types::default();
    match Package::from_bytes("skyport:probe", None, bytes.to_vec(), &mut types) {
        Ok(p) => types[p.ty()].exports.keys().cloned().collect(),
        Err(_) => Vec::new(),
    }
}

/// Composes `main` with its dependencies; returns the composed component.
pub fn compose(main: &[u8], deps: &[Dep<'_>]) -> Result<Vec<u8>, String> {
    let mut graph = CompositionGraph::new();
    let main_pkg = Package::from_bytes("skyport:app", None, main.to_vec(), graph.types_mut())
        .map_err(|e| format!("the component is not a valid Wasm component: {e:#}"))?;
    let main_world = main_pkg.ty();
    let main_id = graph
        .register_package(main_pkg)
        .map_err(|e| e.to_string())?;
    let main_imports: Vec<(String, ItemKind)> = graph.types()[main_world]
        .imports
        .iter()
        .map(|(n, k)| (n.clone(), *k))
        .collect();
    let main_exports: Vec<String> = graph.types()[main_world].exports.keys().cloned().collect();

    let mut args = Vec::new();
    for (index, dep) in deps.iter().enumerate() {
        // A package-level key (`ns:pkg`) takes the interfaces the dependency
        // exports; the package's type-only interfaces stay imports.
        let exported = exports_of(&dep.bytes);
        let package_level = !dep.key.contains('/');
        let satisfied: Vec<&String> = main_imports
            .iter()
            .map(|(n, _)| n)
            .filter(|n| key_matches(dep.key, n))
            .filter(|n| !package_level || exported.iter().any(|e| same_interface(e, n)))
            .collect();
        if satisfied.is_empty() {
            let imports: Vec<&str> = main_imports
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| !n.starts_with("wasi:"))
                .collect();
            return Err(format!(
                "dependency `{}` satisfies no import of the component (its non-WASI imports: {})",
                dep.key,
                if imports.is_empty() {
                    "none".to_string()
                } else {
                    imports.join(", ")
                }
            ));
        }
        let pkg = Package::from_bytes(
            &format!("skyport:dep{index}"),
            None,
            dep.bytes.clone(),
            graph.types_mut(),
        )
        .map_err(|e| {
            format!(
                "dependency `{}` is not a valid Wasm component: {e:#}",
                dep.key
            )
        })?;
        let dep_world = pkg.ty();
        let dep_imports: Vec<(String, ItemKind)> = graph.types()[dep_world]
            .imports
            .iter()
            .map(|(n, k)| (n.clone(), *k))
            .collect();
        let dep_exports: Vec<String> = graph.types()[dep_world].exports.keys().cloned().collect();
        let dep_id = graph.register_package(pkg).map_err(|e| e.to_string())?;
        let instance = graph.instantiate(dep_id);

        // What it does not inherit is rerouted to trapping host stubs.
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
                None => graph.import(denied.clone(), kind).map_err(|e| {
                    format!("cannot deny `{name}` to dependency `{}`: {e}", dep.key)
                })?,
            };
            graph
                .set_instantiation_argument(instance, &name, node)
                .map_err(|e| format!("cannot deny `{name}` to dependency `{}`: {e}", dep.key))?;
        }

        for import in satisfied {
            let export = match dep.export {
                Some(e) => e.to_string(),
                None => dep_exports
                    .iter()
                    .find(|e| same_interface(e, import))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "dependency `{}` does not export `{import}` (it exports: {})",
                            dep.key,
                            dep_exports.join(", ")
                        )
                    })?,
            };
            let alias = graph
                .alias_instance_export(instance, &export)
                .map_err(|e| format!("dependency `{}`: {e}", dep.key))?;
            args.push((import.clone(), alias, dep.key));
        }
    }

    let main_instance = graph.instantiate(main_id);
    for (import, alias, key) in args {
        graph
            .set_instantiation_argument(main_instance, &import, alias)
            .map_err(|e| format!("dependency `{key}` cannot satisfy `{import}`: {e}"))?;
    }
    for export in main_exports {
        let alias = graph
            .alias_instance_export(main_instance, &export)
            .map_err(|e| e.to_string())?;
        graph.export(alias, export).map_err(|e| e.to_string())?;
    }
    graph
        .encode(EncodeOptions {
            define_components: true,
            validate: true,
            processor: None,
        })
        .map_err(|e| format!("composition failed: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_imports() {
        assert!(key_matches("a:b/c@1.0.0", "a:b/c@1.0.0"));
        assert!(key_matches("a:b/c@1.0.0", "a:b/c@1.2.0"));
        assert!(!key_matches("a:b/c@1.0.0", "a:b/c@2.0.0"));
        assert!(key_matches("a:b/c", "a:b/c@0.3.0"));
        assert!(key_matches("a:b", "a:b/c@1.0.0"));
        assert!(key_matches("a:b@0.1.0", "a:b/d@0.1.5"));
        assert!(!key_matches("a:b@0.1.0", "a:b/d@0.2.0"));
        assert!(!key_matches("a:b/c", "a:b/d"));
    }

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
    fn capabilities() {
        assert_eq!(
            capability_of("wasi:http/outgoing-handler@0.2.6"),
            Some("allowed_outbound_hosts")
        );
        assert_eq!(capability_of("wasi:http/types@0.2.6"), None);
        assert_eq!(
            capability_of("fermyon:spin/key-value@2.0.0"),
            Some("key_value_stores")
        );
        assert_eq!(capability_of("wasi:cli/stdout@0.2.0"), None);
    }
}
