//! Azure Resource Manager: the request checks every ARM call goes through
//! (api-version, bearer token, subscription, role, provider registration,
//! rate-limit headers) and the dispatch to one file per resource family.
//!
//! `errors.rs` holds the error envelope, `lro.rs` long-running operations,
//! `store.rs` the generic resource store with pagination; `subscriptions.rs`,
//! `network.rs`, `compute.rs`, `storage.rs` and `dns.rs` the resources.

pub mod compute;
pub mod dns;
pub mod errors;
pub mod lro;
pub mod network;
pub mod storage;
pub mod store;
pub mod subscriptions;

use http::Method;
use serde_json::Value;

use crate::http::{Req, Resp};
use crate::state::{now, State};
use errors::arm_error;

/// Who is calling, from their access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub oid: String,
    pub tid: String,
    pub upn: String,
}

/// What a request does, for RBAC and rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Delete,
    /// A POST action such as listKeys or register.
    Action,
}

fn access_of(req: &Req) -> Access {
    match req.method {
        Method::GET | Method::HEAD => Access::Read,
        Method::DELETE => Access::Delete,
        Method::POST => Access::Action,
        _ => Access::Write,
    }
}

/// Checks the bearer token the way ARM does.
fn authenticate(state: &State, req: &Req) -> Result<Caller, Resp> {
    let Some(header) = req.header("authorization") else {
        return Err(arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
            .header("www-authenticate", "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\""));
    };
    let invalid = || {
        arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
            .header("www-authenticate", "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The access token is invalid.\"")
    };
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return Err(arm_error(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid: the 'Authorization' header must use the Bearer scheme.",
        ));
    };
    let claims = crate::jwt::decode(&state.key, token.trim()).map_err(|_| invalid())?;
    let aud = claims["aud"].as_str().unwrap_or("");
    if !aud.starts_with("https://management.azure.com")
        && !aud.starts_with("https://management.core.windows.net")
    {
        return Err(arm_error(401, "InvalidAuthenticationTokenAudience", &format!("The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.")));
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let seq = claims["xms_seq"].as_u64().unwrap_or(0);
    let forced = state
        .tokens_expired_before
        .is_some_and(|cutoff| seq <= cutoff);
    if exp <= now() || forced {
        let fmt = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%m/%d/%Y %H:%M:%S").to_string())
                .unwrap_or_default()
        };
        let shown = if forced { now() - 1 } else { exp };
        return Err(arm_error(401, "ExpiredAuthenticationToken", &format!("The access token expiry UTC time '{}' is earlier than current UTC time '{}'.", fmt(shown), fmt(now())))
            .header("www-authenticate", "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The access token has expired.\""));
    }
    Ok(Caller {
        oid: claims["oid"].as_str().unwrap_or("").to_string(),
        tid: claims["tid"].as_str().unwrap_or("").to_string(),
        upn: claims["upn"].as_str().unwrap_or("").to_string(),
    })
}

/// The rate-limit header family and bucket size for an access.
fn bucket(access: Access) -> (&'static str, f64, f64) {
    match access {
        Access::Read => ("reads", 250.0, 25.0),
        Access::Delete => ("deletes", 200.0, 10.0),
        Access::Write | Access::Action => ("writes", 200.0, 10.0),
    }
}

/// Spends one token of the subscription's bucket and returns what remains.
fn spend(state: &mut State, subscription: &str, access: Access) -> (&'static str, u64) {
    let (kind, size, refill) = bucket(access);
    let entry = state
        .rate
        .entry((subscription.to_ascii_lowercase(), kind))
        .or_insert((size, std::time::Instant::now()));
    let elapsed = entry.1.elapsed().as_secs_f64();
    entry.0 = (entry.0 + elapsed * refill).min(size);
    entry.1 = std::time::Instant::now();
    entry.0 = (entry.0 - 1.0).max(0.0);
    (kind, entry.0 as u64)
}

