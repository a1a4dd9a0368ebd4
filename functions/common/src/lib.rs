//! What Skyport's functions share. `config` reads the app variables,
//! `api` shapes JSON answers and errors, `db` owns the SQLite schema,
//! `orgs` authenticates API keys, `crypto` seals tokens at rest, `oauth` runs
//! the authorization-code flow, `accounts` keeps accounts and their tokens
//! fresh, `ops` is the one operation engine, `events` records what happened
//! (the activity feed and the webhook outbox), `internal` carries the jobs
//! component's calls, `schedule` paces and shares out the background checks,
//! `revocations` ends a deleted account's grant at its provider, `listed`
//! keeps rows as lists show them, and `pages` renders the popup's closing page.
//!
//! Provider specifics come from the plugins behind `skyport:identity` and
//! `skyport:account` (imported here and wired in spin.toml), never from this crate.

pub mod accounts;
pub mod api;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domains;
pub mod events;
pub mod internal;
pub mod listed;
pub mod oauth;
pub mod ops;
pub mod orgs;
pub mod pages;
pub mod provider;
pub mod revocations;
pub mod schedule;

wit_bindgen::generate!({ path: "../../wit", world: "account-client", generate_all });

pub use skyport::account::scopes as plugin_scopes;
pub use skyport::identity::identity as plugin_identity;
pub use skyport::types::types as plugin_types;

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `n` random bytes from the host (wasi:random).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the host provides randomness");
    buf
}

/// A random URL-safe token of `n` bytes of entropy.
pub fn random_token(n: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// A new random id (UUID v4 form).
pub fn new_id() -> String {
    let b = random_bytes(16);
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[16..20],
        &h[20..32]
    )
}
