//! Domains and their records (`/v2/domains`, `/v2/domains/{name}/records`):
//! the zones a team has DigitalOcean's name servers answer for, and the DNS
//! records in them. A new domain gets an SOA record and NS records for
//! `ns1`–`ns3.digitalocean.com` (and an A record at its apex when it is
//! created with `ip_address`), as DigitalOcean makes them. Records are
//! checked as DigitalOcean checks them and refused with its 422 wording where
//! that wording is known (the constants below, each with where it was seen);
//! the other refusals — blank fields, bad names or addresses, a changed type,
//! an SOA delete — follow its "… can't be blank" style without being quoted
//! from it. A domain name is unique across all teams; every team but its own
//! is answered 404 for it and its records.
//!
//! The wire forms kept here, which a DNS client has to get right:
//! - a record's `name` is relative to its domain, `@` for the apex, while the
//!   list's `?name=` filter takes the fully qualified name (`www.example.com`,
//!   or `example.com` for `@`);
//! - hostnames in `data` (CNAME, MX, NS, SRV) are sent with a trailing dot, or
//!   as `@` for the apex, and answered without the dot (see [`hostname`]);
//! - `ttl` is 1800 unless given, and at least 30;
//! - PUT and PATCH both take any subset of the fields (see [`update`]).

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{json, Map, Value};

use super::store::{Domain, Live, Record};
use super::{body, collection, not_found, paginate, unprocessable};
use crate::http::{Req, Resp};
use crate::state::{now, State};

/// The name servers DigitalOcean serves every domain from; a new domain gets
/// an NS record for each.
pub const NAME_SERVERS: [&str; 3] = [
    "ns1.digitalocean.com",
    "ns2.digitalocean.com",
    "ns3.digitalocean.com",
];

/// The TTL of a record created without one, and of the records a new domain
/// starts with (DigitalOcean's documented examples all carry 1800, and its
/// API makes a domain's NS records with it).
pub const DEFAULT_TTL: u32 = 1800;

/// The lowest TTL DigitalOcean accepts. 30 itself is accepted (ACME clients
/// such as lego create their challenge records with it), although the 422
/// below says "greater than".
pub const MIN_TTL: u32 = 30;

/// DigitalOcean's refusal of a TTL under [`MIN_TTL`], as its API answered a
/// Terraform update (Pelado-Nerdworks/peladonerd#44).
const TTL_TOO_LOW: &str = "record ttl must be greater than 30";

/// The address of the A record a seeded domain's apex starts with
/// (TEST-NET-3, which nothing routes).
const SEED_ADDRESS: &str = "203.0.113.10";

/// The types a record can be created with. SOA exists on every domain but
/// is DigitalOcean's own: it can only have its TTL changed.
pub const TYPES: &[&str] = &["A", "AAAA", "CAA", "CNAME", "MX", "NS", "SRV", "TXT"];

/// DigitalOcean's refusal of a type it does not serve, or of one in lower
/// case (rmoriz/knife-digital_ocean#78).
const UNKNOWN_TYPE: &str = "Record type is not included in the list";

/// The types whose `data` is a hostname.
const HOSTNAME_TYPES: &[&str] = &["CNAME", "MX", "NS", "SRV"];

/// DigitalOcean's refusal of a hostname sent without its trailing dot.
pub const NEEDS_DOT: &str = "Data needs to end with a dot (.)";

/// DigitalOcean's refusal of a CNAME beside another record of its name, the
/// apex's NS and SOA records included (kubernetes-sigs/external-dns#4802). A
/// record beside an existing CNAME is refused alike: DNS gives a name with a
/// CNAME no other data.
pub const CNAME_CLASH: &str = "CNAME records cannot share a name with other records";

/// One label of a domain name: letters, digits and inner hyphens, at most 63.
fn valid_label(label: &str, underscore: bool) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || (underscore && c == '_'))
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A domain a team can add: at least two labels (`example.com`), at most 253
/// characters, no trailing dot, and a top-level label that is not all digits
/// (so an IP address is not taken for a domain).
pub fn valid_domain(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| valid_label(l, false))
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

