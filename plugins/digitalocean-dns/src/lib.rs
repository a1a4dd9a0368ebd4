//! The DigitalOcean DNS plugin: `skyport:dns` over DigitalOcean's domains
//! and domain records. This file answers the contract (zone ids are domain
//! names; the scope is the token's team); `sets.rs` groups DigitalOcean's
//! single records into the contract's record sets and plans the writes
//! that change one.
//!
//! DigitalOcean has no conditional writes, so a write reads the set first,
//! compares the etag the caller read with the one it has now, and only then
//! changes records: a concurrent change between the two is not seen, one
//! made before the read is.

mod sets;

wit_bindgen::generate!({
    path: "../../wit",
    world: "dns-plugin",
    generate_all,
    with: { "skyport:types/types@0.2.0": digitalocean_api::types },
});

use digitalocean_api::types::{Error, Session};
use digitalocean_api::{self as api, detail};
use exports::skyport::dns::dns::{Guest, Precondition, RecordSet, RecordType, Zone};
use serde_json::json;
use sets::{Record, Set, Write};
use spin_sdk::http::Method;

struct Plugin;

export!(Plugin);

fn kind(t: RecordType) -> &'static str {
    match t {
        RecordType::A => "A",
        RecordType::Aaaa => "AAAA",
        RecordType::Cname => "CNAME",
        RecordType::Txt => "TXT",
    }
}

fn record_type(kind: &str) -> Option<RecordType> {
    Some(match kind {
        "A" => RecordType::A,
        "AAAA" => RecordType::Aaaa,
        "CNAME" => RecordType::Cname,
        "TXT" => RecordType::Txt,
        _ => return None,
    })
}

/// A record's name relative to the domain: `@`, or labels of letters,
/// digits, hyphens and underscores (a `*` first label for a wildcard) —
/// checked before it becomes part of a URL's query.
fn check_name(name: &str) -> Result<String, Error> {
    let lower = name.to_ascii_lowercase();
    let ok = lower == "@"
        || (!lower.is_empty()
            && lower.len() <= 253
            && lower.split('.').enumerate().all(|(i, l)| {
                (i == 0 && l == "*")
                    || (!l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            }));
    if ok {
        Ok(lower)
    } else {
        Err(Error::InvalidInput(detail(
            "invalid_name",
            &format!("`{name}` is not a record name relative to the domain: labels of letters, digits, hyphens and underscores, not starting or ending with a hyphen (`www`, or `@` for the apex)."),
            Some("name"),
        )))
    }
}

fn fqdn(name: &str, domain: &str) -> String {
    if name == "@" {
        domain.to_string()
    } else {
        format!("{name}.{domain}")
    }
}

/// A value as it is compared: an address in its canonical form, a CNAME
/// target without its final dot and in lowercase (`@` is the domain
/// itself), a text as it is.
fn plain(kind: &str, data: &str, domain: &str) -> String {
    match kind {
        "A" | "AAAA" => data
            .parse::<std::net::IpAddr>()
            .map_or_else(|_| data.to_string(), |ip| ip.to_string()),
        "CNAME" if data == "@" => domain.to_string(),
        "CNAME" => data.trim_end_matches('.').to_ascii_lowercase(),
        _ => data.to_string(),
    }
}

/// A value as DigitalOcean takes it: a CNAME target fully qualified, with
/// its final dot (without one DigitalOcean reads it relative to the domain).
fn wire(kind: &str, data: &str) -> String {
    match kind {
        "CNAME" => format!("{}.", data.trim_end_matches('.')),
        _ => data.to_string(),
    }
}

/// Every record of the domain, or those of one name and type.
fn records(
    session: &Session,
    domain: &str,
    only: Option<(&str, &str)>,
) -> Result<Vec<Record>, Error> {
    let path = match only {
        Some((name, kind)) => format!(
            "/v2/domains/{domain}/records?type={kind}&name={}",
            fqdn(name, domain)
        ),
        None => format!("/v2/domains/{domain}/records"),
    };
    let all = api::list(session, &path, "domain_records")?;
    Ok(all
        .iter()
        .filter_map(Record::from_json)
        .map(|mut r| {
            r.name = r.name.to_ascii_lowercase();
            r.data = plain(&r.kind, &r.data, domain);
            r
        })
        .collect())
}

fn record_set(set: &Set, domain: &str) -> Option<RecordSet> {
    Some(RecordSet {
        name: set.name.clone(),
        record_type: record_type(&set.kind)?,
        ttl: set.ttl(),
        values: set.records.iter().map(|r| r.data.clone()).collect(),
        etag: set.etag(),
        fqdn: fqdn(&set.name, domain),
    })
}

/// A zone from its records: the name servers are the apex's NS records.
fn zone(domain: &str, records: &[Record]) -> Zone {
    let mut kinds: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.name.as_str(), r.kind.as_str()))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    Zone {
        id: domain.to_string(),
        name: domain.to_string(),
        name_servers: records
            .iter()
            .filter(|r| r.kind == "NS" && r.name == "@")
            .map(|r| r.data.trim_end_matches('.').to_string())
            .collect(),
        record_sets: kinds.len() as u32,
    }
}

