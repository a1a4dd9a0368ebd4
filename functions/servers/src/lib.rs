//! The servers function (Servers › Add Server › Provision from Cloud): the
//! catalogue with prices, and servers created and deleted as operations that
//! are persisted after every step and advanced when polled — so a restart
//! loses nothing and an `Idempotency-Key` never makes a second server. A
//! failed creation cleans up after itself and says what happened.

mod actions;
mod watch;

wit_bindgen::generate!({
    path: "../../wit",
    world: "compute-client",
    generate_all,
    with: { "skyport:types/types@0.2.0": skyport_functions::plugin_types },
});

use serde_json::value::RawValue;
use serde_json::{json, Value};
use skyport::compute::compute::{self as plugin, Operation, ServerSpec, Size};
use skyport::prices::account_prices::{self as prices, SizePrice};
use skyport_functions::api::{
    check_id, check_scope, json_body, json_response, json_text_response, object_with_raw, opt_str,
    page, page_response_json, query_param, req_str, segments, ApiError, Route,
};
use skyport_functions::db::{self, get_int, get_text, int, opt_text, text};
use skyport_functions::ops::{self, Ended, Key, NewOp, Next, Op, Progress};
use skyport_functions::plugin_types::Error as PluginError;
use skyport_functions::provider;
use skyport_functions::{accounts, events, internal, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::sqlite::{Connection, QueryResult};

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

/// The guide's wording for a refusal before anything is written.
fn preflight_error(e: PluginError) -> ApiError {
    match e {
        PluginError::QuotaExceeded(d) => ApiError::new(409, "quota_exceeded", &format!("{} creation failed: not enough quota. {}", provider::capitalised(&provider::machine()), d.message), &format!("Check quotas ({}) and request an increase, or try another region or a smaller size.", provider::quotas())),
        PluginError::SkuNotAvailable(d) => ApiError::new(409, "size_not_available", &format!("{} creation failed: {}", provider::capitalised(&provider::machine()), d.message), &format!("Try another region or {} size.", provider::machine())),
        PluginError::NotRegistered(d) => ApiError::new(
            409,
            "provider_not_registered",
            &format!("VM creation failed: the subscription is not registered for {}.", d.target.clone().unwrap_or_default()),
            &format!("Register {} ({}, or the account's register endpoint), then try again.", d.target.as_deref().unwrap_or("the resource providers compute needs"), provider::registration()),
        )
        .with("namespace", json!(d.target)),
        PluginError::Conflict(d) if d.code == "SubscriptionNotActive" => ApiError::new(409, "subscription_not_active", &format!("VM creation failed: {}", d.message), "Re-enable the subscription (Cost Management + Billing), or choose another subscription."),
        other => accounts::plugin_error(other),
    }
}

/// A step of a `kind` operation that failed at the provider, with its code
/// and a remedy.
fn step_error(kind: &str, e: PluginError) -> ApiError {
    let (provider_code, message) = match &e {
        PluginError::Throttled(t) => (t.detail.code.clone(), t.detail.message.clone()),
        PluginError::Unauthorized(d)
        | PluginError::Forbidden(d)
        | PluginError::NotRegistered(d)
        | PluginError::QuotaExceeded(d)
        | PluginError::SkuNotAvailable(d)
        | PluginError::NotFound(d)
        | PluginError::Conflict(d)
        | PluginError::InvalidInput(d)
        | PluginError::Unavailable(d)
        | PluginError::Other(d) => (d.code.clone(), d.message.clone()),
    };
    let action = actions::failed_words(kind).is_some();
    let (name, portal, machine) = (provider::name(), provider::portal(), provider::machine());
    let remedy = match provider_code.as_str() {
        // An action refused for the VM's state (it is being changed by
        // something else, say) is not about quota.
        "OperationNotAllowed" if action => {
            format!("{name} does not allow this on the {machine} right now (another change may be running on it): try again in a few minutes.")
        }
        "AllocationFailed" | "ZonalAllocationFailed" | "SkuNotAvailable" => {
            format!("{name} has no capacity for this size here now: try another region or size.")
        }
        "OperationNotAllowed" | "QuotaExceeded" => {
            format!(
                "Check quotas ({}), try another region, or request an increase.",
                provider::quotas()
            )
        }
        "MissingSubscriptionRegistration" => {
            format!("Register the resource providers the error names ({}, or the account's register endpoint), then try again.", provider::registration())
        }
        "RequestDisallowedByPolicy" => {
            format!(
                "A policy your organization set in {name} forbids this; ask its administrators."
            )
        }
        "ResourceGroupHoldsOtherResources" => format!(
            "Move or delete, in {portal}, what the error names (Skyport did not make it and will not delete it), then delete the server again."
        ),
        "VirtualMachineNotOwned" | "not_owned" => {
            format!("The {machine} in this server's place was replaced or re-tagged outside Skyport, so Skyport will not act on it: manage it in {portal}.")
        }
        _ => format!(
            "Try again; if it fails the same way, check the {} in {portal}.",
            provider::scope()
        ),
    };
    let (code, what) = match actions::failed_words(kind) {
        Some(what) => ("action_failed", what.to_string()),
        None => (
            "provisioning_failed",
            format!("{} creation failed", provider::capitalised(&machine)),
        ),
    };
    ApiError::new(502, code, &format!("{what}: {message}"), &remedy)
        .with("provider_code", json!(provider_code))
}

/// An operation as clients see it (JSON text), with its server (for the
/// server kinds).
fn operation_json(db: &Connection, id: &str) -> Result<String, ApiError> {
    operations_json(db, &ops::shown(db, id)?)?
        .pop()
        .ok_or_else(|| ApiError::not_found("operation"))
}

/// The server an operation of a server kind is about.
fn server_of(op: &Value) -> Option<String> {
    SERVER_KINDS
        .contains(&op["kind"].as_str().unwrap_or_default())
        .then(|| op["subject_id"].as_str().map(str::to_string))
        .flatten()
}

/// Operations as clients see them (a page, or one; JSON text each), with
/// their servers read in one query for all of them. The stored result and
/// each server's stored list JSON are copied in as they are.
fn operations_json(db: &Connection, r: &QueryResult) -> Result<Vec<String>, ApiError> {
    let parts = (0..r.rows.len())
        .map(|i| ops::row_parts(db, r, i))
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<String> = parts.iter().filter_map(|(v, _)| server_of(v)).collect();
    let mut servers = std::collections::HashMap::new();
    if !ids.is_empty() {
        let marks = vec!["?"; ids.len()].join(", ");
        let params: Vec<_> = ids.iter().map(|i| text(i)).collect();
        let found = db.execute(
            &format!("SELECT listed, {SHOWN} FROM servers WHERE id IN ({marks})"),
            &params,
        )?;
        for i in 0..found.rows.len() {
            let listed = get_text(&found, i, "listed");
            let json = match listed {
                Some(listed) => listed,
                None => serde_json::to_string(&shown(db, &found, i)?).unwrap_or_default(),
            };
            servers.insert(get_text(&found, i, "id").unwrap_or_default(), json);
        }
    }
    Ok(parts
        .iter()
        .map(|(v, result)| {
            let server = server_of(v);
            let id = server.as_ref().map(|s| Value::from(s.as_str()).to_string());
            let shown = server
                .as_ref()
                .map(|s| servers.get(s).map_or("null", String::as_str));
            object_with_raw(
                v,
                &[
                    ("result", result.as_deref()),
                    ("server", shown),
                    ("server_id", id.as_deref()),
                ],
            )
        })
        .collect())
}

/// The longest cloud-init document a server takes, in bytes.
const CLOUD_INIT_MAX: usize = 32 * 1024;

/// The operations this function advances.
const SERVER_KINDS: [&str; 7] = [
    "create", "delete", "cleanup", "start", "stop", "restart", "resize",
];

/// What the API shows of a server, as read from `servers`.
const SHOWN: &str = "id, account_id, subscription_id, name, region, size, status, status_reason, checked_at, public_ip, resources, admin_username, created_at";

/// Server `id` as the API shows it (null once it is gone).
pub(crate) fn server_json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let r = db.execute(
        &format!("SELECT {SHOWN} FROM servers WHERE id = ?"),
        &[text(id)],
    )?;
    if r.rows.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::to_value(shown(db, &r, 0)?).unwrap_or(Value::Null))
}

