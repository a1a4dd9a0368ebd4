//! DNS quick setup, at either provider: a connected account's zones, a zone
//! chosen for a domain with its name servers, and records round trip with
//! etags guarding concurrent changes — then the same functions with another
//! DNS plugin.

mod support;

use serde_json::json;
use sim::world::defaults::*;
use sim::World;
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(zones_domains_and_records_with_etags);

fn put(
    p: &Product,
    path: &str,
    body: serde_json::Value,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    p.api_with("PUT", path, BOOTSTRAP_KEY, &body.to_string(), headers)
}

fn zones_domains_and_records_with_etags(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (id, scope) = (cloud.connect)(&p);
    let zones = cloud.zones(&p, &id, &scope);
    let zone = &zones[0];
    let (count, first) = cloud.name_servers;
    assert_eq!(
        zone["name_servers"].as_array().unwrap().len(),
        count,
        "{zone}"
    );
    let zone_name = zone["name"].as_str().unwrap().to_string();

    let (status, d) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": id, "zone_id": zone["id"] }).to_string(),
    );
    assert_eq!(status, 201, "{d}");
    assert_eq!(d["name_servers"][0], first);
    let (_, list) = p.api("GET", "/api/v1/dns/domains", BOOTSTRAP_KEY, "");
    assert_eq!(list["domains"][0]["domain"], zone_name.as_str());

    let base = format!("/api/v1/dns/domains/{zone_name}/records");
    let (status, a) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "ttl": 300, "values": ["20.1.2.3"] }),
        &[("if-none-match", "*")],
    );
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["fqdn"], format!("www.{zone_name}"));
    let etag = a["etag"].as_str().unwrap().to_string();
    // Creating it again is refused; an update with the current etag works.
    assert_eq!(
        put(
            &p,
            &format!("{base}/A/www"),
            json!({ "values": ["20.1.2.4"] }),
            &[("if-none-match", "*")]
        )
        .0,
        412
    );
    let (status, updated) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "ttl": 300, "values": ["20.1.2.4"] }),
        &[("if-match", &etag)],
    );
    assert_eq!(status, 200, "{updated}");
    // The old etag is stale: a concurrent writer is detected, not overwritten.
    let (status, e) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "values": ["20.9.9.9"] }),
        &[("if-match", &etag)],
    );
    assert_eq!(status, 412);
    assert_eq!(e["error"]["code"], "record_changed");

    for (ty, name, values) in [
        ("AAAA", "www", json!(["2001:db8::1"])),
        (
            "CNAME",
            "app",
            json!(["web1.westeurope.cloudapp.azure.com"]),
        ),
        ("TXT", "@", json!(["v=spf1 -all"])),
    ] {
        let (status, r) = put(
            &p,
            &format!("{base}/{ty}/{name}"),
            json!({ "ttl": 600, "values": values }),
            &[],
        );
        assert_eq!(status, 200, "{ty}: {r}");
        assert_eq!(r["values"], values);
    }
    // The apex as most URL encoders send it is the same record.
    let (status, r) = put(
        &p,
        &format!("{base}/TXT/%40"),
        json!({ "ttl": 600, "values": ["v=spf1 -all"] }),
        &[],
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["name"], "@", "{r}");
    let (_, records) = p.api("GET", &base, BOOTSTRAP_KEY, "");
    let names: Vec<String> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["type"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    for want in ["A www", "AAAA www", "CNAME app", "TXT @"] {
        assert!(names.contains(&want.to_string()), "{names:?}");
    }
    // The records exist at the provider.
    assert!((cloud.has_record)(&p, &zone_name, "A", "www"));

    let current = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "A" && r["name"] == "www")
        .unwrap()["etag"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = format!("Bearer {BOOTSTRAP_KEY}");
    let (status, _) = support::request(
        "DELETE",
        &format!("{}{base}/A/www", p.host.url),
        &[("authorization", &auth), ("if-match", &etag)],
        "",
    );
    assert_eq!(status, 412, "deleting with a stale etag is refused");
    let (status, _) = support::request(
        "DELETE",
        &format!("{}{base}/A/www", p.host.url),
        &[("authorization", &auth), ("if-match", &current)],
        "",
    );
    assert_eq!(status, 200);
    assert!(!(cloud.has_record)(&p, &zone_name, "A", "www"));

    let (status, e) = put(
        &p,
        &format!("{base}/MX/mail"),
        json!({ "values": ["x"] }),
        &[],
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("unsupported_record_type"))
    );
    let (status, _) = p.api(
        "GET",
        "/api/v1/dns/domains/not-mine.example/records",
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 404);
}

#[test]
fn another_dns_plugin_runs_under_the_same_functions() {
    // The same spin.toml with one line changed: the DNS dependency is a
    // plugin built in tests/ that keeps records in a key-value store.
    let kv_dns = support::wasm("kv-dns");
    let p = Product::start_with_manifest(World::default(), |m| {
        let azure = m
            .lines()
            .find(|l| l.starts_with("\"skyport:dns/dns@0.2.0\""))
            .unwrap()
            .to_string();
        m.replace(&azure, &format!("\"skyport:dns/dns@0.2.0\" = {{ path = \"{kv_dns}\", inherit_configuration = [\"key_value_stores\"] }}"))
            .replace("[component.dns.variables]", "key_value_stores = [\"default\"]\n[component.dns.variables]")
    });
    let id = p.connect(BOOTSTRAP_KEY, USERNAME);
    let (_, zones) = p.api(
        "GET",
        &format!("/api/v1/accounts/{id}/subscriptions/{SUBSCRIPTION}/dns/zones"),
        BOOTSTRAP_KEY,
        "",
    );
    let zone = &zones["zones"][0];
    assert_eq!(zone["name"], "example.test", "{zones}");
    let (status, _) = p.api(
        "POST",
        "/api/v1/dns/domains",
        BOOTSTRAP_KEY,
        &json!({ "account_id": id, "zone_id": zone["id"] }).to_string(),
    );
    assert_eq!(status, 201);
    let base = "/api/v1/dns/domains/example.test/records";
    let (status, a) = put(
        &p,
        &format!("{base}/A/www"),
        json!({ "ttl": 60, "values": ["192.0.2.1"] }),
        &[("if-none-match", "*")],
    );
    assert_eq!(status, 200, "{a}");
    let etag = a["etag"].as_str().unwrap().to_string();
    assert_eq!(
        put(
            &p,
            &format!("{base}/A/www"),
            json!({ "values": ["192.0.2.2"] }),
            &[("if-match", &etag)]
        )
        .0,
        200
    );
    assert_eq!(
        put(
            &p,
            &format!("{base}/A/www"),
            json!({ "values": ["192.0.2.3"] }),
            &[("if-match", &etag)]
        )
        .0,
        412
    );
    let (_, records) = p.api("GET", base, BOOTSTRAP_KEY, "");
    assert_eq!(records["records"][0]["values"], json!(["192.0.2.2"]));
    // Nothing reached Azure DNS.
    assert!(!p
        .sim
        .inventory()
        .iter()
        .any(|r| r["id"].as_str().unwrap().ends_with("/A/www")));
}
