//! Cloud firewalls (`/v2/firewalls`): a team's named sets of inbound and
//! outbound rules, applied to Droplets named by id or by tag. Created (202),
//! listed, read, replaced whole by PUT, deleted, and given or relieved of
//! Droplets, tags and rules (204); `GET /v2/droplets/{id}/firewalls` lists
//! those applying to one Droplet. A change is `waiting` — its Droplets listed
//! in `pending_changes` — for the world's `action_polls` reads of the
//! firewall, then `succeeded`, as an action completes after that many reads.
//!
//! Requests are checked as DigitalOcean checks them: the name's pattern, a
//! unique name per team (409 `duplicate name`), at least one rule, `tcp`,
//! `udp` or `icmp`, ports given as one port, a range or `0`/`all` (kept as
//! `"0"`; an ICMP rule's ports are always `"0"`), addresses that are IPs or
//! CIDRs (`invalid address`), and tags that exist (`tag X does not exist`):
//! a tag exists once `POST /v2/tags` made it or a Droplet was created with
//! it, and a Droplet it is put on (`tags.rs`) is covered from then on.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::store::{Firewall, Live};
use super::{body, collection, droplets, error, not_found, paginate, timestamp, unprocessable};
use crate::http::{Req, Resp};
use crate::state::State;

/// DigitalOcean's limits per firewall: more Droplets than this are to be put
/// behind it by tag instead.
const MAX_DROPLETS: usize = 10;
const MAX_TAGS: usize = 5;

/// The pattern DigitalOcean documents for a firewall name
/// (`^[a-zA-Z0-9][a-zA-Z0-9\.-]+$`): a letter or digit, then at least one
/// more letter, digit, period or dash — so no underscores and no spaces.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// What DigitalOcean answers to a TCP or UDP rule without ports.
const NO_PORTS: &str = "You must specify a positive value for ports.";
/// And to ports that are neither a port, a range nor all of them.
const BAD_PORTS: &str = "You must specify a valid range for ports.";

/// A rule's `ports` as the API keeps them: `"0"` for all ports (asked as
/// `"0"` or `"all"`) and for every ICMP rule, which has no ports; otherwise
/// one port or a range `low-high`, each 1–65535.
pub fn ports(protocol: &str, given: Option<&Value>) -> Result<String, &'static str> {
    if protocol == "icmp" {
        return Ok("0".into());
    }
    let text = match given {
        None | Some(Value::Null) => return Err(NO_PORTS),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(BAD_PORTS),
    };
    if text.is_empty() {
        return Err(NO_PORTS);
    }
    if text == "0" || text.eq_ignore_ascii_case("all") {
        return Ok("0".into());
    }
    let port = |p: &str| {
        p.parse::<u32>()
            .ok()
            .filter(|n| (1..=65535).contains(n) && p.chars().all(|c| c.is_ascii_digit()))
    };
    match text.split_once('-') {
        None => port(text).map(|p| p.to_string()).ok_or(BAD_PORTS),
        Some((low, high)) => match (port(low), port(high)) {
            (Some(l), Some(h)) if l <= h => Ok(format!("{l}-{h}")),
            _ => Err(BAD_PORTS),
        },
    }
}

/// An IPv4 or IPv6 address, or a CIDR block of either.
pub fn valid_address(a: &str) -> bool {
    match a.split_once('/') {
        None => a.parse::<IpAddr>().is_ok(),
        Some((ip, bits)) => {
            let max = match ip.parse::<IpAddr>() {
                Ok(IpAddr::V4(_)) => 32,
                Ok(IpAddr::V6(_)) => 128,
                Err(_) => return false,
            };
            bits.parse::<u32>()
                .is_ok_and(|b| b <= max && bits.chars().all(|c| c.is_ascii_digit()))
        }
    }
}

