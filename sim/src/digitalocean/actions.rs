//! Actions: every change to a Droplet (its creation, power, resize) or to a
//! reserved IP (its assignment) is an action that starts `in-progress` and
//! completes later, and the Droplet or address changes only then. An action
//! completes after the seed's `action_polls` reads of it or of its Droplet or
//! reserved IP (reads, not time, as ARM operations here finish after
//! `lro_polls` polls), so scenarios are fast and deterministic.

use serde_json::{json, Value};

use super::store::Action;
use super::{body, catalog, collection, not_found, paginate, timestamp, unprocessable};
use crate::http::{Req, Resp};
use crate::state::State;

/// The action types the emulator carries out.
const TYPES: &[&str] = &[
    "power_on",
    "power_off",
    "shutdown",
    "reboot",
    "power_cycle",
    "resize",
];

/// Starts an action on a Droplet; returns its id. It completes on a later
/// read, or at [`settle`] when the world's `action_polls` is 0.
pub fn start(state: &mut State, droplet: u64, kind: &str, size: Option<String>, disk: bool) -> u64 {
    let polls = state.world.digitalocean.action_polls;
    let live = &mut state.digitalocean;
    let (team, region) = match live.droplets.get(&droplet) {
        Some(d) => (d.team.clone(), d.region.clone()),
        None => (String::new(), String::new()),
    };
    let id = live.action_id();
    live.actions.insert(
        id,
        Action {
            id,
            team,
            kind: kind.to_string(),
            droplet,
            region,
            status: "in-progress".into(),
            started_at: timestamp(),
            completed_at: None,
            polls_left: polls,
            size,
            disk,
            ip: None,
            target: None,
        },
    );
    id
}

/// Starts an action on a reserved IP (`reserve_ip`, `assign_ip` with the
/// Droplet it moves to, or `unassign_ip`); returns its id. A reservation is
/// done as it is made, as DigitalOcean's `reserve_ip` actions are.
pub fn start_ip(state: &mut State, ip: &str, kind: &str, target: Option<u64>) -> u64 {
    let polls = state.world.digitalocean.action_polls;
    let live = &mut state.digitalocean;
    let (team, region) = match live.reserved_ips.get(ip) {
        Some(r) => (r.team.clone(), r.region.clone()),
        None => (String::new(), String::new()),
    };
    let id = live.action_id();
    let done = kind == "reserve_ip";
    let at = timestamp();
    live.actions.insert(
        id,
        Action {
            id,
            team,
            kind: kind.to_string(),
            droplet: 0,
            region,
            status: if done { "completed" } else { "in-progress" }.into(),
            started_at: at.clone(),
            completed_at: done.then_some(at),
            polls_left: if done { 0 } else { polls },
            size: None,
            disk: false,
            ip: Some(ip.to_string()),
            target,
        },
    );
    id
}

/// Completes an action that needs no reads (`action_polls = 0`). Called after
/// the response announcing it is built, so that response still shows it
/// `in-progress`, as DigitalOcean's always does.
pub fn settle(state: &mut State, id: u64) {
    if state
        .digitalocean
        .actions
        .get(&id)
        .is_some_and(|a| a.status == "in-progress" && a.polls_left == 0)
    {
        finish(state, id);
    }
}

/// Counts one read of an action.
fn advance(state: &mut State, id: u64) {
    let Some(a) = state.digitalocean.actions.get_mut(&id) else {
        return;
    };
    if a.status != "in-progress" {
        return;
    }
    a.polls_left = a.polls_left.saturating_sub(1);
    if a.polls_left == 0 {
        finish(state, id);
    }
}

/// Counts one read of a Droplet against the action it is busy with.
pub fn touch(state: &mut State, droplet: u64) {
    if let Some(id) = state.digitalocean.pending(droplet) {
        advance(state, id);
    }
}

/// Counts one read of a reserved IP against the action it is busy with.
pub fn touch_ip(state: &mut State, ip: &str) {
    if let Some(id) = state.digitalocean.pending_ip(ip) {
        advance(state, id);
    }
}

