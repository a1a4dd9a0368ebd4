//! The storage function (Storage › Quick Setup): list a connected account's
//! storage accounts and containers, then set up backup storage — create the
//! account when needed (an operation persisted and advanced on each poll),
//! the container, and an access check through the data plane — ending in a
//! backup target the platform can use. Keys are never stored.

wit_bindgen::generate!({
    path: "../../wit",
    world: "storage-client",
    generate_all,
    with: { "skyport:types/types@0.2.0": skyport_functions::plugin_types },
});

use serde_json::{json, Value};
use skyport::storage::storage::{self as plugin, Access, StorageAccount};
use skyport_functions::api::{
    check_id, json_body, json_response, opt_str, page, req_str, segments, ApiError,
};
use skyport_functions::db::{self, get_text, int, text};
use skyport_functions::plugin_types::Error as PluginError;
use skyport_functions::{accounts, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::sqlite::Connection;

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

fn account_json(a: &StorageAccount) -> Value {
    json!({ "id": a.id, "name": a.name, "region": a.region, "blob_endpoint": a.blob_endpoint, "state": a.state })
}

fn valid_account_name(n: &str) -> bool {
    (3..=24).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn valid_container(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !n.ends_with('-')
        && !n.contains("--")
}

fn op_json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let r = db.execute(
        "SELECT id, status, step, error, target_id FROM storage_ops WHERE id = ?",
        &[text(id)],
    )?;
    let mut v = json!({ "id": get_text(&r, 0, "id"), "status": get_text(&r, 0, "status"), "step": get_text(&r, 0, "step") });
    if let Some(e) = get_text(&r, 0, "error") {
        v["error"] = serde_json::from_str(&e).unwrap_or(json!(e));
    }
    if let Some(t) = get_text(&r, 0, "target_id") {
        v["target"] = target_json(db, &t)?;
    }
    Ok(v)
}

fn target_json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let r = db.execute("SELECT id, account_id, storage_account_id, storage_account, container, endpoint, verified_at FROM backup_targets WHERE id = ?", &[text(id)])?;
    Ok(json!({
        "id": get_text(&r, 0, "id"), "account_id": get_text(&r, 0, "account_id"), "storage_account_id": get_text(&r, 0, "storage_account_id"),
        "storage_account": get_text(&r, 0, "storage_account"), "container": get_text(&r, 0, "container"), "endpoint": get_text(&r, 0, "endpoint"),
        "verified_at": db::get_int(&r, 0, "verified_at"),
    }))
}

fn finish(
    db: &Connection,
    id: &str,
    status: &str,
    step: &str,
    error: Option<&ApiError>,
) -> Result<(), ApiError> {
    let e = error
        .map(|e| json!({ "code": e.code, "message": e.message, "remedy": e.remedy }).to_string());
    // Only a running operation ends, once: concurrent polls cannot end it twice.
    db.execute(
        "UPDATE storage_ops SET status = ?, step = ?, error = ?, updated_at = ? WHERE id = ? AND status = 'running'",
        &[
            text(status),
            text(step),
            db::opt_text(e.as_deref()),
            int(skyport_functions::now()),
            text(id),
        ],
    )?;
    Ok(())
}

/// Moves a set-up on: the account creation, then the container and the access check.
async fn advance(db: &Connection, org: &str, id: &str) -> Result<(), ApiError> {
    let r = db.execute(
        "SELECT account_id, container, token, status FROM storage_ops WHERE id = ? AND org_id = ?",
        &[text(id), text(org)],
    )?;
    let (Some(account_id), Some(container), Some(token)) = (
        get_text(&r, 0, "account_id"),
        get_text(&r, 0, "container"),
        get_text(&r, 0, "token"),
    ) else {
        return Err(ApiError::not_found("storage operation"));
    };
    if get_text(&r, 0, "status").as_deref() != Some("running") {
        return Ok(());
    }
    let op = match accounts::call(db, org, &account_id, |s| plugin::advance(s, &token)).await? {
        Ok(op) => op,
        Err(e) => {
            let err = accounts::plugin_error(e);
            return fail(
                db,
                org,
                &account_id,
                id,
                "Creating the storage account failed",
                &err,
            )
            .await;
        }
    };
    db.execute(
        "UPDATE storage_ops SET token = ?, step = ?, updated_at = ? WHERE id = ?",
        &[
            text(&op.token),
            text(&op.step),
            int(skyport_functions::now()),
            text(id),
        ],
    )?;
    let Some(acct) = op.account.filter(|_| op.done) else {
        return Ok(());
    };
    if let Err(e) = accounts::call(db, org, &account_id, |s| {
        plugin::create_container(s, &acct.id, &container)
    })
    .await?
    {
        let err = accounts::plugin_error(e);
        return fail(
            db,
            org,
            &account_id,
            id,
            "Creating the container failed",
            &err,
        )
        .await;
    }
    match accounts::call(db, org, &account_id, |s| plugin::verify_access(s, &acct.id, &container))
        .await?
    {
        Ok(Access::Verified) => {
            // The operation ends and its one target appears together, even
            // when several polls verified access at the same time.
            let target = skyport_functions::new_id();
            db.execute("BEGIN IMMEDIATE", &[])?;
            let written = (|| -> Result<(), ApiError> {
                finish(db, id, "succeeded", "Access verified", None)?;
                if db::changes(db)? == 1 {
                    db.execute(
                        "INSERT INTO backup_targets (id, org_id, account_id, storage_account_id, storage_account, container, endpoint, verified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &[text(&target), text(org), text(&account_id), text(&acct.id), text(&acct.name), text(&container), text(&format!("{}{container}", acct.blob_endpoint)), int(skyport_functions::now())],
                    )?;
                    db.execute("UPDATE storage_ops SET target_id = ? WHERE id = ?", &[text(&target), text(id)])?;
                }
                Ok(())
            })();
            match written {
                Ok(()) => {
                    db.execute("COMMIT", &[])?;
                    Ok(())
                }
                Err(e) => {
                    let _ = db.execute("ROLLBACK", &[]);
                    Err(e)
                }
            }
        }
        Ok(Access::NetworkDenied(detail)) => fail(
            db, org, &account_id, id,
            "Access check refused",
            &ApiError::new(403, "storage_access_denied", &format!("Storage access denied: {detail}."), "Allow the platform's addresses in the storage account's Networking › Firewalls and virtual networks (or allow all networks), then run the quick setup again."),
        ).await,
        Ok(Access::Failed(detail)) => fail(db, org, &account_id, id, "Access check failed", &ApiError::new(502, "storage_check_failed", &format!("The access check failed: {detail}."), "Check the storage account in the Azure portal and try again.")).await,
        Err(e) => fail(db, org, &account_id, id, "Access check failed", &accounts::plugin_error(e)).await,
    }
}

