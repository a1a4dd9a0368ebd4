//! Storage accounts, keys, containers and the blob data plane through the
//! front door: SharedKey, network rules, and Azurite when one is running.

mod support;

use serde_json::{json, Value};
use support::*;

const ST: &str = "providers/Microsoft.Storage";

fn create_account(sim: &sim::Sim, token: &str, group: &str, name: &str) -> Value {
    arm(
        sim,
        token,
        "PUT",
        &rg(group),
        Some(&json!({ "location": "westeurope" })),
    );
    let path = format!("{}/{ST}/storageAccounts/{name}", rg(group));
    let body = json!({ "location": "westeurope", "kind": "StorageV2", "sku": { "name": "Standard_LRS" }, "properties": { "minimumTlsVersion": "TLS1_2", "supportsHttpsTrafficOnly": true, "allowBlobPublicAccess": false } });
    let r = arm(sim, token, "PUT", &path, Some(&body));
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body.is_empty(), "202 with an empty body");
    assert!(r
        .header("location")
        .unwrap()
        .contains("/providers/Microsoft.Storage/locations/westeurope/asyncoperations/"));
    let done = wait(sim, token, &r);
    assert_eq!(done.status, 200);
    let account = done.json();
    assert_eq!(account["properties"]["provisioningState"], "Succeeded");
    account
}

fn key(sim: &sim::Sim, token: &str, group: &str, name: &str) -> String {
    let keys = arm(
        sim,
        token,
        "POST",
        &format!("{}/{ST}/storageAccounts/{name}/listKeys", rg(group)),
        None,
    )
    .json();
    assert_eq!(keys["keys"][0]["keyName"], "key1");
    keys["keys"][0]["value"].as_str().unwrap().to_string()
}

#[test]
fn names_accounts_keys_and_containers() {
    let sim = start();
    let token = token(&sim);
    let check = |name: &str| {
        arm(
            &sim,
            &token,
            "POST",
            &format!("{}/{ST}/checkNameAvailability", sub()),
            Some(&json!({ "name": name, "type": "Microsoft.Storage/storageAccounts" })),
        )
        .json()
    };
    assert_eq!(check("Bad_Name")["reason"], "AccountNameInvalid");
    assert_eq!(check("contoso")["reason"], "AlreadyExists");
    assert_eq!(check("skyportbackups1")["nameAvailable"], true);

    let account = create_account(&sim, &token, "backups", "skyportbackups1");
    assert_eq!(account["kind"], "StorageV2");
    assert_eq!(account["properties"]["minimumTlsVersion"], "TLS1_2");
    assert!(
        account.get("keys").is_none(),
        "keys only come from listKeys"
    );
    assert_eq!(check("skyportbackups1")["reason"], "AlreadyExists");

    let taken = arm(
        &sim,
        &token,
        "PUT",
        &format!("{}/{ST}/storageAccounts/contoso", rg("backups")),
        Some(
            &json!({ "location": "westeurope", "kind": "StorageV2", "sku": { "name": "Standard_LRS" } }),
        ),
    );
    assert_eq!(taken.status, 409);
    assert_eq!(taken.json()["error"]["code"], "StorageAccountAlreadyTaken");

    let c = format!(
        "{}/{ST}/storageAccounts/skyportbackups1/blobServices/default/containers/nightly",
        rg("backups")
    );
    assert_eq!(
        arm(
            &sim,
            &token,
            "PUT",
            &c,
            Some(&json!({ "properties": { "publicAccess": "None" } }))
        )
        .status,
        201
    );
    assert_eq!(arm(&sim, &token, "PUT", &c, Some(&json!({}))).status, 200);
    let list = arm(
        &sim,
        &token,
        "GET",
        &format!(
            "{}/{ST}/storageAccounts/skyportbackups1/blobServices/default/containers",
            rg("backups")
        ),
        None,
    )
    .json();
    assert_eq!(list["value"][0]["name"], "nightly");
    assert!(!key(&sim, &token, "backups", "skyportbackups1").is_empty());
}

#[test]
fn blob_data_plane_with_shared_key_and_network_rules() {
    let sim = start();
    let token = token(&sim);
    let account = create_account(&sim, &token, "b", "skyportdata1");
    let key = key(&sim, &token, "b", "skyportdata1");
    let endpoint = account["properties"]["primaryEndpoints"]["blob"]
        .as_str()
        .unwrap()
        .to_string();
    arm(
        &sim,
        &token,
        "PUT",
        &format!(
            "{}/{ST}/storageAccounts/skyportdata1/blobServices/default/containers/probe",
            rg("b")
        ),
        Some(&json!({})),
    );

    let url = format!("{endpoint}probe/check.txt");
    let put = blob(
        "PUT",
        &url,
        "skyportdata1",
        &key,
        "hello",
        &[("x-ms-blob-type", "BlockBlob")],
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let get = blob("GET", &url, "skyportdata1", &key, "", &[]);
    assert_eq!((get.status, get.body.as_str()), (200, "hello"));
    let wrong = blob("GET", &url, "skyportdata1", "d3Jvbmcga2V5", "", &[]);
    assert_eq!(wrong.status, 403);
    assert_eq!(
        wrong.header("x-ms-error-code"),
        Some("AuthenticationFailed")
    );
    assert_eq!(
        blob("DELETE", &url, "skyportdata1", &key, "", &[]).status,
        202
    );
    assert_eq!(
        blob("GET", &url, "skyportdata1", &key, "", &[]).header("x-ms-error-code"),
        Some("BlobNotFound")
    );

    // Network rules: deny by default, then allow this address.
    let acct = format!("{}/{ST}/storageAccounts/skyportdata1", rg("b"));
    let r = arm(
        &sim,
        &token,
        "PATCH",
        &acct,
        Some(
            &json!({ "properties": { "networkAcls": { "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [] } } }),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let denied = blob(
        "PUT",
        &url,
        "skyportdata1",
        &key,
        "x",
        &[("x-ms-blob-type", "BlockBlob")],
    );
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.header("x-ms-error-code"),
        Some("AuthorizationFailure")
    );
    assert!(
        denied.body.contains("<Code>AuthorizationFailure</Code>")
            && denied
                .body
                .contains("This request is not authorized to perform this operation.")
    );
    // ARM is not behind the storage firewall.
    assert_eq!(
        arm(&sim, &token, "POST", &format!("{acct}/listKeys"), None).status,
        200
    );
    arm(
        &sim,
        &token,
        "PATCH",
        &acct,
        Some(
            &json!({ "properties": { "networkAcls": { "defaultAction": "Deny", "ipRules": [{ "value": "127.0.0.1", "action": "Allow" }] } } }),
        ),
    );
    assert_eq!(
        blob(
            "PUT",
            &url,
            "skyportdata1",
            &key,
            "x",
            &[("x-ms-blob-type", "BlockBlob")]
        )
        .status,
        201
    );
}