/// A record name relative to its domain: `@`, or labels that may hold
/// underscores (`_acme-challenge`, `_sip._tcp`) with an optional leading `*`
/// label for a wildcard. A trailing dot is refused: names are relative.
pub fn valid_record_name(name: &str) -> bool {
    if name == "@" {
        return true;
    }
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| (i == 0 && *l == "*") || valid_label(l, true))
}

/// The fully qualified name of a record (`@` is the domain itself), as the
/// list's `?name=` filter takes it.
pub fn fqdn(name: &str, domain: &str) -> String {
    if name == "@" {
        domain.to_string()
    } else {
        format!("{name}.{domain}")
    }
}

/// A hostname in a record's `data` as DigitalOcean takes it, and the form it
/// is stored and answered in.
///
/// DigitalOcean refuses a CNAME, MX, NS or SRV target without a trailing dot
/// with 422 "Data needs to end with a dot (.)" (digitalocean/api-v2#130,
/// kubernetes-sigs/external-dns#624), so a relative target is never taken for
/// one inside the zone. It answers the target without the dot — the MX, NS
/// and SRV data of listed records read `smtp.example.com`, and clients
/// (Terraform's provider, octoDNS) add the dot back on reading. `@` is taken
/// for the apex and answered as `@` (the same clients turn a returned `@`
/// into the domain name).
pub fn hostname(data: &str) -> Result<String, &'static str> {
    if data == "@" {
        return Ok(data.to_string());
    }
    let Some(bare) = data.strip_suffix('.') else {
        return Err(NEEDS_DOT);
    };
    if bare.len() <= 253 && bare.split('.').all(|l| valid_label(l, true)) {
        Ok(bare.to_string())
    } else {
        Err("Data is not a valid hostname")
    }
}

/// An optional non-negative integer field at most `max`: `null` or absent is
/// `None`.
fn int(input: &Map<String, Value>, field: &str, max: u32) -> Result<Option<u32>, String> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= u64::from(max))
            .map(|n| Some(n as u32))
            .ok_or_else(|| format!("{field} must be an integer between 0 and {max}")),
    }
}

/// Checks the fields of a record of `domain` (a create's body, or an
/// update's body laid over the stored record) and returns the record as it
/// is stored, id 0; or the 422's message. Fields the type does not use come
/// back `None`, answered `null` as DigitalOcean answers them.
pub fn check(domain: &str, input: &Map<String, Value>) -> Result<Record, String> {
    let kind = match input.get("type") {
        None | Some(Value::Null) => return Err("Type can't be blank".into()),
        Some(Value::String(t)) if t.is_empty() => return Err("Type can't be blank".into()),
        // Case matters: `cname` is refused as not in the list.
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => t.clone(),
        Some(_) => return Err(UNKNOWN_TYPE.into()),
    };
    let name = match input.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) if n.trim().is_empty() => None,
        Some(Value::String(n)) => Some(n.trim().to_string()),
        Some(_) => return Err("Name is invalid".into()),
    };
    // The name of an NS or MX record may be left out (it is then the apex,
    // digitalocean/api-v2#130); the other types require one.
    let name = match name {
        Some(n) if valid_record_name(&n) && fqdn(&n, domain).len() <= 253 => n,
        Some(_) => return Err("Name is invalid".into()),
        None if kind == "NS" || kind == "MX" => "@".into(),
        None => return Err("Name can't be blank".into()),
    };
    let data = match input.get("data") {
        Some(Value::String(d)) if !d.trim().is_empty() => d.trim().to_string(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err("Data can't be blank".into())
        }
        Some(_) => return Err("Data is invalid".into()),
    };
    let ttl = match int(input, "ttl", i32::MAX as u32)? {
        None => DEFAULT_TTL,
        Some(t) if t < MIN_TTL => return Err(TTL_TOO_LOW.into()),
        Some(t) => t,
    };
    let mut record = Record {
        id: 0,
        domain: domain.to_string(),
        kind: kind.clone(),
        name,
        data: data.clone(),
        priority: None,
        port: None,
        ttl,
        weight: None,
        flags: None,
        tag: None,
    };
    let required = |field: &str, max: u32| -> Result<u32, String> {
        let label = format!("{}{}", field[..1].to_uppercase(), &field[1..]);
        int(input, field, max)?.ok_or_else(|| format!("{label} can't be blank"))
    };
    match kind.as_str() {
        "A" if data.parse::<Ipv4Addr>().is_err() => {
            return Err("IP address did not match IPv4 format (e.g. 127.0.0.1).".into())
        }
        "AAAA" if data.parse::<Ipv6Addr>().is_err() => {
            return Err("IP address did not match IPv6 format (e.g. 2001:db8::1).".into())
        }
        "CAA" => {
            record.flags = Some(required("flags", 255)?);
            let tag = input.get("tag").and_then(Value::as_str).unwrap_or_default();
            if tag.is_empty() {
                return Err("Tag can't be blank".into());
            }
            if !["issue", "issuewild", "iodef"].contains(&tag) {
                return Err("Tag is not included in the list".into());
            }
            record.tag = Some(tag.to_string());
        }
        "MX" => record.priority = Some(required("priority", 65535)?),
        "SRV" => {
            record.priority = Some(required("priority", 65535)?);
            record.port = Some(required("port", 65535)?);
            record.weight = Some(required("weight", 65535)?);
        }
        _ => {}
    }
    if HOSTNAME_TYPES.contains(&kind.as_str()) {
        record.data = hostname(&data)?;
    }
    Ok(record)
}

