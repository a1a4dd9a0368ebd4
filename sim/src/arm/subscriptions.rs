//! Tenants, subscriptions, locations, resource providers (with registration
//! as a small state machine), the caller's permissions and role assignments,
//! and resource groups.

use http::Method;
use serde_json::{json, Value};

use super::errors::arm_error;
use super::store::{self, Group};
use super::{body, lro, Caller};
use crate::http::{Req, Resp};
use crate::state::{OpKind, State};
use crate::world::{is_region, region_list, REGIONS, ROLES};

/// `GET /tenants`: the tenants the caller belongs to.
pub fn tenants(state: &mut State, caller: &Caller, req: &Req) -> Resp {
    let Some(user) = state.user(&caller.oid).cloned() else {
        return store::page(state, req, vec![]);
    };
    let items: Vec<Value> = state
        .world
        .tenants
        .iter()
        .filter(|t| t.id == user.tenant || user.guest_of.contains(&t.id))
        .map(|t| {
            json!({
                "id": format!("/tenants/{}", t.id), "tenantId": t.id, "countryCode": "US",
                "displayName": t.name, "domains": [t.domain], "tenantCategory": "Home",
                "defaultDomain": t.domain, "tenantType": "AAD",
            })
        })
        .collect();
    store::page(state, req, items)
}

fn subscription_json(s: &crate::world::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "subscriptionId": s.id,
        "tenantId": s.tenant,
        "displayName": s.name,
        "state": s.state,
        "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off" },
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
    })
}

/// `GET /subscriptions`: subscriptions of the token's tenant where the caller has a role.
pub fn list(state: &mut State, caller: &Caller, req: &Req) -> Resp {
    let items: Vec<Value> = state
        .world
        .subscriptions
        .iter()
        .filter(|s| s.tenant.eq_ignore_ascii_case(&caller.tid) && s.state != "Deleted")
        .filter(|s| state.role(&caller.oid, &s.id).is_some())
        .map(subscription_json)
        .collect();
    store::page(state, req, items)
}

pub fn get(state: &State, sub: &str) -> Resp {
    match state.subscription(sub) {
        Some(s) => Resp::json(200, &subscription_json(s)),
        None => arm_error(
            404,
            "SubscriptionNotFound",
            &format!("The subscription '{sub}' could not be found."),
        ),
    }
}

pub fn locations(state: &mut State, sub: &str, req: &Req) -> Resp {
    let items: Vec<Value> = REGIONS
        .iter()
        .map(|r| {
            json!({
                "id": format!("/subscriptions/{sub}/locations/{}", r.name),
                "name": r.name,
                "displayName": r.display,
                "regionalDisplayName": format!("({}) {}", r.geography, r.display),
                "type": "Region",
                "metadata": {
                    "regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": r.geography,
                    "longitude": r.longitude, "latitude": r.latitude, "physicalLocation": r.physical,
                    "pairedRegion": [{ "name": r.paired, "id": format!("/subscriptions/{sub}/locations/{}", r.paired) }],
                },
            })
        })
        .collect();
    store::page(state, req, items)
}

/// Namespaces the emulator knows and the resource types it lists for each.
const NAMESPACES: &[(&str, &[&str])] = &[
    (
        "Microsoft.Compute",
        &[
            "virtualMachines",
            "disks",
            "locations/usages",
            "locations/vmSizes",
            "skus",
        ],
    ),
    (
        "Microsoft.Network",
        &[
            "virtualNetworks",
            "publicIPAddresses",
            "networkSecurityGroups",
            "networkInterfaces",
            "dnszones",
        ],
    ),
    (
        "Microsoft.Storage",
        &["storageAccounts", "checkNameAvailability"],
    ),
];

fn provider_json(state: &State, sub: &str, ns: &str) -> Value {
    let types = NAMESPACES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(ns))
        .map(|(_, t)| *t)
        .unwrap_or(&[]);
    let locations: Vec<&str> = REGIONS.iter().map(|r| r.display).collect();
    json!({
        "id": format!("/subscriptions/{sub}/providers/{ns}"),
        "namespace": ns,
        "registrationState": state.provider_state(sub, ns),
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": types.iter().map(|t| json!({ "resourceType": t, "locations": locations, "apiVersions": ["2024-07-01", "2023-05-01"] })).collect::<Vec<_>>(),
    })
}

