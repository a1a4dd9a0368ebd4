//! The retail-prices endpoint: filters, decoys and pagination.

mod support;

use support::*;

#[test]
fn filtered_prices_include_the_decoys_a_client_must_skip() {
    let sim = start();
    let filter = sim::http::enc("serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and armSkuName eq 'Standard_B2s' and priceType eq 'Consumption'");
    let r = call(
        "GET",
        &format!("{}/api/retail/prices?$filter={filter}", sim.url),
        &[],
        None,
    )
    .json();
    let items = r["Items"].as_array().unwrap();
    assert_eq!(r["BillingCurrency"], "USD");
    assert!(r["NextPageLink"].is_null());
    let names: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["productName"].as_str().unwrap().to_string(),
                i["meterName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        names.iter().any(|(p, _)| p.ends_with(" Windows")),
        "{names:?}"
    );
    assert!(names.iter().any(|(_, m)| m.contains("Spot")), "{names:?}");
    assert!(
        names.iter().any(|(_, m)| m.contains("Low Priority")),
        "{names:?}"
    );
    let linux: Vec<_> = items
        .iter()
        .filter(|i| {
            !i["productName"].as_str().unwrap().ends_with(" Windows")
                && !i["meterName"].as_str().unwrap().contains("Spot")
                && !i["meterName"].as_str().unwrap().contains("Low Priority")
        })
        .collect();
    assert_eq!(linux.len(), 1);
    assert_eq!(linux[0]["unitOfMeasure"], "1 Hour");
    assert_eq!(linux[0]["retailPrice"], 0.0416);
}

#[test]
fn unfiltered_prices_paginate() {
    let sim = start();
    let mut url = format!("{}/api/retail/prices?currencyCode='EUR'", sim.url);
    let mut total = 0;
    let mut pages = 0;
    loop {
        let r = call("GET", &url, &[], None).json();
        pages += 1;
        total += r["Items"].as_array().unwrap().len();
        assert_eq!(r["Items"][0]["currencyCode"], "EUR");
        match r["NextPageLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert!(pages > 1);
    assert_eq!(total, sim::prices::catalogue().len());
    let r = call(
        "GET",
        &format!(
            "{}/api/retail/prices?$filter=contains(meterName,'x')",
            sim.url
        ),
        &[],
        None,
    );
    assert_eq!(r.status, 400);
}
