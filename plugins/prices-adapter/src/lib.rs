//! The prices adapter: a component that imports
//! `skyport:prices/prices@0.1.0` and exports prices 0.1.1, both `prices`
//! and `account-prices`, answering each from the 0.1.0 `rates`.
//!
//! A 0.1.0 plugin's prices are public ones, read without a session, so the
//! session 0.1.1 brings is not passed on; and 0.1.0 has no batch of size
//! prices, so `size-prices` answers each size from its server rates' hourly
//! compute line (the catalogue then falls back to compute's
//! `hourly-price` for any size left out).

wit_bindgen::generate!({
    path: ["../../wit", "../../wit/released/prices-0.1.0"],
    inline: "
        package skyport:prices-adapter;

        world adapter {
            import skyport:prices/prices@0.1.0;
            export skyport:prices/prices@0.1.1;
            export skyport:prices/account-prices@0.1.1;
        }
    ",
    world: "skyport:prices-adapter/adapter",
    generate_all,
});

use exports::skyport::prices0_1_1::account_prices::{self, SizePrice};
use exports::skyport::prices0_1_1::prices as new;
use skyport::prices0_1_0::prices as old;
use skyport::types::types::{Error, Session};

struct Adapter;

export!(Adapter);

fn item(i: new::Item) -> old::Item {
    match i {
        new::Item::Server(size) => old::Item::Server(size),
        new::Item::Storage => old::Item::Storage,
        new::Item::DnsZone => old::Item::DnsZone,
        new::Item::Egress => old::Item::Egress,
    }
}

fn unit(u: old::Unit) -> new::Unit {
    match u {
        old::Unit::Hour => new::Unit::Hour,
        old::Unit::Month => new::Unit::Month,
        old::Unit::GbMonth => new::Unit::GbMonth,
        old::Unit::Gb => new::Unit::Gb,
        old::Unit::TenThousandWrites => new::Unit::TenThousandWrites,
        old::Unit::MillionQueries => new::Unit::MillionQueries,
    }
}

fn billed(b: old::Billed) -> new::Billed {
    match b {
        old::Billed::WhileRunning => new::Billed::WhileRunning,
        old::Billed::WhilePresent => new::Billed::WhilePresent,
        old::Billed::PerUse => new::Billed::PerUse,
    }
}

fn rate(r: old::Rate) -> new::Rate {
    new::Rate {
        label: r.label,
        unit: unit(r.unit),
        price: r.price,
        currency: r.currency,
        billed: billed(r.billed),
        free_per_month: r.free_per_month,
    }
}

fn rates(endpoint: &str, region: &str, i: new::Item) -> Result<Vec<new::Rate>, Error> {
    old::rates(endpoint, region, &item(i)).map(|list| list.into_iter().map(rate).collect())
}

/// A size's compute price from its server rates: the line billed by the
/// running hour (0.1.0 plugins price compute so; disk and address are
/// billed while present).
fn size_price(size: String, rates: &[new::Rate]) -> Option<SizePrice> {
    rates
        .iter()
        .find(|r| {
            matches!(r.unit, new::Unit::Hour) && matches!(r.billed, new::Billed::WhileRunning)
        })
        .map(|r| SizePrice {
            size,
            hourly: r.price,
            monthly: r.price * 730.0,
            currency: r.currency.clone(),
        })
}

impl new::Guest for Adapter {
    fn rates(endpoint: String, region: String, item: new::Item) -> Result<Vec<new::Rate>, Error> {
        rates(&endpoint, &region, item)
    }
}

impl account_prices::Guest for Adapter {
    fn rates(
        _: Session,
        endpoint: String,
        region: String,
        item: new::Item,
    ) -> Result<Vec<new::Rate>, Error> {
        rates(&endpoint, &region, item)
    }

    fn size_prices(
        _: Session,
        endpoint: String,
        region: String,
        sizes: Vec<String>,
    ) -> Result<Vec<SizePrice>, Error> {
        let mut out = Vec::new();
        for size in sizes {
            let list = rates(&endpoint, &region, new::Item::Server(size.clone()))?;
            out.extend(size_price(size, &list));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(unit: new::Unit, billed: new::Billed, price: f64) -> new::Rate {
        new::Rate {
            label: "x".into(),
            unit,
            price,
            currency: "USD".into(),
            billed,
            free_per_month: 0.0,
        }
    }

    #[test]
    fn a_sizes_price_is_its_line_billed_by_the_running_hour() {
        let rates = [
            line(new::Unit::Month, new::Billed::WhilePresent, 2.4),
            line(new::Unit::Hour, new::Billed::WhilePresent, 0.005),
            line(new::Unit::Hour, new::Billed::WhileRunning, 0.0416),
        ];
        let p = size_price("b2s".into(), &rates).unwrap();
        assert_eq!((p.size.as_str(), p.hourly), ("b2s", 0.0416));
        assert!((p.monthly - 30.368).abs() < 1e-9);
        assert!(size_price("b2s".into(), &rates[..2]).is_none());
    }
}
