//! The Azure account plugin: `identity.rs` describes the Microsoft identity
//! platform's flow and the meaning of its errors; `account.rs` lists tenants
//! and subscriptions and checks a subscription's prerequisites through ARM.
//!
//! It holds no state and no secrets: every call brings the cloud's endpoints
//! and a short-lived access token.

mod account;
mod identity;

wit_bindgen::generate!({ path: "../../wit", world: "account-plugin" });

use skyport::cloud::types as wit;

/// Turns an ARM failure into the contract's error.
pub(crate) fn to_wit(e: azure_arm::ArmError) -> wit::Error {
    use azure_arm::error::Kind;
    let detail = wit::Detail {
        code: e.code.clone(),
        message: e.message.clone(),
        target: e.target.clone(),
    };
    match e.kind() {
        Kind::Unauthorized => wit::Error::Unauthorized(detail),
        Kind::Forbidden => wit::Error::Forbidden(detail),
        Kind::NotRegistered => wit::Error::NotRegistered(detail),
        Kind::QuotaExceeded => wit::Error::QuotaExceeded(detail),
        Kind::SkuNotAvailable => wit::Error::SkuNotAvailable(detail),
        Kind::Throttled => wit::Error::Throttled(wit::Throttle {
            detail,
            retry_after_seconds: e.retry_after.unwrap_or(1) as u32,
        }),
        Kind::NotFound => wit::Error::NotFound(detail),
        Kind::Conflict => wit::Error::Conflict(detail),
        Kind::InvalidInput => wit::Error::InvalidInput(detail),
        Kind::Unavailable => wit::Error::Unavailable(detail),
        Kind::Other => wit::Error::Other(detail),
    }
}

struct Plugin;

export!(Plugin);