/// Whether `candidate` would break the CNAME rule among the records of its
/// domain (`except` is the record being updated, which does not count).
pub fn clashes(live: &Live, candidate: &Record, except: Option<u64>) -> bool {
    let mut same_name = live
        .records_of(&candidate.domain)
        .filter(|r| Some(r.id) != except && r.name.eq_ignore_ascii_case(&candidate.name));
    if candidate.kind == "CNAME" {
        same_name.next().is_some()
    } else {
        same_name.any(|r| r.kind == "CNAME")
    }
}

/// The domain record object.
pub fn render_record(r: &Record) -> Value {
    json!({
        "id": r.id,
        "type": r.kind,
        "name": r.name,
        "data": r.data,
        "priority": r.priority,
        "port": r.port,
        "ttl": r.ttl,
        "weight": r.weight,
        "flags": r.flags,
        "tag": r.tag,
    })
}

/// The domain's TTL: its SOA record's, which is the one TTL that can change.
fn domain_ttl(live: &Live, d: &Domain) -> u32 {
    live.records_of(&d.name)
        .find(|r| r.kind == "SOA")
        .map_or(DEFAULT_TTL, |r| r.ttl)
}

/// A hostname of the zone file: `@` is the domain; the rest gets its dot back.
fn absolute(data: &str, domain: &str) -> String {
    if data == "@" {
        format!("{domain}.")
    } else {
        format!("{data}.")
    }
}

/// The domain's zone file as DigitalOcean writes it: `$ORIGIN`, `$TTL`, the
/// SOA line (primary `ns1.digitalocean.com.`, `hostmaster.` mailbox, the
/// serial, then refresh 10800, retry 3600, expire 604800 and the negative TTL)
/// and a line per record.
pub fn zone_file(live: &Live, d: &Domain) -> String {
    let ttl = domain_ttl(live, d);
    let name = &d.name;
    let mut out = format!(
        "$ORIGIN {name}.\n$TTL {ttl}\n{name}. IN SOA {}. hostmaster.{name}. {} 10800 3600 604800 {ttl}\n",
        NAME_SERVERS[0], d.serial
    );
    for r in live.records_of(name).filter(|r| r.kind != "SOA") {
        let rdata = match r.kind.as_str() {
            "CNAME" | "NS" => absolute(&r.data, name),
            "MX" => format!("{} {}", r.priority.unwrap_or(0), absolute(&r.data, name)),
            "SRV" => format!(
                "{} {} {} {}",
                r.priority.unwrap_or(0),
                r.weight.unwrap_or(0),
                r.port.unwrap_or(0),
                absolute(&r.data, name)
            ),
            "TXT" => format!("\"{}\"", r.data.replace('\\', "\\\\").replace('"', "\\\"")),
            "CAA" => format!(
                "{} {} \"{}\"",
                r.flags.unwrap_or(0),
                r.tag.as_deref().unwrap_or_default(),
                r.data
            ),
            _ => r.data.clone(),
        };
        out.push_str(&format!(
            "{}. {} IN {} {rdata}\n",
            fqdn(&r.name, name),
            r.ttl,
            r.kind
        ));
    }
    out
}

