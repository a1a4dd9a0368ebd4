//! A retail-prices endpoint shaped like the public Azure Retail Prices API
//! (`/api/retail/prices?$filter=…`): Linux on-demand VM prices per region,
//! with the decoys a careless client would pick (Windows, Spot, Low Priority,
//! reservations, Dev/Test), the meters of what a server brings with it (its
//! Standard SSD OS disk, its static public IP, outbound data in tiers), of
//! backup storage (hot block blobs stored and written), of public DNS zones
//! and queries (global, in tiers), each beside look-alikes, and
//! `NextPageLink` pagination.

use serde_json::{json, Value};

use crate::http::{enc, Req, Resp};
use crate::state::State;
use crate::world::{REGIONS, VM_SIZES};

const PAGE: usize = 100;

/// Region price multipliers and the API's `location` names.
fn region_facts(region: &str) -> (f64, &'static str) {
    match region {
        "eastus" => (1.0, "US East"),
        "westus2" => (1.0, "US West 2"),
        "westus" => (1.06, "US West"),
        "centralus" => (1.04, "US Central"),
        "westeurope" => (1.12, "EU West"),
        "northeurope" => (1.08, "EU North"),
        "uksouth" => (1.1, "UK South"),
        "southeastasia" => (1.18, "AP Southeast"),
        "australiaeast" => (1.25, "AU East"),
        "japaneast" => (1.22, "JA East"),
        _ => (1.3, "Unknown"),
    }
}

fn series(family: &str) -> &'static str {
    match family {
        "standardBSFamily" => "BS",
        "standardDSv5Family" => "Dsv5",
        "standardFSv2Family" => "FSv2",
        "standardDv2Family" => "Dv2",
        _ => "General",
    }
}

fn round(p: f64) -> f64 {
    (p * 10000.0).round() / 10000.0
}

