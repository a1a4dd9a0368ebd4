//! Microsoft.Storage: name availability, storage accounts (created as a
//! 202 + Location operation), keys, network rule sets and blob containers.
//!
//! An account's blob endpoint is the emulator's blob front door
//! (`/{account}/`, see `blob.rs`), which enforces the network rules and
//! stores blobs in Azurite when one is configured.

use base64::Engine;
use http::Method;
use serde_json::{json, Value};

use super::errors::{arm_error, invalid_parameter};
use super::network::location;
use super::store::{self, Group};
use super::{body, lro};
use crate::http::{Req, Resp};
use crate::state::{guid, iso_now, OpKind, State};

pub const ACCOUNT: &str = "Microsoft.Storage/storageAccounts";
pub const CONTAINER: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";

/// Storage account names: 3–24 lowercase letters and digits.
pub fn valid_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// Container names: 3–63 lowercase letters, digits and single hyphens, starting with a letter or digit.
pub fn valid_container_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Finds an account by name anywhere in the world.
pub fn find_account<'a>(state: &'a State, name: &str) -> Option<&'a crate::state::Resource> {
    state
        .resources
        .values()
        .find(|r| r.kind == ACCOUNT && r.body["name"].as_str().is_some_and(|n| n == name))
}

fn name_message(name: &str) -> String {
    format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.")
}

/// `POST …/providers/Microsoft.Storage/checkNameAvailability`.
pub fn check_name(state: &mut State, req: &Req) -> Resp {
    if req.method != Method::POST {
        return arm_error(405, "MethodNotAllowed", "Use POST.");
    }
    let b = match body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = b["name"].as_str() else {
        return invalid_parameter("The name is required.", "name");
    };
    if b["type"]
        .as_str()
        .is_some_and(|t| !t.eq_ignore_ascii_case(ACCOUNT))
    {
        return invalid_parameter(
            "The type must be Microsoft.Storage/storageAccounts.",
            "type",
        );
    }
    if !valid_account_name(name) {
        return Resp::json(
            200,
            &json!({ "nameAvailable": false, "reason": "AccountNameInvalid", "message": name_message(name) }),
        );
    }
    if find_account(state, name).is_some()
        || state.world.taken_storage_names.iter().any(|t| t == name)
    {
        return Resp::json(
            200,
            &json!({ "nameAvailable": false, "reason": "AlreadyExists", "message": format!("The storage account named {name} is already taken.") }),
        );
    }
    Resp::json(200, &json!({ "nameAvailable": true }))
}

