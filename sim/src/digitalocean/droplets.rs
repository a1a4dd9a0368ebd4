//! Droplets (`/v2/droplets`): created `new` with a `create` action, `active`
//! with a public and a private IPv4 address once that action completes,
//! listed (by tag or name), read and destroyed. A create is checked as
//! DigitalOcean checks it — hostname, region, size in that region, image,
//! the team's SSH keys, tags, user data, the team's Droplet limit — and
//! refused with DigitalOcean's 422 wording where it is known. A Droplet's
//! tags come into being with it (firewalls may name only existing tags), a
//! reserved IP assigned to it is listed among its public addresses, and when
//! it is destroyed it leaves every firewall and its reserved IP stays with
//! the team, unassigned.

use serde_json::{json, Value};

use super::store::{Droplet, Live};
use super::{actions, body, catalog, collection, not_found, paginate, timestamp, unprocessable};
use crate::http::{Req, Resp};
use crate::state::State;

/// The pattern DigitalOcean documents for a Droplet name
/// (`^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`, at most 255 characters):
/// hostname characters, ending in a letter or digit.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A tag name: `^[a-zA-Z0-9_\-:]+$`, at most 255 characters.
pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'))
}

/// The team's default VPC in a region, which a Droplet joins unless told
/// otherwise: the same uuid every time for the same team and region.
pub fn default_vpc(team: &str, region: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("digitalocean/{team}/vpc/{region}").as_bytes(),
    )
    .to_string()
}

/// The Droplet's addresses, once it has a host number: a private address in
/// its region's VPC range (DigitalOcean gives private interfaces no gateway,
/// written `nil`), a public one (the anchor of a reserved IP), the reserved
/// IP assigned to it as a second public address — DigitalOcean lists it
/// there, which is how clients find it on a Droplet — and IPv6 when it was
/// asked for.
fn networks(live: &Live, d: &Droplet) -> Value {
    let Some(n) = d.host else {
        return json!({ "v4": [], "v6": [] });
    };
    let region = catalog::REGIONS
        .iter()
        .position(|r| r.slug == d.region)
        .unwrap_or(0) as u32;
    let (third, fourth) = ((n / 250) % 16, n % 250 + 2);
    let mut v4 = vec![
        json!({ "ip_address": format!("10.{}.{third}.{fourth}", 100 + region), "netmask": "255.255.240.0", "gateway": "nil", "type": "private" }),
        json!({ "ip_address": format!("146.190.{}.{fourth}", 16 + third), "netmask": "255.255.240.0", "gateway": "146.190.16.1", "type": "public" }),
    ];
    if let Some(r) = live.reserved_ips.values().find(|r| r.droplet == Some(d.id)) {
        v4.push(json!({ "ip_address": r.ip, "netmask": "255.255.255.0", "gateway": super::reserved_ips::GATEWAY, "type": "public" }));
    }
    let v6 = if d.ipv6 {
        json!([{ "ip_address": format!("2604:a880:{:x}:d0::{:x}:1", 0x400 + region, n + 1), "netmask": 64, "gateway": format!("2604:a880:{:x}:d0::1", 0x400 + region), "type": "public" }])
    } else {
        json!([])
    };
    json!({ "v4": v4, "v6": v6 })
}

/// The Droplet object.
pub fn render(live: &Live, d: &Droplet) -> Value {
    let size = catalog::size_of(&d.size);
    let mut features = Vec::new();
    if d.backups {
        features.push("backups");
    }
    if d.ipv6 {
        features.push("ipv6");
    }
    if d.monitoring {
        features.push("monitoring");
    }
    if d.agent {
        features.push("droplet_agent");
    }
    features.push("private_networking");
    json!({
        "id": d.id,
        "name": d.name,
        "memory": size.map_or(0, |s| s.memory),
        "vcpus": size.map_or(0, |s| s.vcpus),
        "disk": d.disk,
        "disk_info": catalog::disk_info(d.disk),
        // DigitalOcean's own lock (abuse, billing), not an event in flight.
        "locked": false,
        "status": d.status,
        "kernel": null,
        "created_at": d.created_at,
        "features": features,
        "backup_ids": [],
        "next_backup_window": null,
        "snapshot_ids": [],
        "image": catalog::image_json(),
        "volume_ids": [],
        "size": size.map(catalog::size_json),
        "size_slug": d.size,
        "networks": networks(live, d),
        "region": catalog::region_of(&d.region).map(catalog::region_json),
        "tags": d.tags,
        "vpc_uuid": d.vpc_uuid,
    })
}

