//! Every way a manifest or runtime config can be wrong is refused at start
//! with one message naming the file, the field and the fix.

mod support;

use support::{Opts, TempDir};

const HEAD: &str = "spin_manifest_version = 2\n[application]\nname = \"bad\"\n";

fn refused(manifest: &str, rc: Option<&str>) -> String {
    let dir = TempDir::new("bad");
    dir.write(
        "spin.toml",
        &support::manifest(&format!("{HEAD}{manifest}")),
    );
    let runtime_config = rc.map(|t| dir.write("rc.toml", t));
    let err = support::start_fails(
        dir.path(),
        &Opts {
            runtime_config,
            ..Opts::default()
        },
    );
    assert!(err.contains("fix: "), "no fix given:\n{err}");
    err
}

const OK_COMPONENT: &str = "[component.a]\nsource = \"{probe}\"\n";
const OK_TRIGGER: &str = "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"a\"\n";

#[test]
fn unknown_field() {
    let err = refused(
        &format!("{OK_TRIGGER}{OK_COMPONENT}allowed_outbound_host = []\n"),
        None,
    );
    assert!(
        err.contains("spin.toml: `line 9, column 1`: unknown field `allowed_outbound_host`"),
        "{err}"
    );
}

#[test]
fn missing_source_file() {
    let err = refused(
        &format!("{OK_TRIGGER}[component.a]\nsource = \"nowhere/a.wasm\"\n"),
        None,
    );
    assert!(err.contains("`component.a.source`: file `"), "{err}");
    assert!(err.contains("nowhere/a.wasm` does not exist"), "{err}");
    assert!(err.contains("skyport build"), "{err}");
}

#[test]
fn base_other_than_the_root_is_refused_as_spin_refuses_it() {
    let err = refused(
        &format!("[application.trigger.http]\nbase = \"/base\"\n{OK_TRIGGER}{OK_COMPONENT}"),
        None,
    );
    assert!(
        err.contains("`application.trigger.http.base`: This application is using the deprecated trigger 'base' field. The base must be prepended to each [[trigger.http]]'s 'route'."),
        "{err}"
    );
    assert!(err.contains("`route = \"/api/users\"`"), "{err}");
}

#[test]
fn ids_and_names_are_refused_with_spins_reasons() {
    let err = refused(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"app-2fa\"\n[component.app-2fa]\nsource = \"{probe}\"\n",
        None,
    );
    assert!(
        err.contains("`component.app-2fa`: `app-2fa` is not a valid component id: '-'-separated words must start with an ASCII letter; got '2'"),
        "{err}"
    );
    let err = refused(
        &format!("[variables]\nport_8080 = {{ default = \"1\" }}\n{OK_TRIGGER}{OK_COMPONENT}"),
        None,
    );
    assert!(
        err.contains("`variables.port_8080`: `port_8080` is not a valid variable name: '_'-separated words must start with an ASCII letter; got '8'"),
        "{err}"
    );
    let err = refused(
        &format!("{OK_TRIGGER}{OK_COMPONENT}key_value_stores = [\"Cache.v2\"]\n"),
        None,
    );
    assert!(
        err.contains(
            "`component.a.key_value_stores[0]`: `Cache.v2`: expected kebab-case or snake_case"
        ),
        "{err}"
    );
}

#[test]
fn malformed_route() {
    let err = refused(
        &format!("[[trigger.http]]\nroute = \"/a/*rest\"\ncomponent = \"a\"\n{OK_COMPONENT}"),
        None,
    );
    assert!(err.contains("`trigger.http[0].route`"), "{err}");
    assert!(
        err.contains("since there can only be one wildcard, it doesn't need a name. replace `*rest` with `*`"),
        "{err}"
    );
}

#[test]
fn trigger_names_a_missing_component() {
    let err = refused(
        &format!("[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n{OK_COMPONENT}"),
        None,
    );
    assert!(
        err.contains("`trigger.http[0].component`: no component is named `nope`"),
        "{err}"
    );
}

#[test]
fn malformed_allowed_host() {
    let err = refused(
        &format!("{OK_TRIGGER}{OK_COMPONENT}allowed_outbound_hosts = [\"example.com\"]\n"),
        None,
    );
    assert!(
        err.contains("`component.a.allowed_outbound_hosts[0]`"),
        "{err}"
    );
    assert!(err.contains("has no scheme"), "{err}");
    assert!(err.contains("https://example.com"), "{err}");
    let err = refused(
        &format!(
            "{OK_TRIGGER}{OK_COMPONENT}allowed_outbound_hosts = [\"https://example.com/api\"]\n"
        ),
        None,
    );
    assert!(err.contains("paths are not allowed"), "{err}");
}

#[test]
fn undefined_variable_in_a_template() {
    let err = refused(
        &format!("{OK_TRIGGER}{OK_COMPONENT}variables = {{ k = \"{{{{ missing }}}}\" }}\n"),
        None,
    );
    assert!(err.contains("`component.a.variables.k`"), "{err}");
    assert!(
        err.contains("`missing`, which `[variables]` does not define"),
        "{err}"
    );
}

#[test]
fn manifest_version_one() {
    let dir = TempDir::new("bad-v1");
    dir.write("spin.toml", "spin_manifest_version = \"1\"\nname = \"x\"\n");
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(err.contains("spin.toml"), "{err}");
}

#[test]
fn not_a_component() {
    let dir = TempDir::new("bad-wasm");
    dir.write("junk.wasm", "this is not wasm");
    dir.write(
        "spin.toml",
        &format!("{HEAD}{OK_TRIGGER}[component.a]\nsource = \"junk.wasm\"\n"),
    );
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(err.contains("`component.a.source`"), "{err}");
    assert!(err.contains("is not a valid Wasm component"), "{err}");
}

#[test]
fn runtime_config_unknown_field_and_bad_backend() {
    let err = refused(
        &format!("{OK_TRIGGER}{OK_COMPONENT}"),
        Some("[key_value_store.x]\ntype = \"redis\"\n"),
    );
    assert!(
        err.contains("rc.toml: `key_value_store.x.type`: backend `redis` is not supported"),
        "{err}"
    );
    let err = refused(
        &format!("{OK_TRIGGER}{OK_COMPONENT}"),
        Some("[limits]\nmemory = 3\n"),
    );
    assert!(err.contains("rc.toml"), "{err}");
    assert!(err.contains("unknown field `memory`"), "{err}");
    let err = refused(
        &format!("{OK_TRIGGER}{OK_COMPONENT}"),
        Some("[limits.component.nope]\ncpu_time_ms = 5\n"),
    );
    assert!(
        err.contains("`limits.component.nope`: the app has no component `nope`"),
        "{err}"
    );
}
