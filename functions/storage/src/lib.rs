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
use skyport::storage::stores::{self as plugin, Access, Store};
use skyport_functions::api::{
    check_id, check_scope, json_body, json_response, opt_str, page, page_response, req_str,
    segments, ApiError, Route,
};
use skyport_functions::db::{self, int, text};
use skyport_functions::ops::{self, Ended, Key, NewOp, Next, Op, Progress};
use skyport_functions::plugin_types::Error as PluginError;
use skyport_functions::{accounts, events, internal, orgs, provider};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::sqlite::Connection;

mod targets;

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

fn account_json(a: &Store) -> Value {
    json!({ "id": a.id, "name": a.name, "region": a.region, "blob_endpoint": a.endpoint, "state": a.state })
}

/// A storage name some provider could take: 3–63 lowercase letters, digits
/// and hyphens. The provider's plugin holds its own, often narrower rule
/// (no hyphens, or at most 24 characters) and refuses a name that breaks it,
/// in its own words, before the name reaches a URL.
fn plausible_storage_name(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_container(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !n.ends_with('-')
        && !n.contains("--")
}

/// The kind of a backup storage set-up's operation.
const SETUP: &str = "storage_setup";

/// A set-up as clients see it, with its backup target once there is one.
fn op_json(db: &Connection, id: &str) -> Result<Value, ApiError> {
    let v = ops::json(db, id)?.ok_or_else(|| ApiError::not_found("storage operation"))?;
    with_target(db, v)
}

/// A set-up operation as clients see it, with its target once it succeeded.
fn with_target(db: &Connection, mut v: Value) -> Result<Value, ApiError> {
    if v["status"] == "succeeded" {
        let target = v["subject_id"].as_str().unwrap_or_default().to_string();
        v["target"] = targets::json(db, &target)?;
    }
    Ok(v)
}

/// Why a store could not be made, for the client: a name taken elsewhere
/// or against the provider's own rule in its words, else the plugin's
/// error as every function words it.
fn creation_error(e: PluginError, name: &str) -> ApiError {
    match e {
        PluginError::Conflict(d) if d.target.as_deref() == Some("name") => ApiError::new(
            409,
            "storage_name_taken",
            &format!(
                "The {} name `{name}` cannot be used: {}",
                provider::storage(),
                d.message
            ),
            &format!(
                "Choose another name; {} names are unique across all of {}.",
                provider::storage(),
                provider::name()
            ),
        ),
        PluginError::InvalidInput(d) if d.target.as_deref() == Some("name") => {
            ApiError::bad_request(
                "invalid_storage_name",
                &d.message,
                &format!(
                    "Choose a name by that rule; {} names are unique across all of {}.",
                    provider::storage(),
                    provider::name()
                ),
            )
        }
        e => accounts::plugin_error(e),
    }
}

/// A plugin error met at `step`: transient ones are retried later, the
/// rest end the set-up with the guide's wording.
fn failed_at(step: &str, e: PluginError) -> Next {
    let later = accounts::transient(&e);
    let err = accounts::plugin_error(e).with("step", json!(step));
    if later {
        Next::Later(err)
    } else {
        Next::Failed(err)
    }
}

/// The first step of a set-up whose start met a passing failure: the store
/// begun now, with what the request asked for.
async fn create(db: &Connection, op: &Op) -> Result<Next, ApiError> {
    let c = &op.data["create"];
    let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    let (scope, group, name, region) = (
        field("scope"),
        field("group"),
        field("name"),
        field("region"),
    );
    let made = accounts::call(db, &op.org, &op.account, |s| {
        plugin::create_store(s, &scope, &group, &name, &region)
    })
    .await?;
    let step = format!("Creating the {} failed", provider::storage());
    Ok(match made {
        Ok(o) => Next::Moved(Progress {
            token: o.token,
            step: o.step,
            index: 1,
            of: 3,
            result: Value::Null,
        }),
        Err(e) if accounts::transient(&e) => failed_at(&step, e),
        Err(e) => Next::Failed(creation_error(e, &name).with("step", json!(step))),
    })
}

/// Backup storage set-ups: the account's creation (one step per poll until
/// the provider is done), then the container and the access check, ending in the
/// backup target — written in the same transaction as the operation's end,
/// so however many polls race, exactly one target appears.
struct Setup;

impl ops::Handler for Setup {
    async fn step(&self, db: &Connection, op: &Op) -> Result<Next, ApiError> {
        let container = op.data["container"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if op.token.is_empty() {
            return create(db, op).await;
        }
        let made = match accounts::call(db, &op.org, &op.account, |s| plugin::advance(s, &op.token))
            .await?
        {
            Ok(o) => o,
            Err(e) => {
                return Ok(failed_at(
                    &format!("Creating the {} failed", provider::storage()),
                    e,
                ))
            }
        };
        let progress = |step: &str, index: u32| Progress {
            token: made.token.clone(),
            step: step.to_string(),
            index,
            of: 3,
            result: Value::Null,
        };
        let Some(acct) = made.store.clone().filter(|_| made.done) else {
            return Ok(Next::Moved(progress(&made.step, 1)));
        };
        // Each call below may take a while: keep the lease, or stop if
        // another request took it over (it does these steps itself).
        if !ops::renew(db, op)? {
            return Ok(Next::Moved(progress(&made.step, 1)));
        }
        if let Err(e) = accounts::call(db, &op.org, &op.account, |s| {
            plugin::create_folder(s, &acct.id, &container)
        })
        .await?
        {
            return Ok(failed_at(
                &format!("Creating the {} failed", provider::container()),
                e,
            ));
        }
        if !ops::renew(db, op)? {
            return Ok(Next::Moved(progress("Checking access", 2)));
        }
        Ok(match accounts::call(db, &op.org, &op.account, |s| plugin::verify_access(s, &acct.id, &container)).await? {
            Ok(Access::Verified) => Next::Done(Progress {
                result: json!({ "storage_account_id": acct.id, "storage_account": acct.name, "region": acct.region, "endpoint": format!("{}{container}", acct.endpoint) }),
                ..progress("Access verified", 3)
            }),
            Ok(Access::NetworkDenied(detail)) => Next::Failed(
                ApiError::new(403, "storage_access_denied", &format!("Storage access denied: {detail}."), &format!("Allow the platform's addresses in {} (or allow all networks), then run the quick setup again.", provider::network_rules()))
                    .with("step", json!("Access check refused")),
            ),
            Ok(Access::Failed(detail)) => Next::Failed(
                ApiError::new(502, "storage_check_failed", &format!("The access check failed: {detail}."), &format!("Check the {} in {} and try again.", provider::storage(), provider::portal()))
                    .with("step", json!("Access check failed")),
            ),
            Err(e) => failed_at("Access check failed", e),
        })
    }

    fn ended(&self, db: &Connection, op: &Op, how: Ended<'_>) -> Result<(), ApiError> {
        if let Ended::Failed(e) = &how {
            if e.code == "storage_access_denied" {
                let data = json!({ "operation_id": op.id, "container": op.data["container"], "error": e.to_json() });
                events::emit(
                    db,
                    &op.org,
                    "storage.access_denied",
                    ("storage_setup", &op.id),
                    data,
                )?;
            }
        }
        if let Ended::Succeeded(p) = how {
            let r = &p.result;
            let now = skyport_functions::now();
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            db.execute(
                "INSERT INTO backup_targets (id, org_id, account_id, storage_account_id, storage_account, container, endpoint, verified_at, checked_at, region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &[text(&op.subject), text(&op.org), text(&op.account), text(&field("storage_account_id")), text(&field("storage_account")),
                  text(op.data["container"].as_str().unwrap_or_default()), text(&field("endpoint")), int(now), int(now), text(&field("region"))],
            )?;
            events::emit(
                db,
                &op.org,
                "storage.ready",
                ("backup_target", &op.subject),
                targets::json(db, &op.subject)?,
            )?;
        }
        Ok(())
    }

    /// Removes what the set-up created — the storage account and group it
    /// made, never ones the user had.
    async fn undo(&self, db: &Connection, op: &Op) -> Result<(), ApiError> {
        // A set-up that failed before its store was begun made nothing.
        if op.token.is_empty() {
            return Ok(());
        }
        match accounts::call(db, &op.org, &op.account, |s| plugin::discard(s, &op.token)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => db::event(
                db,
                Some(&op.org),
                "storage_discard_failed",
                &format!("{e:?}"),
            ),
            Err(e) => db::event(db, Some(&op.org), "storage_discard_failed", &e.message),
        }
        Ok(())
    }
}

/// What this function answers (the fallback tells 405 from 404 by it).
const ROUTES: &[Route] = &[
    ("GET", "api/v1/accounts/*/subscriptions/*/storage/accounts"),
    ("POST", "api/v1/storage/setup"),
    ("GET", "api/v1/storage/operations/*"),
    ("GET", "api/v1/storage/targets"),
    ("GET", "api/v1/storage/targets/*"),
    ("DELETE", "api/v1/storage/targets/*"),
    ("POST", "api/v1/storage/targets/*/check"),
];

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let db = db::open()?;
    if internal::is_jobs_call(&req, "storage")? {
        // The jobs component's turn: finish what nobody is polling.
        let mut done = ops::work(&db, &[SETUP], &Setup, internal::BUDGET).await?;
        done["targets"] = targets::run(&db).await?;
        done["providers"] = internal::other_providers_share(
            &db,
            &req,
            "storage",
            internal::Share::Work(&[SETUP], &["backup_targets"]),
        )
        .await?;
        return Ok(internal::answer(&done));
    }
    let org = orgs::authenticate(&db, &req)?;
    // An account of another provider is that provider's instance's.
    if let Some(answer) = provider::answered_elsewhere(
        &db,
        &org,
        &req,
        "storage",
        &[
            provider::Named::row("api/v1/storage/operations", "operations", "id"),
            provider::Named::row("api/v1/storage/targets", "backup_targets", "id"),
        ],
    )
    .await?
    {
        return Ok(answer);
    }
    match (req.method().clone(), segments.as_slice()) {
        (
            Method::Get,
            ["api", "v1", "accounts", id, "subscriptions", sub, "storage", "accounts"],
        ) => {
            check_scope(sub)?;
            let (list, containers) = accounts::call(&db, &org, id, |s| {
                let list = plugin::list_stores(s, sub)?;
                let containers: Vec<Vec<String>> = list
                    .iter()
                    .map(|a| plugin::list_folders(s, &a.id).unwrap_or_default())
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
            if !plausible_storage_name(&name) {
                return Err(ApiError::bad_request(
                    "invalid_storage_name",
                    &format!("`{name}` is not a valid {} name.", provider::storage()),
                    &format!(
                        "Use {}; the name must be unique across {}.",
                        provider::storage_rule(),
                        provider::name()
                    ),
                ));
            }
            if !valid_container(&container) {
                return Err(ApiError::bad_request(
                    "invalid_container_name",
                    &format!(
                        "`{container}` is not a valid {} name.",
                        provider::container()
                    ),
                    "Use 3–63 lowercase letters, digits and single hyphens.",
                ));
            }
            check_scope(&sub)?;
            let key = ops::idempotency_key(&req)?;
            let id = match &key {
                Some(k) => match ops::claim_key(&db, &org, k, &ops::fingerprint(&b))? {
                    Key::Existing(id) => return Ok(json_response(202, &op_json(&db, &id)?)),
                    Key::Fresh(id) => id,
                },
                None => skyport_functions::new_id(),
            };
            let creation = json!({ "scope": sub, "group": group, "name": name, "region": region });
            let planned = accounts::call(&db, &org, &account_id, |s| {
                plugin::create_store(s, &sub, &group, &name, &region)
            })
            .await
            .and_then(|r| match r {
                Ok(op) => Ok(Some(op)),
                // A passing failure does not lose the request: the set-up
                // starts with the store still to make, tried again by the
                // operation like any later step.
                Err(e) if accounts::transient(&e) => Ok(None),
                Err(e) => Err(creation_error(e, &name)),
            });
            let planned = match planned {
                Ok(p) => p,
                Err(e) => {
                    if let Some(k) = &key {
                        ops::free_key(&db, &org, k, &id)?;
                    }
                    return Err(e);
                }
            };
            // The target's id is fixed now and names the set-up's subject.
            let target = skyport_functions::new_id();
            let new = NewOp {
                id: &id,
                org: &org,
                kind: SETUP,
                subject: &target,
                account: &account_id,
                data: json!({ "container": container, "create": creation }),
            };
            let (token, step) = match &planned {
                Some(op) => (op.token.clone(), op.step.clone()),
                None => (
                    String::new(),
                    format!("Creating the {}", provider::storage()),
                ),
            };
            let first = Progress {
                token,
                step,
                index: 1,
                of: 3,
                result: Value::Null,
            };
            ops::insert(&db, &new, &first)?;
            if planned.as_ref().is_none_or(|op| op.done) {
                ops::advance(&db, &id, &Setup).await?;
            }
            Ok(json_response(202, &op_json(&db, &id)?))
        }
        (Method::Get, ["api", "v1", "storage", "operations", id]) => {
            check_id(id, "operation")?;
            let (kind, r) = ops::poll(&db, &org, id, &Setup, |k| k == SETUP).await?;
            if kind != SETUP || r.rows.is_empty() {
                return Err(ApiError::not_found("storage operation"));
            }
            let v = with_target(&db, ops::row_json(&db, &r, 0)?)?;
            Ok(json_response(200, &v))
        }
        (Method::Get, ["api", "v1", "storage", "targets"]) => {
            let (r, next) = db::page_rows(
                &db,
                "backup_targets",
                targets::SHOWN,
                "verified_at",
                "id",
                "",
                &org,
                &page(&req)?,
            )?;
            let list: Vec<Value> = (0..r.rows.len())
                .map(|i| targets::row_json(&r, i))
                .collect();
            Ok(page_response("targets", &list, next))
        }
        (Method::Get, ["api", "v1", "storage", "targets", id]) => {
            check_id(id, "backup target")?;
            Ok(json_response(200, &targets::get(&db, &org, id)?))
        }
        (Method::Delete, ["api", "v1", "storage", "targets", id]) => {
            check_id(id, "backup target")?;
            let target = targets::detach(&db, &org, id)?;
            Ok(json_response(
                200,
                &json!({ "detached": target, "kept": format!("The {} and its {} stay in your {}; Skyport no longer uses them.", provider::storage(), provider::container(), provider::scope()) }),
            ))
        }
        (Method::Post, ["api", "v1", "storage", "targets", id, "check"]) => {
            check_id(id, "backup target")?;
            Ok(json_response(
                200,
                &targets::check_now(&db, &org, id).await?,
            ))
        }
        (method, segments) => Err(ApiError::unrouted(
            Some("storage"),
            ROUTES,
            &method,
            segments,
        )),
    }
}
