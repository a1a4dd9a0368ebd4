//! Hostile input never becomes part of a provider's URL: every field of
//! storage setup, DNS and servers that reaches Azure's ARM or DigitalOcean's
//! API is checked against the provider's rules first — path and query
//! characters, `..`, absolute URLs, NUL, markup, unicode, 60 KB values,
//! wrong JSON types — and the emulator's request log shows that not one
//! request was made while they were refused.

mod support;

use serde_json::{json, Value};
use support::clouds::{self, for_each_cloud, Cloud};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(every_field_that_reaches_the_provider_is_checked_before_any_call);

/// Values that would change a path or query, or are not names at all.
fn hostile() -> Vec<String> {
    vec![
        "a/b".into(),
        "a?x=1".into(),
        "a#b".into(),
        "..".into(),
        "a%2Fb".into(),
        "https://evil.example/x".into(),
        "a\u{0}b".into(),
        "<script>alert(1)</script>".into(),
        "east'us\"".into(),
        "ünïcødé".into(),
        "é".repeat(30_000),
    ]
}

fn request(p: &Product, method: &str, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
    let auth = format!("Bearer {BOOTSTRAP_KEY}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    let (status, text) = support::request(
        method,
        &format!("{}{path}", p.host.url),
        &headers,
        &body.to_string(),
    );
    (status, serde_json::from_str(&text).unwrap_or(json!(text)))
}

/// Sends `body` with `field` replaced by each value; every answer must be a
/// 4xx with the error envelope.
fn refuses_each(
    p: &Product,
    method: &str,
    path: &str,
    base: &Value,
    field: &str,
    values: &[Value],
) {
    for (i, v) in values.iter().enumerate() {
        let mut body = base.clone();
        body[field] = v.clone();
        let key = format!("inject-{field}-{i}-{}", path.len());
        let (status, answer) = request(p, method, path, &body, Some(&key));
        let shown: String = v.to_string().chars().take(60).collect();
        assert!(
            (400..500).contains(&status),
            "{method} {path} with {field} = {shown}: {status} {answer}"
        );
        assert!(
            answer["error"]["code"].is_string() && answer["error"]["remedy"].is_string(),
            "{field} = {shown}: {answer}"
        );
    }
}

fn no_requests_since_clear(p: &Product, what: &str) {
    let log = p.sim.requests();
    assert!(
        log.is_empty(),
        "{what}: the emulator was called: {:?}",
        log.iter()
            .map(|l| format!("{} {}", l.method, l.path))
            .collect::<Vec<_>>()
    );
}

