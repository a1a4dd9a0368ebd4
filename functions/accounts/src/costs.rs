//! Cost estimates, `GET /api/v1/costs[?account_id=…]`: for every server,
//! backup target and DNS domain Skyport made or uses, what it costs a month
//! as it is now and what it has cost so far, summed per account and for the
//! organization — from the provider's list prices (the account plugin's
//! `account-prices`, read with the thing's account's session, for
//! providers that give prices only behind sign-in, and kept a day),
//! clearly estimates. Each provider's
//! instance prices its own accounts with its own plugin; the instance
//! asked merges the others' answers into its own ([`merge`]).
//!
//! A server's compute is charged only for the hours it ran (read from its
//! events: ready or started, until stopped, missing or deleted); its disk
//! and address for every hour it existed. What Skyport cannot measure
//! (data stored and written, DNS queries, data sent out) is assumed, and the
//! answer says how much.

use serde_json::{json, Value};
use skyport_functions::api::{query_param, ApiError};
use skyport_functions::config::{prices_endpoint, Config};
use skyport_functions::db::{get_int, get_text, int, text};
use skyport_functions::{accounts, now, provider};
use spin_sdk::sqlite::Connection;

use crate::skyport::prices::account_prices as plugin;
use crate::skyport::prices::prices::{Billed, Item, Rate, Unit};
use skyport_functions::plugin_types::Session;

const HOURS_PER_MONTH: f64 = 730.0;
/// List prices are read again after a day.
const FRESH_FOR: i64 = 86_400;

/// Usage the estimate assumes where Skyport cannot measure it.
const STORAGE_GB: f64 = 100.0;
const STORAGE_WRITES: f64 = 100_000.0;
const DNS_QUERIES: f64 = 1_000_000.0;
const EGRESS_GB_PER_SERVER: f64 = 100.0;

/// Server statuses whose resources exist (and cost); a failed creation was
/// cleaned up, and a missing server is gone.
const PRESENT: &str = "('provisioning', 'running', 'stopped', 'starting', 'stopping', 'restarting', 'resizing', 'deleting')";

fn unit_word(u: Unit) -> &'static str {
    match u {
        Unit::Hour => "hour",
        Unit::Month => "month",
        Unit::GbMonth => "GB-month",
        Unit::Gb => "GB",
        Unit::TenThousandWrites => "10,000 writes",
        Unit::MillionQueries => "1,000,000 queries",
    }
}

fn billed_word(b: Billed) -> &'static str {
    match b {
        Billed::WhileRunning => "while_running",
        Billed::WhilePresent => "while_present",
        Billed::PerUse => "per_use",
    }
}

/// How much of a thing there is, for its lines: hours it ran and existed
/// (so far), whether it runs now, and the usage assumed for a month.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub hours_present: f64,
    pub hours_running: f64,
    pub running_now: bool,
    /// GB stored, writes, queries or GB sent out, by the rate's unit.
    pub assumed: Assumed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Assumed {
    pub gb_stored: f64,
    pub writes: f64,
    pub queries: f64,
    pub gb_out: f64,
}

/// One line of an estimate: (a month as it is now, so far).
pub fn line(r: &Rate, u: &Usage) -> (f64, f64) {
    // Per-use lines: the assumed monthly quantity, spread over the hours
    // the thing existed.
    let per_use = |monthly_units: f64| {
        let m = monthly_units * r.price;
        (m, m * u.hours_present / HOURS_PER_MONTH)
    };
    match (r.billed, r.unit) {
        (Billed::WhileRunning, Unit::Hour) => (
            if u.running_now {
                r.price * HOURS_PER_MONTH
            } else {
                0.0
            },
            r.price * u.hours_running,
        ),
        (_, Unit::Hour) => (r.price * HOURS_PER_MONTH, r.price * u.hours_present),
        (_, Unit::Month) => (r.price, r.price * u.hours_present / HOURS_PER_MONTH),
        (_, Unit::GbMonth) => per_use(u.assumed.gb_stored),
        (_, Unit::TenThousandWrites) => per_use(u.assumed.writes / 10_000.0),
        (_, Unit::MillionQueries) => per_use(u.assumed.queries / 1_000_000.0),
        // Data goes out only while the server runs.
        (_, Unit::Gb) => {
            let m = u.assumed.gb_out * r.price;
            (
                if u.running_now { m } else { 0.0 },
                m * u.hours_running / HOURS_PER_MONTH,
            )
        }
    }
}