/// Every price item the emulator knows.
pub fn catalogue() -> Vec<Value> {
    let mut items = Vec::new();
    for region in REGIONS.iter().map(|r| r.name) {
        let (mult, location) = region_facts(region);
        for (arm_sku, family, _, _, base) in VM_SIZES {
            let sku = arm_sku.trim_start_matches("Standard_").replace('_', " ");
            let linux = round(base * mult);
            let product = format!("Virtual Machines {} Series", series(family));
            let item = |product: &str, sku_name: &str, meter: &str, price: f64, kind: &str| {
                let meter_id = uuid::Uuid::new_v5(
                    &uuid::Uuid::NAMESPACE_URL,
                    format!("{region}/{product}/{meter}/{kind}").as_bytes(),
                )
                .to_string();
                json!({
                    "currencyCode": "USD", "tierMinimumUnits": 0.0, "retailPrice": price, "unitPrice": price,
                    "armRegionName": region, "location": location, "effectiveStartDate": "2024-06-01T00:00:00Z",
                    "meterId": meter_id, "meterName": meter, "productId": format!("DZH318Z0{}", series(family)), "skuId": format!("DZH318Z0{}/00{}", series(family), sku.len()),
                    "productName": product, "skuName": sku_name, "serviceName": "Virtual Machines", "serviceId": "DZH313Z7MMC8",
                    "serviceFamily": "Compute", "unitOfMeasure": "1 Hour", "type": kind, "isPrimaryMeterRegion": true, "armSkuName": arm_sku,
                })
            };
            items.push(item(&product, &sku, &sku, linux, "Consumption"));
            items.push(item(
                &format!("{product} Windows"),
                &sku,
                &sku,
                round(linux * 1.85),
                "Consumption",
            ));
            items.push(item(
                &product,
                &format!("{sku} Spot"),
                &format!("{sku} Spot"),
                round(linux * 0.2),
                "Consumption",
            ));
            items.push(item(
                &product,
                &format!("{sku} Low Priority"),
                &format!("{sku} Low Priority"),
                round(linux * 0.2),
                "Consumption",
            ));
            items.push(item(
                &product,
                &sku,
                &sku,
                round(linux * 0.9),
                "DevTestConsumption",
            ));
            let mut reserved = item(
                &product,
                &sku,
                &sku,
                round(linux * 8760.0 * 0.6),
                "Reservation",
            );
            reserved["reservationTerm"] = json!("1 Year");
            items.push(reserved);
        }
    }
    for region in REGIONS.iter().map(|r| r.name) {
        let (mult, location) = region_facts(region);
        let at =
            |service: &str, family: &str, product: &str, sku: &str, meter: &str, unit: &str| {
                Meter {
                    region: region.to_string(),
                    location: location.to_string(),
                    service: service.into(),
                    family: family.into(),
                    product: product.into(),
                    sku: sku.into(),
                    meter: meter.into(),
                    unit: unit.into(),
                }
            };
        let disk = at(
            "Storage",
            "Storage",
            "Standard SSD Managed Disks",
            "E4 LRS",
            "E4 LRS Disk",
            "1/Month",
        );
        items.push(disk.item(round(2.4 * mult), 0.0));
        items.push(
            at(
                "Storage",
                "Storage",
                "Standard SSD Managed Disks",
                "E4 ZRS",
                "E4 ZRS Disk",
                "1/Month",
            )
            .item(round(2.88 * mult), 0.0),
        );
        items.push(
            at(
                "Storage",
                "Storage",
                "Standard SSD Managed Disks",
                "E4 LRS",
                "E4 LRS Disk Operations",
                "10K",
            )
            .item(0.002, 0.0),
        );
        items.push(
            at(
                "Virtual Network",
                "Networking",
                "IP Addresses",
                "Standard",
                "Standard IPv4 Static Public IP",
                "1 Hour",
            )
            .item(0.005, 0.0),
        );
        items.push(
            at(
                "Virtual Network",
                "Networking",
                "IP Addresses",
                "Basic",
                "Basic IPv4 Static Public IP",
                "1 Hour",
            )
            .item(0.0036, 0.0),
        );
        let egress = at(
            "Bandwidth",
            "Networking",
            "Rtn Preference: MGN",
            "Standard",
            "Standard Data Transfer Out",
            "1 GB",
        );
        for (tier, price) in [
            (0.0, 0.0),
            (100.0, 0.087),
            (10340.0, 0.083),
            (51540.0, 0.07),
        ] {
            items.push(egress.item(round(price * mult.min(1.2)), tier));
        }
        items.push(
            at(
                "Bandwidth",
                "Networking",
                "Rtn Preference: MGN",
                "Standard",
                "Standard Data Transfer In",
                "1 GB",
            )
            .item(0.0, 0.0),
        );
        let blob = |sku: &str, meter: &str, unit: &str| {
            at(
                "Storage",
                "Storage",
                "General Block Blob v2",
                sku,
                meter,
                unit,
            )
        };
        items.push(
            blob("Hot LRS", "Hot LRS Data Stored", "1 GB/Month").item(round(0.0184 * mult), 0.0),
        );
        items
            .push(blob("Hot LRS", "Hot LRS Write Operations", "10K").item(round(0.05 * mult), 0.0));
        items.push(blob("Hot LRS", "Hot Read Operations", "10K").item(round(0.004 * mult), 0.0));
        items.push(
            blob("Cool LRS", "Cool LRS Data Stored", "1 GB/Month").item(round(0.01 * mult), 0.0),
        );
        items.push(
            blob("Hot GRS", "Hot GRS Data Stored", "1 GB/Month").item(round(0.0368 * mult), 0.0),
        );
    }
    // Public DNS is priced once for the world, in tiers.
    let dns = |sku: &str, meter: &str, unit: &str| Meter {
        region: String::new(),
        location: "Zone 1".into(),
        service: "Azure DNS".into(),
        family: "Networking".into(),
        product: "Azure DNS".into(),
        sku: sku.into(),
        meter: meter.into(),
        unit: unit.into(),
    };
    for (tier, price) in [(0.0, 0.5), (25.0, 0.1)] {
        items.push(dns("Public", "Public Zone", "1/Month").item(price, tier));
        items.push(dns("Private", "Private Zone", "1/Month").item(price, tier));
    }
    for (tier, price) in [(0.0, 0.4), (1000.0, 0.2)] {
        items.push(dns("Public", "Public Queries", "1M").item(price, tier));
        items.push(dns("Private", "Private Queries", "1M").item(price, tier));
    }
    items
}

/// A meter other than a VM's, as the price list shows it.
struct Meter {
    region: String,
    location: String,
    service: String,
    family: String,
    product: String,
    sku: String,
    meter: String,
    unit: String,
}

impl Meter {
    /// The meter's on-demand price from `tier` units a month on.
    fn item(&self, price: f64, tier: f64) -> Value {
        let id = |what: &str| {
            uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_URL,
                format!("{}/{}/{}/{what}", self.service, self.product, self.meter).as_bytes(),
            )
            .to_string()
        };
        json!({
            "currencyCode": "USD", "tierMinimumUnits": tier, "retailPrice": price, "unitPrice": price,
            "armRegionName": self.region, "location": self.location, "effectiveStartDate": "2024-06-01T00:00:00Z",
            "meterId": id("meter"), "meterName": self.meter, "productId": id("product")[..12].to_ascii_uppercase(), "skuId": id("sku")[..12].to_ascii_uppercase(),
            "productName": self.product, "skuName": self.sku, "serviceName": self.service, "serviceId": id("service")[..12].to_ascii_uppercase(),
            "serviceFamily": self.family, "unitOfMeasure": self.unit, "type": "Consumption", "isPrimaryMeterRegion": true, "armSkuName": "",
        })
    }
}

