//! `allowed_outbound_hosts`: allowed requests go out, denied ones fail in the
//! guest with HttpRequestDenied and are logged with the entry to add.

mod support;

use support::{Host, Opts, TempDir, Upstream};

#[test]
fn allowed_and_denied_outbound_requests() {
    let allowed = Upstream::start("from upstream");
    let other = Upstream::start("must not be reached");
    let dir = TempDir::new("outbound");
    dir.write(
        "spin.toml",
        &support::manifest(&format!(
            r#"
spin_manifest_version = 2
[application]
name = "outbound"
[variables]
upstream_port = {{ default = "{port}" }}
[[trigger.http]]
route = "/open/..."
component = "open"
[[trigger.http]]
route = "/closed/..."
component = "closed"
[component.open]
source = "{{probe}}"
allowed_outbound_hosts = ["http://127.0.0.1:{{{{ upstream_port }}}}"]
[component.closed]
source = "{{probe}}"
"#,
            port = allowed.port
        )),
    );
    let host = Host::start(
        dir.path(),
        &Opts {
            args: vec!["--metrics".into(), "/metrics".into()],
            ..Opts::default()
        },
    );

    let url = format!("http://127.0.0.1:{}/x", allowed.port);
    let (status, body) = host.get(&format!("/open?op=fetch&url={url}"));
    assert_eq!((status, body.as_str()), (200, "200 from upstream"));

    // Same component, a port its allow-list does not name.
    let denied_url = format!("http://127.0.0.1:{}/x", other.port);
    let (status, body) = host.get(&format!("/open?op=fetch&url={denied_url}"));
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");

    // A component with no allow-list at all.
    let (status, body) = host.get(&format!("/closed?op=fetch&url={url}"));
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    assert_eq!(other.hits(), 0, "a denied request reached the network");
    assert_eq!(allowed.hits(), 1);

    let log = host.wait_log("allowed_outbound_hosts` of component `closed`");
    let entry = format!(
        "add \"http://127.0.0.1:{}\" to `allowed_outbound_hosts` of component `closed`",
        allowed.port
    );
    assert!(log.contains(&entry), "{log}");

    let (_, metrics) = host.get("/metrics");
    assert!(
        metrics.contains("skyport_outbound_denied_total{component=\"closed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skyport_outbound_denied_total{component=\"open\"} 1"),
        "{metrics}"
    );
}

#[test]
fn outbound_requests_time_out() {
    let hanging = Upstream::hanging();
    let dir = TempDir::new("outbound-timeout");
    dir.write(
        "spin.toml",
        &support::one_component(
            "{probe}",
            &format!(
                "allowed_outbound_hosts = [\"http://127.0.0.1:{}\"]\n",
                hanging.port
            ),
        ),
    );
    let rc = dir.write("rc.toml", "[outbound_http]\ntimeout_ms = 300\n");
    let host = Host::start(
        dir.path(),
        &Opts {
            runtime_config: Some(rc),
            ..Opts::default()
        },
    );
    let started = std::time::Instant::now();
    let (status, body) = host.get(&format!(
        "/?op=fetch&url=http://127.0.0.1:{}/",
        hanging.port
    ));
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("Timeout"), "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the outbound timeout was not applied"
    );
    assert_eq!(hanging.hits(), 1);
}

