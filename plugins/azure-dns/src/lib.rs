//! The Azure DNS plugin: `skyport:dns` over ARM's
//! `Microsoft.Network/dnsZones` (api-version 2018-05-01). Zone ids are ARM
//! resource ids; etags map to If-Match / If-None-Match.

wit_bindgen::generate!({ path: "../../wit", world: "dns-plugin", generate_all, with: { "skyport:types/types@0.2.0": azure_arm::contract::types } });

use azure_arm::contract::types::{self as wit, Session};
use azure_arm::contract::with_arm;
use azure_arm::names::{self, Name};
use azure_arm::ArmError;
use exports::skyport::dns::dns::{Guest, Precondition, RecordSet, RecordType, Zone};
use serde_json::{json, Value};

const API: &str = "2018-05-01";

fn zone(v: &Value) -> Zone {
    Zone {
        id: v["id"].as_str().unwrap_or_default().to_string(),
        name: v["name"].as_str().unwrap_or_default().to_string(),
        name_servers: v["properties"]["nameServers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str())
                    .map(|n| n.trim_end_matches('.').to_string())
                    .collect()
            })
            .unwrap_or_default(),
        record_sets: v["properties"]["numberOfRecordSets"].as_u64().unwrap_or(0) as u32,
    }
}

fn type_name(t: RecordType) -> &'static str {
    match t {
        RecordType::A => "A",
        RecordType::Aaaa => "AAAA",
        RecordType::Cname => "CNAME",
        RecordType::Txt => "TXT",
    }
}

/// The record set in a body, or `None` for types the contract does not carry (NS, SOA).
fn record_set(v: &Value) -> Option<RecordSet> {
    let ty = v["type"].as_str()?.rsplit('/').next()?.to_ascii_uppercase();
    let p = &v["properties"];
    let (record_type, values): (RecordType, Vec<String>) = match ty.as_str() {
        "A" => (
            RecordType::A,
            p["ARecords"]
                .as_array()?
                .iter()
                .filter_map(|r| r["ipv4Address"].as_str().map(str::to_string))
                .collect(),
        ),
        "AAAA" => (
            RecordType::Aaaa,
            p["AAAARecords"]
                .as_array()?
                .iter()
                .filter_map(|r| r["ipv6Address"].as_str().map(str::to_string))
                .collect(),
        ),
        "CNAME" => (
            RecordType::Cname,
            p["CNAMERecord"]["cname"]
                .as_str()
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
        ),
        "TXT" => (
            RecordType::Txt,
            p["TXTRecords"]
                .as_array()?
                .iter()
                .map(|r| {
                    r["value"]
                        .as_array()
                        .map(|parts| parts.iter().filter_map(|s| s.as_str()).collect::<String>())
                        .unwrap_or_default()
                })
                .collect(),
        ),
        _ => return None,
    };
    Some(RecordSet {
        name: v["name"].as_str().unwrap_or_default().to_string(),
        record_type,
        ttl: p["TTL"].as_u64().unwrap_or(3600) as u32,
        values,
        etag: v["etag"].as_str().unwrap_or_default().to_string(),
        fqdn: p["fqdn"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_string(),
    })
}

/// The ARM body for a record set.
fn body(record_type: RecordType, ttl: u32, values: &[String]) -> Value {
    let records = match record_type {
        RecordType::A => {
            json!({ "ARecords": values.iter().map(|v| json!({ "ipv4Address": v })).collect::<Vec<_>>() })
        }
        RecordType::Aaaa => {
            json!({ "AAAARecords": values.iter().map(|v| json!({ "ipv6Address": v })).collect::<Vec<_>>() })
        }
        RecordType::Cname => {
            json!({ "CNAMERecord": { "cname": values.first().cloned().unwrap_or_default() } })
        }
        // A TXT value longer than 255 characters travels as several strings.
        RecordType::Txt => json!({ "TXTRecords": values.iter().map(|v| {
            let chunks: Vec<String> = v.as_bytes().chunks(255).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            json!({ "value": if chunks.is_empty() { vec![String::new()] } else { chunks } })
        }).collect::<Vec<_>>() }),
    };
    let mut props = json!({ "TTL": ttl });
    if let (Some(p), Some(r)) = (props.as_object_mut(), records.as_object()) {
        p.extend(r.clone());
    }
    json!({ "properties": props })
}

fn headers(p: &Precondition) -> Vec<(&'static str, String)> {
    match p {
        Precondition::None => vec![],
        Precondition::Absent => vec![("if-none-match", "*".to_string())],
        Precondition::Etag(e) => vec![("if-match", e.clone())],
    }
}

/// A zone id checked and rebuilt from its parts: a `Microsoft.Network/dnszones`
/// resource and nothing else.
fn zone_path(zone_id: &str) -> Result<String, ArmError> {
    Ok(names::resource_id(
        zone_id,
        "Microsoft.Network",
        "dnszones",
        Name::DnsZone,
        None,
    )?
    .to_path("Microsoft.Network", "dnszones"))
}

struct Plugin;

impl Guest for Plugin {
    fn list_zones(session: Session, scope: String) -> Result<Vec<Zone>, wit::Error> {
        with_arm(&session, |arm| {
            names::check(Name::Subscription, &scope)?;
            arm.list(
                &format!("/subscriptions/{scope}/providers/Microsoft.Network/dnszones"),
                API,
            )
        })
        .map(|z| z.iter().map(zone).collect())
    }

    fn get_zone(session: Session, zone_id: String) -> Result<Zone, wit::Error> {
        with_arm(&session, |arm| arm.get(&zone_path(&zone_id)?, API)).map(|z| zone(&z))
    }

    fn list_records(session: Session, zone_id: String) -> Result<Vec<RecordSet>, wit::Error> {
        with_arm(&session, |arm| {
            arm.list(&format!("{}/recordsets", zone_path(&zone_id)?), API)
        })
        .map(|r| r.iter().filter_map(record_set).collect())
    }

    fn set_record(
        session: Session,
        zone_id: String,
        name: String,
        record_type: RecordType,
        ttl: u32,
        values: Vec<String>,
        precondition: Precondition,
    ) -> Result<RecordSet, wit::Error> {
        let h = headers(&precondition);
        let extra: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_arm(&session, |arm| {
            let zone = zone_path(&zone_id)?;
            names::check(Name::RecordName, &name)?;
            let resp = arm.send_with(
                "PUT",
                &format!("{zone}/{}/{name}", type_name(record_type)),
                API,
                Some(&body(record_type, ttl, &values)),
                &extra,
            )?;
            Ok(resp.json().unwrap_or(Value::Null))
        })
        .and_then(|v| {
            record_set(&v).ok_or_else(|| {
                wit::Error::Other(wit::Detail {
                    code: "UnexpectedResponse".into(),
                    message: "the record set came back in an unexpected shape".into(),
                    target: None,
                })
            })
        })
    }

    fn delete_record(
        session: Session,
        zone_id: String,
        name: String,
        record_type: RecordType,
        precondition: Precondition,
    ) -> Result<(), wit::Error> {
        let h = headers(&precondition);
        let extra: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_arm(&session, |arm| {
            let zone = zone_path(&zone_id)?;
            names::check(Name::RecordName, &name)?;
            arm.send_with(
                "DELETE",
                &format!("{zone}/{}/{name}", type_name(record_type)),
                API,
                None,
                &extra,
            )
            .map(|_| ())
        })
    }
}

export!(Plugin);
