//! A plugin built against an older 0.2.x keeps working. The example plugin
//! is built as it would have been against the 0.2.0 contract (from the
//! released interfaces in wit/released): `skyport:compute@0.2.0`, no power,
//! no resize, and `skyport:account@0.2.0`, tenants and subscriptions
//! instead of the neutral scopes. Named as the functions' newer imports it
//! is refused at start with Spin's reason; composed behind the matching
//! adapter (`skyport plug`) it serves the same functions, by spin.toml
//! alone: accounts connect and are checked, droplets are made and deleted,
//! and the two things compute 0.2.0 has no words for are refused naming why.
//! Its `skyport:prices@0.1.0` (no session, so no droplet prices) serves
//! estimates and the catalogue behind the prices adapter, which say what
//! they could not price.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;
use sim::World;
use support::clouds::DIGITALOCEAN;
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
            .args([
                "-p",
                "digitalocean-droplets",
                "--features",
                "contract-0-2-0",
            ])
            .arg("--target-dir")
            .arg(&target)
            .current_dir(root())
            .status()
            .expect("running cargo");
        assert!(status.success(), "building the 0.2.0 plugin failed");
        target.join("wasm32-wasip2/wasm/digitalocean_droplets.wasm")
    })
}

/// `lines` with the path of the dependency `key` names replaced by
/// `plugin`, where that path is the example's: the last such entry only,
/// or with `every`, all of them.
fn swap(lines: &str, key: &str, plugin: &str, every: bool) -> String {
    let key = format!("\"{key}\" = {{ path = \"");
    let mut out = lines.to_string();
    let mut found = 0;
    let mut from = out.len();
    while let Some(at) = out[..from].rfind(&key) {
        let start = at + key.len();
        let end = start + out[start..].find('"').unwrap();
        from = at;
        if !out[start..end].ends_with("/digitalocean_droplets.wasm") {
            continue;
        }
        out.replace_range(start..end, plugin);
        found += 1;
        if !every {
            break;
        }
    }
    assert!(found > 0, "the example names no {key}");
    out
}

/// The example's spin.toml with servers-digitalocean's compute taken from
/// `plugin` instead.
fn with_compute(manifest: &str, plugin: &str) -> String {
    swap(
        &with_example(manifest),
        "skyport:compute/compute@0.2.1",
        plugin,
        false,
    )
}

/// The example's spin.toml with every DigitalOcean function's account
/// scopes taken from `plugin` instead.
fn with_scopes(manifest: &str, plugin: &str) -> String {
    swap(
        &with_example(manifest),
        "skyport:account/scopes@0.2.1",
        plugin,
        true,
    )
}

/// The example's spin.toml with every DigitalOcean function's account
/// prices taken from `plugin` instead.
fn with_prices(manifest: &str, plugin: &str) -> String {
    swap(
        &with_example(manifest),
        "skyport:prices/account-prices@0.1.1",
        plugin,
        true,
    )
}

/// The product's spin.toml, its components in the test build's directory.
fn product_manifest() -> String {
    std::fs::read_to_string(root().join("spin.toml"))
        .unwrap()
        .replace(
            "target/wasm32-wasip2/wasm",
            &product_wasm_dir().display().to_string(),
        )
}

/// The variables the product needs to start at all.
fn start_opts() -> Opts {
    Opts {
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
    }
}

/// `skyport plug <adapter> <old>`: the old plugin behind the adapter, in `dir`.
fn plugged(dir: &TempDir, adapter: &str, old: &str) -> String {
    let adapted = dir.path().join(format!("adapted-{adapter}"));
    let out = Command::new(env!("CARGO_BIN_EXE_skyport"))
        .arg("plug")
        .arg(product_wasm_dir().join(adapter))
        .arg(old)
        .arg("-o")
        .arg(&adapted)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    adapted.display().to_string()
}

/// Checks that the product does not start on `manifest`, for want of
/// `export`: Spin's sentence, naming the export the plugin lacks.
fn refused_alone(dir: &TempDir, manifest: &str, export: &str) {
    dir.write("spin.toml", manifest);
    let err = support::start_fails(dir.path(), &start_opts());
    assert!(err.contains(&format!("doesn't export '{export}'")), "{err}");
}

/// The product on spin.toml changed by `edit`, the DigitalOcean API the
/// emulator's.
fn started(edit: impl FnOnce(&str) -> String) -> Product {
    let mut p = Product::start_with_manifest(World::default(), edit);
    p.opts
        .env
        .push(("SPIN_VARIABLE_DIGITALOCEAN_API".into(), p.sim.url.clone()));
    p.restart();
    p
}

#[test]
fn a_compute_0_2_0_plugin_is_refused_alone_and_works_behind_the_adapter() {
    let old = old_plugin().display().to_string();

    // Alone, it cannot satisfy the function's import.
    let dir = TempDir::new("old-plugin");
    let manifest = with_compute(&product_manifest(), &old);
    refused_alone(&dir, &manifest, "skyport:compute/compute@0.2.1");

    // Composed behind the adapter, ahead of time, it serves the function.
    let adapted = plugged(&dir, "compute_adapter.wasm", &old);
    let p = started(|m| with_compute(m, &adapted));
    let account = p.connect_digitalocean();
    let id = account["id"].as_str().unwrap().to_string();
    let team = account["subscriptions"][0]["id"]
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

    let done = p.delete_server(&server);
    assert_eq!(done["status"], "succeeded", "{done}");
}