/// Completes an action and applies it to its Droplet.
fn finish(state: &mut State, id: u64) {
    let Some(a) = state.digitalocean.actions.get(&id).cloned() else {
        return;
    };
    let live = &mut state.digitalocean;
    if let Some(ip) = &a.ip {
        // The address follows the action; an assign whose Droplet was
        // destroyed meanwhile was already ended `errored` by `abandon`.
        if let Some(r) = live.reserved_ips.get_mut(ip) {
            match a.kind.as_str() {
                "assign_ip" => r.droplet = a.target,
                "unassign_ip" => r.droplet = None,
                _ => {}
            }
        }
        if let Some(a) = live.actions.get_mut(&id) {
            a.status = "completed".into();
            a.completed_at = Some(timestamp());
            a.polls_left = 0;
        }
        return;
    }
    let host = live.droplets.get(&a.droplet).and_then(|d| d.host);
    let host = match (a.kind.as_str(), host) {
        ("create", None) => Some(live.host()),
        (_, h) => h,
    };
    if let Some(d) = live.droplets.get_mut(&a.droplet) {
        match a.kind.as_str() {
            "create" => {
                d.status = "active".into();
                d.host = host;
            }
            "power_off" | "shutdown" => d.status = "off".into(),
            "power_on" | "reboot" | "power_cycle" => d.status = "active".into(),
            "resize" => {
                if let Some(size) = a.size.as_deref().and_then(catalog::size_of) {
                    d.size = size.slug.to_string();
                    if a.disk {
                        d.disk = size.disk;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(a) = live.actions.get_mut(&id) {
        a.status = "completed".into();
        a.completed_at = Some(timestamp());
        a.polls_left = 0;
    }
}

/// The URL of an action, as `links.actions[].href` gives it.
pub fn href(state: &State, id: u64) -> String {
    format!("{}/v2/actions/{id}", state.base_url)
}

/// The `resource_id` DigitalOcean gives a reserved IP's actions: the address
/// read as a 32-bit number (178.128.133.144 → 2994767248), since an address
/// has no numeric id of its own.
pub fn ip_number(ip: &str) -> u64 {
    ip.parse::<std::net::Ipv4Addr>()
        .map_or(0, |a| u64::from(u32::from(a)))
}

pub fn render(a: &Action) -> Value {
    let region = catalog::region_of(&a.region)
        .map(catalog::region_json)
        .unwrap_or(Value::Null);
    let (resource_id, resource_type) = match &a.ip {
        Some(ip) => (ip_number(ip), "reserved_ip"),
        None => (a.droplet, "droplet"),
    };
    json!({
        "id": a.id,
        "status": a.status,
        "type": a.kind,
        "started_at": a.started_at,
        "completed_at": a.completed_at,
        "resource_id": resource_id,
        "resource_type": resource_type,
        "region": region,
        "region_slug": a.region,
    })
}

/// `POST /v2/droplets/{id}/actions`.
pub fn post(state: &mut State, team: &str, droplet: u64, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(d) = state.digitalocean.droplet(team, droplet).cloned() else {
        return not_found();
    };
    let kind = b["type"].as_str().unwrap_or_default();
    if !TYPES.contains(&kind) {
        return unprocessable(&format!(
            "`{kind}` is not an action type the emulator carries out (it does {})",
            TYPES.join(", ")
        ));
    }
    // One event at a time per Droplet, a create included.
    if state.digitalocean.pending(droplet).is_some() {
        return unprocessable("Droplet already has a pending event.");
    }
    let mut size = None;
    let disk = b["disk"].as_bool().unwrap_or(false);
    match kind {
        "power_off" | "shutdown" if d.status == "off" => {
            return unprocessable("The droplet is already off.")
        }
        "resize" => {
            let Some(new) = b["size"].as_str().and_then(catalog::size_of) else {
                return unprocessable("You specified an invalid size for Droplet creation.");
            };
            if new.slug == d.size {
                return unprocessable("The droplet is already set to this size.");
            }
            if !catalog::region_of(&d.region).is_some_and(|r| new.offered_in(r)) {
                return unprocessable("Size is not available in this region.");
            }
            // The disk never shrinks: a Droplet whose disk grew cannot go
            // back to a plan with a smaller one.
            if new.disk < d.disk {
                return unprocessable(&format!(
                    "The size {} has a {} GB disk, smaller than this Droplet's {} GB; a disk cannot shrink.",
                    new.slug, new.disk, d.disk
                ));
            }
            if d.status != "off" {
                return unprocessable(
                    "Droplet is currently on. Please power it off to run this event.",
                );
            }
            size = Some(new.slug.to_string());
        }
        _ => {}
    }
    let id = start(state, droplet, kind, size, disk);
    let out = render(&state.digitalocean.actions[&id]);
    settle(state, id);
    Resp::json(201, &json!({ "action": out }))
}

/// `GET /v2/actions/{id}` (or under its Droplet): a read, which moves it on.
pub fn get(state: &mut State, team: &str, droplet: Option<u64>, id: u64) -> Resp {
    let found = state
        .digitalocean
        .actions
        .get(&id)
        .is_some_and(|a| a.team == team && droplet.is_none_or(|d| a.droplet == d));
    if !found {
        return not_found();
    }
    advance(state, id);
    Resp::json(
        200,
        &json!({ "action": render(&state.digitalocean.actions[&id]) }),
    )
}

/// A page of actions, each counted as read.
pub fn listing(state: &mut State, req: &Req, ids: Vec<u64>) -> Resp {
    let (shown, links, total) = paginate(state, req, ids);
    for id in &shown {
        advance(state, *id);
    }
    let items = shown
        .iter()
        .map(|id| render(&state.digitalocean.actions[id]))
        .collect();
    collection("actions", items, links, total)
}

/// `GET /v2/actions`: the team's actions, newest first.
pub fn list(state: &mut State, team: &str, req: &Req) -> Resp {
    let ids: Vec<u64> = state
        .digitalocean
        .actions
        .values()
        .rev()
        .filter(|a| a.team == team)
        .map(|a| a.id)
        .collect();
    listing(state, req, ids)
}

/// `GET /v2/droplets/{id}/actions`.
pub fn list_for(state: &mut State, team: &str, droplet: u64, req: &Req) -> Resp {
    if state.digitalocean.droplet(team, droplet).is_none() {
        return not_found();
    }
    let ids: Vec<u64> = state
        .digitalocean
        .actions
        .values()
        .rev()
        .filter(|a| a.droplet == droplet)
        .map(|a| a.id)
        .collect();
    listing(state, req, ids)
}

/// Ends a deleted Droplet's unfinished action, and an unfinished assign of a
/// reserved IP to it: they can no longer complete.
pub fn abandon(state: &mut State, droplet: u64) {
    for a in state.digitalocean.actions.values_mut() {
        let on_it = a.droplet == droplet || a.target == Some(droplet);
        if on_it && a.status == "in-progress" {
            a.status = "errored".into();
            a.completed_at = Some(timestamp());
        }
    }
}