/// What the API shows of a server. Fields in name order, as every other
/// answer's; its resources are copied as they were stored.
#[derive(serde::Serialize)]
struct Shown {
    account_id: Option<String>,
    admin_username: String,
    checked_at: Option<i64>,
    created_at: Option<i64>,
    /// A failed server says why: the error of its last failed operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
    id: String,
    name: Option<String>,
    public_ip: Option<String>,
    region: Option<String>,
    resources: Option<Box<RawValue>>,
    size: Option<String>,
    /// How to reach it, once it has an address: the command to log in as
    /// its admin user with the key it was made with.
    ssh_command: Option<String>,
    status: String,
    /// A server stopped or gone outside Skyport says what its provider said.
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    subscription_id: Option<String>,
}

/// The user a server's key logs in as when its request names none: the
/// provider's own default (the variable `default_admin_username`).
fn default_admin() -> String {
    skyport_functions::config::get("default_admin_username").unwrap_or_else(|| "skyport".into())
}

/// Writes this provider's default admin user into its servers made before
/// admin users were kept; how many. Until then a read shows the default,
/// but a list may be answered by another provider's instance, which knows
/// only its own default: once written, every instance shows the same user.
fn keep_admin_users(db: &Connection) -> Result<i64, ApiError> {
    db.execute(
        &format!(
            "UPDATE servers SET admin_username = ? WHERE admin_username IS NULL
               AND account_id IN (SELECT id FROM accounts WHERE {})",
            provider::own_accounts("")
        ),
        &[text(&default_admin())],
    )?;
    db::changes(db)
}

/// Row `i` of a query of [`SHOWN`] as the API shows it.
fn shown(db: &Connection, r: &QueryResult, i: usize) -> Result<Shown, ApiError> {
    let id = get_text(r, i, "id").unwrap_or_default();
    let status = get_text(r, i, "status").unwrap_or_default();
    let admin_username = get_text(r, i, "admin_username").unwrap_or_else(default_admin);
    let public_ip = get_text(r, i, "public_ip");
    let error = match status.as_str() {
        "failed" => ops::last_error_on(db, &id)?.map(|e| e.to_json()),
        _ => None,
    };
    Ok(Shown {
        account_id: get_text(r, i, "account_id"),
        checked_at: get_int(r, i, "checked_at"),
        created_at: get_int(r, i, "created_at"),
        error,
        name: get_text(r, i, "name"),
        region: get_text(r, i, "region"),
        resources: get_text(r, i, "resources").and_then(|s| {
            serde_json::from_str::<&RawValue>(&s)
                .ok()
                .map(RawValue::to_owned)
        }),
        size: get_text(r, i, "size"),
        ssh_command: public_ip
            .as_ref()
            .map(|ip| format!("ssh {admin_username}@{ip}")),
        status_reason: get_text(r, i, "status_reason")
            .filter(|_| status == "stopped" || status == "missing"),
        subscription_id: get_text(r, i, "subscription_id"),
        admin_username,
        id,
        public_ip,
        status,
    })
}

