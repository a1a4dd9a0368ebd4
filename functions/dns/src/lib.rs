//! The DNS function (DNS Providers › Quick Setup): list a connected
//! account's zones, choose one for a domain, see its name servers, and
//! create, update and delete records — with etags, so a concurrent change is
//! refused rather than overwritten. The DNS plugin is whatever spin.toml wires
//! to `skyport:dns`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "dns-client",
    generate_all,
    with: { "skyport:types/types@0.2.0": skyport_functions::plugin_types },
});

use serde_json::{json, Value};
use skyport::dns::dns::{self as plugin, Precondition, RecordSet, RecordType};
use skyport_functions::api::{
    check_id, check_scope, json_body, json_response, opt_int, opt_str_list, page, page_response,
    path_segment, query_param, req_str, segments, ApiError, Route,
};
use skyport_functions::db::{self, get_text, int, text};
use skyport_functions::ops::{self, Ended, Key, NewOp, Next, Op, Progress};
use skyport_functions::plugin_types::Error as PluginError;
use skyport_functions::{accounts, domains, events, internal, orgs, provider};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::sqlite::Connection;

#[http_component]
async fn handle(req: Request) -> Response {
    match route(req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

fn type_of(s: &str) -> Result<RecordType, ApiError> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "A" => RecordType::A,
        "AAAA" => RecordType::Aaaa,
        "CNAME" => RecordType::Cname,
        "TXT" => RecordType::Txt,
        other => {
            return Err(ApiError::bad_request(
                "unsupported_record_type",
                &format!("`{other}` records are not managed here."),
                "Use A, AAAA, CNAME or TXT.",
            ))
        }
    })
}

fn type_name(t: RecordType) -> &'static str {
    match t {
        RecordType::A => "A",
        RecordType::Aaaa => "AAAA",
        RecordType::Cname => "CNAME",
        RecordType::Txt => "TXT",
    }
}

fn record_json(r: &RecordSet) -> Value {
    json!({ "name": r.name, "type": type_name(r.record_type), "ttl": r.ttl, "values": r.values, "etag": r.etag, "fqdn": r.fqdn })
}

/// Turns a write conflict into the answer a client can act on.
fn conflict(e: skyport_functions::plugin_types::Error) -> ApiError {
    match e {
        skyport_functions::plugin_types::Error::Conflict(d) => ApiError::new(
            412,
            "record_changed",
            &format!(
                "The record changed since you read it, or already exists: {}",
                d.message
            ),
            "Read the record again (GET …/records) and retry with its current etag.",
        ),
        other => accounts::plugin_error(other),
    }
}

/// Checks a DNS label path: letters, digits, hyphens, underscores and dots, or `@`.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = name == "@"
        || (!name.is_empty()
            && name.len() <= 253
            // `*` only as a whole first label (a wildcard record), as DNS
            // providers take it.
            && name.split('.').enumerate().all(|(i, l)| {
                (i == 0 && l == "*")
                    || (!l.is_empty()
                        && l.len() <= 63
                        && l.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            }));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_name",
            &format!("`{name}` is not a valid record name."),
            "Use a name relative to the zone, such as `www` or `@` for the apex.",
        ))
    }
}

