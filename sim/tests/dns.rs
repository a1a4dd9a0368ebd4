//! Azure DNS zones and record sets, with etag concurrency.

mod support;

use serde_json::json;
use sim::world::defaults::*;
use support::*;

fn zone() -> String {
    format!(
        "{}/providers/Microsoft.Network/dnsZones/{DNS_ZONE}",
        rg(DNS_RESOURCE_GROUP)
    )
}

#[test]
fn the_default_zone_is_listed_with_its_name_servers() {
    let sim = start();
    let token = token(&sim);
    let zones = arm(
        &sim,
        &token,
        "GET",
        &format!(
            "{}/providers/Microsoft.Network/dnszones?api-version=2018-05-01",
            sub()
        ),
        None,
    )
    .json();
    let z = &zones["value"][0];
    assert_eq!(z["name"], DNS_ZONE);
    assert_eq!(z["location"], "global");
    assert_eq!(z["properties"]["nameServers"].as_array().unwrap().len(), 4);
    assert_eq!(
        z["properties"]["numberOfRecordSets"], 2,
        "NS and SOA at the apex"
    );
}

#[test]
fn record_sets_round_trip_and_etags_guard_concurrent_changes() {
    let sim = start();
    let token = token(&sim);
    let a = format!("{}/A/www?api-version=2018-05-01", zone());
    let r = arm(
        &sim,
        &token,
        "PUT",
        &a,
        Some(&json!({ "properties": { "TTL": 300, "ARecords": [{ "ipv4Address": "20.1.2.3" }] } })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    assert_eq!(created["properties"]["fqdn"], format!("www.{DNS_ZONE}."));
    let etag = created["etag"].as_str().unwrap().to_string();

    // Creating again with If-None-Match: * fails; an update with the right etag works.
    let body = json!({ "properties": { "TTL": 300, "ARecords": [{ "ipv4Address": "20.1.2.4" }] } });
    let call_with = |h: (&str, &str), body: &serde_json::Value| {
        let url = format!("{}{a}", sim.url);
        call(
            "PUT",
            &url,
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
                h,
            ],
            Some(&body.to_string()),
        )
    };
    assert_eq!(call_with(("if-none-match", "*"), &body).status, 412);
    let updated = call_with(("if-match", &etag), &body);
    assert_eq!(updated.status, 200, "{}", updated.body);
    // The old etag is stale now: a concurrent writer is detected, not overwritten.
    let stale = call_with(
        ("if-match", &etag),
        &json!({ "properties": { "TTL": 300, "ARecords": [{ "ipv4Address": "20.9.9.9" }] } }),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(stale.json()["error"]["code"], "PreconditionFailed");
    assert_eq!(
        arm(&sim, &token, "GET", &a, None).json()["properties"]["ARecords"][0]["ipv4Address"],
        "20.1.2.4"
    );

    for (ty, body) in [
        (
            "AAAA",
            json!({ "properties": { "TTL": 300, "AAAARecords": [{ "ipv6Address": "2001:db8::1" }] } }),
        ),
        (
            "CNAME",
            json!({ "properties": { "TTL": 300, "CNAMERecord": { "cname": "web1.westeurope.cloudapp.azure.com" } } }),
        ),
        (
            "TXT",
            json!({ "properties": { "TTL": 300, "TXTRecords": [{ "value": ["v=spf1 -all"] }] } }),
        ),
    ] {
        let name = if ty == "CNAME" { "app" } else { "www" };
        let r = arm(
            &sim,
            &token,
            "PUT",
            &format!("{}/{ty}/{name}?api-version=2018-05-01", zone()),
            Some(&body),
        );
        assert_eq!(r.status, 201, "{ty}: {}", r.body);
    }
    // A CNAME cannot share a name with other records.
    let r = arm(
        &sim,
        &token,
        "PUT",
        &format!("{}/CNAME/www?api-version=2018-05-01", zone()),
        Some(&json!({ "properties": { "TTL": 300, "CNAMERecord": { "cname": "x.example.com" } } })),
    );
    assert_eq!(r.status, 409);
    let bad = arm(
        &sim,
        &token,
        "PUT",
        &format!("{}/A/bad?api-version=2018-05-01", zone()),
        Some(
            &json!({ "properties": { "TTL": 300, "ARecords": [{ "ipv4Address": "not-an-ip" }] } }),
        ),
    );
    assert_eq!(bad.status, 400);

    let all = arm(
        &sim,
        &token,
        "GET",
        &format!("{}/recordsets?api-version=2018-05-01", zone()),
        None,
    )
    .json();
    assert_eq!(all["value"].as_array().unwrap().len(), 6);
    assert_eq!(arm(&sim, &token, "DELETE", &a, None).status, 200);
    assert_eq!(arm(&sim, &token, "DELETE", &a, None).status, 204);
    assert_eq!(
        arm(&sim, &token, "GET", &zone(), None).json()["properties"]["numberOfRecordSets"],
        5
    );
}
