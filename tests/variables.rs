//! Variables: env provider, defaults, a runtime-config static provider, a
//! missing required variable stopping the start, and secrets kept out of logs.

mod support;

use support::{Host, Opts, TempDir};

const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "variables"
[variables]
greeting = { default = "hello" }
api_token = { required = true, secret = true }
region = { default = "westeurope" }
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
[component.probe.variables]
greeting = "{{ greeting }}, world"
token = "{{ api_token }}"
where = "{{region}}"
json = '{"a":{"b":1}}'
"#;

#[test]
fn env_default_and_static_providers() {
    let dir = TempDir::new("variables");
    dir.write("spin.toml", &support::manifest(APP));
    let rc = dir.write(
        "runtime-config.toml",
        "[[variables_provider]]\ntype = \"static\"\nvalues = { region = \"northeurope\" }\n",
    );
    let secret = "s3cr3t-token-value-4217";
    let host = Host::start(
        dir.path(),
        &Opts {
            runtime_config: Some(rc),
            env: vec![
                ("SPIN_VARIABLE_API_TOKEN".into(), secret.into()),
                ("SPIN_VARIABLE_GREETING".into(), "hi".into()),
                // The static provider has it too, and is asked first.
                ("SPIN_VARIABLE_REGION".into(), "from-env".into()),
            ],
            ..Opts::default()
        },
    );
    // As on Spin: the configured providers first (the static one), then the
    // environment, then the default.
    assert_eq!(
        host.get("/?op=var&name=greeting"),
        (200, "hi, world".into())
    );
    assert_eq!(host.get("/?op=var&name=where"), (200, "northeurope".into()));
    assert_eq!(host.get("/?op=var&name=token"), (200, secret.into()));

    // A variable the component does not declare is undefined, even if the app has it.
    let (status, body) = host.get("/?op=var&name=region");
    assert_eq!(status, 500);
    assert!(body.contains("Undefined"), "{body}");
    assert!(
        body.contains(r#"no variable for \"probe\".\"region\""#),
        "Spin's words: {body}"
    );
    let (status, body) = host.get("/?op=var&name=Bad-Name");
    assert_eq!(status, 500);
    assert!(body.contains("InvalidName"), "{body}");
    // Spin's key rules: no trailing `_`.
    let (status, body) = host.get("/?op=var&name=greeting_");
    assert_eq!(status, 500);
    assert!(
        body.contains("must end with a lowercase ASCII letter or digit"),
        "{body}"
    );
    // A `}}` outside a reference is text, as on Spin.
    assert_eq!(
        host.get("/?op=var&name=json"),
        (200, r#"{"a":{"b":1}}"#.into())
    );

    let log = host.stop();
    assert!(!log.contains(secret), "a secret reached the log:\n{log}");
}

#[test]
fn missing_required_variable_stops_the_start() {
    let dir = TempDir::new("variables-missing");
    dir.write("spin.toml", &support::manifest(APP));
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(err.contains("`variables.api_token`"), "{err}");
    assert!(
        err.contains("required variable `api_token` has no value"),
        "{err}"
    );
    assert!(err.contains("SPIN_VARIABLE_API_TOKEN"), "{err}");
}
