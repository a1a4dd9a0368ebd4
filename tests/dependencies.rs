//! Component dependencies composed like Spin: an import satisfied by another
//! component, with and without inherited configuration.

mod support;

use support::{Host, Opts, TempDir};

fn app(inherit: &str) -> String {
    support::manifest(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "deps"
[variables]
secret = {{ default = "open-sesame" }}
[[trigger.http]]
route = "/..."
component = "caller"
[component.caller]
source = "{{greet-caller}}"
variables = {{ secret = "{{{{ secret }}}}" }}
{inherit}
[component.caller.dependencies]
"skyport-test:greet/greeter@0.1.0" = {{ path = "{{greeter}}" {extra} }}
"#,
        inherit = if inherit == "component-wide" {
            "dependencies_inherit_configuration = true"
        } else {
            ""
        },
        extra = match inherit {
            "variables" => ", inherit_configuration = [\"variables\"]",
            "hosts-only" => ", inherit_configuration = [\"allowed_outbound_hosts\"]",
            _ => "",
        }
    ))
}

#[test]
fn a_dependency_satisfies_the_import() {
    let dir = TempDir::new("deps-plain");
    dir.write("spin.toml", &app("none"));
    let host = Host::start(dir.path(), &Opts::default());
    assert_eq!(
        host.get("/greet?name=Ada"),
        (200, "Hello, Ada, from a dependency!".into())
    );
}

/// How many times `caller`'s greeter dependency has been instantiated, by
/// the host's metrics.
fn greeter_instances(host: &Host) -> u64 {
    let (_, metrics) = host.get("/metrics");
    let line = "skyport_dependency_instantiation_seconds_count{component=\"caller\",dependency=\"skyport-test:greet/greeter@0.1.0\"} ";
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .map_or(0, |n| n.parse().expect("a count"))
}

#[test]
fn a_dependency_is_instantiated_once_per_request_that_calls_it() {
    let dir = TempDir::new("deps-lazy");
    dir.write("spin.toml", &app("none"));
    let opts = Opts {
        args: vec!["--metrics".into(), "/metrics".into()],
        ..Opts::default()
    };
    let host = Host::start(dir.path(), &opts);
    // A request that calls nothing in the dependency never instantiates it.
    assert_eq!(host.get("/plain"), (200, "No dependency called.".into()));
    assert_eq!(greeter_instances(&host), 0);
    // Each request that calls it gets an instance of its own, made once
    // however many calls the request makes.
    assert_eq!(
        host.get("/both"),
        (200, "Hello, Ada, from a dependency! (Tone::Warm)".into())
    );
    assert_eq!(greeter_instances(&host), 1);
    assert_eq!(host.get("/tone").0, 200);
    assert_eq!(host.get("/greet?name=Bo").0, 200);
    assert_eq!(greeter_instances(&host), 3);
}

#[test]
fn a_non_inheriting_dependency_cannot_use_host_capabilities() {
    for case in ["none", "hosts-only"] {
        let dir = TempDir::new("deps-deny");
        dir.write("spin.toml", &app(case));
        let host = Host::start(dir.path(), &Opts::default());
        // Spin's deny adapter answers `undefined`; the host logs the grant.
        let (status, body) = host.get("/secret");
        assert_eq!(
            (status, body.as_str()),
            (200, "error=Error::Undefined(\"secret\")"),
            "{case}: the dependency read a variable it does not inherit"
        );
        let log = host.wait_log("does not inherit `variables`");
        assert!(
            log.contains(
                "called `fermyon:spin/variables@2.0.0#get`, but it does not inherit `variables`"
            ),
            "{case}: {log}"
        );
        // The importing component itself still works.
        assert_eq!(host.get("/greet?name=x").0, 200);
    }
}

#[test]
fn an_inheriting_dependency_uses_the_parent_configuration() {
    for case in ["variables", "component-wide"] {
        let dir = TempDir::new("deps-inherit");
        dir.write("spin.toml", &app(case));
        let host = Host::start(dir.path(), &Opts::default());
        assert_eq!(
            host.get("/secret"),
            (200, "secret=open-sesame".into()),
            "{case}"
        );
    }
}

#[test]
fn an_unsatisfied_import_is_refused_at_start() {
    let dir = TempDir::new("deps-missing");
    dir.write(
        "spin.toml",
        &support::manifest(
            r#"
spin_manifest_version = 2
[application]
name = "deps"
[[trigger.http]]
route = "/..."
component = "caller"
[component.caller]
source = "{greet-caller}"
"#,
        ),
    );
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(err.contains("`component.caller.dependencies`"), "{err}");
    assert!(
        err.contains("imports `skyport-test:greet/greeter@0.1.0`"),
        "{err}"
    );
    assert!(
        err.contains("\"skyport-test:greet/greeter@0.1.0\" = { path = "),
        "{err}"
    );
}

#[test]
fn a_dependency_passing_resources_is_composed_into_its_component() {
    let dir = TempDir::new("deps-resource");
    dir.write(
        "spin.toml",
        &support::manifest(
            r#"
spin_manifest_version = 2
[application]
name = "deps"
[[trigger.http]]
route = "/..."
component = "counting"
[component.counting]
source = "{count-caller}"
[component.counting.dependencies]
"skyport-test:greet/counter@0.1.0" = { path = "{greeter}" }
"#,
        ),
    );
    let opts = Opts {
        args: vec!["--metrics".into(), "/metrics".into()],
        ..Opts::default()
    };
    let host = Host::start(dir.path(), &opts);
    // The tally lives in the dependency; the caller holds a handle to it.
    assert_eq!(host.get("/count?start=10"), (200, "16".into()));
    assert_eq!(host.get("/count?start=1"), (200, "7".into()));
    // Composed, the dependency is instantiated with its component, as Spin
    // does it, not on its first call.
    let (_, metrics) = host.get("/metrics");
    assert!(
        metrics.contains("skyport_requests_total{component=\"counting\",status=\"200\"} 2"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("skyport_dependency_instantiation_seconds_count{component=\"counting\""),
        "{metrics}"
    );
}