fn random_key() -> String {
    let bytes: Vec<u8> = (0..4)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn account(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let id = g.id(ACCOUNT, name);
    match req.method {
        Method::GET => store::read(state, g, ACCOUNT, name),
        Method::PUT => create(state, req, g, name, &id),
        Method::PATCH => {
            let Some(existing) = state.resource(&id).cloned() else {
                return store::not_found(ACCOUNT, name, &g.rg);
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let mut updated = existing.body.clone();
            if let Some(props) = b["properties"].as_object() {
                for (k, v) in props {
                    updated["properties"][k] = v.clone();
                }
            }
            if let Err(r) = check_acls(&updated["properties"]["networkAcls"]) {
                return r;
            }
            if let Some(tags) = b.get("tags") {
                updated["tags"] = tags.clone();
            }
            store::put(state, ACCOUNT, Some(g), &g.sub, &id, updated.clone());
            Resp::json(200, &updated)
        }
        Method::DELETE => {
            if state.resource(&id).is_none() {
                return Resp::new(204);
            }
            let prefix = format!("{}/", id.to_ascii_lowercase());
            state.resources.retain(|k, _| !k.starts_with(&prefix));
            store::remove(state, &id);
            state.blobs.retain(|(a, _, _), _| a != name);
            state.storage_keys.remove(name);
            Resp::new(200)
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

fn check_acls(acls: &Value) -> Result<(), Resp> {
    if acls.is_null() {
        return Ok(());
    }
    if let Some(a) = acls["defaultAction"].as_str() {
        if a != "Allow" && a != "Deny" {
            return Err(invalid_parameter(
                "networkAcls.defaultAction must be Allow or Deny.",
                "networkAcls.defaultAction",
            ));
        }
    }
    for rule in acls["ipRules"].as_array().cloned().unwrap_or_default() {
        let v = rule["value"].as_str().unwrap_or("");
        let ok = v.parse::<std::net::Ipv4Addr>().is_ok() || v.parse::<ipnet::Ipv4Net>().is_ok();
        if !ok {
            return Err(invalid_parameter(
                &format!("{v} is not a valid IP address or range."),
                "networkAcls.ipRules",
            ));
        }
    }
    Ok(())
}

fn create(state: &mut State, req: &Req, g: &Group, name: &str, id: &str) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !valid_account_name(name) {
        return arm_error(400, "AccountNameInvalid", &name_message(name));
    }
    let loc = match location(&b) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Some(sku) = b["sku"]["name"].as_str() else {
        return invalid_parameter("The sku is required: sku.name (e.g. Standard_LRS).", "sku");
    };
    const SKUS: &[&str] = &[
        "Standard_LRS",
        "Standard_GRS",
        "Standard_RAGRS",
        "Standard_ZRS",
        "Premium_LRS",
        "Premium_ZRS",
        "Standard_GZRS",
        "Standard_RAGZRS",
    ];
    if !SKUS.contains(&sku) {
        return invalid_parameter(
            &format!("The value '{sku}' is not valid for sku.name."),
            "sku.name",
        );
    }
    let Some(kind) = b["kind"].as_str() else {
        return invalid_parameter("The kind is required (e.g. StorageV2).", "kind");
    };
    if ![
        "StorageV2",
        "Storage",
        "BlobStorage",
        "BlockBlobStorage",
        "FileStorage",
    ]
    .contains(&kind)
    {
        return invalid_parameter(
            &format!("The value '{kind}' is not valid for kind."),
            "kind",
        );
    }
    if let Some(existing) = find_account(state, name) {
        if !existing.id.eq_ignore_ascii_case(id) {
            if existing.subscription.eq_ignore_ascii_case(&g.sub) {
                return arm_error(409, "StorageAccountInAnotherResourceGroup", &format!("The account {name} is already in another resource group in this subscription."));
            }
            return arm_error(
                409,
                "StorageAccountAlreadyTaken",
                &format!("The storage account named {name} is already taken."),
            );
        }
    } else if state.world.taken_storage_names.iter().any(|t| t == name) {
        return arm_error(
            409,
            "StorageAccountAlreadyTaken",
            &format!("The storage account named {name} is already taken."),
        );
    }
    let props = &b["properties"];
    let acls = if props["networkAcls"].is_null() {
        json!({ "bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": [] })
    } else {
        props["networkAcls"].clone()
    };
    if let Err(r) = check_acls(&acls) {
        return r;
    }
    if let Some(existing) = state.resource(id).cloned() {
        // An unchanged re-PUT is a synchronous 200.
        return Resp::json(200, &existing.body);
    }
    let blob = format!("{}/{name}/", state.base_url);
    let now = iso_now();
    let out = json!({
        "id": id, "name": name, "type": ACCOUNT, "location": loc, "kind": kind,
        "sku": { "name": sku, "tier": if sku.starts_with("Premium") { "Premium" } else { "Standard" } },
        "tags": b.get("tags").cloned().unwrap_or(json!({})),
        "properties": {
            "provisioningState": "Creating",
            "creationTime": now,
            "keyCreationTime": { "key1": now, "key2": now },
            "primaryLocation": loc,
            "statusOfPrimary": "available",
            "primaryEndpoints": {
                "blob": blob,
                "dfs": format!("https://{name}.dfs.core.windows.net/"),
                "file": format!("https://{name}.file.core.windows.net/"),
                "queue": format!("https://{name}.queue.core.windows.net/"),
                "table": format!("https://{name}.table.core.windows.net/"),
                "web": format!("https://{name}.z6.web.core.windows.net/"),
            },
            "minimumTlsVersion": props["minimumTlsVersion"].as_str().unwrap_or("TLS1_0"),
            "supportsHttpsTrafficOnly": props["supportsHttpsTrafficOnly"].as_bool().unwrap_or(true),
            "allowBlobPublicAccess": props["allowBlobPublicAccess"].as_bool().unwrap_or(false),
            "allowSharedKeyAccess": props["allowSharedKeyAccess"].as_bool().unwrap_or(true),
            "accessTier": props["accessTier"].as_str().unwrap_or("Hot"),
            "publicNetworkAccess": props["publicNetworkAccess"].as_str().unwrap_or("Enabled"),
            "networkAcls": acls,
            "encryption": { "keySource": "Microsoft.Storage", "services": { "blob": { "enabled": true, "keyType": "Account" } } },
        },
    });
    state
        .storage_keys
        .insert(name.to_string(), vec![random_key(), random_key()]);
    store::put(state, ACCOUNT, Some(g), &g.sub, id, out);
    let op = lro::start(
        state,
        &g.sub,
        &loc,
        "Microsoft.Storage",
        OpKind::Put(id.to_string()),
        &req.path,
    );
    lro::headers(state, Resp::new(202), &op, false, true)
}

/// `POST …/storageAccounts/{name}/listKeys`.
pub fn list_keys(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    if req.method != Method::POST {
        return arm_error(405, "MethodNotAllowed", "Use POST.");
    }
    let Some(acct) = state.resource(&g.id(ACCOUNT, name)) else {
        return store::not_found(ACCOUNT, name, &g.rg);
    };
    let keys = state.storage_keys.get(name).cloned().unwrap_or_default();
    let created = acct.body["properties"]["creationTime"].clone();
    let keys: Vec<Value> = keys.iter().enumerate().map(|(i, k)| json!({ "keyName": format!("key{}", i + 1), "value": k, "permissions": "FULL", "creationTime": created })).collect();
    Resp::json(200, &json!({ "keys": keys }))
}

pub(crate) fn container_json(account_id: &str, name: &str, public_access: &str) -> Value {
    json!({
        "id": format!("{account_id}/blobServices/default/containers/{name}"),
        "name": name,
        "type": CONTAINER,
        "etag": format!("\"0x8D{}\"", &guid().replace('-', "")[..13].to_ascii_uppercase()),
        "properties": { "publicAccess": public_access, "leaseStatus": "Unlocked", "leaseState": "Available", "lastModifiedTime": iso_now(), "hasImmutabilityPolicy": false, "hasLegalHold": false },
    })
}

pub fn list_containers(state: &mut State, req: &Req, g: &Group, account: &str) -> Resp {
    let account_id = g.id(ACCOUNT, account);
    if state.resource(&account_id).is_none() {
        return store::not_found(ACCOUNT, account, &g.rg);
    }
    let prefix = format!(
        "{}/blobservices/default/containers/",
        account_id.to_ascii_lowercase()
    );
    store::list_under(state, req, &prefix)
}

pub fn container(state: &mut State, req: &Req, g: &Group, account: &str, name: &str) -> Resp {
    let account_id = g.id(ACCOUNT, account);
    let Some(acct) = store::get(state, &account_id) else {
        return store::not_found(ACCOUNT, account, &g.rg);
    };
    let id = format!("{account_id}/blobServices/default/containers/{name}");
    match req.method {
        Method::GET => state
            .resource(&id)
            .map(|r| Resp::json(200, &r.body))
            .unwrap_or_else(|| {
                arm_error(
                    404,
                    "ContainerNotFound",
                    "The specified container does not exist.",
                )
            }),
        Method::PUT => {
            if acct["properties"]["provisioningState"] != "Succeeded" {
                return arm_error(409, "StorageAccountIsNotProvisioned", &format!("The storage account provisioning state must be 'Succeeded' before executing the operation. Account {account} is '{}'.", acct["properties"]["provisioningState"].as_str().unwrap_or("")));
            }
            if !valid_container_name(name) {
                return arm_error(400, "ContainerOperationFailure", "The specified resource name contains invalid characters or is not 3–63 lowercase letters, digits and single hyphens.");
            }
            let b = if req.body.is_empty() {
                json!({})
            } else {
                match body(req) {
                    Ok(b) => b,
                    Err(r) => return r,
                }
            };
            let access = b["properties"]["publicAccess"].as_str().unwrap_or("None");
            if access != "None" && acct["properties"]["allowBlobPublicAccess"] == false {
                return arm_error(
                    409,
                    "PublicAccessNotPermitted",
                    "Public access is not permitted on this storage account.",
                );
            }
            let existed = state.resource(&id).is_some();
            let out = container_json(&account_id, name, access);
            store::put(state, CONTAINER, Some(g), &g.sub, &id, out.clone());
            Resp::json(if existed { 200 } else { 201 }, &out)
        }
        Method::DELETE => {
            if store::remove(state, &id).is_none() {
                return Resp::new(204);
            }
            state
                .blobs
                .retain(|(a, c, _), _| !(a == account && c == name));
            Resp::new(200)
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_account_name("skyport01"));
        assert!(!valid_account_name("Sky"));
        assert!(!valid_account_name("ab"));
        assert!(valid_container_name("backups-1"));
        assert!(!valid_container_name("a--b"));
        assert!(!valid_container_name("-ab"));
    }
}