fn canonical_namespace(ns: &str) -> Option<&'static str> {
    NAMESPACES
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.eq_ignore_ascii_case(ns))
}

/// Counts a look at a provider that is Registering.
fn progress(state: &mut State, sub: &str, ns: &str) {
    let key = (sub.to_ascii_lowercase(), ns.to_string());
    if let Some(left) = state.registering.get_mut(&key) {
        *left = left.saturating_sub(1);
        if *left == 0 {
            state.registering.remove(&key);
            if let Some(s) = state.subscription_mut(sub) {
                s.providers.insert(ns.to_string(), "Registered".into());
            }
        }
    }
}

pub fn providers(state: &mut State, sub: &str, req: &Req) -> Resp {
    for (ns, _) in NAMESPACES {
        progress(state, sub, ns);
    }
    let items: Vec<Value> = NAMESPACES
        .iter()
        .map(|(ns, _)| provider_json(state, sub, ns))
        .collect();
    store::page(state, req, items)
}

pub fn provider(state: &mut State, sub: &str, ns: &str) -> Resp {
    let Some(ns) = canonical_namespace(ns) else {
        return arm_error(
            404,
            "InvalidResourceNamespace",
            &format!("The resource namespace '{ns}' is invalid."),
        );
    };
    progress(state, sub, ns);
    Resp::json(200, &provider_json(state, sub, ns))
}

pub fn register(state: &mut State, sub: &str, ns: &str) -> Resp {
    let Some(ns) = canonical_namespace(ns) else {
        return arm_error(
            404,
            "InvalidResourceNamespace",
            &format!("The resource namespace '{ns}' is invalid."),
        );
    };
    if state.provider_state(sub, ns) != "Registered" {
        let polls = state.world.settings.registration_polls;
        let next = if polls == 0 {
            "Registered"
        } else {
            "Registering"
        };
        if let Some(s) = state.subscription_mut(sub) {
            s.providers.insert(ns.to_string(), next.into());
        }
        if polls > 0 {
            state
                .registering
                .insert((sub.to_ascii_lowercase(), ns.to_string()), polls);
        }
    }
    Resp::json(200, &provider_json(state, sub, ns))
}

pub fn unregister(state: &mut State, sub: &str, ns: &str) -> Resp {
    let Some(ns) = canonical_namespace(ns) else {
        return arm_error(
            404,
            "InvalidResourceNamespace",
            &format!("The resource namespace '{ns}' is invalid."),
        );
    };
    if let Some(s) = state.subscription_mut(sub) {
        s.providers.insert(ns.to_string(), "NotRegistered".into());
    }
    state
        .registering
        .remove(&(sub.to_ascii_lowercase(), ns.to_string()));
    Resp::json(200, &provider_json(state, sub, ns))
}

/// The actions and notActions a built-in role grants.
pub fn role_permissions(role: &str) -> Value {
    match role {
        "Owner" => {
            json!({ "actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": [] })
        }
        "Contributor" => json!({
            "actions": ["*"],
            "notActions": [
                "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete"
            ],
            "dataActions": [], "notDataActions": []
        }),
        _ => {
            json!({ "actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": [] })
        }
    }
}

/// `GET …/providers/Microsoft.Authorization/permissions`: the caller's effective permissions.
pub fn permissions(state: &mut State, caller: &Caller, sub: &str, req: &Req) -> Resp {
    let items: Vec<Value> = state
        .role(&caller.oid, sub)
        .map(role_permissions)
        .into_iter()
        .collect();
    store::page(state, req, items)
}

/// `GET …/providers/Microsoft.Authorization/roleAssignments`, honouring
/// `$filter=atScope() and assignedTo('{oid}')` and `asTarget()`.
pub fn role_assignments(state: &mut State, caller: &Caller, sub: &str, req: &Req) -> Resp {
    let filter = req.q("$filter").unwrap_or("").to_string();
    let principal = if filter.contains("asTarget()") {
        Some(caller.oid.clone())
    } else {
        filter
            .split("assignedTo('")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .map(str::to_string)
    };
    let items: Vec<Value> = state
        .world
        .role_assignments
        .iter()
        .filter(|r| r.subscription.eq_ignore_ascii_case(sub))
        .filter_map(|r| {
            let user = state.user(&r.user)?;
            if principal.as_ref().is_some_and(|p| !p.eq_ignore_ascii_case(&user.id)) {
                return None;
            }
            let def = ROLES.iter().find(|(n, _)| *n == r.role)?.1;
            let name = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{}{}{}", sub, user.id, r.role).as_bytes()).to_string();
            Some(json!({
                "id": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                "type": "Microsoft.Authorization/roleAssignments",
                "name": name,
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{def}"),
                    "principalId": user.id,
                    "principalType": "User",
                    "scope": format!("/subscriptions/{sub}"),
                },
            }))
        })
        .collect();
    store::page(state, req, items)
}

