//! DigitalOcean DNS beside Azure DNS, through the same DNS function: a
//! team's domain chosen next to an Azure zone, records written as record
//! sets whose etags catch a change made at DigitalOcean in between, CNAME
//! targets fully qualified on the wire, and zone ids and values that are
//! not one never reaching the API.

mod support;

use serde_json::{json, Value};
use sim::digitalocean::{SEED_DOMAIN, SEED_TEAM};
use sim::world::defaults::*;
use sim::World;
use support::product::{Product, BOOTSTRAP_KEY};

/// The team's records of one fully qualified name, as DigitalOcean keeps them.
fn at_digitalocean(p: &Product, kind: &str, name: &str) -> Vec<Value> {
    p.digitalocean(
        "GET",
        &format!("/v2/domains/{SEED_DOMAIN}/records?type={kind}&name={name}"),
        None,
    )["domain_records"]
        .as_array()
        .unwrap()
        .clone()
}

fn put(p: &Product, path: &str, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    p.api_with("PUT", path, BOOTSTRAP_KEY, &body.to_string(), headers)
}

#[test]
fn a_digitalocean_domain_is_managed_beside_an_azure_zone() {
    let p = Product::start_with_example(World::default());
    let azure = p.connect(BOOTSTRAP_KEY, USERNAME);
    let account = p.connect_digitalocean();
    let ocean = account["id"].as_str().unwrap().to_string();
    assert_eq!(
        account["badges"],
        json!(["Compute", "Storage", "DNS"]),
        "{account}"
    );

    // The team's domains, with DigitalOcean's name servers.
    let (status, zones) = p.api(
        "GET",
        &format!("/api/v1/accounts/{ocean}/subscriptions/{SEED_TEAM}/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{zones}");
    let zone = &zones["zones"][0];
    assert_eq!(zone["name"], SEED_DOMAIN, "{zones}");
    let servers: Vec<&str> = zone["name_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        !servers.is_empty() && servers.iter().all(|s| s.ends_with(".digitalocean.com")),
        "{zones}"
    );
    // A scope the token does not reach is not found.
    let (status, v) = p.api(
        "GET",
        &format!("/api/v1/accounts/{ocean}/subscriptions/0123456789abcdef0123456789abcdef01234567/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 404, "{v}");

    // Both providers' domains, chosen side by side, in one list.
    let (status, d) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": ocean, "zone_id": zone["id"] }).to_string(),
    );
    assert_eq!(status, 201, "{d}");
    assert!(d["name_servers"][0]
        .as_str()
        .unwrap()
        .ends_with(".digitalocean.com"));
    let (_, azure_zones) = p.api(
        "GET",
        &format!("/api/v1/accounts/{azure}/subscriptions/{SUBSCRIPTION}/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    let (status, d) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": azure, "zone_id": azure_zones["zones"][0]["id"] }).to_string(),
    );
    assert_eq!(status, 201, "{d}");
    let (_, list) = p.api("GET", "/api/v1/dns/domains", BOOTSTRAP_KEY, "");
    let mut names: Vec<&str> = list["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut want = [DNS_ZONE, SEED_DOMAIN];
    want.sort_unstable();
    assert_eq!(names, want, "{list}");

    // Each domain is priced from its own provider's list: the Azure zone
    // at Azure DNS's rate, the DigitalOcean domain not at all (the example
    // has no price list) rather than at Azure's.
    let (status, costs) = p.api("GET", "/api/v1/costs", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{costs}");
    let of = |id: &str| {
        costs["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account_id"] == id)
            .unwrap_or_else(|| panic!("{id} in {costs}"))
            .clone()
    };
    let (theirs, ours) = (of(&ocean), of(&azure));
    // The mark instances put on a request they pass on is not a caller's
    // to set: one who sends it still gets every provider's accounts.
    let (_, forged) = p.api_with(
        "GET",
        "/api/v1/costs",
        BOOTSTRAP_KEY,
        "",
        &[("x-skyport-passed-on", "1")],
    );
    assert_eq!(forged["accounts"], costs["accounts"], "{forged}");
    assert_eq!(theirs["domains"][0]["name"], SEED_DOMAIN, "{costs}");
    // DigitalOcean charges nothing for DNS: priced, at zero.
    assert_eq!(theirs["domains"][0]["per_month"], 0.0, "{costs}");
    assert_eq!(theirs["domains"][0]["lines"][0]["price"], 0.0, "{costs}");
    assert!(
        ours["domains"][0]["per_month"].as_f64().unwrap() > 0.0,
        "{costs}"
    );
    let (status, one) = p.api(
        "GET",
        &format!("/api/v1/costs?account_id={ocean}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["accounts"][0]["account_id"], ocean.as_str(), "{one}");
    assert_eq!(one["accounts"].as_array().unwrap().len(), 1, "{one}");

    // A record set of two addresses is two DigitalOcean records.
    let base = format!("/api/v1/dns/domains/{SEED_DOMAIN}/records");
    let (status, a) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "ttl": 300, "values": ["203.0.113.20", "203.0.113.21"] }),
        &[("if-none-match", "*")],
    );
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["fqdn"], format!("www.{SEED_DOMAIN}"));
    assert_eq!(a["values"], json!(["203.0.113.20", "203.0.113.21"]));
    let fqdn = format!("www.{SEED_DOMAIN}");
    let records = at_digitalocean(&p, "A", &fqdn);
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records
        .iter()
        .all(|r| r["ttl"] == 300 && r["name"] == "www"));
    let etag = a["etag"].as_str().unwrap().to_string();

    // Creating it again is refused.
    let (status, _) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "values": ["203.0.113.22"] }),
        &[("if-none-match", "*")],
    );
    assert_eq!(status, 412);

    // Someone changes one of the records in the control panel: the etag
    // read before no longer matches, and nothing is overwritten.
    let id = records[0]["id"].as_u64().unwrap();
    p.digitalocean(
        "PATCH",
        &format!("/v2/domains/{SEED_DOMAIN}/records/{id}"),
        Some(json!({ "data": "198.51.100.9" })),
    );
    let (status, e) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "ttl": 300, "values": ["203.0.113.30"] }),
        &[("if-match", &etag)],
    );
    assert_eq!(status, 412, "{e}");
    assert_eq!(e["error"]["code"], "record_changed");
    let values: Vec<String> = at_digitalocean(&p, "A", &fqdn)
        .iter()
        .map(|r| r["data"].as_str().unwrap().to_string())
        .collect();
    assert!(values.iter().any(|v| v == "198.51.100.9"), "{values:?}");

    // Read again, written with the new etag: one record is reused, the
    // other deleted.
    let (_, listed) = p.api("GET", &base, BOOTSTRAP_KEY, "");
    let current = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "A" && r["name"] == "www")
        .unwrap()["etag"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(current, etag);
    let (status, a) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "ttl": 600, "values": ["203.0.113.30"] }),
        &[("if-match", &current)],
    );
    assert_eq!(status, 200, "{a}");
    let records = at_digitalocean(&p, "A", &fqdn);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        (&records[0]["data"], &records[0]["ttl"]),
        (&json!("203.0.113.30"), &json!(600))
    );

    // A CNAME target travels fully qualified and reads back as it was given.
    let (status, c) = put(
        &p,
        &format!("{base}/CNAME/app"),
        json!({ "ttl": 1800, "values": ["web.example.net"] }),
        &[],
    );
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["values"], json!(["web.example.net"]), "{c}");
    let cname = at_digitalocean(&p, "CNAME", &format!("app.{SEED_DOMAIN}"));
    assert_eq!(cname.len(), 1, "{cname:?}");
    // Written again unchanged: no write reaches DigitalOcean.
    let writes = |p: &Product| {
        p.sim
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/v2/domains/") && r.method != "GET")
            .count()
    };
    let before = writes(&p);
    let (status, _) = put(
        &p,
        &format!("{base}/CNAME/app"),
        json!({ "ttl": 1800, "values": ["web.example.net"] }),
        &[],
    );
    assert_eq!((status, writes(&p)), (200, before));
    // A new time to live alone is one PATCH, which DigitalOcean takes only
    // with the target fully qualified.
    let (status, c) = put(
        &p,
        &format!("{base}/CNAME/app"),
        json!({ "ttl": 600, "values": ["web.example.net"] }),
        &[],
    );
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (&c["ttl"], &c["values"]),
        (&json!(600), &json!(["web.example.net"]))
    );
    let patched: Vec<u16> = p.sim.requests()[..]
        .iter()
        .filter(|r| {
            r.method == "PATCH"
                && r.path
                    .starts_with(&format!("/v2/domains/{SEED_DOMAIN}/records/"))
        })
        .map(|r| r.status)
        .collect();
    assert_eq!(patched.last(), Some(&200), "{patched:?}");

    // Values that are no value are refused before anything is sent.
    let calls = p.sim.requests().len();
    for (kind, body) in [
        ("CNAME", json!({ "ttl": 600, "values": ["web"] })),
        ("A", json!({ "ttl": 10, "values": ["203.0.113.40"] })),
        ("TXT", json!({ "ttl": 600, "values": [" padded"] })),
    ] {
        let (status, e) = put(&p, &format!("{base}/{kind}/bad"), body, &[]);
        assert_eq!(status, 400, "{kind}: {e}");
        assert!(e["error"]["remedy"].as_str().is_some(), "{e}");
    }
    assert!(
        p.sim.requests()[calls..]
            .iter()
            .all(|r| !(r.path.starts_with("/v2/domains/") && r.method != "GET")),
        "a refused value reached DigitalOcean"
    );

    // Deleting with the current etag removes the records at DigitalOcean.
    let etag = a["etag"].as_str().unwrap().to_string();
    let (status, v) = p.api_with(
        "DELETE",
        &format!("{base}/A/www"),
        BOOTSTRAP_KEY,
        "",
        &[("if-match", &etag)],
    );
    assert_eq!(status, 200, "{v}");
    assert!(at_digitalocean(&p, "A", &fqdn).is_empty());

    // A zone id that is no domain name never reaches the API.
    let calls = p.sim.requests().len();
    for bad in ["../account", "sammy-apps.com/records?type=NS", "x"] {
        let (status, v) = p.api(
            "POST",
            "/api/v1/dns/domains",
            BOOTSTRAP_KEY,
            &json!({ "account_id": ocean, "zone_id": bad }).to_string(),
        );
        assert_eq!(status, 400, "{bad}: {v}");
    }
    assert!(
        p.sim.requests()[calls..]
            .iter()
            .all(|r| !r.path.starts_with("/v2/domains")),
        "a zone id that is no domain reached DigitalOcean"
    );
}

