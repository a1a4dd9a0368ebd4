//! The web console in a real browser: Debian's Chromium driven headless by
//! playwright-core (tests/browser/console.mjs) against the real host and the
//! emulator. A failure leaves a screenshot in target/browser-failure.png.

mod support;

use std::process::Command;

use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

#[test]
fn a_person_can_click_through_the_whole_product() {
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
    let p = Product::start(World::default());
    // The console's first request makes the bootstrap organization.
    let shots = std::env::var("SKYPORT_SCREENSHOTS").unwrap_or_default();
    let failure = root.join("target").join("browser-failure.png");
    let out = Command::new("node")
        .arg(root.join("tests/browser/console.mjs"))
        .args([&p.host.url, BOOTSTRAP_KEY, &p.sim.url, &shots])
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
    assert!(stdout.contains("all steps passed"));
}