/// The region a create lands in: the one named, a datacenter of a region
/// named without its number (`nyc` → the first `nyc*` offering the size),
/// or, when none is named, the first region offering the size.
fn resolve_region(
    asked: Option<&str>,
    size: &catalog::Size,
) -> Result<&'static catalog::Region, Resp> {
    let Some(slug) = asked else {
        return catalog::REGIONS
            .iter()
            .find(|r| size.offered_in(r))
            .ok_or_else(|| unprocessable("Size is not available in this region."));
    };
    if let Some(r) = catalog::region_of(slug) {
        if !r.available {
            return Err(unprocessable(&format!(
                "The region {slug} is not available for new Droplets."
            )));
        }
        if !size.offered_in(r) {
            return Err(unprocessable("Size is not available in this region."));
        }
        return Ok(r);
    }
    let prefix = !slug.is_empty() && slug.chars().all(|c| c.is_ascii_lowercase());
    let found = catalog::REGIONS
        .iter()
        .filter(|r| prefix && r.slug.starts_with(slug) && r.available)
        .collect::<Vec<_>>();
    if found.is_empty() {
        return Err(unprocessable(
            "You specified an invalid region for Droplet creation.",
        ));
    }
    found
        .into_iter()
        .find(|r| size.offered_in(r))
        .ok_or_else(|| unprocessable("Size is not available in this region."))
}

/// `POST /v2/droplets`: one Droplet (`name`) or up to ten (`names`).
pub fn create(state: &mut State, team: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let multi = b.get("names").is_some_and(|n| !n.is_null());
    let names: Vec<String> = if multi {
        match b["names"].as_array() {
            Some(a) if a.iter().all(Value::is_string) => a
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect(),
            _ => return unprocessable("names must be an array of Droplet names"),
        }
    } else {
        match b.get("name") {
            None | Some(Value::Null) => return unprocessable("Name can't be blank"),
            Some(Value::String(n)) => vec![n.clone()],
            Some(_) => {
                return unprocessable(
                    "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)",
                )
            }
        }
    };
    if names.is_empty() {
        return unprocessable("Name can't be blank");
    }
    if names.len() > 10 {
        return unprocessable("You may create at most 10 Droplets at a time (names).");
    }
    if !names.iter().all(|n| valid_name(n)) {
        return unprocessable(
            "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)",
        );
    }
    let Some(size) = b["size"].as_str().and_then(catalog::size_of) else {
        return unprocessable("You specified an invalid size for Droplet creation.");
    };
    let region = match resolve_region(b["region"].as_str().filter(|r| !r.is_empty()), size) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if !catalog::is_image(&b["image"]) {
        return unprocessable("You specified an invalid image for Droplet creation.");
    }
    for list in ["ssh_keys", "tags"] {
        if !(b[list].is_null() || b[list].is_array()) {
            return unprocessable(&format!("{list} must be an array"));
        }
    }
    // SSH keys by id (a number, or digits) or by fingerprint, on this team.
    let mut keys = Vec::new();
    let mut unknown = Vec::new();
    for k in b["ssh_keys"].as_array().into_iter().flatten() {
        let ident = match k {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match state.digitalocean.key(team, &ident) {
            Some(key) => keys.push(key.id),
            None => unknown.push(ident),
        }
    }
    if !unknown.is_empty() {
        return unprocessable(&format!(
            "{} are invalid key identifiers for Droplet creation.",
            unknown.join(", ")
        ));
    }
    let mut tags = Vec::new();
    for t in b["tags"].as_array().into_iter().flatten() {
        match t.as_str() {
            Some(t) if valid_tag(t) => {
                if !tags.iter().any(|x: &String| x == t) {
                    tags.push(t.to_string());
                }
            }
            _ => {
                return unprocessable(&format!(
                    "tags: {t} is not a valid tag name; a tag name holds only letters, numbers, colons, dashes and underscores, at most 255 of them"
                ))
            }
        }
    }
    let user_data = match &b["user_data"] {
        Value::Null => None,
        Value::String(s) if s.len() <= 64 * 1024 => Some(s.clone()),
        Value::String(_) => return unprocessable("user_data must not exceed 64 KiB"),
        _ => return unprocessable("user_data must be a string"),
    };
    let limit = state
        .world
        .digitalocean
        .team(team)
        .map_or(0, |t| t.droplet_limit) as usize;
    let held = state
        .digitalocean
        .droplets
        .values()
        .filter(|d| d.team == team)
        .count();
    if held + names.len() > limit {
        return unprocessable("creating this/these droplet(s) will exceed your droplet limit");
    }
    let vpc_uuid = b["vpc_uuid"]
        .as_str()
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| default_vpc(team, region.slug));
    let flag = |name: &str| b[name].as_bool().unwrap_or(false);
    for t in &tags {
        state
            .digitalocean
            .tags
            .insert((team.to_string(), t.clone()));
    }
    let mut made = Vec::new();
    for name in names {
        let id = state.digitalocean.droplet_id();
        state.digitalocean.droplets.insert(
            id,
            Droplet {
                id,
                team: team.to_string(),
                name,
                region: region.slug.to_string(),
                size: size.slug.to_string(),
                disk: size.disk,
                status: "new".into(),
                created_at: timestamp(),
                tags: tags.clone(),
                ipv6: flag("ipv6"),
                monitoring: flag("monitoring"),
                backups: flag("backups"),
                agent: b["with_droplet_agent"].as_bool().unwrap_or(true),
                ssh_keys: keys.clone(),
                user_data: user_data.clone(),
                vpc_uuid: vpc_uuid.clone(),
                host: None,
            },
        );
        let action = actions::start(state, id, "create", None, false);
        made.push((id, action));
    }
    let droplets: Vec<Value> = made
        .iter()
        .map(|(id, _)| render(&state.digitalocean, &state.digitalocean.droplets[id]))
        .collect();
    let links: Vec<Value> = made
        .iter()
        .map(|(_, a)| json!({ "id": a, "rel": "create", "href": actions::href(state, *a) }))
        .collect();
    for (_, a) in &made {
        actions::settle(state, *a);
    }
    let out = if multi {
        json!({ "droplets": droplets, "links": { "actions": links } })
    } else {
        json!({ "droplet": droplets[0], "links": { "actions": links } })
    };
    Resp::json(202, &out)
}