/// The domain object.
fn render_domain(live: &Live, d: &Domain) -> Value {
    json!({ "name": d.name, "ttl": domain_ttl(live, d), "zone_file": zone_file(live, d) })
}

/// A record of nobody's choosing: DigitalOcean's SOA and NS records, and the
/// A record `ip_address` asks for.
fn own_record(live: &mut Live, domain: &str, kind: &str, data: &str) -> u64 {
    let id = live.record_id();
    live.records.insert(
        id,
        Record {
            id,
            domain: domain.to_string(),
            kind: kind.to_string(),
            name: "@".into(),
            data: data.to_string(),
            priority: None,
            port: None,
            ttl: DEFAULT_TTL,
            weight: None,
            flags: None,
            tag: None,
        },
    );
    id
}

/// Makes a domain as DigitalOcean does: the SOA record (listed with the zone's
/// negative TTL as its data), an NS record per name server and, given an
/// address, an A record for the apex.
fn make(live: &mut Live, team: &str, name: &str, address: Option<&str>) {
    live.domains.insert(
        name.to_string(),
        Domain {
            name: name.to_string(),
            team: team.to_string(),
            serial: now(),
        },
    );
    own_record(live, name, "SOA", &DEFAULT_TTL.to_string());
    for ns in NAME_SERVERS {
        own_record(live, name, "NS", ns);
    }
    if let Some(ip) = address {
        own_record(live, name, "A", ip);
    }
}

/// Puts the seed's domains in the live state: each team's, made as a create
/// with `ip_address` [`SEED_ADDRESS`] would make it. A team's domain is
/// seeded once — one someone deleted stays deleted — and a name another team
/// already holds is left to it. Run when the emulator starts (after a
/// snapshot is restored, so an older snapshot gains the seed's domains) and
/// when a team is added.
pub fn seed(state: &mut State) {
    let wanted: Vec<(String, String)> = state
        .world
        .digitalocean
        .teams
        .iter()
        .flat_map(|t| {
            t.domains
                .iter()
                .map(|d| (t.uuid.clone(), d.to_ascii_lowercase()))
        })
        .collect();
    let live = &mut state.digitalocean;
    for (team, name) in wanted {
        if live.seeded.insert((team.clone(), name.clone())) && !live.domains.contains_key(&name) {
            make(live, &team, &name, Some(SEED_ADDRESS));
        }
    }
}

/// Marks a domain changed: the zone's serial moves on.
fn touch(live: &mut Live, domain: &str) {
    if let Some(d) = live.domains.get_mut(domain) {
        d.serial = now().max(d.serial + 1);
    }
}

/// `GET /v2/domains`: the team's domains by name.
pub fn list(state: &State, team: &str, req: &Req) -> Resp {
    let live = &state.digitalocean;
    let all: Vec<Value> = live
        .domains
        .values()
        .filter(|d| d.team == team)
        .map(|d| render_domain(live, d))
        .collect();
    let (shown, links, total) = paginate(state, req, all);
    collection("domains", shown, links, total)
}

/// `POST /v2/domains`: `name`, and optionally `ip_address` for an A record
/// at the apex.
pub fn create(state: &mut State, team: &str, req: &Req) -> Resp {
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let name = match &b["name"] {
        Value::String(n) if !n.trim().is_empty() => n.trim().to_ascii_lowercase(),
        Value::Null => return unprocessable("Name can't be blank"),
        Value::String(_) => return unprocessable("Name can't be blank"),
        _ => return unprocessable("Name is invalid"),
    };
    if !valid_domain(&name) {
        return unprocessable("Name is invalid");
    }
    let address = match &b["ip_address"] {
        Value::Null => None,
        Value::String(ip) if ip.is_empty() => None,
        Value::String(ip) if ip.parse::<Ipv4Addr>().is_ok() => Some(ip.clone()),
        _ => return unprocessable("IP address did not match IPv4 format (e.g. 127.0.0.1)."),
    };
    // Any team's: DigitalOcean serves a name for one account only, and words
    // the refusal so (digitalocean/droplet_kit#181).
    if state.digitalocean.domains.contains_key(&name) {
        return unprocessable(&format!("domain '{name}': name already exists"));
    }
    make(&mut state.digitalocean, team, &name, address.as_deref());
    // The create's answer has no zone file yet: DigitalOcean's documented
    // answer to it carries `"zone_file": null`, its reads the zone file.
    Resp::json(
        201,
        &json!({ "domain": { "name": name, "ttl": DEFAULT_TTL, "zone_file": null } }),
    )
}

