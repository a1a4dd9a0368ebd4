//! The servers function (Servers › Add Server › Provision from Cloud): the
//! catalogue with prices, and servers created and deleted as operations that
//! are persisted after every step and advanced when polled — so a restart
//! loses nothing and an `Idempotency-Key` never makes a second server. A
//! failed creation cleans up after itself and says what happened.

wit_bindgen::generate!({
    path: "../../wit",
    world: "compute-client",
    generate_all,
    with: { "skyport:types/types@0.2.0": skyport_functions::plugin_types },
});

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use skyport::compute::compute::{self as plugin, Operation, ServerSpec};
use skyport_functions::api::{
    check_id, json_body, json_response, opt_str, page, query, req_str, segments, ApiError,
};
use skyport_functions::db::{self, get_int, get_text, int, opt_text, text};
use skyport_functions::plugin_types::Error as PluginError;
use skyport_functions::{accounts, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::sqlite::Connection;

/// How long one request may hold an operation while advancing it.
/// How long one request may hold an operation before another takes it over.
/// Short, so a request killed mid-step stalls nothing for long; a step that
/// outlives it is harmless, since every write compares the token it read.
const LEASE: i64 = 15;

/// How long an Idempotency-Key's first request may take to create its
/// operation; after that a replay takes the key over (the first request died).
const KEY_LEASE: i64 = 20;

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

fn prices_endpoint() -> String {
    spin_sdk::variables::get("azure_prices")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "https://prices.azure.com".into())
}

/// The guide's wording for a refusal before anything is written.
fn preflight_error(e: PluginError) -> ApiError {
    match e {
        PluginError::QuotaExceeded(d) => ApiError::new(409, "quota_exceeded", &format!("VM creation failed: not enough quota. {}", d.message), "Check quotas (Subscriptions › Usage + quotas) and request an increase, or try another region or a smaller size."),
        PluginError::SkuNotAvailable(d) => ApiError::new(409, "size_not_available", &format!("VM creation failed: {}", d.message), "Try another region or VM size."),
        PluginError::NotRegistered(d) => ApiError::new(
            409,
            "provider_not_registered",
            &format!("VM creation failed: the subscription is not registered for {}.", d.target.clone().unwrap_or_default()),
            "Register Microsoft.Compute and Microsoft.Network (Subscriptions › Resource providers, or the account's register endpoint), then try again.",
        )
        .with("namespace", json!(d.target)),
        PluginError::Conflict(d) if d.code == "SubscriptionNotActive" => ApiError::new(409, "subscription_not_active", &format!("VM creation failed: {}", d.message), "Re-enable the subscription (Cost Management + Billing), or choose another subscription."),
        other => accounts::plugin_error(other),
    }
}

/// A step that failed at the provider, with its code and a remedy.
fn step_error(e: PluginError) -> Value {
    let (code, message) = match &e {
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
    let remedy = match code.as_str() {
        "AllocationFailed" | "ZonalAllocationFailed" | "SkuNotAvailable" => {
            "Azure has no capacity for this size here now: try another region or size."
        }
        "OperationNotAllowed" | "QuotaExceeded" => {
            "Check quotas (Usage + quotas), try another region, or request an increase."
        }
        "MissingSubscriptionRegistration" => {
            "Register Microsoft.Compute and Microsoft.Network, then try again."
        }
        "RequestDisallowedByPolicy" => {
            "An Azure Policy of your organization forbids this; ask its administrators."
        }
        _ => "Try again; if it fails the same way, check the subscription in the Azure portal.",
    };
    json!({ "code": "provisioning_failed", "provider_code": code, "message": format!("VM creation failed: {message}"), "remedy": remedy })
}

fn operation_json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let r = db.execute("SELECT id, kind, server_id, status, step, step_index, steps, error, cleanup_id FROM operations WHERE id = ?", &[text(id)])?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("operation"));
    }
    let mut v = json!({
        "id": get_text(&r, 0, "id"), "kind": get_text(&r, 0, "kind"), "server_id": get_text(&r, 0, "server_id"),
        "status": get_text(&r, 0, "status"), "step": get_text(&r, 0, "step"),
        "progress": { "step": get_int(&r, 0, "step_index"), "of": get_int(&r, 0, "steps") },
    });
    if let Some(e) = get_text(&r, 0, "error") {
        v["error"] = serde_json::from_str(&e).unwrap_or(json!(e));
    }
    if let Some(c) = get_text(&r, 0, "cleanup_id") {
        v["cleanup"] = operation_json(db, &c)?;
    }
    if let Some(s) = get_text(&r, 0, "server_id") {
        v["server"] = server_json(db, &s)?;
    }
    Ok(v)
}

