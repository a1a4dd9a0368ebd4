//! The generic resource store: ids, insert/remove, lists with `nextLink`
//! pagination, and the plain GET/DELETE some resource types need.

use http::Method;
use serde_json::{json, Value};

use super::errors::arm_error;
use crate::http::{enc, Req, Resp};
use crate::state::{Resource, State};

/// A resource group a request is scoped to.
#[derive(Debug, Clone)]
pub struct Group {
    pub sub: String,
    pub rg: String,
}

impl Group {
    /// The id of a resource of `kind` (`Namespace/type`) named `name`.
    pub fn id(&self, kind: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{kind}/{name}",
            self.sub, self.rg
        )
    }

    pub fn rg_id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}", self.sub, self.rg)
    }
}

/// Stores (or replaces) a resource.
pub fn put(state: &mut State, kind: &str, g: Option<&Group>, sub: &str, id: &str, body: Value) {
    state.resources.insert(
        id.to_ascii_lowercase(),
        Resource {
            id: id.to_string(),
            kind: kind.to_string(),
            subscription: sub.to_string(),
            resource_group: g.map(|g| g.rg.clone()),
            body,
        },
    );
}

pub fn remove(state: &mut State, id: &str) -> Option<Resource> {
    state.resources.remove(&id.to_ascii_lowercase())
}

/// The body of a resource, advancing an operation that is creating it.
pub fn get(state: &mut State, id: &str) -> Option<Value> {
    super::lro::touch(state, id);
    state.resource(id).map(|r| r.body.clone())
}

/// GET of a resource in a group: its body, or ARM's not-found answer.
pub fn read(state: &mut State, g: &Group, kind: &str, name: &str) -> Resp {
    match get(state, &g.id(kind, name)) {
        Some(body) => Resp::json(200, &body),
        None => not_found(kind, name, &g.rg),
    }
}

/// The standard not-found answer for a resource in a group.
pub fn not_found(kind: &str, name: &str, rg: &str) -> Resp {
    arm_error(404, "ResourceNotFound", &format!("The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"))
}

/// Answers a list with one page of `items`, and a `nextLink` when more follow.
pub fn page(state: &State, req: &Req, items: Vec<Value>) -> Resp {
    let size = state.world.settings.page_size.max(1);
    let skip: usize = req
        .q("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let end = (skip + size).min(items.len());
    let chunk: Vec<Value> = items.get(skip..end).map(|s| s.to_vec()).unwrap_or_default();
    let mut body = json!({ "value": chunk });
    if end < items.len() {
        let rest: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let mut q = rest.join("&");
        if !q.is_empty() {
            q.push('&');
        }
        body["nextLink"] = Value::String(format!(
            "{}{}?{q}%24skiptoken={end}",
            state.base_url, req.path
        ));
    }
    Resp::json(200, &body)
}

/// Lists the child resources whose ids start with `prefix` (lower case),
/// like a zone's record sets or an account's containers.
pub fn list_under(state: &State, req: &Req, prefix: &str) -> Resp {
    let items: Vec<Value> = state
        .resources
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, r)| r.body.clone())
        .collect();
    page(state, req, items)
}

/// Lists resources of `kind` in a subscription or one of its groups.
pub fn list(state: &mut State, req: &Req, sub: &str, rg: Option<&str>, kind: &str) -> Resp {
    if req.method != Method::GET {
        return arm_error(
            405,
            "MethodNotAllowed",
            "The requested method is not allowed on a collection.",
        );
    }
    let items: Vec<Value> = state
        .resources
        .values()
        .filter(|r| r.kind == kind && r.subscription.eq_ignore_ascii_case(sub))
        .filter(|r| {
            rg.is_none_or(|g| {
                r.resource_group
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(g))
            })
        })
        .map(|r| r.body.clone())
        .collect();
    page(state, req, items)
}

/// GET and DELETE for resources the emulator only creates as side effects (disks).
pub fn simple_get_delete(state: &mut State, req: &Req, g: &Group, kind: &str, name: &str) -> Resp {
    let id = g.id(kind, name);
    match req.method {
        Method::GET => read(state, g, kind, name),
        Method::DELETE => match remove(state, &id) {
            Some(_) => Resp::new(200),
            None => Resp::new(204),
        },
        _ => arm_error(
            405,
            "MethodNotAllowed",
            &format!("{kind} are created by the emulator, not by PUT."),
        ),
    }
}

/// Stores a validated resource and answers like ARM's asynchronous PUT:
/// 201 (new) or 200 (update) with `Azure-AsyncOperation` and `Retry-After`.
/// `body` must already carry `id`, `name`, `type` and `location`.
pub fn put_with_operation(
    state: &mut State,
    req: &Req,
    g: &Group,
    kind: &str,
    mut body: Value,
    creating: &str,
) -> Resp {
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let existed = state.resource(&id).is_some();
    let location = body["location"].as_str().unwrap_or("global").to_string();
    body["etag"] = Value::String(format!("W/\"{}\"", crate::state::guid()));
    if body.get("properties").is_none() {
        body["properties"] = json!({});
    }
    body["properties"]["provisioningState"] = Value::String(if existed {
        "Updating".into()
    } else {
        creating.into()
    });
    put(state, kind, Some(g), &g.sub, &id, body);
    let namespace = kind.split('/').next().unwrap_or(kind).to_string();
    let op = super::lro::start(
        state,
        &g.sub,
        &location,
        &namespace,
        crate::state::OpKind::Put(id.clone()),
        &req.path,
    );
    let current = state
        .resource(&id)
        .map(|r| r.body.clone())
        .unwrap_or_default();
    super::lro::headers(
        state,
        Resp::json(if existed { 200 } else { 201 }, &current),
        &op,
        true,
        false,
    )
}

/// Starts deleting `ids` (the resource first) as an operation: 202 with
/// `Azure-AsyncOperation` and `Location`.
pub fn delete_with_operation(
    state: &mut State,
    req: &Req,
    g: &Group,
    kind: &str,
    ids: Vec<String>,
) -> Resp {
    let location = ids
        .first()
        .and_then(|id| state.resource(id))
        .and_then(|r| r.body["location"].as_str().map(str::to_string))
        .unwrap_or_else(|| "global".into());
    for id in &ids {
        if let Some(r) = state.resources.get_mut(&id.to_ascii_lowercase()) {
            if r.body.get("properties").is_none() {
                r.body["properties"] = json!({});
            }
            r.body["properties"]["provisioningState"] = json!("Deleting");
        }
    }
    let namespace = kind.split('/').next().unwrap_or(kind).to_string();
    let op = super::lro::start(
        state,
        &g.sub,
        &location,
        &namespace,
        crate::state::OpKind::Delete(ids),
        &req.path,
    );
    super::lro::headers(state, Resp::new(202), &op, true, true)
}

/// Resources that refer to `id` anywhere in their body (case-insensitive).
pub fn referrers(state: &State, id: &str, kind: &str) -> Vec<String> {
    let exact = format!("\"{}\"", id.to_ascii_lowercase());
    let child = format!("\"{}/", id.to_ascii_lowercase());
    state
        .resources
        .values()
        .filter(|r| r.kind == kind && !r.id.eq_ignore_ascii_case(id))
        .filter(|r| {
            let text = r.body.to_string().to_ascii_lowercase();
            text.contains(&exact) || text.contains(&child)
        })
        .map(|r| r.id.clone())
        .collect()
}