/// Whether a stopped server's compute is still billed: a VM is billed
/// that was only powered off (from inside, or "VM stopped"), not one that
/// was deallocated (Skyport's Stop, or "VM deallocated"); a stop that says
/// neither is taken as Skyport's.
pub fn still_billed_when_stopped(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("stopped") && !r.contains("dealloc")
    })
}

/// Seconds a server ran, from its power events `(kind, at)` in order,
/// until `until`. A `server.stopped` that kept the compute billed is given
/// as `server.powered_off`, which does not end a run.
pub fn running_seconds(events: &[(String, i64)], until: i64) -> i64 {
    let mut since: Option<i64> = None;
    let mut total = 0;
    for (kind, at) in events {
        match kind.as_str() {
            "server.ready" | "server.started" => {
                since.get_or_insert(*at);
            }
            "server.stopped" | "server.missing" | "server.deleted" => {
                if let Some(s) = since.take() {
                    total += (at - s).max(0);
                }
            }
            _ => {}
        }
    }
    if let Some(s) = since {
        total += (until - s).max(0);
    }
    total
}

/// Hours from `from` to `to` (none if `to` is earlier).
fn hours_between(from: i64, to: i64) -> f64 {
    (to - from).max(0) as f64 / 3600.0
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The priced lines of one thing and their sums.
fn priced(rates: &[Rate], u: &Usage) -> (Value, f64, f64) {
    let mut lines = Vec::new();
    let (mut month, mut so_far) = (0.0, 0.0);
    for r in rates {
        let (m, s) = line(r, u);
        month += m;
        so_far += s;
        let mut l = rate_json(r);
        l["per_month"] = json!(round(m, 4));
        l["so_far"] = json!(round(s, 4));
        lines.push(l);
    }
    (json!(lines), month, so_far)
}

fn rate_json(r: &Rate) -> Value {
    json!({ "label": r.label, "unit": unit_word(r.unit), "price": r.price, "currency": r.currency,
            "billed": billed_word(r.billed), "free_per_month": r.free_per_month })
}

fn rate_of(v: &Value) -> Option<Rate> {
    let unit = match v["unit"].as_str()? {
        "hour" => Unit::Hour,
        "month" => Unit::Month,
        "GB-month" => Unit::GbMonth,
        "GB" => Unit::Gb,
        "10,000 writes" => Unit::TenThousandWrites,
        "1,000,000 queries" => Unit::MillionQueries,
        _ => return None,
    };
    let billed = match v["billed"].as_str()? {
        "while_running" => Billed::WhileRunning,
        "while_present" => Billed::WhilePresent,
        "per_use" => Billed::PerUse,
        _ => return None,
    };
    Some(Rate {
        label: v["label"].as_str()?.to_string(),
        unit,
        price: v["price"].as_f64()?,
        currency: v["currency"].as_str()?.to_string(),
        billed,
        free_per_month: v["free_per_month"].as_f64().unwrap_or(0.0),
    })
}

/// Rates already read in this request, by key: an organization's hundred
/// servers of one size in one region read their rates once.
type Memo = std::collections::HashMap<String, Vec<Rate>>;

/// Where rates are read: this instance's provider (`own`), and the
/// organization's account whose session reads them.
struct Source<'a> {
    db: &'a Connection,
    org: &'a str,
    own: String,
    memo: Memo,
}

