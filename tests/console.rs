//! The web console in a real browser: Debian's Chromium driven headless by
//! playwright-core (tests/browser/*.mjs) against the real host and the
//! emulator. A failure leaves a screenshot in target/browser-failure.png.

mod support;

use std::process::Command;

use sim::World;
use support::product::{example_env, with_example, Product, BOOTSTRAP_KEY};

/// Runs the browser script `script` against `p` with `args` after the
/// app's and emulator's addresses; its output.
fn browse(p: &Product, script: &str, args: &[&str]) -> String {
    let root = support::root();
    for (what, path) in [
        ("Chromium", std::path::PathBuf::from("/usr/bin/chromium")),
        ("playwright-core", root.join("node_modules/playwright-core")),
    ] {
        assert!(
            path.exists(),
            "{what} is missing at {}: run .ci/run (it installs Debian's chromium and `npm ci`)",
            path.display()
        );
    }
    let shots = std::env::var("SKYPORT_SCREENSHOTS").unwrap_or_default();
    let failure = root.join("target").join("browser-failure.png");
    let out = Command::new("node")
        .arg(root.join("tests/browser").join(script))
        .args([p.host.url.as_str(), BOOTSTRAP_KEY, p.sim.url.as_str()])
        .args(args)
        .arg(&shots)
        .env("SKYPORT_FAILURE_SHOT", &failure)
        .current_dir(&root)
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser run failed (screenshot: {}):\n{stdout}\n{stderr}\nhost log:\n{}",
        failure.display(),
        p.host.log()
    );
    stdout.into_owned()
}

#[test]
fn a_person_can_click_through_the_whole_product() {
    // The console's first request makes the bootstrap organization.
    let p = Product::start(World::default());
    assert!(browse(&p, "console.mjs", &[]).contains("all steps passed"));
}

#[test]
fn a_person_connects_a_provider_by_token() {
    let mut p = Product::start_with_manifest(World::default(), with_example);
    let env = example_env(&p.sim.url);
    p.opts.env.extend(env);
    p.register_digitalocean_callback();
    p.restart();
    let out = browse(
        &p,
        "token.mjs",
        &[sim::digitalocean::SEED_TOKEN, sim::digitalocean::SEED_TEAM],
    );
    assert!(out.contains("token: all steps passed"));
}