/// What a record set of `kind` may hold, whatever the provider: addresses
/// of its family, one host name for a CNAME, non-empty texts, each value
/// once. Checked before an operation exists, so a value no provider takes
/// gets its 400 at once (a provider's own limits are its plugin's).
fn check_values(kind: RecordType, values: &[String]) -> Result<(), ApiError> {
    let invalid = |message: String, remedy: &str| {
        Err(ApiError::bad_request("invalid_value", &message, remedy).with("field", json!("values")))
    };
    if kind == RecordType::Cname && values.len() > 1 {
        return invalid(
            format!(
                "A CNAME record has exactly one target; {} were given.",
                values.len()
            ),
            "Send one host name, e.g. {\"values\": [\"web.example.net\"]}.",
        );
    }
    // The same value however it is written: an address in its canonical
    // form, a host name in lower case without its final dot.
    let same = |v: &str| match kind {
        RecordType::A => v
            .parse::<std::net::Ipv4Addr>()
            .map(|a| a.to_string())
            .unwrap_or(v.into()),
        RecordType::Aaaa => v
            .parse::<std::net::Ipv6Addr>()
            .map(|a| a.to_string())
            .unwrap_or(v.into()),
        RecordType::Cname => v.trim_end_matches('.').to_ascii_lowercase(),
        RecordType::Txt => v.to_string(),
    };
    let seen: Vec<String> = values.iter().map(|v| same(v)).collect();
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .find(|(i, _)| seen[..*i].contains(&seen[*i]))
    {
        return invalid(
            format!("`{}` is given twice (value {}).", clipped(v), i + 1),
            "Give each value once.",
        );
    }
    let (rule, example) = match kind {
        RecordType::A => ("an IPv4 address", "203.0.113.10"),
        RecordType::Aaaa => ("an IPv6 address", "2001:db8::10"),
        RecordType::Cname => ("a host name", "web.example.net"),
        RecordType::Txt => ("a non-empty text", "v=spf1 -all"),
    };
    let bad = values.iter().find(|v| match kind {
        RecordType::A => v.parse::<std::net::Ipv4Addr>().is_err(),
        RecordType::Aaaa => v.parse::<std::net::Ipv6Addr>().is_err(),
        RecordType::Cname => !is_host_name(v),
        RecordType::Txt => v.is_empty(),
    });
    match bad {
        Some(v) => invalid(
            format!(
                "`{}` is not {rule}, as a {} record holds.",
                clipped(v),
                type_name(kind)
            ),
            &format!("Send {rule}, e.g. {{\"values\": [\"{example}\"]}}."),
        ),
        None => Ok(()),
    }
}

