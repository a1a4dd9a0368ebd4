//! Microsoft's Python SDK (`azure-storage-blob`) against the in-memory blob
//! store. Ignored: it needs a venv, so it is run by hand, never by CI:
//!
//! ```sh
//! python3 -m venv target/pyblob-venv
//! target/pyblob-venv/bin/pip install azure-storage-blob==12.31.1
//! cargo test -p skyport-sim --test python_sdk -- --ignored --nocapture
//! ```

mod support;

use std::path::PathBuf;

use serde_json::json;
use support::*;

#[test]
#[ignore = "needs target/pyblob-venv with azure-storage-blob; run by hand"]
fn python_sdk_against_the_in_memory_store() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var("SKYPORT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/pyblob-venv/bin/python"));
    assert!(python.exists(), "no Python at {}", python.display());
    let sim = start();
    let token = token(&sim);
    arm(
        &sim,
        &token,
        "PUT",
        &rg("py"),
        Some(&json!({ "location": "westeurope" })),
    );
    let path = format!(
        "{}/providers/Microsoft.Storage/storageAccounts/skyportpy1",
        rg("py")
    );
    let body =
        json!({ "location": "westeurope", "kind": "StorageV2", "sku": { "name": "Standard_LRS" } });
    let r = arm(&sim, &token, "PUT", &path, Some(&body));
    let done = wait(&sim, &token, &r).json();
    let endpoint = done["properties"]["primaryEndpoints"]["blob"]
        .as_str()
        .unwrap()
        .to_string();
    for c in ["alpha", "beta"] {
        let r = arm(
            &sim,
            &token,
            "PUT",
            &format!("{path}/blobServices/default/containers/{c}"),
            Some(&json!({})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let keys = arm(&sim, &token, "POST", &format!("{path}/listKeys"), None).json();
    let key = keys["keys"][0]["value"].as_str().unwrap();
    let out = std::process::Command::new(&python)
        .arg(root.join("sim/tests/python/blob_sdk_check.py"))
        .env("ACCOUNT_URL", endpoint.trim_end_matches('/'))
        .env("ACCOUNT", "skyportpy1")
        .env("KEY", key)
        .output()
        .expect("python runs");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the SDK checks failed");
}