/// A compute operation's progress, as the engine records it.
fn progress(op: &Operation) -> Progress {
    Progress {
        token: op.token.clone(),
        step: op.step.clone(),
        index: op.step_index,
        of: op.steps,
        result: op
            .server
            .as_ref()
            .map(|s| json!({ "public_ip": s.public_ip, "resources": s.resources }))
            .unwrap_or(Value::Null),
    }
}

/// Servers' operations: `create`, `delete`, and the `cleanup` that removes
/// what a failed creation made.
struct Compute;

impl ops::Handler for Compute {
    async fn step(&self, db: &Connection, op: &Op) -> Result<Next, ApiError> {
        let answer =
            accounts::call(db, &op.org, &op.account, |s| plugin::advance(s, &op.token)).await?;
        // A provider that numbers a server only once it exists names it in
        // the creation's progress: kept at once, so a clean-up after a
        // failure finds it.
        if let Ok(Operation {
            server: Some(server),
            ..
        }) = &answer
        {
            if op.kind == "create" && !server.id.is_empty() {
                db.execute(
                    "UPDATE servers SET provider_id = ? WHERE id = ? AND provider_id IS NOT ?",
                    &[text(&server.id), text(&op.subject), text(&server.id)],
                )?;
            }
        }
        Ok(match answer {
            Ok(o) if o.done => Next::Done(progress(&o)),
            Ok(o) => Next::Moved(progress(&o)),
            // Retries were exhausted for now; the engine tries again later.
            Err(e) if accounts::transient(&e) => Next::Later(step_error(&op.kind, e)),
            Err(e) => Next::Failed(step_error(&op.kind, e)),
        })
    }

