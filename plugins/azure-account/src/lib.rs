//! The Azure account plugin: `identity.rs` describes the Microsoft identity
//! platform's flow and the meaning of its errors; `account.rs` lists tenants
//! and subscriptions (the contract's directories and scopes) and checks a subscription's prerequisites through ARM;
//! `prices.rs` reads Azure's public list prices for estimates.
//!
//! It holds no state and no secrets: every call brings the cloud's endpoints
//! and a short-lived access token.

mod account;
mod identity;
mod prices;

wit_bindgen::generate!({ path: "../../wit", world: "account-plugin", generate_all, with: { "skyport:types/types@0.2.0": azure_arm::contract::types } });

struct Plugin;

export!(Plugin);