fn all_records(session: &Session, domain: &str) -> Result<Vec<Record>, Error> {
    // The domain itself first: a domain that is not there is not found,
    // where its records' list might answer otherwise.
    api::call(session, Method::Get, &format!("/v2/domains/{domain}"), None)?;
    records(session, domain, None)
}

/// The set of one name and type as it is now.
fn current(session: &Session, domain: &str, name: &str, kind: &str) -> Result<Set, Error> {
    let mut records: Vec<Record> = records(session, domain, Some((name, kind)))?
        .into_iter()
        .filter(|r| r.name == name && r.kind == kind)
        .collect();
    records.sort_by_key(|r| r.id);
    Ok(Set {
        name: name.to_string(),
        kind: kind.to_string(),
        records,
    })
}

fn changed(kind: &str, name: &str, message: &str) -> Error {
    Error::Conflict(detail(
        "precondition_failed",
        &format!("The {kind} records of `{name}` {message}."),
        Some(name),
    ))
}

/// What a record set may hold, checked before anything is written.
fn check_values(kind: &str, ttl: u32, values: &[String]) -> Result<(), Error> {
    let invalid = |m: String| {
        Err(Error::InvalidInput(detail(
            "invalid_value",
            &m,
            Some("values"),
        )))
    };
    if values.is_empty() {
        return invalid("A record set needs at least one value.".into());
    }
    if kind == "CNAME" && values.len() > 1 {
        return invalid("A CNAME record set has exactly one target.".into());
    }
    // DigitalOcean's shortest time to live.
    if ttl < 30 {
        return invalid(format!(
            "A time to live of {ttl} seconds is shorter than DigitalOcean's 30."
        ));
    }
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .find(|(i, v)| values[..*i].contains(v))
    {
        return invalid(format!(
            "`{v}` is given twice (value {}); give each value once.",
            i + 1
        ));
    }
    match values.iter().find(|v| match kind {
        "A" => v.parse::<std::net::Ipv4Addr>().is_err(),
        "AAAA" => v.parse::<std::net::Ipv6Addr>().is_err(),
        "CNAME" => {
            let host = v.trim_end_matches('.');
            check_name(host).is_err() || !host.contains('.')
        }
        // DigitalOcean trims a text's ends, so one with spaces there would
        // never read back as it was given.
        _ => v.trim().is_empty() || v.trim() != v.as_str() || v.len() > 512,
    }) {
        Some(v) => invalid(format!(
            "`{v}` is not a valid {kind} value{}.",
            match kind {
                "CNAME" => " (a host name such as web.example.net)",
                "TXT" => " (1–512 characters, without spaces at either end)",
                _ => "",
            }
        )),
        None => Ok(()),
    }
}

/// A zone from the domain's zone file, as `GET /v2/domains` gives it: the
/// name servers are the apex's NS records, and the record sets are the
/// distinct names and types. `None` without a zone file.
fn zone_of_file(domain: &str, zone_file: &str) -> Option<Zone> {
    let mut kinds: Vec<(String, String)> = Vec::new();
    let mut name_servers = Vec::new();
    for line in zone_file.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "IN") else {
            continue;
        };
        let (Some(owner), Some(kind)) = (words.first(), words.get(at + 1)) else {
            continue;
        };
        let owner = owner.trim_end_matches('.').to_ascii_lowercase();
        if kind.eq_ignore_ascii_case("NS") && owner == domain {
            if let Some(ns) = words.get(at + 2) {
                name_servers.push(ns.trim_end_matches('.').to_string());
            }
        }
        let key = (owner, kind.to_ascii_uppercase());
        if !kinds.contains(&key) {
            kinds.push(key);
        }
    }
    (!kinds.is_empty()).then(|| Zone {
        id: domain.to_string(),
        name: domain.to_string(),
        name_servers,
        record_sets: kinds.len() as u32,
    })
}