    fn ended(&self, db: &Connection, op: &Op, how: Ended<'_>) -> Result<(), ApiError> {
        if actions::KINDS.contains(&op.kind.as_str()) {
            return actions::ended(db, op, how);
        }
        let now = skyport_functions::now();
        match (op.kind.as_str(), how) {
            ("create", Ended::Succeeded(p)) => {
                db.execute(
                    "UPDATE servers SET status = 'running', public_ip = ?, resources = ?, updated_at = ? WHERE id = ?",
                    &[opt_text(p.result["public_ip"].as_str()), text(&json!(p.result["resources"].as_array().cloned().unwrap_or_default()).to_string()), int(now), text(&op.subject)],
                )?;
                events::emit(
                    db,
                    &op.org,
                    "server.ready",
                    ("server", &op.subject),
                    server_json(db, &op.subject)?,
                )?;
            }
            ("create", Ended::Failed(e)) => {
                // What it made is removed next (the undo, owed until done).
                db.execute(
                    "UPDATE servers SET status = 'cleaning up', updated_at = ? WHERE id = ?",
                    &[int(now), text(&op.subject)],
                )?;
                let mut data = server_json(db, &op.subject)?;
                data["error"] = e.to_json();
                events::emit(db, &op.org, "server.failed", ("server", &op.subject), data)?;
            }
            ("delete", Ended::Succeeded(_)) => {
                db.execute("UPDATE servers SET status = 'deleted', public_ip = NULL, updated_at = ? WHERE id = ?", &[int(now), text(&op.subject)])?;
                events::emit(
                    db,
                    &op.org,
                    "server.deleted",
                    ("server", &op.subject),
                    server_json(db, &op.subject)?,
                )?;
                // An account deleted with cascade goes with its last server
                // (its grant's revocation is then the accounts' upkeep's).
                let last = db.execute(
                    "SELECT id FROM accounts WHERE status = 'Deleting' AND id = ? AND org_id = ? AND NOT EXISTS
                     (SELECT 1 FROM servers WHERE account_id = ? AND status NOT IN ('deleted', 'failed'))",
                    &[text(&op.account), text(&op.org), text(&op.account)],
                )?;
                if !last.rows.is_empty() {
                    accounts::remove(
                        db,
                        &op.org,
                        &op.account,
                        json!({ "id": op.account, "cascade": true }),
                    )?;
                }
            }
            ("cleanup", _) => {
                db.execute("UPDATE servers SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'cleaning up'", &[int(now), text(&op.subject)])?;
            }
            ("delete", Ended::Failed(e)) => {
                // A refused deletion removed nothing (a group that holds what
                // is not Skyport's is refused before any delete), and one that
                // failed part way may have left the VM: the server is back at
                // its earlier status, never `failed` — a retry would then make
                // a second one and hide this one — and the watch shows what is
                // left of it. A deletion begun before this rule kept no
                // earlier status: `failed`, as then.
                let from = op.data["from"].as_str().unwrap_or("failed");
                actions::failed(db, op, from, "deleting", e)?;
                // An account deleted with cascade waits for this server:
                // its reason says so, and why, instead of "being deleted".
                let name = server_json(db, &op.subject)?["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                db.execute(
                    "UPDATE accounts SET status_reason = ?, updated_at = ? WHERE id = ? AND org_id = ? AND status = 'Deleting'",
                    &[
                        text(&format!("deleting its server `{name}` failed ({}); delete that server again once that is resolved, and the account goes with it", e.message)),
                        int(now),
                        text(&op.account),
                        text(&op.org),
                    ],
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Removes what a failed creation made: the server's own group, checked
    /// for its tags by the plugin.
    async fn undo(&self, db: &Connection, op: &Op) -> Result<(), ApiError> {
        if op.kind != "create" {
            return Ok(());
        }
        // Run again after a crash: a clean-up already planned is not planned twice.
        let planned = db.execute(
            "SELECT cleanup_id FROM operations WHERE id = ? AND cleanup_id IS NOT NULL",
            &[text(&op.id)],
        )?;
        if !planned.rows.is_empty() {
            return Ok(());
        }
        let p = db.execute(
            "SELECT provider_id FROM servers WHERE id = ?",
            &[text(&op.subject)],
        )?;
        let provider_id = get_text(&p, 0, "provider_id").unwrap_or_default();
        let now = skyport_functions::now();
        let planned = accounts::call(db, &op.org, &op.account, |s| {
            plugin::delete_server(s, &provider_id, &op.subject)
        })
        .await;
        match planned {
            Ok(Ok(cleanup)) => {
                let cid = skyport_functions::new_id();
                let new = NewOp {
                    id: &cid,
                    org: &op.org,
                    kind: "cleanup",
                    subject: &op.subject,
                    account: &op.account,
                    data: json!({}),
                };
                ops::insert(db, &new, &progress(&cleanup))?;
                ops::set_cleanup(db, &op.id, &cid)?;
                db.execute(
                    "UPDATE servers SET status = 'cleaning up', updated_at = ? WHERE id = ?",
                    &[int(now), text(&op.subject)],
                )?;
            }
            _ => {
                // The clean-up could not even be planned: the server shows
                // as failed, and deleting it retries the removal.
                db.execute(
                    "UPDATE servers SET status = 'failed', updated_at = ? WHERE id = ?",
                    &[int(now), text(&op.subject)],
                )?;
            }
        }
        Ok(())
    }
}

fn valid_name(n: &str) -> bool {
    (1..=40).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && !n.ends_with('-')
}

/// `POST /api/v1/servers`.
async fn create(db: &Connection, org: &str, req: &Request) -> Result<Response, ApiError> {
    let key = required_key(req)?;
    create_from(db, org, &key, json_body(req.body())?).await
}

/// The Idempotency-Key a server creation needs.
fn required_key(req: &Request) -> Result<String, ApiError> {
    ops::idempotency_key(req)?.ok_or_else(|| {
        ApiError::bad_request(
            "idempotency_key_required",
            "Creating a server needs an `Idempotency-Key` header.",
            "Send a unique key per server, e.g. a UUID; repeat it when you retry.",
        )
    })
}

/// Creates a server from a request body, once per Idempotency-Key.
async fn create_from(
    db: &Connection,
    org: &str,
    key: &str,
    b: Value,
) -> Result<Response, ApiError> {
    let field = |k: &str| {
        req_str(
            &b,
            k,
            if k == "ssh_public_key" {
                16 * 1024
            } else {
                256
            },
        )
        .map(str::to_string)
    };
    let (account, sub, region, size, name, ssh) = (
        field("account_id")?,
        field("subscription_id")?,
        field("region")?,
        field("size")?,
        field("name")?,
        field("ssh_public_key")?,
    );
    check_id(&account, "account")?;
    check_scope(&sub)?;
    if !valid_name(&name) {
        return Err(ApiError::bad_request(
            "invalid_server_name",
            &format!("`{name}` is not a valid server name."),
            "Use 1–40 lowercase letters, digits and hyphens, starting with a letter.",
        ));
    }
    if !["ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-"]
        .iter()
        .any(|p| ssh.starts_with(p))
    {
        return Err(ApiError::bad_request(
            "invalid_ssh_key",
            "The SSH public key is not in OpenSSH format.",
            "Paste the contents of your `.pub` file, e.g. `ssh-ed25519 AAAA… you@host`.",
        ));
    }
    let admin = opt_str(&b, "admin_username", 32)?.map_or_else(default_admin, str::to_string);
    let cloud_init = match &b["cloud_init"] {
        // Providers take 64 KiB of custom data after base64 (about
        // 48 KiB before): 32,768 bytes leaves room to spare.
        serde_json::Value::String(c) if c.len() <= CLOUD_INIT_MAX => Some(c.clone()),
        serde_json::Value::Null => None,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_field",
                &format!("`cloud_init` must be a string of at most {CLOUD_INIT_MAX} bytes."),
                "Send the cloud-init document as one string, or leave it out.",
            )
            .with("field", serde_json::json!("cloud_init")))
        }
    };
    let op_id = match ops::claim_key(db, org, key, &ops::fingerprint(&b))? {
        Key::Existing(id) => return Ok(json_text_response(202, operation_json(db, &id)?)),
        Key::Fresh(id) => id,
    };
    let refuse = |db: &Connection, e: ApiError| -> Result<Response, ApiError> {
        ops::free_key(db, org, key, &op_id)?;
        Err(e)
    };
    if let Some(e) = name_taken(db, org, &name)? {
        return refuse(db, e);
    }
    // One create at a time per subscription and region, so each preflight
    // counts the servers admitted before it against the quotas.
    let lock_name = format!(
        "create:{org}:{}:{}",
        sub.to_ascii_lowercase(),
        region.to_ascii_lowercase()
    );
    let Some(holder) = db::lock(db, &lock_name, 20, 25)? else {
        return refuse(
            db,
            ApiError::new(
                503,
                "busy",
                &format!(
                    "Other servers are being checked in this {} and region.",
                    provider::scope()
                ),
                "Retry in a few seconds with the same Idempotency-Key.",
            ),
        );
    };
    // The wait for the lock may have been long: the key is still this
    // request's, not a dead one's.
    ops::keep_key(db, org, key, &op_id)?;
    let new = NewServer {
        account,
        sub,
        region,
        size,
        name,
        admin,
        ssh,
        cloud_init,
        request: b.clone(),
    };
    let answer = admit(db, org, &op_id, new).await;
    db::unlock(db, &lock_name, &holder)?;
    match answer {
        Ok(r) => Ok(r),
        Err(e) => refuse(db, e),
    }
}

/// `POST /api/v1/servers/{id}/retry`: a failed server, made again from the
/// request that first made it. The failed one leaves the list once the new
/// one is admitted (its own clean-up has already removed what it made).
async fn retry(db: &Connection, org: &str, key: &str, id: &str) -> Result<Response, ApiError> {
    let r = db.execute(
        "SELECT s.status, o.status AS created, o.data, o.cleanup_id, c.status AS cleanup FROM servers s
         JOIN operations o ON o.subject_id = s.id AND o.kind = 'create'
         LEFT JOIN operations c ON c.id = o.cleanup_id
         WHERE s.id = ? AND s.org_id = ?",
        &[text(id), text(org)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("server"));
    }
    let request = get_text(&r, 0, "data")
        .and_then(|d| serde_json::from_str::<Value>(&d).ok())
        .map(|d| d["request"].clone())
        .filter(Value::is_object)
        .ok_or_else(|| {
            ApiError::new(
                409,
                "retry_unavailable",
                "This server was made before Skyport kept its request, so it cannot be repeated.",
                "Create the server again from the form.",
            )
        })?;
    // A replayed retry answers with the operation its key made, even once
    // the failed server has left the list: the key must have been used for
    // this very request (another request's key is no licence to retry a
    // server that has not failed).
    let replayed = db.execute(
        "SELECT 1 AS x FROM idempotency WHERE org_id = ? AND key = ? AND request = ?",
        &[text(org), text(key), text(&ops::fingerprint(&request))],
    )?;
    // Only a server whose creation failed: one that was made and then
    // marked failed some other way (a deletion of an older release) still
    // has its machine, and a retry would make a second.
    let failed = get_text(&r, 0, "status").as_deref() == Some("failed")
        && get_text(&r, 0, "created").as_deref() == Some("failed");
    if !failed && replayed.rows.is_empty() {
        return Err(ApiError::new(
            409,
            "not_failed",
            "Only a failed server can be retried.",
            "Wait for it to finish, or delete it and create a new one.",
        ));
    }
    if get_text(&r, 0, "cleanup").is_some_and(|c| c != "succeeded") {
        return Err(ApiError::new(
            409,
            "cleanup_unfinished",
            "What the failed attempt made has not all been removed yet.",
            "Delete the server (it removes what is left), then create it again.",
        ));
    }
    let answer = create_from(db, org, key, request).await?;
    db.execute(
        "UPDATE servers SET status = 'retried', updated_at = ? WHERE id = ? AND status = 'failed'",
        &[int(skyport_functions::now()), text(id)],
    )?;
    Ok(answer)
}

/// What `POST /api/v1/servers` asked for, checked.
struct NewServer {
    account: String,
    sub: String,
    region: String,
    size: String,
    name: String,
    admin: String,
    ssh: String,
    cloud_init: Option<String>,
    /// The request as sent, kept with the operation so Retry repeats it.
    request: Value,
}

/// Preflight, plan, and the server and its operation written together; an
/// error leaves nothing behind (the caller frees the key).
async fn admit(
    db: &Connection,
    org: &str,
    op_id: &str,
    new: NewServer,
) -> Result<Response, ApiError> {
    let NewServer {
        account,
        sub,
        region,
        size,
        name,
        admin,
        ssh,
        cloud_init,
        request,
    } = new;
    // Sizes of this organization's servers still being made here, before
    // their VM exists (the provider's usage counts them from then on).
    let r = db.execute(
        "SELECT s.size FROM servers s JOIN operations o ON o.subject_id = s.id AND o.kind = 'create'
         WHERE s.org_id = ? AND s.subscription_id = ? AND lower(s.region) = lower(?) AND s.status = 'provisioning'
           AND o.status = 'running' AND o.step_index < 6",
        &[text(org), text(&sub), text(&region)],
    )?;
    let pending: Vec<String> = (0..r.rows.len())
        .filter_map(|i| get_text(&r, i, "size"))
        .collect();
    // The server's id names and tags everything made for it.
    let server_id = skyport_functions::new_id();
    let spec = ServerSpec {
        scope: sub.clone(),
        region: region.clone(),
        size: size.clone(),
        name: name.clone(),
        admin_username: admin.clone(),
        ssh_public_key: ssh,
        cloud_init,
        owner: server_id.clone(),
        labels: vec![("skyport-org".into(), org.to_string())],
        pending,
    };
    accounts::call(db, org, &account, |s| plugin::preflight(s, &spec))
        .await?
        .map_err(preflight_error)?;
    let op = accounts::call(db, org, &account, |s| plugin::create_server(s, &spec))
        .await?
        .map_err(accounts::plugin_error)?;
    let provider_id = op.server.as_ref().map(|s| s.id.clone()).unwrap_or_default();
    let now = skyport_functions::now();
    // The server and its operation appear together, or not at all; the name
    // is checked again inside, against a concurrent create of the same name.
    db::transaction(db, || {
        if let Some(e) = name_taken(db, org, &name)? {
            return Err(e);
        }
        db.execute(
            "INSERT INTO servers (id, org_id, account_id, subscription_id, name, region, size, status, provider_id, admin_username, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'provisioning', ?, ?, ?, ?)",
            &[text(&server_id), text(org), text(&account), text(&sub), text(&name), text(&region), text(&size), text(&provider_id), text(&admin), int(now), int(now)],
        )?;
        let new = NewOp {
            id: op_id,
            org,
            kind: "create",
            subject: &server_id,
            account: &account,
            data: json!({ "request": request }),
        };
        ops::insert(db, &new, &progress(&op))
    })?;
    Ok(json_text_response(202, operation_json(db, op_id)?))
}

/// The account to act for a server with: its own, or — when that one was
/// deleted (releases before accounts in use were protected allowed it) — a
/// connected account of the organization that reaches the server's
/// subscription, which then adopts the server.
fn account_for(
    db: &Connection,
    org: &str,
    server: &str,
    account: &str,
    sub: &str,
) -> Result<String, ApiError> {
    let own = db.execute(
        "SELECT id FROM accounts WHERE id = ? AND org_id = ?",
        &[text(account), text(org)],
    )?;
    if !own.rows.is_empty() {
        return Ok(account.to_string());
    }
    // Only an account of this instance's provider: the server is there.
    let other = db.execute(
        &format!(
            "SELECT id FROM accounts a WHERE org_id = ? AND provider = ? AND {}
             ORDER BY created_at DESC LIMIT 1",
            accounts::reaching("a", "?")
        ),
        &[text(org), text(&provider::own_id()?), text(sub)],
    )?;
    let Some(adopter) = get_text(&other, 0, "id") else {
        return Err(ApiError::new(
            409,
            "account_gone",
            "The account this server was created with is no longer connected.",
            // Which provider's is not known any more: an account of any
            // provider that reaches the scope takes the server over.
            &format!("Connect again an account that can reach `{sub}`, where the server is (the same user is fine), then try again."),
        ));
    };
    db.execute(
        "UPDATE servers SET account_id = ?, updated_at = ? WHERE id = ?",
        &[text(&adopter), int(skyport_functions::now()), text(server)],
    )?;
    Ok(adopter)
}

/// Sizes as the API shows them, priced through `account` (one call for
/// them all). Unpriced sizes are still shown: a price list that cannot be
/// read does not hide the catalogue.
async fn priced_sizes(
    db: &Connection,
    org: &str,
    account: &str,
    sizes: &[Size],
    region: &str,
) -> Vec<Value> {
    let names: Vec<String> = sizes.iter().map(|z| z.name.clone()).collect();
    let endpoint = skyport_functions::config::prices_endpoint().unwrap_or_default();
    let priced = accounts::call(db, org, account, |s| {
        prices::size_prices(s, &endpoint, region, &names)
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    sizes_json(sizes, region, &endpoint, &priced)
}

/// Sizes as the API shows them, each with its on-demand price in `region`:
/// from the account's price list (`priced`), else from compute's public
/// `hourly-price` (plugins from before `account-prices`), else unpriced.
/// The price list is at `prices` (empty when none is configured: the
/// sizes are shown unpriced).
fn sizes_json(sizes: &[Size], region: &str, prices: &str, priced: &[SizePrice]) -> Vec<Value> {
    sizes
        .iter()
        .map(|z| {
            let price = priced
                .iter()
                .find(|p| p.size == z.name)
                .map(|p| (p.hourly, p.monthly, p.currency.clone()))
                .or_else(|| {
                    let p = plugin::hourly_price(prices, region, &z.name).ok().flatten()?;
                    Some((p.hourly, p.hourly * 730.0, p.currency))
                });
            let cents = |v: f64| (v * 100.0).round() / 100.0;
            json!({ "name": z.name, "vcpus": z.vcpus, "memory_gb": z.memory_gb, "family": z.family,
                "hourly_price": price.as_ref().map(|p| p.0), "currency": price.as_ref().map(|p| p.2.clone()),
                "monthly_estimate": price.as_ref().map(|p| cents(p.1)) })
        })
        .collect()
}

/// `DELETE /api/v1/servers/{id}`: starts the server's deletion, or answers
/// the one already running; the operation's id.
async fn delete(db: &Connection, org: &str, id: &str) -> Result<String, ApiError> {
    let r = db.execute(
        "SELECT account_id, subscription_id, provider_id, status FROM servers WHERE id = ? AND org_id = ?",
        &[text(id), text(org)],
    )?;
    if r.rows.is_empty() || get_text(&r, 0, "status").as_deref() == Some("deleted") {
        return Err(ApiError::not_found("server"));
    }
    // One piece of work on a server at a time: a deletion asked for
    // again is the same deletion, and none starts while the server
    // is still being made (or its failed attempt cleaned up, or an
    // action runs on it).
    let is_delete = |kind: &str, _: &Value| kind == "delete";
    if let Some(op) = actions::one_at_a_time(db, id, is_delete)? {
        return Ok(op);
    }
    let provider_id = get_text(&r, 0, "provider_id").unwrap_or_default();
    let account = account_for(
        db,
        org,
        id,
        &get_text(&r, 0, "account_id").unwrap_or_default(),
        &get_text(&r, 0, "subscription_id").unwrap_or_default(),
    )?;
    let owner = id.to_string();
    let op = accounts::call(db, org, &account, |s| {
        plugin::delete_server(s, &provider_id, &owner)
    })
    .await?
    .map_err(accounts::plugin_error)?;
    let op_id = skyport_functions::new_id();
    let status = get_text(&r, 0, "status").unwrap_or_default();
    // Checked again where it is written: an action or a deletion that
    // began while this one was planned wins, and the server turns
    // `deleting` only from the status that was read.
    let answer = db::transaction(db, || {
        if let Some(op) = actions::one_at_a_time(db, id, is_delete)? {
            return Ok(op);
        }
        db.execute(
            "UPDATE servers SET status = 'deleting', updated_at = ? WHERE id = ? AND status = ?",
            &[int(skyport_functions::now()), text(id), text(&status)],
        )?;
        if db::changes(db)? != 1 {
            return Err(actions::changed_meanwhile());
        }
        let new = NewOp {
            id: &op_id,
            org,
            kind: "delete",
            subject: id,
            account: &account,
            // Where a failed deletion puts the server back (a deletion
            // found unfinished from an older release: `failed`).
            data: json!({ "from": if status == "deleting" { "failed" } else { status.as_str() } }),
        };
        ops::insert(db, &new, &progress(&op))?;
        Ok(op_id.clone())
    })?;
    Ok(answer)
}

/// Servers of accounts deleted with `cascade=true` that could not be deleted
/// then (another operation was running on them): each is deleted once its
/// own work has ended, so the account still goes with its last server. One
/// whose last deletion was refused (its group holds what is not Skyport's)
/// is not tried again on its own: that would fail the same way on every
/// run; the account's reason names it until the user deletes it again.
async fn finish_cascades(db: &Connection) -> Result<Value, ApiError> {
    let r = db.execute(
        &format!("SELECT s.id, s.org_id FROM servers s JOIN accounts a ON a.id = s.account_id
         WHERE a.status = 'Deleting' AND {} AND s.status NOT IN ('deleted', 'deleting', 'failed', 'retried', 'cleaning up')
           AND NOT EXISTS (SELECT 1 FROM operations o WHERE o.subject_id = s.id AND o.status = 'running')
           AND (SELECT o.status FROM operations o WHERE o.subject_id = s.id AND o.kind = 'delete'
                ORDER BY o.created_at DESC, o.rowid DESC LIMIT 1) IS NOT 'failed'
         ORDER BY s.updated_at LIMIT 10", provider::own_accounts("a")),
        &[],
    )?;
    let (mut started, mut errors) = (0, Vec::new());
    for i in 0..r.rows.len() {
        let (Some(id), Some(org)) = (get_text(&r, i, "id"), get_text(&r, i, "org_id")) else {
            continue;
        };
        match delete(db, &org, &id).await {
            Ok(_) => started += 1,
            Err(e) => errors.push(json!({ "server": id, "code": e.code })),
        }
    }
    Ok(json!({ "started": started, "errors": errors }))
}

/// The refusal of a name a live server of the organization already has.
fn name_taken(db: &Connection, org: &str, name: &str) -> Result<Option<ApiError>, ApiError> {
    let r = db.execute(
        "SELECT id FROM servers WHERE org_id = ? AND name = ? AND status NOT IN ('deleted', 'failed', 'retried')",
        &[text(org), text(name)],
    )?;
    Ok(get_text(&r, 0, "id").map(|id| {
        ApiError::new(
            409,
            "name_taken",
            &format!("A server named `{name}` already exists in your organization."),
            "Choose another name, or delete that server first.",
        )
        .with("server_id", json!(id))
    }))
}

/// What this function answers (the fallback tells 405 from 404 by it).
const ROUTES: &[Route] = &[
    ("GET", "api/v1/accounts/*/subscriptions/*/compute/regions"),
    ("GET", "api/v1/accounts/*/subscriptions/*/compute/sizes"),
    ("GET", "api/v1/servers"),
    ("POST", "api/v1/servers"),
    ("GET", "api/v1/servers/*"),
    ("DELETE", "api/v1/servers/*"),
    ("POST", "api/v1/servers/*/retry"),
    ("GET", "api/v1/servers/*/sizes"),
    ("POST", "api/v1/servers/*/start"),
    ("POST", "api/v1/servers/*/stop"),
    ("POST", "api/v1/servers/*/restart"),
    ("POST", "api/v1/servers/*/resize"),
    ("GET", "api/v1/operations"),
    ("GET", "api/v1/operations/*"),
];

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let db = db::open()?;
    if internal::is_jobs_call(&req, "servers")? {
        // The jobs component's turn: finish what nobody is polling, look
        // at servers that may have changed outside Skyport, and delete the
        // servers a cascade could not delete while they were busy.
        let mut done = ops::work(&db, &SERVER_KINDS, &Compute, internal::BUDGET).await?;
        done["watch"] = watch::run(&db).await?;
        done["cascade"] = finish_cascades(&db).await?;
        done["admin_users"] = json!(keep_admin_users(&db)?);
        done["providers"] =
            internal::other_providers_share(&db, &req, "servers", internal::Share::Every).await?;
        return Ok(internal::answer(&done));
    }
    let org = orgs::authenticate(&db, &req)?;
    // An account of another provider is that provider's instance's.
    if let Some(answer) = provider::answered_elsewhere(
        &db,
        &org,
        &req,
        "servers",
        &[
            provider::Named::row("api/v1/servers", "servers", "id").scoped("subscription_id"),
            provider::Named::row("api/v1/operations", "operations", "id"),
        ],
    )
    .await?
    {
        return Ok(answer);
    }
    match (req.method().clone(), segments.as_slice()) {
        (
            Method::Get,
            ["api", "v1", "accounts", id, "subscriptions", sub, "compute", "regions"],
        ) => {
            check_scope(sub)?;
            let regions = accounts::call(&db, &org, id, |s| plugin::list_regions(s, sub))
                .await?
                .map_err(accounts::plugin_error)?;
            Ok(json_response(
                200,
                &json!({ "regions": regions.iter().map(|r| json!({ "name": r.name, "display_name": r.display_name })).collect::<Vec<_>>() }),
            ))
        }
        (Method::Get, ["api", "v1", "accounts", id, "subscriptions", sub, "compute", "sizes"]) => {
            check_scope(sub)?;
            let region = query_param(&req, "region").ok_or_else(|| {
                ApiError::bad_request(
                    "missing_region",
                    "`region` is required.",
                    "Add ?region=eastus.",
                )
            })?;
            let sizes = accounts::call(&db, &org, id, |s| plugin::list_sizes(s, sub, &region))
                .await?
                .map_err(accounts::plugin_error)?;
            let sizes = priced_sizes(&db, &org, id, &sizes, &region).await;
            Ok(json_response(
                200,
                &json!({ "region": region, "sizes": sizes }),
            ))
        }
        (Method::Post, ["api", "v1", "servers"]) => create(&db, &org, &req).await,
        (Method::Get, ["api", "v1", "servers"]) => {
            let (list, next) = db::page_of_json(
                &db,
                "servers",
                "created_at",
                "id",
                "AND status NOT IN ('deleted', 'retried')",
                &org,
                &page(&req)?,
                // A server without stored JSON is shown as its read shows it.
                |id| Ok(server_json(&db, id)?.to_string()),
            )?;
            Ok(page_response_json("servers", &list, next))
        }
        (Method::Get, ["api", "v1", "servers", id]) => {
            check_id(id, "server")?;
            let r = db.execute(
                "SELECT id FROM servers WHERE id = ? AND org_id = ?",
                &[text(id), text(&org)],
            )?;
            if r.rows.is_empty() {
                return Err(ApiError::not_found("server"));
            }
            Ok(json_response(200, &server_json(&db, id)?))
        }
        (Method::Post, ["api", "v1", "servers", id, "retry"]) => {
            check_id(id, "server")?;
            let key = required_key(&req)?;
            retry(&db, &org, &key, id).await
        }
        (Method::Get, ["api", "v1", "servers", id, "sizes"]) => actions::sizes(&db, &org, id).await,
        (
            Method::Post,
            ["api", "v1", "servers", id, kind @ ("start" | "stop" | "restart" | "resize")],
        ) => actions::request(&db, &org, id, kind, &req).await,
        (Method::Delete, ["api", "v1", "servers", id]) => {
            check_id(id, "server")?;
            let op = delete(&db, &org, id).await?;
            Ok(json_text_response(202, operation_json(&db, &op)?))
        }
        (Method::Get, ["api", "v1", "operations"]) => {
            // Every function's operations share one table; the filter is one
            // of a fixed few, never the caller's text.
            let filter = match query_param(&req, "status") {
                None => "",
                Some(s) => match s.as_str() {
                    "running" => "AND status = 'running'",
                    "succeeded" => "AND status = 'succeeded'",
                    "failed" => "AND status = 'failed'",
                    _ => {
                        return Err(ApiError::bad_request(
                            "invalid_status",
                            "`status` must be running, succeeded or failed.",
                            "Leave `status` out to list every operation, or use one of those.",
                        ))
                    }
                },
            };
            let (r, next) = db::page_rows(
                &db,
                "operations",
                ops::SHOWN,
                "created_at",
                "id",
                filter,
                &org,
                &page(&req)?,
            )?;
            Ok(page_response_json(
                "operations",
                &operations_json(&db, &r)?,
                next,
            ))
        }
        (Method::Get, ["api", "v1", "operations", id]) => {
            check_id(id, "operation")?;
            let (_, r) = ops::poll(&db, &org, id, &Compute, |k| SERVER_KINDS.contains(&k)).await?;
            let v = operations_json(&db, &r)?.pop();
            Ok(json_text_response(
                200,
                v.ok_or_else(|| ApiError::not_found("operation"))?,
            ))
        }
        (method, segments) => Err(ApiError::unrouted(
            Some("servers"),
            ROUTES,
            &method,
            segments,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyport_functions::plugin_types::Detail;

    #[test]
    fn a_refused_deletion_says_so_and_what_to_move() {
        let e = step_error(
            "delete",
            PluginError::Conflict(Detail {
                code: "ResourceGroupHoldsOtherResources".into(),
                message: "The server's resource group also holds customer-ip that Skyport did not create for this server, so Skyport does not delete the group.".into(),
                target: None,
            }),
        );
        assert_eq!(e.code, "action_failed");
        assert!(
            e.message.starts_with(
                "Deleting the server failed: The server's resource group also holds customer-ip"
            ),
            "{}",
            e.message
        );
        assert!(
            e.remedy.contains("then delete the server again"),
            "{}",
            e.remedy
        );
        // A creation's failure keeps its own words.
        let e = step_error(
            "create",
            PluginError::Conflict(Detail {
                code: "Conflict".into(),
                message: "no".into(),
                target: None,
            }),
        );
        assert_eq!(e.code, "provisioning_failed");
    }
}
