//! A plugin built against an older 0.2.x keeps working. The example plugin
//! is built as it would have been against `skyport:compute@0.2.0` (from the
//! released interface in wit/released: no power, no resize). Named as the
//! servers function's compute@0.2.1 it is refused at start with Spin's
//! reason; composed behind the compute adapter (`skyport plug`) it serves
//! the same function, by spin.toml alone: droplets are made and deleted,
//! and the two things 0.2.0 has no words for are refused naming why.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;
use sim::World;
use support::product::{
    product_wasm_dir, with_example, Product, BOOTSTRAP_KEY, SSH_KEY, TOKEN_KEY,
};
use support::{root, Opts, TempDir};

/// The example built against compute 0.2.0, once per test binary, in a
/// target directory of its own (the same crate's default build is the
/// product's).
fn old_plugin() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let target = root().join("target").join("wasm-components-0.2.0");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--target", "wasm32-wasip2", "--profile", "wasm"])
            .args(["-p", "digitalocean-droplets", "--features", "compute-0-2-0"])
            .arg("--target-dir")
            .arg(&target)
            .current_dir(root())
            .status()
            .expect("running cargo");
        assert!(status.success(), "building the 0.2.0 plugin failed");
        target.join("wasm32-wasip2/wasm/digitalocean_droplets.wasm")
    })
}

/// The example's spin.toml with servers-digitalocean's compute taken from
/// `plugin` instead.
fn with_compute(manifest: &str, plugin: &str) -> String {
    let key = "\"skyport:compute/compute@0.2.1\" = { path = \"";
    let lines = with_example(manifest);
    let at = lines
        .rfind(key)
        .expect("the example names its compute plugin")
        + key.len();
    let end = at + lines[at..].find('"').unwrap();
    format!("{}{plugin}{}", &lines[..at], &lines[end..])
}

#[test]
fn a_compute_0_2_0_plugin_is_refused_alone_and_works_behind_the_adapter() {
    let old = old_plugin().display().to_string();

    // Alone, it cannot satisfy the function's import: refused with Spin's
    // sentence, naming the export it lacks.
    let dir = TempDir::new("old-plugin");
    let manifest = std::fs::read_to_string(root().join("spin.toml"))
        .unwrap()
        .replace(
            "target/wasm32-wasip2/wasm",
            &product_wasm_dir().display().to_string(),
        );
    dir.write("spin.toml", &with_compute(&manifest, &old));
    let err = support::start_fails(
        dir.path(),
        &Opts {
            env: [
                ("SPIN_VARIABLE_AZURE_CLIENT_ID", "x"),
                ("SPIN_VARIABLE_AZURE_CLIENT_SECRET", "x"),
                ("SPIN_VARIABLE_TOKEN_KEY", TOKEN_KEY),
                ("SPIN_VARIABLE_BOOTSTRAP_API_KEY", BOOTSTRAP_KEY),
                ("SPIN_VARIABLE_PUBLIC_URL", "http://127.0.0.1:3000"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            ..Opts::default()
        },
    );
    assert!(
        err.contains("doesn't export 'skyport:compute/compute@0.2.1'"),
        "{err}"
    );

    // Composed behind the adapter, ahead of time, it serves the function.
    let adapted = dir.path().join("droplets-adapted.wasm");
    let out = Command::new(env!("CARGO_BIN_EXE_skyport"))
        .arg("plug")
        .arg(product_wasm_dir().join("compute_adapter.wasm"))
        .arg(&old)
        .arg("-o")
        .arg(&adapted)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let adapted = adapted.display().to_string();
    let mut p = Product::start_with_manifest(World::default(), |m| with_compute(m, &adapted));
    p.opts
        .env
        .push(("SPIN_VARIABLE_DIGITALOCEAN_API".into(), p.sim.url.clone()));
    p.restart();

    let body = json!({ "token": sim::digitalocean::SEED_TOKEN }).to_string();
    let (status, v) = p.api(
        "POST",
        "/api/v1/accounts/digitalocean/connect",
        BOOTSTRAP_KEY,
        &body,
    );
    assert_eq!(status, 201, "{v}");
    let id = v["account"]["id"].as_str().unwrap().to_string();
    let team = v["account"]["subscriptions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let spec = json!({ "account_id": id, "subscription_id": team, "region": "nyc3", "size": "s-1vcpu-1gb", "name": "web-old", "ssh_public_key": SSH_KEY }).to_string();
    let (status, op) = p.create_server(&spec, "old-1");
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let server = done["server_id"].as_str().unwrap().to_string();

    // What 0.2.0 has no words for is refused, saying why.
    let (status, v) = p.api(
        "POST",
        &format!("/api/v1/servers/{server}/stop"),
        BOOTSTRAP_KEY,
        "",
    );
    let refusal = if status == 202 {
        p.wait_operation(v["id"].as_str().unwrap())
    } else {
        v
    };
    assert!(
        refusal.to_string().contains("skyport:compute 0.2.0"),
        "{status} {refusal}"
    );

    let (status, op) = p.api(
        "DELETE",
        &format!("/api/v1/servers/{server}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 202, "{op}");
    let done = p.wait_operation(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
}
