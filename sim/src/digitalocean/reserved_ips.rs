//! Reserved IPs (`/v2/reserved_ips`): public IPv4 addresses a team holds in
//! a region and points at one of its Droplets there. An address is reserved
//! to a region, or reserved and assigned to a Droplet at once (202 either
//! way); listed, read and deleted (204); and assigned or unassigned by
//! actions (201) that complete after the world's `action_polls` reads, as a
//! Droplet's do (`actions::start_ip`). Each reservation also leaves a
//! completed `reserve_ip` action, as DigitalOcean's do.
//!
//! What DigitalOcean refuses is refused here with its 422 wording where it
//! is known: a Droplet and a region together, an action while another is
//! pending on the address (`The reserved IP already has a pending event.`,
//! which a delete gets too), an assign to a Droplet busy with an event.
//! The team's limit (`Team::reserved_ip_limit`, three unless the world says
//! otherwise), one address per Droplet, the same region for both, and an
//! unassign of an unassigned address are refused as well.
//!
//! Deleting an assigned address unassigns it and removes it at once, as
//! DigitalOcean's documentation says deleting does; destroying its Droplet
//! leaves it reserved and unassigned (`droplets::destroy`). The addresses
//! are handed out from 192.0.2.0/24 (TEST-NET-1), which nothing else in the
//! emulator uses.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::store::{Live, ReservedIp};
use super::{actions, body, catalog, collection, droplets, not_found, paginate, unprocessable};
use crate::http::{Req, Resp};
use crate::state::State;

/// The gateway of the reserved IPs' network, as a Droplet's networks list it.
pub const GATEWAY: &str = "192.0.2.1";
/// The host numbers handed out, in 192.0.2.0/24: the low ones are left to
/// the gateway and to the literal addresses tests write by hand.
const HOSTS: std::ops::RangeInclusive<u32> = 10..=254;

/// What DigitalOcean answers to a create naming both.
const BOTH: &str = "Cannot specify Droplet and region, they are mutually exclusive.";
/// And to an action, or a delete, while an action is pending on the address.
const BUSY: &str = "The reserved IP already has a pending event.";
/// And to an assign to a Droplet with a pending event of its own.
const DROPLET_BUSY: &str = "Droplet already has a pending event.";
const TAKEN: &str = "Droplet is already assigned to another reserved IP.";
const UNASSIGNED: &str = "The reserved IP is not assigned to a Droplet.";

/// Where a create puts the new address.
#[derive(Debug, PartialEq)]
pub enum Target {
    Droplet(u64),
    Region(String),
}

/// Reads a create's body: a Droplet or a region, not both. An empty region
/// beside a Droplet is tolerated, as DigitalOcean tolerates the `""` some
/// clients send.
pub fn target(b: &Value) -> Result<Target, &'static str> {
    let region = b["region"].as_str().filter(|r| !r.is_empty());
    match (&b["droplet_id"], region) {
        (Value::Null, None) => Err("droplet_id or region is required"),
        (Value::Null, Some(r)) => Ok(Target::Region(r.to_string())),
        (_, Some(_)) => Err(BOTH),
        (d, None) => d
            .as_u64()
            .map(Target::Droplet)
            .ok_or("droplet_id must be an integer"),
    }
}

/// The next free address from `next` on, wrapping within `HOSTS`: addresses
/// deleted are handed out again only after the rest of the range, and none
/// held by any team is given twice. Returns it and the counter's new value.
pub fn allocate(live: &Live, next: u32) -> Option<(String, u32)> {
    let span = HOSTS.end() - HOSTS.start() + 1;
    (0..span).find_map(|i| {
        let host = HOSTS.start() + (next + i) % span;
        let ip = Ipv4Addr::new(192, 0, 2, host as u8).to_string();
        (!live.reserved_ips.contains_key(&ip)).then(|| (ip, (next + i + 1) % span))
    })
}

/// The team's default project, which DigitalOcean puts new reserved IPs in:
/// the same uuid every time for the same team.
pub fn default_project(team: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("digitalocean/{team}/project/default").as_bytes(),
    )
    .to_string()
}

