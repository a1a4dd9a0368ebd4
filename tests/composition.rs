//! Composition follows Spin 4: every manifest here is one Spin 4.0.2 refuses
//! (crates/manifest `validate_dependencies`, crates/compose `compose`), and
//! skyport refuses it at start with Spin's sentence; the ones Spin accepts run.
//! The matching and validation tables of Spin's own tests are unit tests in
//! host/src/dependencies.rs.

mod support;

use support::product::{Product, BOOTSTRAP_KEY};
use support::{Opts, TempDir};

/// The greet caller with `deps` as its `[component.caller.dependencies]` lines.
fn app(deps: &str, component_extra: &str) -> String {
    support::manifest(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "compose"
[[trigger.http]]
route = "/..."
component = "caller"
[component.caller]
source = "{{greet-caller}}"
{component_extra}
[component.caller.dependencies]
{deps}
"#
    ))
}

/// Starts skyport on `deps` and returns what it printed when it refused.
fn refused(tag: &str, deps: &str, component_extra: &str) -> String {
    let dir = TempDir::new(tag);
    dir.write("spin.toml", &app(deps, component_extra));
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(
        err.contains("`component.caller.dependencies"),
        "the refusal names the field: {err}"
    );
    assert!(
        err.contains("fix:"),
        "the refusal says what to change: {err}"
    );
    err
}

#[test]
fn a_package_level_key_also_matches_the_type_only_interface() {
    // The break the app had: `ns:pkg@ver` matches every import of the package,
    // and the dependency exports no `types`.
    let err = refused(
        "compose-types",
        r#""skyport-test:greet@0.1.0" = { path = "{greeter}" }"#,
        "",
    );
    assert!(
        err.contains("failed to resolve dependencies for component \"caller\""),
        "{err}"
    );
    assert!(
        err.contains("dependency 'skyport-test:greet@0.1.0' doesn't export 'skyport-test:greet/types@0.1.0' to satisfy import 'skyport-test:greet/types@0.1.0'"),
        "{err}"
    );
    assert!(err.contains("key the dependency by interface"), "{err}");
}

#[test]
fn two_dependencies_of_one_package_are_refused() {
    // Spin registers each dependency under its package name.
    let err = refused(
        "compose-one-package",
        r#""skyport-test:greet/greeter@0.1.0" = { path = "{greeter}" }
"skyport-test:greet/types@0.1.0" = { path = "{greeter}" }"#,
        "",
    );
    assert!(
        err.contains("an error occurred when preparing dependencies"),
        "{err}"
    );
    assert!(
        err.contains("package `skyport-test:greet` has already been registered in the graph"),
        "{err}"
    );
    assert!(err.contains("one dependency per package"), "{err}");
}