/// Waits for a DNS change answered 202 to end, and gives its end.
fn settle(p: &Product, op: &Value) -> Value {
    let id = op["id"].as_str().unwrap_or_else(|| panic!("{op}"));
    for _ in 0..150 {
        let (status, v) = p.api(
            "GET",
            &format!("/api/v1/dns/operations/{id}"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 200, "{v}");
        if v["status"] != "running" {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the change never ended: {op}");
}

/// DigitalOcean fails one request whose path holds `path`, once.
/// Makes DigitalOcean answer 503 to the next `method` on `path` as many
/// times as the client tries within one step (3), so the step itself fails
/// and its operation tries again later.
fn fail_a_step(p: &Product, method: &str, path: &str) {
    p.sim
        .command(sim::Command::AddFault {
            fault: serde_json::from_value(json!({ "path": path, "method": method, "status": 503, "count": 3, "retry_after": 0 })).unwrap(),
        })
        .unwrap();
}

#[test]
fn a_change_stopped_part_way_goes_on_from_its_own_work() {
    let p = Product::start_with_example(World::default());
    let ocean = p.connect_digitalocean()["id"].as_str().unwrap().to_string();
    let (status, d) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": ocean, "zone_id": SEED_DOMAIN }).to_string(),
    );
    assert_eq!(status, 201, "{d}");
    let base = format!("/api/v1/dns/domains/{SEED_DOMAIN}/records");
    let fqdn = format!("app.{SEED_DOMAIN}");
    let (status, a) = put(
        &p,
        &format!("{base}/A/app"),
        json!({ "ttl": 300, "values": ["203.0.113.1", "203.0.113.2"] }),
        &[("if-none-match", "*")],
    );
    assert_eq!(status, 200, "{a}");

    // Two addresses become one: one record is changed, then the other
    // deleted — and DigitalOcean fails that deletion for the whole step. The set then
    // matches neither the etag read nor what was asked; the change, tried
    // again, goes on from its own work instead of calling it a conflict.
    fail_a_step(&p, "DELETE", &format!("/v2/domains/{SEED_DOMAIN}/records/"));
    let (status, op) = put(
        &p,
        &format!("{base}/A/app"),
        json!({ "ttl": 300, "values": ["198.51.100.7"] }),
        &[("if-match", a["etag"].as_str().unwrap())],
    );
    assert_eq!(status, 202, "{op}");
    let done = settle(&p, &op);
    assert_eq!(done["status"], "succeeded", "{done}");
    let records = at_digitalocean(&p, "A", &fqdn);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["data"], "198.51.100.7");

    // The same for a deletion of three records that stops after the first.
    let (status, a) = put(
        &p,
        &format!("{base}/A/app"),
        json!({ "ttl": 300, "values": ["198.51.100.7", "198.51.100.8", "198.51.100.9"] }),
        &[],
    );
    assert_eq!(status, 200, "{a}");
    let mut ids: Vec<u64> = at_digitalocean(&p, "A", &fqdn)
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    fail_a_step(
        &p,
        "DELETE",
        &format!("/v2/domains/{SEED_DOMAIN}/records/{}", ids[1]),
    );
    let (status, op) = p.api_with(
        "DELETE",
        &format!("{base}/A/app"),
        BOOTSTRAP_KEY,
        "",
        &[("if-match", a["etag"].as_str().unwrap())],
    );
    assert_eq!(status, 202, "{op}");
    let done = settle(&p, &op);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(at_digitalocean(&p, "A", &fqdn).is_empty());

    // Someone else's change is still refused: a record added in the
    // control panel is neither read nor asked for.
    let (_, a) = put(
        &p,
        &format!("{base}/A/app"),
        json!({ "ttl": 300, "values": ["203.0.113.5"] }),
        &[],
    );
    p.digitalocean(
        "POST",
        &format!("/v2/domains/{SEED_DOMAIN}/records"),
        Some(json!({ "type": "A", "name": "app", "data": "203.0.113.66", "ttl": 300 })),
    );
    let (status, e) = put(
        &p,
        &format!("{base}/A/app"),
        json!({ "ttl": 300, "values": ["203.0.113.6"] }),
        &[("if-match", a["etag"].as_str().unwrap())],
    );
    assert_eq!(status, 412, "{e}");
}