fn server_json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let r = db.execute("SELECT id, account_id, subscription_id, name, region, size, status, public_ip, resources, created_at FROM servers WHERE id = ?", &[text(id)])?;
    if r.rows.is_empty() {
        return Ok(Value::Null);
    }
    let mut v = json!({
        "id": get_text(&r, 0, "id"), "account_id": get_text(&r, 0, "account_id"), "subscription_id": get_text(&r, 0, "subscription_id"),
        "name": get_text(&r, 0, "name"), "region": get_text(&r, 0, "region"), "size": get_text(&r, 0, "size"), "status": get_text(&r, 0, "status"),
        "public_ip": get_text(&r, 0, "public_ip"), "resources": get_text(&r, 0, "resources").and_then(|s| serde_json::from_str::<Value>(&s).ok()),
        "created_at": get_int(&r, 0, "created_at"),
    });
    // A failed server says why: the error of its last failed operation.
    if v["status"] == "failed" {
        let e = db.execute(
            "SELECT error FROM operations WHERE server_id = ? AND status = 'failed' AND error IS NOT NULL ORDER BY updated_at DESC LIMIT 1",
            &[text(id)],
        )?;
        if let Some(e) = get_text(&e, 0, "error") {
            v["error"] = serde_json::from_str(&e).unwrap_or(json!(e));
        }
    }
    Ok(v)
}

fn insert_operation(
    db: &Connection,
    id: &str,
    org: &str,
    kind: &str,
    server: &str,
    op: &Operation,
) -> Result<(), ApiError> {
    let now = skyport_functions::now();
    db.execute(
        "INSERT INTO operations (id, org_id, kind, server_id, token, status, step, step_index, steps, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
        &[text(id), text(org), text(kind), text(server), text(&op.token), text(&op.step), int(op.step_index as i64), int(op.steps as i64), int(now), int(now)],
    )?;
    Ok(())
}