/// `GET /v2/domains/{name}`.
pub fn get(state: &State, team: &str, name: &str) -> Resp {
    let live = &state.digitalocean;
    match live.domain(team, name) {
        Some(d) => Resp::json(200, &json!({ "domain": render_domain(live, d) })),
        None => not_found(),
    }
}

/// `DELETE /v2/domains/{name}`: the domain and all its records.
pub fn delete(state: &mut State, team: &str, name: &str) -> Resp {
    let Some(name) = state
        .digitalocean
        .domain(team, name)
        .map(|d| d.name.clone())
    else {
        return not_found();
    };
    let live = &mut state.digitalocean;
    live.domains.remove(&name);
    live.records.retain(|_, r| r.domain != name);
    Resp::new(204)
}

/// `GET /v2/domains/{name}/records`, optionally `?type=` and `?name=` (the
/// fully qualified name, with or without its trailing dot).
pub fn list_records(state: &State, team: &str, domain: &str, req: &Req) -> Resp {
    let live = &state.digitalocean;
    let Some(d) = live.domain(team, domain) else {
        return not_found();
    };
    let kind = req.q("type").filter(|t| !t.is_empty());
    let name = req
        .q("name")
        .filter(|n| !n.is_empty())
        .map(|n| n.trim_end_matches('.'));
    let all: Vec<Value> = live
        .records_of(&d.name)
        .filter(|r| kind.is_none_or(|t| r.kind.eq_ignore_ascii_case(t)))
        .filter(|r| name.is_none_or(|n| fqdn(&r.name, &d.name).eq_ignore_ascii_case(n)))
        .map(render_record)
        .collect();
    let (shown, links, total) = paginate(state, req, all);
    collection("domain_records", shown, links, total)
}

/// `POST /v2/domains/{name}/records`.
pub fn create_record(state: &mut State, team: &str, domain: &str, req: &Req) -> Resp {
    let Some(domain) = state
        .digitalocean
        .domain(team, domain)
        .map(|d| d.name.clone())
    else {
        return not_found();
    };
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut record = match check(&domain, b.as_object().expect("body() gives an object")) {
        Ok(r) => r,
        Err(message) => return unprocessable(&message),
    };
    let live = &mut state.digitalocean;
    if clashes(live, &record, None) {
        return unprocessable(CNAME_CLASH);
    }
    record.id = live.record_id();
    let out = render_record(&record);
    live.records.insert(record.id, record);
    touch(live, &domain);
    Resp::json(201, &json!({ "domain_record": out }))
}

/// The record `id` of the team's domain `domain`, if both exist and the
/// record is that domain's.
fn find<'a>(live: &'a Live, team: &str, domain: &str, id: u64) -> Option<&'a Record> {
    let d = live.domain(team, domain)?;
    live.records.get(&id).filter(|r| r.domain == d.name)
}

/// `GET /v2/domains/{name}/records/{id}`.
pub fn get_record(state: &State, team: &str, domain: &str, id: u64) -> Resp {
    match find(&state.digitalocean, team, domain, id) {
        Some(r) => Resp::json(200, &json!({ "domain_record": render_record(r) })),
        None => not_found(),
    }
}

