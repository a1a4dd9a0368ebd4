//! The accounts function: list and show connected accounts, re-check one
//! now, reconnect it, register a missing resource provider, delete it, and
//! estimate what everything in them costs (`costs.rs`) — and organizations:
//! who am I (`/api/v1/orgs/me`), an organization's API keys, and further
//! organizations created with the bootstrap key.

wit_bindgen::generate!({
    path: "../../wit",
    world: "costs-client",
    generate_all,
    with: { "skyport:types/types@0.2.0": skyport_functions::plugin_types },
});

use serde_json::json;
use skyport_functions::api::{
    check_scope, json_body, json_response, opt_str, page, page_response_json, query_param, req_str,
    segments, ApiError, Route,
};
use skyport_functions::config::Config;
use skyport_functions::crypto::Keys;
use skyport_functions::plugin_scopes;
use skyport_functions::plugin_types::Session;
use skyport_functions::provider::{self, Provider};
use skyport_functions::revocations::{self, Settled};
use skyport_functions::{accounts, db, internal, oauth, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

mod costs;
mod upkeep;

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

/// What became of Skyport's access on the provider's side: revoked there
/// (`revoked`), or what the user must do to revoke it.
fn revoke(revoked: bool) -> String {
    let provider = Provider::load().ok();
    if revoked {
        let name = provider.map(|p| p.name).unwrap_or_default();
        return format!("Skyport no longer holds tokens for this account, and {name} has revoked the authorization it gave Skyport.");
    }
    let words = provider.map(|p| p.revoke).unwrap_or_default();
    format!("Skyport no longer holds tokens for this account. {words}")
        .trim_end()
        .to_string()
}

/// What this function answers (the fallback tells 405 from 404 by it).
const ROUTES: &[Route] = &[
    ("GET", "api/v1/costs"),
    ("GET", "api/v1/accounts"),
    ("GET", "api/v1/accounts/*"),
    ("DELETE", "api/v1/accounts/*"),
    ("POST", "api/v1/accounts/*/refresh"),
    ("POST", "api/v1/accounts/*/reconnect"),
    (
        "POST",
        "api/v1/accounts/*/subscriptions/*/providers/*/register",
    ),
    ("POST", "api/v1/orgs"),
    ("GET", "api/v1/orgs/*"),
    ("GET", "api/v1/orgs/*/keys"),
    ("POST", "api/v1/orgs/*/keys"),
    ("DELETE", "api/v1/orgs/*/keys/*"),
];

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let method = req.method().clone();
    if internal::is_jobs_call(&req, "accounts")? {
        // The jobs component's turn: tokens kept alive, health re-checked.
        let db = db::open()?;
        let mut done = upkeep::run(&db).await?;
        done["providers"] =
            internal::other_providers_share(&db, &req, "accounts", internal::Share::Every).await?;
        return Ok(internal::answer(&done));
    }
    if segments == ["api", "v1", "orgs"] && method == Method::Post {
        return create_org(&req);
    }
    if segments.starts_with(&["api", "v1", "orgs"]) {
        return org_route(&req, &segments);
    }
    let db = db::open()?;
    let org = orgs::authenticate(&db, &req)?;
    // An account of another provider is that provider's instance's.
    if let Some(answer) = provider::answered_elsewhere(&db, &org, &req, "accounts", &[]).await? {
        return Ok(answer);
    }
    match (method, segments.as_slice()) {
        (Method::Get, ["api", "v1", "costs"]) => costs_route(&db, &org, &req).await,
        (Method::Get, ["api", "v1", "accounts"]) => {
            let (list, next) = accounts::list(&db, &org, &page(&req)?)?;
            Ok(page_response_json("accounts", &list, next))
        }
        (Method::Get, ["api", "v1", "accounts", id]) => Ok(json_response(
            200,
            &accounts::to_json(&accounts::load(&db, &org, id)?),
        )),
        (Method::Delete, ["api", "v1", "accounts", id]) => {
            delete_account(&db, &org, id, &req).await
        }
        (Method::Post, ["api", "v1", "accounts", id, "refresh"]) => {
            let (cfg, keys) = (Config::load()?, Keys::load()?);
            let a = accounts::load(&db, &org, id)?;
            let a = accounts::recheck(&db, &cfg, &keys, &a).await?;
            Ok(json_response(200, &accounts::to_json(&a)))
        }
        (Method::Post, ["api", "v1", "accounts", id, "reconnect"]) => {
            let (cfg, keys) = (Config::load()?, Keys::load()?);
            let a = accounts::load(&db, &org, id)?;
            // An account that signs in by API token comes back with a new
            // token, not through a sign-in page.
            // (Tokens that cannot be opened are an OAuth account's to
            // repair by signing in again.)
            if matches!(accounts::open_tokens(&keys, &a), Ok(t) if t.api_token) {
                return Err(ApiError::new(
                    409,
                    "reconnect_by_token",
                    &format!("This {} account signs in by API token; there is no sign-in page to reconnect through.", cfg.provider.name),
                    &format!("Create a new token in {} and send it: POST /api/v1/accounts/{}/connect with {{\"token\": …, \"account_id\": \"{}\"}}.", cfg.provider.portal, cfg.provider.id, a.id),
                ));
            }
            let started = oauth::start(&db, &cfg, &keys, &org, Some(id))?;
            Ok(json_response(
                201,
                &json!({
                    "authorize_url": started.authorize_url,
                    "popup_url": cfg.provider.popup_path(&started.state),
                    "state": started.state,
                    "expires_at": started.expires_at,
                }),
            ))
        }
        (
            Method::Post,
            ["api", "v1", "accounts", id, "subscriptions", sub, "providers", namespace, "register"],
        ) => {
            let (cfg, keys) = (Config::load()?, Keys::load()?);
            let a = accounts::load(&db, &org, id)?;
            check_scope(sub)?;
            // Only a resource provider the subscription's last check named
            // (the plugin lists those its capabilities need) is registered.
            let needed: Vec<String> = a
                .subscriptions
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| {
                    s["id"]
                        .as_str()
                        .is_some_and(|id| id.eq_ignore_ascii_case(sub))
                })
                .flat_map(|s| s["providers"].as_array().cloned().unwrap_or_default())
                .filter_map(|p| p["namespace"].as_str().map(str::to_string))
                .collect();
            let Some(namespace) = needed.iter().find(|n| n.eq_ignore_ascii_case(namespace)) else {
                return Err(ApiError::bad_request(
                    "unknown_provider",
                    &format!("`{namespace}` is not a resource provider Skyport needs in subscription {sub}."),
                    &match needed.is_empty() {
                        true => "Refresh the account to check the subscription, then register one of the resource providers it lists.".to_string(),
                        false => format!("Use {}.", needed.join(", ")),
                    },
                ));
            };
            let tokens = accounts::access_token(&db, &cfg, &keys, &a.id).await?;
            let session = Session {
                cloud: cfg.cloud.clone(),
                access_token: tokens.access_token,
            };
            let provider = plugin_scopes::enable_service(&session, sub, namespace)
                .map_err(accounts::plugin_error)?;
            let a = accounts::recheck(&db, &cfg, &keys, &a).await?;
            Ok(json_response(
                202,
                &json!({ "provider": { "namespace": provider.name, "state": provider.state }, "account": accounts::to_json(&a) }),
            ))
        }
        (method, segments) => {
            let api = (segments.get(3) == Some(&"accounts")).then_some("accounts");
            Err(ApiError::unrouted(api, ROUTES, &method, segments))
        }
    }
}