/// The action string RBAC messages name, e.g. `Microsoft.Compute/virtualMachines/write`.
fn action_name(segments: &[String], access: Access) -> String {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let verb = match access {
        Access::Read => "read",
        Access::Write => "write",
        Access::Delete => "delete",
        Access::Action => "action",
    };
    if let Some(p) = lower.iter().position(|s| s == "providers") {
        if let Some(ns) = segments.get(p + 1) {
            let ty: Vec<&str> = segments[p + 2..]
                .iter()
                .step_by(2)
                .map(String::as_str)
                .collect();
            return format!("{ns}/{}/{verb}", ty.join("/"));
        }
    }
    if lower.len() >= 3 && lower[2] == "resourcegroups" {
        return format!("Microsoft.Resources/subscriptions/resourceGroups/{verb}");
    }
    format!("Microsoft.Resources/subscriptions/{verb}")
}

/// Handles a request under the ARM root.
pub fn handle(state: &mut State, req: &Req) -> Resp {
    let segments = req.segments();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let Some(api_version) = req.q("api-version").filter(|v| !v.is_empty()) else {
        return arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if !api_version
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        || api_version.len() < 10
    {
        return arm_error(400, "InvalidApiVersionParameter", &format!("The api-version '{api_version}' is invalid. The supported versions are '2025-04-01,2024-11-01,2024-07-01,2024-03-01,2023-05-01,2022-12-01,2021-07-01,2021-04-01,2018-05-01'."));
    }
    let caller = match authenticate(state, req) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let access = access_of(req);

    // Tenant-level calls.
    match lower
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["tenants"] => return subscriptions::tenants(state, &caller, req),
        ["subscriptions"] => return subscriptions::list(state, &caller, req),
        _ => {}
    }
    if lower.first().map(String::as_str) != Some("subscriptions") {
        return arm_error(404, "InvalidResourceType", &format!("The resource type could not be found in the namespace for api version '{api_version}'."));
    }
    let sub_id = segments[1].clone();
    let Some(sub) = state.subscription(&sub_id).cloned() else {
        return arm_error(
            404,
            "SubscriptionNotFound",
            &format!("The subscription '{sub_id}' could not be found."),
        );
    };
    if !sub.tenant.eq_ignore_ascii_case(&caller.tid) {
        return arm_error(401, "InvalidAuthenticationTokenTenant", &format!("The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{}' to get the token.", caller.tid, sub.tenant, sub.tenant));
    }
    let role = state.role(&caller.oid, &sub.id);
    let scope = format!("/subscriptions/{}", sub.id);
    let denied = |action: String| {
        arm_error(403, "AuthorizationFailed", &format!("The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.", caller.upn, caller.oid))
    };
    // The caller's own permissions are always readable.
    let is_permissions = lower.len() == 5
        && lower[2] == "providers"
        && lower[3] == "microsoft.authorization"
        && lower[4] == "permissions";
    match role {
        None if !is_permissions => return denied(action_name(&segments, access)),
        Some("Reader") if access != Access::Read && !is_read_action(&lower) => {
            return denied(action_name(&segments, access))
        }
        _ => {}
    }
    if access != Access::Read
        && (sub.state == "Disabled" || sub.state == "Deleted")
        && !is_read_action(&lower)
    {
        return arm_error(409, "ReadOnlyDisabledSubscription", &format!("The subscription '{}' is disabled and therefore marked as read only. You cannot perform any write actions on this subscription until it is re-enabled.", sub.id));
    }
    // Using a namespace needs it registered (registering it does not).
    if let Some(ns) = resource_namespace(&lower) {
        if state.provider_state(&sub.id, &ns) != "Registered" {
            let ns_cased = crate::world::PROVIDERS
                .iter()
                .find(|p| p.eq_ignore_ascii_case(&ns))
                .map(|p| p.to_string())
                .unwrap_or(ns);
            return errors::arm_error_details(
                409,
                "MissingSubscriptionRegistration",
                &format!("The subscription is not registered to use namespace '{ns_cased}'. See https://aka.ms/rps-not-found for how to register subscriptions."),
                &[("MissingSubscriptionRegistration", &format!("The subscription is not registered to use namespace '{ns_cased}'."), &ns_cased)],
            );
        }
    }

    let (kind, remaining) = spend(state, &sub.id, access);
    let resp = route(state, &caller, req, &segments, &lower, &sub.id);
    resp.header(
        &format!("x-ms-ratelimit-remaining-subscription-{kind}"),
        remaining.to_string(),
    )
    .header(
        &format!("x-ms-ratelimit-remaining-subscription-global-{kind}"),
        (remaining * 15).to_string(),
    )
}