#[test]
fn service_chaining_reaches_components_as_spin_grants_it() {
    let dir = TempDir::new("chaining");
    dir.write(
        "spin.toml",
        &support::manifest(
            r#"
spin_manifest_version = 2
[application]
name = "chaining"
[[trigger.http]]
route = "/front/..."
component = "front"
[[trigger.http]]
route = "/wide/..."
component = "wide"
[[trigger.http]]
route = { private = true }
component = "back"
[[trigger.http]]
route = "/routed/..."
component = "routed"
[component.front]
source = "{probe}"
allowed_outbound_hosts = ["http://back.spin.internal", "http://routed.spin.internal"]
[component.wide]
source = "{probe}"
allowed_outbound_hosts = ["*://*:*"]
[component.back]
source = "{probe}"
[component.routed]
source = "{probe}"
"#,
        ),
    );
    let host = Host::start(dir.path(), &Opts::default());
    let (status, body) = host.get("/front?op=fetch&url=http://back.spin.internal/inner?op=hello");
    assert_eq!((status, body.as_str()), (200, "200 Hello, Skyport!"));
    // Spin checks a chaining URL as any other: `*://*:*` grants it too...
    let (status, body) = host.get("/wide?op=fetch&url=http://back.spin.internal/inner?op=hello");
    assert_eq!((status, body.as_str()), (200, "200 Hello, Skyport!"));
    // ...a grant for another component does not, nor does another scheme...
    let (status, body) = host.get("/front?op=fetch&url=http://wide.spin.internal/wide?op=hello");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
    let (status, body) = host.get("/front?op=fetch&url=https://back.spin.internal/inner?op=hello");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
    // ...and a component the app does not have is denied.
    let (status, body) = host.get("/wide?op=fetch&url=http://nope.spin.internal/");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
    // The private component has no public route.
    assert_eq!(host.get("/inner?op=hello").0, 404);

    // A chained request is matched as Spin matches it: by `/...`, whatever
    // route the callee has from outside, from client address 0.0.0.0:0.
    let (status, body) =
        host.get("/front?op=fetch&url=http://routed.spin.internal/routed/x%3Fy%3D1");
    assert_eq!(status, 200, "{body}");
    let echoed: serde_json::Value =
        serde_json::from_str(body.strip_prefix("200 ").expect("status first")).expect("JSON");
    let header = |name: &str| {
        echoed["headers"][name]
            .as_str()
            .unwrap_or("<none>")
            .to_string()
    };
    assert_eq!(header("spin-path-info"), "/routed/x");
    assert_eq!(header("spin-matched-route"), "/...");
    assert_eq!(header("spin-raw-component-route"), "/...");
    assert_eq!(header("spin-component-route"), "");
    assert_eq!(header("spin-base-path"), "/");
    assert_eq!(header("spin-client-addr"), "0.0.0.0:0");
    assert!(
        header("spin-full-url").ends_with("/routed/x?y=1"),
        "{echoed}"
    );
}

#[test]
fn metrics_on_their_own_address() {
    let dir = TempDir::new("metrics-port");
    dir.write("spin.toml", &support::one_component("{hello}", ""));
    let host = Host::start(
        dir.path(),
        &Opts {
            args: vec!["--metrics".into(), "127.0.0.1:0".into()],
            ..Opts::default()
        },
    );
    assert_eq!(host.get("/").0, 200);
    let out = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let out = host.stdout();
            if out.contains("Metrics: ") || std::time::Instant::now() > deadline {
                break out;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let url = out
        .lines()
        .find_map(|l| l.strip_prefix("Metrics: "))
        .expect("a metrics address")
        .trim()
        .to_string();
    let (status, metrics) = support::get(&url);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("skyport_requests_total{component=\"a\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE skyport_instantiation_seconds histogram"),
        "{metrics}"
    );
}

/// As on Spin, an entry that an unset variable leaves empty is skipped (an
/// optional endpoint), while an empty literal entry is refused at start.
#[test]
fn an_entry_left_empty_by_a_variable_is_skipped() {
    let upstream = Upstream::start("from upstream");
    let dir = TempDir::new("outbound-optional");
    dir.write(
        "spin.toml",
        &support::manifest(&format!(
            r#"
spin_manifest_version = 2
[application]
name = "optional"
[variables]
optional_endpoint = {{ default = "" }}
[[trigger.http]]
route = "/..."
component = "a"
[component.a]
source = "{{probe}}"
allowed_outbound_hosts = ["{{{{ optional_endpoint }}}}", "http://127.0.0.1:{port}"]
"#,
            port = upstream.port
        )),
    );
    let host = Host::start(dir.path(), &Opts::default());
    let url = format!("http://127.0.0.1:{}/x", upstream.port);
    let (status, body) = host.get(&format!("/?op=fetch&url={url}"));
    assert_eq!((status, body.as_str()), (200, "200 from upstream"));
    drop(host);

    dir.write(
        "spin.toml",
        &support::one_component("{probe}", "allowed_outbound_hosts = [\"\"]\n"),
    );
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(err.contains("allowed_outbound_hosts[0]"), "{err}");
}