/// `POST /api/v1/orgs {"name": "…"}` with the current bootstrap key: a new
/// organization and its first key.
fn create_org(req: &Request) -> Result<Response, ApiError> {
    if !orgs::presented_key(req).is_some_and(orgs::is_bootstrap_key) {
        // Not the operator: a 401 for no valid key, a 403 for another key.
        orgs::caller(&db::open()?, req)?;
        return Err(ApiError::new(
            403,
            "forbidden",
            "Only the current bootstrap API key may create organizations.",
            "Ask the operator: organizations are created with the key set in the `bootstrap_api_key` variable. To add a key to your own organization, use POST /api/v1/orgs/me/keys.",
        ));
    }
    let body = json_body(req.body())?;
    let name = opt_str(&body, "name", 100)?.unwrap_or("").trim();
    if name.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_name",
            "An organization needs a name of 1–100 characters.",
            "Send {\"name\": \"Acme\"}.",
        )
        .with("field", json!("name")));
    }
    let db = db::open()?;
    let (id, key) = orgs::create(&db, name)?;
    Ok(json_response(
        201,
        &json!({
            "id": id,
            "name": name,
            "api_key": key.secret,
            "key": key.json,
            "notice": "Store the API key now: it is shown only this once.",
        }),
    ))
}

/// `/api/v1/orgs/{org}[/keys[/{key_id}]]`, where `{org}` is `me` or the
/// caller's own organization id.
fn org_route(req: &Request, segments: &[&str]) -> Result<Response, ApiError> {
    let db = db::open()?;
    let caller = orgs::caller(&db, req)?;
    let method = req.method().clone();
    match (method, segments) {
        (Method::Get, ["api", "v1", "orgs", org]) => {
            orgs::own_org(&caller, org)?;
            Ok(json_response(200, &orgs::describe(&db, &caller)?))
        }
        (Method::Get, ["api", "v1", "orgs", org, "keys"]) => {
            let org = orgs::own_org(&caller, org)?;
            Ok(json_response(
                200,
                &json!({ "org_id": org, "keys": orgs::list_keys(&db, org)? }),
            ))
        }
        (Method::Post, ["api", "v1", "orgs", org, "keys"]) => {
            let org = orgs::own_org(&caller, org)?;
            let body = json_body(req.body())?;
            let name = req_str(&body, "name", 100)?.trim();
            let key = orgs::create_key(&db, org, name)?;
            Ok(json_response(201, &key.answer()))
        }
        (Method::Delete, ["api", "v1", "orgs", org, "keys", key_id]) => {
            orgs::own_org(&caller, org)?;
            Ok(json_response(200, &orgs::revoke_key(&db, &caller, key_id)?))
        }
        (method, segments) => Err(ApiError::unrouted(
            Some("organizations"),
            ROUTES,
            &method,
            segments,
        )),
    }
}

