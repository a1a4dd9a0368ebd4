//! DigitalOcean's list prices for what Skyport makes in a team. A droplet's
//! price comes with its size (`/v2/sizes`, behind a token), so it is read
//! with the account's session; the rest is DigitalOcean's published pricing
//! (Spaces, transfer, DNS), which no API serves.

use digitalocean_api::types::{Error, Session};
use serde_json::Value;

use crate::exports::skyport::prices::account_prices::{self, SizePrice};
use crate::exports::skyport::prices::prices::{self, Billed, Item, Rate, Unit};
use crate::{api, ops, Plugin};

/// A Spaces subscription: 250 GiB stored and 1 TiB sent included, for any
/// number of buckets in the team.
const SPACES_MONTH: f64 = 5.0;
const SPACES_INCLUDED_GB: f64 = 250.0;
/// Each GiB stored beyond the subscription's.
const SPACES_EXTRA_GB: f64 = 0.02;
/// Each GiB sent out beyond the team's pooled allowance (every droplet
/// brings its size's transfer to the pool).
const TRANSFER_GB: f64 = 0.01;

fn rate(label: String, unit: Unit, price: f64, billed: Billed, free_per_month: f64) -> Rate {
    Rate {
        label,
        unit,
        price,
        currency: "USD".into(),
        billed,
        free_per_month,
    }
}

/// The size named `slug` among DigitalOcean's sizes.
fn size<'a>(sizes: &'a [Value], slug: &str) -> Option<&'a Value> {
    sizes.iter().find(|s| s["slug"] == slug)
}

/// What `item` costs. A droplet is billed by the hour, up to its size's
/// monthly price, whether it runs or is powered off; its reserved IP costs
/// nothing while assigned to it. Without a session a droplet has no price.
pub(crate) fn rates(
    session: Option<&Session>,
    region: &str,
    item: &Item,
) -> Result<Vec<Rate>, Error> {
    Ok(match item {
        Item::Server(slug) => {
            api::slug("region", region)?;
            let slug = api::slug("size", slug)?;
            // A session without a token stands for none.
            let Some(session) = session.filter(|s| !s.access_token.is_empty()) else {
                return Ok(Vec::new());
            };
            let sizes = ops::sizes(session)?;
            size(&sizes, &slug)
                .and_then(|s| s["price_monthly"].as_f64())
                .map(|monthly| {
                    vec![rate(
                        format!("Droplet ({slug}): billed by the hour, at most this a month"),
                        Unit::Month,
                        monthly,
                        Billed::WhilePresent,
                        0.0,
                    )]
                })
                .unwrap_or_default()
        }
        Item::Storage => vec![
            rate(
                "Spaces subscription (one per team, for all its buckets)".into(),
                Unit::Month,
                SPACES_MONTH,
                Billed::WhilePresent,
                0.0,
            ),
            rate(
                format!("Spaces storage beyond the {SPACES_INCLUDED_GB} GiB included"),
                Unit::GbMonth,
                SPACES_EXTRA_GB,
                Billed::PerUse,
                SPACES_INCLUDED_GB,
            ),
        ],
        Item::Egress => vec![rate(
            "Outbound transfer beyond the droplets' pooled allowance".into(),
            Unit::Gb,
            TRANSFER_GB,
            Billed::PerUse,
            0.0,
        )],
        Item::DnsZone => vec![rate(
            "DNS domain (DigitalOcean charges nothing for DNS)".into(),
            Unit::Month,
            0.0,
            Billed::WhilePresent,
            0.0,
        )],
    })
}

/// The prices of `wanted` as DigitalOcean lists them with its sizes.
pub(crate) fn size_prices(session: &Session, wanted: &[String]) -> Result<Vec<SizePrice>, Error> {
    if session.access_token.is_empty() {
        return Ok(Vec::new());
    }
    let sizes = ops::sizes(session)?;
    Ok(wanted
        .iter()
        .filter_map(|w| {
            let s = size(&sizes, w)?;
            Some(SizePrice {
                size: w.clone(),
                hourly: s["price_hourly"].as_f64()?,
                monthly: s["price_monthly"].as_f64()?,
                currency: "USD".into(),
            })
        })
        .collect())
}

impl prices::Guest for Plugin {
    fn rates(_: String, region: String, item: Item) -> Result<Vec<Rate>, Error> {
        rates(None, &region, &item)
    }
}

impl account_prices::Guest for Plugin {
    fn rates(session: Session, _: String, region: String, item: Item) -> Result<Vec<Rate>, Error> {
        rates(Some(&session), &region, &item)
    }

    fn size_prices(
        session: Session,
        _: String,
        _: String,
        sizes: Vec<String>,
    ) -> Result<Vec<SizePrice>, Error> {
        size_prices(&session, &sizes)
    }
}