/// POSTs that only read (and so a Reader may make).
fn is_read_action(lower: &[String]) -> bool {
    lower.last().is_some_and(|l| l == "checknameavailability")
}

/// The provider namespace a path uses, when registration matters for it.
fn resource_namespace(lower: &[String]) -> Option<String> {
    let p = lower.iter().position(|s| s == "providers")?;
    let ns = lower.get(p + 1)?;
    if ns == "microsoft.authorization" || ns == "microsoft.resources" {
        return None;
    }
    // `/subscriptions/{s}/providers/{ns}` and `/register` manage registration itself.
    if p == 2
        && (lower.len() == 4
            || (lower.len() == 5 && (lower[4] == "register" || lower[4] == "unregister")))
    {
        return None;
    }
    // Operation status URLs stay readable.
    if lower
        .iter()
        .any(|s| s == "operations" || s == "asyncoperations" || s == "operationresults")
    {
        return None;
    }
    Some(ns.clone())
}

fn route(
    state: &mut State,
    caller: &Caller,
    req: &Req,
    seg: &[String],
    lower: &[String],
    sub: &str,
) -> Resp {
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let m = &req.method;
    match l.as_slice() {
        ["subscriptions", _] if *m == Method::GET => subscriptions::get(state, sub),
        ["subscriptions", _, "locations"] => subscriptions::locations(state, sub, req),
        ["subscriptions", _, "providers"] => subscriptions::providers(state, sub, req),
        ["subscriptions", _, "providers", "microsoft.authorization", "permissions"] => {
            subscriptions::permissions(state, caller, sub, req)
        }
        ["subscriptions", _, "providers", "microsoft.authorization", "roleassignments"] => {
            subscriptions::role_assignments(state, caller, sub, req)
        }
        ["subscriptions", _, "providers", "microsoft.compute", "skus"] => {
            compute::skus(state, sub, req)
        }
        ["subscriptions", _, "providers", "microsoft.compute", "locations", _, "usages"] => {
            compute::usages(state, sub, &seg[5], req)
        }
        ["subscriptions", _, "providers", "microsoft.compute", "locations", _, "vmsizes"] => {
            compute::vm_sizes(state, sub, &seg[5], req)
        }
        ["subscriptions", _, "providers", "microsoft.compute", "virtualmachines"] => {
            store::list(state, req, sub, None, "Microsoft.Compute/virtualMachines")
        }
        ["subscriptions", _, "providers", "microsoft.storage", "checknameavailability"] => {
            storage::check_name(state, req)
        }
        ["subscriptions", _, "providers", "microsoft.storage", "storageaccounts"] => {
            store::list(state, req, sub, None, "Microsoft.Storage/storageAccounts")
        }
        ["subscriptions", _, "providers", "microsoft.network", "dnszones"] => {
            store::list(state, req, sub, None, "Microsoft.Network/dnsZones")
        }
        ["subscriptions", _, "providers", _, "locations", _, "operations" | "asyncoperations" | "operationresults", _] => {
            lro::poll(state, &seg[7], req)
        }
        ["subscriptions", _, "operationresults", _] => lro::poll(state, &seg[3], req),
        ["subscriptions", _, "providers", _] if *m == Method::GET => {
            subscriptions::provider(state, sub, &seg[3])
        }
        ["subscriptions", _, "providers", _, "register"] if *m == Method::POST => {
            subscriptions::register(state, sub, &seg[3])
        }
        ["subscriptions", _, "providers", _, "unregister"] if *m == Method::POST => {
            subscriptions::unregister(state, sub, &seg[3])
        }
        ["subscriptions", _, "resourcegroups"] => {
            store::list(state, req, sub, None, "resourceGroups")
        }
        ["subscriptions", _, "resourcegroups", _] => {
            subscriptions::resource_group(state, req, sub, &seg[3])
        }
        ["subscriptions", _, "resourcegroups", _, "providers", ..] => {
            in_group(state, req, seg, lower, sub)
        }
        ["subscriptions", _, "resourcegroups", _, "resources"] if *m == Method::GET => {
            resources_in_group(state, req, sub, &seg[3])
        }
        _ => not_found_path(req),
    }
}

