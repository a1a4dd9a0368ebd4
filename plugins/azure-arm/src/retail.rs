//! The Azure Retail Prices API (public list prices, no token): `items` reads
//! every page a filter answers, `linux_on_demand` picks a VM size's Linux
//! pay-as-you-go price among its look-alikes (`size_price` asks for it),
//! and `tiered` reads a meter's price and the units it gives free each
//! month.

use serde_json::Value;

use crate::names::{self, Name};
use crate::{enc, ArmError, Request, Transport};

/// Pages followed at most: a filter Skyport writes answers one or two.
const MAX_PAGES: usize = 20;

/// Every item the price list at `endpoint` answers `filter` with.
pub fn items<T: Transport>(t: &T, endpoint: &str, filter: &str) -> Result<Vec<Value>, ArmError> {
    let mut url = Some(format!(
        "{}/api/retail/prices?$filter={}",
        endpoint.trim_end_matches('/'),
        enc(filter)
    ));
    let mut out = Vec::new();
    let mut pages = 0;
    while let Some(u) = url.take() {
        pages += 1;
        let resp = t
            .send(&Request {
                method: "GET",
                url: u,
                headers: vec![("accept".into(), "application/json".into())],
                body: None,
            })
            .map_err(unavailable)?;
        if resp.status != 200 {
            return Err(unavailable(format!(
                "the price list answered {}",
                resp.status
            )));
        }
        let page = resp
            .json()
            .ok_or_else(|| unavailable("the price list answered no JSON".into()))?;
        out.extend(page["Items"].as_array().cloned().unwrap_or_default());
        url = page["NextPageLink"]
            .as_str()
            .filter(|_| pages < MAX_PAGES)
            .map(str::to_string);
    }
    Ok(out)
}

fn unavailable(message: String) -> ArmError {
    ArmError {
        status: 503,
        code: "PricesUnavailable".into(),
        message: format!("The Azure price list could not be read: {message}."),
        target: None,
        retry_after: None,
    }
}

/// The Linux pay-as-you-go hourly price among a VM size's items: not
/// Windows, not Spot or Low Priority, not a reservation or Dev/Test, the
/// primary meter region. `(price, currency)`.
pub fn linux_on_demand(items: &[Value]) -> Option<(f64, String)> {
    items
        .iter()
        .find(|i| {
            let product = i["productName"].as_str().unwrap_or("");
            let meter = i["meterName"].as_str().unwrap_or("");
            i["type"] == "Consumption"
                && !product.ends_with(" Windows")
                && !meter.contains("Spot")
                && !meter.contains("Low Priority")
                && i["isPrimaryMeterRegion"] != false
        })
        .map(price_of)
}

/// The Linux pay-as-you-go price of an hour of VM `size` in `region`, from
/// the price list at `endpoint`; none for a size the list does not know.
/// Both names are checked before they become part of the filter.
pub fn size_price<T: Transport>(
    t: &T,
    endpoint: &str,
    region: &str,
    size: &str,
) -> Result<Option<(f64, String)>, ArmError> {
    names::check(Name::Region, region)?;
    names::check(Name::VmSize, size)?;
    let filter = format!("serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and armSkuName eq '{size}' and priceType eq 'Consumption'");
    Ok(linux_on_demand(&items(t, endpoint, &filter)?))
}

fn price_of(i: &Value) -> (f64, String) {
    (
        i["retailPrice"].as_f64().unwrap_or(0.0),
        i["currencyCode"].as_str().unwrap_or("USD").to_string(),
    )
}

/// A meter's pay-as-you-go price.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiered {
    /// The price of a unit once the free units are used.
    pub price: f64,
    pub currency: String,
    /// Units a month that cost nothing (a first tier priced 0).
    pub free: f64,
}

/// The price of the meter named `meter` (exactly) among `items`: the first
/// paid tier, after a free first tier if the meter has one.
pub fn tiered(items: &[Value], meter: &str) -> Option<Tiered> {
    let mut tiers: Vec<&Value> = items
        .iter()
        .filter(|i| i["meterName"] == meter && i["type"] == "Consumption")
        .collect();
    tiers.sort_by(|a, b| {
        let t = |v: &Value| v["tierMinimumUnits"].as_f64().unwrap_or(0.0);
        t(a).total_cmp(&t(b))
    });
    let first = tiers.first()?;
    let (price, currency) = price_of(first);
    match tiers.get(1) {
        Some(next) if price == 0.0 => Some(Tiered {
            price: price_of(next).0,
            currency,
            free: next["tierMinimumUnits"].as_f64().unwrap_or(0.0),
        }),
        _ => Some(Tiered {
            price,
            currency,
            free: 0.0,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(meter: &str, product: &str, kind: &str, tier: f64, price: f64) -> Value {
        json!({ "meterName": meter, "productName": product, "type": kind, "tierMinimumUnits": tier,
                "retailPrice": price, "currencyCode": "USD", "isPrimaryMeterRegion": true })
    }

    #[test]
    fn the_linux_pay_as_you_go_price_is_picked_among_look_alikes() {
        let items = vec![
            item(
                "B2s",
                "Virtual Machines BS Series Windows",
                "Consumption",
                0.0,
                0.08,
            ),
            item(
                "B2s Spot",
                "Virtual Machines BS Series",
                "Consumption",
                0.0,
                0.01,
            ),
            item(
                "B2s",
                "Virtual Machines BS Series",
                "Reservation",
                0.0,
                200.0,
            ),
            item(
                "B2s",
                "Virtual Machines BS Series",
                "Consumption",
                0.0,
                0.0416,
            ),
        ];
        assert_eq!(linux_on_demand(&items), Some((0.0416, "USD".into())));
        assert_eq!(linux_on_demand(&items[..3]), None);
    }

    #[test]
    fn a_free_first_tier_becomes_free_units() {
        let out = "Standard Data Transfer Out";
        let items = vec![
            item(out, "Bandwidth", "Consumption", 10340.0, 0.083),
            item(out, "Bandwidth", "Consumption", 0.0, 0.0),
            item(out, "Bandwidth", "Consumption", 100.0, 0.087),
            item(
                "Standard Data Transfer In",
                "Bandwidth",
                "Consumption",
                0.0,
                0.0,
            ),
        ];
        assert_eq!(
            tiered(&items, out),
            Some(Tiered {
                price: 0.087,
                currency: "USD".into(),
                free: 100.0
            })
        );
        // A paid first tier is the price, with nothing free.
        let zone = vec![
            item("Public Zone", "Azure DNS", "Consumption", 25.0, 0.1),
            item("Public Zone", "Azure DNS", "Consumption", 0.0, 0.5),
        ];
        assert_eq!(tiered(&zone, "Public Zone").unwrap().price, 0.5);
        assert_eq!(tiered(&zone, "Public Zone").unwrap().free, 0.0);
        assert_eq!(tiered(&zone, "Private Zone"), None);
    }
}
