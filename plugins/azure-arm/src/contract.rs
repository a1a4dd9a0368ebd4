//! What every Azure plugin shares at the contract's edge: the bindings of
//! `skyport:types` (plugins map theirs to these with wit-bindgen's
//! `with`), the translation of an ARM failure into the contract's `error`,
//! and an ARM client for one call's session.

wit_bindgen::generate!({ path: "../../wit", world: "types-only", generate_all });

pub use skyport::types::types;

use crate::error::Kind;
use crate::spin_transport::SpinTransport;
use crate::{Arm, ArmError};
use types::{Detail, Error, Session, Throttle};

/// An ARM failure as the contract's error.
pub fn to_wit(e: ArmError) -> Error {
    let d = Detail {
        code: e.code.clone(),
        message: e.message.clone(),
        target: e.target.clone(),
    };
    match e.kind() {
        Kind::Unauthorized => Error::Unauthorized(d),
        Kind::Forbidden => Error::Forbidden(d),
        Kind::NotRegistered => Error::NotRegistered(d),
        Kind::QuotaExceeded => Error::QuotaExceeded(d),
        Kind::SkuNotAvailable => Error::SkuNotAvailable(d),
        Kind::Throttled => Error::Throttled(Throttle {
            detail: d,
            retry_after_seconds: e.retry_after.unwrap_or(1) as u32,
        }),
        Kind::NotFound => Error::NotFound(d),
        Kind::Conflict => Error::Conflict(d),
        Kind::InvalidInput => Error::InvalidInput(d),
        Kind::Unavailable => Error::Unavailable(d),
        Kind::Other => Error::Other(d),
    }
}

/// Runs `f` with an ARM client for the session; its failure becomes the contract's error.
pub fn with_arm<R>(
    session: &Session,
    f: impl FnOnce(&Arm<'_, SpinTransport>) -> Result<R, ArmError>,
) -> Result<R, Error> {
    let transport = SpinTransport;
    let arm = Arm::new(&session.cloud.management, &session.access_token, &transport);
    f(&arm).map_err(to_wit)
}
