//! Long-running operations: a PUT or DELETE answers 201/202 with
//! `Azure-AsyncOperation` and/or `Location` plus `Retry-After`, and stays
//! InProgress for the world's `lro_polls` polls before it ends Succeeded, or
//! Failed when a scripted failure matches.
//!
//! Polling the operation URL or GETting the resource both count as a poll, as
//! clients do either.

use serde_json::{json, Value};

use super::errors::arm_error;
use crate::http::{Req, Resp};
use crate::state::{guid, iso_now, OpKind, Operation, State};

/// Starts an operation; returns its id. With `lro_polls = 0` it ends at once.
pub fn start(
    state: &mut State,
    sub: &str,
    location: &str,
    namespace: &str,
    kind: OpKind,
    path: &str,
) -> String {
    let lower = path.to_ascii_lowercase();
    let failure = state
        .lro_failures
        .iter()
        .position(|f| lower.contains(&f.path.to_ascii_lowercase()))
        .map(|i| state.lro_failures.remove(i))
        .map(|f| (f.code, f.message));
    let id = guid();
    let op = Operation {
        id: id.clone(),
        subscription: sub.to_string(),
        location: location.to_string(),
        namespace: namespace.to_string(),
        kind,
        polls_left: state.world.settings.lro_polls,
        failure,
        status: "InProgress".into(),
        start: iso_now(),
        end: None,
    };
    state.operations.insert(id.clone(), op);
    if state.world.settings.lro_polls == 0 {
        finish(state, &id);
    }
    id
}

/// The `Azure-AsyncOperation` URL of an operation.
pub fn async_url(state: &State, op: &str) -> String {
    let o = &state.operations[op];
    format!(
        "{}/subscriptions/{}/providers/{}/locations/{}/operations/{op}?api-version=2024-07-01",
        state.base_url, o.subscription, o.namespace, o.location
    )
}

/// The `Location` URL of an operation (Storage's shape for storage accounts,
/// `operationresults` for resource groups, `operationResults` otherwise).
pub fn location_url(state: &State, op: &str) -> String {
    let o = &state.operations[op];
    match o.namespace.as_str() {
        "Microsoft.Resources" => format!("{}/subscriptions/{}/operationresults/{op}?api-version=2021-04-01", state.base_url, o.subscription),
        "Microsoft.Storage" => format!("{}/subscriptions/{}/providers/Microsoft.Storage/locations/{}/asyncoperations/{op}?monitor=true&api-version=2023-05-01", state.base_url, o.subscription, o.location),
        ns => format!("{}/subscriptions/{}/providers/{ns}/locations/{}/operationResults/{op}?api-version=2024-07-01", state.base_url, o.subscription, o.location),
    }
}

/// Adds the polling headers of `op` to `resp`.
pub fn headers(state: &State, resp: Resp, op: &str, async_op: bool, location: bool) -> Resp {
    let mut resp = resp.header(
        "retry-after",
        state.world.settings.retry_after_secs.to_string(),
    );
    if async_op {
        resp = resp.header("azure-asyncoperation", async_url(state, op));
    }
    if location {
        resp = resp.header("location", location_url(state, op));
    }
    resp
}

/// Counts a poll of any operation creating `resource_id`.
pub fn touch(state: &mut State, resource_id: &str) {
    let ids: Vec<String> = state
        .operations
        .values()
        .filter(|o| {
            o.status == "InProgress"
                && matches!(&o.kind, OpKind::Put(id) if id.eq_ignore_ascii_case(resource_id))
        })
        .map(|o| o.id.clone())
        .collect();
    for id in ids {
        advance(state, &id);
    }
}

fn advance(state: &mut State, id: &str) {
    let Some(op) = state.operations.get_mut(id) else {
        return;
    };
    if op.status != "InProgress" {
        return;
    }
    op.polls_left = op.polls_left.saturating_sub(1);
    if op.polls_left == 0 {
        finish(state, id);
    }
}

fn set_state(state: &mut State, id: &str, value: &str) {
    if let Some(r) = state.resources.get_mut(&id.to_ascii_lowercase()) {
        if r.body.get("properties").is_none() {
            r.body["properties"] = json!({});
        }
        r.body["properties"]["provisioningState"] = Value::String(value.to_string());
    }
}

fn finish(state: &mut State, id: &str) {
    let Some(op) = state.operations.get(id).cloned() else {
        return;
    };
    let failed = op.failure.is_some();
    match &op.kind {
        OpKind::Put(rid) => {
            if failed {
                set_state(state, rid, "Failed");
            } else {
                set_state(state, rid, "Succeeded");
                super::network::on_created(state, rid);
            }
        }
        OpKind::Delete(ids) => {
            for rid in ids {
                if failed {
                    set_state(state, rid, "Succeeded");
                } else {
                    state.resources.remove(&rid.to_ascii_lowercase());
                }
            }
        }
        OpKind::Power { vm, to } => {
            let key = vm.to_ascii_lowercase();
            if failed || to == "running" {
                state.vm_power.remove(&key);
            } else {
                state.vm_power.insert(key, to.clone());
            }
        }
    }
    let op = state.operations.get_mut(id).expect("present");
    op.status = if failed {
        "Failed".into()
    } else {
        "Succeeded".into()
    };
    op.end = Some(iso_now());
}

/// GET of an operation URL.
pub fn poll(state: &mut State, id: &str, req: &Req) -> Resp {
    if !state.operations.contains_key(id) {
        return arm_error(
            404,
            "OperationNotFound",
            &format!("The operation '{id}' could not be found."),
        );
    }
    advance(state, id);
    let op = state.operations[id].clone();
    let status_style = req.path.to_ascii_lowercase().contains("/operations/");
    if status_style {
        let mut body =
            json!({ "id": req.path, "name": op.id, "status": op.status, "startTime": op.start });
        if let Some(end) = &op.end {
            body["endTime"] = Value::String(end.clone());
        }
        if let Some((code, message)) = &op.failure {
            if op.status == "Failed" {
                body["error"] = json!({ "code": code, "message": message });
            }
        }
        let resp = Resp::json(200, &body);
        // Only a poll that is still running tells the client when to ask again.
        return if op.status == "InProgress" {
            resp.header(
                "retry-after",
                state.world.settings.retry_after_secs.to_string(),
            )
        } else {
            resp
        };
    }
    match op.status.as_str() {
        "InProgress" => headers(state, Resp::new(202), id, false, true),
        "Failed" => {
            let (code, message) = op.failure.unwrap_or_default();
            arm_error(400, &code, &message)
        }
        _ => match &op.kind {
            OpKind::Put(rid) => match state.resource(rid) {
                Some(r) => Resp::json(200, &r.body),
                None => Resp::new(204),
            },
            OpKind::Delete(_) | OpKind::Power { .. } => Resp::new(200),
        },
    }
}
