//! Cost estimates: a server, a backup target and a DNS domain priced from
//! the emulated Retail Prices API's meters (the VM's Linux pay-as-you-go
//! hours, its Standard SSD E4 disk and static IP, outbound data, hot blob
//! storage and writes, a public zone and its queries — never a look-alike),
//! per thing, per account and for the organization; a stopped server's
//! compute costs nothing a month; and the prices are read once a day.
//! At either provider, everything is priced as the catalogue prices it
//! (DigitalOcean's prices come with its sizes, read with the account's
//! session); and one organization's estimate holds both providers'
//! accounts.

mod support;

use serde_json::Value;
use sim::world::defaults::*;
use sim::World;
use support::clouds::{self, for_each_cloud, Cloud, AZURE, DIGITALOCEAN};
use support::product::{Product, BOOTSTRAP_KEY};

for_each_cloud!(everything_is_priced_as_the_catalogue_prices_it);

fn line<'a>(lines: &'a Value, label_starts: &str) -> &'a Value {
    lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"].as_str().unwrap().starts_with(label_starts))
        .unwrap_or_else(|| panic!("no line {label_starts}: {lines}"))
}

fn costs(p: &Product) -> Value {
    let (status, c) = p.api("GET", "/api/v1/costs", BOOTSTRAP_KEY, "");
    assert_eq!(status, 200, "{c}");
    c
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.011
}