#[test]
fn a_name_that_matches_no_import_is_refused() {
    // Versions match exactly: a compatible 0.1.1 is not 0.1.0.
    for key in [
        "skyport-test:greet/greeter@0.1.1",
        "skyport-test:greet/absent",
        "skyport-test:other@0.1.0",
        "greeter",
    ] {
        let err = refused(
            "compose-unmatched",
            &format!(r#""{key}" = {{ path = "{{greeter}}" }}"#),
            "",
        );
        assert!(
            err.contains(&format!(
                "dependency '{key}' doesn't match any imports of component 'caller'"
            )),
            "{key}: {err}"
        );
        assert!(
            err.contains("skyport-test:greet/greeter@0.1.0"),
            "the fix lists the imports: {err}"
        );
    }
}

#[test]
fn an_export_must_exist_and_have_the_imports_type() {
    let err = refused(
        "compose-export-missing",
        r#""skyport-test:greet/greeter@0.1.0" = { path = "{greeter}", export = "skyport-test:greet/absent@0.1.0" }"#,
        "",
    );
    assert!(
        err.contains("dependency 'skyport-test:greet/greeter@0.1.0' doesn't export 'skyport-test:greet/absent@0.1.0' to satisfy import 'skyport-test:greet/greeter@0.1.0'"),
        "{err}"
    );

    let err = refused(
        "compose-export-subtype",
        r#""skyport-test:greet/greeter@0.1.0" = { path = "{greeter}", export = "skyport-test:greet/farewell@0.1.0" }"#,
        "",
    );
    assert!(
        err.contains("dependency 'skyport-test:greet/greeter@0.1.0' exports 'skyport-test:greet/farewell@0.1.0' which is not compatible with import 'skyport-test:greet/greeter@0.1.0'"),
        "{err}"
    );

    // A component that exports nothing of the kind.
    let err = refused(
        "compose-export-none",
        r#""skyport-test:greet/greeter@0.1.0" = { path = "{hello}" }"#,
        "",
    );
    assert!(
        err.contains("dependency 'skyport-test:greet/greeter@0.1.0' doesn't export 'skyport-test:greet/greeter@0.1.0' to satisfy import 'skyport-test:greet/greeter@0.1.0'"),
        "{err}"
    );
}

#[test]
fn manifest_rules_are_spins() {
    let cases = [
        (
            r#""skyport-test:greet/greeter@0.1.0" = { path = "{greeter}" }
"skyport-test:greet@0.1.0" = { path = "{greeter}" }"#,
            "",
            "component \"caller\" has invalid dependencies: \"skyport-test:greet/greeter@0.1.0\" dependency conflicts with \"skyport-test:greet@0.1.0\"",
        ),
        (
            r#""skyport-test:greet/greeter@0.1.0" = { path = "{greeter}" }
"skyport-test:greet/greeter@0.1.5" = { path = "{greeter}" }"#,
            "",
            "dependency conflicts with",
        ),
        (
            r#""greeter" = "0.1.0""#,
            "",
            "dependency \"greeter\" must specify a package name",
        ),
        (
            r#""skyport-test:greet@0.1.0" = { path = "{greeter}", export = "skyport-test:greet/greeter@0.1.0" }"#,
            "",
            "using an export to satisfy the package dependency \"skyport-test:greet@0.1.0\" is not currently permitted",
        ),
        (
            r#""skyport-test:greet/greeter@0.1.0" = { path = "{greeter}", inherit_configuration = true }"#,
            "dependencies_inherit_configuration = false",
            "specifies both `dependencies_inherit_configuration` and per-dependency `inherit_configuration`",
        ),
        (
            r#""skyport-test:greet/greeter@0.1" = { path = "{greeter}" }"#,
            "",
            "is not a dependency name",
        ),
    ];
    for (deps, extra, reason) in cases {
        let err = refused("compose-manifest", deps, extra);
        assert!(err.contains(reason), "expected «{reason}»:\n{err}");
    }
}

#[test]
fn an_interface_key_composes_and_type_only_imports_stay_with_the_host() {
    let dir = TempDir::new("compose-ok");
    dir.write(
        "spin.toml",
        &app(
            r#""skyport-test:greet/greeter@0.1.0" = { path = "{greeter}" }"#,
            "",
        ),
    );
    let host = support::Host::start(dir.path(), &Opts::default());
    assert_eq!(host.get("/tone"), (200, "Tone::Warm".into()));
    assert_eq!(
        host.get("/greet?name=Ada"),
        (200, "Hello, Ada, from a dependency!".into())
    );
}

#[test]
fn the_apps_own_manifest_composes() {
    // The real spin.toml: every component loads, each dependency keyed by
    // interface, one per package.
    let manifest = std::fs::read_to_string(support::root().join("spin.toml")).unwrap();
    assert!(
        !manifest.contains("\"skyport:cloud"),
        "package-level keys match type-only interfaces on Spin"
    );
    let product = Product::start(sim::World::default());
    for path in [
        "/api/v1/accounts",
        "/api/v1/servers",
        "/api/v1/storage/targets",
        "/api/v1/dns/domains",
    ] {
        let (status, body) = product.api("GET", path, BOOTSTRAP_KEY, "");
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = product.api(
        "POST",
        "/api/v1/accounts/azure/connect",
        BOOTSTRAP_KEY,
        "{}",
    );
    assert!(status < 300, "connect: {status} {body}");
}