impl Source<'_> {
    /// The rates of `item` in `region`, read through `account`: kept for a
    /// day; read again after that, and the old ones used while the price
    /// list cannot be reached. List prices are the same for every account
    /// of a provider, so they are kept per provider, not per account.
    async fn rates(
        &mut self,
        account: &str,
        region: &str,
        item: &Item,
    ) -> Result<Vec<Rate>, ApiError> {
        // Kept per provider: the same region or size name means another
        // thing at another provider.
        let own = &self.own;
        let key = match item {
            Item::Server(size) => format!("{own}|{region}|server|{size}"),
            Item::Storage => format!("{own}|{region}|storage"),
            Item::DnsZone => format!("{own}||dns-zone"),
            Item::Egress => format!("{own}|{region}|egress"),
        };
        if let Some(r) = self.memo.get(&key) {
            return Ok(r.clone());
        }
        let found = self.kept_or_read(&key, account, region, item).await?;
        self.memo.insert(key, found.clone());
        Ok(found)
    }

    async fn kept_or_read(
        &self,
        key: &str,
        account: &str,
        region: &str,
        item: &Item,
    ) -> Result<Vec<Rate>, ApiError> {
        let db = self.db;
        let r = db.execute(
            "SELECT rates, fetched_at FROM price_rates WHERE key = ?",
            &[text(key)],
        )?;
        let kept: Option<Vec<Rate>> = get_text(&r, 0, "rates")
            .and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
            .map(|l| l.iter().filter_map(rate_of).collect());
        let t = now();
        if let Some(k) = &kept {
            if get_int(&r, 0, "fetched_at").unwrap_or(0) > t - FRESH_FOR {
                return Ok(k.clone());
            }
        }
        let endpoint = prices_endpoint()?;
        let read = |s: &Session| plugin::rates(s, &endpoint, region, item);
        // An account that cannot be signed in to (Expired, say) still
        // prices what is public: a session without a token stands for none.
        let answer = match accounts::call(db, self.org, account, read).await {
            Ok(answer) => answer,
            Err(_) => read(&Session {
                cloud: Config::load()?.cloud,
                access_token: String::new(),
            }),
        };
        match answer {
            Ok(list) => {
                // An empty answer is not kept: it may be a session's lack,
                // and another account's may price it.
                if !list.is_empty() {
                    let stored: Vec<Value> = list.iter().map(rate_json).collect();
                    db.execute(
                        "INSERT INTO price_rates (key, rates, fetched_at) VALUES (?, ?, ?)
                         ON CONFLICT (key) DO UPDATE SET rates = excluded.rates, fetched_at = excluded.fetched_at",
                        &[text(key), text(&json!(stored).to_string()), int(t)],
                    )?;
                }
                Ok(if list.is_empty() {
                    kept.unwrap_or(list)
                } else {
                    list
                })
            }
            Err(e) => match kept {
                Some(k) => Ok(k),
                None => Err(ApiError::new(
                    503,
                    "prices_unavailable",
                    &format!(
                        "The price list could not be read: {}",
                        accounts::plugin_error(e).message
                    ),
                    "Try again in a minute; estimates need the provider's list prices once a day.",
                )),
            },
        }
    }
}