/// Advances an operation by one step if nobody else is; persists the new token first.
async fn advance(db: &Connection, org: &str, id: &str) -> Result<(), ApiError> {
    let r = db.execute(
        "SELECT status, cleanup_id FROM operations WHERE id = ? AND org_id = ?",
        &[text(id), text(org)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("operation"));
    }
    if let Some(c) = get_text(&r, 0, "cleanup_id") {
        Box::pin(advance(db, org, &c)).await?;
    }
    if get_text(&r, 0, "status").as_deref() != Some("running") {
        return Ok(());
    }
    let now = skyport_functions::now();
    db.execute(
        "UPDATE operations SET lease = ? WHERE id = ? AND status = 'running' AND (lease IS NULL OR lease < ?)",
        &[int(now + LEASE), text(id), int(now)],
    )?;
    if db::changes(db)? != 1 {
        return Ok(());
    }
    // Read the state only once the lease is ours: a poll that read before
    // another committed must not act on (or write back) the older step.
    let r = db.execute(
        "SELECT kind, server_id, token FROM operations WHERE id = ?",
        &[text(id)],
    )?;
    let (kind, server_id, token) = (
        get_text(&r, 0, "kind").unwrap_or_default(),
        get_text(&r, 0, "server_id").unwrap_or_default(),
        get_text(&r, 0, "token").unwrap_or_default(),
    );
    let s = db.execute(
        "SELECT account_id FROM servers WHERE id = ?",
        &[text(&server_id)],
    )?;
    let account = get_text(&s, 0, "account_id").unwrap_or_default();
    let advanced = accounts::call(db, org, &account, |s| plugin::advance(s, &token)).await?;
    let now = skyport_functions::now();
    match advanced {
        Ok(op) => {
            // Compare-and-set on the token read: a request whose lease was
            // taken over writes nothing.
            db.execute(
                "UPDATE operations SET token = ?, step = ?, step_index = ?, steps = ?, status = ?, lease = NULL, updated_at = ? WHERE id = ? AND token = ? AND status = 'running'",
                &[text(&op.token), text(&op.step), int(op.step_index as i64), int(op.steps as i64), text(if op.done { "succeeded" } else { "running" }), int(now), text(id), text(&token)],
            )?;
            if db::changes(db)? != 1 {
                return Ok(());
            }
            if op.done {
                match kind.as_str() {
                    "create" => {
                        let srv = op.server.as_ref();
                        db.execute(
                            "UPDATE servers SET status = 'running', public_ip = ?, resources = ?, updated_at = ? WHERE id = ?",
                            &[opt_text(srv.and_then(|s| s.public_ip.as_deref())), text(&json!(srv.map(|s| s.resources.clone()).unwrap_or_default()).to_string()), int(now), text(&server_id)],
                        )?;
                    }
                    "delete" => {
                        db.execute("UPDATE servers SET status = 'deleted', public_ip = NULL, updated_at = ? WHERE id = ?", &[int(now), text(&server_id)])?;
                        // An account deleted with cascade goes with its last server.
                        db.execute(
                            "DELETE FROM accounts WHERE status = 'Deleting' AND id = ? AND NOT EXISTS
                             (SELECT 1 FROM servers WHERE account_id = ? AND status NOT IN ('deleted', 'failed'))",
                            &[text(&account), text(&account)],
                        )?;
                    }
                    _ => {
                        db.execute("UPDATE servers SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'cleaning up'", &[int(now), text(&server_id)])?;
                    }
                }
            }
        }
        Err(PluginError::Throttled(_)) | Err(PluginError::Unavailable(_)) => {
            // Retries were exhausted for now; the next poll tries again.
            db.execute(
                "UPDATE operations SET lease = NULL WHERE id = ?",
                &[text(id)],
            )?;
        }
        Err(e) => {
            let mut error = step_error(e);
            let r = db.execute("SELECT step FROM operations WHERE id = ?", &[text(id)])?;
            if let Some(step) = get_text(&r, 0, "step") {
                error["step"] = json!(step);
            }
            db.execute("UPDATE operations SET status = 'failed', error = ?, lease = NULL, updated_at = ? WHERE id = ? AND token = ? AND status = 'running'", &[text(&error.to_string()), int(now), text(id), text(&token)])?;
            if db::changes(db)? != 1 {
                return Ok(());
            }
            if kind == "create" {
                // Remove what the creation made: the server's whole group.
                let p = db.execute(
                    "SELECT provider_id FROM servers WHERE id = ?",
                    &[text(&server_id)],
                )?;
                let provider_id = get_text(&p, 0, "provider_id").unwrap_or_default();
                if let Ok(Ok(cleanup)) = accounts::call(db, org, &account, |s| {
                    plugin::delete_server(s, &provider_id, &server_id)
                })
                .await
                {
                    let cid = skyport_functions::new_id();
                    insert_operation(db, &cid, org, "cleanup", &server_id, &cleanup)?;
                    db.execute(
                        "UPDATE operations SET cleanup_id = ? WHERE id = ?",
                        &[text(&cid), text(id)],
                    )?;
                    db.execute(
                        "UPDATE servers SET status = 'cleaning up', updated_at = ? WHERE id = ?",
                        &[int(now), text(&server_id)],
                    )?;
                }
            } else {
                db.execute(
                    "UPDATE servers SET status = 'failed', updated_at = ? WHERE id = ?",
                    &[int(now), text(&server_id)],
                )?;
            }
        }
    }
    Ok(())
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
    let Some(key) = req
        .header("idempotency-key")
        .and_then(|h| h.as_str())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
    else {
        return Err(ApiError::bad_request(
            "idempotency_key_required",
            "Creating a server needs an `Idempotency-Key` header.",
            "Send a unique key per server, e.g. a UUID; repeat it when you retry.",
        ));
    };
    let b = json_body(req.body())?;
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
    check_id(&sub, "subscription")?;
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
    let admin = opt_str(&b, "admin_username", 32)?
        .unwrap_or("azureuser")
        .to_string();
    let cloud_init = match &b["cloud_init"] {
        serde_json::Value::String(c) if c.len() <= 64 * 1024 => Some(c.clone()),
        serde_json::Value::Null => None,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "`cloud_init` must be a string of at most 64 KiB.",
                "Send the cloud-init document as one string, or leave it out.",
            ))
        }
    };
    let fingerprint: String = Sha256::digest(b.to_string().as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();

    // One operation per key, even for concurrent requests: the first insert
    // wins. A key whose first request died before its operation existed is
    // taken over once its lease runs out, so no crash makes a key unusable.
    let mut op_id = skyport_functions::new_id();
    loop {
        let now = skyport_functions::now();
        db.execute("INSERT INTO idempotency (org_id, key, request, operation_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", &[text(org), text(key), text(&fingerprint), text(&op_id), int(now)])?;
        if db::changes(db)? == 1 {
            break;
        }
        match replay(db, org, key, &fingerprint)? {
            Replay::Operation(v) => return Ok(json_response(202, &v)),
            Replay::TakeOver(id) => {
                op_id = id;
                break;
            }
            // The first request was refused and freed the key: this one
            // becomes the first.
            Replay::Freed => continue,
        }
    }
    let refuse = |db: &Connection, e: ApiError| -> Result<Response, ApiError> {
        db.execute(
            "DELETE FROM idempotency WHERE org_id = ? AND key = ? AND operation_id = ?",
            &[text(org), text(key), text(&op_id)],
        )?;
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
                "Other servers are being checked in this subscription and region.",
                "Retry in a few seconds with the same Idempotency-Key.",
            ),
        );
    };
    let new = NewServer {
        account,
        sub,
        region,
        size,
        name,
        admin,
        ssh,
        cloud_init,
    };
    let answer = admit(db, org, &op_id, new).await;
    db::unlock(db, &lock_name, &holder)?;
    match answer {
        Ok(r) => Ok(r),
        Err(e) => refuse(db, e),
    }
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
    } = new;
    // Sizes of this organization's servers still being made here, before
    // their VM exists (the provider's usage counts them from then on).
    let r = db.execute(
        "SELECT s.size FROM servers s JOIN operations o ON o.server_id = s.id AND o.kind = 'create'
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
        admin_username: admin,
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
    db.execute("BEGIN IMMEDIATE", &[])?;
    let written = (|| -> Result<Option<ApiError>, ApiError> {
        if let Some(e) = name_taken(db, org, &name)? {
            return Ok(Some(e));
        }
        db.execute(
            "INSERT INTO servers (id, org_id, account_id, subscription_id, name, region, size, status, provider_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'provisioning', ?, ?, ?)",
            &[text(&server_id), text(org), text(&account), text(&sub), text(&name), text(&region), text(&size), text(&provider_id), int(now), int(now)],
        )?;
        insert_operation(db, op_id, org, "create", &server_id, &op)?;
        Ok(None)
    })();
    match written {
        Ok(None) => {
            db.execute("COMMIT", &[])?;
        }
        Ok(Some(e)) => {
            db.execute("ROLLBACK", &[])?;
            return Err(e);
        }
        Err(e) => {
            let _ = db.execute("ROLLBACK", &[]);
            return Err(e);
        }
    }
    Ok(json_response(202, &operation_json(db, op_id)?))
}