/// What still uses an account: live servers, backup targets, domains.
struct Dependents {
    servers: Vec<serde_json::Value>,
    backup_targets: Vec<serde_json::Value>,
    domains: Vec<serde_json::Value>,
}

fn dependents(
    db: &spin_sdk::sqlite::Connection,
    org: &str,
    id: &str,
) -> Result<Dependents, ApiError> {
    let rows = |sql: &str, cols: &[&str]| -> Result<Vec<serde_json::Value>, ApiError> {
        let r = db.execute(sql, &[db::text(org), db::text(id)])?;
        Ok((0..r.rows.len())
            .map(|i| {
                let mut v = json!({});
                for c in cols {
                    v[*c] = json!(db::get_text(&r, i, c));
                }
                v
            })
            .collect())
    };
    Ok(Dependents {
        servers: rows(
            "SELECT id, name, status FROM servers WHERE org_id = ? AND account_id = ? AND status NOT IN ('deleted', 'failed') ORDER BY name",
            &["id", "name", "status"],
        )?,
        backup_targets: rows(
            "SELECT id, storage_account, container FROM backup_targets WHERE org_id = ? AND account_id = ? ORDER BY storage_account",
            &["id", "storage_account", "container"],
        )?,
        domains: rows(
            "SELECT name FROM dns_domains WHERE org_id = ? AND account_id = ? ORDER BY name",
            &["name"],
        )?,
    })
}