/// `Resources - List By Resource Group`: every top-level resource in a group,
/// in the generic shape (id, name, type, location, tags, managedBy).
fn resources_in_group(state: &mut State, req: &Req, sub: &str, rg: &str) -> Resp {
    if state
        .resource(&format!("/subscriptions/{sub}/resourcegroups/{rg}"))
        .is_none()
    {
        return arm_error(
            404,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        );
    }
    let items: Vec<serde_json::Value> = state
        .resources
        .values()
        .filter(|r| r.subscription.eq_ignore_ascii_case(sub))
        .filter(|r| {
            r.resource_group
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(rg))
        })
        // Top-level types only (`Namespace/type`), as ARM lists them.
        .filter(|r| r.kind != "resourceGroups" && r.kind.matches('/').count() == 1)
        .map(|r| {
            let mut v = serde_json::json!({
                "id": r.body["id"], "name": r.body["name"], "type": r.kind,
                "location": r.body["location"],
            });
            if !r.body["tags"].is_null() {
                v["tags"] = r.body["tags"].clone();
            }
            if !r.body["managedBy"].is_null() {
                v["managedBy"] = r.body["managedBy"].clone();
            }
            v
        })
        .collect();
    store::page(state, req, items)
}

fn not_found_path(req: &Req) -> Resp {
    arm_error(
        404,
        "InvalidResourceType",
        &format!(
            "The resource type could not be found for path '{}'. Check the path and api-version.",
            req.path
        ),
    )
}

