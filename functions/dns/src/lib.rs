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
    check_id, json_body, json_response, opt_int, opt_str_list, page, query, req_str, segments,
    ApiError,
};
use skyport_functions::db::{self, get_text, int, text};
use skyport_functions::{accounts, orgs};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

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
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
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

/// The organization's chosen domain: (account id, zone id).
fn domain(
    db: &spin_sdk::sqlite::Connection,
    org: &str,
    name: &str,
) -> Result<(String, String), ApiError> {
    let r = db.execute(
        "SELECT account_id, zone_id FROM dns_domains WHERE org_id = ? AND name = ?",
        &[text(org), text(&name.to_ascii_lowercase())],
    )?;
    match (get_text(&r, 0, "account_id"), get_text(&r, 0, "zone_id")) {
        (Some(a), Some(z)) => Ok((a, z)),
        _ => Err(ApiError::new(
            404,
            "not_found",
            &format!("`{name}` is not one of your organization's DNS domains."),
            "Choose a zone first: POST /api/v1/dns/domains.",
        )),
    }
}

async fn route(req: Request) -> Result<Response, ApiError> {
    let segments = segments(req.path());
    let db = db::open()?;
    let org = orgs::authenticate(&db, &req)?;
    match (req.method().clone(), segments.as_slice()) {
        (Method::Get, ["api", "v1", "accounts", id, "subscriptions", sub, "dns", "zones"]) => {
            check_id(sub, "subscription")?;
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
            let (names, next) = db::page_of_keys(
                &db,
                "dns_domains",
                "created_at",
                "name",
                "",
                &org,
                &page(&req)?,
            )?;
            let mut list = Vec::new();
            for n in &names {
                let (account, zone_id) = domain(&db, &org, n)?;
                list.push(json!({ "domain": n, "account_id": account, "zone_id": zone_id }));
            }
            Ok(json_response(
                200,
                &json!({ "domains": list, "next": next }),
            ))
        }
        (Method::Get, ["api", "v1", "dns", "domains", name]) => {
            let (account, zone_id) = domain(&db, &org, name)?;
            let zone = accounts::call(&db, &org, &account, |s| plugin::get_zone(s, &zone_id))
                .await?
                .map_err(accounts::plugin_error)?;
            Ok(json_response(
                200,
                &json!({ "domain": zone.name, "account_id": account, "zone_id": zone.id, "name_servers": zone.name_servers, "record_sets": zone.record_sets }),
            ))
        }
        (Method::Get, ["api", "v1", "dns", "domains", name, "records"]) => {
            let (account, zone_id) = domain(&db, &org, name)?;
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
            let ttl = opt_int(&body, "ttl", 1, i64::from(i32::MAX))?.unwrap_or(300) as u32;
            let precondition = match (
                req.header("if-match").and_then(|h| h.as_str()),
                req.header("if-none-match").and_then(|h| h.as_str()),
            ) {
                (Some(etag), _) => Precondition::Etag(etag.to_string()),
                (None, Some("*")) => Precondition::Absent,
                _ => Precondition::None,
            };
            let (account, zone_id) = domain(&db, &org, name)?;
            let r = accounts::call(&db, &org, &account, |s| {
                plugin::set_record(s, &zone_id, rel, record_type, ttl, &values, &precondition)
            })
            .await?
            .map_err(conflict)?;
            Ok(json_response(200, &record_json(&r)))
        }
        // A server gets a hostname in the zone in one call: an A record at its address.
        (Method::Put, ["api", "v1", "dns", "domains", name, "hostnames", host]) => {
            check_name(host)?;
            let body = json_body(req.body())?;
            let server = req_str(&body, "server_id", 64)?;
            check_id(server, "server")?;
            let r = db.execute(
                "SELECT public_ip, status FROM servers WHERE id = ? AND org_id = ?",
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
            let (account, zone_id) = domain(&db, &org, name)?;
            let ttl = opt_int(&body, "ttl", 1, i64::from(i32::MAX))?.unwrap_or(300) as u32;
            let values = [ip];
            let r = accounts::call(&db, &org, &account, |s| {
                plugin::set_record(
                    s,
                    &zone_id,
                    host,
                    RecordType::A,
                    ttl,
                    &values,
                    &Precondition::None,
                )
            })
            .await?
            .map_err(conflict)?;
            Ok(json_response(200, &record_json(&r)))
        }
        (Method::Delete, ["api", "v1", "dns", "domains", name, "records", ty, rel]) => {
            let record_type = type_of(ty)?;
            check_name(rel)?;
            let etag = req
                .header("if-match")
                .and_then(|h| h.as_str())
                .map(str::to_string)
                .or_else(|| {
                    query(&req)
                        .into_iter()
                        .find(|(k, _)| k == "etag")
                        .map(|(_, v)| v)
                });
            let precondition = etag.map(Precondition::Etag).unwrap_or(Precondition::None);
            let (account, zone_id) = domain(&db, &org, name)?;
            accounts::call(&db, &org, &account, |s| {
                plugin::delete_record(s, &zone_id, rel, record_type, &precondition)
            })
            .await?
            .map_err(conflict)?;
            Ok(json_response(
                200,
                &json!({ "deleted": { "name": rel, "type": type_name(record_type) } }),
            ))
        }
        _ => Err(ApiError::no_such_endpoint(Some("DNS"))),
    }
}