impl Guest for Plugin {
    fn list_zones(session: Session, scope: String) -> Result<Vec<Zone>, Error> {
        api::team_in(&session, &scope)?;
        let domains = api::list(&session, "/v2/domains", "domains")?;
        let mut zones = Vec::new();
        for d in &domains {
            // A name DigitalOcean answers is checked like any other before
            // it becomes part of the next URL.
            let Ok(domain) = api::domain(d["name"].as_str().unwrap_or_default()) else {
                continue;
            };
            // The zone file comes with the list; only a domain without one
            // costs a request of its own (and one deleted meanwhile is left out).
            let zone = match zone_of_file(&domain, d["zone_file"].as_str().unwrap_or_default()) {
                Some(z) => z,
                None => match records(&session, &domain, None) {
                    Ok(r) => zone(&domain, &r),
                    Err(Error::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                },
            };
            zones.push(zone);
        }
        Ok(zones)
    }

    fn get_zone(session: Session, zone_id: String) -> Result<Zone, Error> {
        let domain = api::domain(&zone_id)?;
        Ok(zone(&domain, &all_records(&session, &domain)?))
    }

    fn list_records(session: Session, zone_id: String) -> Result<Vec<RecordSet>, Error> {
        let domain = api::domain(&zone_id)?;
        let all = all_records(&session, &domain)?;
        Ok(sets::group(all)
            .iter()
            .filter_map(|s| record_set(s, &domain))
            .collect())
    }

    fn set_record(
        session: Session,
        zone_id: String,
        name: String,
        record_type: RecordType,
        ttl: u32,
        values: Vec<String>,
        precondition: Precondition,
    ) -> Result<RecordSet, Error> {
        let domain = api::domain(&zone_id)?;
        let name = check_name(&name)?;
        let kind = kind(record_type);
        check_values(kind, ttl, &values)?;
        let wanted: Vec<String> = values.iter().map(|v| plain(kind, v, &domain)).collect();
        let before = current(&session, &domain, &name, kind)?;
        let writes = sets::plan(&before.records, &wanted, ttl);
        // The precondition holds as the contract words it, even when the set
        // already holds what is asked: a create-only write of a set that
        // exists, or one read with another etag, is a `conflict`. The
        // caller knows whether it is resuming its own write, and checks the
        // values then. Only a write stopped part way (some of its records
        // made, none of anyone else's changed) is carried on here.
        let done = writes.is_empty();
        match &precondition {
            Precondition::None => {}
            Precondition::Absent
                if !before.records.is_empty()
                    && (done || !sets::resumable(&before.records, None, &wanted, ttl)) =>
            {
                return Err(changed(kind, &name, "already exist"));
            }
            Precondition::Absent => {}
            Precondition::Etag(e)
                if before.records.is_empty()
                    || (*e != before.etag()
                        && (done || !sets::resumable(&before.records, Some(e), &wanted, ttl))) =>
            {
                return Err(changed(kind, &name, "changed since they were read"));
            }
            Precondition::Etag(_) => {}
        }
        let base = format!("/v2/domains/{domain}/records");
        for write in writes {
            match write {
                Write::Create { data } => {
                    let body = json!({ "type": kind, "name": name, "data": wire(kind, &data), "ttl": ttl });
                    api::call(&session, Method::Post, &base, Some(body))?;
                }
                Write::Update { id, data } => {
                    let body = json!({ "data": wire(kind, &data), "ttl": ttl });
                    api::call(&session, Method::Patch, &format!("{base}/{id}"), Some(body))?;
                }
                Write::Delete { id } => delete(&session, &base, id)?,
            }
        }
        let after = current(&session, &domain, &name, kind)?;
        record_set(&after, &domain).ok_or_else(|| {
            Error::Other(detail(
                "unexpected_response",
                "DigitalOcean did not answer with the record set it was given.",
                Some(&name),
            ))
        })
    }

    fn delete_record(
        session: Session,
        zone_id: String,
        name: String,
        record_type: RecordType,
        precondition: Precondition,
    ) -> Result<(), Error> {
        let domain = api::domain(&zone_id)?;
        let name = check_name(&name)?;
        let kind = kind(record_type);
        let set = current(&session, &domain, &name, kind)?;
        // Deleting a set that is not there succeeds, whatever was read; one
        // left part way by a deletion that stopped is deleted on.
        if set.records.is_empty() {
            return Ok(());
        }
        match &precondition {
            Precondition::Absent => return Err(changed(kind, &name, "exist")),
            Precondition::Etag(e) if *e != set.etag() && !sets::left_of(&set.records, e) => {
                return Err(changed(kind, &name, "changed since they were read"));
            }
            _ => {}
        }
        let base = format!("/v2/domains/{domain}/records");
        for r in &set.records {
            delete(&session, &base, r.id)?;
        }
        Ok(())
    }
}

/// Deletes one record; one already gone is deleted.
fn delete(session: &Session, base: &str, id: u64) -> Result<(), Error> {
    match api::call(session, Method::Delete, &format!("{base}/{id}"), None) {
        Ok(_) | Err(Error::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_labels_or_the_apex() {
        for ok in ["@", "www", "*.apps", "_acme-challenge.www", "WWW"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "www&type=NS",
            "a/b",
            "a b",
            "*x",
            "www.*",
            &"a".repeat(64),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(fqdn("@", "sammy.com"), "sammy.com");
        assert_eq!(fqdn("www", "sammy.com"), "www.sammy.com");
    }

    #[test]
    fn cname_targets_travel_fully_qualified_and_compare_plain() {
        assert_eq!(wire("CNAME", "Web.Example.net"), "Web.Example.net.");
        assert_eq!(wire("CNAME", "web.example.net."), "web.example.net.");
        assert_eq!(wire("TXT", "v=spf1 -all"), "v=spf1 -all");
        assert_eq!(
            plain("CNAME", "Web.Example.net.", "sammy.com"),
            "web.example.net"
        );
        assert_eq!(plain("CNAME", "@", "sammy.com"), "sammy.com");
        assert_eq!(plain("TXT", "Case Kept.", "sammy.com"), "Case Kept.");
        assert_eq!(plain("AAAA", "2001:DB8:0::1", "sammy.com"), "2001:db8::1");
    }

    #[test]
    fn values_are_checked_before_anything_is_written() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_values("A", 300, &v(&["203.0.113.1", "203.0.113.2"])).is_ok());
        assert!(check_values("AAAA", 300, &v(&["2001:db8::1"])).is_ok());
        assert!(check_values("CNAME", 300, &v(&["web.example.net"])).is_ok());
        assert!(check_values("TXT", 300, &v(&["v=spf1 -all"])).is_ok());
        for (kind, ttl, values) in [
            ("A", 300, v(&[])),
            ("A", 300, v(&["2001:db8::1"])),
            ("AAAA", 300, v(&["203.0.113.1"])),
            ("CNAME", 300, v(&["a.example.net", "b.example.net"])),
            ("CNAME", 300, v(&["web"])),
            ("CNAME", 300, v(&["web example.net"])),
            ("TXT", 300, v(&[""])),
            ("A", 29, v(&["203.0.113.1"])),
            ("A", 300, v(&["203.0.113.1", "203.0.113.1"])),
            ("CNAME", 300, v(&["web."])),
            ("TXT", 300, v(&[" v=spf1 -all"])),
            ("TXT", 300, v(&["   "])),
        ] {
            let e = check_values(kind, ttl, &values);
            assert!(
                matches!(e, Err(Error::InvalidInput(_))),
                "{kind} {ttl} {values:?}"
            );
        }
    }

    #[test]
    fn a_zone_is_read_from_its_zone_file() {
        let file = "$ORIGIN sammy.com.\n$TTL 1800\nsammy.com. IN SOA ns1.digitalocean.com. hostmaster.sammy.com. 1 10800 3600 604800 1800\nsammy.com. 1800 IN NS ns1.digitalocean.com.\nsammy.com. 1800 IN NS ns2.digitalocean.com.\nsammy.com. 1800 IN A 203.0.113.10\nwww.sammy.com. 300 IN A 203.0.113.11\nwww.sammy.com. 300 IN A 203.0.113.12\n";
        let z = zone_of_file("sammy.com", file).unwrap();
        assert_eq!(
            z.name_servers,
            ["ns1.digitalocean.com", "ns2.digitalocean.com"]
        );
        assert_eq!(z.record_sets, 4);
        assert!(zone_of_file("sammy.com", "").is_none());
    }

    #[test]
    fn a_zone_names_its_servers_and_counts_its_sets() {
        let r = |id, kind: &str, name: &str, data: &str| Record {
            id,
            kind: kind.into(),
            name: name.into(),
            data: data.into(),
            ttl: 1800,
        };
        let z = zone(
            "sammy.com",
            &[
                r(1, "SOA", "@", "1800"),
                r(2, "NS", "@", "ns1.digitalocean.com."),
                r(3, "NS", "@", "ns2.digitalocean.com"),
                r(4, "A", "@", "203.0.113.10"),
                r(5, "A", "www", "203.0.113.10"),
                r(6, "A", "www", "203.0.113.11"),
            ],
        );
        assert_eq!(
            z.name_servers,
            ["ns1.digitalocean.com", "ns2.digitalocean.com"]
        );
        assert_eq!(z.record_sets, 4);
        assert_eq!(z.id, "sammy.com");
    }
}
