//! The Azure compute plugin: `skyport:compute` over ARM. A server is a
//! resource group of its own holding a virtual network, a static Standard
//! public IP, a security group open on 22/80/443, a NIC and an Ubuntu LTS VM
//! with SSH-key login only; `steps.rs` walks them one idempotent PUT at a
//! time, deleting a server deletes its group, and `actions.rs` powers and
//! resizes the VM.

mod actions;
mod catalogue;
mod steps;

wit_bindgen::generate!({ path: "../../wit", world: "compute-plugin", generate_all, with: { "skyport:types/types@0.2.0": azure_arm::contract::types } });

pub(crate) use azure_arm::contract::with_arm;

pub(crate) struct Plugin;

export!(Plugin);