/// Splits `a eq 'x' and b eq 'y'` into (field, value) pairs.
fn parse_filter(filter: &str) -> Result<Vec<(String, String)>, String> {
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    while !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        let (part, next) = match lower.find(" and ") {
            Some(i) => (&rest[..i], &rest[i + 5..]),
            None => (rest, ""),
        };
        let Some((field, value)) = part.split_once(" eq ") else {
            return Err(format!("Unsupported filter expression '{}'. Use clauses like serviceName eq 'Virtual Machines' joined with 'and'.", part.trim()));
        };
        let value = value
            .trim()
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .ok_or_else(|| {
                format!(
                    "The value in '{}' must be quoted with single quotes.",
                    part.trim()
                )
            })?;
        clauses.push((field.trim().to_string(), value.to_string()));
        rest = next.trim();
    }
    Ok(clauses)
}

/// `GET /api/retail/prices`.
pub fn handle(state: &State, req: &Req) -> Resp {
    let filter = req.q("$filter").unwrap_or("").to_string();
    let clauses = if filter.trim().is_empty() {
        Ok(vec![])
    } else {
        parse_filter(&filter)
    };
    let clauses = match clauses {
        Ok(c) => c,
        Err(message) => {
            return Resp::json(
                400,
                &json!({ "Error": { "Code": "InvalidFilter", "Message": message } }),
            )
        }
    };
    // From 2023-01-01-preview on, filter values are case-sensitive.
    let case_sensitive = req
        .q("api-version")
        .is_some_and(|v| v >= "2023-01-01-preview");
    let currency = req
        .q("currencyCode")
        .map(|c| c.trim_matches('\'').to_ascii_uppercase())
        .unwrap_or_else(|| "USD".into());
    let rate = match currency.as_str() {
        "USD" => 1.0,
        "EUR" => 0.92,
        "GBP" => 0.79,
        other => {
            return Resp::json(
                400,
                &json!({ "Error": { "Code": "InvalidCurrency", "Message": format!("Currency '{other}' is not supported.") } }),
            )
        }
    };
    let mut items: Vec<Value> = catalogue()
        .into_iter()
        .filter(|item| {
            clauses.iter().all(|(field, value)| {
                // The filter says `priceType`; items carry it as `type`.
                let field = if field.eq_ignore_ascii_case("priceType") {
                    "type"
                } else {
                    field.as_str()
                };
                let found = item
                    .as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)))
                    .map(|(_, v)| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    });
                found.is_some_and(|f| {
                    if case_sensitive {
                        f == *value
                    } else {
                        f.eq_ignore_ascii_case(value)
                    }
                })
            })
        })
        .collect();
    for item in &mut items {
        for k in ["retailPrice", "unitPrice"] {
            let p = item[k].as_f64().unwrap_or(0.0);
            item[k] = json!(round(p * rate));
        }
        item["currencyCode"] = json!(currency);
    }
    let skip: usize = req.q("$skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let end = (skip + PAGE).min(items.len());
    let page: Vec<Value> = items.get(skip..end).map(|s| s.to_vec()).unwrap_or_default();
    let next = (end < items.len()).then(|| {
        let kept: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "$skip")
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        format!(
            "{}/api/retail/prices?{}{}%24skip={end}",
            state.base_url,
            kept.join("&"),
            if kept.is_empty() { "" } else { "&" }
        )
    });
    Resp::json(
        200,
        &json!({ "BillingCurrency": currency, "CustomerEntityId": "Default", "CustomerEntityType": "Retail", "Items": page, "NextPageLink": next, "Count": page.len() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let c = parse_filter("serviceName eq 'Virtual Machines' and armRegionName eq 'eastus'")
            .unwrap();
        assert_eq!(
            c,
            vec![
                ("serviceName".into(), "Virtual Machines".into()),
                ("armRegionName".into(), "eastus".into())
            ]
        );
        assert!(parse_filter("contains(x, 'y')").is_err());
    }

    #[test]
    fn one_linux_on_demand_price_per_size_and_region() {
        let linux: Vec<Value> = catalogue()
            .into_iter()
            .filter(|i| {
                i["armSkuName"] == "Standard_B2s"
                    && i["armRegionName"] == "eastus"
                    && i["type"] == "Consumption"
            })
            .filter(|i| {
                !i["productName"].as_str().unwrap().ends_with("Windows")
                    && !i["meterName"].as_str().unwrap().contains("Spot")
                    && !i["meterName"].as_str().unwrap().contains("Low Priority")
            })
            .collect();
        assert_eq!(linux.len(), 1);
        assert_eq!(linux[0]["retailPrice"], 0.0416);
    }
}
