//! Component dependency names and the rules Spin 4 checks on a component's
//! `dependencies` before anything is composed (its `DependencyName` parsing and
//! `ComponentDependencies::validate`), so a manifest Spin refuses is refused
//! here with the same reason. `compose.rs` pairs these names with imports.

use std::cmp::Ordering;
use std::fmt;

/// A `[component.<id>.dependencies]` key: a plain kebab name (`foo-bar`) or a
/// package name with an optional interface and version (`ns:pkg/iface@1.0.0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DependencyName {
    Plain(String),
    Package(PackageName),
}

/// `ns:pkg[/iface][@version]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageName {
    pub namespace: String,
    pub name: String,
    pub interface: Option<String>,
    pub version: Option<semver::Version>,
}

impl PackageName {
    /// `ns:pkg`: the name a dependency is registered under when composing.
    pub fn package(&self) -> String {
        format!("{}:{}", self.namespace, self.name)
    }
}

impl fmt::Display for DependencyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DependencyName::Plain(p) => f.write_str(p),
            DependencyName::Package(p) => {
                write!(f, "{}:{}", p.namespace, p.name)?;
                if let Some(i) = &p.interface {
                    write!(f, "/{i}")?;
                }
                if let Some(v) = &p.version {
                    write!(f, "@{v}")?;
                }
                Ok(())
            }
        }
    }
}

/// Spin keeps a component's dependencies in a sorted map, so composition (and
/// so which error comes first) follows this order: plain names, then packages
/// by namespace, name, version and interface.
impl Ord for DependencyName {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (DependencyName::Plain(a), DependencyName::Plain(b)) => a.cmp(b),
            (DependencyName::Plain(_), DependencyName::Package(_)) => Ordering::Less,
            (DependencyName::Package(_), DependencyName::Plain(_)) => Ordering::Greater,
            (DependencyName::Package(a), DependencyName::Package(b)) => (
                &a.namespace,
                &a.name,
                &a.version,
                &a.interface,
            )
                .cmp(&(&b.namespace, &b.name, &b.version, &b.interface)),
        }
    }
}

impl PartialOrd for DependencyName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::str::FromStr for DependencyName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if !s.contains([':', '/']) {
            return crate::ids::kebab(s).map(|()| DependencyName::Plain(s.to_string()));
        }
        let (name, version) = match s.split_once('@') {
            Some((n, v)) => (
                n,
                Some(semver::Version::parse(v).map_err(|e| format!("`{v}`: {e}"))?),
            ),
            None => (s, None),
        };
        let (package, interface) = match name.split_once('/') {
            Some((p, i)) => {
                crate::ids::kebab(i)?;
                (p, Some(i.to_string()))
            }
            None => (name, None),
        };
        let Some((namespace, pkg)) = package.split_once(':') else {
            return Err(format!(
                "`{package}` is not a package name (`namespace:name`)"
            ));
        };
        label(namespace)?;
        label(pkg)?;
        Ok(DependencyName::Package(PackageName {
            namespace: namespace.to_string(),
            name: pkg.to_string(),
            interface,
            version,
        }))
    }
}

/// A package namespace or name: lowercase kebab words.
fn label(l: &str) -> Result<(), String> {
    let ok = !l.is_empty()
        && l.split('-').all(|w| {
            w.starts_with(|c: char| c.is_ascii_lowercase())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid label {l:?}: labels are lowercase kebab-case words"
        ))
    }
}

/// What Spin needs to know of a dependency's source for its manifest rules.
pub enum SourceKind {
    /// `"0.1.0"`: a registry version with no table.
    Version,
    /// `{ version = …, package = … }` (registry); `has_package` says whether
    /// `package` is given.
    Registry { has_package: bool },
    /// `{ path = … }`, `{ url = … }` or `{ component = … }`.
    Other,
}

/// Spin's `ComponentDependencies::validate`: plain names must say which
/// package they take, package-level names may not pick an export, and two
/// names of one package must differ in version or interface. The error is
/// Spin's own sentence.
pub fn validate(deps: &[(DependencyName, SourceKind, bool)]) -> Result<(), String> {
    for (name, kind, _) in deps {
        if let DependencyName::Plain(plain) = name {
            if matches!(
                kind,
                SourceKind::Version | SourceKind::Registry { has_package: false }
            ) {
                return Err(format!("dependency {plain:?} must specify a package name"));
            }
        }
    }
    for (name, _, has_export) in deps {
        if let DependencyName::Package(p) = name {
            if p.interface.is_none() && *has_export {
                return Err(format!(
                    "using an export to satisfy the package dependency \"{name}\" is not currently permitted"
                ));
            }
        }
    }
    for (i, (this, _, _)) in deps.iter().enumerate() {
        for (other, _, _) in deps.iter().skip(i + 1) {
            let (DependencyName::Package(a), DependencyName::Package(b)) = (this, other) else {
                continue;
            };
            if a.package() == b.package() && !disjoint(a, b) {
                return Err(format!("\"{this}\" dependency conflicts with \"{other}\""));
            }
        }
    }
    Ok(())
}

/// Two names of one package are disjoint when their versions are both given
/// and not semver-compatible, or their interfaces are both given and differ.
fn disjoint(a: &PackageName, b: &PackageName) -> bool {
    if let (Some(x), Some(y)) = (&a.version, &b.version) {
        if compatible_floor(x) != compatible_floor(y) {
            return true;
        }
    }
    matches!((&a.interface, &b.interface), (Some(x), Some(y)) if x != y)
}