/// `GET /v2/droplets/{id}`: a read, which moves its pending action on.
pub fn get(state: &mut State, team: &str, id: u64) -> Resp {
    if state.digitalocean.droplet(team, id).is_none() {
        return not_found();
    }
    actions::touch(state, id);
    Resp::json(
        200,
        &json!({ "droplet": render(&state.digitalocean, &state.digitalocean.droplets[&id]) }),
    )
}

/// `GET /v2/droplets`, optionally `?tag_name=` or `?name=`; each Droplet on
/// the page counts as read.
pub fn list(state: &mut State, team: &str, req: &Req) -> Resp {
    let tag = req.q("tag_name");
    let name = req.q("name");
    let ids: Vec<u64> = state
        .digitalocean
        .droplets
        .values()
        .filter(|d| d.team == team)
        .filter(|d| tag.is_none_or(|t| d.tags.iter().any(|x| x == t)))
        .filter(|d| name.is_none_or(|n| d.name == n))
        .map(|d| d.id)
        .collect();
    let (shown, links, total) = paginate(state, req, ids);
    for id in &shown {
        actions::touch(state, *id);
    }
    let items = shown
        .iter()
        .map(|id| render(&state.digitalocean, &state.digitalocean.droplets[id]))
        .collect();
    collection("droplets", items, links, total)
}

/// Removes a Droplet at once; an action it was busy with ends `errored`, it
/// leaves every firewall's `droplet_ids`, and its reserved IP stays reserved
/// to the team, unassigned (as DigitalOcean keeps it, billed, until deleted).
pub fn destroy(state: &mut State, id: u64) {
    let live = &mut state.digitalocean;
    live.droplets.remove(&id);
    for f in live.firewalls.values_mut() {
        f.droplet_ids.retain(|d| *d != id);
        f.pending.retain(|(d, _)| *d != id);
    }
    for r in live.reserved_ips.values_mut() {
        if r.droplet == Some(id) {
            r.droplet = None;
        }
    }
    actions::abandon(state, id);
}

/// `DELETE /v2/droplets/{id}`: 204, and the Droplet is gone.
pub fn delete(state: &mut State, team: &str, id: u64) -> Resp {
    if state.digitalocean.droplet(team, id).is_none() {
        return not_found();
    }
    destroy(state, id);
    Resp::new(204)
}

/// `DELETE /v2/droplets?tag_name=`: every Droplet of the team with the tag.
pub fn delete_by_tag(state: &mut State, team: &str, req: &Req) -> Resp {
    let Some(tag) = req.q("tag_name").filter(|t| !t.is_empty()) else {
        return unprocessable("tag_name is required to delete Droplets by tag");
    };
    let ids: Vec<u64> = state
        .digitalocean
        .droplets
        .values()
        .filter(|d| d.team == team && d.tags.iter().any(|x| x == tag))
        .map(|d| d.id)
        .collect();
    for id in ids {
        destroy(state, id);
    }
    Resp::new(204)
}

#[cfg(test)]
mod tests {
    use super::{valid_name, valid_tag};

    #[test]
    fn names_are_hostnames() {
        assert!(valid_name("web-1.example.com"));
        assert!(valid_name("A1"));
        assert!(!valid_name(""));
        assert!(!valid_name("web_1"));
        assert!(!valid_name("web-"));
        assert!(!valid_name("has space"));
        assert!(!valid_name(&"a".repeat(256)));
    }

    #[test]
    fn tags_are_words_colons_and_dashes() {
        assert!(valid_tag("env:prod"));
        assert!(valid_tag("skyport_server-1"));
        assert!(!valid_tag("two words"));
        assert!(!valid_tag("a/b"));
        assert!(!valid_tag(&"t".repeat(256)));
    }
}