fn every_field_that_reaches_the_provider_is_checked_before_any_call(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (id, scope) = (cloud.connect)(&p);
    // The user's zone (or domain), read before the log is cleared.
    let zones = cloud.zones(&p, &id, &scope);
    let zone_id = zones[0]["id"].as_str().unwrap().to_string();
    let zone = zones[0]["name"].as_str().unwrap().to_string();
    p.sim.with_state(|s| s.log.clear());

    let strings: Vec<Value> = hostile().into_iter().map(Value::String).collect();
    let mut with_types = strings.clone();
    with_types.extend([json!(5), json!(["eastus"]), json!({ "a": 1 }), json!(true)]);

    // Storage quick setup, including the group that named an NSG.
    let setup = json!({
        "account_id": id, "subscription_id": scope, "region": cloud.storage_region,
        "storage_account": "skyportbackups7", "container": "backups", "resource_group": "rg",
    });
    if cloud.store_group {
        let mut groups = with_types.clone();
        groups.push(json!(
            "rg/providers/Microsoft.Network/networkSecurityGroups/web9-nsg?api-version=2024-05-01"
        ));
        refuses_each(
            &p,
            "POST",
            "/api/v1/storage/setup",
            &setup,
            "resource_group",
            &groups,
        );
    }
    for field in ["region", "storage_account", "container", "subscription_id"] {
        refuses_each(
            &p,
            "POST",
            "/api/v1/storage/setup",
            &setup,
            field,
            &with_types,
        );
    }
    no_requests_since_clear(&p, "storage setup");

    // Servers: every part of the spec.
    let server = json!({
        "account_id": id, "subscription_id": scope, "region": cloud.region, "size": cloud.size,
        "name": "web1", "admin_username": cloud.admin_username,
        "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk2bW9ja2tleWZvcnRlc3RzMDEyMzQ1Njc4OQ ada@example",
    });
    for field in [
        "region",
        "size",
        "name",
        "admin_username",
        "subscription_id",
    ] {
        refuses_each(&p, "POST", "/api/v1/servers", &server, field, &with_types);
    }
    for region in ["a%2Fb", "east%00us", "%3Cscript%3E", "..", "eastus%3Fx%3D1"] {
        let path =
            format!("/api/v1/accounts/{id}/subscriptions/{scope}/compute/sizes?region={region}");
        let (status, answer) = request(&p, "GET", &path, &json!({}), None);
        assert!(
            (400..500).contains(&status),
            "sizes in {region}: {status} {answer}"
        );
    }
    no_requests_since_clear(&p, "servers");

    // DNS: a zone id must be a zone's id (Azure: its resource id;
    // DigitalOcean: the domain) and nothing else.
    let mut zones = with_types.clone();
    zones.extend([
        json!(format!("{zone_id}?foo=bar")),
        json!(format!("{zone_id}/A/www")),
        json!(format!("https://evil.example{zone_id}")),
        json!(format!(
            "/subscriptions/{scope}/resourceGroups/web9/providers/Microsoft.Network/networkSecurityGroups/web9-nsg"
        )),
        json!(format!("{zone_id}/../../dnszones/other.com")),
    ]);
    let domain = json!({ "account_id": id, "zone_id": zone_id });
    refuses_each(
        &p,
        "POST",
        "/api/v1/dns/domains",
        &domain,
        "zone_id",
        &zones,
    );
    no_requests_since_clear(&p, "DNS domains");

    // Records, once a real zone is chosen.
    let (status, d) = request(&p, "POST", "/api/v1/dns/domains", &domain, None);
    assert_eq!(status, 201, "{d}");
    p.sim.with_state(|s| s.log.clear());
    let records = format!("/api/v1/dns/domains/{zone}/records/A");
    for name in ["a%2Fb", "a%3Fx", "a%23b", "..", "a%00b", "%C3%BC", "a%20b"] {
        let (status, answer) = request(
            &p,
            "PUT",
            &format!("{records}/{name}"),
            &json!({ "ttl": 300, "values": ["203.0.113.10"] }),
            None,
        );
        assert!(
            (400..500).contains(&status),
            "record {name}: {status} {answer}"
        );
    }
    let record = json!({ "ttl": 300, "values": ["203.0.113.10"] });
    refuses_each(
        &p,
        "PUT",
        &format!("{records}/www"),
        &record,
        "ttl",
        &[
            json!("300"),
            json!(-1),
            json!(1.5),
            json!(0),
            json!(1u64 << 40),
        ],
    );
    refuses_each(
        &p,
        "PUT",
        &format!("{records}/www"),
        &record,
        "values",
        &[json!("203.0.113.10"), json!([1]), json!([{ "ip": "x" }])],
    );
    // Values their record type cannot hold: refused, not cut down to what fits.
    for (ty, values) in [
        ("A", json!(["999.1.1.1"])),
        ("AAAA", json!(["203.0.113.10"])),
        ("CNAME", json!(["a.example.com", "b.example.com"])),
        ("CNAME", json!(["http://evil.example/?x"])),
        ("TXT", json!([""])),
    ] {
        let (status, answer) = request(
            &p,
            "PUT",
            &format!("/api/v1/dns/domains/{zone}/records/{ty}/www"),
            &json!({ "ttl": 300, "values": values }),
            None,
        );
        assert_eq!(status, 400, "{ty} {values}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_value", "{answer}");
        assert_eq!(answer["error"]["field"], "values", "{answer}");
    }
    no_requests_since_clear(&p, "DNS records");

    // A wrong type names the field.
    let mut body = record.clone();
    body["ttl"] = json!("300");
    let (status, answer) = request(&p, "PUT", &format!("{records}/www"), &body, None);
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_field");
    assert_eq!(answer["error"]["field"], "ttl");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`ttl`"));

    // And the well-formed request still works.
    let (status, answer) = request(&p, "PUT", &format!("{records}/www"), &record, None);
    assert_eq!(status, 200, "{answer}");
}