/// The strings of a list field (`null` or absent is empty), or a 422.
fn strings(v: &Value, field: &str) -> Result<Vec<String>, Resp> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| unprocessable(&format!("{field} must be an array of strings")))
            })
            .collect(),
        _ => Err(unprocessable(&format!(
            "{field} must be an array of strings"
        ))),
    }
}

/// The ids of a `droplet_ids` field, each a Droplet of the team, without repeats.
fn droplet_ids(live: &Live, team: &str, v: &Value) -> Result<Vec<u64>, Resp> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(unprocessable("droplet_ids must be an array of integers")),
    };
    let mut ids = Vec::new();
    for i in items {
        let Some(id) = i.as_u64() else {
            return Err(unprocessable("droplet_ids must be an array of integers"));
        };
        if live.droplet(team, id).is_none() {
            return Err(unprocessable(&format!("droplet {id} does not exist")));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The names of a `tags` field, each a tag the team has, without repeats.
fn tags(live: &Live, team: &str, v: &Value) -> Result<Vec<String>, Resp> {
    let mut out: Vec<String> = Vec::new();
    for t in strings(v, "tags")? {
        if !droplets::valid_tag(&t) || !live.tag_exists(team, &t) {
            return Err(unprocessable(&format!("tag {t} does not exist")));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// A rule's `sources` (or `destinations`) as the API answers them: only the
/// kinds of target given, at least one target in all. The emulator has no
/// load balancers or Kubernetes clusters, so none of their ids exists.
fn targets(live: &Live, team: &str, v: &Value, key: &str) -> Result<Value, Resp> {
    if !(v.is_object() || v.is_null()) {
        return Err(unprocessable(&format!("{key} must be an object")));
    }
    let mut out = Map::new();
    let addresses = strings(&v["addresses"], "addresses")?;
    if addresses.iter().any(|a| !valid_address(a)) {
        return Err(unprocessable("invalid address"));
    }
    if !addresses.is_empty() {
        out.insert("addresses".into(), json!(addresses));
    }
    let ids = droplet_ids(live, team, &v["droplet_ids"])?;
    if !ids.is_empty() {
        out.insert("droplet_ids".into(), json!(ids));
    }
    for (field, what) in [
        ("load_balancer_uids", "load balancer"),
        ("kubernetes_ids", "Kubernetes cluster"),
    ] {
        if let Some(id) = strings(&v[field], field)?.first() {
            return Err(unprocessable(&format!("{what} {id} does not exist")));
        }
    }
    let names = tags(live, team, &v["tags"])?;
    if !names.is_empty() {
        out.insert("tags".into(), json!(names));
    }
    if out.is_empty() {
        return Err(unprocessable(&format!(
            "a rule's {key} must name at least one address, Droplet or tag"
        )));
    }
    Ok(Value::Object(out))
}

/// One inbound or outbound rule, checked and put in the API's form.
fn rule(live: &Live, team: &str, r: &Value, inbound: bool) -> Result<Value, Resp> {
    let key = if inbound { "sources" } else { "destinations" };
    let protocol = r["protocol"].as_str().unwrap_or_default();
    if !["tcp", "udp", "icmp"].contains(&protocol) {
        return Err(unprocessable(&format!(
            "protocol `{protocol}` is not one of tcp, udp or icmp"
        )));
    }
    let ports = ports(protocol, r.get("ports")).map_err(unprocessable)?;
    let to = targets(live, team, &r[key], key)?;
    Ok(json!({ "protocol": protocol, "ports": ports, key: to }))
}

/// The rules of an `inbound_rules` or `outbound_rules` field.
fn rules(live: &Live, team: &str, v: &Value, inbound: bool) -> Result<Vec<Value>, Resp> {
    let field = if inbound {
        "inbound_rules"
    } else {
        "outbound_rules"
    };
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(|r| rule(live, team, r, inbound)).collect(),
        _ => Err(unprocessable(&format!("{field} must be an array"))),
    }
}

/// What a create or a PUT sets: everything but the id and the creation time.
struct Spec {
    name: String,
    inbound: Vec<Value>,
    outbound: Vec<Value>,
    droplet_ids: Vec<u64>,
    tags: Vec<String>,
}

/// Reads a create's or PUT's body. A PUT is a full replacement, so what it
/// leaves out is emptied, as DigitalOcean resets absent attributes.
fn spec(live: &Live, team: &str, b: &Value, except: Option<&str>) -> Result<Spec, Resp> {
    let Some(name) = b["name"].as_str().filter(|n| !n.is_empty()) else {
        return Err(unprocessable("name is required"));
    };
    let name = name.to_string();
    if !valid_name(&name) {
        return Err(unprocessable(
            "name must begin with a letter or digit, followed by letters, digits, periods (.) or dashes (-)",
        ));
    }
    let inbound = rules(live, team, &b["inbound_rules"], true)?;
    let outbound = rules(live, team, &b["outbound_rules"], false)?;
    if inbound.is_empty() && outbound.is_empty() {
        return Err(unprocessable(
            "a firewall must have at least one inbound or outbound rule",
        ));
    }
    let droplet_ids = droplet_ids(live, team, &b["droplet_ids"])?;
    let tags = tags(live, team, &b["tags"])?;
    limits(droplet_ids.len(), tags.len())?;
    let taken = live
        .firewalls
        .values()
        .any(|f| f.team == team && f.name == name && Some(f.id.as_str()) != except);
    if taken {
        return Err(error(409, "conflict", "duplicate name"));
    }
    Ok(Spec {
        name,
        inbound,
        outbound,
        droplet_ids,
        tags,
    })
}

fn limits(droplets: usize, tags: usize) -> Result<(), Resp> {
    if droplets > MAX_DROPLETS {
        return Err(unprocessable(&format!(
            "a firewall can be assigned at most {MAX_DROPLETS} Droplets; tag more Droplets and assign the tag instead"
        )));
    }
    if tags > MAX_TAGS {
        return Err(unprocessable(&format!(
            "a firewall can be assigned at most {MAX_TAGS} tags"
        )));
    }
    Ok(())
}

/// The team's Droplets a firewall applies to: by id, or by one of its tags.
fn covered(live: &Live, f: &Firewall) -> BTreeSet<u64> {
    live.droplets
        .values()
        .filter(|d| d.team == f.team)
        .filter(|d| f.droplet_ids.contains(&d.id) || d.tags.iter().any(|t| f.tags.contains(t)))
        .map(|d| d.id)
        .collect()
}

/// Starts applying a change: the Droplets that were or are covered become
/// its pending changes (those no longer covered being removed), waiting for
/// the world's `action_polls` reads.
fn changed(state: &mut State, id: &str, before: &BTreeSet<u64>, rules_changed: bool) {
    let polls = state.world.digitalocean.action_polls;
    let live = &state.digitalocean;
    let Some(f) = live.firewalls.get(id) else {
        return;
    };
    let after = covered(live, f);
    let mut pending: Vec<(u64, bool)> = after
        .iter()
        .filter(|d| rules_changed || !before.contains(d))
        .map(|d| (*d, false))
        .collect();
    pending.extend(before.difference(&after).map(|d| (*d, true)));
    let f = state
        .digitalocean
        .firewalls
        .get_mut(id)
        .expect("looked up above");
    f.pending = pending;
    f.polls_left = polls;
}

/// Counts one read of a firewall: its change is applied after the last one.
fn advance(live: &mut Live, id: &str) {
    if let Some(f) = live.firewalls.get_mut(id) {
        if f.polls_left > 0 {
            f.polls_left -= 1;
        }
        if f.polls_left == 0 {
            f.pending.clear();
        }
    }
}

/// The firewall object. `fresh` is for the answer to the change itself,
/// which shows it `waiting` even when the world applies changes at once.
pub fn render(f: &Firewall, fresh: bool) -> Value {
    let waiting = fresh || f.polls_left > 0;
    let pending: Vec<Value> = f
        .pending
        .iter()
        .map(|(d, removing)| json!({ "droplet_id": d, "removing": removing, "status": "waiting" }))
        .collect();
    json!({
        "id": f.id,
        "name": f.name,
        "status": if waiting { "waiting" } else { "succeeded" },
        "created_at": f.created_at,
        "pending_changes": pending,
        "inbound_rules": f.inbound_rules,
        "outbound_rules": f.outbound_rules,
        "droplet_ids": f.droplet_ids,
        "tags": f.tags,
    })
}

/// Ends a change that needs no reads, after its answer was rendered.
fn settle(live: &mut Live, id: &str) {
    if live.firewalls.get(id).is_some_and(|f| f.polls_left == 0) {
        advance(live, id);
    }
}

/// `POST /v2/firewalls`: 202 and the firewall, `waiting`.
pub fn create(state: &mut State, team: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let s = match spec(&state.digitalocean, team, &b, None) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let id = uuid::Uuid::new_v4().to_string();
    state.digitalocean.firewalls.insert(
        id.clone(),
        Firewall {
            id: id.clone(),
            team: team.to_string(),
            name: s.name,
            created_at: timestamp(),
            inbound_rules: s.inbound,
            outbound_rules: s.outbound,
            droplet_ids: s.droplet_ids,
            tags: s.tags,
            polls_left: 0,
            pending: Vec::new(),
        },
    );
    changed(state, &id, &BTreeSet::new(), true);
    let out = render(&state.digitalocean.firewalls[&id], true);
    settle(&mut state.digitalocean, &id);
    Resp::json(202, &json!({ "firewall": out }))
}

/// `GET /v2/firewalls/{id}`: a read, which moves its change on.
pub fn get(state: &mut State, team: &str, id: &str) -> Resp {
    if state.digitalocean.firewall(team, id).is_none() {
        return not_found();
    }
    advance(&mut state.digitalocean, id);
    Resp::json(
        200,
        &json!({ "firewall": render(&state.digitalocean.firewalls[id], false) }),
    )
}

/// A page of firewalls, oldest first, each counted as read.
fn page(state: &mut State, req: &Req, mut ids: Vec<String>) -> Resp {
    let live = &state.digitalocean;
    ids.sort_by(|a, b| {
        let (fa, fb) = (&live.firewalls[a], &live.firewalls[b]);
        (&fa.created_at, &fa.name).cmp(&(&fb.created_at, &fb.name))
    });
    let (shown, links, total) = paginate(state, req, ids);
    for id in &shown {
        advance(&mut state.digitalocean, id);
    }
    let items = shown
        .iter()
        .map(|id| render(&state.digitalocean.firewalls[id], false))
        .collect();
    collection("firewalls", items, links, total)
}

/// `GET /v2/firewalls`: the team's firewalls.
pub fn list(state: &mut State, team: &str, req: &Req) -> Resp {
    let ids = state
        .digitalocean
        .firewalls
        .values()
        .filter(|f| f.team == team)
        .map(|f| f.id.clone())
        .collect();
    page(state, req, ids)
}

/// `GET /v2/droplets/{id}/firewalls`: the firewalls applying to a Droplet,
/// by its id or by one of its tags.
pub fn list_for_droplet(state: &mut State, team: &str, droplet: u64, req: &Req) -> Resp {
    let live = &state.digitalocean;
    let Some(d) = live.droplet(team, droplet) else {
        return not_found();
    };
    let ids = live
        .firewalls
        .values()
        .filter(|f| f.team == team)
        .filter(|f| f.droplet_ids.contains(&d.id) || d.tags.iter().any(|t| f.tags.contains(t)))
        .map(|f| f.id.clone())
        .collect();
    page(state, req, ids)
}

/// `PUT /v2/firewalls/{id}`: replaces the name, rules, Droplets and tags.
pub fn update(state: &mut State, team: &str, id: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(f) = state.digitalocean.firewall(team, id) else {
        return not_found();
    };
    let before = covered(&state.digitalocean, f);
    let s = match spec(&state.digitalocean, team, &b, Some(id)) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let f = state
        .digitalocean
        .firewalls
        .get_mut(id)
        .expect("found above");
    f.name = s.name;
    f.inbound_rules = s.inbound;
    f.outbound_rules = s.outbound;
    f.droplet_ids = s.droplet_ids;
    f.tags = s.tags;
    changed(state, id, &before, true);
    let out = render(&state.digitalocean.firewalls[id], true);
    settle(&mut state.digitalocean, id);
    Resp::json(200, &json!({ "firewall": out }))
}

/// `DELETE /v2/firewalls/{id}`: 204, and its Droplets are no longer behind it.
pub fn delete(state: &mut State, team: &str, id: &str) -> Resp {
    if state.digitalocean.firewall(team, id).is_none() {
        return not_found();
    }
    state.digitalocean.firewalls.remove(id);
    Resp::new(204)
}

/// What a Droplets, tags or rules request does to a firewall.
#[derive(Clone, Copy, PartialEq)]
pub enum Change {
    Add,
    Remove,
}

/// A body's required list field, or a 422 naming it.
fn required<'a>(b: &'a Value, field: &str) -> Result<&'a Value, Resp> {
    match &b[field] {
        v @ Value::Array(_) => Ok(v),
        _ => Err(unprocessable(&format!("{field} is required"))),
    }
}

/// `POST` or `DELETE /v2/firewalls/{id}/droplets` with `droplet_ids`: 204.
/// Removing a Droplet the firewall does not have changes nothing.
pub fn droplets(state: &mut State, team: &str, id: &str, change: Change, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(f) = state.digitalocean.firewall(team, id) else {
        return not_found();
    };
    let before = covered(&state.digitalocean, f);
    let mut now = f.droplet_ids.clone();
    match change {
        Change::Add => {
            let ids = match required(&b, "droplet_ids")
                .and_then(|v| droplet_ids(&state.digitalocean, team, v))
            {
                Ok(ids) => ids,
                Err(resp) => return resp,
            };
            for d in ids {
                if !now.contains(&d) {
                    now.push(d);
                }
            }
            if let Err(resp) = limits(now.len(), 0) {
                return resp;
            }
        }
        Change::Remove => {
            let Some(ids) = required(&b, "droplet_ids")
                .ok()
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).collect::<Vec<_>>())
            else {
                return unprocessable("droplet_ids is required");
            };
            now.retain(|d| !ids.contains(d));
        }
    }
    state
        .digitalocean
        .firewalls
        .get_mut(id)
        .expect("found above")
        .droplet_ids = now;
    changed(state, id, &before, false);
    Resp::new(204)
}