/// The reserved IP object: its region, the whole Droplet it is assigned to
/// (or `null`), and `locked` while an action on it is pending.
pub fn render(live: &Live, r: &ReservedIp) -> Value {
    let droplet = r
        .droplet
        .and_then(|id| live.droplets.get(&id))
        .map_or(Value::Null, |d| droplets::render(live, d));
    json!({
        "ip": r.ip,
        "region": catalog::region_of(&r.region).map(catalog::region_json),
        "droplet": droplet,
        "locked": live.pending_ip(&r.ip).is_some(),
        "project_id": r.project_id,
    })
}

/// Checks that `droplet` can take `ip` (in `region`): the team's, in the
/// same region, not busy, and not holding another address.
fn assignable(
    live: &Live,
    team: &str,
    droplet: u64,
    region: &str,
    ip: Option<&str>,
) -> Result<(), Resp> {
    let Some(d) = live.droplet(team, droplet) else {
        return Err(unprocessable(&format!(
            "Droplet {droplet} could not be found."
        )));
    };
    if d.region != region {
        return Err(unprocessable(&format!(
            "The reserved IP is in {region} and Droplet {droplet} in {}; a reserved IP can be assigned only to a Droplet in its own region.",
            d.region
        )));
    }
    // The create action counts: a Droplet is assigned an address only once
    // it is up, and clients wait for its events to end first.
    if live.pending(droplet).is_some() {
        return Err(unprocessable(DROPLET_BUSY));
    }
    let other = live
        .reserved_ips
        .values()
        .any(|r| r.droplet == Some(droplet) && Some(r.ip.as_str()) != ip);
    let coming = live
        .actions
        .values()
        .any(|a| a.status == "in-progress" && a.target == Some(droplet) && a.ip.as_deref() != ip);
    if other || coming {
        return Err(unprocessable(TAKEN));
    }
    Ok(())
}

/// `POST /v2/reserved_ips`: 202, the address (`droplet` still `null` while
/// an assign is pending) and, for a Droplet, links to it and to the assign.
pub fn create(state: &mut State, team: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let target = match target(&b) {
        Ok(t) => t,
        Err(message) => return unprocessable(message),
    };
    let live = &state.digitalocean;
    let region = match &target {
        Target::Region(slug) => match catalog::region_of(slug).filter(|r| r.available) {
            Some(r) => r.slug.to_string(),
            None => {
                return unprocessable(&format!(
                    "You specified an invalid region for reserved IP creation: {slug}."
                ))
            }
        },
        Target::Droplet(d) => match live.droplet(team, *d) {
            Some(droplet) => droplet.region.clone(),
            None => return unprocessable(&format!("Droplet {d} could not be found.")),
        },
    };
    if let Target::Droplet(d) = target {
        if let Err(resp) = assignable(live, team, d, &region, None) {
            return resp;
        }
    }
    let limit = state
        .world
        .digitalocean
        .team(team)
        .map_or(0, |t| t.reserved_ip_limit) as usize;
    let held = live
        .reserved_ips
        .values()
        .filter(|r| r.team == team)
        .count();
    if held >= limit {
        return unprocessable(&format!(
            "You have reached your limit of {limit} reserved IPs; delete one or ask for a higher limit."
        ));
    }
    let Some((ip, next)) = allocate(live, state.digitalocean.next_reserved) else {
        return unprocessable("There are no reserved IPs left to hand out in this region.");
    };
    let live = &mut state.digitalocean;
    live.next_reserved = next;
    live.reserved_ips.insert(
        ip.clone(),
        ReservedIp {
            ip: ip.clone(),
            team: team.to_string(),
            region,
            droplet: None,
            project_id: default_project(team),
        },
    );
    actions::start_ip(state, &ip, "reserve_ip", None);
    let (links, assign) = match target {
        Target::Droplet(d) => {
            let a = actions::start_ip(state, &ip, "assign_ip", Some(d));
            let droplet = format!("{}/v2/droplets/{d}", state.base_url);
            let links = json!({
                "droplets": [{ "id": d, "rel": "droplet", "href": droplet }],
                "actions": [{ "id": a, "rel": "assign_ip", "href": actions::href(state, a) }],
            });
            (links, Some(a))
        }
        Target::Region(_) => (json!({}), None),
    };
    let out = render(&state.digitalocean, &state.digitalocean.reserved_ips[&ip]);
    if let Some(a) = assign {
        actions::settle(state, a);
    }
    Resp::json(202, &json!({ "reserved_ip": out, "links": links }))
}