/// `PUT` or `PATCH /v2/domains/{name}/records/{id}`. DigitalOcean documents
/// both alike — "any attribute valid for the record type can be set to a new
/// value", with bodies of only some fields — so both take any subset: the
/// body's fields are laid over the stored record and the whole is checked as
/// a create is. The type cannot change. The stored form of a hostname has no
/// trailing dot, so a CNAME, MX, NS or SRV record updated without `data` is
/// refused with "Data needs to end with a dot (.)", as DigitalOcean refuses a
/// TTL-only update of one (digitalocean/doctl#919); sending `data` again
/// with its dot is the way through. The SOA record only takes a new TTL.
pub fn update(state: &mut State, team: &str, domain: &str, id: u64, req: &Req) -> Resp {
    let Some(stored) = find(&state.digitalocean, team, domain, id).cloned() else {
        return not_found();
    };
    let b = match body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let b = b.as_object().expect("body() gives an object");
    if let Some(kind) = b.get("type").filter(|t| !t.is_null()) {
        if kind.as_str() != Some(stored.kind.as_str()) {
            return unprocessable("Record type cannot be changed");
        }
    }
    let record = if stored.kind == "SOA" {
        let ttl = match int(b, "ttl", i32::MAX as u32) {
            Ok(None) => stored.ttl,
            Ok(Some(t)) if t < MIN_TTL => return unprocessable(TTL_TOO_LOW),
            Ok(Some(t)) => t,
            Err(message) => return unprocessable(&message),
        };
        Record {
            ttl,
            ..stored.clone()
        }
    } else {
        let mut input = match render_record(&stored) {
            Value::Object(m) => m,
            _ => unreachable!("a record renders as an object"),
        };
        for (k, v) in b {
            if k != "id" {
                input.insert(k.clone(), v.clone());
            }
        }
        let mut record = match check(&stored.domain, &input) {
            Ok(r) => r,
            Err(message) => return unprocessable(&message),
        };
        record.id = stored.id;
        if clashes(&state.digitalocean, &record, Some(stored.id)) {
            return unprocessable(CNAME_CLASH);
        }
        record
    };
    let live = &mut state.digitalocean;
    let out = render_record(&record);
    live.records.insert(record.id, record);
    touch(live, &stored.domain);
    Resp::json(200, &json!({ "domain_record": out }))
}