/// `POST` or `DELETE /v2/firewalls/{id}/tags` with `tags`: 204.
pub fn tags_of(state: &mut State, team: &str, id: &str, change: Change, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(f) = state.digitalocean.firewall(team, id) else {
        return not_found();
    };
    let before = covered(&state.digitalocean, f);
    let mut now = f.tags.clone();
    let given = match required(&b, "tags") {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    match change {
        Change::Add => {
            let names = match tags(&state.digitalocean, team, given) {
                Ok(n) => n,
                Err(resp) => return resp,
            };
            for t in names {
                if !now.contains(&t) {
                    now.push(t);
                }
            }
            if let Err(resp) = limits(0, now.len()) {
                return resp;
            }
        }
        Change::Remove => {
            let names = match strings(given, "tags") {
                Ok(n) => n,
                Err(resp) => return resp,
            };
            now.retain(|t| !names.contains(t));
        }
    }
    state
        .digitalocean
        .firewalls
        .get_mut(id)
        .expect("found above")
        .tags = now;
    changed(state, id, &before, false);
    Resp::new(204)
}

/// `POST` or `DELETE /v2/firewalls/{id}/rules` with `inbound_rules` and/or
/// `outbound_rules`: 204. A removal takes out the rules equal to those given
/// (after both are put in the API's form); the last rule cannot go.
pub fn rules_of(state: &mut State, team: &str, id: &str, change: Change, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    if state.digitalocean.firewall(team, id).is_none() {
        return not_found();
    }
    let live = &state.digitalocean;
    let (inbound, outbound) = match (
        rules(live, team, &b["inbound_rules"], true),
        rules(live, team, &b["outbound_rules"], false),
    ) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(resp), _) | (_, Err(resp)) => return resp,
    };
    if inbound.is_empty() && outbound.is_empty() {
        return unprocessable("inbound_rules or outbound_rules is required");
    }
    let f = &live.firewalls[id];
    let before = covered(live, f);
    let (mut ins, mut outs) = (f.inbound_rules.clone(), f.outbound_rules.clone());
    match change {
        Change::Add => {
            ins.extend(inbound);
            outs.extend(outbound);
        }
        Change::Remove => {
            ins.retain(|r| !inbound.contains(r));
            outs.retain(|r| !outbound.contains(r));
            if ins.is_empty() && outs.is_empty() {
                return unprocessable("a firewall must have at least one inbound or outbound rule");
            }
        }
    }
    let f = state
        .digitalocean
        .firewalls
        .get_mut(id)
        .expect("found above");
    f.inbound_rules = ins;
    f.outbound_rules = outs;
    changed(state, id, &before, true);
    Resp::new(204)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{ports, valid_address, valid_name, BAD_PORTS, NO_PORTS};

    #[test]
    fn names_start_with_a_letter_or_digit_and_hold_no_underscores() {
        assert!(valid_name("skyport-web.1"));
        assert!(valid_name("a1"));
        assert!(valid_name("9-lives"));
        assert!(
            !valid_name("a"),
            "the pattern wants two characters at least"
        );
        assert!(!valid_name("-web"));
        assert!(!valid_name(".web"));
        assert!(!valid_name("web_1"));
        assert!(!valid_name("two words"));
        assert!(!valid_name(""));
    }

    #[test]
    fn ports_are_one_a_range_or_all_and_icmp_has_none() {
        let tcp = |p: serde_json::Value| ports("tcp", Some(&p));
        assert_eq!(tcp(json!("22")).unwrap(), "22");
        assert_eq!(tcp(json!("8000-9000")).unwrap(), "8000-9000");
        assert_eq!(tcp(json!("1-65535")).unwrap(), "1-65535");
        assert_eq!(tcp(json!("all")).unwrap(), "0");
        assert_eq!(tcp(json!("0")).unwrap(), "0");
        assert_eq!(ports("udp", Some(&json!("53"))).unwrap(), "53");
        assert_eq!(ports("icmp", None).unwrap(), "0");
        assert_eq!(ports("icmp", Some(&json!("1-65535"))).unwrap(), "0");
        assert_eq!(ports("tcp", None), Err(NO_PORTS));
        assert_eq!(tcp(json!("")), Err(NO_PORTS));
        for bad in ["65536", "9000-8000", "http", "-1", "22-", "+22", "1-2-3"] {
            assert_eq!(tcp(json!(bad)), Err(BAD_PORTS), "{bad}");
        }
        assert_eq!(tcp(json!(22)), Err(BAD_PORTS), "ports are a string");
    }

    #[test]
    fn addresses_are_ips_or_cidrs_of_either_family() {
        for good in [
            "0.0.0.0/0",
            "::/0",
            "18.0.0.0/8",
            "1.2.3.4",
            "2002:1:2::/48",
            "fe80::1",
        ] {
            assert!(valid_address(good), "{good}");
        }
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "1.2.3",
            "example.com",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "",
        ] {
            assert!(!valid_address(bad), "{bad}");
        }
    }
}
