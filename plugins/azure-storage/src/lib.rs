//! The Azure storage plugin: `skyport:storage/stores` over ARM's
//! `Microsoft.Storage` (accounts, keys, containers) and the Blob service's
//! data plane (the access check), signed with SharedKey.

wit_bindgen::generate!({ path: "../../wit", world: "storage-plugin", generate_all, with: { "skyport:types/types@0.2.0": azure_arm::contract::types } });

use azure_arm::contract::types::{self as wit, Session};
use azure_arm::contract::with_arm;
use azure_arm::names::{self, Name};
use azure_arm::spin_transport::SpinTransport;
use azure_arm::ArmError;
use azure_arm::{blob, Request, Transport};
use exports::skyport::storage::stores::{Access, Guest, Operation, Store};
use serde_json::{json, Value};

const API: &str = "2023-05-01";
const GROUPS_API: &str = "2021-04-01";
const BLOB_VERSION: &str = "2025-01-05";

/// A storage account as a store; its blob endpoint is where its containers
/// (the contract's folders) are.
fn account(v: &Value) -> Store {
    Store {
        id: v["id"].as_str().unwrap_or_default().to_string(),
        name: v["name"].as_str().unwrap_or_default().to_string(),
        region: v["location"].as_str().unwrap_or_default().to_string(),
        endpoint: v["properties"]["primaryEndpoints"]["blob"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        state: v["properties"]["provisioningState"]
            .as_str()
            .unwrap_or("Unknown")
            .to_string(),
    }
}

/// What this operation made itself (and so may remove): never a thing the
/// user had before.
#[derive(Clone, Copy, Default)]
struct Made {
    account: bool,
    group: bool,
}

impl Made {
    fn of(t: &Value) -> Made {
        Made {
            account: t["made"]["account"] == true,
            group: t["made"]["group"] == true,
        }
    }
}

/// An operation token of this plugin, read back.
fn parse_token(text: &str) -> Result<Value, wit::Error> {
    serde_json::from_str(text).map_err(|_| {
        wit::Error::InvalidInput(wit::Detail {
            code: "BadToken".into(),
            message: "not an operation token of this plugin".into(),
            target: None,
        })
    })
}

/// What an operation token carries.
fn token(account_id: &str, poll: Option<&str>, made: Made) -> String {
    json!({ "account": account_id, "poll": poll, "made": { "account": made.account, "group": made.group } })
        .to_string()
}

/// An operation ARM is still running (202 on the PUT or on its poll).
fn creating(token: String) -> Operation {
    Operation {
        token,
        step: "Creating the storage account".into(),
        done: false,
        store: None,
    }
}

/// Where creation stands once ARM answers with the account (if it did):
/// done when its provisioning state is `Succeeded`, else still creating.
fn progress(account_id: &str, account: Option<Store>, made: Made) -> Operation {
    match account {
        Some(a) if a.state == "Succeeded" => Operation {
            token: token(account_id, None, made),
            step: "Created".into(),
            done: true,
            store: Some(a),
        },
        account => Operation {
            store: account,
            ..creating(token(account_id, None, made))
        },
    }
}

/// Deletes `id` if it still exists and still carries Skyport's tag.
fn delete_if_skyports(
    arm: &azure_arm::Arm<'_, SpinTransport>,
    id: &str,
    api: &str,
) -> Result<(), ArmError> {
    match arm.find(id, api)? {
        Some(r) if r["tags"]["managed-by"] == "skyport" => {
            arm.send("DELETE", id, api, None).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// A storage account id checked and rebuilt from its parts.
fn account_path(id: &str) -> Result<String, ArmError> {
    Ok(names::resource_id(
        id,
        "Microsoft.Storage",
        "storageAccounts",
        Name::StorageAccount,
        None,
    )?
    .to_path("Microsoft.Storage", "storageAccounts"))
}

struct Plugin;

impl Guest for Plugin {
    fn list_stores(session: Session, scope: String) -> Result<Vec<Store>, wit::Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &scope)?;
            arm.list(
                &format!("/subscriptions/{scope}/providers/Microsoft.Storage/storageAccounts"),
                API,
            )
        })
        .map(|a| a.iter().map(account).collect())
    }

    fn check_name(
        session: Session,
        scope: String,
        name: String,
    ) -> Result<Option<String>, wit::Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &scope)?;
            names::check(Name::StorageAccount, &name)?;
            let r = arm.post_read(
                &format!(
                    "/subscriptions/{scope}/providers/Microsoft.Storage/checkNameAvailability"
                ),
                API,
                Some(&json!({ "name": name, "type": "Microsoft.Storage/storageAccounts" })),
            )?;
            Ok(if r["nameAvailable"] == true {
                None
            } else {
                Some(
                    r["message"]
                        .as_str()
                        .unwrap_or("The name is not available.")
                        .to_string(),
                )
            })
        })
    }

    fn create_store(
        session: Session,
        scope: String,
        resource_group: String,
        name: String,
        region: String,
    ) -> Result<Operation, wit::Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &scope)?;
            names::check(Name::ResourceGroup, &resource_group)?;
            // The contract's convention: a refused name's target is `name`.
            names::check(Name::StorageAccount, &name).map_err(|e| ArmError {
                target: Some("name".into()),
                ..e
            })?;
            names::check(Name::Region, &region)?;
            // An account the user already has is only read: a create-PUT on
            // it would overwrite its SKU, network rules and tags.
            let existing = arm
                .list(
                    &format!("/subscriptions/{scope}/providers/Microsoft.Storage/storageAccounts"),
                    API,
                )?
                .into_iter()
                .find(|a| a["name"].as_str() == Some(name.as_str()));
            if let Some(a) = existing {
                let a = account(&a);
                let id = account_path(&a.id)?;
                return Ok(progress(&id, Some(a), Made::default()));
            }
            let available = arm.post_read(
                &format!(
                    "/subscriptions/{scope}/providers/Microsoft.Storage/checkNameAvailability"
                ),
                API,
                Some(&json!({ "name": name, "type": "Microsoft.Storage/storageAccounts" })),
            )?;
            if available["nameAvailable"] == false {
                return Err(ArmError {
                    status: 409,
                    code: "StorageAccountAlreadyTaken".into(),
                    message: available["message"]
                        .as_str()
                        .unwrap_or("The storage account name is already taken.")
                        .to_string(),
                    target: Some("name".into()),
                    retry_after: None,
                });
            }
            // The group is created when missing, and left as it is when not.
            let group = format!("/subscriptions/{scope}/resourceGroups/{resource_group}");
            let made = Made {
                account: true,
                group: arm.create_unless_present(
                    &group,
                    GROUPS_API,
                    &json!({ "location": region, "tags": { "managed-by": "skyport" } }),
                )?,
            };
            let id = format!("/subscriptions/{scope}/resourceGroups/{resource_group}/providers/Microsoft.Storage/storageAccounts/{name}");
            let body = json!({
                "location": region, "kind": "StorageV2", "sku": { "name": "Standard_LRS" }, "tags": { "managed-by": "skyport" },
                "properties": { "minimumTlsVersion": "TLS1_2", "supportsHttpsTrafficOnly": true, "allowBlobPublicAccess": false, "allowSharedKeyAccess": true, "accessTier": "Hot" }
            });
            let resp = arm.send("PUT", &id, API, Some(&body))?;
            if resp.status == 202 {
                let poll = resp
                    .header("location")
                    .or(resp.header("azure-asyncoperation"))
                    .map(str::to_string);
                return Ok(creating(token(&id, poll.as_deref(), made)));
            }
            Ok(progress(&id, resp.json().map(|v| account(&v)), made))
        })
    }

    fn advance(session: Session, token_text: String) -> Result<Operation, wit::Error> {
        let t = parse_token(&token_text)?;
        let id = t["account"].as_str().unwrap_or_default().to_string();
        with_arm(&session, |arm| {
            let id = account_path(&id)?;
            if let Some(poll) = t["poll"].as_str() {
                let resp = arm.send("GET", poll, API, None)?;
                if resp.status == 202 {
                    return Ok(creating(token_text.clone()));
                }
            }
            Ok(progress(
                &id,
                Some(account(&arm.get(&id, API)?)),
                Made::of(&t),
            ))
        })
    }

    fn discard(session: Session, token_text: String) -> Result<(), wit::Error> {
        let t = parse_token(&token_text)?;
        let made = Made::of(&t);
        let id = t["account"].as_str().unwrap_or_default().to_string();
        with_arm(&session, |arm| {
            let id = account_path(&id)?;
            if made.account {
                // Made by this operation, and still marked as Skyport's.
                delete_if_skyports(arm, &id, API)?;
            }
            if made.group {
                let group = id
                    .split("/providers/")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let empty = arm
                    .list(&format!("{group}/resources"), GROUPS_API)?
                    .is_empty();
                if empty {
                    delete_if_skyports(arm, &group, GROUPS_API)?;
                }
            }
            Ok(())
        })
    }

    fn list_folders(session: Session, account_id: String) -> Result<Vec<String>, wit::Error> {
        with_arm(&session, |arm| {
            arm.list(
                &format!(
                    "{}/blobServices/default/containers",
                    account_path(&account_id)?
                ),
                API,
            )
        })
        .map(|c| {
            c.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
    }

    fn create_folder(session: Session, account_id: String, name: String) -> Result<(), wit::Error> {
        with_arm(&session, |arm| {
            let account_id = account_path(&account_id)?;
            names::check(Name::Container, &name)?;
            // A container that is there already (the customer's, perhaps
            // public on purpose) is used as it is.
            arm.create_unless_present(
                &format!("{account_id}/blobServices/default/containers/{name}"),
                API,
                &json!({ "properties": { "publicAccess": "None" } }),
            )
            .map(|_| ())
        })
    }

    fn verify_access(
        session: Session,
        account_id: String,
        container: String,
    ) -> Result<Access, wit::Error> {
        let (acct, key) = with_arm(&session, |arm| {
            let account_id = account_path(&account_id)?;
            names::check(Name::Container, &container)?;
            let acct = account(&arm.get(&account_id, API)?);
            let keys = arm.post_read(&format!("{account_id}/listKeys"), API, None)?;
            Ok((
                acct,
                keys["keys"][0]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ))
        })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let url = format!(
            "{}{container}/skyport-access-check-{}",
            acct.endpoint,
            now.as_nanos()
        );
        let probe = b"skyport access check";
        let transport = SpinTransport;
        for (method, body) in [
            ("PUT", Some(probe.to_vec())),
            ("GET", None),
            ("DELETE", None),
        ] {
            // The probe is safe to repeat (an overwrite, a read, a delete):
            // a dropped connection or a 5xx is tried again, with backoff.
            let mut attempt = 0;
            let resp = loop {
                attempt += 1;
                let request = signed(method, &url, &acct.name, &key, body.clone(), now.as_secs());
                match transport.send(&request) {
                    Ok(r) if r.status < 500 || attempt >= 4 => break r,
                    Err(e) if attempt >= 4 => {
                        return Ok(Access::Failed(format!(
                            "the blob endpoint could not be reached: {e}"
                        )))
                    }
                    _ => transport.sleep(std::time::Duration::from_millis(250 << attempt)),
                }
            };
            // A repeated delete may find the probe already gone.
            if method == "DELETE" && resp.status == 404 && attempt > 1 {
                continue;
            }
            if resp.status == 403 && resp.header("x-ms-error-code") == Some("AuthorizationFailure")
            {
                return Ok(Access::NetworkDenied(
                    "the storage account's network rules refused the request".into(),
                ));
            }
            if !(200..300).contains(&resp.status) {
                let code = resp
                    .header("x-ms-error-code")
                    .unwrap_or("error")
                    .to_string();
                return Ok(Access::Failed(format!(
                    "{method} of the probe blob failed: {} {code}",
                    resp.status
                )));
            }
            if method == "GET" && resp.body != probe {
                return Ok(Access::Failed(
                    "the probe blob read back different bytes".into(),
                ));
            }
        }
        Ok(Access::Verified)
    }
}

/// A SharedKey-signed data-plane request.
fn signed(
    method: &'static str,
    url: &str,
    account: &str,
    key: &str,
    body: Option<Vec<u8>>,
    now: u64,
) -> Request {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = url[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(url.len());
    let path = &url[path_start..];
    let mut headers = vec![
        ("x-ms-date".to_string(), blob::http_date(now)),
        ("x-ms-version".to_string(), BLOB_VERSION.to_string()),
    ];
    if let Some(b) = &body {
        headers.push(("x-ms-blob-type".to_string(), "BlockBlob".to_string()));
        headers.push(("content-length".to_string(), b.len().to_string()));
    }
    let sts = blob::string_to_sign(method, &headers, account, path, &[]);
    headers.push((
        "authorization".to_string(),
        format!(
            "SharedKey {account}:{}",
            blob::sign(key, &sts).unwrap_or_default()
        ),
    ));
    Request {
        method,
        url: url.to_string(),
        headers,
        body,
    }
}

export!(Plugin);
