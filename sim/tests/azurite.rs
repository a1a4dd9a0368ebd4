//! The blob front door in front of a real Azurite: what Skyport's storage
//! access check writes, reads and deletes lands in Azurite. Skipped, with
//! the reason printed, only when Azurite is not installed (`npm install`).

mod support;

use std::path::PathBuf;

use serde_json::json;
use sim::blob::{AZURITE_ACCOUNT, AZURITE_KEY};
use support::*;

#[test]
fn blobs_land_in_azurite() {
    let azurite =
        match sim::azurite::Azurite::start(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")) {
            Ok(a) => a,
            Err(reason) => {
                println!("skipped: {reason}");
                return;
            }
        };
    let sim = start();
    sim.command(sim::Command::Settings {
        lro_polls: None,
        registration_polls: None,
        retry_after_secs: None,
        access_token_lifetime_secs: None,
        page_size: None,
        azurite_url: Some(azurite.url.clone()),
        refresh_token_idle_secs: None,
    })
    .unwrap();
    let token = token(&sim);
    arm(
        &sim,
        &token,
        "PUT",
        &rg("b"),
        Some(&json!({ "location": "westeurope" })),
    );
    let acct = format!(
        "{}/providers/Microsoft.Storage/storageAccounts/skyportazurite",
        rg("b")
    );
    let r = arm(
        &sim,
        &token,
        "PUT",
        &acct,
        Some(
            &json!({ "location": "westeurope", "kind": "StorageV2", "sku": { "name": "Standard_LRS" } }),
        ),
    );
    let endpoint = wait(&sim, &token, &r).json()["properties"]["primaryEndpoints"]["blob"]
        .as_str()
        .unwrap()
        .to_string();
    arm(
        &sim,
        &token,
        "PUT",
        &format!("{acct}/blobServices/default/containers/probe"),
        Some(&json!({})),
    );
    let key = arm(&sim, &token, "POST", &format!("{acct}/listKeys"), None).json()["keys"][0]
        ["value"]
        .as_str()
        .unwrap()
        .to_string();

    let url = format!("{endpoint}probe/skyport-probe.txt");
    let put = blob(
        "PUT",
        &url,
        "skyportazurite",
        &key,
        "written through the front door",
        &[("x-ms-blob-type", "BlockBlob")],
    );
    assert_eq!(put.status, 201, "{}", put.body);
    // Azurite holds it, under the container the front door maps to.
    let direct = blob(
        "GET",
        &format!(
            "{}/{AZURITE_ACCOUNT}/skyportazurite-probe/skyport-probe.txt",
            azurite.url
        ),
        AZURITE_ACCOUNT,
        AZURITE_KEY,
        "",
        &[],
    );
    assert_eq!(
        (direct.status, direct.body.as_str()),
        (200, "written through the front door")
    );
    let got = blob("GET", &url, "skyportazurite", &key, "", &[]);
    assert_eq!(got.body, "written through the front door");
    // HEAD keeps Azurite's Content-Length; ranges are Azurite's to answer.
    let head = blob("HEAD", &url, "skyportazurite", &key, "", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("30"));
    assert!(head.header("etag").is_some() && head.header("last-modified").is_some());
    assert_eq!(head.header("x-ms-blob-type"), Some("BlockBlob"));
    let part = blob(
        "GET",
        &url,
        "skyportazurite",
        &key,
        "",
        &[("x-ms-range", "bytes=0-6")],
    );
    assert_eq!((part.status, part.body.as_str()), (206, "written"));
    assert_eq!(part.header("content-range"), Some("bytes 0-6/30"));
    // The account root lists the emulator's containers, not Azurite's names.
    let list = blob(
        "GET",
        &format!("{endpoint}?comp=list"),
        "skyportazurite",
        &key,
        "",
        &[],
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains("<Name>probe</Name>") && !list.body.contains("skyportazurite-probe"),
        "{}",
        list.body
    );
    assert_eq!(
        blob("DELETE", &url, "skyportazurite", &key, "", &[]).status,
        202
    );
    assert_eq!(
        blob("GET", &url, "skyportazurite", &key, "", &[]).status,
        404
    );
}