/// `GET /api/v1/costs[?account_id=…]`.
pub async fn estimate(
    db: &Connection,
    org: &str,
    req: &spin_sdk::http::Request,
) -> Result<Value, ApiError> {
    let account = query_param(req, "account_id");
    if let Some(a) = &account {
        accounts::load(db, org, a)?;
    }
    let t = now();
    // This provider's accounts only: the others are priced by theirs.
    let only = |col: &str| {
        let mine =
            format!(" AND {col} IN (SELECT id FROM accounts WHERE org_id = ?1 AND provider = ?2)");
        match &account {
            Some(_) => format!("{mine} AND {col} = ?3"),
            None => mine,
        }
    };
    let own = provider::own_id()?;
    let params: Vec<_> = [text(org), text(&own)]
        .into_iter()
        .chain(account.as_deref().map(text))
        .collect();
    let mut source = Source {
        db,
        org,
        own: own.clone(),
        memo: Memo::new(),
    };
    let mut by_account: std::collections::BTreeMap<String, Value> = Default::default();
    // What could not be priced, and why.
    let mut unpriced = Vec::new();
    let mut currency: Option<String> = None;
    let mut add = |account: &str,
                   kind: &str,
                   entry: Value,
                   month: f64,
                   so_far: f64,
                   rates: &[Rate]| {
        if currency.is_none() {
            currency = rates.first().map(|r| r.currency.clone());
        }
        let a = by_account.entry(account.to_string()).or_insert_with(|| {
            json!({ "account_id": account, "per_month": 0.0, "so_far": 0.0, "servers": [], "backup_targets": [], "domains": [] })
        });
        a["per_month"] = json!(a["per_month"].as_f64().unwrap_or(0.0) + month);
        a["so_far"] = json!(a["so_far"].as_f64().unwrap_or(0.0) + so_far);
        if let Some(list) = a[kind].as_array_mut() {
            list.push(entry);
        }
    };

    // Servers, with the hours they ran from their power events.
    let s = db.execute(
        &format!("SELECT id, account_id, name, region, size, status, status_reason, created_at FROM servers WHERE org_id = ?1 AND status IN {PRESENT}{} ORDER BY created_at, id", only("account_id")),
        &params,
    )?;
    // Only the listed servers' events, through the object index.
    let e = db.execute(
        &format!("SELECT object_id, kind, at, json_extract(data, '$.status_reason') AS reason FROM events
           WHERE object_type = 'server' AND object_id IN (SELECT id FROM servers WHERE org_id = ?1 AND status IN {PRESENT}{})
             AND org_id = ?1 AND kind IN ('server.ready', 'server.started', 'server.stopped', 'server.missing', 'server.deleted')
           ORDER BY at, id", only("account_id")),
        &params,
    )?;
    let mut power: std::collections::HashMap<String, Vec<(String, i64)>> = Default::default();
    for i in 0..e.rows.len() {
        if let (Some(id), Some(mut kind), Some(at)) = (
            get_text(&e, i, "object_id"),
            get_text(&e, i, "kind"),
            get_int(&e, i, "at"),
        ) {
            if kind == "server.stopped"
                && still_billed_when_stopped(get_text(&e, i, "reason").as_deref())
            {
                kind = "server.powered_off".into();
            }
            power.entry(id).or_default().push((kind, at));
        }
    }
    for i in 0..s.rows.len() {
        let field = |k: &str| get_text(&s, i, k).unwrap_or_default();
        let (id, region, size, status) =
            (field("id"), field("region"), field("size"), field("status"));
        let stopped = status == "stopped" || status == "starting";
        let created = get_int(&s, i, "created_at").unwrap_or(t);
        let account = field("account_id");
        let mut list = source
            .rates(&account, &region, &Item::Server(size.clone()))
            .await?;
        if list.is_empty() {
            unpriced.push(json!({ "server": id, "reason": format!(
                "The price list has no price for size {size} in {region}: its compute, disk and address are left out.") }));
        }
        list.extend(source.rates(&account, &region, &Item::Egress).await?);
        let running = running_seconds(power.get(&id).map(Vec::as_slice).unwrap_or(&[]), t);
        let usage = Usage {
            hours_present: hours_between(created, t),
            hours_running: running as f64 / 3600.0,
            running_now: !stopped
                || still_billed_when_stopped(get_text(&s, i, "status_reason").as_deref()),
            assumed: Assumed {
                gb_out: EGRESS_GB_PER_SERVER,
                ..Default::default()
            },
        };
        let (lines, month, so_far) = priced(&list, &usage);
        let entry = json!({ "id": id, "name": field("name"), "region": region, "size": size, "status": status,
            "seconds_running": running, "per_month": round(month, 2), "so_far": round(so_far, 2), "lines": lines });
        add(&field("account_id"), "servers", entry, month, so_far, &list);
    }

    // Backup targets: data stored and written, as assumed.
    let b = db.execute(
        &format!("SELECT id, account_id, storage_account, container, region, verified_at FROM backup_targets WHERE org_id = ?1{} ORDER BY verified_at, id", only("account_id")),
        &params,
    )?;
    for i in 0..b.rows.len() {
        let field = |k: &str| get_text(&b, i, k).unwrap_or_default();
        let Some(region) = get_text(&b, i, "region") else {
            // Targets set up before regions were recorded.
            unpriced.push(json!({ "backup_target": field("id"), "reason": "Its storage account's region is not known; set the target up again to include it." }));
            continue;
        };
        let list = source
            .rates(&field("account_id"), &region, &Item::Storage)
            .await?;
        let usage = Usage {
            hours_present: hours_between(get_int(&b, i, "verified_at").unwrap_or(t), t),
            assumed: Assumed {
                gb_stored: STORAGE_GB,
                writes: STORAGE_WRITES,
                ..Default::default()
            },
            ..Default::default()
        };
        let (lines, month, so_far) = priced(&list, &usage);
        let entry = json!({ "id": field("id"), "storage_account": field("storage_account"), "container": field("container"), "region": region,
            "per_month": round(month, 2), "so_far": round(so_far, 2), "lines": lines });
        add(
            &field("account_id"),
            "backup_targets",
            entry,
            month,
            so_far,
            &list,
        );
    }

    // DNS domains: the zone and its queries, as assumed.
    let d = db.execute(
        &format!("SELECT name, account_id, created_at FROM dns_domains WHERE org_id = ?1{} ORDER BY created_at, name", only("account_id")),
        &params,
    )?;
    for i in 0..d.rows.len() {
        let field = |k: &str| get_text(&d, i, k).unwrap_or_default();
        let list = source
            .rates(&field("account_id"), "", &Item::DnsZone)
            .await?;
        let usage = Usage {
            hours_present: hours_between(get_int(&d, i, "created_at").unwrap_or(t), t),
            assumed: Assumed {
                queries: DNS_QUERIES,
                ..Default::default()
            },
            ..Default::default()
        };
        let (lines, month, so_far) = priced(&list, &usage);
        let entry = json!({ "name": field("name"), "per_month": round(month, 2), "so_far": round(so_far, 2), "lines": lines });
        add(&field("account_id"), "domains", entry, month, so_far, &list);
    }

    let mut accounts: Vec<Value> = by_account.into_values().collect();
    let (mut month, mut so_far) = (0.0, 0.0);
    for a in &mut accounts {
        let (m, s) = (
            a["per_month"].as_f64().unwrap_or(0.0),
            a["so_far"].as_f64().unwrap_or(0.0),
        );
        month += m;
        so_far += s;
        a["per_month"] = json!(round(m, 2));
        a["so_far"] = json!(round(s, 2));
    }
    Ok(json!({
        "estimate": true,
        "currency": currency.unwrap_or_else(|| "USD".into()),
        "per_month": round(month, 2),
        "so_far": round(so_far, 2),
        "note": "Estimates from the provider's public pay-as-you-go list prices, before taxes, discounts, credits and free allowances. Per month: as things are now (a deallocated server's compute costs nothing; one only powered off is still billed). So far: since each was made or attached; compute only for the hours a server ran.",
        "assumptions": {
            "hours_per_month": HOURS_PER_MONTH,
            "storage_gb_per_backup_target": STORAGE_GB,
            "storage_writes_per_backup_target": STORAGE_WRITES,
            "dns_queries_per_domain": DNS_QUERIES,
            "outbound_gb_per_server": EGRESS_GB_PER_SERVER,
        },
        "accounts": accounts,
        "unpriced": unpriced,
    }))
}

/// Whether an estimate priced anything at all (some line of some thing):
/// one that did not has no currency of its own to keep.
fn priced_any(v: &Value) -> bool {
    v["accounts"].as_array().into_iter().flatten().any(|a| {
        ["servers", "backup_targets", "domains"].iter().any(|kind| {
            a[*kind].as_array().into_iter().flatten().any(|thing| {
                thing["lines"]
                    .as_array()
                    .is_some_and(|lines| !lines.is_empty())
            })
        })
    })
}

/// Adds another provider's estimate (its instance's answer to the same
/// request) to this one: its accounts (each once), its totals, and what it
/// could not price. Amounts in another currency than the one already
/// priced are not added to the totals; they are named in `unpriced`.
pub fn merge(into: &mut Value, theirs: &Value, provider: &str) {
    let same_currency =
        !priced_any(into) || !priced_any(theirs) || into["currency"] == theirs["currency"];
    if !priced_any(into) && priced_any(theirs) {
        into["currency"] = theirs["currency"].clone();
    }
    let list = |v: &Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
    let mut accounts = list(into, "accounts");
    let mut unpriced = list(into, "unpriced");
    unpriced.extend(list(theirs, "unpriced"));
    if same_currency {
        let mut added = (0.0, 0.0);
        for a in list(theirs, "accounts") {
            if accounts
                .iter()
                .any(|mine| mine["account_id"] == a["account_id"])
            {
                continue;
            }
            added.0 += a["per_month"].as_f64().unwrap_or(0.0);
            added.1 += a["so_far"].as_f64().unwrap_or(0.0);
            accounts.push(a);
        }
        for (total, more) in [("per_month", added.0), ("so_far", added.1)] {
            into[total] = json!(round(into[total].as_f64().unwrap_or(0.0) + more, 2));
        }
    } else {
        unpriced.push(json!({ "provider": provider, "reason": format!(
            "Its estimate is in {}, not {}: see GET /api/v1/costs?account_id=… for each of its accounts.",
            theirs["currency"].as_str().unwrap_or("another currency"),
            into["currency"].as_str().unwrap_or("this one"))
        }));
    }
    into["accounts"] = json!(accounts);
    into["unpriced"] = json!(unpriced);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_providers_estimate_is_added_in_the_same_currency_only() {
        let line = json!([{ "label": "x" }]);
        let est = |currency: &str, month: f64, id: &str, lines: &Value| {
            json!({ "currency": currency, "per_month": month, "so_far": month / 10.0, "unpriced": [],
                "accounts": [{ "account_id": id, "per_month": month, "so_far": month / 10.0, "servers": [{ "lines": lines }] }] })
        };
        let mut merged = est("USD", 10.0, "a", &line);
        merge(&mut merged, &est("USD", 5.25, "b", &line), "acme");
        assert_eq!(
            (merged["per_month"].as_f64(), merged["so_far"].as_f64()),
            (Some(15.25), Some(1.53))
        );
        assert_eq!(merged["accounts"].as_array().unwrap().len(), 2);
        // The same accounts again (an instance of the same provider) count once.
        merge(&mut merged, &est("USD", 5.25, "b", &line), "acme");
        assert_eq!(merged["per_month"].as_f64(), Some(15.25));
        // Another currency stays out of the totals, and is named.
        let mut merged = est("USD", 10.0, "a", &line);
        merge(&mut merged, &est("EUR", 5.0, "b", &line), "acme");
        assert_eq!(merged["per_month"].as_f64(), Some(10.0));
        assert_eq!(merged["accounts"].as_array().unwrap().len(), 1);
        assert_eq!(merged["unpriced"][0]["provider"], "acme");
        // An estimate that priced nothing has no currency to impose.
        let mut merged = est("USD", 0.0, "a", &json!([]));
        merge(&mut merged, &est("EUR", 5.0, "b", &line), "acme");
        assert_eq!(
            (merged["currency"].as_str(), merged["per_month"].as_f64()),
            (Some("EUR"), Some(5.0))
        );
        assert_eq!(merged["accounts"].as_array().unwrap().len(), 2);
    }

    fn rate(unit: Unit, billed: Billed, price: f64) -> Rate {
        Rate {
            label: "x".into(),
            unit,
            price,
            currency: "USD".into(),
            billed,
            free_per_month: 0.0,
        }
    }

    fn ev(kind: &str, at: i64) -> (String, i64) {
        (kind.to_string(), at)
    }

    #[test]
    fn a_server_runs_from_ready_or_started_until_stopped_missing_or_deleted() {
        let h = 3600;
        let events = vec![
            ev("server.ready", 0),
            ev("server.stopped", 2 * h),
            ev("server.stopped", 3 * h),
            ev("server.started", 5 * h),
            ev("server.started", 6 * h),
            ev("server.missing", 7 * h),
        ];
        assert_eq!(running_seconds(&events, 100 * h), 4 * h);
        // Still running: until now.
        assert_eq!(running_seconds(&events[..4], 10 * h), 7 * h);
        assert_eq!(running_seconds(&[], 10 * h), 0);
    }

    #[test]
    fn compute_is_charged_only_while_running_and_the_rest_while_present() {
        let u = Usage {
            hours_present: 10.0,
            hours_running: 4.0,
            running_now: false,
            assumed: Assumed {
                gb_stored: 100.0,
                writes: 100_000.0,
                queries: 2_000_000.0,
                gb_out: 50.0,
            },
        };
        let compute = rate(Unit::Hour, Billed::WhileRunning, 0.05);
        assert_eq!(
            line(&compute, &u),
            (0.0, 0.2),
            "stopped now: nothing a month"
        );
        assert_eq!(
            line(
                &compute,
                &Usage {
                    running_now: true,
                    ..u
                }
            ),
            (36.5, 0.2)
        );
        let (m, s) = line(&rate(Unit::Hour, Billed::WhilePresent, 0.005), &u);
        assert_eq!((round(m, 4), round(s, 4)), (3.65, 0.05));
        let (m, s) = line(&rate(Unit::Month, Billed::WhilePresent, 7.3), &u);
        assert_eq!((m, round(s, 4)), (7.3, 0.1));
        assert_eq!(line(&rate(Unit::GbMonth, Billed::PerUse, 0.02), &u).0, 2.0);
        assert_eq!(
            line(&rate(Unit::TenThousandWrites, Billed::PerUse, 0.05), &u).0,
            0.5
        );
        assert_eq!(
            line(&rate(Unit::MillionQueries, Billed::PerUse, 0.4), &u).0,
            0.8
        );
        let out = rate(Unit::Gb, Billed::PerUse, 0.08);
        assert_eq!(
            line(&out, &u).0,
            0.0,
            "no data goes out of a stopped server"
        );
        assert_eq!(
            line(
                &out,
                &Usage {
                    running_now: true,
                    ..u
                }
            )
            .0,
            4.0
        );
        assert_eq!(
            round(line(&out, &u).1, 4),
            round(4.0 * 4.0 / 730.0, 4),
            "only while it ran"
        );
    }

    #[test]
    fn only_a_deallocated_server_stops_its_compute_bill() {
        assert!(still_billed_when_stopped(Some("VM stopped")));
        assert!(!still_billed_when_stopped(Some("VM deallocated")));
        assert!(!still_billed_when_stopped(Some(
            "Stopped and deallocated from Skyport"
        )));
        assert!(!still_billed_when_stopped(None));
        // A powered-off stop does not end the run.
        let events = vec![
            ev("server.ready", 0),
            ev("server.powered_off", 10),
            ev("server.stopped", 30),
        ];
        assert_eq!(running_seconds(&events, 100), 30);
    }

    #[test]
    fn rates_survive_the_cache() {
        let r = rate(Unit::TenThousandWrites, Billed::PerUse, 0.05);
        let back = rate_of(&rate_json(&r)).unwrap();
        assert_eq!(
            (back.unit, back.billed, back.price),
            (r.unit, r.billed, r.price)
        );
        assert!(rate_of(&json!({ "unit": "fortnight" })).is_none());
    }
}