/// `DELETE /v2/domains/{name}/records/{id}`: 204. The SOA record stays.
pub fn delete_record(state: &mut State, team: &str, domain: &str, id: u64) -> Resp {
    let Some(r) = find(&state.digitalocean, team, domain, id).cloned() else {
        return not_found();
    };
    if r.kind == "SOA" {
        return unprocessable("SOA records cannot be deleted");
    }
    let live = &mut state.digitalocean;
    live.records.remove(&id);
    touch(live, &r.domain);
    Resp::new(204)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn ok(v: Value) -> Record {
        check("example.com", &fields(v)).unwrap_or_else(|e| panic!("refused: {e}"))
    }

    fn refused(v: Value) -> String {
        check("example.com", &fields(v)).expect_err("accepted")
    }

    #[test]
    fn domains_are_names_of_two_labels_or_more() {
        assert!(valid_domain("example.com"));
        assert!(valid_domain("sammy-apps.co.uk"));
        assert!(valid_domain("xn--bcher-kva.example"));
        assert!(!valid_domain("localhost"));
        assert!(!valid_domain("example.com."));
        assert!(!valid_domain("-bad.com"));
        assert!(!valid_domain("bad-.com"));
        assert!(!valid_domain("under_score.com"));
        assert!(!valid_domain("two..dots.com"));
        assert!(!valid_domain("203.0.113.10"));
        assert!(!valid_domain(&format!("{}.com", "a".repeat(64))));
    }

    #[test]
    fn record_names_are_relative() {
        for name in [
            "@",
            "www",
            "_acme-challenge",
            "_sip._tcp",
            "*",
            "*.dev",
            "a.b.c",
        ] {
            assert!(valid_record_name(name), "{name}");
        }
        for name in ["", "www.", "a b", "w*w", "dev.*", "-x"] {
            assert!(!valid_record_name(name), "{name}");
        }
        assert_eq!(fqdn("@", "example.com"), "example.com");
        assert_eq!(fqdn("www", "example.com"), "www.example.com");
    }

    #[test]
    fn types_are_digitaloceans_in_upper_case() {
        for t in TYPES {
            let e = check("example.com", &fields(json!({ "type": t, "name": "x" })));
            // Every listed type gets past the type check (to another refusal).
            assert_ne!(e.err().as_deref(), Some(UNKNOWN_TYPE));
        }
        for t in ["cname", "SOA", "PTR", "ALIAS"] {
            assert_eq!(
                refused(json!({ "type": t, "name": "x", "data": "y" })),
                "Record type is not included in the list"
            );
        }
        assert_eq!(
            refused(json!({ "name": "x", "data": "y" })),
            "Type can't be blank"
        );
    }

    #[test]
    fn addresses_match_their_type() {
        let a = ok(json!({ "type": "A", "name": "www", "data": "203.0.113.7" }));
        assert_eq!(
            (a.name.as_str(), a.data.as_str(), a.ttl),
            ("www", "203.0.113.7", 1800)
        );
        assert!(
            refused(json!({ "type": "A", "name": "www", "data": "2001:db8::1" })).contains("IPv4")
        );
        assert!(
            refused(json!({ "type": "A", "name": "www", "data": "203.0.113" })).contains("IPv4")
        );
        assert!(refused(json!({ "type": "A", "name": "www", "data": "host." })).contains("IPv4"));
        ok(json!({ "type": "AAAA", "name": "www", "data": "2001:db8::1" }));
        assert!(
            refused(json!({ "type": "AAAA", "name": "www", "data": "203.0.113.7" }))
                .contains("IPv6")
        );
        assert_eq!(
            refused(json!({ "type": "A", "name": "www" })),
            "Data can't be blank"
        );
        assert_eq!(
            refused(json!({ "type": "A", "data": "203.0.113.7" })),
            "Name can't be blank"
        );
        assert_eq!(
            refused(json!({ "type": "A", "name": "www.", "data": "203.0.113.7" })),
            "Name is invalid"
        );
    }

    #[test]
    fn hostnames_need_their_dot_and_are_kept_without_it() {
        let c = ok(json!({ "type": "CNAME", "name": "www", "data": "app.example.net." }));
        assert_eq!(c.data, "app.example.net");
        assert_eq!(
            ok(json!({ "type": "CNAME", "name": "www", "data": "@" })).data,
            "@"
        );
        assert_eq!(
            refused(json!({ "type": "CNAME", "name": "www", "data": "app.example.net" })),
            NEEDS_DOT
        );
        // What is stored does not pass again: an update must resend `data`.
        assert_eq!(
            refused(json!({ "type": "CNAME", "name": "www", "data": c.data })),
            NEEDS_DOT
        );
        assert_eq!(
            refused(json!({ "type": "NS", "data": "ns1.example.net" })),
            NEEDS_DOT
        );
        assert!(hostname("bad host.").is_err());
        assert_eq!(
            hostname("_sip._tcp.example.com.").as_deref(),
            Ok("_sip._tcp.example.com")
        );
    }

    #[test]
    fn ttl_defaults_to_1800_and_is_at_least_30() {
        let base = json!({ "type": "TXT", "name": "t", "data": "hello" });
        assert_eq!(ok(base.clone()).ttl, 1800);
        let with = |ttl: Value| {
            let mut v = base.clone();
            v["ttl"] = ttl;
            check("example.com", &fields(v))
        };
        assert_eq!(with(json!(30)).unwrap().ttl, 30);
        assert_eq!(with(json!(86400)).unwrap().ttl, 86400);
        assert_eq!(with(json!(29)).unwrap_err(), TTL_TOO_LOW);
        assert_eq!(with(json!(0)).unwrap_err(), TTL_TOO_LOW);
        assert!(with(json!(-5)).is_err());
        assert!(with(json!("60")).is_err());
        assert_eq!(with(Value::Null).unwrap().ttl, 1800);
    }

    #[test]
    fn mx_srv_and_caa_need_their_own_fields_and_others_are_null() {
        let mx = ok(
            json!({ "type": "MX", "data": "mail.example.com.", "priority": 10, "port": 25, "weight": 3 }),
        );
        assert_eq!(
            (mx.name.as_str(), mx.priority, mx.port, mx.weight),
            ("@", Some(10), None, None)
        );
        assert_eq!(
            refused(json!({ "type": "MX", "data": "mail.example.com." })),
            "Priority can't be blank"
        );
        let srv = ok(
            json!({ "type": "SRV", "name": "_sip._tcp", "data": "sip.example.com.", "priority": 10, "port": 5060, "weight": 5 }),
        );
        assert_eq!(
            (srv.priority, srv.port, srv.weight),
            (Some(10), Some(5060), Some(5))
        );
        assert_eq!(
            refused(
                json!({ "type": "SRV", "name": "_sip._tcp", "data": "sip.example.com.", "priority": 10, "weight": 5 })
            ),
            "Port can't be blank"
        );
        assert!(refused(json!({ "type": "SRV", "name": "_s._tcp", "data": "s.example.com.", "priority": 1, "weight": 1, "port": 70000 })).contains("port"));
        let caa = ok(
            json!({ "type": "CAA", "name": "@", "data": "letsencrypt.org", "flags": 0, "tag": "issue" }),
        );
        assert_eq!((caa.flags, caa.tag.as_deref()), (Some(0), Some("issue")));
        assert_eq!(
            refused(
                json!({ "type": "CAA", "name": "@", "data": "x", "flags": 0, "tag": "issuer" })
            ),
            "Tag is not included in the list"
        );
        assert_eq!(
            refused(json!({ "type": "CAA", "name": "@", "data": "x", "tag": "issue" })),
            "Flags can't be blank"
        );
        let a = ok(
            json!({ "type": "A", "name": "a", "data": "203.0.113.1", "priority": 5, "flags": 1, "tag": "issue" }),
        );
        assert_eq!((a.priority, a.flags, a.tag), (None, None, None));
    }

    #[test]
    fn a_cname_shares_its_name_with_nothing() {
        let mut live = Live::default();
        make(&mut live, "team", "example.com", Some("203.0.113.10"));
        let record = |v: Value| check("example.com", &fields(v)).unwrap();
        let cname = record(json!({ "type": "CNAME", "name": "www", "data": "app.example.net." }));
        assert!(!clashes(&live, &cname, None));
        // The apex holds the SOA, NS and A records.
        let apex = record(json!({ "type": "CNAME", "name": "@", "data": "app.example.net." }));
        assert!(clashes(&live, &apex, None));
        let id = live.record_id();
        live.records.insert(
            id,
            Record {
                id,
                ..cname.clone()
            },
        );
        let txt = record(json!({ "type": "TXT", "name": "WWW", "data": "v=spf1 -all" }));
        assert!(clashes(&live, &txt, None), "names compare in any case");
        assert!(clashes(&live, &cname, None), "a second CNAME of the name");
        assert!(
            !clashes(&live, &cname, Some(id)),
            "the record itself does not count"
        );
    }

    #[test]
    fn a_snapshot_from_before_domains_still_loads() {
        let mut old = serde_json::to_value(Live::default()).unwrap();
        for field in ["domains", "records", "seeded", "next_record"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let live: Live = serde_json::from_value(old).unwrap();
        assert!(live.domains.is_empty() && live.seeded.is_empty());
        assert_eq!(live.next_record, Live::default().next_record);
    }

    #[test]
    fn a_new_domain_has_digitaloceans_records_and_zone_file() {
        let mut live = Live::default();
        make(&mut live, "team", "example.com", Some("203.0.113.10"));
        let kinds: Vec<(&str, &str, &str)> = live
            .records_of("example.com")
            .map(|r| (r.kind.as_str(), r.name.as_str(), r.data.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("SOA", "@", "1800"),
                ("NS", "@", "ns1.digitalocean.com"),
                ("NS", "@", "ns2.digitalocean.com"),
                ("NS", "@", "ns3.digitalocean.com"),
                ("A", "@", "203.0.113.10"),
            ]
        );
        let d = live.domains["example.com"].clone();
        let zone = zone_file(&live, &d);
        let lines: Vec<&str> = zone.lines().collect();
        assert_eq!(lines[0], "$ORIGIN example.com.");
        assert_eq!(lines[1], "$TTL 1800");
        assert_eq!(
            lines[2],
            format!("example.com. IN SOA ns1.digitalocean.com. hostmaster.example.com. {} 10800 3600 604800 1800", d.serial)
        );
        assert_eq!(lines[3], "example.com. 1800 IN NS ns1.digitalocean.com.");
        assert_eq!(lines[6], "example.com. 1800 IN A 203.0.113.10");
    }
}
