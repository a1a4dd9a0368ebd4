//! Azure's list prices for what Skyport makes, from the Retail Prices API:
//! a server is its VM size's Linux pay-as-you-go hours, its Standard SSD E4
//! OS disk (the 30 GiB Ubuntu image disk rounds up to E4) and its Standard
//! static public IP; backup storage is hot LRS block blobs stored and
//! written; a DNS zone is the public zone and its queries; egress is data
//! sent out of the region, after the free first tier. The prices are
//! public, so `account-prices` answers as `prices` does, its session
//! unused.

use azure_arm::names::{self, Name};
use azure_arm::retail::{self, Tiered};
use azure_arm::spin_transport::SpinTransport;
use azure_arm::ArmError;

use crate::exports::skyport::prices::account_prices::{self, SizePrice};
use crate::exports::skyport::prices::prices::{Billed, Guest, Item, Rate, Unit};
use crate::Plugin;
use azure_arm::contract::types as wit;

/// One meter to look up: where, and what it becomes.
struct Meter {
    filter: String,
    meter: &'static str,
    label: String,
    unit: Unit,
    billed: Billed,
}

fn meters(region: &str, item: &Item) -> Vec<Meter> {
    let m = |service: &str, product: &str, meter: &'static str, label: &str, unit, billed| {
        Meter {
        filter: format!("serviceName eq '{service}' and armRegionName eq '{region}' and productName eq '{product}' and meterName eq '{meter}' and priceType eq 'Consumption'"),
        meter,
        label: label.into(),
        unit,
        billed,
    }
    };
    match item {
        Item::Server(_) => vec![
            m("Storage", "Standard SSD Managed Disks", "E4 LRS Disk", "OS disk (Standard SSD E4, 32 GiB)", Unit::Month, Billed::WhilePresent),
            m("Virtual Network", "IP Addresses", "Standard IPv4 Static Public IP", "Public IP address (Standard, static)", Unit::Hour, Billed::WhilePresent),
        ],
        Item::Storage => vec![
            m("Storage", "General Block Blob v2", "Hot LRS Data Stored", "Blob storage (hot, locally redundant)", Unit::GbMonth, Billed::PerUse),
            m("Storage", "General Block Blob v2", "Hot LRS Write Operations", "Write operations", Unit::TenThousandWrites, Billed::PerUse),
        ],
        Item::Egress => vec![m("Bandwidth", "Rtn Preference: MGN", "Standard Data Transfer Out", "Outbound data transfer", Unit::Gb, Billed::PerUse)],
        // Public DNS is priced once for the world, not per region.
        Item::DnsZone => ["Public Zone", "Public Queries"]
            .into_iter()
            .map(|meter| Meter {
                filter: format!("serviceName eq 'Azure DNS' and meterName eq '{meter}' and priceType eq 'Consumption'"),
                meter,
                label: if meter == "Public Zone" { "DNS zone".into() } else { "DNS queries".into() },
                unit: if meter == "Public Zone" { Unit::Month } else { Unit::MillionQueries },
                billed: if meter == "Public Zone" { Billed::WhilePresent } else { Billed::PerUse },
            })
            .collect(),
    }
}

fn rate(m: Meter, t: Tiered) -> Rate {
    Rate {
        label: m.label,
        unit: m.unit,
        price: t.price,
        currency: t.currency,
        billed: m.billed,
        free_per_month: t.free,
    }
}

fn rates(endpoint: &str, region: &str, item: &Item) -> Result<Vec<Rate>, ArmError> {
    if !matches!(item, Item::DnsZone) {
        names::check(Name::Region, region)?;
    }
    let transport = SpinTransport;
    let mut out = Vec::new();
    if let Item::Server(size) = item {
        // A size the price list does not know has no compute line; its
        // disk and address are still priced.
        if let Some((price, currency)) = retail::size_price(&transport, endpoint, region, size)? {
            out.push(Rate {
                label: format!("Compute ({size}, Linux)"),
                unit: Unit::Hour,
                price,
                currency,
                billed: Billed::WhileRunning,
                free_per_month: 0.0,
            });
        }
    }
    for m in meters(region, item) {
        let items = retail::items(&transport, endpoint, &m.filter)?;
        if let Some(t) = retail::tiered(&items, m.meter) {
            out.push(rate(m, t));
        }
    }
    Ok(out)
}

/// Azure prices a VM by the hour; a month is 730 of them.
fn size_prices(endpoint: &str, region: &str, sizes: &[String]) -> Result<Vec<SizePrice>, ArmError> {
    let mut out = Vec::new();
    for size in sizes {
        if let Some((hourly, currency)) =
            retail::size_price(&SpinTransport, endpoint, region, size)?
        {
            out.push(SizePrice {
                size: size.clone(),
                hourly,
                monthly: hourly * 730.0,
                currency,
            });
        }
    }
    Ok(out)
}

impl Guest for Plugin {
    fn rates(prices_endpoint: String, region: String, item: Item) -> Result<Vec<Rate>, wit::Error> {
        rates(&prices_endpoint, &region, &item).map_err(azure_arm::contract::to_wit)
    }
}

impl account_prices::Guest for Plugin {
    fn rates(
        _: wit::Session,
        prices_endpoint: String,
        region: String,
        item: Item,
    ) -> Result<Vec<Rate>, wit::Error> {
        rates(&prices_endpoint, &region, &item).map_err(azure_arm::contract::to_wit)
    }

    fn size_prices(
        _: wit::Session,
        prices_endpoint: String,
        region: String,
        sizes: Vec<String>,
    ) -> Result<Vec<SizePrice>, wit::Error> {
        size_prices(&prices_endpoint, &region, &sizes).map_err(azure_arm::contract::to_wit)
    }
}