/// `DELETE /api/v1/accounts/{id}[?cascade=true]`. An account something
/// still uses is not deleted (that would orphan servers that keep billing):
/// 409 lists what uses it. With `cascade=true` its servers are deleted
/// through their own operations, its backup targets and domains detached (the
/// storage accounts and zones are the user's and stay), and the account goes
/// when its last server is gone.
async fn delete_account(
    db: &spin_sdk::sqlite::Connection,
    org: &str,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    accounts::load(db, org, id)?;
    let cascade = match query_param(req, "cascade").as_deref() {
        None => false,
        Some("true") => true,
        Some("false") => false,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_cascade",
                "`cascade` must be `true` or `false`.",
                "Send ?cascade=true to delete the account's servers with it, or leave it out.",
            ))
        }
    };
    let deps = dependents(db, org, id)?;
    let in_use =
        !deps.servers.is_empty() || !deps.backup_targets.is_empty() || !deps.domains.is_empty();
    if in_use && !cascade {
        return Err(ApiError::new(
            409,
            "account_in_use",
            &format!(
                "The account is still used by {} server(s), {} backup target(s) and {} domain(s).",
                deps.servers.len(),
                deps.backup_targets.len(),
                deps.domains.len()
            ),
            &format!("Delete those servers and detach the backup targets and domains first, or send DELETE /api/v1/accounts/{id}?cascade=true to have Skyport delete its servers and detach the rest (storage accounts and DNS zones stay yours)."),
        )
        .with("servers", json!(deps.servers))
        .with("backup_targets", json!(deps.backup_targets))
        .with("domains", json!(deps.domains)));
    }
    db.execute(
        "DELETE FROM backup_targets WHERE org_id = ? AND account_id = ?",
        &[db::text(org), db::text(id)],
    )?;
    db.execute(
        "DELETE FROM dns_domains WHERE org_id = ? AND account_id = ?",
        &[db::text(org), db::text(id)],
    )?;
    if deps.servers.is_empty() {
        let data = accounts::to_json(&accounts::load(db, org, id)?);
        db::transaction(db, || accounts::remove(db, org, id, data))?;
        // The account is gone either way; its grant is revoked now, or by
        // the upkeep once the provider answers.
        let revoked = match (Config::load(), Keys::load()) {
            // A failure here must not fail a deletion already made: the
            // revocation stays owed.
            (Ok(cfg), Ok(keys)) => revocations::settle(db, &cfg, &keys, id)
                .await
                .unwrap_or(Settled::Later),
            _ => Settled::Later,
        };
        let revoked = revoked == Settled::Revoked;
        return Ok(json_response(
            200,
            &json!({ "deleted": id, "authorization_revoked": revoked, "revoke": revoke(revoked), "detached": { "backup_targets": deps.backup_targets, "domains": deps.domains } }),
        ));
    }
    // The servers go through the servers function (service chaining), as
    // any client's deletes do; the account stays, with its tokens, until they
    // are gone.
    db.execute(
        "UPDATE accounts SET status = 'Deleting', status_reason = 'its servers are being deleted', updated_at = ? WHERE id = ? AND org_id = ?",
        &[db::int(skyport_functions::now()), db::text(id), db::text(org)],
    )?;
    let auth = req
        .header("authorization")
        .and_then(|h| h.as_str())
        .unwrap_or_default()
        .to_string();
    let mut operations = Vec::new();
    for server in &deps.servers {
        let sid = server["id"].as_str().unwrap_or_default();
        let chained = spin_sdk::http::Request::builder()
            .method(Method::Delete)
            .uri(format!("http://servers.spin.internal/api/v1/servers/{sid}"))
            .header("authorization", auth.as_str())
            .build();
        let answer = match spin_sdk::http::send::<_, Response>(chained).await {
            Ok(r) => serde_json::from_slice::<serde_json::Value>(r.body())
                .unwrap_or_else(|_| json!({ "status": *r.status() })),
            Err(e) => {
                json!({ "error": { "code": "chaining_failed", "message": format!("{e:?}") } })
            }
        };
        operations.push(json!({ "server_id": sid, "operation": answer }));
    }
    Ok(json_response(
        202,
        &json!({ "deleting": id, "operations": operations, "revoke": revoke(false), "detached": { "backup_targets": deps.backup_targets, "domains": deps.domains } }),
    ))
}

/// `GET /api/v1/costs`: this provider's accounts priced here, every other
/// provider's by its own instance (with its own price list), in one answer.
async fn costs_route(
    db: &spin_sdk::sqlite::Connection,
    org: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let own = provider::own_id()?;
    if let Some(id) = query_param(req, "account_id") {
        let account = accounts::load(db, org, &id)?;
        // Passed on once, marked: an instance that is not the account's
        // provider's after all does not pass it on again.
        if account.provider != own
            && provider::valid_id(&account.provider)
            && !internal::was_passed_on(req)
        {
            return internal::pass_on_marked(req, &format!("accounts-{}", account.provider)).await;
        }
    }
    let mut estimate = costs::estimate(db, org, req).await?;
    if query_param(req, "account_id").is_none() && !internal::was_passed_on(req) {
        for p in provider::others_in(db, org)? {
            let theirs = internal::pass_on_marked(req, &format!("accounts-{p}")).await;
            match theirs {
                Ok(r) if *r.status() == 200 => match serde_json::from_slice(r.body()) {
                    Ok(v) => costs::merge(&mut estimate, &v, &p),
                    Err(_) => unpriced(&mut estimate, &p, "its answer could not be read"),
                },
                Ok(r) => unpriced(
                    &mut estimate,
                    &p,
                    &format!("its instance answered {}", r.status()),
                ),
                Err(e) => unpriced(&mut estimate, &p, &e.message),
            }
        }
    }
    Ok(json_response(200, &estimate))
}

/// Names a provider whose accounts are left out of the estimate, and why.
fn unpriced(estimate: &mut serde_json::Value, provider: &str, why: &str) {
    if let Some(list) = estimate["unpriced"].as_array_mut() {
        list.push(serde_json::json!({ "provider": provider, "reason": format!("Its accounts are not estimated: {why}.") }));
    }
}
