//! `GET /v2/account`: who the token speaks for and the team's limits, which a
//! client reads to validate a token and to know how many Droplets (and
//! reserved IPs, still named `floating_ip_limit` there) it may have.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::not_found;
use crate::http::Resp;
use crate::state::State;

/// The account's own uuid (DigitalOcean's are 40 hex digits), stable for an
/// email so it survives restarts and re-seeding.
pub fn account_uuid(email: &str) -> String {
    Sha256::digest(email.as_bytes())[..20]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn get(state: &State, team: &str) -> Resp {
    let Some(t) = state.world.digitalocean.team(team) else {
        return not_found();
    };
    Resp::json(
        200,
        &json!({ "account": {
            "droplet_limit": t.droplet_limit,
            "floating_ip_limit": t.reserved_ip_limit,
            "volume_limit": 100,
            "email": t.email,
            "uuid": account_uuid(&t.email),
            "email_verified": true,
            "status": "active",
            "status_message": "",
            "team": { "uuid": t.uuid, "name": t.name },
        } }),
    )
}
