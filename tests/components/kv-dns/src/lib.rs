//! A DNS plugin with one zone, `example.test`, whose record sets live in the
//! `default` key-value store (plugins are instantiated per request, so state
//! must live somewhere durable). It inherits only `key_value_stores`.

wit_bindgen::generate!({ path: "../../../wit", world: "dns-plugin", generate_all });

use exports::skyport::dns::dns::{Guest, Precondition, RecordSet, RecordType, Zone};
use serde_json::{json, Value};
use skyport::types::types::{Detail, Error, Session};
use spin_sdk::key_value::Store;

const ZONE: &str = "example.test";

fn err(code: &str, message: &str) -> Error {
    Error::Other(Detail {
        code: code.into(),
        message: message.into(),
        target: None,
    })
}

fn store() -> Result<Store, Error> {
    Store::open_default().map_err(|e| err("StoreUnavailable", &format!("{e:?}")))
}

fn ty(t: RecordType) -> &'static str {
    match t {
        RecordType::A => "A",
        RecordType::Aaaa => "AAAA",
        RecordType::Cname => "CNAME",
        RecordType::Txt => "TXT",
    }
}

fn parse_ty(s: &str) -> RecordType {
    match s {
        "AAAA" => RecordType::Aaaa,
        "CNAME" => RecordType::Cname,
        "TXT" => RecordType::Txt,
        _ => RecordType::A,
    }
}

fn record(key: &str, v: &Value) -> RecordSet {
    let mut parts = key.splitn(3, '/').skip(1);
    let t = parts.next().unwrap_or("A");
    let name = parts.next().unwrap_or("@").to_string();
    RecordSet {
        fqdn: if name == "@" {
            ZONE.to_string()
        } else {
            format!("{name}.{ZONE}")
        },
        name,
        record_type: parse_ty(t),
        ttl: v["ttl"].as_u64().unwrap_or(300) as u32,
        values: v["values"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        etag: v["etag"].as_str().unwrap_or_default().to_string(),
    }
}

fn check(current: Option<&Value>, p: &Precondition) -> Result<(), Error> {
    let conflict = |m: &str| {
        Error::Conflict(Detail {
            code: "PreconditionFailed".into(),
            message: m.into(),
            target: None,
        })
    };
    match (p, current) {
        (Precondition::Absent, Some(_)) => Err(conflict("the record set exists")),
        (Precondition::Etag(e), Some(c)) if c["etag"].as_str() != Some(e.as_str()) => {
            Err(conflict("the etag does not match"))
        }
        (Precondition::Etag(_), None) => Err(conflict("the record set does not exist")),
        _ => Ok(()),
    }
}

struct Plugin;

impl Guest for Plugin {
    fn list_zones(_: Session, _scope: String) -> Result<Vec<Zone>, Error> {
        Ok(vec![Self::get_zone(
            Session {
                cloud: skyport::types::types::Cloud {
                    authority: String::new(),
                    management: String::new(),
                    audience: String::new(),
                },
                access_token: String::new(),
            },
            format!("kv:{ZONE}"),
        )?])
    }

    fn get_zone(_: Session, zone_id: String) -> Result<Zone, Error> {
        if zone_id != format!("kv:{ZONE}") {
            return Err(Error::NotFound(Detail {
                code: "NotFound".into(),
                message: format!("no zone {zone_id}"),
                target: None,
            }));
        }
        let count = store()?
            .get_keys()
            .map_err(|e| err("Store", &format!("{e:?}")))?
            .iter()
            .filter(|k| k.starts_with("rr/"))
            .count();
        Ok(Zone {
            id: zone_id,
            name: ZONE.into(),
            name_servers: vec!["ns1.example.test".into(), "ns2.example.test".into()],
            record_sets: count as u32,
        })
    }

    fn list_records(_: Session, _zone_id: String) -> Result<Vec<RecordSet>, Error> {
        let s = store()?;
        let mut keys: Vec<String> = s
            .get_keys()
            .map_err(|e| err("Store", &format!("{e:?}")))?
            .into_iter()
            .filter(|k| k.starts_with("rr/"))
            .collect();
        keys.sort();
        Ok(keys
            .iter()
            .filter_map(|k| {
                s.get(k)
                    .ok()
                    .flatten()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .map(|v| record(k, &v))
            })
            .collect())
    }

    fn set_record(
        _: Session,
        _zone_id: String,
        name: String,
        record_type: RecordType,
        ttl: u32,
        values: Vec<String>,
        precondition: Precondition,
    ) -> Result<RecordSet, Error> {
        let s = store()?;
        let key = format!("rr/{}/{name}", ty(record_type));
        let current = s
            .get(&key)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        check(current.as_ref(), &precondition)?;
        let version = current
            .as_ref()
            .and_then(|c| c["version"].as_u64())
            .unwrap_or(0)
            + 1;
        let v = json!({ "ttl": ttl, "values": values, "version": version, "etag": format!("v{version}") });
        s.set(&key, v.to_string().as_bytes())
            .map_err(|e| err("Store", &format!("{e:?}")))?;
        Ok(record(&key, &v))
    }

    fn delete_record(
        _: Session,
        _zone_id: String,
        name: String,
        record_type: RecordType,
        precondition: Precondition,
    ) -> Result<(), Error> {
        let s = store()?;
        let key = format!("rr/{}/{name}", ty(record_type));
        let current = s
            .get(&key)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        if current.is_some() {
            check(current.as_ref(), &precondition)?;
        }
        s.delete(&key).map_err(|e| err("Store", &format!("{e:?}")))
    }
}

export!(Plugin);
