//! Microsoft.Network/dnsZones: public zones (with their NS and SOA record
//! sets) and A, AAAA, CNAME and TXT record sets, with etags honoured through
//! If-Match and If-None-Match so a concurrent change is detected.

use http::Method;
use serde_json::{json, Value};

use super::errors::{arm_error, invalid_parameter};
use super::store::{self, Group};
use super::{body, lro};
use crate::http::{Req, Resp};
use crate::state::{guid, OpKind, State};

pub const ZONE: &str = "Microsoft.Network/dnsZones";
const NAME_SERVERS: [&str; 4] = [
    "ns1-01.azure-dns.com.",
    "ns2-01.azure-dns.net.",
    "ns3-01.azure-dns.org.",
    "ns4-01.azure-dns.info.",
];

/// Record types the emulator serves and the property each keeps its records in.
const TYPES: &[(&str, &str)] = &[
    ("A", "ARecords"),
    ("AAAA", "AAAARecords"),
    ("CNAME", "CNAMERecord"),
    ("TXT", "TXTRecords"),
    ("NS", "NSRecords"),
    ("SOA", "SOARecord"),
];

fn valid_zone_name(name: &str) -> bool {
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn record_id(zone_id: &str, ty: &str, rel: &str) -> String {
    format!("{zone_id}/{ty}/{rel}")
}

fn fqdn(rel: &str, zone: &str) -> String {
    if rel == "@" {
        format!("{zone}.")
    } else {
        format!("{rel}.{zone}.")
    }
}

fn record_json(
    zone_id: &str,
    zone: &str,
    ty: &str,
    rel: &str,
    ttl: u64,
    records: (&str, Value),
    metadata: Value,
) -> Value {
    let mut props =
        json!({ "TTL": ttl, "fqdn": fqdn(rel, zone), "provisioningState": "Succeeded" });
    if !metadata.is_null() {
        props["metadata"] = metadata;
    }
    props[records.0] = records.1;
    json!({ "id": record_id(zone_id, ty, rel), "etag": guid(), "name": rel, "type": format!("{ZONE}/{ty}"), "properties": props })
}

fn count_records(state: &mut State, zone_id: &str) {
    let prefix = format!("{}/", zone_id.to_ascii_lowercase());
    let n = state
        .resources
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .count();
    if let Some(z) = state.resources.get_mut(&zone_id.to_ascii_lowercase()) {
        z.body["properties"]["numberOfRecordSets"] = json!(n);
    }
}

fn precondition(req: &Req, existing: Option<&Value>, what: &str) -> Result<(), Resp> {
    if req.header("if-none-match") == Some("*") && existing.is_some() {
        return Err(arm_error(
            412,
            "PreconditionFailed",
            &format!("The {what} exists already and hence cannot be created again."),
        ));
    }
    if let Some(expected) = req.header("if-match") {
        let current = existing.and_then(|e| e["etag"].as_str());
        let matches = match current {
            Some(c) => expected == "*" || expected.trim_matches('"') == c.trim_matches('"'),
            None => false,
        };
        if !matches {
            return Err(arm_error(
                412,
                "PreconditionFailed",
                &format!("The {what} has been modified (etag mismatch)."),
            ));
        }
    }
    Ok(())
}

/// `PUT|GET|DELETE …/dnsZones/{zone}`.
pub fn zone(state: &mut State, req: &Req, g: &Group, name: &str) -> Resp {
    let id = g.id(ZONE, name);
    let existing = state.resource(&id).map(|r| r.body.clone());
    match req.method {
        Method::GET => existing
            .map(|b| Resp::json(200, &b))
            .unwrap_or_else(|| store::not_found(ZONE, name, &g.rg)),
        Method::PUT => {
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            if b["location"]
                .as_str()
                .is_some_and(|l| !l.eq_ignore_ascii_case("global"))
                || b["location"].is_null()
            {
                return invalid_parameter(
                    "The location of a DNS zone must be 'global'.",
                    "location",
                );
            }
            if !valid_zone_name(name) {
                return arm_error(
                    400,
                    "BadRequest",
                    &format!("The zone name '{name}' is invalid."),
                );
            }
            if let Err(r) = precondition(req, existing.as_ref(), &format!("zone {name}")) {
                return r;
            }
            create_zone(state, g, name, b.get("tags").cloned());
            let body = state
                .resource(&id)
                .map(|r| r.body.clone())
                .unwrap_or_default();
            Resp::json(if existing.is_some() { 200 } else { 201 }, &body)
        }
        Method::DELETE => {
            if existing.is_none() {
                return Resp::new(204);
            }
            if let Err(r) = precondition(req, existing.as_ref(), &format!("zone {name}")) {
                return r;
            }
            let prefix = format!("{}/", id.to_ascii_lowercase());
            let mut ids: Vec<String> = state
                .resources
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, r)| r.id.clone())
                .collect();
            ids.insert(0, id.clone());
            let op = lro::start(
                state,
                &g.sub,
                "global",
                "Microsoft.Network",
                OpKind::Delete(ids),
                &req.path,
            );
            lro::headers(state, Resp::new(202), &op, true, true)
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}

/// Creates (or keeps) a zone with its apex NS and SOA record sets.
pub fn create_zone(state: &mut State, g: &Group, name: &str, tags: Option<Value>) {
    let id = g.id(ZONE, name);
    let existed = state.resource(&id).map(|r| r.body.clone());
    let zone = json!({
        "id": id, "name": name, "type": ZONE, "location": "global", "etag": guid(),
        "tags": tags.or_else(|| existed.as_ref().map(|e| e["tags"].clone())).unwrap_or(json!({})),
        "properties": { "maxNumberOfRecordSets": 10000, "maxNumberOfRecordsPerRecordSet": 20, "numberOfRecordSets": 2, "nameServers": NAME_SERVERS, "zoneType": "Public" },
    });
    store::put(state, ZONE, Some(g), &g.sub, &id, zone);
    if existed.is_none() {
        let ns: Vec<Value> = NAME_SERVERS
            .iter()
            .map(|n| json!({ "nsdname": n }))
            .collect();
        let ns_set = record_json(
            &id,
            name,
            "NS",
            "@",
            172800,
            ("NSRecords", Value::Array(ns)),
            Value::Null,
        );
        let soa = json!({ "host": NAME_SERVERS[0], "email": "azuredns-hostmaster.microsoft.com", "serialNumber": 1, "refreshTime": 3600, "retryTime": 300, "expireTime": 2419200, "minimumTTL": 300 });
        let soa_set = record_json(&id, name, "SOA", "@", 3600, ("SOARecord", soa), Value::Null);
        store::put(
            state,
            &format!("{ZONE}/NS"),
            Some(g),
            &g.sub,
            &record_id(&id, "NS", "@"),
            ns_set,
        );
        store::put(
            state,
            &format!("{ZONE}/SOA"),
            Some(g),
            &g.sub,
            &record_id(&id, "SOA", "@"),
            soa_set,
        );
    }
    count_records(state, &id);
}

/// `GET …/dnsZones/{zone}/recordsets` or `…/dnsZones/{zone}/{type}`.
pub fn list_records(state: &mut State, req: &Req, g: &Group, zone: &str, ty: Option<&str>) -> Resp {
    let zone_id = g.id(ZONE, zone);
    if state.resource(&zone_id).is_none() {
        return store::not_found(ZONE, zone, &g.rg);
    }
    let prefix = match ty {
        Some(t) => format!(
            "{}/{}/",
            zone_id.to_ascii_lowercase(),
            t.to_ascii_lowercase()
        ),
        None => format!("{}/", zone_id.to_ascii_lowercase()),
    };
    store::list_under(state, req, &prefix)
}

/// Checks a record set body for `ty`; returns (ttl, (property, records)).
fn check_records(ty: &str, rel: &str, props: &Value) -> Result<(u64, (&'static str, Value)), Resp> {
    let Some((_, prop)) = TYPES.iter().find(|(t, _)| *t == ty) else {
        unreachable!("type checked by the caller")
    };
    for (other_ty, other) in TYPES {
        if *other_ty != ty && !props[*other].is_null() {
            return Err(arm_error(
                400,
                "BadRequest",
                &format!("The record set of type {ty} cannot contain {other}."),
            ));
        }
    }
    let ttl = props["TTL"].as_u64().unwrap_or(3600);
    if ttl > 2147483647 {
        return Err(invalid_parameter(
            "TTL must be between 0 and 2147483647.",
            "properties.TTL",
        ));
    }
    let records = props[*prop].clone();
    match ty {
        "A" | "AAAA" => {
            let key = if ty == "A" {
                "ipv4Address"
            } else {
                "ipv6Address"
            };
            let list = records.as_array().cloned().unwrap_or_default();
            for r in &list {
                let text = r[key].as_str().unwrap_or("");
                let ok = if ty == "A" {
                    text.parse::<std::net::Ipv4Addr>().is_ok()
                } else {
                    text.parse::<std::net::Ipv6Addr>().is_ok()
                };
                if !ok {
                    return Err(invalid_parameter(
                        &format!("The value '{text}' is not a valid {key}."),
                        &format!("properties.{prop}"),
                    ));
                }
            }
        }
        "CNAME" => {
            if rel == "@" {
                return Err(arm_error(
                    400,
                    "BadRequest",
                    "A CNAME record set cannot be created at the zone apex (@).",
                ));
            }
            if records["cname"].as_str().is_none_or(str::is_empty) {
                return Err(invalid_parameter(
                    "A CNAME record set needs CNAMERecord.cname.",
                    "properties.CNAMERecord",
                ));
            }
        }
        "TXT" => {
            for r in records.as_array().cloned().unwrap_or_default() {
                let values = r["value"].as_array().cloned().unwrap_or_default();
                if values.is_empty()
                    || values
                        .iter()
                        .any(|v| v.as_str().is_none_or(|s| s.len() > 1024))
                {
                    return Err(invalid_parameter(
                        "Each TXT record needs a value: an array of strings.",
                        "properties.TXTRecords",
                    ));
                }
            }
        }
        _ => {}
    }
    Ok((
        ttl,
        (
            prop,
            if records.is_null() {
                json!([])
            } else {
                records
            },
        ),
    ))
}

/// `PUT|PATCH|GET|DELETE …/dnsZones/{zone}/{type}/{relativeName}`.
pub fn record_set(
    state: &mut State,
    req: &Req,
    g: &Group,
    zone: &str,
    ty: &str,
    rel: &str,
) -> Resp {
    let zone_id = g.id(ZONE, zone);
    let Some(zone_body) = state.resource(&zone_id).map(|r| r.body.clone()) else {
        return store::not_found(ZONE, zone, &g.rg);
    };
    let zone_name = zone_body["name"].as_str().unwrap_or(zone).to_string();
    let ty = ty.to_ascii_uppercase();
    if !TYPES.iter().any(|(t, _)| *t == ty) {
        return arm_error(400, "BadRequest", &format!("The record type '{ty}' is not supported by the emulator; use A, AAAA, CNAME or TXT."));
    }
    let id = record_id(&zone_id, &ty, rel);
    let existing = state.resource(&id).map(|r| r.body.clone());
    let what = format!("Record set {rel} of type {ty}");
    match req.method {
        Method::GET => existing.map(|b| Resp::json(200, &b)).unwrap_or_else(|| arm_error(404, "NotFound", &format!("The resource record '{rel}' does not exist in resource group '{}' of subscription '{}'.", g.rg, g.sub))),
        Method::PUT | Method::PATCH => {
            if req.method == Method::PATCH && existing.is_none() {
                return arm_error(404, "NotFound", &format!("The resource record '{rel}' does not exist in resource group '{}' of subscription '{}'.", g.rg, g.sub));
            }
            if ty == "SOA" || (ty == "NS" && rel == "@") {
                return arm_error(400, "BadRequest", "The apex SOA and NS record sets are managed by Azure DNS.");
            }
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            if let Err(r) = precondition(req, existing.as_ref(), &what) {
                return r;
            }
            let mut props = b["properties"].clone();
            if req.method == Method::PATCH {
                let mut merged = existing.as_ref().map(|e| e["properties"].clone()).unwrap_or(json!({}));
                if let Some(p) = props.as_object() {
                    for (k, v) in p {
                        merged[k] = v.clone();
                    }
                }
                props = merged;
            }
            let (ttl, records) = match check_records(&ty, rel, &props) {
                Ok(x) => x,
                Err(r) => return r,
            };
            // CNAME cannot share a name with any other type.
            let others: Vec<String> = TYPES
                .iter()
                .map(|(t, _)| *t)
                .filter(|t| *t != ty && (ty == "CNAME" || *t == "CNAME"))
                .filter(|t| state.resource(&record_id(&zone_id, t, rel)).is_some())
                .map(str::to_string)
                .collect();
            if let Some(other) = others.first() {
                return arm_error(409, "Conflict", &format!("The record set {rel} of type {ty} conflicts with an existing record set of type {other}: a CNAME cannot share its name with other records."));
            }
            let out = record_json(&zone_id, &zone_name, &ty, rel, ttl, records, props["metadata"].clone());
            store::put(state, &format!("{ZONE}/{ty}"), Some(g), &g.sub, &id, out.clone());
            count_records(state, &zone_id);
            Resp::json(if existing.is_some() { 200 } else { 201 }, &out)
        }
        Method::DELETE => {
            if existing.is_none() {
                return Resp::new(204);
            }
            if ty == "SOA" || (ty == "NS" && rel == "@") {
                return arm_error(400, "BadRequest", "The apex SOA and NS record sets cannot be deleted.");
            }
            if let Err(r) = precondition(req, existing.as_ref(), &what) {
                return r;
            }
            store::remove(state, &id);
            count_records(state, &zone_id);
            Resp::new(200)
        }
        _ => arm_error(405, "MethodNotAllowed", "The method is not allowed."),
    }
}