#[test]
fn everything_skyport_made_is_priced_per_thing_account_and_organization() {
    let p = Product::start(World::default());
    let account = p.connect(BOOTSTRAP_KEY, USERNAME);
    let empty = costs(&p);
    assert_eq!(
        (
            empty["per_month"].as_f64(),
            empty["accounts"].as_array().map(Vec::len)
        ),
        (Some(0.0), Some(0)),
        "{empty}"
    );

    let done = p.provision(&account, "priced", "westeurope", "Standard_B2s", "costs-1");
    let server = done["server"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        p.set_up_storage(&account, "skyportcosts01")["status"],
        "succeeded"
    );
    p.choose_zone(&account);

    let c = costs(&p);
    assert_eq!(c["estimate"], true);
    assert_eq!(c["currency"], "USD");
    assert!(c["note"].as_str().unwrap().contains("list prices"), "{c}");
    let a = &c["accounts"][0];
    assert_eq!(a["account_id"], account.as_str());

    // The server: the same compute price the create form shows, and what
    // comes with it.
    let s = &a["servers"][0];
    assert_eq!(s["id"], server.as_str());
    let (_, sizes) = p.api(
        "GET",
        &format!("/api/v1/accounts/{account}/subscriptions/{SUBSCRIPTION}/compute/sizes?region=westeurope"),
        BOOTSTRAP_KEY,
        "",
    );
    let b2s = sizes["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == "Standard_B2s")
        .unwrap()
        .clone();
    let compute = line(&s["lines"], "Compute (Standard_B2s");
    assert_eq!(
        compute["price"], b2s["hourly_price"],
        "the Linux on-demand meter: {compute}"
    );
    assert_eq!(
        (compute["unit"].as_str(), compute["billed"].as_str()),
        (Some("hour"), Some("while_running"))
    );
    let disk = line(&s["lines"], "OS disk");
    assert_eq!(
        (disk["unit"].as_str(), disk["price"].as_f64()),
        (Some("month"), Some(2.688)),
        "E4 LRS in westeurope, not ZRS: {disk}"
    );
    let ip = line(&s["lines"], "Public IP");
    assert_eq!(ip["price"], 0.005, "Standard, not Basic: {ip}");
    let out = line(&s["lines"], "Outbound data");
    assert_eq!(
        (out["unit"].as_str(), out["free_per_month"].as_f64()),
        (Some("GB"), Some(100.0)),
        "{out}"
    );
    let month = |l: &Value| l["per_month"].as_f64().unwrap();
    let expected = b2s["hourly_price"].as_f64().unwrap() * 730.0
        + 2.688
        + 0.005 * 730.0
        + out["price"].as_f64().unwrap() * 100.0;
    assert!(
        close(s["per_month"].as_f64().unwrap(), expected),
        "{s} vs {expected}"
    );
    assert!(close(
        month(compute),
        b2s["hourly_price"].as_f64().unwrap() * 730.0
    ));
    let so_far = s["so_far"].as_f64().unwrap();
    assert!(
        (0.0..0.05).contains(&so_far),
        "a server a few seconds old: {so_far}"
    );
    // It has been running since it was ready, and that keeps counting.
    let ran = s["seconds_running"].as_i64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let later = costs(&p)["accounts"][0]["servers"][0]["seconds_running"]
        .as_i64()
        .unwrap();
    assert!(later > ran, "{ran} then {later}");

    // The backup target: hot LRS data stored and writes, as assumed.
    let t = &a["backup_targets"][0];
    assert_eq!(t["region"], "westeurope");
    let stored = line(&t["lines"], "Blob storage");
    assert_eq!(stored["unit"], "GB-month");
    assert!(close(
        month(stored),
        stored["price"].as_f64().unwrap()
            * c["assumptions"]["storage_gb_per_backup_target"]
                .as_f64()
                .unwrap()
    ));
    assert_eq!(
        line(&t["lines"], "Write operations")["unit"],
        "10,000 writes"
    );

    // The domain: the public zone (first tier) and a million queries.
    let d = &a["domains"][0];
    assert_eq!(d["name"], DNS_ZONE);
    assert_eq!(line(&d["lines"], "DNS zone")["price"], 0.5);
    assert_eq!(line(&d["lines"], "DNS queries")["price"], 0.4);
    assert!(close(d["per_month"].as_f64().unwrap(), 0.9), "{d}");

    // The sums.
    let sum = s["per_month"].as_f64().unwrap()
        + t["per_month"].as_f64().unwrap()
        + d["per_month"].as_f64().unwrap();
    assert!(close(a["per_month"].as_f64().unwrap(), sum), "{a}");
    assert!(close(c["per_month"].as_f64().unwrap(), sum), "{c}");

    // One account's estimate alone; another organization's is not there.
    let (status, one) = p.api(
        "GET",
        &format!("/api/v1/costs?account_id={account}"),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["accounts"].as_array().unwrap().len(), 1);
    let other = p.new_org("Other");
    assert_eq!(
        p.api(
            "GET",
            &format!("/api/v1/costs?account_id={account}"),
            &other,
            ""
        )
        .0,
        404
    );
    let (_, theirs) = p.api("GET", "/api/v1/costs", &other, "");
    assert_eq!(theirs["accounts"], serde_json::json!([]));
    assert_eq!(
        p.api("GET", "/api/v1/costs?account_id=nope", BOOTSTRAP_KEY, "")
            .0,
        400
    );

    // Stopped (deallocated): its compute costs nothing a month; the disk
    // and the address still do.
    p.power(&server, "stop");
    let s = costs(&p)["accounts"][0]["servers"][0].clone();
    assert_eq!(s["status"], "stopped");
    assert_eq!(month(line(&s["lines"], "Compute")), 0.0, "{s}");
    assert_eq!(month(line(&s["lines"], "Outbound data")), 0.0, "{s}");
    assert!(month(line(&s["lines"], "OS disk")) > 0.0);
    // A deallocated server's compute does not run up: its running time
    // stands still.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let later = costs(&p)["accounts"][0]["servers"][0].clone();
    assert_eq!(later["seconds_running"], s["seconds_running"], "{later}");

    // The price list was read once per item and region, not per request.
    let reads = p
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/retail/prices"))
        .count();
    costs(&p);
    let again = p
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/retail/prices"))
        .count();
    assert_eq!(reads, again, "prices are kept for a day");
}

/// The catalogue's sizes in the cloud's region, through `account`.
fn catalogue(p: &Product, cloud: &Cloud, account: &str, scope: &str) -> Vec<Value> {
    let (status, sizes) = p.api(
        "GET",
        &format!(
            "/api/v1/accounts/{account}/subscriptions/{scope}/compute/sizes?region={}",
            cloud.region
        ),
        BOOTSTRAP_KEY,
        "",
    );
    assert_eq!(status, 200, "{sizes}");
    sizes["sizes"].as_array().unwrap().clone()
}

fn everything_is_priced_as_the_catalogue_prices_it(cloud: &Cloud) {
    let p = clouds::start(str::to_string);
    let (account, scope) = (cloud.connect)(&p);

    // Every size the catalogue lists has its price.
    let sizes = catalogue(&p, cloud, &account, &scope);
    assert!(!sizes.is_empty());
    for z in &sizes {
        assert!(
            z["hourly_price"].as_f64().is_some_and(|h| h > 0.0)
                && z["monthly_estimate"].as_f64().is_some_and(|m| m > 0.0)
                && z["currency"] == "USD",
            "{z}"
        );
    }
    let size = sizes.iter().find(|z| z["name"] == cloud.size).unwrap();
    let monthly = size["monthly_estimate"].as_f64().unwrap();

    // A server, backup storage and a domain.
    let server = cloud.provision(&p, &account, &scope, "priced")["server"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let op = cloud.start_storage(&p, &account, &scope, "skyportpriced1");
    let done = p.wait_storage(op["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    cloud.choose_domain(&p, &account, &scope);

    let c = costs(&p);
    assert_eq!(c["unpriced"], serde_json::json!([]), "{c}");
    assert_eq!(c["currency"], "USD");
    let a = &c["accounts"][0];
    assert_eq!(a["account_id"], account.as_str(), "{c}");
    let month = |l: &Value| l["per_month"].as_f64().unwrap();

    // The server's compute costs a month what the create form said.
    let s = &a["servers"][0];
    assert_eq!(s["id"], server.as_str());
    let lines = s["lines"].as_array().unwrap();
    let compute = lines
        .iter()
        .find(|l| close(month(l), monthly))
        .unwrap_or_else(|| panic!("no line of {monthly} a month: {s}"));
    let target = &a["backup_targets"][0];
    assert!(month(target) > 0.0, "{target}");
    let domain = &a["domains"][0];
    assert!(!domain["lines"].as_array().unwrap().is_empty(), "{domain}");
    let sum = month(s) + month(target) + month(domain);
    assert!(close(month(a), sum), "{a}");
    assert!(close(month(&c), sum), "{c}");

    // Stopped, its compute is billed as the provider bills it.
    p.power(&server, "stop");
    let stopped = costs(&p)["accounts"][0]["servers"][0].clone();
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    let label = compute["label"].as_str().unwrap();
    let now = line(&stopped["lines"], label);
    assert_eq!(
        month(now),
        if cloud.billed_while_stopped {
            monthly
        } else {
            0.0
        },
        "{} bills a stopped server's {label}: {now}",
        cloud.name
    );
}

#[test]
fn one_estimate_holds_both_providers_accounts() {
    let p = clouds::start(str::to_string);
    let mut accounts = Vec::new();
    for (cloud, name) in [(&AZURE, "both-azure"), (&DIGITALOCEAN, "both-digitalocean")] {
        let (account, scope) = (cloud.connect)(&p);
        cloud.provision(&p, &account, &scope, name);
        accounts.push(account);
    }
    let c = costs(&p);
    assert_eq!(c["unpriced"], serde_json::json!([]), "{c}");
    let listed = c["accounts"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{c}");
    let mut sum = 0.0;
    for id in &accounts {
        let a = listed
            .iter()
            .find(|a| a["account_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} is not in {c}"));
        let per_month = a["per_month"].as_f64().unwrap();
        assert!(per_month > 0.0, "{a}");
        sum += per_month;

        // Each account alone, wherever the request lands.
        let (status, one) = p.api(
            "GET",
            &format!("/api/v1/costs?account_id={id}"),
            BOOTSTRAP_KEY,
            "",
        );
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["accounts"].as_array().unwrap().len(), 1, "{one}");
        assert!(
            close(one["per_month"].as_f64().unwrap(), per_month),
            "{one}"
        );
    }
    assert!(close(c["per_month"].as_f64().unwrap(), sum), "{c}");
}