/// `GET /v2/reserved_ips`: the team's addresses in address order, each
/// counted as read.
pub fn list(state: &mut State, team: &str, req: &Req) -> Resp {
    let mut ips: Vec<String> = state
        .digitalocean
        .reserved_ips
        .values()
        .filter(|r| r.team == team)
        .map(|r| r.ip.clone())
        .collect();
    ips.sort_by_key(|ip| actions::ip_number(ip));
    let (shown, links, total) = paginate(state, req, ips);
    for ip in &shown {
        actions::touch_ip(state, ip);
    }
    let live = &state.digitalocean;
    let items = shown
        .iter()
        .map(|ip| render(live, &live.reserved_ips[ip]))
        .collect();
    collection("reserved_ips", items, links, total)
}

/// `GET /v2/reserved_ips/{ip}`: a read, which moves its pending action on.
pub fn get(state: &mut State, team: &str, ip: &str) -> Resp {
    if state.digitalocean.reserved_ip(team, ip).is_none() {
        return not_found();
    }
    actions::touch_ip(state, ip);
    let live = &state.digitalocean;
    Resp::json(
        200,
        &json!({ "reserved_ip": render(live, &live.reserved_ips[ip]) }),
    )
}

/// `DELETE /v2/reserved_ips/{ip}`: 204; an assigned address is unassigned
/// and released with it. Refused while an action on it is pending.
pub fn delete(state: &mut State, team: &str, ip: &str) -> Resp {
    if state.digitalocean.reserved_ip(team, ip).is_none() {
        return not_found();
    }
    if state.digitalocean.pending_ip(ip).is_some() {
        return unprocessable(BUSY);
    }
    state.digitalocean.reserved_ips.remove(ip);
    Resp::new(204)
}

/// `POST /v2/reserved_ips/{ip}/actions`: `assign` (with `droplet_id`, which
/// may move the address from another Droplet) or `unassign`; 201 and the
/// action, `in-progress`.
pub fn act(state: &mut State, team: &str, ip: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(r) = state.digitalocean.reserved_ip(team, ip).cloned() else {
        return not_found();
    };
    let kind = b["type"].as_str().unwrap_or_default();
    if kind != "assign" && kind != "unassign" {
        return unprocessable(&format!(
            "`{kind}` is not a reserved IP action type (assign or unassign)"
        ));
    }
    if state.digitalocean.pending_ip(ip).is_some() {
        return unprocessable(BUSY);
    }
    let id = if kind == "assign" {
        let Some(d) = b["droplet_id"].as_u64() else {
            return unprocessable("droplet_id is required to assign a reserved IP");
        };
        if let Err(resp) = assignable(&state.digitalocean, team, d, &r.region, Some(ip)) {
            return resp;
        }
        actions::start_ip(state, ip, "assign_ip", Some(d))
    } else {
        if r.droplet.is_none() {
            return unprocessable(UNASSIGNED);
        }
        actions::start_ip(state, ip, "unassign_ip", None)
    };
    let out = actions::render(&state.digitalocean.actions[&id]);
    actions::settle(state, id);
    Resp::json(201, &json!({ "action": out }))
}

/// The ids of the actions on a reserved IP of the team, newest first.
fn actions_of(live: &Live, team: &str, ip: &str) -> Vec<u64> {
    live.actions
        .values()
        .rev()
        .filter(|a| a.team == team && a.ip.as_deref() == Some(ip))
        .map(|a| a.id)
        .collect()
}