/// Everything under `/subscriptions/{s}/resourceGroups/{rg}/providers/…`.
fn in_group(state: &mut State, req: &Req, seg: &[String], lower: &[String], sub: &str) -> Resp {
    let rg_name = &seg[3];
    let Some(rg) = state
        .resource(&format!("/subscriptions/{sub}/resourcegroups/{rg_name}"))
        .cloned()
    else {
        return arm_error(
            404,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg_name}' could not be found."),
        );
    };
    let rg = rg.body["name"].as_str().unwrap_or(rg_name).to_string();
    let rest: Vec<&str> = lower[5..].iter().map(String::as_str).collect();
    let names = &seg[5..];
    let g = store::Group {
        sub: sub.to_string(),
        rg,
    };
    match rest.as_slice() {
        ["microsoft.network", "virtualnetworks"] => store::list(
            state,
            req,
            sub,
            Some(&g.rg),
            "Microsoft.Network/virtualNetworks",
        ),
        ["microsoft.network", "virtualnetworks", _] => {
            network::virtual_network(state, req, &g, &names[2])
        }
        ["microsoft.network", "virtualnetworks", _, "subnets", _] => {
            network::subnet(state, req, &g, &names[2], &names[4])
        }
        ["microsoft.network", "publicipaddresses"] => store::list(
            state,
            req,
            sub,
            Some(&g.rg),
            "Microsoft.Network/publicIPAddresses",
        ),
        ["microsoft.network", "publicipaddresses", _] => {
            network::public_ip(state, req, &g, &names[2])
        }
        ["microsoft.network", "networksecuritygroups"] => store::list(
            state,
            req,
            sub,
            Some(&g.rg),
            "Microsoft.Network/networkSecurityGroups",
        ),
        ["microsoft.network", "networksecuritygroups", _] => {
            network::security_group(state, req, &g, &names[2])
        }
        ["microsoft.network", "networkinterfaces"] => store::list(
            state,
            req,
            sub,
            Some(&g.rg),
            "Microsoft.Network/networkInterfaces",
        ),
        ["microsoft.network", "networkinterfaces", _] => {
            network::interface(state, req, &g, &names[2])
        }
        ["microsoft.network", "dnszones"] => {
            store::list(state, req, sub, Some(&g.rg), "Microsoft.Network/dnsZones")
        }
        ["microsoft.network", "dnszones", _] => dns::zone(state, req, &g, &names[2]),
        ["microsoft.network", "dnszones", _, "recordsets" | "all"] => {
            dns::list_records(state, req, &g, &names[2], None)
        }
        ["microsoft.network", "dnszones", _, _] => {
            dns::list_records(state, req, &g, &names[2], Some(&names[3]))
        }
        ["microsoft.network", "dnszones", _, _, _] => {
            dns::record_set(state, req, &g, &names[2], &names[3], &names[4])
        }
        ["microsoft.compute", "virtualmachines"] => store::list(
            state,
            req,
            sub,
            Some(&g.rg),
            "Microsoft.Compute/virtualMachines",
        ),
        ["microsoft.compute", "virtualmachines", _] => {
            compute::virtual_machine(state, req, &g, &names[2])
        }
        ["microsoft.compute", "virtualmachines", _, "instanceview"] => {
            compute::instance_view(state, req, &g, &names[2])
        }
        ["microsoft.compute", "virtualmachines", _, "vmsizes"] => {
            compute::available_sizes(state, req, &g, &names[2])
        }
        ["microsoft.compute", "virtualmachines", _, action @ ("poweroff" | "deallocate" | "start" | "restart")] => {
            compute::power_action(state, req, &g, &names[2], action)
        }
        ["microsoft.compute", "disks"] => {
            store::list(state, req, sub, Some(&g.rg), "Microsoft.Compute/disks")
        }
        ["microsoft.compute", "disks", _] => {
            store::simple_get_delete(state, req, &g, "Microsoft.Compute/disks", &names[2])
        }
        ["microsoft.storage", "storageaccounts"] => store::list(
            state,
            req,
            sub,
            Some(&g.rg),
            "Microsoft.Storage/storageAccounts",
        ),
        ["microsoft.storage", "storageaccounts", _] => storage::account(state, req, &g, &names[2]),
        ["microsoft.storage", "storageaccounts", _, "listkeys"] => {
            storage::list_keys(state, req, &g, &names[2])
        }
        ["microsoft.storage", "storageaccounts", _, "blobservices", "default", "containers"] => {
            storage::list_containers(state, req, &g, &names[2])
        }
        ["microsoft.storage", "storageaccounts", _, "blobservices", "default", "containers", _] => {
            storage::container(state, req, &g, &names[2], &names[6])
        }
        _ => not_found_path(req),
    }
}

/// Reads a JSON request body, or answers ARM's error for a bad one.
pub fn body(req: &Req) -> Result<Value, Resp> {
    if req.body.is_empty() {
        return Err(arm_error(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: the body is empty.",
        ));
    }
    serde_json::from_slice::<Value>(&req.body).map_err(|e| {
        arm_error(
            400,
            "InvalidRequestContent",
            &format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })
}