/// Ends a setup as failed (once) and removes what it created — the storage
/// account and group it made, never ones the user had.
async fn fail(
    db: &Connection,
    org: &str,
    account_id: &str,
    id: &str,
    step: &str,
    err: &ApiError,
) -> Result<(), ApiError> {
    finish(db, id, "failed", step, Some(err))?;
    if db::changes(db)? != 1 {
        return Ok(());
    }
    let r = db.execute("SELECT token FROM storage_ops WHERE id = ?", &[text(id)])?;
    let token = get_text(&r, 0, "token").unwrap_or_default();
    match accounts::call(db, org, account_id, |s| plugin::discard(s, &token)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => db::event(db, Some(org), "storage_discard_failed", &format!("{e:?}")),
        Err(e) => db::event(db, Some(org), "storage_discard_failed", &e.message),
    }
    Ok(())
}

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let db = db::open()?;
    let org = orgs::authenticate(&db, &req)?;
    match (req.method().clone(), segments.as_slice()) {
        (
            Method::Get,
            ["api", "v1", "accounts", id, "subscriptions", sub, "storage", "accounts"],
        ) => {
            check_id(sub, "subscription")?;
            let (list, containers) = accounts::call(&db, &org, id, |s| {
                let list = plugin::list_accounts(s, sub)?;
                let containers: Vec<Vec<String>> = list
                    .iter()
                    .map(|a| plugin::list_containers(s, &a.id).unwrap_or_default())
                    .collect();
                Ok((list, containers))
            })
            .await?
            .map_err(accounts::plugin_error)?;
            let mut out = Vec::new();
            for (a, c) in list.iter().zip(containers) {
                let mut v = account_json(a);
                v["containers"] = json!(c);
                out.push(v);
            }
            Ok(json_response(200, &json!({ "storage_accounts": out })))
        }
        (Method::Post, ["api", "v1", "storage", "setup"]) => {
            let b = json_body(req.body())?;
            let field = |k: &str| req_str(&b, k, 256).map(str::to_string);
            let (account_id, sub, region, name, container) = (
                field("account_id")?,
                field("subscription_id")?,
                field("region")?,
                field("storage_account")?,
                field("container")?,
            );
            let group = opt_str(&b, "resource_group", 90)?
                .unwrap_or("skyport-backups")
                .to_string();
            if !valid_account_name(&name) {
                return Err(ApiError::bad_request(
                    "invalid_storage_name",
                    &format!("`{name}` is not a valid storage account name."),
                    "Use 3–24 lowercase letters and digits; the name must be unique across Azure.",
                ));
            }
            if !valid_container(&container) {
                return Err(ApiError::bad_request(
                    "invalid_container_name",
                    &format!("`{container}` is not a valid container name."),
                    "Use 3–63 lowercase letters, digits and single hyphens.",
                ));
            }
            check_id(&sub, "subscription")?;
            let op = accounts::call(&db, &org, &account_id, |s| {
                plugin::create_account(s, &sub, &group, &name, &region)
            })
            .await?
            .map_err(|e| match e {
                PluginError::Conflict(d) if d.code == "StorageAccountAlreadyTaken" => ApiError::new(
                    409,
                    "storage_name_taken",
                    &format!(
                        "The storage account name `{name}` cannot be used: {}",
                        d.message
                    ),
                    "Choose another name; storage account names are unique across all of Azure.",
                ),
                e => accounts::plugin_error(e),
            })?;
            let id = skyport_functions::new_id();
            let now = skyport_functions::now();
            db.execute(
                "INSERT INTO storage_ops (id, org_id, account_id, container, token, status, step, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                &[text(&id), text(&org), text(&account_id), text(&container), text(&op.token), text(&op.step), int(now), int(now)],
            )?;
            if op.done {
                advance(&db, &org, &id).await?;
            }
            Ok(json_response(202, &op_json(&db, &id)?))
        }
        (Method::Get, ["api", "v1", "storage", "operations", id]) => {
            check_id(id, "operation")?;
            advance(&db, &org, id).await?;
            Ok(json_response(200, &op_json(&db, id)?))
        }
        (Method::Get, ["api", "v1", "storage", "targets"]) => {
            let (ids, next) = db::page_of_keys(
                &db,
                "backup_targets",
                "verified_at",
                "id",
                "",
                &org,
                &page(&req)?,
            )?;
            let list: Result<Vec<Value>, ApiError> =
                ids.iter().map(|t| target_json(&db, t)).collect();
            Ok(json_response(
                200,
                &json!({ "targets": list?, "next": next }),
            ))
        }
        _ => Err(ApiError::no_such_endpoint(Some("storage"))),
    }
}