/// `GET /v2/reserved_ips/{ip}/actions`.
pub fn list_actions(state: &mut State, team: &str, ip: &str, req: &Req) -> Resp {
    if state.digitalocean.reserved_ip(team, ip).is_none() {
        return not_found();
    }
    let ids = actions_of(&state.digitalocean, team, ip);
    actions::listing(state, req, ids)
}

/// `GET /v2/reserved_ips/{ip}/actions/{id}`: one of its actions, a read.
pub fn get_action(state: &mut State, team: &str, ip: &str, id: u64) -> Resp {
    if state.digitalocean.reserved_ip(team, ip).is_none()
        || !actions_of(&state.digitalocean, team, ip).contains(&id)
    {
        return not_found();
    }
    actions::get(state, team, None, id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{allocate, target, Target, BOTH};
    use crate::digitalocean::actions::ip_number;
    use crate::digitalocean::store::{Live, ReservedIp};
    use crate::digitalocean::Team;

    #[test]
    fn a_create_names_a_droplet_or_a_region_never_both() {
        assert_eq!(target(&json!({ "droplet_id": 7 })), Ok(Target::Droplet(7)));
        assert_eq!(
            target(&json!({ "region": "nyc3" })),
            Ok(Target::Region("nyc3".into()))
        );
        assert_eq!(
            target(&json!({ "droplet_id": 7, "region": "" })),
            Ok(Target::Droplet(7)),
            "an empty region beside a Droplet is tolerated"
        );
        assert_eq!(
            target(&json!({ "droplet_id": 7, "region": "nyc3" })),
            Err(BOTH)
        );
        assert!(target(&json!({})).is_err());
        assert!(target(&json!({ "droplet_id": "seven" })).is_err());
    }

    #[test]
    fn addresses_come_from_test_net_1_skipping_those_held() {
        let mut live = Live::default();
        let (first, next) = allocate(&live, 0).unwrap();
        assert_eq!(first, "192.0.2.10");
        live.reserved_ips.insert(
            "192.0.2.11".into(),
            ReservedIp {
                ip: "192.0.2.11".into(),
                team: "t".into(),
                region: "nyc3".into(),
                droplet: None,
                project_id: String::new(),
            },
        );
        assert_eq!(allocate(&live, next).unwrap().0, "192.0.2.12");
        // The counter wraps from .254 back to .10.
        assert_eq!(allocate(&live, 244).unwrap(), ("192.0.2.254".into(), 0));
        assert_eq!(allocate(&live, 245).unwrap().0, "192.0.2.10");
    }

    #[test]
    fn worlds_and_snapshots_from_before_reserved_ips_still_load() {
        let mut old = serde_json::to_value(Live::default()).unwrap();
        for field in ["firewalls", "reserved_ips", "tags", "next_reserved"] {
            old.as_object_mut().unwrap().remove(field);
        }
        old["actions"] = json!({ "7": { "id": 7, "team": "t", "kind": "create", "droplet": 9,
            "region": "nyc3", "status": "completed", "started_at": "2024-01-01T00:00:00Z",
            "completed_at": null, "polls_left": 0, "size": null, "disk": false } });
        let live: Live = serde_json::from_value(old).unwrap();
        assert!(live.firewalls.is_empty() && live.reserved_ips.is_empty());
        assert_eq!(live.actions[&7].ip, None, "an old action is a Droplet's");

        let team = json!({ "name": "Old", "email": "old@example.com", "tokens": ["t"] });
        let t: Team = serde_json::from_value(team.clone()).unwrap();
        assert_eq!(t.reserved_ip_limit, 3, "DigitalOcean's default");
        let mut typo = team;
        typo["reserved_ips_limit"] = json!(5);
        assert!(
            serde_json::from_value::<Team>(typo).is_err(),
            "unknown fields are still refused"
        );
    }

    #[test]
    fn an_actions_resource_id_is_the_address_as_a_number() {
        assert_eq!(ip_number("178.128.133.144"), 2_994_767_248);
        assert_eq!(ip_number("192.0.2.10"), 3_221_225_994);
        assert_eq!(ip_number("not an address"), 0);
    }
}
