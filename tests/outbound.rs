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
    let host = Host::start(dir.path(), &Opts { args: vec!["--metrics".into(), "/metrics".into()], ..Opts::default() });

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
    let entry = format!("add \"http://127.0.0.1:{}\" to `allowed_outbound_hosts` of component `closed`", allowed.port);
    assert!(log.contains(&entry), "{log}");

    let (_, metrics) = host.get("/metrics");
    assert!(metrics.contains("skyport_outbound_denied_total{component=\"closed\"} 1"), "{metrics}");
    assert!(metrics.contains("skyport_outbound_denied_total{component=\"open\"} 1"), "{metrics}");
}