/// What a replayed Idempotency-Key leads to.
enum Replay {
    /// The operation the key made.
    Operation(Value),
    /// The first request died before making it: carry on in its place.
    TakeOver(String),
    /// The first request was refused and the key is free again.
    Freed,
}

/// A key seen before: its operation, a takeover, or (while the first request
/// is still working) a short wait.
fn replay(db: &Connection, org: &str, key: &str, fingerprint: &str) -> Result<Replay, ApiError> {
    let deadline = skyport_functions::now() + 10;
    loop {
        let r = db.execute(
            "SELECT request, operation_id, created_at FROM idempotency WHERE org_id = ? AND key = ?",
            &[text(org), text(key)],
        )?;
        if r.rows.is_empty() {
            return Ok(Replay::Freed);
        }
        if get_text(&r, 0, "request").as_deref() != Some(fingerprint) {
            return Err(ApiError::new(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request.",
                "Use a new key for a different server.",
            ));
        }
        let existing = get_text(&r, 0, "operation_id").unwrap_or_default();
        if let Ok(v) = operation_json(db, &existing) {
            return Ok(Replay::Operation(v));
        }
        let started = get_int(&r, 0, "created_at").unwrap_or(0);
        let now = skyport_functions::now();
        if started + KEY_LEASE < now {
            db.execute(
                "UPDATE idempotency SET created_at = ? WHERE org_id = ? AND key = ? AND created_at = ?",
                &[int(now), text(org), text(key), int(started)],
            )?;
            if db::changes(db)? == 1 {
                return Ok(Replay::TakeOver(existing));
            }
        }
        if now > deadline {
            return Err(ApiError::new(
                503,
                "in_progress",
                "The first request with this key is still being processed.",
                "Retry in a few seconds with the same key.",
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The refusal of a name a live server of the organization already has.
fn name_taken(db: &Connection, org: &str, name: &str) -> Result<Option<ApiError>, ApiError> {
    let r = db.execute(
        "SELECT id FROM servers WHERE org_id = ? AND name = ? AND status NOT IN ('deleted', 'failed')",
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

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let db = db::open()?;
    let org = orgs::authenticate(&db, &req)?;
    match (req.method().clone(), segments.as_slice()) {
        (
            Method::Get,
            ["api", "v1", "accounts", id, "subscriptions", sub, "compute", "regions"],
        ) => {
            check_id(sub, "subscription")?;
            let regions = accounts::call(&db, &org, id, |s| plugin::list_regions(s, sub))
                .await?
                .map_err(accounts::plugin_error)?;
            Ok(json_response(
                200,
                &json!({ "regions": regions.iter().map(|r| json!({ "name": r.name, "display_name": r.display_name })).collect::<Vec<_>>() }),
            ))
        }
        (Method::Get, ["api", "v1", "accounts", id, "subscriptions", sub, "compute", "sizes"]) => {
            check_id(sub, "subscription")?;
            let region = query(&req)
                .into_iter()
                .find(|(k, _)| k == "region")
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "missing_region",
                        "`region` is required.",
                        "Add ?region=eastus.",
                    )
                })?;
            let sizes = accounts::call(&db, &org, id, |s| plugin::list_sizes(s, sub, &region))
                .await?
                .map_err(accounts::plugin_error)?;
            let prices = prices_endpoint();
            let list: Vec<Value> = sizes
                .iter()
                .map(|z| {
                    let price = plugin::hourly_price(&prices, &region, &z.name).ok().flatten();
                    json!({ "name": z.name, "vcpus": z.vcpus, "memory_gb": z.memory_gb, "family": z.family,
                        "hourly_price": price.as_ref().map(|p| p.hourly), "currency": price.as_ref().map(|p| p.currency.clone()),
                        "monthly_estimate": price.as_ref().map(|p| (p.hourly * 730.0 * 100.0).round() / 100.0) })
                })
                .collect();
            Ok(json_response(
                200,
                &json!({ "region": region, "sizes": list }),
            ))
        }
        (Method::Post, ["api", "v1", "servers"]) => create(&db, &org, &req).await,
        (Method::Get, ["api", "v1", "servers"]) => {
            let (ids, next) = db::page_of_keys(
                &db,
                "servers",
                "created_at",
                "id",
                "AND status != 'deleted'",
                &org,
                &page(&req)?,
            )?;
            let list: Result<Vec<Value>, ApiError> =
                ids.iter().map(|i| server_json(&db, i)).collect();
            Ok(json_response(
                200,
                &json!({ "servers": list?, "next": next }),
            ))
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
        (Method::Delete, ["api", "v1", "servers", id]) => {
            check_id(id, "server")?;
            let r = db.execute(
                "SELECT account_id, provider_id, status FROM servers WHERE id = ? AND org_id = ?",
                &[text(id), text(&org)],
            )?;
            if r.rows.is_empty() || get_text(&r, 0, "status").as_deref() == Some("deleted") {
                return Err(ApiError::not_found("server"));
            }
            let provider_id = get_text(&r, 0, "provider_id").unwrap_or_default();
            let account = get_text(&r, 0, "account_id").unwrap_or_default();
            let owner = id.to_string();
            let op = accounts::call(&db, &org, &account, |s| {
                plugin::delete_server(s, &provider_id, &owner)
            })
            .await?
            .map_err(accounts::plugin_error)?;
            let op_id = skyport_functions::new_id();
            insert_operation(&db, &op_id, &org, "delete", id, &op)?;
            db.execute(
                "UPDATE servers SET status = 'deleting', updated_at = ? WHERE id = ?",
                &[int(skyport_functions::now()), text(id)],
            )?;
            Ok(json_response(202, &operation_json(&db, &op_id)?))
        }
        (Method::Get, ["api", "v1", "operations", id]) => {
            check_id(id, "operation")?;
            advance(&db, &org, id).await?;
            Ok(json_response(200, &operation_json(&db, id)?))
        }
        _ => Err(ApiError::no_such_endpoint(Some("servers"))),
    }
}