/// `PUT|GET|HEAD|DELETE /subscriptions/{s}/resourcegroups/{rg}`.
pub fn resource_group(state: &mut State, req: &Req, sub: &str, name: &str) -> Resp {
    let id_lookup = format!("/subscriptions/{sub}/resourcegroups/{name}");
    let existing = state.resource(&id_lookup).cloned();
    match req.method {
        Method::PUT => {
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(location) = b["location"].as_str().map(str::to_ascii_lowercase) else {
                return arm_error(
                    400,
                    "LocationRequired",
                    "The location property is required for this definition.",
                );
            };
            if !is_region(&location) {
                return arm_error(400, "LocationNotAvailableForResourceGroup", &format!("The provided location '{location}' is not available for resource group. List of available regions is '{}'.", region_list()));
            }
            if !valid_group_name(name) {
                return arm_error(400, "InvalidResourceGroup", &format!("The provided resource group name '{name}' has these invalid characters or is too long. It must be 1–90 characters of letters, digits, '_', '-', '.', '(' and ')', and not end in a period."));
            }
            if let Some(e) = &existing {
                if e.body["location"].as_str() != Some(location.as_str()) {
                    return arm_error(409, "InvalidResourceGroupLocation", &format!("Invalid resource group location '{location}'. The Resource group already exists in location '{}'.", e.body["location"].as_str().unwrap_or("")));
                }
            }
            let stored_name = existing
                .as_ref()
                .and_then(|e| e.body["name"].as_str().map(str::to_string))
                .unwrap_or_else(|| name.to_string());
            let id = format!("/subscriptions/{sub}/resourceGroups/{stored_name}");
            let rg = json!({
                "id": id, "name": stored_name, "type": "Microsoft.Resources/resourceGroups", "location": location,
                "tags": b.get("tags").cloned().unwrap_or(json!({})),
                "properties": { "provisioningState": "Succeeded" },
            });
            state.resources.insert(
                id.to_ascii_lowercase(),
                crate::state::Resource {
                    id: id.clone(),
                    kind: "resourceGroups".into(),
                    subscription: sub.to_string(),
                    resource_group: Some(stored_name.clone()),
                    body: rg.clone(),
                },
            );
            Resp::json(if existing.is_some() { 200 } else { 201 }, &rg)
        }
        Method::GET => match existing {
            Some(r) => Resp::json(200, &r.body),
            None => arm_error(
                404,
                "ResourceGroupNotFound",
                &format!("Resource group '{name}' could not be found."),
            ),
        },
        Method::HEAD => Resp::new(if existing.is_some() { 204 } else { 404 }),
        Method::DELETE => {
            let Some(rg) = existing else {
                return Resp::new(204);
            };
            let g = Group {
                sub: sub.to_string(),
                rg: rg.body["name"].as_str().unwrap_or(name).to_string(),
            };
            // ARM deletes everything in the group, then the group.
            let mut ids: Vec<String> = state
                .resources
                .values()
                .filter(|r| {
                    r.kind != "resourceGroups"
                        && r.subscription.eq_ignore_ascii_case(sub)
                        && r.resource_group
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(&g.rg))
                })
                .map(|r| r.id.clone())
                .collect();
            ids.push(rg.id.clone());
            for id in &ids {
                if let Some(r) = state.resources.get_mut(&id.to_ascii_lowercase()) {
                    r.body["properties"]["provisioningState"] = json!("Deleting");
                }
            }
            let location = rg.body["location"].as_str().unwrap_or("eastus").to_string();
            let op = lro::start(
                state,
                sub,
                &location,
                "Microsoft.Resources",
                OpKind::Delete(ids),
                &req.path,
            );
            lro::headers(state, Resp::new(202), &op, false, true)
        }
        _ => arm_error(
            405,
            "MethodNotAllowed",
            "The method is not allowed on a resource group.",
        ),
    }
}

fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 90
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.()".contains(c))
}
