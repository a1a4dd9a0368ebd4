//! Spin's `[outbound_networking] block_networks`: no outbound request
//! reaches a blocked address, whether the URL names it or a host name
//! resolves to it; the check is made on the resolved addresses the request
//! then connects to. What is not blocked is reached as before.

mod support;

use support::{Host, Opts, TempDir, Upstream};

fn app(upstream: u16, runtime_config: &str) -> (TempDir, Opts) {
    let dir = TempDir::new("blocked");
    dir.write(
        "spin.toml",
        &support::one_component(
            "{probe}",
            &format!(
                "allowed_outbound_hosts = [\"http://127.0.0.1:{upstream}\", \"http://localhost:{upstream}\"]\n"
            ),
        ),
    );
    let rc = dir.write("runtime-config.toml", runtime_config);
    (
        dir,
        Opts {
            runtime_config: Some(rc),
            ..Opts::default()
        },
    )
}

#[test]
fn private_addresses_are_refused_by_address_and_by_name() {
    let upstream = Upstream::start("must not be reached");
    let (dir, opts) = app(
        upstream.port,
        "[outbound_networking]\nblock_networks = [\"private\"]\n",
    );
    let host = Host::start(dir.path(), &opts);
    for url in [
        format!("http://127.0.0.1:{}/x", upstream.port),
        // A name that resolves to a blocked address is refused too.
        format!("http://localhost:{}/x", upstream.port),
    ] {
        let (status, body) = host.get(&format!("/?op=fetch&url={url}"));
        assert_eq!(status, 502, "{url}: {body}");
        assert!(body.contains("DestinationIpProhibited"), "{url}: {body}");
    }
    assert_eq!(upstream.hits(), 0, "a blocked address was reached");
    let log = host.wait_log("block_networks");
    assert!(log.contains("block_networks"), "{log}");
}

#[test]
fn only_the_listed_networks_are_blocked() {
    let upstream = Upstream::start("from upstream");
    let (dir, opts) = app(
        upstream.port,
        "[outbound_networking]\nblock_networks = [\"10.0.0.0/8\", \"192.0.2.1\"]\n",
    );
    let host = Host::start(dir.path(), &opts);
    for url in [
        format!("http://127.0.0.1:{}/x", upstream.port),
        format!("http://localhost:{}/x", upstream.port),
    ] {
        let (status, body) = host.get(&format!("/?op=fetch&url={url}"));
        assert_eq!((status, body.as_str()), (200, "200 from upstream"), "{url}");
    }
    assert_eq!(upstream.hits(), 2);
}

#[test]
fn a_malformed_network_is_refused_at_start() {
    let (dir, opts) = app(
        1,
        "[outbound_networking]\nblock_networks = [\"intranet\"]\n",
    );
    let err = support::start_fails(dir.path(), &opts);
    assert!(err.contains("outbound_networking.block_networks"), "{err}");
    assert!(err.contains("`intranet`"), "{err}");
}
