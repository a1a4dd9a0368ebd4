//! The Azure compute plugin: `skyport:cloud/compute` over ARM. A server is a
//! resource group of its own holding a virtual network, a static Standard
//! public IP, a security group open on 22/80/443, a NIC and an Ubuntu LTS VM
//! with SSH-key login only; `steps.rs` walks them one idempotent PUT at a
//! time, and deleting a server deletes its group.

mod catalogue;
mod steps;

wit_bindgen::generate!({ path: "../../wit", world: "compute-plugin" });

use azure_arm::spin_transport::SpinTransport;
use azure_arm::{Arm, ArmError};
use skyport::cloud::types::{self as wit, Session};

pub(crate) fn to_wit(e: ArmError) -> wit::Error {
    use azure_arm::error::Kind;
    let d = wit::Detail {
        code: e.code.clone(),
        message: e.message.clone(),
        target: e.target.clone(),
    };
    match e.kind() {
        Kind::Unauthorized => wit::Error::Unauthorized(d),
        Kind::Forbidden => wit::Error::Forbidden(d),
        Kind::NotRegistered => wit::Error::NotRegistered(d),
        Kind::QuotaExceeded => wit::Error::QuotaExceeded(d),
        Kind::SkuNotAvailable => wit::Error::SkuNotAvailable(d),
        Kind::Throttled => wit::Error::Throttled(wit::Throttle {
            detail: d,
            retry_after_seconds: e.retry_after.unwrap_or(1) as u32,
        }),
        Kind::NotFound => wit::Error::NotFound(d),
        Kind::Conflict => wit::Error::Conflict(d),
        Kind::InvalidInput => wit::Error::InvalidInput(d),
        Kind::Unavailable => wit::Error::Unavailable(d),
        Kind::Other => wit::Error::Other(d),
    }
}

pub(crate) fn with_arm<R>(
    session: &Session,
    f: impl FnOnce(&Arm<'_, SpinTransport>) -> Result<R, ArmError>,
) -> Result<R, wit::Error> {
    let transport = SpinTransport;
    let arm = Arm::new(&session.cloud.management, &session.access_token, &transport);
    f(&arm).map_err(to_wit)
}

pub(crate) struct Plugin;

export!(Plugin);