/// A value as an error message quotes it: its first 64 characters,
/// escaped, and an ellipsis where it goes on.
fn clipped(v: &str) -> String {
    let mut out: String = v
        .chars()
        .take(64)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if v.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

/// A fully qualified host name (the final dot optional): two or more labels
/// of letters, digits, hyphens and underscores, none starting or ending with
/// a hyphen.
fn is_host_name(v: &str) -> bool {
    let host = v.strip_suffix('.').unwrap_or(v);
    host.len() <= 253
        && host.contains('.')
        && host.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The kind of a DNS change's operation.
const RECORD: &str = "dns_record";

/// A DNS change as the engine keeps it: what to write, fixed when asked.
#[derive(serde::Serialize, serde::Deserialize)]
struct Change {
    zone_id: String,
    name: String,
    #[serde(rename = "type")]
    record_type: String,
    /// `None` deletes the record set.
    values: Option<Vec<String>>,
    ttl: u32,
    /// `If-Match` etag, or `*` for If-None-Match (create only).
    precondition: Option<String>,
}

impl Change {
    fn precondition(&self) -> Precondition {
        match self.precondition.as_deref() {
            Some("*") => Precondition::Absent,
            Some(etag) => Precondition::Etag(etag.to_string()),
            None => Precondition::None,
        }
    }
}

/// DNS changes: one step, the write itself. A write resumed after a crash
/// that finds its own values already there is done, not a conflict.
struct Records;

impl ops::Handler for Records {
    async fn step(&self, db: &Connection, op: &Op) -> Result<Next, ApiError> {
        let Ok(change) = serde_json::from_value::<Change>(op.data.clone()) else {
            return Ok(Next::Failed(ApiError::internal(
                "the DNS change could not be read back",
            )));
        };
        let record_type = type_of(&change.record_type)?;
        let written = accounts::call(db, &op.org, &op.account, |s| match &change.values {
            Some(values) => plugin::set_record(
                s,
                &change.zone_id,
                &change.name,
                record_type,
                change.ttl,
                values,
                &change.precondition(),
            )
            .map(|r| record_json(&r)),
            None => plugin::delete_record(
                s,
                &change.zone_id,
                &change.name,
                record_type,
                &change.precondition(),
            )
            .map(
                |()| json!({ "deleted": { "name": change.name, "type": type_name(record_type) } }),
            ),
        })
        .await?;
        let done = |result: Value| {
            Next::Done(Progress {
                token: String::new(),
                step: "Written".into(),
                index: 1,
                of: 1,
                result,
            })
        };
        Ok(match written {
            Ok(v) => done(v),
            Err(PluginError::NotFound(_)) if change.values.is_none() => {
                done(json!({ "deleted": { "name": change.name, "type": type_name(record_type) } }))
            }
            Err(PluginError::Conflict(d)) if op.resumed() => {
                // An earlier try may have written it before a crash: if the
                // record now holds exactly what was asked, it is done.
                let current = accounts::call(db, &op.org, &op.account, |s| {
                    plugin::list_records(s, &change.zone_id)
                })
                .await?;
                let mine = current.ok().and_then(|list| {
                    list.into_iter().find(|r| {
                        r.name == change.name
                            && r.record_type == record_type
                            && Some(&r.values) == change.values.as_ref()
                            && r.ttl == change.ttl
                    })
                });
                match mine {
                    Some(r) => done(record_json(&r)),
                    None => Next::Failed(conflict(PluginError::Conflict(d))),
                }
            }
            Err(e) if accounts::transient(&e) => Next::Later(accounts::plugin_error(e)),
            Err(e) => Next::Failed(conflict(e)),
        })
    }

    fn ended(&self, db: &Connection, op: &Op, how: Ended<'_>) -> Result<(), ApiError> {
        if let Ended::Succeeded(p) = how {
            let mut data = p.result.clone();
            data["domain"] = json!(op.subject.split('/').next());
            events::emit(
                db,
                &op.org,
                "dns.record_changed",
                ("dns_record", &op.subject),
                data,
            )?;
        }
        Ok(())
    }
}

fn bad_precondition(what: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_precondition",
        &format!("{what} is not a record's etag."),
        "Send `If-Match` with the `etag` the record was read with, `If-None-Match: *` to only create, or neither to write whatever is there.",
    )
}

/// The change's condition from `If-Match` (an etag; `*` is any version, so
/// no condition) or, where `create_only` is allowed, `If-None-Match: *`.
/// A header that cannot be meant as one of those is refused, never ignored.
fn precondition(req: &Request, create_only: bool) -> Result<Option<String>, ApiError> {
    let header = |name: &str| {
        req.header(name)
            .map(|h| h.as_str().map(str::trim).ok_or(()))
            .transpose()
    };
    let if_match = header("if-match").map_err(|_| bad_precondition("`If-Match`"))?;
    let if_none = header("if-none-match").map_err(|_| bad_precondition("`If-None-Match`"))?;
    match (if_match, if_none) {
        (Some(_), Some(_)) => Err(bad_precondition("`If-Match` together with `If-None-Match`")),
        (Some(""), None) => Err(bad_precondition("An empty `If-Match`")),
        (Some("*"), None) => Ok(None),
        (Some(etag), None) => Ok(Some(etag.to_string())),
        (None, Some("*")) if create_only => Ok(Some("*".to_string())),
        (None, Some(_)) => Err(bad_precondition("`If-None-Match` other than `*`")),
        (None, None) => Ok(None),
    }
}

/// Runs a DNS change as an operation: recorded first, then written at once.
/// The answer is the written record (200), the refusal, or — when the provider is
/// throttling or unreachable — 202 with the operation, which finishes later.
async fn run_change(
    db: &Connection,
    org: &str,
    req: &Request,
    domain_name: &str,
    account: &str,
    change: Change,
) -> Result<Response, ApiError> {
    let data = serde_json::to_value(&change).map_err(|e| ApiError::internal(&e.to_string()))?;
    let key = ops::idempotency_key(req)?;
    let id = match &key {
        Some(k) => match ops::claim_key(
            db,
            org,
            k,
            &ops::fingerprint(&json!({ "path": req.path(), "change": data })),
        )? {
            Key::Existing(id) => return outcome(db, &id),
            Key::Fresh(id) => id,
        },
        None => skyport_functions::new_id(),
    };
    let subject = format!(
        "{}/{}/{}",
        domain_name.to_ascii_lowercase(),
        change.record_type,
        change.name
    );
    let new = NewOp {
        id: &id,
        org,
        kind: RECORD,
        subject: &subject,
        account,
        data,
    };
    let first = Progress {
        token: String::new(),
        step: "Writing the record".into(),
        index: 1,
        of: 1,
        result: Value::Null,
    };
    ops::insert(db, &new, &first)?;
    if let Err(e) = ops::advance(db, &id, &Records).await {
        // Refused before reaching the provider: the change is not made later.
        ops::abandon(db, &id, &e)?;
        return Err(e);
    }
    outcome(db, &id)
}

/// What a DNS change's operation came to, as the answer to its request.
fn outcome(db: &Connection, id: &str) -> Result<Response, ApiError> {
    if let Some(e) = ops::error_of(db, id)? {
        return Err(e.with("operation_id", json!(id)));
    }
    let v = ops::json(db, id)?.ok_or_else(|| ApiError::not_found("operation"))?;
    if v["status"] == "succeeded" {
        let mut r = v["result"].clone();
        r["operation_id"] = json!(id);
        return Ok(json_response(200, &r));
    }
    Ok(json_response(202, &v))
}

/// What this function answers (the fallback tells 405 from 404 by it).
const ROUTES: &[Route] = &[
    ("GET", "api/v1/accounts/*/subscriptions/*/dns/zones"),
    ("GET", "api/v1/dns/domains"),
    ("POST", "api/v1/dns/domains"),
    ("GET", "api/v1/dns/domains/*"),
    ("GET", "api/v1/dns/domains/*/records"),
    ("PUT", "api/v1/dns/domains/*/records/*/*"),
    ("DELETE", "api/v1/dns/domains/*/records/*/*"),
    ("PUT", "api/v1/dns/domains/*/hostnames/*"),
    ("GET", "api/v1/dns/operations/*"),
];

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let db = db::open()?;
    if internal::is_jobs_call(&req, "dns")? {
        // The jobs component's turn: finish what nobody is polling.
        let mut done = ops::work(&db, &[RECORD], &Records, internal::BUDGET).await?;
        done["providers"] = internal::other_providers_share(
            &db,
            &req,
            "dns",
            internal::Share::Work(&[RECORD], &[]),
        )
        .await?;
        return Ok(internal::answer(&done));
    }
    let org = orgs::authenticate(&db, &req)?;
    // An account of another provider is that provider's instance's.
    if let Some(answer) = provider::answered_elsewhere(
        &db,
        &org,
        &req,
        "dns",
        &[
            provider::Named::row("api/v1/dns/domains", "dns_domains", "name"),
            provider::Named::row("api/v1/dns/operations", "operations", "id"),
        ],
    )
    .await?
    {
        return Ok(answer);
    }
    match (req.method().clone(), segments.as_slice()) {
        (Method::Get, ["api", "v1", "accounts", id, "subscriptions", sub, "dns", "zones"]) => {
            check_scope(sub)?;
            let zones = accounts::call(&db, &org, id, |s| plugin::list_zones(s, sub))
                .await?
                .map_err(accounts::plugin_error)?;
            let zones: Vec<Value> = zones.iter().map(|z| json!({ "id": z.id, "name": z.name, "name_servers": z.name_servers, "record_sets": z.record_sets })).collect();
            Ok(json_response(200, &json!({ "zones": zones })))
        }
        (Method::Post, ["api", "v1", "dns", "domains"]) => {
            let body = json_body(req.body())?;
            let account = req_str(&body, "account_id", 64)?;
            let zone_id = req_str(&body, "zone_id", 1024)?;
            check_id(account, "account")?;
            let zone = accounts::call(&db, &org, account, |s| plugin::get_zone(s, zone_id))
                .await?
                .map_err(accounts::plugin_error)?;
            db.execute(
                "INSERT INTO dns_domains (org_id, name, account_id, zone_id, created_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (org_id, name) DO UPDATE SET account_id = excluded.account_id, zone_id = excluded.zone_id",
                &[text(&org), text(&zone.name.to_ascii_lowercase()), text(account), text(&zone.id), int(skyport_functions::now())],
            )?;
            Ok(json_response(
                201,
                &json!({ "domain": zone.name, "account_id": account, "zone_id": zone.id, "name_servers": zone.name_servers }),
            ))
        }
        (Method::Get, ["api", "v1", "dns", "domains"]) => {
            let (r, next) = db::page_rows(
                &db,
                "dns_domains",
                "name, account_id, zone_id, created_at",
                "created_at",
                "name",
                "",
                &org,
                &page(&req)?,
            )?;
            let list: Vec<Value> = (0..r.rows.len())
                .map(|i| {
                    json!({ "domain": get_text(&r, i, "name"), "account_id": get_text(&r, i, "account_id"), "zone_id": get_text(&r, i, "zone_id") })
                })
                .collect();
            Ok(page_response("domains", &list, next))
        }
        (Method::Get, ["api", "v1", "dns", "domains", name]) => {
            let (account, zone_id) = domains::chosen(&db, &org, name)?;
            let zone = accounts::call(&db, &org, &account, |s| plugin::get_zone(s, &zone_id))
                .await?
                .map_err(accounts::plugin_error)?;
            Ok(json_response(
                200,
                &json!({ "domain": zone.name, "account_id": account, "zone_id": zone.id, "name_servers": zone.name_servers, "record_sets": zone.record_sets }),
            ))
        }
        (Method::Get, ["api", "v1", "dns", "domains", name, "records"]) => {
            let (account, zone_id) = domains::chosen(&db, &org, name)?;
            let page = page(&req)?;
            let records =
                accounts::call(&db, &org, &account, |s| plugin::list_records(s, &zone_id))
                    .await?
                    .map_err(accounts::plugin_error)?;
            // The provider lists the zone whole; pages are cut here, in
            // (type, name) order, with the same cursors as every list.
            let mut records: Vec<(String, Value)> = records
                .iter()
                .map(|r| {
                    let v = record_json(r);
                    (
                        format!(
                            "{}/{}",
                            v["type"].as_str().unwrap_or_default(),
                            v["name"].as_str().unwrap_or_default()
                        ),
                        v,
                    )
                })
                .collect();
            records.sort_by(|a, b| a.0.cmp(&b.0));
            let from = page.after.as_ref().map(|(_, k)| k.clone());
            let rows: Vec<(String, Value)> = records
                .into_iter()
                .filter(|(k, _)| from.as_ref().is_none_or(|f| k > f))
                .take(page.limit + 1)
                .collect();
            let (rows, next) = db::paged(rows, &page, |(k, _)| (0, k.clone()));
            Ok(json_response(
                200,
                &json!({ "records": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>(), "next": next }),
            ))
        }
        (Method::Put, ["api", "v1", "dns", "domains", name, "records", ty, rel]) => {
            let record_type = type_of(ty)?;
            let rel = path_segment(rel);
            let rel = rel.as_str();
            check_name(rel)?;
            let body = json_body(req.body())?;
            let values = opt_str_list(&body, "values", 1024)?.unwrap_or_default();
            if values.is_empty() {
                return Err(ApiError::bad_request(
                    "missing_values",
                    "A record needs at least one value.",
                    "Send {\"ttl\": 300, \"values\": [\"203.0.113.10\"]}.",
                ));
            }
            check_values(record_type, &values)?;
            let ttl = opt_int(&body, "ttl", 1, i64::from(i32::MAX))?.unwrap_or(300) as u32;
            let precondition = precondition(&req, true)?;
            let (account, zone_id) = domains::chosen(&db, &org, name)?;
            let change = Change {
                zone_id,
                name: rel.to_string(),
                record_type: type_name(record_type).into(),
                values: Some(values),
                ttl,
                precondition,
            };
            run_change(&db, &org, &req, name, &account, change).await
        }
        // A server gets a hostname in the zone in one call: an A record at its address.
        (Method::Put, ["api", "v1", "dns", "domains", name, "hostnames", host]) => {
            let host = path_segment(host);
            let host = host.as_str();
            check_name(host)?;
            let body = json_body(req.body())?;
            let server = req_str(&body, "server_id", 64)?;
            check_id(server, "server")?;
            // A server that is gone (deleted, or replaced by its retry) is
            // not there to point at, whatever address it had.
            let r = db.execute(
                "SELECT public_ip, status FROM servers WHERE id = ? AND org_id = ? AND status NOT IN ('deleted', 'retried')",
                &[text(server), text(&org)],
            )?;
            if r.rows.is_empty() {
                return Err(ApiError::not_found("server"));
            }
            let Some(ip) = get_text(&r, 0, "public_ip") else {
                return Err(ApiError::new(
                    409,
                    "server_not_ready",
                    "The server has no public IP address yet.",
                    "Wait until its creation finishes, then try again.",
                ));
            };
            let (account, zone_id) = domains::chosen(&db, &org, name)?;
            let ttl = opt_int(&body, "ttl", 1, i64::from(i32::MAX))?.unwrap_or(300) as u32;
            let change = Change {
                zone_id,
                name: host.to_string(),
                record_type: "A".into(),
                values: Some(vec![ip]),
                ttl,
                precondition: None,
            };
            run_change(&db, &org, &req, name, &account, change).await
        }
        (Method::Delete, ["api", "v1", "dns", "domains", name, "records", ty, rel]) => {
            let record_type = type_of(ty)?;
            let rel = path_segment(rel);
            let rel = rel.as_str();
            check_name(rel)?;
            let etag = match precondition(&req, false)? {
                Some(etag) => Some(etag),
                None => match query_param(&req, "etag") {
                    Some(v) if v.is_empty() || v == "*" => {
                        return Err(bad_precondition("The `etag` query parameter"))
                    }
                    found => found,
                },
            };
            let (account, zone_id) = domains::chosen(&db, &org, name)?;
            let change = Change {
                zone_id,
                name: rel.to_string(),
                record_type: type_name(record_type).into(),
                values: None,
                ttl: 0,
                precondition: etag,
            };
            run_change(&db, &org, &req, name, &account, change).await
        }
        (Method::Get, ["api", "v1", "dns", "operations", id]) => {
            check_id(id, "operation")?;
            let (kind, r) = ops::poll(&db, &org, id, &Records, |k| k == RECORD).await?;
            if kind != RECORD || r.rows.is_empty() {
                return Err(ApiError::not_found("DNS operation"));
            }
            Ok(json_response(200, &ops::row_json(&db, &r, 0)?))
        }
        (method, segments) => Err(ApiError::unrouted(Some("DNS"), ROUTES, &method, segments)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_are_relative_to_the_zone() {
        for ok in [
            "@",
            "www",
            "*",
            "*.apps",
            "_dmarc",
            "a-b.c_d",
            &"a".repeat(63),
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "www.",
            ".www",
            "a*b",
            "www.*",
            "**",
            "%40",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_what_the_record_type_holds() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        for (kind, ok) in [
            (RecordType::A, v(&["203.0.113.10", "198.51.100.1"])),
            (RecordType::Aaaa, v(&["2001:db8::10"])),
            (RecordType::Cname, v(&["web.example.net"])),
            (RecordType::Cname, v(&["web.example.net."])),
            (RecordType::Cname, v(&["_acme.example.net"])),
            (RecordType::Txt, v(&["v=spf1 -all", "two words"])),
        ] {
            assert!(check_values(kind, &ok).is_ok(), "{ok:?}");
        }
        for (kind, bad) in [
            (RecordType::A, v(&["999.1.1.1"])),
            (RecordType::A, v(&["2001:db8::10"])),
            (RecordType::A, v(&["203.0.113.10", "203.0.113.10"])),
            (RecordType::Aaaa, v(&["2001:db8::10", "2001:DB8:0::10"])),
            (
                RecordType::Cname,
                v(&["Web.example.net", "web.example.net."]),
            ),
            (RecordType::Aaaa, v(&["203.0.113.10"])),
            (RecordType::Cname, v(&["a.example.com", "b.example.com"])),
            (RecordType::Cname, v(&["http://evil/?x"])),
            (RecordType::Cname, v(&["web"])),
            (RecordType::Cname, v(&["-web.example.net"])),
            (RecordType::Cname, v(&["web..example.net"])),
            (RecordType::Cname, v(&["web example.net"])),
            (RecordType::Txt, v(&[""])),
        ] {
            let e = check_values(kind, &bad).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (400, "invalid_value"),
                "{bad:?}"
            );
        }
        let e =
            check_values(RecordType::Cname, &v(&["a.example.com", "b.example.com"])).unwrap_err();
        assert!(e.message.contains("exactly one target"), "{}", e.message);
        let long = format!("{}.example.net", "a".repeat(300));
        let e = check_values(RecordType::Cname, &[long]).unwrap_err();
        assert!(
            e.message.starts_with(&format!("`{}…`", "a".repeat(64))),
            "{}",
            e.message
        );
        let e = check_values(RecordType::A, &v(&["999.1.1.1"])).unwrap_err();
        assert!(
            e.message.contains("`999.1.1.1` is not an IPv4 address"),
            "{}",
            e.message
        );
    }
}
