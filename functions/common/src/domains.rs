//! The DNS domains an organization has chosen (`dns_domains`): looked up by
//! name for the DNS API and for the hooks that set records in them.

use spin_sdk::sqlite::Connection;

use crate::api::ApiError;
use crate::db::{get_text, text};

/// The organization's chosen domain `name`: (account id, zone id), or a 404
/// naming it.
pub fn chosen(db: &Connection, org: &str, name: &str) -> Result<(String, String), ApiError> {
    let r = db.execute(
        "SELECT account_id, zone_id FROM dns_domains WHERE org_id = ? AND name = ?",
        &[text(org), text(&name.to_ascii_lowercase())],
    )?;
    match (get_text(&r, 0, "account_id"), get_text(&r, 0, "zone_id")) {
        (Some(a), Some(z)) => Ok((a, z)),
        _ => Err(ApiError::new(
            404,
            "not_found",
            // A name from a hook's parameters may be long: quoted at
            // most as long as a domain name can be.
            &format!(
                "`{}` is not one of your organization's DNS domains.",
                name.chars().take(253).collect::<String>()
            ),
            "Choose a zone first: POST /api/v1/dns/domains.",
        )),
    }
}