/// The version every semver-compatible version shares: `1.2.3` → `1.0.0`,
/// `0.2.3` → `0.2.0`, `0.0.3` itself; pre-releases stand alone.
fn compatible_floor(v: &semver::Version) -> semver::Version {
    let mut v = v.clone();
    v.build = semver::BuildMetadata::EMPTY;
    if !v.pre.is_empty() {
        return v;
    }
    if v.major > 0 {
        v.minor = 0;
        v.patch = 0;
    } else if v.minor > 0 {
        v.patch = 0;
    }
    v
}

/// Whether a dependency name matches an import of the component, as Spin
/// decides it: plain names only an equal plain import; package names the
/// same package, the same interface if one is named, and exactly the same
/// version if one is named (no semver compatibility here).
pub fn matches_import(name: &DependencyName, import: &str) -> Result<bool, String> {
    let package_import = import.contains([':', '/']);
    match name {
        DependencyName::Plain(p) => Ok(!package_import && p == import),
        DependencyName::Package(dep) => {
            if !package_import {
                return Ok(false);
            }
            let (package, rest) = import
                .split_once('/')
                .ok_or_else(|| format!("invalid import name: {import}"))?;
            let (interface, version) = match rest.split_once('@') {
                Some((i, v)) => (
                    i,
                    Some(
                        semver::Version::parse(v)
                            .map_err(|_| format!("invalid version in import name: {import}"))?,
                    ),
                ),
                None => (rest, None),
            };
            if package != dep.package() {
                return Ok(false);
            }
            if dep.interface.as_deref().is_some_and(|i| i != interface) {
                return Ok(false);
            }
            if dep.version.is_some() && dep.version != version {
                return Ok(false);
            }
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DependencyName {
        s.parse().unwrap()
    }

    // Spin's own table (crates/compose, `test_matches_import`).
    #[test]
    fn matching_follows_spin() {
        for (dep, imports) in [
            ("foo:bar/baz@0.1.0", vec!["foo:bar/baz@0.1.0"]),
            ("foo:bar/baz", vec!["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar", vec!["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar@0.1.0", vec!["foo:bar/baz@0.1.0"]),
            ("foo-bar", vec!["foo-bar"]),
        ] {
            for import in imports {
                assert!(
                    matches_import(&name(dep), import).unwrap(),
                    "{dep} ~ {import}"
                );
            }
        }
        for (dep, imports) in [
            ("foo:bar/baz@0.1.0", vec!["foo:bar/baz"]),
            ("foo:bar/baz", vec!["foo:bar/bub", "foo:bar/bub@0.1.0"]),
            ("foo:bar", vec!["foo:bub/bib"]),
            ("foo:bar@0.1.0", vec!["foo:bar/baz"]),
            ("foo:bar/baz", vec!["foo:bar/baz-bub", "foo-bar"]),
            // Exact versions only: a compatible one does not match.
            ("foo:bar/baz@0.1.0", vec!["foo:bar/baz@0.1.1"]),
        ] {
            for import in imports {
                assert!(
                    !matches_import(&name(dep), import).unwrap(),
                    "{dep} !~ {import}"
                );
            }
        }
    }

    fn check(names: &[&str]) -> Result<(), String> {
        let deps: Vec<_> = names
            .iter()
            .map(|n| (name(n), SourceKind::Other, false))
            .collect();
        validate(&deps)
    }

    // Spin's own cases (crates/manifest, `test_validate_dependencies`).
    #[test]
    fn validation_follows_spin() {
        let plain = validate(&[(name("plain-name"), SourceKind::Version, false)]);
        assert_eq!(
            plain.unwrap_err(),
            "dependency \"plain-name\" must specify a package name"
        );
        let export = validate(&[(name("foo:baz@0.1.0"), SourceKind::Other, true)]);
        assert_eq!(
            export.unwrap_err(),
            "using an export to satisfy the package dependency \"foo:baz@0.1.0\" is not currently permitted"
        );
        assert_eq!(
            check(&["foo:baz@0.1.0", "foo:bar@0.2.1", "foo:bar@0.2.2"]).unwrap_err(),
            "\"foo:bar@0.2.1\" dependency conflicts with \"foo:bar@0.2.2\""
        );
        assert!(check(&["foo:bar@0.1.0", "foo:bar@0.2.0", "foo:baz@0.2.0"]).is_ok());
        assert!(check(&["foo:bar@0.1.0", "foo:bar"]).is_err());
        assert!(check(&["foo:bar/baz@0.1.0", "foo:bar/baz@0.2.0"]).is_ok());
        assert!(check(&["foo:bar/baz@0.1.0", "foo:bar@0.2.0"]).is_ok());
        assert!(check(&["foo:bar/baz@0.1.0", "foo:bar@0.1.0"]).is_err());
        assert!(check(&["foo:bar/baz@0.1.0", "foo:bar"]).is_err());
        assert!(check(&["foo:bar/baz", "foo:bar@0.1.0"]).is_err());
        assert!(check(&["foo:bar/baz", "foo:bar"]).is_err());
        // Two interfaces of one package are disjoint.
        assert!(check(&["foo:bar/a@0.1.0", "foo:bar/b@0.1.0"]).is_ok());
    }

    #[test]
    fn names_parse_like_spin() {
        assert_eq!(name("a:b/c@1.2.3").to_string(), "a:b/c@1.2.3");
        assert!(matches!(name("foo-bar"), DependencyName::Plain(_)));
        assert!("a:b@1.2".parse::<DependencyName>().is_err());
        assert!("foo_bar".parse::<DependencyName>().is_err());
        assert!("a/b".parse::<DependencyName>().is_err());
        assert!("A:b".parse::<DependencyName>().is_err());
        let mut v = [name("b:a"), name("x-y"), name("a:z/i"), name("a:z@0.1.0")];
        v.sort();
        let order: Vec<String> = v.iter().map(|n| n.to_string()).collect();
        assert_eq!(order, ["x-y", "a:z/i", "a:z@0.1.0", "b:a"]);
    }
}