#[test]
fn an_account_0_2_0_plugin_is_refused_alone_and_works_behind_the_adapter() {
    let old = old_plugin().display().to_string();

    // Alone, its `account@0.2.0` cannot satisfy the functions' neutral
    // import.
    let dir = TempDir::new("old-account");
    let manifest = with_scopes(&product_manifest(), &old);
    refused_alone(&dir, &manifest, "skyport:account/scopes@0.2.1");

    // Behind the account adapter it serves sign-in by token and the
    // account's checks, with every answer it gave under 0.2.0.
    let adapted = plugged(&dir, "account_adapter.wasm", &old);
    let p = started(|m| with_scopes(m, &adapted));
    let account = p.connect_digitalocean();
    assert_eq!(account["status"], "Active", "{account}");
    assert_eq!(
        account["badges"],
        json!(["Compute", "Storage", "DNS"]),
        "{account}"
    );
    let team = &account["subscriptions"][0];
    assert_eq!(team["state"], "Enabled", "{account}");
    assert_eq!(team["role"], "API token", "{account}");
    assert_eq!(team["tenant_id"], team["id"], "{account}");
    assert_eq!(team["providers"], json!([]), "{account}");

    // A refresh checks the team again through the adapter.
    let id = account["id"].as_str().unwrap();
    let (status, v) = p.refresh(id);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["subscriptions"][0]["id"], team["id"], "{v}");
    assert_eq!(v["badges"], json!(["Compute", "Storage", "DNS"]), "{v}");
}

#[test]
fn a_storage_0_2_0_plugin_is_refused_alone_and_works_behind_the_adapter() {
    // A backup storage plugin built against `skyport:storage@0.2.0`,
    // keeping its accounts in a key-value store.
    let old = support::wasm("kv-storage");
    let with_storage = |m: &str, plugin: &str| {
        let azure = m
            .lines()
            .find(|l| l.starts_with("\"skyport:storage/stores@0.2.1\""))
            .expect("the storage function names its plugin")
            .to_string();
        m.replace(&azure, &format!("\"skyport:storage/stores@0.2.1\" = {{ path = \"{plugin}\", inherit_configuration = [\"key_value_stores\"] }}"))
            .replace(
                "[component.storage.variables]",
                "key_value_stores = [\"default\"]\n[component.storage.variables]",
            )
    };

    // Alone, it cannot satisfy the function's import.
    let dir = TempDir::new("old-storage");
    let manifest = with_storage(&product_manifest(), &old);
    refused_alone(&dir, &manifest, "skyport:storage/stores@0.2.1");

    // Behind the storage adapter it serves a whole set-up: the account made
    // and advanced, the container, the access check, the backup target.
    let adapted = plugged(&dir, "storage_adapter.wasm", &old);
    let p = Product::start_with_manifest(World::default(), |m| with_storage(m, &adapted));
    let id = p.connect(BOOTSTRAP_KEY, sim::world::defaults::USERNAME);
    let done = p.set_up_storage(&id, "skyportbackups");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["result"]["endpoint"], "kv://skyportbackups/backups",
        "{done}"
    );
    let (status, list) = p.api(
        "GET",
        &format!(
            "/api/v1/accounts/{id}/subscriptions/{}/storage/accounts",
            sim::world::defaults::SUBSCRIPTION
        ),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["storage_accounts"][0]["containers"],
        json!(["backups"]),
        "{list}"
    );

    // 0.2.0's taken name (a code, no target) reaches the API as the taken
    // name it is.
    let body = json!({ "account_id": id, "subscription_id": sim::world::defaults::SUBSCRIPTION, "region": "westeurope", "storage_account": "takenelsewhere", "container": "backups" });
    let (status, v) = p.api(
        "POST",
        "/api/v1/storage/setup",
        BOOTSTRAP_KEY,
        &body.to_string(),
    );
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "storage_name_taken", "{v}");
}

#[test]
fn a_prices_0_1_0_plugin_is_refused_alone_and_works_behind_the_adapter() {
    let old = old_plugin().display().to_string();

    // Alone, its `prices@0.1.0` has no `account-prices`.
    let dir = TempDir::new("old-prices");
    let manifest = with_prices(&product_manifest(), &old);
    refused_alone(&dir, &manifest, "skyport:prices/account-prices@0.1.1");

    // Behind the prices adapter it serves the catalogue and the estimate.
    // It read prices without a session, so it has none for a droplet: the
    // sizes are listed unpriced, and the estimate says what it left out.
    let adapted = plugged(&dir, "prices_adapter.wasm", &old);
    let p = started(|m| with_prices(m, &adapted));
    let cloud = &DIGITALOCEAN;
    let (id, team) = (cloud.connect)(&p);
    let (status, sizes) = p.api(
        "GET",
        &format!(
            "/api/v1/accounts/{id}/subscriptions/{team}/compute/sizes?region={}",
            cloud.region
        ),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{sizes}");
    let listed = sizes["sizes"].as_array().unwrap();
    assert!(!listed.is_empty(), "{sizes}");
    assert!(
        listed.iter().all(|z| z["hourly_price"].is_null()),
        "{sizes}"
    );

    let server = cloud.provision(&p, &id, &team, "web-priced")["server"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, c) = p.api("GET", "/api/v1/costs", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["accounts"][0]["servers"][0]["id"], server.as_str(), "{c}");
    let unpriced = &c["unpriced"][0];
    assert_eq!(unpriced["server"], server.as_str(), "{c}");
    let reason = unpriced["reason"].as_str().unwrap();
    let expected = format!("no price for size {} in {}", cloud.size, cloud.region);
    assert!(reason.contains(&expected), "{c}");
}
