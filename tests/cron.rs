//! The cron trigger: `[[trigger.cron]]` as Spin's cron plugin reads it runs
//! its component on schedule (the first field is seconds), never starts a
//! run before the previous one ended, and gives the component the grants,
//! limits, logs and metrics an HTTP component gets. Malformed triggers are
//! refused before anything runs.

mod support;

use std::time::Duration;

use support::{manifest, start_fails, Host, Opts, TempDir};

/// `(start, end)` in ms of each run of the ticker whose output carries `tag`.
fn runs(stdout: &str, tag: &str) -> Vec<(u128, u128)> {
    stdout
        .lines()
        .filter(|l| l.starts_with("tick ") && l.contains(tag))
        .map(|l| {
            let field = |k: &str| -> u128 {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(k))
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            (field("start="), field("end="))
        })
        .collect()
}

fn app(body: &str) -> TempDir {
    let dir = TempDir::new("cron");
    dir.write(
        "spin.toml",
        &manifest(&format!(
            "spin_manifest_version = 2\n[application]\nname = \"cron-test\"\n{body}"
        )),
    );
    dir
}

#[test]
fn runs_follow_the_schedule_and_never_overlap() {
    let dir = app(r#"
[[trigger.cron]]
component = "quick"
cron_expression = "*/2 * * * * *"

[[trigger.cron]]
component = "slow"
cron_expression = "* * * * * *"

[component.quick]
source = "{ticker}"
[component.quick.variables]
probe = "none"

[component.slow]
source = "{ticker}"
[component.slow.variables]
sleep_ms = "2500"
probe = "slow"
"#);
    // `probe = "slow"` is not a probe the ticker knows: it only tells the
    // two components' output apart through the log line.
    let host = Host::start(
        dir.path(),
        &Opts {
            args: vec!["--metrics".into(), "/metrics".into()],
            ..Opts::default()
        },
    );
    let watched = Duration::from_secs(9);
    std::thread::sleep(watched);
    let log = host.log();
    let quick = log
        .lines()
        .filter(|l| l.contains("cron component=quick outcome=ok"))
        .count();
    // Every 2 s for 9 s: 4 runs, give or take the edges.
    assert!(
        (3..=5).contains(&quick),
        "{quick} runs of */2 in 9 s:\n{log}"
    );

    let slow = log
        .lines()
        .filter(|l| l.contains("cron component=slow outcome=ok"))
        .count();
    assert!(
        (2..=4).contains(&slow),
        "a 2.5 s run every second: {slow} runs in 9 s:\n{log}"
    );
    let stdout = host.stdout();
    let all = runs(&stdout, "");
    assert!(all.len() >= quick + slow - 1, "{stdout}");
    // The slow component's runs, in order, never overlap.
    let slow_runs: Vec<(u128, u128)> = all.iter().copied().filter(|(s, e)| e - s >= 2400).collect();
    assert!(slow_runs.len() >= 2, "{stdout}");
    for w in slow_runs.windows(2) {
        assert!(
            w[1].0 >= w[0].1,
            "run {:?} started before {:?} ended",
            w[1],
            w[0]
        );
    }
    let (_, metrics) = host.get("/metrics");
    assert!(
        metrics.contains("skyport_cron_runs_total{component=\"quick\",outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skyport_cron_skipped_total{component=\"slow\"}"),
        "skipped fire times are counted:\n{metrics}"
    );
    assert!(metrics.contains("skyport_instantiation_seconds_count{component=\"slow\"}"));
}

#[test]
fn a_cron_component_gets_only_what_it_was_granted() {
    let upstream = support::Upstream::start("reached");
    let dir = app(&format!(
        r#"
[[trigger.cron]]
component = "kv"
cron_expression = "* * * * * *"

[[trigger.cron]]
component = "net"
cron_expression = "* * * * * *"

[[trigger.cron]]
component = "failing"
cron_expression = "* * * * * *"

[[trigger.cron]]
component = "chaining"
cron_expression = "* * * * * *"

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = "{{hello}}"

[component.chaining]
source = "{{ticker}}"
allowed_outbound_hosts = ["http://web.spin.internal"]
[component.chaining.variables]
probe = "chain"

[[trigger.cron]]
component = "trapping"
cron_expression = "* * * * * *"

[component.kv]
source = "{{ticker}}"
[component.kv.variables]
probe = "kv"

[component.net]
source = "{{ticker}}"
allowed_outbound_hosts = ["http://127.0.0.1:{}"]
[component.net.variables]
probe = "http"

[component.failing]
source = "{{ticker}}"
[component.failing.variables]
probe = "fail"

[component.trapping]
source = "{{ticker}}"
[component.trapping.variables]
probe = "trap"
"#,
        upstream.port
    ));
    let host = Host::start(dir.path(), &Opts::default());
    let log = host.wait_log("cron component=trapping");
    std::thread::sleep(Duration::from_millis(2500));
    let log = log + &host.log();
    let stdout = host.stdout();
    // No store granted: the store answers access-denied, as on Spin.
    assert!(
        stdout.contains("probe kv=refused") && stdout.contains("AccessDenied"),
        "{stdout}"
    );
    // A host outside allowed_outbound_hosts is refused, named in the log.
    assert!(
        stdout.contains("probe http=refused ErrorCode::HttpRequestDenied"),
        "{stdout}"
    );
    assert!(
        log.contains("outbound request to https://example.com") && log.contains("denied"),
        "{log}"
    );
    // Service chaining belongs to HTTP-triggered runs, as on Spin: from a
    // cron run the name does not resolve.
    assert!(
        stdout.contains("probe chain=refused ErrorCode::DnsError"),
        "{stdout}"
    );
    assert!(
        log.contains("service chaining is only available to HTTP-triggered runs"),
        "{log}"
    );
    // A run that returns an error, or traps, is logged as such; the
    // schedule goes on.
    assert!(
        log.contains("cron component=failing outcome=error"),
        "{log}"
    );
    assert!(log.contains("asked to fail"), "{log}");
    assert!(
        log.contains("cron component=trapping outcome=error"),
        "{log}"
    );
    let trapping_runs = log
        .lines()
        .filter(|l| l.contains("cron component=trapping outcome=error"))
        .count();
    assert!(
        trapping_runs >= 2,
        "the trigger keeps running after a trap:\n{log}"
    );
}

#[test]
fn malformed_cron_triggers_are_refused_before_anything_runs() {
    for (body, field, words) in [
        (
            "[[trigger.cron]]\ncomponent = \"t\"\ncron_expression = \"*/5 * * * *\"\n",
            "trigger.cron[0].cron_expression",
            "5 fields",
        ),
        (
            "[[trigger.cron]]\ncomponent = \"t\"\ncron_expression = \"99 * * * * *\"\n",
            "trigger.cron[0].cron_expression",
            "not a valid cron expression",
        ),
        (
            "[[trigger.cron]]\ncomponent = \"t\"\nschedule = \"* * * * * *\"\n",
            "trigger.cron[0]",
            "cron_expression",
        ),
        (
            "[[trigger.cron]]\ncomponent = \"nope\"\ncron_expression = \"* * * * * *\"\n",
            "trigger.cron[0].component",
            "no component is named `nope`",
        ),
    ] {
        let dir = app(&format!("{body}[component.t]\nsource = \"{{ticker}}\"\n"));
        let err = start_fails(dir.path(), &Opts::default());
        assert!(err.contains(field), "{field}: {err}");
        assert!(err.contains(words), "{words}: {err}");
    }
    // A cron trigger's component must export handle-cron-event.
    let dir = app(
        "[[trigger.cron]]\ncomponent = \"h\"\ncron_expression = \"* * * * * *\"\n[component.h]\nsource = \"{hello}\"\n",
    );
    let err = start_fails(dir.path(), &Opts::default());
    assert!(err.contains("handle-cron-event"), "{err}");
}
