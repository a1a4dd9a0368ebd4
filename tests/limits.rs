//! A runaway loop and a memory hog are stopped with a 5xx and a log line while
//! the host and concurrent requests carry on.

mod support;

use std::thread;

use support::{Host, Opts, TempDir};

#[test]
fn runaway_guests_are_contained() {
    let dir = TempDir::new("limits");
    dir.write(
        "spin.toml",
        &support::manifest(
            r#"
spin_manifest_version = 2
[application]
name = "limits"
[[trigger.http]]
route = "/bad/..."
component = "bad"
[[trigger.http]]
route = "/slow/..."
component = "slow"
[[trigger.http]]
route = "/good/..."
component = "good"
[component.bad]
source = "{probe}"
[component.slow]
source = "{probe}"
[component.good]
source = "{probe}"
"#,
        ),
    );
    let rc = dir.write(
        "rc.toml",
        "[limits]\nmemory_mb = 64\n[limits.component.bad]\ncpu_time_ms = 200\nmemory_mb = 32\n[limits.component.slow]\ncpu_time_ms = 60000\ntimeout_ms = 300\n",
    );
    let host = Host::start(
        dir.path(),
        &Opts {
            runtime_config: Some(rc),
            args: vec!["--metrics".into(), "/metrics".into()],
            ..Opts::default()
        },
    );

    let url = host.url.clone();
    let looping = thread::spawn({
        let url = url.clone();
        move || support::get(&format!("{url}/bad?op=loop"))
    });
    let hog = thread::spawn({
        let url = url.clone();
        move || support::get(&format!("{url}/bad?op=hog"))
    });
    let stuck = thread::spawn({
        let url = url.clone();
        move || support::get(&format!("{url}/slow?op=loop"))
    });
    // While those run, a well-behaved request is answered.
    assert_eq!(host.get("/good?op=hello"), (200, "Hello, Skyport!".into()));

    let (status, body) = looping.join().unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("CPU time limit"), "{body}");
    let (status, body) = hog.join().unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("memory limit"), "{body}");
    let (status, body) = stuck.join().unwrap();
    assert_eq!(status, 504, "{body}");

    // And the host is still fine afterwards.
    assert_eq!(host.get("/good?op=hello"), (200, "Hello, Skyport!".into()));
    let log = host.wait_log("limit=memory");
    assert!(
        log.contains("limit=cpu_time") && log.contains("CPU time limit of 200 ms exceeded"),
        "{log}"
    );
    assert!(
        log.contains("limit=memory") && log.contains("its limit is 32 MiB"),
        "{log}"
    );
    assert!(log.contains("limit=timeout"), "{log}");
    let (_, metrics) = host.get("/metrics");
    for l in ["cpu_time", "memory"] {
        assert!(
            metrics.contains(&format!(
                "skyport_limit_kills_total{{component=\"bad\",limit=\"{l}\"}} 1"
            )),
            "{metrics}"
        );
    }
    assert!(
        metrics.contains("skyport_limit_kills_total{component=\"slow\",limit=\"timeout\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skyport_instantiation_seconds_count{component=\"good\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skyport_requests_total{component=\"good\",status=\"200\"} 2"),
        "{metrics}"
    );
}
